"""Paper 5 study: binary vs ternary networks on 2T2R arrays read by the PCSA model.

Writes ``results/pcsa_study/``: ``pcsa_study.h5`` (every table, with the arguments and
versions), ``report.md`` (the tables and the targets checked) and PNG figures:

1. the PCSA model over the supply voltage: bit-error rate per error type and read energy, for
   binary and ternary encodings, on the device distributions below;
2. float, binary and ternary networks (same architecture, same recipe: Adam at 2e-3 with a
   cosine decay to 0; one network per training seed, ``--train-seeds``): an MLP 784-256-10 on
   Fashion-MNIST (full) and on ``mnist_5k``, a VGG-like CNN on Fashion-MNIST. The last
   ``--val-fraction`` of the training images (10 000 of Fashion-MNIST's 60 000) is held out as
   a validation set: the networks train on the rest, the ternary threshold (times the layer's
   mean |latent weight|) is chosen among ``--thresholds`` by the mean validation accuracy over
   the training seeds, and the test set is only used to report;
3. accuracy vs injected bit-error rate (the papers' scheme) for both alphabets;
4. the ternary networks read through the PCSA across the supply voltage (weights programmed
   onto log-normal devices and sensed once per run; every 0.1 V and at the near-threshold
   window; mean over ``--seeds`` read seeds).

Parts 3 and 4 use the networks of the first training seed (the picked threshold).

Targets (issue 15): ternary >= binary + 1 pp on the Fashion-MNIST CNN (checked on the mean over
training seeds, and reported per seed); at the supply of the near-threshold window the
PCSA-read ternary network loses < 0.5 pp against error-free reads.

Usage: ``python studies/pcsa_study.py [--quick] [--out results/pcsa_study] [--setups ...]
[--train-seeds 0 1] [--thresholds 0.7 1.0] [--workers 2]``; ``--quick`` is a few-minute
version on subsets (not the reported figures). Training and inference jobs run in
``--workers`` processes (one thread each).
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import snn_rram
from snn_rram import datasets, devices
from snn_rram.crossbar import PCSA, TwoStateCells
from snn_rram.training import (
    ReadErrors,
    errors_inference,
    pcsa_inference,
    train_quantized,
)

SUPPLIES = np.round(np.arange(0.40, 1.201, 0.01), 2)
BERS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1)
#: Candidate ternary thresholds (times the layer's mean |latent weight|): TWN's 0.7 and 1.0.
THRESHOLDS = (0.7, 1.0)
#: Share of the training images held out (from the end) for validation: 10 000 of 60 000.
VAL_FRACTION = 1 / 6
SETUPS = ("fashion_cnn", "fashion_mlp", "mnist5k_mlp")
#: Device spread of the 2T2R cells, σ(ln R) of LRS and HRS.
SIGMAS = (0.1, 0.3)


def setup_specs(quick: bool) -> dict:
    """Data and architecture of each network (CNN first: the longest jobs start first)."""
    n = (2000, 500) if quick else (None, None)
    specs = {
        "fashion_cnn": dict(
            data=("fashion_mnist", *n, True), conv=(16, 32), hidden=(128,), epochs=5
        ),
        "fashion_mlp": dict(data=("fashion_mnist", *n, False), hidden=(256,), epochs=10),
        "mnist5k_mlp": dict(data=("mnist_5k", *n, False), hidden=(256,), epochs=30),
    }
    if quick:
        for s in specs.values():
            s["epochs"] = 2
            if "conv" in s:
                s["conv"] = (8, 16)
                s["hidden"] = (64,)
    return specs


@functools.lru_cache(maxsize=4)
def split_data(name, n_train, n_test, images, val_fraction):
    """Training, validation (the last ``val_fraction`` of the training images) and test sets.

    Returns a dict with ``fit``, ``val`` and ``test`` (each ``(x, y)``) and ``shape``.
    """
    d = datasets.load(name)
    shape = (1, 28, 28) if images else (784,)
    x = d.train_vectors()[:n_train].reshape(-1, *shape)
    y = d.train_labels[:n_train]
    n_val = round(val_fraction * x.shape[0])
    if not 0 < n_val < x.shape[0]:
        raise ValueError(f"--val-fraction {val_fraction} holds out {n_val} of {x.shape[0]}")
    cut = x.shape[0] - n_val
    return {
        "fit": (x[:cut], y[:cut]),
        "val": (x[cut:], y[cut:]),
        "test": (d.test_vectors()[:n_test].reshape(-1, *shape), d.test_labels[:n_test]),
        "shape": shape,
    }


def train_job(job):
    """One network: ``job`` = (setup, spec, alphabet, threshold, seed, val_fraction)."""
    _setup, spec, alphabet, threshold, seed, val_fraction = job
    data = split_data(*spec["data"], val_fraction)
    net, meta = train_quantized(
        *data["fit"],
        *data["test"],
        input_shape=data["shape"],
        alphabet=alphabet,
        hidden=spec["hidden"],
        conv=spec.get("conv", ()),
        epochs=spec["epochs"],
        lr_schedule="cosine",
        threshold=THRESHOLDS[0] if threshold is None else threshold,
        seed=seed,
        validation=data["val"],
        score_train=False,
    )
    return job, net, meta


def inference_job(task):
    """Accuracy (mean, std over read seeds) and energy per read of one inference setting.

    ``task`` = (kind, setup, data, network, alphabet, x, n_seeds, val_fraction) with kind
    ``"ber"`` (x the injected bit-error rate) or ``"vdd"`` (x the PCSA supply in V).
    """
    kind, _setup, data_spec, net, alphabet, x, n_seeds, val_fraction = task
    x_test, y_test = split_data(*data_spec, val_fraction)["test"]
    accs, energies = [], []
    for seed in range(n_seeds):
        if kind == "ber":
            r = errors_inference(net, x_test, ReadErrors.uniform(x, alphabet), rng=seed)
        else:
            cells = TwoStateCells.from_device(devices.load("default"), *SIGMAS)
            r = pcsa_inference(net, x_test, PCSA(float(x)), cells, rng=seed)
        accs.append(r.accuracy(y_test))
        energies.append(r.read_energy / max(r.n_reads, 1))
    return (*task[:2], alphabet, x), float(np.mean(accs)), float(np.std(accs)), energies


def pcsa_curves(pcsa_args, cells):
    """Rows (vdd, encoding, BER, 0→±1, ±1→0, ±1→∓1, mean energy) over SUPPLIES."""
    rows = []
    for vdd in SUPPLIES:
        pcsa = PCSA(float(vdd), **pcsa_args)
        for encoding in ("binary", "ternary"):
            r = pcsa.error_rates(cells, encoding)
            rows.append(
                (
                    vdd,
                    encoding,
                    r.ber,
                    r.zero_to_nonzero,
                    r.nonzero_to_zero,
                    r.sign_flip,
                    r.mean_energy,
                )
            )
    return rows


def _pool(workers):
    """Worker processes with one BLAS/OpenMP thread each (set before numpy loads in them)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def _fmt_seeds(values, digits=4):
    """``mean (v0 / v1 / ...)``."""
    inner = " / ".join(f"{v:.{digits}f}" for v in values)
    return f"{np.mean(values):.{digits}f} ({inner})"


def main():
    """Run the study and write the report, the HDF5 file and the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/pcsa_study")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3, help="read / error seeds at inference")
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS))
    parser.add_argument("--val-fraction", type=float, default=VAL_FRACTION)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--no-inference", action="store_true", help="skip the BER and V_DD inference parts"
    )
    args = parser.parse_args()
    if not 0 < args.val_fraction < 1:
        parser.error(f"--val-fraction: expected a number in (0, 1), got {args.val_fraction}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    seeds = list(dict.fromkeys(args.train_seeds))
    thresholds = list(dict.fromkeys(args.thresholds))
    cells = TwoStateCells.from_device(devices.load("default"), *SIGMAS)

    started = time.perf_counter()
    curves = pcsa_curves({}, cells)
    ternary_curve = [r for r in curves if r[1] == "ternary"]
    window = [float(r[0]) for r in ternary_curve if r[2] < 1e-4]
    vdd_window = float(np.median(window)) if window else float("nan")
    print(f"PCSA curves: {time.perf_counter() - started:.1f} s; near-threshold window {window}")

    specs = {k: v for k, v in setup_specs(quick).items() if k in args.setups}
    variants = [("float", None), ("binary", None)] + [("ternary", t) for t in thresholds]
    jobs = [
        (setup, spec, alphabet, threshold, seed, args.val_fraction)
        for setup, spec in specs.items()
        for seed in seeds
        for alphabet, threshold in variants
    ]
    trained = {}
    with _pool(args.workers) as pool:
        futures = [pool.submit(train_job, job) for job in jobs]
        for future in as_completed(futures):
            (setup, _, alphabet, threshold, seed, _), net, meta = future.result()
            trained[(setup, alphabet, threshold, seed)] = (net, meta)
            print(
                f"[{time.perf_counter() - started:.0f} s] {setup} {alphabet} "
                f"θ={threshold} seed {seed}: val {meta['validation_accuracy']:.4f} "
                f"test {meta['test_accuracy']:.4f} (training {meta['training_seconds']:.0f} s)",
                flush=True,
            )

    # the ternary threshold per setup: best mean validation accuracy over the training seeds
    picked = {}
    for setup in specs:
        mean_val = {
            t: np.mean(
                [trained[(setup, "ternary", t, s)][1]["validation_accuracy"] for s in seeds]
            )
            for t in thresholds
        }
        picked[setup] = max(thresholds, key=lambda t: (mean_val[t], -thresholds.index(t)))
    key = {
        (setup, alphabet): (alphabet, picked[setup] if alphabet == "ternary" else None)
        for setup in specs
        for alphabet in ("float", "binary", "ternary")
    }

    def meta_of(setup, alphabet, seed):
        a, t = key[(setup, alphabet)]
        return trained[(setup, a, t, seed)][1]

    def net_of(setup, alphabet, seed):
        a, t = key[(setup, alphabet)]
        return trained[(setup, a, t, seed)][0]

    def write(ber_rows, vdd_rows, inference):
        """Report, HDF5 file and figures of what has run so far."""

        # --- report ---------------------------------------------------------------------------
        def test_acc(setup, alphabet):
            return [meta_of(setup, alphabet, s)["test_accuracy"] for s in seeds]

        seed_list = ", ".join(str(s) for s in seeds)
        lines = ["# Paper 5 study (snn-rram, PCSA model)", ""]
        lines += [
            f"Devices: the `default` card's extreme levels as LRS/HRS "
            f"({cells.g_lrs * 1e6:.0f} / {cells.g_hrs * 1e6:.0f} µS), log-normal σ(ln R) "
            f"{cells.sigma_lrs} / {cells.sigma_hrs}; PCSA defaults of `snn_rram.crossbar.PCSA`. "
            f"Quick run: {quick}. Setups run: {', '.join(specs)}; training seeds {seed_list}; "
            f"validation: the last {args.val_fraction:.4g} of the training images held out; "
            f"ternary threshold candidates {thresholds} (× mean |w|), picked by the mean "
            f"validation accuracy over the seeds. BER and V_DD inference: {inference}.",
            "",
            "## Test accuracy: mean over training seeds (per seed in brackets)",
            "",
            "| network | float | binary | ternary (θ picked) | ternary − binary (pp) |",
            "|---|---|---|---|---|",
        ]
        diffs = {}
        for setup in specs:
            f, b, t = (test_acc(setup, a) for a in ("float", "binary", "ternary"))
            diffs[setup] = [100 * (ti - bi) for ti, bi in zip(t, b, strict=True)]
            lines.append(
                f"| {setup} | {_fmt_seeds(f)} | {_fmt_seeds(b)} | θ={picked[setup]}: "
                f"{_fmt_seeds(t)} | {_fmt_seeds(diffs[setup], 2)} |"
            )
        lines += [
            "",
            "## Ternary threshold choice (validation accuracy; test accuracy only reported)",
            "",
            "| network | θ | validation, mean (per seed) | test, mean (per seed) | "
            f"zeros per layer (seed {seeds[0]}) | picked |",
            "|---|---|---|---|---|---|",
        ]
        for setup in specs:
            for t in thresholds:
                m = [trained[(setup, "ternary", t, s)][1] for s in seeds]
                lines.append(
                    f"| {setup} | {t} | {_fmt_seeds([x['validation_accuracy'] for x in m])} | "
                    f"{_fmt_seeds([x['test_accuracy'] for x in m])} | "
                    f"{' / '.join(f'{z:.2f}' for z in m[0]['sparsity'])} | "
                    f"{'yes' if t == picked[setup] else ''} |"
                )
            for a in ("float", "binary"):
                m = [meta_of(setup, a, s) for s in seeds]
                lines.append(
                    f"| {setup} ({a}) | – | {_fmt_seeds([x['validation_accuracy'] for x in m])} | "
                    f"{_fmt_seeds([x['test_accuracy'] for x in m])} | – | |"
                )
        lines += ["", "## Training (one thread per job, seconds per seed)", ""]
        lines += ["| network | images train / val / test | epochs | alphabet, θ | seconds |"]
        lines += ["|---|---|---|---|---|"]
        for setup, spec in specs.items():
            m = meta_of(setup, "float", seeds[0])
            sizes = f"{m['n_train_images']} / {m['n_validation_images']} / {m['n_test_images']}"
            for alphabet, t in variants:
                secs = " / ".join(
                    f"{trained[(setup, alphabet, t, s)][1]['training_seconds']:.0f}" for s in seeds
                )
                label = alphabet if t is None else f"{alphabet}, {t}"
                lines.append(f"| {setup} | {sizes} | {spec['epochs']} | {label} | {secs} |")

        losses = {}
        if vdd_rows:
            lines += ["", f"Near-threshold window (ternary BER < 1e-4): {window} V", ""]
            lines += [
                f"## PCSA reads at the window (networks of training seed {seeds[0]})",
                "",
                "| network | error-free | PCSA at window | loss (pp) |",
                "|---|---|---|---|",
            ]
            for setup in specs:
                at = [r for r in vdd_rows if r[0] == setup and r[1] == vdd_window]
                clean = meta_of(setup, "ternary", seeds[0])["test_accuracy"]
                if at:
                    losses[setup] = 100 * (clean - at[-1][2])
                    lines.append(
                        f"| {setup} | {clean:.4f} | {at[-1][2]:.4f} | {losses[setup]:.2f} |"
                    )
            lines += [
                "",
                f"## Accuracy vs injected BER (training seed {seeds[0]}; mean ± std)",
                "",
            ]
            lines += [
                "| network | alphabet | " + " | ".join(f"{100 * b:g} %" for b in BERS) + " |"
            ]
            lines += ["|---|---|" + "---|" * len(BERS)]
            for setup in specs:
                for alphabet in ("binary", "ternary"):
                    rows = sorted(
                        (r for r in ber_rows if r[0] == setup and r[1] == alphabet),
                        key=lambda r: r[2],
                    )
                    cells_ = " | ".join(f"{r[3]:.4f} ± {r[4]:.4f}" for r in rows)
                    lines.append(f"| {setup} | {alphabet} | {cells_} |")
        lines += ["", "## Targets", ""]
        if "fashion_cnn" in diffs:
            d = diffs["fashion_cnn"]
            per_seed = ", ".join(
                f"seed {s}: {v:+.2f} pp ({'met' if v >= 1 else 'NOT met'})"
                for s, v in zip(seeds, d, strict=True)
            )
            lines.append(
                f"- ternary ≥ binary + 1 pp on the Fashion-MNIST CNN, mean over seeds: "
                f"{np.mean(d):+.2f} pp — {'met' if np.mean(d) >= 1 else 'NOT met'}; {per_seed}"
            )
        else:
            lines.append("- ternary ≥ binary + 1 pp on the Fashion-MNIST CNN: not run")
        if losses:
            lines.append(
                "- PCSA-read ternary within 0.5 pp of error-free reads at the window: "
                + ("met" if max(losses.values()) < 0.5 else f"NOT met ({losses})")
            )
        else:
            lines.append("- PCSA-read ternary within 0.5 pp at the window: not run")
        lines += ["", f"Total time {time.perf_counter() - started:.0f} s."]
        (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print("\n".join(lines))

        accuracy = [
            (
                setup,
                alphabet,
                np.nan if t is None else t,
                seed,
                m["validation_accuracy"],
                m["test_accuracy"],
                m["training_seconds"],
                float(alphabet != "ternary" or t == picked[setup]),
            )
            for (setup, alphabet, t, seed), (_, m) in sorted(
                trained.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0, kv[0][3])
            )
        ]
        with h5py.File(out / "pcsa_study.h5", "w") as h5:
            h5.attrs["snn_rram"] = snn_rram.__version__
            h5.attrs["python"] = platform.python_version()
            h5.attrs["arguments"] = json.dumps(vars(args))
            h5.attrs["cells"] = json.dumps(vars(cells))
            h5.attrs["picked_threshold"] = json.dumps(picked)
            h5.attrs["meta"] = json.dumps(
                {f"{s}/{a}/{t}/seed{k}": m for (s, a, t, k), (_, m) in trained.items()},
                default=str,
            )
            for name, rows, cols in (
                (
                    "pcsa_curves",
                    curves,
                    "vdd encoding ber zero_to_nonzero nonzero_to_zero sign_flip energy",
                ),
                (
                    "accuracy",
                    accuracy,
                    "setup alphabet threshold seed validation_accuracy test_accuracy "
                    "training_seconds picked",
                ),
                ("accuracy_vs_ber", ber_rows, "setup alphabet ber mean std"),
                ("accuracy_vs_vdd", vdd_rows, "setup vdd accuracy energy_per_read"),
            ):
                group = h5.create_group(name)
                for i, col in enumerate(cols.split()):
                    values = [r[i] for r in rows]
                    if values and isinstance(values[0], str):
                        group[col] = np.array(values, dtype=h5py.string_dtype())
                    else:
                        group[col] = np.asarray(values, dtype=np.float64)

        _figures(out, curves, ber_rows, vdd_rows, list(specs), window)

    ber_rows, vdd_rows = [], []
    write(ber_rows, vdd_rows, "not run" if args.no_inference else "running")
    if not args.no_inference:
        s0 = seeds[0]
        tasks = []
        for setup, spec in specs.items():
            for alphabet in ("binary", "ternary"):
                net = net_of(setup, alphabet, s0)
                for ber in BERS:
                    tasks.append(("ber", setup, spec["data"], net, alphabet, ber))
            supplies = list(SUPPLIES[:: 20 if quick else 10])
            if np.isfinite(vdd_window):
                supplies.append(vdd_window)
            for vdd in supplies:
                tasks.append(("vdd", setup, spec["data"], net_of(setup, "ternary", s0), "", vdd))
        tasks = [(*t, args.seeds, args.val_fraction) for t in tasks]
        with _pool(args.workers) as pool:
            for (kind, setup, alphabet, x), mean, std, energies in pool.map(inference_job, tasks):
                if kind == "ber":
                    ber_rows.append((setup, alphabet, x, mean, std))
                else:
                    vdd_rows.append((setup, float(x), mean, float(np.mean(energies))))
        print(f"[{time.perf_counter() - started:.0f} s] inference done", flush=True)
        write(ber_rows, vdd_rows, "done")


def _figures(out, curves, ber_rows, vdd_rows, setups, window):
    """The PCSA curves, accuracy vs BER and accuracy vs V_DD as PNG files in ``out``."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for encoding, style in (("ternary", "-"), ("binary", "--")):
        rows = [r for r in curves if r[1] == encoding]
        v = [r[0] for r in rows]
        for k, label in ((3, "0 → ±1"), (4, "±1 → 0"), (5, "±1 → ∓1")):
            y = np.maximum([r[k] for r in rows], 1e-9)
            if encoding == "binary" and k == 3:
                continue
            ax1.semilogy(v, y, style, label=f"{encoding}: {label}")
        ax2.plot(v, [r[6] * 1e15 for r in rows], style, label=encoding)
    ax1.set(xlabel="supply voltage V_DD (V)", ylabel="error probability per read", ylim=(1e-9, 1))
    ax1.legend(fontsize=8, loc="lower right")
    ax2.set(xlabel="supply voltage V_DD (V)", ylabel="read energy per sense (fJ)")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / "pcsa_vs_vdd.png", dpi=120)
    plt.close(fig)
    if not ber_rows:
        return

    fig, ax = plt.subplots(figsize=(6, 4))
    for setup in setups:
        for alphabet, style in (("ternary", "-o"), ("binary", "--s")):
            rows = sorted(
                (r for r in ber_rows if r[0] == setup and r[1] == alphabet), key=lambda r: r[2]
            )
            ax.errorbar(
                [100 * r[2] for r in rows],
                [r[3] for r in rows],
                yerr=[r[4] for r in rows],
                fmt=style,
                label=f"{setup}, {alphabet}",
                markersize=3,
            )
    ax.set(xlabel="injected bit-error rate (%)", ylabel="test accuracy")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_ber.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for setup in setups:
        rows = sorted((r for r in vdd_rows if r[0] == setup), key=lambda r: r[1])
        ax.plot([r[1] for r in rows], [r[2] for r in rows], "-o", markersize=3, label=setup)
    if window:
        ax.axvspan(min(window), max(window), alpha=0.15, color="g")
    ax.set(xlabel="supply voltage V_DD (V)", ylabel="test accuracy, ternary read by the PCSA")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_vdd.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
