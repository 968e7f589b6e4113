"""ONNX graphs: initializers plus a chain of Gemm/MatMul(+Add)/Conv/Relu/pooling/flatten nodes.

The ``onnx`` package (optional extra ``onnx``) parses the file; nothing is executed. The graph
must be a chain: every node takes the previous node's output as its only non-constant input.
Tensors are checked before they are converted (:func:`_tensor`): dims >= 0, the size within
:data:`~snn_rram.ann._limits.MAX_TENSOR_BYTES`, ``raw_data`` exactly as long as the dims say;
data in an external file (what ``torch.onnx.export`` writes beside large models) is read only
from a regular file in the model's folder, within that file and exactly as long as the dims say.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from snn_rram._io import check_declared_size
from snn_rram.ann._common import as_float_array, sanitize_name, warn_dropped_softmax
from snn_rram.ann._limits import MAX_ARRAYS, MAX_TENSOR_BYTES
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, ReLU
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

_PASS_THROUGH = {"Identity", "Dropout"}
#: Named inputs a node needs (the data input, then constants); other operators need one.
_MIN_INPUTS = {"Constant": 0, "Gemm": 2, "MatMul": 2, "Conv": 2, "Add": 2}
_SUPPORTED = (
    "Gemm, MatMul, Add (bias), Conv, Relu, AveragePool, MaxPool, Flatten, Reshape (as "
    "flatten), Identity, Dropout, Constant, and Softmax/LogSoftmax at the end"
)


def _import_onnx(source: str):
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise SnnRramError(
            f"{source}: reading ONNX files needs the 'onnx' package, an optional dependency: "
            "pip install onnx, or snn-rram[onnx]"
        ) from None
    return onnx, helper, numpy_helper


class _Chain:
    """Our layers built from the ONNX nodes, with the current per-sample shape."""

    def __init__(self, source: str, shape: tuple[int, ...], batch: int | None):
        self.source = source
        self.shape = shape
        self.batch = batch
        self.layers: list = []
        self.where = ""
        self.used_names: set[str] = set()

    def fail(self, what: str):
        raise SnnRramError(f"{self.source}: {self.where}: {what}")

    def add(self, layer) -> None:
        try:
            self.shape = tuple(layer.output_shape(self.shape))
        except SnnRramError as exc:
            self.fail(str(exc))
        self.layers.append(layer)

    def name(self, weight_name: str, node_name: str, pos: int) -> str:
        base = weight_name[: -len(".weight")] if weight_name.endswith(".weight") else node_name
        name = sanitize_name(base, f"layer{pos}")
        candidate, k = name, 1
        while candidate in self.used_names:
            k += 1
            candidate = f"{name}_{k}"
        self.used_names.add(candidate)
        return candidate


def _ints(attrs: dict, key: str, default: list[int], chain: _Chain) -> list[int]:
    value = attrs.get(key, default)
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) for v in value):
        chain.fail(f"attribute {key}: expected integers, got {value!r}")
    return list(value)


def _same_pads(size: int, kernel: int, stride: int, upper: bool) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    small, big = total // 2, total - total // 2
    return (small, big) if upper else (big, small)


def _conv_pads(attrs: dict, kernel: list[int], stride: list[int], chain: _Chain):
    """(top, bottom, left, right) from ONNX pads [top, left, bottom, right] or auto_pad."""
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if len(chain.shape) != 3:
            chain.fail(f"expects a (C, H, W) input, got {chain.shape}")
        upper = auto == "SAME_UPPER"
        top, bottom = _same_pads(chain.shape[1], kernel[0], stride[0], upper)
        left, right = _same_pads(chain.shape[2], kernel[1], stride[1], upper)
        return top, bottom, left, right
    if auto == "VALID":
        return 0, 0, 0, 0
    if auto != "NOTSET":
        chain.fail(f"attribute auto_pad {auto!r} is unsupported")
    pads = _ints(attrs, "pads", [0, 0, 0, 0], chain)
    if len(pads) != 4 or min(pads) < 0:
        chain.fail(f"attribute pads {pads}: expected 4 values >= 0 (2-D)")
    return pads[0], pads[2], pads[1], pads[3]


def _gemm(chain, node, attrs, consts, pos):
    data, b_name = node.input[0], node.input[1]
    if data in consts:
        chain.fail("the data is the second input (B) of Gemm; only x @ W is supported")
    if attrs.get("transA", 0):
        chain.fail("transA=1 on the data input is unsupported (data must be batch first)")
    b = consts[b_name]
    if b.ndim != 2:
        chain.fail(f"weight {b_name!r} has shape {b.shape}, expected 2-D")
    alpha = float(attrs.get("alpha", 1.0))
    beta = float(attrs.get("beta", 1.0))
    weight = alpha * (b if attrs.get("transB", 0) else b.T)  # (out, in)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        c = consts.get(node.input[2])
        if c is None:
            chain.fail(f"bias {node.input[2]!r} is not a constant")
        bias = beta * _broadcast_bias(chain, c, (weight.shape[0],))
    chain.add(Dense(weight, bias, name=chain.name(b_name, node.name, pos)))


def _broadcast_bias(chain: _Chain, value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Turn a constant added to outputs of per-sample ``shape`` into a per-feature bias."""
    try:
        full = np.broadcast_to(value, (1, *shape))[0]
    except ValueError:
        chain.fail(f"constant of shape {value.shape} does not broadcast to outputs {shape}")
    if len(shape) == 3:
        if not np.all(full == full[:, :1, :1]):
            chain.fail(f"constant of shape {value.shape} is not a per-channel bias")
        return full[:, 0, 0].copy()
    if value.ndim > 2 or (value.ndim == 2 and value.shape[0] != 1):
        chain.fail(f"constant of shape {value.shape} is not a per-feature bias")
    return full.copy()


def _add(chain, node, consts, produced_by_last: bool):
    other = [i for i in node.input if i in consts]
    last = chain.layers[-1] if chain.layers else None
    if len(other) != 1 or not produced_by_last or not isinstance(last, Dense | Conv2d):
        chain.fail("only Add of a constant bias directly after Gemm, MatMul or Conv is supported")
    bias = _broadcast_bias(chain, consts[other[0]], chain.shape)
    if last.bias is not None:
        bias = bias + last.bias
    chain.layers[-1] = type(last)(
        last.weight,
        bias,
        **({"stride": last.stride, "padding": last.padding} if isinstance(last, Conv2d) else {}),
        name=last.name,
    )


def _conv(chain, node, attrs, consts, pos):
    if node.input[1] not in consts:
        chain.fail("the data is the weight input of Conv; only Conv(x, W, B) is supported")
    w_name = node.input[1]
    weight = consts[w_name]
    if weight.ndim != 4:
        chain.fail(f"weight {w_name!r} has shape {weight.shape}; only 2-D convolutions")
    if attrs.get("group", 1) != 1:
        chain.fail(f"group={attrs['group']} (grouped convolution) is unsupported")
    if any(d != 1 for d in _ints(attrs, "dilations", [1, 1], chain)):
        chain.fail(f"dilations {attrs['dilations']} are unsupported")
    kernel = list(weight.shape[2:])
    stride = _ints(attrs, "strides", [1, 1], chain)
    pads = _conv_pads(attrs, kernel, stride, chain)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in consts:
            chain.fail(f"bias {node.input[2]!r} is not a constant")
        bias = consts[node.input[2]].reshape(-1)
    chain.add(Conv2d(weight, bias, stride, pads, name=chain.name(w_name, node.name, pos)))


def _pool(chain, node, attrs, cls):
    if len(node.output) > 1 and node.output[1]:
        chain.fail("the Indices output of MaxPool is unsupported")
    kernel = _ints(attrs, "kernel_shape", [], chain)
    if len(kernel) != 2:
        chain.fail(f"kernel_shape {kernel}: only 2-D pooling is supported")
    stride = _ints(attrs, "strides", [1, 1], chain)
    if any(d != 1 for d in _ints(attrs, "dilations", [1, 1], chain)):
        chain.fail(f"dilations {attrs['dilations']} are unsupported")
    pads = _conv_pads(attrs, kernel, stride, chain)
    if any(pads):
        chain.fail(f"padding {pads} (top, bottom, left, right): padded pooling is unsupported")
    if attrs.get("ceil_mode", 0) and len(chain.shape) == 3:
        sizes = chain.shape[1:]
        if any((s - k) % st for s, k, st in zip(sizes, kernel, stride, strict=True)):
            chain.fail("ceil_mode=1 changes the output size here; unsupported")
    chain.add(cls(tuple(kernel), tuple(stride)))


def _flatten_axis(chain, axis: int) -> None:
    rank = len(chain.shape) + 1
    if (axis + rank if axis < 0 else axis) != 1:
        chain.fail(f"axis={axis}: only flattening everything after the batch axis is supported")
    chain.add(Flatten())


def _reshape(chain, node, attrs, consts) -> None:
    target = consts.get(node.input[1]) if len(node.input) > 1 else None
    if target is None:
        chain.fail("the target shape is computed, not a constant; export with torch.flatten")
    target = [int(v) for v in np.asarray(target).reshape(-1)]
    features = int(np.prod(chain.shape))
    batch_ok = len(target) == 2 and (
        target[0] == -1
        or (target[0] == 0 and not attrs.get("allowzero", 0))
        or (chain.batch is not None and target[0] == chain.batch)
    )
    feat_ok = len(target) == 2 and (target[1] == features or (target[1] == -1 and target[0] != -1))
    if not (batch_ok and feat_ok):
        chain.fail(
            f"reshape to {target} is not a flatten of the per-sample shape {chain.shape} "
            f"to [batch, {features}]"
        )
    chain.add(Flatten())


def _graph_input(graph, consts, source: str) -> tuple[list, str]:
    data = [i for i in graph.input if i.name not in consts]
    if len(data) != 1:
        raise SnnRramError(
            f"{source}: expected exactly one data input to the graph, got {[i.name for i in data]}"
        )
    dims = []
    for d in data[0].type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None)
    return dims, data[0].name


def _external(init, where: str, folder: Path, nbytes: int) -> bytes:
    """The bytes of a tensor stored in an external file beside the model, checked first."""
    info = {e.key: e.value for e in init.external_data}
    location = info.get("location", "")
    target = (folder / location).resolve()
    if not location or Path(location).is_absolute() or folder.resolve() not in target.parents:
        raise SnnRramError(
            f"{where}: external data location {location!r} is not a file in the model's folder"
        )
    if not target.is_file():
        raise SnnRramError(f"{where}: external data file {location!r} is missing")
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else target.stat().st_size - offset
    except ValueError:
        raise SnnRramError(f"{where}: external data offset/length are not integers") from None
    if offset < 0 or length != nbytes or offset + length > target.stat().st_size:
        raise SnnRramError(
            f"{where}: external data [{offset}, {offset + length}) of {location!r} "
            f"({target.stat().st_size} bytes) does not hold the {nbytes} bytes its dims need"
        )
    with open(target, "rb") as fh:
        fh.seek(offset)
        return fh.read(nbytes)


def _tensor(init, where: str, numpy_helper, folder: Path) -> np.ndarray:
    """An ONNX TensorProto as a numpy array, its dims checked against its data first."""
    from onnx import TensorProto, helper

    dims = list(init.dims)
    if any(d < 0 for d in dims):
        raise SnnRramError(f"{where}: dims {dims} has a negative size")
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(init.data_type))
    except (KeyError, ValueError, TypeError):
        raise SnnRramError(f"{where}: unsupported data type {init.data_type}") from None
    n = math.prod(dims)
    check_declared_size(
        n * dtype.itemsize,
        None,
        f"{where} (dims {dims})",
        limit=MAX_TENSOR_BYTES,
        limit_name="snn_rram.ann._limits.MAX_TENSOR_BYTES",
    )
    if init.data_location == TensorProto.EXTERNAL:
        if dtype.kind not in "biuf":
            raise SnnRramError(f"{where}: external data of type {dtype} is not supported")
        data = _external(init, where, folder, n * dtype.itemsize)
        return np.frombuffer(data, dtype=dtype.newbyteorder("<")).reshape(dims).astype(dtype)
    if init.HasField("raw_data") and len(init.raw_data) != n * dtype.itemsize:
        raise SnnRramError(
            f"{where}: raw_data holds {len(init.raw_data)} bytes, its dims {dims} of "
            f"{dtype} need {n * dtype.itemsize}"
        )
    try:
        return numpy_helper.to_array(init)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SnnRramError(f"{where}: data does not match its dims {dims} ({exc})") from None


def load_onnx(path: Path, *, skeleton, input_shape, pooling) -> Network:
    """Read an ONNX model (see :func:`snn_rram.ann.load`)."""
    source = path.name
    onnx, helper, numpy_helper = _import_onnx(source)
    if skeleton is not None:
        raise SnnRramError(
            f"skeleton: {source} stores its own architecture; a skeleton is only for "
            "weights-only files"
        )
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends have no common base
        raise SnnRramError(f"{source}: not a readable ONNX file, truncated? ({exc})") from None
    graph = model.graph
    consts: dict[str, np.ndarray] = {}
    if len(graph.initializer) > MAX_ARRAYS:
        raise SnnRramError(
            f"{source}: {len(graph.initializer)} initializers, more than the limit of "
            f"{MAX_ARRAYS} (snn_rram.ann._limits.MAX_ARRAYS)"
        )
    for init in graph.initializer:
        where = f"{source}: initializer {init.name!r}"
        consts[init.name] = _tensor(init, where, numpy_helper, path.parent)
    dims, current = _graph_input(graph, consts, source)
    file_shape = tuple(dims[1:]) if dims and all(d is not None for d in dims[1:]) else None
    if file_shape is not None and input_shape is not None and file_shape != input_shape:
        raise SnnRramError(
            f"input_shape: {source} has input shape {file_shape}, got {input_shape}"
        )
    shape = file_shape or input_shape
    if not shape:
        raise SnnRramError(
            f"input_shape: {source} does not fix its per-sample input shape {dims[1:]}; pass "
            "input_shape="
        )
    chain = _Chain(source, tuple(shape), dims[0] if dims else None)
    nodes = list(graph.node)
    trailing = {"Constant", *_PASS_THROUGH}
    last_effective = max((i for i, n in enumerate(nodes) if n.op_type not in trailing), default=-1)
    produced_by_last = False
    for pos, node in enumerate(nodes):
        op = node.op_type
        chain.where = f"node {pos} {node.name!r} ({op})"
        if node.domain not in ("", "ai.onnx"):
            chain.fail(
                f"operator of domain {node.domain!r} is unsupported; supported: {_SUPPORTED}"
            )
        if len(node.output) < 1 or not node.output[0]:
            chain.fail("has no output")
        try:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        except (ValueError, TypeError) as exc:
            chain.fail(f"malformed attribute ({exc})")
        if op == "Constant":
            if "value" not in attrs:
                chain.fail("only Constant nodes with a tensor 'value' are supported")
            value = attrs["value"]
            if not hasattr(value, "dims"):
                chain.fail("only Constant nodes with a tensor 'value' are supported")
            where = f"{source}: {chain.where}"
            consts[node.output[0]] = _tensor(value, where, numpy_helper, path.parent)
            continue
        data_inputs = [i for i in node.input if i and i not in consts]
        if data_inputs != [current]:
            chain.fail(
                f"takes {data_inputs} instead of the output of the previous node ({current!r}) "
                "as its data input; only chains of layers are supported"
            )
        if len([i for i in node.input if i]) < _MIN_INPUTS.get(op, 1):
            chain.fail(f"inputs {list(node.input)}: expected at least {_MIN_INPUTS[op]}")
        for name in node.input:
            if name in consts:
                consts[name] = as_float_array(consts[name], f"{source}: initializer {name!r}")
        was_weight_output = produced_by_last
        produced_by_last = op in ("Gemm", "MatMul", "Conv", "Add")
        if op == "Gemm":
            _gemm(chain, node, attrs, consts, pos)
        elif op == "MatMul":
            if node.input[0] != current:
                chain.fail("the data is the second input of MatMul; only x @ W is supported")
            w = consts[node.input[1]]
            if w.ndim != 2:
                chain.fail(f"weight {node.input[1]!r} has shape {w.shape}, expected 2-D")
            chain.add(Dense(w.T, None, name=chain.name(node.input[1], node.name, pos)))
        elif op == "Add":
            _add(chain, node, consts, was_weight_output)
        elif op == "Conv":
            _conv(chain, node, attrs, consts, pos)
        elif op == "Relu":
            chain.add(ReLU())
        elif op == "MaxPool":
            _pool(chain, node, attrs, MaxPool2d)
        elif op == "AveragePool":
            _pool(chain, node, attrs, AvgPool2d)
        elif op == "Flatten":
            _flatten_axis(chain, int(attrs.get("axis", 1)))
        elif op == "Reshape":
            _reshape(chain, node, attrs, consts)
        elif op in ("Softmax", "LogSoftmax") and pos == last_effective:
            warn_dropped_softmax(source, chain.where)
        elif op not in _PASS_THROUGH:
            chain.fail(f"unsupported operator; supported: {_SUPPORTED}")
        current = node.output[0]
    outputs = [o.name for o in graph.output]
    if outputs != [current]:
        raise SnnRramError(
            f"{source}: graph outputs {outputs} are not the end of the layer chain ({current!r})"
        )
    try:
        return Network(chain.layers, shape, name=sanitize_name(graph.name, "onnx"))
    except SnnRramError as exc:
        raise SnnRramError(f"{source}: {exc}") from None
