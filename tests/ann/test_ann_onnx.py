"""ONNX files from torch.onnx.export and from onnx.helper, checked against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from snn_rram import SnnRramError, ann

from ._models import assert_same, torch_forward

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning:torch")

RNG = np.random.default_rng(11)


def _ort(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: x.astype(np.float32)})[0].astype(np.float64)


def _export(model, example, path):
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(
        model,
        (torch.from_numpy(example.astype(np.float32)),),
        path,
        dynamo=True,
        dynamic_shapes=({0: batch},),
        verbose=False,
    )


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_torch_export(tmp_path, kind, request):
    model = request.getfixturevalue(kind)
    x = request.getfixturevalue(f"x_{kind}")
    path = tmp_path / f"{kind}.onnx"
    _export(model, x[:2], path)
    assert ann.detect_format(path) == "onnx"
    net = ann.load(path)
    assert net.input_shape == x.shape[1:]
    assert_same(net, torch_forward(model, x), x)
    np.testing.assert_allclose(net.forward(x), _ort(path, x), rtol=1e-5, atol=2e-6)
    if kind == "cnn":
        assert [layer.name for _, layer in net.weight_layers()] == ["c1", "c2", "fc1", "fc2"]
        assert net["c2"].stride == (2, 2) and net["c2"].padding == (1, 1, 1, 1)


def _const(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def _model(nodes, inits, in_shape, out_shape=None, out_name="y", opset=17):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def _helper_cnn(final_softmax=False):
    """Conv SAME_UPPER stride 2 + Add bias → Relu → MaxPool s1 → AveragePool → Reshape →
    MatMul + Add → Relu → Gemm (transB=0, alpha, beta)."""
    f32 = np.float32
    w1 = RNG.normal(size=(3, 2, 2, 2)).astype(f32)
    b1 = RNG.normal(size=(1, 3, 1, 1)).astype(f32)
    w2 = RNG.normal(size=(3 * 2 * 2, 5)).astype(f32)
    b2 = RNG.normal(size=(5,)).astype(f32)
    w3 = RNG.normal(size=(5, 4)).astype(f32)
    c3 = RNG.normal(size=(1, 4)).astype(f32)
    nodes = [
        helper.make_node(
            "Conv", ["x", "w1"], ["c"], name="conv", auto_pad="SAME_UPPER", strides=[2, 2]
        ),
        helper.make_node("Add", ["c", "b1"], ["cb"], name="bias"),
        helper.make_node("Relu", ["cb"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("AveragePool", ["p1"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Constant", [], ["shape"], value=_const("s", np.array([0, -1]))),
        helper.make_node("Reshape", ["p2", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w2"], ["m"], name="fc1"),
        helper.make_node("Add", ["m", "b2"], ["mb"]),
        helper.make_node("Relu", ["mb"], ["r2"]),
        helper.make_node(
            "Gemm", ["r2", "w3", "c3"], ["z" if final_softmax else "y"], alpha=0.5, beta=2.0
        ),
    ]
    if final_softmax:
        nodes.append(helper.make_node("Softmax", ["z"], ["y"], axis=1))
    inits = [_const(n, v) for n, v in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2))]
    inits += [_const("w3", w3), _const("c3", c3)]
    # 2x9x9 → conv same s2: 3x5x5 (pads 0/1) → max s1: 4x4 → avg: 2x2 → 12 features.
    return _model(nodes, inits, [2, 9, 9])


def test_helper_graph_matches_onnxruntime(tmp_path):
    path = tmp_path / "h.onnx"
    onnx.save(_helper_cnn(), path)
    net = ann.load(path)
    assert net["conv"].padding == (0, 1, 0, 1) and net["conv"].bias is not None
    assert [layer.kind for layer in net] == [
        "Conv2d",
        "ReLU",
        "MaxPool2d",
        "AvgPool2d",
        "Flatten",
        "Dense",
        "ReLU",
        "Dense",
    ]
    x = RNG.normal(size=(6, 2, 9, 9))
    ref = _ort(path, x)
    np.testing.assert_allclose(net.forward(x), ref, rtol=1e-5, atol=2e-6)
    np.testing.assert_array_equal(net.predict(x), ref.argmax(1))


def test_final_softmax_dropped_with_warning(tmp_path):
    path = tmp_path / "s.onnx"
    onnx.save(_helper_cnn(final_softmax=True), path)
    with pytest.warns(UserWarning, match="softmax"):
        net = ann.load(path)
    x = RNG.normal(size=(6, 2, 9, 9))
    np.testing.assert_array_equal(net.predict(x), _ort(path, x).argmax(1))


def test_gemm_transb_and_flatten(tmp_path):
    w = RNG.normal(size=(3, 8)).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1, alpha=2.0),
    ]
    path = tmp_path / "g.onnx"
    onnx.save(_model(nodes, [_const("w", w), _const("b", np.float32(0.25))], [2, 2, 2]), path)
    net = ann.load(path)
    x = RNG.normal(size=(4, 2, 2, 2))
    np.testing.assert_allclose(net.forward(x), _ort(path, x), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(net[-1].bias, [0.25] * 3)


def _expect_error(tmp_path, nodes, inits, in_shape, pattern, **kw):
    path = tmp_path / "bad.onnx"
    onnx.save(_model(nodes, inits, in_shape, **kw), path)
    with pytest.raises(SnnRramError, match=pattern):
        ann.load(path)


def test_unsupported_operator_named_with_position(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"], name="fc"),
        helper.make_node("Sigmoid", ["m"], ["y"], name="sig"),
    ]
    _expect_error(
        tmp_path,
        nodes,
        [_const("w", np.ones((3, 2), np.float32))],
        [3],
        r"node 1 'sig' \(Sigmoid\): unsupported operator",
    )


def test_graph_errors(tmp_path):
    w = _const("w", np.ones((3, 3), np.float32))
    conv_w = _const("cw", np.ones((2, 2, 3, 3), np.float32))
    cases = [
        (  # a residual connection
            [
                helper.make_node("MatMul", ["x", "w"], ["m"], name="a"),
                helper.make_node("Add", ["m", "x"], ["y"], name="res"),
            ],
            [w],
            [3],
            r"node 1 'res' \(Add\): takes \['m', 'x'\]",
        ),
        (
            [helper.make_node("Gemm", ["x", "w"], ["y"], name="g", transA=1)],
            [w],
            [3],
            r"node 0 'g' \(Gemm\): transA=1",
        ),
        (
            [helper.make_node("Conv", ["x", "cw"], ["y"], name="c", group=2)],
            [_const("cw", np.ones((2, 1, 3, 3), np.float32))],
            [2, 5, 5],
            r"'c' \(Conv\): group=2",
        ),
        (
            [helper.make_node("Conv", ["x", "cw"], ["y"], name="c", dilations=[2, 2])],
            [conv_w],
            [3, 9, 9],
            r"'c' \(Conv\): dilations",
        ),
        (
            [
                helper.make_node(
                    "MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2], pads=[1] * 4
                )
            ],
            [],
            [1, 4, 4],
            r"'p' \(MaxPool\): padding",
        ),
        (
            [helper.make_node("Reshape", ["x", "s"], ["y"], name="r")],
            [_const("s", np.array([0, 2, -1]))],
            [1, 4, 4],
            r"'r' \(Reshape\): reshape to \[0, 2, -1\] is not a flatten",
        ),
        (
            [
                helper.make_node("Shape", ["x"], ["s"], name="shape"),
                helper.make_node("Reshape", ["x", "s"], ["y"], name="r"),
            ],
            [],
            [1, 4, 4],
            r"node 0 'shape' \(Shape\): unsupported operator",
        ),
        (
            [helper.make_node("Flatten", ["x"], ["y"], name="f", axis=2)],
            [],
            [1, 4, 4],
            r"'f' \(Flatten\): axis=2",
        ),
        (
            [
                helper.make_node("Relu", ["x"], ["r"], name="relu"),
                helper.make_node("Add", ["r", "w"], ["y"], name="add"),
            ],
            [_const("w", np.ones(3, np.float32))],
            [3],
            r"'add' \(Add\): only Add of a constant bias directly after",
        ),
    ]
    for nodes, inits, in_shape, pattern in cases:
        _expect_error(tmp_path, nodes, inits, in_shape, pattern)


def test_output_must_end_the_chain(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Relu", ["m"], ["r"]),
    ]
    _expect_error(
        tmp_path,
        nodes,
        [_const("w", np.ones((3, 2), np.float32))],
        [3],
        r"graph outputs \['m'\] are not the end of the layer chain \('r'\)",
        out_name="m",
    )


def test_truncated_and_input_shape(tmp_path):
    path = tmp_path / "h.onnx"
    onnx.save(_helper_cnn(), path)
    data = path.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(SnnRramError, match="cut.onnx: not a readable ONNX file"):
        ann.load(tmp_path / "cut.onnx")
    with pytest.raises(SnnRramError, match=r"input_shape: h.onnx has input shape \(2, 9, 9\)"):
        ann.load(path, input_shape=(2, 8, 8))
    with pytest.raises(SnnRramError, match="skeleton: h.onnx stores its own architecture"):
        ann.load(path, skeleton=ann.load(path))
    model = _helper_cnn()
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    onnx.save(model, tmp_path / "var.onnx")
    with pytest.raises(SnnRramError, match="input_shape: var.onnx does not fix"):
        ann.load(tmp_path / "var.onnx")
    assert ann.load(tmp_path / "var.onnx", input_shape=(2, 9, 9)).output_shape == (4,)
