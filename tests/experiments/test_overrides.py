"""``--set KEY=VALUE``: fields of a run config set without editing the file, validated like it."""

import pytest

from snn_rram.cli import main
from snn_rram.errors import SnnRramError
from snn_rram.experiments.config import load_config, parse_overrides
from snn_rram.sweep import load_sweep


def test_values_are_toml_where_they_parse_and_strings_otherwise():
    got = parse_overrides(
        [
            "mapping.bits=3",
            "circuit.r_neuron=1 kohm",
            " simulation.energy = false",
            "encoder.max_rate=150.5",
            'output.name="a b"',
            "mapping.options.levels=[2, 3]",
            "simulation.target=numpy",
        ]
    )
    assert got == {
        "mapping.bits": 3,
        "circuit.r_neuron": "1 kohm",
        "simulation.energy": False,
        "encoder.max_rate": 150.5,
        "output.name": "a b",
        "mapping.options.levels": [2, 3],
        "simulation.target": "numpy",
    }


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["mapping.bits"], "expected KEY=VALUE"),
        (["=3"], "expected KEY=VALUE"),
        (["mapping.bits=3", "mapping.bits=4"], "mapping.bits given twice"),
    ],
)
def test_malformed_overrides_are_refused(items, message):
    with pytest.raises(SnnRramError, match=message):
        parse_overrides(items)


def test_overrides_set_fields_of_the_file():
    cfg = load_config("demo", parse_overrides(["mapping.bits=3", "circuit.r_neuron=1 kohm"]))
    assert cfg.mapping.bits == 3
    assert cfg.circuit.r_neuron == pytest.approx(1000.0)
    plain = load_config("demo")
    assert (plain.mapping.bits, plain.circuit.r_neuron) == (4, 100.0)
    assert cfg.replace({"mapping.bits": 4, "circuit.r_neuron": 100.0}) == plain


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["mapping.bitz=3"], r"mapping\.bitz: unknown key \(did you mean 'bits'\?\)"),
        (["mapings.bits=3"], r"mapings\.bits: unknown section 'mapings'"),
        (["mapping.bits=99"], r"mapping\.bits: .*less than or equal to 16"),
        (["mapping.bits=three"], r"mapping\.bits"),
        (["circuit.r_neuron=1 kV"], r"circuit\.r_neuron: expected a value in ohm"),
        (["mapping.bits.x=1"], r"mapping\.bits\.x: 'mapping\.bits' is not a table"),
        (["mapping..bits=1"], "expected a dotted key path"),
        (["data.n_images=5000"], r"data\.n_images: 5000 asked"),
    ],
)
def test_bad_overrides_name_their_key_path(items, message):
    with pytest.raises(SnnRramError, match=message):
        load_config("demo", parse_overrides(items))


def test_overrides_are_validated_with_the_file_not_after_it(tmp_path):
    # the file alone asks for more test images than mnist_5k has; the override makes it valid
    path = tmp_path / "big.toml"
    path.write_text('[network]\nweights = "mlp_784_256_10"\n[data]\nn_images = 5000\n')
    with pytest.raises(SnnRramError, match="data.n_images: 5000 asked"):
        load_config(path)
    assert load_config(path, {"data.n_images": 5}).data.n_images == 5


def test_sweep_overrides_reach_every_point_and_an_axis_is_refused():
    spec = load_sweep("qwsm_study", parse_overrides(["data.n_images=5", "circuit.v_read=0.1 V"]))
    points = spec.points()
    assert len(points) == 16  # 3 methods × 4 bits, and the calibrated extra at 4 bits
    assert {(p.config.data.n_images, p.config.circuit.v_read) for p in points} == {(5, 0.1)}
    with pytest.raises(SnnRramError, match=r"--set mapping\.bits: the sweep varies this field"):
        load_sweep("qwsm_study", {"mapping.bits": 3})
    with pytest.raises(SnnRramError, match=r"sweep\.base: circuit\.v_read: "):
        load_sweep("qwsm_study", {"circuit.v_read": -1.0})


def test_the_command_line_reports_a_bad_override_by_key_path(capsys):
    assert main(["run", "demo", "--set", "mapping.bits=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snn-rram: error: mapping.bits:")
    assert main(["sweep", "qwsm_study", "--set", "mapping.bits=3"]) == 2
    assert "the sweep varies this field" in capsys.readouterr().err
    assert main(["run", "demo", "--set", "bits"]) == 2
    assert "--set: expected KEY=VALUE" in capsys.readouterr().err


def test_a_run_with_overrides_writes_what_they_say(tmp_path, capsys):
    from snn_rram import results

    out = tmp_path / "out"
    argv = ["run", "demo", "--quiet"]
    for item in (
        "data.n_images=2",
        "data.n_calibration=50",
        "encoder.image_duration=10 ms",
        "simulation.target=numpy",
        "mapping.bits=3",
        "circuit.r_neuron=1 kohm",
        "output.figure=false",
        f"output.directory={out}",
        "output.name=overridden",
    ):
        argv += ["--set", item]
    assert main(argv) == 0
    path = out / "overridden.h5"
    assert str(path) in capsys.readouterr().out
    cfg = results.load(path).config_dict
    assert cfg["mapping"]["bits"] == 3
    assert cfg["circuit"]["r_neuron"] == pytest.approx(1000.0)
    assert cfg["data"]["n_images"] == 2
