"""Analog inference speed against the float numpy forward pass of the same network.

The bundled MLP (784-256-10, differential pairs: 785×512 and 257×20 crossbars) on 1,000 bundled
MNIST test images, sinh cells (``sinh_mild``), ``v_read`` = 0.3 V, row DACs and sensing ideal,
device energy per image and layer included (synapse energy off, the default of ``forward``).
Both sides single-threaded; the machine's load varies, so the two sides' runs alternate and
each side's best time counts. One machine-readable line per case::

    case=virtual_ground ours_s=0.21 float_s=0.07 ratio=3.0 accuracy=0.975 float_accuracy=0.975

- ``virtual_ground``: R_N = 0 (ideal virtual grounds: no column solve). Target ratio <= 3.
- ``rn_100``: R_N = 100 Ω, grounded rows, a Newton solve per column and image. Target <= 30.

Usage: ``python benchmarks/bench_analog.py [virtual_ground rn_100] [--repeat N]``
"""

import argparse
import os
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

from snn_rram import ann, datasets, devices
from snn_rram.analog import AnalogNetwork
from snn_rram.crossbar import Circuit

ROOT = Path(__file__).resolve().parents[1]
CASES = {"virtual_ground": 0.0, "rn_100": 100.0}


def run(name, r_neuron, net, x, y, calib, repeat):
    circuit = Circuit(v_read=0.3, pulse_width=1e-7, r_neuron=r_neuron)
    analog = AnalogNetwork.from_network(
        net, calib, devices.load("sinh_mild"), circuit, bits=6, seed=0
    )
    analog.forward(x[:10])  # warm-up
    ours, ref = np.inf, np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        res = analog.forward(x)
        ours = min(ours, time.perf_counter() - t)
        t = time.perf_counter()
        logits = net.forward(x)
        ref = min(ref, time.perf_counter() - t)
    acc = float(np.mean(res.predict() == y))
    float_acc = float(np.mean(np.argmax(logits, axis=1) == y))
    return (
        f"case={name} ours_s={ours:.4f} float_s={ref:.4f} ratio={ours / ref:.2f} "
        f"accuracy={acc:.3f} float_accuracy={float_acc:.3f} "
        f"energy_per_inference_J={res.energy_per_inference:.3g}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"any of {', '.join(CASES)} (default: all)")
    parser.add_argument("--repeat", type=int, default=5, help="alternated runs per side")
    args = parser.parse_args()
    cases = args.cases or list(CASES)
    if set(cases) - set(CASES):
        parser.error(f"unknown case(s): {sorted(set(cases) - set(CASES))}")
    net = ann.load(ROOT / "models" / "networks" / "mlp_784_256_10.npz")
    ds = datasets.load("mnist_5k")
    x, y = datasets.as_vectors(ds.test_images[:1000]), ds.test_labels[:1000]
    calib = datasets.as_vectors(ds.train_images[:500])
    for name in cases:
        print(run(name, CASES[name], net, x, y, calib, args.repeat), flush=True)


if __name__ == "__main__":
    main()
