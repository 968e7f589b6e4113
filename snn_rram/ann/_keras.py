"""Keras files, read with h5py and the JSON config only (Keras and TensorFlow are not imported).

The weight stores are read by :mod:`snn_rram.ann._keras_store`.

Keras kernels are (in, out) for Dense and (kh, kw, in, out) for Conv2D whatever the data format;
they are converted to our (out, in) and (out, in, kh, kw). A Keras Flatten of NHWC feature maps
orders features H, W, C; ours orders C, H, W, so the Dense after it is permuted.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from snn_rram.ann._common import (
    ParamGroup,
    apply_skeleton,
    infer_network,
    permute_flatten_hwc,
    sanitize_name,
    unique_names,
    warn_dropped_softmax,
)
from snn_rram.ann._keras_store import open_keras
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, ReLU
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

# Layers that are the identity at inference.
_IDENTITY_LAYERS = {
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianDropout",
    "GaussianNoise",
    "AlphaDropout",
    "ActivityRegularization",
}
_POOLS = {
    "MaxPooling2D": MaxPool2d,
    "MaxPool2D": MaxPool2d,
    "AveragePooling2D": AvgPool2d,
    "AvgPool2D": AvgPool2d,
}


def _to_snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case`` (names of the weight groups in Keras 3 files)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def load_keras(path: Path, *, archive: bool, skeleton, input_shape, pooling) -> Network:
    """Read a Keras ``.keras``, ``.h5`` or ``.weights.h5`` file (see :func:`snn_rram.ann.load`)."""
    config, store, h5 = open_keras(path, archive)
    try:
        if config is not None:
            if skeleton is not None:
                raise SnnRramError(
                    f"skeleton: {path.name} stores its own architecture; a skeleton is only "
                    "for weights-only files"
                )
            return _from_config(config, store, path.name, input_shape)
        return _weights_only(store, path.name, skeleton, input_shape, pooling)
    finally:
        h5.close()


# -- weights-only files ---------------------------------------------------------------------


def _our_layout(arrays: list[np.ndarray], name: str, pos: int, source: str) -> ParamGroup:
    kernel = arrays[0]
    if kernel.ndim == 2:
        weight = kernel.T
    elif kernel.ndim == 4:
        weight = kernel.transpose(3, 2, 0, 1)
    else:
        weight = None
    if weight is None or len(arrays) > 2 or (len(arrays) == 2 and arrays[1].ndim != 1):
        shapes = [a.shape for a in arrays]
        raise SnnRramError(
            f"{source}: unsupported layer {name!r} at position {pos}: variables of shapes "
            f"{shapes}; supported are Dense and Conv2D (kernel, bias)"
        )
    bias = arrays[1] if len(arrays) == 2 else None
    if bias is not None and bias.shape != (weight.shape[0],):
        raise SnnRramError(
            f"{source}: layer {name!r}: bias of shape {bias.shape} does not match kernel "
            f"{kernel.shape}"
        )
    return ParamGroup(name, weight, bias, pos)


def _flattened_from(network: Network, pos: int) -> tuple[int, int, int] | None:
    """Return the 3-D shape a Flatten before layer ``pos`` flattens (skipping ReLUs), if any."""
    k = pos - 1
    while k >= 0 and isinstance(network.layers[k], ReLU):
        k -= 1
    if k >= 0 and isinstance(network.layers[k], Flatten) and len(network.shapes[k]) == 3:
        return network.shapes[k]
    return None


def _weights_only(store, source, skeleton, input_shape, pooling) -> Network:
    groups = [
        _our_layout(arrays, name, i, source) for i, (name, arrays) in enumerate(store.groups())
    ]
    if not groups:
        raise SnnRramError(f"{source}: no weights found")
    if skeleton is not None:

        def transform(pos, layer, group):
            weight = group.weight
            chw = _flattened_from(skeleton, pos) if isinstance(layer, Dense) else None
            if chw is not None and weight.shape == layer.weight.shape:
                weight = permute_flatten_hwc(weight, chw)  # Keras default: channels_last
            return weight, group.bias

        return apply_skeleton(
            skeleton, groups, source, input_shape=input_shape, transform=transform
        )
    convs = [g.prefix for g in groups if g.is_conv]
    if convs:
        raise SnnRramError(
            f"skeleton: {source} holds weights only and has convolutions {convs}: pass "
            "skeleton= with the architecture (only an MLP is inferred from Keras weights)"
        )
    network = infer_network(groups, source, input_shape=input_shape, pooling=pooling)
    if len(network.input_shape) == 3:  # a Keras image input (H, W, C) flattened as H, W, C
        _, first = network.weight_layers()[0]
        permuted = permute_flatten_hwc(first.weight, network.input_shape)
        network = network.with_weights({first.name: (permuted, first.bias)})
    return network


# -- files with an architecture ------------------------------------------------------------------


def _layer_list(config, source: str) -> tuple[list[dict], bool]:
    """Return the layers of a Sequential or Functional config, and whether it is Sequential."""
    if not isinstance(config, dict):
        raise SnnRramError(f"{source}: model config: expected a JSON object")
    cls = config.get("class_name")
    cfg = config.get("config")
    if cls == "Sequential":
        layers = cfg.get("layers") if isinstance(cfg, dict) else cfg
    elif cls in ("Functional", "Model"):
        layers = cfg.get("layers") if isinstance(cfg, dict) else None
    else:
        raise SnnRramError(
            f"{source}: model config.class_name: unsupported model {cls!r}; expected "
            "'Sequential' or 'Functional'"
        )
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise SnnRramError(f"{source}: model config.config.layers: expected a list of layers")
    for i, layer in enumerate(layers):
        if not isinstance(layer.get("class_name"), str) or not isinstance(
            layer.get("config"), dict
        ):
            raise SnnRramError(
                f"{source}: model config layers[{i}]: expected 'class_name' and 'config'"
            )
        if not isinstance(layer["config"].get("name", layer.get("name")), str):
            raise SnnRramError(f"{source}: model config layers[{i}].config.name: missing")
    if cls != "Sequential":
        _check_chain(layers, source)
    return layers, cls == "Sequential"


def _inbound(node) -> list[str]:
    """Names of the layers feeding a Functional layer (Keras 2 and 3 config formats)."""
    found: list[str] = []
    if isinstance(node, dict):
        history = node.get("keras_history")
        if isinstance(history, list) and history and isinstance(history[0], str):
            return [history[0]]
        for value in node.values():
            found += _inbound(value)
    elif isinstance(node, list):
        if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):
            return [node[0]]
        for value in node:
            found += _inbound(value)
    return found


def _check_chain(layers: list[dict], source: str) -> None:
    """Check that a Functional model is a plain chain: each layer fed by the one before."""
    for i, layer in enumerate(layers[1:], start=1):
        name = layer["config"].get("name", layer.get("name"))
        prev = layers[i - 1]["config"].get("name", layers[i - 1].get("name"))
        inbound = _inbound(layer.get("inbound_nodes", []))
        if inbound != [prev]:
            raise SnnRramError(
                f"{source}: unsupported layer {i} {name!r} ({layer['class_name']}): it is fed by "
                f"{inbound}, not by the layer before it ({prev!r}); only chains of layers "
                "are supported"
            )


def _config_input_shape(layers: list[dict]) -> list | None:
    first = layers[0] if layers else {}
    cfg = first.get("config", {})
    for key in ("batch_shape", "batch_input_shape"):
        if isinstance(cfg.get(key), list):
            return cfg[key][1:]
    build = first.get("build_config", {})
    if isinstance(build, dict) and isinstance(build.get("input_shape"), list):
        return build["input_shape"][1:]
    return None


def _data_format(layers: list[dict], source: str) -> str:
    """Return the data format of the model's image layers (they must agree)."""
    formats = {}
    for i, layer in enumerate(layers):
        if layer["class_name"] == "Conv2D" or layer["class_name"] in _POOLS:
            fmt = layer["config"].get("data_format") or "channels_last"
            formats.setdefault(fmt, i)
    if len(formats) > 1:
        raise SnnRramError(
            f"{source}: layers mix data formats {sorted(formats)}; unsupported (layer "
            f"{max(formats.values())})"
        )
    return next(iter(formats), "channels_last")


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras/TensorFlow "same" padding along one axis: (before, after), extra one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _Builder:
    """Turns the Keras layer entries into our layers, tracking the per-sample shape."""

    def __init__(self, source: str, shape: tuple[int, ...], layout: str):
        self.source = source
        self.shape = shape
        self.layout = layout  # "NHWC" or "NCHW": how Keras holds 4-D tensors
        self.layers: list = []
        self.where = ""
        self.pending_perm: tuple[int, int, int] | None = None
        self.taken: set[str] = set()  # layer names of the file, which activations must avoid

    def fail(self, what: str):
        raise SnnRramError(f"{self.source}: {self.where}: {what}")

    def add(self, layer) -> None:
        try:
            self.shape = tuple(layer.output_shape(self.shape))
        except SnnRramError as exc:
            self.fail(str(exc))
        self.layers.append(layer)

    def activation(self, act, name: str, is_last: bool) -> None:
        if act in (None, "linear"):
            return
        if act == "relu":
            relu_name = f"{name}_relu"
            self.add(ReLU(name="" if relu_name in self.taken else relu_name))
        elif act == "softmax" and is_last:
            warn_dropped_softmax(self.source, self.where)
        else:
            self.fail(
                f"unsupported activation {act!r} (supported: 'relu', 'linear', and "
                "'softmax' at the end)"
            )

    def check_format(self, cfg: dict) -> None:
        fmt = cfg.get("data_format") or "channels_last"
        if (fmt == "channels_last") != (self.layout == "NHWC"):
            self.fail(f"data_format {fmt!r} differs from the model's")

    def window(self, cfg: dict, key: str, default=None) -> tuple[int, int]:
        value = cfg.get(key, default)
        if isinstance(value, int):
            value = [value, value]
        if not (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
        ):
            self.fail(f"config.{key}: expected two integers, got {value!r}")
        return tuple(value)


def _from_config(config, store, source: str, input_shape) -> Network:
    layers, sequential = _layer_list(config, source)
    fmt = _data_format(layers, source)
    layout = "NHWC" if fmt == "channels_last" else "NCHW"
    file_shape = _config_input_shape(layers)
    if file_shape is not None:
        if any(not isinstance(v, int) or v < 1 for v in file_shape):
            if input_shape is None:
                raise SnnRramError(
                    f"input_shape: {source} has a variable input shape {file_shape}; pass "
                    "input_shape= (our layout: (features,) or (C, H, W))"
                )
            file_shape = None
        else:
            file_shape = tuple(file_shape)
            if len(file_shape) == 3 and layout == "NHWC":
                file_shape = (file_shape[2], file_shape[0], file_shape[1])
    if file_shape is None and input_shape is None:
        raise SnnRramError(
            f"input_shape: {source} does not state its input shape; pass input_shape="
        )
    if file_shape is not None and input_shape is not None and file_shape != input_shape:
        raise SnnRramError(
            f"input_shape: {source} has input shape {file_shape} (our layout), got {input_shape}"
        )
    shape = file_shape if file_shape is not None else input_shape
    names = unique_names(
        [
            sanitize_name(layer["config"].get("name", layer.get("name")), f"layer{i}")
            for i, layer in enumerate(layers)
        ]
    )
    builder = _Builder(source, shape, layout)
    builder.taken = set(names)
    effective = [
        i
        for i, layer in enumerate(layers)
        if layer["class_name"] not in _IDENTITY_LAYERS | {"InputLayer"}
    ]
    last = effective[-1] if effective else -1
    counters: dict[str, int] = {}
    for pos, layer in enumerate(layers):
        cls, cfg = layer["class_name"], layer["config"]
        kname = cfg.get("name", layer.get("name"))
        # Positions are indices into Keras' model.layers (a Sequential's omits its InputLayer).
        kpos = pos - 1 if sequential and layers[0]["class_name"] == "InputLayer" else pos
        builder.where = f"layer {kpos} {kname!r} ({cls})"
        if cls == "InputLayer" and sequential:
            path = None  # Sequential models do not list their input layer
        else:
            snake = _to_snake_case(cls)
            n = counters.get(snake, 0)
            counters[snake] = n + 1
            path = snake if n == 0 else f"{snake}_{n}"
        if cls == "InputLayer" or cls in _IDENTITY_LAYERS:
            continue
        if cls == "Dense":
            _dense(builder, cfg, store.variables(kname, path), names[pos], pos == last)
        elif cls == "Conv2D":
            _conv(builder, cfg, store.variables(kname, path), names[pos], pos == last)
        elif cls in _POOLS:
            _pool(builder, cfg, _POOLS[cls], names[pos])
        elif cls == "Flatten":
            _flatten(builder, cfg, names[pos])
        elif cls == "ReLU":
            if any(
                cfg.get(k) not in (None, 0, 0.0)
                for k in ("max_value", "negative_slope", "threshold")
            ):
                builder.fail(
                    "only a plain ReLU (no max_value, negative_slope, threshold) is supported"
                )
            builder.add(ReLU(name=names[pos]))
        elif cls == "Activation":
            builder.activation(cfg.get("activation"), names[pos], pos == last)
        elif cls == "Softmax" and pos == last:
            warn_dropped_softmax(source, builder.where)
        else:
            builder.fail(
                "unsupported layer type; supported are Dense, Conv2D, MaxPooling2D, "
                "AveragePooling2D, Flatten, ReLU, Activation, Dropout and InputLayer"
            )
    if builder.pending_perm is not None:
        raise SnnRramError(f"{source}: nothing follows the last Flatten")
    try:
        return Network(builder.layers, shape, name=_model_name(config))
    except SnnRramError as exc:
        raise SnnRramError(f"{source}: {exc}") from None


def _model_name(config: dict) -> str:
    cfg = config.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    return name if isinstance(name, str) else "keras"


def _kernel_bias(builder: _Builder, cfg: dict, arrays: list[np.ndarray], ndim: int):
    use_bias = cfg.get("use_bias", True)
    want = 2 if use_bias else 1
    if len(arrays) != want:
        builder.fail(
            f"expected {want} weight arrays (kernel{', bias' if use_bias else ''}), "
            f"found {len(arrays)}"
        )
    kernel = arrays[0]
    if kernel.ndim != ndim:
        builder.fail(f"kernel has shape {kernel.shape}, expected {ndim} dimensions")
    return kernel, (arrays[1] if use_bias else None)


def _dense(builder: _Builder, cfg, arrays, name: str, is_last: bool) -> None:
    kernel, bias = _kernel_bias(builder, cfg, arrays, 2)
    weight = kernel.T
    if builder.pending_perm is not None:
        c, h, w = builder.pending_perm
        if weight.shape[1] != c * h * w:
            builder.fail(f"kernel {kernel.shape} does not take the {c * h * w} flattened features")
        weight = permute_flatten_hwc(weight, builder.pending_perm)
        builder.pending_perm = None
    try:
        builder.add(Dense(weight, bias, name=name))
    except SnnRramError as exc:
        builder.fail(str(exc))
    builder.activation(cfg.get("activation"), name, is_last)


def _conv(builder: _Builder, cfg, arrays, name: str, is_last: bool) -> None:
    builder.check_format(cfg)
    if cfg.get("groups", 1) != 1:
        builder.fail(f"groups={cfg.get('groups')} (grouped convolution) is unsupported")
    if builder.window(cfg, "dilation_rate", [1, 1]) != (1, 1):
        builder.fail(f"dilation_rate {cfg.get('dilation_rate')} is unsupported")
    kernel, bias = _kernel_bias(builder, cfg, arrays, 4)
    stride = builder.window(cfg, "strides", [1, 1])
    padding = cfg.get("padding", "valid")
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        if len(builder.shape) != 3:
            builder.fail(f"expects a (C, H, W) input, got {builder.shape}")
        kh, kw = kernel.shape[:2]
        pads = (
            *_same_padding(builder.shape[1], kh, stride[0]),
            *_same_padding(builder.shape[2], kw, stride[1]),
        )
    else:
        builder.fail(f"padding {padding!r} is unsupported (expected 'valid' or 'same')")
    try:
        builder.add(Conv2d(kernel.transpose(3, 2, 0, 1), bias, stride, pads, name=name))
    except SnnRramError as exc:
        builder.fail(str(exc))
    builder.activation(cfg.get("activation"), name, is_last)


def _pool(builder: _Builder, cfg, cls, name: str) -> None:
    builder.check_format(cfg)
    size = builder.window(cfg, "pool_size", [2, 2])
    stride = builder.window(cfg, "strides", list(size)) if cfg.get("strides") is not None else size
    if cfg.get("padding", "valid") not in ("valid", "same"):
        builder.fail(f"padding {cfg.get('padding')!r} is unsupported")
    if cfg.get("padding") == "same" and len(builder.shape) == 3:
        pads = [_same_padding(builder.shape[1 + a], size[a], stride[a]) for a in (0, 1)]
        if any(p != (0, 0) for p in pads):
            builder.fail(
                f"padding 'same' pads this input by {pads}; padded pooling is unsupported"
            )
    builder.add(cls(size, stride, name=name))


def _flatten(builder: _Builder, cfg, name: str) -> None:
    if len(builder.shape) == 3:
        fmt = cfg.get("data_format") or "channels_last"
        if builder.layout == "NHWC" and fmt == "channels_first":
            builder.fail("data_format 'channels_first' on channels-last tensors is unsupported")
        # Keras' Flatten(channels_first) moves channels last before flattening.
        if builder.layout == "NHWC" or fmt == "channels_first":
            builder.pending_perm = builder.shape
    builder.add(Flatten(name=name))
