"""ann.Network: construction checks and the float64 reference forward pass."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

import torch
import torch.nn.functional as F

from snn_rram import SnnRramError, ann
from snn_rram.ann import _ops

from ._models import cnn_skeleton, torch_forward

RNG = np.random.default_rng(0)


def _conv_net(stride, padding, in_shape=(2, 9, 8), out_ch=3, k=(3, 2)):
    w = RNG.normal(size=(out_ch, in_shape[0], *k))
    b = RNG.normal(size=out_ch)
    return ann.Network([ann.Conv2d(w, b, stride, padding, name="c")], in_shape), w, b


@pytest.mark.parametrize(
    ("stride", "padding"),
    [(1, 0), (2, 1), ((1, 2), (2, 0)), ((2, 1), (0, 1, 2, 0)), (3, (1, 0, 0, 1))],
)
def test_conv_matches_torch(stride, padding):
    net, w, b = _conv_net(stride, padding)
    x = RNG.normal(size=(5, 2, 9, 8))
    pt, pb, pl, pr = net[0].padding
    xp = F.pad(torch.from_numpy(x), (pl, pr, pt, pb))
    ref = F.conv2d(xp, torch.from_numpy(w), torch.from_numpy(b), stride=net[0].stride).numpy()
    out = net.forward(x)
    assert out.shape == ref.shape == (5, *net.output_shape)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_conv_in_batch_chunks_gives_the_same_result(monkeypatch):
    net, _, _ = _conv_net(1, 1)
    x = RNG.normal(size=(7, 2, 9, 8))
    whole = net.forward(x)
    monkeypatch.setattr(_ops, "_IM2COL_BYTES", 1)  # one image per chunk
    np.testing.assert_array_equal(net.forward(x), whole)


@pytest.mark.parametrize(("kernel", "stride"), [(2, None), (3, 1), ((2, 3), (1, 2)), (3, 2)])
def test_pooling_matches_torch(kernel, stride):
    x = RNG.normal(size=(4, 3, 9, 10))
    for cls, fn in ((ann.MaxPool2d, F.max_pool2d), (ann.AvgPool2d, F.avg_pool2d)):
        net = ann.Network([cls(kernel, stride)], (3, 9, 10))
        ref = fn(torch.from_numpy(x), kernel, stride).numpy()
        np.testing.assert_allclose(net.forward(x), ref, rtol=1e-12, atol=1e-12)
        assert net.output_shape == ref.shape[1:]


def test_cnn_forward_matches_torch(cnn, x_cnn):
    weights = {name: (p.detach().double().numpy(), None) for name, p in cnn.named_parameters()}
    net = cnn_skeleton().with_weights(
        {
            n: (weights[f"{n}.weight"][0], weights[f"{n}.bias"][0])
            for n in ("c1", "c2", "fc1", "fc2")
        }
    )
    np.testing.assert_allclose(net.forward(x_cnn), torch_forward(cnn, x_cnn), atol=1e-12)


def test_flatten_is_chw_order():
    x = np.arange(2 * 2 * 3 * 4, dtype=float).reshape(2, 2, 3, 4)
    net = ann.Network([ann.Flatten()], (2, 3, 4))
    np.testing.assert_array_equal(net.forward(x), x.reshape(2, -1))
    assert net.output_shape == (24,)


def test_dense_relu_by_hand():
    w = np.array([[1.0, -2.0], [0.5, 0.5], [-1.0, 0.0]])
    b = np.array([0.0, -1.0, 2.0])
    net = ann.Network([ann.Dense(w, b), ann.ReLU()], (2,))
    x = np.array([[1.0, 1.0], [2.0, -1.0]])
    np.testing.assert_allclose(net.forward(x), np.maximum(x @ w.T + b, 0))


def test_single_sample_and_activations():
    net = cnn_skeleton()
    x = RNG.normal(size=(3, 1, 16, 16))
    out, acts = net.forward(x, return_activations=True)
    assert len(acts) == len(net) == len(net.shapes) - 1
    for a, shape in zip(acts, net.shapes[1:], strict=True):
        assert a.shape == (3, *shape)
    np.testing.assert_array_equal(acts[-1], out)
    one, one_acts = net.forward(x[1], return_activations=True)
    np.testing.assert_allclose(one, out[1])
    assert [a.shape for a in one_acts] == list(net.shapes[1:])
    assert net.predict(x[1]).shape == ()
    assert net.predict(x).shape == (3,)


def test_forward_refuses_bad_inputs():
    net = cnn_skeleton()
    with pytest.raises(SnnRramError, match=r"x: expected a batch of shape \(N, 1, 16, 16\)"):
        net.forward(np.zeros((2, 16, 16, 1)))
    bad = np.zeros((1, 1, 16, 16))
    bad[0, 0, 3, 3] = np.nan
    with pytest.raises(SnnRramError, match="NaN"):
        net.forward(bad)
    with pytest.raises(SnnRramError, match="x: expected an array of numbers"):
        net.forward(object())


def test_predict_needs_vector_output():
    net = ann.Network([ann.ReLU()], (1, 4, 4))
    with pytest.raises(SnnRramError, match="predict"):
        net.predict(np.zeros((2, 1, 4, 4)))


def test_shape_mismatch_names_layer_position_and_shapes():
    layers = [
        ann.Conv2d(np.zeros((4, 1, 3, 3)), name="conv1"),
        ann.ReLU(),
        ann.Flatten(name="flat"),
        ann.Dense(np.zeros((10, 99)), name="fc1"),
    ]
    with pytest.raises(SnnRramError) as err:
        ann.Network(layers, (1, 8, 8))
    msg = str(err.value)
    assert "layer 3 'fc1' (Dense)" in msg
    assert "(99,)" in msg and "(144,)" in msg and "layer 2 'flat'" in msg


def test_dense_on_feature_maps_suggests_flatten():
    with pytest.raises(SnnRramError, match=r"layer 0 'fc' \(Dense\).*add a Flatten"):
        ann.Network([ann.Dense(np.zeros((2, 3)), name="fc")], (1, 3, 3))


def test_conv_channel_mismatch_and_too_small_input():
    with pytest.raises(SnnRramError, match=r"layer 0 'c' \(Conv2d\).*\(2, H, W\).*\(3, 8, 8\)"):
        ann.Network([ann.Conv2d(np.zeros((1, 2, 3, 3)), name="c")], (3, 8, 8))
    with pytest.raises(SnnRramError, match="larger than its input"):
        ann.Network([ann.Conv2d(np.zeros((1, 1, 5, 5)))], (1, 3, 3))
    with pytest.raises(SnnRramError, match="larger than its input"):
        ann.Network([ann.MaxPool2d(4)], (1, 3, 3))
    with pytest.raises(SnnRramError, match=r"expects input of shape \(C, H, W\)"):
        ann.Network([ann.AvgPool2d(2)], (16,))


def test_layer_validation():
    with pytest.raises(SnnRramError, match=r"fc.bias: expected shape \(2,\)"):
        ann.Dense(np.zeros((2, 3)), np.zeros(3), name="fc")
    with pytest.raises(SnnRramError, match="Conv2d.weight: expected an array with 4"):
        ann.Conv2d(np.zeros((2, 3)))
    with pytest.raises(SnnRramError, match="c.stride"):
        ann.Conv2d(np.zeros((1, 1, 2, 2)), stride=0, name="c")
    with pytest.raises(SnnRramError, match="padding"):
        ann.Conv2d(np.zeros((1, 1, 2, 2)), padding=(1, 2, 3))
    with pytest.raises(SnnRramError, match="infinite"):
        ann.Dense(np.array([[np.inf]]))
    with pytest.raises(SnnRramError, match="name"):
        ann.ReLU(name="bad name/with slash")
    assert ann.Conv2d(np.zeros((1, 1, 2, 2)), padding=(1, 2)).padding == (1, 1, 2, 2)
    assert ann.Conv2d(np.zeros((1, 1, 2, 2)), padding=3).padding == (3, 3, 3, 3)
    assert ann.MaxPool2d(3).stride == (3, 3)


def test_layers_are_frozen_and_own_their_arrays():
    w = np.ones((2, 3))
    layer = ann.Dense(w)
    w[0, 0] = 5.0
    assert layer.weight[0, 0] == 1.0
    assert not layer.weight.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.name = "x"  # type: ignore[misc]
    assert layer.weight.dtype == np.float64


def test_names_auto_unique_and_checked():
    net = ann.Network(
        [
            ann.Dense(np.ones((3, 2)), name="fc1"),
            ann.ReLU(),
            ann.Dense(np.ones((1, 3))),
            ann.ReLU(),
        ],
        (2,),
    )
    assert [layer.name for layer in net] == ["fc1", "relu1", "fc2", "relu2"]
    assert net["fc2"] is net[2] and net.index("relu2") == 3
    with pytest.raises(SnnRramError, match="unique"):
        ann.Network([ann.ReLU(name="a"), ann.ReLU(name="a")], (2,))
    with pytest.raises(SnnRramError, match="no layer called 'nope'"):
        net.index("nope")
    with pytest.raises(SnnRramError, match=r"layers\[0\]: expected one of"):
        ann.Network([torch.nn.ReLU()], (2,))
    with pytest.raises(SnnRramError, match="input_shape"):
        ann.Network([], (0, 3))


def test_weight_layers_and_with_weights():
    net = cnn_skeleton()
    assert [(i, layer.name) for i, layer in net.weight_layers()] == [
        (0, "c1"),
        (3, "c2"),
        (7, "fc1"),
        (9, "fc2"),
    ]
    new = net.with_weights({"fc2": (np.ones((5, 6)), None)})
    assert new["fc2"].bias is None and new["fc2"].weight.sum() == 30
    assert net["fc2"].weight.sum() == 0  # unchanged
    with pytest.raises(SnnRramError, match=r"fc2.weight: expected shape \(5, 6\)"):
        net.with_weights({"fc2": (np.ones((6, 5)), None)})
    with pytest.raises(SnnRramError, match="has no weights"):
        net.with_weights({"relu1": (np.ones(1), None)})
    text = net.summary()
    assert "c1" in text and "(4, 2, 2)" in text and "parameters" in text
    assert "Conv2d('c1')" in repr(net)


def test_ann_imports_nothing_of_the_hardware_side():
    code = (
        "import sys, snn_rram.ann\n"
        "bad = [m for m in sys.modules if m.split('.')[:2] in "
        "(['snn_rram','devices'], ['snn_rram','crossbar'], ['snn_rram','mapping'], "
        "['snn_rram','snn']) or m.split('.')[0] in ('brian2', 'torch', 'keras', 'onnx')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
