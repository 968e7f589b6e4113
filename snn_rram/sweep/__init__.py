"""Batch sweeps of run configs on dask.distributed.

A sweep file (:func:`load_sweep`) names a base run config and the axes to vary; :func:`run`
runs every point not yet complete — one HDF5 result file per point, named by a hash of its
config — and writes a summary table; :func:`load` reads it back as a pandas DataFrame.
"""

from snn_rram.sweep.runner import run_point, run_sweep
from snn_rram.sweep.spec import Point, SweepSpec, load_sweep, point_key
from snn_rram.sweep.summary import load

run = run_sweep

__all__ = [
    "Point",
    "SweepSpec",
    "load",
    "load_sweep",
    "point_key",
    "run",
    "run_point",
    "run_sweep",
]
