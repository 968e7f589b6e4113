"""Papers 1 × 2 study: distortion-aware training + ``linear_pair`` against QWSM and calibration.

The demo network (bundled MLP 784-256-10, default device, grounded rows, 4 bits) at
R_N = 100 Ω and 1 kΩ. For each R_N this script fine-tunes the bundled network with
:func:`snn_rram.training.train_distortion_aware` (its forward pass uses the weights the
``linear_pair`` mapping realises when read; knowledge distillation from the bundled float network
keeps what it learned on more data than the 4,000 fine-tuning images) and saves it to
``results/distortion_study/networks/`` with its training metadata (``.json``).

The sweep ``models/experiments/distortion_study.toml`` then runs the whole pipeline (SNN on the
1,000 bundled test images, exact energy) for the fine-tuned networks next to the conventional
network mapped with ``linear_pair``, ``qwsm`` and ``linear_pair`` with an ideally calibrated
periphery, and ``snn-rram report results/distortion_study`` checks the target (issue 14):
distortion-aware within 1 point of the calibrated reference at both R_N. ``make
study-distortion`` runs the three steps.

Usage: ``python studies/distortion_study.py [--epochs 30] [--distill 0.7] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from snn_rram import ann, datasets, devices
from snn_rram.crossbar import Circuit
from snn_rram.experiments import load_config
from snn_rram.training import train_distortion_aware

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "models/experiments/distortion_study.toml"


def main():
    """Fine-tune one network per R_N of the sweep file and save it where the sweep reads it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "results/distortion_study/networks"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--refresh", type=int, default=4)
    parser.add_argument("--distill", type=float, default=0.7)
    parser.add_argument("--temperature", type=float, default=4.0)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    base = load_config(ROOT / "models/experiments/demo.toml")
    network = ann.load(base.network_path())
    data = datasets.load(base.data.dataset)
    x_train, y_train = data.train_vectors(), data.train_labels
    x_test, y_test = data.test_vectors(), data.test_labels
    device = devices.load(base.device.card)
    duty = min(1.0, base.encoder.max_rate * base.circuit.pulse_width)
    for r_n in (100.0, 1000.0):
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
            distill=args.distill,
            temperature=args.temperature,
            log=lambda line, r_n=r_n: print(f"R_N {r_n:g} ohm: {line}", flush=True),
        )
        weights = out / f"mlp_distortion_aware_{int(r_n)}ohm.npz"
        ann.save(tuned, weights)
        (out / f"{weights.stem}.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        print(
            f"R_N {r_n:g} ohm: rate-model accuracy {meta['effective_accuracy_before']:.3f} -> "
            f"{meta['effective_accuracy']:.3f} ({meta['training_seconds']:.0f} s); {weights}",
            flush=True,
        )
    print(f"next: snn-rram sweep {SWEEP.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
