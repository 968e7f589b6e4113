import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.devices import (
    MeasuredLevels,
    PotentiationLevels,
    UniformLevels,
    a_from_nonlinearity,
    nonlinearity_from_a,
)
from snn_rram.devices.levels import from_dict


def test_uniform_levels():
    lv = UniformLevels(1e-6, 1e-5, 10)
    np.testing.assert_allclose(lv.values, np.linspace(1e-6, 1e-5, 10))
    assert (lv.n, lv.g_min, lv.g_max) == (10, 1e-6, 1e-5)
    assert lv.nearest(5.4e-6) == 4 and lv.nearest(5.6e-6) == 5  # levels 5 µS and 6 µS
    assert lv.snap(0.0) == 1e-6 and lv.snap(1.0) == 1e-5
    with pytest.raises(ValueError):
        lv.values[0] = 0.0  # read-only


@pytest.mark.parametrize(
    ("nl", "a"),
    # NeuroSim's GetParamA lookup table (normalised A for NL), reproduced by our definition
    [(0.01, 126.268958), (0.5, 2.519877), (1.0, 1.251653), (2.4, None), (9.0, 0.022810)],
)
def test_nonlinearity_matches_neurosim(nl, a):
    got = a_from_nonlinearity(nl)
    if a is not None:
        assert got == pytest.approx(a, rel=2e-6, abs=5e-7)  # the table has 6 decimals
    assert nonlinearity_from_a(got) == pytest.approx(nl, rel=1e-10)


@pytest.mark.parametrize("nl", [1e-12, 1e-9, 1.5e-8])
def test_nearly_linear_labels(nl):
    """Below what the root search brackets, A follows the curve's expansion 1/(8·deviation)
    and stays the inverse of nonlinearity_from_a; the levels are then uniform to ~nl."""
    a = a_from_nonlinearity(nl)
    assert nonlinearity_from_a(a) == pytest.approx(nl, rel=1e-8)
    lv = PotentiationLevels(1e-6, 1e-5, 8, nl)
    np.testing.assert_allclose(lv.values, np.linspace(1e-6, 1e-5, 8), rtol=0, atol=1e-5 * nl)


def test_potentiation_curve():
    lv = PotentiationLevels(3.0769e-9, 3.8462e-8, 97, 2.4)
    p = np.arange(97)
    np.testing.assert_allclose(lv.values, lv.B * (1 - np.exp(-p / lv.A)) + lv.g_min, rtol=1e-12)
    assert lv.values[0] == lv.g_min and lv.values[-1] == pytest.approx(lv.g_max, rel=1e-15)
    steps = np.diff(lv.values)
    assert np.all(steps > 0) and steps[0] > 5 * steps[-1]  # strongly nonlinear
    assert lv.A == pytest.approx(a_from_nonlinearity(2.4) * 96)
    uniform = PotentiationLevels(1e-6, 1e-5, 10, 0.0)
    np.testing.assert_allclose(uniform.values, np.linspace(1e-6, 1e-5, 10))


def test_measured_levels_sorted():
    lv = MeasuredLevels([3e-6, 1e-6, 2e-6])
    np.testing.assert_array_equal(lv.values, [1e-6, 2e-6, 3e-6])
    with pytest.raises(SnnRramError, match="distinct"):
        MeasuredLevels([1e-6, 1e-6])
    with pytest.raises(SnnRramError, match=">= 0"):
        MeasuredLevels([-1e-6, 1e-6])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"g_min": 2e-6, "g_max": 1e-6, "n": 4}, "must exceed"),
        ({"g_min": 1e-6, "g_max": 2e-6, "n": 1}, "n: expected an integer"),
        ({"g_min": 1e-6, "g_max": 2e-6, "n": 2.5}, "n: expected an integer"),
        ({"g_min": float("nan"), "g_max": 2e-6, "n": 4}, "NaN"),
    ],
)
def test_uniform_errors(kwargs, match):
    with pytest.raises(SnnRramError, match=match):
        UniformLevels(**kwargs)


def test_from_dict():
    lv = from_dict(
        {"kind": "potentiation", "g_min": 1e-6, "g_max": 1e-5, "n": 8, "nonlinearity": 1.0}
    )
    assert isinstance(lv, PotentiationLevels)
    assert from_dict(lv.to_dict()).values.tolist() == lv.values.tolist()
    with pytest.raises(SnnRramError, match="levels.kind"):
        from_dict({"kind": "log"})
    with pytest.raises(SnnRramError, match="levels.n: missing required key"):
        from_dict({"kind": "uniform", "g_min": 1e-6, "g_max": 1e-5})
