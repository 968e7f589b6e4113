"""QWSM: quantised-weight splitting in the distorted domain (paper 1, reconstruction).

What QWSM minimises
-------------------
A layer has weights ``w[j, i]`` (neuron j, input i; normalised units), quantised to
integer levels ``q[j, i]`` in ``−Q … Q`` with step ``Δ`` (:func:`~snn_rram.mapping.quantize`).
Every weight of neuron j at level q gets the same *split*: k devices on the positive column
``2j`` and k on the negative column ``2j+1`` (``parallel = k``), each programmed to a device
level. A bias joins the group of its rounded level ``round(b·duty/Δ)``. The *target* weights
are the quantised ones, ``Δ·q`` (the network at ``bits``).

*Static read distortion* (grounded inactive rows, no wires): when input i is read alone, a
device of conductance G in a column of total conductance T (every device of the column, bias
included) shows its neuron the effective conductance ``E(G; T) = I_N / V_read`` from the column
solve ``R_N·[G·f(V_read − x) − (T − G)·f(x)] = x`` (``f`` the device's I–V per unit
conductance: linear, or sinh with its bend), i.e. ``E = G / (1 + R_N·T)`` for linear devices.
Each column has its own gain from its own load, and the two columns of a pair differ. The
effective weight of a synapse is

    W_eff[j, i] = (Σ_t E(G+_t; T+_j) − Σ_t E(G−_t; T−_j)) / g,

with ``g`` the per-layer scale (S per unit weight; ``s = g·Δ`` is S per quantisation level).
This is exactly what :func:`~snn_rram.mapping.base.effective_weights` reads from the programmed
array (a sum of single-row reads over the k rows of an input).

QWSM minimises, over the splits of every (neuron, level) group and the scale ``g``,

    J = J_err + λ·J_power,

    e[j, i] = W_eff[j, i] / Δ − q[j, i]                       (error in quantisation levels)
    J_err   = [Σ_(j,q) (Σ_(i∈q) μ_i·e[j, i])² + Σ_(j,i) v_i·e[j, i]²] / Σ_(j,q) (M_jq² + V_jq)
    J_power = Σ_(j,i) μ_i·(Σ_t G+_t + Σ_t G−_t) / (2·g_max·Σ_(j,i) μ_i)

- the error is against the quantised target weights ``Δ·q``, after the per-layer scale;
- the weighting is the input activity: input i has mean ``μ_i`` (relative to the maximum rate,
  default 0.2 for every input; ``activity`` sets it) and variance ``v_i = μ_i·(1 − μ_i)``; a
  bias counts as one input of the layer's mean activity. The first sum is the *systematic*
  error of each group: its weights share one split, so their errors add up coherently in the
  neuron's input (``δ·Σ x``, mean² + variance); the second is the rest. The normalisation
  ``Σ M² + V`` (M, V: the group's sums of μ and v) makes a uniform error of one level give
  ``J_err = 1``. Errors of different groups are not allowed to cancel (inputs are
  correlated, which the per-group form does not assume away);
- ``J_power`` is the read power with ideal reads (``v_read²·G`` per device, as often as the
  input is read) relative to a pair of devices at ``g_max``; ``λ = power_weight``;
- the column loads enter through ``E``: every device of a column sets its gain, active or not.

Two simpler objectives were tried first and did not predict the accuracy (docs/qwsm.md): the
plain mean squared weight error (it counts a systematic error of the ~500 zero weights of a
neuron like 500 independent errors, where it reaches the neuron coherently) and the neuron's
full output error with independent inputs (it lets errors of different groups cancel, which
correlated image inputs do not honour). Float targets (each group's mean float weight instead
of ``Δ·q``) lowered the accuracy in every cell tried (e.g. NeuroSim's uniform card at 2 bits:
0.758 against 0.816), so the targets are the quantised weights.

:func:`objective` computes ``J`` for given conductances. For floating rows the column transfer
is the device's own compression ``G/(1 + R_N·G)`` (the sneak paths are not in the objective;
the returned effective weights are still evaluated exactly).

How it is minimised
-------------------
Block coordinate descent with a monotone guarantee (:func:`qwsm`): with the splits fixed, the
best scale has a closed form (``1/s = Σ (W·D·t − B·D) / Σ W·D²``, D the realised differences);
with the scale fixed the problem separates per neuron (a neuron's loads depend only on its own
splits) and, for given column loads, per group: each group's best split is a vectorised
lookup over the pairs of achievable side values (:func:`_best`). That changes the loads, so
proposals are made at the current loads and, for the neurons that do not improve, at damped
loads (half and a quarter of the way to the proposal's); a neuron takes a proposal only if its
true objective (recomputed with its own new loads) falls, otherwise it keeps its splits.
Every accepted step lowers ``J``; there are finitely many splits, so it stops — ``converged``
when a pass changes nothing or lowers ``J`` by less than ``CONVERGENCE_RTOL``. It starts from
``linear_pair``'s splits (and its scale), from ``min_error``'s and from the minimum-error
splits at the lowest loads, and keeps the best end point: the final ``J`` is never above the
starting points', in particular never above ``linear_pair``'s with its own scale.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from snn_rram.crossbar import Circuit, columns
from snn_rram.devices import Device, Linear, Separable
from snn_rram.errors import SnnRramError
from snn_rram.mapping.base import Mapping, MappingWarning, check_weights, differential_crossbar
from snn_rram.mapping.min_error import _check_parallel, _finish, _with_values, nominal_splits
from snn_rram.mapping.min_error import scale_search as _scale_search
from snn_rram.mapping.quantize import quantize
from snn_rram.mapping.registry import register
from snn_rram.mapping.splits import side_values

__all__ = ["Objective", "column_transfer", "objective", "qwsm"]

#: Default ``power_weight``: the smallest λ tried; ``"auto"`` raises it until the power is at
#: most ``linear_pair``'s.
POWER_WEIGHT_START = 1.0
_AUTO_STEPS = 3  # λ·4^m, m < _AUTO_STEPS, before the budget-constrained descent
_RTOL = 1e-12  # an accepted step lowers a neuron's objective by more than this (relative)
#: Converged: a whole pass lowered the objective by less than this fraction (or changed nothing).
CONVERGENCE_RTOL = 1e-4
#: A later start's descent is abandoned once, after 3 passes, it is this much above the best.
_ABANDON = 1.1


def _transfer(G, T, R, device: Device, circuit: Circuit) -> np.ndarray:
    """``E(G; T)``, broadcast: a device G read alone in a column of total T (ground rows)."""
    G = np.asarray(G, dtype=np.float64)
    T = np.maximum(np.asarray(T, dtype=np.float64), G)
    R = np.asarray(R, dtype=np.float64)
    V = circuit.v_read
    model = device.read_model
    shape = np.broadcast_shapes(G.shape, T.shape, R.shape)
    G, T, R = (np.broadcast_to(x, shape) for x in (G, T, R))
    if circuit.inactive_rows == "float":
        if not isinstance(model, Separable):
            raise SnnRramError("qwsm: floating rows need a separable read model")
        _, i = columns.solve_separable(model, V, G, np.zeros(shape), R)
        return i / V
    if isinstance(model, Linear):
        _, i = columns.solve_linear(V, G, T, R)
    elif isinstance(model, Separable) and model.odd:
        _, i = columns.solve_separable(model, V, G, T - G, R)
    else:
        raise SnnRramError(
            f"qwsm: the column model needs a separable odd read model, got {type(model).__name__}"
        )
    return i / V


def column_transfer(levels, totals, device: Device, circuit: Circuit, r_neuron) -> np.ndarray:
    """Effective conductance of each level read alone in each column: ``I_neuron / v_read``.

    Parameters
    ----------
    levels : numpy.ndarray, shape (K,)
        Conductances, S.
    totals : numpy.ndarray, shape (n,)
        Total conductance of each column, S (the device read included).
    r_neuron : numpy.ndarray, shape (n,)
        Neuron input resistance of each column, Ω.

    Returns
    -------
    numpy.ndarray, shape (n, K)
        Grounded inactive rows: the column solve with ``ga = G`` and ``gg = total − G``
        (exact for one row read alone); floating rows: ``G / (1 + R_N · G)`` per device (the
        device's own compression; sneak paths are left to the final exact evaluation).
    """
    G = np.asarray(levels, dtype=np.float64)[None, :]
    T = np.asarray(totals, dtype=np.float64)[:, None]
    R = np.asarray(r_neuron, dtype=np.float64)[:, None]
    return _transfer(G, T, R, device, circuit)


def _sides(E, L, k):
    """Achievable values per column for k parallel devices: sums of k transferred levels.

    Returns values sorted per row (n, C), the nominal conductance (cost) of each (n, C) and
    the level combos (n, C, k).
    """
    combos = np.array(list(itertools.combinations_with_replacement(range(L.size), k)))
    value = E[:, combos].sum(axis=2)  # (n, C)
    cost = L[combos].sum(axis=1)  # (C,)
    order = np.argsort(value, axis=1, kind="stable")
    value = np.take_along_axis(value, order, axis=1)
    cost = cost[order]
    return value, cost, combos[order]


def _best(pos, neg, targets, s, power_weight, cost_scale):
    """Per column pair and target: the split minimising error² + power (vectorised).

    ``pos``/``neg``: (value (n, C), cost (n, C), combos); ``targets``: (n, T) in S.
    Objective of a split: ``((value+ − value− − target) / s)² + power_weight · cost /
    cost_scale``. Every positive value is paired with the two negative values nearest to what
    it needs (exhaustive for ``power_weight = 0``); objectives equal to 1e-12 go to the cheaper
    split (levels that the distortion makes indistinguishable are thereby merged onto the
    cheapest). Returns (index into pos, index into neg, error, cost), each (n, T).
    """
    pv, pc, _ = pos
    nv, nc, _ = neg
    n, C = nv.shape
    T = targets.shape[1]
    pwt = np.broadcast_to(np.asarray(power_weight, dtype=np.float64), targets.shape)
    out = [np.empty((n, T), dtype=np.int64), np.empty((n, T), dtype=np.int64)]
    out += [np.empty((n, T)), np.empty((n, T))]
    chunk = max(1, 2_000_000 // max(pv.shape[1] * T, 1))
    for lo in range(0, n, chunk):
        sl = slice(lo, min(lo + chunk, n))
        m = sl.stop - sl.start
        p_v, p_c = pv[sl], pc[sl]
        n_vf, n_cf = nv[sl].ravel(), nc[sl].ravel()
        tg, pw = targets[sl][:, :, None], pwt[sl][:, :, None] / cost_scale
        want = p_v[:, None, :] - tg  # (m, T, Cp), sorted along Cp
        span = float(max(np.ptp(n_vf), np.ptp(p_v), np.abs(want).max(initial=0.0))) * 4 + 1.0
        offset = (np.arange(m) * span)[:, None, None]
        base = (np.arange(m) * C)[:, None, None]
        j = np.searchsorted(n_vf + np.repeat(offset.ravel(), C), want + offset) - base
        best_obj = best_b = None
        for b in (np.clip(j - 1, 0, C - 1) + base, np.clip(j, 0, C - 1) + base):
            obj = ((want - n_vf[b]) / s) ** 2 + pw * (p_c[:, None, :] + n_cf[b])
            if best_obj is None:
                best_obj, best_b = obj, b
            else:
                better = obj < best_obj * (1 - 1e-12)
                tie = ~better & (obj <= best_obj * (1 + 1e-12)) & (n_cf[b] < n_cf[best_b])
                better |= tie
                best_obj = np.where(better, obj, best_obj)
                best_b = np.where(better, b, best_b)
        cost = p_c[:, None, :] + n_cf[best_b]
        top = best_obj.min(axis=-1, keepdims=True)
        a = np.argmin(np.where(best_obj <= top * (1 + 1e-12), cost, np.inf), axis=-1)  # (m, T)
        a3 = a[:, :, None]
        bb = np.take_along_axis(best_b, a3, -1)[..., 0]
        rr = np.arange(m)[:, None]
        out[0][sl] = a
        out[1][sl] = bb - base[:, :, 0]
        out[2][sl] = p_v[rr, a] - n_vf[bb] - targets[sl]
        out[3][sl] = p_c[rr, a] + n_cf[bb]
    return tuple(out)


# -- the objective ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """QWSM's objective of one layer's conductances (see the module docstring).

    Attributes
    ----------
    total : float
        ``error + power_weight · power``.
    error : float
        Activity-weighted mean of ``((W_eff − w) / Δ)²``, quantisation levels².
    power : float
        Activity-weighted mean split conductance over ``2·g_max`` (read power with ideal reads
        relative to a pair at the largest level).
    """

    total: float
    error: float
    power: float


def _as_list(x):
    return list(x) if isinstance(x, list | tuple) else [x]


def _stored(w):
    """Neuron index, input index and value of every stored weight (dense: all)."""
    if sp.issparse(w):
        c = sp.csr_matrix(w)
        rows = np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))
        return rows, c.indices.astype(np.int64), c.data
    n_out, n_in = w.shape
    return np.repeat(np.arange(n_out), n_in), np.tile(np.arange(n_in), n_out), w.ravel()


#: Default mean input of every input relative to the maximum rate (rate-coded images and ReLU
#: activations normalised to a high percentile have means of 0.05–0.3).
DEFAULT_ACTIVITY = 0.2


def _activity(activity, n_in: int) -> np.ndarray:
    if activity is None:
        return np.full(n_in, DEFAULT_ACTIVITY)
    a = np.asarray(activity, dtype=np.float64)
    if (
        a.shape != (n_in,)
        or not np.isfinite(a).all()
        or np.any(a < 0)
        or np.any(a > 1)
        or not np.any(a > 0)
    ):
        raise SnnRramError(
            f"activity: expected {n_in} values in [0, 1], not all 0 (mean input of every input "
            f"relative to the maximum rate), got shape {a.shape}"
        )
    return a


def _group_terms(flat, size, mu, var, target):
    """Per group: M = Σμ, V = Σv, the μ-weighted mean target t, B = Σ v·r; and v·r² per weight.

    ``r = t − target`` is the spread of the targets inside a group.
    """
    M = np.bincount(flat, mu, minlength=size)
    V = np.bincount(flat, var, minlength=size)
    cnt = np.bincount(flat, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(
            M > 0,
            np.bincount(flat, mu * target, minlength=size) / np.where(M > 0, M, 1.0),
            np.bincount(flat, target, minlength=size) / np.maximum(cnt, 1),
        )
    r = t[flat] - target
    return M, V, t, np.bincount(flat, var * r, minlength=size), var * r * r


def objective(
    weight,
    gp,
    gm,
    device: Device,
    circuit: Circuit,
    *,
    bits: int,
    g_per_weight: float,
    bias=None,
    bias_gp=None,
    bias_gm=None,
    bias_duty: float = 1.0,
    activity=None,
    power_weight: float = 0.0,
) -> Objective:
    """QWSM's objective ``J`` of a layer programmed to ``gp``/``gm`` (module docstring).

    Parameters
    ----------
    weight : array or scipy.sparse matrix (n_out, n_in)
        The layer's weights (normalised units); the targets are their quantised values.
    gp, gm : array or sparse matrix (n_out, n_in), or a list of k of them
        Conductances of the positive / negative devices of every stored weight, S.
    device, circuit
        The device (levels, read model) and how the array is read.
    bits : int
        Quantisation bits: the step Δ and the levels q that group the weights
        (:func:`~snn_rram.mapping.quantize`).
    g_per_weight : float
        Conductance per unit normalised weight, S.
    bias : numpy.ndarray (n_out,), optional
        Target biases; with ``bias_gp``/``bias_gm`` (arrays or lists of k) their devices.
    bias_duty : float
        Duty the bias rows are scaled by (their target in weight units is ``bias · duty``).
    activity : numpy.ndarray (n_in,), optional
        Mean of every input relative to the maximum rate, in [0, 1] (default 0.2 each).
    power_weight : float
        λ, the weight of the power term.

    Returns
    -------
    Objective
    """
    w, b, duty = check_weights(weight, bias, bias_duty)
    n_out = w.shape[0]
    a = _activity(activity, w.shape[1])
    qz = quantize(w, bits)
    Q = qz.n_levels
    j, i, _ = _stored(w)
    qv = _stored(qz.q)[2].astype(np.int64)
    gp, gm = _as_list(gp), _as_list(gm)
    Gp = np.stack([_stored(sp.csr_matrix(g) if sp.issparse(w) else np.asarray(g))[2] for g in gp])
    Gm = np.stack([_stored(sp.csr_matrix(g) if sp.issparse(w) else np.asarray(g))[2] for g in gm])
    mu, target = a[i], qv * qz.step  # the quantised weights
    if b is not None:
        if bias_gp is None or bias_gm is None:
            raise SnnRramError("bias_gp, bias_gm: needed with a bias")
        Gp = np.concatenate([Gp, np.stack(_as_list(bias_gp))], axis=1)
        Gm = np.concatenate([Gm, np.stack(_as_list(bias_gm))], axis=1)
        j = np.r_[j, np.arange(n_out)]
        qv = np.r_[qv, np.clip(np.rint(b * duty / qz.step), -Q, Q).astype(np.int64)]
        mu = np.r_[mu, np.full(n_out, _bias_activity(a))]
        target = np.r_[target, qv[-n_out:] * qz.step]
    var = _variance(mu)
    r_n = circuit.r_neuron_for(2 * n_out)
    T_p = np.bincount(j, Gp.sum(axis=0), minlength=n_out)
    T_n = np.bincount(j, Gm.sum(axis=0), minlength=n_out)
    E_p = _transfer(Gp, T_p[j], r_n[0::2][j], device, circuit).sum(axis=0)
    E_n = _transfer(Gm, T_n[j], r_n[1::2][j], device, circuit).sum(axis=0)
    e = ((E_p - E_n) / g_per_weight - target) / qz.step  # levels
    flat = j * (2 * Q + 1) + qv + Q
    sys_err = np.bincount(flat, mu * e, minlength=n_out * (2 * Q + 1))
    M = np.bincount(flat, mu, minlength=n_out * (2 * Q + 1))
    V = np.bincount(flat, var, minlength=n_out * (2 * Q + 1))
    err = float((np.sum(sys_err**2) + np.sum(var * e**2)) / np.sum(M * M + V))
    cost = Gp.sum(axis=0) + Gm.sum(axis=0)
    power = float(np.sum(mu * cost) / np.sum(mu) / (2.0 * device.levels.g_max))
    return Objective(err + power_weight * power, err, power)


def _variance(mu):
    """Variance of an input of mean μ in [0, 1] read as on/off (Bernoulli): μ·(1 − μ)."""
    return mu * (1.0 - np.minimum(mu, 1.0))


def _bias_activity(a) -> float:
    """A bias counts as one input of the layer's mean activity (always on, constant)."""
    return float(np.mean(a))


# -- the grouped problem ---------------------------------------------------------------------


class _Layer:
    """One layer's QWSM problem in (neuron, level) groups; states are (combo+, combo−, s).

    ``combo±`` (n_out, 2Q+1, k) are level indices. With ``δ_q = D_q/s − t_q`` the error of
    group q (``t`` the μ-weighted mean target of its weights, in levels), a neuron's error
    numerator is ``Σ_q (W_q·δ_q² + 2·B_q·δ_q) + C`` with ``W = M² + V`` (the group's systematic
    error reaches the neuron as ``δ·Σx``: mean² plus variance), and its power numerator
    ``Σ_q M_q·cost_q / (2·g_max)``; ``J = Σ_j err_j / N_e + λ·Σ_j power_j / N_p``.
    """

    def __init__(self, qv, rows_of, target, mu, n_out, Q, k, device, circuit):
        self.n_out, self.Q, self.k = n_out, Q, k
        self.nL = 2 * Q + 1
        self.device, self.circuit = device, circuit
        self.L = device.levels.values
        self.cost_scale = 2.0 * device.levels.g_max
        shape = (n_out, self.nL)
        flat = rows_of * self.nL + (qv + Q)
        size = n_out * self.nL
        var = _variance(mu)
        M, V, t, B, c = _group_terms(flat, size, mu, var, target)
        self.count = np.bincount(flat, minlength=size).reshape(shape).astype(np.float64)
        self.M, self.V, self.t, self.B = (x.reshape(shape) for x in (M, V, t, B))
        self.C = np.bincount(rows_of, c, minlength=n_out)
        self.W = self.M**2 + self.V
        self.N_e, self.N_p = float(self.W.sum()), float(mu.sum())
        self.idle = self.W <= 0  # groups whose error does not count: cheapest split
        with np.errstate(invalid="ignore", divide="ignore"):
            live = ~self.idle
            self.shift = np.where(live, -self.B / np.where(live, self.W, 1.0), 0.0)
            self.pw_unit = np.where(
                live, self.M * self.N_e / (self.N_p * np.where(live, self.W, 1.0)), 0.0
            )
        r_n = circuit.r_neuron_for(2 * n_out)
        self.r_pos, self.r_neg = r_n[0::2], r_n[1::2]
        self.rows = np.arange(n_out)[:, None]

    def loads(self, cp, cn):
        """Total conductance of every positive and negative column, S."""
        L = self.L
        return (self.count * L[cp].sum(-1)).sum(axis=1), (self.count * L[cn].sum(-1)).sum(axis=1)

    def transfers(self, T_p, T_n):
        """``E(level; load)`` of every positive and negative column (n_out, K) each."""
        E_p = column_transfer(self.L, T_p, self.device, self.circuit, self.r_pos)
        E_n = column_transfer(self.L, T_n, self.device, self.circuit, self.r_neg)
        return E_p, E_n

    def realised(self, cp, cn):
        """Realised difference of every group with the splits' own loads, S (n_out, 2Q+1)."""
        E_p, E_n = self.transfers(*self.loads(cp, cn))
        r = self.rows[..., None]
        return E_p[r, cp].sum(-1) - E_n[r, cn].sum(-1)

    def numerators(self, cp, cn, s, D=None):
        """Per neuron: error and power numerators."""
        D = self.realised(cp, cn) if D is None else D
        d = D / s - self.t
        err = np.sum(self.W * d * d + 2 * self.B * d, axis=1) + self.C
        cost = self.L[cp].sum(-1) + self.L[cn].sum(-1)
        return err, np.sum(self.M * cost, axis=1) / self.cost_scale

    def combine(self, err, power, lam):
        """``J`` (or its per-neuron parts) from error and power numerators."""
        return err / self.N_e + lam * power / self.N_p

    def total(self, cp, cn, s, lam):
        """``J`` of a state."""
        err, power = self.numerators(cp, cn, s)
        return float(self.combine(err.sum(), power.sum(), lam))

    def best_scale(self, D, s):
        """The scale minimising the error for fixed splits (closed form), or ``s``."""
        num = float(np.sum(self.W * D * self.t - self.B * D))
        den = float(np.sum(self.W * D * D))
        return den / num if num > 0 and den > 0 else s

    def propose(self, T_p, T_n, s, lam, cp, cn, rows=None):
        """Each group's best split for the column loads ``T_p``, ``T_n`` (vectorised).

        Only the neurons ``rows`` (boolean mask; default all) are proposed new splits; the
        others keep ``cp``, ``cn``.
        """
        rows = np.ones(self.n_out, dtype=bool) if rows is None else rows
        cp, cn = cp.copy(), cn.copy()
        if not np.any(rows):
            return cp, cn
        E_p = column_transfer(self.L, T_p[rows], self.device, self.circuit, self.r_pos[rows])
        E_n = column_transfer(self.L, T_n[rows], self.device, self.circuit, self.r_neg[rows])
        pos, neg = _sides(E_p, self.L, self.k), _sides(E_n, self.L, self.k)
        tgt = s * (self.t[rows] + self.shift[rows])
        a, b, _, _ = _best(pos, neg, tgt, s, lam * self.pw_unit[rows], self.cost_scale)
        r = np.arange(a.shape[0])[:, None]
        new_p, new_n = pos[2][r, a], neg[2][r, b]
        idle = self.idle[rows]
        new_p[idle] = 0
        new_n[idle] = 0
        cp[rows], cn[rows] = new_p, new_n
        return cp, cn

    def uniform(self, combo_p, combo_n):
        """A state in which every neuron uses the same split per level ((2Q+1, k) each)."""
        shape = (self.n_out, self.nL, self.k)
        cp = np.broadcast_to(combo_p, shape).copy()
        cn = np.broadcast_to(combo_n, shape).copy()
        cp[self.idle] = 0
        cn[self.idle] = 0
        return cp, cn


@dataclass
class _Run:
    cp: np.ndarray
    cn: np.ndarray
    s: float
    total: float
    passes: int
    converged: bool
    history: list


def _descend(prob: _Layer, cp, cn, s, lam, max_passes, budget=None, abandon=np.inf) -> _Run:
    """Block coordinate descent from (cp, cn, s); every accepted step lowers the objective.

    ``budget`` (n_out,): a neuron only takes splits whose power numerator stays within it.
    ``abandon``: stop (unconverged) when the objective is still above it after 3 passes.
    """
    D = prob.realised(cp, cn)
    err, power = prob.numerators(cp, cn, s, D)
    history = [float(prob.combine(err.sum(), power.sum(), lam))]
    converged, passes = False, 0
    # neurons whose proposal may differ from their splits: all after a full pass's worth of
    # scale change, else those that changed in the last pass (a full pass confirms the end)
    stale, s_ref = np.ones(prob.n_out, dtype=bool), s
    for passes in range(1, max_passes + 1):
        changed = False
        # 1. the scale, splits fixed (closed form; accepted only if the objective falls)
        s_new = prob.best_scale(D, s)
        if s_new != s:
            e_new, _ = prob.numerators(cp, cn, s_new, D)
            if e_new.sum() < err.sum() * (1 - _RTOL):
                s, err, changed = s_new, e_new, True
        if abs(s - s_ref) > 1e-3 * abs(s_ref):
            stale[:], s_ref = True, s
        full = bool(stale.all())
        # 2. the splits, scale fixed: proposals at several column loads, per neuron
        T0 = prob.loads(cp, cn)
        c1 = prob.propose(*T0, s, lam, cp, cn, stale)
        T1 = prob.loads(*c1)
        moved1 = (c1[0] != cp).any(axis=(1, 2)) | (c1[1] != cn).any(axis=(1, 2))
        accepted = np.zeros(prob.n_out, dtype=bool)
        num = prob.combine(err, power, lam)
        pending = np.ones(prob.n_out, dtype=bool)  # neurons that may still take a proposal
        for alpha in (1.0, 0.5, 0.25):
            if alpha == 1.0:
                c_p, c_n = c1
            else:  # damped: the best splits for loads between the current and the proposed
                mix = tuple(t0 + alpha * (t1 - t0) for t0, t1 in zip(T0, T1, strict=True))
                c_p, c_n = prob.propose(*mix, s, lam, cp, cn, pending & moved1)
            moved = ((c_p != cp).any(axis=(1, 2)) | (c_n != cn).any(axis=(1, 2))) & pending
            if not np.any(moved):
                continue
            D_c = prob.realised(c_p, c_n)
            e_c, p_c = prob.numerators(c_p, c_n, s, D_c)
            better = moved & (prob.combine(e_c, p_c, lam) < num - _RTOL * np.abs(num))
            if budget is not None:
                better &= p_c <= budget
            if np.any(better):
                changed = True
                cp = np.where(better[:, None, None], c_p, cp)
                cn = np.where(better[:, None, None], c_n, cn)
                D = np.where(better[:, None], D_c, D)
                err = np.where(better, e_c, err)
                power = np.where(better, p_c, power)
                num = prob.combine(err, power, lam)
                pending &= ~better
                accepted |= better
            if not np.any(pending & moved):
                break
        history.append(float(num.sum()))
        if not changed or history[-2] - history[-1] <= CONVERGENCE_RTOL * abs(history[-2]):
            if full:
                converged = True
                break
            stale[:], s_ref = True, s  # confirm with every neuron
            continue
        stale = accepted.copy()
        if passes >= 3 and history[-1] > abandon:
            break
    return _Run(cp, cn, float(s), history[-1], passes, converged, history)


def _linear_pair_state(prob: _Layer):
    """``linear_pair``'s splits and its own scale ``(g_max − g_min) / Q``.

    Level index ``round(|q|·(K−1)/Q)`` against the lowest level; extra parallel devices at the
    lowest level.
    """
    L, Q, k = prob.L, prob.Q, prob.k
    q = np.arange(-Q, Q + 1)
    idx = np.rint(np.abs(q) * (L.size - 1) / Q).astype(np.int64)
    cp = np.zeros((q.size, k), dtype=np.int64)
    cn = np.zeros((q.size, k), dtype=np.int64)
    cp[:, 0] = np.where(q > 0, idx, 0)
    cn[:, 0] = np.where(q < 0, idx, 0)
    return (*prob.uniform(cp, cn), float((L[-1] - L[0]) / Q))


def _min_error_state(prob: _Layer):
    """``min_error``'s splits (ideal reads) and its scale."""
    side = side_values(prob.L, prob.k)
    levels = np.arange(-prob.Q, prob.Q + 1)
    counts = prob.count.sum(axis=0)
    a, b, _, s = nominal_splits(side, side, levels, np.maximum(counts, 0), prob.Q)
    return (*prob.uniform(side.combo[a], side.combo[b]), float(s))


def _floor_state(prob: _Layer, lam):
    """Minimum-error splits in the distorted domain at the lowest loads, scale searched."""
    T = prob.count.sum(axis=1) * prob.k * prob.L[0]
    E = column_transfer(prob.L, T, prob.device, prob.circuit, prob.r_pos)
    pos = _sides(E, prob.L, prob.k)
    top = float(np.min(pos[0][:, -1] - pos[0][:, 0]))
    gaps = np.diff(pos[0], axis=1)
    lo = max(float(gaps[gaps > 0].min()) if np.any(gaps > 0) else top, top * 1e-4) / prob.Q

    # the scale is searched on at most 64 neurons, evenly spread (a start: the descent
    # refines the scale on all of them)
    some = np.unique(np.linspace(0, prob.n_out - 1, min(prob.n_out, 64)).astype(np.int64))
    sub = tuple(x[some] for x in pos)
    t, pw, W, M = (x[some] for x in (prob.t + prob.shift, prob.pw_unit, prob.W, prob.M))

    def total(s):
        _, _, err, cost = _best(sub, sub, s * t, s, lam * pw, prob.cost_scale)
        return float(
            np.sum(W * (err / s) ** 2) / prob.N_e
            + lam * np.sum(M * cost) / (prob.cost_scale * prob.N_p)
        )

    s = _scale_search(total, lo, top / prob.Q, n_grid=16)
    zero = np.zeros((prob.n_out, prob.nL, prob.k), dtype=np.int64)
    return (*prob.propose(T, T, s, lam, zero, zero), float(s))


def _optimise(prob: _Layer, lam, max_passes, starts, budget=None):
    """Descend from every start ``{name: (cp, cn, s)}``.

    Returns the name of the best end point, the runs and the objective at each start.
    """
    at_start = {name: prob.total(*state, lam) for name, state in starts.items()}
    runs, best_total = {}, np.inf
    for name in sorted(starts, key=at_start.get):  # the most promising start first
        runs[name] = _descend(
            prob, *starts[name], lam, max_passes, budget, abandon=_ABANDON * best_total
        )
        best_total = min(best_total, runs[name].total)
    best = min(runs, key=lambda n: runs[n].total)
    return best, runs, at_start


def _check_power_weight(power_weight):
    if isinstance(power_weight, str):
        if power_weight != "auto":
            raise SnnRramError(
                f"power_weight: expected 'auto' or a number >= 0, got {power_weight!r}"
            )
        return None
    if isinstance(power_weight, bool) or not isinstance(power_weight, int | float):
        raise SnnRramError(f"power_weight: expected 'auto' or a number >= 0, got {power_weight!r}")
    if not (np.isfinite(power_weight) and power_weight >= 0):
        raise SnnRramError(f"power_weight: expected 'auto' or a number >= 0, got {power_weight!r}")
    return float(power_weight)


def _distinct(D, s, used, tol=1e-3):
    """Distinct realised values per neuron among the groups in use (within ``tol`` level)."""
    v = np.where(used, np.round(D / s / tol), np.nan)
    v = np.sort(v, axis=1)
    new = np.diff(v, axis=1) > 0
    return np.sum(used, axis=1).clip(max=1) + np.sum(new & np.isfinite(v[:, 1:]), axis=1)


@register("qwsm")
def qwsm(
    weight,
    device: Device,
    circuit: Circuit,
    *,
    bits: int,
    bias=None,
    bias_duty: float = 1.0,
    seed=None,
    parallel: int = 1,
    power_weight: float | str = "auto",
    activity=None,
    max_passes: int = 50,
) -> Mapping:
    """Quantised-weight splitting with the static read distortion (reconstruction).

    Park et al. (IEEE Access 12, 2024) state: in a passive array read under voltage division
    with the neuron input, QWSM "optimizes and splits the quantized weights using the static
    read distortion", improving accuracy across quantisation levels and lowering power against
    the smallest-combined-conductance baseline. We reconstruct it as the minimisation of the
    objective ``J`` of the module docstring (effective-weight error against the float targets,
    column loads and read bend included, plus ``power_weight`` × read power) over the splits of
    every (neuron, quantised level) group and the per-layer scale, by a monotone block
    coordinate descent started from ``linear_pair``'s and ``min_error``'s solutions, so its
    objective is never above theirs. The returned effective weights are then evaluated exactly
    (:meth:`Crossbar.static_gain`).

    Parameters
    ----------
    weight, device, circuit, bits, bias, bias_duty, seed
        As :func:`~snn_rram.mapping.linear_pair`.
    parallel : int
        Devices per side, on as many rows of the same input (for cards with few levels: the
        sums of k levels give more achievable values, at k times the lowest level's power).
    power_weight : float or "auto"
        λ, the trade-off between weight error (``J_err``, levels²) and read power
        (``J_power``, mean split conductance over ``2·g_max``). ``"auto"`` (default): λ = 1,
        raised to 4 and 16 while the solution draws more power than ``linear_pair``'s (with
        ideal reads, activity-weighted); if it still does, the descent from ``linear_pair``'s
        solution keeps every neuron within its ``linear_pair`` power. A number fixes λ and
        lifts the budget (e.g. 0.1: more accuracy at more power; 0: power only breaks ties).
        The value used is in ``report["power_weight"]``, the rule in
        ``report["power_weight_mode"]``.
    activity : array_like (n_in,), optional
        Mean of every input relative to the maximum rate, in [0, 1] (e.g. from calibration
        data); default 0.2 for every input. Weights of rarely read inputs count less.
    max_passes : int
        Bound on the descent passes per start; a descent that still improves at the bound
        keeps its best state and warns (:class:`~snn_rram.mapping.base.MappingWarning`), and
        the report says ``converged = False``.

    Returns
    -------
    Mapping
        ``report`` has, besides the common figures: ``objective`` (J of the result, with its
        ``objective_error`` and ``objective_power``), ``objective_linear_pair`` and
        ``objective_min_error`` (their solutions, own scales), ``passes``, ``converged``,
        ``objective_history``, ``start`` (the starting point of the best descent),
        ``power_weight`` and ``power_weight_mode``, ``distinct_effective_weights`` (mean over
        neurons of the distinct realised weights; ``_min``: the fewest), ``warnings``.
    """
    k = _check_parallel(parallel)
    lam_fixed = _check_power_weight(power_weight)
    if isinstance(max_passes, bool) or not isinstance(max_passes, int) or max_passes < 1:
        raise SnnRramError(f"max_passes: expected an integer >= 1, got {max_passes!r}")
    w, b, duty = check_weights(weight, bias, bias_duty)
    n_out, n_in = w.shape
    a = _activity(activity, n_in)
    qz = quantize(w, bits)
    Q, L = qz.n_levels, device.levels.values
    rows_of, cols_of, _ = _stored(w)
    qvals = np.asarray(
        sp.csr_matrix(qz.q).data if sp.issparse(qz.q) else np.asarray(qz.q).ravel()
    ).astype(np.int64)
    g_rows, g_q, g_t = rows_of, qvals, qvals.astype(np.float64)  # targets: the levels
    qb = None
    if b is not None:
        qb = np.clip(np.rint(b * duty / qz.step), -Q, Q).astype(np.int64)
        g_rows = np.r_[g_rows, np.arange(n_out)]
        g_q = np.r_[g_q, qb]
        g_t = np.r_[g_t, qb]
    mu = a[cols_of] if b is None else np.r_[a[cols_of], np.full(n_out, _bias_activity(a))]
    prob = _Layer(g_q, g_rows, g_t, mu, n_out, Q, k, device, circuit)

    lp_cp, lp_cn, lp_s = _linear_pair_state(prob)
    me_cp, me_cn, me_s = _min_error_state(prob)
    _, lp_pow = prob.numerators(lp_cp, lp_cn, lp_s)
    lp_power = float(lp_pow.sum() / prob.N_p)

    lp_state = (lp_cp, lp_cn, lp_s)
    me_state = (me_cp, me_cn, me_s)
    if lam_fixed is not None:
        lam, mode = lam_fixed, "fixed"
        starts = {"linear_pair": lp_state, "min_error": me_state}
        starts["distorted_floor"] = _floor_state(prob, lam)
        start, runs, at_start = _optimise(prob, lam, max_passes, starts)
    else:  # the smallest λ = 4^m whose solution is within linear_pair's power
        mode, found = "auto", False
        for m in range(_AUTO_STEPS):
            lam = POWER_WEIGHT_START * 4.0**m
            starts = {"linear_pair": lp_state, "min_error": me_state}
            starts["distorted_floor"] = _floor_state(prob, lam)
            start, runs, at_start = _optimise(prob, lam, max_passes, starts)
            r = runs[start]
            _, p = prob.numerators(r.cp, r.cn, r.s)
            if p.sum() / prob.N_p <= lp_power * (1 + 1e-9):
                found = True
                break
        if not found:  # within linear_pair's power neuron by neuron, from its solution
            mode = "auto (budget per neuron)"
            start = "linear_pair"
            runs = {start: _descend(prob, *lp_state, lam, max_passes, lp_pow * (1 + 1e-9))}
            at_start = {start: prob.total(*lp_state, lam)}
    run = runs[start]
    cp, cn, s = run.cp, run.cn, run.s
    err, pw = prob.numerators(cp, cn, s)
    obj_err, obj_pow = float(err.sum() / prob.N_e), float(pw.sum() / prob.N_p)
    notes = []
    if not run.converged:
        notes.append(
            f"qwsm: the descent did not converge in {max_passes} passes (layer {n_out}x{n_in}, "
            f"{bits} bits); the best state reached is used"
        )
        warnings.warn(notes[-1], MappingWarning, stacklevel=2)

    col = qvals + Q
    gp = [_with_values(w, L[cp[rows_of, col, t]]) for t in range(k)]
    gm = [_with_values(w, L[cn[rows_of, col, t]]) for t in range(k)]
    bgp = bgm = None
    if qb is not None:
        bgp = [L[cp[np.arange(n_out), qb + Q, t]] for t in range(k)]
        bgm = [L[cn[np.arange(n_out), qb + Q, t]] for t in range(k)]
    xbar = differential_crossbar(gp, gm, bgp, bgm, device, circuit, seed)
    g_per_weight = s / qz.step
    used = prob.count > 0
    distinct = _distinct(prob.realised(cp, cn), s, used)
    extra = {
        "scale": float(s),
        "parallel": k,
        "power_weight": float(lam),
        "power_weight_mode": mode,
        "objective": obj_err + lam * obj_pow,
        "objective_error": obj_err,
        "objective_power": obj_pow,
        "objective_linear_pair": prob.total(lp_cp, lp_cn, lp_s, lam),
        "objective_min_error": prob.total(me_cp, me_cn, me_s, lam),
        "objective_at_starts": {n: float(v) for n, v in at_start.items()},
        "objective_history": [float(v) for v in run.history],
        "start": start,
        "passes": int(run.passes),
        "converged": bool(run.converged),
        "distinct_effective_weights": float(np.mean(distinct)),
        "distinct_effective_weights_min": int(np.min(distinct)),
        "activity_weighted": activity is not None,
        "inactive_rows": circuit.inactive_rows,
        "warnings": notes,
    }
    return _finish("qwsm", xbar, qz, g_per_weight, w, duty, circuit, bits, extra)
