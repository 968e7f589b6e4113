"""The records of a result file and the checks every value passes (on save and on load)."""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from snn_rram._layer_energy import LayerEnergy
from snn_rram._validation import as_array, as_scalar
from snn_rram.errors import SnnRramError

__all__ = [
    "MODES",
    "SCHEMA_VERSION",
    "LayerRecord",
    "RunResult",
    "SpikeRecord",
    "check_consistency",
    "check_metrics",
    "check_mode",
]

#: Version of the file layout written by :func:`save`; bump it with every incompatible change.
#: Version 2 added the device card (``device_card``, ``device_card_sha256``); version 3 the
#: ``mode`` attribute and the results of analog runs (which have no spikes and other metrics).
SCHEMA_VERSION = 3

#: How a run realised the network (root attribute ``mode``): ``"spiking"`` (Brian2, the
#: simulator's own mode; files before version 3 are all spiking) or ``"analog"`` (amplitude-coded
#: inference on the same crossbars, :class:`snn_rram.analog.AnalogNetwork`).
MODES = ("spiking", "analog")

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
    "device_card",
    "device_card_sha256",
    "mode",
)

#: The metrics every result of a mode holds, and the accuracy its predictions give.
_REQUIRED_METRICS = {
    "spiking": ("n_images", "snn_accuracy", "simulated_time", "counts", "predictions", "labels"),
    "analog": ("n_images", "analog_accuracy", "outputs", "predictions", "labels"),
}
_ACCURACY = {"spiking": "snn_accuracy", "analog": "analog_accuracy"}
#: Per image and output: spike counts (integers) or sensed outputs (real numbers).
_OUTPUTS = {"spiking": "counts", "analog": "outputs"}
_METRIC_UNITS = {
    "simulated_time": "s",
    "total_device_energy": "J",
    "average_power_per_synapse": "W",
    "energy_per_inference": "J",
    "device_energy_per_image": "J",
}

#: Relative tolerance (of the image duration) for assigning a spike to the next image.
_BOUNDARY_TOL = 1e-9

SHA_RE = re.compile(r"^[0-9a-f]{64}$")
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
class LayerRecord(LayerEnergy):
    """One crossbar layer as stored in a result file.

    ``total_device_energy`` and ``total_neuron_energy`` (J) are those of
    :class:`snn_rram._layer_energy.LayerEnergy`, shared with :class:`snn_rram.snn.LayerResult`
    (an error when the run had energy accounting off).

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
            E = _as_matrix(E, f"{f}.device_energy", "joule", nonnegative=True)
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
            NE = as_array(NE, f"{f}.neuron_energy", "joule", shape=(n_cols,), nonnegative=True)
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
    device_card : str or None
        The TOML text of the device card the run used (``None`` for a version 1 file or a
        writer that did not give it).
    device_card_sha256 : str or None
        SHA-256 of the card's bytes (hex).
    extra_attrs : dict of str to str
        The other provenance strings the writer gave.
    layers : dict of str to LayerRecord
        Crossbar layers in network order; sparse matrices as :class:`scipy.sparse.csr_matrix`.
    spikes : dict of str to SpikeRecord
        Spikes per population, with their image ranges (``spikes[p].image(k)``).
    metrics : dict
        Scalars as Python ``int`` / ``float``, arrays as numpy arrays (``counts``,
        ``predictions``, ``labels``, ...).
    mode : str
        ``"spiking"`` or ``"analog"`` (:data:`MODES`; ``"spiking"`` for files before schema
        version 3).
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
    device_card: str | None
    device_card_sha256: str | None
    extra_attrs: dict[str, str]
    layers: dict[str, LayerRecord]
    spikes: dict[str, SpikeRecord]
    metrics: dict[str, Any]
    mode: str = "spiking"

    @property
    def accuracy(self) -> float:
        """The accuracy of the run's realisation: ``snn_accuracy`` or ``analog_accuracy``."""
        return float(self.metrics[_ACCURACY[self.mode]])

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


def check_mode(mode, field_name: str = "mode") -> str:
    """``mode`` if it is one of :data:`MODES`."""
    if not isinstance(mode, str) or mode not in MODES:
        raise SnnRramError(
            f"{field_name}: expected one of {', '.join(map(repr, MODES))}, got {mode!r}"
        )
    return mode


def check_metrics(metrics, mode: str = "spiking") -> dict[str, Any]:
    """Normalised metrics of a run of ``mode``: Python scalars, int64 / float64 arrays.

    A spiking run needs ``n_images``, ``snn_accuracy``, ``simulated_time``, ``counts``,
    ``predictions`` and ``labels``; an analog run ``n_images``, ``analog_accuracy``,
    ``outputs`` (sensed outputs per image, float), ``predictions`` and ``labels``. The
    accuracy must be the fraction of ``predictions == labels``.
    """
    mode = check_mode(mode)
    if not isinstance(metrics, Mapping):
        raise SnnRramError(f"metrics: expected a dict, got {type(metrics).__name__}")
    missing = [k for k in _REQUIRED_METRICS[mode] if k not in metrics]
    if missing:
        raise SnnRramError(
            f"metrics: missing required metric(s) {', '.join(missing)} (of a {mode} run)"
        )
    outputs, accuracy = _OUTPUTS[mode], _ACCURACY[mode]
    out: dict[str, Any] = {}
    n = _as_int(metrics["n_images"], "metrics['n_images']", minimum=0)
    for key, value in metrics.items():
        _check_name(key, "metrics: metric name")
        f = f"metrics[{key!r}]"
        if key == "n_images":
            out[key] = n
        elif key in ("counts", "predictions", "labels") or key == outputs:
            ndim = 2 if key == outputs else 1
            if key == "outputs" and mode == "analog":
                x = as_array(value, f, ndim=2)
            else:
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
    for key in ("snn_accuracy", "analog_accuracy", "ann_accuracy", "quantized_accuracy"):
        if key in out and not (isinstance(out[key], int | float) and 0.0 <= out[key] <= 1.0):
            raise SnnRramError(
                f"metrics[{key!r}]: expected a fraction in [0, 1], got {out[key]!r}"
            )
    for key in (
        "simulated_time",
        "total_device_energy",
        "average_power_per_synapse",
        "energy_per_inference",
    ):
        if key in out and not (isinstance(out[key], int | float) and out[key] >= 0):
            raise SnnRramError(
                f"metrics[{key!r}]: expected a number >= 0 {_METRIC_UNITS[key]}, got {out[key]!r}"
            )
    if "device_energy_per_image" in out:
        e = out["device_energy_per_image"]
        if e.ndim != 2 or e.shape[0] != n or (e.size and e.min() < 0):
            raise SnnRramError(
                f"metrics['device_energy_per_image']: expected energies >= 0 J of shape "
                f"({n}, n_layers), got shape {e.shape}"
            )
    if out["predictions"].shape != (n,) or out["labels"].shape != (n,):
        raise SnnRramError("metrics['predictions'], metrics['labels']: expected shape (n_images,)")
    n_outputs = out[outputs].shape[1]
    pred = out["predictions"]
    if pred.size and (pred.min() < 0 or pred.max() >= n_outputs):
        raise SnnRramError(
            f"metrics['predictions']: expected classes in 0..{n_outputs - 1} (one per column of "
            f"{outputs}), got values in {pred.min()}..{pred.max()}"
        )
    if out["labels"].size and out["labels"].min() < 0:
        raise SnnRramError(f"metrics['labels']: expected classes >= 0, got {out['labels'].min()}")
    if n:
        acc = float(np.mean(pred == out["labels"]))
        if abs(out[accuracy] - acc) > 1e-9:
            raise SnnRramError(
                f"metrics[{accuracy!r}]: {out[accuracy]!r} disagrees with predictions "
                f"and labels (which give {acc!r})"
            )
    return out


def check_consistency(layers, spikes, metrics) -> None:
    """Cross-checks between the parts of a run (on save and on load).

    - a population named like a layer has that layer's number of neurons;
    - every population's image duration times ``n_images`` is ``simulated_time``;
    - ``total_device_energy``, when given, is the sum of the layers' device energies (every
      layer must have them; relative tolerance 1e-6).

    Parameters
    ----------
    layers : list of LayerRecord
    spikes : dict of str to SpikeRecord
    metrics : dict
        As returned by :func:`check_metrics`.
    """
    by_name = {rec.name: rec for rec in layers}
    for pop, rec in spikes.items():
        layer = by_name.get(pop)
        if layer is not None and rec.n_neurons != layer.n_neurons:
            raise SnnRramError(
                f"spikes[{pop!r}].n_neurons: {rec.n_neurons}, but layer {pop!r} has "
                f"{layer.n_neurons} neurons"
            )
        t = metrics["n_images"] * rec.image_duration
        if not math.isclose(t, metrics["simulated_time"], rel_tol=1e-9, abs_tol=1e-15):
            raise SnnRramError(
                f"metrics['simulated_time']: {metrics['simulated_time']!r} s, but "
                f"n_images × spikes[{pop!r}].image_duration = {t!r} s"
            )
    total = metrics.get("total_device_energy")
    missing = [rec.name for rec in layers if not rec.has_energy]
    if total is not None and missing:
        raise SnnRramError(
            f"metrics['total_device_energy']: given, but layer(s) {missing} have no device "
            "energies to add up"
        )
    if total is not None and layers:
        got = sum(rec.total_device_energy for rec in layers)
        if not math.isclose(total, got, rel_tol=1e-6, abs_tol=1e-300):
            raise SnnRramError(
                f"metrics['total_device_energy']: {total!r} J, but the layers' device energies "
                f"add up to {got!r} J"
            )
