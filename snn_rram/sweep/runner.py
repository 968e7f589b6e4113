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
a crash or ``kill -9`` loses at most the points in flight. Local workers are child processes in
the sweep's process group and exit when it dies (dask's nanny watches its parent), so none
outlives a killed sweep. One run at a time holds a sweep directory (a lock file,
``.sweep.lock``, released by the kernel even on ``kill -9``); the run that holds it removes the
temporary files a killed run left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path

import numpy as np

from snn_rram import results
from snn_rram._io import locked, temporaries
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


def _row_from_file(point: Point, path: Path, status: str) -> dict | None:
    """The summary row of a complete point file, or None when it does not load (rerun it)."""
    try:
        rec = results.load(path)
    except Exception:  # complete but unreadable (e.g. a newer schema): run the point again
        return None
    metrics = {k: float(v) for k, v in rec.metrics.items() if np.ndim(v) == 0}
    return _row(point, status, file=str(path), **metrics)


@contextlib.contextmanager
def _hold(directory: Path):
    """Hold the sweep directory for this run (yields whether the lock could be taken).

    A lock on ``<directory>/.sweep.lock`` (:func:`snn_rram._io.locked`): the kernel drops it
    when the process ends, ``kill -9`` included, so a killed run never blocks the next one. The
    holder writes its process id and host into the lock file (the lock is on the file, not on
    its contents). File systems without locks run unlocked, and then leave the temporary files
    of other runs alone.
    """
    lock = directory / ".sweep.lock"
    try:
        holder = lock.read_text(encoding="utf-8", errors="replace").strip()[:200]
    except OSError:
        holder = ""
    busy = (
        f"sweep: directory {str(directory)!r} is in use by another run "
        f"({holder or 'another process'}); wait for it to finish or stop it first"
    )
    with locked(lock, wait=False, busy=busy) as held:
        if held:
            with open(lock, "r+", encoding="utf-8") as fh:  # same file: the lock stays
                fh.truncate()
                fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        yield held


def _remove_stale_temporaries(directory: Path, points: list[Point]) -> int:
    """Remove what killed runs left half-written: point and summary temporary files."""
    stale = [*temporaries(directory / "summary.csv"), *temporaries(directory / "summary.h5")]
    for p in points:
        stale += temporaries(directory / "points" / f"{p.key}.h5")
    for path in stale:
        with contextlib.suppress(OSError):
            path.unlink()
    return len(stale)


def _progress_bar(progress: bool, **kwds):
    """A tqdm bar: a widget in notebooks with ipywidgets, text elsewhere (or none)."""
    if progress:
        try:
            from tqdm.auto import tqdm

            return tqdm(**kwds)
        except ImportError:  # a notebook without ipywidgets: tqdm's text bar still shows there
            pass
    from tqdm import tqdm

    return tqdm(disable=not progress, **kwds)


def _client(scheduler, workers):
    from dask.distributed import Client, LocalCluster

    address = scheduler or os.environ.get("SNN_RRAM_SCHEDULER")
    if address:
        try:
            return Client(address), None
        except (OSError, TimeoutError) as exc:
            raise SnnRramError(
                f"sweep: cannot connect to the dask scheduler at {address!r} "
                f"(--scheduler or $SNN_RRAM_SCHEDULER): {exc}"
            ) from exc
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        # no dashboard; the scheduler's small HTTP server takes a free port instead of 8787,
        # so two sweeps (or a notebook's cluster) do not warn about a port in use
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
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

    Raises
    ------
    SnnRramError
        When every point failed, the scheduler cannot be reached, or another run holds the
        sweep directory.
    """
    points = spec.points()
    point_dir = spec.directory / "points"
    point_dir.mkdir(parents=True, exist_ok=True)
    with _hold(spec.directory) as held:
        if held:
            _remove_stale_temporaries(spec.directory, points)
        return _run_points(spec, points, scheduler, progress, workers)


def _run_points(spec: SweepSpec, points: list[Point], scheduler, progress, workers):
    from dask.distributed import as_completed

    point_dir = spec.directory / "points"
    rows: dict[str, dict] = {}
    todo = []
    for p in points:
        path = point_dir / f"{p.key}.h5"
        row = _row_from_file(p, path, "resumed") if results.is_complete(path) else None
        if row is None:
            todo.append(p)
        else:
            rows[p.key] = row
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
            bar = _progress_bar(
                progress,
                total=len(points),
                initial=len(points) - len(todo),
                unit="point",
                desc=spec.name,
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
