"""Sweep throughput: the same points on a 1-worker and a 2-worker local dask cluster.

8 points of the bundled MLP (784-256-10, ``models/networks/mlp_784_256_10.npz``) on the first
``--images`` bundled MNIST test images of ``--image-ms`` each, cpp_standalone: mapping bits
2 to 9 (more points add mapping seeds). All points have the same network shape and input
spikes: one compile serves them all (a worker reuses its project through run arguments, and the
second worker takes the first one's compile from the build cache instead of compiling the same
code again). Both runs start from nothing: a fresh results folder (no point is resumed) and a
fresh ``$SNN_RRAM_BUILD_DIR`` (empty build cache); the times are those of ``run_sweep``, the
start of the local cluster included.

Machine-readable lines::

    run workers=1 points=8 wall_s=... builds=1
    run workers=2 points=8 wall_s=... builds=1
    workers=2 points=8 serial_s=... parallel_s=... parallel_efficiency=0.87
    reuse workers=1 first_point_s=... later_point_s=... first_build_s=... later_build_s=... \
speedup=...

``parallel_efficiency = serial_s / (2 · parallel_s)`` (target >= 0.80). The ``reuse`` lines
compare, from the per-point metrics of the summary, the first point of each worker (which
compiles the standalone project, or waits for the other worker's compile: the time every point
would take without build reuse) with its later points (which reuse it).

With ``--repeats N`` both sweeps run N times, alternating, and the fastest of each counts (the
machine's other work only ever slows a run down).

Usage: ``python benchmarks/bench_sweep.py [--images 1000] [--image-ms 100] [--points 8]
[--repeats 1]``
"""

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MLP = ROOT / "models" / "networks" / "mlp_784_256_10.npz"


def write_sweep(folder: Path, args, workers: int) -> Path:
    (folder / "base.toml").write_text(
        f"""[network]
weights = "{MLP}"
[data]
n_images = {args.images}
n_calibration = 500
[encoder]
max_rate = "200 Hz"
image_duration = "{args.image_ms} ms"
seed = 0
[simulation]
target = "{args.target}"
energy = true
progress = false
[output]
figure = false
"""
    )
    bits = [2, 3, 4, 5, 6, 7, 8, 9]
    n_seeds = -(-args.points // len(bits))
    grid = f'"mapping.bits" = {bits[: min(args.points, len(bits))]}\n'
    grid += f'"mapping.seed" = {list(range(n_seeds))}\n'
    path = folder / "sweep.toml"
    path.write_text(
        f'base = "base.toml"\ndirectory = "out"\nworkers = {workers}\nretries = 0\n[grid]\n{grid}'
    )
    return path


def run(root: Path, args, workers: int, repeat: int):
    """One sweep from scratch; returns its wall time and summary."""
    from snn_rram.sweep import load_sweep, run_sweep

    folder = root / f"repeat{repeat}" / f"workers{workers}"
    folder.mkdir(parents=True)
    os.environ["SNN_RRAM_BUILD_DIR"] = str(folder / "build")  # inherited by the workers
    spec = load_sweep(write_sweep(folder, args, workers))
    assert len(spec.points()) == args.points
    t = time.perf_counter()
    frame = run_sweep(spec, progress=False, workers=workers)
    wall = time.perf_counter() - t
    failed = frame[frame["status"] != "done"]
    if len(failed):
        raise SystemExit(f"{len(failed)} point(s) not done: {failed['error'].iloc[0]}")
    return wall, frame


def reuse(frame):
    """Mean wall time and build time of each worker's first point and of its later ones."""
    first = frame.loc[frame.groupby("worker_pid")["build_s"].idxmax()]
    later = frame.drop(index=first.index)
    return {
        "first_point_s": first["wall_time"].mean(),
        "later_point_s": later["wall_time"].mean() if len(later) else float("nan"),
        "first_build_s": first["build_s"].mean(),
        "later_build_s": later["build_s"].mean() if len(later) else float("nan"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="test images per point")
    parser.add_argument("--image-ms", type=float, default=100.0, help="presentation time, ms")
    parser.add_argument("--points", type=int, default=8, help="points (a multiple of 8 or < 8)")
    parser.add_argument(
        "--target", default="cpp_standalone", choices=["cpp_standalone", "cython", "numpy"]
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run both sweeps this many times (alternating) and keep each one's fastest",
    )
    parser.add_argument("--keep", action="store_true", help="keep the results and build folders")
    args = parser.parse_args()
    if args.points > 8 and args.points % 8:
        parser.error("--points: up to 8, or a multiple of 8")

    (ROOT / "build").mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench_sweep_", dir=ROOT / "build"))
    # other work on the machine skews both runs: say how busy it was before they started
    print(f"machine cpus={os.cpu_count()} load1_before={os.getloadavg()[0]:.1f}", flush=True)
    try:
        times, frames = {}, {}
        for repeat in range(args.repeats):
            for workers in (1, 2):
                wall, frame = run(root, args, workers, repeat)
                builds = int(frame["compiled"].sum())
                print(
                    f"run workers={workers} points={args.points} wall_s={wall:.1f} "
                    f"builds={builds}",
                    flush=True,
                )
                if wall < times.get(workers, float("inf")):
                    times[workers], frames[workers] = wall, frame
        serial, parallel = times[1], times[2]
        print(
            f"workers=2 points={args.points} serial_s={serial:.1f} parallel_s={parallel:.1f} "
            f"parallel_efficiency={serial / (2 * parallel):.2f}",
            flush=True,
        )
        for workers, frame in frames.items():
            r = reuse(frame)
            print(
                f"reuse workers={workers} first_point_s={r['first_point_s']:.2f} "
                f"later_point_s={r['later_point_s']:.2f} first_build_s={r['first_build_s']:.2f} "
                f"later_build_s={r['later_build_s']:.3f} "
                f"speedup={r['first_point_s'] / r['later_point_s']:.1f}",
                flush=True,
            )
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
