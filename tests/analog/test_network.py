"""Analog inference on mapped crossbars: exactness on ideal hardware, the reads it chains, its
energy accounting, and accuracy on sinh devices."""

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import SnnRramError, ann, datasets, devices, mapping
from snn_rram.analog import AnalogNetwork, adc, dac
from snn_rram.crossbar import ALWAYS_ON, Circuit

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models" / "networks" / "mlp_784_256_10.npz"
IDEAL = devices.load("ideal")
STRONG = devices.load("sinh_strong")


def small_mlp(rng, sizes=(12, 8, 5)):
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers.append(ann.Dense(rng.normal(size=(n_out, n_in)), rng.normal(0.1, 0.2, n_out)))
        layers.append(ann.ReLU())
    return ann.Network(layers[:-1], input_shape=(sizes[0],))


def small_cnn(rng):
    return ann.Network(
        [
            ann.Conv2d(rng.normal(size=(3, 1, 3, 3)), rng.normal(0.1, 0.1, 3)),
            ann.ReLU(),
            ann.AvgPool2d(2),
            ann.Flatten(),
            ann.Dense(rng.normal(size=(4, 3 * 3 * 3)), rng.normal(0.0, 0.1, 4)),
        ],
        input_shape=(1, 8, 8),
    )


def rate_model(an, x):
    """The converted rate model with the weights the mapping realises (effective weights)."""
    a = x.reshape(len(x), -1)
    for layer, m in zip(an.converted.layers, an.mappings, strict=True):
        a = np.asarray(m.effective_weight @ np.clip(a, 0, 1).T).T
        if m.effective_bias is not None:
            a = a + m.effective_bias
        if layer.relu:
            a = np.maximum(a, 0.0)
    return a


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_linear_ideal_hardware_equals_the_mapped_ann(kind, rng):
    """Linear devices, ideal virtual ground, no wires: the analog network is the rate model of
    the mapped weights (to rounding), and, with fine weights, the ANN itself."""
    net = small_mlp(rng) if kind == "mlp" else small_cnn(rng)
    x = rng.random((40, *net.input_shape))
    # percentile 100 on the same images: no activation exceeds the DAC's full scale
    an = AnalogNetwork.from_network(
        net, x, IDEAL, Circuit(0.3, 1e-6, 0.0), bits=16, percentile=100.0
    )
    if kind == "cnn":
        assert an.crossbars[0].is_sparse  # unrolled convolution, pooling folded in
    out = an.forward(x).output
    ref = rate_model(an, x)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
    # the ANN's logits, up to the weight quantisation of the mapping (levels of the device)
    logits = net.forward(x)
    scaled = out * an.converted.layers[-1].scale
    assert np.abs(scaled - logits).max() < 0.05 * np.abs(logits).max()


@pytest.mark.parametrize("parallel", [1, 2])
def test_forward_is_the_layer_reads_chained_by_hand(parallel, rng):
    """Sinh cells, R_N > 0, wires: the forward pass is Crossbar.read of each layer's row
    voltages, built here from the layout, with the periphery applied by hand."""
    net = small_mlp(rng)
    x = rng.random((15, 12))
    circuit = Circuit(0.4, 1e-6, 200.0, r_wire_row=0.5, r_wire_col=0.5)
    an = AnalogNetwork.from_network(
        net,
        x,
        STRONG,
        circuit,
        bits=4,
        dac_bits=6,
        adc_bits=8,
        method="qwsm",
        options={"parallel": parallel},
    )
    assert an.crossbars[0].n_rows == 13 * parallel  # k rows per input and k bias rows
    res = an.forward(x)
    a = x
    for k, m in enumerate(an.mappings):
        xbar = m.crossbar
        rows = xbar.layout.row_input
        code = np.round(np.clip(a, 0, 1) * 63) / 63
        V = np.where(rows == ALWAYS_ON, circuit.v_read, 0.0) + np.zeros((len(x), rows.size))
        V[:, rows >= 0] = circuit.v_read * code[:, rows[rows >= 0]]
        read = xbar.read(row_voltage=V)
        np.testing.assert_array_equal(res.reads[k].row_voltage, V)
        sensed = read.output() * an.output_scale[k]
        fs = an.adc_range[k]
        out = np.round(np.clip(sensed, -fs, fs) / fs * 127) * fs / 127
        a = np.maximum(out, 0) if an.converted.layers[k].relu else out
        np.testing.assert_allclose(
            res.reads[k].neuron_current, read.neuron_current, rtol=1e-12, atol=1e-25
        )
    np.testing.assert_allclose(res.output, a, rtol=1e-12, atol=1e-12 * np.abs(a).max())


@pytest.mark.parametrize("r_neuron", [0.0, 100.0])
def test_energy_is_the_power_of_the_reads(r_neuron, rng):
    """Driver energy = Σ_rows V·I × read time; device energy = Σ_cells V·I × read time, per
    image and layer; the per-synapse energy sums the images."""
    net = small_mlp(rng)
    x = rng.random((10, 12))
    circuit = Circuit(0.5, 2e-6, r_neuron)
    an = AnalogNetwork.from_network(net, x, STRONG, circuit, bits=4)
    assert an.forward(x).synapse_energy == []
    res = an.forward(x, synapse_energy=True)
    t = circuit.pulse_width
    for k, read in enumerate(res.reads):
        drv = (read.row_voltage * read.driver_current).sum(axis=1) * t
        np.testing.assert_allclose(res.driver_energy[:, k], drv, rtol=1e-12)
        cells = read.device_voltage * read.device_current  # (n, rows, cols), W
        np.testing.assert_allclose(res.device_energy[:, k], cells.sum(axis=(1, 2)) * t, rtol=1e-9)
        np.testing.assert_allclose(
            res.synapse_energy[k], cells.sum(axis=0) * t, rtol=0, atol=1e-12 * cells.max() * t
        )
        if r_neuron == 0.0:
            np.testing.assert_allclose(
                res.device_energy[:, k], res.driver_energy[:, k], rtol=1e-12
            )
    assert res.energy_per_inference == pytest.approx(res.device_energy.sum(axis=1).mean())
    for k, read in enumerate(res.reads):  # neuron energy per column, reads per row
        np.testing.assert_allclose(
            res.neuron_energy[k], read.neuron_power.sum(axis=0) * t, rtol=1e-12
        )
        np.testing.assert_array_equal(res.read_counts[k], (read.row_voltage != 0).sum(axis=0))


def test_batches_give_the_result_of_one_batch(rng):
    net = small_mlp(rng)
    x = rng.random((11, 12))
    x[:, 3] = 0.0  # an input never driven
    an = AnalogNetwork.from_network(net, x, STRONG, Circuit(0.5, 2e-6, 100.0), bits=4)
    whole = an.forward(x, synapse_energy=True)
    parts = an.forward(x, synapse_energy=True, batch_size=4)
    assert parts.reads == [] and len(whole.reads) == 2
    for name in ("output", "device_energy", "driver_energy"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-12)
    for name in ("synapse_energy", "neuron_energy"):
        for a, b in zip(getattr(parts, name), getattr(whole, name), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-30)
    for a, b in zip(parts.read_counts, whole.read_counts, strict=True):
        np.testing.assert_array_equal(a, b)
    assert whole.read_counts[0][3] == 0 and whole.read_counts[0].max() == 11
    assert an.forward(x, batch_size=11).reads != []  # one batch: the reads are kept
    for bad in (0, -1, 2.5, True):
        with pytest.raises(SnnRramError, match="batch_size: expected None or a positive"):
            an.forward(x, batch_size=bad)


def test_bundled_mlp_on_sinh_devices():
    """The bundled MLP on 100 bundled test images, read in analog on sinh cells with
    R_N = 100 Ω (prints the accuracy and energy; the ANN gets 0.99 on these images)."""
    net = ann.load(MLP)
    ds = datasets.load("mnist_5k")
    x, y = datasets.as_vectors(ds.test_images[:100]), ds.test_labels[:100]
    calib = datasets.as_vectors(ds.train_images[:200])
    ann_acc = float(np.mean(net.predict(x) == y))
    for name in ("sinh_mild", "sinh_strong"):
        an = AnalogNetwork.from_network(
            net, calib, devices.load(name), Circuit(0.5, 1e-7, 100.0), bits=6, seed=0
        )
        res = an.forward(x)
        acc = float(np.mean(res.predict() == y))
        print(
            f"{name}: analog accuracy {acc:.2f} (ANN {ann_acc:.2f}), "
            f"{res.energy_per_inference:.3g} J per inference"
        )
        assert acc >= ann_acc - 0.05
        assert res.device_energy.shape == (100, 2) and (res.device_energy > 0).all()
        calibrated = an.calibrate(calib)
        assert calibrated.output_scale != an.output_scale
        assert np.mean(calibrated.predict(x) == y) >= ann_acc - 0.05


def test_any_mapping_method_and_bias_voltage(rng):
    net = small_mlp(rng)
    x = rng.random((8, 12))
    for method in mapping.available():
        if method == "trained":  # maps a training result file (tests/mapping/test_trained.py)
            continue
        an = AnalogNetwork.from_network(
            net, x, STRONG, Circuit(0.3, 1e-6, 50.0), bits=3, method=method, seed=0
        )
        assert np.isfinite(an.forward(x).output).all(), method
    an = AnalogNetwork.from_network(
        net, x, IDEAL, Circuit(0.3, 1e-6, 0.0), bits=12, bias_voltage=0.0
    )
    no_bias = AnalogNetwork(an.converted, an.mappings, bias_voltage=0.0)
    assert np.array_equal(an.forward(x).output, no_bias.forward(x).output)
    assert not np.allclose(
        an.forward(x).output, AnalogNetwork(an.converted, an.mappings).forward(x).output
    )


def test_periphery_quantisers():
    np.testing.assert_array_equal(dac([-0.5, 0.0, 0.4, 0.6, 2.0], 1), [0, 0, 0, 1, 1])
    np.testing.assert_allclose(dac([0.2, 0.4], 2), [1 / 3, 1 / 3])
    np.testing.assert_array_equal(dac([0.2, 0.4]), [0.2, 0.4])
    np.testing.assert_allclose(adc([-3.0, 0.26, 0.5, 3.0], 3, 1.0), [-1, 1 / 3, 2 / 3, 1])
    np.testing.assert_array_equal(adc([-3.0, 3.0]), [-3.0, 3.0])


def test_bad_inputs(rng):
    net = small_mlp(rng)
    x = rng.random((4, 12))
    an = AnalogNetwork.from_network(net, x, IDEAL, Circuit(0.3, 1e-6, 0.0), bits=4)
    with pytest.raises(SnnRramError, match="mappings: expected one per converted layer"):
        AnalogNetwork(an.converted, an.mappings[:1])
    with pytest.raises(SnnRramError, match=r"mappings\[1\]: maps"):
        AnalogNetwork(an.converted, [an.mappings[0], an.mappings[0]])
    with pytest.raises(SnnRramError, match="converted"):
        AnalogNetwork(net, an.mappings)
    with pytest.raises(SnnRramError, match="dac_bits"):
        AnalogNetwork(an.converted, an.mappings, dac_bits=0)
    with pytest.raises(SnnRramError, match="adc_bits"):
        AnalogNetwork(an.converted, an.mappings, adc_bits=[4])
    with pytest.raises(SnnRramError, match="output_scale"):
        AnalogNetwork(an.converted, an.mappings, output_scale=-1.0)
    with pytest.raises(SnnRramError, match=r"x: inputs must lie in \[0, 1\]"):
        an.forward(x + 1.0)
    with pytest.raises(SnnRramError, match="x: expected 12 input values"):
        an.forward(np.zeros((2, 5)))
    with pytest.raises(SnnRramError, match="x"):
        an.forward(np.full((2, 12), np.nan))
    assert sp.issparse(sp.csr_matrix(an.crossbars[0].G))


@pytest.mark.parametrize("r_neuron", [0.0, 100.0])
def test_read_noise_is_seeded_and_accounted(r_neuron, rng):
    """Per-read conductances (read noise): reproducible with a seed, energy still V·I."""
    net = small_mlp(rng)
    x = rng.random((6, 12))
    noisy = dataclasses.replace(
        STRONG, variation=dataclasses.replace(STRONG.variation, read_sigma=0.05)
    )
    circuit = Circuit(0.3, 1e-6, r_neuron)
    an = AnalogNetwork.from_network(net, x, noisy, circuit, bits=4)
    clean = an.forward(x).output
    one, two = an.forward(x, rng=3, synapse_energy=True), an.forward(x, rng=3)
    np.testing.assert_array_equal(one.output, two.output)
    assert not np.allclose(one.output, clean)
    for k, read in enumerate(one.reads):
        cells = read.device_power * circuit.pulse_width
        np.testing.assert_allclose(one.device_energy[:, k], cells.sum(axis=(1, 2)), rtol=1e-9)
        np.testing.assert_allclose(one.synapse_energy[k], cells.sum(axis=0), rtol=1e-12)


def test_crossbars_mapped_for_the_spiking_network(rng):
    """Bias rows mapped at the spiking pipeline's duty: driven at v_read / duty, the biases
    come out exact on ideal hardware."""
    net = small_mlp(rng)
    x = rng.random((10, 12))
    circuit = Circuit(0.3, 1e-6, 0.0)
    ref = AnalogNetwork.from_network(net, x, IDEAL, circuit, bits=12)
    duty = 0.1
    mappings = [
        mapping.linear_pair(layer.weight, IDEAL, circuit, bits=12, bias=layer.bias, bias_duty=duty)
        for layer in ref.converted.layers
    ]
    spiking = AnalogNetwork(ref.converted, mappings, bias_duty=duty)
    assert spiking.row_voltages(0, x)[0, -1] == pytest.approx(circuit.v_read / duty)
    out = spiking.forward(x).output
    np.testing.assert_allclose(out, rate_model(spiking, x), rtol=0, atol=1e-12 * np.abs(out).max())
    with pytest.raises(SnnRramError, match="bias_duty"):
        AnalogNetwork(ref.converted, mappings, bias_duty=2.0)


def test_calibration_at_a_lower_level_keeps_hidden_rows_low(rng):
    """level < 1: hidden outputs at that fraction of full scale; on linear cells without biases
    or clipping (percentile 100) the logits are those of the full-scale calibration."""
    net = ann.Network(
        [ann.Dense(rng.normal(size=(8, 12))), ann.ReLU(), ann.Dense(rng.normal(size=(5, 8)))],
        input_shape=(12,),
    )
    x = rng.random((40, 12))
    an = AnalogNetwork.from_network(
        net, x, devices.load("ideal"), Circuit(0.3, 1e-6, 0.0), bits=8, percentile=100.0
    )
    full, low = an.calibrate(x), an.calibrate(x, level=0.25)
    np.testing.assert_allclose(low.output_scale[0], 0.25 * full.output_scale[0], rtol=1e-9)
    np.testing.assert_allclose(low.forward(x).output, full.forward(x).output, rtol=1e-9)
    rows = low.forward(x).reads[1].row_voltage
    assert 0 < rows.max() <= 0.25 * 0.3 * (1 + 1e-9)  # the hidden rows stay at a quarter
    with pytest.raises(SnnRramError, match="level"):
        an.calibrate(x, level=1.5)
