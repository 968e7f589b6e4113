"""The pipeline end to end on a small subset: real files, real Brian2, real HDF5."""

import json
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from snn_rram import ann, datasets, devices, results
from snn_rram.experiments import load_config, run


@pytest.fixture(scope="module")
def tiny_mlp(tmp_path_factory):
    """A 784-32-10 ReLU MLP fitted by a few gradient steps (enough to be well above chance)."""
    ds = datasets.load("mnist_5k")
    X, y = ds.train_vectors()[:2000], ds.train_labels[:2000].astype(int)
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(0, 0.05, (32, 784)), rng.normal(0, 0.1, (10, 32))
    for _ in range(15):
        for b in range(0, 2000, 100):
            xb, yb = X[b : b + 100], y[b : b + 100]
            h = np.maximum(xb @ W1.T, 0)
            z = h @ W2.T
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(100), yb] -= 1
            gh = (p @ W2) * (h > 0)
            W2 -= 0.01 * p.T @ h
            W1 -= 0.01 * gh.T @ xb
    path = tmp_path_factory.mktemp("net") / "mlp.npz"
    ann.save(ann.Network([ann.Dense(W1), ann.ReLU(), ann.Dense(W2)], (784,)), path)
    return path


def write_config(tmp_path, weights, **sections):
    text = f'[network]\nweights = "{weights}"\n[data]\nn_images = 20\nn_calibration = 200\n'
    text += '[simulation]\ntarget = "numpy"\nprogress = false\n'
    text += '[encoder]\nmax_rate = "200 Hz"\nimage_duration = "40 ms"\n'
    text += f'[output]\ndirectory = "{tmp_path}"\nname = "run"\n'
    for name, body in sections.items():
        text += f"[{name}]\n{body}\n"
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_run_writes_a_complete_result(tiny_mlp, tmp_path):
    outcome = run(load_config(write_config(tmp_path, tiny_mlp)))
    m = outcome.metrics
    assert m["ann_accuracy"] > 0.5 and m["snn_accuracy"] > 0.3
    assert m["average_power_per_synapse"] > 0
    assert outcome.path.exists() and outcome.figure.exists()
    assert results.is_complete(outcome.path)
    rec = results.load(outcome.path)
    assert rec.metrics["snn_accuracy"] == pytest.approx(m["snn_accuracy"])
    assert set(rec.layers) == {"fc1", "fc2"} and set(rec.spikes) == {"input", "fc1", "fc2"}
    np.testing.assert_allclose(rec.layers["fc1"].conductances, outcome.mappings[0].crossbar.G)
    assert rec.config_dict["mapping"]["method"] == "linear_pair"
    assert len(rec.weights_sha256) == 64
    total = sum(layer.total_device_energy for layer in rec.layers.values())
    assert total == pytest.approx(m["total_device_energy"])


def test_cli_run_and_info(tiny_mlp, tmp_path):
    cfg = write_config(tmp_path, tiny_mlp, mapping="method = 'linear_pair'\nbits = 3")
    proc = subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", "run", str(cfg), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SNN accuracy" in proc.stdout and "average power per synapse" in proc.stdout
    info = subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", "info", str(tmp_path / "run.h5")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert info.returncode == 0 and "fc1" in info.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "snn_rram.cli", "run", str(tmp_path / "x.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "not found" in bad.stderr


def test_result_stores_the_device_card(tiny_mlp, tmp_path):
    outcome = run(load_config(write_config(tmp_path, tiny_mlp, device="card = 'sinh_mild'")))
    rec = results.load(outcome.path)
    card = devices.list_cards()["sinh_mild"]
    assert rec.device_card == card.read_text(encoding="utf-8")
    assert rec.device_card_sha256 == results.file_sha256(card)
    assert "device card sha256" in results.summary(outcome.path)


KILL_DURING_SAVE = """
import os, signal, sys
from snn_rram.results import writer
from snn_rram import cli

real = writer._write_metrics

def write_then_die(*args, **kwargs):  # the file is half-written: layers and spikes are in
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

if sys.argv[2] == "kill":
    writer._write_metrics = write_then_die
sys.exit(cli.main(["run", sys.argv[1], "--quiet"]))
"""


def test_killed_run_leaves_previous_result_and_no_temporary(tiny_mlp, tmp_path):
    cfg = write_config(tmp_path, tiny_mlp)
    python = [sys.executable, "-c", KILL_DURING_SAVE, str(cfg)]
    first = subprocess.run([*python, "no"], capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    result = tmp_path / "run.h5"
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    proc = subprocess.run([*python, "kill"], capture_output=True, text=True, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # the previous result intact, no temporary file, nothing else
    assert results.is_complete(result)
    results.load(result)


def test_hardware_warnings_are_shown_and_stored_in_the_result(tiny_mlp, tmp_path):
    """Too many bits for a 4-level card: warned at load and in the run, kept in the file."""
    path = write_config(
        tmp_path,
        tiny_mlp,
        device='card = "measured_4level"',
        mapping='method = "linear_pair"\nbits = 4',
    )
    with pytest.warns(Warning, match="mapping.bits = 4"):
        cfg = load_config(path).replace("simulation.energy", False)
    with pytest.warns(Warning, match="mapping.bits = 4"):
        outcome = run(cfg)
    stored = json.loads(results.load(outcome.path).extra_attrs["warnings"])
    assert len(stored) == 1 and "measured_4level" in stored[0]
    # 4 levels: a pair of a level and the lowest one gives at most 7 distinct weights
    realised = re.search(r"realised: fc1 (\d+), fc2 (\d+)", stored[0])
    assert realised and all(2 <= int(k) <= 7 for k in realised.groups())


def test_qwsm_learns_the_input_activity_from_the_calibration_images(tiny_mlp, tmp_path):
    """``mapping.activity = "calibration"`` gives QWSM each layer's mean input (its report
    says so); ``"uniform"`` leaves the method's default; methods without it ignore it."""
    from snn_rram.experiments import pipeline

    reports = {}
    for activity in ("uniform", "calibration"):
        cfg = load_config(
            write_config(
                tmp_path,
                tiny_mlp,
                mapping=f'method = "qwsm"\nbits = 3\nactivity = "{activity}"',
                circuit='r_neuron = "1 kohm"',
            )
        )
        prep = pipeline.prepare(cfg)
        reports[activity] = [m.report for m in prep.mappings]
    assert [r["activity_weighted"] for r in reports["uniform"]] == [False, False]
    assert [r["activity_weighted"] for r in reports["calibration"]] == [True, True]
    assert reports["uniform"][0]["objective"] != reports["calibration"][0]["objective"]
    cfg = load_config(
        write_config(
            tmp_path, tiny_mlp, mapping='method = "linear_pair"\nactivity = "calibration"'
        )
    )
    assert len(pipeline.prepare(cfg).mappings) == 2


@pytest.mark.parametrize(("card", "power_weight"), [("measured_4level", None), ("default", 1e3)])
def test_qwsm_keeps_the_network_that_agrees_better_with_the_converted_one(
    tiny_mlp, tmp_path, card, power_weight
):
    """``mapping.fallback = "auto"``: QWSM's mapped network is kept only if it agrees at least as
    well as ``linear_pair``'s with the converted network on the calibration images."""
    from snn_rram import mapping
    from snn_rram.experiments import pipeline

    cfg = load_config(write_config(tmp_path, tiny_mlp)).replace(
        {"device.card": card, "circuit.r_neuron": 3000.0, "mapping.method": "qwsm"}
    )
    options = {} if power_weight is None else {"power_weight": power_weight}
    if options:  # power only: QWSM's network is worse than linear_pair's
        cfg = cfg.replace("mapping.options.power_weight", power_weight)
    _, _, calib = pipeline._dataset(cfg)
    network, _ = pipeline.load_network(cfg)
    converted = ann.convert(network, calib, percentile=cfg.conversion.percentile)
    (device, _), circuit = pipeline._device(cfg), pipeline._circuit(cfg)
    kept, notes, _ = pipeline.map_layers(cfg, converted, calib, device, circuit)
    record = kept[0].report["fallback"]
    assert all(m.report["fallback"] == record for m in kept)
    # independently: both networks' agreement with the converted network
    x = calib.reshape(len(calib), -1)
    target = converted.predict(x)
    duty = min(1.0, cfg.encoder.max_rate * cfg.circuit.pulse_width)
    nets = {}
    for name in ("qwsm", "linear_pair"):
        rng = np.random.default_rng(cfg.mapping.seed)
        nets[name] = [
            mapping.get(name)(
                layer.weight,
                device,
                circuit,
                bits=cfg.mapping.bits,
                bias=layer.bias,
                bias_duty=duty,
                seed=rng,
                **(options if name == "qwsm" else {}),
            )
            for layer in converted.layers
        ]
    agree = {
        k: float(np.mean(np.argmax(pipeline.effective_forward(v, x), axis=1) == target))
        for k, v in nets.items()
    }
    assert record["agreement"] == agree["qwsm"]
    assert record["agreement_linear_pair"] == agree["linear_pair"]
    if agree["qwsm"] != agree["linear_pair"]:
        assert record["kept"] == max(agree, key=agree.get)
    chosen = nets[record["kept"]]
    for a, b in zip(kept, chosen, strict=True):
        np.testing.assert_array_equal(a.effective_weight, b.effective_weight)
    assert any("fell back" in n for n in notes) == (record["kept"] == "linear_pair")
    # "none" keeps QWSM's mapping and records nothing
    plain, _, _ = pipeline.map_layers(
        cfg.replace("mapping.fallback", "none"), converted, calib, device, circuit
    )
    assert "fallback" not in plain[0].report
    assert record["kept"] == ("qwsm" if power_weight is None else "linear_pair")
    np.testing.assert_array_equal(plain[0].effective_weight, nets["qwsm"][0].effective_weight)


def test_normalising_on_the_mapped_network_restores_the_conversions_scale(tiny_mlp, tmp_path):
    """At R_N = 1 kΩ the column gains shrink the mapped network's activations; with
    ``conversion.normalise_on = "mapped"`` each layer's neurons are rescaled so that the
    mapped rate model's percentile is 1 again, and the hidden layer fires more."""
    from snn_rram.errors import SnnRramError
    from snn_rram.experiments import pipeline

    cfgs, preps, outcomes = {}, {}, {}
    for on in ("float", "mapped"):
        (tmp_path / on).mkdir()
        cfgs[on] = load_config(
            write_config(
                tmp_path / on,
                tiny_mlp,
                circuit='r_neuron = "1 kohm"',
                conversion=f'normalise_on = "{on}"',
            )
        )
        preps[on] = pipeline.prepare(cfgs[on])
        outcomes[on] = run(cfgs[on], save=False)
    mapped = pipeline.map_network(cfgs["mapped"])
    scales = pipeline.mapped_scales(mapped.mappings, mapped.calibration, 99.9)
    assert 0 < scales[0] < 1 and all(s > 0 for s in scales), scales  # 1 kΩ: the loads shrink
    for k, s in enumerate(scales):
        want = preps["float"].neurons[k].capacitance * s
        assert preps["mapped"].neurons[k].capacitance == pytest.approx(want, rel=1e-12)
    # rescaled layer by layer, every layer's percentile of the mapped rate model is 1
    a = mapped.calibration
    for k, m in enumerate(mapped.mappings):
        z = np.maximum(np.asarray(m.effective_weight @ a.T).T, 0) / scales[k]
        assert np.percentile(z[z > 0], 99.9) == pytest.approx(1.0)
        a = z
    reads = {on: [x.read_counts.sum() for x in o.result.layers] for on, o in outcomes.items()}
    assert reads["mapped"][0] == reads["float"][0]  # the same input spikes
    assert reads["mapped"][1] > 1.5 * reads["float"][1]  # the hidden layer fires more
    with pytest.raises(SnnRramError, match="conversion.normalise_on"):
        cfgs["mapped"].replace("simulation.mode", "analog")
    with pytest.raises(SnnRramError, match="conversion.normalise_on"):
        cfgs["float"].replace("conversion.normalise_on", "ann")
