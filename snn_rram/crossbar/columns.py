"""Column solvers: grounded inactive rows and no wire resistance.

Each column is then one node, independent of the others. With ``x`` its voltage, ``R`` the
neuron input resistance and the sums running over the column's cells, KCL reads

    R · [Σ_active I(G, V_read − x) + Σ_grounded I(G, −x)] − x = 0,      x in [0, V_read],

written multiplied by R so that R = 0 (ideal virtual ground, x = 0) needs no special case. The
left side decreases strictly in x (the I–V is increasing), is ≥ 0 at 0 and < 0 at V_read, so the
root is unique and bracketed; a Newton step that leaves the bracket is replaced by bisection.

For separable devices ``I = G·f(V)`` (f odd) the column depends only on the conductance sums of
its active (``g_act``) and grounded (``g_gnd``) cells, and :func:`separable_current` solves for
the neuron current ``i`` (``x = R·i``)

    i = g_act · f(V_read − R·i) − g_gnd · f(R·i),      i in [0, g_act · f(V_read)].

It is the one numpy implementation of that solve: the static reads here, the mapping methods and
the numpy target of :mod:`snn_rram.snn` use it, and ``snn_rram/snn/include/snn_rram_column.h``
is its compiled twin (same iteration, same arithmetic, same stopping rule: its ``MAX_ITER`` and
``RTOL`` are these, passed to the compiler by :mod:`snn_rram.snn.functions`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from snn_rram.devices.iv import ReadModel, Separable

__all__ = [
    "MAX_ITER",
    "RTOL",
    "separable_current",
    "solve_cells",
    "solve_linear",
    "solve_separable",
]

#: Newton iterations at most.
MAX_ITER = 100
#: Newton stops once a step is at most this fraction of the iterate.
RTOL = 4e-16
# The per-cell solve sums the device law over a column's cells: its rounding is a few ulps of x
_CELLS_RTOL = 4 * np.finfo(np.float64).eps


def _neuron_current(x, r, at_zero):
    """``x / R`` where R > 0, else the current into the 0 V node (``at_zero``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, x / np.where(r > 0, r, 1.0), at_zero)


def solve_linear(v_read: float, g_act, g_tot, r):
    """Closed form for ohmic cells: ``I_N = V·g_act / (1 + R·g_tot)``, ``x = R·I_N``.

    Parameters
    ----------
    v_read : float
        Read voltage, V.
    g_act : array_like, shape (batch, n_cols)
        Sum of the conductances of the active cells of each column, S.
    g_tot : array_like, shape (n_cols,) or (batch, n_cols)
        Sum of all conductances of each column, S.
    r : array_like, shape (n_cols,)
        Neuron input resistance, Ω.

    Returns
    -------
    x, i_neuron : numpy.ndarray, shape (batch, n_cols)
        Column voltage (V) and neuron current (A).
    """
    i_n = v_read * g_act / (1.0 + r * g_tot)
    return r * i_n, i_n


def _bracketed_newton(h_and_dh, x0, hi, rtol=RTOL):
    """Vectorised safeguarded Newton for a decreasing function with a root in [0, hi].

    ``h_and_dh(x, idx)`` returns h and h' at ``x`` for the flat element indices ``idx``; only
    the elements not yet converged are evaluated. An element stops when h is 0 (at ``x``) or
    the step is at most ``rtol·|x|`` (at ``x + step``); a step that leaves the bracket is
    replaced by bisection.
    """
    shape = x0.shape
    x = x0.ravel().copy()
    lo = np.zeros_like(x)
    hi = np.broadcast_to(hi, shape).ravel().copy()
    idx = np.arange(x.size)
    for _ in range(MAX_ITER):
        xi = x[idx]
        h, dh = h_and_dh(xi, idx)
        lo[idx] = np.where(h > 0, xi, lo[idx])
        hi[idx] = np.where(h < 0, xi, hi[idx])
        step = -h / dh
        x_new = xi + step
        small = (np.abs(step) <= rtol * np.abs(xi)) | (h == 0)
        outside = ((x_new < lo[idx]) | (x_new > hi[idx])) & ~small
        x[idx] = np.where(outside, 0.5 * (lo[idx] + hi[idx]), x_new)
        idx = idx[~small]
        if idx.size == 0:
            break
    return x.reshape(shape)


def separable_current(model: Separable, v_read, g_act, g_gnd, r) -> np.ndarray:
    """Neuron current of columns of separable cells, by safeguarded Newton on ``i``.

    Parameters
    ----------
    model : Separable
        The read model (``f`` odd: grounded cells carry ``−G·f(x)``).
    v_read : float or array_like
        Read voltage, V (broadcast with the sums).
    g_act, g_gnd : array_like
        Conductance sums of the active and of the grounded cells of each column, S.
    r : array_like
        Neuron input resistance, Ω (0: ideal virtual ground).

    Returns
    -------
    numpy.ndarray
        Neuron current ``i`` (A), the broadcast shape of the arguments; ``x = r · i``.
    """
    v, ga, gg, r = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (v_read, g_act, g_gnd, r))
    )
    out = np.zeros(ga.shape)
    hi = ga * model.f(v)  # the current into an ideal virtual ground
    ideal = (ga > 0) & (r <= 0)
    out[ideal] = hi[ideal]
    idx = np.flatnonzero((ga > 0) & (r > 0))
    if idx.size == 0:
        return out
    v, ga, gg, r, hi = (a.ravel()[idx] for a in (v, ga, gg, r, hi))

    def h_and_dh(i, j):
        x = r[j] * i
        va = v[j] - x
        h = ga[j] * model.f(va) - gg[j] * model.f(x) - i
        dh = -r[j] * (ga[j] * model.df(va) + gg[j] * model.df(x)) - 1.0
        return h, dh

    i0 = v * ga / (1.0 + r * (ga + gg))  # the linear-device solution
    out.ravel()[idx] = _bracketed_newton(h_and_dh, i0, hi)
    return out


def solve_separable(model: Separable, v_read: float, g_act, g_gnd, r):
    """Column voltage and neuron current for ``I = G·f(V)`` with f odd (:func:`separable_current`).

    Parameters
    ----------
    model : Separable
        The read model (``f`` odd: grounded cells carry ``−G·f(x)``).
    v_read : float
        Read voltage, V.
    g_act, g_gnd : array_like, shape (batch, n_cols)
        Conductance sums of the active and of the grounded cells of each column, S.
    r : array_like, shape (n_cols,)
        Neuron input resistance, Ω.

    Returns
    -------
    x, i_neuron : numpy.ndarray, shape (batch, n_cols)
    """
    g_act, g_gnd = np.broadcast_arrays(np.asarray(g_act, float), np.asarray(g_gnd, float))
    r = np.broadcast_to(np.asarray(r, float), g_act.shape)
    i = separable_current(model, v_read, g_act, g_gnd, r)
    return r * i, i


def solve_cells(model: ReadModel, v_read: float, G, active, r, *, max_elements=4_000_000):
    """Newton on one unknown per column with the device law evaluated per cell.

    For read models that are not separable (polynomial, tabulated), or not odd.

    Parameters
    ----------
    model : ReadModel
    v_read : float
    G : numpy.ndarray (n_rows, n_cols) or (batch, n_rows, n_cols), or scipy.sparse matrix
        Conductances, S.
    active : numpy.ndarray of bool, shape (batch, n_rows)
    r : array_like, shape (n_cols,)
    max_elements : int
        Cells × reads evaluated at once; larger batches are done in chunks.

    Returns
    -------
    x, i_neuron : numpy.ndarray, shape (batch, n_cols)
    """
    batch, n_rows = active.shape
    if sp.issparse(G):
        coo = G.tocoo()
        rows, cols, g = coo.row, coo.col, coo.data
        n_cols = G.shape[1]
        per_read = False
    else:
        per_read = G.ndim == 3
        n_cols = G.shape[-1]
        rows, cols = np.divmod(np.arange(n_rows * n_cols), n_cols)
        g = G.reshape(*G.shape[:-2], -1)
    # column sums of per-cell quantities: q (chunk, n_cells) @ S (n_cells, n_cols)
    S = sp.csr_matrix(
        (np.ones(rows.size), (np.arange(rows.size), cols)), shape=(rows.size, n_cols)
    )
    r = np.asarray(r, dtype=np.float64)
    chunk = max(1, max_elements // max(rows.size, 1))
    x_all = np.empty((batch, n_cols))
    i_all = np.empty((batch, n_cols))
    for start in range(0, batch, chunk):
        sl = slice(start, start + chunk)
        a = active[sl][:, rows].astype(np.float64)  # (chunk, n_cells)
        gc = g[sl] if per_read else g[None, :]

        def colsum(q):
            return np.asarray((S.T @ q.T).T)

        def h_and_dh(x, idx, a=a, gc=gc):
            # the cells' sums need whole reads: evaluate every column of the reads involved
            x_full = np.zeros(a.shape[0] * n_cols)
            x_full[idx] = x
            x_full = x_full.reshape(a.shape[0], n_cols)
            v = a * v_read - x_full[:, cols]
            h = r * colsum(model.current(gc, v)) - x_full
            dh = -r * colsum(model.dcurrent_dv(gc, v)) - 1.0
            return h.ravel()[idx], dh.ravel()[idx]

        # linear-device solution as the starting point
        ga = colsum(a * gc)
        gt = colsum(np.broadcast_to(gc, a.shape))
        x0 = v_read * r * ga / (1.0 + r * gt)
        x = _bracketed_newton(h_and_dh, x0, v_read, _CELLS_RTOL)
        at_zero = colsum(model.current(gc, a * v_read))
        x_all[sl] = x
        i_all[sl] = _neuron_current(x, r, at_zero)
    return x_all, i_all
