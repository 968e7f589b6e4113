import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from snn_rram import SnnRramError
from snn_rram.devices import Linear, Polynomial, Sinh, Tabulated
from snn_rram.devices.iv import from_dict

MODELS = [
    Linear(),
    Sinh(2.0),
    Sinh(6.0),
    Polynomial(a2=[1e-7, 2e-8], a3=[3e-6, 1e-7]),
]


def tabulated():
    G = np.array([1e-6, 5e-6, 2e-5])
    V = np.linspace(0.0, 0.6, 13)
    I = G[:, None] * np.sinh(2.5 * V)[None, :] / 2.5
    return Tabulated(G, V, I)


@pytest.mark.parametrize("model", [*MODELS, tabulated()], ids=repr)
def test_derivative_and_cocontent_are_consistent(model):
    G = np.array([[1e-6], [7e-6], [2e-5]])
    V = np.linspace(-0.5, 0.5, 41)[None, :]
    h = 1e-6
    numeric = (model.current(G, V + h) - model.current(G, V - h)) / (2 * h)
    np.testing.assert_allclose(model.dcurrent_dv(G, V), numeric, rtol=1e-6, atol=1e-15)
    for g in G.ravel():
        for v in (-0.4, 0.13, 0.5):
            ref, _ = quad(
                lambda x, g=g: float(model.current(g, x)), 0.0, v, epsabs=0, epsrel=1e-12
            )
            assert float(model.cocontent(g, v)) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("model", [Linear(), Sinh(3.0), Polynomial([1e-8], [1e-6])], ids=repr)
def test_small_signal_conductance_is_G(model):
    G = np.array([1e-6, 1e-5, 1e-4])
    np.testing.assert_allclose(model.dcurrent_dv(G, 0.0), G, rtol=1e-12)
    np.testing.assert_array_equal(model.current(G, 0.0), 0.0)


def test_sinh_closed_form():
    m = Sinh(4.0)
    assert float(m.current(2e-5, 0.3)) == pytest.approx(2e-5 * np.sinh(1.2) / 4.0, rel=1e-15)
    assert m.separable and m.odd
    assert float(m.F(1e-9)) == pytest.approx(0.5e-18, rel=1e-9)  # no cancellation near 0


def test_broadcasting():
    G = np.full((3, 1, 4), 1e-5)
    V = np.linspace(0, 0.2, 5)[None, :, None]
    for model in [*MODELS, tabulated()]:
        assert model.current(G, V).shape == (3, 5, 4)


def test_polynomial_is_not_odd_with_a2():
    m = Polynomial(a2=[1e-6], a3=[0.0])
    assert not m.odd
    assert float(m.current(1e-5, 0.2)) != pytest.approx(-float(m.current(1e-5, -0.2)))
    assert Polynomial(a2=[0.0], a3=[1e-6]).odd


def test_polynomial_monotonicity_check():
    Polynomial(a2=[0.0], a3=[1e-6]).check_monotone([1e-5], 0.5)
    with pytest.raises(SnnRramError, match="not increasing"):
        Polynomial(a2=[0.0], a3=[-1e-3]).check_monotone([1e-5], 0.5)


def test_tabulated_reproduces_states_and_interpolates_in_log_g():
    m = tabulated()
    V = np.linspace(-0.6, 0.6, 7)
    exact = np.sinh(2.5 * V) / 2.5
    for g in m.G_states:
        np.testing.assert_allclose(m.current(g, V), g * exact, rtol=1e-12, atol=1e-20)
    # every state has the same shape here, so any G is that shape scaled
    np.testing.assert_allclose(m.current(3e-6, V), 3e-6 * exact, rtol=1e-3, atol=1e-20)
    # odd extension and linear extrapolation beyond the measured range
    assert float(m.current(1e-5, -0.3)) == pytest.approx(-float(m.current(1e-5, 0.3)))
    slope = float(m.dcurrent_dv(1e-5, 0.6))
    assert float(m.current(1e-5, 0.7)) == pytest.approx(float(m.current(1e-5, 0.6)) + 0.1 * slope)


def test_tabulated_rejects_non_monotone_data():
    V = np.array([0.0, 0.1, 0.2, 0.3])
    I = np.array([[0.0, 1e-6, 0.9e-6, 2e-6]])
    with pytest.raises(SnnRramError, match="not strictly increasing"):
        Tabulated([1e-5], V, I)
    with pytest.raises(SnnRramError, match="0 A at V = 0"):
        Tabulated([1e-5], V, np.array([[1e-7, 1e-6, 2e-6, 3e-6]]))
    with pytest.raises(SnnRramError, match="shape"):
        Tabulated([1e-5, 2e-5], V, I)


@settings(max_examples=50, deadline=None)
@given(
    g=st.floats(1e-7, 1e-4),
    v1=st.floats(-0.8, 0.8),
    v2=st.floats(-0.8, 0.8),
    which=st.sampled_from(range(5)),
)
def test_every_model_is_monotone_in_v(g, v1, v2, which):
    model = [*MODELS, tabulated()][which]
    lo, hi = min(v1, v2), max(v1, v2)
    assert float(model.current(g, lo)) <= float(model.current(g, hi))


def test_from_dict_round_trip_and_errors():
    for model in [*MODELS, tabulated()]:
        again = from_dict(model.to_dict())
        np.testing.assert_allclose(again.current(1e-5, 0.3), model.current(1e-5, 0.3))
    with pytest.raises(SnnRramError, match="read.model"):
        from_dict({"model": "memristor"})
    with pytest.raises(SnnRramError, match="unknown key"):
        from_dict({"model": "sinh", "b": 2.0, "c": 1})
    with pytest.raises(SnnRramError, match="read.b: must be > 0"):
        from_dict({"model": "sinh", "b": -1.0})
    with pytest.raises(SnnRramError, match="Sinh.b: contains NaN"):
        Sinh(float("nan"))
