"""Raster plots and run summaries."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from snn_rram._io import atomic_write

__all__ = ["plot_analog_summary", "plot_raster", "plot_run_summary", "save_figure"]


def plot_raster(times, indices, *, axes=None, time_unit: float = 1e-3, **kwds):
    """Spike raster: one dot per spike.

    Parameters
    ----------
    times : array_like
        Spike times, s.
    indices : array_like
        Neuron index of each spike.
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    time_unit : float
        Seconds per unit on the time axis (default ms).
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.scatter` (``color``, ``s``, ...).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if axes is None:
        _, axes = plt.subplots(figsize=(7, 3))
    kwds.setdefault("s", 2)
    kwds.setdefault("color", "k")
    kwds.setdefault("marker", "|" if len(times) < 2000 else ".")
    axes.scatter(np.asarray(times) / time_unit, np.asarray(indices), **kwds)
    unit = {1e-3: "ms", 1.0: "s", 1e-6: "µs"}.get(time_unit, f"{time_unit:g} s")
    axes.set_xlabel(f"time ({unit})")
    axes.set_ylabel("neuron index")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return axes


def plot_run_summary(result, labels, *, n_images: int = 3, title: str = "", figure=None):
    """Rasters of the first images (every layer) and per-class accuracy of a run.

    Parameters
    ----------
    result : snn_rram.snn.SnnResult
    labels : array_like
        True class of each image.
    n_images : int
        Images shown in the rasters.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = np.asarray(labels)
    n_layers = len(result.layers)
    fig = figure or plt.figure(figsize=(10, 2.2 * n_layers + 2.5), constrained_layout=True)
    grid = fig.add_gridspec(n_layers + 1, 2, width_ratios=[3, 1])
    t_end = min(n_images, result.n_images) * result.image_duration
    for k, layer in enumerate(result.layers):
        ax = fig.add_subplot(grid[k, :])
        keep = layer.spike_times < t_end
        plot_raster(layer.spike_times[keep], layer.spike_indices[keep], axes=ax, color=f"C{k}")
        for b in np.arange(1, n_images) * result.image_duration:
            ax.axvline(b * 1e3, color="0.7", lw=0.8)
        ax.set_xlim(0, t_end * 1e3)
        ax.set_title(
            f"{layer.name}: {len(layer.spike_times)} spikes over {result.n_images} images",
            fontsize=9,
            loc="left",
        )
    _class_accuracy(result.predictions, labels, fig.add_subplot(grid[n_layers, 0]), "SNN")
    ax = fig.add_subplot(grid[n_layers, 1])
    ax.hist(result.counts.sum(axis=1), bins=20, color="C1")
    ax.set_xlabel("output spikes per image")
    ax.set_ylabel("images")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _class_accuracy(pred, labels, ax, what: str) -> None:
    """Accuracy per class as bars, the overall accuracy as a dashed line."""
    classes = np.arange(max(labels.max(initial=0), pred.max(initial=0)) + 1)
    acc = [np.mean(pred[labels == c] == c) if np.any(labels == c) else np.nan for c in classes]
    ax.bar(classes, acc, color="C0")
    ax.axhline(
        np.mean(pred == labels),
        color="k",
        ls="--",
        lw=1,
        label=f"overall {np.mean(pred == labels):.3f}",
    )
    ax.set_xticks(classes)
    ax.set_xlabel("class")
    ax.set_ylabel(f"{what} accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower right", fontsize=8)


def plot_analog_summary(result, labels, *, title: str = "", figure=None):
    """Per-class accuracy and device energy per image of an analog run.

    Parameters
    ----------
    result : snn_rram.analog.AnalogResult
    labels : array_like
        True class of each image.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = np.asarray(labels)
    fig = figure or plt.figure(figsize=(10, 3.6), constrained_layout=True)
    grid = fig.add_gridspec(1, 2, width_ratios=[3, 2])
    _class_accuracy(result.predict(), labels, fig.add_subplot(grid[0, 0]), "analog")
    ax = fig.add_subplot(grid[0, 1])
    energy = result.device_energy  # (n_images, n_layers), J
    ax.hist(
        1e9 * energy,
        bins=20,
        stacked=True,
        label=[f"layer {k + 1}" for k in range(energy.shape[1])],
    )
    ax.set_xlabel("device energy per image (nJ)")
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 130) -> Path:
    """Save ``fig`` as PNG via a temporary file and a rename; closes it."""
    path = Path(path)
    try:
        with atomic_write(path) as fh:
            fig.savefig(fh, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return path
