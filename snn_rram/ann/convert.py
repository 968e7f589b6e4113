"""ANN → SNN conversion by data-based weight normalisation.

A ReLU network converts to integrate-and-fire neurons (reset by subtraction) whose firing rates,
in units of the input's maximum rate, approximate the ANN's activations divided by a per-layer
scale ``λ_l``: the robust maximum (a high percentile) of layer l's activations on calibration
data (Diehl et al., IJCNN 2015; Rueckauer et al., Front. Neurosci. 11:682, 2017). The weights
and biases become

    W̃_l = W_l · λ_{l−1} / λ_l,      b̃_l = b_l / λ_l,      λ_0 = 1 (inputs in [0, 1]),

so that a neuron whose normalised input reaches 1 fires at the maximum rate.

Structure: every Dense or Conv2d layer (with the ReLU after it) becomes one spiking layer.
Convolutions are unrolled into sparse matrices over the flattened (C, H, W) feature maps
(memory proportional to the non-zeros); average pooling, being linear, is folded into the next
weight layer; Flatten only names the order the unrolled matrices already use. Max pooling has
no integrate-and-fire equivalent and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_array, as_scalar
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, ReLU
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

__all__ = ["ConvertedLayer", "ConvertedNetwork", "convert", "unroll_avgpool", "unroll_conv"]


def unroll_conv(layer: Conv2d, input_shape: tuple[int, int, int]) -> sp.csr_matrix:
    """The convolution as a sparse matrix from flattened (C, H, W) inputs to outputs.

    Returns a (O·Ho·Wo, C·H·W) matrix; entry count = kernel taps that land inside the image.
    """
    O, C, KH, KW = layer.weight.shape
    c_in, H, W = input_shape
    if c_in != C:
        raise SnnRramError(f"{layer.name}: expects {C} input channels, got {c_in}")
    _, Ho, Wo = layer.output_shape(input_shape)
    sh, sw = layer.stride
    pt, _, pl, _ = layer.padding
    o, c, ky, kx, y, x = np.meshgrid(
        np.arange(O),
        np.arange(C),
        np.arange(KH),
        np.arange(KW),
        np.arange(Ho),
        np.arange(Wo),
        indexing="ij",
        sparse=True,
    )
    iy = y * sh + ky - pt
    ix = x * sw + kx - pl
    inside = (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
    shape = np.broadcast_shapes(o.shape, c.shape, ky.shape, kx.shape, y.shape, x.shape)
    inside = np.broadcast_to(inside, shape)
    row = np.broadcast_to((o * Ho + y) * Wo + x, shape)[inside]
    col = np.broadcast_to((c * H + iy) * W + ix, shape)[inside]
    val = np.broadcast_to(layer.weight[o, c, ky, kx], shape)[inside]
    return sp.csr_matrix((val, (row, col)), shape=(O * Ho * Wo, C * H * W))


def unroll_avgpool(layer: AvgPool2d, input_shape: tuple[int, int, int]) -> sp.csr_matrix:
    """Average pooling as a sparse (C·Ho·Wo, C·H·W) matrix."""
    C, H, W = input_shape
    _, Ho, Wo = layer.output_shape(input_shape)
    KH, KW = layer.kernel_size
    sh, sw = layer.stride
    c, y, x, ky, kx = np.meshgrid(
        np.arange(C), np.arange(Ho), np.arange(Wo), np.arange(KH), np.arange(KW), indexing="ij"
    )
    row = (c * Ho + y) * Wo + x
    col = (c * H + y * sh + ky) * W + x * sw + kx
    val = np.full(row.shape, 1.0 / (KH * KW))
    return sp.csr_matrix((val.ravel(), (row.ravel(), col.ravel())), shape=(C * Ho * Wo, C * H * W))


@dataclass(frozen=True, eq=False)
class ConvertedLayer:
    """One spiking layer: normalised weights from its inputs to its neurons.

    Attributes
    ----------
    name : str
        The ANN weight layer it comes from.
    weight : numpy.ndarray or scipy.sparse.csr_matrix, shape (n_out, n_in)
        Normalised weights ``W̃`` (sparse for unrolled convolutions).
    bias : numpy.ndarray of shape (n_out,), or None
        Normalised biases ``b̃``: in units of the maximum input rate (a bias of 1 drives a
        neuron at the maximum rate on its own).
    scale : float
        ``λ_l``, the activation scale of the layer's outputs.
    relu : bool
        False for the output layer (logits).
    output_shape : tuple of int
        Per-sample shape of the layer's output in the ANN ((C, H, W) for convolutions).
    """

    name: str
    weight: np.ndarray | sp.csr_matrix
    bias: np.ndarray | None
    scale: float
    relu: bool
    output_shape: tuple[int, ...]

    @property
    def n_inputs(self) -> int:
        """Logical inputs of the layer."""
        return int(self.weight.shape[1])

    @property
    def n_outputs(self) -> int:
        """Neurons of the layer."""
        return int(self.weight.shape[0])

    @property
    def n_synapses(self) -> int:
        """Stored weights (non-zeros of a sparse layer, every entry of a dense one)."""
        return int(self.weight.nnz if sp.issparse(self.weight) else self.weight.size)


@dataclass(frozen=True, eq=False)
class ConvertedNetwork:
    """The spiking layers of a converted network and the rate model they approximate."""

    layers: tuple[ConvertedLayer, ...]
    input_size: int
    percentile: float

    def forward(self, x) -> np.ndarray:
        """Normalised rate model: ``a_l = ReLU(W̃_l a_{l−1} + b̃_l)`` (no ReLU on the last).

        Parameters
        ----------
        x : array_like, shape ``(n, input_size)`` or ``(n, *input_shape)``
            Inputs in [0, 1] (rates in units of the maximum rate).

        Returns
        -------
        numpy.ndarray, shape (n, n_outputs)
        """
        *_, out = self._activations(x)
        return out

    def input_activity(self, x) -> list[np.ndarray]:
        """Mean input of every layer in the rate model, as a fraction of the maximum rate.

        Parameters
        ----------
        x : array_like, shape ``(n, input_size)`` or ``(n, *input_shape)``
            Inputs in [0, 1], e.g. the calibration images.

        Returns
        -------
        list of numpy.ndarray
            Per layer, shape ``(n_inputs,)``, in [0, 1]: the mean over ``x`` of the layer's
            inputs (normalised activations above 1 saturate at the maximum rate).
        """
        inputs = list(self._activations(x))[:-1]
        return [np.clip(a, 0.0, 1.0).mean(axis=0) for a in inputs]

    def _activations(self, x):
        """The network's input, then every layer's output, in the rate model."""
        a = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        yield a
        for layer in self.layers:
            a = np.asarray(layer.weight @ a.T).T
            if layer.bias is not None:
                a = a + layer.bias
            if layer.relu:
                a = np.maximum(a, 0.0)
            yield a

    def predict(self, x) -> np.ndarray:
        """Arg-max class of the rate model."""
        return np.argmax(self.forward(x), axis=1)


def convert(network: Network, calibration_x, *, percentile: float = 99.9) -> ConvertedNetwork:
    """Convert a ReLU network for integrate-and-fire neurons (data-based normalisation).

    Parameters
    ----------
    network : Network
        Dense/Conv2d layers each followed by ReLU (except the last), with optional Flatten and
        AvgPool2d between them.
    calibration_x : array_like, shape ``(n, *network.input_shape)`` or ``(n, input features)``
        Inputs in [0, 1] on which activations are measured (a few hundred training images).
    percentile : float
        Percentile of each layer's positive activations taken as its scale ``λ`` (99.9 by
        default: robust against a few outliers, as Rueckauer et al. recommend).

    Returns
    -------
    ConvertedNetwork
    """
    if not isinstance(network, Network):
        raise SnnRramError(f"network: expected an snn_rram.ann.Network, got {network!r}")
    p = as_scalar(percentile, "percentile", positive=True)
    if p > 100:
        raise SnnRramError(f"percentile: must be in (0, 100], got {p}")
    x = as_array(calibration_x, "calibration_x")
    x = x.reshape((x.shape[0], *network.input_shape))
    if x.shape[0] == 0:
        raise SnnRramError("calibration_x: needs at least one sample")
    if (x < 0).any() or (x > 1).any():
        raise SnnRramError("calibration_x: inputs must lie in [0, 1] (they are rates)")
    _, acts = network.forward(x, return_activations=True)

    layers = list(network.layers)
    shapes = network.shapes
    fold = None  # linear map (pooling) from the current activations to the next layer's input
    nonneg = True  # the current activations are known to be >= 0
    out: list[ConvertedLayer] = []
    previous_scale = 1.0
    i = 0
    while i < len(layers):
        layer = layers[i]
        where = f"layer {layer.name!r} (position {i})"
        if isinstance(layer, MaxPool2d):
            raise SnnRramError(
                f"{where}: MaxPool2d has no integrate-and-fire equivalent; retrain the network "
                "with AvgPool2d to convert it"
            )
        if isinstance(layer, Flatten):
            i += 1
            continue
        if isinstance(layer, AvgPool2d):
            P = unroll_avgpool(layer, shapes[i])
            fold = P if fold is None else P @ fold
            i += 1
            continue
        if isinstance(layer, ReLU):
            if not nonneg:
                raise SnnRramError(f"{where}: a ReLU must follow a Dense or Conv2d layer here")
            i += 1
            continue
        if not isinstance(layer, Dense | Conv2d):  # pragma: no cover - Network forbids it
            raise SnnRramError(f"{where}: cannot convert a {type(layer).__name__}")
        if isinstance(layer, Dense):
            W = np.array(layer.weight)
            if fold is not None:
                W = np.asarray((fold.T @ W.T).T)
        else:
            W = unroll_conv(layer, shapes[i])
            if fold is not None:
                W = sp.csr_matrix(W @ fold)
        fold = None
        relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
        last_weight = not any(isinstance(lay, Dense | Conv2d) for lay in layers[i + 1 :])
        if not relu and not last_weight:
            raise SnnRramError(
                f"{where}: needs a ReLU after it (only the output layer may be linear)"
            )
        a = acts[i + 1] if relu else acts[i]
        positive = a[a > 0]
        if positive.size == 0:
            raise SnnRramError(
                f"{where}: no positive activation on the calibration data; cannot normalise"
            )
        scale = float(np.percentile(positive, p))
        factor = previous_scale / scale
        weight = sp.csr_matrix(W * factor) if sp.issparse(W) else W * factor
        bias = None
        if layer.bias is not None:
            b = np.asarray(layer.bias, dtype=np.float64)
            if isinstance(layer, Conv2d):
                b = np.repeat(b, int(np.prod(shapes[i + 1][1:])))
            bias = b / scale
        out.append(ConvertedLayer(layer.name, weight, bias, scale, relu, tuple(shapes[i + 1])))
        previous_scale = scale
        nonneg = relu
        i += 2 if relu else 1
    if not out:
        raise SnnRramError("network: has no Dense or Conv2d layer to convert")
    return ConvertedNetwork(tuple(out), int(np.prod(network.input_shape)), p)
