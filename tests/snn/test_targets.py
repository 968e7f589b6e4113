"""numpy, Cython and C++ standalone agree; standalone reruns with new conductances."""

import os

import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import SnnRramError, devices, snn
from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.snn import functions
from snn_rram.snn._targets import build_dir

from .helpers import brute_force_energy, dense, max_rel, small_network

pytestmark = pytest.mark.standalone


@pytest.fixture(scope="module")
def case():
    return small_network("sinh_strong", pulse_steps=2, n_images=2, seed=11)


@pytest.fixture(scope="module")
def standalone(case):
    xbars, neuron, spikes = case
    net = snn.SpikingNetwork(xbars, neuron, spikes, target="cpp_standalone", name="t_targets")
    return net, net.run()


def _same(a, b, rtol):
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(la.spike_indices, lb.spike_indices)
        np.testing.assert_allclose(la.spike_times, lb.spike_times, rtol=0, atol=1e-12)
        np.testing.assert_allclose(dense(la.device_energy), dense(lb.device_energy), rtol=rtol)
        np.testing.assert_allclose(la.neuron_energy, lb.neuron_energy, rtol=rtol)
    np.testing.assert_array_equal(a.counts, b.counts)


def test_numpy_cython_and_standalone_agree(case, standalone):
    xbars, neuron, spikes = case
    numpy_res = snn.SpikingNetwork(xbars, neuron, spikes, target="numpy").run()
    cython_res = snn.SpikingNetwork(xbars, neuron, spikes, target="cython").run()
    assert sum(len(x.spike_indices) for x in numpy_res.layers) > 50
    _same(numpy_res, cython_res, 1e-12)
    _same(numpy_res, standalone[1], 1e-12)


def test_standalone_simulation_time_is_the_compiled_programs_own(standalone):
    """``timings["simulation_s"]`` is the time the program measured (Brian2's last run info)."""
    net, first = standalone
    again = net.run()
    info = build_dir() / "standalone" / f"process{os.getpid()}" / "results" / "last_run_info.txt"
    assert again.timings["simulation_s"] == float(info.read_text().split()[0]) > 0
    assert isinstance(first.timings["simulation_s"], float)


def test_run_args_rerun_equals_fresh_build(case, standalone):
    xbars, neuron, spikes = case
    net, first = standalone
    rng = np.random.default_rng(0)
    dev = xbars[0].device
    G_new = dev.levels.values[rng.integers(0, dev.levels.n, xbars[0].shape)]
    net.set_conductances(0, G_new)
    rerun = net.run()
    assert not np.array_equal(rerun.layers[0].spike_indices, first.layers[0].spike_indices)
    # the reference: a numpy run with those conductances
    new = [xbars[0].with_conductances(G_new), xbars[1]]
    _same(rerun, snn.SpikingNetwork(new, neuron, spikes, target="numpy").run(), 1e-12)

    # every other crossbar and neuron value travels as a run argument too: read voltage,
    # neuron input resistance, device constant, readout gains, threshold and capacitance
    x1 = new[1]
    device = devices.Device("b3", devices.Sinh(b=3.0), x1.device.levels)
    layout = Layout(x1.layout.row_input, x1.layout.readout * 1.5)
    circuit = Circuit(0.25, x1.circuit.pulse_width, 3e3)
    new[1] = Crossbar(x1.G, device, circuit, layout)
    neurons = [neuron, snn.IFNeuron(threshold=0.08, capacitance=1.2e-11)]
    net.set_crossbar(1, new[1])
    net.set_neurons(neurons)
    rerun = net.run()
    _same(rerun, snn.SpikingNetwork(new, neurons, spikes, target="numpy").run(), 1e-12)
    with pytest.raises(SnnRramError, match=r"crossbars\[1\].circuit.pulse_width"):
        net.set_crossbar(1, x1.with_circuit(Circuit(0.3, 2 * x1.circuit.pulse_width, 2e3)))
    swapped = Layout(x1.layout.row_input, x1.layout.readout[:, ::-1])
    with pytest.raises(SnnRramError, match="the columns each neuron reads: not as built"):
        net.set_crossbar(1, Crossbar(x1.G, x1.device, x1.circuit, swapped))
    # ... and a fresh standalone build (which replaces the old one in this process)
    assert net.built
    fresh = snn.SpikingNetwork(new, neurons, spikes, target="cpp_standalone", name="t_fresh")
    _same(rerun, fresh.run(), 0)
    assert fresh.built and not net.built
    with pytest.raises(SnnRramError, match="replaced by a newer standalone network"):
        net.run()


def test_one_step_pulses_agree_across_targets():
    """One-step pulses take the consumed-sum path: ``acc += dD`` one step after the start."""
    xbars, neuron, spikes = small_network("sinh_strong", pulse_steps=1, n_images=2, seed=5)
    runs = [
        snn.SpikingNetwork(xbars, neuron, spikes, target=target, name="t_one_step").run()
        for target in ("numpy", "cython", "cpp_standalone")
    ]
    assert sum(len(x.spike_indices) for x in runs[0].layers) > 50
    _same(runs[0], runs[1], 1e-12)
    _same(runs[0], runs[2], 1e-12)


@pytest.mark.parametrize(("energy", "precompute"), [(True, True), (False, True), (True, False)])
def test_row_kernel_equals_numpy_and_brute_force(energy, precompute, monkeypatch):
    """Dense sinh layers with one-step pulses run on the row kernel in standalone.

    48 inputs at up to 800 Hz: steps with no row, one row (its precomputed responses, or
    without the memory for them the tables) and several rows (tables; sums inside and beyond
    the first coarse interval) all occur.
    """
    if not precompute:
        monkeypatch.setattr(functions, "SINGLE_ROW_BYTES", 0)
    xbars, neuron, spikes = small_network(
        "sinh_strong", pulse_steps=1, bias=False, n=(48, 6, 3), n_images=2, seed=8
    )
    net = snn.SpikingNetwork(
        xbars, neuron, spikes, energy=energy, target="cpp_standalone", name="t_rows"
    )
    assert [layer.cols.rows for layer in net.layers] == [True, True]
    per_step = np.bincount(spikes.steps, minlength=net.n_steps)
    assert (per_step == 1).sum() > 50 and (per_step >= 2).sum() > 50
    res = net.run()
    ref = snn.SpikingNetwork(xbars, neuron, spikes, energy=energy, target="numpy").run()
    assert sum(len(x.spike_indices) for x in ref.layers) > 50
    if not energy:
        for a, b in zip(res.layers, ref.layers, strict=True):
            np.testing.assert_array_equal(a.spike_indices, b.spike_indices)
            np.testing.assert_array_equal(a.spike_times, b.spike_times)
            assert a.device_energy is None
        return
    _same(res, ref, 1e-12)
    for layer, (E, En) in zip(res.layers, brute_force_energy(net, res), strict=True):
        assert max_rel(layer.device_energy, E) < 1e-9
        assert max_rel(layer.neuron_energy, En) < 1e-9
    # a rerun with new conductances (the kernel's responses are those of the run's values)
    rng = np.random.default_rng(1)
    levels = xbars[0].device.levels
    G_new = levels.values[rng.integers(0, levels.n, xbars[0].shape)]
    net.set_conductances(0, G_new)
    new = [xbars[0].with_conductances(G_new), xbars[1]]
    _same(net.run(), snn.SpikingNetwork(new, neuron, spikes, target="numpy").run(), 1e-12)


def _conv_layout(n_in, n_out, width, stride, *, bias, rng, levels):
    """A 1-D convolution-like differential layer: neuron n reads inputs stride·n … +width−1."""
    lay = Layout.differential(n_in, n_out, bias=bias)
    n = np.repeat(np.arange(n_out), width)
    rows = stride * n + np.tile(np.arange(width), n_out)
    rows, cols = np.r_[rows, rows], np.r_[2 * n, 2 * n + 1]
    if bias:  # the always-on row reaches every column
        rows = np.r_[rows, np.full(2 * n_out, n_in)]
        cols = np.r_[cols, np.arange(2 * n_out)]
    return lay, sp.csr_matrix((_excitatory(rows, cols, n_in, rng, levels), (rows, cols)))


def _excitatory(rows, cols, n_in, rng, levels):
    """Conductances of cells: mostly excitatory pairs (high G+, low G−), weak always-on rows."""
    n = levels.n
    level = np.where(
        cols % 2 == 0, rng.integers(n // 3, n, rows.size), rng.integers(0, n // 2, rows.size)
    )
    level = np.where(rows >= n_in, rng.integers(0, n // 4, rows.size), level)
    return levels.values[level]


def _kernel_kinds_network():
    """Sparse with bias rows, sparse (pooling-like), dense with bias rows and a shared column."""
    rng = np.random.default_rng(21)
    dev = devices.load("sinh_strong")
    circ = Circuit(v_read=0.3, pulse_width=1e-4, r_neuron=2e3)
    lay0, G0 = _conv_layout(40, 18, 6, 2, bias=True, rng=rng, levels=dev.levels)
    lay1, G1 = _conv_layout(18, 9, 2, 2, bias=False, rng=rng, levels=dev.levels)
    base = Layout.differential(9, 4, bias=True)
    readout = sp.vstack([base.readout, sp.csr_matrix(-0.5 * np.ones((1, 4)))]).tocsr()
    lay2 = Layout(base.row_input, readout, base.n_inputs)
    r2, c2 = np.indices((lay2.n_rows, lay2.n_cols)).reshape(2, -1)
    G2 = _excitatory(r2, c2, 9, rng, dev.levels).reshape(lay2.n_rows, lay2.n_cols)
    xbars = [
        Crossbar(G0, dev, circ, lay0),
        Crossbar(G1, dev, circ, lay1),
        Crossbar(G2, dev, circ, lay2),
    ]
    spikes = snn.PoissonEncoder(max_rate=700.0, dead_time=1e-4).encode(
        rng.random((2, 40)), 1e-4, 20e-3, rng=22
    )
    return xbars, snn.IFNeuron(threshold=0.1, capacitance=1e-8), spikes


@pytest.mark.parametrize("precompute", [True, False])
def test_row_kernel_bias_sparse_and_shared_columns(precompute, monkeypatch):
    """The row kernel steps layers with always-on rows, sparse layouts and shared columns.

    Layer 0 is convolution-like (each input reaches 3 of 18 neurons) with an always-on row,
    layer 1 pooling-like without one, layer 2 dense with an always-on row and a reference column
    shared by its neurons (that column keeps its generated group). Steps with no row (the idle
    point), one row (precomputed, or without the memory for it the tables) and several rows all
    occur; spikes equal the numpy target's and energies its and the brute force's.
    """
    if not precompute:
        monkeypatch.setattr(functions, "SINGLE_ROW_BYTES", 0)
    xbars, neuron, spikes = _kernel_kinds_network()
    net = snn.SpikingNetwork(
        xbars, neuron, spikes, energy=True, target="cpp_standalone", name="t_rows_kinds"
    )
    assert [layer.cols.rows for layer in net.layers] == [True, True, True]
    plans = net.plans
    assert not plans[0].dense_synapses and plans[0].n_bias_rows == 1
    assert not plans[1].dense_synapses and plans[1].n_bias_rows == 0
    assert plans[2].dense_synapses and plans[2].n_bias_rows == 1 and plans[2].n_shared == 1
    per_step = np.bincount(spikes.steps, minlength=net._n_steps)
    assert (per_step == 0).sum() > 20 and (per_step == 1).sum() > 20
    assert (per_step >= 2).sum() > 20
    res = net.run()
    ref = snn.SpikingNetwork(xbars, neuron, spikes, energy=True, target="numpy").run()
    assert all(len(layer.spike_indices) > 10 for layer in ref.layers)
    _same(res, ref, 1e-12)
    for layer, (E, En) in zip(res.layers, brute_force_energy(net, res), strict=True):
        assert max_rel(layer.device_energy, E) < 1e-9
        assert max_rel(layer.neuron_energy, En) < 1e-9
