"""The spiking 2T2R/PCSA path against a plain Brian2 network with the same ±1/0 weights."""

import itertools

import brian2 as b2
import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import devices, mapping, snn
from snn_rram.crossbar import PCSA, Circuit
from snn_rram.errors import SnnRramError
from snn_rram.snn.encoders import PoissonEncoder

CIRCUIT = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=100.0)
NEURON = snn.IFNeuron(threshold=1.0, capacitance=1e-12, refractory=2e-4)


def error_free_pcsa() -> dict:
    """PCSA parameters under which the default card's LRS and HRS never read wrong.

    No latch offset, no device variation, and the sense window between the trip time of an
    (LRS, HRS) pair and that of an (HRS, HRS) pair: +1/−1 pairs trip, 0 pairs do not.
    """
    dev = devices.load("default")
    g_lrs, g_hrs = dev.levels.values.max(), dev.levels.values.min()
    p = PCSA(vdd=1.2, sigma_offset=0.0)
    t_lrs = p.trip_times(g_lrs, g_hrs)[0]
    t_hrs = p.trip_times(g_hrs, g_hrs)[0]
    return {"vdd": 1.2, "sigma_offset": 0.0, "t_sense": float(np.sqrt(t_lrs * t_hrs))}


def ternary_layers(reads, sizes=(16, 8, 5), seed=0, sparse_first=False):
    rng = np.random.default_rng(seed)
    dev = devices.load("default")
    maps = []
    for n_in, n_out in itertools.pairwise(sizes):
        t = rng.integers(-1, 2, (n_out, n_in))
        scale = rng.uniform(0.2, 0.6, n_out)
        w = scale[:, None] * t
        if sparse_first and not maps:
            w = sp.csr_matrix(np.where(rng.random(w.shape) < 0.6, w, 0.0))
            w.eliminate_zeros()
        maps.append(
            mapping.ternary_2t2r(
                w,
                dev,
                CIRCUIT,
                seed=rng,
                reads=reads,
                pcsa=error_free_pcsa(),
                sigma_lrs=0.0,
                sigma_hrs=0.0,
            )
        )
    return maps


def spikes(n_in, n_images=3, seed=1):
    x = np.random.default_rng(seed).random((n_images, n_in))
    return PoissonEncoder(max_rate=300.0, dead_time=1e-4).encode(x, 1e-4, 0.03, seed)


def plain_brian2(weights, trains, neuron):
    """The reference: a plain Brian2 IF network, ``v_post += w`` per spike, v reset per image."""
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    dt = trains.dt * b2.second
    source = b2.SpikeGeneratorGroup(trains.n_inputs, trains.indices, trains.steps * dt, dt=dt)
    objects, monitors = [source], []
    for w in weights:
        w = sp.csr_matrix(w).tocoo()
        g = b2.NeuronGroup(
            w.shape[0],
            "v : volt",
            threshold="v > 1*volt",
            reset="v -= 1*volt",
            refractory=neuron.refractory * b2.second,
            dt=dt,
        )
        s = b2.Synapses(source, g, "w : volt", on_pre="v_post += w", dt=dt)
        s.connect(i=w.col, j=w.row)
        s.w = w.data * b2.volt
        reset = g.run_regularly("v = 0*volt", dt=trains.image_steps * dt, when="start")
        mon = b2.SpikeMonitor(g)
        objects += [g, s, reset, mon]
        monitors.append(mon)
        source = g
    b2.Network(objects).run(trains.n_images * trains.image_steps * dt, namespace={})
    return [(np.array(m.i[:]), np.array(m.t_[:])) for m in monitors]


def sense_network(maps, trains, reads, seed=0, **kw):
    layers = [snn.SenseLayer(m.crossbar, m.row_scale, m.pcsa) for m in maps]
    return snn.SenseNetwork(layers, NEURON, trains, reads=reads, seed=seed, **kw)


@pytest.mark.parametrize("reads", ["once", "event"])
@pytest.mark.parametrize("sparse_first", [False, True])
def test_error_free_pcsa_equals_plain_brian2(reads, sparse_first):
    maps = ternary_layers(reads, sparse_first=sparse_first)
    for m in maps:  # the parameters really make no errors
        assert m.report["expected_read_error_rate"] == 0.0
    trains = spikes(maps[0].crossbar.shape[0])
    net = sense_network(maps, trains, reads)
    res = net.run()
    ref = plain_brian2([m.nominal_weight for m in maps], trains, NEURON)
    assert sum(len(i) for i, _ in ref) > 20  # the reference spikes in every layer
    for layer, (i, t) in zip(res.layers, ref, strict=True):
        assert len(i) > 0
        np.testing.assert_array_equal(layer.spike_indices, i)
        np.testing.assert_allclose(layer.spike_times, t, rtol=0, atol=1e-12)

    # energies = reads × read energy, reads counted from the spike monitors
    sources = [np.bincount(trains.indices, minlength=trains.n_inputs)]
    sources += [
        np.bincount(i, minlength=m.crossbar.shape[1] // 2)
        for (i, _), m in zip(ref, maps, strict=True)
    ]
    for k, (m, layer) in enumerate(zip(maps, res.layers, strict=True)):
        G = m.crossbar.G.toarray() if sp.issparse(m.crossbar.G) else m.crossbar.G
        E = (
            layer.device_energy.toarray()
            if sp.issparse(layer.device_energy)
            else layer.device_energy
        )
        stored = G[:, 0::2] > 0
        per_read, _ = m.pcsa.read_energy(G[:, 0::2][stored], G[:, 1::2][stored])
        reads_per_row = np.ones(G.shape[0]) if reads == "once" else sources[k]
        expected = reads_per_row[np.nonzero(stored)[0]] * per_read
        np.testing.assert_allclose((E[:, 0::2] + E[:, 1::2])[stored], expected, rtol=1e-12)
        np.testing.assert_array_equal(layer.read_counts, reads_per_row)
        assert net.sense_operations[k] == int(
            expected.size if reads == "once" else reads_per_row[np.nonzero(stored)[0]].sum()
        )
        assert layer.n_synapses == int(stored.sum())
    assert res.total_device_energy() == pytest.approx(
        sum(float(np.sum(x.device_energy)) for x in res.layers)
    )


def test_standalone_gives_the_spikes_and_energies_of_numpy():
    """cpp_standalone: per-event reads of an error-free PCSA, sparse first layer, biases."""
    maps = ternary_layers("event", sparse_first=True)
    trains = spikes(maps[0].crossbar.shape[0])
    drive = [np.linspace(-50.0, 50.0, m.crossbar.shape[1] // 2) for m in maps]

    def run(target):
        layers = [
            snn.SenseLayer(m.crossbar, m.row_scale, m.pcsa, d)
            for m, d in zip(maps, drive, strict=True)
        ]
        net = snn.SenseNetwork(layers, NEURON, trains, reads="event", seed=0, target=target)
        return net, net.run()

    _, ref = run("numpy")
    net, res = run("cpp_standalone")
    assert net.built and "build_s" in res.timings
    assert sum(x.spike_indices.size for x in ref.layers) > 20
    for a, b in zip(res.layers, ref.layers, strict=True):
        np.testing.assert_array_equal(a.spike_indices, b.spike_indices)
        np.testing.assert_allclose(a.spike_times, b.spike_times, rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            a.device_energy.toarray() if sp.issparse(a.device_energy) else a.device_energy,
            b.device_energy.toarray() if sp.issparse(b.device_energy) else b.device_energy,
            rtol=1e-12,
        )
        np.testing.assert_array_equal(a.read_counts, b.read_counts)
    np.testing.assert_allclose(res.v_end, ref.v_end, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(res.counts, ref.counts)
    again = net.run()  # the compiled program again: same seed, same spikes
    np.testing.assert_array_equal(again.layers[-1].spike_indices, res.layers[-1].spike_indices)
    assert again.timings["build_s"] == 0.0


@pytest.mark.parametrize("target", ["numpy", "cpp_standalone"])
def test_event_reads_draw_each_outcome_with_its_probability(target):
    """One input, many spikes, 0-pairs at nominal supply: each sense draws ±1 afresh."""
    dev = devices.load("default")
    n_out = 40
    w = np.zeros((n_out, 1))
    w[:20] = 1.0  # 20 (LRS, HRS) pairs, 20 (HRS, HRS) pairs
    m = mapping.ternary_2t2r(w, dev, CIRCUIT, seed=0, pcsa={"vdd": 1.2}, reads="event")
    p = m.pcsa.outcome_probabilities(m.crossbar.G[0, 0::2], m.crossbar.G[0, 1::2])
    assert 0.2 < p[25, 2] < 0.8  # a 0 pair resolves at random
    n_spikes = 400
    trains = snn.SpikeTrains(
        np.zeros(n_spikes, dtype=np.int32), np.arange(n_spikes) * 2, 1, 1, n_spikes * 2, 1e-4
    )
    neuron = snn.IFNeuron(threshold=1.0, capacitance=1e-12, refractory=0.0)
    unit = 1e-3  # weight of an outcome +1, in thresholds: 400 spikes stay below 1
    layer = snn.SenseLayer(m.crossbar, np.full(n_out, unit), m.pcsa)
    kw = {"reads": "event", "record": {0: ["v"]}, "target": target}
    net = snn.SenseNetwork(layer, neuron, trains, seed=3, **kw)
    # Σ q over the spikes, in thresholds (never reached)
    v = np.round(net.run().layers[0].states["v"][-1] / unit)
    mean_q = p[:, 2] - p[:, 0]
    sd = np.sqrt(n_spikes * (p[:, 2] + p[:, 0] - mean_q**2))
    z = (v - n_spikes * mean_q) / np.maximum(sd, 1e-12)
    assert np.all(np.abs(z[sd > 0]) < 5)  # 5 standard deviations: fails by chance < 1e-5
    assert np.all(v[sd == 0] == n_spikes * mean_q[sd == 0])
    assert np.unique(v[20:]).size > 5  # fresh draws: the 0 pairs differ from each other
    again = snn.SenseNetwork(layer, neuron, trains, seed=3, **kw)
    np.testing.assert_array_equal(np.round(again.run().layers[0].states["v"][-1] / unit), v)
    other = snn.SenseNetwork(layer, neuron, trains, seed=4, **kw)
    assert not np.array_equal(np.round(other.run().layers[0].states["v"][-1] / unit), v)


def test_bad_inputs():
    maps = ternary_layers("once")
    trains = spikes(16)
    layers = [snn.SenseLayer(m.crossbar, m.row_scale, m.pcsa) for m in maps]
    with pytest.raises(SnnRramError, match="reads"):
        snn.SenseNetwork(layers, NEURON, trains, reads="sometimes")
    with pytest.raises(SnnRramError, match="target"):
        snn.SenseNetwork(layers, NEURON, trains, target="cuda_standalone")
    with pytest.raises(SnnRramError, match=r"layers\[0\]: has 8 inputs"):
        snn.SenseNetwork(layers[::-1], NEURON, trains)
    with pytest.raises(SnnRramError, match="scale"):
        snn.SenseLayer(maps[0].crossbar, np.ones(3), maps[0].pcsa)
    with pytest.raises(SnnRramError, match="pcsa"):
        snn.SenseLayer(maps[0].crossbar, maps[0].row_scale, None)
