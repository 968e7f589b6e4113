"""One HDF5 file per simulation run: conductances, energies, spikes, metrics and provenance.

:func:`save` writes a run, :func:`load` reads it back as a :class:`RunResult`, :func:`summary`
describes it in a few lines (``snn-rram info FILE.h5``) and :func:`is_complete` tells whether a
file is a finished result (sweeps use it to resume).

A file is written under a temporary name in the target's folder
(``.<name>.<random>.tmp``, :func:`snn_rram._io.atomic_path`) and renamed into place only when
complete, after a final ``complete = True`` attribute and an ``fsync``: a reader never sees a
half-written result, and a failed :func:`save` leaves whatever was at the target untouched.

Schema (version 1)
------------------
All numbers are SI: siemens (S), joules (J), seconds (s), watts (W). Every dataset with at
least one dimension is chunked and compressed (gzip level 4 with the shuffle filter). Datasets
carry a ``units`` attribute where they have a unit.

``/`` (root attributes)
    ``schema_version`` (int, :data:`SCHEMA_VERSION`), ``complete`` (bool, written last),
    ``snn_rram_version``, ``brian2_version`` (``"not installed"`` without Brian2),
    ``numpy_version``, ``h5py_version``, ``hdf5_version`` (str), ``created`` (ISO 8601 time in
    UTC, str), ``config`` (the run's full configuration as TOML text), ``weights_sha256`` (64
    lower-case hex digits: SHA-256 of the input weights file's bytes, see :func:`file_sha256`),
    and every extra provenance string the caller gave (``extra_attrs``).

``/layers/<name>/`` (one group per crossbar layer, in the order given)
    ``conductances``
        Programmed conductance of every physical device, S, shape ``(n_rows, n_cols)``: a dense
        float64 dataset, or for a sparse crossbar a CSR group (attribute ``format = "csr"``)
        holding ``data`` (float64), ``indices`` and ``indptr`` (int64) and ``shape`` (int64,
        ``(2,)``).
    ``device_energy`` (optional)
        Energy dissipated in every device over the run, J, in the same layout as
        ``conductances`` (a sparse layer stores it only where devices are). Absent when the run
        had energy accounting off.
    ``read_counts``
        int64 ``(n_rows,)``: read pulses applied to each physical row.
    ``neuron_energy`` (optional)
        float64 ``(n_cols,)``: energy dissipated in each column's neuron input, J.
    ``row_input``
        int64 ``(n_rows,)``: logical input driving each physical row, -1 for an always-on (bias)
        row.
    ``readout_col``, ``readout_neuron`` (int64), ``readout_gain`` (float64)
        The readout matrix ``(n_cols, n_neurons)`` as COO triplets in row-major order:
        ``I_neuron = I_column @ readout``; its shape is the group attribute ``readout_shape``
        (int64 ``(2,)``).
    group attributes
        ``mapping`` (mapping method name), ``device`` (device card name), ``mapping_report``
        (JSON text of a dict of numbers, strings, booleans, ``null`` and lists/dicts of them),
        ``readout_shape``.

``/spikes/<population>/`` (SONATA-like, attribute ``sorting = "by_time"``)
    ``times`` (float64, s) and ``indices`` (int32, neuron index), sorted by time and, at equal
    times, by index; ``image_ranges`` (int64 ``(n_images, 2)``): image ``k``'s spikes are
    ``times[start:stop]`` with ``start, stop = image_ranges[k]`` (``start == stop`` for an image
    without spikes). Images are presented back to back, image ``k`` over
    ``[k·T, (k+1)·T)`` with ``T`` the attribute ``image_duration`` (s); a spike less than
    ``1e-9·T`` before a boundary counts for the next image (rounding of simulator times).
    Attributes ``n_neurons`` (int), ``image_duration`` (s), ``sorting``.

``/metrics/`` (one dataset per metric; scalars are 0-d datasets)
    ``n_images`` (int), ``snn_accuracy`` (fraction in [0, 1]), ``simulated_time`` (s),
    ``counts`` (int64 ``(n_images, n_outputs)``: output spikes per image), ``predictions`` and
    ``labels`` (int64 ``(n_images,)``) are required; ``ann_accuracy`` (fraction),
    ``total_device_energy`` (J) and ``average_power_per_synapse`` (W) are standard but optional
    (a run without energy accounting or without an ANN reference has none); any other finite
    int or float, or numeric array, the caller gives is stored as well (int64 or float64).

Versions: a file whose ``schema_version`` is newer than this code's is refused with a message
asking to upgrade snn-rram; older versions will be read by conversion code added with each
schema change.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import importlib.metadata
import json
import math
import numbers
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.sparse as sp

from snn_rram._io import atomic_path, file_sha256, is_temporary
from snn_rram._validation import as_array, as_scalar
from snn_rram.errors import SnnRramError

__all__ = [
    "SCHEMA_VERSION",
    "LayerRecord",
    "RunResult",
    "SpikeRecord",
    "file_sha256",
    "is_complete",
    "load",
    "save",
    "summary",
]

#: Version of the file layout written by :func:`save`; bump it with every incompatible change.
SCHEMA_VERSION = 1

#: Root attributes written by :func:`save` itself; ``extra_attrs`` may not use these names.
_RESERVED_ATTRS = (
    "schema_version",
    "complete",
    "snn_rram_version",
    "brian2_version",
    "numpy_version",
    "h5py_version",
    "hdf5_version",
    "created",
    "config",
    "weights_sha256",
)

_REQUIRED_METRICS = (
    "n_images",
    "snn_accuracy",
    "simulated_time",
    "counts",
    "predictions",
    "labels",
)
_METRIC_UNITS = {
    "simulated_time": "s",
    "total_device_energy": "J",
    "average_power_per_synapse": "W",
}

#: Relative tolerance (of the image duration) for assigning a spike to the next image.
_BOUNDARY_TOL = 1e-9

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_COMPRESSION = {"chunks": True, "compression": "gzip", "compression_opts": 4, "shuffle": True}


# --------------------------------------------------------------------------------------------
# checks shared by the records and save()


def _check_name(name, field_name: str) -> str:
    """An HDF5 group name: a non-empty string without ``/`` that is not ``.``."""
    if not isinstance(name, str) or not name or "/" in name or name == "." or "\0" in name:
        raise SnnRramError(f"{field_name}: expected a non-empty name without '/', got {name!r}")
    return name


def _check_str(value, field_name: str) -> str:
    if not isinstance(value, str):
        raise SnnRramError(
            f"{field_name}: expected a string, got {value!r} of type {type(value).__name__}"
        )
    return value


def _as_int_array(value, field_name: str, *, ndim: int, minimum: int | None = None):
    """An int64 array; integer dtypes only (an empty list is accepted)."""
    if sp.issparse(value):
        raise SnnRramError(f"{field_name}: expected a dense integer array, got a sparse matrix")
    try:
        x = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"{field_name}: expected integers, got {value!r}") from exc
    if x.size == 0 and x.dtype.kind in "fiub":
        x = x.astype(np.int64)
    if x.dtype.kind not in "iu":
        raise SnnRramError(f"{field_name}: expected an integer array, got dtype {x.dtype}")
    if x.ndim != ndim:
        raise SnnRramError(
            f"{field_name}: expected an array with {ndim} dimension(s), got shape {x.shape}"
        )
    if x.dtype.kind == "u" and x.size and x.max() > np.iinfo(np.int64).max:
        raise SnnRramError(f"{field_name}: values do not fit in int64")
    x = x.astype(np.int64, copy=False)
    if minimum is not None and x.size and x.min() < minimum:
        raise SnnRramError(f"{field_name}: entries must be >= {minimum}, got {x.min()}")
    return x


def _as_int(value, field_name: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise SnnRramError(
            f"{field_name}: expected an integer, got {value!r} of type {type(value).__name__}"
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise SnnRramError(f"{field_name}: must be >= {minimum}, got {value}")
    return value


def _as_matrix(value, field_name: str, unit: str, *, nonnegative: bool = False):
    """A float64 2-D dense array or a canonical float64 CSR matrix (explicit zeros kept)."""
    if sp.issparse(value):
        m = sp.csr_matrix(value, dtype=np.float64, copy=True)
        if m.ndim != 2:
            raise SnnRramError(f"{field_name}: expected a 2-D matrix, got shape {m.shape}")
        m.sum_duplicates()  # sorts the indices; keeps stored zeros (they mark devices)
        as_array(m.data, field_name, unit, nonnegative=nonnegative)
        return m
    return as_array(value, field_name, unit, ndim=2, nonnegative=nonnegative)


def _json_value(value, field_name: str):
    """The JSON-compatible form of a report value (tuples and arrays become lists)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise SnnRramError(f"{field_name}: expected a finite number, got {x!r}")
        return x
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_json_value(v, f"{field_name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SnnRramError(f"{field_name}: keys must be strings, got {k!r}")
            out[k] = _json_value(v, f"{field_name}[{k!r}]")
        return out
    raise SnnRramError(
        f"{field_name}: expected numbers, strings, booleans, None or lists/dicts of them, "
        f"got {value!r} of type {type(value).__name__}"
    )


# --------------------------------------------------------------------------------------------
# records


@dataclasses.dataclass(frozen=True, eq=False)
class LayerRecord:
    """One crossbar layer as stored in a result file.

    Arrays are normalised on construction (float64 / int64, sparse matrices to canonical
    :class:`scipy.sparse.csr_matrix`) and checked; any inconsistency is a
    :class:`~snn_rram.errors.SnnRramError` naming the field.

    Parameters
    ----------
    name : str
        Layer name (an HDF5 group name: no ``/``).
    conductances : numpy.ndarray or scipy.sparse matrix, shape (n_rows, n_cols)
        Programmed conductances, S (>= 0). Sparse for a sparse crossbar; stored entries,
        including explicit zeros, mark where devices are.
    device_energy : numpy.ndarray or scipy.sparse matrix or None
        Energy of every device over the run, J, in the layout of ``conductances`` (dense for a
        dense layer; sparse, stored only where devices are, for a sparse one). ``None`` when the
        run had energy accounting off.
    read_counts : array_like of int, shape (n_rows,)
        Read pulses applied to each physical row (>= 0).
    neuron_energy : array_like, shape (n_cols,), or None
        Energy dissipated in each column's neuron input, J.
    row_input : array_like of int, shape (n_rows,)
        Logical input driving each physical row, -1 for an always-on row.
    readout : scipy.sparse matrix or numpy.ndarray, shape (n_cols, n_neurons)
        Gain from each column's current to each neuron's input current.
    mapping : str
        Name of the mapping method.
    device : str
        Name of the device card.
    mapping_report : dict
        What the mapping method reported: numbers, strings, booleans, ``None`` and lists or
        dicts of them (tuples and arrays become lists).
    """

    name: str
    conductances: np.ndarray | sp.csr_matrix
    device_energy: np.ndarray | sp.csr_matrix | None
    read_counts: np.ndarray
    neuron_energy: np.ndarray | None
    row_input: np.ndarray
    readout: sp.csr_matrix
    mapping: str
    device: str
    mapping_report: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        name = _check_name(self.name, "LayerRecord.name")
        f = f"layers[{name!r}]"
        G = _as_matrix(self.conductances, f"{f}.conductances", "siemens", nonnegative=True)
        n_rows, n_cols = G.shape
        E = self.device_energy
        if E is not None:
            E = _as_matrix(E, f"{f}.device_energy", "joule")
            if sp.issparse(G) != sp.issparse(E):
                want, got = ("sparse", "dense") if sp.issparse(G) else ("dense", "sparse")
                raise SnnRramError(
                    f"{f}.device_energy: expected a {want} matrix in the layout of the "
                    f"conductances, got a {got} one"
                )
            if E.shape != G.shape:
                raise SnnRramError(
                    f"{f}.device_energy: expected shape {G.shape} (that of the conductances), "
                    f"got {E.shape}"
                )
            if sp.issparse(E):
                pattern = sp.csr_matrix(
                    (np.ones(G.nnz), G.indices, G.indptr), shape=G.shape, dtype=np.float64
                )
                epattern = sp.csr_matrix(
                    (np.ones(E.nnz), E.indices, E.indptr), shape=E.shape, dtype=np.float64
                )
                if (epattern - epattern.multiply(pattern)).count_nonzero():
                    raise SnnRramError(
                        f"{f}.device_energy: stores energies where the conductances have no device"
                    )
        reads = _as_int_array(self.read_counts, f"{f}.read_counts", ndim=1, minimum=0)
        if reads.shape != (n_rows,):
            raise SnnRramError(
                f"{f}.read_counts: expected shape ({n_rows},) (one per physical row), "
                f"got {reads.shape}"
            )
        NE = self.neuron_energy
        if NE is not None:
            NE = as_array(NE, f"{f}.neuron_energy", "joule", shape=(n_cols,))
        rows = _as_int_array(self.row_input, f"{f}.row_input", ndim=1, minimum=-1)
        if rows.shape != (n_rows,):
            raise SnnRramError(
                f"{f}.row_input: expected shape ({n_rows},) (one per physical row), "
                f"got {rows.shape}"
            )
        readout = self.readout
        if sp.issparse(readout):
            readout = sp.csr_matrix(readout, dtype=np.float64, copy=True)
        else:
            readout = sp.csr_matrix(as_array(readout, f"{f}.readout", ndim=2), dtype=np.float64)
        if readout.shape[0] != n_cols:
            raise SnnRramError(
                f"{f}.readout: expected shape ({n_cols}, n_neurons) (one row per physical "
                f"column), got {readout.shape}"
            )
        readout.sum_duplicates()
        readout.eliminate_zeros()
        as_array(readout.data, f"{f}.readout", "1")
        mapping = _check_str(self.mapping, f"{f}.mapping")
        device = _check_str(self.device, f"{f}.device")
        if not isinstance(self.mapping_report, Mapping):
            raise SnnRramError(
                f"{f}.mapping_report: expected a dict, got {type(self.mapping_report).__name__}"
            )
        report = _json_value(self.mapping_report, f"{f}.mapping_report")
        for key, value in {
            "conductances": G,
            "device_energy": E,
            "read_counts": reads,
            "neuron_energy": NE,
            "row_input": rows,
            "readout": readout,
            "mapping": mapping,
            "device": device,
            "mapping_report": report,
        }.items():
            object.__setattr__(self, key, value)

    @property
    def shape(self) -> tuple[int, int]:
        """Physical shape ``(n_rows, n_cols)`` of the crossbar."""
        return tuple(int(n) for n in self.conductances.shape)

    @property
    def is_sparse(self) -> bool:
        """Whether the crossbar is stored as a sparse matrix."""
        return sp.issparse(self.conductances)

    @property
    def n_neurons(self) -> int:
        """Logical neurons the layer feeds."""
        return int(self.readout.shape[1])

    @property
    def total_device_energy(self) -> float:
        """Energy of all devices of the layer, J (``nan`` without energy accounting)."""
        return math.nan if self.device_energy is None else float(self.device_energy.sum())


@dataclasses.dataclass(frozen=True, eq=False)
class SpikeRecord:
    """Spikes of one population over a run of images presented back to back.

    The spikes are sorted on construction by time and, at equal times, by index.

    Parameters
    ----------
    times : array_like, shape (n_spikes,)
        Spike times from the start of the run, s (>= 0).
    indices : array_like of int, shape (n_spikes,)
        Index of the spiking neuron, ``0 <= index < n_neurons``; stored as int32.
    n_neurons : int
        Neurons in the population.
    image_duration : float
        Time each image is presented, s (> 0); image ``k`` covers ``[k·T, (k+1)·T)``.
    image_ranges : array_like of int, shape (n_images, 2), optional
        ``[start, stop)`` offsets of each image's spikes; :func:`load` fills it in,
        :func:`save` computes it (and refuses a given one that disagrees).
    """

    times: np.ndarray
    indices: np.ndarray
    n_neurons: int
    image_duration: float
    image_ranges: np.ndarray | None = None

    def __post_init__(self):
        times = as_array(self.times, "SpikeRecord.times", "second", ndim=1, nonnegative=True)
        n = _as_int(self.n_neurons, "SpikeRecord.n_neurons", minimum=0)
        if n > np.iinfo(np.int32).max:
            raise SnnRramError(f"SpikeRecord.n_neurons: at most 2**31 - 1, got {n}")
        idx = _as_int_array(self.indices, "SpikeRecord.indices", ndim=1, minimum=0)
        if idx.shape != times.shape:
            raise SnnRramError(
                f"SpikeRecord.indices: expected {times.size} indices (one per spike time), "
                f"got {idx.size}"
            )
        if idx.size and idx.max() >= n:
            raise SnnRramError(
                f"SpikeRecord.indices: index {idx.max()} out of range for n_neurons={n}"
            )
        T = as_scalar(self.image_duration, "SpikeRecord.image_duration", "second", positive=True)
        later = (times[1:] > times[:-1]) | ((times[1:] == times[:-1]) & (idx[1:] >= idx[:-1]))
        if not later.all():
            order = np.lexsort((idx, times))
            times, idx = times[order], idx[order]
        ranges = self.image_ranges
        if ranges is not None:
            ranges = _as_int_array(ranges, "SpikeRecord.image_ranges", ndim=2, minimum=0)
            if ranges.shape[1:] != (2,):
                raise SnnRramError(
                    f"SpikeRecord.image_ranges: expected shape (n_images, 2), got {ranges.shape}"
                )
            flat = ranges.ravel()
            if flat.size and (np.any(np.diff(flat) < 0) or flat[-1] > times.size):
                raise SnnRramError(
                    "SpikeRecord.image_ranges: expected non-decreasing offsets within "
                    f"0..{times.size}"
                )
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "indices", idx.astype(np.int32))
        object.__setattr__(self, "n_neurons", n)
        object.__setattr__(self, "image_duration", T)
        object.__setattr__(self, "image_ranges", ranges)

    @property
    def n_spikes(self) -> int:
        """Number of spikes."""
        return int(self.times.size)

    def compute_image_ranges(self, n_images: int) -> np.ndarray:
        """The ``[start, stop)`` offsets of each image's spikes.

        Parameters
        ----------
        n_images : int
            Images presented in the run.

        Returns
        -------
        numpy.ndarray of int64, shape (n_images, 2)

        Raises
        ------
        SnnRramError
            If a spike falls after the end of the last image.
        """
        n_images = _as_int(n_images, "n_images", minimum=0)
        image = np.floor(self.times / self.image_duration + _BOUNDARY_TOL).astype(np.int64)
        if image.size and image[-1] >= n_images:
            raise SnnRramError(
                f"SpikeRecord.times: spike at {self.times[-1]!r} s is after the end of the run "
                f"({n_images} images of {self.image_duration!r} s)"
            )
        k = np.arange(n_images)
        return np.stack(
            [np.searchsorted(image, k, "left"), np.searchsorted(image, k, "right")], axis=1
        ).astype(np.int64)

    def image(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Spikes of image ``k``.

        Parameters
        ----------
        k : int
            Image number, from 0 (negative numbers count from the end when the image ranges
            are known).

        Returns
        -------
        times, indices : numpy.ndarray
            Times from the start of the run, s, and neuron indices of the image's spikes.
        """
        k = _as_int(k, "k")
        if self.image_ranges is not None:
            n = self.image_ranges.shape[0]
            if not -n <= k < n:
                raise SnnRramError(f"k: image {k} out of range for {n} images")
            start, stop = self.image_ranges[k]
        else:
            if k < 0:
                raise SnnRramError(f"k: expected an image number >= 0, got {k}")
            image = np.floor(self.times / self.image_duration + _BOUNDARY_TOL)
            start, stop = np.searchsorted(image, [k, k + 1], "left")
        return self.times[start:stop], self.indices[start:stop]


@dataclasses.dataclass(frozen=True, eq=False)
class RunResult:
    """Everything :func:`load` reads from a result file.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    schema_version : int
        Schema version the file was written with.
    snn_rram_version, brian2_version, numpy_version, h5py_version, hdf5_version : str
        Versions of the software that wrote the file.
    created : str
        When the file was written (ISO 8601, UTC).
    config : str
        The run's full configuration, TOML text.
    config_dict : dict
        ``config`` parsed with :mod:`tomllib`.
    weights_sha256 : str
        SHA-256 of the input weights file (hex).
    extra_attrs : dict of str to str
        The other provenance strings the writer gave.
    layers : dict of str to LayerRecord
        Crossbar layers in network order; sparse matrices as :class:`scipy.sparse.csr_matrix`.
    spikes : dict of str to SpikeRecord
        Spikes per population, with their image ranges (``spikes[p].image(k)``).
    metrics : dict
        Scalars as Python ``int`` / ``float``, arrays as numpy arrays (``counts``,
        ``predictions``, ``labels``, ...).
    """

    path: Path
    schema_version: int
    snn_rram_version: str
    brian2_version: str
    numpy_version: str
    h5py_version: str
    hdf5_version: str
    created: str
    config: str
    config_dict: dict
    weights_sha256: str
    extra_attrs: dict[str, str]
    layers: dict[str, LayerRecord]
    spikes: dict[str, SpikeRecord]
    metrics: dict[str, Any]

    @property
    def n_images(self) -> int:
        """Number of images of the run."""
        return int(self.metrics["n_images"])


# --------------------------------------------------------------------------------------------
# metrics


def _metric_scalar(value, name: str):
    if isinstance(value, np.ndarray):  # 0-d
        value = value[()]
    if isinstance(value, bool | np.bool_):
        raise SnnRramError(f"metrics[{name!r}]: expected a number, got the boolean {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isnan(x):
            raise SnnRramError(f"metrics[{name!r}]: is NaN")
        if not math.isfinite(x):
            raise SnnRramError(f"metrics[{name!r}]: is infinite ({x!r})")
        return x
    raise SnnRramError(
        f"metrics[{name!r}]: expected an int or float, got {value!r} of type "
        f"{type(value).__name__}"
    )


def _check_metrics(metrics) -> dict[str, Any]:
    """Normalised metrics: Python scalars, int64 / float64 arrays."""
    if not isinstance(metrics, Mapping):
        raise SnnRramError(f"metrics: expected a dict, got {type(metrics).__name__}")
    missing = [k for k in _REQUIRED_METRICS if k not in metrics]
    if missing:
        raise SnnRramError(f"metrics: missing required metric(s) {', '.join(missing)}")
    out: dict[str, Any] = {}
    n = _as_int(metrics["n_images"], "metrics['n_images']", minimum=0)
    for key, value in metrics.items():
        _check_name(key, "metrics: metric name")
        f = f"metrics[{key!r}]"
        if key == "n_images":
            out[key] = n
        elif key in ("counts", "predictions", "labels"):
            ndim = 2 if key == "counts" else 1
            x = _as_int_array(value, f, ndim=ndim, minimum=0 if key == "counts" else None)
            if x.shape[0] != n:
                raise SnnRramError(
                    f"{f}: expected {n} rows (one per image, n_images={n}), got shape {x.shape}"
                )
            out[key] = x
        elif np.ndim(value) > 0:
            x = np.asarray(value)
            if x.dtype.kind in "iu":
                out[key] = _as_int_array(x, f, ndim=x.ndim)
            elif x.dtype.kind == "f":
                out[key] = as_array(x, f)
            else:
                raise SnnRramError(f"{f}: expected a numeric array, got dtype {x.dtype}")
        else:
            out[key] = _metric_scalar(value, key)
    for key in ("snn_accuracy", "ann_accuracy"):
        if key in out and not (isinstance(out[key], int | float) and 0.0 <= out[key] <= 1.0):
            raise SnnRramError(
                f"metrics[{key!r}]: expected a fraction in [0, 1], got {out[key]!r}"
            )
    for key in ("simulated_time", "total_device_energy", "average_power_per_synapse"):
        if key in out and not (isinstance(out[key], int | float) and out[key] >= 0):
            raise SnnRramError(
                f"metrics[{key!r}]: expected a number >= 0 {_METRIC_UNITS[key]}, got {out[key]!r}"
            )
    if out["predictions"].shape != (n,) or out["labels"].shape != (n,):
        raise SnnRramError("metrics['predictions'], metrics['labels']: expected shape (n_images,)")
    return out


# --------------------------------------------------------------------------------------------
# writing


def _versions() -> dict[str, str]:
    import snn_rram

    try:
        brian2_version = importlib.metadata.version("Brian2")
    except importlib.metadata.PackageNotFoundError:
        brian2_version = "not installed"
    return {
        "snn_rram_version": snn_rram.__version__,
        "brian2_version": brian2_version,
        "numpy_version": np.__version__,
        "h5py_version": h5py.__version__,
        "hdf5_version": h5py.version.hdf5_version,
    }


def _dataset(group: h5py.Group, name: str, data: np.ndarray, units: str | None = None):
    if data.ndim == 0:
        ds = group.create_dataset(name, data=data)
    else:
        ds = group.create_dataset(name, data=data, **_COMPRESSION)
    if units is not None:
        ds.attrs["units"] = units
    return ds


def _write_matrix(group: h5py.Group, name: str, m, units: str) -> None:
    if sp.issparse(m):
        g = group.create_group(name)
        g.attrs["format"] = "csr"
        g.attrs["units"] = units
        _dataset(g, "data", m.data.astype(np.float64, copy=False), units)
        _dataset(g, "indices", m.indices.astype(np.int64))
        _dataset(g, "indptr", m.indptr.astype(np.int64))
        _dataset(g, "shape", np.asarray(m.shape, dtype=np.int64))
    else:
        _dataset(group, name, m, units)


def _write_layer(parent: h5py.Group, rec: LayerRecord) -> None:
    g = parent.create_group(rec.name)
    _write_matrix(g, "conductances", rec.conductances, "S")
    if rec.device_energy is not None:
        _write_matrix(g, "device_energy", rec.device_energy, "J")
    _dataset(g, "read_counts", rec.read_counts)
    if rec.neuron_energy is not None:
        _dataset(g, "neuron_energy", rec.neuron_energy, "J")
    _dataset(g, "row_input", rec.row_input)
    coo = rec.readout.tocoo()
    _dataset(g, "readout_col", coo.row.astype(np.int64))
    _dataset(g, "readout_neuron", coo.col.astype(np.int64))
    _dataset(g, "readout_gain", coo.data.astype(np.float64))
    g.attrs["readout_shape"] = np.asarray(rec.readout.shape, dtype=np.int64)
    g.attrs["mapping"] = rec.mapping
    g.attrs["device"] = rec.device
    g.attrs["mapping_report"] = json.dumps(rec.mapping_report, allow_nan=False)


def _write_spikes(parent: h5py.Group, name: str, rec: SpikeRecord, ranges: np.ndarray) -> None:
    g = parent.create_group(name)
    g.attrs["n_neurons"] = np.int64(rec.n_neurons)
    g.attrs["image_duration"] = np.float64(rec.image_duration)
    g.attrs["sorting"] = "by_time"
    _dataset(g, "times", rec.times, "s")
    _dataset(g, "indices", rec.indices.astype(np.int32))
    _dataset(g, "image_ranges", ranges)


def _write_metrics(parent: h5py.Group, metrics: dict[str, Any]) -> None:
    for key, value in metrics.items():
        if isinstance(value, int):
            data = np.asarray(value, dtype=np.int64)
        elif isinstance(value, float):
            data = np.asarray(value, dtype=np.float64)
        else:
            data = value
        _dataset(parent, key, data, _METRIC_UNITS.get(key))


def save(
    path: str | os.PathLike,
    *,
    config_text: str,
    weights_sha256: str,
    layers: list[LayerRecord],
    spikes: dict[str, SpikeRecord],
    metrics: dict,
    extra_attrs: dict | None = None,
) -> Path:
    """Write one run to an HDF5 file, atomically.

    Everything is checked before anything is written; the file is written under a temporary
    name in the same folder and renamed into place when complete. On any error the temporary
    file is removed and ``path`` is left as it was (an older file there stays untouched).

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its folder must exist. An existing file is replaced.
    config_text : str
        The run's full configuration as TOML text (must parse).
    weights_sha256 : str
        SHA-256 of the input weights file, 64 hex digits (see :func:`file_sha256`).
    layers : list of LayerRecord
        Crossbar layers in network order, unique names.
    spikes : dict of str to SpikeRecord
        Spikes per population (e.g. ``"input"``, ``"fc1"``); image ranges are computed from
        ``metrics["n_images"]`` and each record's image duration.
    metrics : dict
        Required: ``n_images``, ``snn_accuracy``, ``simulated_time`` (s), ``counts``
        ``(n_images, n_outputs)``, ``predictions`` and ``labels`` ``(n_images,)``. Standard
        optional: ``ann_accuracy``, ``total_device_energy`` (J), ``average_power_per_synapse``
        (W). Any other finite int or float, or numeric array, is stored too.
    extra_attrs : dict of str to str, optional
        More provenance (dataset name, git commit, host, ...), stored as root attributes.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    SnnRramError
        On bad input (naming the field), before anything is written, or when the folder does
        not exist.
    """
    path = Path(path)
    if not isinstance(config_text, str):
        raise SnnRramError(
            f"config_text: expected the run configuration as TOML text (str), got "
            f"{type(config_text).__name__}"
        )
    try:
        tomllib.loads(config_text)
    except tomllib.TOMLDecodeError as exc:
        raise SnnRramError(f"config_text: not valid TOML ({exc})") from exc
    if not isinstance(weights_sha256, str) or not _SHA_RE.match(weights_sha256.lower()):
        raise SnnRramError(
            f"weights_sha256: expected 64 hexadecimal digits (a SHA-256), got {weights_sha256!r}"
        )
    if not isinstance(layers, list | tuple):
        raise SnnRramError(f"layers: expected a list of LayerRecord, got {type(layers).__name__}")
    seen: set[str] = set()
    checked = []
    for i, rec in enumerate(layers):
        if not isinstance(rec, LayerRecord):
            raise SnnRramError(f"layers[{i}]: expected a LayerRecord, got {type(rec).__name__}")
        checked.append(dataclasses.replace(rec))  # checks again: arrays may have changed
        if rec.name in seen:
            raise SnnRramError(f"layers[{i}].name: duplicate layer name {rec.name!r}")
        seen.add(rec.name)
    layers = checked
    metrics = _check_metrics(metrics)
    if not isinstance(spikes, Mapping):
        raise SnnRramError(
            f"spikes: expected a dict of population name to SpikeRecord, got "
            f"{type(spikes).__name__}"
        )
    ranges = {}
    checked_spikes = {}
    for pop, rec in spikes.items():
        _check_name(pop, "spikes: population name")
        if not isinstance(rec, SpikeRecord):
            raise SnnRramError(
                f"spikes[{pop!r}]: expected a SpikeRecord, got {type(rec).__name__}"
            )
        try:
            rec = dataclasses.replace(rec)  # checks again: arrays may have changed
        except SnnRramError as exc:
            raise SnnRramError(f"spikes[{pop!r}]: {exc}") from None
        checked_spikes[pop] = rec
        try:
            r = rec.compute_image_ranges(metrics["n_images"])
        except SnnRramError as exc:
            raise SnnRramError(f"spikes[{pop!r}]: {exc}") from None
        if rec.image_ranges is not None and not np.array_equal(rec.image_ranges, r):
            raise SnnRramError(
                f"spikes[{pop!r}].image_ranges: disagree with the spike times and "
                f"n_images={metrics['n_images']}"
            )
        ranges[pop] = r
    spikes = checked_spikes
    extra = {} if extra_attrs is None else extra_attrs
    if not isinstance(extra, Mapping):
        raise SnnRramError(f"extra_attrs: expected a dict of str, got {type(extra).__name__}")
    for key, value in extra.items():
        _check_name(key, "extra_attrs: attribute name")
        if key in _RESERVED_ATTRS:
            raise SnnRramError(f"extra_attrs[{key!r}]: reserved attribute name")
        _check_str(value, f"extra_attrs[{key!r}]")
    folder = path.parent
    if not folder.is_dir():
        raise SnnRramError(f"path: folder {str(folder)!r} does not exist")
    if path.is_dir():
        raise SnnRramError(f"path: {str(path)!r} is a folder")

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        for key, value in _versions().items():
            f.attrs[key] = value
        f.attrs["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        f.attrs["config"] = config_text
        f.attrs["weights_sha256"] = weights_sha256.lower()
        for key, value in extra.items():
            f.attrs[key] = value
        g = f.create_group("layers", track_order=True)
        for rec in layers:
            _write_layer(g, rec)
        g = f.create_group("spikes", track_order=True)
        for pop, rec in spikes.items():
            _write_spikes(g, pop, rec, ranges[pop])
        _write_metrics(f.create_group("metrics", track_order=True), metrics)
        f.attrs["complete"] = True
    return path


# --------------------------------------------------------------------------------------------
# reading


def _attr_str(attrs, key: str) -> str:
    value = attrs[key]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


@contextlib.contextmanager
def _open(path):
    """Open a finished snn-rram result for reading, or raise :class:`SnnRramError`."""
    path = Path(path)
    if not path.exists():
        raise SnnRramError(f"path: no such file {str(path)!r}")
    if not path.is_file():
        raise SnnRramError(f"path: {str(path)!r} is not a file")
    not_ours = f"path: {str(path)!r} is not an snn-rram result file"
    try:
        ok = h5py.is_hdf5(path)
    except OSError:
        ok = False
    if not ok:
        raise SnnRramError(f"{not_ours} (not an HDF5 file)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise SnnRramError(f"{not_ours} (cannot be opened as HDF5: {exc})") from exc
    with f:
        version = f.attrs.get("schema_version")
        if version is None or not isinstance(version, numbers.Integral | np.integer):
            raise SnnRramError(f"{not_ours} (no schema_version attribute)")
        version = int(version)
        if version > SCHEMA_VERSION:
            raise SnnRramError(
                f"path: {str(path)!r} has schema_version {version}, newer than the "
                f"schema_version {SCHEMA_VERSION} this snn-rram reads; upgrade snn-rram to "
                "read it"
            )
        if version < 1:
            raise SnnRramError(f"{not_ours} (schema_version {version})")
        if not bool(f.attrs.get("complete", False)):
            raise SnnRramError(
                f"path: {str(path)!r} is an incomplete snn-rram result (the run that wrote it "
                "did not finish)"
            )
        try:
            yield f
        except (KeyError, OSError, ValueError, TypeError) as exc:
            if isinstance(exc, SnnRramError):
                raise
            raise SnnRramError(
                f"path: {str(path)!r} is a damaged snn-rram result file ({exc})"
            ) from exc


def _read_matrix(node):
    if isinstance(node, h5py.Group):
        shape = tuple(int(n) for n in node["shape"][()])
        return sp.csr_matrix(
            (node["data"][()], node["indices"][()], node["indptr"][()]), shape=shape
        )
    return node[()]


def _read_layer(name: str, g: h5py.Group) -> LayerRecord:
    shape = tuple(int(n) for n in g.attrs["readout_shape"])
    readout = sp.csr_matrix(
        (g["readout_gain"][()], (g["readout_col"][()], g["readout_neuron"][()])), shape=shape
    )
    return LayerRecord(
        name=name,
        conductances=_read_matrix(g["conductances"]),
        device_energy=_read_matrix(g["device_energy"]) if "device_energy" in g else None,
        read_counts=g["read_counts"][()],
        neuron_energy=g["neuron_energy"][()] if "neuron_energy" in g else None,
        row_input=g["row_input"][()],
        readout=readout,
        mapping=_attr_str(g.attrs, "mapping"),
        device=_attr_str(g.attrs, "device"),
        mapping_report=json.loads(_attr_str(g.attrs, "mapping_report")),
    )


def _read_spikes(g: h5py.Group) -> SpikeRecord:
    return SpikeRecord(
        times=g["times"][()],
        indices=g["indices"][()],
        n_neurons=int(g.attrs["n_neurons"]),
        image_duration=float(g.attrs["image_duration"]),
        image_ranges=g["image_ranges"][()],
    )


def _read_metric(ds: h5py.Dataset):
    value = ds[()]
    if ds.shape == ():
        return value.item()
    return value


def load(path: str | os.PathLike) -> RunResult:
    """Read a result file written by :func:`save`.

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
        If the file is missing, is not HDF5 or not an snn-rram result, is incomplete or
        damaged, or was written with a newer schema than this snn-rram reads.
    """
    path = Path(path)
    with _open(path) as f:
        attrs = f.attrs
        config = _attr_str(attrs, "config")
        try:
            config_dict = tomllib.loads(config)
        except tomllib.TOMLDecodeError as exc:
            raise SnnRramError(f"path: {str(path)!r}: stored config is not TOML ({exc})") from exc
        extra = {k: _attr_str(attrs, k) for k in attrs if k not in _RESERVED_ATTRS}
        return RunResult(
            path=path,
            schema_version=int(attrs["schema_version"]),
            snn_rram_version=_attr_str(attrs, "snn_rram_version"),
            brian2_version=_attr_str(attrs, "brian2_version"),
            numpy_version=_attr_str(attrs, "numpy_version"),
            h5py_version=_attr_str(attrs, "h5py_version"),
            hdf5_version=_attr_str(attrs, "hdf5_version"),
            created=_attr_str(attrs, "created"),
            config=config,
            config_dict=config_dict,
            weights_sha256=_attr_str(attrs, "weights_sha256"),
            extra_attrs=extra,
            layers={name: _read_layer(name, g) for name, g in f["layers"].items()},
            spikes={name: _read_spikes(g) for name, g in f["spikes"].items()},
            metrics={name: _read_metric(ds) for name, ds in f["metrics"].items()},
        )


def is_complete(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a finished snn-rram result file.

    True when the file exists, is not a temporary file of :func:`save`
    (``.<name>.<random>.tmp``), opens as HDF5, has a ``schema_version`` attribute and the
    ``complete = True`` attribute :func:`save` writes last. Never raises.

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


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _matrix_info(node) -> str:
    if isinstance(node, h5py.Group):
        shape = tuple(int(n) for n in node["shape"][()])
        return f"{shape[0]} x {shape[1]} sparse ({node['data'].shape[0]} devices)"
    return f"{node.shape[0]} x {node.shape[1]} dense"


def _matrix_sum(node) -> float:
    data = node["data"] if isinstance(node, h5py.Group) else node
    return float(np.sum(data[()]))


def summary(path: str | os.PathLike, *, config_lines: int = 15) -> str:
    """A human-readable description of a result file (what ``snn-rram info`` prints).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    config_lines : int
        How many lines of the configuration to show.

    Returns
    -------
    str
        Several lines: versions and provenance, a configuration excerpt, each layer's shape,
        mapping, device and energy, the spike populations and the metrics.

    Raises
    ------
    SnnRramError
        As :func:`load`.
    """
    config_lines = _as_int(config_lines, "config_lines", minimum=0)
    path = Path(path)
    out = []
    with _open(path) as f:
        a = f.attrs
        out.append(f"snn-rram result {path}")
        out.append(f"  schema {int(a['schema_version'])}, created {_attr_str(a, 'created')}")
        out.append(
            f"  snn-rram {_attr_str(a, 'snn_rram_version')}, "
            f"Brian2 {_attr_str(a, 'brian2_version')}, numpy {_attr_str(a, 'numpy_version')}, "
            f"h5py {_attr_str(a, 'h5py_version')} (HDF5 {_attr_str(a, 'hdf5_version')})"
        )
        out.append(f"  weights sha256 {_attr_str(a, 'weights_sha256')}")
        for key in a:
            if key not in _RESERVED_ATTRS:
                out.append(f"  {key}: {_attr_str(a, key)}")
        lines = _attr_str(a, "config").splitlines()
        shown = lines[:config_lines]
        more = f", first {len(shown)} shown" if len(shown) < len(lines) else ""
        out.append(f"config ({len(lines)} lines{more}):")
        out.extend(f"  | {line}" for line in shown)

        out.append(f"layers ({len(f['layers'])}):")
        total = 0.0
        for name, g in f["layers"].items():
            shape = _matrix_info(g["conductances"])
            n_neurons = int(g.attrs["readout_shape"][1])
            out.append(
                f"  {name}: {shape} -> {n_neurons} neurons, "
                f"mapping {_attr_str(g.attrs, 'mapping')}, device {_attr_str(g.attrs, 'device')}"
            )
            parts = []
            if "device_energy" in g:
                e = _matrix_sum(g["device_energy"])
                total += e
                parts.append(f"device energy {e:.6g} J")
            else:
                parts.append("no device energy")
            if "neuron_energy" in g:
                parts.append(f"neuron energy {float(np.sum(g['neuron_energy'][()])):.6g} J")
            parts.append(f"{int(np.sum(g['read_counts'][()]))} row reads")
            out.append("    " + ", ".join(parts))
            report = json.loads(_attr_str(g.attrs, "mapping_report"))
            if report:
                text = ", ".join(f"{k}={v!r}" for k, v in report.items())
                out.append(f"    report: {text[:300] + ' ...' if len(text) > 300 else text}")
        if all("device_energy" in g for g in f["layers"].values()) and len(f["layers"]) > 1:
            out.append(f"  all layers: device energy {total:.6g} J")

        out.append(f"spikes ({len(f['spikes'])} populations):")
        for name, g in f["spikes"].items():
            out.append(
                f"  {name}: {int(g.attrs['n_neurons'])} neurons, {g['times'].shape[0]} spikes "
                f"over {g['image_ranges'].shape[0]} images of "
                f"{float(g.attrs['image_duration']):.6g} s"
            )
        out.append("metrics:")
        for name, ds in f["metrics"].items():
            units = ds.attrs.get("units")
            units = f" {_attr_str(ds.attrs, 'units')}" if units is not None else ""
            if ds.shape == ():
                out.append(f"  {name} = {_fmt(ds[()].item())}{units}")
            else:
                out.append(f"  {name}: {ds.dtype} array {ds.shape}")
    return "\n".join(out)
