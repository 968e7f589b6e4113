"""Binary/ternary training (STE, error injection) and inference through the PCSA model."""

import numpy as np
import pytest

from snn_rram import datasets
from snn_rram.ann import Dense, Network
from snn_rram.crossbar import PCSA, TwoStateCells
from snn_rram.errors import SnnRramError
from snn_rram.training import (
    ReadErrors,
    errors_inference,
    pcsa_inference,
    split_alphabet,
    train_quantized,
)

CELLS = TwoStateCells(2e-5, 1e-6, sigma_lrs=0.1, sigma_hrs=0.3)


@pytest.fixture(scope="module")
def mnist():
    d = datasets.load("mnist_5k")
    return (
        d.train_vectors()[:1500],
        d.train_labels[:1500],
        d.test_vectors()[:300],
        d.test_labels[:300],
    )


@pytest.fixture(scope="module")
def ternary_mlp(mnist):
    pytest.importorskip("torch")
    return train_quantized(*mnist, alphabet="ternary", hidden=(32,), epochs=2, seed=1)


def test_error_injection_gives_the_requested_rates_per_type():
    t = np.repeat(np.array([-1, 0, 1], dtype=np.int8), 200_000)
    errors = ReadErrors(zero_to_nonzero=0.05, nonzero_to_zero=0.02, sign_flip=0.01)
    read = errors.corrupt(t, rng=0)
    zero, nonzero = t == 0, t != 0
    tol = 5 * np.sqrt(0.05 / 200_000)
    assert (read[zero] != 0).mean() == pytest.approx(0.05, abs=2 * tol)
    assert (read[zero] == 1).mean() == pytest.approx(0.025, abs=2 * tol)
    assert (read[nonzero] == 0).mean() == pytest.approx(0.02, abs=2 * tol)
    assert (read[nonzero] == -t[nonzero]).mean() == pytest.approx(0.01, abs=2 * tol)
    paper = ReadErrors.uniform(0.1, "ternary").corrupt(t, rng=1)
    assert not (paper[nonzero] == -t[nonzero]).any()  # never +1 <-> -1
    binary = ReadErrors.uniform(0.1, "binary").corrupt(t[nonzero], rng=2)
    assert (binary == -t[nonzero]).mean() == pytest.approx(0.1, abs=0.005)
    assert not (binary == 0).any()


def test_error_model_from_the_pcsa():
    rates = PCSA(1.2).error_rates(CELLS, "ternary")
    errors = ReadErrors.from_rates(rates)
    assert errors.zero_to_nonzero == pytest.approx(1.0, abs=1e-9)  # nominal supply: 0 -> ±1
    assert errors.nonzero_to_zero == pytest.approx(0.0, abs=1e-9)
    window = ReadErrors.from_rates(PCSA(0.45).error_rates(CELLS, "ternary"))
    assert window.zero_to_nonzero < 1e-3 and window.nonzero_to_zero < 1e-3


def test_tiny_ternary_network_learns_and_exports_its_alphabet(mnist, ternary_mlp):
    network, meta = ternary_mlp
    assert meta["test_accuracy"] > 0.8
    assert meta["alphabet"] == "ternary"
    for layer in network.layers:
        if layer.has_weights:
            t, scale = split_alphabet(layer)
            assert set(np.unique(t)) <= {-1, 0, 1} and (t == 0).any()
            assert np.array_equal(scale[:, None] * t, layer.weight)
    # the STE moved the weights: an untrained export is much worse
    _, meta0 = train_quantized(*mnist, alphabet="ternary", hidden=(32,), epochs=0, seed=1)
    assert meta0["test_accuracy"] < meta["test_accuracy"] - 0.3


def test_binary_network_has_no_zeros_and_training_with_errors_runs(mnist):
    pytest.importorskip("torch")
    network, meta = train_quantized(
        *mnist,
        alphabet="binary",
        hidden=(16,),
        epochs=1,
        errors=ReadErrors.uniform(0.05, "binary"),
    )
    for layer in network.layers:
        if layer.has_weights:
            assert not (split_alphabet(layer)[0] == 0).any()
    assert meta["errors"]["sign_flip"] == 0.05
    assert meta["test_accuracy"] > 0.5


def test_float_reference_is_the_same_architecture_unquantised(mnist):
    pytest.importorskip("torch")
    held_out = (mnist[0][-200:], mnist[1][-200:])
    network, meta = train_quantized(
        mnist[0][:-200],
        mnist[1][:-200],
        *mnist[2:],
        alphabet="float",
        hidden=(16,),
        epochs=1,
        validation=held_out,
        score_train=False,
    )
    assert meta["test_accuracy"] > 0.6 and meta["sparsity"] == [0.0, 0.0]
    # the held-out images are scored by the exported network, apart from train and test
    assert meta["n_validation_images"] == 200 and meta["n_train_images"] == 1300
    expected = np.mean(network.predict(held_out[0]) == held_out[1])
    assert meta["validation_accuracy"] == pytest.approx(expected)
    assert meta["train_accuracy"] is None  # not scored
    with pytest.raises(SnnRramError, match="not a binary/ternary layer"):
        split_alphabet(network.layers[0])


def test_learning_rate_schedule(mnist, ternary_mlp):
    """Cosine anneals the rate to 0; constant (the default) keeps it: other weights."""
    pytest.importorskip("torch")
    network, meta = train_quantized(
        *mnist, alphabet="ternary", hidden=(32,), epochs=2, seed=1, lr_schedule="cosine"
    )
    assert meta["lr_schedule"] == "cosine" and ternary_mlp[1]["lr_schedule"] == "constant"
    assert meta["test_accuracy"] > 0.7
    assert not np.array_equal(network.layers[0].weight, ternary_mlp[0].layers[0].weight)


def test_cnn_trains_and_exports_conv_layers():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 8, 8))
    y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype(int)
    network, meta = train_quantized(
        x,
        y,
        x,
        y,
        input_shape=(1, 8, 8),
        conv=(4,),
        hidden=(),
        n_classes=2,
        epochs=30,
        batch_size=16,
        lr=1e-2,
    )
    assert meta["train_accuracy"] > 0.9  # the toy problem: which half of the image is brighter
    kinds = [layer.kind for layer in network.layers]
    assert kinds[:3] == ["Conv2d", "ReLU", "AvgPool2d"] and kinds[-1] == "Dense"
    assert split_alphabet(network.layers[0])[0].shape == (4, 1, 3, 3)


def test_pcsa_inference_without_errors_equals_the_float_forward(mnist, ternary_mlp):
    network, _ = ternary_mlp
    x = mnist[2][:40]
    exact = network.forward(x)
    pcsa = PCSA(0.46)  # inside the near-threshold window, narrow devices: every read is right
    narrow = TwoStateCells(2e-5, 1e-6, sigma_lrs=0.05, sigma_hrs=0.1)
    assert pcsa.error_rates(narrow).ber < 1e-15
    for reads in ("once", "per_image"):
        result = pcsa_inference(network, x, pcsa, narrow, rng=3, reads=reads, batch_size=16)
        assert np.allclose(result.outputs, exact, rtol=0, atol=1e-12)
    n_synapses = sum(layer.weight.size for layer in network.layers if layer.has_weights)
    assert result.n_reads == 40 * n_synapses


def test_pcsa_read_energy_is_reads_times_energy_per_read(ternary_mlp):
    network, _ = ternary_mlp
    cells = TwoStateCells(2e-5, 1e-6)  # no variation: every pair of a state is the same
    pcsa = PCSA(0.46, sigma_offset=0.0)
    result = pcsa_inference(network, np.zeros((1, 784)), pcsa, cells, rng=0)
    expected = 0.0
    for layer in network.layers:
        if layer.has_weights:
            t, _ = split_alphabet(layer)
            for w in (-1, 0, 1):
                g_bl = cells.g_lrs if w > 0 else cells.g_hrs
                g_blb = cells.g_lrs if w < 0 else cells.g_hrs
                expected += (t == w).sum() * float(pcsa.read_energy(g_bl, g_blb)[0])
    assert result.read_energy == pytest.approx(expected, rel=1e-12)


def test_nominal_supply_costs_accuracy_near_threshold_does_not(mnist, ternary_mlp):
    network, _ = ternary_mlp
    x, y = mnist[2], mnist[3]
    clean = np.mean(network.predict(x) == y)
    near = pcsa_inference(network, x, PCSA(0.45), CELLS, rng=0).accuracy(y)
    nominal = pcsa_inference(network, x, PCSA(1.2), CELLS, rng=0).accuracy(y)
    assert near == pytest.approx(clean, abs=1e-12)
    assert nominal < clean - 0.05


def test_injected_errors_at_inference(mnist, ternary_mlp):
    network, _ = ternary_mlp
    x, y = mnist[2], mnist[3]
    clean = errors_inference(network, x, ReadErrors(), rng=0)
    assert np.allclose(clean.outputs, network.forward(x), rtol=0, atol=1e-12)
    accuracy = [
        errors_inference(network, x, ReadErrors.uniform(ber), rng=0, reads=reads).accuracy(y)
        for ber in (0.0, 0.3)
        for reads in ("once", "per_image")
    ]
    assert accuracy[0] == accuracy[1] == clean.accuracy(y)
    assert max(accuracy[2:]) < accuracy[0]
    assert clean.n_reads == sum(layer.weight.size for layer in network.layers if layer.has_weights)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: train_quantized(*m, alphabet="quaternary"), "alphabet"),
        (lambda m: train_quantized(*m, hidden=(0,)), "hidden"),
        (lambda m: train_quantized(*m, errors=0.1), "errors"),
        (lambda m: train_quantized(*m, epochs=-1), "epochs"),
        (lambda m: train_quantized(*m, lr_schedule="step"), "lr_schedule"),
        (lambda m: train_quantized(m[0], m[1][:10], m[2], m[3]), "train_y"),
        (lambda m: train_quantized(*m, conv=(4,)), "conv"),
        (lambda m: train_quantized(*m, validation=(m[2],)), "validation"),
        (lambda m: train_quantized(*m, validation=(m[2], m[3][:5])), "validation_y"),
        (lambda m: ReadErrors(nonzero_to_zero=0.7, sign_flip=0.6), "must not exceed 1"),
        (lambda m: ReadErrors(zero_to_nonzero=1.5), "zero_to_nonzero"),
        (lambda m: split_alphabet(Dense(np.array([[0.5, 1.0]]), name="fc")), "fc.weight"),
        (
            lambda m: pcsa_inference(
                Network([Dense(np.ones((2, 3)))], (3,)),
                np.zeros((1, 3)),
                PCSA(1.0),
                CELLS,
                0,
                reads="sometimes",
            ),
            "reads",
        ),
    ],
)
def test_bad_input_is_refused(mnist, call, field):
    pytest.importorskip("torch")
    with pytest.raises(SnnRramError, match=field):
        call(mnist)
