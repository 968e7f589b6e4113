"""Reading a result file back, checking everything it holds.

Nothing in a file is trusted: every node is looked up with its expected kind (group, dataset,
attribute), every dataset's declared size is compared with the file size before it is read
(:data:`MAX_DEFLATE_RATIO`), its dtype and dimensions with the schema, and the values go through
the same checks as on :func:`~snn_rram.results.save` (the records of
:mod:`snn_rram.results.records`). A failure is a :class:`~snn_rram.errors.SnnRramError` naming
the file and the HDF5 path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import numbers
import os
import tomllib
from pathlib import Path

import h5py
import numpy as np
import scipy.sparse as sp

from snn_rram._io import check_declared_size, is_temporary, open_hdf5
from snn_rram.errors import SnnRramError
from snn_rram.results.records import (
    _RESERVED_ATTRS,
    MODES,
    SCHEMA_VERSION,
    SHA_RE,
    LayerRecord,
    RunResult,
    SpikeRecord,
    check_consistency,
    check_metrics,
)

__all__ = ["MAX_ATTRIBUTE_CHARS", "MAX_DATASET_BYTES", "is_complete", "load", "open_result"]

#: Largest dataset read from a result file, bytes (a dataset must also fit the file's size:
#: see :data:`snn_rram._io.MAX_DEFLATE_RATIO`).
MAX_DATASET_BYTES = 16 << 30

#: Longest text attribute read (config, device card, mapping report), characters.
MAX_ATTRIBUTE_CHARS = 16 << 20


class _Damaged(SnnRramError):
    """A file that does not follow the schema (internal: the message gets the file name)."""


def _fail(where: str, what: str):
    raise _Damaged(f"{where}: {what}")


def read_attr_str(attrs, key: str, where: str, *, optional: bool = False) -> str | None:
    """A text attribute (``str`` or UTF-8 ``bytes``) of at most :data:`MAX_ATTRIBUTE_CHARS`."""
    if key not in attrs:
        if optional:
            return None
        _fail(f"{where}@{key}", "missing attribute")
    value = attrs[key]
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            _fail(f"{where}@{key}", "not valid UTF-8 text")
    if not isinstance(value, str):
        _fail(f"{where}@{key}", f"expected a text attribute, got {type(value).__name__}")
    if len(value) > MAX_ATTRIBUTE_CHARS:
        _fail(f"{where}@{key}", f"longer than {MAX_ATTRIBUTE_CHARS} characters")
    return value


def _attr_number(attrs, key: str, where: str, kind: str):
    """A scalar attribute: ``kind`` ``"i"`` (integer) or ``"f"`` (finite real)."""
    if key not in attrs:
        _fail(f"{where}@{key}", "missing attribute")
    value = attrs[key]
    if isinstance(value, np.ndarray) and value.shape in ((), (1,)):
        value = value.reshape(())[()]
    if isinstance(value, bool | np.bool_):
        _fail(f"{where}@{key}", f"expected a number, got {value!r}")
    if kind == "i" and isinstance(value, numbers.Integral):
        return int(value)
    if kind == "f" and isinstance(value, numbers.Real) and np.isfinite(value):
        return float(value)
    what = "an integer" if kind == "i" else "a finite number"
    _fail(f"{where}@{key}", f"expected {what}, got {value!r}")


def _node(parent: h5py.Group, key: str, kind: type, where: str, *, optional: bool = False):
    try:
        node = parent.get(key)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        _fail(f"{where}/{key}", f"cannot be read ({exc})")
    if node is None:
        if optional:
            return None
        _fail(f"{where}/{key}", "missing")
    if not isinstance(node, kind):
        want = "a group" if kind is h5py.Group else "a dataset"
        _fail(f"{where}/{key}", f"expected {want}, got {type(node).__name__}")
    return node


class _Reader:
    """Reads datasets of one open file within its size bound."""

    def __init__(self, f: h5py.File, size: int):
        self.f = f
        self.size = size

    def array(self, parent, key, where, *, kinds, ndim, shape=None, optional=False):
        ds = _node(parent, key, h5py.Dataset, where, optional=optional)
        if ds is None:
            return None
        at = f"{where}/{key}"
        if ds.dtype.kind not in kinds:
            _fail(at, f"expected dtype kind {'/'.join(kinds)}, got {ds.dtype}")
        if ds.ndim != ndim:
            _fail(at, f"expected {ndim} dimension(s), got shape {ds.shape}")
        if shape is not None and ds.shape != shape:
            _fail(at, f"expected shape {shape}, got {ds.shape}")
        nbytes = int(np.prod(ds.shape, dtype=object)) * ds.dtype.itemsize
        try:
            check_declared_size(
                nbytes,
                self.size,
                f"shape {ds.shape}",
                limit=MAX_DATASET_BYTES,
                limit_name="snn_rram.results.reader.MAX_DATASET_BYTES",
            )
        except SnnRramError as exc:
            _fail(at, str(exc))
        try:
            value = ds[()]
        except (OSError, ValueError, RuntimeError, TypeError) as exc:
            _fail(at, f"cannot be read ({exc})")
        if ds.dtype.kind == "f" and value.size and not np.all(np.isfinite(value)):
            _fail(at, "holds NaN or infinite values")
        return value

    def matrix(self, parent, key, where, *, optional=False):
        node = parent.get(key) if key in parent else None
        if node is None:
            if optional:
                return None
            _fail(f"{where}/{key}", "missing")
        at = f"{where}/{key}"
        if isinstance(node, h5py.Dataset):
            return self.array(parent, key, where, kinds="f", ndim=2)
        if not isinstance(node, h5py.Group):
            _fail(at, f"expected a dataset or a CSR group, got {type(node).__name__}")
        if read_attr_str(node.attrs, "format", at) != "csr":
            _fail(f"{at}@format", "expected 'csr'")
        shape = self.array(node, "shape", at, kinds="iu", ndim=1, shape=(2,))
        if shape.min() < 0:
            _fail(f"{at}/shape", f"expected sizes >= 0, got {shape.tolist()}")
        n_rows, n_cols = (int(n) for n in shape)
        data = self.array(node, "data", at, kinds="f", ndim=1)
        indices = self.array(node, "indices", at, kinds="iu", ndim=1, shape=data.shape)
        indptr = self.array(node, "indptr", at, kinds="iu", ndim=1, shape=(n_rows + 1,))
        if indptr[0] != 0 or indptr[-1] != data.size or np.any(np.diff(indptr) < 0):
            _fail(f"{at}/indptr", f"expected non-decreasing offsets from 0 to {data.size}")
        if indices.size and (indices.min() < 0 or indices.max() >= n_cols):
            _fail(f"{at}/indices", f"expected column indices in 0..{n_cols - 1}")
        return sp.csr_matrix(
            (data, indices.astype(np.int64), indptr.astype(np.int64)), shape=(n_rows, n_cols)
        )

    def layer(self, name: str, g: h5py.Group) -> LayerRecord:
        at = f"/layers/{name}"
        shape = _attr_array(g.attrs, "readout_shape", at)
        col = self.array(g, "readout_col", at, kinds="iu", ndim=1)
        neuron = self.array(g, "readout_neuron", at, kinds="iu", ndim=1, shape=col.shape)
        gain = self.array(g, "readout_gain", at, kinds="f", ndim=1, shape=col.shape)
        for arr, n, key in ((col, shape[0], "readout_col"), (neuron, shape[1], "readout_neuron")):
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                _fail(f"{at}/{key}", f"expected indices in 0..{n - 1} (readout_shape {shape})")
        try:
            report = json.loads(read_attr_str(g.attrs, "mapping_report", at))
        except json.JSONDecodeError as exc:
            _fail(f"{at}@mapping_report", f"not valid JSON ({exc})")
        try:
            return LayerRecord(
                name=name,
                conductances=self.matrix(g, "conductances", at),
                device_energy=self.matrix(g, "device_energy", at, optional=True),
                read_counts=self.array(g, "read_counts", at, kinds="iu", ndim=1),
                neuron_energy=self.array(g, "neuron_energy", at, kinds="f", ndim=1, optional=True),
                row_input=self.array(g, "row_input", at, kinds="iu", ndim=1),
                readout=sp.csr_matrix(
                    (gain, (col.astype(np.int64), neuron.astype(np.int64))), shape=shape
                ),
                mapping=read_attr_str(g.attrs, "mapping", at),
                device=read_attr_str(g.attrs, "device", at),
                mapping_report=report,
            )
        except _Damaged:
            raise
        except SnnRramError as exc:
            _fail(at, str(exc))

    def spikes(self, name: str, g: h5py.Group) -> SpikeRecord:
        at = f"/spikes/{name}"
        times = self.array(g, "times", at, kinds="f", ndim=1)
        try:
            return SpikeRecord(
                times=times,
                indices=self.array(g, "indices", at, kinds="iu", ndim=1, shape=times.shape),
                n_neurons=_attr_number(g.attrs, "n_neurons", at, "i"),
                image_duration=_attr_number(g.attrs, "image_duration", at, "f"),
                image_ranges=self.array(g, "image_ranges", at, kinds="iu", ndim=2),
            )
        except _Damaged:
            raise
        except SnnRramError as exc:
            _fail(at, str(exc))

    def metrics(self, g: h5py.Group) -> dict:
        out = {}
        for name in g:
            ds = _node(g, name, h5py.Dataset, "/metrics")
            if ds.ndim > 2:
                _fail(f"/metrics/{name}", f"expected at most 2 dimensions, got shape {ds.shape}")
            value = self.array(g, name, "/metrics", kinds="iuf", ndim=ds.ndim)
            out[name] = value.item() if ds.ndim == 0 else value
        return out


def _attr_array(attrs, key: str, where: str) -> tuple[int, int]:
    if key not in attrs:
        _fail(f"{where}@{key}", "missing attribute")
    value = np.asarray(attrs[key])
    if value.shape != (2,) or value.dtype.kind not in "iu" or value.min() < 0:
        _fail(f"{where}@{key}", f"expected two integers >= 0, got {value!r}")
    return int(value[0]), int(value[1])


@contextlib.contextmanager
def open_result(path):
    """Open a finished snn-rram result for reading (checks kind, schema version, completeness).

    Yields
    ------
    h5py.File
        The open file. Errors of the schema raised inside the block get the file name.
    """
    path = Path(path)
    if not path.exists():
        raise SnnRramError(f"path: no such file {str(path)!r}")
    if not path.is_file():
        raise SnnRramError(f"path: {str(path)!r} is not a file")
    not_ours = f"path: {str(path)!r} is not an snn-rram result file"
    f = open_hdf5(path, not_ours)
    with f:
        try:
            version = f.attrs.get("schema_version")
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise SnnRramError(f"{not_ours} (its attributes cannot be read: {exc})") from exc
        if isinstance(version, np.ndarray) and version.shape in ((), (1,)):
            version = version.reshape(())[()]
        if version is None or not isinstance(version, numbers.Integral | np.integer):
            raise SnnRramError(f"{not_ours} (no integer schema_version attribute)")
        version = int(version)
        if version > SCHEMA_VERSION:
            raise SnnRramError(
                f"path: {str(path)!r} has schema_version {version}, newer than the "
                f"schema_version {SCHEMA_VERSION} this snn-rram reads; upgrade snn-rram to "
                "read it"
            )
        if version < 1:
            raise SnnRramError(f"{not_ours} (schema_version {version})")
        try:
            complete = f.attrs.get("complete", False)
        except (OSError, RuntimeError, KeyError, ValueError):
            complete = False
        if not isinstance(complete, bool | np.bool_) or not complete:
            raise SnnRramError(
                f"path: {str(path)!r} is an incomplete snn-rram result (the run that wrote it "
                "did not finish)"
            )
        try:
            yield f
        except _Damaged as exc:
            raise SnnRramError(f"path: {str(path)!r} is a damaged result file: {exc}") from None
        except (KeyError, OSError, ValueError, TypeError, RuntimeError, AttributeError) as exc:
            if isinstance(exc, SnnRramError):
                raise
            raise SnnRramError(
                f"path: {str(path)!r} is a damaged snn-rram result file ({exc})"
            ) from exc


def load(path: str | os.PathLike) -> RunResult:
    """Read a result file written by :func:`~snn_rram.results.save`, checking all of it.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    RunResult

    Raises
    ------
    SnnRramError
        If the file is missing, is not HDF5 or not an snn-rram result, is incomplete, was
        written with a newer schema than this snn-rram reads, or does not follow the schema
        (a dataset declared larger than the file can hold, a wrong dtype or shape, shapes that
        disagree with each other or with ``n_images``, metrics that are not finite or out of
        range, negative energies, ...): the message names the HDF5 path.
    """
    path = Path(path)
    size = path.stat().st_size if path.is_file() else 0
    with open_result(path) as f:
        reader = _Reader(f, size)
        attrs = f.attrs
        config = read_attr_str(attrs, "config", "/")
        try:
            config_dict = tomllib.loads(config)
        except tomllib.TOMLDecodeError as exc:
            _fail("/@config", f"not valid TOML ({exc})")
        weights = read_attr_str(attrs, "weights_sha256", "/")
        if not SHA_RE.match(weights):
            _fail("/@weights_sha256", f"expected 64 lower-case hex digits, got {weights[:80]!r}")
        card = read_attr_str(attrs, "device_card", "/", optional=True)
        card_sha = read_attr_str(attrs, "device_card_sha256", "/", optional=(card is None))
        if card is not None and hashlib.sha256(card.encode()).hexdigest() != card_sha:
            _fail("/@device_card_sha256", "does not match the stored device card text")
        mode = read_attr_str(attrs, "mode", "/", optional=True)
        mode = "spiking" if mode is None else mode  # files before schema version 3
        if mode not in MODES:
            _fail("/@mode", f"expected one of {', '.join(map(repr, MODES))}, got {mode[:80]!r}")
        extra = {k: read_attr_str(attrs, k, "/") for k in attrs if k not in _RESERVED_ATTRS}
        layers = {
            name: reader.layer(name, g)
            for name, g in _node(f, "layers", h5py.Group, "").items()
            if _node(f["layers"], name, h5py.Group, "/layers") is not None
        }
        spikes = {
            name: reader.spikes(name, g)
            for name, g in _node(f, "spikes", h5py.Group, "").items()
            if _node(f["spikes"], name, h5py.Group, "/spikes") is not None
        }
        try:
            metrics = check_metrics(reader.metrics(_node(f, "metrics", h5py.Group, "")), mode)
        except _Damaged:
            raise
        except SnnRramError as exc:
            _fail("/metrics", str(exc))
        n = metrics["n_images"]
        for name, rec in spikes.items():
            if rec.image_ranges.shape[0] != n:
                _fail(
                    f"/spikes/{name}/image_ranges",
                    f"expected {n} rows (n_images), got shape {rec.image_ranges.shape}",
                )
            try:
                expected = rec.compute_image_ranges(n)
            except SnnRramError as exc:
                _fail(f"/spikes/{name}/times", str(exc))
            if not np.array_equal(expected, rec.image_ranges):
                _fail(f"/spikes/{name}/image_ranges", "disagree with the spike times")
        try:
            check_consistency(list(layers.values()), spikes, metrics)
        except SnnRramError as exc:
            _fail("/", str(exc))
        return RunResult(
            path=path,
            schema_version=_attr_number(attrs, "schema_version", "/", "i"),
            snn_rram_version=read_attr_str(attrs, "snn_rram_version", "/"),
            brian2_version=read_attr_str(attrs, "brian2_version", "/"),
            numpy_version=read_attr_str(attrs, "numpy_version", "/"),
            h5py_version=read_attr_str(attrs, "h5py_version", "/"),
            hdf5_version=read_attr_str(attrs, "hdf5_version", "/"),
            created=read_attr_str(attrs, "created", "/"),
            config=config,
            config_dict=config_dict,
            weights_sha256=weights,
            device_card=card,
            device_card_sha256=card_sha,
            extra_attrs=extra,
            layers=layers,
            spikes=spikes,
            metrics=metrics,
            mode=mode,
        )


def is_complete(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a finished snn-rram result file.

    True when the file exists, is not a temporary file of :func:`~snn_rram.results.save`
    (``.<name>.<random>.tmp``), opens as HDF5, has a ``schema_version`` attribute and the
    ``complete = True`` attribute :func:`~snn_rram.results.save` writes last. Never raises.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    bool
    """
    try:
        path = Path(path)
        if is_temporary(path) or not path.is_file() or not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            return "schema_version" in f.attrs and bool(f.attrs.get("complete", False))
    except Exception:
        return False
