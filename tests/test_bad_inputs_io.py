"""A table of bad inputs to the readers and writers: each one is refused cleanly.

Every case builds its bad input in a fresh folder, then calls a public entry point and checks
that it raises :class:`SnnRramError` whose message names the offending field or path, that the
memory it allocated (``tracemalloc`` peak, which numpy reports to) stays small although many
inputs declare gigabytes or terabytes, and that no file is left behind.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import tracemalloc
import zipfile

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import SnnRramError, ann, results
from snn_rram._io import file_sha256
from snn_rram.crossbar import Circuit, Crossbar
from snn_rram.crossbar.spice import write_netlist
from snn_rram.datasets import read_idx, write_idx
from snn_rram.devices import load as load_device

#: Largest traced allocation a refused input may cause (the inputs are a few kB; several
#: declare far more).
PEAK_LIMIT = 48 << 20

CASES: dict[str, tuple] = {}


def case(name: str, match: str):
    """Register ``build(tmp_path) -> call`` under ``name``; the error must match ``match``."""

    def register(build):
        assert name not in CASES
        CASES[name] = (build, match)
        return build

    return register


def call(fn, *args, **kwargs):
    return lambda: fn(*args, **kwargs)


# -- IDX -----------------------------------------------------------------------------------------

IDX_HEAD = b"\x00\x00\x08\x02" + struct.pack(">2I", 3, 4)
GOOD_IDX = IDX_HEAD + bytes(range(12))


def _idx(tmp, data, name="x-idx"):
    p = tmp / name
    p.write_bytes(data)
    return call(read_idx, p)


case("idx: missing file", "no such file")(lambda tmp: call(read_idx, tmp / "nope"))
case("idx: a folder", "is a directory")(lambda tmp: call(read_idx, tmp))
case("idx: empty", "truncated header")(lambda tmp: _idx(tmp, b""))
case("idx: bad magic", "bad magic number")(lambda tmp: _idx(tmp, b"\x01" + GOOD_IDX[1:]))
case("idx: int32 elements", "element type byte 0x0c")(
    lambda tmp: _idx(tmp, b"\x00\x00\x0c" + GOOD_IDX[3:])
)
case("idx: zero dimensions", "number of dimensions is 0")(
    lambda tmp: _idx(tmp, b"\x00\x00\x08\x00")
)
case("idx: dims cut", "truncated header")(lambda tmp: _idx(tmp, GOOD_IDX[:7]))
case("idx: terabyte shape, plain", "truncated data")(
    lambda tmp: _idx(tmp, b"\x00\x00\x08\x02" + struct.pack(">2I", 10**6, 10**6) + bytes(64))
)
case("idx: trailing bytes, plain", "2 trailing byte")(lambda tmp: _idx(tmp, GOOD_IDX + b"ab"))
case("idx: gzip declaring 1 GiB", "more than its .* stored bytes")(
    lambda tmp: _idx(
        tmp, gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 1 << 30) + bytes(1000))
    )
)
case("idx: gzip declaring 8 GiB", "more than the limit of 4 GiB")(
    lambda tmp: _idx(
        tmp, gzip.compress(b"\x00\x00\x08\x02" + struct.pack(">2I", 1 << 16, 1 << 17))
    )
)
case("idx: gzip bomb after the data", "at least .* trailing byte")(
    lambda tmp: _idx(tmp, gzip.compress(IDX_HEAD + bytes(12) + bytes(40 << 20), 9))
)
case("idx: damaged gzip", "damaged gzip stream")(
    lambda tmp: _idx(tmp, gzip.compress(GOOD_IDX)[:-6] + b"\xff" * 6)
)
case("idx: write into a missing folder", "folder .* does not exist")(
    lambda tmp: call(write_idx, tmp / "no" / "x-idx", np.zeros(3, np.uint8))
)
case("idx: write floats", "array: expected a numpy uint8 array")(
    lambda tmp: call(write_idx, tmp / "x-idx", np.zeros(3))
)


# -- npz -----------------------------------------------------------------------------------------


def _npy(shape, dtype="<f8", data=b"", fortran=False):
    buf = io.BytesIO()
    header = {"descr": dtype, "fortran_order": fortran, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def _npz(tmp, members, name="w.npz"):
    p = tmp / name
    with zipfile.ZipFile(p, "w") as zf:
        for key, raw in members.items():
            zf.writestr(key, raw)
    return call(ann.load, p, format="npz")


case("npz: 318 bytes declaring (1e6, 1e6)", r"array 'fc1.weight' \(shape \(1000000, 1000000\)")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": _npy((10**6, 10**6))})
)
case("npz: declaring 3 TB", "more than the limit of 4 GiB")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": _npy((10**6, 10**6), "|u1")})
)
case("npz: fewer bytes than declared", "array 'fc1.weight': holds fewer bytes")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": _npy((10, 10), data=bytes(80))})
)
case("npz: more bytes than declared", "array 'fc1.weight': holds more bytes")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": _npy((2, 2), data=bytes(64))})
)
case("npz: object array", "array 'fc1.weight': dtype object")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": _npy((1,), "|O", bytes(8))})
)
case("npz: structured dtype", "array 'fc1.weight': dtype .* not numeric")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": _npy((1,), [("a", "<f8")], bytes(8))})
)
case("npz: a member that is not .npy", "array 'notes.txt': expected one .npy member")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": _npy((1, 1), data=bytes(8)), "notes.txt": b"x"})
)
case("npz: bad npy magic", "array 'fc1.weight': cannot be read")(
    lambda tmp: _npz(tmp, {"fc1.weight.npy": b"NOTNUMPY" + bytes(100)})
)
case("npz: native header not JSON", "w.npz: __network__: invalid JSON")(
    lambda tmp: _npz(tmp, {"__network__.npy": _npy((), "<U3", "{{{".encode("utf-32-le"))})
)
case("npz: truncated archive", "truncated or corrupt")(
    lambda tmp: (
        (tmp / "w.npz").write_bytes(_zip_bytes({"a.npy": _npy((2,), data=bytes(16))})[:60]),
        call(ann.load, tmp / "w.npz"),
    )[1]
)


def _zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for key, raw in members.items():
            zf.writestr(key, raw)
    return buf.getvalue()


@case("npz: sidecar of another file version", "disagrees with its sidecar w.toml")
def _(tmp):
    net = ann.Network([ann.Dense(np.ones((2, 3)))], (3,))
    ann.save(net, tmp / "w.npz")
    (tmp / "w.toml").write_text(f'file = "w.npz"\nsha256 = "{"0" * 64}"\n')
    return call(ann.load, tmp / "w.npz")


case("weights: a folder", "path: is a folder")(lambda tmp: call(ann.load, tmp))
case("weights: missing", "path: no such file")(lambda tmp: call(ann.load, tmp / "nope.npz"))


# -- safetensors ---------------------------------------------------------------------------------


def _st(tmp, header, data=b"", length=None):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    n = len(text) if length is None else length
    p = tmp / "w.safetensors"
    p.write_bytes(struct.pack("<Q", n) + text + data)
    return call(ann.load, p, format="safetensors")


def _tensor(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"fc1.weight": {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}}


case("safetensors: header past the end", "header length 1000 is more than")(
    lambda tmp: _st(tmp, {}, length=1000)
)
case("safetensors: header of 1 TiB", r"header length: declares .* limit of 100 MiB")(
    lambda tmp: _st(tmp, {}, length=1 << 40)
)
case("safetensors: header not JSON", "header: invalid JSON")(lambda tmp: _st(tmp, b"{nope"))
case("safetensors: header a list", "header: expected a JSON object")(lambda tmp: _st(tmp, []))
case("safetensors: unknown dtype", r"tensor 'fc1.weight'.dtype: unknown dtype 'F128'")(
    lambda tmp: _st(tmp, _tensor("F128"), bytes(8))
)
case("safetensors: negative shape", r"tensor 'fc1.weight'.shape")(
    lambda tmp: _st(tmp, _tensor(shape=(-2,)), bytes(8))
)
case("safetensors: offsets past the data", r"tensor 'fc1.weight'.data_offsets")(
    lambda tmp: _st(tmp, _tensor(offsets=(0, 800)), bytes(8))
)
case("safetensors: shape disagrees with offsets", "shape \\[3\\] of F32 is 12 bytes")(
    lambda tmp: _st(tmp, _tensor(shape=(3,)), bytes(8))
)
case("safetensors: shape of 4 TB", "more than the limit of 4 GiB")(
    lambda tmp: _st(tmp, _tensor(shape=(10**6, 10**6)), bytes(8))
)


# -- ONNX ----------------------------------------------------------------------------------------


def _onnx(tmp, init, name="m.onnx"):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    node = helper.make_node("MatMul", ["x", init.name], ["y"])
    graph = helper.make_graph([node], "g", [x], [y], [init])
    onnx.save(helper.make_model(graph), tmp / name)
    return call(ann.load, tmp / name)


def _init(dims, raw=None, floats=None, data_type=1):
    from onnx import TensorProto

    t = TensorProto(name="W", data_type=data_type, dims=dims)
    if raw is not None:
        t.raw_data = raw
    if floats is not None:
        t.float_data.extend(floats)
    return t


case("onnx: raw_data shorter than dims", r"initializer 'W': raw_data holds 16 bytes")(
    lambda tmp: _onnx(tmp, _init([1000, 1000], raw=bytes(16)))
)
case("onnx: dims of 4 TB", r"initializer 'W' \(dims \[1000000, 1000000\]\).*limit of 4 GiB")(
    lambda tmp: _onnx(tmp, _init([10**6, 10**6], raw=bytes(16)))
)
case("onnx: float_data disagrees with dims", r"initializer 'W': data does not match its dims")(
    lambda tmp: _onnx(tmp, _init([2, 2], floats=[1.0, 2.0]))
)
case("onnx: negative dims", r"initializer 'W': dims \[-2, 2\]")(
    lambda tmp: _onnx(tmp, _init([-2, 2], raw=bytes(16)))
)
case("onnx: undefined data type", r"initializer 'W': unsupported data type 0")(
    lambda tmp: _onnx(tmp, _init([2, 2], raw=bytes(16), data_type=0))
)


def _external(dims, location, length=None):
    from onnx import TensorProto

    t = _init(dims)
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", location
    if length is not None:
        entry = t.external_data.add()
        entry.key, entry.value = "length", str(length)
    return t


case("onnx: external data outside the folder", "location '../secret' is not a file in")(
    lambda tmp: _onnx(tmp, _external([2, 2], "../secret"))
)


@case("onnx: external data shorter than dims", r"initializer 'W': external data \[0, 8\)")
def _(tmp):
    (tmp / "m.onnx.data").write_bytes(bytes(8))
    return _onnx(tmp, _external([2, 2], "m.onnx.data", length=8))


case("onnx: external data file missing", "external data file 'm.onnx.data' is missing")(
    lambda tmp: _onnx(tmp, _external([2, 2], "m.onnx.data"))
)


# -- Keras ---------------------------------------------------------------------------------------


def _h5_bytes(fill):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        fill(f)
    return buf.getvalue()


def _keras(tmp, members):
    p = tmp / "m.keras"
    p.write_bytes(_zip_bytes(members))
    return call(ann.load, p)


CONFIG = json.dumps({"class_name": "Sequential", "config": {"layers": []}}).encode()


def _huge_var(f):
    f.create_dataset("layers/dense/vars/0", shape=(10**5, 10**5), dtype="f4", chunks=(64, 64))


case("keras: weights member missing", r"m.keras: a .keras archive needs members")(
    lambda tmp: _keras(tmp, {"config.json": CONFIG, "notes.txt": b""})
)
case("keras: config.json not JSON", "config.json: invalid JSON")(
    lambda tmp: _keras(tmp, {"config.json": b"{", "model.weights.h5": _h5_bytes(lambda f: None)})
)
case("keras: weights not HDF5", "model.weights.h5: not a readable HDF5 file")(
    lambda tmp: _keras(tmp, {"config.json": CONFIG, "model.weights.h5": b"garbage"})
)
case("keras: a 40 GB weight declared in a tiny file", r"layers/dense/vars/0 \(shape")(
    lambda tmp: (
        (tmp / "w.weights.h5").write_bytes(_h5_bytes(_huge_var)),
        call(ann.load, tmp / "w.weights.h5", format="h5"),
    )[1]
)


@case("keras: config.json over the limit", r"config.json: declares .* limit of 100 MiB")
def _(tmp):
    # 200 MB of spaces deflate to 200 kB: the declared size is refused before inflating it
    p = tmp / "m.keras"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("config.json", "w", force_zip64=True) as fh:
            block = b" " * (1 << 20)
            for _ in range(200):
                fh.write(block)
        zf.writestr("model.weights.h5", _h5_bytes(lambda f: None))
    return call(ann.load, p)


# -- PyTorch state dicts ----------------------------------------------------------------------


def _torch_file(tmp, declared=None):
    """A real ``torch.save`` archive; ``declared`` forges the data member's size in the zip."""
    torch = pytest.importorskip("torch")
    p = tmp / "w.pt"
    torch.save({"fc1.weight": torch.zeros(2, 3)}, p)
    if declared is not None:
        raw = bytearray(p.read_bytes())
        at = 0
        while (at := raw.find(b"PK\x01\x02", at)) >= 0:  # central directory entries
            n = struct.unpack_from("<H", raw, at + 28)[0]
            if raw[at + 46 : at + 46 + n].endswith(b"data/0"):
                struct.pack_into("<I", raw, at + 24, declared)
            at += 4
        p.write_bytes(bytes(raw))
    return p


case("torch: a storage declares 3.7 GiB in a 1 kB file", r"w.pt: member .*data/0.*declares")(
    lambda tmp: call(ann.load, _torch_file(tmp, declared=0xEFFFFFFF))
)


@case("torch: file over the model limit", r"w.pt: declares 17 GiB .*MAX_MODEL_BYTES")
def _(tmp):
    p = tmp / "w.pt"
    with open(p, "wb") as fh:  # sparse: no disk space used
        fh.truncate(17 << 30)
    return call(ann.load, p)


# -- result files --------------------------------------------------------------------------------

SHA = "ab" * 32


def _result(path):
    G = np.full((3, 2), 1e-5)
    layer = results.LayerRecord(
        name="fc1",
        conductances=G,
        device_energy=np.full(G.shape, 1e-12),
        read_counts=np.array([1, 2, 3]),
        neuron_energy=np.full(2, 1e-13),
        row_input=np.array([0, 1, -1]),
        readout=np.eye(2),
        mapping="linear_pair",
        device="ideal",
    )
    sparse = results.LayerRecord(
        name="fc2",
        conductances=sp.csr_matrix(np.eye(2) * 1e-5),
        device_energy=sp.csr_matrix(np.eye(2) * 1e-12),
        read_counts=np.array([1, 1]),
        neuron_energy=None,
        row_input=np.array([0, 1]),
        readout=np.eye(2),
        mapping="linear_pair",
        device="ideal",
    )
    spikes = {"input": results.SpikeRecord([0.001, 0.012], [0, 1], 3, 0.01)}
    metrics = {
        "n_images": 2,
        "snn_accuracy": 0.5,
        "simulated_time": 0.02,
        "counts": np.array([[1, 0], [1, 0]]),
        "predictions": np.array([0, 0]),
        "labels": np.array([0, 1]),
        "total_device_energy": 8e-12,
    }
    return results.save(
        path,
        config_text='a = "b"\n',
        weights_sha256=SHA,
        layers=[layer, sparse],
        spikes=spikes,
        metrics=metrics,
        device_card='name = "ideal"\n',
    )


def _damaged(tmp, change, reader=results.load):
    path = _result(tmp / "r.h5")
    with h5py.File(path, "r+") as f:
        change(f)
    return call(reader, path)


def _replace(f, key, data, **kw):
    attrs = dict(f[key].attrs)
    del f[key]
    ds = f.create_dataset(key, data=data, **kw)
    ds.attrs.update(attrs)


case("result: accuracy NaN", r"/metrics.*snn_accuracy.*NaN")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "metrics/snn_accuracy", np.nan))
)
case("result: accuracy 7.5", r"snn_accuracy'\]: expected a fraction in \[0, 1\], got 7.5")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "metrics/snn_accuracy", 7.5))
)
case("result: accuracy disagrees", r"snn_accuracy'\]: 1.0 disagrees with predictions")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "metrics/snn_accuracy", 1.0))
)
case("result: negative device energy", r"/layers/fc1: .*device_energy.*>= 0")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "layers/fc1/device_energy", -np.ones((3, 2))))
)
case("result: total energy disagrees", r"total_device_energy'\]: 1.0 J, but the layers")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "metrics/total_device_energy", 1.0))
)
case("result: counts of 500 images in a 2-image run", r"counts'\]: expected 2 rows")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "metrics/counts", np.zeros((500, 2), int)))
)
case("result: negative counts", r"counts'\]: entries must be >= 0")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "metrics/counts", -np.ones((2, 2), int)))
)
case("result: prediction out of range", r"predictions'\]: expected classes in 0..1")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "metrics/predictions", np.array([0, 9])))
)
case("result: image ranges of another n_images", r"/spikes/input/image_ranges: expected 2 rows")(
    lambda tmp: _damaged(
        tmp, lambda f: _replace(f, "spikes/input/image_ranges", np.zeros((5, 2), int))
    )
)
case("result: dataset declaring 8 TB", r"/layers/fc1/read_counts: shape \(1000000000000,\)")(
    lambda tmp: _damaged(
        tmp,
        lambda f: _replace(
            f, "layers/fc1/read_counts", None, shape=(10**12,), dtype="i8", chunks=(1024,)
        ),
    )
)
case("result: conductances as text", r"/layers/fc1/conductances: expected dtype kind f")(
    lambda tmp: _damaged(
        tmp, lambda f: _replace(f, "layers/fc1/conductances", np.array([[b"x"] * 2] * 3))
    )
)
case(
    "result: conductances of another shape",
    r"/layers/fc1: .*device_energy: expected shape \(4, 2\)",
)(lambda tmp: _damaged(tmp, lambda f: _replace(f, "layers/fc1/conductances", np.ones((4, 2)))))
case("result: readout index out of range", r"/layers/fc1/readout_neuron: expected indices")(
    lambda tmp: _damaged(tmp, lambda f: _replace(f, "layers/fc1/readout_neuron", np.array([0, 7])))
)
case("result: broken CSR offsets", r"/layers/fc2/conductances/indptr: expected non-decreasing")(
    lambda tmp: _damaged(
        tmp, lambda f: _replace(f, "layers/fc2/conductances/indptr", np.array([0, 5, 2]))
    )
)
case("result: layers is a dataset", r"/layers: expected a group")(
    lambda tmp: _damaged(
        tmp, lambda f: (f.__delitem__("layers"), f.create_dataset("layers", data=1))
    )
)
case("result: metrics group missing", r"/metrics: missing")(
    lambda tmp: _damaged(tmp, lambda f: f.__delitem__("metrics"))
)
case("result: newer schema", "schema_version 99, newer than")(
    lambda tmp: _damaged(tmp, lambda f: f.attrs.__setitem__("schema_version", np.int64(99)))
)
case("result: incomplete", "incomplete snn-rram result")(
    lambda tmp: _damaged(tmp, lambda f: f.attrs.__delitem__("complete"))
)
case("result: weights hash garbage", r"/@weights_sha256: expected 64")(
    lambda tmp: _damaged(tmp, lambda f: f.attrs.__setitem__("weights_sha256", "xyz"))
)
case("result: device card edited", r"/@device_card_sha256: does not match")(
    lambda tmp: _damaged(tmp, lambda f: f.attrs.__setitem__("device_card", 'name = "x"\n'))
)
case("result: config not TOML", r"/@config: not valid TOML")(
    lambda tmp: _damaged(tmp, lambda f: f.attrs.__setitem__("config", "= ="))
)
case("result: readout_shape attribute garbage", r"/layers/fc1@readout_shape: expected two")(
    lambda tmp: _damaged(
        tmp, lambda f: f["layers/fc1"].attrs.__setitem__("readout_shape", np.array([1.5]))
    )
)
case("result: mapping report not JSON", r"/layers/fc1@mapping_report: not valid JSON")(
    lambda tmp: _damaged(tmp, lambda f: f["layers/fc1"].attrs.__setitem__("mapping_report", "{"))
)
case("result: summary of a damaged file", r"/metrics.*NaN")(
    lambda tmp: _damaged(
        tmp, lambda f: _replace(f, "metrics/snn_accuracy", np.nan), reader=results.summary
    )
)
case("result: not HDF5", "not an HDF5 file")(
    lambda tmp: ((tmp / "r.h5").write_bytes(b"hello"), call(results.load, tmp / "r.h5"))[1]
)
case("result: save into a missing folder", "folder .* does not exist")(
    lambda tmp: call(_result, tmp / "no" / "r.h5")
)


# -- crossbar, spice, writers --------------------------------------------------------------------


def _crossbar(G):
    return call(Crossbar, G, load_device("ideal"), Circuit(0.1, 1e-6, 0.0))


case("crossbar: complex conductances", "G: expected a matrix of conductances .* complex128")(
    lambda tmp: _crossbar(np.full((2, 2), 1e-5 + 1e-6j))
)
case("crossbar: text conductances", "G: expected a matrix of conductances .* dtype <U")(
    lambda tmp: _crossbar(np.array([["1e-5", "2e-5"]]))
)
case("crossbar: object conductances", "G: expected a matrix of conductances .* object")(
    lambda tmp: _crossbar(np.array([[1e-5, None]], dtype=object))
)
case("crossbar: sparse complex conductances", "G: expected a matrix of conductances .* complex")(
    lambda tmp: _crossbar(sp.csr_matrix(np.full((2, 2), 1e-5 + 0j)))
)
case("crossbar: NaN conductance", "G: contains NaN")(
    lambda tmp: _crossbar(np.array([[1e-5, np.nan]]))
)
case("crossbar: negative conductance", "G: conductances must be >= 0")(
    lambda tmp: _crossbar(np.array([[1e-5, -1e-5]]))
)
case("crossbar: 1-D conductances", "G: expected a 2-D")(lambda tmp: _crossbar(np.ones(3)))
case("crossbar: ragged conductances", "G: expected a matrix of conductances")(
    lambda tmp: _crossbar([[1e-5], [1e-5, 2e-5]])
)


def _netlist(tmp, path):
    xbar = Crossbar(np.full((2, 2), 1e-5), load_device("ideal"), Circuit(0.1, 1e-6, 0.0))
    return call(write_netlist, xbar, [True, False], path)


case("spice: netlist into a missing folder", "folder .* does not exist")(
    lambda tmp: _netlist(tmp, tmp / "no" / "x.cir")
)
case("spice: netlist onto a folder", "is a folder")(lambda tmp: _netlist(tmp, tmp))
case("ann.save: into a missing folder", "folder .* does not exist")(
    lambda tmp: call(ann.save, ann.Network([ann.Dense(np.ones((2, 3)))], (3,)), tmp / "a" / "b")
)
case("ann.save: not a network", "network: expected an snn_rram.ann.Network")(
    lambda tmp: call(ann.save, "net", tmp / "b.npz")
)
case("file_sha256: a folder", "path: is a folder")(lambda tmp: call(file_sha256, tmp))


# -- the runner ----------------------------------------------------------------------------------


def test_catalogue_size():
    assert len(CASES) >= 60


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_cleanly(name, tmp_path):
    build, match = CASES[name]
    work = tmp_path / "work"
    work.mkdir()
    fn = build(work)
    before = sorted(os.listdir(work))
    tracemalloc.start()
    try:
        with pytest.raises(SnnRramError, match=match):
            fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{name}: {peak / 2**20:.1f} MiB allocated"
    assert sorted(os.listdir(work)) == before, "a file was left behind"


BOMBS = r"""
import gzip, io, resource, struct, sys, zipfile
import numpy as np
from pathlib import Path
from snn_rram import SnnRramError, ann, results
from snn_rram.datasets import read_idx

folder = Path(sys.argv[1])
npy = io.BytesIO()
np.lib.format.write_array_header_1_0(
    npy, {"descr": "<f8", "fortran_order": False, "shape": (10**5, 10**5)}
)
with zipfile.ZipFile(folder / "w.npz", "w") as zf:
    zf.writestr("fc1.weight.npy", npy.getvalue())


def bomb(path, header, megabytes):  # a gzip file inflating to `megabytes` MiB of zeros
    with gzip.open(path, "wb", compresslevel=9) as gz:
        gz.write(header)
        block = bytes(1 << 20)
        for _ in range(megabytes):
            gz.write(block)


bomb(folder / "x-idx.gz", b"\x00\x00\x08\x01" + struct.pack(">I", 2**31), 400)
bomb(folder / "y-idx.gz", b"\x00\x00\x08\x01" + struct.pack(">I", 4) + bytes(4), 400)
(folder / "w.safetensors").write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
with open("/proc/self/status") as fh:
    vm = next(int(line.split()[1]) for line in fh if line.startswith("VmSize:")) << 10
limit = vm + (256 << 20)  # 256 MiB more than the process uses now
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
calls = [
    lambda: ann.load(folder / "w.npz"),
    lambda: read_idx(folder / "x-idx.gz"),
    lambda: read_idx(folder / "y-idx.gz"),
    lambda: ann.load(folder / "w.safetensors"),
]
for call in calls:
    try:
        call()
    except SnnRramError:
        print("refused")
"""


def test_bombs_under_an_address_space_limit(tmp_path):
    """The worst inputs, in a process that may allocate only 256 MiB more: refused, no crash."""
    import subprocess
    import sys
    from pathlib import Path

    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the process")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", BOMBS, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["refused"] * 4
