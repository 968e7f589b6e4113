"""The PCSA read of 2T2R pairs: closed form vs Monte Carlo, limits, energy vs integration."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad, solve_ivp

from snn_rram import devices
from snn_rram.crossbar import PCSA, TwoStateCells, program_2t2r
from snn_rram.errors import SnnRramError

CELLS = TwoStateCells(g_lrs=2e-5, g_hrs=1e-6, sigma_lrs=0.1, sigma_hrs=0.3)


def _binomial_tolerance(p, n):
    return 5 * np.sqrt(p * (1 - p) / n) + 2e-3


@pytest.mark.parametrize(
    ("vdd", "sigma_offset", "g_bl", "g_blb"),
    [
        (0.55, 0.01, 1e-6, 1e-6),  # (HRS, HRS) in the near-threshold window
        (0.5, 0.08, 1.1e-6, 0.9e-6),  # an offset large enough to matter
        (1.2, 0.05, 1e-6, 1.05e-6),  # nominal supply, nearly equal branches
        (0.46, 0.02, 2e-5, 1e-6),  # an (LRS, HRS) pair near the end of the window
        (0.38, 0.3, 2e-5, 2e-5),  # below v_trip: only a large offset trips a branch
    ],
)
def test_monte_carlo_agrees_with_closed_form(vdd, sigma_offset, g_bl, g_blb):
    pcsa = PCSA(vdd, sigma_offset=sigma_offset)
    n = 200_000
    out = pcsa.read(np.full(n, g_bl), g_blb, rng=7)
    measured = np.array([(out == k).mean() for k in (-1, 0, 1)])
    expected = pcsa.outcome_probabilities(g_bl, g_blb)
    assert expected.shape == (3,)
    assert expected.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.abs(measured - expected) <= _binomial_tolerance(expected, n))


def test_array_statistics_agree_with_monte_carlo_over_devices():
    """error_rates' quadrature over the log-normal devices vs programming + reading many pairs."""
    for vdd in (0.5, 0.55, 1.2):
        pcsa = PCSA(vdd)
        rates = pcsa.error_rates(CELLS, "ternary")
        n = 60_000
        for s, w in enumerate((-1, 0, 1)):
            g_bl, g_blb = program_2t2r(np.full(n, w), CELLS, rng=s)
            out = pcsa.read(g_bl, g_blb, rng=100 + s)
            measured = np.array([(out == k).mean() for k in (-1, 0, 1)])
            expected = rates.confusion[s]
            assert np.all(np.abs(measured - expected) <= _binomial_tolerance(expected, n) + 5e-3)


def test_high_supply_resolves_hrs_pairs_at_random_low_supply_trips_nothing():
    high = PCSA(3.0).error_rates(CELLS, "ternary")
    assert high.confusion[1] == pytest.approx([0.5, 0.0, 0.5], abs=1e-9)
    assert high.confusion[0] == pytest.approx([1, 0, 0], abs=1e-9)
    assert high.zero_to_nonzero == pytest.approx(1 / 3, abs=1e-9)
    low = PCSA(0.2).error_rates(CELLS, "ternary")
    assert low.confusion[:, 1] == pytest.approx(1.0, abs=1e-12)
    # identical branches: exactly 50/50 by symmetry, in the closed form and in the reads
    p = PCSA(1.2, sigma_offset=0.0).outcome_probabilities(1e-6, 1e-6)
    assert p == pytest.approx([0.5, 0.0, 0.5], abs=1e-15)
    out = PCSA(1.2, sigma_offset=0.0).read(np.full(40_000, 1e-6), 1e-6, rng=3)
    assert abs(out.mean()) < 0.02 and not (out == 0).any()


def test_near_threshold_window_reads_hrs_pairs_as_zero():
    """The papers' claim, in the model: a supply where (HRS, HRS) reads 0 and ±1 stay right."""
    supplies = np.round(np.arange(0.40, 1.21, 0.02), 2)
    rates = {v: PCSA(v).error_rates(CELLS, "ternary", n_quadrature=64) for v in supplies}
    good = [v for v, r in rates.items() if r.ber < 1e-3]
    assert good and max(good) < 0.6  # only near threshold
    assert rates[max(rates)].zero_to_nonzero > 0.3  # at nominal supply 0 resolves to ±1
    binary = PCSA(1.2).error_rates(CELLS, "binary")
    assert binary.ber < 1e-9


def test_error_types_add_up_and_sign_flips_come_from_overlap():
    overlapping = TwoStateCells(g_lrs=2e-6, g_hrs=1e-6, sigma_lrs=0.6, sigma_hrs=0.6)
    r = PCSA(1.2).error_rates(overlapping, "ternary")
    assert np.allclose(r.confusion.sum(axis=1), 1.0)
    assert r.ber == pytest.approx(r.zero_to_nonzero + r.nonzero_to_zero + r.sign_flip)
    assert r.sign_flip > 0.05
    assert PCSA(1.2).error_rates(CELLS, "ternary").sign_flip < 1e-12


@settings(max_examples=60, deadline=None)
@given(
    vdd=st.floats(0.45, 2.0),
    g=st.floats(1e-7, 1e-3),
    factor=st.floats(1.0001, 100.0),
    offset=st.floats(-0.05, 0.05),
)
def test_trip_time_falls_as_conductance_rises(vdd, g, factor, offset):
    pcsa = PCSA(vdd)
    slow, _ = pcsa.trip_times(g, g, offset)
    fast, _ = pcsa.trip_times(g * factor, g, offset)
    assert fast < slow or (fast == slow == 0.0)
    # the outcome probability of +1 grows with the BL conductance
    p_lo = pcsa.outcome_probabilities(g, 1e-6)[2]
    p_hi = pcsa.outcome_probabilities(g * factor, 1e-6)[2]
    assert p_hi >= p_lo - 1e-12


def _integrated_read(pcsa, g_bl, g_blb):
    """One read by integrating both branch discharges with an ODE solver (σ_offset = 0)."""
    r_acc = pcsa.r_access_at_vdd
    r = np.array([1 / g_bl, 1 / g_blb])
    c, v = pcsa.c_node, pcsa.vdd

    def rhs(t, y):
        return -y / (c * (r + r_acc))

    def trips(i):
        event = lambda t, y: y[i] - (v - pcsa.v_trip)  # noqa: E731
        event.terminal = True
        return event

    sol = solve_ivp(
        rhs,
        (0, pcsa.t_sense),
        [v, v],
        events=[trips(0), trips(1)],
        rtol=1e-12,
        atol=1e-18,
        dense_output=True,
    )
    hit = [len(e) > 0 for e in sol.t_events]
    t_end = sol.t[-1]
    currents = lambda t: sol.sol(t) / (r + r_acc)  # noqa: E731
    device = sum(
        quad(lambda t, i=i: currents(t)[i] ** 2 * r[i], 0, t_end, epsabs=0, epsrel=1e-11)[0]
        for i in range(2)
    )
    charge = [
        quad(lambda t, i=i: currents(t)[i], 0, t_end, epsabs=0, epsrel=1e-11)[0] for i in range(2)
    ]
    if not any(hit):  # both nodes recharged from where they stopped
        return 0, v * sum(charge), device
    winner = 0 if hit[0] else 1
    v_loser = v - charge[1 - winner] / c
    supply = c * v * v + c * v * (v - v_loser)  # winner to 0 and back; loser restored
    return (1 if winner == 0 else -1), supply, device


@pytest.mark.parametrize(
    ("vdd", "g_bl", "g_blb"), [(1.2, 2e-5, 1e-6), (0.5, 1e-6, 2e-5), (0.5, 1e-6, 1.2e-6)]
)
def test_energy_agrees_with_direct_integration(vdd, g_bl, g_blb):
    pcsa = PCSA(vdd, sigma_offset=0.0)
    outcome, supply, device = _integrated_read(pcsa, g_bl, g_blb)
    out, energy = pcsa.read(g_bl, g_blb, rng=0, return_energy=True)
    assert out == outcome
    assert energy == pytest.approx(supply, rel=1e-8)
    mean, in_devices = pcsa.read_energy(g_bl, g_blb)
    assert mean == pytest.approx(supply, rel=1e-8)
    assert in_devices == pytest.approx(device, rel=1e-7)
    assert 0 < in_devices < mean <= 2 * pcsa.c_node * vdd**2


def test_energy_grows_with_supply():
    e = [PCSA(v).error_rates(CELLS).mean_energy for v in (0.5, 0.8, 1.2)]
    assert e[0] < e[1] < e[2]


def test_programming_encodes_and_is_seeded():
    w = np.array([[1, 0, -1], [-1, 1, 0]])
    g_bl, g_blb = program_2t2r(w, TwoStateCells(2e-5, 1e-6), rng=0)
    assert np.array_equal(g_bl, np.where(w > 0, 2e-5, 1e-6))
    assert np.array_equal(g_blb, np.where(w < 0, 2e-5, 1e-6))
    a = program_2t2r(np.ones(5000, int), CELLS, rng=4)
    b = program_2t2r(np.ones(5000, int), CELLS, rng=4)
    assert np.array_equal(a[0], b[0])
    log_r = -np.log(a[0])
    assert np.median(log_r) == pytest.approx(-np.log(2e-5), abs=0.01)
    assert np.std(log_r) == pytest.approx(0.1, rel=0.05)
    assert np.std(-np.log(a[1])) == pytest.approx(0.3, rel=0.05)
    with pytest.raises(SnnRramError, match="weights"):
        program_2t2r([0, 1], CELLS, rng=0, encoding="binary")


def test_cells_from_a_device_card():
    card = devices.load("default")
    cells = TwoStateCells.from_device(card, sigma_hrs=0.2)
    assert cells.g_lrs == card.levels.values.max() and cells.g_hrs == card.levels.values.min()
    assert cells.sigma_hrs == 0.2 and cells.sigma_lrs == 0.0
    assert PCSA(0.5).error_rates(card).encoding == "ternary"


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: PCSA(-1.0), "PCSA.vdd"),
        (lambda: PCSA(1.0, c_node=0.0), "PCSA.c_node"),
        (lambda: PCSA(1.0, sigma_offset=-0.1), "PCSA.sigma_offset"),
        (lambda: PCSA(1.0, subthreshold_slope=0.5), "PCSA.subthreshold_slope"),
        (lambda: PCSA("1 V"), "PCSA.vdd"),
        (lambda: TwoStateCells(1e-6, 2e-5), "g_lrs must exceed g_hrs"),
        (lambda: TwoStateCells(2e-5, 1e-6, sigma_hrs=-1), "TwoStateCells.sigma_hrs"),
        (lambda: PCSA(1.0).read([1e-6, -1e-6], 1e-6, rng=0), "g_bl"),
        (lambda: PCSA(1.0).read(1e-6, [np.nan], rng=0), "g_blb"),
        (lambda: PCSA(1.0).read(1e-6, 1e-6, rng=None), "rng"),
        (lambda: PCSA(1.0).outcome_probabilities([1e-6, 0.0], 1e-6), "g_bl"),
        (lambda: program_2t2r([0.5], CELLS, rng=0), "weights"),
        (lambda: program_2t2r(["a"], CELLS, rng=0), "weights"),
        (lambda: program_2t2r([1], "cells", rng=0), "cells"),
        (lambda: PCSA(1.0).error_rates(CELLS, "quaternary"), "encoding"),
        (lambda: PCSA(1.0).error_rates(CELLS, prior=[0.5, 0.5, 0.5]), "prior"),
        (lambda: PCSA(1.0).error_rates(CELLS, n_quadrature=0), "n_quadrature"),
    ],
)
def test_bad_input_is_refused(make, field):
    with pytest.raises(SnnRramError, match=field):
        make()
