"""The native .npz format (ann.save / ann.load) and conventional state-dict style .npz files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from snn_rram import SnnRramError, ann
from snn_rram.ann.native import NETWORK_KEY

pytest.importorskip("torch")

from ._models import assert_same, cnn_skeleton, torch_forward


def _state(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _trained_cnn(cnn):
    sd = _state(cnn)
    return cnn_skeleton().with_weights(
        {n: (sd[f"{n}.weight"], sd[f"{n}.bias"]) for n in ("c1", "c2", "fc1", "fc2")}
    )


def test_round_trip_cnn(tmp_path, cnn, x_cnn):
    net = _trained_cnn(cnn)
    path = ann.save(net, tmp_path / "cnn.weights")  # any name; nothing appended
    assert path == tmp_path / "cnn.weights" and path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.weights"]  # no temporary left
    loaded = ann.load(path, format="npz")
    assert [(type(a), a.name) for a in loaded] == [(type(b), b.name) for b in net]
    assert loaded.input_shape == net.input_shape and loaded.shapes == net.shapes
    for (_, a), (_, b) in zip(loaded.weight_layers(), net.weight_layers(), strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
    assert loaded["c2"].stride == (2, 2) and loaded["c2"].padding == (1, 1, 1, 1)
    assert_same(loaded, torch_forward(cnn, x_cnn), x_cnn)


def test_file_layout_loads_without_pickle(tmp_path):
    net = ann.Network(
        [ann.Dense(np.ones((3, 2)), name="a"), ann.ReLU(), ann.Dense(np.ones((1, 3)), np.ones(1))],
        (2,),
        name="tiny",
    )
    ann.save(net, tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert set(z.files) == {"a.weight", "fc1.weight", "fc1.bias", NETWORK_KEY}
        header = json.loads(str(z[NETWORK_KEY]))
        assert z[NETWORK_KEY].ndim == 0 and z["a.weight"].dtype == np.float64
    assert header["input_shape"] == [2] and header["name"] == "tiny"
    assert [entry["type"] for entry in header["layers"]] == ["Dense", "ReLU", "Dense"]
    loaded = ann.load(tmp_path / "t.npz")
    assert loaded["a"].bias is None and loaded.name == "tiny"


def test_conventional_npz_infers_mlp(tmp_path, mlp, x_mlp):
    np.savez(tmp_path / "mlp.npz", **_state(mlp))
    net = ann.load(tmp_path / "mlp.npz")
    assert [layer.kind for layer in net] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert [n for _, n in [(i, layer.name) for i, layer in net.weight_layers()]] == [
        "fc1",
        "fc2",
        "fc3",
    ]
    assert_same(net, torch_forward(mlp, x_mlp), x_mlp)
    # With an image input shape, a Flatten comes first.
    img = ann.load(tmp_path / "mlp.npz", input_shape=(1, 3, 4))
    assert img[0].kind == "Flatten"
    assert_same(img, torch_forward(mlp, x_mlp), x_mlp.reshape(-1, 1, 3, 4))


def test_conventional_npz_with_skeleton(tmp_path, cnn, x_cnn):
    np.savez(tmp_path / "cnn.npz", **_state(cnn))
    net = ann.load(tmp_path / "cnn.npz", skeleton=cnn_skeleton())
    assert_same(net, torch_forward(cnn, x_cnn), x_cnn)


def _write_native(path, header, arrays):
    np.savez(path, **arrays, **{NETWORK_KEY: np.array(header)})


def test_malformed_native_files(tmp_path):
    good = {"format": "snn_rram.ann.Network", "version": 1, "input_shape": [2]}
    dense = {"type": "Dense", "name": "fc"}
    w = {"fc.weight": np.ones((1, 2))}
    cases = [
        ("{not json", w, r"__network__: invalid JSON"),
        (json.dumps({**good, "format": "other"}), w, r"__network__.format"),
        (json.dumps({**good, "version": 7}), w, r"__network__.version"),
        (json.dumps(good), w, r"__network__.layers: missing"),
        (json.dumps({**good, "layers": [{"name": "x"}]}), w, r"layers\[0\].type: missing"),
        (
            json.dumps({**good, "layers": [{"type": "LSTM", "name": "x"}]}),
            w,
            r"layers\[0\].type: unsupported layer 'LSTM'",
        ),
        (
            json.dumps({**good, "layers": [dense]}),
            {},
            r"__network__.layers\[0\] \(Dense\): array 'fc.weight' is missing",
        ),
        (
            json.dumps({**good, "layers": [dense]}),
            {"fc.weight": np.ones((1, 3))},
            r"layer 0 'fc' \(Dense\).*\(3,\).*\(2,\)",
        ),
        (
            json.dumps({**good, "layers": [dense]}),
            {**w, "other.weight": np.ones(2)},
            r"\['other.weight'\] belong to no layer",
        ),
        (
            json.dumps({**good, "layers": [{**dense, "stride": [1, 1]}]}),
            w,
            r"layers\[0\]: unexpected fields for Dense",
        ),
        (json.dumps({**good, "input_shape": "x", "layers": [dense]}), w, r"input_shape"),
    ]
    for i, (header, arrays, pattern) in enumerate(cases):
        path = tmp_path / f"bad{i}.npz"
        _write_native(path, header, arrays)
        with pytest.raises(SnnRramError, match=pattern):
            ann.load(path)


def test_native_refuses_skeleton_and_other_input_shape(tmp_path):
    ann.save(cnn_skeleton(), tmp_path / "n.npz")
    with pytest.raises(SnnRramError, match="skeleton: .* stores its own architecture"):
        ann.load(tmp_path / "n.npz", skeleton=cnn_skeleton())
    with pytest.raises(SnnRramError, match=r"input_shape: .*\(1, 16, 16\)"):
        ann.load(tmp_path / "n.npz", input_shape=(1, 8, 8))


def test_truncated_and_pickled_npz(tmp_path, mlp):
    np.savez(tmp_path / "mlp.npz", **_state(mlp))
    data = (tmp_path / "mlp.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SnnRramError, match="truncated or corrupt"):
        ann.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "obj.npz", **{"fc.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(SnnRramError, match="'fc.weight': dtype object is not numeric data"):
        ann.load(tmp_path / "obj.npz")
    np.savez(tmp_path / "pos.npz", np.ones((2, 2)))
    with pytest.raises(SnnRramError, match="entry 'arr_0'"):
        ann.load(tmp_path / "pos.npz")
    np.savez(tmp_path / "nobias.npz", **{"fc.bias": np.ones(2)})
    with pytest.raises(SnnRramError, match="'fc.weight' is missing"):
        ann.load(tmp_path / "nobias.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(SnnRramError, match="neither an .npz"):
        ann.load(tmp_path / "other.npz")


def test_save_refuses_non_network(tmp_path):
    with pytest.raises(SnnRramError, match="network: expected"):
        ann.save({"fc": 1}, tmp_path / "x.npz")
