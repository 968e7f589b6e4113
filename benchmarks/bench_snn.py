"""Spiking-network throughput against a plain Brian2 network of the same shape and activity.

784-500-10 with differential pairs, 100 MNIST images (bundled subset) of 100 ms each at
dt = 0.1 ms, pixel rates up to 100 Hz, cpp_standalone, single-threaded on both sides. The plain
network has the same input spikes, neurons and thresholds, and synapses ``on_pre='v_post += w'``
with the static (linear) weights. Build time is reported apart from run time (the C++ network
run time Brian2 records, without process start-up; with energy accounting, plus the time spent
computing the energies from the results, which is where linear layers account theirs). The
machine's load varies over time, so each variant's runs alternate with runs of the compiled
plain network and the ratio is the quotient of the two best times.

One machine-readable line per variant::

    variant=linear_energy images_per_s=123.4 ratio_to_plain=1.62 build_s=31.0

Targets: linear + energy <= 1.7x and sinh + energy <= 4x the plain network.
"""

import argparse
import os
import subprocess
import time

# single-threaded on both sides, post-processing included
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import brian2 as b2
import numpy as np

from snn_rram import datasets, devices, snn
from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.snn._targets import build_dir

N_IMAGES, IMAGE_S, DT, PULSE = 100, 0.1, 1e-4, 1e-4
SHAPE = (784, 500, 10)


def differential(w, levels):
    """Plain linear mapping of weights onto (G+, G-) pairs: w = (G+ - G-) / scale."""
    g_min, g_max = levels.g_min, levels.g_max
    scale = np.abs(w).max()
    gp = g_min + np.maximum(w, 0) / scale * (g_max - g_min)
    gm = g_min + np.maximum(-w, 0) / scale * (g_max - g_min)
    G = np.empty((w.shape[0], 2 * w.shape[1]))
    G[:, 0::2], G[:, 1::2] = gp, gm
    return G


def setup(device_name, rng):
    """784-500-10 differential crossbars; the sinh device shares the linear one's levels."""
    dev = devices.load("ideal")
    if device_name == "sinh":
        dev = devices.Device("sinh_bench", devices.Sinh(1.5), dev.levels, source="benchmark")
    circuit = Circuit(v_read=0.2, pulse_width=PULSE, r_neuron=100.0)
    w1 = rng.normal(0, 1, SHAPE[:2]) + 0.3
    w2 = rng.normal(0, 1, SHAPE[1:])
    x1 = Crossbar(differential(w1, dev.levels), dev, circuit, Layout.differential(*SHAPE[:2]))
    x2 = Crossbar(differential(w2, dev.levels), dev, circuit, Layout.differential(*SHAPE[1:]))
    return x1, x2


def spikes_and_neurons(x1, x2):
    ds = datasets.load("mnist_5k")
    images = ds.test_vectors()[:N_IMAGES]
    spikes = snn.PoissonEncoder(max_rate=100.0, dead_time=PULSE).encode(images, DT, IMAGE_S, 7)
    # thresholds for ~20 Hz in the busiest hidden neurons (linear estimate of their drive)
    rate = spikes.counts().mean(axis=0) / IMAGE_S
    neurons = []
    drive = rate
    for x in (x1, x2):
        q = x.layout.neuron_current(x.static_gain() * x.circuit.v_read) * PULSE  # C per spike
        charge = drive @ q  # C/s
        C = 1e-10
        theta = max(np.quantile(charge, 0.9) / 20.0 / C, 1e-6)
        neurons.append(snn.IFNeuron(threshold=theta, capacitance=C))
        drive = np.clip(charge / (C * theta), 0, 1 / PULSE)
    return spikes, neurons


def plain_network(spikes, x1, x2, neurons):
    """The reference: same spikes, neurons and thresholds, ``v_post += w``."""
    b2.set_device("cpp_standalone", directory=str(build_dir() / "bench_plain"), build_on_run=False)
    dev = b2.get_device()
    dev.reinit()
    dev.activate(directory=str(build_dir() / "bench_plain"), build_on_run=False)
    dt = DT * b2.second
    src = b2.SpikeGeneratorGroup(spikes.n_inputs, spikes.indices, spikes.steps * dt, dt=dt)
    objs, pre = [src], src
    for x, neuron in zip((x1, x2), neurons, strict=True):
        g = b2.NeuronGroup(
            x.layout.n_neurons,
            "v : volt",
            threshold="v > theta",
            reset="v -= theta",
            refractory=PULSE * b2.second,
            dt=dt,
            namespace={"theta": neuron.threshold * b2.volt},
        )
        w = x.layout.neuron_current(x.static_gain() * x.circuit.v_read) * PULSE
        w = w / neuron.capacitance
        s = b2.Synapses(pre, g, "w_syn : volt", on_pre="v_post += w_syn", dt=dt)
        i, j = np.nonzero(np.ones_like(w, dtype=bool))
        s.connect(i=i, j=j)
        s.w_syn = w[i, j] * b2.volt
        reset = g.run_regularly("v = 0*volt", dt=IMAGE_S * b2.second, when="start")
        objs += [g, s, reset, b2.SpikeMonitor(g)]
        pre = g
    net = b2.Network(objs)
    net.run(N_IMAGES * IMAGE_S * b2.second)
    t = time.perf_counter()
    dev.build(directory=str(build_dir() / "bench_plain"), compile=True, run=False, clean=True)
    build = time.perf_counter() - t
    dev.run(directory=str(build_dir() / "bench_plain"), with_output=False)
    return build, [len(m.i[:]) for m in objs if isinstance(m, b2.SpikeMonitor)]


def run_plain() -> float:
    """Run the compiled plain network again; its network run time as Brian2 records it, s."""
    directory = build_dir() / "bench_plain"
    results = directory / "results"
    subprocess.run(
        ["./main", "--results_dir", f"{results}/"], cwd=directory, check=True, capture_output=True
    )
    return float((results / "last_run_info.txt").read_text().split()[0])


def ours(spikes, x1, x2, neurons, energy, rounds):
    """Build once, then alternate plain and own runs (the machine's load varies over time)."""
    t = time.perf_counter()
    net = snn.SpikingNetwork(
        [x1, x2], neurons, spikes, energy=energy, target="cpp_standalone", name="bench"
    )
    build = time.perf_counter() - t
    runs, plain, res = [], [], None
    for _ in range(rounds):
        plain.append(run_plain())
        res = net.run()
        # the C++ run plus, with energy, the energies computed from the results (linear)
        runs.append(res.timings["simulation_s"] + res.timings["energy_s"])
    return min(runs), min(plain), build, [len(layer.spike_indices) for layer in res.layers]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help="linear, linear_energy, sinh_energy")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating plain/own runs per variant (min taken)"
    )
    args = parser.parse_args()
    variants = args.variants or ["linear", "linear_energy", "sinh_energy"]
    rng = np.random.default_rng(0)
    base = setup("ideal", rng)
    spikes, neurons = spikes_and_neurons(*base)
    plain_build, plain_spikes = plain_network(spikes, *base, neurons)
    plain_best = min(run_plain() for _ in range(args.rounds))
    print(
        f"variant=plain images_per_s={N_IMAGES / plain_best:.1f} ratio_to_plain=1.00 "
        f"build_s={plain_build:.1f} spikes={plain_spikes}",
        flush=True,
    )
    for variant in variants:
        device_name = "sinh" if variant.startswith("sinh") else "ideal"
        x1, x2 = setup(device_name, np.random.default_rng(0))
        run_s, plain_s, build, n_spikes = ours(
            spikes, x1, x2, neurons, energy=variant.endswith("energy"), rounds=args.rounds
        )
        print(
            f"variant={variant} images_per_s={N_IMAGES / run_s:.1f} "
            f"ratio_to_plain={run_s / plain_s:.2f} build_s={build:.1f} spikes={n_spikes}",
            flush=True,
        )


if __name__ == "__main__":
    main()
