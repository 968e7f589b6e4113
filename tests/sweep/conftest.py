"""Small sweeps: the bundled MLP on two images of 10 ms each, Brian2's numpy target."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models" / "networks" / "mlp_784_256_10.npz"


def write_base(folder: Path, **sections) -> Path:
    """A small run config (sections given as TOML bodies replace the defaults)."""
    defaults = {
        "network": f'weights = "{MLP}"',
        "data": "n_images = 2\nn_calibration = 50",
        "encoder": 'image_duration = "10 ms"\nmax_rate = "200 Hz"',
        "simulation": 'target = "numpy"\nprogress = false',
        "output": "figure = false",
    }
    defaults.update(sections)
    path = folder / "base.toml"
    path.write_text("".join(f"[{name}]\n{body}\n" for name, body in defaults.items()))
    return path


def write_sweep(folder: Path, body: str, name: str = "sweep.toml") -> Path:
    """A sweep file on ``base.toml`` (written when missing) with results in ``out/``."""
    if not (folder / "base.toml").exists():
        write_base(folder)
    path = folder / name
    path.write_text(f'base = "base.toml"\ndirectory = "out"\n{body}')
    return path


def file_state(folder: Path) -> dict:
    """Every file of a folder with its inode and modification time (to tell rewrites)."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()
    }


@pytest.fixture(autouse=True)
def no_scheduler_from_the_environment(monkeypatch):
    """Local clusters unless a test asks for a scheduler (a CI setting must not leak in)."""
    monkeypatch.delenv("SNN_RRAM_SCHEDULER", raising=False)


@pytest.fixture(scope="module")
def cluster():
    """A running 2-worker cluster, reached by address like a remote one."""
    import logging

    from dask.distributed import LocalCluster

    c = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.CRITICAL,
    )
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def client(cluster):
    from dask.distributed import Client

    with Client(cluster.scheduler_address) as c:
        yield c


def worker_pids(client) -> set[int]:
    return set(client.run(os.getpid).values())
