import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import SnnRramError, ann


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def lenet(rng, pool=ann.AvgPool2d):
    return ann.Network(
        [
            ann.Conv2d(rng.normal(0, 0.3, (6, 1, 5, 5)), rng.normal(0, 0.1, 6), padding=2),
            ann.ReLU(),
            pool(2),
            ann.Conv2d(rng.normal(0, 0.2, (16, 6, 5, 5)), rng.normal(0, 0.1, 16)),
            ann.ReLU(),
            pool(2),
            ann.Flatten(),
            ann.Dense(rng.normal(0, 0.1, (120, 400)), rng.normal(0, 0.1, 120)),
            ann.ReLU(),
            ann.Dense(rng.normal(0, 0.1, (10, 120)), rng.normal(0, 0.1, 10)),
        ],
        (1, 28, 28),
    )


def test_rate_model_reproduces_the_ann(rng):
    """ReLU is positively homogeneous: the normalised network times λ_L is the ANN."""
    net = lenet(rng)
    x = rng.random((16, 1, 28, 28))
    conv = ann.convert(net, x)
    np.testing.assert_allclose(
        conv.forward(x) * conv.layers[-1].scale, net.forward(x), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(conv.predict(x), net.predict(x))
    assert [layer.relu for layer in conv.layers] == [True, True, True, False]


def test_input_activity_is_each_layers_mean_input(rng):
    """Per layer, the mean over the images of its inputs in the rate model, clipped to [0, 1]."""
    net = lenet(rng)
    x = rng.random((8, 1, 28, 28))
    conv = ann.convert(net, x)
    means = conv.input_activity(x)
    assert [m.shape for m in means] == [(layer.n_inputs,) for layer in conv.layers]
    np.testing.assert_allclose(means[0], x.reshape(8, -1).mean(axis=0), rtol=1e-15)
    a = x.reshape(8, -1)
    for k, layer in enumerate(conv.layers[:-1]):  # brute force, one image at a time
        out = np.array([np.maximum(layer.weight @ row + layer.bias, 0) for row in a])
        a = out
        expected = np.mean([np.clip(row, 0, 1) for row in a], axis=0)
        np.testing.assert_allclose(means[k + 1], expected, rtol=1e-12, atol=1e-15)
    assert all(((m >= 0) & (m <= 1)).all() for m in means)


def test_convolutions_unroll_sparse_and_small(rng):
    conv = ann.convert(lenet(rng), rng.random((4, 1, 28, 28)))
    c1, c2, f1, _ = conv.layers
    assert sp.issparse(c1.weight) and sp.issparse(c2.weight)
    assert c1.weight.shape == (6 * 28 * 28, 784)
    assert c1.n_synapses < 6 * 28 * 28 * 25 + 1  # taps inside the padded image only
    assert c2.weight.shape == (16 * 10 * 10, 6 * 28 * 28)  # the 2x2 pool folded in
    assert c2.n_synapses == 1600 * 6 * 10 * 10  # each output reads a 10x10 window
    assert isinstance(f1.weight, np.ndarray) and f1.weight.shape == (120, 16 * 10 * 10)  # pool 2
    assert c1.bias.shape == (6 * 28 * 28,)


def test_unroll_conv_matches_forward(rng):
    layer = ann.Conv2d(
        rng.normal(size=(3, 2, 3, 2)), stride=(2, 1), padding=(1, 0, 2, 1), name="c"
    )
    x = rng.random((5, 2, 7, 6))
    W = ann.convert.__globals__["unroll_conv"](layer, (2, 7, 6))
    np.testing.assert_allclose(
        (W @ x.reshape(5, -1).T).T, layer.forward(x).reshape(5, -1), rtol=1e-12
    )


def test_normalisation_per_layer_percentile(rng):
    net = ann.Network(
        [
            ann.Dense(rng.normal(0, 1, (20, 30)), rng.normal(0, 1, 20)),
            ann.ReLU(),
            ann.Dense(rng.normal(0, 1, (5, 20))),
        ],
        (30,),
    )
    x = rng.random((200, 30))
    conv = ann.convert(net, x, percentile=95.0)
    _, acts = net.forward(x, return_activations=True)
    a1 = acts[1]
    lam1 = np.percentile(a1[a1 > 0], 95.0)
    assert conv.layers[0].scale == pytest.approx(lam1)
    np.testing.assert_allclose(conv.layers[0].weight, net[0].weight / lam1)
    np.testing.assert_allclose(conv.layers[0].bias, net[0].bias / lam1)
    np.testing.assert_allclose(conv.layers[1].weight, net[2].weight * lam1 / conv.layers[1].scale)
    rates = np.maximum(x @ conv.layers[0].weight.T + conv.layers[0].bias, 0)
    assert np.mean(rates > 1) == pytest.approx(0.05 * np.mean(a1 > 0), abs=0.01)


def test_refusals(rng):
    with pytest.raises(SnnRramError, match="MaxPool2d has no integrate-and-fire equivalent"):
        ann.convert(lenet(rng, ann.MaxPool2d), rng.random((2, 1, 28, 28)))
    net = ann.Network([ann.Dense(-np.ones((3, 4))), ann.ReLU(), ann.Dense(np.ones((2, 3)))], (4,))
    with pytest.raises(SnnRramError, match="no positive activation"):
        ann.convert(net, rng.random((5, 4)))
    lin = ann.Network([ann.Dense(np.ones((3, 4))), ann.Dense(np.ones((2, 3)))], (4,))
    with pytest.raises(SnnRramError, match="needs a ReLU after it"):
        ann.convert(lin, rng.random((5, 4)))
    ok = ann.Network([ann.Dense(np.ones((2, 4)))], (4,))
    with pytest.raises(SnnRramError, match=r"percentile: must be in \(0, 100\]"):
        ann.convert(ok, rng.random((5, 4)), percentile=101)
    with pytest.raises(SnnRramError, match=r"inputs must lie in \[0, 1\]"):
        ann.convert(ok, rng.random((5, 4)) * 3)
