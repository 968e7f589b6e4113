"""Helpers shared by the importers: parameter groups, skeletons and architecture inference."""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, ReLU
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

# Largest number of padding combinations tried when inferring a LeNet-style network.
_MAX_PADDING_COMBINATIONS = 100_000

_KNOWN_EXTRA_PARAMS = {
    "running_mean": "a BatchNorm layer (fold it into the preceding layer before saving)",
    "running_var": "a BatchNorm layer (fold it into the preceding layer before saving)",
    "num_batches_tracked": "a BatchNorm layer (fold it into the preceding layer before saving)",
    "weight_orig": "a pruned or weight-normalised layer (remove the reparametrisation first)",
    "in_proj_weight": "an attention layer",
}


@dataclass
class ParamGroup:
    """The parameters of one weight layer as found in a file (already in PyTorch layout).

    Attributes
    ----------
    prefix : str
        The layer's name in the file (``fc1`` for ``fc1.weight``).
    weight : numpy.ndarray
        (out, in) for a dense layer, (out, in, kh, kw) for a convolution.
    bias : numpy.ndarray or None
        (out,), or ``None``.
    position : int
        0-based position of the group in the file.
    """

    prefix: str
    weight: np.ndarray
    bias: np.ndarray | None
    position: int

    @property
    def is_conv(self) -> bool:
        """Whether the weight is a 4-D convolution kernel."""
        return self.weight.ndim == 4


def sanitize_name(name: str, fallback: str) -> str:
    """Make a valid layer name from ``name`` (invalid characters become ``_``)."""
    clean = re.sub(r"[^A-Za-z0-9_.\-]", "_", str(name)).lstrip(".-")
    return clean or fallback


def unique_names(names: list[str]) -> list[str]:
    """Make ``names`` unique by appending ``_2``, ``_3``, ... to repeats."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, k = name, 1
        while candidate in seen:
            k += 1
            candidate = f"{name}_{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


def natural_key(name: str) -> list:
    """Sort key that orders ``fc2`` before ``fc10`` and ``dense`` before ``dense_1``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def as_float_array(value, what: str) -> np.ndarray:
    """Return a float64 copy of a numeric array from a file, or raise naming ``what``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise SnnRramError(f"{what}: expected a numeric array, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def group_parameters(
    tensors: Mapping[str, np.ndarray], source: str, *, natural_order: bool = False
) -> list[ParamGroup]:
    """Group ``<layer>.weight`` / ``<layer>.bias`` entries into one group per layer.

    Parameters
    ----------
    tensors : mapping of str to numpy.ndarray
        Flat parameter names to arrays, PyTorch layout, in file order.
    source : str
        File name for error messages.
    natural_order : bool
        Order layers by natural name order, convolutions first (for formats that store no
        order, such as safetensors); otherwise keep the mapping's order.
    """
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        if not isinstance(key, str) or "." not in key:
            raise SnnRramError(
                f"{source}: entry {key!r}: expected parameter names '<layer>.weight' and "
                "'<layer>.bias' (PyTorch state_dict style)"
            )
        prefix, param = key.rsplit(".", 1)
        grouped.setdefault(prefix, {})[param] = value
    prefixes = list(grouped)
    if natural_order:
        prefixes.sort(key=lambda p: (np.ndim(grouped[p].get("weight", 0)) != 4, natural_key(p)))
    groups = []
    for pos, prefix in enumerate(prefixes):
        params = grouped[prefix]
        unknown = sorted(set(params) - {"weight", "bias"})
        if unknown:
            what = next(
                (_KNOWN_EXTRA_PARAMS[u] for u in unknown if u in _KNOWN_EXTRA_PARAMS),
                "a layer type snn_rram.ann does not support",
            )
            raise SnnRramError(
                f"{source}: unsupported layer {prefix!r} at position {pos}: parameters "
                f"{unknown} belong to {what}; supported are Dense/Linear and Conv2d layers "
                "(weight, bias)"
            )
        if "weight" not in params:
            raise SnnRramError(
                f"{source}: {prefix + '.weight'!r} is missing ({prefix}.bias found)"
            )
        weight = as_float_array(params["weight"], f"{source}: {prefix}.weight")
        if weight.ndim not in (2, 4):
            raise SnnRramError(
                f"{source}: unsupported layer {prefix!r} at position {pos}: {prefix}.weight has "
                f"shape {weight.shape}; expected a Dense weight (out, in) or a Conv2d weight "
                "(out, in, kh, kw)"
            )
        bias = params.get("bias")
        if bias is not None:
            bias = as_float_array(bias, f"{source}: {prefix}.bias")
            if bias.shape != (weight.shape[0],):
                raise SnnRramError(
                    f"{source}: {prefix}.bias has shape {bias.shape}, expected "
                    f"({weight.shape[0]},) to match {prefix}.weight {weight.shape}"
                )
        groups.append(ParamGroup(prefix, weight, bias, pos))
    if not groups:
        raise SnnRramError(f"{source}: no weights found")
    return groups


Transform = Callable[[int, object, ParamGroup], tuple[np.ndarray, np.ndarray | None]]


def apply_skeleton(
    skeleton: Network,
    groups: list[ParamGroup],
    source: str,
    *,
    input_shape: tuple[int, ...] | None = None,
    transform: Transform | None = None,
) -> Network:
    """Put the weights of ``groups`` into the architecture of ``skeleton``.

    Groups are matched to the skeleton's weight layers by name when the names agree, else in
    order. Every weight and bias comes from the file (a layer without bias in the file gets
    none). ``transform(position, layer, group)`` may convert a group's arrays to our layout first.
    """
    if not isinstance(skeleton, Network):
        raise SnnRramError(f"skeleton: expected an snn_rram.ann.Network, got {type(skeleton)}")
    targets = skeleton.weight_layers()
    prefixes = [g.prefix for g in groups]
    names = [layer.name for _, layer in targets]
    if sorted(prefixes) == sorted(names):
        by_name = {g.prefix: g for g in groups}
        pairs = [(pos, layer, by_name[layer.name]) for pos, layer in targets]
    elif len(prefixes) == len(names):
        pairs = [(pos, layer, g) for (pos, layer), g in zip(targets, groups, strict=True)]
    else:
        raise SnnRramError(
            f"{source}: the file has {len(prefixes)} weight layers {prefixes} but the skeleton "
            f"has {len(names)} {names}; they must match by name or by count"
        )
    weights = {}
    for pos, layer, group in pairs:
        want = 4 if isinstance(layer, Conv2d) else 2
        if group.weight.ndim != want:
            raise SnnRramError(
                f"{source}: {group.prefix!r} (file position {group.position}) has a weight of "
                f"shape {group.weight.shape}, but skeleton layer {pos} {layer.name!r} is a "
                f"{layer.kind} (weight of {want} dimensions)"
            )
        weight, bias = transform(pos, layer, group) if transform else (group.weight, group.bias)
        if weight.shape != layer.weight.shape:
            raise SnnRramError(
                f"{source}: {group.prefix}.weight has shape {weight.shape} (in our layout), but "
                f"skeleton layer {pos} {layer.name!r} ({layer.kind}) expects "
                f"{layer.weight.shape}"
            )
        weights[layer.name] = (weight, bias)
    network = skeleton.with_weights(weights)
    if input_shape is not None and tuple(input_shape) != network.input_shape:
        try:
            network = Network(network.layers, input_shape, name=network.name)
        except SnnRramError as exc:
            raise SnnRramError(
                f"input_shape {input_shape} does not fit the skeleton: {exc}"
            ) from None
    return network


def _pool(pooling: str, name: str):
    return MaxPool2d(2, name=name) if pooling == "max" else AvgPool2d(2, name=name)


def _lenet_features(convs: list[ParamGroup], input_shape, paddings) -> int | None:
    """Flattened size after conv(+padding) → 2×2 pool per conv, or None if impossible."""
    c, h, w = input_shape
    for group, (ph, pw) in zip(convs, paddings, strict=True):
        out_c, in_c, kh, kw = group.weight.shape
        if in_c != c:
            return None
        h, w, c = (h + 2 * ph - kh + 1) // 2, (w + 2 * pw - kw + 1) // 2, out_c
        if h < 1 or w < 1:
            return None
    return c * h * w


def _infer_paddings(convs, input_shape, in_features, source) -> list[tuple[int, int]]:
    """Symmetric paddings of the convolutions that make the flattened size ``in_features``."""
    c = input_shape[0]
    for group in convs:
        if group.weight.shape[1] != c:
            raise SnnRramError(
                f"{source}: {group.prefix}.weight {group.weight.shape} expects "
                f"{group.weight.shape[1]} input channels, but gets {c}; pass skeleton= with "
                "the architecture"
            )
        c = group.weight.shape[0]
    phases = [
        # 1. no padding or "same" padding per layer (the usual choices);
        [[(0, 0), (g.weight.shape[2] // 2, g.weight.shape[3] // 2)] for g in convs],
        # 2. any padding smaller than the kernel.
        [
            list(itertools.product(range(g.weight.shape[2]), range(g.weight.shape[3])))
            for g in convs
        ],
    ]
    for options in phases:
        if np.prod([len(set(o)) for o in options], dtype=float) > _MAX_PADDING_COMBINATIONS:
            continue
        found = sorted(
            {
                combo
                for combo in itertools.product(*[sorted(set(o)) for o in options])
                if _lenet_features(convs, input_shape, combo) == in_features
            }
        )
        if len(found) == 1:
            return list(found[0])
        if len(found) > 1:
            raise SnnRramError(
                f"{source}: cannot infer the convolution padding: several choices {found} "
                f"(per conv (vertical, horizontal)) give {in_features} features for input "
                f"{input_shape}; pass skeleton= with the architecture"
            )
    raise SnnRramError(
        f"{source}: no LeNet-style architecture (conv → ReLU → 2×2 pool per conv, stride 1) "
        f"turns input {input_shape} into the {in_features} inputs of the first dense layer; "
        "pass skeleton= with the architecture"
    )


def infer_network(
    groups: list[ParamGroup],
    source: str,
    *,
    input_shape: tuple[int, ...] | None,
    pooling: str,
) -> Network:
    """Infer an MLP or a LeNet-style CNN from weight shapes alone.

    MLP: Dense layers in order, ReLU between, none after the last (a Flatten first when
    ``input_shape`` has more than one axis). LeNet-style: per convolution conv → ReLU → 2×2
    pooling (``pooling`` is ``"max"`` or ``"avg"``), stride 1, padding inferred from
    ``input_shape`` and the first dense layer's in_features; then Flatten and the MLP part.
    """
    n_conv = 0
    while n_conv < len(groups) and groups[n_conv].is_conv:
        n_conv += 1
    convs, denses = groups[:n_conv], groups[n_conv:]
    for g in denses:
        if g.is_conv:
            raise SnnRramError(
                f"{source}: convolution {g.prefix!r} at position {g.position} follows a dense "
                "layer: not an MLP or LeNet-style network; pass skeleton= with the architecture"
            )
    if not denses:
        raise SnnRramError(
            f"{source}: only convolutions, no dense layer at the end: cannot infer the "
            "architecture; pass skeleton= with the architecture"
        )
    names = unique_names([sanitize_name(g.prefix, f"layer{g.position}") for g in groups])
    in_features = denses[0].weight.shape[1]
    layers: list = []
    if convs:
        if input_shape is None or len(input_shape) != 3:
            raise SnnRramError(
                f"input_shape: inferring a convolutional network from {source} needs the "
                f"per-sample input shape (C, H, W), got {input_shape!r}; or pass skeleton="
            )
        paddings = _infer_paddings(convs, input_shape, in_features, source)
        for k, (g, (ph, pw)) in enumerate(zip(convs, paddings, strict=True)):
            layers.append(Conv2d(g.weight, g.bias, padding=(ph, pw), name=names[k]))
            layers.append(ReLU())
            layers.append(_pool(pooling, name=""))
        layers.append(Flatten())
    else:
        if input_shape is None:
            input_shape = (in_features,)
        if len(input_shape) > 1:
            layers.append(Flatten())
    for k, g in enumerate(denses):
        if k:
            layers.append(ReLU())
        layers.append(Dense(g.weight, g.bias, name=names[n_conv + k]))
    try:
        return Network(layers, input_shape)
    except SnnRramError as exc:
        kind = "LeNet-style CNN" if convs else "MLP"
        raise SnnRramError(
            f"{source}: the inferred {kind} does not fit the weights: {exc}; pass skeleton= "
            "with the architecture"
        ) from None


def permute_flatten_hwc(weight: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """Reorder the inputs of a dense weight from H, W, C flatten order to C, H, W.

    Parameters
    ----------
    weight : numpy.ndarray, shape (out, H*W*C)
        Dense weight (our layout) whose inputs come from flattening an NHWC map.
    chw : (int, int, int)
        The (C, H, W) shape of the feature map before the flatten.
    """
    c, h, w = chw
    out = weight.shape[0]
    return weight.reshape(out, h, w, c).transpose(0, 3, 1, 2).reshape(out, c * h * w)


def warn_dropped_softmax(source: str, where: str) -> None:
    """Warn that a final softmax was left out (argmax unchanged, outputs are logits)."""
    warnings.warn(
        f"{source}: left out the final softmax of {where}; the network outputs logits "
        "(predictions are unchanged)",
        UserWarning,
        stacklevel=4,
    )
