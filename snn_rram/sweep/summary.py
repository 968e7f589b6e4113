"""The summary table of a sweep: CSV and HDF5, written atomically; loaded as a DataFrame."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from snn_rram._io import atomic_write
from snn_rram.errors import SnnRramError

__all__ = ["load", "write_summary"]


def _frame(rows):
    import pandas as pd

    # no row yet (a sweep that starts with nothing to resume): the table still has its header
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["key", "status", "file"])
    for col in frame.columns:  # axes may mix types (e.g. labels); keep them readable
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: "" if v is None else v)
    return frame


def _text(value) -> str:
    """A text cell of the HDF5 summary: missing values (None, NaN, pandas NA) become ""."""
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def write_summary(spec, rows):
    """Write ``summary.csv`` and ``summary.h5`` for ``rows``; returns the DataFrame."""
    frame = _frame(rows)
    directory = Path(spec.directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_write(directory / "summary.csv", "w") as fh:
        frame.to_csv(fh, index=False)
    with atomic_write(directory / "summary.h5") as fh:
        with h5py.File(fh, "w") as f:
            f.attrs["sweep"] = spec.name
            f.attrs["base_config"] = spec.base.to_toml()
            f.attrs["columns"] = [str(c) for c in frame.columns]
            for col in frame.columns:
                values = frame[col].to_numpy()
                if values.dtype.kind in "biuf":
                    f.create_dataset(col, data=values)
                else:  # text; a value missing in this row (e.g. `error` of a done point) is ""
                    f.create_dataset(
                        col,
                        data=np.array([_text(v) for v in values], dtype=object),
                        dtype=h5py.string_dtype(),
                    )
    return frame


def load(path: str | os.PathLike):
    """A sweep summary (``summary.csv``, ``summary.h5`` or their folder) as a DataFrame."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        path = path / "summary.h5"
    if not path.exists():
        raise SnnRramError(f"sweep summary: {str(path)!r} not found")
    if path.suffix == ".csv":
        return pd.read_csv(path)
    try:
        with h5py.File(path, "r") as f:
            data = {}
            columns = [str(c) for c in f.attrs.get("columns", list(f))]
            for col in columns:
                v = f[col][()]
                if v.dtype.kind == "O":
                    v = np.array([x.decode() if isinstance(x, bytes) else x for x in v])
                data[col] = v
    except OSError as exc:
        raise SnnRramError(f"sweep summary: {str(path)!r} is not an HDF5 file") from exc
    return pd.DataFrame(data)
