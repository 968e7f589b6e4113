"""The baseline mapping: quantised weights on (level, lowest level) pairs, by level index."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.devices import Device
from snn_rram.mapping.base import (
    Mapping,
    check_weights,
    differential_crossbar,
    effective_weights,
    nominal_weights,
)
from snn_rram.mapping.quantize import quantize
from snn_rram.mapping.registry import register

__all__ = ["linear_pair"]


def _pairs(q, Q, values):
    """(G+, G−) of integer levels ``q`` (array), by index into the device levels."""
    K = values.size
    idx = np.rint(np.abs(q) * (K - 1) / Q).astype(np.int64)
    top, low = values[idx], values[0]
    return np.where(q > 0, top, low), np.where(q < 0, top, low)


@register("linear_pair")
def linear_pair(
    weight,
    device: Device,
    circuit: Circuit,
    *,
    bits: int,
    bias=None,
    bias_duty: float = 1.0,
    seed=None,
    calibrate: bool = False,
) -> Mapping:
    """Map weights to (G+, G−) pairs by level index: the "smallest combined conductance".

    Reconstruction of the baseline of Park et al. (QWSM, IEEE Access 12, 2024) and of the
    index-based mapping of Huang et al. (Micromachines 13(5):667, 2022): weights are quantised
    to ``−Q … Q`` (:func:`~snn_rram.mapping.quantize`, least-squares step); a level ``q > 0``
    programs the positive device to the device level of index ``round(q·(K−1)/Q)`` among its
    K levels and the negative device to the lowest level; ``q < 0`` is mirrored; ``q = 0``
    puts both at the lowest level. No read distortion is compensated. On uniform levels the
    conductance difference is then proportional to q up to that index rounding; on nonlinear
    levels it is not (the failure paper 4 shows).

    Parameters
    ----------
    weight : array_like or scipy.sparse matrix, shape (n_out, n_in)
        Normalised weights of the layer.
    device : Device
        Its levels are the programmable conductances.
    circuit : Circuit
        How the array is read.
    bits : int
        Quantisation bits (sign included).
    bias : array_like, shape (n_out,), optional
        Normalised biases, on an always-on row (see ``bias_duty``).
    bias_duty : float
        Fraction of time an input of maximum rate is read (``max_rate · pulse_width``): an
        always-on row delivers its current all the time, so its conductance is scaled by this
        duty to give the same charge per unit of bias as a weight of maximum rate.
    seed : int or numpy.random.Generator, optional
        Programming variation of the device (required when it has any).
    calibrate : bool
        Give every column a readout gain that undoes its read gain (an ideal per-column
        calibration of the neuron inputs; the reference the QWSM study compares with).

    Returns
    -------
    Mapping
    """
    w, b, duty = check_weights(weight, bias, bias_duty)
    qz = quantize(w, bits)
    Q, values = qz.n_levels, device.levels.values
    g_per_weight = (values[-1] - values[0]) / (Q * qz.step)
    if sp.issparse(w):
        q = qz.q.tocsr()
        gp_d, gm_d = _pairs(q.data, Q, values)
        gp = sp.csr_matrix((gp_d, q.indices, q.indptr), shape=w.shape)
        gm = sp.csr_matrix((gm_d, q.indices, q.indptr), shape=w.shape)
    else:
        gp, gm = _pairs(qz.q, Q, values)
    bias_gp = bias_gm = None
    if b is not None:
        qb = np.clip(np.rint(b * duty / qz.step), -Q, Q)
        bias_gp, bias_gm = _pairs(qb, Q, values)
    xbar = differential_crossbar(gp, gm, bias_gp, bias_gm, device, circuit, seed)
    nominal, _ = nominal_weights(xbar, g_per_weight, duty, w)
    if calibrate:
        xbar = calibrated(xbar)
    eff, eff_b = effective_weights(xbar, g_per_weight, duty, w)
    err = _rmse(eff, w)
    levels = np.arange(-Q, Q + 1)
    lp, lm = _pairs(levels, Q, values)
    mean_g = float(
        np.mean(gp.data if sp.issparse(gp) else gp) + np.mean(gm.data if sp.issparse(gm) else gm)
    )
    report = {
        "method": "linear_pair",
        "bits": int(bits),
        "n_levels": int(Q),
        "step": qz.step,
        "g_per_weight": float(g_per_weight),
        "quantization_rmse": float(np.sqrt(qz.mse)),
        "weight_rmse": err,
        "nominal_weight_rmse": _rmse(nominal, w),
        "calibrated": bool(calibrate),
        "level_table": {"q": levels.tolist(), "g_pos": lp.tolist(), "g_neg": lm.tolist()},
        "mean_pair_conductance": mean_g,
        "ideal_read_power_per_synapse": circuit.v_read**2 * mean_g,
        "programming_variation": device.variation.programming_active,
    }
    return Mapping(xbar, float(g_per_weight), eff, eff_b, report, nominal)


def _rmse(a, b) -> float:
    if sp.issparse(a):
        return float(np.sqrt(np.mean((sp.csr_matrix(a).data - sp.csr_matrix(b).data) ** 2)))
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def calibrated(xbar):
    """The same array with each column's readout gain divided by the column's read gain.

    What an ideally calibrated periphery does: every column's current is scaled back by the
    ratio of programmed to effective conductance (least squares over the column's devices),
    which undoes the voltage division of grounded-row reads (for linear devices exactly:
    the gain of a column is ``1 / (1 + R_N · g_col)``).
    """
    G = sp.csr_matrix(xbar.G) if xbar.is_sparse else np.asarray(xbar.G)
    E = xbar.static_gain()
    if sp.issparse(G):
        num = np.asarray(G.multiply(E).sum(axis=0)).ravel()
        den = np.asarray(sp.csr_matrix(E).multiply(E).sum(axis=0)).ravel()
    else:
        num, den = np.sum(G * E, axis=0), np.sum(E * E, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    readout = sp.diags(factor) @ xbar.layout.readout
    layout = Layout(xbar.layout.row_input, readout, xbar.layout.n_inputs)
    return Crossbar(xbar.G, xbar.device, xbar.circuit, layout)
