"""The pipeline with 2T2R pairs read by a PCSA (``ternary_2t2r``/``binary_2t2r``), end to end."""

import numpy as np
import pytest

from snn_rram import ann, results
from snn_rram.errors import SnnRramError
from snn_rram.experiments import load_config, run
from tests.experiments.test_pipeline import write_config


@pytest.fixture(scope="module")
def ternary_mlp(tmp_path_factory):
    """A 784-16-10 network whose rows are one scale times {−1, 0, +1}, with biases."""
    rng = np.random.default_rng(0)
    layers = []
    for n_in, n_out in ((784, 16), (16, 10)):
        t = rng.integers(-1, 2, (n_out, n_in))
        layers.append(
            ann.Dense(rng.uniform(0.01, 0.05, n_out)[:, None] * t, rng.normal(0, 0.1, n_out))
        )
    path = tmp_path_factory.mktemp("net") / "ternary.npz"
    ann.save(ann.Network([layers[0], ann.ReLU(), layers[1]], (784,)), path)
    return path


def config(tmp_path, weights, method="ternary_2t2r", options="", **sections):
    body = f'method = "{method}"\nbits = 2\n[mapping.options]\n{options}'
    path = write_config(tmp_path, weights, mapping=body, **sections)
    text = path.read_text().replace("n_images = 20", "n_images = 4")
    path.write_text(text.replace('image_duration = "40 ms"', 'image_duration = "20 ms"'))
    return path


@pytest.mark.parametrize("method", ["ternary_2t2r", "binary_2t2r"])
def test_sense_run_writes_the_usual_result(ternary_mlp, tmp_path, method):
    cfg = load_config(config(tmp_path, ternary_mlp, method, 'reads = "event"\npcsa = {vdd = 0.9}'))
    outcome = run(cfg)
    m = outcome.metrics
    assert outcome.mappings[0].pcsa.vdd == 0.9
    assert m["sense_operations"] > 0 and 0.0 <= m["snn_accuracy"] <= 1.0
    rec = results.load(outcome.path)
    assert rec.config_dict["mapping"]["method"] == method
    assert rec.config_dict["mapping"]["options"]["pcsa"] == {"vdd": 0.9}
    total = sum(layer.total_device_energy for layer in rec.layers.values())
    assert total == pytest.approx(m["total_device_energy"]) and total > 0
    # reads × mean sense energy of each pair, layer by layer
    for layer, mp in zip(rec.layers.values(), outcome.mappings, strict=True):
        G = np.asarray(layer.conductances)
        per_read, _ = mp.pcsa.read_energy(G[:, 0::2], G[:, 1::2])
        expected = layer.read_counts[:, None] * per_read
        E = np.asarray(layer.device_energy)
        np.testing.assert_allclose(E[:, 0::2] + E[:, 1::2], expected, rtol=1e-12)
    n_syn = sum(x.n_synapses for x in outcome.result.layers)
    assert m["average_power_per_synapse"] == pytest.approx(total / (n_syn * 4 * 0.02))
    assert "equal_read_power_per_synapse" not in m


def test_once_reads_sense_each_pair_once(ternary_mlp, tmp_path):
    outcome = run(load_config(config(tmp_path, ternary_mlp, options='reads = "once"')))
    assert outcome.metrics["sense_operations"] == 784 * 16 + 16 * 10
    for layer in outcome.result.layers:
        assert np.all(layer.read_counts == 1)


def test_sense_config_errors(ternary_mlp, tmp_path):
    with pytest.raises(SnnRramError, match=r"pcsa\.vdx.*did you mean 'vdd'"):
        load_config(config(tmp_path, ternary_mlp, options="pcsa = {vdx = 0.9}"))
    with pytest.raises(SnnRramError, match="reads"):
        load_config(config(tmp_path, ternary_mlp, options='reads = "always"'))
    with pytest.raises(SnnRramError, match="PCSA.vdd"):
        load_config(config(tmp_path, ternary_mlp, options="pcsa = {vdd = -1.0}"))


def test_sense_run_on_cpp_standalone_equals_numpy(ternary_mlp, tmp_path):
    """The same config on cpp_standalone: same spikes, accuracy and energies as numpy."""
    path = config(tmp_path, ternary_mlp, options='reads = "once"')
    ref = run(load_config(path), save=False)
    path.write_text(path.read_text().replace('"numpy"', '"cpp_standalone"'))
    outcome = run(load_config(path))
    assert outcome.metrics["build_s"] > 0 and results.load(outcome.path).metrics
    for key in ("snn_accuracy", "sense_operations", "total_device_energy"):
        assert outcome.metrics[key] == pytest.approx(ref.metrics[key], rel=1e-12)
    for a, b in zip(outcome.result.layers, ref.result.layers, strict=True):
        np.testing.assert_array_equal(a.spike_indices, b.spike_indices)
        np.testing.assert_allclose(a.spike_times, b.spike_times, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(outcome.result.counts, ref.result.counts)
