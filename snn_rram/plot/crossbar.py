"""Many devices: read distortion, per-device energy map and conductance histogram of a layer."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_array
from snn_rram.crossbar import Crossbar
from snn_rram.errors import SnnRramError
from snn_rram.plot._common import (
    auto_prefix,
    base_of,
    display_unit,
    matrix,
    new_axes,
    stored_values,
)
from snn_rram.plot.devices import _levels

__all__ = ["plot_conductance_histogram", "plot_distortion", "plot_energy_heatmap"]

#: Largest image drawn per axis; bigger layers are shown as block means.
MAX_PIXELS = 1024


def _devices(xbar: Crossbar):
    """Programmed and effective conductance of every device, 1-D, S."""
    gain = xbar.static_gain()
    if xbar.is_sparse:
        coo = sp.csr_matrix(xbar.G).tocoo()
        g = coo.data
        if sp.issparse(gain):
            eff = np.asarray(sp.csr_matrix(gain)[coo.row, coo.col]).ravel()
        else:
            eff = np.asarray(gain)[coo.row, coo.col]
        keep = g > 0
        return g[keep], eff[keep]
    G = np.asarray(xbar.G)
    keep = G > 0  # 0 S: no device
    return G[keep], np.asarray(gain)[keep]


def plot_distortion(crossbar, *, axes=None, **kwds):
    """Static read distortion: effective vs programmed conductance of every device.

    The effective conductance is what a device presents to its neuron when its row is read
    alone, ``G_eff = I_neuron / v_read`` (:meth:`Crossbar.static_gain`: voltage division with
    the neuron input, the column's load, sinh nonlinearity, sneak paths of floating rows,
    wires). An ideal read puts every point on the dashed identity line.

    Parameters
    ----------
    crossbar : snn_rram.crossbar.Crossbar
        The programmed array (dense or sparse); cells of 0 S (no device) are left out.
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.scatter` (``s``, ``alpha``, ``c``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        One point per device (``axes.collections[0]``): programmed G on x, ``G_eff`` on y,
        both in the same SI-prefixed unit (usually µS).
    """
    if not isinstance(crossbar, Crossbar):
        raise SnnRramError(
            f"crossbar: expected a snn_rram.crossbar.Crossbar, got {type(crossbar).__name__}"
        )
    g, eff = _devices(crossbar)
    if g.size == 0:
        raise SnnRramError("crossbar: has no device (every conductance is 0 S)")
    factor, unit = auto_prefix(g, "S")
    axes = new_axes(axes, figsize=(5, 5))
    kwds.setdefault("s", 6 if g.size < 20_000 else 1)
    kwds.setdefault("alpha", 0.5)
    if "c" not in kwds:
        kwds.setdefault("color", "C0")
    kwds.setdefault("rasterized", g.size > 5_000)
    kwds.setdefault("label", "devices")
    axes.scatter(g / factor, eff / factor, **kwds)
    top = float(max(g.max(), eff.max())) / factor
    axes.plot([0, top], [0, top], color="k", ls="--", lw=1, label="G_eff = G")
    axes.set_xlim(0, top * 1.03)
    axes.set_ylim(0, top * 1.03)
    axes.set_aspect("equal", adjustable="box")
    ratio = eff / g
    c = crossbar.circuit
    axes.set_title(
        f"{crossbar.n_rows}×{crossbar.n_cols}, {crossbar.device.name}, v_read {c.v_read:g} V: "
        f"G_eff/G mean {ratio.mean():.3f} (min {ratio.min():.3f})",
        loc="left",
        fontsize=9,
    )
    axes.set_xlabel(f"programmed conductance G ({unit})")
    axes.set_ylabel(f"effective conductance G_eff ({unit})")
    axes.legend(fontsize=8, loc="upper left")
    return axes


def block_means(m, max_pixels: int = MAX_PIXELS):
    """An image of a matrix with at most ``max_pixels`` per axis: means over blocks.

    Parameters
    ----------
    m : numpy.ndarray or scipy.sparse.csr_matrix, shape (n_rows, n_cols)
        Dense: every cell counts. Sparse: only the stored entries (devices) count; pixels
        without any are NaN (drawn blank).
    max_pixels : int
        Largest image size per axis.

    Returns
    -------
    image : numpy.ndarray
        Shape ``(ceil(n_rows / fr), ceil(n_cols / fc))``.
    block : tuple of int
        ``(fr, fc)``: rows and columns per pixel.
    """
    n_rows, n_cols = m.shape
    fr, fc = math.ceil(n_rows / max_pixels), math.ceil(n_cols / max_pixels)
    nr, nc = math.ceil(n_rows / fr), math.ceil(n_cols / fc)
    if sp.issparse(m):
        coo = m.tocoo()
        flat = (coo.row // fr) * nc + coo.col // fc
        total = np.bincount(flat, weights=coo.data, minlength=nr * nc)
        count = np.bincount(flat, minlength=nr * nc)
        with np.errstate(invalid="ignore", divide="ignore"):
            image = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return image.reshape(nr, nc), (fr, fc)
    m = np.asarray(m, dtype=np.float64)
    if fr == 1 and fc == 1:
        return m, (1, 1)
    padded = np.full((nr * fr, nc * fc), np.nan)
    padded[:n_rows, :n_cols] = m
    blocks = padded.reshape(nr, fr, nc, fc)
    total = np.nansum(blocks, axis=(1, 3))
    count = np.sum(~np.isnan(blocks), axis=(1, 3))
    return total / count, (fr, fc)


def plot_energy_heatmap(energy, *, axes=None, unit: str = "pJ", **kwds):
    """Energy dissipated in every device of a layer, as an image (rows × columns).

    Parameters
    ----------
    energy : array_like or scipy.sparse matrix, shape (n_rows, n_cols)
        Energy of every device, J (``results.load(path).layers[name].device_energy`` or
        ``SnnResult.layers[k].device_energy``). Sparse layers show blank pixels where there
        is no device.
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    unit : str
        Unit of the colour scale: ``"pJ"`` (default), ``"fJ"``, ``"nJ"``, ...; ``"J"`` picks
        the SI prefix from the data.
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.imshow` (``cmap``, ``norm``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        The image (``axes.images[0]``, with a colorbar, ``axes.images[0].colorbar``); row and
        column indices on the axes. A layer larger than 1024 cells per axis is shown as means
        over blocks of devices (said in the title).
    """
    E = matrix(energy, "energy", nonnegative=True)
    if base_of(unit) != "J":
        raise SnnRramError(f"unit: expected an energy unit such as 'pJ' or 'J', got {unit!r}")
    factor, shown = display_unit(unit, stored_values(E), "unit")
    image, (fr, fc) = block_means(E)
    n_rows, n_cols = E.shape
    axes = new_axes(axes, figsize=(7, 5))
    kwds.setdefault("cmap", "viridis")
    kwds.setdefault("interpolation", "nearest")
    kwds.setdefault("aspect", "auto")
    kwds.setdefault("origin", "upper")
    kwds.setdefault("extent", (-0.5, n_cols - 0.5, n_rows - 0.5, -0.5))
    im = axes.imshow(image / factor, **kwds)
    label = "energy per device" if fr == fc == 1 else "mean energy per device"
    axes.figure.colorbar(im, ax=axes, label=f"{label} ({shown})")
    axes.set_xlabel("column")
    axes.set_ylabel("row")
    total = float(E.sum())
    t_factor, t_unit = auto_prefix(total, "J")
    title = f"device energy: {n_rows}×{n_cols}, total {total / t_factor:.4g} {t_unit}"
    if fr * fc > 1:
        title += f" (blocks of {fr}×{fc})"
    axes.set_title(title, loc="left", fontsize=10)
    return axes


_MAX_BINS = 100


def _edges(centres: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Bin edges halfway between sorted ``centres``, wide enough to hold every ``g``."""
    if centres.size == 1:
        half = 0.05 * abs(float(centres[0])) or 1e-12
        return np.array([min(centres[0] - half, g.min()), max(centres[0] + half, g.max())])
    mid = (centres[1:] + centres[:-1]) / 2
    lo = min(2 * centres[0] - mid[0], g.min())
    hi = max(2 * centres[-1] - mid[-1], g.max())
    return np.r_[lo, mid, hi]


def plot_conductance_histogram(conductances, *, levels=None, axes=None, **kwds):
    """Histogram of the programmed conductances of a layer.

    Parameters
    ----------
    conductances : array_like or scipy.sparse matrix
        Conductances, S (``crossbar.G`` or ``results.load(path).layers[name].conductances``);
        a dense array's cells of 0 S (no device) are left out, a sparse one's stored entries
        are the devices.
    levels : Levels, Device or array_like, optional
        Programmable levels, S: one bin per level (and the levels marked) instead of even
        bins.
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.hist` (``bins``, ``color``, ``log``, ...;
        log counts by default).

    Returns
    -------
    matplotlib.axes.Axes
        Conductance (µS or the fitting SI prefix) on x, devices per bin on y.
    """
    if sp.issparse(conductances):
        g = stored_values(matrix(conductances, "conductances", nonnegative=True))
    else:
        g = as_array(conductances, "conductances", "siemens", ndim=(1, 2), nonnegative=True)
        g = g.ravel()
        g = g[g != 0]
    if g.size == 0:
        raise SnnRramError("conductances: no device (empty, or every conductance is 0 S)")
    values = None if levels is None else _levels(levels)
    factor, unit = auto_prefix(g if values is None else np.r_[g, values], "S")
    axes = new_axes(axes, figsize=(6.4, 3.6))
    if "bins" not in kwds:
        # one bin per level, or per distinct value when there are few (programmed levels)
        centres = values if values is not None else np.unique(g)
        if centres.size > _MAX_BINS:
            kwds["bins"] = _MAX_BINS
        else:
            kwds["bins"] = _edges(centres, g) / factor
    kwds.setdefault("log", True)
    kwds.setdefault("color", "C0")
    axes.hist(g / factor, **kwds)
    if values is not None:
        axes.vlines(
            values / factor,
            0,
            1,
            transform=axes.get_xaxis_transform(),
            color="0.75",
            lw=0.5,
            zorder=0,
            label="levels",
        )
    axes.set_xlabel(f"conductance ({unit})")
    axes.set_ylabel("devices")
    axes.set_title(
        f"{g.size} devices, mean {g.mean() / factor:.3g} {unit}", loc="left", fontsize=10
    )
    return axes
