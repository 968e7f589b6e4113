"""Keras files written by Keras 3 itself (torch backend), read back without Keras."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
import zipfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py
import numpy as np
import pytest

pytest.importorskip("torch")  # the Keras backend of these tests
pytest.importorskip("keras")
import keras

from snn_rram import SnnRramError, ann

L = keras.layers
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")
ATOL = 2e-6  # Keras computes in float32; we compute in float64 from the same float32 weights


def _bias():
    return keras.initializers.RandomUniform(-0.5, 0.5, seed=1)


def _mlp():
    return keras.Sequential(
        [
            keras.Input((12,)),
            L.Dense(8, activation="relu", bias_initializer=_bias()),
            L.Dense(6, activation="relu", bias_initializer=_bias()),
            L.Dense(4, bias_initializer=_bias()),
        ]
    )


def _cnn_layers():
    """16x16x1 → conv same → max pool → conv stride 2 same (asymmetric pad) → avg pool → MLP."""
    return [
        L.Conv2D(3, 3, padding="same", activation="relu", bias_initializer=_bias(), name="c1"),
        L.MaxPooling2D(2),
        L.Conv2D(4, 3, strides=2, padding="same", bias_initializer=_bias(), name="c2"),
        L.ReLU(),
        L.AveragePooling2D(2),
        L.Flatten(),  # of a 2x2x4 NHWC map: H, W, C order
        L.Dense(6, bias_initializer=_bias()),
        L.Activation("relu"),
        L.Dropout(0.3),
        L.Dense(5, bias_initializer=_bias()),
    ]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("keras")
    mlp = _mlp()
    cnn = keras.Sequential([keras.Input((16, 16, 1)), *_cnn_layers()])
    inp = keras.Input((16, 16, 1))
    x = inp
    for layer in _cnn_layers():
        x = layer(x)
    functional = keras.Model(inp, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' advice against the legacy .h5 format
        for name, model in (("mlp", mlp), ("cnn", cnn), ("fcnn", functional)):
            model.save(folder / f"{name}.keras")
            model.save(folder / f"{name}.h5")
            model.save_weights(folder / f"{name}.weights.h5")
    return folder, {"mlp": mlp, "cnn": cnn, "fcnn": functional}


def _x(kind):
    rng = np.random.default_rng(7)
    return rng.normal(size=(16, 12)) if kind == "mlp" else rng.normal(size=(16, 1, 16, 16))


def _reference(model, x):
    """Keras' own forward pass (NHWC inputs for images)."""
    xk = x.transpose(0, 2, 3, 1) if x.ndim == 4 else x
    return np.asarray(model.predict(xk.astype(np.float32), verbose=0), dtype=np.float64)


def _check(net, model, kind):
    x = _x(kind)
    ref = _reference(model, x)
    np.testing.assert_allclose(net.forward(x), ref, rtol=1e-5, atol=ATOL)
    np.testing.assert_array_equal(net.predict(x), ref.argmax(axis=1))


@pytest.mark.parametrize("kind", ["mlp", "cnn", "fcnn"])
@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_full_model_files(models, kind, ext):
    folder, keras_models = models
    path = folder / f"{kind}{ext}"
    assert ann.detect_format(path) == ("keras" if ext == ".keras" else "h5")
    net = ann.load(path)
    assert net.input_shape == ((12,) if kind == "mlp" else (1, 16, 16))
    _check(net, keras_models[kind], kind)
    if kind != "mlp":
        assert net["c2"].padding == (0, 1, 0, 1) and net["c2"].stride == (2, 2)
        kinds = [layer.kind for layer in net]
        assert "MaxPool2d" in kinds and "AvgPool2d" in kinds


def test_mlp_weights_only_inferred(models):
    folder, keras_models = models
    net = ann.load(folder / "mlp.weights.h5")
    _check(net, keras_models["mlp"], "mlp")


@pytest.mark.parametrize("kind", ["cnn", "fcnn"])
def test_cnn_weights_only_with_skeleton(models, kind):
    folder, keras_models = models
    skeleton = ann.load(folder / "cnn.keras").with_weights({})
    net = ann.load(folder / f"{kind}.weights.h5", skeleton=skeleton)
    _check(net, keras_models[kind], "cnn")
    with pytest.raises(SnnRramError, match=r"skeleton: .*convolutions \['c1', 'c2'\]"):
        ann.load(folder / f"{kind}.weights.h5")


def test_keras2_style_weights_file(models, tmp_path):
    """Keras 2's save_weights(".h5") layout: the model_weights groups at the file root."""
    folder, keras_models = models
    with h5py.File(folder / "mlp.h5", "r") as src, h5py.File(tmp_path / "k2.h5", "w") as dst:
        group = src["model_weights"]
        for name in group:
            src.copy(group[name], dst, name)
        for key, value in group.attrs.items():
            dst.attrs[key] = value
    net = ann.load(tmp_path / "k2.h5")
    _check(net, keras_models["mlp"], "mlp")


def test_final_softmax_is_left_out_with_a_warning(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((12,)), L.Dense(7, activation="relu"), L.Dense(4, activation="softmax")]
    )
    model.save(tmp_path / "soft.keras")
    with pytest.warns(UserWarning, match="softmax"):
        net = ann.load(tmp_path / "soft.keras")
    x = _x("mlp")
    probs = _reference(model, x)
    logits = net.forward(x)
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(1, keepdims=True), probs, atol=ATOL)
    np.testing.assert_array_equal(net.predict(x), probs.argmax(1))


def test_unsupported_layers_and_activations(tmp_path):
    cases = {
        "bn": (
            [keras.Input((4, 4, 1)), L.Conv2D(2, 3), L.BatchNormalization(name="bn")],
            r"layer 1 'bn' \(BatchNormalization\): unsupported layer type",
        ),
        "tanh": (
            [keras.Input((3,)), L.Dense(2, activation="tanh", name="d")],
            r"layer 0 'd' \(Dense\): unsupported activation 'tanh'",
        ),
        "midsoftmax": (
            [keras.Input((3,)), L.Dense(2, activation="softmax", name="d"), L.Dense(2)],
            r"layer 0 'd' \(Dense\): unsupported activation 'softmax'",
        ),
        "dilated": (
            [keras.Input((8, 8, 1)), L.Conv2D(2, 3, dilation_rate=2, name="c")],
            r"'c' \(Conv2D\): dilation_rate",
        ),
        "leaky": (
            [keras.Input((3,)), L.Dense(2), L.ReLU(negative_slope=0.1, name="r")],
            r"layer 1 'r' \(ReLU\): only a plain ReLU",
        ),
    }
    for name, (layers, pattern) in cases.items():
        keras.Sequential(layers).save(tmp_path / f"{name}.keras")
        with pytest.raises(SnnRramError, match=pattern):
            ann.load(tmp_path / f"{name}.keras")


def test_branching_functional_model_is_refused(tmp_path):
    inp = keras.Input((4,))
    a = L.Dense(4, name="a")(inp)
    b = L.Dense(4, name="b")(a)
    out = L.Dense(2, name="out")(L.Add(name="add")([a, b]))
    keras.Model(inp, out).save(tmp_path / "res.keras")
    with pytest.raises(SnnRramError, match=r"layer 3 'add' \(Add\): it is fed by \['a', 'b'\]"):
        ann.load(tmp_path / "res.keras")


def test_variable_input_shape_needs_input_shape(tmp_path):
    inp = keras.Input((None, None, 1))
    x = L.MaxPooling2D(2)(L.Conv2D(2, 3, padding="same")(inp))
    keras.Model(inp, x).save(tmp_path / "var.keras")
    with pytest.raises(SnnRramError, match="input_shape: .*variable input shape"):
        ann.load(tmp_path / "var.keras")
    net = ann.load(tmp_path / "var.keras", input_shape=(1, 6, 6))
    assert net.output_shape == (2, 3, 3)


def test_malformed_keras_files(models, tmp_path):
    folder, _ = models
    data = (folder / "cnn.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(SnnRramError, match="truncated or corrupt"):
        ann.load(tmp_path / "cut.keras")
    with zipfile.ZipFile(folder / "cnn.keras") as src:
        members = {name: src.read(name) for name in src.namelist()}
    with zipfile.ZipFile(tmp_path / "json.keras", "w") as dst:
        for name, content in members.items():
            dst.writestr(name, b"{not json" if name == "config.json" else content)
    with pytest.raises(SnnRramError, match="config.json: invalid JSON"):
        ann.load(tmp_path / "json.keras")
    with zipfile.ZipFile(tmp_path / "noweights.keras", "w") as dst:
        dst.writestr("config.json", members["config.json"])
    with pytest.raises(SnnRramError, match="needs members 'config.json' and 'model.weights.h5'"):
        ann.load(tmp_path / "noweights.keras")
    # A layer's weights removed from a legacy .h5 model.
    (tmp_path / "gone.h5").write_bytes((folder / "cnn.h5").read_bytes())
    with h5py.File(tmp_path / "gone.h5", "a") as h5:
        del h5["model_weights"]["c2"]
    with pytest.raises(SnnRramError, match="weights of layer 'c2'"):
        ann.load(tmp_path / "gone.h5")
    # Truncated HDF5.
    (tmp_path / "cut.h5").write_bytes((folder / "cnn.h5").read_bytes()[:3000])
    with pytest.raises(SnnRramError, match="cut.h5: not a readable HDF5 file"):
        ann.load(tmp_path / "cut.h5")
    # An HDF5 file that is not Keras'.
    with h5py.File(tmp_path / "plain.h5", "w") as h5:
        h5["x"] = np.ones(3)
    with pytest.raises(SnnRramError, match="not a Keras model or weights file"):
        ann.load(tmp_path / "plain.h5")
    # A skeleton for a file that has its own architecture.
    with pytest.raises(SnnRramError, match="skeleton: cnn.keras stores its own architecture"):
        ann.load(folder / "cnn.keras", skeleton=ann.load(folder / "cnn.keras"))


def test_reading_keras_files_imports_neither_keras_nor_torch(models):
    folder, _ = models
    code = (
        "import sys\nfrom snn_rram import ann\n"
        f"folder = {str(folder)!r}\n"
        "for f in ['cnn.keras', 'cnn.h5', 'mlp.weights.h5']: ann.load(folder + '/' + f)\n"
        "bad = [m for m in ('keras', 'tensorflow', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_flatten_of_an_image_input(tmp_path):
    """An MLP on (H, W, C) images: Keras flattens H, W, C; we take (C, H, W) inputs."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((4, 3, 2)),
            L.Flatten(),
            L.Dense(5, activation="relu", bias_initializer=_bias()),
            L.Dense(3, bias_initializer=_bias()),
        ]
    )
    model.save(tmp_path / "img.keras")
    model.save_weights(tmp_path / "img.weights.h5")
    x = np.random.default_rng(3).normal(size=(9, 2, 4, 3))
    ref = _reference(model, x)
    full = ann.load(tmp_path / "img.keras")
    inferred = ann.load(tmp_path / "img.weights.h5", input_shape=(2, 4, 3))
    for net in (full, inferred):
        assert net.input_shape == (2, 4, 3) and net[0].kind == "Flatten"
        np.testing.assert_allclose(net.forward(x), ref, rtol=1e-5, atol=ATOL)
