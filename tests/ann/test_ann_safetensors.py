"""safetensors files written by safetensors itself (torch and numpy APIs)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch

from snn_rram import SnnRramError, ann

from ._models import LeNet, assert_same, cnn_skeleton, seeded, torch_forward


def test_mlp_inferred(tmp_path, mlp, x_mlp):
    save_torch(mlp.state_dict(), tmp_path / "mlp.safetensors")
    assert ann.detect_format(tmp_path / "mlp.safetensors") == "safetensors"
    net = ann.load(tmp_path / "mlp.safetensors")
    assert_same(net, torch_forward(mlp, x_mlp), x_mlp)


def test_cnn_with_skeleton(tmp_path, cnn, x_cnn):
    save_torch(cnn.state_dict(), tmp_path / "cnn.safetensors")
    net = ann.load(tmp_path / "cnn.safetensors", skeleton=cnn_skeleton())
    assert_same(net, torch_forward(cnn, x_cnn), x_cnn)


def test_lenet_sequential_names_in_natural_order(tmp_path, x_lenet):
    # "classifier" sorts before "features" and "10" before "2": the order is restored anyway.
    lenet = seeded(LeNet, "avg", seed=6)
    sd = lenet.state_dict()
    names = {"conv1": "features.0", "conv2": "features.3"}
    names |= {"fc1": "classifier.2", "fc2": "classifier.10", "fc3": "classifier.11"}
    renamed = {f"{names[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in sd.items()}
    save_torch(renamed, tmp_path / "lenet.safetensors")
    net = ann.load(tmp_path / "lenet.safetensors", input_shape=(1, 28, 28), pooling="avg")
    assert [layer.name for _, layer in net.weight_layers()] == [
        "features.0",
        "features.3",
        "classifier.2",
        "classifier.10",
        "classifier.11",
    ]
    assert_same(net, torch_forward(lenet, x_lenet), x_lenet)


def test_numpy_api_file_without_bias(tmp_path):
    w = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    save_numpy({"out.weight": w}, tmp_path / "w.safetensors")
    net = ann.load(tmp_path / "w.safetensors")
    assert net["out"].bias is None
    x = np.ones((2, 5))
    np.testing.assert_allclose(net.forward(x), x @ w.astype(float).T)


def test_truncated_and_unsupported_dtype(tmp_path, mlp):
    save_torch(mlp.state_dict(), tmp_path / "mlp.safetensors")
    data = (tmp_path / "mlp.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-40])
    with pytest.raises(SnnRramError, match=r"cut.safetensors: tensor 'fc3.weight'.data_offsets"):
        ann.load(tmp_path / "cut.safetensors")
    bf16 = {k: v.to(torch.bfloat16) for k, v in mlp.state_dict().items()}
    save_torch(bf16, tmp_path / "bf16.safetensors")
    with pytest.raises(SnnRramError, match="bf16.safetensors"):
        ann.load(tmp_path / "bf16.safetensors")
