"""The ``trained`` mapping: on-array training results on the crossbars, as trained."""

import numpy as np
import pytest

from snn_rram import SnnRramError, ann, datasets, devices, mapping
from snn_rram.crossbar import Circuit
from snn_rram.devices import Programming
from snn_rram.experiments import load_config, run
from snn_rram.training import OnArrayConfig, save_on_array, train_on_array

DEVICE = devices.load("neurosim_realdevice")  # linear read
_P = DEVICE.programming
FEW = Programming(_P.g_min, _P.g_max, 50, 2.4, -4.88, sigma_c2c=0.035)
IDEAL_READ = Circuit(v_read=0.2, pulse_width=1e-6, r_neuron=0.0)


@pytest.fixture(scope="module")
def data():
    ds = datasets.load("mnist_5k").subset(n_train=300, n_test=40)
    return ds.train_vectors(), ds.train_labels, ds.test_vectors(), ds.test_labels


def _train(synapse, data, folder):
    cfg = OnArrayConfig(synapse=synapse, epochs=2, selection="magnitude", learning_rate=0.02)
    r = train_on_array((784, 16, 10), FEW, *data, cfg, seed=4)
    path = save_on_array(r, folder / "t.h5", data="mnist_5k, 300 images")
    net = ann.save(r.network(), folder / "net.npz")
    return r, path, net


@pytest.fixture(scope="module")
def hybrid_file(data, tmp_path_factory):
    return _train("hybrid", data, tmp_path_factory.mktemp("hybrid"))


@pytest.fixture(scope="module")
def single_file(data, tmp_path_factory):
    return _train("single", data, tmp_path_factory.mktemp("single"))


def _converted(result, calib):
    return ann.convert(result.network(), calib)


@pytest.mark.parametrize("which", ["single_file", "hybrid_file"])
def test_trained_mapping_reproduces_the_trained_weights(which, data, request):
    r, path, _ = request.getfixturevalue(which)
    conv = _converted(r, data[0])
    duty = 0.01
    for i, layer in enumerate(conv.layers):
        kw = dict(bits=4, bias=layer.bias, bias_duty=duty, file=str(path))
        m = mapping.get("trained")(layer.weight, DEVICE, IDEAL_READ, **kw)
        assert m.report["layer"] == i and m.report["synapse"] == r.config.synapse
        s = m.report["scale"]
        # the crossbar's own conductances, read ideally, give the trained weights
        np.testing.assert_allclose(m.nominal_weight / s, r.weights[i][:-1].T, rtol=1e-12)
        np.testing.assert_allclose(m.effective_weight, layer.weight, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(m.effective_bias, layer.bias, rtol=1e-9, atol=1e-15)
        # no re-quantisation: every trained conductance is on the crossbar unchanged
        G_train, gains = r.array(i)
        n_in, cols = layer.weight.shape[1], G_train.shape[1]
        G = np.asarray(m.crossbar.G)
        np.testing.assert_array_equal(G[:n_in, :cols], G_train[:-1])
        np.testing.assert_array_equal(G[n_in, cols:], G_train[-1])
        assert np.all(G[:n_in, cols:] == 0) and np.all(G[n_in, :cols] == 0)
        readout = m.crossbar.layout.readout.toarray()
        np.testing.assert_array_equal(readout[:cols].sum(axis=1), gains)
        k = r.gains[i]
        w = k * (G[:n_in, :cols] @ readout[:cols])
        np.testing.assert_allclose(w, r.weights[i][:-1], rtol=1e-12, atol=1e-15)


def test_big_columns_as_gains(hybrid_file, data):
    r, path, _ = hybrid_file
    layer = _converted(r, data[0]).layers[1]
    f = mapping.get("trained")
    area = f(layer.weight, DEVICE, IDEAL_READ, bits=4, bias=layer.bias, file=str(path))
    gain = f(
        layer.weight,
        DEVICE,
        IDEAL_READ,
        bits=4,
        bias=layer.bias,
        file=str(path),
        big_columns="gain",
    )
    np.testing.assert_allclose(gain.nominal_weight, area.nominal_weight, rtol=1e-12)
    gamma = r.config.gamma
    G_area, G_gain = np.asarray(area.crossbar.G), np.asarray(gain.crossbar.G)
    np.testing.assert_allclose(G_gain[:, 0:2], G_area[:, 0:2] / gamma)  # Gb+, Gb- of neuron 0
    np.testing.assert_array_equal(G_gain[:, 2:4], G_area[:, 2:4])  # small devices as they are
    assert gain.crossbar.layout.readout[0, 0] == gamma


def test_bad_inputs_are_named(single_file, data, tmp_path):
    r, path, _ = single_file
    f = mapping.get("trained")
    layer = _converted(r, data[0]).layers[1]
    with pytest.raises(SnnRramError, match="mapping.options.file: no file"):
        f(layer.weight, DEVICE, IDEAL_READ, bits=4, file=str(tmp_path / "missing.h5"))
    with pytest.raises(SnnRramError, match="mapping.options.file: the trained mapping needs"):
        f(layer.weight, DEVICE, IDEAL_READ, bits=4)
    with pytest.raises(SnnRramError, match=r"mapping.options.file: no layer .* shape \(10, 17\)"):
        f(np.ones((10, 17)), DEVICE, IDEAL_READ, bits=4, file=str(path))
    other = np.random.default_rng(0).standard_normal(layer.weight.shape)  # right shape
    with pytest.raises(SnnRramError, match="mapping.options.file: no layer"):
        f(other, DEVICE, IDEAL_READ, bits=4, file=str(path))
    with pytest.raises(SnnRramError, match="bias: the network's biases"):
        f(layer.weight, DEVICE, IDEAL_READ, bits=4, bias=-np.arange(10.0), file=str(path))
    with pytest.raises(SnnRramError, match="mapping.options.big_columns"):
        f(layer.weight, DEVICE, IDEAL_READ, bits=4, file=str(path), big_columns="both")
    flt = train_on_array((784, 8, 10), None, *data, OnArrayConfig(synapse="float", epochs=1))
    save_on_array(flt, tmp_path / "float.h5")
    with pytest.raises(SnnRramError, match="holds a float .* run, which has no arrays"):
        f(layer.weight, DEVICE, IDEAL_READ, bits=4, file=str(tmp_path / "float.h5"))


def _config(tmp_path, net, file, n_images=10):
    text = (
        f'[network]\nweights = "{net}"\n[data]\nn_images = {n_images}\nn_calibration = 300\n'
        '[simulation]\ntarget = "numpy"\nprogress = false\n'
        '[encoder]\nmax_rate = "200 Hz"\nimage_duration = "30 ms"\n'
        f'[device]\ncard = "neurosim_realdevice"\n'
        f'[mapping]\nmethod = "trained"\noptions = {{file = "{file}"}}\n'
        f'[output]\ndirectory = "{tmp_path}"\nname = "run"\nfigure = false\n'
    )
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_a_run_of_the_trained_arrays(hybrid_file, tmp_path):
    r, path, net = hybrid_file
    outcome = run(load_config(_config(tmp_path, net, path)))
    m = outcome.metrics
    ds = datasets.load("mnist_5k")
    x, y = ds.test_vectors()[:10], ds.test_labels[:10]
    assert m["ann_accuracy"] == pytest.approx(np.mean(r.predict(x) == y))
    assert m["average_power_per_synapse"] > 0
    # the spiking network classifies as the trained network does (measured: 8 of 10)
    assert np.mean(outcome.result.predictions == r.predict(x)) >= 0.6
    assert outcome.mappings[0].report["method"] == "trained"
    G_train, _ = r.array(0)
    np.testing.assert_array_equal(
        np.asarray(outcome.mappings[0].crossbar.G)[:784, : G_train.shape[1]], G_train[:-1]
    )


def test_config_checks_the_file(single_file, tmp_path):
    _, _, net = single_file
    with pytest.raises(SnnRramError, match="mapping.options.file: no file"):
        load_config(_config(tmp_path, net, tmp_path / "nope.h5"))
