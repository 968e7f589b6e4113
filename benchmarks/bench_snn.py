"""Spiking-network throughput against a plain Brian2 network of the same shape and activity.

Networks (cpp_standalone, single-threaded on both sides, MNIST images of the bundled subset,
100 ms each at dt = 0.1 ms, pixel rates up to 100 Hz):

- ``linear``, ``linear_energy``, ``sinh_energy``: 784-500-10 with differential pairs;
- ``sinh_energy_bias``: the same with an always-on bias row on both layers;
- ``lenet_sinh_energy``: a LeNet-5 (conv 5x5 x6 pad 2, avg pool, conv 5x5 x16, avg pool,
  120-84-10, biases) trained on ``mnist_5k`` (``ann.train.train_network``, ``LENET_RECIPE``: 5
  epochs, seed 0, one thread; about 0.92 float test accuracy; cached in ``build/bench/`` under a
  hash of the recipe, so only the first run trains), converted by ``ann.convert``
  (convolutions unrolled into sparse layers, pooling folded into the next layer) and mapped by
  ``linear_pair`` (4 bits, per-column calibration of the read gain: without it the 600- and
  1,600-row columns of conv2 and fc1 lose most of their weight at R_N = 100 ohm and the dense
  layers never fire) onto sinh crossbars, as a user's network is. The script prints the float
  accuracy and the spiking network's accuracy and spikes per layer (every layer fires).

Each plain network has the same input spikes, neurons and thresholds, synapses
``on_pre='v_post += w'`` on the same connectivity (the layer plan's synapses) with the static
(linear) weights, and the always-on rows as a constant input current. Build time is reported
apart from run time (the C++ network run time Brian2 records, without process start-up; with
energy accounting, plus the time spent computing the energies from the results, which is where
linear layers account theirs: the overlaps of the input pulses and one dense product with the
inputs' conductances, :func:`snn_rram.snn.energy.linear_energy`). The machine's load varies
over time, so each variant's runs alternate with runs of its compiled plain network and the
ratio is the quotient of the two best times; the line also lists every run's time
(``runs_s``, ``plain_s``).

One machine-readable line per variant::

    variant=linear_energy images_per_s=123.4 ratio_to_plain=1.62 build_s=31.0

Targets: linear + energy <= 1.5x, sinh + energy <= 2.8x, sinh + energy with bias rows <= 3x,
LeNet-5 on sinh crossbars with energy <= 3x the plain network.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

# single-threaded on both sides, post-processing included
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import brian2 as b2
import numpy as np
import scipy.sparse as sp

from snn_rram import ann, datasets, devices, mapping, snn
from snn_rram.ann.train import train_network
from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.crossbar.layout import ALWAYS_ON
from snn_rram.snn._targets import build_dir
from snn_rram.snn.plan import LayerPlan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies"))
from qwsm_convergence import lenet5  # the QWSM study's LeNet-5 architecture

#: how the benchmark's LeNet-5 is trained (float, PyTorch, one thread, deterministic); part of
#: the cache key, so a changed recipe retrains
LENET_RECIPE = {"dataset": "mnist_5k", "epochs": 5, "batch_size": 64, "lr": 1e-3, "seed": 0}

IMAGE_S, DT, PULSE, MAX_RATE = 0.1, 1e-4, 1e-4, 100.0
SHAPE = (784, 500, 10)
VARIANTS = ("linear", "linear_energy", "sinh_energy", "sinh_energy_bias", "lenet_sinh_energy")


def differential(w, levels):
    """Plain linear mapping of weights onto (G+, G-) pairs: w = (G+ - G-) / scale."""
    g_min, g_max = levels.g_min, levels.g_max
    scale = np.abs(w).max()
    gp = g_min + np.maximum(w, 0) / scale * (g_max - g_min)
    gm = g_min + np.maximum(-w, 0) / scale * (g_max - g_min)
    G = np.empty((w.shape[0], 2 * w.shape[1]))
    G[:, 0::2], G[:, 1::2] = gp, gm
    return G


def sinh_device(dev):
    """The benchmark's sinh device: the linear one's levels."""
    return devices.Device("sinh_bench", devices.Sinh(1.5), dev.levels, source="benchmark")


def mlp(device_name, bias=False):
    """784-500-10 differential crossbars (``bias``: an always-on row on both layers)."""
    rng = np.random.default_rng(0)
    dev = devices.load("ideal")
    if device_name == "sinh":
        dev = sinh_device(dev)
    circuit = Circuit(v_read=0.2, pulse_width=PULSE, r_neuron=100.0)
    w1 = rng.normal(0, 1, SHAPE[:2]) + 0.3
    w2 = rng.normal(0, 1, SHAPE[1:])
    out = []
    for w in (w1, w2):
        if bias:  # the bias row's weight: about ten inputs at a typical rate
            w = np.vstack([w, rng.normal(0, 0.1, (1, w.shape[1]))])
        lay = Layout.differential(w.shape[0] - bias, w.shape[1], bias=bias)
        out.append(Crossbar(differential(w, dev.levels), dev, circuit, lay))
    return out


def trained_lenet(ds):
    """LeNet-5 trained on ``ds`` by ``LENET_RECIPE``, cached in ``build/bench/``.

    The cache file's name holds a hash of the recipe and the architecture, so a changed recipe
    trains again; the recipe is also kept next to it (``.json``). Prints the float test
    accuracy.
    """
    arch = lenet5()
    recipe = {**LENET_RECIPE, "architecture": arch.summary()}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    folder = build_dir() / "bench"
    path = folder / f"lenet5_trained_{key}.npz"
    if path.exists():
        net = ann.load(path)
        how = f"cached {path.name}"
    else:
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        args = {k: v for k, v in LENET_RECIPE.items() if k != "dataset"}
        net, _ = train_network(
            arch, ds.train_vectors(), ds.train_labels, ds.test_vectors(), ds.test_labels, **args
        )
        ann.save(net, path)
        path.with_suffix(".json").write_text(json.dumps(recipe, indent=1) + "\n")
        how = f"trained in {time.perf_counter() - t:.0f} s, {path.name}"
    x_test = ds.test_vectors().reshape(-1, *net.input_shape)
    acc = float(np.mean(net.predict(x_test) == ds.test_labels))
    print(f"lenet5 float test accuracy {acc:.4f} ({ds.test_labels.size} images; {how})")
    return net


def lenet(network, images):
    """LeNet-5 converted and mapped onto sinh crossbars (4 bits), with its IF neurons."""
    dev = sinh_device(devices.load("ideal"))
    circuit = Circuit(v_read=0.2, pulse_width=PULSE, r_neuron=100.0)
    converted = ann.convert(network, images)
    xbars, neurons = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for layer in converted.layers:
            m = mapping.linear_pair(
                layer.weight,
                dev,
                circuit,
                bits=4,
                bias=layer.bias,
                bias_duty=MAX_RATE * PULSE,
                calibrate=True,
            )
            xbars.append(m.crossbar)
            # one spike through one unit of normalised weight = one threshold of charge
            charge = circuit.v_read * PULSE * m.g_per_weight
            neurons.append(snn.IFNeuron(threshold=1.0, capacitance=charge))
    return xbars, neurons


def input_weights(x):
    """Static (linear) current of each input's rows and of the always-on rows per neuron, A.

    Returns a sparse (inputs, neurons) matrix and a (neurons,) array.
    """
    g = sp.csr_matrix(x.static_gain()) * x.circuit.v_read
    w = (g @ x.layout.readout).tocsr()  # (rows, neurons)
    rows = x.layout.row_input
    driven = np.flatnonzero(rows != ALWAYS_ON)
    pick = sp.csr_matrix(
        (np.ones(driven.size), (rows[driven], driven)), shape=(x.layout.n_inputs, rows.size)
    )
    bias = np.asarray(w[np.flatnonzero(rows == ALWAYS_ON)].sum(axis=0)).ravel()
    return (pick @ w).tocsr(), bias


def mlp_neurons(spikes, xbars):
    """Thresholds for ~20 Hz in the busiest neurons (linear estimate of their drive)."""
    rate = spikes.counts().mean(axis=0) / IMAGE_S
    neurons = []
    drive = rate
    for x in xbars:
        W, bias = input_weights(x)
        charge = np.asarray(W.T @ drive).ravel() * PULSE + bias  # C/s
        C = 1e-10
        theta = max(np.quantile(charge, 0.9) / 20.0 / C, 1e-6)
        neurons.append(snn.IFNeuron(threshold=theta, capacitance=C))
        drive = np.clip(charge / (C * theta), 0, 1 / PULSE)
    return neurons


def plain_network(name, spikes, xbars, neurons):
    """The reference: same spikes, neurons, thresholds and synapses, ``v_post += w``."""
    directory = str(build_dir() / f"bench_plain_{name}")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    dev = b2.get_device()
    dev.reinit()
    dev.activate(directory=directory, build_on_run=False)
    dt = DT * b2.second
    src = b2.SpikeGeneratorGroup(spikes.n_inputs, spikes.indices, spikes.steps * dt, dt=dt)
    objs, pre = [src], src
    for x, neuron in zip(xbars, neurons, strict=True):
        W, bias = input_weights(x)
        g = b2.NeuronGroup(
            x.layout.n_neurons,
            "dv/dt = I_bias : volt\nI_bias : volt/second (constant)",
            threshold="v > theta",
            reset="v -= theta",
            refractory=PULSE * b2.second,
            method="euler",
            dt=dt,
            namespace={"theta": neuron.threshold * b2.volt},
        )
        g.I_bias = bias / neuron.capacitance * b2.volt / b2.second
        plan = LayerPlan.from_crossbar(x)
        s = b2.Synapses(pre, g, "w_syn : volt", on_pre="v_post += w_syn", dt=dt)
        s.connect(i=plan.syn_i, j=plan.syn_j)
        w = np.asarray(W[plan.syn_i, plan.syn_j]).ravel()
        s.w_syn = w * PULSE / neuron.capacitance * b2.volt
        reset = g.run_regularly("v = 0*volt", dt=IMAGE_S * b2.second, when="start")
        objs += [g, s, reset, b2.SpikeMonitor(g)]
        pre = g
    net = b2.Network(objs)
    net.run(spikes.n_images * IMAGE_S * b2.second)
    t = time.perf_counter()
    dev.build(directory=directory, compile=True, run=False, clean=True)
    build = time.perf_counter() - t
    dev.run(directory=directory, with_output=False)
    return build, [len(m.i[:]) for m in objs if isinstance(m, b2.SpikeMonitor)]


def run_plain(name) -> float:
    """Run a compiled plain network again; its network run time as Brian2 records it, s."""
    directory = build_dir() / f"bench_plain_{name}"
    results = directory / "results"
    subprocess.run(
        ["./main", "--results_dir", f"{results}/"], cwd=directory, check=True, capture_output=True
    )
    return float((results / "last_run_info.txt").read_text().split()[0])


def ours(name, spikes, xbars, neurons, energy, rounds):
    """Build once, then alternate plain and own runs (the machine's load varies over time)."""
    t = time.perf_counter()
    net = snn.SpikingNetwork(
        xbars, neurons, spikes, energy=energy, target="cpp_standalone", name="bench"
    )
    build = time.perf_counter() - t
    runs, plain, res, energy_s = [], [], None, []
    for _ in range(rounds):
        plain.append(run_plain(name))
        res = net.run()
        # the C++ run plus, with energy, the energies computed from the results (linear) or
        # assembled per device from the accumulators (sinh)
        runs.append(res.timings["simulation_s"] + res.timings["energy_s"])
        energy_s.append(res.timings["energy_s"])
    kernels = [getattr(getattr(layer, "cols", None), "rows", False) for layer in net.layers]
    return (
        runs,
        energy_s[int(np.argmin(runs))],
        plain,
        build,
        [len(layer.spike_indices) for layer in res.layers],
        kernels,
        res,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help=", ".join(VARIANTS))
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternating plain/own runs per variant (min taken)"
    )
    parser.add_argument("--images", type=int, default=100, help="images per run")
    args = parser.parse_args()
    variants = args.variants or list(VARIANTS)
    ds = datasets.load("mnist_5k")
    images = ds.test_vectors()[: args.images]
    spikes = snn.PoissonEncoder(max_rate=MAX_RATE, dead_time=PULSE).encode(images, DT, IMAGE_S, 7)
    # per plain network: (its crossbars, the variant's crossbars, neurons)
    cases = {
        "mlp": lambda sinh: (mlp("ideal"), mlp("sinh" if sinh else "ideal")),
        "mlp_bias": lambda sinh: (mlp("ideal", bias=True), mlp("sinh", bias=True)),
    }
    built = {}
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
        if variant.startswith("lenet"):
            case = "lenet"
            net = trained_lenet(ds)
            xbars, neurons = lenet(net, ds.train_vectors()[:200].reshape(-1, 1, 28, 28))
            base = xbars
        else:
            case = "mlp_bias" if "bias" in variant else "mlp"
            base, xbars = cases[case](variant.startswith("sinh"))
            neurons = mlp_neurons(spikes, base)
        if case not in built:
            plain_build, plain_spikes = plain_network(case, spikes, base, neurons)
            plain_best = min(run_plain(case) for _ in range(args.rounds))
            built[case] = True
            print(
                f"variant=plain_{case} images_per_s={args.images / plain_best:.1f} "
                f"ratio_to_plain=1.00 build_s={plain_build:.1f} spikes={plain_spikes}",
                flush=True,
            )
        runs, energy_s, plains, build, n_spikes, kernels, res = ours(
            case, spikes, xbars, neurons, "energy" in variant, args.rounds
        )
        if case == "lenet":  # a trained network: its spiking accuracy says the layers work
            labels = ds.test_labels[: args.images]
            print(
                f"lenet5 snn accuracy {res.accuracy(labels):.3f} ({args.images} images, "
                f"{IMAGE_S * 1e3:.0f} ms each, spikes per layer {n_spikes})",
                flush=True,
            )
        run_s, plain_s = min(runs), min(plains)
        print(
            f"variant={variant} images_per_s={args.images / run_s:.1f} "
            f"ratio_to_plain={run_s / plain_s:.2f} energy_s={energy_s:.3f} build_s={build:.1f} "
            f"runs_s={','.join(f'{t:.3f}' for t in runs)} "
            f"plain_s={','.join(f'{t:.3f}' for t in plains)} "
            f"spikes={n_spikes} "
            f"row_kernel={''.join('1' if k else '0' for k in kernels)} "
            f"load={os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
