"""What every mapping method returns, and the differential-pair assembly they share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_array, as_rng, as_scalar
from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.devices import Device
from snn_rram.errors import SnnRramError

__all__ = [
    "Mapping",
    "MappingWarning",
    "check_weights",
    "differential_crossbar",
    "effective_weights",
    "nominal_weights",
]


class MappingWarning(UserWarning):
    """A mapping finished but its result should be looked at (e.g. an unconverged optimiser).

    snn_rram.errors has no warning class; this one is the mapping package's own.
    """


@dataclass(frozen=True, eq=False)
class Mapping:
    """A layer mapped onto a crossbar.

    Attributes
    ----------
    crossbar : Crossbar
        The programmed array (after programming variation, if the device has any).
    g_per_weight : float
        Conductance difference that represents one unit of normalised weight, S. A spike
        through a synapse of weight w carries the charge ``v_read · pulse_width ·
        g_per_weight · w`` into its neuron when the read is ideal.
    effective_weight : numpy.ndarray or scipy.sparse.csr_matrix, shape (n_out, n_in)
        The weights the array realises when read, in normalised-weight units: each input's
        rows read alone (:meth:`Crossbar.static_gain`, read distortion and column loads
        included), through the layout's readout, divided by ``g_per_weight``.
    effective_bias : numpy.ndarray or None
        Likewise for the biases (in units of the maximum input rate).
    report : dict
        Method-specific figures: scale, level table, weight error, read power, ...
    nominal_weight : numpy.ndarray or scipy.sparse.csr_matrix
        The weights of the programmed conductances with ideal reads (no distortion).
    """

    crossbar: Crossbar
    g_per_weight: float
    effective_weight: np.ndarray | sp.csr_matrix
    effective_bias: np.ndarray | None
    report: dict = field(default_factory=dict)
    nominal_weight: np.ndarray | sp.csr_matrix | None = None


def check_weights(weight, bias, bias_duty):
    """Validate a layer's weights (n_out, n_in) and biases (n_out,)."""
    if sp.issparse(weight):
        w = sp.csr_matrix(weight, dtype=np.float64)
        if not np.isfinite(w.data).all():
            raise SnnRramError("weight: contains NaN or infinite values")
    else:
        w = as_array(weight, "weight", ndim=2)
    if w.shape[0] == 0 or w.shape[1] == 0:
        raise SnnRramError(f"weight: empty matrix of shape {w.shape}")
    b = None
    if bias is not None:
        b = as_array(bias, "bias", shape=(w.shape[0],))
    duty = as_scalar(bias_duty, "bias_duty", positive=True)
    if duty > 1:
        raise SnnRramError(f"bias_duty: a fraction of time in (0, 1], got {duty}")
    return w, b, duty


def differential_crossbar(
    gp, gm, bias_gp, bias_gm, device: Device, circuit: Circuit, seed, *, programmed: bool = False
):
    """Assemble (G+, G−) pairs as columns ``2j`` and ``2j+1`` of neuron j, inputs as rows.

    Parameters
    ----------
    gp, gm : array or scipy.sparse matrix (n_out, n_in), or a list of k of them
        Conductances of the positive and negative devices of each weight, S (sparse: only the
        stored weights get devices; all matrices share one structure). With k matrices each
        side has k parallel devices, on k rows of the same input (row ``i·k + t``).
    bias_gp, bias_gm : numpy.ndarray (n_out,), a list of k of them, or None
        Always-on bias rows, appended last.
    device, circuit
        The devices and how the array is read.
    seed : int, numpy.random.Generator or None
        Draws the device's programming variation (required when the device has any).
    programmed : bool
        The values are already the programmed conductances (the caller drew the variation).

    Returns
    -------
    Crossbar
    """
    gp = list(gp) if isinstance(gp, list | tuple) else [gp]
    gm = list(gm) if isinstance(gm, list | tuple) else [gm]
    k = len(gp)
    n_out, n_in = gp[0].shape
    has_bias = bias_gp is not None
    if has_bias:
        bias_gp = list(bias_gp) if isinstance(bias_gp, list | tuple) else [bias_gp]
        bias_gm = list(bias_gm) if isinstance(bias_gm, list | tuple) else [bias_gm]
    n_rows = k * n_in + (len(bias_gp) if has_bias else 0)
    row_input = np.r_[np.repeat(np.arange(n_in), k), np.full(n_rows - k * n_in, -1)]
    gains = np.tile([1.0, -1.0], n_out)
    readout = sp.csr_matrix(
        (gains, (np.arange(2 * n_out), np.repeat(np.arange(n_out), 2))), shape=(2 * n_out, n_out)
    )
    layout = Layout(row_input, readout, n_in)
    if sp.issparse(gp[0]):
        rows, cols, data = [], [], []
        for t in range(k):
            for side, mats in ((0, gp), (1, gm)):
                c = sp.coo_matrix(mats[t])
                rows.append(c.col * k + t)
                cols.append(2 * c.row + side)
                data.append(c.data)
        if has_bias:
            for t in range(len(bias_gp)):
                for side, vals in ((0, bias_gp), (1, bias_gm)):
                    rows.append(np.full(n_out, k * n_in + t))
                    cols.append(2 * np.arange(n_out) + side)
                    data.append(np.asarray(vals[t], dtype=np.float64))
        G = sp.csr_matrix(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_rows, 2 * n_out),
        )
    else:
        G = np.empty((n_rows, 2 * n_out))
        for t in range(k):
            G[t : k * n_in : k, 0::2] = np.asarray(gp[t]).T
            G[t : k * n_in : k, 1::2] = np.asarray(gm[t]).T
        if has_bias:
            for t in range(len(bias_gp)):
                G[k * n_in + t, 0::2] = bias_gp[t]
                G[k * n_in + t, 1::2] = bias_gm[t]
    variation = device.variation
    if variation.programming_active and not programmed:
        if seed is None:
            raise SnnRramError(
                f"seed: device {device.name!r} has programming variation; give a seed"
            )
        rng = as_rng(seed, "seed")
        if sp.issparse(G):
            G = G.copy()
            G.data = variation.program(G.data, device.levels, rng)
        else:
            G = variation.program(G, device.levels, rng)
    return Crossbar(G, device, circuit, layout)


def _per_input(xbar: Crossbar, per_row):
    """Sum a (n_rows, n_neurons) quantity over each logical input's rows; bias rows apart."""
    rows = xbar.layout.row_input
    driven = np.flatnonzero(rows >= 0)
    P = sp.csr_matrix(
        (np.ones(driven.size), (rows[driven], driven)), shape=(xbar.layout.n_inputs, xbar.n_rows)
    )
    W = P @ per_row  # (n_inputs, n_neurons)
    bias_rows = np.flatnonzero(rows < 0)
    b = None
    if bias_rows.size:
        b = np.asarray(per_row[bias_rows].sum(axis=0)).ravel()
    return W, b


def _like(W, template):
    """(n_out, n_in) in the layout of ``template`` (sparse: the template's structure)."""
    W = W.T
    if sp.issparse(template):
        t = sp.csr_matrix(template)
        vals = np.asarray(sp.csr_matrix(W)[t.nonzero()]).ravel()
        out = sp.csr_matrix((vals, t.nonzero()), shape=t.shape)
        out.sort_indices()
        return out
    return np.asarray(W.todense() if sp.issparse(W) else W)


def effective_weights(xbar: Crossbar, g_per_weight: float, bias_duty: float, template):
    """Weights and biases the array realises when read (static read distortion included).

    Parameters
    ----------
    xbar : Crossbar
    g_per_weight : float
        Conductance per unit normalised weight, S.
    bias_duty : float
        Duty the always-on rows were scaled by.
    template : array or sparse matrix (n_out, n_in)
        The target weights (their layout is kept).

    Returns
    -------
    weight, bias
        In normalised-weight units; ``bias`` is ``None`` without always-on rows.
    """
    gain = xbar.static_gain()  # (n_rows, n_cols): I_neuron / v_read, one row read alone
    per_row = (
        sp.csr_matrix(gain) @ xbar.layout.readout
        if sp.issparse(gain)
        else (gain @ xbar.layout.readout.toarray())
    )
    W, b = _per_input(xbar, per_row)
    W = _like(np.asarray(W.todense()) if sp.issparse(W) else W, template) / g_per_weight
    if b is not None:
        b = b / (g_per_weight * bias_duty)
    return W, b


def nominal_weights(xbar: Crossbar, g_per_weight: float, bias_duty: float, template):
    """Weights and biases of the programmed conductances with ideal reads."""
    G = xbar.G
    per_row = G @ xbar.layout.readout
    W, b = _per_input(
        xbar, sp.csr_matrix(per_row) if sp.issparse(per_row) else np.asarray(per_row)
    )
    W = _like(np.asarray(W.todense()) if sp.issparse(W) else W, template) / g_per_weight
    if b is not None:
        b = b / (g_per_weight * bias_duty)
    return W, b
