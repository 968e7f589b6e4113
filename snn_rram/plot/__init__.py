"""Figures of runs, in the brian2tools style: ``plot_x(..., axes=None, **kwds)`` returns axes.

Units appear in the axis labels. Functions draw on the given axes or on a new figure; nothing
is shown or saved here (see :func:`save_figure`), except by :func:`standard_figures`, which
writes the standard PNGs of a result file or a sweep summary (``snn-rram plot FILE``).

==================================  ===========================================================
:func:`plot_raster`                 spike raster
:func:`plot_traces`                 membrane potentials, column voltages, currents over time
:func:`plot_iv`                     device read I–V curves, with measured points
:func:`plot_levels`                 programmable conductance levels and their use
:func:`plot_mapping`                effective vs nominal weight of a mapping
:func:`plot_distortion`             effective vs programmed conductance of every device
:func:`plot_energy_heatmap`         per-device energy of a layer (rows × columns)
:func:`plot_conductance_histogram`  programmed conductances of a layer
:func:`plot_sweep`                  a metric against a sweep axis
:func:`plot_run_summary`            rasters and per-class accuracy of a run
:func:`plot_analog_summary`         per-class accuracy and energy per image of an analog run
:func:`standard_figures`            the standard PNGs of a run file or a sweep summary
==================================  ===========================================================
"""

from snn_rram.plot.crossbar import (
    plot_conductance_histogram,
    plot_distortion,
    plot_energy_heatmap,
)
from snn_rram.plot.devices import plot_iv, plot_levels
from snn_rram.plot.figures import (
    plot_analog_summary,
    plot_raster,
    plot_run_summary,
    save_figure,
)
from snn_rram.plot.mapping import plot_mapping
from snn_rram.plot.standard import standard_figures
from snn_rram.plot.sweep import plot_sweep
from snn_rram.plot.traces import plot_traces

__all__ = [
    "plot_analog_summary",
    "plot_conductance_histogram",
    "plot_distortion",
    "plot_energy_heatmap",
    "plot_iv",
    "plot_levels",
    "plot_mapping",
    "plot_raster",
    "plot_run_summary",
    "plot_sweep",
    "plot_traces",
    "save_figure",
    "standard_figures",
]
