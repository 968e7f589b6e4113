"""The training recipe (snn_rram.ann.train), its TOML sidecar and the bundled pretrained MLP."""

from __future__ import annotations

import hashlib
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from snn_rram import SnnRramError, ann, datasets
from snn_rram.ann import train

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "models" / "networks" / "mlp_784_256_10.npz"
BUNDLED_COMMAND = "snn-rram train --hidden 256 --seed 0 --out models/networks/mlp_784_256_10.npz"

MNIST = datasets.load("mnist_5k")
TINY = {
    "hidden": (16,),
    "epochs": 3,
    "n_train": 500,
    "batch_size": 32,
    "lr": 5e-3,
    "seed": 3,
    "data": MNIST,
}


@pytest.fixture(scope="module")
def tiny():
    return train.train_mlp(**TINY)


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist_5k")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tiny_run_shapes_no_bias_and_clipping(tiny):
    net, _ = tiny
    assert [layer.kind for layer in net] == ["Dense", "ReLU", "Dense"]
    assert [layer.name for layer in net] == ["fc1", "relu1", "fc2"]
    assert net.input_shape == (784,) and net.output_shape == (10,)
    assert net.name == "mlp_784_16_10"
    assert net["fc1"].weight.shape == (16, 784) and net["fc2"].weight.shape == (10, 16)
    for _, layer in net.weight_layers():
        assert layer.bias is None
        assert layer.weight.dtype == np.float64 and np.isfinite(layer.weight).all()
        # Clipped to 3 standard deviations (of the float32 values, before the last clip).
        assert np.abs(layer.weight).max() <= 3.001 * layer.weight.std()


def test_tiny_run_metadata(tiny, mnist):
    net, meta = tiny
    x_train = mnist.subset(n_train=500).train_vectors()
    train_correct = int((net.predict(x_train) == mnist.train_labels[:500]).sum())
    test_correct = int((net.predict(mnist.test_vectors()) == mnist.test_labels).sum())
    assert meta["train_correct"] == train_correct and meta["n_train_images"] == 500
    assert meta["test_correct"] == test_correct and meta["n_test_images"] == 1000
    assert meta["train_accuracy"] == train_correct / 500
    assert meta["test_accuracy"] == test_correct / 1000
    assert meta["test_accuracy"] > 0.5  # 3 epochs on 500 images: far above chance
    expected = {
        "hidden": [16],
        "dataset": "mnist_5k",
        "n_train": 500,
        "epochs": 3,
        "batch_size": 32,
        "lr": 5e-3,
        "seed": 3,
        "bias": False,
        "architecture": "784-16-10",
        "optimizer": "Adam",
        "torch_version": str(torch.__version__),
        "num_threads": 1,
        "deterministic": True,
    }
    assert {k: meta[k] for k in expected} == expected
    for key in ("weight_decay", "label_smoothing", "clip_sigma", "max_shift", "final_loss"):
        assert math.isfinite(meta[key])
    assert meta["wall_time_s"] > 0 and meta["data_path"] is None


def test_deterministic_and_global_state_restored(tiny):
    net, meta = tiny
    threads = torch.get_num_threads()
    flag = torch.are_deterministic_algorithms_enabled()
    again, meta2 = train.train_mlp(**TINY)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == flag
    for (_, a), (_, b) in zip(net.weight_layers(), again.weight_layers(), strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
    assert train.weights_sha256(net) == train.weights_sha256(again)
    assert meta2["final_loss"] == meta["final_loss"]
    other, _ = train.train_mlp(**{**TINY, "seed": 4})
    assert train.weights_sha256(other) != train.weights_sha256(net)


def test_bias_linear_classifier_and_log():
    lines = []
    net, meta = train.train_mlp(
        (),
        data=MNIST,
        epochs=1,
        n_train=100,
        bias=True,
        clip_sigma=None,
        max_shift=0,
        log=lines.append,
    )
    assert [layer.kind for layer in net] == ["Dense"] and net.name == "mlp_784_10"
    assert net["fc1"].bias.shape == (10,) and meta["bias"] is True
    assert meta["clip_sigma"] is None and len(lines) == 1 and lines[0].startswith("epoch 1/1")


def test_missing_torch_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(SnnRramError, match=r"pip install torch==2\.13\.0"):
        train.train_mlp(**TINY)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"hidden": (0,)}, "hidden"),
        ({"hidden": "256"}, "hidden"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"weight_decay": float("nan")}, "weight_decay"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"clip_sigma": 0.0}, "clip_sigma"),
        ({"max_shift": 28}, "max_shift"),
        ({"seed": -1}, "seed"),
        ({"bias": "yes"}, "bias"),
        ({"n_train": 4001}, "n_train"),
        ({"data": object()}, "data"),
        ({"data": None}, "data"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(SnnRramError, match=rf"^{name}"):
        train.train_mlp(**{**TINY, **kwargs})


def test_sidecar_round_trip(tiny, tmp_path):
    net, meta = tiny
    out = train.save_pretrained(net, meta, tmp_path / "tiny.npz")
    assert out == tmp_path / "tiny.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.npz", "tiny.toml"]
    with open(tmp_path / "tiny.toml", "rb") as fh:
        side = tomllib.load(fh)
    assert side["meta"] == {k: v for k, v in meta.items() if v is not None}
    assert side["file"] == "tiny.npz"
    assert side["sha256"] == _sha256(out)
    loaded = ann.load(out)
    assert side["weights_sha256"] == train.weights_sha256(loaded) == train.weights_sha256(net)
    for (_, a), (_, b) in zip(loaded.weight_layers(), net.weight_layers(), strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert a.bias is None
    assert side["network"] == "mlp_784_16_10" and side["input_shape"] == [784]
    assert side["layers"] == [
        "fc1: Dense 784→16, no bias",
        "relu1: ReLU",
        "fc2: Dense 16→10, no bias",
    ]
    # n_train, lr, batch_size are not options of `snn-rram train`: no command, a python call.
    assert side["command"] == ""
    assert side["python"].startswith(
        "snn_rram.ann.train.train_mlp(hidden=(16,), data=snn_rram.datasets.load('mnist_5k'"
    )
    assert "n_train=500" in side["python"] and "seed=3" in side["python"]
    # Saving again replaces both files with identical bytes.
    before = (out.read_bytes(), (tmp_path / "tiny.toml").read_bytes())
    train.save_pretrained(net, meta, out)
    assert (out.read_bytes(), (tmp_path / "tiny.toml").read_bytes()) == before


def test_regenerate_command(tiny):
    _, meta = tiny
    meta = {**meta, "n_train": None, "lr": 1e-3, "batch_size": 64, "epochs": 60, "hidden": [256]}
    assert train.regenerate_command(meta, "m/a.npz") == (
        "snn-rram train --hidden 256 --seed 3 --out m/a.npz"
    )
    meta.update(epochs=5, hidden=[32, 16])
    assert train.regenerate_command(meta, "my dir/a.npz") == (
        "snn-rram train --hidden 32 16 --seed 3 --epochs 5 --out 'my dir/a.npz'"
    )
    assert train.regenerate_command({**meta, "lr": 0.01}, "a.npz") is None
    assert train.regenerate_command({**meta, "bias": True}, "a.npz") is None


def test_save_pretrained_errors_leave_no_file(tiny, tmp_path):
    net, meta = tiny
    with pytest.raises(SnnRramError, match="^path: expected a file name ending in .npz"):
        train.save_pretrained(net, meta, tmp_path / "tiny.weights")
    with pytest.raises(SnnRramError, match="^path: folder"):
        train.save_pretrained(net, meta, tmp_path / "missing" / "tiny.npz")
    with pytest.raises(SnnRramError, match="final_loss: expected a finite number"):
        train.save_pretrained(net, {**meta, "final_loss": float("inf")}, tmp_path / "t.npz")
    with pytest.raises(SnnRramError, match="^network"):
        train.save_pretrained("net", meta, tmp_path / "t.npz")
    assert list(tmp_path.iterdir()) == []


def test_toml_writer_round_trips_awkward_values():
    top = {
        "text": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f arrow → 𝔾',
        "key with space": 1,
        "skipped": None,
        "floats": [1e-5, 0.1, 3.0, -2.5e300],
        "big": 2**62,
        "flag": False,
    }
    text = train.toml_dumps(top, {"t.1": {"x": "y"}}, comment="two\nlines")
    assert text.startswith("# two\n# lines\n")
    expected = {k: v for k, v in top.items() if v is not None}
    assert tomllib.loads(text) == {**expected, "t.1": {"x": "y"}}
    with pytest.raises(SnnRramError, match="v: expected a finite number"):
        train.toml_dumps({"v": float("nan")})
    with pytest.raises(SnnRramError, match="d: expected a string, boolean"):
        train.toml_dumps({"d": {"nested": 1}})


def test_bundled_model_matches_its_sidecar(mnist):
    sidecar = BUNDLED.with_suffix(".toml")
    with open(sidecar, "rb") as fh:
        side = tomllib.load(fh)
    meta = side["meta"]
    assert side["sha256"] == _sha256(BUNDLED)
    assert side["command"] == BUNDLED_COMMAND
    net = ann.load(BUNDLED)
    assert side["weights_sha256"] == train.weights_sha256(net)
    assert [layer.kind for layer in net] == ["Dense", "ReLU", "Dense"]
    assert net["fc1"].weight.shape == (256, 784) and net["fc2"].weight.shape == (10, 256)
    assert all(layer.bias is None for _, layer in net.weight_layers())
    assert meta["dataset"] == "mnist_5k" and meta["n_test_images"] == mnist.n_test
    test_correct = int((net.predict(mnist.test_vectors()) == mnist.test_labels).sum())
    train_correct = int((net.predict(mnist.train_vectors()) == mnist.train_labels).sum())
    assert test_correct == meta["test_correct"]
    assert test_correct / mnist.n_test == meta["test_accuracy"]
    assert train_correct == meta["train_correct"]
    assert train_correct / mnist.n_train == meta["train_accuracy"]
    assert meta["test_accuracy"] > 0.95


def test_train_network_trains_a_small_lenet_style_cnn():
    """Any architecture in float: conv → ReLU → pool → flatten → dense, with biases."""
    x, y = MNIST.train_vectors()[:400], np.asarray(MNIST.train_labels[:400])
    xt, yt = MNIST.test_vectors()[:200], np.asarray(MNIST.test_labels[:200])
    skeleton = ann.Network(
        [
            ann.Conv2d(np.zeros((4, 1, 5, 5)), np.zeros(4), padding=2, name="conv1"),
            ann.ReLU(),
            ann.AvgPool2d(4),
            ann.Flatten(),
            ann.Dense(np.zeros((10, 196)), name="fc1"),
        ],
        (1, 28, 28),
        name="small_cnn",
    )
    net, meta = train.train_network(skeleton, x, y, xt, yt, epochs=4, lr=3e-3, seed=1)
    assert [la.describe() for la in net.layers] == [la.describe() for la in skeleton.layers]
    assert meta["test_accuracy"] >= 0.5 and np.any(net.layers[0].bias != 0)
    assert meta["test_accuracy"] == np.mean(net.predict(xt.reshape(-1, 1, 28, 28)) == yt)
    again, _ = train.train_network(skeleton, x, y, xt, yt, epochs=4, lr=3e-3, seed=1)
    np.testing.assert_array_equal(again.layers[0].weight, net.layers[0].weight)
    with pytest.raises(SnnRramError, match="train_x"):
        train.train_network(skeleton, x[:, :100], y, xt, yt)
