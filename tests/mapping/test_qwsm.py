"""QWSM: the objective against brute force, the monotone guarantee, convergence, the power knob."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_rram import SnnRramError, devices, mapping
from snn_rram.crossbar import Circuit
from snn_rram.mapping import MappingWarning
from snn_rram.mapping.qwsm import objective

CARDS = [
    "default",
    "default_linear",
    "sinh_strong",
    "neurosim_realdevice",
    "measured_4level",
    "measured_8level",
]


def _pairs(m):
    """G+, G− (n_out, n_in) and the bias pairs of a one-device-per-side mapping."""
    G = np.asarray(m.crossbar.G)
    n_in = m.crossbar.layout.n_inputs
    bias = (G[n_in, 0::2], G[n_in, 1::2]) if G.shape[0] > n_in else (None, None)
    return G[:n_in, 0::2].T, G[:n_in, 1::2].T, *bias


def _brute_objective(w, b, gp, gm, bgp, bgm, dev, circuit, bits, g, duty, act, lam):
    """J by loops: every input's rows read alone on the exact array, groups by level."""
    n_out, n_in = w.shape
    xbar = mapping.differential_crossbar(gp, gm, bgp, bgm, dev, circuit, None)
    qz = mapping.quantize(w, bits)
    Q = qz.n_levels
    eff = np.zeros((n_out, n_in + 1))
    for i in range(xbar.n_rows):
        one = np.zeros(xbar.n_rows, dtype=bool)
        one[i] = True
        eff[:, i] = xbar.read(one).output()[0] / (circuit.v_read * g)
    mean_act = float(np.mean(act))
    sums, num, den, cost_num, cost_den = {}, 0.0, {}, 0.0, 0.0
    for j in range(n_out):
        entries = [(i, int(qz.q[j, i]), act[i], gp[j, i] + gm[j, i]) for i in range(n_in)]
        qb = int(np.clip(np.rint(b[j] * duty / qz.step), -Q, Q))
        entries.append((n_in, qb, mean_act, bgp[j] + bgm[j]))
        for i, q, mu, cost in entries:
            e = eff[j, i] / qz.step - q  # against the quantised weights
            var = mu * (1 - mu)
            sums[j, q] = sums.get((j, q), 0.0) + mu * e
            den[j, q] = den.get((j, q), 0.0) + np.array([mu, var])
            num += var * e * e
            cost_num += mu * cost
            cost_den += mu
    err = (num + sum(v * v for v in sums.values())) / sum(m * m + v for m, v in den.values())
    power = cost_num / cost_den / (2 * dev.levels.g_max)
    return err, power


@pytest.mark.parametrize("card", ["default", "default_linear", "measured_4level"])
def test_objective_equals_brute_force(card):
    dev = devices.load(card)
    circuit = Circuit(0.2, 1e-4, 1000.0)
    rng = np.random.default_rng(11)
    w = rng.normal(size=(3, 5))
    b = rng.normal(size=3) * 2
    L = dev.levels.values
    gp, gm = rng.choice(L, size=w.shape), rng.choice(L, size=w.shape)
    bgp, bgm = rng.choice(L, size=3), rng.choice(L, size=3)
    act = rng.uniform(0.05, 0.9, 5)
    kw = {"bias": b, "bias_gp": bgp, "bias_gm": bgm, "bias_duty": 0.1, "activity": act}
    o = objective(w, gp, gm, dev, circuit, bits=3, g_per_weight=2e-6, power_weight=0.7, **kw)
    err, power = _brute_objective(w, b, gp, gm, bgp, bgm, dev, circuit, 3, 2e-6, 0.1, act, 0.7)
    assert o.error == pytest.approx(err, rel=1e-9)
    assert o.power == pytest.approx(power, rel=1e-12)
    assert o.total == pytest.approx(err + 0.7 * power, rel=1e-9)


def test_report_objective_is_the_objective_of_the_mapping():
    dev = devices.load("default")
    circuit = Circuit(0.2, 1e-4, 1000.0)
    rng = np.random.default_rng(12)
    w, b = rng.normal(size=(6, 40)), rng.normal(size=6) * 0.2
    for method in ("qwsm", "linear_pair"):
        m = mapping.get(method)(w, dev, circuit, bits=4, bias=b, bias_duty=0.05)
        gp, gm, bgp, bgm = _pairs(m)
        lam = 1.0
        o = objective(
            w, gp, gm, dev, circuit, bits=4, g_per_weight=m.g_per_weight, bias=b,
            bias_gp=bgp, bias_gm=bgm, bias_duty=0.05, power_weight=lam,
        )  # fmt: skip
        if method == "qwsm":
            lam = m.report["power_weight"]
            o = objective(
                w, gp, gm, dev, circuit, bits=4, g_per_weight=m.g_per_weight, bias=b,
                bias_gp=bgp, bias_gm=bgm, bias_duty=0.05, power_weight=lam,
            )  # fmt: skip
            assert o.total == pytest.approx(m.report["objective"], rel=1e-9)
            qwsm_report = m.report
        else:  # the report's linear_pair figure is the objective of linear_pair's own mapping
            o = objective(
                w, gp, gm, dev, circuit, bits=4, g_per_weight=m.g_per_weight, bias=b,
                bias_gp=bgp, bias_gm=bgm, bias_duty=0.05,
                power_weight=qwsm_report["power_weight"],
            )  # fmt: skip
            assert o.total == pytest.approx(qwsm_report["objective_linear_pair"], rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(CARDS),
    st.sampled_from([0.0, 100.0, 1000.0, 3000.0]),
    st.integers(2, 5),
    st.integers(1, 6),
    st.integers(2, 30),
    st.sampled_from(["auto", 0.0, 0.3, 3.0]),
    st.integers(0, 2**31),
)
def test_never_above_linear_pair_or_min_error(card, r_n, bits, n_out, n_in, lam, seed):
    dev = devices.load(card)
    rng = np.random.default_rng(seed)
    w = rng.standard_t(4, size=(n_out, n_in))
    circuit = Circuit(0.2, 1e-4, r_n)
    r = mapping.qwsm(w, dev, circuit, bits=bits, power_weight=lam).report
    assert r["objective"] <= r["objective_linear_pair"] * (1 + 1e-9) + 1e-15
    if r["power_weight_mode"] != "auto (budget per neuron)":  # else min_error is over budget
        assert r["objective"] <= r["objective_min_error"] * (1 + 1e-9) + 1e-15
    h = r["objective_history"]
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(h))  # monotone
    if lam == "auto":
        lp = mapping.linear_pair(w, dev, circuit, bits=bits)
        gp, gm, _, _ = _pairs(lp)
        o = objective(w, gp, gm, dev, circuit, bits=bits, g_per_weight=lp.g_per_weight)
        assert r["objective_power"] <= o.power * (1 + 1e-9)  # the default power budget


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
@pytest.mark.parametrize("card", ["default", "measured_4level", "neurosim_realdevice"])
def test_converges_on_small_layers(bits, card):
    dev = devices.load(card)
    w = np.random.default_rng(bits).normal(size=(8, 60))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MappingWarning)
        m = mapping.qwsm(w, dev, Circuit(0.2, 1e-4, 1000.0), bits=bits)
    r = m.report
    assert r["converged"] and r["passes"] < 50 and r["warnings"] == []
    assert 1 <= r["distinct_effective_weights_min"] <= 2**bits - 1


def test_non_convergence_warns_and_is_stored():
    dev = devices.load("default")
    w = np.random.default_rng(13).normal(size=(16, 200))
    with pytest.warns(MappingWarning, match="did not converge"):
        m = mapping.qwsm(w, dev, Circuit(0.2, 1e-4, 1000.0), bits=5, max_passes=1)
    assert not m.report["converged"] and m.report["warnings"]


def test_deterministic_with_a_seed():
    base = devices.load("default")
    noisy = devices.Device(
        "noisy", base.read_model, base.levels, devices.Variation(programming_sigma=0.1),
        source="test",
    )  # fmt: skip
    w = np.random.default_rng(14).normal(size=(5, 30))
    circuit = Circuit(0.2, 1e-4, 1000.0)
    a = mapping.qwsm(w, noisy, circuit, bits=4, seed=3)
    b = mapping.qwsm(w, noisy, circuit, bits=4, seed=3)
    np.testing.assert_array_equal(np.asarray(a.crossbar.G), np.asarray(b.crossbar.G))
    assert a.report == b.report
    c = mapping.qwsm(w, noisy, circuit, bits=4, seed=4)
    assert not np.array_equal(np.asarray(a.crossbar.G), np.asarray(c.crossbar.G))


def test_power_weight_trades_error_for_power():
    dev = devices.load("default")
    w = np.random.default_rng(15).normal(size=(12, 150))
    circuit = Circuit(0.2, 1e-4, 1000.0)
    lo = mapping.qwsm(w, dev, circuit, bits=4, power_weight=0.0).report
    hi = mapping.qwsm(w, dev, circuit, bits=4, power_weight=10.0).report
    assert hi["objective_power"] < 0.8 * lo["objective_power"]
    assert lo["objective_error"] < 0.1 * lo["objective_linear_pair"]  # λ = 0: error alone
    assert lo["power_weight"] == 0.0 and lo["power_weight_mode"] == "fixed"
    auto = mapping.qwsm(w, dev, circuit, bits=4).report
    assert auto["power_weight_mode"].startswith("auto") and auto["power_weight"] > 0


def test_parallel_devices_give_a_few_level_card_more_weights():
    dev = devices.load("measured_4level")
    w = np.random.default_rng(16).normal(size=(6, 40))
    circuit = Circuit(0.2, 1e-4, 100.0)
    one = mapping.qwsm(w, dev, circuit, bits=5, power_weight=0.0)
    two = mapping.qwsm(w, dev, circuit, bits=5, power_weight=0.0, parallel=2)
    assert two.crossbar.n_rows == 2 * 40
    assert two.report["distinct_effective_weights"] > one.report["distinct_effective_weights"]
    assert two.report["objective_error"] < one.report["objective_error"]


def test_sparse_layer_and_activity():
    dev = devices.load("default")
    rng = np.random.default_rng(17)
    w = sp.random(6, 30, density=0.4, random_state=1, data_rvs=rng.standard_normal).tocsr()
    act = np.r_[np.zeros(10), np.ones(20) * 0.3]
    m = mapping.qwsm(w, dev, Circuit(0.2, 1e-4, 1000.0), bits=4, activity=act)
    assert sp.issparse(m.effective_weight) and m.report["activity_weighted"]
    G = m.crossbar.G.tocsr()
    gp, gm = sp.csr_matrix(G[:, 0::2].T), sp.csr_matrix(G[:, 1::2].T)
    o = objective(
        w, gp, gm, dev, m.crossbar.circuit, bits=4, g_per_weight=m.g_per_weight,
        activity=act, power_weight=m.report["power_weight"],
    )  # fmt: skip
    assert o.total == pytest.approx(m.report["objective"], rel=1e-9)
    plain = mapping.qwsm(w, dev, Circuit(0.2, 1e-4, 1000.0), bits=4)
    assert not plain.report["activity_weighted"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"power_weight": "max"}, "power_weight"),
        ({"power_weight": -1.0}, "power_weight"),
        ({"power_weight": True}, "power_weight"),
        ({"activity": np.ones(3)}, "activity"),
        ({"activity": np.full(10, 2.0)}, "activity"),
        ({"max_passes": 0}, "max_passes"),
    ],
)
def test_bad_options(kw, match):
    w = np.ones((2, 10))
    with pytest.raises(SnnRramError, match=match):
        mapping.qwsm(w, devices.load("default"), Circuit(0.2, 1e-4, 100.0), bits=3, **kw)
