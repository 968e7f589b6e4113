"""NIR (the Neuromorphic Intermediate Representation) in and out of snn-rram.

- :func:`read` / :func:`write`: ``.nir`` files (HDF5, the ``nir`` package's format).
- :func:`from_nir`: a NIR graph as snn-rram's description (:class:`~snn_rram.ann.NirNetwork`:
  spiking layers in threshold units and the rate model; :mod:`snn_rram.ann._nir` says which
  nodes and what the spike semantics are). ``snn_rram.ann.load("net.nir")`` gives its rate
  model, which the pipeline converts and maps like any trained ANN.
- :func:`to_spiking`: a NIR network *as it is* on crossbars — its weights programmed as they
  are (the default, exact for linear devices read with grounded rows into ideal neuron inputs)
  or through a mapping method — with one :class:`~snn_rram.snn.IFNeuron` per layer carrying
  the NIR leak and reset; the inputs of :class:`~snn_rram.snn.SpikingNetwork`.
- :func:`to_nir`: a spiking network as mapped (:mod:`snn_rram.snn.nir`).

Round trip: ``to_spiking(from_nir(to_nir(net)), device, circuit)`` programs the exported
effective conductances, so for linear devices, grounded rows and ``R_N = 0`` the rebuilt network
spikes exactly as ``net``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from snn_rram import mapping
from snn_rram._validation import as_rng, as_scalar
from snn_rram.ann._nir import (
    SUPPORTED_NODES,
    NirLayer,
    NirNetwork,
    from_nir,
    read_nir,
)
from snn_rram.crossbar import Circuit
from snn_rram.devices import Device
from snn_rram.errors import SnnRramError
from snn_rram.snn.neuron import IFNeuron
from snn_rram.snn.nir import effective_conductance, to_nir, write_nir

__all__ = [
    "SUPPORTED_NODES",
    "NirNetwork",
    "effective_conductance",
    "from_nir",
    "read",
    "to_nir",
    "to_spiking",
    "write",
]


def read(path: str | os.PathLike, *, max_rate: float = 100.0, spike_area: float = 1.0):
    """Read a ``.nir`` file into a :class:`~snn_rram.ann.NirNetwork` (see :func:`from_nir`)."""
    return from_nir(read_nir(Path(path)), max_rate=max_rate, spike_area=spike_area)


def write(path: str | os.PathLike, network=None, *, crossbars=None, neurons=None) -> Path:
    """Write a spiking network as mapped (:func:`to_nir`), or a ``nir.NIRGraph``, to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.nir`` file (written atomically).
    network : SpikingNetwork or nir.NIRGraph, optional
        What to write; or ``crossbars`` and ``neurons`` as for :func:`to_nir`.

    Returns
    -------
    pathlib.Path
    """
    import nir

    graph = network if isinstance(network, nir.NIRGraph) else None
    if graph is None:
        graph = to_nir(network, crossbars=crossbars, neurons=neurons)
    write_nir(path, graph)
    return Path(path)


def _reference(layer: NirLayer) -> tuple[float, float, np.ndarray]:
    """(θ_ref, k_ref, per-neuron factor) of a layer: its neurons share one θ and one gain."""
    theta = layer.neuron.threshold
    k = layer.neuron.gain * layer.spike_area
    theta_ref, k_ref = float(np.mean(theta)), float(np.mean(k))
    if np.all(theta == theta[0]) and np.all(k == k[0]):
        theta_ref, k_ref = float(theta[0]), float(k[0])
    return theta_ref, k_ref, (k * theta_ref) / (theta * k_ref)


def _pairs(W):
    """(G+, G−) of signed conductances: sparse matrices keep one shared structure."""
    if sp.issparse(W):
        W = sp.csr_matrix(W)
        pos, neg = W.copy(), W.copy()
        pos.data, neg.data = np.maximum(W.data, 0.0), np.maximum(-W.data, 0.0)
        return pos, neg
    return np.maximum(W, 0.0), np.maximum(-W, 0.0)


def to_spiking(
    network: NirNetwork,
    device: Device,
    circuit: Circuit,
    *,
    method: str | None = None,
    bits: int | None = None,
    threshold: float = 1.0,
    seed=None,
    **options,
) -> tuple[list, list[IFNeuron]]:
    """A NIR network on crossbars, as it is: the crossbars and neurons of a SpikingNetwork.

    Parameters
    ----------
    network : NirNetwork
        From :func:`from_nir` or :func:`read`.
    device : Device
        The cells.
    circuit : Circuit
        How every layer is read.
    method : str, optional
        ``None`` (default): program the NIR weights as conductances — with ``C = v_read·t_p/k``
        and the NIR threshold, a weight ``w`` becomes ``G = w`` S on a differential pair
        (``G+ = max(w, 0)``, ``G− = max(−w, 0)``), a bias ``b`` an always-on row of
        ``b·t_p`` S; the device's levels are not used (the weights of an exported snn-rram
        network are conductances already). Otherwise the name of a mapping method
        (:func:`snn_rram.mapping.get`), which maps the weights in threshold units onto the
        device's levels; the capacitance then follows as in the pipeline,
        ``C = v_read·t_p·g_per_weight/θ``.
    bits : int, optional
        Quantisation bits of ``method`` (required with a method).
    threshold : float
        θ of the neurons with a mapping method, V (with ``method=None`` the NIR threshold).
    seed : int or numpy.random.Generator, optional
        Programming variation of the device.
    **options
        Further keyword arguments of the mapping method.

    Returns
    -------
    crossbars : list of Crossbar
    neurons : list of IFNeuron
        Per layer: threshold, capacitance, the NIR reset (``"zero"`` unless the graph says
        ``"subtract"``) and the NIR membrane time constant as ``leak_tau``.

    Notes
    -----
    Neurons of one layer with different thresholds or gains are exact too: the ratios are
    folded into each neuron's weights (a membrane divided by its threshold obeys the same
    equation). A CubaLIF's synaptic filter is not simulated (see :mod:`snn_rram.ann._nir`).
    """
    if not isinstance(network, NirNetwork):
        raise SnnRramError(
            f"network: expected an snn_rram.ann.NirNetwork (from_nir), got "
            f"{type(network).__name__}"
        )
    if not isinstance(device, Device):
        raise SnnRramError(f"device: expected a snn_rram.devices.Device, got {device!r}")
    if not isinstance(circuit, Circuit):
        raise SnnRramError(f"circuit: expected a snn_rram.crossbar.Circuit, got {circuit!r}")
    if method is not None and bits is None:
        raise SnnRramError(f"bits: mapping method {method!r} needs the quantisation bits")
    rng = None if seed is None else as_rng(seed, "seed")
    duty = min(1.0, network.max_rate * circuit.pulse_width)
    crossbars, neurons = [], []
    for layer in network.layers:
        leak = layer.neuron.leak_tau
        if method is None:
            theta, k, factor = _reference(layer)
            W = (
                sp.csr_matrix(sp.diags(factor) @ layer.weight)
                if sp.issparse(layer.weight)
                else layer.weight * factor[:, None]
            )
            gp, gm = _pairs(W)
            bias_p = bias_m = None
            if layer.bias is not None:
                bias_p, bias_m = _pairs(layer.bias * factor * circuit.pulse_width)
            xbar = mapping.differential_crossbar(
                gp, gm, bias_p, bias_m, device, circuit, rng, programmed=True
            )
            capacitance = circuit.v_read * circuit.pulse_width / k
        else:
            theta = as_scalar(threshold, "threshold", "volt", positive=True)
            bias = layer.bias_thr
            m = mapping.get(method)(
                layer.weight_thr,
                device,
                circuit,
                bits=bits,
                bias=None if bias is None else bias / network.max_rate,
                bias_duty=duty,
                seed=rng,
                **options,
            )
            xbar = m.crossbar
            capacitance = circuit.v_read * circuit.pulse_width * m.g_per_weight / theta
        crossbars.append(xbar)
        neurons.append(
            IFNeuron(
                threshold=theta,
                capacitance=capacitance,
                reset=layer.neuron.reset,
                refractory=_refractory(layer, circuit),
                leak_tau=leak,
            )
        )
    return crossbars, neurons


def _refractory(layer: NirLayer, circuit: Circuit) -> float | None:
    """The refractory period an snn-rram export wrote for this pulse width, s.

    None (the pulse width, as in the pipeline) for other graphs, or when the export was read
    with another pulse width than ``circuit``'s.
    """
    meta = layer.neuron.metadata
    value, width = meta.get("refractory"), meta.get("pulse_width")
    if value is None or width is None or float(np.asarray(width)) != circuit.pulse_width:
        return None
    return float(np.asarray(value))
