"""Traces over time: membrane potentials, column voltages, currents."""

from __future__ import annotations

import numpy as np

from snn_rram.errors import SnnRramError
from snn_rram.plot._common import (
    BASE_UNITS,
    base_of,
    check_time_unit,
    display_unit,
    new_axes,
    quantity_unit,
    time_label,
)

__all__ = ["plot_traces"]

#: Traces up to this many get a legend entry each.
_LEGEND_MAX = 10


def _times(times) -> np.ndarray:
    t, unit = quantity_unit(times, "times")
    if unit is not None and unit != "s":
        raise SnnRramError(f"times: expected times in seconds, got a quantity in {unit}")
    try:
        t = np.asarray(times if t is None else t, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"times: expected an array of times in s, got {times!r}") from exc
    if t.ndim != 1 or t.size == 0:
        raise SnnRramError(f"times: expected a non-empty 1-D array of times in s, got {t.shape}")
    if not np.isfinite(t).all():
        raise SnnRramError("times: contains NaN or infinite values")
    return t


def _traces(values, n_steps: int):
    """Values as (n_traces, n_steps) and their SI unit (None when plain numbers)."""
    v, unit = quantity_unit(values, "values")
    try:
        v = np.asarray(values if v is None else v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"values: expected an array of numbers, got {values!r}") from exc
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.size == 0:
        raise SnnRramError(
            f"values: expected a non-empty (n_traces, n_steps) or (n_steps, n_traces) array, "
            f"got shape {v.shape}"
        )
    if v.shape[1] != n_steps:
        if v.shape[0] != n_steps:
            raise SnnRramError(
                f"values: shape {v.shape} has no axis of length {n_steps} (len(times)); "
                "expected (n_traces, n_steps) or (n_steps, n_traces)"
            )
        v = v.T
    return v, unit


def plot_traces(
    times,
    values,
    *,
    indices=None,
    unit: str = "V",
    quantity: str | None = None,
    axes=None,
    time_unit: float = 1e-3,
    **kwds,
):
    """Traces of a recorded variable over time: membrane potentials, column voltages, currents.

    Parameters
    ----------
    times : array_like or brian2.Quantity, shape (n_steps,)
        Time of every sample, s. For a :class:`~snn_rram.snn.SnnResult` recorded with
        ``record={k: [...]}``, ``numpy.arange(n_steps) * result.dt``.
    values : array_like or brian2.Quantity, shape (n_traces, n_steps) or (n_steps, n_traces)
        The samples, in the SI unit ``unit``: ``(n_traces, n_steps)`` as a Brian2 StateMonitor
        gives them (``mon.v``), or ``(n_steps, n_traces)`` as
        ``SnnResult.layers[k].states[name]`` holds them (``v``, ``vcol0``, ``icol0``, ...);
        the axis of length ``len(times)`` is time (when both are, the first axis is the
        trace). A 1-D array is one trace.
    indices : array_like of int, optional
        Which traces to draw (default all).
    unit : str
        SI unit of ``values``: ``"V"``, ``"A"``, ``"S"``, ... (the SI prefix of the axis,
        e.g. mV or µA, is chosen from the data), or a prefixed unit to force it (``"mV"``).
        A Brian2 quantity brings its own unit (a prefixed ``unit`` must then match it).
    quantity : str, optional
        Name of the quantity on the y axis (default from the unit: "voltage", "current", ...).
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    time_unit : float
        Seconds per unit on the time axis (default ms).
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.plot` (``color``, ``lw``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        One line per trace, labelled with its index (with a legend up to 10 traces).

    Examples
    --------
    >>> res = net.run()  # SpikingNetwork(..., record={0: ["v", "icol0"]})  # doctest: +SKIP
    >>> t = np.arange(res.layers[0].states["v"].shape[0]) * res.dt  # doctest: +SKIP
    >>> plot_traces(t, res.layers[0].states["icol0"], unit="A", indices=[0, 1])  # doctest: +SKIP
    """
    time_unit = check_time_unit(time_unit)
    t = _times(times)
    v, q_unit = _traces(values, t.size)
    if indices is None:
        idx = np.arange(v.shape[0])
    else:
        idx = np.atleast_1d(np.asarray(indices))
        if idx.dtype.kind not in "iu" or idx.ndim != 1 or idx.size == 0:
            raise SnnRramError(f"indices: expected a non-empty list of integers, got {indices!r}")
        bad = (idx < 0) | (idx >= v.shape[0])
        if bad.any():
            raise SnnRramError(
                f"indices: {int(idx[bad][0])} is out of range for {v.shape[0]} traces"
            )
    shown = v[idx]
    if not isinstance(unit, str):
        raise SnnRramError(f"unit: expected a unit string such as 'V' or 'mV', got {unit!r}")
    if q_unit is not None:
        if unit in BASE_UNITS:
            unit = q_unit
        elif base_of(unit) != q_unit:
            raise SnnRramError(f"unit: {unit!r} does not match the values' unit {q_unit!r}")
    factor, shown_unit = display_unit(unit, shown[np.isfinite(shown)], "unit")
    axes = new_axes(axes, figsize=(7, 3.5))
    lines = axes.plot(t / time_unit, shown.T / factor, **kwds)
    if "label" not in kwds:
        for line, i in zip(lines, idx, strict=True):
            line.set_label(f"#{int(i)}")
        if len(lines) <= _LEGEND_MAX:
            axes.legend(title="trace", fontsize=8, loc="best")
    name = quantity if quantity is not None else BASE_UNITS.get(base_of(unit), "value")
    axes.set_xlabel(f"time ({time_label(time_unit)})")
    axes.set_ylabel(f"{name} ({shown_unit})" if shown_unit else name)
    axes.set_title(f"{name}: {len(lines)} trace{'s' if len(lines) != 1 else ''}", loc="left")
    return axes
