"""Writing a run to an HDF5 result file."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.sparse as sp

from snn_rram._io import atomic_write
from snn_rram.errors import SnnRramError
from snn_rram.results.records import (
    _COMPRESSION,
    _METRIC_UNITS,
    _RESERVED_ATTRS,
    SCHEMA_VERSION,
    SHA_RE,
    LayerRecord,
    SpikeRecord,
    _check_name,
    _check_str,
    check_consistency,
    check_metrics,
    check_mode,
)

__all__ = ["save"]

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


def _check_toml(text, field: str, what: str) -> None:
    if not isinstance(text, str):
        raise SnnRramError(
            f"{field}: expected {what} as TOML text (str), got {type(text).__name__}"
        )
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SnnRramError(f"{field}: not valid TOML ({exc})") from exc


def save(
    path: str | os.PathLike,
    *,
    config_text: str,
    weights_sha256: str,
    layers: list[LayerRecord],
    spikes: dict[str, SpikeRecord],
    metrics: dict,
    extra_attrs: dict | None = None,
    device_card: str | None = None,
    mode: str = "spiking",
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
        ``metrics["n_images"]`` and each record's image duration. Empty for an analog run.
    metrics : dict
        Required for a spiking run: ``n_images``, ``snn_accuracy``, ``simulated_time`` (s),
        ``counts`` ``(n_images, n_outputs)``, ``predictions`` and ``labels`` ``(n_images,)``;
        for an analog run ``n_images``, ``analog_accuracy``, ``outputs`` (float
        ``(n_images, n_outputs)``), ``predictions`` and ``labels``. Standard optional:
        ``ann_accuracy``, ``total_device_energy`` (J), ``average_power_per_synapse`` (W),
        ``energy_per_inference`` (J). Any other finite int or float, or numeric array, is
        stored too.
    extra_attrs : dict of str to str, optional
        More provenance (dataset name, git commit, host, ...), stored as root attributes.
    device_card : str, optional
        The TOML text of the device card the run used, as read from its file: stored with its
        SHA-256 (of the UTF-8 bytes, the file's hash) so the run can be repeated after the card
        file changed.

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
    _check_toml(config_text, "config_text", "the run configuration")
    if not isinstance(weights_sha256, str) or not SHA_RE.match(weights_sha256.lower()):
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
    mode = check_mode(mode)
    metrics = check_metrics(metrics, mode)
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
    check_consistency(layers, spikes, metrics)
    if device_card is not None:
        _check_toml(device_card, "device_card", "the device card")
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

    with atomic_write(path) as fh, h5py.File(fh, "w") as f:
        f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
        for key, value in _versions().items():
            f.attrs[key] = value
        f.attrs["mode"] = mode
        f.attrs["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        f.attrs["config"] = config_text
        f.attrs["weights_sha256"] = weights_sha256.lower()
        if device_card is not None:
            f.attrs["device_card"] = device_card
            f.attrs["device_card_sha256"] = hashlib.sha256(device_card.encode()).hexdigest()
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
