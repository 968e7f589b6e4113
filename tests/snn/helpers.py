"""Small networks and independent references for the spiking-network tests."""

import numpy as np
import scipy.sparse as sp

from snn_rram import devices, snn
from snn_rram.crossbar import Circuit, Crossbar, Layout

DT = 1e-4


def small_network(
    device="ideal",
    *,
    pulse_steps=2,
    bias=True,
    n=(12, 6, 3),
    circuit=None,
    seed=0,
    n_images=3,
    image_ms=20,
    rate=800.0,
    layouts=None,
):
    """Two differential layers, Poisson inputs with a dead time of one pulse."""
    rng = np.random.default_rng(seed)
    dev = devices.load(device) if isinstance(device, str) else device
    pw = pulse_steps * DT
    kw = {"v_read": 0.3, "pulse_width": pw, "r_neuron": 2e3}
    kw.update(circuit or {})
    circ = Circuit(**kw)
    n_in, n_hid, n_out = n
    if layouts is None:
        layouts = [Layout.differential(n_in, n_hid, bias=bias), Layout.differential(n_hid, n_out)]
    xbars = []
    for lay in layouts:
        G = dev.levels.values[rng.integers(0, dev.levels.n, (lay.n_rows, lay.n_cols))]
        xbars.append(Crossbar(G, dev, circ, lay))
    images = rng.random((n_images, n_in))
    spikes = snn.PoissonEncoder(max_rate=rate, dead_time=pw).encode(
        images, DT, image_ms * 1e-3, rng=seed + 1
    )
    neuron = snn.IFNeuron(threshold=0.1, capacitance=1e-11)
    return xbars, neuron, spikes


def active_inputs(indices, steps, n_inputs, n_steps, pulse_steps):
    """Inputs whose pulse covers integration step u: a spike at s covers s+1 … s+pulse_steps."""
    active = np.zeros((n_steps, n_inputs), dtype=bool)
    for d in range(1, pulse_steps + 1):
        u = np.asarray(steps) + d
        ok = u < n_steps
        active[u[ok], np.asarray(indices)[ok]] = True
    return active


def brute_force_energy(net, res):
    """Every device's power at every step from static reads of the active set, summed."""
    n_steps, dt = net.n_steps, net.dt
    idx, steps = net.spikes.indices, net.spikes.steps
    out = []
    for k, xbar in enumerate(net.crossbars):
        active = active_inputs(idx, steps, xbar.layout.n_inputs, n_steps, net.pulse_steps[k])
        rows = xbar.layout.active_rows(active)
        E = np.zeros(xbar.shape)
        En = np.zeros(xbar.n_cols)
        for chunk in np.array_split(np.arange(n_steps), max(1, n_steps // 256)):
            r = xbar.read(rows[chunk])
            E += r.device_power.sum(axis=0) * dt
            En += r.neuron_power.sum(axis=0) * dt
        out.append((E, En))
        layer = res.layers[k]
        idx, steps = layer.spike_indices, np.round(layer.spike_times / dt).astype(int)
    return out


def dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def max_rel(a, b):
    a, b = dense(a), dense(b)
    scale = np.abs(b)
    ok = scale > 0
    return float(np.max(np.abs(a - b)[ok] / scale[ok]))
