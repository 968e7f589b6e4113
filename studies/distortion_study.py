"""Papers 1 × 2 study: distortion-aware training + ``linear_pair`` against QWSM and calibration.

The demo network (bundled MLP 784-256-10, default device, grounded rows, 4 bits) at
R_N = 100 Ω and 1 kΩ. For each R_N the bundled network is fine-tuned with
:func:`snn_rram.training.train_distortion_aware` (its forward pass uses the weights the
``linear_pair`` mapping realises when read), saved, and run through the whole pipeline (SNN on
the 1,000 bundled test images, exact energy) next to the conventional network mapped with
``linear_pair``, ``qwsm`` and ``linear_pair`` with an ideally calibrated periphery.

Writes ``results/distortion_study/``: the fine-tuned networks (``.npz``), one HDF5 result per
pipeline run, ``report.md`` (table, target checked) and ``accuracy.png``.

Target (issue 14): distortion-aware within 1 pp of the calibrated reference at both R_N.

Usage: ``python studies/distortion_study.py [--epochs 8] [--images 1000] [--target numpy]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from snn_rram import ann, datasets, devices
from snn_rram.crossbar import Circuit
from snn_rram.experiments import load_config, run
from snn_rram.training import train_distortion_aware

ROOT = Path(__file__).resolve().parents[1]
R_NEURON = {"100 ohm": 100.0, "1 kohm": 1e3}


def main():
    """Fine-tune, run the pipeline for every case and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/distortion_study")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--refresh", type=int, default=4)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--target", default="cpp_standalone")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    base = load_config(ROOT / "models/experiments/demo.toml")
    base = base.replace("data.n_images", args.images).replace("simulation.target", args.target)
    base = base.replace("output.directory", str(out))
    network = ann.load(ROOT / "models/networks/mlp_784_256_10.npz")
    data = datasets.load("mnist_5k")
    x_train, y_train = data.train_vectors(), data.train_labels
    x_test, y_test = data.test_vectors(), data.test_labels
    device = devices.load(base.device.card)
    duty = min(1.0, base.encoder.max_rate * base.circuit.pulse_width)

    rows = []
    for label, r_n in R_NEURON.items():
        circuit = Circuit(base.circuit.v_read, base.circuit.pulse_width, r_n)
        tuned, meta = train_distortion_aware(
            network,
            x_train,
            y_train,
            x_test,
            y_test,
            device=device,
            circuit=circuit,
            bits=base.mapping.bits,
            bias_duty=duty,
            n_calibration=base.data.n_calibration,
            epochs=args.epochs,
            lr=args.lr,
            refresh=args.refresh,
            log=lambda line, label=label: print(f"R_N {label}: {line}", flush=True),
        )
        weights = out / f"mlp_distortion_aware_{int(r_n)}ohm.npz"
        ann.save(tuned, weights)
        (out / f"{weights.stem}.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        cfg = base.replace("circuit.r_neuron", label)
        cases = {
            "linear_pair": cfg,
            "qwsm": cfg.replace("mapping.method", "qwsm"),
            "linear_pair + calibration": cfg.replace("mapping.options.calibrate", True),
            "distortion-aware + linear_pair": cfg.replace("network.weights", str(weights)),
        }
        for case, c in cases.items():
            name = f"{case.replace(' ', '').replace('+', '_')}_{int(r_n)}ohm"
            outcome = run(c.replace("output.name", name))
            m = outcome.metrics
            rows.append(
                (
                    label,
                    case,
                    m["quantized_accuracy"],
                    m["snn_accuracy"],
                    m.get("average_power_per_synapse", float("nan")),
                )
            )
            print(rows[-1], flush=True)

    lines = [
        "# Distortion-aware training (papers 1 × 2)",
        "",
        f"Demo network, default device, grounded rows, 4 bits, {args.images} test images, "
        f"fine-tuning {args.epochs} epochs (lr {args.lr}, mapping refreshed every "
        f"{args.refresh} steps).",
        "",
        "| R_N | case | quantised ANN | SNN | power per synapse (nW) |",
        "|---|---|---|---|---|",
    ]
    for label, case, q, s, p in rows:
        lines.append(f"| {label} | {case} | {q:.4f} | {s:.4f} | {p * 1e9:.3f} |")
    lines += ["", "Target: distortion-aware within 1 pp of the calibrated reference (SNN):"]
    for label in R_NEURON:
        got = {case: s for lab, case, _, s, _ in rows if lab == label}
        gap = 100 * (got["linear_pair + calibration"] - got["distortion-aware + linear_pair"])
        lines.append(f"- {label}: {gap:+.2f} pp below — " + ("met" if gap <= 1 else "NOT met"))
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))

    fig, ax = plt.subplots(figsize=(7, 4))
    cases = list(dict.fromkeys(case for _, case, *_ in rows))
    width = 0.8 / len(cases)
    for k, case in enumerate(cases):
        values = [s for lab, c, _, s, _ in rows if c == case]
        ax.bar(np.arange(len(R_NEURON)) + k * width, values, width, label=case)
    ax.set_xticks(np.arange(len(R_NEURON)) + 0.4 - width / 2, [f"R_N = {x}" for x in R_NEURON])
    ax.set(ylabel="SNN accuracy", ylim=(0.5, 1.0))
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=120)


if __name__ == "__main__":
    main()
