"""NIR import (snn_rram.ann) and export (snn_rram.snn.nir), on graphs the nir package builds."""

import dataclasses

import nir
import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import ann, datasets, devices, snn
from snn_rram import nir as snir
from snn_rram.errors import SnnRramError, SnnRramWarning
from snn_rram.experiments import load_config, run
from snn_rram.snn.nir import effective_conductance, to_nir
from tests.experiments.test_pipeline import tiny_mlp, write_config  # noqa: F401 - a fixture
from tests.snn.helpers import small_network


def _mlp_graph(rng, *, leak=True):
    """Input(4) → Affine → IF (per-neuron R, θ) → Linear → LIF (or IF) → Output."""
    w1, b1, w2 = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=(2, 3))
    r1, th1 = np.array([1.0, 2.0, 0.5]), np.array([1.0, 0.5, 2.0])
    cell2 = (
        nir.LIF(
            tau=np.full(2, 0.02),
            r=np.full(2, 3.0),
            v_leak=np.zeros(2),
            v_threshold=np.full(2, 0.3),
        )
        if leak
        else nir.IF(r=np.full(2, 3.0), v_threshold=np.full(2, 0.3))
    )
    nodes = {
        "in": nir.Input(np.array([4])),
        "fc1": nir.Affine(w1, b1),
        "if1": nir.IF(r=r1, v_threshold=th1),
        "fc2": nir.Linear(w2),
        "lif2": cell2,
        "out": nir.Output(np.array([2])),
    }
    edges = [("in", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "lif2"), ("lif2", "out")]
    return nir.NIRGraph(nodes, edges), (w1, b1, r1, th1, w2)


def test_an_mlp_graph_written_by_nir_loads_as_its_rate_model(tmp_path, rng):
    graph, (w1, b1, r1, th1, w2) = _mlp_graph(rng)
    path = tmp_path / "mlp.nir"
    nir.write(path, graph)
    assert ann.detect_format(path) == "nir"
    net = ann.load(path)
    assert [layer.kind for layer in net.layers] == ["Dense", "ReLU", "Dense", "ReLU"]
    x = rng.random((5, 4))
    # δ spikes: IF jumps R·w, LIF R·w/τ; in thresholds: k/θ; biases per second / max_rate
    h = np.maximum(0, x @ (w1 * (r1 / th1)[:, None]).T + b1 * r1 / th1 / 100.0)
    y = np.maximum(0, h @ (w2 * (3.0 / 0.02 / 0.3)).T)
    np.testing.assert_allclose(net.forward(x), y, rtol=1e-12)
    imported = snir.read(path, max_rate=50.0)
    np.testing.assert_array_equal(imported.layers[0].weight, w1)
    np.testing.assert_allclose(imported.layers[0].bias_thr, b1 * r1 / th1, rtol=1e-15)
    assert imported.layers[0].neuron.leak_tau is None
    assert imported.layers[1].neuron.leak_tau == pytest.approx(0.02)
    assert imported.layers[1].neuron.reset == "zero"  # NIR resets to v_reset = 0
    conv = imported.converted()
    np.testing.assert_allclose(conv.layers[0].bias, b1 * r1 / th1 / 50.0, rtol=1e-15)
    np.testing.assert_allclose(conv.forward(x), imported.network.forward(x), rtol=1e-12)


def test_a_conv_graph_with_sum_pooling_matches_a_numpy_reference(rng):
    k = rng.normal(size=(2, 1, 3, 3))
    w = rng.normal(size=(3, 18))
    graph = nir.NIRGraph.from_list(
        nir.Input(np.array([1, 6, 6])),
        nir.Conv2d(None, k, 1, 1, 1, 1, np.array([0.1, -0.2])),
        nir.IF(r=np.full((2, 6, 6), 2.0), v_threshold=np.full((2, 6, 6), 4.0)),
        nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        nir.Flatten(input_type=None, start_dim=0),
        nir.Affine(w, np.zeros(3)),
        nir.CubaLIF(
            tau_syn=np.full(3, 0.005),
            tau_mem=np.full(3, 0.01),
            r=np.ones(3),
            v_leak=np.zeros(3),
            v_threshold=np.ones(3),
            w_in=np.full(3, 2.0),
        ),
    )
    with pytest.warns(SnnRramWarning, match=r"node 'cubalif' \(CubaLIF\): the synaptic filter"):
        imported = ann.from_nir(graph)
    x = rng.random((4, 1, 6, 6))
    # reference: padded cross-correlation, ReLU at gain/θ = 0.5, 2x2 sums, flatten, CubaLIF
    xp = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)))
    conv = np.zeros((4, 2, 6, 6))
    for o in range(2):
        for dy in range(3):
            for dx in range(3):
                conv[:, o] += k[o, 0, dy, dx] * xp[:, dy : dy + 6, dx : dx + 6]
    conv += np.array([0.1, -0.2])[None, :, None, None] / 100.0
    h = np.maximum(0.5 * conv, 0)
    pooled = h.reshape(4, 2, 3, 2, 3, 2).sum(axis=(3, 5)).reshape(4, 18)
    y = np.maximum(0, pooled @ (w * (2.0 / 0.01)).T)  # CubaLIF: R·w_in/τ_mem
    np.testing.assert_allclose(imported.network.forward(x), y, rtol=1e-10, atol=1e-12)
    assert sp.issparse(imported.layers[0].weight)
    assert imported.layers[0].weight.shape == (72, 36)
    assert imported.layers[1].weight.shape == (3, 72)  # the sum pooling folded in
    np.testing.assert_allclose(
        imported.converted().forward(x.reshape(4, -1)), y, rtol=1e-10, atol=1e-12
    )
    assert imported.layers[1].neuron.tau_syn[0] == 0.005
    # as it is, on sparse crossbars: G = w (uniform R and θ per layer), the leak carried over
    crossbars, neurons = snir.to_spiking(imported, devices.load("ideal"), snn_circuit())
    assert crossbars[0].is_sparse and neurons[1].leak_tau == pytest.approx(0.01)
    W, b = effective_conductance(crossbars[0])
    np.testing.assert_allclose(W, imported.layers[0].weight.toarray(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(b, imported.layers[0].bias * 1e-4, rtol=1e-12)


def test_an_integrator_before_a_threshold_is_an_if_neuron(rng):
    w = rng.normal(size=(2, 3))
    graph = nir.NIRGraph.from_list(
        nir.Input(np.array([3])),
        nir.Linear(w),
        nir.I(r=np.full(2, 2.0)),
        nir.Threshold(np.full(2, 0.5)),
    )
    layer = ann.from_nir(graph).layers[0]
    assert layer.neuron.kind == "Threshold"
    np.testing.assert_allclose(layer.weight_thr, w * 4.0)


def _round_trip(tmp_path, neuron):
    """A small mapped network, exported, read back and rebuilt on crossbars, both run."""
    xbars, _, spikes = small_network(
        "ideal", circuit={"r_neuron": 0.0}, n=(8, 5, 3), n_images=2, image_ms=15
    )
    net = snn.SpikingNetwork(xbars, neuron, spikes, energy=False)
    path = snir.write(tmp_path / "net.nir", net)
    imported = snir.read(path)
    crossbars, neurons = snir.to_spiking(imported, xbars[0].device, xbars[0].circuit)
    return net, imported, crossbars, neurons


@pytest.mark.parametrize(
    "neuron",
    [
        snn.IFNeuron(threshold=0.1, capacitance=1e-11),
        snn.IFNeuron(threshold=0.08, capacitance=1e-11, reset="zero", leak_tau=5e-3),
    ],
    ids=["if-subtract", "lif-zero"],
)
def test_export_import_gives_the_same_weights_and_spike_trains(tmp_path, neuron):
    net, imported, crossbars, neurons = _round_trip(tmp_path, neuron)
    for orig, layer, rebuilt in zip(net.crossbars, imported.layers, crossbars, strict=True):
        W, b = effective_conductance(orig)
        assert np.abs(layer.weight - W).max() <= 1e-12 * np.abs(W).max()
        W2, b2 = effective_conductance(rebuilt)
        assert np.abs(W2 - W).max() <= 1e-12 * np.abs(W).max()
        assert (b is None) == (b2 is None)
        if b is not None:
            assert np.abs(b2 - b).max() <= 1e-12 * np.abs(b).max()
    for n in neurons:
        assert n.reset == neuron.reset
        assert n.threshold == pytest.approx(neuron.threshold, rel=1e-12)
        assert n.capacitance == pytest.approx(neuron.capacitance, rel=1e-12)
        assert n.leak_tau == neuron.leak_tau
    res = net.run()
    res2 = snn.SpikingNetwork(crossbars, neurons, net.spikes, energy=False).run()
    assert sum(len(layer.spike_indices) for layer in res.layers) > 20
    for a, b in zip(res.layers, res2.layers, strict=True):
        np.testing.assert_array_equal(a.spike_indices, b.spike_indices)
        np.testing.assert_array_equal(a.spike_times, b.spike_times)


def test_the_export_describes_the_static_read_and_the_neurons():
    xbars, neuron, _ = small_network("ideal", n=(6, 4, 2))  # R_N = 2 kΩ: distorted reads
    neuron = dataclasses.replace(neuron, leak_tau=1e-3)
    graph = to_nir(crossbars=xbars, neurons=neuron)
    assert list(graph.nodes) == [
        "input",
        "layer0",
        "layer0_lif",
        "layer1",
        "layer1_lif",
        "output",
    ]
    x = xbars[0]
    gain = x.static_gain() @ x.layout.readout.toarray()  # (rows, neurons)
    np.testing.assert_allclose(graph.nodes["layer0"].weight, gain[:6].T, rtol=1e-14)
    np.testing.assert_allclose(
        graph.nodes["layer0"].bias, gain[6] / x.circuit.pulse_width, rtol=1e-14
    )
    assert not np.allclose(gain[:6], x.G[:6] @ x.layout.readout.toarray())  # distortion seen
    assert isinstance(graph.nodes["layer1"], nir.Linear)
    lif = graph.nodes["layer0_lif"]
    jump = x.circuit.v_read * x.circuit.pulse_width / neuron.capacitance
    np.testing.assert_allclose(lif.r / lif.tau, jump, rtol=1e-14)
    assert lif.metadata["reset"] == "subtract"
    assert lif.metadata["capacitance"] == neuron.capacitance


def test_a_nir_network_maps_with_a_mapping_method(rng):
    graph, _ = _mlp_graph(rng)
    imported = ann.from_nir(graph)
    dev = devices.load("ideal")
    circuit = snn_circuit()
    crossbars, neurons = snir.to_spiking(
        imported, dev, circuit, method="linear_pair", bits=6, threshold=0.2
    )
    assert neurons[1].leak_tau == pytest.approx(0.02) and neurons[0].leak_tau is None
    for xbar, neuron, layer in zip(crossbars, neurons, imported.layers, strict=True):
        W, _ = effective_conductance(xbar)
        # back to thresholds per spike: v_read·t_p·G / (C·θ)
        thr = W * circuit.v_read * circuit.pulse_width / (neuron.capacitance * neuron.threshold)
        target = layer.weight_thr
        assert np.sqrt(np.mean((thr - target) ** 2)) < 0.05 * np.abs(target).max()


def snn_circuit():
    from snn_rram.crossbar import Circuit

    return Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=0.0)


@pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph is being deprecated")
def test_a_conv_graph_exported_by_snntorch_loads(tmp_path):
    torch = pytest.importorskip("torch")
    snntorch = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    convs = [torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.AvgPool2d(2), torch.nn.Flatten()]
    fc = torch.nn.Linear(18, 3)
    beta = [torch.full((2, 6, 6), 0.9), torch.full((3,), 0.8)]
    model = torch.nn.Sequential(
        convs[0],
        snntorch.Leaky(beta=beta[0], threshold=torch.ones(2, 6, 6), init_hidden=True),
        *convs[1:],
        fc,
        snntorch.Leaky(beta=beta[1], threshold=torch.ones(3), init_hidden=True, output=True),
    )
    graph = export_to_nir(model, torch.randn(1, 1, 6, 6), ignore_dims=[0])
    path = tmp_path / "snntorch.nir"
    nir.write(path, graph)
    kinds = ["Conv2d", "ReLU", "AvgPool2d", "Flatten", "Dense", "ReLU"]
    assert [layer.kind for layer in ann.load(path).layers] == kinds
    # snnTorch writes r = τ/dt (dt = 1e-4 s): its update v ← βv + W·s + b is NIR's LIF with
    # spikes of area dt and rates per step, so with spike_area = dt and max_rate = 1/dt the rate
    # model is the torch model with a ReLU for every Leaky
    imported = snir.read(path, spike_area=1e-4, max_rate=1e4)
    x = torch.rand(4, 1, 6, 6)
    with torch.no_grad():
        h = torch.relu(convs[0](x))
        want = torch.relu(fc(convs[2](convs[1](h)))).numpy()
    np.testing.assert_allclose(imported.network.forward(x.numpy()), want, rtol=1e-5, atol=1e-6)
    assert imported.layers[1].neuron.leak_tau == pytest.approx(1e-4 / (1 - 0.8), rel=1e-5)
    # unit δ spikes (the default) make every layer 1/dt stronger, uniformly
    w = fc.weight.detach().numpy().astype(np.float64)
    dense = imported.layers[1].weight_thr
    np.testing.assert_allclose(ann.from_nir(graph).layers[1].weight_thr, dense * 1e4, rtol=1e-12)
    c, y, xx = np.meshgrid(np.arange(2), np.arange(6), np.arange(6), indexing="ij")
    pool = np.zeros((18, 72))  # 2x2 average pooling of the (2, 6, 6) maps, flattened
    pool[((c * 3 + y // 2) * 3 + xx // 2).ravel(), np.arange(72)] = 0.25
    np.testing.assert_allclose(dense, w @ pool, rtol=1e-5)  # pooling folded into the layer


# -- bad input ----------------------------------------------------------------------------------


def _graph(nodes, edges):
    return nir.NIRGraph(nodes, edges, type_check=False)


def _if(n):
    return nir.IF(r=np.ones(n), v_threshold=np.ones(n))


def test_bad_graphs_are_refused_naming_the_node(rng):
    w = rng.normal(size=(3, 4))
    base = {"in": nir.Input(np.array([4])), "fc": nir.Linear(w), "out": nir.Output(np.array([3]))}
    branchy = _graph(
        {**base, "a": _if(3), "b": _if(3)},
        [("in", "fc"), ("fc", "a"), ("fc", "b"), ("a", "out")],
    )
    with pytest.raises(SnnRramError, match=r"node 'fc'.*branches"):
        ann.from_nir(branchy)
    merge = _graph(
        {**base, "a": _if(3), "fc2": nir.Linear(w)},
        [("in", "fc"), ("in", "fc2"), ("fc", "a"), ("fc2", "a"), ("a", "out")],
    )
    with pytest.raises(SnnRramError, match=r"node 'in'.*branches"):
        ann.from_nir(merge)
    li = _graph(
        {**base, "leaky": nir.LI(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3))},
        [("in", "fc"), ("fc", "leaky"), ("leaky", "out")],
    )
    with pytest.raises(SnnRramError, match=r"node 'leaky' \(LI\): LI is not supported"):
        ann.from_nir(li)
    sub = _graph(
        {**base, "rec": _mlp_graph(rng)[0]}, [("in", "fc"), ("fc", "rec"), ("rec", "out")]
    )
    with pytest.raises(SnnRramError, match=r"node 'rec' \(NIRGraph\).*subgraph"):
        ann.from_nir(sub)
    shapes = _graph(
        {**base, "fc": nir.Linear(rng.normal(size=(3, 5))), "a": _if(3)},
        [("in", "fc"), ("fc", "a"), ("a", "out")],
    )
    with pytest.raises(SnnRramError, match=r"node 'fc' \(Linear\): weight \(3, 5\) takes 5"):
        ann.from_nir(shapes)
    params = _graph({**base, "a": _if(4)}, [("in", "fc"), ("fc", "a"), ("a", "out")])
    with pytest.raises(SnnRramError, match=r"node 'a' \(IF\)\.v_threshold: has shape \(4,\)"):
        ann.from_nir(params)
    reset = _graph(
        {**base, "a": nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.full(3, -0.1))},
        [("in", "fc"), ("fc", "a"), ("a", "out")],
    )
    with pytest.raises(SnnRramError, match=r"node 'a' \(IF\)\.v_reset"):
        ann.from_nir(reset)
    leak = nir.LIF(tau=np.ones(3), r=np.ones(3), v_leak=np.ones(3), v_threshold=np.ones(3))
    with pytest.raises(SnnRramError, match=r"node 'a' \(LIF\)\.v_leak"):
        ann.from_nir(_graph({**base, "a": leak}, [("in", "fc"), ("fc", "a"), ("a", "out")]))
    no_neurons = _graph(base, [("in", "fc"), ("fc", "out")])
    with pytest.raises(SnnRramError, match=r"node 'fc'.*no spiking neurons"):
        ann.from_nir(no_neurons)
    cycle = _graph({**base, "a": _if(3)}, [("in", "fc"), ("fc", "a"), ("a", "fc")])
    with pytest.raises(SnnRramError, match=r"node 'fc'"):
        ann.from_nir(cycle)
    with pytest.raises(SnnRramError, match="graph: expected a nir.NIRGraph"):
        ann.from_nir({"in": 1})


def test_bad_convolution_graphs_are_refused_naming_the_node(rng):
    def chain(*nodes):
        return nir.NIRGraph.from_list(nir.Input(np.array([2, 6, 6])), *nodes, type_check=False)

    def conv(groups=1):
        return nir.Conv2d(None, rng.normal(size=(2, 2 // groups, 3, 3)), 1, 0, 1, groups, None)

    def cell():
        return nir.IF(r=np.ones(2), v_threshold=np.ones(2))

    def pool(padding=0):
        return nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([padding] * 2))

    with pytest.raises(SnnRramError, match=r"node 'conv2d' \(Conv2d\)\.groups"):
        ann.from_nir(chain(conv(groups=2), cell()))
    with pytest.raises(SnnRramError, match=r"node 'sumpool2d' \(SumPool2d\)\.padding"):
        ann.from_nir(chain(conv(), cell(), pool(padding=1)))
    with pytest.raises(SnnRramError, match=r"node 'sumpool2d'.*'conv2d' must be followed"):
        ann.from_nir(chain(conv(), pool(), cell()))
    with pytest.raises(SnnRramError, match=r"node 'affine' \(Affine\).*add a Flatten"):
        ann.from_nir(chain(conv(), cell(), nir.Affine(np.ones((2, 32)), np.zeros(2)), cell()))
    # per-channel parameters are fine; per-position ones cannot share a convolution's weights
    per_position = nir.IF(r=rng.random((2, 4, 4)) + 0.5, v_threshold=np.ones((2, 4, 4)))
    with pytest.raises(SnnRramError, match=r"node 'if': gain/threshold varies within a channel"):
        ann.from_nir(chain(conv(), per_position))
    r = np.broadcast_to(np.array([1.0, 2.0])[:, None, None], (2, 4, 4)).copy()
    per_channel = nir.IF(r=r, v_threshold=np.ones((2, 4, 4)))
    assert ann.from_nir(chain(conv(), per_channel)).network.output_shape == (2, 4, 4)


def test_per_neuron_time_constants_cannot_become_one_ifneuron(rng):
    graph = nir.NIRGraph.from_list(
        nir.Input(np.array([2])),
        nir.Linear(rng.normal(size=(2, 2))),
        nir.LIF(
            tau=np.array([0.01, 0.02]),
            r=np.ones(2),
            v_leak=np.zeros(2),
            v_threshold=np.ones(2),
        ),
    )
    imported = ann.from_nir(graph)  # the rate model needs no single tau
    with pytest.raises(SnnRramError, match=r"node 'lif': tau differs"):
        snir.to_spiking(imported, devices.load("ideal"), snn_circuit())


def test_bad_files_and_arguments(tmp_path):
    bad = tmp_path / "broken.nir"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(SnnRramError, match="broken.nir: not a NIR graph"):
        ann.load(bad)
    # a dataset whose declared dataspace the file's bytes cannot hold (nir reads it whole)
    import h5py

    huge = tmp_path / "huge.nir"
    with h5py.File(huge, "w") as f:
        f.create_dataset("node/nodes/w", shape=(10**9,), dtype="f8", chunks=(1024,))
    with pytest.raises(SnnRramError, match="huge.nir: dataset 'node/nodes/w': declares 7.451 GiB"):
        ann.load(huge)
    with pytest.raises(SnnRramError, match="crossbars: expected a non-empty list"):
        to_nir()
    with pytest.raises(SnnRramError, match="network: expected a SpikingNetwork"):
        snir.write(tmp_path / "x.nir", {"nodes": {}})
    assert not (tmp_path / "x.nir").exists()


def test_a_nir_file_runs_through_the_pipeline_like_any_network(tiny_mlp, tmp_path):  # noqa: F811
    """A 784-32-10 MLP as a NIR graph of IF layers: the run config names the .nir file."""
    mlp = ann.load(tiny_mlp)
    (_, dense1), (_, dense2) = mlp.weight_layers()
    graph = nir.NIRGraph.from_list(
        nir.Input(np.array([784])),
        nir.Affine(dense1.weight, np.zeros(32)),
        nir.IF(r=np.full(32, 2.0), v_threshold=np.full(32, 2.0)),
        nir.Linear(dense2.weight),
        nir.IF(r=np.ones(10), v_threshold=np.ones(10)),
    )
    path = tmp_path / "mlp.nir"
    snir.write(path, graph)
    cfg = load_config(write_config(tmp_path, path))
    outcome = run(cfg.replace("data.n_images", 10).replace("encoder.image_duration", 0.03))
    x = datasets.load("mnist_5k").test_vectors()[:20]
    np.testing.assert_allclose(
        ann.load(path).forward(x), np.maximum(mlp.forward(x), 0), rtol=1e-12, atol=1e-12
    )
    m = outcome.metrics
    assert m["ann_accuracy"] > 0.5 and m["snn_accuracy"] > 0.3
    assert [layer.name for layer in outcome.result.layers] == ["affine", "linear"]


def test_a_pipeline_network_exports_its_mapped_weights(tiny_mlp, tmp_path):  # noqa: F811
    """Read back in threshold units, the export is the mapping's effective weights and biases."""
    from snn_rram.experiments.pipeline import prepare

    cfg = load_config(write_config(tmp_path, tiny_mlp)).replace("mapping.method", "qwsm")
    prep = prepare(cfg.replace("data.n_images", 2))
    crossbars = [m.crossbar for m in prep.mappings]
    path = snir.write(tmp_path / "mapped.nir", crossbars=crossbars, neurons=prep.neurons)
    imported = snir.read(path, max_rate=cfg.encoder.max_rate)
    for m, layer in zip(prep.mappings, imported.layers, strict=True):
        eff = np.asarray(m.effective_weight)
        np.testing.assert_allclose(layer.weight_thr, eff, rtol=1e-12, atol=1e-12 * abs(eff).max())
        assert layer.neuron.reset == cfg.neuron.reset


def test_the_cli_exports_a_run_config_as_the_pipeline_maps_it(tiny_mlp, tmp_path, capsys):  # noqa: F811
    """``snn-rram export CONFIG -o net.nir`` writes what ``prepare`` maps (``--set`` applied)."""
    from snn_rram.cli import main
    from snn_rram.experiments.pipeline import prepare

    config = write_config(tmp_path, tiny_mlp)
    out = tmp_path / "cli.nir"
    assert main(["export", str(config), "--set", "mapping.bits=3", "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    cfg = load_config(config).replace("mapping.bits", 3)
    prep = prepare(cfg.replace("data.n_images", 2))
    imported = snir.read(out, max_rate=cfg.encoder.max_rate)
    for m, layer in zip(prep.mappings, imported.layers, strict=True):
        eff = np.asarray(m.effective_weight)
        np.testing.assert_allclose(layer.weight_thr, eff, rtol=1e-12, atol=1e-12 * abs(eff).max())


def test_the_cli_exports_a_run_result_as_it_was_run(tiny_mlp, tmp_path):  # noqa: F811
    """``snn-rram export RESULT.h5``: the network of the run's config, checked against the
    conductances stored in the result; a result whose network changed since is refused."""
    from snn_rram.cli import main

    weights = tmp_path / "mine.npz"  # a copy: the fixture's file is shared
    ann.save(ann.load(tiny_mlp), weights)
    outcome = run(load_config(write_config(tmp_path, weights)).replace("data.n_images", 2))
    out = tmp_path / "result.nir"
    assert main(["export", str(outcome.path), "-o", str(out)]) == 0
    imported = snir.read(out, max_rate=200.0)
    for m, layer in zip(outcome.mappings, imported.layers, strict=True):
        eff = np.asarray(m.effective_weight)
        np.testing.assert_allclose(layer.weight_thr, eff, rtol=1e-12, atol=1e-12 * abs(eff).max())
    assert main(["export", str(outcome.path), "--set", "mapping.bits=3", "-o", str(out)]) == 2
    # the network file changed since the run: its conductances cannot be rebuilt
    mlp = ann.load(weights)
    first = mlp.layers[0]
    w = np.array(first.weight)
    w[:5] = -w[:5]  # (a common scale would be normalised away by the conversion)
    changed = ann.Network(
        [ann.Dense(w, first.bias, name=first.name), *mlp.layers[1:]],
        input_shape=mlp.input_shape,
    )
    ann.save(changed, weights)
    assert main(["export", str(outcome.path), "-o", str(tmp_path / "changed.nir")]) == 2
    assert not (tmp_path / "changed.nir").exists()
