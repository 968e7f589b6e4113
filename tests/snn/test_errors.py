import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import SnnRramError, devices, snn
from snn_rram.crossbar import Circuit, Crossbar, Layout

from .helpers import small_network


def test_pulse_width_must_be_whole_steps():
    xbars, neuron, spikes = small_network("ideal")
    bad = [x.with_circuit(x.circuit.replace(pulse_width=1.5e-4)) for x in xbars]
    with pytest.raises(SnnRramError, match=r"pulse_width: 0.00015 s is not a whole number"):
        snn.SpikingNetwork(bad, neuron, spikes)


def test_refractory_shorter_than_pulse():
    xbars, _, spikes = small_network("ideal", pulse_steps=3)
    neuron = snn.IFNeuron(threshold=0.1, capacitance=1e-11, refractory=1e-4)
    with pytest.raises(SnnRramError, match=r"neurons\[0\].refractory: .* shorter than the read"):
        snn.SpikingNetwork(xbars, neuron, spikes)


def test_input_spikes_closer_than_a_pulse():
    xbars, neuron, _ = small_network("ideal", pulse_steps=3)
    spikes = snn.PoissonEncoder(800.0, 1e-4).encode(np.ones((1, 12)), 1e-4, 0.02, 0)
    with pytest.raises(SnnRramError, match="read pulses would overlap"):
        snn.SpikingNetwork(xbars, neuron, spikes)


def test_mismatched_shapes():
    xbars, neuron, spikes = small_network("ideal")
    dev = devices.load("ideal")
    other = Crossbar(
        np.full((13, 10), 1e-5), dev, xbars[0].circuit, Layout.differential(12, 5, bias=True)
    )
    with pytest.raises(SnnRramError, match=r"crossbars\[1\]: has 6 inputs, but layer 0 has 5"):
        snn.SpikingNetwork([other, xbars[1]], neuron, spikes)
    with pytest.raises(SnnRramError, match="spikes: 12 inputs, but layer 0 has 6"):
        snn.SpikingNetwork([xbars[1]], neuron, spikes)
    with pytest.raises(SnnRramError, match="neurons: expected an IFNeuron or a list of 2"):
        snn.SpikingNetwork(xbars, [neuron], spikes)
    with pytest.raises(SnnRramError, match="crossbars: expected a non-empty list"):
        snn.SpikingNetwork([], neuron, spikes)


def test_standalone_refuses_coupled_layers():
    xbars, neuron, spikes = small_network("ideal", circuit={"inactive_rows": "float"})
    with pytest.raises(SnnRramError, match="runs only on the runtime targets"):
        snn.SpikingNetwork(xbars, neuron, spikes, target="cpp_standalone")


def test_unknown_options():
    xbars, neuron, spikes = small_network("ideal")
    with pytest.raises(SnnRramError, match="target: expected one of"):
        snn.SpikingNetwork(xbars, neuron, spikes, target="gpu")
    with pytest.raises(SnnRramError, match="column_solver: expected one of"):
        snn.SpikingNetwork(xbars, neuron, spikes, column_solver="guess")
    with pytest.raises(SnnRramError, match="reset: expected one of"):
        snn.IFNeuron(0.1, 1e-11, reset="hold")
    with pytest.raises(SnnRramError, match="threshold: must be > 0"):
        snn.IFNeuron(0.0, 1e-11)


def test_set_conductances_checks_structure():
    xbars, neuron, spikes = small_network("ideal")
    net = snn.SpikingNetwork(xbars, neuron, spikes)
    with pytest.raises(SnnRramError, match="layout: describes 13 rows"):
        net.set_conductances(0, np.ones((3, 3)) * 1e-5)
    with pytest.raises(SnnRramError, match="built for a dense"):
        net.set_conductances(0, sp.csr_matrix(np.asarray(xbars[0].G)))
    with pytest.raises(SnnRramError, match="G: contains NaN"):
        net.set_conductances(0, np.full(xbars[0].shape, np.nan))


def test_non_separable_devices_need_the_coupled_solve():
    dev = devices.Device(
        "poly",
        devices.Polynomial([1e-7], [1e-6]),
        devices.UniformLevels(1e-6, 1e-5, 4),
        source="test",
    )
    xbars, neuron, spikes = small_network(dev)
    net = snn.SpikingNetwork(xbars, neuron, spikes)
    assert net.coupled == [True, True]
    assert len(net.run().layers[0].spike_indices) > 0
    with pytest.raises(SnnRramError, match="runs only on the runtime targets"):
        snn.SpikingNetwork(xbars, neuron, spikes, target="cpp_standalone")


def test_circuit_change_through_crossbars_is_honoured():
    xbars, neuron, spikes = small_network("ideal", n_images=1)
    base = snn.SpikingNetwork(xbars, neuron, spikes).run()
    low = [x.with_circuit(Circuit(0.1, x.circuit.pulse_width, 2e3)) for x in xbars]
    weaker = snn.SpikingNetwork(low, neuron, spikes).run()
    assert base.total_device_energy() > 5 * weaker.total_device_energy()


def test_record_names_what_each_layer_can_record():
    xbars, neuron, spikes = small_network("ideal")
    with pytest.raises(SnnRramError, match=r"record\[0\]: cannot record 'vcol5'.*records v, "):
        snn.SpikingNetwork(xbars, neuron, spikes, record={0: ["v", "vcol5"]})
    floating = [x.with_circuit(Circuit(0.3, x.circuit.pulse_width, 2e3, "float")) for x in xbars]
    with pytest.raises(SnnRramError, match=r"layer 1 is coupled .* records v, I_in"):
        snn.SpikingNetwork(floating, neuron, spikes, record={1: ["vcol0"]})
    with pytest.raises(SnnRramError, match="is not a layer index"):
        snn.SpikingNetwork(xbars, neuron, spikes, record={2: ["v"]})
    net = snn.SpikingNetwork(floating, neuron, spikes, record={1: ["I_in"]})
    assert net.run().layers[1].states["I_in"].shape[1] == 3
