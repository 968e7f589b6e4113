"""One device: read I–V curves (with measured points) and programmable conductance levels."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_array, as_scalar
from snn_rram.devices import Device, Levels
from snn_rram.errors import SnnRramError
from snn_rram.plot._common import auto_prefix, matrix, new_axes, stored_values

__all__ = ["plot_iv", "plot_levels"]

#: Voltage range of the I–V curves without measured data, V.
_DEFAULT_V_MAX = 0.5
_N_POINTS = 201


def _measured(measured):
    """``(V, I, G)`` of measured data: V (n,), I (n_states, n), G (n_states,) or None."""
    if not isinstance(measured, list | tuple) or len(measured) not in (2, 3):
        raise SnnRramError(
            "measured: expected a tuple (V, I) or (V, I, G) of measured voltages (V), "
            "currents (A) and optionally each curve's fitted conductance (S), got "
            f"{type(measured).__name__}"
        )
    V = as_array(measured[0], "measured[0] (V)", "volt", ndim=1)
    I = as_array(measured[1], "measured[1] (I)", "amp", ndim=(1, 2))
    if V.size == 0:
        raise SnnRramError("measured[0] (V): no measured voltages")
    I = np.atleast_2d(I)
    if I.shape[1] != V.size:
        raise SnnRramError(
            f"measured[1] (I): expected {V.size} points per curve (len(V)), got shape {I.shape}"
        )
    G = None
    if len(measured) == 3:
        G = as_array(measured[2], "measured[2] (G)", "siemens", ndim=1, positive=True)
        if G.size != I.shape[0]:
            raise SnnRramError(
                f"measured[2] (G): expected {I.shape[0]} conductances (one per measured curve), "
                f"got {G.size}"
            )
    return V, I, G


def _pick_levels(values: np.ndarray, n: int) -> np.ndarray:
    return values[
        np.unique(np.rint(np.linspace(0, values.size - 1, min(n, values.size)))).astype(np.int64)
    ]


def plot_iv(device, *, v_max=None, measured=None, n_levels: int = 5, axes=None, **kwds):
    """Read I–V curves of a device at a few of its programmable levels, with measured points.

    Parameters
    ----------
    device : snn_rram.devices.Device
        Its ``read_model`` (linear, sinh, polynomial or tabulated) gives the curves; its
        ``levels`` the conductances they are drawn at.
    v_max : float or brian2.Quantity, optional
        The curves span ``[-v_max, v_max]``, V (``[0, v_max]`` when every measured voltage is
        >= 0). Default: the largest measured ``|V|``, else 0.5 V.
    measured : tuple, optional
        ``(V, I)`` or ``(V, I, G)``: measured voltages (``(n_points,)``, V), currents
        (``(n_points,)`` or ``(n_states, n_points)``, A) and each curve's fitted conductance
        (``(n_states,)``, S, e.g. ``fit_iv(V, I).G``). They are drawn as markers; with ``G``
        the model is drawn at those conductances, one curve per measured state in its colour
        (the "I–V with fitted model" figure), instead of at the device's levels.
    n_levels : int
        Number of levels drawn (evenly spaced in index, lowest and highest included) when no
        ``G`` is given.
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.plot` of the model curves.

    Returns
    -------
    matplotlib.axes.Axes
        Voltage (V) on x, current (with an automatic SI prefix, e.g. µA) on y; the model
        curves come first in ``axes.lines``, then one marker line per measured curve.
    """
    if not isinstance(device, Device):
        raise SnnRramError(
            f"device: expected a snn_rram.devices.Device, got {type(device).__name__}"
        )
    if isinstance(n_levels, bool) or not isinstance(n_levels, int | np.integer) or n_levels < 1:
        raise SnnRramError(f"n_levels: expected an integer >= 1, got {n_levels!r}")
    data = None if measured is None else _measured(measured)
    if v_max is None:
        v_max = float(np.abs(data[0]).max()) if data is not None else _DEFAULT_V_MAX
        if v_max == 0:
            raise SnnRramError("measured[0] (V): every measured voltage is 0 V")
    else:
        v_max = as_scalar(v_max, "v_max", "volt", positive=True)
    v_lo = 0.0 if data is not None and (data[0] >= 0).all() else -v_max
    V = np.linspace(v_lo, v_max, _N_POINTS)
    G = data[2] if data is not None and data[2] is not None else None
    from_levels = G is None
    if from_levels:
        G = _pick_levels(np.asarray(device.levels.values, dtype=np.float64), int(n_levels))
    I = device.read_model.current(G[:, None], V[None, :])  # (n_curves, n_points)
    everything = I if data is None else np.concatenate([I.ravel(), data[1].ravel()])
    factor, unit = auto_prefix(everything, "A")
    g_factor, g_unit = auto_prefix(G, "S")

    axes = new_axes(axes, figsize=(6, 4.2))
    lines = axes.plot(V, I.T / factor, **kwds)
    if "label" not in kwds:
        kind = "level" if from_levels else "fit"
        for line, g in zip(lines, G, strict=True):
            line.set_label(f"{kind} G = {g / g_factor:.3g} {g_unit}")
    if data is not None:
        Vm, Im, _ = data
        for k, row in enumerate(Im):
            color = lines[k].get_color() if not from_levels else "k"
            axes.plot(
                Vm,
                row / factor,
                linestyle="none",
                marker="o",
                markersize=4,
                markerfacecolor="none",
                color=color,
                label="measured" if k == 0 else None,
            )
    axes.grid(True, color="0.9", lw=0.6)
    axes.set_xlabel("voltage (V)")
    axes.set_ylabel(f"current ({unit})")
    model = type(device.read_model).__name__
    what = "fitted to measured I–V" if not from_levels else f"{len(lines)} levels"
    axes.set_title(f"{device.name}: {model} read model, {what}", loc="left", fontsize=10)
    axes.legend(fontsize=8, loc="upper left")
    return axes


def _levels(levels) -> np.ndarray:
    if isinstance(levels, Device):
        levels = levels.levels
    if isinstance(levels, Levels):
        return np.asarray(levels.values, dtype=np.float64)
    values = as_array(levels, "levels", "siemens", ndim=1, nonnegative=True)
    if values.size == 0:
        raise SnnRramError("levels: no conductance levels")
    if np.any(np.diff(values) <= 0):
        raise SnnRramError("levels: expected strictly increasing conductances, S")
    return values


def _level_usage(levels, weights, scale=None) -> tuple[np.ndarray, int]:
    """How many devices (or weights) sit at each level.

    Parameters
    ----------
    levels : array_like, shape (n_levels,)
        The levels, S, increasing.
    weights : array_like or scipy.sparse matrix
        Conductances, S (``scale`` None; cells of 0 S are "no device" unless 0 S is a level),
        or weights in normalised units mapped to ``levels[0] + |w| · scale``.
    scale : float, optional
        Conductance per unit weight, S.

    Returns
    -------
    counts : numpy.ndarray of int, shape (n_levels,)
        Entries nearest to each level.
    beyond : int
        Entries above the top level by more than half a level step (counted at the top).
    """
    values = _levels(levels)
    if sp.issparse(weights):
        x = stored_values(matrix(weights, "weights"))
    else:
        x = as_array(weights, "weights", "1" if scale is not None else "siemens", ndim=(1, 2))
        x = x.ravel()
    if scale is None:
        if (x < 0).any():
            raise SnnRramError(
                "weights: negative conductances; give scale (S per unit weight) to map "
                "signed weights onto the levels"
            )
        if values[0] > 0:
            x = x[x != 0]
    else:
        s = as_scalar(scale, "scale", "siemens", positive=True)
        x = values[0] + np.abs(x) * s
    if x.size == 0:
        raise SnnRramError("weights: no values to map onto the levels")
    k = np.clip(np.searchsorted(values, x), 1, max(values.size - 1, 1))
    if values.size == 1:
        nearest = np.zeros(x.size, dtype=np.int64)
    else:
        nearest = np.where(np.abs(x - values[k - 1]) <= np.abs(values[k] - x), k - 1, k)
    step = (values[-1] - values[0]) / max(values.size - 1, 1)
    beyond = int(np.count_nonzero(x > values[-1] + 0.5 * step))
    return np.bincount(nearest, minlength=values.size), beyond


def plot_levels(levels, weights=None, *, scale=None, axes=None, **kwds):
    """Programmable conductance levels vs level index, and how many devices use each.

    Parameters
    ----------
    levels : Levels, Device or array_like
        The levels (``device.levels`` or ``device.levels.values``), S, strictly increasing.
    weights : array_like or scipy.sparse matrix, optional
        Without ``scale``: programmed conductances, S (e.g. ``crossbar.G``; 0 S cells mean
        "no device" unless 0 S is a level). With ``scale``: weights in normalised units, each
        mapped to the conductance ``levels[0] + |w| · scale`` of the device of its
        differential pair that carries it (the other sits at the lowest level, as
        :func:`snn_rram.mapping.linear_pair` does). Each value counts at its nearest level;
        the counts are drawn as bars on a twin y axis (the last axes of the figure).
    scale : float, optional
        Conductance per unit weight, S (``Mapping.g_per_weight``).
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.plot` of the levels.

    Returns
    -------
    matplotlib.axes.Axes
        The axes of the levels: level index on x, conductance (µS, or the fitting SI prefix)
        on y.
    """
    values = _levels(levels)
    counts = beyond = None
    if weights is not None:
        counts, beyond = _level_usage(values, weights, scale)
    elif scale is not None:
        raise SnnRramError("scale: given without weights (it maps weights onto the levels)")
    factor, unit = auto_prefix(values, "S")
    axes = new_axes(axes, figsize=(6.4, 4))
    index = np.arange(values.size)
    kwds.setdefault("marker", "o")
    kwds.setdefault("markersize", 3 if values.size > 40 else 5)
    kwds.setdefault("color", "C0")
    kwds.setdefault("label", "level")
    axes.plot(index, values / factor, **kwds)
    axes.set_xlabel("level index")
    axes.set_ylabel(f"conductance ({unit})")
    lo, hi = values[0] / factor, values[-1] / factor
    title = f"{values.size} programmable levels, {lo:.3g}–{hi:.3g} {unit}"
    if counts is not None:
        twin = axes.twinx()
        what = "devices" if scale is None else "weights"
        twin.bar(index, counts, width=0.8, color="0.6", alpha=0.5, label=f"{what} per level")
        twin.set_ylabel(f"{what} per level")
        twin.set_ylim(0, max(counts.max(), 1) * 1.1)
        axes.set_zorder(twin.get_zorder() + 1)
        axes.patch.set_visible(False)
        title += f"; {int(counts.sum())} {what}"
        if beyond:
            title += f" ({beyond} above the top level)"
        handles = axes.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        axes.legend(handles=handles, fontsize=8, loc="lower right")
    axes.set_title(title, loc="left", fontsize=10)
    return axes
