"""The text summary of a result file (``snn-rram info``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from snn_rram.results.reader import load
from snn_rram.results.records import _METRIC_UNITS, _as_int

__all__ = ["summary"]


def _fmt(x) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _matrix_info(m) -> str:
    if sp.issparse(m):
        return f"{m.shape[0]} x {m.shape[1]} sparse ({m.nnz} devices)"
    return f"{m.shape[0]} x {m.shape[1]} dense"


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
    rec = load(path)  # checks the whole file first: a damaged one is an error, not a traceback
    out = [f"snn-rram result {Path(path)}"]
    out.append(f"  schema {rec.schema_version}, created {rec.created}, mode {rec.mode}")
    out.append(
        f"  snn-rram {rec.snn_rram_version}, Brian2 {rec.brian2_version}, numpy "
        f"{rec.numpy_version}, h5py {rec.h5py_version} (HDF5 {rec.hdf5_version})"
    )
    out.append(f"  weights sha256 {rec.weights_sha256}")
    if rec.device_card is not None:
        out.append(f"  device card sha256 {rec.device_card_sha256} (card stored in the file)")
    for key, value in rec.extra_attrs.items():
        out.append(f"  {key}: {value}")
    lines = rec.config.splitlines()
    shown = lines[:config_lines]
    more = f", first {len(shown)} shown" if len(shown) < len(lines) else ""
    out.append(f"config ({len(lines)} lines{more}):")
    out.extend(f"  | {line}" for line in shown)

    out.append(f"layers ({len(rec.layers)}):")
    for name, layer in rec.layers.items():
        out.append(
            f"  {name}: {_matrix_info(layer.conductances)} -> {layer.n_neurons} neurons, "
            f"mapping {layer.mapping}, device {layer.device}"
        )
        parts = []
        if layer.has_energy:
            parts.append(f"device energy {layer.total_device_energy:.6g} J")
        else:
            parts.append("no device energy")
        if layer.neuron_energy is not None:
            parts.append(f"neuron energy {layer.total_neuron_energy:.6g} J")
        parts.append(f"{int(np.sum(layer.read_counts))} row reads")
        if rec.mode == "analog":
            parts[-1] += " at a non-zero voltage"
        out.append("    " + ", ".join(parts))
        if layer.mapping_report:
            text = ", ".join(f"{k}={v!r}" for k, v in layer.mapping_report.items())
            out.append(f"    report: {text[:300] + ' ...' if len(text) > 300 else text}")
    layers = list(rec.layers.values())
    if len(layers) > 1 and all(layer.has_energy for layer in layers):
        total = sum(layer.total_device_energy for layer in layers)
        out.append(f"  all layers: device energy {total:.6g} J")

    none = ": an analog run has none" if rec.mode == "analog" and not rec.spikes else ""
    out.append(f"spikes ({len(rec.spikes)} populations{none}):")
    for name, s in rec.spikes.items():
        out.append(
            f"  {name}: {s.n_neurons} neurons, {s.n_spikes} spikes over "
            f"{s.image_ranges.shape[0]} images of {s.image_duration:.6g} s"
        )
    out.append("metrics:")
    for name, value in rec.metrics.items():
        units = f" {_METRIC_UNITS[name]}" if name in _METRIC_UNITS else ""
        if isinstance(value, np.ndarray):
            out.append(f"  {name}: {value.dtype} array {value.shape}")
        else:
            out.append(f"  {name} = {_fmt(value)}{units}")
    return "\n".join(out)
