"""The read solvers against ngspice on the netlists written by Crossbar.to_spice."""

import shutil

import numpy as np
import pytest

from snn_rram import SnnRramError, devices
from snn_rram.crossbar import Circuit, Crossbar, spice

pytestmark = pytest.mark.ngspice

if shutil.which("ngspice") is None:  # `make test` installs it; say so instead of skipping
    pytest.fail(
        "ngspice is not installed: run `make test` (installs it from Debian's packages)",
        pytrace=False,
    )

DEVICES = {"linear": devices.load("ideal"), "sinh": devices.load("sinh_strong")}
ACTIVITY = {"one": None, "5%": 0.05, "50%": 0.5, "all": 1.0}
CIRCUITS = {
    "ground": {},
    "float": {"inactive_rows": "float"},
    "ground-wires": {"r_wire_row": 1.5, "r_wire_col": 2.5},
    "float-wires": {"inactive_rows": "float", "r_wire_row": 1.5, "r_wire_col": 2.5},
}


def case(device, circuit, activity, shape, r_neuron, seed=0):
    rng = np.random.default_rng(seed)
    dev = DEVICES[device]
    G = dev.levels.values[rng.integers(0, dev.levels.n, shape)]
    xbar = Crossbar(G, dev, Circuit(0.4, 1e-4, r_neuron, **CIRCUITS[circuit]))
    frac = ACTIVITY[activity]
    if frac is None:
        active = np.zeros(shape[0], dtype=bool)
        active[rng.integers(shape[0])] = True
    else:
        active = rng.random(shape[0]) < frac
        active[rng.integers(shape[0])] = True  # at least one row
    return xbar, active


def compare(xbar, active, tmp_path):
    ours = xbar.read(active)
    ref = spice.simulate(xbar, active, workdir=tmp_path)
    err_i = np.max(
        np.abs(ours.neuron_current[0] - ref.neuron_current) / np.abs(ref.neuron_current)
    )
    r_n = xbar.circuit.r_neuron_for(xbar.n_cols)
    ok = r_n > 0
    err_v = np.max(
        np.abs(ours.column_voltage[0][ok] - ref.column_voltage[ok])
        / np.abs(ref.column_voltage[ok]),
        initial=0.0,
    )
    err_p = np.max(np.abs(ours.device_power[0] - ref.device_power)) / ref.device_power.max()
    return err_i, err_v, err_p


@pytest.mark.parametrize("activity", list(ACTIVITY))
@pytest.mark.parametrize("circuit", list(CIRCUITS))
@pytest.mark.parametrize("device", list(DEVICES))
def test_small_arrays(device, circuit, activity, tmp_path):
    xbar, active = case(device, circuit, activity, (12, 6), r_neuron=2e3)
    errors = compare(xbar, active, tmp_path)
    assert max(errors) < 1e-9, errors


@pytest.mark.parametrize("r_neuron", [0.0, 20.0, 1e3])
@pytest.mark.parametrize("activity", list(ACTIVITY))
@pytest.mark.parametrize("circuit", list(CIRCUITS))
@pytest.mark.parametrize("device", list(DEVICES))
def test_64x32(device, circuit, activity, r_neuron, tmp_path):
    xbar, active = case(device, circuit, activity, (64, 32), r_neuron, seed=1)
    errors = compare(xbar, active, tmp_path)
    assert max(errors) < 1e-9, errors


def test_per_column_neuron_resistance(tmp_path):
    rng = np.random.default_rng(3)
    dev = DEVICES["sinh"]
    G = dev.levels.values[rng.integers(0, dev.levels.n, (16, 5))]
    r_n = np.array([0.0, 10.0, 1e3, 5e4, 2e3])
    xbar = Crossbar(G, dev, Circuit(0.4, 1e-4, r_n, inactive_rows="float", r_wire_col=1.0))
    active = rng.random(16) < 0.3
    assert max(compare(xbar, active, tmp_path)) < 1e-9


def test_netlist_precision_and_errors(tmp_path):
    assert spice.const(1.2345678901234567e-5).startswith("(1.2345678901e-05")
    hi_lo = spice.const(1 / 3)
    assert eval(hi_lo.replace("e", "E")) == pytest.approx(1 / 3, rel=1e-16)
    tab = devices.Device(
        "tab",
        devices.Tabulated([1e-5], [0.0, 0.5], [[0.0, 5e-6]]),
        devices.UniformLevels(1e-6, 1e-5, 2),
        source="test",
    )
    xbar = Crossbar(np.full((2, 2), 1e-5), tab, Circuit(0.2, 1e-4, 1e3))
    with pytest.raises(SnnRramError, match="Tabulated read model has no exact SPICE"):
        xbar.to_spice(np.array([True, False]), tmp_path / "t.cir")
    with pytest.raises(SnnRramError, match="one read"):
        xbar.to_spice(np.ones((2, 2), dtype=bool), tmp_path / "t.cir")
