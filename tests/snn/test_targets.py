"""numpy, Cython and C++ standalone agree; standalone reruns with new conductances."""

import os

import numpy as np
import pytest

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
