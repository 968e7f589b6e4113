"""Column solves of sinh devices on the numpy target: the twin of ``include/snn_rram_column.h``.

:func:`column_current` is the exact solve (:func:`snn_rram.crossbar.columns.separable_current`,
the solve of the static reads, with Brian2's arguments); the rest is the tabulated solve.

For each column (total conductance ``gt``, neuron input ``R``) cubic Hermite tables over the
read conductance ``ga`` in ``[0, gt]`` hold the column voltage ``x`` and the power rates
``d = p(v_read − x) − p(x)`` and ``pg = p(x)`` (``p(u) = u · sinh(b·u) / b``), built from exact
values and slopes. ``[0, gt]`` is cut into 16 coarse intervals, each built when first read and
refined on its own (1, 2, 4, … fine intervals) until every fine interval's midpoint agrees with
the exact solve to ``TABLE_RTOL`` of the quantity's largest value; a run pays only for the part
of the range its activity reaches. Coefficients are kept in power form, 12 per fine interval.
The numbers and the arithmetic are those of the C++ header, so the runtime and standalone
targets agree to rounding.
"""

from __future__ import annotations

import functools

import numpy as np

from snn_rram.crossbar.columns import separable_current
from snn_rram.devices.iv import Sinh

__all__ = [
    "TABLE_M0",
    "TABLE_MMAX",
    "TABLE_RTOL",
    "column_accessor",
    "column_current",
    "column_i",
    "column_point",
]

#: Largest error of a table at a fine interval's midpoint, relative to the quantity's largest
#: value.
TABLE_RTOL = 1e-12
#: Coarse intervals per column.
TABLE_M0 = 16
#: Finest subdivision of a column's range (fine intervals of all its coarse ones).
TABLE_MMAX = 65536


@functools.lru_cache(maxsize=64)
def _sinh(b: float) -> Sinh:
    return Sinh(b)


def column_current(ga, gg, R, V, b) -> np.ndarray:
    """Exact neuron current of sinh columns (vectorised; ``b`` in 1/V, one value per call site).

    Brian2's numpy implementation of ``column_current``: the solve of the static reads, per
    value of ``b`` (a layer's device constant, shared by its columns).
    """
    ga, gg, R, V, b = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (ga, gg, R, V, b))
    )
    values = np.unique(b)
    if values.size == 1:
        return separable_current(_sinh(float(values[0])), V, ga, gg, R)
    out = np.empty(ga.shape)
    for value in values:  # one per device constant (every layer has one)
        m = b == value
        out[m] = separable_current(_sinh(float(value)), V[m], ga[m], gg[m], R[m])
    return out


def column_point(ga, gt, R, V, b) -> np.ndarray:
    """Exact ``x, x', d, d', pg, pg'`` (slopes with respect to ga), shape ``ga.shape + (6,)``."""
    ga, gt, R = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (ga, gt, R)))
    i = column_current(ga, gt - ga, R, V, b)
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


def _power_form(p0, p1, h):
    """Power-form coefficients (..., 12) of the Hermite interpolants of x, d, pg (s in [0, 1])."""
    h = np.asarray(h)[..., None]
    y0, m0, y1, m1 = p0[..., 0::2], p0[..., 1::2], p1[..., 0::2], p1[..., 1::2]
    a = np.stack(
        [y0, h * m0, 3.0 * (y1 - y0) - h * (2.0 * m0 + m1), 2.0 * (y0 - y1) + h * (m0 + m1)],
        axis=-1,
    )  # (..., 3, 4)
    return a.reshape((*a.shape[:-2], 12))


def _horner(a, s):
    return a[..., 0] + s * (a[..., 1] + s * (a[..., 2] + s * a[..., 3]))


class _Set:
    """Tables of one group's columns (the layout of the C++ ``TableSet``)."""

    def __init__(self):
        self.params = np.zeros((0, 4)) - 1.0  # gt, R, V, b
        self.inv_h0 = np.zeros(0)
        self.inv_R = np.zeros(0)
        self.fV = np.zeros(0)
        self.pV = np.zeros(0)
        self.scale = np.zeros((0, 3))
        self.trivial = np.zeros(0, dtype=bool)
        self.level = np.zeros((0, TABLE_M0), dtype=np.int64)
        self.off = np.zeros((0, TABLE_M0), dtype=np.int64)
        self.coef = np.zeros(0)
        self.stale = 0  # coefficients of tables dropped since coef was last cleared
        self.cache = np.zeros((0, 4))  # i, x, d, pg of the last evaluation

    def grow(self, n):
        if n <= self.trivial.size:
            return
        extra = n - self.trivial.size
        self.params = np.vstack([self.params, -np.ones((extra, 4))])
        for name in ("inv_h0", "inv_R", "fV", "pV"):
            setattr(self, name, np.r_[getattr(self, name), np.zeros(extra)])
        self.scale = np.vstack([self.scale, np.zeros((extra, 3))])
        self.trivial = np.r_[self.trivial, np.zeros(extra, dtype=bool)]
        self.level = np.vstack([self.level, -np.ones((extra, TABLE_M0), dtype=np.int64)])
        self.off = np.vstack([self.off, np.zeros((extra, TABLE_M0), dtype=np.int64)])
        self.cache = np.vstack([self.cache, np.zeros((extra, 4))])

    def reset(self, cols, params):
        """New parameters of columns ``cols``: their tables are dropped."""
        gt, R, V, b = params.T
        self.params[cols] = params
        self.fV[cols] = np.sinh(b * V) / b
        self.pV[cols] = V * self.fV[cols]
        trivial = ~((R > 0) & (gt > 0))
        self.trivial[cols] = trivial
        with np.errstate(divide="ignore"):
            self.inv_h0[cols] = np.where(trivial, 0.0, TABLE_M0 / gt)
            self.inv_R[cols] = np.where(trivial, 0.0, 1.0 / R)
        # drop the columns' tables; once most of coef is dropped tables, clear it (every
        # column's tables are then rebuilt when next read), so reruns do not pile up
        built = self.level[cols]
        self.stale += int((12 * np.left_shift(1, built[built >= 0])).sum())
        if self.stale > 1024 and 2 * self.stale > self.coef.size:
            self.coef, self.stale = np.zeros(0), 0
            self.level[:] = -1
        self.level[cols] = -1
        self.off[cols] = 0
        ok = ~trivial
        if ok.any():
            c = np.asarray(cols)[ok]
            p0 = column_point(np.zeros(c.size), gt[ok], R[ok], V[ok], b[ok])
            p1 = column_point(gt[ok], gt[ok], R[ok], V[ok], b[ok])
            self.scale[c] = np.maximum(np.abs(p0[:, 0::2]), np.abs(p1[:, 0::2]))

    def build(self, cols, ks):
        """Tables of coarse intervals ``ks`` of columns ``cols`` (unique pairs), as in C++."""
        cols, ks = np.asarray(cols), np.asarray(ks)
        gt, R, V, b = self.params[cols].T
        g = ks[:, None] + np.arange(2)
        knots = np.where(g == TABLE_M0, gt[:, None], g * (gt / TABLE_M0)[:, None])
        P = column_point(knots, gt[:, None], R[:, None], V[:, None], b[:, None])  # (p, 2, 6)
        todo = np.arange(cols.size)
        L = 0
        while todo.size and (TABLE_M0 << L) <= TABLE_MMAX:
            n = 1 << L
            c = cols[todo]
            h = gt[todo] / float(TABLE_M0 << L)
            gidx = (ks[todo] * n)[:, None] + np.arange(n)
            mid = column_point(
                (gidx + 0.5) * h[:, None],
                *(p[todo][:, None] for p in (gt, R, V, b)),
            )
            a = _power_form(P[:, :-1], P[:, 1:], h[:, None])  # (p, n, 12)
            ok = np.ones(todo.size, dtype=bool)
            for q in range(3):
                got = _horner(a[..., 4 * q : 4 * q + 4], 0.5)
                err = np.abs(got - mid[..., 2 * q])
                ok &= (err <= TABLE_RTOL * self.scale[c, q][:, None]).all(axis=1)
            done = np.flatnonzero(ok)
            self.level[c[done], ks[todo[done]]] = L
            self.off[c[done], ks[todo[done]]] = self.coef.size + 12 * n * np.arange(done.size)
            self.coef = np.concatenate([self.coef, a[done].ravel()])
            nxt = np.empty((todo.size, 2 * n + 1, 6))
            nxt[:, 0::2], nxt[:, 1::2] = P, mid
            P, todo = nxt[~ok], todo[~ok]
            L += 1
        self.level[cols[todo], ks[todo]] = -2  # finest level still too coarse: exact solves

    def evaluate(self, ga, col):
        """``i, x, d, pg`` (n, 4) of columns ``col`` at ``ga`` (parameters already set)."""
        out = np.zeros((ga.size, 4))
        trivial = self.trivial[col]
        if trivial.any():
            t = np.flatnonzero(trivial)
            R = self.params[col[t], 1]
            out[t, 0] = np.where((R <= 0) & (ga[t] > 0), ga[t] * self.fV[col[t]], 0.0)
            out[t, 2] = self.pV[col[t]]
        idx = np.flatnonzero(~trivial)
        if idx.size == 0:
            return out
        c, g = col[idx], ga[idx]
        u = g * self.inv_h0[c]
        k = np.clip(u.astype(np.int64), 0, TABLE_M0 - 1)
        pending = self.level[c, k] == -1
        if pending.any():
            pairs = np.unique(np.stack([c[pending], k[pending]]), axis=1)
            self.build(pairs[0], pairs[1])
        L = self.level[c, k]
        exact = L == -2
        if exact.any():
            e = np.flatnonzero(exact)
            gt, R, V, b = self.params[c[e]].T
            p = column_point(g[e], gt, R, V, b)
            out[idx[e], 1], out[idx[e], 2], out[idx[e], 3] = p[:, 0], p[:, 2], p[:, 4]
        tab = np.flatnonzero(~exact)
        if tab.size:
            n = np.left_shift(1, L[tab])
            w = (u[tab] - k[tab]) * n
            j = np.clip(w.astype(np.int64), 0, n - 1)
            s = w - j
            a = self.coef[(self.off[c[tab], k[tab]] + 12 * j)[:, None] + np.arange(12)]
            for q in range(3):
                out[idx[tab], 1 + q] = _horner(a[:, 4 * q : 4 * q + 4], s)
        out[idx, 0] = out[idx, 1] * self.inv_R[c]
        return out


_SETS: dict[int, _Set] = {}


def column_i(ga, gt, R, V, b, table_id, col):
    """Neuron currents of columns ``col`` of table set ``table_id`` (vectorised)."""
    ga, gt, R, V, b, col = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (ga, gt, R, V, b)), np.asarray(col)
    )
    ga, col = ga.ravel(), col.ravel().astype(np.int64)
    st = _SETS.setdefault(int(table_id), _Set())
    st.grow(int(col.max(initial=-1)) + 1)
    params = np.stack([a.ravel() for a in (gt, R, V, b)], axis=-1)
    changed = np.flatnonzero((st.params[col] != params).any(axis=-1))
    if changed.size:
        st.reset(col[changed], params[changed])
    out = st.evaluate(ga, col)
    st.cache[col] = out
    return out[:, 0]


def column_accessor(which: int):
    """Numpy implementation of the accessor of cached quantity ``which`` (1: x, 2: d, 3: pg)."""

    def accessor(table_id, col):
        st = _SETS[int(table_id)]
        return st.cache[np.asarray(col, dtype=np.int64), which]

    return accessor
