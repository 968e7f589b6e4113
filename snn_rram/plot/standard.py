"""The standard PNG figures of a run result file or of a sweep summary (``snn-rram plot``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import h5py
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from snn_rram import devices, results
from snn_rram.errors import SnnRramError
from snn_rram.plot.crossbar import plot_conductance_histogram, plot_energy_heatmap
from snn_rram.plot.figures import plot_raster, save_figure
from snn_rram.plot.sweep import plot_sweep

__all__ = ["standard_figures"]

#: Images shown in the rasters of a run.
N_RASTER_IMAGES = 3
#: Metrics of a sweep drawn against each axis that varies.
SWEEP_METRICS = (
    "snn_accuracy",
    "analog_accuracy",
    "average_power_per_synapse",
    "energy_per_inference",
)
#: Preferred columns for the lines of a sweep figure (the first the summary has), and the most
#: values a line column may have.
_HUE = ("mapping.method", "simulation.mode")
_MAX_HUES = 8


def _safe(name: str) -> str:
    """A file-name fragment of a layer or column name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "x"


def _identify(path: Path) -> tuple[str, Path]:
    """``("run", file)`` or ``("sweep", file)``; an error naming the file otherwise."""
    if not path.exists():
        raise SnnRramError(f"path: no such file or folder {str(path)!r}")
    if path.is_dir():
        for name in ("summary.h5", "summary.csv"):
            if (path / name).is_file():
                return "sweep", path / name
        raise SnnRramError(
            f"path: folder {str(path)!r} holds no sweep summary (summary.h5 or summary.csv)"
        )
    if path.suffix.lower() == ".csv":
        return "sweep", path
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError:
        is_hdf5 = False
    if not is_hdf5:
        raise SnnRramError(
            f"path: {str(path)!r} is neither an snn-rram result (HDF5) nor a sweep summary "
            "(summary.h5 or summary.csv)"
        )
    try:
        with h5py.File(path, "r") as f:
            attrs = set(f.attrs)
    except OSError as exc:
        raise SnnRramError(f"path: {str(path)!r} cannot be opened as HDF5 ({exc})") from exc
    if "schema_version" in attrs:
        return "run", path
    if "columns" in attrs:
        return "sweep", path
    raise SnnRramError(
        f"path: {str(path)!r} is an HDF5 file but neither an snn-rram result (no "
        "schema_version attribute) nor a sweep summary (no columns attribute)"
    )


def _save(fig, path: Path) -> Path:
    try:
        return save_figure(fig, path)
    except OSError as exc:
        plt.close(fig)
        raise SnnRramError(f"out_dir: cannot write {str(path)!r} ({exc})") from exc


# --------------------------------------------------------------------------------------------
# a run


def _raster_figure(rec, stem: str):
    pops = list(rec.spikes.items())
    n_images = int(rec.metrics["n_images"])
    n_show = min(N_RASTER_IMAGES, n_images)
    T = pops[0][1].image_duration
    heights = [max(1.0, min(3.0, s.n_neurons / 100)) for _, s in pops]
    fig, axs = plt.subplots(
        len(pops),
        1,
        sharex=True,
        figsize=(10, 1.0 + 1.3 * sum(heights)),
        gridspec_kw={"height_ratios": heights},
        layout="constrained",
        squeeze=False,
    )
    labels, preds = rec.metrics.get("labels"), rec.metrics.get("predictions")
    for k, ((name, s), ax) in enumerate(zip(pops, axs[:, 0], strict=True)):
        stop = int(s.image_ranges[n_show - 1, 1]) if len(s.image_ranges) else 0
        plot_raster(s.times[:stop], s.indices[:stop], axes=ax, color=f"C{k}")
        ax.vlines(
            np.arange(1, n_show) * T * 1e3,
            0,
            1,
            transform=ax.get_xaxis_transform(),
            color="0.6",
            lw=0.8,
        )
        ax.set_xlim(0, n_show * T * 1e3)
        ax.set_ylim(-0.5, s.n_neurons - 0.5)
        ax.set_title(
            f"{name}: {s.n_neurons} neurons, {stop} spikes in {n_show} image"
            f"{'s' if n_show != 1 else ''} ({len(s.times)} in all {n_images})",
            loc="left",
            fontsize=9,
        )
        if k < len(pops) - 1:
            ax.set_xlabel("")
    if labels is not None and preds is not None:
        ax = axs[-1, 0]
        for i in range(n_show):  # a few images, not synapses
            ax.text(
                (i + 0.02) * T * 1e3,
                0.97,
                f"label {int(labels[i])} → predicted {int(preds[i])}",
                transform=ax.get_xaxis_transform(),
                va="top",
                fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.7, "lw": 0},
            )
    cfg = rec.config_dict
    mapping = cfg.get("mapping", {}) if isinstance(cfg.get("mapping"), dict) else {}
    device = cfg.get("device", {}) if isinstance(cfg.get("device"), dict) else {}
    bits = f", {mapping['bits']} bits" if "bits" in mapping else ""
    fig.suptitle(
        f"{stem}: SNN accuracy {float(rec.metrics['snn_accuracy']):.3f} over {n_images} images"
        f" — mapping {mapping.get('method', '?')}{bits}, device {device.get('card', '?')}",
        fontsize=11,
    )
    return fig


def _card_levels(card):
    """The programmable levels of a bundled device card, or None (one bin per level then)."""
    try:
        return devices.load(str(card)).levels
    except SnnRramError:  # a user's card file that is not at hand
        return None


def _layer_figure(layer, stem: str):
    has_energy = layer.device_energy is not None
    fig, axs = plt.subplots(
        1,
        2 if has_energy else 1,
        figsize=(12, 4.5) if has_energy else (6.4, 4.5),
        layout="constrained",
        squeeze=False,
    )
    G = layer.conductances
    stored = G.data if sp.issparse(G) else np.asarray(G).ravel()
    if np.any(stored > 0):
        plot_conductance_histogram(G, levels=_card_levels(layer.device), axes=axs[0, 0])
    else:
        axs[0, 0].text(0.5, 0.5, "no device (every conductance is 0 S)", ha="center")
    if has_energy:
        plot_energy_heatmap(layer.device_energy, unit="J", axes=axs[0, 1])
    n_rows, n_cols = G.shape
    kind = "sparse" if sp.issparse(G) else "dense"
    fig.suptitle(
        f"{stem} / {layer.name}: {n_rows}×{n_cols} {kind}, mapping {layer.mapping}, "
        f"device {layer.device}",
        fontsize=11,
    )
    return fig


def _run_figures(path: Path, out: Path) -> list[Path]:
    rec = results.load(path)
    stem = path.stem
    written = []
    if rec.spikes and int(rec.metrics["n_images"]) > 0:
        written.append(_save(_raster_figure(rec, stem), out / f"{stem}_rasters.png"))
    for name, layer in rec.layers.items():
        written.append(_save(_layer_figure(layer, stem), out / f"{stem}_{_safe(name)}.png"))
    return written


# --------------------------------------------------------------------------------------------
# a sweep


def _read_summary(path: Path):
    """The summary as a DataFrame and the sweep's name."""
    import pandas as pd

    where = f"path: {str(path)!r}"
    if path.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise SnnRramError(f"{where} is not a readable sweep summary CSV ({exc})") from exc
        return frame, path.parent.name or path.stem
    try:
        with h5py.File(path, "r") as f:
            columns = [c.decode() if isinstance(c, bytes) else str(c) for c in f.attrs["columns"]]
            data = {}
            for col in columns:
                v = f[col][()]
                if getattr(v, "dtype", None) is not None and v.dtype.kind == "O":
                    v = np.array([x.decode() if isinstance(x, bytes) else x for x in v])
                data[col] = v
            name = f.attrs.get("sweep", path.parent.name)
            name = name.decode() if isinstance(name, bytes) else str(name)
        frame = pd.DataFrame(data)
    except (KeyError, OSError, ValueError, TypeError) as exc:
        raise SnnRramError(f"{where} is a damaged sweep summary ({exc})") from exc
    return frame, name


def _text(column):
    """A column as text, missing values (NaN, None) as ""."""
    return column.astype(str).where(column.notna(), "")


def _varying(frame, column: str) -> int:
    values = frame[column].dropna().astype(str)
    return int(values[(values != "") & (values != "nan")].nunique())


def _sweep_figures(path: Path, out: Path) -> list[Path]:
    import pandas as pd

    frame, name = _read_summary(path)
    where = f"path: {str(path)!r}"
    metrics = [m for m in SWEEP_METRICS if m in frame.columns]
    if not metrics:
        raise SnnRramError(
            f"{where}: no {' or '.join(SWEEP_METRICS)} column; not a sweep summary (columns: "
            f"{', '.join(map(str, frame.columns))})"
        )
    if {"snn_accuracy", "analog_accuracy"} <= set(metrics) and "accuracy" not in frame.columns:
        # spiking and analog points: one accuracy, each point's own realisation's
        acc = pd.to_numeric(frame["snn_accuracy"], errors="coerce")
        frame = frame.assign(
            accuracy=acc.fillna(pd.to_numeric(frame["analog_accuracy"], errors="coerce"))
        )
        metrics = ["accuracy", *(m for m in metrics if not m.endswith("_accuracy"))]
    ok = frame if "status" not in frame.columns else frame[frame["status"].astype(str) != "failed"]
    metrics = [m for m in metrics if np.isfinite(pd.to_numeric(ok[m], errors="coerce")).any()]
    if len(ok) == 0 or not metrics:
        raise SnnRramError(f"{where}: no point with results (every point failed or is empty)")
    axes_cols = [c for c in frame.columns if "." in str(c) or c == "label"]
    hue_col = next((h for h in _HUE if h in frame.columns), _HUE[0])
    hues = [hue_col]
    label = _text(frame["label"]) if "label" in frame.columns else None
    if label is not None and hue_col in frame.columns and (label != "").any():
        # labelled extra points (e.g. "calibrated") are series of their own next to the
        # mapping methods (or modes), as a study reports them
        series = "series" if "series" not in frame.columns else "_series"
        frame = frame.assign(**{series: frame[hue_col].astype(str).where(label == "", label)})
        ok = frame.loc[ok.index]
        axes_cols = [c for c in axes_cols if c not in (hue_col, "label")] + [series]
        hues = [series]
    varying = [c for c in axes_cols if _varying(ok, c) > 1]
    if label is not None and (label == "").any():
        # a field only the labelled extra points set (e.g. mapping.options.calibrate) is what
        # defines them, not an axis
        plain = ok[(label == "").loc[ok.index]]
        varying = [c for c in varying if c == hues[0] or _varying(plain, c) > 0]
    if not varying:
        if "key" in frame.columns and _varying(ok, "key") > 1:
            varying = ["key"]
        else:
            raise SnnRramError(
                f"{where}: no sweep axis varies between the points; nothing to plot"
            )
    written = []
    for x in varying:
        others = [c for c in varying if c != x and _varying(ok, c) <= _MAX_HUES]
        preferred = [h for h in hues if h in others]
        hue = preferred[0] if preferred else (others[0] if others else None)
        fig, axs = plt.subplots(
            1,
            len(metrics),
            figsize=(5.5 * len(metrics), 4.2),
            layout="constrained",
            squeeze=False,
        )
        try:
            for metric, ax in zip(metrics, axs[0], strict=True):
                plot_sweep(frame, x, metric, hue=hue, axes=ax)
        except BaseException:
            plt.close(fig)
            raise
        fig.suptitle(f"sweep {name}: against {x}", fontsize=11)
        written.append(_save(fig, out / f"{path.stem}_{_safe(x)}.png"))
    return written


def standard_figures(path: str | os.PathLike, out_dir: str | os.PathLike | None = None):
    """Write the standard PNG figures of a run result file or of a sweep summary.

    Parameters
    ----------
    path : str or os.PathLike
        A run's HDF5 result file (written by :func:`snn_rram.results.save`), or a sweep's
        ``summary.h5`` / ``summary.csv``, or a sweep folder holding one.
    out_dir : str or os.PathLike, optional
        Folder of the PNGs (created if needed); default the folder of the file.

    Returns
    -------
    list of pathlib.Path
        The PNGs written (each atomically: a temporary file renamed into place). For a run
        ``<stem>_rasters.png`` (spike rasters of every population over the first three
        images, with labels and predictions) and ``<stem>_<layer>.png`` per layer
        (conductance histogram and per-device energy map). For a sweep
        ``<stem>_<axis>.png`` for every axis that varies: SNN accuracy and average power per
        synapse against it (and analog accuracy and device energy per inference where the
        summary has them: a sweep with analog points), one line per mapping method (labelled
        extra points, e.g. ``calibrated``, as series of their own; or another varying axis).

    Raises
    ------
    SnnRramError
        When the file is missing, is neither kind, is damaged, or holds nothing to plot, or
        when ``out_dir`` cannot be written; the message names the file.
    """
    path = Path(path)
    kind, source = _identify(path)
    out = Path(out_dir) if out_dir is not None else source.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SnnRramError(f"out_dir: cannot create {str(out)!r} ({exc})") from exc
    if kind == "run":
        return _run_figures(source, out)
    return _sweep_figures(source, out)
