"""A metric of a sweep against one of its axes, one line per value of another."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from snn_rram.errors import SnnRramError
from snn_rram.plot._common import auto_prefix, new_axes

__all__ = ["column_label", "plot_sweep"]

#: Names and SI units of the metrics a run reports.
_METRICS = {
    "snn_accuracy": ("SNN accuracy", ""),
    "analog_accuracy": ("analog accuracy", ""),
    "accuracy": ("accuracy (SNN or analog)", ""),
    "energy_per_inference": ("device energy per inference", "J"),
    "ann_accuracy": ("ANN accuracy", ""),
    "quantized_accuracy": ("quantised ANN accuracy", ""),
    "average_power_per_synapse": ("average power per synapse", "W"),
    "equal_read_power_per_synapse": ("equal-read power per synapse", "W"),
    "total_device_energy": ("total device energy", "J"),
    "total_neuron_energy": ("total neuron energy", "J"),
    "simulated_time": ("simulated time", "s"),
    "wall_time": ("wall time", "s"),
    "build_s": ("build time", "s"),
    "simulation_s": ("simulation time", "s"),
    "n_synapses": ("synapses", ""),
    "n_images": ("images", ""),
}
#: SI units of configuration fields, by their last dotted component.
_FIELD_UNITS = {
    "v_read": "V",
    "r_neuron": "Ω",
    "r_wire_row": "Ω",
    "r_wire_col": "Ω",
    "pulse_width": "s",
    "image_duration": "s",
    "max_rate": "Hz",
    "threshold": "V",
    "capacitance": "F",
    "leak_tau": "s",
    "refractory": "s",
    "dt": "s",
    "g_min": "S",
    "g_max": "S",
}
#: Spread of repeated points drawn around their mean.
SPREADS = ("minmax", "std", None)


def column_label(name: str) -> tuple[str, str]:
    """Readable name and SI unit of a summary column (metric or dotted config path)."""
    if name in _METRICS:
        return _METRICS[name]
    return name, _FIELD_UNITS.get(name.rsplit(".", 1)[-1], "")


def _check_column(frame, name, what: str) -> None:
    if not isinstance(name, str) or name not in frame.columns:
        cols = ", ".join(map(str, frame.columns))
        raise SnnRramError(f"{what}: column {name!r} is not in the summary; columns: {cols}")


def _is_numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _si_numbers(column, unit: str):
    """A column of unit strings (``"100 ohm"``, ``"1 kohm"``) as SI floats, or None.

    None unless ``unit`` is a config unit (V, s, Ω, Hz, S) and every value parses as a number
    in it (numbers are SI already): a sweep file may write its axis values either way.
    """
    from snn_rram._units import SI_UNITS, quantity

    key = "ohm" if unit == "Ω" else unit
    if key not in SI_UNITS:
        return None
    try:
        values = [float(quantity(v, "", key)) for v in column]
    except (SnnRramError, TypeError, ValueError):
        return None
    return column.__class__(values, index=column.index, name=column.name)


def plot_sweep(
    frame,
    x: str,
    y: str,
    *,
    hue: str | None = "mapping.method",
    spread: str | None = "minmax",
    axes=None,
    **kwds,
):
    """A metric against a sweep axis, one line per value of ``hue``, repeats averaged.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sweep summary (``summary.csv`` / ``summary.h5`` of a sweep folder): one row per
        point, columns the dotted config paths of its axes (``mapping.bits``), ``label``,
        ``status`` and the metrics. Rows whose ``status`` is ``"failed"`` and rows without a
        value of ``y`` are left out.
    x : str
        Column on the x axis. Numbers, and unit strings of a physical field (``"100 ohm"``,
        ``"1 kohm"`` of ``circuit.r_neuron``), are placed by value in SI units (log scale when
        positive and spanning a factor of 100 or more); other values (strings, booleans) are
        categories in order of appearance, drawn as markers without joining lines.
    y : str
        Numeric column on the y axis, e.g. ``snn_accuracy`` or ``average_power_per_synapse``
        (W; shown with an SI prefix, e.g. nW).
    hue : str, optional
        Column whose values get a line each. ``None``, a column not in ``frame`` or ``x``
        itself: one line.
    spread : {"minmax", "std", None}
        What is shaded around the mean of the points sharing an x (and hue): their range,
        mean ± standard deviation, or nothing. Drawn only where there are repeats. An accuracy
        (a ``y`` ending in ``accuracy``) of a summary with ``n_images`` also gets error bars:
        the binomial standard error ``sqrt(p(1 − p)/N)`` of the mean ``p`` over the ``N``
        images of the points averaged.
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.plot` of every line.

    Returns
    -------
    matplotlib.axes.Axes
        One line per hue value (``axes.lines``), its points the means of ``y`` at each x.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise SnnRramError(f"frame: expected a pandas.DataFrame, got {type(frame).__name__}")
    _check_column(frame, x, "x")
    _check_column(frame, y, "y")
    if spread not in SPREADS:
        raise SnnRramError(f"spread: expected one of {SPREADS}, got {spread!r}")
    if hue is not None and not isinstance(hue, str):
        raise SnnRramError(f"hue: expected a column name or None, got {hue!r}")
    use_hue = hue is not None and hue in frame.columns and hue != x
    data = frame
    if "status" in data.columns:
        data = data[data["status"].astype(str) != "failed"]
    values = pd.to_numeric(data[y], errors="coerce")
    if data[y].notna().any() and values.isna().all() and not _is_numeric(data[y]):
        raise SnnRramError(f"y: column {y!r} is not numeric (e.g. {data[y].iloc[0]!r})")
    keep = np.isfinite(values.to_numpy(dtype=np.float64))
    data = data.assign(_y=values)[keep]
    if len(data) == 0:
        raise SnnRramError(f"frame: no row to plot (every point failed or has no value of {y!r})")
    numeric_x = _is_numeric(data[x])
    si = None if numeric_x else _si_numbers(data[x], column_label(x)[1])
    if si is not None:  # unit strings of a physical quantity: placed by value, not as text
        data = data.assign(**{x: si})
        numeric_x = True
    if numeric_x:
        xs = data[x].to_numpy(dtype=np.float64)
        x_factor, x_unit = auto_prefix(xs, column_label(x)[1])
        data = data.assign(_x=xs / x_factor)
        categories = None
    else:
        as_text = frame[x].astype(str).where(frame[x].notna(), "")
        categories = list(pd.unique(as_text))
        position = {c: i for i, c in enumerate(categories)}
        data = data.assign(_x=as_text.loc[data.index].map(position))
        x_unit = ""
    y_name, y_base = column_label(y)
    y_factor, y_unit = auto_prefix(data["_y"].to_numpy(), y_base)
    data = data.assign(_y=data["_y"] / y_factor)
    groups = [(None, data)] if not use_hue else list(data.groupby(hue, sort=False, dropna=False))

    axes = new_axes(axes, figsize=(6.4, 4))
    kwds.setdefault("marker", "o")
    if categories is not None:  # no order between categories: no line joining them
        kwds.setdefault("linestyle", "none")
    own_label = kwds.pop("label", None)
    # accuracies are fractions of n_images classified images: binomial standard errors
    binomial = y.endswith("accuracy") and "n_images" in data.columns
    for value, part in groups:
        stats = part.groupby("_x", sort=True)["_y"].agg(["mean", "min", "max", "std", "count"])
        label = own_label if value is None else (str(value) if str(value) != "" else "(none)")
        (line,) = axes.plot(stats.index.to_numpy(), stats["mean"].to_numpy(), label=label, **kwds)
        if binomial:
            images = pd.to_numeric(part["n_images"], errors="coerce").groupby(part["_x"]).sum()
            p = stats["mean"].to_numpy() * y_factor
            n = images.reindex(stats.index).to_numpy(dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                se = np.sqrt(np.clip(p * (1 - p), 0, None) / n) / y_factor
            axes.errorbar(
                stats.index.to_numpy(),
                stats["mean"].to_numpy(),
                yerr=np.where(np.isfinite(se), se, 0.0),
                fmt="none",
                ecolor=line.get_color(),
                capsize=0,  # no cap markers: axes.lines stays one line per hue value
                lw=0.8,
            )
        if spread is not None and (stats["count"] > 1).any():
            if spread == "minmax":
                lo, hi = stats["min"], stats["max"]
            else:
                sd = stats["std"].fillna(0.0)
                lo, hi = stats["mean"] - sd, stats["mean"] + sd
            axes.fill_between(
                stats.index.to_numpy(),
                lo.to_numpy(),
                hi.to_numpy(),
                color=line.get_color(),
                alpha=0.2,
                lw=0,
            )
    x_name = column_label(x)[0]
    axes.set_xlabel(f"{x_name} ({x_unit})" if x_unit else x_name)
    axes.set_ylabel(f"{y_name} ({y_unit})" if y_unit else y_name)
    if categories is not None:
        axes.set_xticks(
            range(len(categories)),
            [c if c != "" else "(none)" for c in categories],
            rotation=30 if len(categories) > 4 else 0,
        )
        axes.set_xlim(-0.5, len(categories) - 0.5)
    else:
        xv = data["_x"].to_numpy()
        if xv.min() > 0 and xv.max() >= 100 * xv.min():
            axes.set_xscale("log")
        elif pd.api.types.is_integer_dtype(data[x]):
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if use_hue:
        axes.legend(title=hue, fontsize=8)
    elif axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)
    n_points = len(data)
    axes.set_title(f"{y_name} vs {x_name} ({n_points} points)", loc="left", fontsize=10)
    return axes
