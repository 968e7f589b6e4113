"""Crossbar read speed, against references measured in the same run.

One machine-readable line per case; ``ours_s`` is the wall time of the whole case (building the
crossbar included):

- ``a``: 784×500 sinh, grounded rows, no wires, a batch of 100 random 5 %-active reads, against
  the same 100 reads one call at a time (target: ``ours_s`` < 0.05 s on 2 cores).
- ``b``: 128×128 sinh, grounded rows, 1 Ω wires, one read, against ngspice on the netlist
  written by ``Crossbar.to_spice`` (target: speedup >= 400 with ``max_rel_err`` < 1e-9). ngspice
  takes minutes here.
- ``c``: 256×256 linear with wires, a batch of 100 reads, against a single read (target: the
  factorisation is reused, so ``ratio`` < 5).

Usage: ``python benchmarks/bench_crossbar.py [a b c]``
"""

import argparse
import tempfile
import time

import numpy as np

from snn_rram import devices
from snn_rram.crossbar import Circuit, Crossbar, spice


def random_g(device, shape, rng):
    return device.levels.values[rng.integers(0, device.levels.n, shape)]


def case_a(rng):
    device = devices.load("sinh_mild")
    G = random_g(device, (784, 500), rng)
    circuit = Circuit(v_read=0.3, pulse_width=1e-4, r_neuron=1e3)
    active = rng.random((100, 784)) < 0.05
    Crossbar(G, device, circuit).read(active)  # warm-up (imports, first-call overheads)
    t = time.perf_counter()
    xbar = Crossbar(G, device, circuit)
    batch = xbar.read(active).neuron_current
    ours = time.perf_counter() - t
    t = time.perf_counter()
    one = np.concatenate([xbar.read(active[k]).neuron_current for k in range(100)])
    one_by_one = time.perf_counter() - t
    assert np.allclose(batch, one, rtol=1e-12)
    return (
        f"case=a ours_s={ours:.4f} one_by_one_s={one_by_one:.4f} speedup={one_by_one / ours:.1f}"
    )


def case_b(rng):
    device = devices.load("sinh_mild")
    G = random_g(device, (128, 128), rng)
    circuit = Circuit(v_read=0.3, pulse_width=1e-4, r_neuron=1e3, r_wire_row=1.0, r_wire_col=1.0)
    active = rng.random(128) < 0.5
    Crossbar(G[:16, :16], device, circuit).read(active[:16])  # warm-up
    t = time.perf_counter()
    ours = Crossbar(G, device, circuit).read(active)
    ours_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ref = spice.simulate(Crossbar(G, device, circuit), active, workdir=tmp)
        ngspice_s = time.perf_counter() - t
    err = np.max(np.abs(ours.neuron_current[0] - ref.neuron_current) / ref.neuron_current)
    return (
        f"case=b ours_s={ours_s:.4f} ngspice_s={ngspice_s:.2f} speedup={ngspice_s / ours_s:.0f} "
        f"max_rel_err={err:.2e}"
    )


def case_c(rng):
    device = devices.load("ideal")
    G = random_g(device, (256, 256), rng)
    circuit = Circuit(v_read=0.3, pulse_width=1e-4, r_neuron=1e3, r_wire_row=1.0, r_wire_col=1.0)
    active = rng.random((100, 256)) < 0.05
    Crossbar(G[:16, :16], device, circuit).read(active[:, :16])  # warm-up
    t = time.perf_counter()
    Crossbar(G, device, circuit).read(active[0])
    single = time.perf_counter() - t
    t = time.perf_counter()
    Crossbar(G, device, circuit).read(active)
    ours = time.perf_counter() - t
    return f"case=c ours_s={ours:.4f} single_read_s={single:.4f} ratio={ours / single:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="any of a, b, c (default: all)")
    args = parser.parse_args()
    cases = args.cases or ["a", "b", "c"]
    if set(cases) - {"a", "b", "c"}:
        parser.error(f"unknown case(s): {sorted(set(cases) - {'a', 'b', 'c'})}")
    rng = np.random.default_rng(2024)
    for name in cases:
        print({"a": case_a, "b": case_b, "c": case_c}[name](rng), flush=True)


if __name__ == "__main__":
    main()
