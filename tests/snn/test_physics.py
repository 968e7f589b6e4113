"""The spiking network's read physics against the static solver and a plain Brian2 network."""

import brian2 as b2
import numpy as np
import pytest

from snn_rram import snn

from .helpers import DT, active_inputs, small_network


@pytest.mark.parametrize(
    ("device", "pulse_steps"), [("ideal", 1), ("ideal", 2), ("sinh_strong", 2)]
)
def test_column_voltages_equal_static_reads(device, pulse_steps):
    """At every step, the columns in the SNN equal Crossbar.read of the same active rows."""
    xbars, neuron, spikes = small_network(device, pulse_steps=pulse_steps, n_images=1)
    record = {0: ["vcol0", "vcol1", "icol0", "icol1"]}
    net = snn.SpikingNetwork(xbars, neuron, spikes, record=record)
    res = net.run()
    xbar, plan = xbars[0], net.plans[0]
    active = active_inputs(spikes.indices, spikes.steps, 12, net.n_steps, pulse_steps)
    read = xbar.read(xbar.layout.active_rows(active))
    for k in (0, 1):
        cols = plan.slot_col[:, k]
        vcol = res.layers[0].states[f"vcol{k}"]  # (n_steps, n_neurons)
        icol = res.layers[0].states[f"icol{k}"]
        np.testing.assert_allclose(vcol, read.column_voltage[:, cols], rtol=1e-9, atol=1e-18)
        np.testing.assert_allclose(icol, read.neuron_current[:, cols], rtol=1e-9, atol=1e-21)
    assert np.ptp(res.layers[0].states["vcol0"]) > 0


def _plain_network(xbars, neuron, spikes, pulse_steps):
    """Synapses switching a constant current (static gain × v_read) on and off over a pulse."""
    b2.prefs.codegen.target = "numpy"
    dt = DT * b2.second
    src = b2.SpikeGeneratorGroup(spikes.n_inputs, spikes.indices, spikes.steps * dt, dt=dt)
    objs, pre, monitors = [src], src, []
    for x in xbars:
        w = x.layout.neuron_current(x.static_gain() * x.circuit.v_read)  # (rows, neurons)
        bias = w[x.layout.row_input < 0].sum(axis=0)
        rows = np.flatnonzero(x.layout.row_input >= 0)
        g = b2.NeuronGroup(
            x.layout.n_neurons,
            "dv/dt = (I_syn + I_bias)/C : volt\nI_syn : amp\nI_bias : amp (constant)",
            threshold="v > theta",
            reset="v -= theta",
            refractory=pulse_steps * dt,
            method="euler",
            dt=dt,
            namespace={"C": neuron.capacitance * b2.farad, "theta": neuron.threshold * b2.volt},
        )
        g.I_bias = bias * b2.amp
        s = b2.Synapses(
            pre,
            g,
            "w_syn : amp",
            on_pre={"start": "I_syn_post += w_syn", "end": "I_syn_post -= w_syn"},
            delay={"end": pulse_steps * dt},
            dt=dt,
        )
        i, j = np.meshgrid(x.layout.row_input[rows], np.arange(x.layout.n_neurons), indexing="ij")
        s.connect(i=i.ravel(), j=j.ravel())
        s.w_syn = w[rows].ravel() * b2.amp
        reset = g.run_regularly("v = 0*volt", dt=spikes.image_steps * dt, when="start")
        mon = b2.SpikeMonitor(g)
        objs += [g, s, reset, mon]
        monitors.append(mon)
        pre = g
    b2.Network(objs).run(spikes.n_images * spikes.image_steps * dt)
    return [(np.array(m.i[:]), np.array(m.t_[:])) for m in monitors]


@pytest.mark.parametrize("pulse_steps", [1, 2])
def test_linear_grounded_network_is_a_plain_current_network(pulse_steps):
    """Linear devices, grounded rows: exactly the spike trains of a plain Brian2 network."""
    xbars, neuron, spikes = small_network("ideal", pulse_steps=pulse_steps, n_images=3)
    res = snn.SpikingNetwork(xbars, neuron, spikes, energy=False).run()
    plain = _plain_network(xbars, neuron, spikes, pulse_steps)
    for layer, (i, t) in zip(res.layers, plain, strict=True):
        assert len(i) > 20
        np.testing.assert_array_equal(layer.spike_indices, i)
        np.testing.assert_allclose(layer.spike_times, t, rtol=0, atol=1e-12)


def test_images_back_to_back_with_reset():
    xbars, neuron, spikes = small_network("ideal", n_images=4)
    net = snn.SpikingNetwork(xbars, neuron, spikes, record={1: ["v"]})
    res = net.run()
    assert res.counts.shape == (4, 3) and res.v_end.shape == (4, 3)
    out = res.layers[-1]
    image = np.round(out.spike_times / DT).astype(int) // spikes.image_steps
    for k in range(4):
        np.testing.assert_array_equal(
            res.counts[k], np.bincount(out.spike_indices[image == k], minlength=3)
        )
    v = res.layers[-1].states["v"]  # (n_steps, n_out), after each step's update and reset
    last = (np.arange(1, 5) * spikes.image_steps) - 1
    np.testing.assert_array_equal(res.v_end, v[last])
    first = np.arange(4) * spikes.image_steps
    # reset between images: the first step of an image starts from 0 V, so its potential is at
    # most one step's change (measured on the other steps), while the previous image's last
    # potential is far larger (a missing reset would carry it over)
    steps = np.setdiff1d(np.arange(1, v.shape[0]), first)
    one_step = np.abs(v[steps] - v[steps - 1]).max()
    assert (np.abs(v[first]) <= one_step).all()
    assert (np.abs(v[first[1:] - 1]) > 2 * one_step).any()
    assert res.predictions.shape == (4,)
    labels = (res.predictions + np.array([0, 1, 0, 1])) % 3  # two of four agree
    assert res.accuracy(labels) == 0.5
    assert res.duration == pytest.approx(4 * 20e-3)


def test_leak_follows_forward_euler():
    xbars, _, spikes = small_network("ideal", n_images=1)
    tau = 2e-4
    neuron = snn.IFNeuron(threshold=0.1, capacitance=1e-11, leak_tau=tau)
    net = snn.SpikingNetwork(
        xbars, neuron, spikes, energy=False, record={0: ["v", "icol0", "icol1"]}
    )
    res = net.run()
    st = res.layers[0].states
    gain = net.plans[0].slot_gain  # (neurons, 2)
    i_in = st["icol0"] * gain[:, 0] + st["icol1"] * gain[:, 1]
    v = st["v"]
    expected = v[:-1] + (i_in[1:] / neuron.capacitance - v[:-1] / tau) * DT
    steps = np.round(res.layers[0].spike_times / DT).astype(int)
    quiet = np.ones_like(v[1:], dtype=bool)
    quiet[steps - 1, res.layers[0].spike_indices] = False  # spiking steps are reset
    quiet[np.arange(quiet.shape[0]) + 1 == spikes.image_steps] = False
    np.testing.assert_allclose(v[1:][quiet], expected[quiet], rtol=1e-12, atol=1e-15)
