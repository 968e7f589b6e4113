"""The pipeline end to end on a small subset: real files, real Brian2, real HDF5."""

import subprocess
import sys

import numpy as np
import pytest

from snn_rram import ann, datasets, results
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
