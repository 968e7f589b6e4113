"""Figures of runs, in the brian2tools style: ``plot_x(..., axes=None, **kwds)`` returns axes.

Units appear in the axis labels. Functions draw on the given axes or on a new figure; nothing
is shown or saved here (see :func:`save_figure`).
"""

from snn_rram.plot.figures import plot_raster, plot_run_summary, save_figure

__all__ = ["plot_raster", "plot_run_summary", "save_figure"]
