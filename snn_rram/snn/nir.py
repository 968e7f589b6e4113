"""A spiking network as mapped, exported to NIR (the Neuromorphic Intermediate Representation).

:func:`to_nir` describes every crossbar layer by what its neurons receive from a static read
(:meth:`~snn_rram.crossbar.Crossbar.static_gain`: each physical row read alone, read distortion
and column loads included, folded through the layout's readout and summed over the rows of
each logical input) and its neurons by NIR ``IF`` (no leak) or ``LIF`` nodes:

===============  ========================================================================
NIR field        value
===============  ========================================================================
``weight``       effective conductance from input i to neuron j, S (``G+ − G−`` of a pair)
``bias``         effective conductance of the always-on rows divided by the pulse width,
                 S/s (``Affine``; ``Linear`` for a layer without bias rows)
``r``            ``v_read·t_p/C`` (IF), ``τ·v_read·t_p/C`` (LIF)
``v_threshold``  the threshold θ, V
``v_reset``      0 V
``tau``          the leak's ``τ``, s (LIF)
``v_leak``       0 V (LIF)
===============  ========================================================================

so that a unit-area δ spike through ``weight`` moves the membrane by ``R·w`` (``R·w/τ``) =
``v_read·t_p·G/C``: the charge of one read pulse of an ideal read, as in snn-rram. A bias is
a constant current, ``R·b = v_read·G_b/C``. Differences that remain, and are documented in
the node metadata and :doc:`/nir`:

- snn-rram delivers a spike's charge over the read pulse (``t_p``) rather than at once, and
  every layer adds one pulse of latency;
- NIR resets to ``v_reset``; a subtractive reset is written as ``v_reset = 0`` with
  ``metadata["reset"] = "subtract"``, which :func:`snn_rram.ann.from_nir` reads back and other
  tools ignore;
- the refractory period (at least the next layer's pulse width) has no NIR field: it is in
  the metadata (``refractory``, s);
- the weights are those of a static read: the run itself solves the array at every step, so
  with ``R_N > 0`` or a nonlinear device the currents depend on which other rows are active.

Convolutional layers are exported unrolled (an ``Affine`` over the flattened (C, H, W) inputs),
as they are on the crossbar. Every node's metadata holds the physical values (capacitance, read
voltage, pulse width, reset, refractory), the graph's the units.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from snn_rram._io import atomic_write
from snn_rram.crossbar.array import Crossbar
from snn_rram.errors import SnnRramError
from snn_rram.snn.network import SpikingNetwork
from snn_rram.snn.neuron import IFNeuron

__all__ = ["effective_conductance", "to_nir", "write_nir"]


def effective_conductance(xbar: Crossbar) -> tuple[np.ndarray, np.ndarray | None]:
    """What each logical input and the bias rows present to each neuron in a static read.

    Parameters
    ----------
    xbar : Crossbar

    Returns
    -------
    weight : numpy.ndarray, shape (n_neurons, n_inputs)
        ``Σ_{rows r of input i} Σ_cols static_gain[r, c]·readout[c, j]``, S.
    bias : numpy.ndarray of shape (n_neurons,), or None
        The same over the always-on rows, S; None without them.
    """
    if not isinstance(xbar, Crossbar):
        raise SnnRramError(f"xbar: expected a Crossbar, got {type(xbar).__name__}")
    lay = xbar.layout
    per_row = sp.csr_matrix(xbar.static_gain()) @ lay.readout  # (n_rows, n_neurons)
    rows = lay.row_input
    driven = np.flatnonzero(rows >= 0)
    gather = sp.csr_matrix(
        (np.ones(driven.size), (rows[driven], driven)), shape=(lay.n_inputs, xbar.n_rows)
    )
    weight = np.asarray((gather @ per_row).toarray()).T
    always = np.flatnonzero(rows < 0)
    bias = np.asarray(per_row[always].sum(axis=0)).ravel() if always.size else None
    return weight, bias


def _layers(network, crossbars, neurons):
    if network is not None:
        if crossbars is not None or neurons is not None:
            raise SnnRramError("to_nir: give a SpikingNetwork or crossbars and neurons, not both")
        if not isinstance(network, SpikingNetwork):
            raise SnnRramError(f"network: expected a SpikingNetwork, got {type(network).__name__}")
        return list(network.crossbars), list(network.neurons), list(network.refractory)
    crossbars = [crossbars] if isinstance(crossbars, Crossbar) else list(crossbars or [])
    if not crossbars or not all(isinstance(x, Crossbar) for x in crossbars):
        raise SnnRramError("crossbars: expected a non-empty list of Crossbar objects")
    if isinstance(neurons, IFNeuron):
        neurons = [neurons] * len(crossbars)
    neurons = list(neurons or [])
    if len(neurons) != len(crossbars) or not all(isinstance(n, IFNeuron) for n in neurons):
        raise SnnRramError(f"neurons: expected an IFNeuron or a list of {len(crossbars)}")
    for k in range(1, len(crossbars)):
        if crossbars[k].layout.n_inputs != crossbars[k - 1].layout.n_neurons:
            raise SnnRramError(
                f"crossbars[{k}]: has {crossbars[k].layout.n_inputs} inputs, but layer {k - 1} "
                f"has {crossbars[k - 1].layout.n_neurons} neurons"
            )
    refractory = [
        n.refractory if n.refractory is not None else x.circuit.pulse_width
        for n, x in zip(neurons, crossbars[1:] + crossbars[-1:], strict=True)
    ]
    return crossbars, neurons, refractory


def to_nir(
    network: SpikingNetwork | None = None,
    *,
    crossbars=None,
    neurons=None,
):
    """The network as mapped, as a ``nir.NIRGraph``.

    Parameters
    ----------
    network : SpikingNetwork, optional
        The network (its crossbars, neurons and refractory periods).
    crossbars : list of Crossbar, optional
        Instead of ``network``: the layers, input first (e.g. ``[m.crossbar for m in
        mappings]`` of a pipeline run).
    neurons : IFNeuron or list of IFNeuron, optional
        With ``crossbars``: the neurons, one for all layers or one per layer.

    Returns
    -------
    nir.NIRGraph
        ``input → layer0 → layer0_if (or _lif) → layer1 → … → output``, the effective weights
        as described in the module documentation.

    Examples
    --------
    One differential pair (20 µS − 10 µS) read into an ideal neuron input:

    >>> import numpy as np
    >>> from snn_rram import devices, snn
    >>> from snn_rram.crossbar import Circuit, Crossbar, Layout
    >>> from snn_rram.snn.nir import to_nir
    >>> xbar = Crossbar(np.array([[2e-5, 1e-5]]), devices.load("ideal"),
    ...                 Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=0.0),
    ...                 Layout.differential(1, 1))
    >>> graph = to_nir(crossbars=[xbar], neurons=snn.IFNeuron(threshold=0.1, capacitance=1e-8))
    >>> graph.nodes["layer0"].weight  # G+ − G−, S
    array([[1.e-05]])
    >>> graph.nodes["layer0_if"].r  # v_read·t_p/C: a spike through 10 µS moves v by 20 mV
    array([2000.])
    """
    import nir

    from snn_rram import __version__

    crossbars, neurons, refractory = _layers(network, crossbars, neurons)
    n_in = crossbars[0].layout.n_inputs
    nodes = {"input": nir.Input(input_type=np.array([n_in]))}
    edges, last = [], "input"
    for k, (xbar, neuron, ref) in enumerate(zip(crossbars, neurons, refractory, strict=True)):
        c = xbar.circuit
        weight, bias_g = effective_conductance(xbar)
        n = weight.shape[0]
        name = f"layer{k}"
        if bias_g is None:
            nodes[name] = nir.Linear(weight=weight)
        else:
            nodes[name] = nir.Affine(weight=weight, bias=bias_g / c.pulse_width)
        jump = c.v_read * c.pulse_width / neuron.capacitance  # V per S of one spike
        meta = {
            "reset": neuron.reset,
            "capacitance": float(neuron.capacitance),
            "v_read": float(c.v_read),
            "pulse_width": float(c.pulse_width),
            "refractory": float(ref),
        }
        theta = np.full(n, neuron.threshold)
        zeros = np.zeros(n)
        if neuron.leak_tau is None:
            cell, kind = nir.IF(r=np.full(n, jump), v_threshold=theta, v_reset=zeros), "if"
        else:
            tau = np.full(n, neuron.leak_tau)
            cell = nir.LIF(tau=tau, r=tau * jump, v_leak=zeros, v_threshold=theta, v_reset=zeros)
            kind = "lif"
        cell.metadata = meta
        nodes[f"{name}_{kind}"] = cell
        edges += [(last, name), (name, f"{name}_{kind}")]
        last = f"{name}_{kind}"
    nodes["output"] = nir.Output(output_type=np.array([crossbars[-1].layout.n_neurons]))
    edges.append((last, "output"))
    metadata = {
        "source": f"snn-rram {__version__}",
        "weight_unit": "S",
        "bias_unit": "S/s",
        "voltage_unit": "V",
        "time_unit": "s",
        "weights": "static read (Crossbar.static_gain) through the layout's readout",
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write_nir(path: str | os.PathLike, graph) -> None:
    """Write a ``nir.NIRGraph`` to ``path`` (``.nir``, HDF5) atomically.

    Raises
    ------
    SnnRramError
        If ``graph`` is not a NIRGraph or the file cannot be written (``path`` then is left
        as it was).
    """
    import nir

    if not isinstance(graph, nir.NIRGraph):
        raise SnnRramError(f"graph: expected a nir.NIRGraph, got {type(graph).__name__}")
    with atomic_write(path) as fh:
        nir.write(fh, graph)
