"""Sweeps on real dask clusters: done, failed and resumed points, retries, worker crashes."""

import fcntl
import os
import signal
import threading
import time

import dask
import h5py
import numpy as np
import pytest

from snn_rram import results, sweep
from snn_rram.errors import SnnRramError
from snn_rram.sweep import load_sweep, run_sweep

from .conftest import file_state, worker_pids, write_sweep

GRID = '[grid]\n"mapping.bits" = [2, 3]\n"encoder.seed" = [0, 1]\n'
MISSING = '[[extra]]\nlabel = "missing"\n"mapping.bits" = 2\n"encoder.seed" = 0\n'
MISSING += '"network.weights" = "no_such_weights.npz"\n'
BAD_WEIGHTS = '[[extra]]\nlabel = "bad_weights"\n"mapping.bits" = 2\n"encoder.seed" = 0\n'
# a weights file that exists but holds no network: found only when the point runs (a bad
# method or option value is refused when the sweep is loaded)
BAD_WEIGHTS += '"network.weights" = "base.toml"\n'


def check_done(frame, spec):
    """Rows of finished points: complete, loadable files whose metrics are the row's."""
    for row in frame[frame["status"].isin(["done", "resumed"])].itertuples():
        path = spec.directory / "points" / f"{row.key}.h5"
        assert row.file == str(path)
        assert results.is_complete(path)
        rec = results.load(path)
        assert rec.metrics["snn_accuracy"] == pytest.approx(row.snn_accuracy)
        assert rec.metrics["n_images"] == 2


def point_files(spec):
    return sorted(p.name for p in (spec.directory / "points").iterdir())


def test_local_cluster_runs_points_reports_failures_and_resumes(tmp_path):
    body = f"workers = 2\nretries = 1\n{GRID}{MISSING}{BAD_WEIGHTS}"
    spec = load_sweep(write_sweep(tmp_path, body))
    points = spec.points()
    assert len(points) == 6
    frame = run_sweep(spec, progress=False)

    assert list(frame["key"]) == [p.key for p in points]  # each point once, in order
    status = dict(zip(frame["label"], frame["status"], strict=True))
    assert status == {"": "done", "missing": "failed", "bad_weights": "failed"}
    assert (frame["status"] == "done").sum() == 4
    errors = dict(zip(frame["label"], frame["error"], strict=True))
    assert "network.weights" in errors["missing"] and "not found" in errors["missing"]
    assert "base.toml" in errors["bad_weights"]
    check_done(frame, spec)
    # two worker processes shared the work
    assert frame.loc[frame["status"] == "done", "worker_pid"].nunique() == 2
    # the summary files say the same
    for table in (sweep.load(spec.directory), sweep.load(spec.directory / "summary.csv")):
        assert list(table["key"]) == list(frame["key"])
        assert list(table["status"]) == list(frame["status"])
    # one file per finished point, nothing else
    done_keys = set(frame.loc[frame["status"] == "done", "key"])
    assert point_files(spec) == sorted(f"{k}.h5" for k in done_keys)

    before = file_state(spec.directory / "points")
    again = run_sweep(spec, progress=False)
    assert list(again["key"]) == list(frame["key"])
    assert set(again.loc[again["status"] == "resumed", "key"]) == done_keys
    assert list(again.loc[again["status"] == "failed", "label"]) == ["missing", "bad_weights"]
    assert file_state(spec.directory / "points") == before  # nothing was computed again
    check_done(again, spec)


def test_failed_points_are_retried_as_configured(tmp_path, cluster):
    # (each test on the shared cluster has points of its own: its seed)
    body = f'retries = 2\n[grid]\n"mapping.bits" = [3]\n"encoder.seed" = [101]\n{MISSING}'
    spec = load_sweep(write_sweep(tmp_path, body))
    frame = run_sweep(spec, scheduler=cluster.scheduler_address, progress=False)
    assert list(frame["status"]) == ["done", "failed"]
    failing = frame["key"].iloc[1]
    story = cluster.scheduler.story(f"point-{failing}")
    assert sum(1 for entry in story if entry[2] == "processing") == 3  # 1 try + 2 retries
    story = cluster.scheduler.story(f"point-{frame['key'].iloc[0]}")
    assert sum(1 for entry in story if entry[2] == "processing") == 1


def test_scheduler_from_the_environment(tmp_path, cluster, client, monkeypatch):
    monkeypatch.setenv("SNN_RRAM_SCHEDULER", cluster.scheduler_address)
    body = '[grid]\n"mapping.bits" = [3, 4]\n"encoder.seed" = [102]\n'
    spec = load_sweep(write_sweep(tmp_path, body))
    frame = run_sweep(spec, progress=False)
    assert list(frame["status"]) == ["done", "done"]
    assert set(frame["worker_pid"]) <= worker_pids(client)
    check_done(frame, spec)


def test_unreachable_scheduler_is_an_error(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, '[grid]\n"mapping.bits" = [3]\n'))
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(SnnRramError, match="cannot connect to the dask scheduler"),
    ):
        run_sweep(spec, scheduler="tcp://127.0.0.1:9", progress=False)


def test_leftovers_of_a_killed_run_are_neither_results_nor_kept(tmp_path, cluster):
    body = '[grid]\n"mapping.bits" = [2, 3, 4]\n"encoder.seed" = [103]\n'
    spec = load_sweep(write_sweep(tmp_path, body))
    a, b, c = spec.points()
    points = spec.directory / "points"
    points.mkdir(parents=True)
    # a: a truncated file under the final name; b: a file without the `complete` mark;
    # c: only the temporary file of an interrupted save; plus a half-written summary
    (points / f"{a.key}.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with h5py.File(points / f"{b.key}.h5", "w") as f:
        f.attrs["schema_version"] = np.int64(results.SCHEMA_VERSION)
    (points / f".{c.key}.h5.k2j4x9a1.tmp").write_bytes(b"\x89HDF\r\n\x1a\n")
    (spec.directory / ".summary.csv.x1y2z3.tmp").write_text("key\n")
    frame = run_sweep(spec, scheduler=cluster.scheduler_address, progress=False)
    assert list(frame["status"]) == ["done", "done", "done"]
    check_done(frame, spec)
    assert point_files(spec) == sorted(f"{p.key}.h5" for p in (a, b, c))
    assert sorted(p.name for p in spec.directory.iterdir()) == [
        ".sweep.lock",
        "points",
        "summary.csv",
        "summary.h5",
    ]


def test_a_directory_in_use_is_refused(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, '[grid]\n"mapping.bits" = [3]\n'))
    spec.directory.mkdir()
    with open(spec.directory / ".sweep.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 1 on elsewhere\n")
        fh.flush()
        with pytest.raises(SnnRramError, match="in use by another run"):
            run_sweep(spec, progress=False)
    assert not (spec.directory / "points" / f"{spec.points()[0].key}.h5").exists()


def test_a_worker_killed_mid_point_loses_nothing(tmp_path, cluster, client):
    """kill -9 of a worker while it runs a point: dask runs the point again elsewhere."""
    body = '[grid]\n"mapping.bits" = [2, 3, 4, 5]\n"encoder.seed" = [104]\n'
    spec = load_sweep(write_sweep(tmp_path, body))
    pids = client.run(os.getpid)
    outcome = {}

    def sweep_thread():
        try:
            outcome["frame"] = run_sweep(spec, scheduler=cluster.scheduler_address, progress=False)
        except BaseException as exc:  # reported by the test below
            outcome["error"] = exc

    thread = threading.Thread(target=sweep_thread)
    thread.start()
    victim, in_flight, deadline = None, [], time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and thread.is_alive():
        for address, keys in client.processing().items():
            in_flight = [str(k) for k in keys if str(k).startswith("point-")]
            if in_flight and address in pids:
                victim = pids[address]
                break
        time.sleep(0.05)
    assert victim is not None, "no point started on a worker"
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    frame = outcome["frame"]
    assert list(frame["status"]) == ["done"] * 4
    check_done(frame, spec)
    assert victim not in worker_pids(client)
    # what the killed worker held was run again by another worker
    runs = [
        sum(1 for entry in cluster.scheduler.story(key) if entry[2] == "processing")
        for key in in_flight
    ]
    assert max(runs) >= 2, runs
    # the next run takes every point from its file and clears a temporary file the kill left
    again = run_sweep(spec, scheduler=cluster.scheduler_address, progress=False)
    assert list(again["status"]) == ["resumed"] * 4
    assert point_files(spec) == sorted(f"{p.key}.h5" for p in spec.points())
