"""The tabulated sinh column solve (numpy twin of the C++ header)."""

import numpy as np

from snn_rram.snn import tables


def _read(ga, gt, table_id):
    cols = np.arange(gt.size)
    i = tables.column_i(ga, gt, 100.0, 0.2, 2.0, table_id, cols)
    return i, tables.column_accessor(2)(table_id, cols), tables.column_accessor(3)(table_id, cols)


def test_tables_agree_with_the_exact_solve_where_they_are_read():
    rng = np.random.default_rng(0)
    gt = rng.uniform(2e-3, 1e-2, 64)
    exact_max = tables.column_point(gt, gt, 100.0, 0.2, 2.0)
    scale = np.maximum(np.abs(tables.column_point(0 * gt, gt, 100.0, 0.2, 2.0)), exact_max)
    for frac in (0.02, 0.3, 1.0):
        ga = gt * rng.uniform(0, frac, gt.size)
        i, d, pg = _read(ga, gt, 9001)
        p = tables.column_point(ga, gt, 100.0, 0.2, 2.0)
        for got, q in ((i * 100.0, 0), (d, 2), (pg, 4)):
            assert (np.abs(got - p[:, q]) <= 1e-11 * scale[:, q]).all()
    # ga = 0 and ga = gt are knots: exact values
    i, d, pg = _read(0 * gt, gt, 9001)
    assert (i == 0).all() and (pg == 0).all()
    np.testing.assert_allclose(d, 0.2 * np.sinh(0.4) / 2.0, rtol=1e-15)


def test_only_the_coarse_intervals_read_are_built_and_reruns_do_not_pile_up():
    gt = np.full(10, 5e-3)
    _read(gt * 0.01, gt, 9002)
    st = tables._SETS[9002]
    assert (st.level[:, 0] >= 0).all() and (st.level[:, 1:] == -1).all()
    sizes = []
    for k in range(30):  # new conductances each time, as reruns of a runtime network
        _read(gt * 0.5, gt * (1 + 0.01 * k), 9002)
        sizes.append(st.coef.size)
    assert max(sizes) <= 2 * sizes[0] + 1024
