"""Minimum-error substitution (paper 4) and the reference-column mappings."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar

from snn_rram._validation import as_rng, one_of
from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.devices import Device
from snn_rram.errors import SnnRramError
from snn_rram.mapping.base import (
    Mapping,
    check_weights,
    differential_crossbar,
    effective_weights,
    nominal_weights,
)
from snn_rram.mapping.quantize import quantize
from snn_rram.mapping.registry import register
from snn_rram.mapping.splits import Side, best_splits, side_values

__all__ = ["bias_column", "min_error", "nominal_splits", "reference_crossbar"]


def _values(x) -> np.ndarray:
    return x.data if sp.issparse(x) else np.asarray(x).ravel()


def _rmse(a, b) -> float:
    return float(
        np.sqrt(
            np.mean(
                (
                    _values(sp.csr_matrix(a) if sp.issparse(a) else a)
                    - _values(sp.csr_matrix(b) if sp.issparse(b) else b)
                )
                ** 2
            )
        )
    )


def _with_values(template, values):
    """``values`` (one per stored weight) in the layout of ``template``."""
    if sp.issparse(template):
        t = sp.csr_matrix(template)
        return sp.csr_matrix((values, t.indices, t.indptr), shape=t.shape)
    return np.asarray(values).reshape(np.shape(template))


def scale_search(objective, lo: float, hi: float, n_grid: int = 48) -> float:
    """Minimise ``objective(scale)`` on [lo, hi]: a log grid, then bounded refinement."""
    grid = np.geomspace(lo, hi, n_grid)
    values = np.array([objective(s) for s in grid])
    k = int(np.argmin(values))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(objective, bounds=(a, b), method="bounded", options={"xatol": 1e-9 * b})
    return float(res.x) if res.fun <= values[k] else float(grid[k])


def nominal_splits(pos: Side, neg: Side, levels, counts, Q: int):
    """The minimum-error splits of the quantised levels with ideal reads, and their scale.

    Parameters
    ----------
    pos, neg : Side
        Achievable values of the two sides (nominal conductances).
    levels, counts : numpy.ndarray
        The integer levels in use and how many weights use each.
    Q : int
        Largest level magnitude.

    Returns
    -------
    a, b : numpy.ndarray of int
        Indices into ``pos`` and ``neg`` of each level's split.
    err : numpy.ndarray
        Realised minus target difference of each level, S.
    s : float
        Scale, S per quantisation level (minimises the total squared error).
    """
    top = float(pos.value.max() - neg.value.min())
    gaps = np.diff(pos.value)
    lo = max(float(gaps[gaps > 0].min()) if np.any(gaps > 0) else top, top * 1e-4) / Q

    def objective(s):
        _, _, err, _ = best_splits(pos, neg, s * levels, error_scale=s)
        return float(np.sum(counts * (err / s) ** 2))

    s = scale_search(objective, lo, top / Q)
    a, b, err, _ = best_splits(pos, neg, s * levels, error_scale=s)
    return a, b, err, s


def reference_crossbar(gw, g_ref: float, bias_g, device: Device, circuit: Circuit, seed):
    """One device per weight (neuron j on column j) and a shared reference column, last.

    ``gw`` (n_out, n_in) conductances, dense or sparse; the reference column holds ``g_ref``
    on every row and is subtracted from every neuron (readout −1): ``w ∝ G − G_ref``.
    """
    n_out, n_in = gw.shape
    has_bias = bias_g is not None
    n_rows = n_in + int(has_bias)
    readout = sp.csr_matrix(
        np.vstack([np.eye(n_out), -np.ones((1, n_out))])
        if n_out < 4096
        else sp.vstack([sp.identity(n_out), sp.csr_matrix(-np.ones((1, n_out)))])
    )
    rows = np.r_[np.arange(n_in), np.full(int(has_bias), -1)]
    layout = Layout(rows, readout, n_in)
    if sp.issparse(gw):
        c = sp.coo_matrix(gw)
        r = [c.col, np.arange(n_rows)]
        k = [c.row, np.full(n_rows, n_out)]
        d = [c.data, np.full(n_rows, g_ref)]
        if has_bias:
            r.append(np.full(n_out, n_in))
            k.append(np.arange(n_out))
            d.append(np.asarray(bias_g, dtype=np.float64))
        G = sp.csr_matrix(
            (np.concatenate(d), (np.concatenate(r), np.concatenate(k))), shape=(n_rows, n_out + 1)
        )
    else:
        G = np.empty((n_rows, n_out + 1))
        G[:n_in, :n_out] = np.asarray(gw).T
        G[:, n_out] = g_ref
        if has_bias:
            G[n_in, :n_out] = bias_g
    if device.variation.programming_active:
        if seed is None:
            raise SnnRramError(
                f"seed: device {device.name!r} has programming variation; give a seed"
            )
        rng = as_rng(seed, "seed")
        if sp.issparse(G):
            G = G.copy()
            G.data = device.variation.program(G.data, device.levels, rng)
        else:
            G = device.variation.program(G, device.levels, rng)
    return Crossbar(G, device, circuit, layout)


def _finish(name, xbar, qz, g_per_weight, w, duty, circuit, bits, extra):
    nominal, _ = nominal_weights(xbar, g_per_weight, duty, w)
    eff, eff_b = effective_weights(xbar, g_per_weight, duty, w)
    G = xbar.G
    per_weight = float(np.sum(_values(G))) / max(np.size(_values(w)), 1)
    rep = {
        "method": name,
        "bits": int(bits),
        "n_levels": int(qz.n_levels),
        "step": qz.step,
        "g_per_weight": float(g_per_weight),
        "quantization_rmse": float(np.sqrt(qz.mse)),
        "nominal_weight_rmse": _rmse(nominal, w),
        "weight_rmse": _rmse(eff, w),
        "mean_pair_conductance": per_weight,
        "ideal_read_power_per_synapse": circuit.v_read**2 * per_weight,
        "programming_variation": xbar.device.variation.programming_active,
    }
    rep.update(extra)
    return Mapping(xbar, float(g_per_weight), eff, eff_b, rep, nominal)


def _check_parallel(parallel):
    if isinstance(parallel, bool) or not isinstance(parallel, int | np.integer) or parallel < 1:
        raise SnnRramError(f"parallel: expected an integer >= 1, got {parallel!r}")
    return int(parallel)


@register("min_error")
def min_error(
    weight,
    device: Device,
    circuit: Circuit,
    *,
    bits: int,
    bias=None,
    bias_duty: float = 1.0,
    seed=None,
    scheme: str = "pair",
    parallel: int = 1,
    per_device: bool = False,
) -> Mapping:
    """Minimum-error substitution on the device's achievable weights (reconstruction).

    Huang et al., Micromachines 13(5):667 (2022) state: with nonlinearly spaced levels, map each
    quantised weight to the achievable weight nearest to it instead of by level index. We
    reconstruct it as: quantise linearly (:func:`~snn_rram.mapping.quantize`); the achievable
    values are every difference ``G+ − G−`` of the device's levels (``scheme="pair"``; sums of
    ``parallel`` levels per side), or ``G − G_ref`` against a reference column at the middle
    level (``scheme="reference"``); a per-layer scale ``s`` (S per quantisation step) maps level
    q to the target ``s·q``, each level takes the achievable value nearest its target, and ``s``
    minimises the total squared error over the layer's weights (log grid, then bounded
    refinement). Among equal values the split of smallest conductance wins (less read power).
    Reads are taken as ideal: read distortion is not modelled (that is QWSM's step).

    Parameters
    ----------
    weight, device, circuit, bits, bias, bias_duty, seed
        As :func:`~snn_rram.mapping.linear_pair`.
    scheme : {"pair", "reference"}
        Differential pairs, or one device per weight against a shared reference column.
    parallel : int
        Devices per side, on as many rows of the same input (``pair`` only).
    per_device : bool
        Under programming variation, draw every device's variation first and choose each
        weight's levels from its own two devices' perturbed level sets (the programmed values
        are then known: no further variation is applied; ``pair``, one device per side).
        Otherwise variation is applied after mapping.

    Returns
    -------
    Mapping
    """
    one_of(scheme, "scheme", ("pair", "reference"))
    k = _check_parallel(parallel)
    if scheme == "reference" and k != 1:
        raise SnnRramError("parallel: the reference scheme uses one device per weight")
    if per_device and (scheme != "pair" or k != 1):
        raise SnnRramError("per_device: needs scheme='pair' and parallel=1")
    w, b, duty = check_weights(weight, bias, bias_duty)
    qz = quantize(w, bits)
    Q, L = qz.n_levels, device.levels.values
    qw = _values(qz.q).astype(np.int64)
    qb = None if b is None else np.clip(np.rint(b * duty / qz.step), -Q, Q).astype(np.int64)
    levels, counts = np.unique(
        np.r_[qw, [] if qb is None else qb].astype(np.int64), return_counts=True
    )
    if scheme == "reference":
        g_ref = L[(L.size - 1) // 2]
        pos = Side(L - g_ref, L, np.arange(L.size)[:, None])
        neg = Side(np.zeros(1), np.zeros(1), np.zeros((1, 1), dtype=np.int64))
    else:
        pos = neg = side_values(L, k)
    a, bi, err, s = nominal_splits(pos, neg, levels, counts, Q)
    g_per_weight = s / qz.step
    extra = {
        "scheme": scheme,
        "scale": s,
        "parallel": k,
        "level_table": {
            "q": levels.tolist(),
            "target": (s * levels).tolist(),
            "realised": (s * levels + err).tolist(),
        },
    }

    if per_device and device.variation.programming_active:
        xbar = _per_device_pairs(w, qz, qb, s, device, circuit, seed)
        extra["per_device"] = True
        return _finish("min_error", xbar, qz, g_per_weight, w, duty, circuit, bits, extra)

    where_w = np.searchsorted(levels, qw)
    if scheme == "reference":
        gw = _with_values(w, L[pos.combo[a, 0]][where_w])
        bias_g = None if qb is None else L[pos.combo[a, 0]][np.searchsorted(levels, qb)]
        xbar = reference_crossbar(gw, g_ref, bias_g, device, circuit, seed)
        extra["g_ref"] = float(g_ref)
    else:
        gp = [_with_values(w, L[pos.combo[a, t]][where_w]) for t in range(k)]
        gm = [_with_values(w, L[neg.combo[bi, t]][where_w]) for t in range(k)]
        bgp = bgm = None
        if qb is not None:
            where_b = np.searchsorted(levels, qb)
            bgp = [L[pos.combo[a, t]][where_b] for t in range(k)]
            bgm = [L[neg.combo[bi, t]][where_b] for t in range(k)]
        xbar = differential_crossbar(gp, gm, bgp, bgm, device, circuit, seed)
    return _finish("min_error", xbar, qz, g_per_weight, w, duty, circuit, bits, extra)


def _nearest_pair(fp, stuck_p, fm, stuck_m, L, targets):
    """Per weight: levels (a, b) minimising |vp_a − vm_b − t| with vp = fp·L, vm = fm·L.

    Stuck devices have one value whatever they are programmed to. Every level of the positive
    device is tried (a loop over the K levels, vectorised over weights); the best negative level
    is found by bisection on the nominal levels, as ``vm`` is ``L`` times a non-negative factor.
    Returns the two programmed conductances of every weight.
    """
    n, K = targets.size, L.size
    rows = np.arange(n)
    fp, fm = np.maximum(fp, 0.0), np.maximum(fm, 0.0)
    vp = np.where(np.isnan(stuck_p)[:, None], fp[:, None] * L[None, :], stuck_p[:, None])
    vm = np.where(np.isnan(stuck_m)[:, None], fm[:, None] * L[None, :], stuck_m[:, None])
    scalable = np.isnan(stuck_m) & (fm > 0)
    best_err = np.full(n, np.inf)
    best_cost = np.full(n, np.inf)
    best_a = np.zeros(n, dtype=np.int64)
    best_b = np.zeros(n, dtype=np.int64)
    for a in range(K):
        want = vp[:, a] - targets
        j = np.where(scalable, np.searchsorted(L, want / np.where(scalable, fm, 1.0)), 0)
        for b in (np.clip(j - 1, 0, K - 1), np.clip(j, 0, K - 1)):
            err = np.abs(vp[:, a] - vm[rows, b] - targets)
            cost = vp[:, a] + vm[rows, b]
            better = (err < best_err) | ((err == best_err) & (cost < best_cost))
            best_err = np.where(better, err, best_err)
            best_cost = np.where(better, cost, best_cost)
            best_a = np.where(better, a, best_a)
            best_b = np.where(better, b, best_b)
    return vp[rows, best_a], vm[rows, best_b]


def _per_device_pairs(w, qz, qb, s, device, circuit, seed):
    """Draw every device's variation, then pick each weight's levels knowing it."""
    rng = as_rng(seed, "seed")
    L = device.levels.values
    var = device.variation
    tw = _values(qz.q).astype(np.float64) * s
    t = tw if qb is None else np.r_[tw, qb * s]
    fp, stuck_p = var.draw(t.shape, device.levels, rng)
    fm, stuck_m = var.draw(t.shape, device.levels, rng)
    gp, gm = _nearest_pair(fp, stuck_p, fm, stuck_m, L, t)
    nw = tw.size
    gp_w, gm_w = _with_values(w, gp[:nw]), _with_values(w, gm[:nw])
    bgp = bgm = None
    if qb is not None:
        bgp, bgm = gp[nw:], gm[nw:]
    return differential_crossbar(gp_w, gm_w, bgp, bgm, device, circuit, None, programmed=True)


@register("bias_column")
def bias_column(
    weight,
    device: Device,
    circuit: Circuit,
    *,
    bits: int,
    bias=None,
    bias_duty: float = 1.0,
    seed=None,
    reference_level: int | None = None,
) -> Mapping:
    """One device per weight against a reference column, by level index (reconstruction).

    The single-array scheme of Huang et al. (Micromachines 13(5):667, 2022): every weight is
    one device; one extra column per array holds the reference conductance ``G_ref`` on every
    row and is subtracted from every neuron, so ``w ∝ G − G_ref``. Level q maps to the device
    level of index ``ref + round(q · h / Q)`` with ``h = min(ref, K − 1 − ref)`` (index-based,
    as :func:`linear_pair`); ``min_error(..., scheme="reference")`` is its minimum-error form.

    Parameters
    ----------
    weight, device, circuit, bits, bias, bias_duty, seed
        As :func:`~snn_rram.mapping.linear_pair`.
    reference_level : int, optional
        Index of ``G_ref`` among the levels (default the middle one).

    Returns
    -------
    Mapping
    """
    w, b, duty = check_weights(weight, bias, bias_duty)
    qz = quantize(w, bits)
    Q, L = qz.n_levels, device.levels.values
    ref = (L.size - 1) // 2 if reference_level is None else reference_level
    if isinstance(ref, bool) or not isinstance(ref, int | np.integer) or not 0 < ref < L.size - 1:
        raise SnnRramError(
            f"reference_level: expected a level index in 1..{L.size - 2}, got {reference_level!r}"
        )
    h = min(ref, L.size - 1 - ref)

    def index(q):
        return np.clip(ref + np.rint(np.asarray(q) * h / Q).astype(np.int64), 0, L.size - 1)

    gw = _with_values(w, L[index(_values(qz.q))])
    bias_g = None
    if b is not None:
        bias_g = L[index(np.clip(np.rint(b * duty / qz.step), -Q, Q))]
    xbar = reference_crossbar(gw, L[ref], bias_g, device, circuit, seed)
    g_per_weight = (L[ref + h] - L[ref]) / (Q * qz.step)
    extra = {"g_ref": float(L[ref]), "reference_level": int(ref)}
    return _finish("bias_column", xbar, qz, g_per_weight, w, duty, circuit, bits, extra)
