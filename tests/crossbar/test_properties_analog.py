"""Physical invariants of analog reads (every row at its own voltage), with hypothesis."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from snn_rram.crossbar import Circuit, Crossbar

from .helpers import kcl_residuals
from .test_properties import DEVICES, SETTINGS


@st.composite
def analog_arrays(draw, devices=None, wires=True):
    """A random crossbar and a batch of 3 random row-voltage vectors (both signs, some 0 V)."""
    n_rows = draw(st.integers(1, 12))
    n_cols = draw(st.integers(1, 6))
    dev = DEVICES[draw(st.sampled_from(devices or sorted(DEVICES)))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    G = dev.levels.values[rng.integers(0, dev.levels.n, (n_rows, n_cols))]
    r_n = draw(st.sampled_from([0.0, 10.0, 1e3, 1e5]))
    r_n = rng.uniform(0, 2 * r_n, n_cols) if draw(st.booleans()) else r_n
    wr = draw(st.sampled_from([0.0, 0.5, 5.0])) if wires else 0.0
    wc = draw(st.sampled_from([0.0, 0.5, 5.0])) if wires else 0.0
    v_read = draw(st.sampled_from([0.1, 0.3, 0.5]))
    mode = draw(st.sampled_from(["ground", "float"]))
    circuit = Circuit(v_read, 1e-4, r_n, inactive_rows=mode, r_wire_row=wr, r_wire_col=wc)
    V = rng.uniform(-v_read, v_read, (3, n_rows))
    V[rng.random(V.shape) < 0.25] = 0.0
    return Crossbar(G, dev, circuit), V, rng


@SETTINGS
@given(analog_arrays())
def test_kcl_and_power_balance(case):
    xbar, V, _ = case
    res = xbar.read(row_voltage=V)
    for b in range(V.shape[0]):
        assert kcl_residuals(xbar, res, b) < 1e-9
    driver = res.driver_power.sum(axis=1)
    parts = res.device_power.sum(axis=(1, 2)) + res.neuron_power.sum(axis=1) + res.wire_power
    scale = max(np.abs(res.device_power).sum(axis=(1, 2)).max(), 1e-30)
    np.testing.assert_allclose(driver, parts, rtol=0, atol=1e-9 * scale)
    assert (res.device_power >= -1e-30).all()  # passive devices only dissipate


@SETTINGS
@given(analog_arrays(devices=("linear",)), st.floats(-2.0, 2.0))
def test_linear_devices_superpose(case, a):
    """Ohmic cells: the read is linear in the row voltages."""
    xbar, V, _ = case
    one, two, both = xbar.read(row_voltage=np.stack([V[0], V[1], a * V[0] + V[1]])).neuron_current
    scale = max(np.abs(one).max(), np.abs(two).max(), 1e-30)
    np.testing.assert_allclose(both, a * one + two, rtol=0, atol=1e-10 * scale)


@SETTINGS
@given(analog_arrays(devices=("linear", "sinh")))
def test_odd_devices_are_sign_symmetric(case):
    """An odd I–V: reversing every row voltage reverses every current."""
    xbar, V, _ = case
    plus, minus = xbar.read(row_voltage=V), xbar.read(row_voltage=-V)
    scale = max(np.abs(plus.neuron_current).max(), 1e-30)
    np.testing.assert_allclose(minus.neuron_current, -plus.neuron_current, atol=1e-10 * scale)
    p_scale = max(np.abs(plus.driver_power).max(), 1e-30)
    np.testing.assert_allclose(minus.driver_power, plus.driver_power, atol=1e-10 * p_scale)


@SETTINGS
@given(analog_arrays(wires=False))
def test_column_voltage_lies_between_the_drivers(case):
    """Without wires each column settles between its lowest and highest driver (and ground)."""
    xbar, V, _ = case
    x = xbar.read(row_voltage=V).column_voltage
    lo = np.minimum(V.min(axis=1), 0.0)[:, None]
    hi = np.maximum(V.max(axis=1), 0.0)[:, None]
    assert (x >= lo - 1e-15).all() and (x <= hi + 1e-15).all()


def test_spike_read_is_an_analog_read_at_v_read():
    rng = np.random.default_rng(5)
    for name, dev in DEVICES.items():
        G = dev.levels.values[rng.integers(0, dev.levels.n, (10, 4))]
        xbar = Crossbar(G, dev, Circuit(0.3, 1e-4, 1e3, r_wire_row=0.5))
        active = rng.random((2, 10)) < 0.5
        spike = xbar.read(active)
        analog = xbar.read(row_voltage=np.where(active, 0.3, 0.0))
        np.testing.assert_allclose(
            analog.neuron_current, spike.neuron_current, rtol=1e-11, err_msg=name
        )
