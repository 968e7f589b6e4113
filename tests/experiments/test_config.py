import pytest

from snn_rram import SnnRramError
from snn_rram.experiments import load_config, parse_config
from snn_rram.experiments.config import RunConfig

BASE = """
[network]
weights = "w.npz"
"""


def test_defaults_and_units():
    cfg = parse_config(
        BASE + '[circuit]\nv_read = "200 mV"\npulse_width = "0.1 ms"\n'
        'r_neuron = "1.5 kohm"\n[encoder]\nmax_rate = "0.2 kHz"\n'
    )
    assert cfg.circuit.v_read == pytest.approx(0.2)
    assert cfg.circuit.pulse_width == pytest.approx(1e-4)
    assert cfg.circuit.r_neuron == pytest.approx(1500.0)
    assert cfg.encoder.max_rate == pytest.approx(200.0)
    assert cfg.mapping.method == "linear_pair" and cfg.data.dataset == "mnist_5k"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[mapping]\nbitz = 4\n", r"mapping.bitz: unknown key \(did you mean 'bits'\?\)"),
        ("[mappings]\nbits = 4\n", r"mappings: unknown section \(did you mean 'mapping'\?\)"),
        ("[mapping]\nbits = 4.5\n", "mapping.bits: input should be a valid integer"),
        ("[mapping]\nbits = 1\n", "mapping.bits: input should be greater than or equal to 2"),
        ("[mapping]\nbits = 40\n", "mapping.bits: input should be less than or equal to 16"),
        ('[circuit]\nv_read = "200 mA"\n', r"circuit.v_read: expected a value in V, got '200 mA'"),
        ('[circuit]\nv_read = "fast"\n', "circuit.v_read: expected a number in V"),
        ('[circuit]\nv_read = "2 parsecs"\n', "circuit.v_read: expected a value in V"),
        ("[circuit]\nv_read = -0.2\n", "circuit.v_read: input should be greater than 0"),
        ("[circuit]\nv_read = true\n", r"circuit.v_read: .*got a boolean"),
        ('[circuit]\ninactive_rows = "grund"\n', "circuit.inactive_rows: .*did you mean 'ground'"),
        ('[simulation]\ntarget = "gpu"\n', "simulation.target: expected one of"),
        ("[simulation]\nenergy = 1\n", "simulation.energy: input should be a valid boolean"),
        ("[device.variation]\nsigma = 0.1\n", "device.variation.sigma: unknown key"),
        ('[output]\nname = "a/b"\n', "output.name"),
        ("[data]\nn_images = 0\n", "data.n_images: input should be greater than 0"),
        ('[mapping]\nmethod = "qwms"\n', "mapping.method: .*did you mean 'qwsm'"),
        ("[mapping.options]\nfrobnicate = 1\n", "mapping.options.frobnicate: unknown key"),
        ("[mapping.options]\ncalibrte = true\n", "did you mean 'calibrate'"),
        ("[mapping.options]\ncalibrate = 1\n", "mapping.options.calibrate: input should be"),
        ('[device]\ncard = "defualt"\n', "device.card: .*did you mean 'default'"),
        (
            "[device.variation]\nstuck_lrs = 0.6\nstuck_hrs = 0.6\n",
            "device.variation: .*must not exceed 1",
        ),
        ('[simulation]\ndt = "0.3 ms"\n', "encoder.image_duration: .* whole number"),
        ('[circuit]\npulse_width = "1 s"\n', "circuit.pulse_width: .*longer than"),
        ('[network]\nformat = "onx"\n', "network.format: .*did you mean 'onnx'"),
    ],
)
def test_errors_name_the_field(text, match):
    if text.startswith("[network]"):
        text = text.replace("[network]\n", '[network]\nweights = "w.npz"\n')
    else:
        text = BASE + text
    with pytest.raises(SnnRramError, match=match):
        parse_config(text)


def test_missing_network_and_malformed(tmp_path):
    with pytest.raises(SnnRramError, match="missing required section 'network'"):
        parse_config("[mapping]\nbits = 3\n")
    with pytest.raises(SnnRramError, match="malformed TOML"):
        parse_config("[network\nweights=1")
    with pytest.raises(SnnRramError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_replace_and_round_trip():
    cfg = parse_config(BASE + "[device.variation]\nprogramming_sigma = 0.05\n")
    other = cfg.replace("mapping.bits", 5).replace("circuit.r_neuron", "2 kohm")
    assert (other.mapping.bits, other.circuit.r_neuron) == (5, 2000.0)
    assert other.replace("device.variation.read_sigma", 0.01).device.variation == {
        "programming_sigma": 0.05,
        "read_sigma": 0.01,
    }
    again = parse_config(other.to_toml())
    assert again.to_dict() == other.to_dict()
    with pytest.raises(SnnRramError, match="mapping.bits"):
        cfg.replace("mapping.bits", "four")
    assert isinstance(again, RunConfig)


def test_bundled_configs_are_valid():
    import tomllib
    from pathlib import Path

    from snn_rram.sweep import load_sweep

    paths = sorted((Path(__file__).parents[2] / "models" / "experiments").glob("*.toml"))
    kinds = set()
    for path in paths:
        if "base" in tomllib.loads(path.read_text()):  # a sweep file: every point must resolve
            configs = [p.config for p in load_sweep(path).points()]
            kinds.add("sweep")
        else:
            configs = [load_config(path)]
            kinds.add("run")
        for cfg in configs:
            assert cfg.resolve_path(cfg.network.weights).name.endswith(".npz"), path.name
    assert kinds == {"sweep", "run"}
