"""kill -9 of a running ``snn-rram sweep``, then resuming it: no point lost, doubled or corrupt."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import psutil
import pytest

from snn_rram import results, sweep
from snn_rram._io import is_temporary
from snn_rram.sweep import load_sweep

from .conftest import file_state, write_sweep

TIMEOUT = 240  # s, for anything the test waits for


def start(path, log):
    """``snn-rram sweep`` in a session (process group) of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "snn_rram.cli", "sweep", str(path), "--quiet"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def complete(spec):
    folder = spec.directory / "points"
    return {p.key for p in spec.points() if results.is_complete(folder / f"{p.key}.h5")}


def wait_for_new_points(proc, spec, before, n_points):
    """Until a point beyond ``before`` is complete (and not all are)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        done = complete(spec)
        if done - before:
            assert len(done) < n_points, "the sweep finished before it could be killed"
            return done
        assert proc.poll() is None, f"the sweep ended early ({proc.returncode})"
        time.sleep(0.05)
    raise AssertionError("no point finished in time")


def group_members(pgid):
    """Live (not zombie) processes of a process group."""
    alive = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return alive


def wait_group_gone(pgid, timeout=30.0):
    deadline = time.monotonic() + timeout
    while (alive := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def check_state_after_kill(spec, finished):
    """Only complete files under final names; temporaries are not results; summary consistent."""
    folder = spec.directory / "points"
    keys = {p.key for p in spec.points()}
    for path in folder.iterdir():
        if is_temporary(path):
            assert not results.is_complete(path)
            continue
        assert path.suffix == ".h5" and path.stem in keys, path.name
        assert results.is_complete(path), f"{path.name} has a final name but is not complete"
        results.load(path)
    assert complete(spec) == finished
    summary = spec.directory / "summary.csv"
    if summary.exists():  # written after each point: only finished points, once each
        table = pd.read_csv(summary)
        assert table["key"].is_unique and set(table["key"]) <= finished
        assert set(table["status"]) <= {"done", "resumed"}


def test_kill_9_of_the_sweep_then_resume(tmp_path):
    path = write_sweep(
        tmp_path,
        'workers = 2\n[grid]\n"mapping.bits" = [2, 3, 4, 5, 6]\n"encoder.seed" = [0, 1]\n',
    )
    spec = load_sweep(path)
    n = len(spec.points())
    assert n == 10
    log = open(tmp_path / "sweep.log", "wb")  # closed at the end

    # 1. kill -9 of the whole process group: the sweep, its workers and their children
    proc = start(path, log)
    pgid = os.getpgid(proc.pid)
    try:
        first = wait_for_new_points(proc, spec, set(), n)
        members = group_members(pgid)
        assert len(members) >= 3  # the sweep and its two workers (at least)
        os.killpg(pgid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert wait_group_gone(pgid) == []
    first = complete(spec)
    state = file_state(spec.directory / "points")
    time.sleep(2.0)  # nothing of the killed sweep writes any more
    assert file_state(spec.directory / "points") == state
    check_state_after_kill(spec, first)

    # 2. kill -9 of the sweep process alone: its workers must not outlive it
    proc = start(path, log)
    pgid = os.getpgid(proc.pid)
    try:
        wait_for_new_points(proc, spec, first, n)
        assert len(group_members(pgid)) >= 3
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        survivors = wait_group_gone(pgid)
    finally:
        if group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(timeout=60)
    assert survivors == [], "worker processes outlived the killed sweep"
    second = complete(spec)
    state2 = file_state(spec.directory / "points")
    time.sleep(2.0)
    assert file_state(spec.directory / "points") == state2
    check_state_after_kill(spec, second)
    assert first < second < {p.key for p in spec.points()}
    for name, stamp in state.items():  # run 2 left what run 1 finished alone
        if not is_temporary(name):
            assert state2[name] == stamp

    # 3. resume to the end
    proc = start(path, log)
    try:
        assert proc.wait(timeout=TIMEOUT) == 0, (tmp_path / "sweep.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    frame = sweep.load(spec.directory)
    keys = [p.key for p in spec.points()]
    assert list(frame["key"]) == keys  # every point exactly once
    status = dict(zip(frame["key"], frame["status"], strict=True))
    assert {k for k, s in status.items() if s == "resumed"} == second
    assert {k for k, s in status.items() if s == "done"} == set(keys) - second
    final = file_state(spec.directory / "points")
    assert sorted(final) == sorted(f"{k}.h5" for k in keys)  # temporaries cleared
    for name, stamp in state2.items():  # finished points were not computed again
        if not is_temporary(name):
            assert final[name] == stamp
    for row in frame.itertuples():
        rec = results.load(spec.directory / "points" / f"{row.key}.h5")
        assert rec.metrics["snn_accuracy"] == pytest.approx(row.snn_accuracy)
    csv = pd.read_csv(spec.directory / "summary.csv")
    assert list(csv["key"]) == keys and list(csv["status"]) == list(frame["status"])
