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
    driven = np.flatnonzero(rows != ALWAYS_ON)
    n_inputs = xbar.layout.n_inputs
    P = sp.csr_matrix(
        (np.ones(driven.size), (rows[driven], driven)), shape=(n_inputs, xbar.n_rows)
    )
    dense = not sp.issparse(xbar.G)
    G = np.asarray(xbar.G) if dense else sp.csr_matrix(xbar.G)
    gin = P @ G  # (n_inputs, n_cols): dense for a dense crossbar
    bias = np.asarray(G[rows == ALWAYS_ON].sum(axis=0)).ravel()
    gt = np.asarray(G.sum(axis=0)).ravel()
    r = c.r_neuron_for(xbar.n_cols)
    q = r * V / (1.0 + r * gt)

    A = sp.csr_matrix(A, dtype=np.float64)
    n = np.asarray(A.sum(axis=0)).ravel()  # active steps per input
    O = sp.csr_matrix(A.T @ A)  # overlaps, O_ii = n_i
    s1 = np.asarray(gin.T @ n).ravel()  # Σ_j Gin_jc n_j
    M = O @ gin  # (n_inputs, n_cols), (O Gin)
    if dense:
        s2 = np.einsum("jc,jc->c", gin, M)  # Σ_j Gin_jc (O Gin)_jc
    else:
        M = sp.csr_matrix(M)
        s2 = np.asarray(sp.csr_matrix(gin).multiply(M).sum(axis=0)).ravel()
    sum_ga = n_steps * bias + s1
    sum_ga2 = n_steps * bias * bias + 2 * bias * s1 + s2
    sum_x2 = q * q * sum_ga2
    with np.errstate(divide="ignore", invalid="ignore"):
        neuron_energy = np.where(r > 0, sum_x2 / np.where(r > 0, r, 1.0), 0.0) * dt
    bias_term = n_steps * V * V - 2 * V * q * sum_ga  # per column, always-on rows

    if dense:  # every cell a device: whole-matrix arithmetic in place, rows by their input
        # active row of input i: V² n_i − 2 V q_c (b_c n_i + M_ic)
        #                      = n_i (V² − 2 V q_c b_c) − 2 V q_c M_ic
        ii = np.where(rows == ALWAYS_ON, 0, rows)
        e = M[ii]
        e *= (-2.0 * V * dt) * q
        e += np.multiply.outer(n[ii] * dt, V * V - 2.0 * V * q * bias)
        e += dt * sum_x2
        is_bias = rows == ALWAYS_ON
        e[is_bias] = dt * (sum_x2 + bias_term)
        e *= G
        return e, neuron_energy

    coo = G.tocoo()
    r_idx, c_idx, g = coo.row, coo.col, coo.data
    inp = rows[r_idx]
    is_bias = inp == ALWAYS_ON
    ii = np.where(is_bias, 0, inp)
    m_ic = np.asarray(M[ii, c_idx]).ravel()
    active = V * V * n[ii] - 2 * V * q[c_idx] * (bias[c_idx] * n[ii] + m_ic)
    e = g * dt * (sum_x2[c_idx] + np.where(is_bias, bias_term[c_idx], active))
    return sp.csr_matrix((e, (r_idx, c_idx)), shape=G.shape), neuron_energy
