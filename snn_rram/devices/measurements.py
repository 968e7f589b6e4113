"""Measured device data as CSV files, and a device card fitted to them (``snn-rram fit``).

Two layouts, UTF-8 text with a header row, comma-separated, SI units, ``#`` comment lines
allowed:

I–V curves (``IV.csv``)
    A column ``V`` (volts) and one column of currents (amperes) per programmed state, any
    names: one row per read voltage::

        V,state_1,state_2,state_3
        -0.3,-1.71e-06,-3.52e-06,-6.90e-06
        ...

Potentiation levels (``LEVELS.csv``)
    Columns ``pulses`` (number of potentiation pulses applied before the read) and ``G``
    (siemens), one row per measurement; repeated pulse counts (several cycles) are allowed::

        pulses,G
        0,1.02e-06
        1,2.11e-06
        ...
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rram.devices.device import Device
from snn_rram.devices.fitting import IVFit, LevelsFit, fit_iv, fit_levels
from snn_rram.devices.levels import MeasuredLevels
from snn_rram.errors import SnnRramError

__all__ = ["MAX_CSV_BYTES", "CardFit", "fit_card", "read_iv_csv", "read_levels_csv"]

#: Largest measurement file read, bytes.
MAX_CSV_BYTES = 64 << 20


def _read_table(path: str | os.PathLike, what: str) -> tuple[list[str], np.ndarray]:
    """Header names and the numbers (rows × columns) of a CSV file."""
    path = Path(path)
    where = f"{what} {str(path)!r}"
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise SnnRramError(f"{where}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_CSV_BYTES:
        raise SnnRramError(f"{where}: larger than {MAX_CSV_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SnnRramError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if len(lines) < 2:
        raise SnnRramError(f"{where}: expected a header row and data rows")
    header = [h.strip() for h in lines[0][1].split(",")]
    rows = []
    for n, line in lines[1:]:
        cells = line.split(",")
        if len(cells) != len(header):
            raise SnnRramError(
                f"{where}, line {n}: {len(cells)} values, the header has {len(header)}"
            )
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            raise SnnRramError(f"{where}, line {n}: not a number in {line.strip()!r}") from None
    data = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(data).all():
        raise SnnRramError(f"{where}: NaN or infinite values")
    return header, data


def read_iv_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read measured I–V curves (layout in the module documentation).

    Returns
    -------
    V : numpy.ndarray, shape (n_points,)
        Read voltages, V.
    I : numpy.ndarray, shape (n_states, n_points)
        Currents of each programmed state, A.
    names : list of str
        The states' column names.
    """
    header, data = _read_table(path, "I–V file")
    if header[0] != "V" or len(header) < 2:
        raise SnnRramError(
            f"I–V file {str(path)!r}: expected the header 'V,<state>,<state>,…' (a column V in "
            f"volts, then one column of currents in amperes per state), got {','.join(header)!r}"
        )
    return data[:, 0], data[:, 1:].T.copy(), header[1:]


def read_levels_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a potentiation measurement (layout in the module documentation): pulses, G (S)."""
    header, data = _read_table(path, "levels file")
    if header != ["pulses", "G"]:
        raise SnnRramError(
            f"levels file {str(path)!r}: expected the header 'pulses,G' (pulse counts, "
            f"conductances in siemens), got {','.join(header)!r}"
        )
    return data[:, 0], data[:, 1]


@dataclass(frozen=True, eq=False)
class CardFit:
    """A device card fitted to measurements (:func:`fit_card`).

    Attributes
    ----------
    device : Device
        The card.
    iv : IVFit
        The read-model fit (quality ``r2``, ``rms`` in A; ``G`` per measured state, S).
    levels : LevelsFit or None
        The potentiation fit, when a levels file was given.
    V, I : numpy.ndarray
        The measured I–V data (V; A, one row per state).
    pulses, G : numpy.ndarray or None
        The measured potentiation data (pulse counts; S), when a levels file was given.
    """

    device: Device
    iv: IVFit
    levels: LevelsFit | None
    V: np.ndarray
    I: np.ndarray
    pulses: np.ndarray | None = None
    G: np.ndarray | None = None


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def fit_card(
    iv_path: str | os.PathLike,
    levels_path: str | os.PathLike | None = None,
    *,
    model: str = "sinh",
    name: str = "fitted",
) -> CardFit:
    """A device card fitted to measured I–V curves and, optionally, a potentiation curve.

    The read model is fitted to every I–V curve (:func:`~snn_rram.devices.fitting.fit_iv`);
    the levels are the potentiation curve fitted to ``levels_path``
    (:func:`~snn_rram.devices.fitting.fit_levels`), else the fitted conductances of the
    measured states (``measured`` levels). The card's ``source`` names the files and their
    SHA-256; the variation is the default (none).
    """
    V, I, names = read_iv_csv(iv_path)
    iv = fit_iv(V, I, model)
    lv = pulses = G = None
    sources = [f"I–V curves {Path(iv_path).name} (sha256 {_sha(iv_path)}…, states {names})"]
    if levels_path is not None:
        pulses, G = read_levels_csv(levels_path)
        lv = fit_levels(pulses, G)
        levels = lv.levels
        sources.append(f"potentiation {Path(levels_path).name} (sha256 {_sha(levels_path)}…)")
    else:
        if np.unique(iv.G).size != iv.G.size:
            raise SnnRramError(
                f"I–V file {str(iv_path)!r}: two states fit the same conductance; give the "
                "levels with a levels file"
            )
        levels = MeasuredLevels(iv.G)
    device = Device(
        name=name,
        read_model=iv.model,
        levels=levels,
        source="fitted by snn-rram fit to " + "; ".join(sources),
        description=f"Fitted to measurements: {model} read model (R² {iv.r2:.4f})",
    )
    return CardFit(device, iv, lv, V, np.atleast_2d(I), pulses, G)
