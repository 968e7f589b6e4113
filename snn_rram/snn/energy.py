"""Exact device energies of linear crossbars from the second moments of the input activity.

With linear devices, grounded inactive rows and no wires, a column's voltage is linear in its
active conductance: ``x_c = q_c · ga_c`` with ``q_c = R_c · v_read / (1 + R_c · gt_c)``. A
device of input i in column c dissipates ``G (v_read − x_c)²`` while i's pulse is on and
``G x_c²`` otherwise, so over a run of N steps

    E = G · dt · [Σ_u x_c(u)² + v_read² n_i − 2 v_read Σ_u A_ui x_c(u)]

with ``A_ui = 1`` when input i's pulse covers integration step u and ``n_i = Σ_u A_ui``. Writing
``ga_c(u) = b_c + Σ_j Gin_jc A_uj`` (``b_c``: always-on rows, ``Gin_jc``: summed conductance of
input j's rows in column c), both sums need only the overlaps ``O = Aᵀ A`` of the pulse windows:

    Σ_u A_ui ga_c(u) = b_c n_i + (O Gin)_ic
    Σ_u ga_c(u)²     = N b_c² + 2 b_c Σ_j Gin_jc n_j + Σ_j Gin_jc (O Gin)_jc

No per-step integration and no per-synapse accumulator is needed: the simulation only has to
produce the spike trains. The same steps as the simulation are used (a pulse starting at step s
covers steps s+1 … s+n_p, clipped to the run).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from snn_rram.crossbar.array import Crossbar
from snn_rram.crossbar.layout import ALWAYS_ON
from snn_rram.devices.iv import Linear
from snn_rram.errors import SnnRramError

__all__ = ["activity_windows", "linear_energy"]


def activity_windows(indices, steps, n_inputs: int, n_steps: int, pulse_steps: int):
    """Pulse-window matrix ``A`` (n_steps, n_inputs), sparse.

    ``A[u, i] = 1`` when a pulse of input i covers integration step u: it started at a step s
    with ``s < u <= s + pulse_steps``.
    """
    indices = np.asarray(indices, dtype=np.int64)
    steps = np.asarray(steps, dtype=np.int64)
    u = steps[:, None] + np.arange(1, pulse_steps + 1)[None, :]
    i = np.broadcast_to(indices[:, None], u.shape)
    keep = u < n_steps
    return sp.csr_matrix((np.ones(int(keep.sum())), (u[keep], i[keep])), shape=(n_steps, n_inputs))


def linear_energy(xbar: Crossbar, A: sp.spmatrix, dt: float):
    """Energy of every device and every neuron input of a linear grounded crossbar.

    Parameters
    ----------
    xbar : Crossbar
        Linear devices, grounded inactive rows, no wires.
    A : scipy.sparse matrix, shape (n_steps, n_inputs)
        Pulse windows of the layer's logical inputs (see :func:`activity_windows`).
    dt : float
        Time step, s.

    Returns
    -------
    device_energy : numpy.ndarray or scipy.sparse.csr_matrix, shape (n_rows, n_cols)
        J; dense for a dense crossbar, sparse (stored where the devices are) for a sparse one.
    neuron_energy : numpy.ndarray, shape (n_cols,)
        ``∫ V²/R_N dt`` per column, J.
    """
    c = xbar.circuit
    if (
        not isinstance(xbar.device.read_model, Linear)
        or c.inactive_rows != "ground"
        or (c.has_wires)
    ):
        raise SnnRramError(
            "linear_energy: needs linear devices, grounded inactive rows and no wires"
        )
    n_steps = A.shape[0]
    V = c.v_read
    rows = xbar.layout.row_input
    is_bias = rows == ALWAYS_ON
    driven = np.flatnonzero(~is_bias)
    n_inputs = xbar.layout.n_inputs
    dense = not sp.issparse(xbar.G)
    G = np.asarray(xbar.G) if dense else sp.csr_matrix(xbar.G)
    bias = np.asarray(G[is_bias].sum(axis=0)).ravel()
    gt = np.asarray(G.sum(axis=0)).ravel()
    r = c.r_neuron_for(xbar.n_cols)
    q = r * V / (1.0 + r * gt)

    A = sp.csr_matrix(A, dtype=np.float64)
    n = np.asarray(A.sum(axis=0)).ravel()  # active steps per input
    # only inputs that were read have overlaps: the products run over those alone
    act = np.flatnonzero(n > 0)
    pos = np.full(n_inputs, -1)  # input → its row among the read inputs (−1: never read)
    pos[act] = np.arange(act.size)
    A_act = sp.csc_matrix(A)[:, act]
    O = (A_act.T @ A_act).toarray() if dense else sp.csr_matrix(A_act.T @ A_act)
    if dense and np.unique(rows[driven]).size == driven.size:
        gin_act = np.zeros((act.size, xbar.n_cols))  # one row per input: a gather
        have = pos[rows[driven]] >= 0
        gin_act[pos[rows[driven]][have]] = G[driven[have]]
    else:  # Gin = P G, P the (inputs, rows) incidence of the driven rows
        P = sp.csr_matrix(
            (np.ones(driven.size), (rows[driven], driven)), shape=(n_inputs, xbar.n_rows)
        )[act]
        gin_act = P @ G  # dense for a dense crossbar
    s1 = np.asarray(gin_act.T @ n[act]).ravel()  # Σ_j Gin_jc n_j
    M = O @ gin_act  # (active inputs, n_cols), (O Gin): a dense product for a dense crossbar
    if dense:
        s2 = np.einsum("jc,jc->c", gin_act, M)  # Σ_j Gin_jc (O Gin)_jc
    else:
        M = sp.csr_matrix(M)
        s2 = np.asarray(sp.csr_matrix(gin_act).multiply(M).sum(axis=0)).ravel()
    sum_ga = n_steps * bias + s1
    sum_ga2 = n_steps * bias * bias + 2 * bias * s1 + s2
    sum_x2 = q * q * sum_ga2
    with np.errstate(divide="ignore", invalid="ignore"):
        neuron_energy = np.where(r > 0, sum_x2 / np.where(r > 0, r, 1.0), 0.0) * dt
    bias_term = n_steps * V * V - 2 * V * q * sum_ga  # per column, always-on rows
    # the row of an active input i: V² n_i − 2 V q_c (b_c n_i + M_ic)
    #                             = n_i (V² − 2 V q_c b_c) − 2 V q_c M_ic

    if dense:  # every cell a device: whole-matrix arithmetic in place, rows by their input
        M *= (-2.0 * V * dt) * q
        M += np.multiply.outer(n[act] * dt, V * V - 2.0 * V * q * bias)
        e = np.empty(G.shape)
        e[:] = dt * sum_x2
        e[is_bias] += dt * bias_term
        row_pos = pos[rows[driven]]
        read = row_pos >= 0
        e[driven[read]] += M[row_pos[read]]
        e *= G
        return e, neuron_energy

    coo = G.tocoo()
    r_idx, c_idx, g = coo.row, coo.col, coo.data
    inp = rows[r_idx]
    bias_syn = inp == ALWAYS_ON
    inp_safe = np.where(bias_syn, 0, inp)
    ii = np.where(bias_syn, -1, pos[inp_safe])  # row of M, -1: not read (or always on)
    m_ic = np.zeros(g.size)
    sel = ii >= 0
    m_ic[sel] = np.asarray(M[ii[sel], c_idx[sel]]).ravel()
    n_i = np.where(bias_syn, 0.0, n[inp_safe])
    active = V * V * n_i - 2 * V * q[c_idx] * (bias[c_idx] * n_i + m_ic)
    e = g * dt * (sum_x2[c_idx] + np.where(bias_syn, bias_term[c_idx], active))
    return sp.csr_matrix((e, (r_idx, c_idx)), shape=G.shape), neuron_energy
