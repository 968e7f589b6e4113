"""Column solvers: every row driven (grounded inactive rows, or analog reads), no wires.

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

Analog reads drive every row at its own voltage ``V_i`` (any sign); :func:`solve_driven` solves
``R · Σ_i I(G, V_i − x) − x = 0`` on the bracket ``[min(0, min V), max(0, max V)]``: closed form
for linear cells, the addition theorem of sinh for sinh cells (two matrix products, then Newton
on one scalar per column), the per-cell sums of :func:`solve_cells` otherwise.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from snn_rram.devices.iv import Linear, ReadModel, Separable, Sinh

__all__ = [
    "MAX_ITER",
    "RTOL",
    "conductance_sum",
    "driver_power_total",
    "power_sums",
    "row_sums",
    "separable_current",
    "solve_cells",
    "solve_driven",
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


def _bracketed_newton(h_and_dh, x0, hi, rtol=RTOL, *, lo=0.0, atol=0.0):
    """Vectorised safeguarded Newton for a decreasing function with a root in [lo, hi].

    ``h_and_dh(x, idx)`` returns h and h' at ``x`` for the flat element indices ``idx``; only
    the elements not yet converged are evaluated. An element stops when h is 0 (at ``x``) or
    the step is at most ``rtol·|x| + atol`` (at ``x + step``); a step that leaves the bracket
    is replaced by bisection. ``lo``, ``hi`` and ``atol`` broadcast to the shape of ``x0``.
    """
    shape = x0.shape
    x = x0.ravel().copy()
    lo = np.broadcast_to(lo, shape).ravel().astype(np.float64)
    hi = np.broadcast_to(hi, shape).ravel().astype(np.float64)
    atol = np.broadcast_to(atol, shape).ravel()
    idx = np.arange(x.size)
    for _ in range(MAX_ITER):
        xi = x[idx]
        h, dh = h_and_dh(xi, idx)
        lo[idx] = np.where(h > 0, xi, lo[idx])
        hi[idx] = np.where(h < 0, xi, hi[idx])
        step = -h / dh
        x_new = xi + step
        small = (np.abs(step) <= rtol * np.abs(xi) + atol[idx]) | (h == 0)
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


def _read_bracket(row_v):
    """Bracket of every column voltage of each read: ``[min(0, min V), max(0, max V)]``.

    Every cell carries current from the higher to the lower of its row and column, so KCL
    cannot balance at a column voltage below every driver (and ground) or above all of them.
    Returns ``lo, hi, atol`` of shape (batch, 1); ``atol`` is a few ulps of the read's span.
    """
    lo = np.minimum(0.0, row_v.min(axis=1, initial=0.0))[:, None]
    hi = np.maximum(0.0, row_v.max(axis=1, initial=0.0))[:, None]
    return lo, hi, _CELLS_RTOL * np.maximum(-lo, hi)


def conductance_sum(G, q):
    """``Σ_i G_ij q_bi``: (batch, n_cols) from q (batch, n_rows); G 2-D (dense/sparse) or 3-D."""
    if not sp.issparse(G) and G.ndim == 2:
        return q @ G
    if not sp.issparse(G) and G.ndim == 3:
        return np.einsum("br,brc->bc", q, G)
    return np.asarray((G.T @ q.T).T)


def _column_total(G):
    """``Σ_i G_ij``: (n_cols,) for a 2-D (dense/sparse) G, (batch, n_cols) for a 3-D one."""
    if not sp.issparse(G) and G.ndim == 3:
        return G.sum(axis=1)
    return np.asarray(G.sum(axis=0)).ravel()


def _row_sum(G, q):
    """``Σ_j G_ij q_bj``: (batch, n_rows) from q (batch, n_cols); G 2-D (dense/sparse) or 3-D."""
    if not sp.issparse(G) and G.ndim == 3:
        return np.einsum("bc,brc->br", q, G)
    return np.asarray((G @ q.T).T)


def row_sums(model: ReadModel, row_v, G, col_v):
    """Current each row delivers into its cells, ``Σ_j I(G_ij, V_bi − x_bj)``, A, or None.

    Without forming the (batch, n_rows, n_cols) cell array: for linear cells
    ``V_i Σ_j G_ij − Σ_j G_ij x_j``, for sinh cells the addition theorem
    ``sinh(b(V − x)) = sinh(bV) cosh(bx) − cosh(bV) sinh(bx)`` turns the sum into two matrix
    products. Other models return None (sum the cell currents instead).

    Parameters
    ----------
    model : ReadModel
    row_v : numpy.ndarray, shape (batch, n_rows)
        Row voltages, V.
    G : numpy.ndarray (n_rows, n_cols) or (batch, n_rows, n_cols), or scipy.sparse matrix
        Conductances, S.
    col_v : numpy.ndarray, shape (batch, n_cols)
        Column voltages, V.
    """
    if isinstance(model, Linear):
        return row_v * _row_sum(G, np.ones_like(col_v)) - _row_sum(G, col_v)
    if isinstance(model, Sinh):
        b = model.b
        bx = b * col_v
        c, s = _row_sum(G, np.cosh(bx)), _row_sum(G, np.sinh(bx))
        return (np.sinh(b * row_v) * c - np.cosh(b * row_v) * s) / b
    return None


def driver_power_total(model: ReadModel, row_v, G, col_v):
    """Power all row drivers deliver in each read, ``Σ_i V_bi Σ_j I(G_ij, V_bi − x_bj)``, W.

    Shape (batch,), or None for models other than linear and sinh. Two conductance-weighted
    sums per column instead of the per-row currents: for linear cells
    ``Σ_j (Σ_i G_ij V_i²) − x_j (Σ_i G_ij V_i)``, for sinh cells
    ``Σ_j [cosh(bx_j) Σ_i G_ij V_i sinh(bV_i) − sinh(bx_j) Σ_i G_ij V_i cosh(bV_i)] / b``.
    """
    V, x = row_v, col_v
    if not isinstance(model, Linear | Sinh):
        return None
    if not x.any() and (sp.issparse(G) or G.ndim == 2):
        # every column at 0 V (ideal virtual grounds): Σ_i V_i f(V_i) Σ_j G_ij
        return (V * model.f(V)) @ np.asarray(G.sum(axis=1)).ravel()
    if isinstance(model, Linear):
        return np.sum(conductance_sum(G, V * V) - x * conductance_sum(G, V), axis=1)
    if isinstance(model, Sinh):
        b = model.b
        p = conductance_sum(G, V * np.sinh(b * V))
        q = conductance_sum(G, V * np.cosh(b * V))
        return np.sum(np.cosh(b * x) * p - np.sinh(b * x) * q, axis=1) / b


def power_sums(model: ReadModel, row_v, G, col_v):
    """Device power summed over a batch of reads, ``Σ_b p(G_ij, V_bi − x_bj)``, W, or None.

    Per cell (n_rows, n_cols) without forming the (batch, n_rows, n_cols) array: for linear
    cells ``G ⊙ (Σ_b V² − 2 Vᵀx + Σ_b x²)``, for sinh cells the addition theorem turns
    ``(V − x) sinh(b(V − x)) / b`` into four matrix products over the batch. Other models
    return None. Rounding is a few ulps of the largest term (``G V f(V)``), not of each cell.

    Parameters
    ----------
    model : ReadModel
    row_v : numpy.ndarray, shape (batch, n_rows)
        Row voltages, V.
    G : numpy.ndarray or scipy.sparse matrix, shape (n_rows, n_cols)
        Conductances, S (one matrix for the whole batch).
    col_v : numpy.ndarray, shape (batch, n_cols)
        Column voltages, V.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix, shape (n_rows, n_cols), or None
        Sparse (at the devices) when G is sparse.
    """
    if not sp.issparse(G) and G.ndim != 2:
        return None
    V, x = row_v, col_v
    if isinstance(model, Linear):
        m = (V * V).sum(axis=0)[:, None] - 2.0 * (V.T @ x) + (x * x).sum(axis=0)[None, :]
    elif isinstance(model, Sinh):
        b = model.b
        sv, cv = np.sinh(b * V), np.cosh(b * V)
        sx, cx = np.sinh(b * x), np.cosh(b * x)
        m = ((V * sv).T @ cx - (V * cv).T @ sx - sv.T @ (x * cx) + cv.T @ (x * sx)) / b
    else:
        return None
    if sp.issparse(G):
        return sp.csr_matrix(G.multiply(m))
    return G * m


def solve_driven(model: ReadModel, row_v, G, r):
    """Column voltages and neuron currents with every row driven at its own voltage.

    Grounded rows are rows driven at 0 V, so this is also the spike read's column solve; it
    serves the analog (amplitude-coded) reads of :meth:`Crossbar.read` with ``row_voltage``.
    KCL of column j in read b,

        R_j · Σ_i I(G_ij, V_bi − x_bj) − x_bj = 0,

    has its root in ``[min(0, min V_b), max(0, max V_b)]`` for any signs of the row voltages.
    Linear cells: the closed form ``I_N = Σ_i G_ij V_bi / (1 + R_j Σ_i G_ij)``. Sinh cells:
    the column sums reduce by the addition theorem to two conductance-weighted sums per column,
    ``S = Σ_i G_ij sinh(bV_bi)`` and ``C = Σ_i G_ij cosh(bV_bi)`` (two matrix products for the
    whole batch), and safeguarded Newton runs on one scalar per column:
    ``Σ_i G_ij f(V_bi − x) = (cosh(bx)·S − sinh(bx)·C) / b``. Other models evaluate the
    device law per cell (:func:`solve_cells`).

    Parameters
    ----------
    model : ReadModel
    row_v : numpy.ndarray, shape (batch, n_rows)
        Driver voltage of each row, V (any sign; 0 V is a grounded row).
    G : numpy.ndarray (n_rows, n_cols) or (batch, n_rows, n_cols), or scipy.sparse matrix
        Conductances, S.
    r : array_like, shape (n_cols,)
        Neuron input resistance, Ω (0: ideal virtual ground).

    Returns
    -------
    x, i_neuron : numpy.ndarray, shape (batch, n_cols)
    """
    row_v = np.asarray(row_v, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    if isinstance(model, Linear):
        drive = conductance_sum(G, row_v)  # Σ_i G_ij V_i, A
        return solve_linear(1.0, drive, _column_total(G), r)
    if not isinstance(model, Sinh):
        return solve_cells(model, row_v, G, r)
    b = model.b
    S = conductance_sum(G, np.sinh(b * row_v))
    rb = np.broadcast_to(r, S.shape)
    if not (r > 0).any():  # ideal virtual grounds: x = 0, no solve
        return np.zeros(S.shape), S / b
    C = conductance_sum(G, np.cosh(b * row_v))
    lo, hi, atol = _read_bracket(row_v)
    lo, hi, atol = (np.broadcast_to(a, S.shape) for a in (lo, hi, atol))
    out_x = np.zeros(S.shape)
    idx = np.flatnonzero(rb > 0)
    if idx.size:
        s_, c_, r_ = S.ravel()[idx], C.ravel()[idx], rb.ravel()[idx]

        def h_and_dh(x, j):
            sh, ch = np.sinh(b * x), np.cosh(b * x)
            h = r_[j] * (ch * s_[j] - sh * c_[j]) / b - x
            dh = r_[j] * (sh * s_[j] - ch * c_[j]) - 1.0
            return h, dh

        x0 = r_ * s_ / (b * (1.0 + r_ * c_))  # one Newton step from x = 0
        lo_, hi_ = lo.ravel()[idx], hi.ravel()[idx]
        x0 = np.clip(x0, lo_, hi_)
        out_x.ravel()[idx] = _bracketed_newton(
            h_and_dh, x0, hi_, _CELLS_RTOL, lo=lo_, atol=atol.ravel()[idx]
        )
    i_n = _neuron_current(out_x, rb, S / b)
    return out_x, i_n


def solve_cells(model: ReadModel, row_v, G, r, *, max_elements=4_000_000):
    """Newton on one unknown per column with the device law evaluated per cell.

    For read models that are not separable (polynomial, tabulated), or not odd, and for
    analog row voltages on separable models other than linear and sinh.

    Parameters
    ----------
    model : ReadModel
    row_v : numpy.ndarray, shape (batch, n_rows)
        Driver voltage of each row, V (``v_read`` or 0 V for a spike read; any sign).
    G : numpy.ndarray (n_rows, n_cols) or (batch, n_rows, n_cols), or scipy.sparse matrix
        Conductances, S.
    r : array_like, shape (n_cols,)
    max_elements : int
        Cells × reads evaluated at once; larger batches are done in chunks.

    Returns
    -------
    x, i_neuron : numpy.ndarray, shape (batch, n_cols)
    """
    row_v = np.asarray(row_v, dtype=np.float64)
    batch, n_rows = row_v.shape
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
        vr = row_v[sl][:, rows]  # (chunk, n_cells) driver voltage at each cell
        gc = g[sl] if per_read else g[None, :]

        def colsum(q):
            return np.asarray((S.T @ q.T).T)

        def h_and_dh(x, idx, vr=vr, gc=gc):
            # the cells' sums need whole reads: evaluate every column of the reads involved
            x_full = np.zeros(vr.shape[0] * n_cols)
            x_full[idx] = x
            x_full = x_full.reshape(vr.shape[0], n_cols)
            v = vr - x_full[:, cols]
            h = r * colsum(model.current(gc, v)) - x_full
            dh = -r * colsum(model.dcurrent_dv(gc, v)) - 1.0
            return h.ravel()[idx], dh.ravel()[idx]

        # linear-device solution as the starting point, inside the bracket
        lo, hi, atol = _read_bracket(row_v[sl])
        shape = (vr.shape[0], n_cols)
        gv = colsum(vr * gc)
        gt = colsum(np.broadcast_to(gc, vr.shape))
        x0 = np.clip(r * gv / (1.0 + r * gt), lo, hi)
        x = _bracketed_newton(
            h_and_dh,
            x0,
            np.broadcast_to(hi, shape),
            _CELLS_RTOL,
            lo=np.broadcast_to(lo, shape),
            atol=np.broadcast_to(atol, shape),
        )
        at_zero = colsum(model.current(gc, vr))
        x_all[sl] = x
        i_all[sl] = _neuron_current(x, r, at_zero)
    return x_all, i_all
