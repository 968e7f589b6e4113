"""Analog reads (every row at its own voltage) against ngspice, on netlists from to_spice."""

import shutil

import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import SnnRramError
from snn_rram.crossbar import Circuit, Crossbar, spice

from .test_properties import DEVICES  # linear, sinh and polynomial cells

pytestmark = pytest.mark.ngspice

if shutil.which("ngspice") is None:  # `make test` installs it; say so instead of skipping
    pytest.fail(
        "ngspice is not installed: run `make test` (installs it from Debian's packages)",
        pytrace=False,
    )

WIRES = {
    "no-wires": {},
    "wires": {"r_wire_row": 1.5, "r_wire_col": 2.5},
    "float-mode": {"inactive_rows": "float"},  # every row is driven: the row mode is moot
}


def voltages(rng, n_rows, batch, span=0.5):
    """Random row voltages of both signs, with some rows at exactly 0 V."""
    v = rng.uniform(-span, span, (batch, n_rows))
    v[rng.random((batch, n_rows)) < 0.25] = 0.0
    return v


def compare(xbar, V, tmp_path):
    """Largest relative errors (neuron current, column voltage, device power, driver current)
    of every read of the batch ``V`` against ngspice."""
    ours = xbar.read(row_voltage=V)
    r_n = xbar.circuit.r_neuron_for(xbar.n_cols)
    ok = r_n > 0
    errors = []
    for b in range(V.shape[0]):
        ref = spice.simulate(xbar, row_voltage=V[b], workdir=tmp_path)
        err_i = np.max(
            np.abs(ours.neuron_current[b] - ref.neuron_current) / np.abs(ref.neuron_current)
        )
        err_v = np.max(
            np.abs(ours.column_voltage[b][ok] - ref.column_voltage[ok])
            / np.abs(ref.column_voltage[ok]),
            initial=0.0,
        )
        err_p = np.max(np.abs(ours.device_power[b] - ref.device_power)) / ref.device_power.max()
        err_d = np.max(np.abs(ours.driver_current[b] - ref.driver_current)) / np.max(
            np.abs(ref.driver_current)
        )
        errors.append((err_i, err_v, err_p, err_d))
    return np.max(errors, axis=0)


@pytest.mark.parametrize("r_neuron", [0.0, 1e3, "per-column"])
@pytest.mark.parametrize("wires", list(WIRES))
@pytest.mark.parametrize("device", list(DEVICES))
def test_random_voltages(device, wires, r_neuron, tmp_path):
    rng = np.random.default_rng(7)
    dev = DEVICES[device]
    n_rows, n_cols = 16, 6
    G = dev.levels.values[rng.integers(0, dev.levels.n, (n_rows, n_cols))]
    r_n = np.array([0.0, 10.0, 1e3, 5e4, 2e3, 300.0]) if r_neuron == "per-column" else r_neuron
    xbar = Crossbar(G, dev, Circuit(0.4, 1e-4, r_n, **WIRES[wires]))
    V = voltages(rng, n_rows, 3)
    V[1] = np.abs(V[1])  # one read with only positive rows, one all negative
    V[2] = -np.abs(V[2])
    err_i, err_v, err_p, err_d = compare(xbar, V, tmp_path)
    assert max(err_i, err_v, err_p) < 1e-9, (err_i, err_v, err_p)
    assert err_d < 1e-9, err_d


def test_sparse_crossbar_and_spike_equivalence(tmp_path):
    """A sparse crossbar reads the same; an analog read at v_read/0 V is the spike read."""
    rng = np.random.default_rng(11)
    dev = DEVICES["sinh"]
    G = dev.levels.values[rng.integers(0, dev.levels.n, (20, 4))]
    G[rng.random(G.shape) < 0.5] = 0.0
    G[:, 0] = dev.levels.values[-1]  # every row keeps a device
    circuit = Circuit(0.4, 1e-4, 1e3)
    dense = Crossbar(G, dev, circuit)
    V = voltages(rng, 20, 2)
    sparse = Crossbar(sp.csr_matrix(G), dev, circuit)
    a, b = dense.read(row_voltage=V), sparse.read(row_voltage=V)
    np.testing.assert_allclose(b.neuron_current, a.neuron_current, rtol=1e-13)
    np.testing.assert_allclose(b.driver_current, a.driver_current, rtol=1e-12, atol=1e-20)
    assert max(compare(sparse, V[:1], tmp_path)) < 1e-9
    active = rng.random((3, 20)) < 0.4
    spike = dense.read(active)
    analog = dense.read(row_voltage=np.where(active, circuit.v_read, 0.0))
    np.testing.assert_allclose(analog.neuron_current, spike.neuron_current, rtol=1e-13)
    np.testing.assert_allclose(analog.column_voltage, spike.column_voltage, rtol=1e-13)


def test_to_spice_and_read_errors(tmp_path):
    xbar = Crossbar(np.full((3, 2), 1e-5), DEVICES["linear"], Circuit(0.2, 1e-4, 1e3))
    path = xbar.to_spice(row_voltage=[0.1, -0.2, 0.0], path=tmp_path / "a.cir")
    text = path.read_text()
    assert "vd1 r1 0 dc -0.20000000000000001" in text and "vd2 r2 0 dc 0" in text
    with pytest.raises(SnnRramError, match="exactly one of active"):
        xbar.read()
    with pytest.raises(SnnRramError, match="exactly one of active"):
        xbar.read(np.ones(3, bool), row_voltage=np.zeros(3))
    with pytest.raises(SnnRramError, match="exactly one of active"):
        xbar.to_spice(path=tmp_path / "b.cir")
    with pytest.raises(SnnRramError, match="row_voltage: to_spice writes one read"):
        xbar.to_spice(row_voltage=np.zeros((2, 3)), path=tmp_path / "b.cir")
    with pytest.raises(SnnRramError, match="row_voltage: expected shape"):
        xbar.read(row_voltage=np.zeros((1, 1, 3)))
    with pytest.raises(SnnRramError, match="row_voltage"):
        xbar.read(row_voltage=np.zeros(4))
    with pytest.raises(SnnRramError, match="NaN or infinite"):
        xbar.read(row_voltage=[0.1, np.nan, 0.0])
    with pytest.raises(SnnRramError, match="row voltages in V"):
        xbar.read(row_voltage=["a", "b", "c"])
    with pytest.raises(SnnRramError, match="path"):
        xbar.to_spice(row_voltage=[0.1, -0.2, 0.0])
    assert not (tmp_path / "b.cir").exists()
