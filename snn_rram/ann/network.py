"""`Network`: an ordered list of layers and the per-sample shape of its input.

The network is the float reference that every spiking result is compared with: its
:meth:`Network.forward` is plain vectorised numpy in float64, batch first, NCHW for feature maps,
with the weight layout of :mod:`snn_rram.ann.layers` (PyTorch's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Literal, overload

import numpy as np

from snn_rram.ann.layers import (
    LAYER_TYPES,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    Layer,
    MaxPool2d,
    ReLU,
    Shape,
    WeightLayer,
    check_name,
)
from snn_rram.errors import SnnRramError

_AUTO_PREFIX = {
    Dense: "fc",
    Conv2d: "conv",
    AvgPool2d: "avgpool",
    MaxPool2d: "maxpool",
    Flatten: "flatten",
    ReLU: "relu",
}


def check_input_shape(value, what: str = "input_shape") -> Shape:
    """Return ``value`` as a tuple of positive ints (a per-sample shape), else raise."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value,)
    ok = (
        isinstance(value, tuple | list)
        and len(value) >= 1
        and all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in value
        )
    )
    if not ok:
        raise SnnRramError(
            f"{what}: expected the per-sample shape as a tuple of positive integers, such as "
            f"(784,) or (1, 28, 28), got {value!r}"
        )
    return tuple(int(v) for v in value)


def _where(position: int, layer) -> str:
    return f"layer {position} {layer.name!r} ({layer.kind})"


class Network:
    """A feed-forward network: layers applied in order to inputs of shape ``input_shape``.

    Parameters
    ----------
    layers : iterable of Layer
        :class:`Dense`, :class:`Conv2d`, :class:`AvgPool2d`, :class:`MaxPool2d`,
        :class:`Flatten` and :class:`ReLU` layers, in order. Layers with an empty ``name`` are
        given a unique one (``fc1``, ``conv1``, ``relu1``, ...).
    input_shape : tuple of int
        Shape of one input sample, without the batch axis: ``(features,)`` or ``(C, H, W)``.
    name : str
        A label for summaries.

    Raises
    ------
    SnnRramError
        If a layer is not a layer, names repeat, or a layer does not accept the output shape of
        the one before it (the message names the layer, its 0-based position and both shapes).

    Notes
    -----
    Positions are 0-based indices into :attr:`layers`. ``shapes[i]`` is the per-sample input
    shape of layer ``i`` and ``shapes[i + 1]`` its output shape.
    """

    def __init__(
        self, layers: Iterable[Layer], input_shape: Sequence[int], *, name: str = "network"
    ):
        self._input_shape = check_input_shape(input_shape)
        if not isinstance(name, str):
            raise SnnRramError(f"name: expected a string, got {name!r}")
        self.name = name
        layers = list(layers)
        for i, layer in enumerate(layers):
            if type(layer) not in _AUTO_PREFIX:
                allowed = ", ".join(LAYER_TYPES)
                raise SnnRramError(
                    f"layers[{i}]: expected one of {allowed}, got {type(layer).__name__}"
                )
        self._layers = tuple(self._named(layers))
        shapes = [self._input_shape]
        for i, layer in enumerate(self._layers):
            try:
                shapes.append(tuple(layer.output_shape(shapes[-1])))
            except SnnRramError as exc:
                source = (
                    "the network input"
                    if i == 0
                    else f"the output of {_where(i - 1, self._layers[i - 1])}"
                )
                raise SnnRramError(
                    f"{_where(i, layer)}: {exc}; input shape {shapes[-1]} is {source}"
                ) from None
        self._shapes = tuple(shapes)

    @staticmethod
    def _named(layers: list) -> list:
        """Give unnamed layers unique names; refuse duplicates."""
        seen: dict[str, int] = {}
        for i, layer in enumerate(layers):
            if layer.name:
                check_name(layer.name, f"layers[{i}].name")
                if layer.name in seen:
                    raise SnnRramError(
                        f"layers[{i}].name: {layer.name!r} is already the name of "
                        f"layer {seen[layer.name]}; layer names must be unique"
                    )
                seen[layer.name] = i
        counters: dict[str, int] = {}
        out = []
        for layer in layers:
            if not layer.name:
                prefix = _AUTO_PREFIX[type(layer)]
                while True:
                    counters[prefix] = counters.get(prefix, 0) + 1
                    candidate = f"{prefix}{counters[prefix]}"
                    if candidate not in seen:
                        break
                seen[candidate] = len(out)
                layer = replace(layer, name=candidate)
            out.append(layer)
        return out

    # -- structure ---------------------------------------------------------------------------

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers, in order."""
        return self._layers

    @property
    def input_shape(self) -> Shape:
        """Per-sample input shape (no batch axis)."""
        return self._input_shape

    @property
    def output_shape(self) -> Shape:
        """Per-sample output shape (no batch axis)."""
        return self._shapes[-1]

    @property
    def shapes(self) -> tuple[Shape, ...]:
        """Per-sample shapes between layers: the input, then the output of every layer.

        Length ``len(layers) + 1``; ``shapes[i]`` is what layer ``i`` receives.
        """
        return self._shapes

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __getitem__(self, key: int | str) -> Layer:
        """Layer by 0-based position or by name."""
        if isinstance(key, str):
            return self._layers[self.index(key)]
        return self._layers[key]

    def index(self, name: str) -> int:
        """0-based position of the layer called ``name``."""
        for i, layer in enumerate(self._layers):
            if layer.name == name:
                return i
        names = ", ".join(repr(layer.name) for layer in self._layers)
        raise SnnRramError(f"name: no layer called {name!r}; the layers are {names}")

    def weight_layers(self) -> list[tuple[int, WeightLayer]]:
        """List the layers with weights (:class:`Dense`, :class:`Conv2d`) and their positions.

        Returns
        -------
        list of (int, Dense or Conv2d)
            ``(position, layer)`` pairs in network order.
        """
        return [(i, layer) for i, layer in enumerate(self._layers) if layer.has_weights]

    def with_weights(self, weights: Mapping[str, tuple[np.ndarray, np.ndarray | None]]) -> Network:
        """Return a copy of the network with some layers' weights and biases replaced.

        Parameters
        ----------
        weights : mapping of str to (weight, bias)
            For each named :class:`Dense` or :class:`Conv2d` layer, the new weight (same shape
            as the old one) and bias (shape (out,), or ``None`` for no bias).

        Returns
        -------
        Network
            A new network; this one is unchanged.
        """
        layers = list(self._layers)
        for name, pair in weights.items():
            i = self.index(name)
            layer = layers[i]
            if not layer.has_weights:
                raise SnnRramError(f"weights[{name!r}]: {_where(i, layer)} has no weights")
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise SnnRramError(f"weights[{name!r}]: expected a (weight, bias) pair")
            weight, bias = pair
            new = replace(layer, weight=weight, bias=bias)
            if new.weight.shape != layer.weight.shape:
                raise SnnRramError(
                    f"{name}.weight: expected shape {layer.weight.shape} for {_where(i, layer)}, "
                    f"got {new.weight.shape}"
                )
            layers[i] = new
        return Network(layers, self._input_shape, name=self.name)

    # -- evaluation --------------------------------------------------------------------------

    def _batch(self, x) -> tuple[np.ndarray, bool]:
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SnnRramError(f"x: expected an array of numbers, got {type(x).__name__}") from exc
        if x.shape == self._input_shape:
            x, single = x[None], True
        elif x.shape[1:] == self._input_shape:
            single = False
        else:
            raise SnnRramError(
                f"x: expected a batch of shape (N, {', '.join(map(str, self._input_shape))}) or "
                f"one sample of shape {self._input_shape}, got {x.shape}"
            )
        if not np.isfinite(x).all():
            raise SnnRramError("x: contains NaN or infinite values")
        return x, single

    @overload
    def forward(self, x, *, return_activations: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def forward(
        self, x, *, return_activations: Literal[True]
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...

    def forward(self, x, *, return_activations: bool = False):
        """Float64 reference forward pass.

        Parameters
        ----------
        x : array_like, shape ``(N, *input_shape)`` or ``input_shape``
            A batch of inputs (or one sample), in NCHW order for images.
        return_activations : bool
            Also return the output of every layer (for data-based normalisation).

        Returns
        -------
        numpy.ndarray, shape ``(N, *output_shape)`` or ``output_shape``
            The network output (no batch axis when one sample was given).
        list of numpy.ndarray
            Only with ``return_activations``: ``activations[i]`` is the output of ``layers[i]``,
            shape ``(N, *shapes[i + 1])`` (no batch axis for one sample).
        """
        x, single = self._batch(x)
        activations = []
        for layer in self._layers:
            x = layer.forward(x)
            if return_activations:
                activations.append(x)
        if single:
            x = x[0]
            activations = [a[0] for a in activations]
        return (x, activations) if return_activations else x

    def predict(self, x) -> np.ndarray:
        """Class predictions: the argmax of :meth:`forward` over the output features.

        Parameters
        ----------
        x : array_like, shape ``(N, *input_shape)`` or ``input_shape``
            Inputs, as for :meth:`forward`.

        Returns
        -------
        numpy.ndarray of int, shape (N,) (or a 0-d array for one sample)
            Index of the largest output.
        """
        if len(self.output_shape) != 1:
            raise SnnRramError(
                f"predict: the network output has shape {self.output_shape}; predictions need "
                "a vector of class scores (end the network with Flatten/Dense)"
            )
        return np.argmax(self.forward(x), axis=-1)

    # -- display -----------------------------------------------------------------------------

    def summary(self) -> str:
        """Return a multi-line table of layers, names, output shapes and parameter counts."""
        lines = [f"Network {self.name!r}: input {self._input_shape}"]
        total = 0
        for i, layer in enumerate(self._layers):
            count = 0
            if layer.has_weights:
                count = layer.weight.size + (0 if layer.bias is None else layer.bias.size)
            total += count
            lines.append(
                f"  {i:>3} {layer.name:<16} {layer.describe():<60} -> {self._shapes[i + 1]}"
                + (f"  [{count} parameters]" if count else "")
            )
        lines.append(f"  {total} parameters, output {self.output_shape}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        layers = ", ".join(f"{layer.kind}({layer.name!r})" for layer in self._layers)
        return f"Network(input_shape={self._input_shape}, layers=[{layers}], name={self.name!r})"
