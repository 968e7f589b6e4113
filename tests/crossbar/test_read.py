import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import SnnRramError, devices
from snn_rram.crossbar import Circuit, Crossbar
from snn_rram.crossbar.nodal import NodalNetwork

from .helpers import random_crossbar

IDEAL = devices.load("ideal")
MILD = devices.load("sinh_mild")
STRONG = devices.load("sinh_strong")
POLY = devices.Device(
    "poly",
    devices.Polynomial(a2=[4.6e-5, 9e-6], a3=[1.84e-4, 3.6e-5]),
    devices.UniformLevels(1e-5, 1e-4, 8),
    source="test",
)


def test_linear_single_column_closed_form(rng):
    G = rng.uniform(1e-6, 1e-4, (50, 1))
    active = rng.random(50) < 0.3
    R, V = 2.5e3, 0.25
    xbar = Crossbar(G, IDEAL, Circuit(V, 1e-4, R))
    res = xbar.read(active)
    g_act, g_tot = G[active, 0].sum(), G.sum()
    v_j = V * g_act / (g_act + (g_tot - g_act) + 1 / R)
    assert res.column_voltage[0, 0] == pytest.approx(v_j, rel=1e-14)
    assert res.neuron_current[0, 0] == pytest.approx(v_j / R, rel=1e-14)
    assert xbar.solver == "closed_form"


def test_floating_single_active_row_gain(rng):
    """One active row, every other row floating: G_eff = G / (1 + R_N G) (single column,
    so no sneak path exists)."""
    G = rng.uniform(1e-6, 1e-4, (20, 1))
    R = 5e3
    xbar = Crossbar(G, IDEAL, Circuit(0.2, 1e-4, R, inactive_rows="float"))
    np.testing.assert_allclose(xbar.static_gain()[:, 0], G[:, 0] / (1 + R * G[:, 0]), rtol=1e-12)


def test_virtual_ground_reads_programmed_conductances(rng):
    xbar = random_crossbar(rng, MILD, 30, 7, r_neuron=0.0)
    active = rng.random((4, 30)) < 0.5
    res = xbar.read(active)
    G = xbar.G
    expected = (active @ G) * MILD.read_model.f(0.3)
    np.testing.assert_allclose(res.neuron_current, expected, rtol=1e-14)
    np.testing.assert_array_equal(res.column_voltage, 0.0)


@pytest.mark.parametrize("device", [IDEAL, MILD, STRONG, POLY], ids=lambda d: d.name)
def test_column_solver_agrees_with_nodal_solver(rng, device):
    """Two independent code paths for grounded rows without wires."""
    r_n = rng.uniform(0, 3e3, 9)
    r_n[2] = 0.0
    xbar = random_crossbar(rng, device, 40, 9, r_neuron=r_n)
    active = rng.random((6, 40)) < 0.3
    active[0] = False
    active[1] = True
    res = xbar.read(active)
    net = NodalNetwork(xbar.G, device.read_model, xbar.circuit)
    src = np.where(active, 0.3, 0.0)
    sol = net.solve(src) if device is IDEAL else net.solve(src, np.tile(net.g, (6, 1)))
    np.testing.assert_allclose(res.neuron_current, sol.neuron_i, rtol=1e-11, atol=1e-22)
    np.testing.assert_allclose(res.column_voltage, sol.neuron_v, rtol=1e-11, atol=1e-20)


@pytest.mark.parametrize(
    "circuit",
    [
        {},
        {"inactive_rows": "float"},
        {"r_wire_row": 2.0, "r_wire_col": 3.0},
        {"inactive_rows": "float", "r_wire_col": 1.0},
    ],
    ids=["ground", "float", "wires", "float-colwires"],
)
@pytest.mark.parametrize("device", [IDEAL, STRONG], ids=lambda d: d.name)
def test_batch_equals_one_read_at_a_time(rng, device, circuit):
    xbar = random_crossbar(rng, device, 24, 6, **circuit)
    active = rng.random((5, 24)) < 0.4
    batch = xbar.read(active)
    for k in range(5):
        one = xbar.read(active[k])
        np.testing.assert_allclose(batch.neuron_current[k], one.neuron_current[0], rtol=1e-11)
        np.testing.assert_allclose(
            batch.device_power[k],
            one.device_power[0],
            rtol=1e-9,
            atol=1e-12 * batch.device_power.max(),
        )


def test_sparse_equals_dense(rng):
    G = MILD.levels.values[rng.integers(0, 32, (30, 12))]
    G[rng.random(G.shape) < 0.6] = 0.0
    circuit = Circuit(0.3, 1e-4, 2e3)
    dense, sparse = Crossbar(G, MILD, circuit), Crossbar(sp.csr_matrix(G), MILD, circuit)
    active = rng.random((3, 30)) < 0.5
    a, b = dense.read(active), sparse.read(active)
    np.testing.assert_allclose(a.neuron_current, b.neuron_current, rtol=1e-14)
    np.testing.assert_allclose(a.device_power, b.device_power, rtol=1e-14)
    sg = sparse.static_gain()
    assert sp.issparse(sg)
    np.testing.assert_allclose(dense.static_gain()[G > 0], sg.toarray()[G > 0], rtol=1e-14)
    fl = Circuit(0.3, 1e-4, 2e3, inactive_rows="float")
    np.testing.assert_allclose(
        Crossbar(G, MILD, fl).read(active).neuron_current,
        Crossbar(sp.csr_matrix(G), MILD, fl).read(active).neuron_current,
        rtol=1e-12,
    )
    with pytest.raises(SnnRramError, match="wire resistance needs a dense crossbar"):
        Crossbar(sp.csr_matrix(G), MILD, Circuit(0.3, 1e-4, 1e3, r_wire_row=1.0))


def test_static_gain_is_single_row_reads(rng):
    for circuit in ({}, {"inactive_rows": "float"}, {"r_wire_row": 1.0, "r_wire_col": 1.0}):
        xbar = random_crossbar(rng, STRONG, 10, 4, **circuit)
        gain = xbar.static_gain()
        for i in (0, 7):
            one = np.zeros(10, dtype=bool)
            one[i] = True
            np.testing.assert_allclose(gain[i], xbar.read(one).neuron_current[0] / 0.3, rtol=1e-11)


def test_dead_rows_and_empty_columns(rng):
    G = MILD.levels.values[rng.integers(0, 32, (8, 5))]
    G[2] = 0.0  # a row without devices
    G[:, 3] = 0.0  # a column without devices
    for circuit in (
        {},
        {"inactive_rows": "float"},
        {"r_wire_row": 1.0, "r_wire_col": 2.0},
        {"inactive_rows": "float", "r_wire_row": 1.0},
    ):
        xbar = Crossbar(G, MILD, Circuit(0.3, 1e-4, 1e3, **circuit))
        active = np.zeros((2, 8), dtype=bool)
        active[0, [1, 2]] = True
        active[1, 2] = True
        res = xbar.read(active)
        assert np.isfinite(res.neuron_current).all()
        assert res.neuron_current[1] == pytest.approx(np.zeros(5), abs=1e-20)
        assert res.neuron_current[0, 3] == pytest.approx(0.0, abs=1e-20)


def test_read_noise_is_seeded_and_per_read(rng):
    dev = devices.Device(
        "noisy",
        devices.Sinh(2.0),
        devices.UniformLevels(1e-6, 2e-5, 8),
        devices.Variation(read_sigma=0.05),
        source="test",
    )
    xbar = random_crossbar(rng, dev, 20, 4)
    active = np.tile(rng.random(20) < 0.5, (3, 1))
    a = xbar.read(active, rng=1).neuron_current
    b = xbar.read(active, rng=1).neuron_current
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])
    quiet = xbar.read(active).neuron_current
    np.testing.assert_allclose(a, quiet, rtol=0.2)
    np.testing.assert_array_equal(quiet[0], quiet[1])
    fl = random_crossbar(rng, dev, 20, 4, inactive_rows="float")
    assert not np.allclose(*fl.read(active[:2], rng=2).neuron_current)


def test_polynomial_grounded_rows_feel_rectification(rng):
    """A non-odd device on grounded rows: the per-cell solver, checked against nodal."""
    xbar = random_crossbar(rng, POLY, 12, 3, v_read=0.5, r_neuron=2e3)
    assert xbar.solver == "column_newton_cells"
    active = rng.random((2, 12)) < 0.5
    res = xbar.read(active)
    net = NodalNetwork(xbar.G, POLY.read_model, xbar.circuit)
    sol = net.solve(np.where(active, 0.5, 0.0), np.tile(net.g, (2, 1)))
    np.testing.assert_allclose(res.neuron_current, sol.neuron_i, rtol=1e-11)


@pytest.mark.parametrize(
    ("G", "match"),
    [
        (np.array([[1e-6, np.nan]]), "G: contains NaN"),
        (np.array([[1e-6, np.inf]]), "G: contains infinite"),
        (np.array([[1e-6, -1e-6]]), "G: conductances must be >= 0"),
        (np.ones(3), "G: expected a 2-D"),
        (np.ones((0, 3)), "G: the crossbar is empty"),
        ("abc", "G: expected a matrix"),
    ],
)
def test_bad_conductances(G, match):
    with pytest.raises(SnnRramError, match=match):
        Crossbar(G, IDEAL, Circuit(0.2, 1e-4, 1e3))


def test_bad_reads(rng):
    xbar = random_crossbar(rng, IDEAL, 6, 3)
    with pytest.raises(SnnRramError, match=r"active: expected shape \(any, 6\)"):
        xbar.read(np.zeros(5, dtype=bool))
    with pytest.raises(SnnRramError, match="booleans"):
        xbar.read(np.zeros(6))
    with pytest.raises(SnnRramError, match="active: expected shape"):
        xbar.read(np.zeros((1, 1, 6), dtype=bool))
    with pytest.raises(SnnRramError, match="2 values, but the crossbar has 3"):
        Crossbar(xbar.G, IDEAL, Circuit(0.2, 1e-4, [1.0, 2.0]))
    with pytest.raises(SnnRramError, match="device: expected"):
        Crossbar(xbar.G, "ideal", Circuit(0.2, 1e-4, 1e3))
    bad = devices.Device(
        "bad",
        devices.Polynomial(a2=[0.0], a3=[-1.0]),
        devices.UniformLevels(1e-6, 1e-5, 4),
        source="test",
    )
    with pytest.raises(SnnRramError, match="not increasing"):
        Crossbar(np.full((2, 2), 1e-5), bad, Circuit(0.5, 1e-4, 1e3))
    with pytest.raises(SnnRramError, match="what: expected one of"):
        xbar.read(np.ones(6, dtype=bool)).energy("heat")


def test_energy_is_power_times_pulse(rng):
    xbar = random_crossbar(rng, MILD, 8, 3, pulse_width=2e-4)
    res = xbar.read(np.ones(8, dtype=bool))
    np.testing.assert_allclose(res.energy("device"), res.device_power * 2e-4)
    np.testing.assert_allclose(res.energy("neuron"), res.neuron_power * 2e-4)


@pytest.mark.parametrize(
    "circuit",
    [{}, {"inactive_rows": "float"}, {"r_wire_col": 2.0}],
    ids=["ground", "float", "wires"],
)
@pytest.mark.parametrize("device", [IDEAL, STRONG], ids=lambda d: d.name)
def test_row_read_power_is_single_row_driver_power(rng, device, circuit):
    xbar = random_crossbar(rng, device, 9, 5, **circuit)
    p = xbar.row_read_power()
    for i in (0, 4, 8):
        one = np.zeros(9, dtype=bool)
        one[i] = True
        r = xbar.read(one)
        assert p[i] == pytest.approx(r.driver_power.sum(), rel=1e-10)
        total = r.device_power.sum() + r.neuron_power.sum() + r.wire_power.sum()
        assert p[i] == pytest.approx(total, rel=1e-9)
        dev = xbar.row_read_power(devices_only=True)[i]
        assert dev == pytest.approx(r.device_power.sum(), rel=1e-9)


@pytest.mark.parametrize("rows", ["float", "ground"])
@pytest.mark.parametrize("r_neuron", [7e8, 1e6, 1e3])
def test_nodal_solve_with_milliohm_wires(rng, rows, r_neuron):
    """Wires of 0.1–10 mΩ against 50 kΩ–1 MΩ cells and a neuron of up to 0.7 GΩ converge (the
    Newton stop at the rounding floor), and their IR drop shrinks with the wire resistance."""
    dev = devices.load("default")
    G = rng.uniform(1e-6, 2e-5, (32, 16))
    active = rng.random(32) < 0.3
    ideal = Crossbar(G, dev, Circuit(0.2, 1e-6, r_neuron, rows)).read(active).neuron_current
    drop = []
    for r_wire in (1e-4, 1e-3, 1e-2):
        circuit = Circuit(0.2, 1e-6, r_neuron, rows, r_wire_row=r_wire, r_wire_col=r_wire)
        current = Crossbar(G, dev, circuit).read(active).neuron_current
        drop.append(np.max(np.abs(current / ideal - 1.0)))
    assert max(drop) < 1e-4
    assert drop[2] > drop[0] or drop[2] < 1e-8  # grows with r_wire unless below the noise


def test_nodal_solve_names_wires_too_small_to_resolve(rng):
    G = rng.uniform(1e-6, 2e-5, (32, 16))
    circuit = Circuit(0.2, 1e-6, 7e8, "float", r_wire_row=1e-7, r_wire_col=1e-7)
    with pytest.raises(SnnRramError, match=r"span 7e\+15 .*r_wire_row = r_wire_col = 0"):
        Crossbar(G, devices.load("default"), circuit).read(rng.random(32) < 0.3)
