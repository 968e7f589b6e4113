"""NIR graphs (the Neuromorphic Intermediate Representation, package ``nir``) as snn-rram networks.

A NIR graph that is a chain ``Input → (weight layer → spiking neurons [→ pooling/flatten])* →
Output`` is read into a :class:`NirNetwork`: its spiking layers with their weights, biases and
neuron parameters (:class:`NirLayer`), and the rate model of the whole graph as an
:class:`~snn_rram.ann.Network` (what :func:`snn_rram.ann.load` returns for a ``.nir`` file).

Spike semantics
---------------
NIR is continuous in time and a spike is a Dirac δ of unit area. A spike through weight ``w``
makes the membrane of an ``IF`` neuron (``dv/dt = R·I``) jump by ``R·w``, that of an ``LIF``
(``τ dv/dt = v_leak − v + R·I``) by ``R·w/τ``, and that of a ``CubaLIF`` by ``R·w_in·w/τ_mem``
(the charge its synaptic current carries); a bias ``b`` is a constant current, a membrane slope
of ``R·b`` (IF) or ``R·b/τ`` (LIF, CubaLIF: ``R·w_in·b/τ_mem``). We call that factor the
neuron's *gain* ``k`` (``R``, ``R/τ``, ``R·w_in/τ_mem``).

snn-rram's converted networks use the same δ picture, in units of the threshold: "one spike
through one unit of normalised weight brings one threshold of charge" (the pipeline chooses
the capacitance so). Every NIR layer is therefore expressed in *threshold units*::

    W_thr[j, i] = k_j · W[j, i] / θ_j        (thresholds per input spike)
    b_thr[j]    = k_j · b[j] / θ_j           (thresholds per second)

which is exact for the spiking dynamics (the membrane of neuron j divided by θ_j obeys the same
equation with threshold 1; the leak is linear, so it is unchanged). A NIR network runs in
snn-rram *as it is* from :meth:`NirNetwork.converted` (the layers in threshold units, biases
divided by the reference rate ``max_rate``, no data-based normalisation) and
:func:`snn_rram.nir.to_spiking`, which maps them onto crossbars and gives every layer an
:class:`~snn_rram.snn.IFNeuron` with the NIR leak time constant.

The rate model (:attr:`NirNetwork.network`): with subtractive reset and no leak, an IF neuron
fed by spike rates ``r_i`` fires on average at ``max(0, Σ_i W_thr[j, i]·r_i + b_thr[j])``.
With rates in units of ``max_rate`` this is the ReLU layer ``a = ReLU(W_thr·a_in +
b_thr / max_rate)``: a ``.nir`` file loaded with :func:`snn_rram.ann.load` is that ReLU network,
and the usual pipeline converts (data-based normalisation), maps and simulates it like any
trained ANN — with the config's neurons, i.e. without the NIR leak. Only biases need
``max_rate`` (a NIR bias is per second, ours per maximum input rate).

What is approximated or refused, by name
----------------------------------------
- NIR resets to ``v_reset``; snn-rram resets to 0 or by subtraction: ``v_reset`` must be 0.
  The reset is ``"zero"`` unless the node's metadata says ``{"reset": "subtract"}`` (what
  :func:`snn_rram.snn.nir.to_nir` writes for subtractive neurons).
- The leak pulls towards 0 V: ``v_leak`` must be 0. One membrane time constant per layer
  (:class:`~snn_rram.snn.IFNeuron` has one); the rate model ignores the leak.
- ``CubaLIF``: the synaptic filter is dropped; each spike delivers the charge of its synaptic
  current at once (rates are kept, spike times shift by about ``τ_syn``).
- ``Threshold`` (after a weight layer or an ``I`` integrator) is read as the firing rule of an
  integrate-and-fire neuron on the integrated input (NIR's ``IF`` is ``I`` + ``Threshold`` +
  reset), gain ``R`` of the ``I`` node or 1.
- ``SumPool2d`` is an ``AvgPool2d`` whose window size is folded into the next weight layer;
  pooling has no padding; ``Conv2d`` has ``groups = 1`` and no dilation.
- Every other node (``LI``, ``CubaLI``, ``I`` alone, ``Scale``, ``Delay``, ``Conv1d``,
  subgraphs such as recurrent layers) is refused naming the node; so are branches, merges and
  cycles (the graph must be one chain).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_scalar
from snn_rram.ann._common import sanitize_name, unique_names
from snn_rram.ann.convert import ConvertedLayer, ConvertedNetwork, unroll_avgpool, unroll_conv
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, ReLU
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError, SnnRramWarning

__all__ = [
    "NEURON_NODES",
    "SUPPORTED_NODES",
    "NirLayer",
    "NirNetwork",
    "NirNeuron",
    "from_nir",
    "read_nir",
]

#: NIR node types that are spiking neurons here (``I`` only before a ``Threshold``).
NEURON_NODES = ("IF", "LIF", "CubaLIF", "Threshold")
#: Every NIR node type :func:`from_nir` reads.
SUPPORTED_NODES = (
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Conv2d",
    "Flatten",
    "SumPool2d",
    "AvgPool2d",
    "IF",
    "LIF",
    "CubaLIF",
    "Threshold",
    "I",
)
_WEIGHT_NODES = ("Affine", "Linear", "Conv2d")
_WHY_NOT = {
    "LI": "a leaky integrator without spikes",
    "CubaLI": "a leaky integrator without spikes",
    "I": "an integrator without spikes (only as I → Threshold)",
    "Scale": "an elementwise gain (fold it into the weights before exporting)",
    "Delay": "a synaptic delay",
    "Conv1d": "a 1-D convolution",
    "NIRGraph": "a subgraph (e.g. a recurrent layer)",
}


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a dependency
        raise SnnRramError("NIR graphs need the 'nir' package (pip install nir)") from None
    return nir


@dataclass(frozen=True, eq=False)
class NirNeuron:
    """The spiking neurons of one layer, as the NIR graph describes them.

    Attributes
    ----------
    kind : str
        The NIR node type: ``IF``, ``LIF``, ``CubaLIF`` or ``Threshold``.
    node : str
        The node's name in the graph.
    threshold : numpy.ndarray, shape (n,)
        ``v_threshold`` of every neuron (the graph's voltage unit; V for graphs snn-rram wrote).
    gain : numpy.ndarray, shape (n,)
        Membrane jump per unit-area spike through a unit weight: ``R`` (IF), ``R/τ`` (LIF),
        ``R·w_in/τ_mem`` (CubaLIF).
    tau : numpy.ndarray of shape (n,), or None
        Membrane time constant, s (None: no leak).
    reset : {"zero", "subtract"}
        Reset mode.
    tau_syn : numpy.ndarray of shape (n,), or None
        The dropped synaptic time constant of a CubaLIF, s.
    metadata : dict
        The node's metadata (snn-rram's export keeps capacitance, read voltage, ... there).
    """

    kind: str
    node: str
    threshold: np.ndarray
    gain: np.ndarray
    tau: np.ndarray | None
    reset: str
    tau_syn: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def leak_tau(self) -> float | None:
        """The layer's one membrane time constant, s (None without leak).

        Raises
        ------
        SnnRramError
            If the neurons of the layer have different time constants.
        """
        if self.tau is None:
            return None
        if not np.allclose(self.tau, self.tau[0], rtol=1e-9, atol=0.0):
            raise SnnRramError(
                f"node {self.node!r}: tau differs between the neurons of the layer "
                f"({self.tau.min():g} … {self.tau.max():g} s); snn-rram's IFNeuron has one "
                "membrane time constant per layer"
            )
        return float(self.tau[0])


@dataclass(frozen=True, eq=False)
class NirLayer:
    """One spiking layer of a NIR chain: a weight node (pooling folded in) and its neurons.

    Attributes
    ----------
    name : str
        The weight node's name (made a valid layer name).
    weight : numpy.ndarray or scipy.sparse.csr_matrix, shape (n_out, n_in)
        The NIR weights over flattened (C, H, W) inputs: convolutions unrolled (sparse),
        pooling since the previous neurons folded in.
    bias : numpy.ndarray of shape (n_out,), or None
        The NIR biases (a constant input current per neuron).
    neuron : NirNeuron
    output_shape : tuple of int
        Per-sample shape of the layer's output ((C, H, W) for convolutions).
    spike_area : float
        Area of one input spike in the graph's convention (1 for NIR's unit δ).
    """

    name: str
    weight: np.ndarray | sp.csr_matrix
    bias: np.ndarray | None
    neuron: NirNeuron
    output_shape: tuple[int, ...]
    spike_area: float = 1.0

    def _scale(self) -> np.ndarray:
        return self.neuron.gain / self.neuron.threshold

    @property
    def weight_thr(self) -> np.ndarray | sp.csr_matrix:
        """Weights in threshold units, ``a·k_j·W[j, i]/θ_j`` (thresholds per input spike).

        ``a`` is :attr:`spike_area` (1 for NIR's δ spikes).
        """
        s = self._scale() * self.spike_area
        if sp.issparse(self.weight):
            return sp.csr_matrix(sp.diags(s) @ self.weight)
        return self.weight * s[:, None]

    @property
    def bias_thr(self) -> np.ndarray | None:
        """Biases in threshold units, ``k_j·b[j]/θ_j``, 1/s."""
        return None if self.bias is None else self.bias * self._scale()


@dataclass(frozen=True, eq=False)
class NirNetwork:
    """A NIR chain read by :func:`from_nir`.

    Attributes
    ----------
    network : Network
        The rate model: Dense/Conv2d layers in threshold units (biases divided by
        ``max_rate``), each followed by a ReLU, with the graph's pooling and flattening.
    layers : tuple of NirLayer
        The spiking layers.
    input_shape : tuple of int
        Per-sample input shape.
    max_rate : float
        Reference rate of the rate model, Hz: the rate of an input of 1.
    """

    network: Network
    layers: tuple[NirLayer, ...]
    input_shape: tuple[int, ...]
    max_rate: float

    def converted(self) -> ConvertedNetwork:
        """The spiking layers as they are (threshold units, no data-based normalisation).

        Weights ``W_thr``, biases ``b_thr / max_rate`` (in units of the maximum input rate, as
        the mapping methods expect them), every layer spiking (``relu=True``, scale 1).
        """
        out = []
        for layer in self.layers:
            b = layer.bias_thr
            out.append(
                ConvertedLayer(
                    layer.name,
                    layer.weight_thr,
                    None if b is None else b / self.max_rate,
                    1.0,
                    True,
                    layer.output_shape,
                )
            )
        return ConvertedNetwork(tuple(out), int(np.prod(self.input_shape)), 100.0)


def read_nir(path: str | os.PathLike):
    """Read a ``.nir`` file (HDF5, written by ``nir.write``) into a ``nir.NIRGraph``.

    Raises
    ------
    SnnRramError
        If the file is not a NIR graph ``nir`` can read (naming the file and the reason).
    """
    nir = _nir()
    path = Path(path)
    _check_dataset_sizes(path)
    try:
        graph = nir.read(path, type_check=False)
    except Exception as exc:  # nir raises anything: KeyError, AssertionError, OSError, ...
        raise SnnRramError(
            f"{path.name}: not a NIR graph that the nir package {nir.version} can read "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(graph, nir.NIRGraph):
        raise SnnRramError(f"{path.name}: holds a NIR {type(graph).__name__}, not a NIRGraph")
    return graph


def _check_dataset_sizes(path: Path) -> None:
    """Every dataset's declared size checked before ``nir.read`` loads them all.

    ``nir`` reads each dataset whole; a damaged file can declare a dataspace of 10⁹ elements
    that HDF5 then fills. Sizes are checked as for the other weight files
    (:mod:`snn_rram.ann._limits`, :func:`snn_rram._io.check_declared_size`).
    """
    import h5py

    from snn_rram._io import check_declared_size, open_hdf5
    from snn_rram.ann._limits import MAX_ARRAYS, MAX_MODEL_BYTES, MAX_TENSOR_BYTES

    stored = path.stat().st_size
    sizes: list[tuple[str, int]] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            sizes.append((name, int(np.prod(obj.shape or (), dtype=object)) * obj.dtype.itemsize))
            if len(sizes) > MAX_ARRAYS:
                raise SnnRramError(
                    f"{path.name}: more than {MAX_ARRAYS} datasets "
                    "(snn_rram.ann._limits.MAX_ARRAYS)"
                )

    with open_hdf5(path, f"{path.name}: not a NIR graph (HDF5)") as f:
        try:
            f.visititems(visit)
        except (OSError, RuntimeError, ValueError, TypeError, KeyError) as exc:
            raise SnnRramError(
                f"{path.name}: damaged HDF5 ({type(exc).__name__}: {exc})"
            ) from None
    for name, nbytes in sizes:
        check_declared_size(
            nbytes,
            stored,
            f"{path.name}: dataset {name!r}",
            limit=MAX_TENSOR_BYTES,
            limit_name="snn_rram.ann._limits.MAX_TENSOR_BYTES",
        )
    check_declared_size(
        sum(n for _, n in sizes),
        stored,
        f"{path.name}: all datasets",
        limit=MAX_MODEL_BYTES,
        limit_name="snn_rram.ann._limits.MAX_MODEL_BYTES",
    )


# -- the chain -------------------------------------------------------------------------------


def _chain(graph) -> list[str]:
    """The node names from the one Input to the one Output, or an error naming the node."""
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise SnnRramError(f"graph: expected a nir.NIRGraph, got {type(graph).__name__}")
    nodes = graph.nodes
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    for edge in graph.edges:
        a, b = (str(e) for e in edge)
        for end in (a, b):
            if end not in nodes:
                raise SnnRramError(f"graph.edges: edge ({a!r}, {b!r}) names no node {end!r}")
        succ[a].append(b)
        pred[b].append(a)
    for name in nodes:
        if len(succ[name]) > 1:
            raise SnnRramError(
                f"node {name!r}: the graph branches there (to {sorted(succ[name])}); snn-rram "
                "reads NIR graphs that are one chain of layers"
            )
        if len(pred[name]) > 1:
            raise SnnRramError(
                f"node {name!r}: several inputs meet there (from {sorted(pred[name])}); "
                "snn-rram reads NIR graphs that are one chain of layers"
            )
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise SnnRramError(f"graph: expected one Input node, found {len(inputs)} {inputs}")
    order, name = [], inputs[0]
    while True:
        order.append(name)
        if not succ[name]:
            break
        name = succ[name][0]
        if name in order:
            raise SnnRramError(f"node {name!r}: the graph has a cycle through it")
    rest = sorted(set(nodes) - set(order))
    if rest:
        raise SnnRramError(
            f"node {rest[0]!r}: not on the chain from {inputs[0]!r} (nodes off the chain: "
            f"{rest}); snn-rram reads NIR graphs that are one chain of layers"
        )
    if not isinstance(nodes[order[-1]], nir.Output):
        raise SnnRramError(
            f"node {order[-1]!r}: the chain ends in a {type(nodes[order[-1]]).__name__}, "
            "expected an Output node"
        )
    return order


def _array(value, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"{where}: expected numbers, got {value!r} ({exc})") from None
    if not np.isfinite(arr).all():
        raise SnnRramError(f"{where}: contains NaN or infinite values")
    return arr


def _ints(value, n: int, where: str, minimum: int) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(value))
    if arr.size == 1:
        arr = np.repeat(arr, n)
    ok = arr.shape == (n,) and arr.dtype.kind in "iuf" and np.all(arr == np.round(arr))
    if not ok or (arr < minimum).any():
        raise SnnRramError(f"{where}: expected {n} integers >= {minimum}, got {value!r}")
    return tuple(int(v) for v in arr)


def _per_neuron(value, shape: tuple[int, ...], where: str, *, conv: bool) -> np.ndarray:
    """A neuron parameter broadcast to the layer's output shape, flattened to (n,)."""
    arr = _array(value, where)
    if arr.size == 1:
        arr = arr.reshape(())
    elif conv and arr.shape == (shape[0],):
        arr = arr[:, None, None]
    try:
        full = np.broadcast_to(arr, shape)
    except ValueError:
        raise SnnRramError(
            f"{where}: has shape {arr.shape}, the layer's output has shape {shape}"
        ) from None
    return np.ascontiguousarray(full).reshape(-1).astype(np.float64)


def _neuron(name: str, node, shape: tuple[int, ...], *, conv: bool, integrator=None):
    """The NirNeuron of a neuron node (``integrator``: the ``I`` node before a Threshold)."""
    nir = _nir()
    kind = type(node).__name__
    where = f"node {name!r} ({kind})"

    def get(attr):
        return _per_neuron(getattr(node, attr), shape, f"{where}.{attr}", conv=conv)

    def must_be_zero(attr, why):
        value = get(attr)
        if np.any(value != 0):
            raise SnnRramError(f"{where}.{attr}: {why}; got {value[value != 0][0]:g} (expected 0)")

    threshold = get("threshold" if kind == "Threshold" else "v_threshold")
    if (threshold <= 0).any():
        raise SnnRramError(f"{where}.v_threshold: must be > 0, got {threshold.min():g}")
    tau = tau_syn = None
    if kind == "Threshold":
        gain = (
            np.ones_like(threshold)
            if integrator is None
            else _per_neuron(integrator[1].r, shape, f"node {integrator[0]!r} (I).r", conv=conv)
        )
    else:
        must_be_zero("v_reset", "snn-rram resets to 0 V or by subtraction")
        r = get("r")
        if isinstance(node, nir.IF):
            gain = r
        else:
            must_be_zero("v_leak", "snn-rram's leak pulls the membrane to 0 V")
            tau = get("tau" if isinstance(node, nir.LIF) else "tau_mem")
            if (tau <= 0).any():
                raise SnnRramError(f"{where}.tau: must be > 0 s, got {tau.min():g}")
            gain = r / tau
            if isinstance(node, nir.CubaLIF):
                gain = gain * get("w_in")
                tau_syn = get("tau_syn")
                warnings.warn(
                    f"{where}: the synaptic filter (tau_syn up to {tau_syn.max():g} s) is not "
                    "simulated; each spike delivers its synaptic charge at once (rates are "
                    "kept, spike times shift)",
                    SnnRramWarning,
                    stacklevel=3,
                )
    if not (gain > 0).all():
        raise SnnRramError(
            f"{where}: the membrane gain (R, R/tau) must be > 0 for every neuron, got "
            f"{gain.min():g}"
        )
    meta = dict(getattr(node, "metadata", None) or {})
    reset = meta.get("reset", "zero")
    if isinstance(reset, bytes):
        reset = reset.decode()
    if reset not in ("zero", "subtract"):
        raise SnnRramError(
            f"{where}.metadata['reset']: expected 'zero' or 'subtract', got {reset!r}"
        )
    return NirNeuron(kind, name, threshold, gain, tau, reset, tau_syn, meta)


def _conv(name: str, node, shape) -> Conv2d:
    where = f"node {name!r} (Conv2d)"
    w = _array(node.weight, f"{where}.weight")
    if w.ndim != 4:
        raise SnnRramError(f"{where}.weight: expected (C_out, C_in, kh, kw), got {w.shape}")
    if int(np.asarray(node.groups)) != 1:
        raise SnnRramError(f"{where}.groups: only groups = 1 is supported, got {node.groups!r}")
    if _ints(node.dilation, 2, f"{where}.dilation", 1) != (1, 1):
        raise SnnRramError(f"{where}.dilation: only 1 is supported, got {node.dilation!r}")
    stride = _ints(node.stride, 2, f"{where}.stride", 1)
    padding = node.padding
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, str):
        kh, kw = w.shape[2:]
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same" and stride == (1, 1) and kh % 2 and kw % 2:
            padding = (kh // 2, kw // 2)
        else:
            raise SnnRramError(
                f"{where}.padding: {padding!r} is supported as 'valid', or 'same' with stride 1 "
                "and odd kernels"
            )
    padding = _ints(padding, 2, f"{where}.padding", 0)
    bias = None if node.bias is None else _array(node.bias, f"{where}.bias").reshape(-1)
    if bias is not None and bias.size == 1 and w.shape[0] > 1:
        bias = np.repeat(bias, w.shape[0])
    try:
        layer = Conv2d(w, bias, stride, padding, name=name)
        layer.output_shape(shape)
    except SnnRramError as exc:
        raise SnnRramError(f"{where}: {exc} (input {shape})") from None
    return layer


def _dense(name: str, node, shape) -> Dense:
    kind = type(node).__name__
    where = f"node {name!r} ({kind})"
    w = _array(node.weight, f"{where}.weight")
    if w.ndim != 2:
        raise SnnRramError(f"{where}.weight: expected (out, in), got shape {w.shape}")
    bias = None
    if kind == "Affine":
        bias = _array(node.bias, f"{where}.bias").reshape(-1)
    if shape != (w.shape[1],):
        hint = " (add a Flatten before it)" if math.prod(shape) == w.shape[1] else ""
        raise SnnRramError(
            f"{where}: weight {w.shape} takes {w.shape[1]} inputs, the layer before gives "
            f"shape {shape}{hint}"
        )
    try:
        return Dense(w, bias, name=name)
    except SnnRramError as exc:
        raise SnnRramError(f"{where}: {exc}") from None


def _pool(name: str, node, shape) -> tuple[AvgPool2d, float]:
    kind = type(node).__name__
    where = f"node {name!r} ({kind})"
    if len(shape) != 3:
        raise SnnRramError(f"{where}: pools (C, H, W) feature maps, got input shape {shape}")
    kernel = _ints(node.kernel_size, 2, f"{where}.kernel_size", 1)
    stride = _ints(node.stride, 2, f"{where}.stride", 1)
    if _ints(node.padding, 2, f"{where}.padding", 0) != (0, 0):
        raise SnnRramError(f"{where}.padding: pooling with padding is not supported")
    try:
        layer = AvgPool2d(kernel, stride, name=name)
        layer.output_shape(shape)
    except SnnRramError as exc:
        raise SnnRramError(f"{where}: {exc}") from None
    return layer, float(kernel[0] * kernel[1]) if kind == "SumPool2d" else 1.0


def _flatten(name: str, node, shape) -> Flatten:
    where = f"node {name!r} (Flatten)"
    start, end = int(np.asarray(node.start_dim)), int(np.asarray(node.end_dim))
    nd = len(shape)
    if (start % nd if nd else 0) != 0 or end % nd != nd - 1:
        raise SnnRramError(
            f"{where}: start_dim {start}, end_dim {end} on shape {shape}: only flattening the "
            "whole sample (C, H, W → C·H·W) is supported"
        )
    return Flatten(name=name)


def from_nir(graph, *, max_rate: float = 100.0, spike_area: float = 1.0) -> NirNetwork:
    """Read a NIR graph (a ``nir.NIRGraph``) into snn-rram's description.

    Parameters
    ----------
    graph : nir.NIRGraph
        A chain of the node types of :data:`SUPPORTED_NODES` (see the module documentation).
    max_rate : float
        Reference rate, Hz: the rate model's unit of activity, used for biases only
        (``b_thr / max_rate``). Use the encoder's ``max_rate`` (100 Hz, the pipeline's
        default).
    spike_area : float
        Area of one spike in the graph's convention, s: 1 for NIR's unit δ (the standard);
        an exporter that treats a spike as a current of height 1 during one time step ``dt``
        wants ``dt`` — snnTorch 1.0 writes ``r = τ/dt`` with ``dt = 1e-4`` s so that its
        update ``v ← β·v + W·s`` is the NIR equation with such spikes; read with unit δ its
        weights are 1/dt times stronger (a uniform scale per layer, which the rate model's
        data-based normalisation removes, but which matters when running a graph as it is).

    Returns
    -------
    NirNetwork

    Raises
    ------
    SnnRramError
        Branches, merges, cycles, unsupported node types, parameters snn-rram cannot simulate,
        and shapes that do not fit, each naming the node.

    Examples
    --------
    One IF neuron (R = 2, θ = 0.5) behind three weights: a spike through ``w`` moves its
    membrane by ``R·w``, i.e. by ``R·w/θ`` thresholds.

    >>> import nir
    >>> import numpy as np
    >>> from snn_rram.ann import from_nir
    >>> graph = nir.NIRGraph.from_list(
    ...     nir.Input(np.array([3])),
    ...     nir.Affine(np.array([[1.0, -0.5, 0.2]]), np.array([0.0])),
    ...     nir.IF(r=np.array([2.0]), v_threshold=np.array([0.5])),
    ... )
    >>> imported = from_nir(graph)
    >>> imported.layers[0].weight_thr
    array([[ 4. , -2. ,  0.8]])
    >>> [layer.kind for layer in imported.network.layers]
    ['Dense', 'ReLU']
    """
    rate = as_scalar(max_rate, "max_rate", "hertz", positive=True)
    area = as_scalar(spike_area, "spike_area", positive=True)
    order = _chain(graph)
    nodes = graph.nodes
    in_node = nodes[order[0]]
    in_shape = np.asarray(in_node.input_type.get("input"))
    shape = tuple(int(v) for v in np.atleast_1d(in_shape)) if in_shape.size else ()
    if len(shape) not in (1, 3) or min(shape, default=0) < 1:
        raise SnnRramError(
            f"node {order[0]!r} (Input): shape {shape}: expected (features,) or (C, H, W)"
        )
    input_shape = shape
    safe = unique_names([sanitize_name(n, f"node{i}") for i, n in enumerate(order)])
    rate_layers: list = []  # the rate model
    layers: list[NirLayer] = []
    pending = None  # the weight layer waiting for its neurons: (Dense/Conv2d, input shape)
    integrator = None  # an I node waiting for its Threshold
    fold = None  # linear map since the last neurons (pooling), and its sum-pool factor
    factor = 1.0
    for i, name in enumerate(order[1:-1], start=1):
        node, label = nodes[name], safe[i]
        kind = type(node).__name__
        where = f"node {name!r} ({kind})"
        if kind not in SUPPORTED_NODES:
            why = _WHY_NOT.get(kind, "not a node type snn-rram simulates")
            raise SnnRramError(
                f"{where}: {kind} is not supported ({why}); supported: "
                f"{', '.join(SUPPORTED_NODES)}"
            )
        if integrator is not None and kind != "Threshold":
            raise SnnRramError(
                f"node {integrator[0]!r} (I): an integrator is supported only right before a "
                f"Threshold, got {kind} {name!r} after it"
            )
        if kind in _WEIGHT_NODES:
            if pending is not None:
                raise SnnRramError(
                    f"{where}: follows the weight layer {pending[0].name!r} without spiking "
                    f"neurons between them ({', '.join(NEURON_NODES)})"
                )
            layer = _conv(label, node, shape) if kind == "Conv2d" else _dense(label, node, shape)
            pending = (layer, shape)
            shape = layer.output_shape(shape)
            continue
        if kind in ("IF", "LIF", "CubaLIF", "Threshold", "I"):
            if pending is None:
                raise SnnRramError(
                    f"{where}: spiking neurons must follow a weight layer (Affine, Linear, "
                    "Conv2d), not the start of the chain or pooling"
                )
            if kind == "I":
                integrator = (name, node)
                continue
            weight_layer, layer_in = pending
            conv = isinstance(weight_layer, Conv2d)
            neuron = _neuron(name, node, shape, conv=conv, integrator=integrator)
            integrator = None
            layers.append(_spiking_layer(weight_layer, layer_in, neuron, shape, fold, area))
            rate_layers.extend(
                [_rate_layer(weight_layer, neuron, shape, factor, rate, conv, area), ReLU()]
            )
            pending, fold, factor = None, None, 1.0
            continue
        if pending is not None:
            raise SnnRramError(
                f"{where}: the weight layer {pending[0].name!r} must be followed by spiking "
                f"neurons ({', '.join(NEURON_NODES)}) before {kind}"
            )
        if kind == "Flatten":
            rate_layers.append(_flatten(label, node, shape))
            shape = (math.prod(shape),)
            continue
        pool, k = _pool(label, node, shape)  # AvgPool2d / SumPool2d
        P = unroll_avgpool(pool, shape) * k
        fold = P if fold is None else P @ fold
        factor *= k
        rate_layers.append(pool)
        shape = pool.output_shape(shape)
    if integrator is not None:
        raise SnnRramError(f"node {integrator[0]!r} (I): needs a Threshold after it")
    if pending is not None:
        raise SnnRramError(
            f"node {pending[0].name!r}: the last weight layer has no spiking neurons after it "
            f"({', '.join(NEURON_NODES)}); snn-rram's every layer spikes"
        )
    if fold is not None:
        raise SnnRramError(
            f"node {order[-2]!r}: pooling after the last spiking layer is not supported"
        )
    if not layers:
        raise SnnRramError("graph: has no weight layer (Affine, Linear, Conv2d) with neurons")
    out_node = nodes[order[-1]]
    out_shape = np.atleast_1d(np.asarray(out_node.output_type.get("output")))
    if out_shape.size and out_shape.dtype.kind in "iuf":
        got = tuple(int(v) for v in out_shape)
        if math.prod(got) != math.prod(shape):
            raise SnnRramError(
                f"node {order[-1]!r} (Output): shape {got}, the chain gives {shape}"
            )
    network = Network(rate_layers, input_shape, name="nir")
    return NirNetwork(network, tuple(layers), input_shape, rate)


def _spiking_layer(layer, layer_in, neuron, shape, fold, area) -> NirLayer:
    """The layer's NIR weights over the previous neurons' flattened outputs (pooling folded)."""
    if isinstance(layer, Conv2d):
        W = unroll_conv(layer, layer_in)
        if fold is not None:
            W = sp.csr_matrix(W @ fold)
        bias = None if layer.bias is None else np.repeat(layer.bias, shape[1] * shape[2])
    else:
        W = np.array(layer.weight)
        if fold is not None:
            W = np.asarray((fold.T @ W.T).T)
        bias = None if layer.bias is None else np.array(layer.bias)
    return NirLayer(layer.name, W, bias, neuron, tuple(shape), area)


def _rate_layer(layer, neuron: NirNeuron, shape, factor, rate, conv, area):
    """The weight layer in threshold units (per output neuron, or channel), for the rate model."""
    scale = neuron.gain / neuron.threshold
    bias = layer.bias
    if conv:
        per = scale.reshape(shape)
        channel = per[:, :1, :1]
        if not np.allclose(per, channel, rtol=1e-12, atol=0.0):
            raise SnnRramError(
                f"node {neuron.node!r}: gain/threshold varies within a channel; a convolution "
                "shares its weights over positions, so snn-rram needs them per channel"
            )
        s = channel.reshape(-1)
        w = layer.weight * (s * factor * area)[:, None, None, None]
        b = None if bias is None else bias * s / rate
        return Conv2d(w, b, layer.stride, layer.padding, name=layer.name)
    w = layer.weight * (scale * factor * area)[:, None]
    b = None if bias is None else bias * scale / rate
    return Dense(w, b, name=layer.name)
