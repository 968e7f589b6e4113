"""The layers of a framework-free network description.

Every layer is a small frozen dataclass with a ``name``. Weights are float64 arrays in PyTorch's
layout, the one layout used everywhere in snn-rram:

- :class:`Dense`: ``weight`` (out_features, in_features), ``bias`` (out_features,) or ``None``;
  ``y = x @ weight.T + bias``.
- :class:`Conv2d`: ``weight`` (out_channels, in_channels, kh, kw), ``bias`` (out_channels,) or
  ``None``; activations are NCHW (batch, channels, height, width); cross-correlation as in
  ``torch.nn.functional.conv2d``.
- :class:`Flatten` orders features C, H, W (row-major over the per-sample shape).

The arrays are copied on construction and made read-only, so a layer cannot change under a
network that holds it. A layer's ``name`` may be left empty: :class:`~snn_rram.ann.Network` then
gives it a unique one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from snn_rram._validation import as_array
from snn_rram.ann import _ops
from snn_rram.errors import SnnRramError

Shape = tuple[int, ...]

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a valid layer name (letters, digits, ``_.-``), else raise."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SnnRramError(
            f"{what}: expected a layer name of letters, digits, '_', '.' or '-' "
            f"(not starting with '.' or '-'), got {name!r}"
        )
    return name


def _pair(value, what: str, *, minimum: int) -> tuple[int, int]:
    """Return an int or a pair of ints, each >= minimum, as a pair."""
    items = value if isinstance(value, tuple | list) else (value, value)
    ok = len(items) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= minimum for v in items
    )
    if not ok:
        raise SnnRramError(
            f"{what}: expected an integer >= {minimum} or a pair of them, got {value!r}"
        )
    return int(items[0]), int(items[1])


def _padding(value, what: str) -> tuple[int, int, int, int]:
    """Return an int, an (h, w) pair or a (top, bottom, left, right) tuple as the 4-tuple."""
    items = value if isinstance(value, tuple | list) else (value,)
    ok = len(items) in (1, 2, 4) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 0 for v in items
    )
    if not ok:
        raise SnnRramError(
            f"{what}: expected an integer >= 0, an (h, w) pair or a (top, bottom, left, right) "
            f"4-tuple of them, got {value!r}"
        )
    items = [int(v) for v in items]
    if len(items) == 1:
        return (items[0],) * 4
    if len(items) == 2:
        return items[0], items[0], items[1], items[1]
    return tuple(items)


def _frozen_array(value, what: str, ndim: int) -> np.ndarray:
    """Return a read-only float64 copy of ``value`` with ``ndim`` dimensions, finite."""
    arr = np.array(as_array(value, what, ndim=ndim), dtype=np.float64, copy=True)
    arr.flags.writeable = False
    return arr


def _label(layer) -> str:
    return f"{layer.name}" if layer.name else type(layer).__name__


@dataclass(frozen=True, eq=False)
class Dense:
    """Fully connected layer ``y = x @ weight.T + bias``.

    Parameters
    ----------
    weight : array_like, shape (out_features, in_features)
        Weights (dimensionless; inputs and outputs are in the network's activation units).
    bias : array_like, shape (out_features,), optional
        Biases; ``None`` for none.
    name : str
        Unique name inside its network; empty to let the network choose one.
    """

    weight: np.ndarray
    bias: np.ndarray | None = None
    name: str = field(default="", kw_only=True)

    kind: ClassVar[str] = "Dense"
    has_weights: ClassVar[bool] = True

    def __post_init__(self):
        if self.name:
            check_name(self.name, f"{type(self).__name__}.name")
        w = _frozen_array(self.weight, f"{_label(self)}.weight", 2)
        object.__setattr__(self, "weight", w)
        if self.bias is not None:
            b = _frozen_array(self.bias, f"{_label(self)}.bias", 1)
            if b.shape != (w.shape[0],):
                raise SnnRramError(
                    f"{_label(self)}.bias: expected shape ({w.shape[0]},) to match weight "
                    f"{w.shape} (out_features, in_features), got {b.shape}"
                )
            object.__setattr__(self, "bias", b)

    @property
    def in_features(self) -> int:
        """Number of inputs."""
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        """Number of outputs."""
        return int(self.weight.shape[0])

    def output_shape(self, input_shape: Shape) -> Shape:
        """Per-sample output shape for a per-sample ``input_shape`` (raises on mismatch)."""
        if input_shape != (self.in_features,):
            hint = " (add a Flatten before it)" if len(input_shape) > 1 else ""
            raise SnnRramError(
                f"expects input of shape ({self.in_features},) from weight {self.weight.shape} "
                f"(out_features, in_features), got {input_shape}{hint}"
            )
        return (self.out_features,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layer to a batch ``x`` of shape (N, in_features)."""
        return _ops.dense(x, self.weight, self.bias)

    def describe(self) -> str:
        """One line for summaries."""
        return f"Dense {self.in_features}→{self.out_features}" + (
            "" if self.bias is not None else ", no bias"
        )


@dataclass(frozen=True, eq=False)
class Conv2d:
    """2-D convolution (cross-correlation, as PyTorch's ``Conv2d``) on NCHW feature maps.

    Parameters
    ----------
    weight : array_like, shape (out_channels, in_channels, kh, kw)
        Kernels.
    bias : array_like, shape (out_channels,), optional
        Biases; ``None`` for none.
    stride : int or (int, int)
        Step (vertical, horizontal) between output positions, in pixels.
    padding : int, (int, int) or (int, int, int, int)
        Zero padding in pixels: one value for all sides, (vertical, horizontal), or
        (top, bottom, left, right). Stored as the 4-tuple.
    name : str
        Unique name inside its network; empty to let the network choose one.
    """

    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    name: str = field(default="", kw_only=True)

    kind: ClassVar[str] = "Conv2d"
    has_weights: ClassVar[bool] = True

    def __post_init__(self):
        if self.name:
            check_name(self.name, f"{type(self).__name__}.name")
        label = _label(self)
        w = _frozen_array(self.weight, f"{label}.weight", 4)
        object.__setattr__(self, "weight", w)
        if self.bias is not None:
            b = _frozen_array(self.bias, f"{label}.bias", 1)
            if b.shape != (w.shape[0],):
                raise SnnRramError(
                    f"{label}.bias: expected shape ({w.shape[0]},) to match weight {w.shape} "
                    f"(out_channels, in_channels, kh, kw), got {b.shape}"
                )
            object.__setattr__(self, "bias", b)
        object.__setattr__(self, "stride", _pair(self.stride, f"{label}.stride", minimum=1))
        object.__setattr__(self, "padding", _padding(self.padding, f"{label}.padding"))

    @property
    def in_channels(self) -> int:
        """Number of input channels."""
        return int(self.weight.shape[1])

    @property
    def out_channels(self) -> int:
        """Number of output channels."""
        return int(self.weight.shape[0])

    @property
    def kernel_size(self) -> tuple[int, int]:
        """Kernel (height, width) in pixels."""
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def output_shape(self, input_shape: Shape) -> Shape:
        """Per-sample (C, H, W) output shape for a per-sample (C, H, W) input shape."""
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise SnnRramError(
                f"expects input of shape ({self.in_channels}, H, W) from weight "
                f"{self.weight.shape} (out_channels, in_channels, kh, kw), got {input_shape}"
            )
        _, h, w = input_shape
        kh, kw = self.kernel_size
        pt, pb, pl, pr = self.padding
        ho = _ops.conv_output_size(h, kh, self.stride[0], pt + pb)
        wo = _ops.conv_output_size(w, kw, self.stride[1], pl + pr)
        if ho < 1 or wo < 1:
            raise SnnRramError(
                f"kernel {kh}x{kw} with padding {self.padding} is larger than its input "
                f"{input_shape}"
            )
        return (self.out_channels, ho, wo)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layer to a batch ``x`` of shape (N, C, H, W)."""
        return _ops.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def describe(self) -> str:
        """One line for summaries."""
        kh, kw = self.kernel_size
        return (
            f"Conv2d {self.in_channels}→{self.out_channels} {kh}x{kw}, stride {self.stride}, "
            f"padding {self.padding}" + ("" if self.bias is not None else ", no bias")
        )


@dataclass(frozen=True, eq=False)
class _Pool2d:
    """Common part of the pooling layers (no padding, floor mode)."""

    kernel_size: tuple[int, int]
    stride: tuple[int, int] | None = None
    name: str = field(default="", kw_only=True)

    has_weights: ClassVar[bool] = False
    _op: ClassVar[str] = ""

    def __post_init__(self):
        if self.name:
            check_name(self.name, f"{type(self).__name__}.name")
        label = _label(self)
        k = _pair(self.kernel_size, f"{label}.kernel_size", minimum=1)
        object.__setattr__(self, "kernel_size", k)
        s = k if self.stride is None else _pair(self.stride, f"{label}.stride", minimum=1)
        object.__setattr__(self, "stride", s)

    def output_shape(self, input_shape: Shape) -> Shape:
        """Per-sample (C, H, W) output shape for a per-sample (C, H, W) input shape."""
        if len(input_shape) != 3:
            raise SnnRramError(f"expects input of shape (C, H, W), got {input_shape}")
        c, h, w = input_shape
        ho = _ops.conv_output_size(h, self.kernel_size[0], self.stride[0], 0)
        wo = _ops.conv_output_size(w, self.kernel_size[1], self.stride[1], 0)
        if ho < 1 or wo < 1:
            raise SnnRramError(
                f"pooling window {self.kernel_size} is larger than its input {input_shape}"
            )
        return (c, ho, wo)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply the layer to a batch ``x`` of shape (N, C, H, W)."""
        return _ops.pool2d(x, self.kernel_size, self.stride, self._op)

    def describe(self) -> str:
        """One line for summaries."""
        return f"{self.kind} {self.kernel_size}, stride {self.stride}"


@dataclass(frozen=True, eq=False)
class AvgPool2d(_Pool2d):
    """Mean over each pooling window of NCHW feature maps (no padding, floor mode).

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window (height, width) in pixels.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size``.
    name : str
        Unique name inside its network; empty to let the network choose one.
    """

    kind: ClassVar[str] = "AvgPool2d"
    _op: ClassVar[str] = "avg"


@dataclass(frozen=True, eq=False)
class MaxPool2d(_Pool2d):
    """Maximum over each pooling window of NCHW feature maps (no padding, floor mode).

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window (height, width) in pixels.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size``.
    name : str
        Unique name inside its network; empty to let the network choose one.
    """

    kind: ClassVar[str] = "MaxPool2d"
    _op: ClassVar[str] = "max"


@dataclass(frozen=True, eq=False)
class Flatten:
    """Flatten each sample to a vector, in C, H, W (row-major) order.

    Parameters
    ----------
    name : str
        Unique name inside its network; empty to let the network choose one.
    """

    name: str = field(default="", kw_only=True)

    kind: ClassVar[str] = "Flatten"
    has_weights: ClassVar[bool] = False

    def __post_init__(self):
        if self.name:
            check_name(self.name, "Flatten.name")

    def output_shape(self, input_shape: Shape) -> Shape:
        """``(prod(input_shape),)``."""
        return (int(np.prod(input_shape, dtype=np.int64)),)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Reshape a batch to (N, features)."""
        return x.reshape(x.shape[0], -1)

    def describe(self) -> str:
        """One line for summaries."""
        return "Flatten"


@dataclass(frozen=True, eq=False)
class ReLU:
    """Rectified linear unit ``max(x, 0)``, elementwise.

    Parameters
    ----------
    name : str
        Unique name inside its network; empty to let the network choose one.
    """

    name: str = field(default="", kw_only=True)

    kind: ClassVar[str] = "ReLU"
    has_weights: ClassVar[bool] = False

    def __post_init__(self):
        if self.name:
            check_name(self.name, "ReLU.name")

    def output_shape(self, input_shape: Shape) -> Shape:
        """Return the input shape unchanged."""
        return tuple(input_shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``max(x, 0)``."""
        return np.maximum(x, 0.0)

    def describe(self) -> str:
        """One line for summaries."""
        return "ReLU"


Layer = Dense | Conv2d | AvgPool2d | MaxPool2d | Flatten | ReLU
"""Any layer of a :class:`~snn_rram.ann.Network`."""

WeightLayer = Dense | Conv2d
"""A layer with weights (and optional biases)."""

LAYER_TYPES: dict[str, type] = {
    cls.kind: cls for cls in (Dense, Conv2d, AvgPool2d, MaxPool2d, Flatten, ReLU)
}
"""Layer classes by their ``kind`` string (as stored in the native file format)."""
