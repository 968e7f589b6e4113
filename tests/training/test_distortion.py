"""Distortion-aware fine-tuning: the forward model is the pipeline's, and it helps."""

import numpy as np
import pytest

from snn_rram import ann, datasets, devices
from snn_rram.crossbar import Circuit
from snn_rram.errors import SnnRramError
from snn_rram.experiments.pipeline import effective_forward
from snn_rram.training import effective_network, train_distortion_aware


@pytest.fixture(scope="module")
def data():
    d = datasets.load("mnist_5k")
    return (
        d.train_vectors()[:1200],
        d.train_labels[:1200],
        d.test_vectors()[:400],
        d.test_labels[:400],
    )


@pytest.fixture(scope="module")
def small_mlp(data):
    pytest.importorskip("torch")
    network, _ = ann.train.train_mlp(
        (32,), data=datasets.load("mnist_5k"), n_train=1200, epochs=3, max_shift=0, bias=True
    )
    return network


@pytest.mark.parametrize(("card", "r_n"), [("default_linear", 1e3), ("default", 300.0)])
def test_effective_network_is_the_pipelines_rate_model(data, small_mlp, card, r_n):
    device = devices.load(card)
    circuit = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=r_n)
    eff, mappings = effective_network(
        small_mlp, data[0][:300], device, circuit, bits=4, bias_duty=0.02
    )
    converted = ann.convert(small_mlp, data[0][:300])
    x = data[2][:50]
    normalised = effective_forward(mappings, x)  # the pipeline's quantized_accuracy model
    assert np.allclose(eff.forward(x), normalised * converted.layers[-1].scale, rtol=1e-10)
    # and the distortion is real: the effective weights differ from the float ones
    assert not np.allclose(eff.layers[0].weight, small_mlp.layers[0].weight, rtol=0.1)


def test_fine_tuning_recovers_accuracy_lost_to_the_distortion(data, small_mlp):
    device = devices.load("default_linear")
    circuit = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=3e3)
    tuned, meta = train_distortion_aware(
        small_mlp, *data, device=device, circuit=circuit, bits=4, epochs=2, lr=1e-3, refresh=2
    )
    assert meta["effective_accuracy"] > meta["effective_accuracy_before"] + 0.05
    eff, _ = effective_network(tuned, data[0][:500], device, circuit, bits=4)
    assert np.mean(eff.predict(data[2]) == data[3]) == meta["effective_accuracy"]


def test_distillation_pulls_the_mapped_network_towards_its_teacher(data, small_mlp):
    # labels unused (α = 1): the fine-tuned mapped network must agree more with the float one
    device = devices.load("default_linear")
    circuit = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=3e3)
    tuned, meta = train_distortion_aware(
        small_mlp,
        *data,
        device=device,
        circuit=circuit,
        bits=4,
        epochs=2,
        lr=1e-3,
        refresh=2,
        distill=1.0,
        temperature=2.0,
    )
    assert (meta["distill"], meta["temperature"]) == (1.0, 2.0)
    teacher = small_mlp.predict(data[2])
    before, _ = effective_network(small_mlp, data[0][:500], device, circuit, bits=4)
    after, _ = effective_network(tuned, data[0][:500], device, circuit, bits=4)
    agree_before = np.mean(before.predict(data[2]) == teacher)
    assert np.mean(after.predict(data[2]) == teacher) > agree_before + 0.05


def test_bad_input_is_refused(data, small_mlp):
    device, circuit = devices.load("default"), Circuit(0.2, 1e-4, 100.0)
    cnn = ann.Network(
        [ann.Conv2d(np.ones((1, 1, 3, 3))), ann.Flatten(), ann.Dense(np.ones((2, 676)))],
        (1, 28, 28),
    )
    with pytest.raises(SnnRramError, match="Dense and ReLU"):
        train_distortion_aware(cnn, *data, device=device, circuit=circuit, bits=4)
    with pytest.raises(SnnRramError, match="refresh"):
        train_distortion_aware(small_mlp, *data, device=device, circuit=circuit, bits=4, refresh=0)
    with pytest.raises(SnnRramError, match="distill"):
        train_distortion_aware(small_mlp, *data, device=device, circuit=circuit, bits=4, distill=2)
    with pytest.raises(SnnRramError, match="temperature"):
        train_distortion_aware(
            small_mlp, *data, device=device, circuit=circuit, bits=4, temperature=0
        )
    with pytest.raises(SnnRramError, match="mapping.method"):
        effective_network(small_mlp, data[0][:10], device, circuit, bits=4, method="nope")
