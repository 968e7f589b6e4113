"""QWSM's convergence and speed per layer: the bundled MLP and a LeNet-5-shaped network.

For every layer at 2–5 bits: descent passes, converged, final objective against
``linear_pair``'s, distinct effective weights per neuron, and the mapping time. The MLP is the
bundled one (converted as the pipeline does); the LeNet-5-shaped network (conv 6@5×5 pad 2,
avg-pool 2, conv 16@5×5, avg-pool 2, 120, 84, 10; ReLU) has random He-initialised weights and
small biases, seed 0 (convergence does not need a trained network).

Usage::

    PYTHONPATH=. python studies/qwsm_convergence.py [--cards default measured_4level]
        [--r-neuron 100 1000] [--out results/qwsm_convergence]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from snn_rram import ann, devices, mapping
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, ReLU
from snn_rram.crossbar import Circuit
from snn_rram.experiments import pipeline
from snn_rram.experiments.config import load_config

sys.path.insert(0, str(Path(__file__).parent))
from qwsm_robustness import qwsm_layer_row

ROOT = Path(__file__).resolve().parents[1]


def lenet5(seed: int = 0) -> ann.Network:
    """A LeNet-5-shaped network with random He-initialised weights."""
    rng = np.random.default_rng(seed)

    def he(*shape):
        fan_in = int(np.prod(shape[1:]))
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)

    layers = [
        Conv2d(he(6, 1, 5, 5), rng.normal(0, 0.05, 6), padding=2),
        ReLU(),
        AvgPool2d(2),
        Conv2d(he(16, 6, 5, 5), rng.normal(0, 0.05, 16)),
        ReLU(),
        AvgPool2d(2),
        Flatten(),
        Dense(he(120, 400), rng.normal(0, 0.05, 120)),
        ReLU(),
        Dense(he(84, 120), rng.normal(0, 0.05, 84)),
        ReLU(),
        Dense(he(10, 84), rng.normal(0, 0.05, 10)),
    ]
    return ann.Network(layers, (1, 28, 28), name="lenet5_random")


def main(argv=None) -> int:
    """Command line: map every layer of both networks and print the per-layer table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", nargs="+", default=["default"])
    ap.add_argument("--r-neuron", nargs="+", type=float, default=[100.0])
    ap.add_argument("--bits", nargs="+", type=int, default=[2, 3, 4, 5])
    ap.add_argument("--networks", nargs="+", default=["mlp", "lenet5"])
    ap.add_argument("--out", default=str(ROOT / "results/qwsm_convergence"))
    args = ap.parse_args(argv)
    cfg = load_config(ROOT / "models/experiments/demo.toml")
    _, _, calib = pipeline._dataset(cfg)
    nets = {}
    if "mlp" in args.networks:
        nets["mlp"], _ = pipeline.load_network(cfg)
    if "lenet5" in args.networks:
        nets["lenet5"] = lenet5()
    duty = min(1.0, cfg.encoder.max_rate * cfg.circuit.pulse_width)
    rows = []
    for net_name, net in nets.items():
        x = calib.reshape((len(calib), *net.input_shape))
        converted = ann.convert(net, x, percentile=cfg.conversion.percentile)
        for card in args.cards:
            dev = devices.load(card)
            for r_n in args.r_neuron:
                circuit = Circuit(cfg.circuit.v_read, cfg.circuit.pulse_width, r_n)
                for bits in args.bits:
                    for layer in converted.layers:
                        t0 = time.perf_counter()
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore", mapping.MappingWarning)
                            m = mapping.qwsm(
                                layer.weight, dev, circuit, bits=bits, bias=layer.bias,
                                bias_duty=duty,
                            )  # fmt: skip
                        dt = time.perf_counter() - t0
                        r = m.report
                        labels = {"network": net_name, "card": card, "r_neuron": r_n}
                        rows.append(qwsm_layer_row(layer, r, dt, **labels, bits=bits))
                        print(
                            f"| {net_name} | {card} | {r_n:g} | {bits} | {layer.name} "
                            f"{rows[-1]['shape']} | {r['passes']} | {r['converged']} | "
                            f"{r['objective']:.4g} | {r['objective_linear_pair']:.4g} | "
                            f"{r['distinct_effective_weights']:.1f} | {dt:.1f} |",
                            flush=True,
                        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "layers.csv", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
