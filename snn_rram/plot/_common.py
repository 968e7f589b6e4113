"""Helpers shared by the figure functions: axes, SI prefixes, units, input checks.

Prefixes come from matplotlib's engineering notation (:class:`matplotlib.ticker.EngFormatter`)
and prefixed unit names are parsed by pint (:mod:`snn_rram._units`): no prefix table here.
"""

from __future__ import annotations

import math

import matplotlib.axes
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from matplotlib.ticker import EngFormatter

from snn_rram._units import unit_factor
from snn_rram.errors import SnnRramError

#: SI units a figure knows, with the name of the quantity they measure.
BASE_UNITS = {
    "V": "voltage",
    "A": "current",
    "S": "conductance",
    "J": "energy",
    "W": "power",
    "s": "time",
    "Ω": "resistance",
    "F": "capacitance",
    "Hz": "rate",
}


def new_axes(axes, figsize=(6.4, 4.0)):
    """The given axes (checked), or the axes of a new figure with constrained layout."""
    if axes is None:
        _, axes = plt.subplots(figsize=figsize, layout="constrained")
        return axes
    if not isinstance(axes, matplotlib.axes.Axes):
        raise SnnRramError(
            f"axes: expected a matplotlib.axes.Axes or None, got {type(axes).__name__}"
        )
    return axes


def auto_prefix(values, unit: str) -> tuple[float, str]:
    """Factor and label of the SI prefix that shows ``values`` (in ``unit``) in [1, 1000).

    Parameters
    ----------
    values : array_like
        Numbers in the SI unit ``unit`` (NaN and infinities are ignored).
    unit : str
        The SI unit, e.g. ``"A"``; ``""`` for dimensionless numbers (no prefix).

    Returns
    -------
    factor : float
        Divide the values by it to get them in ``label``.
    label : str
        The prefixed unit, e.g. ``"µA"``.
    """
    if unit == "":
        return 1.0, ""
    x = np.abs(np.asarray(values, dtype=np.float64))
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        return 1.0, unit
    exponent = 3 * math.floor(math.log10(float(x.max())) / 3 + 1e-9)
    exponent = min(max(exponent, -18), 9)
    return 10.0**exponent, EngFormatter.ENG_PREFIXES[exponent] + unit


def display_unit(unit, values, name: str = "unit") -> tuple[float, str]:
    """Resolve a unit argument: a bare SI unit gets an automatic prefix, a prefixed one is kept.

    Parameters
    ----------
    unit : str
        ``"V"`` (volts, prefix chosen from ``values``), ``"mV"`` (always millivolts), ``""``
        (dimensionless). Known units: V, A, S, J, W, s, Ω, F, Hz, with any SI prefix
        (``u`` for µ) or spelled out (``millivolt``).
    values : array_like
        The numbers to show, in the SI unit.
    name : str
        The argument's name for error messages.

    Returns
    -------
    factor : float
        Divide the SI values by it.
    label : str
        The unit shown, e.g. ``"mV"``.
    """
    if not isinstance(unit, str):
        raise SnnRramError(f"{name}: expected a unit string such as 'V' or 'mV', got {unit!r}")
    if unit == "" or unit in BASE_UNITS:
        return auto_prefix(values, unit)
    parsed = unit_factor(unit, BASE_UNITS)
    if parsed is not None:
        return parsed[0], "µ" + unit[1:] if unit.startswith("u") and len(unit) > 1 else unit
    raise SnnRramError(
        f"{name}: unknown unit {unit!r}; expected one of {', '.join(BASE_UNITS)}, optionally "
        "with an SI prefix (a f p n µ u m k M G), or '' for dimensionless values"
    )


def base_of(unit: str) -> str:
    """The SI unit of a (possibly prefixed) unit string, e.g. ``"mV"`` → ``"V"``."""
    if unit == "" or unit in BASE_UNITS:
        return unit
    parsed = unit_factor(unit, BASE_UNITS)
    return unit if parsed is None else parsed[1]


def quantity_unit(value, name: str) -> tuple[np.ndarray | None, str | None]:
    """SI values and unit of a Brian2 quantity; ``(None, None)`` for anything else."""
    dim = getattr(value, "dim", None)
    if dim is None:
        return None, None
    import brian2

    units = {
        "V": brian2.volt,
        "A": brian2.amp,
        "S": brian2.siemens,
        "J": brian2.joule,
        "W": brian2.watt,
        "s": brian2.second,
        "Ω": brian2.ohm,
        "F": brian2.farad,
        "Hz": brian2.hertz,
    }
    for symbol, u in units.items():
        if dim is brian2.get_dimensions(u):
            return np.asarray(value, dtype=np.float64), symbol
    if dim is brian2.DIMENSIONLESS:
        return np.asarray(value, dtype=np.float64), ""
    raise SnnRramError(
        f"{name}: a quantity of dimension {dim} cannot be plotted; expected one of "
        f"{', '.join(BASE_UNITS)} or dimensionless"
    )


def time_label(time_unit: float) -> str:
    """Name of a time unit given in seconds per unit (1e-3 → ``"ms"``)."""
    return {1e-3: "ms", 1.0: "s", 1e-6: "µs", 1e-9: "ns"}.get(time_unit, f"{time_unit:g} s")


def check_time_unit(time_unit) -> float:
    """A positive finite number of seconds per unit of the time axis."""
    if isinstance(time_unit, bool) or not isinstance(time_unit, int | float | np.number):
        raise SnnRramError(f"time_unit: expected seconds per unit (e.g. 1e-3), got {time_unit!r}")
    t = float(time_unit)
    if not (math.isfinite(t) and t > 0):
        raise SnnRramError(f"time_unit: expected a positive number of seconds, got {time_unit!r}")
    return t


def matrix(value, name: str, *, nonnegative: bool = False):
    """A finite 2-D float64 array or canonical CSR matrix, non-empty, checked.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix
    """
    if sp.issparse(value):
        m = sp.csr_matrix(value, dtype=np.float64)
        if not m.has_canonical_format:  # on a copy: the caller's matrix stays as it was
            m = m.copy()
            m.sum_duplicates()
        data = m.data
    else:
        try:
            m = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SnnRramError(f"{name}: expected a 2-D array of numbers, got {value!r}") from exc
        data = m
    if m.ndim != 2:
        raise SnnRramError(f"{name}: expected a 2-D (rows, columns) array, got shape {m.shape}")
    if m.shape[0] == 0 or m.shape[1] == 0:
        raise SnnRramError(f"{name}: empty array of shape {m.shape}")
    if not np.isfinite(data).all():
        raise SnnRramError(f"{name}: contains NaN or infinite values")
    if nonnegative and (data < 0).any():
        raise SnnRramError(f"{name}: must be >= 0, got {float(data[data < 0].flat[0])!r}")
    return m


def stored_values(m) -> np.ndarray:
    """The stored entries of a sparse matrix (devices), or every entry of a dense array."""
    if sp.issparse(m):
        return np.asarray(m.data, dtype=np.float64)
    return np.asarray(m, dtype=np.float64).ravel()
