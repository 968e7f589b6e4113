"""Device sweeps of training on the array (issue 16 §4): states, γ, nonlinearity, c2c noise.

``python studies/on_array_sweeps.py --out results/on_array_sweeps`` trains a 784-100-10 MLP on
``mnist_5k`` (per-image updates; the schedule, γ and device of ``studies/on_array_accuracy.py``:
η = 0.02 halved every epoch, γ = 5, 50 states, NeuroSim RealDevice curve LTP 2.4 / LTD −4.88,
3.5 % cycle-to-cycle noise) with ``hybrid`` by phase and ``single``, changing one device
property at a time from that baseline:

- ``states``: states per device 10, 20, 50, 100, 200 (LTP and LTD alike);
- ``gamma``: the big/small area ratio γ 2, 5, 10, 20, 50 (``hybrid`` only: ``single`` and
  ``float`` have no big array);
- ``nonlinearity``: LTP label ``v`` and LTD label ``−v`` (the mirrored depression curve, as the
  card's negative LTD label) for ``v`` = 0, 2.4, 5;
- ``c2c``: cycle-to-cycle σ 0, 1, 3.5 % of the range.

``float`` (software SGD, same initialisation, order and schedule) is trained once per seed: no
device property changes it. Writes ``<out>/sweeps.csv`` (one row per axis, value,
configuration and seed: test accuracy per epoch, final train accuracy, pulses per array,
refreshes, wall time) and ``<out>/sweeps.png`` (final test accuracy against each axis, float as
a horizontal line; ``--replot`` redraws it from the CSV). ``--epochs``, ``--n-train``,
``--n-test``, ``--seeds`` and ``--axes`` cut it down; the CSV's ``n_train``/``n_test``/``epochs``
columns record the size it ran at. With pairs that only potentiate (the study's
``pair_update``), depression pulses are never applied, so the LTD label changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from snn_rram import datasets
from snn_rram.training import OnArrayConfig, train_on_array

sys.path.insert(0, str(Path(__file__).parent))
from on_array_accuracy import CONFIGS, DEVICE, STUDY

#: The sweeps (axis → values) of issue 16 §4.
AXES = {
    "states": (10, 20, 50, 100, 200),
    "gamma": (2.0, 5.0, 10.0, 20.0, 50.0),
    "nonlinearity": (0.0, 2.4, 5.0),
    "c2c": (0.0, 0.01, 0.035),
}
#: The configurations compared on every axis (``float`` once, as the reference).
SWEPT = ("single", "hybrid_phase")
COLUMNS = (
    "axis",
    "value",
    "config",
    "seed",
    "epochs",
    "n_train",
    "n_test",
    "test_accuracy",
    "train_accuracy",
    "test_per_epoch",
    "pulses_main",
    "pulses_big",
    "pulses_small",
    "refreshes",
    "seconds",
)


def device_for(axis: str, value: float):
    """The programming model of the baseline device with ``axis`` set to ``value``."""
    if axis == "states":
        return dataclasses.replace(DEVICE, n=int(value), n_ltd=int(value))
    if axis == "nonlinearity":
        return dataclasses.replace(DEVICE, nl_ltp=float(value), nl_ltd=-float(value))
    if axis == "c2c":
        return dataclasses.replace(DEVICE, sigma_c2c=float(value))
    return DEVICE


def _row(axis, value, name, seed, r, args, seconds) -> dict:
    pulses = {k: int(v.sum()) for k, v in r.pulses.items()}
    return {
        "axis": axis,
        "value": value,
        "config": name,
        "seed": seed,
        "epochs": args.epochs,
        "n_train": args.n_train,
        "n_test": args.n_test,
        "test_accuracy": round(float(r.test_accuracy[-1]), 4),
        "train_accuracy": round(float(r.train_accuracy[-1]), 4),
        "test_per_epoch": " ".join(f"{a:.4f}" for a in r.test_accuracy[1:]),
        "pulses_main": pulses.get("main", 0),
        "pulses_big": pulses.get("big", 0),
        "pulses_small": pulses.get("small", 0),
        "refreshes": int(sum(int(v.sum()) for v in r.refreshes.values())),
        "seconds": round(seconds, 1),
    }


def figure(rows: list[dict], path: Path) -> None:
    """Final test accuracy (mean over seeds) against each swept axis (rows as in the CSV)."""
    axes_run = [a for a in AXES if any(r["axis"] == a for r in rows)]
    floats = [float(r["test_accuracy"]) for r in rows if r["config"] == "float"]
    fig, axs = plt.subplots(1, len(axes_run), figsize=(3.6 * len(axes_run), 3.4), squeeze=False)
    labels = {"states": "states per device", "gamma": "γ (big/small area)"}
    labels |= {"nonlinearity": "LTP label (LTD = −label)", "c2c": "c2c σ (% of range)"}
    for ax, axis in zip(axs[0], axes_run, strict=True):
        scale = 100 if axis == "c2c" else 1
        for name in SWEPT:
            pts = [r for r in rows if r["axis"] == axis and r["config"] == name]
            xs = sorted({float(r["value"]) for r in pts})
            ys = [
                np.mean([float(r["test_accuracy"]) for r in pts if float(r["value"]) == x])
                for x in xs
            ]
            ax.plot([scale * x for x in xs], ys, "o-", label=name)
        if floats:
            ax.axhline(np.mean(floats), color="k", linestyle=":", label="float")
        if axis in ("states", "gamma"):
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks([scale * v for v in AXES[axis]], [f"{scale * v:g}" for v in AXES[axis]])
        ax.set(xlabel=labels[axis], ylabel="test accuracy")
        ax.grid(alpha=0.3)
    axs[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    """Run the sweeps (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="results/on_array_sweeps")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--axes", nargs="+", default=list(AXES), choices=list(AXES))
    p.add_argument("--replot", action="store_true", help="redraw the figure from the CSV")
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.replot:
        with open(out / "sweeps.csv", newline="", encoding="utf-8") as fh:
            figure(list(csv.DictReader(fh)), out / "sweeps.png")
        return
    out.mkdir(parents=True, exist_ok=True)
    ds = datasets.load("mnist_5k").subset(n_train=args.n_train, n_test=args.n_test)
    data = ds.train_vectors(), ds.train_labels, ds.test_vectors(), ds.test_labels
    sizes = (784, args.hidden, 10)
    runs = [("float", 0, "float")]
    for axis in args.axes:
        for value in AXES[axis]:
            for name in SWEPT:
                if axis == "gamma" and name == "single":
                    continue
                runs.append((axis, value, name))
    rows, done = [], {}
    csv_path = out / "sweeps.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for axis, value, name in runs:
            extra = {"gamma": float(value)} if axis == "gamma" else {}
            cfg = OnArrayConfig(**{"epochs": args.epochs, **STUDY, **CONFIGS[name], **extra})
            device = None if name == "float" else device_for(axis, value)
            for seed in args.seeds:
                # the baseline recurs on several axes (50 states, γ = 5, 3.5 %): trained once
                key = (None if device is None else repr(device.to_dict()), cfg, seed)
                if key not in done:
                    t0 = time.perf_counter()
                    r = train_on_array(sizes, device, *data, cfg, seed=seed)
                    done[key] = (r, time.perf_counter() - t0)
                r, seconds = done[key]
                row = _row(axis, value, name, seed, r, args, seconds)
                rows.append(row)
                writer.writerow(row)
                fh.flush()
                print(
                    f"{axis}={value} {name} seed={seed} test={row['test_per_epoch']} "
                    f"s={row['seconds']}",
                    flush=True,
                )
    figure(rows, out / "sweeps.png")
    print(f"wrote {csv_path} and {out / 'sweeps.png'}")


if __name__ == "__main__":
    main()
