"""min_error, bias_column and qwsm: hand cases, exhaustive searches, exactness, properties."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_rram import SnnRramError, devices, mapping
from snn_rram.crossbar import Circuit
from snn_rram.mapping.qwsm import _best, _sides, column_transfer
from snn_rram.mapping.splits import best_splits, side_values

IDEAL_GND = Circuit(0.2, 1e-4, 0.0)
LOADED = Circuit(0.2, 1e-4, 500.0)


def small_device(values, model=None):
    return devices.Device(
        "d", model or devices.Linear(), devices.MeasuredLevels(values), source="test"
    )


def test_min_error_hand_case():
    """Levels {1, 2, 4} µS: achievable differences {0, ±1, ±2, ±3}; targets s·q."""
    dev = small_device([1e-6, 2e-6, 4e-6])
    w = np.array([[1.0, -1.0, 0.0]])  # 2 bits: Q = 1, levels -1, 0, +1
    m = mapping.min_error(w, dev, IDEAL_GND, bits=2)
    G = np.asarray(m.crossbar.G)
    diff = G[:, 0] - G[:, 1]
    s = m.report["scale"]
    # 1, 2 and 3 µS all fit exactly: equal error, so the cheapest (smallest) scale wins
    assert s == pytest.approx(1e-6, rel=1e-9)
    np.testing.assert_allclose(diff, [1e-6, -1e-6, 0.0], atol=1e-15)
    assert G[0].tolist() == [2e-6, 1e-6] and G[1].tolist() == [1e-6, 2e-6]
    assert G[2].tolist() == [1e-6, 1e-6]  # q = 0: the cheapest pair


def test_best_splits_is_exhaustive():
    rng = np.random.default_rng(0)
    L = np.sort(rng.uniform(1e-6, 2e-5, 9))
    for k in (1, 2):
        side = side_values(L, k)
        targets = rng.uniform(-3e-5, 3e-5, 40)
        _a, _b, err, _cost = best_splits(side, side, targets)
        brute = side.value[:, None] - side.value[None, :]  # all splits
        for t, e in zip(targets, err, strict=True):
            assert abs(e) == pytest.approx(np.min(np.abs(brute - t)), abs=1e-18)


def test_qwsm_search_is_exhaustive_per_column_pair():
    rng = np.random.default_rng(1)
    L = np.linspace(1e-6, 2e-5, 12)
    E_p = L[None, :] / (1 + 100 * rng.uniform(1e-3, 5e-3, (5, 1)))
    E_n = L[None, :] / (1 + 100 * rng.uniform(1e-3, 5e-3, (5, 1)))
    pos, neg = _sides(E_p, L, 1), _sides(E_n, L, 1)
    targets = rng.uniform(-1e-5, 1e-5, (5, 7))
    _a, _b, err, _ = _best(pos, neg, targets, 1e-6, 0.0, 1.0)
    for j in range(5):
        brute = E_p[j][:, None] - E_n[j][None, :]
        for t in range(7):
            assert abs(err[j, t]) == pytest.approx(
                np.min(np.abs(brute - targets[j, t])), abs=1e-18
            )


def test_scale_optimisation_beats_max_abs():
    rng = np.random.default_rng(2)
    w = rng.standard_t(3, size=(20, 60))
    dev = devices.load("neurosim_realdevice")
    m = mapping.min_error(w, dev, IDEAL_GND, bits=4)
    qz = mapping.quantize(w, 4)
    L = dev.levels.values
    side = side_values(L, 1)
    levels = np.arange(-qz.n_levels, qz.n_levels + 1)
    q = qz.q.ravel()
    counts = np.array([np.sum(q == v) for v in levels])

    def total(s):
        _, _, err, _ = best_splits(side, side, s * levels)
        return np.sum(counts * (err / s) ** 2)

    s_max_abs = (L[-1] - L[0]) / qz.n_levels
    assert total(m.report["scale"]) <= total(s_max_abs)
    assert (
        m.report["weight_rmse"]
        < mapping.linear_pair(w, dev, IDEAL_GND, bits=4).report["weight_rmse"]
    )


def test_reference_scheme_and_bias_column():
    dev = devices.load("ideal")
    w = np.random.default_rng(3).normal(size=(4, 10))
    for m in (
        mapping.min_error(w, dev, IDEAL_GND, bits=3, scheme="reference"),
        mapping.bias_column(w, dev, IDEAL_GND, bits=3, bias=np.ones(4) * 0.1),
    ):
        x = m.crossbar
        assert x.n_cols == 5 and x.layout.readout.toarray()[4].tolist() == [-1] * 4
        assert np.all(np.asarray(x.G)[:, 4] == m.report["g_ref"])
        assert x.solver == "closed_form"
    m = mapping.bias_column(w, dev, IDEAL_GND, bits=3)
    np.testing.assert_allclose(m.effective_weight, m.nominal_weight, rtol=1e-12, atol=1e-12)
    with pytest.raises(SnnRramError, match="reference_level"):
        mapping.bias_column(w, dev, IDEAL_GND, bits=3, reference_level=0)
    with pytest.raises(SnnRramError, match="parallel: the reference scheme"):
        mapping.min_error(w, dev, IDEAL_GND, bits=3, scheme="reference", parallel=2)


def test_parallel_devices_share_an_input():
    dev = small_device([1e-6, 3e-6, 9e-6])
    w = np.random.default_rng(4).normal(size=(3, 5))
    m = mapping.min_error(w, dev, IDEAL_GND, bits=4, parallel=2)
    x = m.crossbar
    assert x.n_rows == 10 and x.layout.row_input.tolist() == np.repeat(np.arange(5), 2).tolist()
    one = mapping.min_error(w, dev, IDEAL_GND, bits=4)
    assert m.report["weight_rmse"] <= one.report["weight_rmse"] + 1e-12


def test_per_device_variation_is_known_and_compensated():
    base = devices.load("default")
    noisy = devices.Device(
        "noisy",
        base.read_model,
        base.levels,
        devices.Variation(programming_sigma=0.15),
        source="test",
    )
    w = np.random.default_rng(5).normal(size=(16, 80))
    after = mapping.min_error(w, noisy, IDEAL_GND, bits=4, seed=1)
    known = mapping.min_error(w, noisy, IDEAL_GND, bits=4, seed=1, per_device=True)
    assert known.report["per_device"]
    assert known.report["weight_rmse"] < 0.5 * after.report["weight_rmse"]


@pytest.mark.parametrize("device", ["ideal", "sinh_mild"])
@pytest.mark.parametrize(
    "circuit", [LOADED, Circuit(0.2, 1e-4, 300.0, inactive_rows="float")], ids=["ground", "float"]
)
def test_qwsm_effective_weights_are_single_row_reads(device, circuit):
    dev = devices.load(device)
    w = np.random.default_rng(6).normal(size=(4, 12))
    m = mapping.qwsm(w, dev, circuit, bits=4, bias=np.array([0.5, -0.2, 0.0, 0.1]), bias_duty=0.5)
    x = m.crossbar
    for i in range(12):
        one = np.zeros(x.n_rows, dtype=bool)
        one[i] = True
        out = x.read(one).output()[0] / (x.circuit.v_read * m.g_per_weight)
        np.testing.assert_allclose(m.effective_weight[:, i], out, rtol=1e-9)
    assert m.report["passes"] >= 1 and isinstance(m.report["converged"], bool)


def test_qwsm_compensates_distortion_and_spends_less():
    dev = devices.load("default")
    w = np.random.default_rng(7).normal(size=(16, 200))
    lp = mapping.linear_pair(w, dev, LOADED, bits=4)
    qw = mapping.qwsm(w, dev, LOADED, bits=4)
    assert qw.report["weight_rmse"] < 0.5 * lp.report["weight_rmse"]
    assert np.mean(qw.crossbar.G) < np.mean(lp.crossbar.G)
    assert qw.report["converged"] and qw.report["objective"] <= qw.report["objective_linear_pair"]


def test_column_transfer_closed_form():
    dev = devices.load("ideal")
    L = dev.levels.values
    T = np.array([1e-3, 5e-3])
    E = column_transfer(L, T, dev, LOADED, np.array([500.0, 500.0]))
    np.testing.assert_allclose(E, L[None, :] / (1 + 500 * T[:, None]), rtol=1e-14)
    fl = Circuit(0.2, 1e-4, 500.0, inactive_rows="float")
    E = column_transfer(L, T, dev, fl, np.array([500.0, 500.0]))
    np.testing.assert_allclose(E, np.broadcast_to(L / (1 + 500 * L), E.shape), rtol=1e-14)


METHODS = [
    ("linear_pair", {}),
    ("min_error", {}),
    ("min_error", {"scheme": "reference"}),
    ("bias_column", {}),
    ("qwsm", {}),
]


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["ideal", "default", "neurosim_realdevice"]),
    st.integers(2, 5),
    st.sampled_from(range(len(METHODS))),
    st.integers(0, 2**31),
    st.booleans(),
)
def test_conductances_stay_on_the_level_set(card, bits, which, seed, sparse):
    dev = devices.load(card)
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(5, 9))
    if sparse:
        w = sp.csr_matrix(w * (rng.random(w.shape) < 0.5))
        if w.nnz == 0:
            return
    name, kw = METHODS[which]
    G = mapping.get(name)(w, dev, LOADED, bits=bits, **kw).crossbar.G
    data = G.data if sp.issparse(G) else np.asarray(G).ravel()
    assert dev.levels.contains(data).all()
    assert data.min() >= dev.levels.g_min and data.max() <= dev.levels.g_max


def test_all_methods_registered():
    assert {"linear_pair", "min_error", "bias_column", "qwsm"} <= set(mapping.available())
    assert list(itertools.islice(mapping.available(), 1))
