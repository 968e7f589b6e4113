"""HDF5 files of on-array training results (:class:`~snn_rram.training.OnArrayResult`).

Layout (``kind = "on_array_training"``, ``schema_version = 1``)::

    /                 attrs: kind, schema_version, created, snn_rram/numpy/h5py versions,
                      config (JSON of OnArrayConfig), programming (JSON of the device's
                      [programming] table, "" for float), seed, sizes, data (free text);
                      dataset (a snn_rram.datasets name) and configuration (the study's
                      name of the run's configuration), "" when not given (both absent in
                      files written before they existed: read_provenance gives None)
    /train_accuracy, /test_accuracy   per epoch, index 0 before training
    /energy (J), /seconds (s)         per epoch
    /pulses/<role>, /resets/<role>, /refreshes/<role>   per epoch (roles: main, big, small)
    /reads/<role>, /read_energy (J)   array reads of read-before-write updates, per epoch
                      (absent in files written before they existed: read as none)
    /layers/<i>       attrs: gain (weight per siemens); datasets: weights,
                      conductances/<role> (2, fan_in + 1, fan_out) in S

Written atomically (a reader never sees half a file). The file's kind, version and layers are
read by :mod:`snn_rram.mapping.trained` (the ``trained`` mapping reads these files too; the
mapping layer may not import training).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path

import h5py
import numpy as np

from snn_rram._io import atomic_write
from snn_rram.errors import SnnRramError
from snn_rram.mapping.trained import (
    TRAINING_KIND,
    TRAINING_SCHEMA_VERSION,
    open_training_file,
    read_layers,
)
from snn_rram.training.on_array import OnArrayConfig, OnArrayResult

__all__ = ["load_on_array", "read_provenance", "save_on_array"]

_COUNTS = ("pulses", "resets", "refreshes", "reads")


def save_on_array(
    result: OnArrayResult,
    path: str | os.PathLike,
    *,
    data: str = "",
    dataset: str = "",
    configuration: str = "",
) -> Path:
    """Write ``result`` to the HDF5 file ``path`` (replaced atomically).

    Parameters
    ----------
    result : OnArrayResult
    path : str or os.PathLike
        Target file; its folder must exist.
    data : str
        What it was trained on (provenance), e.g. ``"mnist_5k, 500 train / 1000 test"``.
    dataset : str
        The data set's name (:func:`snn_rram.datasets.load`), e.g. ``"fashion_mnist"``: what
        ``snn-rram report`` groups the runs of a study by.
    configuration : str
        The run's name in its study, e.g. ``"hybrid_magnitude"`` (a study may run one
        synapse configuration in several readings).

    Returns
    -------
    pathlib.Path
    """
    import snn_rram

    if not isinstance(result, OnArrayResult):
        raise SnnRramError(f"result: expected an OnArrayResult, got {type(result).__name__}")
    for name, value in (("data", data), ("dataset", dataset), ("configuration", configuration)):
        if not isinstance(value, str):
            raise SnnRramError(f"{name}: expected a string, got {value!r}")
    path = Path(path)
    config = dataclasses.asdict(result.config)
    with atomic_write(path) as fh, h5py.File(fh, "w") as f:
        a = f.attrs
        a["kind"] = TRAINING_KIND
        a["schema_version"] = np.int64(TRAINING_SCHEMA_VERSION)
        a["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        a["snn_rram_version"] = snn_rram.__version__
        a["numpy_version"] = np.__version__
        a["h5py_version"] = h5py.__version__
        a["config"] = json.dumps(config)
        a["programming"] = "" if result.programming is None else json.dumps(result.programming)
        a["seed"] = np.int64(result.seed)
        a["sizes"] = np.asarray(result.sizes, dtype=np.int64)
        a["data"] = data
        a["dataset"] = dataset
        a["configuration"] = configuration
        for name in ("train_accuracy", "test_accuracy", "energy", "seconds", "read_energy"):
            f.create_dataset(name, data=np.asarray(getattr(result, name), dtype=np.float64))
        for what in _COUNTS:
            g = f.create_group(what)
            for role, values in getattr(result, what).items():
                g.create_dataset(role, data=np.asarray(values, dtype=np.int64))
        layers = f.create_group("layers", track_order=True)
        for i, W in enumerate(result.weights):
            g = layers.create_group(str(i))
            g.attrs["gain"] = float(result.gains[i])
            g.create_dataset("weights", data=W, compression="gzip")
            c = g.create_group("conductances")
            for role, G in result.conductances[i].items():
                c.create_dataset(role, data=G, compression="gzip")
    return path


def load_on_array(path: str | os.PathLike) -> OnArrayResult:
    """Read a file written by :func:`save_on_array`.

    Raises
    ------
    SnnRramError
        Missing or unreadable file, not an on-array training file, another schema version, or
        a damaged file (the missing part named).
    """
    path = Path(path)
    with open_training_file(path, "path") as f:
        try:
            config = json.loads(f.attrs["config"])
            if isinstance(config.get("w_max"), list):
                config["w_max"] = tuple(config["w_max"])
            programming = f.attrs["programming"]
            counts = {
                what: {role: f[what][role][()] for role in f[what]}
                for what in _COUNTS
                if what != "reads" or what in f
            }
            epochs = f["energy"].shape[0]
            if "reads" not in counts:  # written before reads were recorded: none made
                counts["reads"] = {r: np.zeros(epochs, np.int64) for r in counts["pulses"]}
            layers = read_layers(f)
            return OnArrayResult(
                config=OnArrayConfig(**config),
                sizes=tuple(int(s) for s in f.attrs["sizes"]),
                train_accuracy=f["train_accuracy"][()],
                test_accuracy=f["test_accuracy"][()],
                **counts,
                energy=f["energy"][()],
                weights=[layer.weights for layer in layers],
                conductances=[layer.conductances for layer in layers],
                gains=[layer.gain for layer in layers],
                seconds=f["seconds"][()],
                seed=int(f.attrs["seed"]),
                programming=json.loads(programming) if programming else None,
                read_energy=f["read_energy"][()] if "read_energy" in f else np.zeros(epochs),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SnnRramError(f"path: {str(path)!r} is damaged: {exc}") from None


#: The provenance attributes :func:`read_provenance` returns.
PROVENANCE = ("data", "dataset", "configuration", "created")


def read_provenance(path: str | os.PathLike) -> dict[str, str | None]:
    """The provenance strings of a file written by :func:`save_on_array`.

    Returns
    -------
    dict
        ``data``, ``dataset``, ``configuration`` and ``created``; ``None`` for an attribute the
        file does not have (``dataset`` and ``configuration`` in files written before they
        existed), ``""`` for one saved empty.

    Raises
    ------
    SnnRramError
        As :func:`load_on_array` for a file that is not an on-array training file.
    """
    path = Path(path)
    with open_training_file(path, "path") as f:
        out = {}
        for name in PROVENANCE:
            value = f.attrs.get(name)
            out[name] = None if value is None else str(value)
        return out
