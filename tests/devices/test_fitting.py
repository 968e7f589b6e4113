"""Fits recover known parameters from synthetic noisy data within 2 %."""

import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.devices import Polynomial, PotentiationLevels, Sinh, fit_iv, fit_levels


@pytest.fixture
def V():
    return np.linspace(-0.5, 0.5, 81)


def noisy(I, rng, rel=0.01):
    return I * (1 + rel * rng.standard_normal(I.shape))


def test_fit_sinh_single_curve(V, rng):
    true = Sinh(3.2)
    fit = fit_iv(V, noisy(true.current(1.5e-5, V), rng), "sinh")
    assert fit.model.b == pytest.approx(3.2, rel=0.02)
    assert fit.G[0] == pytest.approx(1.5e-5, rel=0.02)
    assert fit.r2 > 0.999 and fit.rms < 1e-7


def test_fit_sinh_several_states_share_b(V, rng):
    G = np.array([1e-6, 4e-6, 2e-5, 8e-5])
    I = noisy(Sinh(2.0).current(G[:, None], V[None, :]), rng)
    fit = fit_iv(V, I, "sinh")
    assert fit.model.b == pytest.approx(2.0, rel=0.02)
    np.testing.assert_allclose(fit.G, G, rtol=0.02)


def test_fit_linear(V, rng):
    fit = fit_iv(V, noisy(3e-6 * V, rng), "linear")
    assert fit.G[0] == pytest.approx(3e-6, rel=0.02)


def test_fit_polynomial_in_log_g(V, rng):
    # a2 from 1 to 10 µA/V², a3 from 4 to 40 µA/V³ over G = 10..100 µS
    true = Polynomial(a2=[4.6e-5, 9e-6], a3=[1.84e-4, 3.6e-5])
    G = np.array([1e-5, 2e-5, 5e-5, 1e-4])
    I = true.current(G[:, None], V[None, :])
    exact = fit_iv(V, I, "polynomial", degree=1)
    np.testing.assert_allclose(exact.model.a2, true.a2, rtol=1e-8)
    np.testing.assert_allclose(exact.model.a3, true.a3, rtol=1e-8)
    fit = fit_iv(V, noisy(I, rng, 0.002), "polynomial", degree=1)
    np.testing.assert_allclose(fit.G, G, rtol=0.02)
    # the physical parameters: a2(G) and a3(G) over the measured states
    for coef in ("a2", "a3"):
        got = np.polynomial.polynomial.polyval(np.log10(G), getattr(fit.model, coef))
        want = np.polynomial.polynomial.polyval(np.log10(G), getattr(true, coef))
        np.testing.assert_allclose(got, want, rtol=0.02)


def test_fit_levels(rng):
    truth = PotentiationLevels(2e-6, 4e-5, 64, 2.0)
    p = np.tile(np.arange(64), 3)  # three cycles
    G = noisy(truth.conductance(p), rng, 0.005)
    fit = fit_levels(p, G)
    assert fit.A == pytest.approx(truth.A, rel=0.02)
    assert fit.B == pytest.approx(truth.B, rel=0.02)
    assert fit.g_min == pytest.approx(truth.g_min, rel=0.02)
    assert fit.levels.n == 64
    assert fit.levels.nonlinearity == pytest.approx(2.0, rel=0.02)
    np.testing.assert_allclose(fit.levels.values, truth.values, rtol=0.02)
    assert fit.r2 > 0.999


def test_fit_errors(V):
    with pytest.raises(SnnRramError, match="model"):
        fit_iv(V, V, "exponential")
    with pytest.raises(SnnRramError, match="points per curve"):
        fit_iv(V, np.zeros((2, 5)), "sinh")
    with pytest.raises(SnnRramError, match="NaN"):
        fit_iv(V, np.full_like(V, np.nan), "sinh")
    with pytest.raises(SnnRramError, match="three distinct"):
        fit_levels([0, 1, 1], [1e-6, 2e-6, 2e-6])
    with pytest.raises(SnnRramError, match="not potentiation"):
        fit_levels(np.arange(10), 1e-5 - 1e-6 * np.arange(10))
