"""Speed of training on the array against float SGD of the same network in numpy.

One epoch of ``mnist_5k`` (its 4,000 training images, per-image updates, batch size 1) on a
784-256-10 MLP, ``synapse = "hybrid"`` (selection by phase, γ = 10, η = 0.02) with nonlinear
noisy devices — 50 states, NeuroSim RealDevice nonlinearity (LTP 2.4, LTD −4.88) and
cycle-to-cycle noise (3.5 % of the range per pulse) — against ``synapse = "float"``: the same
network, initialisation, order and schedule in float64 numpy, in the same process (both
:func:`snn_rram.training.train_on_array`; the epoch's own time, accuracy on the 1,000 test
images after it). ``--phase big`` (default) is the first epoch of a by-phase run, pulses on the
big array; ``--phase small`` pulses the small array from the first epoch at the same η (the
worst case: in a real schedule the small array's epochs come later, at a decayed η).
``--scheme pair_update/pulse_rule[/rounding]`` times another update scheme (default
``potentiate/mean_step``; e.g. ``potentiate/state_aware/stochastic``, which reads the array
before every update). Single-threaded BLAS; with ``--repeat`` the two sides alternate and each
side's best time counts. ``--cpu`` times with the process's CPU time instead of the wall clock
(less sensitive to other jobs on a shared machine). One machine-readable line::

    config=hybrid epoch_s=… float_epoch_s=… ratio=… accuracy=… float_accuracy=… pulses=…

Target: ratio <= 4.

Usage: ``python benchmarks/bench_training.py [--repeat N] [--phase big|small] [--images N]
[--scheme S] [--cpu]``
"""

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from snn_rram import datasets, devices
from snn_rram.devices import Programming
from snn_rram.training import OnArrayConfig, train_on_array

_CARD = devices.load("neurosim_realdevice").programming
DEVICE = Programming(
    _CARD.g_min,
    _CARD.g_max,
    50,
    _CARD.nl_ltp,
    _CARD.nl_ltd,
    sigma_c2c=_CARD.sigma_c2c,
    pulse_energy=1e-12,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--images", type=int, default=4000, help="training images (4,000)")
    parser.add_argument("--learning-rate", type=float, default=0.02, help="η (0.02, the study's)")
    parser.add_argument(
        "--phase",
        choices=("big", "small"),
        default="big",
        help="which array the epoch pulses (switch_epoch 1 or 0; default: big)",
    )
    parser.add_argument("--scheme", default="potentiate/mean_step")
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall time")
    args = parser.parse_args()
    keys = ("pair_update", "pulse_rule", "rounding")
    scheme = dict(zip(keys, args.scheme.split("/"), strict=False))
    ds = datasets.load("mnist_5k").subset(n_train=args.images)
    data = ds.train_vectors(), ds.train_labels, ds.test_vectors(), ds.test_labels
    sizes = (784, 256, 10)
    switch = 1 if args.phase == "big" else 0
    common = {"epochs": 1, "learning_rate": args.learning_rate}
    hybrid = OnArrayConfig(
        synapse="hybrid", selection="phase", switch_epoch=switch, **common, **scheme
    )
    ref = OnArrayConfig(synapse="float", **common)
    ours = theirs = float("inf")
    for _ in range(args.repeat):
        c0 = time.process_time()
        r = train_on_array(sizes, DEVICE, *data, hybrid, seed=0)
        ours = min(ours, time.process_time() - c0 if args.cpu else float(r.seconds[0]))
        c0 = time.process_time()
        f = train_on_array(sizes, None, *data, ref, seed=0)
        theirs = min(theirs, time.process_time() - c0 if args.cpu else float(f.seconds[0]))
    pulses = sum(int(v.sum()) for v in r.pulses.values())
    print(
        f"config=hybrid epoch_s={ours:.2f} float_epoch_s={theirs:.2f} ratio={ours / theirs:.2f} "
        f"accuracy={r.test_accuracy[-1]:.3f} float_accuracy={f.test_accuracy[-1]:.3f} "
        f"pulses={pulses} phase={args.phase} scheme={args.scheme} "
        f"clock={'cpu' if args.cpu else 'wall'}"
    )


if __name__ == "__main__":
    main()
