"""Paper 2's recipe: the torch forward pass is the analog crossbar read, and it trains."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from snn_rram import ann, devices  # noqa: E402
from snn_rram.analog import AnalogNetwork  # noqa: E402
from snn_rram.crossbar import Circuit  # noqa: E402
from snn_rram.devices.iv import Polynomial, Tabulated  # noqa: E402
from snn_rram.errors import SnnRramError  # noqa: E402
from snn_rram.training import (  # noqa: E402
    DeviceAwareLayer,
    DeviceAwareNetwork,
    crossbar_current,
    load_device_aware,
    train_device_aware,
)


def _network(device, circuit, *, pair="one_sided", snap=True, bias=True, sizes=(12, 8, 3)):
    """A random network with weights in [−1, 1] and gains that keep it in range."""
    rng = np.random.default_rng(0)
    layers = []
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w = rng.uniform(-1, 1, (n_out, n_in))
        b = rng.uniform(-1, 1, n_out) if bias else None
        gain = 1.0 / (circuit.v_read * 20e-6 * n_in**0.5)
        layers.append(DeviceAwareLayer(f"fc{k + 1}", w, b, gain, k == 0))
    return DeviceAwareNetwork(tuple(layers), device, circuit, pair=pair, snap=snap)


def _polynomial_device():
    """sinh_strong's levels (1–20 µS) with a G-dependent cubic I–V, ``a2``, ``a3`` linear in
    log10 G: relative nonlinearity ``a3/G`` 2.0 /V² at 1 µS, 0.5 /V² at 20 µS, rectifying
    (``a2/G`` 0.3–0.3 /V), increasing over ±1 V at every G of the range."""
    x0, x1 = -6.0, np.log10(2e-5)
    a3 = np.polynomial.polynomial.polyfit([x0, x1], [2.0 * 1e-6, 0.5 * 2e-5], 1)
    a2 = np.polynomial.polynomial.polyfit([x0, x1], [0.3 * 1e-6, 0.3 * 2e-5], 1)
    return dataclasses.replace(
        devices.load("sinh_strong"), name="polynomial_test", read_model=Polynomial(a2, a3)
    )


def _device(card):
    return _polynomial_device() if card == "polynomial" else devices.load(card)


CASES = [
    ("sinh_strong", 0.0, "one_sided", True),
    ("sinh_strong", 5e3, "one_sided", True),
    ("sinh_mild", 5e3, "symmetric", False),
    ("ideal", 5e3, "one_sided", False),
    ("polynomial", 0.0, "one_sided", False),
    ("polynomial", 5e3, "symmetric", True),
]


@pytest.mark.parametrize("card", ["sinh_strong", "polynomial"])
def test_crossbar_current_is_a_crossbar_read(card):
    """One layer against Crossbar.read(row_voltage=…) of the same differential pairs."""
    device = _device(card)
    circuit = Circuit(0.8, 1e-6, np.linspace(1e3, 8e3, 16))  # R_N per column
    net = _network(device, circuit, snap=False, sizes=(12, 8))
    mapping = net.analog_args()["mappings"][0]
    a = np.random.default_rng(2).random((6, 12))
    V = np.concatenate([0.8 * a, np.full((6, 1), 0.8)], axis=1)
    ref = mapping.crossbar.read(row_voltage=V).output()
    gp, gm, bp, bm = (torch.as_tensor(g) for g in net.conductances(0))
    got = crossbar_current(
        torch.as_tensor(a), gp, gm, device=device, circuit=circuit, bias_pos=bp, bias_neg=bm
    )
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def _random_layer(a_shape, g_shape, seed):
    """Inputs in [0, 1) and conductances in 1..20 (µS), float64, requiring gradients."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(*a_shape, generator=gen, dtype=torch.float64, requires_grad=True)
    gp = (1 + 19 * torch.rand(*g_shape, generator=gen, dtype=torch.float64)).requires_grad_()
    gm = (1 + 19 * torch.rand(*g_shape, generator=gen, dtype=torch.float64)).requires_grad_()
    bp = (1 + 19 * torch.rand(g_shape[0], generator=gen, dtype=torch.float64)).requires_grad_()
    return a, gp, gm, bp


def _in_micro(device, circuit, **geometry):
    """crossbar_current in µS and µA (well-scaled for gradcheck), bias G− at 1 µS."""

    def layer(a, gp, gm, bp):
        i = crossbar_current(
            a,
            gp * 1e-6,
            gm * 1e-6,
            device=device,
            circuit=circuit,
            bias_pos=bp * 1e-6,
            bias_neg=torch.full_like(bp, 1e-6),
            **geometry,
        )
        return i * 1e6

    return layer


@pytest.mark.parametrize("card", ["sinh_strong", "ideal", "polynomial"])
def test_gradients_of_a_small_layer(card):
    """gradcheck through the column solve (implicit gradient), in µS and µA."""
    device = _device(card)
    circuit = Circuit(0.9, 1e-6, np.array([2e4, 5e4, 3e4, 0.0]))
    a, gp, gm, bp = _random_layer((3, 5), (2, 5), 0)
    layer = _in_micro(device, circuit)
    assert torch.autograd.gradcheck(layer, (a, gp, gm, bp), eps=1e-6, atol=1e-7)
    # the solve matters: a large R_N changes the currents against the virtual ground
    ideal = crossbar_current(
        a, gp * 1e-6, gm * 1e-6, device=device, circuit=circuit.replace(r_neuron=0.0)
    )
    loaded = crossbar_current(a, gp * 1e-6, gm * 1e-6, device=device, circuit=circuit)
    assert not torch.allclose(ideal[:, :1], loaded[:, :1], rtol=0.05)


def _blobs(n, seed):
    """Three separable classes of 16 inputs in [0, 1] (a tiny stand-in for images)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.random.default_rng(99).random((3, 16))
    x = np.clip(centres[y] + 0.15 * rng.normal(size=(n, 16)), 0, 1)
    return x, y


def test_a_tiny_network_learns_on_a_strongly_nonlinear_device():
    x, y = _blobs(240, 0)
    xt, yt = _blobs(120, 1)
    device = devices.load("sinh_strong")
    circuit = Circuit(1.0, 1e-6, 100.0)
    net, meta = train_device_aware(
        (16, 12, 3), x, y, xt, yt, device=device, circuit=circuit, epochs=8, lr=1e-2, seed=3
    )
    assert meta["test_accuracy"] >= 0.9
    assert np.all(np.abs(net.layers[0].weight) <= 1)
    untrained, _ = train_device_aware(
        (16, 12, 3), x, y, xt, yt, device=device, circuit=circuit, epochs=0, seed=3
    )
    assert meta["final_loss"] < 1.0
    assert np.mean(untrained.predict(xt) == yt) < meta["test_accuracy"]


def _float_mlp(seed, hidden):
    """A random float MLP 16-hidden-3."""
    rng = np.random.default_rng(seed)
    return ann.Network(
        [
            ann.Dense(rng.normal(size=(hidden, 16))),
            ann.ReLU(),
            ann.Dense(rng.normal(size=(3, hidden))),
        ],
        (16,),
    )


def test_starting_from_a_float_network_keeps_its_function():
    """Ideal device, virtual ground, no training: the logits are the float ones times a gain."""
    x, y = _blobs(40, 0)
    float_net = _float_mlp(5, 6)
    device, circuit = devices.load("ideal"), Circuit(0.3, 1e-6, 0.0)
    net, _ = train_device_aware(
        (16, 6, 3),
        x,
        y,
        x,
        y,
        device=device,
        circuit=circuit,
        epochs=0,
        snap=False,
        init_network=float_net,
        init_percentile=100.0,
        dtype="float64",
    )
    ratio = net.torch_forward(x).numpy() / float_net.forward(x)
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-10)
    assert np.abs(net.layers[0].weight).max() == 1.0
    with pytest.raises(SnnRramError, match="init_network"):
        train_device_aware(
            (16, 5, 3), x, y, x, y, device=device, circuit=circuit, init_network=float_net
        )


def test_distillation_pulls_the_reconstructed_network_towards_its_teacher():
    """α = 1 (labels unused): the reconstructed network agrees more with the float teacher,
    whose random labels-free function no label could teach; recorded in the metadata."""
    x, y = _blobs(240, 0)
    teacher = _float_mlp(7, 8)
    device, circuit = devices.load("sinh_strong"), Circuit(1.5, 1e-6, 0.0)

    def agreement(**kw):
        net, meta = train_device_aware(
            (16, 8, 3), x, y, x, y, device=device, circuit=circuit, init_network=teacher,
            lr=1e-2, seed=2, **kw,
        )  # fmt: skip
        return np.mean(net.predict(x) == teacher.predict(x)), meta

    before, _ = agreement(epochs=0)
    labels, _ = agreement(epochs=6)
    after, meta = agreement(epochs=6, distill=1.0, temperature=2.0)
    assert after > max(before, labels) + 0.05, (before, labels, after)
    assert (meta["distill"], meta["temperature"]) == (1.0, 2.0)
    with pytest.raises(SnnRramError, match="distill: 0.5 needs a teacher"):
        train_device_aware((16, 3), x, y, x, y, device=device, circuit=circuit, distill=0.5)
    with pytest.raises(SnnRramError, match="distill"):
        agreement(epochs=0, distill=1.5)


def test_a_saved_network_round_trips_with_its_provenance(tmp_path):
    x, y = _blobs(64, 0)
    device = devices.load("sinh_mild")
    circuit = Circuit(0.5, 1e-6, 1e3)
    net, meta = train_device_aware(
        (16, 6, 3), x, y, x, y, device=device, circuit=circuit, epochs=1, bias=True, seed=1
    )
    path = net.save(tmp_path / "net.npz", meta)
    back, side = load_device_aware(path)
    assert side["recipe"].startswith("snn_rram.training.device_aware")
    assert side["device"]["read"] == {"model": "sinh", "b": 1.5}
    assert side["circuit"]["r_neuron"] == 1e3 and side["circuit"]["v_read"] == 0.5
    assert side["meta"]["epochs"] == 1 and side["meta"]["test_accuracy"] == meta["test_accuracy"]
    assert back.device.to_dict() == device.to_dict()
    assert back.circuit.to_dict() == circuit.to_dict()
    for k in range(2):
        for g, h in zip(net.conductances(k), back.conductances(k), strict=True):
            np.testing.assert_array_equal(g, h)  # the same programmed levels
    np.testing.assert_allclose(
        back.torch_forward(x).numpy(), net.torch_forward(x).numpy(), rtol=1e-12, atol=1e-12
    )
    # the .npz is an ordinary network (the nominal weights), checked against its sidecar
    nominal = ann.load(path)
    np.testing.assert_allclose(nominal.forward(x[:4]), net.to_network().forward(x[:4]))
    last = nominal.layers[-1]
    changed = ann.Dense(2 * last.weight, last.bias, name=last.name)
    ann.save(ann.Network([*nominal.layers[:-1], changed], nominal.input_shape), path)
    with pytest.raises(SnnRramError, match="sidecar"):
        load_device_aware(path)


def test_a_tiny_network_learns_on_a_g_dependent_device_and_round_trips(tmp_path):
    """The polynomial law with R_N > 0 in training; the sidecar carries its coefficients."""
    x, y = _blobs(240, 0)
    xt, yt = _blobs(120, 1)
    device, circuit = _polynomial_device(), Circuit(1.0, 1e-6, 1e3)
    net, meta = train_device_aware(
        (16, 12, 3), x, y, xt, yt, device=device, circuit=circuit, epochs=6, lr=1e-2, seed=3
    )
    assert meta["test_accuracy"] >= 0.9 and meta["final_loss"] < 1.0
    back, side = load_device_aware(net.save(tmp_path / "poly.npz", meta))
    assert side["device"]["read"]["model"] == "polynomial"
    np.testing.assert_array_equal(back.device.read_model.a3, device.read_model.a3)
    np.testing.assert_allclose(
        back.torch_forward(xt).numpy(), net.torch_forward(xt).numpy(), rtol=1e-12, atol=1e-12
    )


def test_bad_inputs_are_named():
    x, y = _blobs(8, 0)
    device, circuit = devices.load("sinh_mild"), Circuit(0.5, 1e-6, 0.0)
    with pytest.raises(SnnRramError, match="pair"):
        train_device_aware((16, 3), x, y, x, y, device=device, circuit=circuit, pair="nope")
    with pytest.raises(SnnRramError, match="train_x"):
        train_device_aware((16, 3), x * 2, y, x, y, device=device, circuit=circuit)
    with pytest.raises(SnnRramError, match="features"):
        train_device_aware((15, 3), x, y, x, y, device=device, circuit=circuit)
    with pytest.raises(SnnRramError, match="init_level"):
        train_device_aware((16, 3), x, y, x, y, device=device, circuit=circuit, init_level=1.5)
    with pytest.raises(SnnRramError, match="wire"):
        train_device_aware(
            (16, 3), x, y, x, y, device=device, circuit=circuit.replace(r_wire_col=1.0)
        )
    curves = [[0.0, 5e-7, 1.2e-6], [0.0, 1e-5, 2.4e-5]]
    tabulated = dataclasses.replace(
        device, read_model=Tabulated([1e-6, 2e-5], [0.0, 0.5, 1.0], curves)
    )
    with pytest.raises(SnnRramError, match="read_model.*polynomial"):
        train_device_aware((16, 3), x, y, x, y, device=tabulated, circuit=circuit)
    # a polynomial I–V that bends back (dI/dV < 0 at 1 µS and 0.5 V) cannot be solved
    folding = dataclasses.replace(device, read_model=Polynomial(a2=[0.0], a3=[-3e-6]))
    with pytest.raises(SnnRramError, match="not increasing"):
        train_device_aware((16, 3), x, y, x, y, device=folding, circuit=circuit)


# -- convolutional layers ---------------------------------------------------------------------


def _conv_network(device, circuit, *, pair="one_sided", snap=True, bias=True):
    """conv 3×3 (padding 1) → pool 2 + conv 3×3 → pool 2 + dense, random weights in [−1, 1]."""
    rng = np.random.default_rng(0)

    def b(n):
        return rng.uniform(-1, 1, n) if bias else None

    gain = 1.0 / (circuit.v_read * 20e-6 * 3)
    layers = (
        DeviceAwareLayer(
            "c1", rng.uniform(-1, 1, (2, 1, 3, 3)), b(2), gain, True, (1, 1), (1, 1, 1, 1),
            None, (1, 8, 8),
        ),
        DeviceAwareLayer(
            "c2", rng.uniform(-1, 1, (3, 2, 3, 3)), b(3), gain / 2, True, (1, 1), (0, 0, 0, 0),
            (2, 2), (2, 8, 8),
        ),
        DeviceAwareLayer(
            "fc", rng.uniform(-1, 1, (4, 3)), b(4), gain, False, pool=(2, 2), in_shape=(3, 2, 2)
        ),
    )  # fmt: skip
    return DeviceAwareNetwork(layers, device, circuit, pair=pair, snap=snap)


@pytest.mark.parametrize("kind", ["mlp", "conv"])
@pytest.mark.parametrize(("card", "r_neuron", "pair", "snap"), CASES)
def test_torch_forward_is_the_numpy_analog_forward(kind, card, r_neuron, pair, snap):
    """Dense layers, unrolled convolutions and folded pooling: AnalogNetwork's reads."""
    device = _device(card)
    circuit = Circuit(0.7, 1e-6, r_neuron)
    build, n_in = (_network, 12) if kind == "mlp" else (_conv_network, 64)
    net = build(device, circuit, pair=pair, snap=snap)
    x = np.random.default_rng(1).random((20, n_in))
    x[:3] = 0.0  # rows at 0 V
    x[3] = 1.0
    x[4, ::3] = 1.0
    analog = AnalogNetwork(**net.analog_args())
    ref = analog.forward(x).output
    scale = np.abs(ref).max()
    got64 = net.torch_forward(x, "float64").numpy()
    np.testing.assert_allclose(got64, ref, rtol=0, atol=1e-12 * scale)
    got32 = net.torch_forward(x.reshape(20, *net.input_shape), "float32").numpy()
    np.testing.assert_allclose(got32, ref, rtol=0, atol=1e-6 * scale)
    G = analog.mappings[0].crossbar.G
    if snap:  # the analog network's crossbars hold the device's programmable levels
        assert device.levels.contains(G.data if kind == "conv" else G).all()
    if kind == "conv":  # one cell per tap inside the image and output position, + bias row
        assert G.nnz == 2 * (2 * (8 * 8 * 9 - 4 * 8 * 3 + 4) + 2 * 64)


def test_the_nominal_conv_network_is_the_ideal_read():
    """Ideal device, virtual ground, no clipping: the nominal network gives the same logits."""
    device, circuit = devices.load("ideal"), Circuit(0.3, 1e-6, 0.0)
    net = _conv_network(device, circuit, snap=False)
    layers = tuple(dataclasses.replace(la, gain=la.gain / 40) for la in net.layers)
    net = dataclasses.replace(net, layers=layers)
    nominal = net.to_network()
    assert [la.kind for la in nominal.layers] == [
        "Conv2d", "ReLU", "AvgPool2d", "Conv2d", "ReLU", "AvgPool2d", "Flatten", "Dense"
    ]  # fmt: skip
    x = np.random.default_rng(2).random((5, 1, 8, 8))
    np.testing.assert_allclose(net.torch_forward(x).numpy(), nominal.forward(x), rtol=1e-10)


@pytest.mark.parametrize("card", ["sinh_strong", "polynomial"])
def test_gradients_of_a_small_conv_layer(card):
    """gradcheck of a convolution with padding, folded pooling and R_N per column."""
    device = _device(card)
    gen = torch.Generator().manual_seed(0)
    r = torch.rand(2 * 2 * 2 * 2, generator=gen, dtype=torch.float64).numpy() * 5e4
    r[3] = 0.0  # one column at a virtual ground
    circuit = Circuit(0.9, 1e-6, r)
    a, gp, gm, bp = _random_layer((2, 1, 4, 4), (2, 1, 2, 2), 1)
    layer = _in_micro(device, circuit, padding=(1, 0, 1, 0), pool=(2, 2))
    assert layer(a, gp, gm, bp).shape == (2, 2, 2, 2)
    assert torch.autograd.gradcheck(layer, (a, gp, gm, bp), eps=1e-6, atol=1e-7)


def _bars(n, seed):
    """6×6 images of a horizontal (class 0) or vertical (class 1) bar, noisy, in [0, 1]."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pos = rng.integers(0, 6, n)
    x = 0.2 * rng.random((n, 6, 6))
    x[y == 0, pos[y == 0], :] = 1.0
    x[np.flatnonzero(y == 1), :, pos[y == 1]] = 1.0
    return x.reshape(n, 1, 6, 6), y


def _tiny_cnn():
    return ann.Network(
        [
            ann.Conv2d(np.zeros((3, 1, 3, 3)), padding=1, name="conv"),
            ann.ReLU(),
            ann.AvgPool2d(2),
            ann.Flatten(),
            ann.Dense(np.zeros((2, 27)), name="fc"),
        ],
        (1, 6, 6),
        name="tiny_cnn",
    )


def test_a_tiny_conv_network_learns_and_round_trips(tmp_path):
    x, y = _bars(160, 0)
    xt, yt = _bars(80, 1)
    device = devices.load("sinh_strong")
    circuit = Circuit(1.0, 1e-6, 1e3)
    net, meta = train_device_aware(
        _tiny_cnn(), x, y, xt, yt, device=device, circuit=circuit, epochs=6, lr=2e-2, bias=True
    )
    untrained, _ = train_device_aware(
        _tiny_cnn(), x, y, xt, yt, device=device, circuit=circuit, epochs=0
    )
    assert meta["test_accuracy"] >= 0.95 > np.mean(untrained.predict(xt) == yt)
    assert net.layers[0].weight.shape == (3, 1, 3, 3) and net.layers[1].geometry.pool == (2, 2)
    ref = AnalogNetwork(**net.analog_args()).predict(xt)
    np.testing.assert_array_equal(ref, net.predict(xt))

    path = net.save(tmp_path / "cnn.npz", meta)
    back, side = load_device_aware(path)
    assert side["meta"]["architecture"][0].startswith("Conv2d 1→3 3x3")
    assert side["circuit"]["r_neuron"] == 1e3 and side["device"]["read"]["model"] == "sinh"
    for k in range(2):
        for g, h in zip(net.conductances(k), back.conductances(k), strict=True):
            np.testing.assert_array_equal(g, h)
    assert [la.geometry for la in back.layers] == [la.geometry for la in net.layers]
    np.testing.assert_allclose(
        back.torch_forward(xt).numpy(), net.torch_forward(xt).numpy(), rtol=1e-12, atol=1e-12
    )
    # a float network of the same architecture is a starting point; another one is refused
    float_net = _tiny_cnn().with_weights(
        {"conv": (np.random.default_rng(0).normal(size=(3, 1, 3, 3)), None)}
    )
    started, _ = train_device_aware(
        _tiny_cnn(), x, y, xt, yt, device=device, circuit=circuit, epochs=0, init_network=float_net
    )
    assert np.abs(started.layers[0].weight).max() == 1.0
    mlp = ann.Network([ann.Flatten(), ann.Dense(np.zeros((2, 36)))], (1, 6, 6))
    with pytest.raises(SnnRramError, match="init_network"):
        train_device_aware(
            _tiny_cnn(), x, y, xt, yt, device=device, circuit=circuit, init_network=mlp
        )


def test_architectures_that_cannot_be_folded_are_refused():
    x, y = _bars(8, 0)
    device, circuit = devices.load("sinh_mild"), Circuit(0.5, 1e-6, 0.0)
    overlapping = ann.Network(
        [
            ann.Conv2d(np.zeros((2, 1, 3, 3)), padding=1),
            ann.ReLU(),
            ann.AvgPool2d(3, stride=1),
            ann.Flatten(),
            ann.Dense(np.zeros((2, 32))),
        ],
        (1, 6, 6),
    )
    with pytest.raises(SnnRramError, match="tile"):
        train_device_aware(overlapping, x, y, x, y, device=device, circuit=circuit)
    maxpool = ann.Network(
        [
            ann.Conv2d(np.zeros((2, 1, 3, 3)), padding=1),
            ann.ReLU(),
            ann.MaxPool2d(2),
            ann.Flatten(),
            ann.Dense(np.zeros((2, 18))),
        ],
        (1, 6, 6),
    )
    with pytest.raises(SnnRramError, match="MaxPool2d"):
        train_device_aware(maxpool, x, y, x, y, device=device, circuit=circuit)
