"""Sparse nodal analysis of a passive array: floating rows (sneak paths) and wire resistance.

The circuit is a set of nodes joined by devices (nonlinear, ``I(G, ΔV)``), linear resistors
(wires, neuron inputs) and row drivers (a source behind the first row-wire segment, or a source
pinning the row node when that segment is 0 Ω). Its operating point minimises the co-content

    Φ(v) = Σ_devices C(G, Δv) + Σ_resistors ½ g Δv² + Σ_drivers ½ g (v − V_src)²,

a strictly convex function for increasing I–V laws, whose gradient is the KCL residual. Newton
steps (sparse LU, :func:`scipy.sparse.linalg.splu`) damped by a backtracking line search on Φ
therefore converge from any start. Pinned nodes (ideal sources, ground) are kept in the system
as identity rows so the sparsity pattern does not depend on the read.

Linear devices make Φ quadratic: one solve. Their factorisation is reused: with grounded
inactive rows every read has the same matrix (only the right-hand side changes), and with
floating rows each read is a low-rank change of the all-floating matrix, solved by the
Sherman–Morrison–Woodbury identity against one factorisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from snn_rram.crossbar.circuit import Circuit
from snn_rram.devices.iv import Linear, ReadModel
from snn_rram.errors import SnnRramError

__all__ = ["NodalNetwork", "NodalSolution"]

_MAX_NEWTON = 100


@dataclass
class NodalSolution:
    """Node voltages of a batch of reads (V), batch first.

    ``row_v`` is (batch, n_rows) without row wires, else (batch, n_rows, n_cols);
    ``col_v`` is (batch, n_cols) without column wires, else (batch, n_rows, n_cols);
    ``neuron_v`` and ``neuron_i`` (A) are (batch, n_cols). ``iterations`` counts Newton steps.
    """

    row_v: np.ndarray
    col_v: np.ndarray
    neuron_v: np.ndarray
    neuron_i: np.ndarray
    iterations: int


def _lu(matrix: sp.spmatrix):
    """Sparse LU tuned for the symmetric positive definite matrices of nodal analysis.

    Diagonal pivots in a symmetric fill-reducing order, no equilibration (an SPD matrix needs
    neither pivoting nor scaling for stability; skipping them saves ~20 %).
    """
    if not sp.isspmatrix_csc(matrix):
        matrix = sp.csc_matrix(matrix)
    return splu(
        matrix,
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True, "Equil": False},
    )


class NodalNetwork:
    """The nodal network of one crossbar geometry, reusable over many reads.

    Parameters
    ----------
    G : numpy.ndarray or scipy.sparse matrix, shape (n_rows, n_cols)
        Conductances, S (cells of 0 S carry no device).
    model : ReadModel
        The cells' I–V law.
    circuit : Circuit
        Read voltage, neuron input, row mode and wires.
    """

    def __init__(self, G, model: ReadModel, circuit: Circuit):
        self.model = model
        self.circuit = circuit
        self.linear = isinstance(model, Linear)
        n_rows, n_cols = G.shape
        self.shape = (n_rows, n_cols)
        wr, wc = circuit.r_wire_row, circuit.r_wire_col
        if (wr > 0 or wc > 0) and sp.issparse(G):
            raise SnnRramError(
                "Circuit: wire resistance needs a dense crossbar (a sparse layout has no "
                "defined wire geometry)"
            )
        r_n = circuit.r_neuron_for(n_cols)
        coo = sp.coo_matrix(G)
        keep = coo.data > 0
        cell_r, cell_c, self.g = coo.row[keep], coo.col[keep], coo.data[keep].astype(float)
        self.cell_index = (cell_r, cell_c)

        # node numbering
        if wr > 0:
            row_node = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
            drv_node = row_node[:, 0]
        else:
            row_node = np.repeat(np.arange(n_rows)[:, None], n_cols, axis=1)
            drv_node = np.arange(n_rows)
        n = int(row_node.max()) + 1
        if wc > 0:
            col_node = n + np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
            n += n_rows * n_cols
            neuron_node = n + np.arange(n_cols)
            n += n_cols
        else:
            neuron_node = n + np.arange(n_cols)
            col_node = np.repeat(neuron_node[None, :], n_rows, axis=0)
            n += n_cols
        self.n_nodes = n
        self.row_node, self.col_node = row_node, col_node
        self.drv_node, self.neuron_node = drv_node, neuron_node
        self.r_neuron = r_n

        # devices: incidence (n_nodes, n_dev)
        a, b = row_node[cell_r, cell_c], col_node[cell_r, cell_c]
        n_dev = a.size
        self.dev_a, self.dev_b = a, b
        idx = np.arange(n_dev)
        self.B = sp.csr_matrix(
            (np.r_[np.ones(n_dev), -np.ones(n_dev)], (np.r_[a, b], np.r_[idx, idx])),
            shape=(n, n_dev),
        )

        # linear resistors between nodes (wires) and to ground (neuron inputs)
        ra, rb, rg = [], [], []
        if wr > 0:
            ra.append(row_node[:, :-1].ravel())
            rb.append(row_node[:, 1:].ravel())
            rg.append(np.full(n_rows * (n_cols - 1), 1.0 / wr))
        if wc > 0:
            ra += [col_node[:-1, :].ravel(), col_node[-1, :]]
            rb += [col_node[1:, :].ravel(), neuron_node]
            rg += [np.full((n_rows - 1) * n_cols, 1.0 / wc), np.full(n_cols, 1.0 / wc)]
        ra = np.concatenate(ra) if ra else np.zeros(0, int)
        rb = np.concatenate(rb) if rb else np.zeros(0, int)
        rg = np.concatenate(rg) if rg else np.zeros(0)
        self.res = (ra, rb, rg)
        lap = sp.csr_matrix((rg, (ra, rb)), shape=(n, n))
        lap = lap + lap.T
        lap = sp.diags(np.asarray(lap.sum(axis=1)).ravel()) - lap
        to_ground = np.zeros(n)
        grounded = r_n > 0
        to_ground[neuron_node[grounded]] = 1.0 / r_n[grounded]
        self.to_ground = to_ground
        self.L = sp.csr_matrix(lap + sp.diags(to_ground))

        # nodes held at a fixed voltage: ideal-ground neuron inputs and the nodes of dead rows
        # (rows without any device: isolated, they carry no current)
        self.dead_rows = np.setdiff1d(np.arange(n_rows), np.unique(cell_r))
        fixed = np.zeros(n, dtype=bool)
        fixed[neuron_node[~grounded]] = True
        fixed[np.unique(row_node[self.dead_rows])] = True
        self.fixed = fixed
        self.g_drv = 1.0 / wr if wr > 0 else np.inf
        self._cache: dict = {}

        # The Jacobian's sparsity pattern is fixed: every Newton step only scatters the devices'
        # dI/dV into it. Symmetric, so its CSR arrays are also its CSC arrays.
        pattern = sp.csr_matrix(
            self.B @ self.B.T + abs(self.L) + sp.identity(n, format="csr"), dtype=np.float64
        )
        pattern.sort_indices()
        self._indptr, self._indices = pattern.indptr, pattern.indices
        entry_row = np.repeat(np.arange(n), np.diff(pattern.indptr))
        keys = entry_row.astype(np.int64) * n + pattern.indices

        def slot(r, c):
            return np.searchsorted(keys, np.asarray(r, np.int64) * n + c)

        self._entry_row, self._entry_col = entry_row, pattern.indices
        self._diag = slot(np.arange(n), np.arange(n))
        self._dev_slots = np.stack([slot(a, a), slot(b, b), slot(a, b), slot(b, a)])
        L = sp.coo_matrix(self.L)
        self._base = np.bincount(slot(L.row, L.col), weights=L.data, minlength=keys.size)

    # -- assembly -------------------------------------------------------------------------------

    def _pins_and_drivers(self, src):
        """Pinned mask, pinned values, driver conductance per node and source voltage per node.

        ``src`` (n_rows,): driven rows' source voltage, NaN for floating rows.
        """
        n = self.n_nodes
        pinned = self.fixed.copy()
        value = np.zeros(n)
        g_node = np.zeros(n)
        s_node = np.zeros(n)
        driven = ~np.isnan(src)
        live = driven.copy()
        live[self.dead_rows] = False
        if np.isinf(self.g_drv):
            pinned[self.drv_node[live]] = True
            value[self.drv_node[live]] = src[live]
        else:
            g_node[self.drv_node[live]] = self.g_drv
            s_node[self.drv_node[live]] = src[live]
        return pinned, value, g_node, s_node

    def _jacobian(self, di_dev, g_node, pinned) -> sp.csc_matrix:
        """``B diag(dI/dV) Bᵀ + L + diag(g_drivers)``, pinned rows and columns made identity."""
        d = self._dev_slots
        data = self._base + np.bincount(
            d.ravel(),
            weights=np.concatenate([di_dev, di_dev, -di_dev, -di_dev]),
            minlength=self._base.size,
        )
        data[self._diag] += g_node
        if pinned.any():
            data[pinned[self._entry_row] | pinned[self._entry_col]] = 0.0
            data[self._diag[pinned]] = 1.0
        n = self.n_nodes
        return sp.csc_matrix((data, self._indices, self._indptr), shape=(n, n))

    def _device_terms(self, v, g):
        dv = self.B.T @ v
        return dv, self.model.current(g, dv), self.model.dcurrent_dv(g, dv)

    def _cocontent(self, v, g, g_node, s_node):
        dv = self.B.T @ v
        phi = np.sum(self.model.cocontent(g, dv))
        ra, rb, rg = self.res
        phi += 0.5 * np.sum(rg * (v[ra] - v[rb]) ** 2)
        phi += 0.5 * np.sum(self.to_ground * v * v)
        return phi + 0.5 * np.sum(g_node * (v - s_node) ** 2)

    # -- solving --------------------------------------------------------------------------------

    def solve(self, src, g=None) -> NodalSolution:
        """Operating points of a batch of reads.

        Parameters
        ----------
        src : numpy.ndarray, shape (batch, n_rows)
            Source voltage of each row's driver (V), NaN for floating rows.
        g : numpy.ndarray, shape (batch, n_dev), optional
            Per-read device conductances (read noise); default: the nominal ones.

        Returns
        -------
        NodalSolution
        """
        src = np.atleast_2d(np.asarray(src, dtype=np.float64))
        if self.linear and g is None:
            if np.isnan(src).any():
                v = self._solve_linear_floating(src)
            else:
                v = self._solve_linear_driven(src)
            its = 1
        else:
            vs, its = [], 0
            for k in range(src.shape[0]):
                vk, ik = self._newton(src[k], self.g if g is None else g[k])
                vs.append(vk)
                its += ik
            v = np.stack(vs, axis=1) if vs else np.zeros((self.n_nodes, 0))
        return self._collect(v, src, g, its)

    def _solve_linear_driven(self, src):
        """Every row driven (grounded mode): one factorisation, the batch as right-hand sides."""
        pinned, _, g_node, _ = self._pins_and_drivers(src[0])
        key = ("driven",)
        if key not in self._cache:
            self._cache[key] = _lu(self._jacobian(self.g, g_node, pinned))
        lu = self._cache[key]
        live = np.setdiff1d(np.arange(self.shape[0]), self.dead_rows)
        d = self.drv_node[live]
        rhs = np.zeros((self.n_nodes, src.shape[0]))
        if np.isinf(self.g_drv):
            # pinned row nodes: move their known voltages to the right-hand side
            v0 = np.zeros_like(rhs)
            v0[d] = src[:, live].T
            rhs = -(self.B @ (self.g[:, None] * (self.B.T @ v0)) + self.L @ v0)
            rhs[pinned] = 0.0
            return v0 + lu.solve(rhs)
        rhs[d] = self.g_drv * src[:, live].T
        return lu.solve(rhs)

    def _solve_linear_floating(self, src):
        """Floating rows: Woodbury updates of the all-floating factorisation, per read."""
        key = ("floating",)
        if key not in self._cache:
            self._cache[key] = _lu(self._jacobian(self.g, np.zeros(self.n_nodes), self.fixed))
        lu = self._cache[key]
        batch, n_rows = src.shape
        r_w = 0.0 if np.isinf(self.g_drv) else 1.0 / self.g_drv
        live = np.ones(n_rows, dtype=bool)
        live[self.dead_rows] = False
        driven = ~np.isnan(src) & live[None, :]
        v = np.zeros((self.n_nodes, batch))
        # chunk the batch so that the stacked right-hand sides stay moderate in memory
        per_chunk = max(1, 20_000_000 // self.n_nodes)
        starts = np.r_[0, np.cumsum(driven.sum(axis=1))]
        b0 = 0
        while b0 < batch:
            b1 = b0 + 1
            while b1 < batch and starts[b1 + 1] - starts[b0] <= per_chunk:
                b1 += 1
            rows_b = [np.flatnonzero(driven[b]) for b in range(b0, b1)]
            cols = np.concatenate(rows_b) if rows_b else np.zeros(0, int)
            if cols.size:
                E = np.zeros((self.n_nodes, cols.size))
                E[self.drv_node[cols], np.arange(cols.size)] = 1.0
                Z = lu.solve(E)
                off = 0
                for b, rows in zip(range(b0, b1), rows_b, strict=True):
                    k = rows.size
                    if k:
                        Zb = Z[:, off : off + k]
                        small = r_w * np.eye(k) + Zb[self.drv_node[rows]]
                        v[:, b] = Zb @ np.linalg.solve(small, src[b, rows])
                    off += k
            b0 = b1
        return v

    def _newton(self, src, g):
        """Damped Newton on the co-content for one read; returns (v, iterations)."""
        pinned, value, g_node, s_node = self._pins_and_drivers(src)
        v = np.where(pinned, value, 0.0)
        v_scale = max(self.circuit.v_read, np.nanmax(np.abs(src), initial=0.0))
        lu = None
        last = np.inf
        for it in range(1, _MAX_NEWTON + 1):
            _, i_dev, di_dev = self._device_terms(v, g)
            F = self.B @ i_dev + self.L @ v + g_node * (v - s_node)
            F[pinned] = 0.0
            J = self._jacobian(di_dev, g_node, pinned)
            f_norm = np.linalg.norm(F)
            if lu is None:
                lu = _lu(J)
                step = -lu.solve(F)
                f_first = f_norm
            else:
                # later Jacobians differ from the first only by the devices' dI/dV: conjugate
                # gradients preconditioned by its factorisation converge in a few solves; early
                # steps need little accuracy (inexact Newton), the last ones full accuracy
                rtol = min(1e-3, max(1e-13, f_norm / max(f_first, 1e-300)))
                step = -self._pcg(J, F, lu, rtol=rtol)
            size = np.max(np.abs(step), initial=0.0)
            t = 1.0
            if size > 1e-8 * v_scale:
                phi0 = self._cocontent(v, g, g_node, s_node)
                slope = F @ step
                while t > 1e-6:
                    if self._cocontent(v + t * step, g, g_node, s_node) <= phi0 + 1e-4 * t * slope:
                        break
                    t *= 0.5
            v = v + t * step
            if t == 1.0 and size <= 1e-11 * v_scale:
                return v, it
            # Newton converges quadratically; full steps below 1e-8 of the read voltage that no
            # longer shrink are the rounding floor of a badly conditioned network (wires of mΩ
            # against devices of 100 kΩ and a neuron of 1 GΩ span 15 orders of magnitude)
            if t == 1.0 and size <= 1e-8 * v_scale and size > 0.25 * last:
                return v, it
            last = size if t == 1.0 else np.inf
        raise SnnRramError(
            f"nodal solver: Newton did not converge in {_MAX_NEWTON} iterations (last step "
            f"{size:.3g} V); " + self._diagnosis()
        )

    def _diagnosis(self) -> str:
        """Why Newton may fail here: conductances float64 cannot resolve together, or the law."""
        c = self.circuit
        r_wire = [r for r in (c.r_wire_row, c.r_wire_col) if r > 0]
        g_cells = self.g[self.g > 0]
        g_low = [g_cells.min()] if g_cells.size else []
        r_n = c.r_neuron_for(self.shape[1])
        g_low += [1.0 / r_n[r_n > 0].max()] if np.any(r_n > 0) else []
        if r_wire and g_low:
            spread = 1.0 / (min(r_wire) * min(g_low))
            if spread > 1e11:
                return (
                    f"its conductances span {spread:.0e} (wires of {min(r_wire):g} Ω against "
                    f"{min(g_low):.3g} S), beyond what float64 resolves; wires that small are "
                    "ideal for every practical purpose: use r_wire_row = r_wire_col = 0"
                )
        return "check that the read model is increasing over the read voltage"

    @staticmethod
    def _pcg(J, F, lu, rtol=1e-13, max_iter=200):
        """Solve ``J x = F`` (SPD) by conjugate gradients preconditioned with ``lu``."""
        x = lu.solve(F)
        r = F - J @ x
        z = lu.solve(r)
        p = z.copy()
        rz = r @ z
        f_norm = np.linalg.norm(F)
        for _ in range(max_iter):
            if np.linalg.norm(r) <= rtol * f_norm:
                break
            q = J @ p
            alpha = rz / (p @ q)
            x += alpha * p
            r -= alpha * q
            z = lu.solve(r)
            rz_new = r @ z
            p = z + (rz_new / rz) * p
            rz = rz_new
        return x

    # -- results --------------------------------------------------------------------------------

    def _collect(self, v, src, g, iterations) -> NodalSolution:
        """Arrange node voltages (n_nodes, batch) as batch-first arrays and neuron currents."""
        n_rows, n_cols = self.shape
        batch = v.shape[1]
        wr, wc = self.circuit.r_wire_row, self.circuit.r_wire_col
        vt = v.T
        if wr > 0:
            row_v = vt[:, self.row_node]
            dead = np.zeros((batch, n_rows, n_cols), dtype=bool)
            dead[:, self.dead_rows, :] = True
            fill = np.nan_to_num(np.repeat(src[:, :, None], n_cols, axis=2))
            row_v = np.where(dead, fill, row_v)
        else:
            row_v = vt[:, self.row_node[:, 0]]
            row_v[:, self.dead_rows] = np.nan_to_num(src[:, self.dead_rows])
        col_v = vt[:, self.col_node] if wc > 0 else vt[:, self.neuron_node]
        neuron_v = vt[:, self.neuron_node]
        r = self.r_neuron
        with np.errstate(divide="ignore", invalid="ignore"):
            neuron_i = np.where(r > 0, neuron_v / np.where(r > 0, r, 1.0), 0.0)
        ideal = np.flatnonzero(r == 0)
        if ideal.size:
            # current into an ideal virtual ground: everything that flows into its node
            if wc > 0:
                neuron_i[:, ideal] = vt[:, self.col_node[-1, ideal]] / wc
            else:
                gg = self.g if g is None else g
                i_dev = self.model.current(gg, (self.B.T @ v).T)  # (batch, n_dev)
                cols = self.cell_index[1]
                S = sp.csr_matrix(
                    (np.ones(cols.size), (np.arange(cols.size), cols)), shape=(cols.size, n_cols)
                )
                neuron_i[:, ideal] = np.asarray(i_dev @ S)[:, ideal]
        return NodalSolution(row_v, col_v, neuron_v, neuron_i, iterations)
