"""Per-synapse energy equals brute-force per-step integration of every device's power."""

import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import devices, snn
from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.crossbar.layout import ALWAYS_ON
from snn_rram.snn.energy import activity_windows, linear_energy
from snn_rram.snn.plan import LayerPlan

from .helpers import brute_force_energy, max_rel, small_network


@pytest.mark.parametrize("pulse_steps", [1, 3])
@pytest.mark.parametrize(
    ("device", "solver"),
    [("ideal", "table"), ("sinh_strong", "table"), ("sinh_strong", "exact")],
)
def test_event_layers_match_brute_force(device, solver, pulse_steps):
    """Pulses of different rows overlap on the same columns; bias rows are always on."""
    xbars, neuron, spikes = small_network(device, pulse_steps=pulse_steps)
    net = snn.SpikingNetwork(xbars, neuron, spikes, column_solver=solver)
    res = net.run()
    assert all(len(layer.spike_indices) > 20 for layer in res.layers)
    tol = 1e-9 if solver == "table" else 1e-12
    for layer, (E, En) in zip(res.layers, brute_force_energy(net, res), strict=True):
        assert max_rel(layer.device_energy, E) < tol
        assert max_rel(layer.neuron_energy, En) < tol
    # pulses of one input overlap other inputs' pulses (the accounting is not per-pulse trivial)
    A = activity_windows(spikes.indices, spikes.steps, 12, net.n_steps, pulse_steps)
    assert (np.asarray(A.sum(axis=1)).ravel() > 1).any()


@pytest.mark.parametrize(
    "circuit",
    [{"inactive_rows": "float"}, {"r_wire_row": 2.0, "r_wire_col": 2.0}],
    ids=["float", "wires"],
)
def test_coupled_layers_match_brute_force(circuit):
    xbars, neuron, spikes = small_network("sinh_strong", circuit=circuit, n_images=2)
    net = snn.SpikingNetwork(xbars, neuron, spikes)
    assert net.coupled == [True, True]
    res = net.run()
    for layer, (E, En) in zip(res.layers, brute_force_energy(net, res), strict=True):
        assert max_rel(layer.device_energy, E) < 1e-12
        assert max_rel(layer.neuron_energy, En) < 1e-12


def test_event_and_coupled_paths_agree_for_grounded_rows():
    xbars, neuron, spikes = small_network("sinh_mild", n_images=2)
    ev = snn.SpikingNetwork(xbars, neuron, spikes, column_solver="exact").run()
    co = snn.SpikingNetwork(xbars, neuron, spikes, coupled=True).run()
    for a, b in zip(ev.layers, co.layers, strict=True):
        np.testing.assert_array_equal(a.spike_indices, b.spike_indices)
        np.testing.assert_array_equal(a.spike_times, b.spike_times)
        assert max_rel(a.device_energy, b.device_energy) < 1e-12


def test_shared_reference_column_and_sparse_layer():
    """A reference column read by every neuron (shared) and a sparse crossbar."""
    rng = np.random.default_rng(3)
    dev = devices.load("sinh_mild")
    n_in, n_out = 10, 4
    # columns 0..3 feed neurons 0..3 (+1), column 4 is a reference subtracted from all
    readout = np.zeros((n_out + 1, n_out))
    readout[np.arange(n_out), np.arange(n_out)] = 1.0
    readout[n_out, :] = -1.0
    lay = Layout(np.arange(n_in), readout, n_in)
    G = dev.levels.values[rng.integers(0, 32, (n_in, n_out + 1))]
    G[rng.random(G.shape) < 0.3] = 0.0
    G[:, n_out] = dev.levels.values[5]
    circ = Circuit(0.3, 2e-4, 1e3)
    xbar = Crossbar(sp.csr_matrix(G), dev, circ, lay)
    spikes = snn.PoissonEncoder(1000.0, 2e-4).encode(rng.random((2, n_in)), 1e-4, 20e-3, 4)
    neuron = snn.IFNeuron(threshold=0.02, capacitance=1e-11)
    for solver in ("table", "exact"):
        net = snn.SpikingNetwork([xbar], neuron, spikes, column_solver=solver)
        assert net.plans[0].n_shared == 1
        res = net.run()
        ((E, En),) = brute_force_energy(net, res)
        assert sp.issparse(res.layers[0].device_energy)
        assert max_rel(res.layers[0].device_energy, E) < 1e-9
        assert max_rel(res.layers[0].neuron_energy, En) < 1e-9
        assert len(res.layers[0].spike_indices) > 5


def test_linear_moments_equal_brute_force_for_sparse_layers():
    rng = np.random.default_rng(5)
    dev = devices.load("ideal")
    G = dev.levels.values[rng.integers(0, 64, (9, 6))]
    G[rng.random(G.shape) < 0.5] = 0.0
    lay = Layout.differential(8, 3, bias=True)
    xbar = Crossbar(sp.csr_matrix(G), dev, Circuit(0.2, 3e-4, [0, 50, 1e3, 1e3, 2e3, 0]), lay)
    spikes = snn.PoissonEncoder(900.0, 3e-4).encode(rng.random((2, 8)), 1e-4, 15e-3, 6)
    net = snn.SpikingNetwork([xbar], snn.IFNeuron(0.05, 1e-11), spikes)
    res = net.run()
    ((E, En),) = brute_force_energy(net, res)
    assert max_rel(res.layers[0].device_energy, E) < 1e-12
    np.testing.assert_allclose(res.layers[0].neuron_energy, En, rtol=1e-12, atol=0)
    A = activity_windows(spikes.indices, spikes.steps, 8, net.n_steps, 3)
    e, _ = linear_energy(xbar, A, 1e-4)
    assert sp.issparse(e)


def test_read_counts_and_totals():
    xbars, neuron, spikes = small_network("ideal", n_images=2)
    res = snn.SpikingNetwork(xbars, neuron, spikes).run()
    counts = np.bincount(spikes.indices, minlength=12)
    layer0 = res.layers[0]
    np.testing.assert_array_equal(layer0.read_counts[:12], counts)
    assert layer0.read_counts[12] == 0  # the always-on bias row is never pulsed
    hidden = np.bincount(layer0.spike_indices, minlength=6)
    np.testing.assert_array_equal(res.layers[1].read_counts, hidden)
    total = res.total_device_energy()
    assert total == pytest.approx(sum(np.sum(x.device_energy) for x in res.layers))
    n_syn = sum(x.n_synapses for x in res.layers)
    assert n_syn == 12 * 6 + 6 * 3  # logical synapses of the two layers
    assert res.average_power_per_synapse() == pytest.approx(total / (n_syn * res.duration))


def test_dense_and_sparse_energy_assembly_agree():
    """Bias rows, a shared reference column and open pulses: one formula on both layouts."""
    rng = np.random.default_rng(9)
    dev = devices.load("sinh_mild")
    base = Layout.differential(5, 3, bias=True)
    readout = np.vstack([base.readout.toarray(), -0.5 * np.ones((1, 3))])
    lay = Layout(base.row_input, readout, base.n_inputs)
    G = dev.levels.values[rng.integers(0, 32, (lay.n_rows, lay.n_cols))]
    plan = LayerPlan.from_crossbar(Crossbar(G, dev, Circuit(0.3, 1e-4, 1e3), lay))
    assert plan.n_shared == 1 and plan.n_bias_rows == 1
    args = (
        rng.random((plan.n_slots, plan.syn_i.size)),
        rng.random(plan.ssyn_i.size),
        rng.random((plan.n_neurons, plan.n_slots)),
        rng.random((plan.n_neurons, plan.n_slots)),
        rng.random(plan.n_shared),
        rng.random(plan.n_shared),
        rng.random(plan.n_inputs) < 0.5,
    )
    dense = plan.device_energy(G, *args)
    sparse = plan.device_energy(sp.csr_matrix(G), *args)
    assert isinstance(dense, np.ndarray) and sp.issparse(sparse)
    np.testing.assert_allclose(dense, sparse.toarray(), rtol=1e-15, atol=0)
    # sparse arrays of fewer cells (the cells' accumulators are found for each structure, and
    # kept for the next call with the same one), the always-on row's cells included
    for keep in (rng.random(G.shape) < 0.6, rng.random(G.shape) < 0.3, np.ones(G.shape, bool)):
        Gk = sp.csr_matrix(np.where(keep, G, 0.0))
        for _ in range(2):
            sparse = plan.device_energy(Gk, *args)
            assert np.array_equal(sparse.indices, Gk.indices)
            expected = plan.device_energy(Gk.toarray(), *args)
            np.testing.assert_allclose(expected, sparse.toarray(), rtol=1e-15, atol=0)


def test_linear_moments_with_repeated_and_unread_inputs():
    """Dense layer: an input on two rows, an input never read and a bias row (gather vs P G)."""
    rng = np.random.default_rng(11)
    dev = devices.load("ideal")
    row_input = np.array([0, 1, 2, 3, 1, ALWAYS_ON])  # input 1 on two rows
    lay = Layout(row_input, np.kron(np.eye(2), [[1.0], [-1.0]]), 4)  # two differential pairs
    G = dev.levels.values[rng.integers(0, 64, (6, 4))]
    xbar = Crossbar(G, dev, Circuit(0.2, 2e-4, 500.0), lay)
    x = rng.random((2, 4))
    x[:, 3] = 0.0  # input 3 never spikes
    spikes = snn.PoissonEncoder(900.0, 2e-4).encode(x, 1e-4, 15e-3, 3)
    net = snn.SpikingNetwork([xbar], snn.IFNeuron(0.05, 1e-11), spikes)
    res = net.run()
    ((E, En),) = brute_force_energy(net, res)
    assert max_rel(res.layers[0].device_energy, E) < 1e-12
    np.testing.assert_allclose(res.layers[0].neuron_energy, En, rtol=1e-12, atol=0)
    assert not np.any(spikes.indices == 3)
