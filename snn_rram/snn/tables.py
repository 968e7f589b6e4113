"""Tabulated column solve for sinh devices: the numpy twin of ``include/snn_rram_column.h``.

For each column (total conductance ``gt``, neuron input ``R``) cubic Hermite tables over the
read conductance ``ga`` in ``[0, gt]`` hold the column voltage ``x`` and the power rates
``d = p(v_read − x) − p(x)`` and ``pg = p(x)`` (``p(u) = u · sinh(b·u) / b``) with their exact
slopes; each column's table is refined (16, 32, … intervals) until every interval's midpoint
agrees with the exact solve to ``TABLE_RTOL`` of the quantity's largest value. A column whose
``ga`` did not change since its last evaluation returns its cached values. The numbers and the
arithmetic are those of the C++ header, so the runtime and standalone targets agree to rounding.
"""

from __future__ import annotations

import numpy as np

from snn_rram.snn.functions import _column_current_sinh

__all__ = ["TABLE_RTOL", "column_accessor", "column_i", "column_point"]

TABLE_RTOL = 1e-12
_M0, _MMAX = 16, 65536


def column_point(ga, gt, R, V, b) -> np.ndarray:
    """Exact ``x, x', d, d', pg, pg'`` (slopes with respect to ga), shape ``ga.shape + (6,)``."""
    ga, gt, R = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (ga, gt, R)))
    i = _column_current_sinh(ga, gt - ga, R, V, b)
    x = R * i
    u = V - x
    fa, fg = np.sinh(b * u) / b, np.sinh(b * x) / b
    dfa, dfg = np.cosh(b * u), np.cosh(b * x)
    dh_dga = fa + fg
    dh_di = -R * (ga * dfa + (gt - ga) * dfg) - 1.0
    dx = -R * dh_dga / dh_di
    pa, pg = u * fa, x * fg
    dpa, dpg = -(fa + u * dfa) * dx, (fg + x * dfg) * dx
    return np.stack([x, dx, pa - pg, dpa - dpg, pg, dpg], axis=-1)


def _hermite(k0, k1, q, s, h):
    s2 = s * s
    s3 = s2 * s
    return (
        (2 * s3 - 3 * s2 + 1) * k0[..., q]
        + (s3 - 2 * s2 + s) * h * k0[..., q + 1]
        + (-2 * s3 + 3 * s2) * k1[..., q]
        + (s3 - s2) * h * k1[..., q + 1]
    )


class _Set:
    """Tables and caches of one group's columns."""

    def __init__(self):
        self.params = np.zeros((0, 4)) - 1.0
        self.M = np.zeros(0, dtype=np.int64)
        self.tab: list[np.ndarray] = []
        self.exact = np.zeros(0, dtype=bool)
        self.last_ga = np.zeros(0) - 1.0
        self.cache = np.zeros((0, 4))  # i, x, d, pg

    def grow(self, n):
        if n <= self.M.size:
            return
        extra = n - self.M.size
        self.params = np.vstack([self.params, -np.ones((extra, 4))])
        self.M = np.r_[self.M, np.zeros(extra, dtype=np.int64)]
        self.tab += [np.zeros((0, 6))] * extra
        self.exact = np.r_[self.exact, np.zeros(extra, dtype=bool)]
        self.last_ga = np.r_[self.last_ga, -np.ones(extra)]
        self.cache = np.vstack([self.cache, np.zeros((extra, 4))])

    def build(self, cols):
        """(Re)build the tables of ``cols`` (all with gt > 0 and R > 0), refining together."""
        todo = np.asarray(cols)
        M = _M0
        while todo.size and M <= _MMAX:
            gt, R, V, b = self.params[todo].T
            h = gt / M
            k = np.arange(M + 1)
            knots_ga = np.where(k[None, :] == M, gt[:, None], k[None, :] * h[:, None])
            tab = column_point(knots_ga, gt[:, None], R[:, None], V[:, None], b[:, None])
            mid = column_point(
                (k[None, :-1] + 0.5) * h[:, None], gt[:, None], R[:, None], V[:, None], b[:, None]
            )
            scale = np.abs(tab[..., 0::2]).max(axis=1)  # (n, 3)
            ok = np.ones(todo.size, dtype=bool)
            for q in range(3):
                got = _hermite(tab[:, :-1], tab[:, 1:], 2 * q, 0.5, h[:, None])
                ok &= (np.abs(got - mid[..., 2 * q]) <= TABLE_RTOL * scale[:, q : q + 1]).all(1)
            for j, col in enumerate(todo):
                self.M[col] = M
                self.tab[col] = tab[j]
            self.exact[todo] = False
            todo = todo[~ok]
            M *= 2
        self.exact[todo] = True  # finest table still too coarse: exact solves


_SETS: dict[int, _Set] = {}


def column_i(ga, gt, R, V, b, table_id, col):
    """Neuron currents of columns ``col`` of table set ``table_id`` (vectorised)."""
    ga, gt, R, V, b, col = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (ga, gt, R, V, b)), np.asarray(col)
    )
    col = col.astype(np.int64)
    st = _SETS.setdefault(int(table_id), _Set())
    st.grow(int(col.max(initial=-1)) + 1)
    params = np.stack([gt, R, V, b], axis=-1)
    changed = np.flatnonzero((st.params[col] != params).any(axis=-1))
    if changed.size:
        cc = col[changed]
        st.params[cc] = params[changed]
        st.last_ga[cc] = -1.0
        st.exact[cc] = False
        build = cc[(gt[changed] > 0) & (R[changed] > 0)]
        if build.size:
            st.build(np.unique(build))
    fresh = ga != st.last_ga[col]
    idx = np.flatnonzero(fresh)
    if idx.size:
        c, g = col[idx], ga[idx]
        gti, Ri, Vi, bi = gt[idx], R[idx], V[idx], b[idx]
        out = np.zeros((idx.size, 4))
        trivial = (Ri <= 0) | (g <= 0) | (gti <= 0)
        p_v = Vi * np.sinh(bi * Vi) / bi
        out[trivial, 0] = np.where((Ri <= 0) & (g > 0), g * np.sinh(bi * Vi) / bi, 0.0)[trivial]
        out[trivial, 2] = p_v[trivial]
        exact = ~trivial & st.exact[c]
        if exact.any():
            p = column_point(g[exact], gti[exact], Ri[exact], Vi[exact], bi[exact])
            out[exact, 1], out[exact, 2], out[exact, 3] = p[:, 0], p[:, 2], p[:, 4]
        tab = ~trivial & ~st.exact[c]
        for m in np.unique(st.M[c[tab]]):
            sel = np.flatnonzero(tab & (st.M[c] == m))
            h = st.params[c[sel], 0] / m
            u = g[sel] * (m / st.params[c[sel], 0])  # as the C++ code: ga · (M / gt)
            k = np.minimum(u.astype(np.int64), m - 1)
            s = u - k
            tables = np.stack([st.tab[cc] for cc in c[sel]])  # (n, m + 1, 6)
            k0 = tables[np.arange(sel.size), k]
            k1 = tables[np.arange(sel.size), k + 1]
            out[sel, 1] = _hermite(k0, k1, 0, s, h)
            out[sel, 2] = _hermite(k0, k1, 2, s, h)
            out[sel, 3] = _hermite(k0, k1, 4, s, h)
        nt = ~trivial
        out[nt, 0] = out[nt, 1] / Ri[nt]
        st.cache[c] = out
        st.last_ga[c] = g
    return st.cache[col, 0]


def column_accessor(which: int):
    """Numpy implementation of the accessor of cached quantity ``which`` (1: x, 2: d, 3: pg)."""

    def accessor(table_id, col):
        st = _SETS[int(table_id)]
        return st.cache[np.asarray(col, dtype=np.int64), which]

    return accessor
