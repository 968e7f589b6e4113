"""Running a sweep on dask.distributed: one task per point, resumable, with retries.

Without a scheduler address a :class:`~dask.distributed.LocalCluster` starts with one
single-threaded worker process per core (or ``workers`` of the sweep file). With one
(``--scheduler tcp://host:port`` or ``$SNN_RRAM_SCHEDULER``) the points go to that cluster; on a
SLURM machine start one with dask-jobqueue::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="02:00:00")
    cluster.scale(jobs=16)
    print(cluster.scheduler_address)   # give it to `snn-rram sweep --scheduler ...`

Each worker process keeps its compiled Brian2 standalone project between points of the same
network shape (conductances change through run arguments) in a build folder of its own.
A point's result file is written atomically, so re-running a sweep skips every complete file:
a crash or ``kill -9`` loses at most the points in flight.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from snn_rram import results
from snn_rram.errors import SnnRramError
from snn_rram.sweep.spec import Point, SweepSpec
from snn_rram.sweep.summary import write_summary

__all__ = ["run_point", "run_sweep"]


def run_point(config_toml: str, base_dir: str) -> dict:
    """Run one point (on a worker): the pipeline with its result file; returns its metrics."""
    from snn_rram.experiments.config import parse_config
    from snn_rram.experiments.pipeline import run

    cfg = parse_config(config_toml, base_dir)
    outcome = run(cfg, save=True)
    metrics = {
        k: float(v)
        for k, v in outcome.metrics.items()
        if isinstance(v, int | float | np.floating | np.integer)
    }
    return {"metrics": metrics, "file": str(outcome.path), "worker_pid": os.getpid()}


def _row(point: Point, status: str, **values) -> dict:
    row = {"key": point.key, **{k: v for k, v in point.axes.items()}, "status": status}
    row.update(values)
    return row


def _row_from_file(point: Point, path: Path, status: str) -> dict:
    rec = results.load(path)
    metrics = {k: float(v) for k, v in rec.metrics.items() if np.ndim(v) == 0}
    return _row(point, status, file=str(path), **metrics)


def _client(scheduler, workers):
    from dask.distributed import Client, LocalCluster

    address = scheduler or os.environ.get("SNN_RRAM_SCHEDULER")
    if address:
        return Client(address), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


def run_sweep(
    spec: SweepSpec,
    *,
    scheduler: str | None = None,
    progress: bool = True,
    workers: int | None = None,
):
    """Run every point of ``spec`` not already complete; returns the summary DataFrame.

    Parameters
    ----------
    spec : SweepSpec
    scheduler : str, optional
        Address of a running dask scheduler (default ``$SNN_RRAM_SCHEDULER``, else a local
        cluster).
    progress : bool
        A tqdm bar over completed points (in terminals and notebooks).
    workers : int, optional
        Worker processes of the local cluster (default: the sweep file's, else one per core).

    Returns
    -------
    pandas.DataFrame
        One row per point: its axes, ``status`` (``done``, ``resumed``, ``failed``), the
        metrics (``wall_time``: the pipeline's, s), ``file``, ``worker_pid`` and ``error``.
        Written as ``summary.csv`` and ``summary.h5`` in the sweep directory.
    """
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    points = spec.points()
    point_dir = spec.directory / "points"
    point_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    todo = []
    for p in points:
        path = point_dir / f"{p.key}.h5"
        if results.is_complete(path):
            rows[p.key] = _row_from_file(p, path, "resumed")
        else:
            todo.append(p)
    order = [p.key for p in points]
    write_summary(spec, [rows[k] for k in order if k in rows])
    if todo:
        client, cluster = _client(scheduler, workers or spec.workers)
        try:
            futures = {
                client.submit(
                    run_point,
                    p.config.to_toml(),
                    p.config.base_dir,
                    key=f"point-{p.key}",
                    retries=spec.retries,
                    pure=False,
                ): p
                for p in todo
            }
            bar = tqdm(
                total=len(points),
                initial=len(points) - len(todo),
                unit="point",
                desc=spec.name,
                disable=not progress,
            )
            for fut in as_completed(futures):
                p = futures[fut]
                try:
                    out = fut.result()
                    rows[p.key] = _row(
                        p, "done", file=out["file"], worker_pid=out["worker_pid"], **out["metrics"]
                    )
                except Exception as exc:  # reported in the summary; the other points go on
                    rows[p.key] = _row(p, "failed", error=f"{type(exc).__name__}: {exc}")
                bar.update(1)
                write_summary(spec, [rows[k] for k in order if k in rows])
            bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    frame = write_summary(spec, [rows[k] for k in order])
    failed = frame[frame["status"] == "failed"] if "status" in frame else frame.iloc[0:0]
    if len(failed) == len(frame) and len(frame):
        raise SnnRramError(f"sweep: every point failed; first error: {failed['error'].iloc[0]}")
    return frame
