"""Property-based fuzzing of the file readers: damaged files never raise anything else.

Each reader (IDX, npz, safetensors, ONNX, Keras, NIR, HDF5 results, TOML run configs and device
cards) gets valid files of its format, damaged by random byte changes, insertions,
deletions and truncations (hypothesis). The reader must return a result or raise
:class:`SnnRramError`; any other exception (``ValueError`` of numpy, ``KeyError``, ``OSError`` of
h5py, ``MemoryError``, ...) fails. ``SNN_RRAM_FUZZ_EXAMPLES`` sets the number of examples per
reader (default 200, a few seconds each; raise it for a longer search).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snn_rram import SnnRramError, ann, devices, results
from snn_rram.datasets import read_idx
from snn_rram.experiments import load_config

EXAMPLES = int(os.environ.get("SNN_RRAM_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """``original`` with 1 to 8 random edits, or truncated."""
    data = bytearray(original)
    if draw(st.integers(0, 4)) == 0:
        return bytes(data[: draw(st.integers(0, max(len(data) - 1, 0)))])
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(["set", "flip", "insert", "delete", "int"]))
        if edit == "set":
            data[i] = draw(st.integers(0, 255))
        elif edit == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif edit == "delete":
            del data[i : i + draw(st.integers(1, 16))]
        else:  # a plausible size field: a large little- or big-endian integer
            fmt = draw(st.sampled_from(["<I", ">I", "<Q", ">Q"]))
            value = draw(st.sampled_from([0, 1, 2**31, 2**32 - 1, 10**9, 2**62]))
            value &= (1 << (8 * struct.calcsize(fmt))) - 1
            data[i : i + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return bytes(data)


def check(reader, data: bytes, name: str, **kwargs):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            reader(path, **kwargs)
        except SnnRramError:
            pass


# -- valid files ------------------------------------------------------------------------------

RNG = np.random.default_rng(7)
NET = ann.Network(
    [ann.Dense(RNG.normal(size=(5, 6))), ann.ReLU(), ann.Dense(RNG.normal(size=(3, 5)))], (6,)
)


def _file_bytes(write, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        write(path)
        return path.read_bytes()


IDX = b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 3, 4) + bytes(range(24))
IDX_GZ = gzip.compress(IDX, mtime=0)
NPZ = _file_bytes(lambda p: ann.save(NET, p), "n.npz")
PLAIN_NPZ = _file_bytes(
    lambda p: np.savez(
        p, **{"fc1.weight": NET.layers[0].weight, "fc2.weight": NET.layers[2].weight}
    ),
    "p.npz",
)


def _safetensors() -> bytes:
    tensors = {"fc1.weight": NET.layers[0].weight, "fc2.weight": NET.layers[2].weight}
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        raw = arr.astype("<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def _onnx() -> bytes:
    try:
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:  # the onnx extra is not installed: that fuzzer skips
        return b""

    w1 = numpy_helper.from_array(NET.layers[0].weight.T.astype(np.float32), "W1")
    w2 = numpy_helper.from_array(NET.layers[2].weight.T.astype(np.float32), "W2")
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "W2"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [w1, w2]))
    return model.SerializeToString()


def _nir() -> bytes:
    """The fuzzers' MLP as a NIR graph (Affine → IF → Linear → LIF), written by nir itself."""
    import nir

    graph = nir.NIRGraph.from_list(
        nir.Input(np.array([6])),
        nir.Affine(NET.layers[0].weight, np.full(5, 0.1)),
        nir.IF(r=np.ones(5), v_threshold=np.ones(5)),
        nir.Linear(NET.layers[2].weight),
        nir.LIF(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3)),
    )
    buf = io.BytesIO()
    nir.write(buf, graph, compression=None)
    return buf.getvalue()


def _keras() -> bytes:
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "seq",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, 6], "name": "in"}},
                {
                    "class_name": "Dense",
                    "config": {"name": "d1", "units": 5, "use_bias": False, "activation": "relu"},
                },
                {
                    "class_name": "Dense",
                    "config": {
                        "name": "d2",
                        "units": 3,
                        "use_bias": False,
                        "activation": "linear",
                    },
                },
            ],
        },
    }
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("layers/dense/vars/0", data=NET.layers[0].weight.T)
        f.create_dataset("layers/dense_1/vars/0", data=NET.layers[2].weight.T)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        zf.writestr("model.weights.h5", buf.getvalue())
    return out.getvalue()


def _result() -> bytes:
    G = RNG.uniform(1e-6, 1e-5, (4, 3))
    layers = [
        results.LayerRecord(
            "fc1",
            G,
            G * 1e-7,
            np.arange(4),
            np.full(3, 1e-13),
            np.array([0, 1, 2, -1]),
            np.eye(3),
            "linear_pair",
            "ideal",
            {"bits": 3},
        ),
        results.LayerRecord(
            "fc2",
            sp.csr_matrix(np.eye(3) * 1e-5),
            sp.csr_matrix(np.eye(3) * 1e-12),
            np.ones(3, int),
            None,
            np.arange(3),
            np.eye(3)[:, :2],
            "linear_pair",
            "ideal",
        ),
    ]
    spikes = {"input": results.SpikeRecord([0.001, 0.002, 0.011], [0, 2, 1], 3, 0.01)}
    metrics = {
        "n_images": 2,
        "snn_accuracy": 0.5,
        "simulated_time": 0.02,
        "counts": np.array([[2, 0], [0, 1]]),
        "predictions": np.array([0, 1]),
        "labels": np.array([0, 0]),
        "total_device_energy": float(G.sum() * 1e-7 + 3e-12),
    }

    def write(path):
        results.save(
            path,
            config_text="a = 1\n",
            weights_sha256="cd" * 32,
            layers=layers,
            spikes=spikes,
            metrics=metrics,
            device_card='name = "ideal"\n',
        )

    return _file_bytes(write, "r.h5")


#: The bundled demo config with its network path made absolute (the fuzzed copy lives elsewhere).
_DEMO = Path(__file__).resolve().parents[1] / "models" / "experiments" / "demo.toml"
CONFIG = (
    _DEMO.read_text()
    .replace('"../networks/', f'"{_DEMO.parents[1].as_posix()}/networks/')
    .encode()
)
CARD = (_DEMO.parents[1] / "devices" / "measured_4level.toml").read_bytes()


def test_valid_files_are_read():
    """The originals the fuzzers damage are valid (so the damage is what is tested)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, data in [("a-idx", IDX), ("b-idx.gz", IDX_GZ)]:
            (tmp / name).write_bytes(data)
            assert read_idx(tmp / name).shape == (2, 3, 4)
        for name, data, kw in [
            ("n.npz", NPZ, {}),
            ("p.npz", PLAIN_NPZ, {}),
            ("s.safetensors", _safetensors(), {}),
            ("k.keras", _keras(), {}),
            ("g.nir", _nir(), {}),
        ]:
            (tmp / name).write_bytes(data)
            net = ann.load(tmp / name, **kw)
            assert [
                w.shape for _, w in ((n, layer.weight) for n, layer in net.weight_layers())
            ] == [
                (5, 6),
                (3, 5),
            ]
        (tmp / "r.h5").write_bytes(_result())
        assert results.load(tmp / "r.h5").n_images == 2
        (tmp / "c.toml").write_bytes(CONFIG)
        assert load_config(tmp / "c.toml").mapping.bits == 4
        (tmp / "d.toml").write_bytes(CARD)
        assert devices.load(tmp / "d.toml").levels.n == 4


# -- fuzzers ----------------------------------------------------------------------------------


#: name: (a valid file, its reader, the file name, the reader's keyword arguments)
FUZZED = {
    "idx": (IDX, read_idx, "x-idx", {}),
    "idx.gz": (IDX_GZ, read_idx, "x-idx.gz", {}),
    "native npz": (NPZ, ann.load, "n.npz", {"format": "npz"}),
    "plain npz": (PLAIN_NPZ, ann.load, "p.npz", {"format": "npz"}),
    "safetensors": (_safetensors(), ann.load, "s.safetensors", {"format": "safetensors"}),
    "onnx": (_onnx(), ann.load, "m.onnx", {"format": "onnx"}),
    "keras": (_keras(), ann.load, "k.keras", {"format": "keras"}),
    "nir": (_nir(), ann.load, "g.nir", {"format": "nir"}),
    "result": (_result(), results.load, "r.h5", {}),
    "config": (CONFIG, load_config, "c.toml", {}),
    "card": (CARD, devices.load, "d.toml", {}),
}


@pytest.mark.parametrize("kind", list(FUZZED))
@FUZZ
@given(data=st.data())
def test_fuzz(kind, data):
    original, reader, name, kwargs = FUZZED[kind]
    if not original:
        pytest.skip(f"{kind}: the package that writes the original is not installed")
    check(reader, data.draw(damaged(original)), name, **kwargs)
