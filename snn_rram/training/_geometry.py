"""Where the cells of a device-aware layer sit: dense or convolutional, pooling folded in.

A layer of a network reconstructed for the crossbar (:mod:`snn_rram.training.device_aware`) is
one crossbar whose rows are the inputs of the layer and whose columns are its neurons, exactly
as :func:`snn_rram.ann.convert` unrolls it for the spiking and the analog networks:

- a dense layer: one cell per (input, neuron);
- a convolution: the kernel's cells repeated at every output position (the unrolled, sparse
  crossbar of :func:`snn_rram.ann.unroll_conv`; taps that fall into the zero padding have no
  cell);
- average pooling before a weight layer is folded into it (as ``ann.convert`` does): the rows
  are the pooling's inputs and every cell of a pooling window carries the kernel entry of its
  pooled feature, so the crossbar sums the window (the 1/area of the mean goes into the sense
  gain). Only pooling whose windows tile the map (stride = window, no leftover rows or columns)
  is folded this way: then every cell belongs to exactly one kernel entry.

:class:`Geometry` gives both forms of a layer: the crossbar's conductance matrix (numpy, for
:class:`snn_rram.analog.AnalogNetwork`) and the column sums ``Σ_i G_i φ_i`` of a batch of
per-row quantities as one torch matrix product or convolution (no loop over positions or
images).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from snn_rram.ann._ops import conv_output_size
from snn_rram.ann.convert import unroll_avgpool, unroll_conv
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, ReLU
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

__all__ = ["Geometry", "PlannedLayer", "plan_mlp", "plan_network"]


@dataclass(frozen=True)
class Geometry:
    """The cells of one layer.

    Attributes
    ----------
    kind : {"dense", "conv"}
    weight_shape : tuple of int
        ``(n_out, n_in)`` (n_in after pooling and flattening) or ``(O, C, KH, KW)``.
    in_shape : tuple of int
        Per-sample shape of the map the layer's rows read, before pooling: ``(n_in,)`` or
        ``(C, H, W)``.
    stride : (int, int)
        Convolution stride.
    padding : (int, int, int, int)
        Convolution zero padding (top, bottom, left, right).
    pool : (int, int) or None
        Window of the (sum) pooling folded in before the layer.
    """

    kind: str
    weight_shape: tuple
    in_shape: tuple
    stride: tuple = (1, 1)
    padding: tuple = (0, 0, 0, 0)
    pool: tuple | None = None

    @property
    def pooled_shape(self) -> tuple:
        """Per-sample shape after the pooling (the input of the ANN's weight layer)."""
        if self.pool is None:
            return tuple(self.in_shape)
        c, h, w = self.in_shape
        return (c, h // self.pool[0], w // self.pool[1])

    @property
    def pool_area(self) -> int:
        """Cells per pooled feature (1 without pooling)."""
        return 1 if self.pool is None else int(self.pool[0] * self.pool[1])

    @property
    def out_shape(self) -> tuple:
        """Per-sample output shape: ``(n_out,)`` or ``(O, Ho, Wo)``."""
        if self.kind == "dense":
            return (int(self.weight_shape[0]),)
        _, h, w = self.pooled_shape
        o, _, kh, kw = self.weight_shape
        pt, pb, pl, pr = self.padding
        return (
            int(o),
            conv_output_size(h, kh, self.stride[0], pt + pb),
            conv_output_size(w, kw, self.stride[1], pl + pr),
        )

    @property
    def n_in(self) -> int:
        """Driven rows of the crossbar (bias row not counted)."""
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        """Neurons of the crossbar (two columns each)."""
        return int(np.prod(self.out_shape))

    # -- numpy: the crossbar ----------------------------------------------------------------------

    def _structure(self):
        """(neuron, row, index into the flattened weight) of every cell of a convolution."""
        size = int(np.prod(self.weight_shape))
        ids = np.arange(1, size + 1, dtype=np.float64).reshape(self.weight_shape)
        conv = Conv2d(ids, None, stride=self.stride, padding=self.padding)
        m = unroll_conv(conv, self.pooled_shape)
        if self.pool is not None:  # windows tile the map: each cell keeps its tap's id
            m = m @ self._sum_pooling()
        m = m.tocoo()
        return m.row, m.col, np.rint(m.data).astype(np.int64) - 1

    def _sum_pooling(self) -> sp.csr_matrix:
        """The folded pooling as a sum: ``ann.unroll_avgpool`` × window area (entries 1)."""
        return unroll_avgpool(AvgPool2d(self.pool), self.in_shape) * self.pool_area

    def _pooled_index(self) -> np.ndarray:
        """Pooled feature of every row of a dense layer after pooling."""
        return self._sum_pooling().tocsc().indices  # one window per row: tiling pooling

    def unroll(self, values: list) -> list:
        """Per-cell matrices ``(n_out, n_in)`` of weight-shaped arrays (one structure).

        Dense layers give dense arrays, convolutions ``csr_matrix`` with one stored entry per
        cell (also where the value is 0: the cell exists).
        """
        if self.kind == "dense":
            if self.pool is None:
                return [np.asarray(v, dtype=np.float64) for v in values]
            idx = self._pooled_index()
            return [np.asarray(v, dtype=np.float64)[:, idx] for v in values]
        row, col, tap = self._structure()
        shape = (self.n_out, self.n_in)
        out = []
        for v in values:
            m = sp.csr_matrix((np.ravel(v)[tap], (row, col)), shape=shape)
            m.sort_indices()
            out.append(m)
        return out

    def per_neuron(self, b) -> np.ndarray:
        """A per-channel array (a bias) repeated for every neuron, ``(n_out,)``."""
        b = np.asarray(b, dtype=np.float64)
        if self.kind == "dense":
            return b
        return np.repeat(b, int(np.prod(self.out_shape[1:])))

    # -- torch: the column sums -------------------------------------------------------------------

    def colsum(self, torch, phi, g):
        """``Σ_i g_ji φ_i`` over the cells of every neuron j, ``(n, *out_shape)``.

        ``phi`` is a per-row quantity of shape ``(n, *in_shape)`` (or ``(n, n_in)``), ``g`` of
        ``weight_shape``: sum pooling (``avg_pool2d`` with divisor 1), then one matrix product
        or one convolution over the whole batch.
        """
        functional = torch.nn.functional
        n = phi.shape[0]
        if self.pool is not None:
            phi = functional.avg_pool2d(
                phi.reshape(n, *self.in_shape), self.pool, divisor_override=1
            )
        if self.kind == "dense":
            return phi.reshape(n, -1) @ g.T
        pt, pb, pl, pr = self.padding
        phi = phi.reshape(n, *self.pooled_shape)
        if pt or pb or pl or pr:
            phi = functional.pad(phi, (pl, pr, pt, pb))
        return functional.conv2d(phi, g, stride=self.stride)

    def per_channel(self, b):
        """A per-neuron-channel tensor shaped to broadcast against ``(n, *out_shape)``."""
        return b if self.kind == "dense" else b.reshape(-1, 1, 1)


@dataclass(frozen=True)
class PlannedLayer:
    """A weight layer of an architecture: its name, cells, ReLU, bias and float layer."""

    name: str
    geometry: Geometry
    relu: bool
    has_bias: bool
    layer: Dense | Conv2d | None = None


def plan_mlp(sizes) -> list:
    """The layers of an MLP of widths ``sizes`` (input first), ReLU between them."""
    n = len(sizes) - 1
    return [
        PlannedLayer(f"fc{k + 1}", Geometry("dense", (o, i), (i,)), k < n - 1, False)
        for k, (i, o) in enumerate(itertools.pairwise(sizes))
    ]


def plan_network(network: Network, what: str = "architecture") -> list:
    """The weight layers of a float network as crossbars (the structure ``ann.convert`` maps).

    Dense and Conv2d layers, each followed by a ReLU but the last; AvgPool2d (windows tiling
    the map, stride = window) after a ReLU and Flatten fold into the next weight layer.
    Anything else (MaxPool2d, overlapping pooling, two poolings in a row, a pooling after the
    last weight layer) is refused.
    """
    if not isinstance(network, Network):
        raise SnnRramError(f"{what}: expected an snn_rram.ann.Network, got {network!r}")
    layers, shapes = list(network.layers), network.shapes
    plan, pool, pool_shape = [], None, None
    for i, layer in enumerate(layers):
        where = f"{what}: layer {layer.name!r} (position {i})"
        if isinstance(layer, ReLU | Flatten):
            after_weights = i > 0 and isinstance(layers[i - 1], Dense | Conv2d)
            if isinstance(layer, ReLU) and not after_weights:
                raise SnnRramError(f"{where}: a ReLU must follow a Dense or Conv2d layer")
            continue
        if isinstance(layer, AvgPool2d):
            _, h, w = shapes[i]
            kh, kw = layer.kernel_size
            if pool is not None or tuple(layer.stride) != (kh, kw) or h % kh or w % kw:
                raise SnnRramError(
                    f"{where}: device-aware layers fold only average pooling whose windows tile "
                    f"the map (stride = window, one pooling per weight layer); got window "
                    f"{layer.kernel_size}, stride {layer.stride} on a {shapes[i]} map"
                )
            pool, pool_shape = (kh, kw), tuple(shapes[i])
            continue
        if not isinstance(layer, Dense | Conv2d):
            raise SnnRramError(
                f"{where}: device-aware training takes Dense, Conv2d, ReLU, AvgPool2d and "
                f"Flatten layers, got {type(layer).__name__}"
            )
        relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
        last = not any(isinstance(lay, Dense | Conv2d) for lay in layers[i + 1 :])
        if relu == last:
            raise SnnRramError(
                f"{where}: every weight layer but the last needs a ReLU after it, the last none"
            )
        in_shape = pool_shape if pool is not None else tuple(shapes[i])
        if isinstance(layer, Dense):
            geo = Geometry("dense", layer.weight.shape, in_shape, pool=pool)
        else:
            geo = Geometry("conv", layer.weight.shape, in_shape, layer.stride, layer.padding, pool)
        plan.append(PlannedLayer(layer.name, geo, relu, layer.bias is not None, layer))
        pool = None
    if pool is not None:
        raise SnnRramError(f"{what}: a pooling after the last weight layer cannot be folded")
    if not plan:
        raise SnnRramError(f"{what}: has no Dense or Conv2d layer")
    return plan
