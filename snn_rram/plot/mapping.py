"""A mapped layer: the weights its conductances realise, nominal and as read."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from snn_rram.errors import SnnRramError
from snn_rram.mapping import Mapping
from snn_rram.plot._common import matrix, new_axes

__all__ = ["plot_mapping"]


def _paired(nominal, effective, name="mapping.nominal_weight"):
    """The entries of two (n_out, n_in) weight matrices at the same synapses, as 1-D arrays."""
    a = matrix(nominal, name)
    b = matrix(effective, "mapping.effective_weight")
    if a.shape != b.shape:
        raise SnnRramError(
            f"mapping.effective_weight: shape {b.shape} differs from {name} {a.shape}"
        )
    if sp.issparse(a) or sp.issparse(b):
        template = a if sp.issparse(a) else b
        coo = sp.csr_matrix(template).tocoo()  # the stored synapses (explicit zeros included)
        rows, cols = coo.row, coo.col

        def at(m):
            if sp.issparse(m):
                return np.asarray(sp.csr_matrix(m)[rows, cols]).ravel()
            return np.asarray(m)[rows, cols]

        return at(a), at(b)
    return a.ravel(), b.ravel()


def plot_mapping(mapping, *, target=None, axes=None, **kwds):
    """Weight error of a mapping: effective (read) vs nominal (programmed) weight per synapse.

    The nominal weight is what the programmed conductances represent with ideal reads; the
    effective weight is what the array delivers when read (static read distortion and column
    loads included, :meth:`Crossbar.static_gain`). Both are in normalised-weight units
    (conductance difference divided by ``mapping.g_per_weight``). Points on the dashed
    identity line are read without error.

    Parameters
    ----------
    mapping : snn_rram.mapping.Mapping
        What a mapping method returned (it must carry ``nominal_weight``).
    target : array_like or sparse matrix, shape (n_out, n_in), optional
        The weights the mapping was asked for (normalised, e.g. ``ann.convert(...)``'s layer
        weights): plotted on x instead of the nominal weights. The fair view of distortion-aware
        methods such as ``qwsm``, whose programmed (nominal) weights are deliberately off.
    axes : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    **kwds
        Passed to :meth:`matplotlib.axes.Axes.scatter` (``s``, ``alpha``, ``color``, ...).

    Returns
    -------
    matplotlib.axes.Axes
        One point per synapse (``axes.collections[0]``), nominal on x and effective on y.
    """
    if not isinstance(mapping, Mapping):
        raise SnnRramError(
            f"mapping: expected a snn_rram.mapping.Mapping, got {type(mapping).__name__}"
        )
    if target is not None:
        nominal, effective = _paired(target, mapping.effective_weight, "target")
    elif mapping.nominal_weight is None:
        raise SnnRramError(
            "mapping.nominal_weight: this mapping has no nominal weights to compare with"
        )
    else:
        nominal, effective = _paired(mapping.nominal_weight, mapping.effective_weight)
    axes = new_axes(axes, figsize=(5, 5))
    kwds.setdefault("s", 4 if nominal.size < 20_000 else 1)
    kwds.setdefault("alpha", 0.5)
    kwds.setdefault("color", "C0")
    kwds.setdefault("rasterized", nominal.size > 5_000)
    kwds.setdefault("label", "synapses")
    axes.scatter(nominal, effective, **kwds)
    lo = float(min(nominal.min(), effective.min()))
    hi = float(max(nominal.max(), effective.max()))
    axes.plot([lo, hi], [lo, hi], color="k", ls="--", lw=1, label="identity")
    rmse = float(np.sqrt(np.mean((effective - nominal) ** 2)))
    # least-squares gain through the origin: how much the reads shrink the weights
    den = float(np.dot(nominal, nominal))
    gain = float(np.dot(nominal, effective)) / den if den > 0 else float("nan")
    method = mapping.report.get("method", "mapping") if isinstance(mapping.report, dict) else ""
    axes.set_title(
        f"{method}: {nominal.size} synapses, read gain {gain:.3f}, RMS error {rmse:.3g}",
        loc="left",
        fontsize=10,
    )
    axes.set_xlabel(
        "target weight (normalised)"
        if target is not None
        else "nominal weight (programmed G, ideal read; normalised)"
    )
    axes.set_ylabel("effective weight (as read; normalised)")
    axes.legend(fontsize=8, loc="upper left")
    return axes
