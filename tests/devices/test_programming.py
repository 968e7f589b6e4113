import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_rram import SnnRramError, devices
from snn_rram.devices.programming import Programming, _a_signed, _a_signed_array


def _card():
    return devices.load("neurosim_realdevice").programming


def test_neurosim_card_programming():
    pr = _card()
    assert (pr.n, pr.nl_ltp, pr.nl_ltd, pr.sigma_c2c) == (97, 2.4, -4.88, 0.035)
    assert (pr.g_min, pr.g_max) == (3.0769e-9, 3.8462e-8)


@pytest.mark.parametrize("nl", [0.0, 1.0, 2.4, 5.0])
def test_noise_free_pulses_land_on_potentiation_levels(nl):
    pr = Programming(3.0769e-9, 3.8462e-8, 97, nl, -4.88)
    levels = devices.PotentiationLevels(pr.g_min, pr.g_max, 97, nl)
    np.testing.assert_array_equal(pr.levels().values, levels.values)
    span = pr.g_max - pr.g_min
    at_once = pr.apply_pulses(np.full(97, pr.g_min), np.arange(97), 0)
    np.testing.assert_allclose(at_once, levels.values, rtol=0, atol=1e-12 * span)
    g, seq = np.array([pr.g_min]), []
    for _ in range(96):  # one pulse at a time: p_eff from the inverse each time
        g = pr.apply_pulses(g, 1, 0)
        seq.append(g[0])
    np.testing.assert_allclose(seq, levels.values[1:], rtol=0, atol=1e-12 * span)


def test_depression_mirrors_potentiation_for_negative_label():
    pr = Programming(1e-6, 1e-5, 50, 2.4, -2.4)
    q = np.arange(50)
    g_ltd = pr.conductance_ltd(q)  # from g_max down
    g_ltp = pr.conductance_ltp(q)
    np.testing.assert_allclose(g_ltd, pr.g_max + pr.g_min - g_ltp, rtol=1e-12)
    steps = -np.diff(g_ltd)
    assert steps[0] > 3 * steps[-1]  # big steps first
    # pulse by pulse from g_max follows the closed form
    g = pr.apply_pulses(np.full(50, pr.g_max), -q, 0)
    np.testing.assert_allclose(g, g_ltd, rtol=1e-12)
    # a positive LTD label retraces the potentiation shape: small steps near g_max
    retrace = Programming(1e-6, 1e-5, 50, 2.4, 2.4)
    np.testing.assert_allclose(retrace.conductance_ltd(q), g_ltp[::-1], rtol=1e-12)


def test_saturation_and_shapes():
    pr = Programming(1e-6, 1e-5, 20, 3.0, -3.0)
    G = np.array([[pr.g_min, pr.g_max], [pr.g_max, pr.g_min]])
    n = np.array([[-7, 9], [500, -500]])
    out = pr.apply_pulses(G, n, 3)
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out, [[pr.g_min, pr.g_max], [pr.g_max, pr.g_min]])
    # with noise, a saturating train ends within one pulse's error of the end
    pr = Programming(1e-6, 1e-5, 20, 3.0, -3.0, sigma_c2c=0.05)
    out = pr.apply_pulses(np.full(2000, 5e-6), 500, 3)
    assert np.all(out >= pr.g_max - 4 * 0.05 * 9e-6) and np.mean(out == pr.g_max) > 0.4
    big = pr.apply_pulses(np.full((3, 4, 5), 5e-6), np.full((3, 4, 5), 1000), 1)
    assert np.all((big >= pr.g_min) & (big <= pr.g_max))
    assert np.all(pr.apply_pulses(np.full(3, 5e-6), 0, 1) == 5e-6)  # no pulse, no noise


def test_seeded():
    pr = _card()
    G = np.full(100, 2e-8)
    n = np.arange(-50, 50)
    np.testing.assert_array_equal(pr.apply_pulses(G, n, 7), pr.apply_pulses(G, n, 7))
    assert not np.array_equal(pr.apply_pulses(G, n, 7), pr.apply_pulses(G, n, 8))


@pytest.mark.parametrize("mode", ["aggregate", "per_pulse"])
def test_noise_statistics(mode):
    # linear device, mid-range, no saturation: mean follows the curve, σ = σ_c2c·range·√|n|
    pr = Programming(0.0, 1.0, 101, 0.0, 0.0, sigma_c2c=0.01)
    G = np.full(40_000, 0.5)
    for n in (1, 4, -9):
        out = pr.apply_pulses(G, n, 11, mode=mode)
        assert abs(out.mean() - (0.5 + n / 100)) < 4 * 0.01 * abs(n) ** 0.5 / 200
        assert abs(out.std() / (0.01 * abs(n) ** 0.5) - 1) < 0.03


def test_area_scaling():
    small = Programming(1e-6, 1e-5, 50, 2.4, -4.88, sigma_c2c=0.035, pulse_energy=1e-12)
    big = small.scaled(10.0)
    assert (big.g_min, big.g_max, big.pulse_energy) == pytest.approx((1e-5, 1e-4, 1e-11))
    assert big.sigma_c2c == pytest.approx(0.035 / 10**0.5)
    assert small.scaled(10.0, noise_exponent=0).sigma_c2c == 0.035
    p = np.arange(50)
    np.testing.assert_allclose(big.conductance_ltp(p), 10 * small.conductance_ltp(p), rtol=1e-12)
    # the absolute noise of a pulse grows only as √γ
    out = big.apply_pulses(np.full(20_000, 5e-5), 1, 0) - big.conductance_ltp(
        np.interp(5e-5, big.conductance_ltp(p), p) + 1
    )
    sigma_abs = 0.035 / 10**0.5 * 9e-5
    assert abs(out.std() / sigma_abs - 1) < 0.05


def test_vectorised_a_matches_scalar():
    nl = np.array([0.0, 0.3, 1.0, 2.4, -4.88, 7.5, -9.5])
    a = _a_signed_array(nl, 96)
    expected = [_a_signed(float(x), 96) for x in nl]
    np.testing.assert_allclose(a, expected, rtol=1e-10)


def test_device_to_device_variation():
    pr = Programming(1e-6, 1e-5, 50, 2.4, -4.88, d2d_g_min=0.1, d2d_g_max=0.1, d2d_nl=0.5)
    a, b = pr.draw((30, 40), 5), pr.draw((30, 40), 5)
    for name in ("g_min", "g_max", "a_ltp", "a_ltd"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).shape == (30, 40)
    assert abs(a.g_max.std() / 1e-6 - 1) < 0.15
    assert np.all(a.g_max > a.g_min) and np.all(a.a_ltd < 0)
    out = a.apply_pulses(a.g_min, np.full((30, 40), 49), 0)
    np.testing.assert_allclose(out, a.g_max, rtol=1e-12)  # each device reaches its own g_max
    nominal = Programming(1e-6, 1e-5, 50, 2.4, -4.88).draw((3,), 0)
    np.testing.assert_allclose(nominal.a_ltp, pr.nominal().a_ltp, rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.0, 1.0),
    st.integers(0, 300),
    st.floats(-9.0, 9.0),
    st.integers(2, 300),
)
def test_potentiation_never_decreases_conductance(f, pulses, nl, n):
    pr = Programming(1e-6, 1e-5, n, nl, -nl)
    G = 1e-6 + 9e-6 * f
    out = pr.apply_pulses(G, pulses, 0)
    assert out >= G * (1 - 1e-12) and out <= 1e-5
    down = pr.apply_pulses(G, -pulses, 0)
    assert down <= G * (1 + 1e-12) and down >= 1e-6


def test_card_table_round_trip_and_errors(tmp_path):
    dev = devices.load("neurosim_realdevice")
    loaded = devices.load(dev.save(tmp_path / "c.toml"))
    assert loaded.programming.to_dict() == dev.programming.to_dict()
    assert devices.load("ideal").programming is None
    table = dev.to_dict()
    table["programming"]["nl_ltp"] = "big"
    with pytest.raises(SnnRramError, match=r"^device\.programming\.nl_ltp: .*valid number"):
        devices.Device.from_dict(table, "device")
    table["programming"] = {"n": 10, "sigma_c2": 0.1}
    with pytest.raises(
        SnnRramError, match=r"device\.programming\.sigma_c2: unknown key.*sigma_c2c"
    ):
        devices.Device.from_dict(table, "device")
    table["programming"] = {"n": 1}
    with pytest.raises(SnnRramError, match=r"device\.programming\.n: expected an integer"):
        devices.Device.from_dict(table, "device")
    table["programming"] = {"n": 10, "sigma_c2c": -0.1}
    with pytest.raises(SnnRramError, match=r"device\.programming\.sigma_c2c: must be >= 0"):
        devices.Device.from_dict(table, "device")
    with pytest.raises(SnnRramError, match="n: expected integer pulse counts"):
        dev.programming.apply_pulses([1e-8], [0.5], 0)
    with pytest.raises(SnnRramError, match="mode: expected one of"):
        dev.programming.apply_pulses([1e-8], [1], 0, mode="loop")


@pytest.mark.parametrize("nl", [(2.4, -4.88), (0.0, 0.0), (3.0, 2.0)])
def test_pulses_to_inverts_both_curves(nl):
    prog = Programming(1e-6, 1e-5, 40, *nl, n_ltd=30)
    d = prog.nominal()
    start = np.array([0, 5, 17, 39, 39, 20])  # LTP pulse coordinates
    steps = np.array([7, 12, 10, -9, -29, -4])  # signed pulses: LTP up, LTD down
    G = prog.conductance_ltp(start)
    target = d.apply_pulses(G, steps, 0)
    x = d.pulses_to(G, target)
    back = d.apply_pulses(G, np.rint(x).astype(int), 0)
    np.testing.assert_allclose(back, target, rtol=1e-9)
    np.testing.assert_allclose(x, steps, atol=1e-9)  # no range end reached: the counts
    np.testing.assert_allclose(d.pulses_to(prog.g_max, prog.g_min), -(prog.n_ltd - 1))
    np.testing.assert_allclose(d.pulses_to(prog.g_min, 2 * prog.g_max), prog.n - 1)  # clipped
