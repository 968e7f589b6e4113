"""Physical invariants of the read solvers, checked on random arrays with hypothesis."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_rram import devices
from snn_rram.crossbar import Circuit, Crossbar

from .helpers import kcl_residuals

DEVICES = {
    "linear": devices.load("ideal"),
    "sinh": devices.load("sinh_strong"),
    "poly": devices.Device(
        "poly",
        devices.Polynomial(a2=[4.6e-5, 9e-6], a3=[1.84e-4, 3.6e-5]),
        devices.UniformLevels(1e-5, 1e-4, 8),
        source="test",
    ),
}

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def arrays(draw, wires=True):
    n_rows = draw(st.integers(1, 12))
    n_cols = draw(st.integers(1, 6))
    dev = DEVICES[draw(st.sampled_from(sorted(DEVICES)))]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    G = dev.levels.values[rng.integers(0, dev.levels.n, (n_rows, n_cols))]
    r_n = draw(st.sampled_from([0.0, 10.0, 1e3, 1e5]))
    r_n = rng.uniform(0, 2 * r_n, n_cols) if draw(st.booleans()) else r_n
    mode = draw(st.sampled_from(["ground", "float"]))
    wr = draw(st.sampled_from([0.0, 0.5, 5.0])) if wires else 0.0
    wc = draw(st.sampled_from([0.0, 0.5, 5.0])) if wires else 0.0
    circuit = Circuit(
        draw(st.sampled_from([0.1, 0.3, 0.5])),
        1e-4,
        r_n,
        inactive_rows=mode,
        r_wire_row=wr,
        r_wire_col=wc,
    )
    active = rng.random((2, n_rows)) < draw(st.floats(0.0, 1.0))
    return Crossbar(G, dev, circuit), active, rng


@SETTINGS
@given(arrays())
def test_kcl_at_every_node(case):
    xbar, active, _ = case
    res = xbar.read(active)
    for b in range(active.shape[0]):
        assert kcl_residuals(xbar, res, b) < 1e-9


@SETTINGS
@given(arrays())
def test_driver_power_is_device_plus_neuron_plus_wire_power(case):
    xbar, active, _ = case
    res = xbar.read(active)
    driver = res.driver_power.sum(axis=1)
    parts = res.device_power.sum(axis=(1, 2)) + res.neuron_power.sum(axis=1) + res.wire_power
    np.testing.assert_allclose(driver, parts, rtol=1e-9, atol=1e-12 * max(driver.max(), 1e-30))
    assert (res.device_power >= -1e-30).all()  # passive devices only dissipate
    assert (res.neuron_power >= 0).all() and (res.wire_power >= 0).all()


def ideal_current(xbar, active):
    """Current into each column with every column at 0 V (ideal virtual ground, no wires)."""
    model = xbar.device.read_model
    return np.einsum("br,rc->bc", active.astype(float), model.current(xbar.G, xbar.circuit.v_read))


@SETTINGS
@given(arrays())
def test_neuron_current_never_exceeds_the_ideal_virtual_ground(case):
    xbar, active, _ = case
    res = xbar.read(active)
    ideal = ideal_current(xbar, active)
    tol = 1e-12 * max(ideal.max(), 1e-30)
    if xbar.circuit.inactive_rows == "ground":
        assert (res.neuron_current <= ideal + tol).all()  # column by column
    else:
        # sneak paths through floating rows can feed one column more than its own devices
        # would (see test_sneak_current_can_exceed_a_columns_ideal_current); the total cannot
        assert (res.neuron_current.sum(axis=1) <= ideal.sum(axis=1) + tol).all()
    assert (res.neuron_current >= -tol).all()


def test_sneak_current_can_exceed_a_columns_ideal_current():
    """Why the bound above is per array, not per column, with floating rows."""
    G = np.array([[1e-9, 1e-4], [1e-4, 1e-4]])  # row 0 active, row 1 floating
    xbar = Crossbar(G, DEVICES["linear"], Circuit(0.3, 1e-4, 1e4, inactive_rows="float"))
    res = xbar.read(np.array([True, False]))
    assert res.neuron_current[0, 0] > 100 * ideal_current(xbar, np.array([[True, False]]))[0, 0]


@SETTINGS
@given(arrays(wires=False), st.data())
def test_neuron_current_grows_with_every_active_conductance(case, data):
    xbar, active, _ = case
    active = active[:1]
    rows = np.flatnonzero(active[0])
    if rows.size == 0:
        return
    i = data.draw(st.sampled_from(rows.tolist()))
    j = data.draw(st.integers(0, xbar.n_cols - 1))
    G = np.array(xbar.G)
    base = xbar.read(active).neuron_current[0, j]
    G[i, j] *= data.draw(st.floats(1.01, 10.0))
    more = xbar.with_conductances(G).read(active).neuron_current[0, j]
    assert more >= base * (1 - 1e-12)


@SETTINGS
@given(arrays(wires=False))
def test_row_permutation_leaves_neuron_currents_unchanged(case):
    xbar, active, rng = case
    perm = rng.permutation(xbar.n_rows)
    other = xbar.with_conductances(np.array(xbar.G)[perm])
    np.testing.assert_allclose(
        other.read(active[:, perm]).neuron_current,
        xbar.read(active).neuron_current,
        rtol=1e-10,
        atol=1e-25,
    )
