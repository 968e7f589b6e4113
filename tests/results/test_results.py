import hashlib
import importlib.metadata
import os
import tomllib

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

import snn_rram
from snn_rram import SnnRramError
from snn_rram import results as R

CONFIG = """\
# run configuration
[network]
weights = "models/mnist.safetensors"
layers = [784, 100, 10]

[device]
card = "hfo2"

[simulation]
image_duration = 0.05
dt = 1e-4
"""
SHA = hashlib.sha256(b"weights").hexdigest()
T = 0.05
N_IMAGES = 4


def dense_layer(rng, name="fc1"):
    G = rng.uniform(1e-6, 1e-4, (6, 8))
    return R.LayerRecord(
        name=name,
        conductances=G,
        device_energy=rng.uniform(0, 1e-12, G.shape),
        read_counts=np.array([3, 0, 7, 1, 2, 9], dtype=np.int32),
        neuron_energy=rng.uniform(0, 1e-13, 8),
        row_input=np.array([0, 1, 2, 3, 4, -1]),
        readout=np.kron(np.eye(4), [[1.0], [-1.0]]),
        mapping="qwsm",
        device="hfo2",
        mapping_report={"levels": 16, "scale": 1.5e-5, "method": "qwsm", "clipped": [1, 2]},
    )


def sparse_layer(rng, name="conv1"):
    rows, cols = np.nonzero(rng.random((9, 5)) < 0.4)
    data = rng.uniform(1e-6, 1e-4, rows.size)
    data[0] = 0.0  # an explicit zero (a device programmed to 0 S) is part of the structure
    G = sp.csr_matrix((data, (rows, cols)), shape=(9, 5))
    E = G.copy()
    E.data = rng.uniform(0, 1e-12, E.nnz)
    return R.LayerRecord(
        name=name,
        conductances=G,
        device_energy=E,
        read_counts=np.arange(9),
        neuron_energy=None,
        row_input=np.r_[np.arange(8), -1],
        readout=sp.identity(5, format="csr"),
        mapping="sparse-direct",
        device="taox",
        mapping_report={},
    )


def spikes(rng):
    # image 2 has no spikes; a spike exactly at the start of image 1 and at t = 0
    t_in = np.r_[
        0.0, rng.uniform(0, T, 20), T, rng.uniform(T, 2 * T, 5), rng.uniform(3 * T, 4 * T, 3)
    ]
    i_in = rng.integers(0, 784, t_in.size)
    order = rng.permutation(t_in.size)  # unsorted on purpose
    t_out = np.array([0.01, 0.02, 0.16, 0.19])
    return {
        "input": R.SpikeRecord(t_in[order], i_in[order], 784, T),
        "output": R.SpikeRecord(t_out, np.array([3, 3, 1, 0], dtype=np.int64), 10, T),
    }


def metrics():
    counts = np.zeros((N_IMAGES, 10), dtype=np.int64)
    counts[0, 3] = 2
    counts[3, [1, 0]] = 1
    return {
        "ann_accuracy": 0.75,
        "snn_accuracy": 0.5,
        "total_device_energy": 1.25e-9,
        "average_power_per_synapse": 3.5e-12,
        "simulated_time": N_IMAGES * T,
        "n_images": N_IMAGES,
        "counts": counts,
        "predictions": np.array([3, 0, 0, 0]),
        "labels": np.array([3, 1, 2, 0]),
        "spikes_per_image": 7.25,
        "n_synapses": np.int32(12345),
    }


def write(path, rng, **kw):
    layers = kw.get("layers", [dense_layer(rng), sparse_layer(rng)])
    m = metrics()
    if all(getattr(layer, "has_energy", False) for layer in layers):  # the layers' sum
        m["total_device_energy"] = sum(layer.total_device_energy for layer in layers)
    args = dict(
        config_text=CONFIG,
        weights_sha256=SHA,
        layers=layers,
        spikes=spikes(rng),
        metrics=m,
        extra_attrs={"git_commit": "abc123", "dataset": "mnist-5k"},
        device_card='name = "hfo2"\n',
    )
    args.update(kw)
    return R.save(path, **args), args


def files_in(folder):
    return sorted(p.name for p in folder.iterdir())


def assert_same_matrix(a, b):
    assert sp.issparse(a) == sp.issparse(b)
    if sp.issparse(a):
        assert isinstance(b, sp.csr_matrix)
        assert a.shape == b.shape
        assert a.data.dtype == b.data.dtype == np.float64
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.data, b.data)
    else:
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(a, b)


def assert_same_layer(a, b):
    assert a.name == b.name
    assert_same_matrix(a.conductances, b.conductances)
    if a.device_energy is None:
        assert b.device_energy is None
    else:
        assert_same_matrix(a.device_energy, b.device_energy)
    for key in ("read_counts", "row_input"):
        x, y = getattr(a, key), getattr(b, key)
        assert x.dtype == y.dtype == np.int64
        np.testing.assert_array_equal(x, y)
    if a.neuron_energy is None:
        assert b.neuron_energy is None
    else:
        assert b.neuron_energy.dtype == np.float64
        np.testing.assert_array_equal(a.neuron_energy, b.neuron_energy)
    assert_same_matrix(a.readout, b.readout)
    assert (a.mapping, a.device, a.mapping_report) == (b.mapping, b.device, b.mapping_report)


# --------------------------------------------------------------------------------------------
# round trip


def test_round_trip_layers(tmp_path, rng):
    path, args = write(tmp_path / "run.h5", rng)
    assert path == tmp_path / "run.h5"
    res = R.load(path)
    assert list(res.layers) == ["fc1", "conv1"]  # network order, not alphabetical
    for rec in args["layers"]:
        assert_same_layer(rec, res.layers[rec.name])
    conv = res.layers["conv1"]
    assert conv.is_sparse and not res.layers["fc1"].is_sparse
    assert conv.conductances.nnz == args["layers"][1].conductances.nnz
    assert (conv.conductances.data == 0).sum() == 1  # the explicit zero survives
    assert res.layers["fc1"].readout.nnz == 8 and res.layers["fc1"].n_neurons == 4
    assert res.layers["fc1"].mapping_report["clipped"] == [1, 2]
    assert res.layers["fc1"].total_device_energy == pytest.approx(
        args["layers"][0].device_energy.sum()
    )


def test_round_trip_spikes_and_image_ranges(tmp_path, rng):
    path, args = write(tmp_path / "run.h5", rng)
    res = R.load(path)
    assert list(res.spikes) == ["input", "output"]
    inp = res.spikes["input"]
    given = args["spikes"]["input"]
    assert inp.times.dtype == np.float64 and inp.indices.dtype == np.int32
    assert inp.n_neurons == 784 and inp.image_duration == T
    np.testing.assert_array_equal(inp.times, given.times)
    np.testing.assert_array_equal(inp.indices, given.indices)
    # sorted by time, then by index
    assert np.all(np.diff(inp.times) >= 0)
    assert inp.image_ranges.shape == (N_IMAGES, 2) and inp.image_ranges.dtype == np.int64
    expected_counts = [21, 6, 0, 3]  # t=0 and 20 in image 0; t=T and 5 in image 1; none in 2
    assert (inp.image_ranges[:, 1] - inp.image_ranges[:, 0]).tolist() == expected_counts
    assert inp.image_ranges[0, 0] == 0 and inp.image_ranges[-1, 1] == inp.n_spikes
    for k in range(N_IMAGES):
        t, i = inp.image(k)
        assert np.all((t >= k * T) & (t < (k + 1) * T))
        assert t.size == i.size == expected_counts[k]
        # the same slice as computed from the record given to save()
        t2, i2 = given.image(k)
        np.testing.assert_array_equal(t, t2)
        np.testing.assert_array_equal(i, i2)
    assert inp.image(1)[0][0] == T  # a spike exactly at a boundary starts the next image
    t, i = inp.image(2)
    assert t.size == 0 and i.dtype == np.int32
    out = res.spikes["output"]
    assert out.image_ranges.tolist() == [[0, 2], [2, 2], [2, 2], [2, 4]]
    assert out.image(-1)[1].tolist() == [1, 0]  # by time: 0.16 s → 1, 0.19 s → 0
    with pytest.raises(SnnRramError, match="k: image 4 out of range"):
        out.image(4)
    with h5py.File(path) as f:
        g = f["spikes/input"]
        assert g.attrs["n_neurons"] == 784 and g.attrs["sorting"] == "by_time"
        assert g["times"].attrs["units"] == "s"


def test_boundary_rounding_of_simulator_times():
    dt = 1e-4
    steps = 500  # T = steps * dt
    times = np.array([steps * dt, 3 * steps * dt, (2 * steps - 1) * dt]) * 1.0
    rec = R.SpikeRecord(times * (1 - 1e-15), [0, 1, 2], 3, steps * dt)
    assert rec.compute_image_ranges(4).tolist() == [[0, 0], [0, 2], [2, 2], [2, 3]]


def test_round_trip_metrics_and_provenance(tmp_path, rng):
    path, args = write(tmp_path / "run.h5", rng)
    res = R.load(path)
    m = res.metrics
    assert set(m) == set(args["metrics"])
    for key in ("ann_accuracy", "snn_accuracy", "total_device_energy", "spikes_per_image"):
        assert type(m[key]) is float and m[key] == args["metrics"][key]
    assert type(m["n_images"]) is int and m["n_images"] == N_IMAGES == res.n_images
    assert type(m["n_synapses"]) is int and m["n_synapses"] == 12345
    for key in ("counts", "predictions", "labels"):
        assert m[key].dtype == np.int64
        np.testing.assert_array_equal(m[key], args["metrics"][key])
    assert m["counts"].shape == (N_IMAGES, 10)

    assert res.schema_version == R.SCHEMA_VERSION == 3 and res.mode == "spiking"
    assert res.snn_rram_version == snn_rram.__version__
    assert res.numpy_version == np.__version__ and res.h5py_version == h5py.__version__
    assert res.brian2_version == importlib.metadata.version("Brian2")
    assert res.config == CONFIG
    assert res.config_dict == tomllib.loads(CONFIG)
    assert res.config_dict["network"]["layers"] == [784, 100, 10]
    assert res.weights_sha256 == SHA
    assert res.extra_attrs == {"git_commit": "abc123", "dataset": "mnist-5k"}
    assert res.created.endswith("+00:00") and res.created[:4].isdigit()
    with h5py.File(path) as f:
        assert f.attrs["complete"]
        assert f["metrics/total_device_energy"].attrs["units"] == "J"
        assert f["layers/fc1"].attrs["mapping"] == "qwsm"
        assert list(f["layers/fc1"].attrs["readout_shape"]) == [8, 4]


def test_optional_parts_absent(tmp_path, rng):
    layer = R.LayerRecord(
        "only",
        np.ones((2, 2)) * 1e-5,
        None,
        [0, 0],
        None,
        [0, 1],
        np.eye(2),
        "direct",
        "linear",
    )
    m = {k: v for k, v in metrics().items() if k not in ("ann_accuracy", "total_device_energy")}
    path = R.save(
        tmp_path / "bare.h5",
        config_text="",
        weights_sha256=SHA.upper(),
        layers=[layer],
        spikes={},
        metrics=m,
    )
    res = R.load(path)
    assert res.layers["only"].device_energy is None and res.layers["only"].neuron_energy is None
    with pytest.raises(
        SnnRramError, match="total_device_energy: layer 'only' .* energy accounting off"
    ):
        _ = res.layers["only"].total_device_energy
    assert res.spikes == {} and res.extra_attrs == {} and res.config_dict == {}
    assert res.weights_sha256 == SHA
    assert "ann_accuracy" not in res.metrics
    assert "no device energy" in R.summary(path)


def test_loaded_result_can_be_saved_again(tmp_path, rng):
    path, _ = write(tmp_path / "a.h5", rng)
    res = R.load(path)
    R.save(
        tmp_path / "b.h5",
        config_text=res.config,
        weights_sha256=res.weights_sha256,
        layers=list(res.layers.values()),
        spikes=res.spikes,
        metrics=res.metrics,
        extra_attrs=res.extra_attrs,
    )
    res2 = R.load(tmp_path / "b.h5")
    for name in res.layers:
        assert_same_layer(res.layers[name], res2.layers[name])
    np.testing.assert_array_equal(
        res.spikes["input"].image_ranges, res2.spikes["input"].image_ranges
    )


def test_compression_and_chunking(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    with h5py.File(path) as f:
        names = [
            "layers/fc1/conductances",
            "layers/fc1/device_energy",
            "layers/fc1/read_counts",
            "layers/fc1/neuron_energy",
            "layers/fc1/row_input",
            "layers/fc1/readout_gain",
            "layers/conv1/conductances/data",
            "layers/conv1/conductances/indices",
            "layers/conv1/device_energy/indptr",
            "spikes/input/times",
            "spikes/input/indices",
            "spikes/input/image_ranges",
            "metrics/counts",
            "metrics/labels",
        ]
        for name in names:
            ds = f[name]
            assert ds.chunks is not None, name
            assert ds.compression == "gzip" and ds.shuffle, name
        assert f["layers/conv1/conductances"].attrs["format"] == "csr"
        assert f["metrics/snn_accuracy"].shape == ()


def test_large_config_text(tmp_path, rng):
    big = CONFIG + "\n[extra]\nvalues = [" + ", ".join(["1.5"] * 40000) + "]\n"
    path, _ = write(tmp_path / "run.h5", rng, config_text=big)
    assert R.load(path).config == big


# --------------------------------------------------------------------------------------------
# atomicity


def test_failure_mid_write_leaves_nothing(tmp_path, rng, monkeypatch):
    real = h5py.Group.create_dataset
    calls = []

    def failing(self, name, *args, **kw):
        calls.append(name)
        if len(calls) == 6:
            raise RuntimeError("disk full (simulated)")
        return real(self, name, *args, **kw)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        write(tmp_path / "run.h5", rng)
    assert len(calls) == 6
    assert files_in(tmp_path) == []


def test_failure_keeps_existing_file(tmp_path, rng, monkeypatch):
    path, _ = write(tmp_path / "run.h5", rng)
    before = path.read_bytes()
    stat = path.stat()

    def failing(self, *args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(KeyboardInterrupt):
        write(path, rng, extra_attrs={"attempt": "2"})
    assert files_in(tmp_path) == ["run.h5"]
    assert path.read_bytes() == before and path.stat().st_mtime_ns == stat.st_mtime_ns
    monkeypatch.undo()
    assert R.is_complete(path) and "attempt" not in R.load(path).extra_attrs


def test_failure_at_rename_removes_temp(tmp_path, rng, monkeypatch):
    def failing(src, dst):
        raise OSError("rename failed (simulated)")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(SnnRramError, match="cannot write .*simulated"):
        write(tmp_path / "run.h5", rng)
    assert files_in(tmp_path) == []


def test_replaces_existing_file(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng, extra_attrs={"attempt": "1"})
    write(path, rng, extra_attrs={"attempt": "2"})
    assert R.load(path).extra_attrs == {"attempt": "2"}
    assert files_in(tmp_path) == ["run.h5"]


# --------------------------------------------------------------------------------------------
# refusing files


def test_missing_file(tmp_path):
    with pytest.raises(SnnRramError, match="no such file"):
        R.load(tmp_path / "nope.h5")
    assert not R.is_complete(tmp_path / "nope.h5")


def test_not_hdf5(tmp_path):
    p = tmp_path / "text.h5"
    p.write_text("hello, not HDF5\n")
    with pytest.raises(SnnRramError, match="not an snn-rram result file.*not an HDF5"):
        R.load(p)
    with pytest.raises(SnnRramError, match="not an snn-rram result file"):
        R.summary(p)
    assert not R.is_complete(p)


def test_foreign_hdf5(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
        f.attrs["complete"] = True
    with pytest.raises(SnnRramError, match="not an snn-rram result file.*schema_version"):
        R.load(p)
    assert not R.is_complete(p)


def test_newer_schema_rejected(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = np.int64(R.SCHEMA_VERSION + 1)
    with pytest.raises(SnnRramError) as info:
        R.load(path)
    msg = str(info.value)
    assert f"schema_version {R.SCHEMA_VERSION + 1}" in msg
    assert f"schema_version {R.SCHEMA_VERSION} " in msg and "upgrade snn-rram" in msg


def test_incomplete_file_refused(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    with h5py.File(path, "a") as f:
        del f.attrs["complete"]
    assert not R.is_complete(path)
    with pytest.raises(SnnRramError, match="incomplete"):
        R.load(path)


def test_damaged_file_refused(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    with h5py.File(path, "a") as f:
        del f["layers/fc1/row_input"]
    with pytest.raises(SnnRramError, match="damaged"):
        R.load(path)


def test_is_complete(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    assert R.is_complete(path) and R.is_complete(str(path))
    data = path.read_bytes()
    # truncated copies: at half the size and a few bytes short
    for i, n in enumerate((len(data) // 2, len(data) - 10)):
        cut = tmp_path / f"cut{i}.h5"
        cut.write_bytes(data[:n])
        assert not R.is_complete(cut)
        with pytest.raises(SnnRramError):
            R.load(cut)
    # a temporary file of save(), even one that reached the end
    tmp = tmp_path / ".run.h5.0123abcd.tmp"
    tmp.write_bytes(data)
    assert not R.is_complete(tmp)
    assert not R.is_complete(tmp_path)  # a folder


# --------------------------------------------------------------------------------------------
# validation before writing


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"device_energy": np.zeros((6, 7))}, r"layers\['fc1'\].device_energy.*shape"),
        ({"device_energy": sp.csr_matrix(np.ones((6, 8)))}, r"device_energy.*dense"),
        ({"conductances": -np.ones((6, 8))}, r"layers\['fc1'\].conductances.*>= 0"),
        ({"conductances": np.full((6, 8), np.nan)}, r"conductances.*NaN"),
        ({"read_counts": np.zeros(5, dtype=int)}, r"read_counts.*\(6,\)"),
        ({"read_counts": np.zeros(6)}, r"read_counts.*integer"),
        ({"neuron_energy": np.zeros(6)}, r"neuron_energy.*shape"),
        ({"row_input": np.full(6, -2)}, r"row_input.*>= -1"),
        ({"readout": np.ones((7, 4))}, r"readout.*\(8, n_neurons\)"),
        ({"mapping": 3}, r"mapping.*string"),
        ({"mapping_report": {"x": float("nan")}}, r"mapping_report\['x'\].*finite"),
        ({"mapping_report": {"x": object()}}, r"mapping_report\['x'\]"),
        ({"name": "a/b"}, r"LayerRecord.name"),
    ],
)
def test_bad_layer(rng, change, field):
    rec = dense_layer(rng)
    fields = {k: getattr(rec, k) for k in rec.__dataclass_fields__}
    fields.update(change)
    with pytest.raises(SnnRramError, match=field):
        R.LayerRecord(**fields)


def test_sparse_energy_outside_devices(rng):
    rec = sparse_layer(rng)
    E = sp.csr_matrix(np.ones(rec.shape))
    with pytest.raises(SnnRramError, match="device_energy.*no device"):
        R.LayerRecord(
            **{**{k: getattr(rec, k) for k in rec.__dataclass_fields__}, "device_energy": E}
        )


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"config_text": {"a": 1}}, "config_text.*TOML text"),
        ({"config_text": "a = = 1"}, "config_text.*not valid TOML"),
        ({"weights_sha256": "abc"}, "weights_sha256"),
        ({"layers": "fc1"}, "layers"),
        ({"layers": [object()]}, r"layers\[0\]"),
        ({"spikes": {"in": (1, 2)}}, r"spikes\['in'\]"),
        ({"extra_attrs": {"config": "x"}}, r"extra_attrs\['config'\].*reserved"),
        ({"extra_attrs": {"host": 3}}, r"extra_attrs\['host'\].*string"),
    ],
)
def test_bad_save_arguments(tmp_path, rng, kw, field):
    with pytest.raises(SnnRramError, match=field):
        write(tmp_path / "run.h5", rng, **kw)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"snn_accuracy": float("nan")}, r"metrics\['snn_accuracy'\].*NaN"),
        ({"spikes_per_image": float("inf")}, r"metrics\['spikes_per_image'\].*infinite"),
        ({"total_device_energy": np.nan}, r"metrics\['total_device_energy'\].*NaN"),
        ({"extra": "fast"}, r"metrics\['extra'\].*int or float"),
        ({"flag": True}, r"metrics\['flag'\].*boolean"),
        ({"snn_accuracy": 1.5}, r"metrics\['snn_accuracy'\].*\[0, 1\]"),
        ({"simulated_time": -1.0}, r"metrics\['simulated_time'\].*>= 0"),
        ({"counts": np.zeros((3, 10), dtype=int)}, r"metrics\['counts'\].*4 rows"),
        ({"counts": np.zeros((4, 10))}, r"metrics\['counts'\].*integer"),
        ({"labels": np.zeros(5, dtype=int)}, r"metrics\['labels'\]"),
        ({"n_images": 4.0}, r"metrics\['n_images'\].*integer"),
        ({"series": np.array([1.0, np.nan])}, r"metrics\['series'\].*NaN"),
    ],
)
def test_bad_metrics(tmp_path, rng, change, field):
    with pytest.raises(SnnRramError, match=field):
        write(tmp_path / "run.h5", rng, metrics={**metrics(), **change})
    assert files_in(tmp_path) == []


def test_missing_metric(tmp_path, rng):
    m = metrics()
    del m["labels"]
    with pytest.raises(SnnRramError, match="metrics: missing.*labels"):
        write(tmp_path / "run.h5", rng, metrics=m)


def test_spike_after_the_run(tmp_path, rng):
    s = spikes(rng)
    s["late"] = R.SpikeRecord([N_IMAGES * T + 0.001], [0], 1, T)
    with pytest.raises(SnnRramError, match=r"spikes\['late'\].*after the end of the run"):
        write(tmp_path / "run.h5", rng, spikes=s)
    assert files_in(tmp_path) == []


def test_arrays_changed_after_construction_are_checked_again(tmp_path, rng):
    rec = dense_layer(rng)
    rec.conductances[0, 0] = np.nan
    with pytest.raises(SnnRramError, match=r"layers\['fc1'\].conductances.*NaN"):
        write(tmp_path / "run.h5", rng, layers=[rec])
    assert files_in(tmp_path) == []


def test_duplicate_layer_names(tmp_path, rng):
    with pytest.raises(SnnRramError, match="duplicate layer name"):
        write(tmp_path / "run.h5", rng, layers=[dense_layer(rng), dense_layer(rng)])


def test_bad_spike_records():
    with pytest.raises(SnnRramError, match="SpikeRecord.indices.*out of range"):
        R.SpikeRecord([0.1], [5], 5, T)
    with pytest.raises(SnnRramError, match="SpikeRecord.indices.*one per spike"):
        R.SpikeRecord([0.1, 0.2], [1], 5, T)
    with pytest.raises(SnnRramError, match="SpikeRecord.times.*>= 0"):
        R.SpikeRecord([-0.1], [1], 5, T)
    with pytest.raises(SnnRramError, match="SpikeRecord.image_duration"):
        R.SpikeRecord([0.1], [1], 5, 0.0)


def test_missing_folder(tmp_path, rng):
    with pytest.raises(SnnRramError, match="path: folder"):
        write(tmp_path / "no" / "run.h5", rng)


def test_file_sha256(tmp_path):
    p = tmp_path / "w.bin"
    p.write_bytes(b"weights")
    assert R.file_sha256(p) == SHA
    with pytest.raises(SnnRramError, match="no such file"):
        R.file_sha256(tmp_path / "missing.bin")


# --------------------------------------------------------------------------------------------
# summary


def test_summary(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    text = R.summary(path)
    lines = text.splitlines()
    assert len(lines) > 10
    assert f"snn-rram {snn_rram.__version__}" in text and "Brian2" in text
    assert SHA in text and "git_commit: abc123" in text
    assert '| card = "hfo2"' in text
    assert "fc1: 6 x 8 dense -> 4 neurons, mapping qwsm, device hfo2" in text
    assert "conv1: 9 x 5 sparse" in text and "mapping sparse-direct" in text
    assert "device energy" in text and "J" in text
    assert "input: 784 neurons, 30 spikes over 4 images" in text
    assert "snn_accuracy = 0.5" in text and "total_device_energy = " in text
    assert "counts: int64 array (4, 10)" in text
    short = R.summary(path, config_lines=2)
    assert "first 2 shown" in short and "[device]" not in short


def test_version_1_file_without_device_card(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    with h5py.File(path, "r+") as f:  # what schema 1 wrote: no device card
        f.attrs["schema_version"] = np.int64(1)
        del f.attrs["device_card"], f.attrs["device_card_sha256"]
    res = R.load(path)
    assert res.schema_version == 1 and res.device_card is None and res.device_card_sha256 is None


def test_device_card_round_trip(tmp_path, rng):
    card = 'name = "hfo2"\ndescription = "ünïcode \\" quote"\n'
    path, _ = write(tmp_path / "run.h5", rng, device_card=card)
    res = R.load(path)
    assert res.device_card == card
    assert res.device_card_sha256 == hashlib.sha256(card.encode()).hexdigest()
    with pytest.raises(SnnRramError, match="device_card: not valid TOML"):
        write(tmp_path / "bad.h5", rng, device_card="= =")


# --------------------------------------------------------------------------------------------
# analog runs (schema 3): no spikes, sensed outputs instead of spike counts


def analog_metrics(rng, layers):
    outputs = rng.normal(size=(N_IMAGES, 4))
    total = sum(layer.total_device_energy for layer in layers)
    return {
        "n_images": N_IMAGES,
        "analog_accuracy": 0.5,
        "outputs": outputs,
        "predictions": np.array([3, 0, 1, 2]),
        "labels": np.array([3, 0, 2, 0]),
        "total_device_energy": total,
        "energy_per_inference": total / N_IMAGES,
        "device_energy_per_image": np.full((N_IMAGES, 1), total / N_IMAGES),
    }


def write_analog(path, rng, **kw):
    layers = [dense_layer(rng)]
    args = dict(
        config_text=CONFIG,
        weights_sha256=SHA,
        layers=layers,
        spikes={},
        metrics=analog_metrics(rng, layers),
        mode="analog",
    )
    args.update(kw)
    return R.save(path, **args), args


def test_analog_result_round_trip(tmp_path, rng):
    path, args = write_analog(tmp_path / "analog.h5", rng)
    res = R.load(path)
    assert res.mode == "analog" and res.spikes == {} and res.accuracy == 0.5
    assert_same_layer(args["layers"][0], res.layers["fc1"])
    for key in ("outputs", "device_energy_per_image"):
        assert res.metrics[key].dtype == np.float64
        np.testing.assert_array_equal(res.metrics[key], args["metrics"][key])
    with h5py.File(path) as f:
        assert f.attrs["mode"] == "analog" and len(f["spikes"]) == 0
        assert f["metrics/energy_per_inference"].attrs["units"] == "J"
    text = R.summary(path)
    assert "mode analog" in text and "an analog run has none" in text
    R.save(tmp_path / "again.h5", **{**args, "layers": list(res.layers.values())})


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"mode": "digital"}, r"mode: expected one of 'spiking', 'analog'"),
        ({"mode": None}, "mode: expected one of"),
        ({"metrics": {"n_images": 4}}, r"missing required metric\(s\) analog_accuracy, outputs"),
        ({"analog_accuracy": 0.75}, r"metrics\['analog_accuracy'\]: 0.75 disagrees"),
        ({"analog_accuracy": 1.5}, r"metrics\['analog_accuracy'\]: expected a fraction"),
        ({"outputs": np.zeros((4, 2))}, r"predictions.*0\.\.1 \(one per column of outputs"),
        ({"outputs": np.zeros((3, 4))}, r"metrics\['outputs'\]: expected 4 rows"),
        ({"outputs": np.full((4, 4), np.nan)}, r"metrics\['outputs'\]"),
        ({"energy_per_inference": -1.0}, r"metrics\['energy_per_inference'\]: expected a number"),
        (
            {"device_energy_per_image": -np.ones((4, 1))},
            r"metrics\['device_energy_per_image'\]: expected energies >= 0",
        ),
    ],
)
def test_bad_analog_results_are_refused(tmp_path, rng, change, match):
    kw = {k: v for k, v in change.items() if k in ("mode", "metrics")}
    if set(change) - set(kw):
        layers = [dense_layer(rng)]
        kw = {"layers": layers, "metrics": {**analog_metrics(rng, layers), **change}}
    with pytest.raises(SnnRramError, match=match):
        write_analog(tmp_path / "bad.h5", rng, **kw)
    assert not (tmp_path / "bad.h5").exists()


def test_a_spiking_result_needs_its_spiking_metrics(tmp_path, rng):
    layers = [dense_layer(rng)]
    with pytest.raises(SnnRramError, match=r"missing required metric\(s\) snn_accuracy"):
        write_analog(tmp_path / "bad.h5", rng, layers=layers, mode="spiking")


def test_files_before_version_3_are_spiking_and_a_bad_mode_is_damage(tmp_path, rng):
    path, _ = write(tmp_path / "run.h5", rng)
    with h5py.File(path, "r+") as f:  # what schema 2 wrote: no mode
        f.attrs["schema_version"] = np.int64(2)
        del f.attrs["mode"]
    assert R.load(path).mode == "spiking"
    with h5py.File(path, "r+") as f:
        f.attrs["mode"] = "quantum"
    with pytest.raises(SnnRramError, match=r"damaged result file: /@mode: expected one of"):
        R.load(path)
    with h5py.File(path, "r+") as f:
        f.attrs["mode"] = "analog"  # an analog file without the analog metrics
    with pytest.raises(SnnRramError, match=r"missing required metric\(s\) analog_accuracy"):
        R.load(path)
