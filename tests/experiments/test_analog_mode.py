"""``simulation.mode = "analog"``: config, pipeline, result file and command line.

The bundled MLP on a few images: the analog run is numpy only (no Brian2), seconds.
"""

from pathlib import Path

import numpy as np
import pytest

from snn_rram import SnnRramError, cli, results
from snn_rram.analog import AnalogNetwork, default_adc_range
from snn_rram.experiments import load_config, parse_config, run
from snn_rram.experiments.pipeline import map_network

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models" / "networks" / "mlp_784_256_10.npz"
BASE = '[network]\nweights = "w.npz"\n'


def write_config(
    folder: Path, *, mode: str = "analog", extra: str = "", figure: bool = False
) -> Path:
    """A small run config of the bundled MLP: 12 images, 40 calibration images."""
    text = (
        f'[network]\nweights = "{MLP}"\n[data]\nn_images = 12\nn_calibration = 40\n'
        f'[simulation]\nmode = "{mode}"\ntarget = "numpy"\nprogress = false\n'
        f'[encoder]\nimage_duration = "10 ms"\n[output]\ndirectory = "{folder}"\n'
        f'name = "run"\nfigure = {str(figure).lower()}\n' + extra
    )
    path = folder / "run.toml"
    path.write_text(text)
    return path


# --- configuration --------------------------------------------------------------------------


def test_mode_defaults_to_spiking_and_analog_table_defaults():
    cfg = parse_config(BASE)
    assert cfg.simulation.mode == "spiking"
    assert "analog" not in cfg.to_dict()  # the table exists only in analog mode
    cfg = parse_config(BASE + '[simulation]\nmode = "analog"\n')
    assert "analog" not in cfg.to_dict()  # nothing but defaults
    assert cfg.replace("simulation.mode", "spiking").simulation.mode == "spiking"
    a = cfg.analog
    assert (a.dac_bits, a.adc_bits, a.adc_range, a.sensing, a.bias_voltage) == (
        None,
        None,
        None,
        "nominal",
        None,
    )
    table = parse_config(
        BASE + '[simulation]\nmode = "analog"\n[analog]\ndac_bits = 8\nadc_bits = [8, 6]\n'
        'adc_range = 2.5\nsensing = "calibrated"\nbias_voltage = "150 mV"\n'
    )
    assert table.analog.adc_bits == [8, 6] and table.analog.bias_voltage == pytest.approx(0.15)
    assert parse_config(table.to_toml()) == table  # round trip through TOML
    assert table.replace("analog.dac_bits", 6).analog.dac_bits == 6
    with pytest.raises(SnnRramError, match=r"analog: .*only valid with simulation.mode"):
        table.replace("simulation.mode", "spiking")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[simulation]\nmode = "analogue"\n', r"simulation.mode: .*did you mean 'analog'"),
        ("[simulation]\nmode = 1\n", "simulation.mode: input should be a valid string"),
        ("[analog]\ndac_bits = 8\n", r'analog: .*only valid with simulation.mode = "analog"'),
        ("[analog]\n", r'analog: .*only valid with simulation.mode = "analog"'),
        ("MODE[analog]\ndac_bits = 0\n", "analog.dac_bits: input should be greater than or"),
        ("MODE[analog]\ndac_bits = 8.0\n", "analog.dac_bits: input should be a valid integer"),
        ("MODE[analog]\ndac_bits = 33\n", "analog.dac_bits: input should be less than or"),
        ("MODE[analog]\nadc_bits = []\n", r"analog.adc_bits: expected a number of bits"),
        ("MODE[analog]\nadc_bits = [8, true]\n", r"analog.adc_bits: expected a number of bits"),
        ("MODE[analog]\nadc_range = 2.0\n", "analog.adc_range: .*without analog.adc_bits"),
        (
            "MODE[analog]\nadc_bits = 8\nadc_range = [1.0, -2.0]\n",
            r"analog.adc_range: expected a full scale > 0",
        ),
        ('MODE[analog]\nsensing = "calibrate"\n', r"analog.sensing: .*did you mean 'calibrated'"),
        ('MODE[analog]\nbias_voltage = "1 A"\n', "analog.bias_voltage: expected a value in V"),
        ("MODE[analog]\ndac_bitz = 8\n", r"analog.dac_bitz: unknown key \(did you mean"),
        (
            'MODE[mapping]\nmethod = "ternary_2t2r"\n',
            r'simulation.mode: "analog" .* sense amplifier',
        ),
    ],
)
def test_bad_analog_configs_name_the_field(text, match):
    text = text.replace("MODE", '[simulation]\nmode = "analog"\n')
    with pytest.raises(SnnRramError, match=match):
        parse_config(BASE + text)


def test_periphery_per_layer_of_the_wrong_length_is_refused_naming_the_field(tmp_path):
    cfg = load_config(write_config(tmp_path, extra="[analog]\nadc_bits = [8, 8, 8]\n"))
    with pytest.raises(SnnRramError, match=r"analog.adc_bits: expected one value or 2"):
        run(cfg, save=False)


# --- the pipeline ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analog_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analog")
    cfg = load_config(write_config(folder, extra="[analog]\ndac_bits = 8\n", figure=True))
    return cfg, run(cfg)


def test_analog_run_equals_the_analog_network_called_directly(analog_run):
    cfg, outcome = analog_run
    m = outcome.metrics
    assert "snn_accuracy" not in m and m["n_images"] == 12
    mapped = map_network(cfg)
    for got, again in zip(outcome.mappings, mapped.mappings, strict=True):
        np.testing.assert_array_equal(got.crossbar.G, again.crossbar.G)
    net = AnalogNetwork(
        mapped.converted,
        mapped.mappings,
        dac_bits=8,
        adc_range=default_adc_range(mapped.converted, mapped.calibration),
    )
    direct = net.forward(mapped.x, synapse_energy=True)
    np.testing.assert_array_equal(outcome.result.output, direct.output)
    assert m["analog_accuracy"] == np.mean(direct.predict() == mapped.labels)
    assert m["analog_accuracy"] > 0.5
    assert m["total_device_energy"] == pytest.approx(
        sum(e.sum() for e in direct.synapse_energy), rel=1e-12
    )
    # the power balance of every read and the per-device sums agree
    assert m["energy_per_inference"] == pytest.approx(direct.energy_per_inference, rel=1e-9)
    assert m["n_synapses"] == 784 * 256 + 256 * 10  # (input, neuron) pairs, as when spiking
    assert m["simulated_time"] == pytest.approx(12 * 2 * cfg.circuit.pulse_width)


def test_analog_result_file_round_trip(analog_run):
    _, outcome = analog_run
    rec = results.load(outcome.path)
    assert rec.mode == "analog" and rec.schema_version == results.SCHEMA_VERSION
    assert rec.spikes == {} and rec.accuracy == outcome.metrics["analog_accuracy"]
    assert rec.config_dict["simulation"]["mode"] == "analog"
    assert rec.config_dict["analog"]["dac_bits"] == 8
    res = outcome.result
    np.testing.assert_array_equal(rec.metrics["outputs"], res.output)
    np.testing.assert_array_equal(rec.metrics["predictions"], res.predict())
    np.testing.assert_array_equal(rec.metrics["device_energy_per_image"], res.device_energy)
    for k, (name, layer) in enumerate(rec.layers.items()):
        assert name == ("fc1", "fc2")[k]
        np.testing.assert_array_equal(layer.conductances, outcome.mappings[k].crossbar.G)
        np.testing.assert_allclose(layer.device_energy, res.synapse_energy[k])
        np.testing.assert_allclose(layer.neuron_energy, res.neuron_energy[k])
        np.testing.assert_array_equal(layer.read_counts, res.read_counts[k])
    # inputs at 0 leave their rows at 0 V (MNIST's border pixels: never read)
    counts = rec.layers["fc1"].read_counts
    assert counts.min() == 0 and 0 < counts.max() <= 12
    per_layer = rec.metrics["device_energy_per_image"].sum(axis=0)
    totals = [layer.total_device_energy for layer in rec.layers.values()]
    np.testing.assert_allclose(per_layer, totals, rtol=1e-9)
    assert outcome.figure.exists() and outcome.figure.suffix == ".png"
    text = results.summary(outcome.path)
    assert "mode analog" in text and "analog_accuracy" in text and "an analog run" in text


def test_analog_run_without_energy_accounting(tmp_path):
    cfg = load_config(write_config(tmp_path, extra=""), {"simulation.energy": False})
    outcome = run(cfg)
    rec = results.load(outcome.path)
    assert (
        "total_device_energy" not in rec.metrics and "device_energy_per_image" not in rec.metrics
    )
    assert all(layer.device_energy is None for layer in rec.layers.values())


def test_calibrated_sensing_fits_a_gain_per_layer(tmp_path):
    cfg = load_config(write_config(tmp_path), {"analog.sensing": "calibrated"})
    outcome = run(cfg, save=False)
    mapped = map_network(cfg)
    net = AnalogNetwork(mapped.converted, mapped.mappings).calibrate(mapped.calibration)
    np.testing.assert_array_equal(outcome.result.output, net.forward(mapped.x).output)


def test_a_reconstructed_network_is_read_exactly_as_trained(tmp_path):
    """``analog.sensing = "trained"``: the network's own conductances and gains, refused on
    another device or read voltage."""
    # training needs the torch extra, which `make setup` installs (CI runs this test)
    pytest.importorskip("torch")
    from snn_rram import datasets, devices
    from snn_rram.crossbar import Circuit
    from snn_rram.training import train_device_aware

    data = datasets.load("mnist_5k")
    x, y = data.train_vectors()[:64], np.asarray(data.train_labels[:64])
    device, circuit = devices.load("sinh_strong"), Circuit(1.5, 1e-6, 0.0)
    net, meta = train_device_aware(
        (784, 6, 10), x, y, x, y, device=device, circuit=circuit, epochs=1, bias=True
    )
    net.save(tmp_path / "rec.npz", meta)
    extra = (
        '[device]\ncard = "sinh_strong"\n[circuit]\nv_read = 1.5\npulse_width = 2e-6\n'
        'r_neuron = 0.0\n[analog]\nsensing = "trained"\n'
    )
    cfg = load_config(
        write_config(tmp_path, extra=extra),
        {"network.weights": "rec.npz", "simulation.dt": 1e-6},
    )
    outcome = run(cfg)
    mapped = map_network(cfg)
    direct = AnalogNetwork(**net.analog_args()).forward(mapped.x)
    np.testing.assert_allclose(outcome.result.output, direct.output, rtol=1e-12, atol=0)
    np.testing.assert_allclose(direct.output, net.torch_forward(mapped.x).numpy(), rtol=1e-9)
    assert outcome.metrics["analog_accuracy"] == np.mean(direct.predict() == mapped.labels)
    rec = results.load(outcome.path)
    assert {layer.mapping for layer in rec.layers.values()} == {"as_trained"}
    # the read time is the config's: energy scales with it
    assert outcome.metrics["energy_per_inference"] == pytest.approx(
        2 * direct.energy_per_inference, rel=1e-9
    )
    for change, match in (
        ({"circuit.v_read": 1.0}, "circuit.v_read"),
        ({"device.card": "sinh_mild"}, "device.card"),
        ({"analog.bias_voltage": 0.3}, "analog.bias_voltage"),
        ({"network.weights": str(MLP)}, "device-aware network"),
    ):
        with pytest.raises(SnnRramError, match=match):
            run(cfg.replace(change), save=False)


def test_spiking_and_analog_runs_map_the_same_crossbars(tmp_path):
    spiking = map_network(load_config(write_config(tmp_path, mode="spiking")))
    analog = map_network(load_config(write_config(tmp_path)))
    assert spiking.metrics["quantized_accuracy"] == analog.metrics["quantized_accuracy"]
    for s, a in zip(spiking.mappings, analog.mappings, strict=True):
        np.testing.assert_array_equal(s.crossbar.G, a.crossbar.G)


def test_cli_run_with_set_mode_analog_info_and_plot(tmp_path, capsys):
    cfg = write_config(tmp_path, mode="spiking")
    assert cli.main(["run", str(cfg), "--quiet", "--set", "simulation.mode=analog"]) == 0
    out = capsys.readouterr().out
    assert "analog accuracy" in out and "device energy per inference" in out
    assert results.load(tmp_path / "run.h5").mode == "analog"
    assert cli.main(["info", str(tmp_path / "run.h5")]) == 0
    assert "mode analog" in capsys.readouterr().out
    assert cli.main(["plot", str(tmp_path / "run.h5")]) == 0
    written = {Path(p).name for p in capsys.readouterr().out.split()}
    assert written == {"run_fc1.png", "run_fc2.png"}
    assert cli.main(["run", str(cfg), "--quiet", "--set", "analog.dac_bits=8"]) == 2
    assert 'only valid with simulation.mode = "analog"' in capsys.readouterr().err
