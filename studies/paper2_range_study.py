"""Paper 2 (analog): accuracy vs the weight (conductance) range for a G-dependent I–V.

What it is
----------
Kim et al., ACM JETC 14(2) 2018 (PAPERS.md §2) claim that the nonlinear I–V of RRAM
**restrains the read voltage and the weight range** of a crossbar and costs accuracy, and that a
network reconstructed for the crossbar (trained with the device's transfer in the forward pass)
recovers it. ``studies/paper2_analog_study.py`` sweeps the read voltage on separable devices
(``I = G·f(V)``), where the weight range plays no part: every cell is bent alike. This study
sweeps the weight range — the conductance window ``[g_min, g_max]`` the differential pairs are
programmed in — on a device whose nonlinearity depends on G, at one read voltage.

Our reconstruction (every free choice an argument)
--------------------------------------------------
- **Device** (no bundled card has a G-dependent law): snn-rram's polynomial read model
  ``I = G·V + a2(G)·V² + a3(G)·V³`` with ``a2 = 0`` (odd: the inputs drive the rows at
  ``V ≥ 0``, so rectification would only add a second knob) and a relative nonlinearity
  ``κ(G) = a3(G)/G`` (1/V²; chord conductance ``G·(1 + κ V²)``) that grows toward **low G**:
  log-linear in log G from ``--kappa`` = (κ at the bottom, κ at the top) of the device's full
  range ``--g-range`` (default 4 /V² at 1 µS: the chord conductance doubles at 0.5 V; 0.25 /V²
  at 100 µS: +6 % at 0.5 V). Low G is the more nonlinear end because that is what measured
  filamentary RRAM does: the high-resistance states conduct through a ruptured filament
  (tunnelling / trap-assisted, strongly super-linear), the low-resistance ones through an
  ohmic filament (e.g. S. Yu, Proc. IEEE 106(2), 260–285, 2018, and the I–V families of
  HfOx / TaOx cells it reviews). The numbers are our representative choice, not a fit to a
  measurement; ``a3`` is a polynomial of degree ``--degree`` in ``log10 G`` fitted (weighted
  least squares, relative error printed in the report) to ``κ(G)·G`` on the full range.
- **Weight range**: each ``--windows`` entry ``lo:hi`` (µS) is that device with uniform
  levels from ``lo`` to ``hi`` (``--levels`` of them, 32 as the sinh cards): windows at the
  top of the range with a growing on/off ratio (reaching down into the nonlinear states) and
  windows of one ratio at different positions.
- **Network**: the MLP 784-256-10 (no biases) of ``paper2_analog_study.py``, trained in float
  on ``mnist_5k`` by the same function (imported from it), its float accuracy the reference.
- **Conventional**: that network converted and mapped with ``linear_pair`` at ``--bits``
  (6: every level) onto each window, read in analog mode (:class:`snn_rram.analog.AnalogNetwork`,
  ideal DAC/ADC, R_N ``--r-neuron``), with the default sense gains and with the per-layer
  gains calibrated on 500 training images (:meth:`AnalogNetwork.calibrate`).
- **Reconstructed**: :func:`snn_rram.training.train_device_aware` on the same device window
  and circuit, started from the float network (``--epochs`` fine-tuning epochs at ``--lr``,
  conductances on the window's levels); its test accuracy is its own float64 forward pass,
  which equals ``AnalogNetwork`` on the trained conductances to 1e-12 (tests/training; the
  study checks the predicted classes of 100 test images through ``AnalogNetwork`` again —
  the numpy read of a G-dependent law evaluates every cell of every read, ~10× the cost of
  the separable reads).
- One read voltage ``--v-read``, default 2 V: there the chord conductance is ×17 at 1 µS and ×2
  at 100 µS. The MLP shrugs off milder bends: at 0.5 V (×2 / ×1.06) and at 1 V (×5 / ×1.25,
  also with κ = 8 /V² at 1 µS) the conventional network lost at most 1 pp to float on every
  window tried (0.5 V: the study's float network, 1,000 test images, windows 1:100, 10:100,
  50:100; 1 V: the bundled network, 300 test images, windows 1:100, 50:100, 1:10, 1:2).

Writes ``<out>/results.csv``, ``results.h5`` (the table, the arguments, the device's
coefficients and the versions), ``report.md``, ``accuracy.png`` and the reconstructed networks
(``networks/*.npz`` with their provenance sidecars).

Usage: ``python studies/paper2_range_study.py [--windows 50:100 10:100 1:100 1:10 ...]
[--v-read 2] [--kappa 4 0.25] [--epochs 5] [--n-train N --n-test N]`` (``make
study-paper2-range``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from paper2_analog_study import READ_TIME, _Subset, _train_float

import snn_rram
from snn_rram import datasets
from snn_rram._io import atomic_write
from snn_rram.analog import AnalogNetwork
from snn_rram.crossbar import Circuit
from snn_rram.devices import Device, Polynomial, UniformLevels
from snn_rram.errors import SnnRramError
from snn_rram.training import train_device_aware

#: Conductance windows (µS): on/off ratio 2, 5, 10, 100 from the top, and ratio 10 lower down.
WINDOWS = ("50:100", "20:100", "10:100", "1:100", "3.16:31.6", "1:10", "1:2")
COLUMNS = (
    "window",
    "g_min",
    "g_max",
    "kappa_at_g_min",
    "kappa_at_g_max",
    "float",
    "conventional",
    "conventional_cal",
    "reconstructed",
    "reconstructed_analog_agreement",
    "energy_conventional",
    "energy_conventional_cal",
    "train_seconds",
)


def g_dependent_model(g_range, kappa, degree: int) -> tuple[Polynomial, float]:
    """The study's polynomial read model and the fit's largest relative error of ``a3``.

    ``κ(G) = a3(G)/G`` is log-linear in log G from ``kappa[0]`` at ``g_range[0]`` to
    ``kappa[1]`` at ``g_range[1]`` (1/V², S); ``a3`` is fitted as a polynomial of
    ``degree`` in ``log10 G`` (weights ``1/a3``: relative error) on 64 log-spaced points.
    """
    g_lo, g_hi = (float(g) for g in g_range)
    if not 0 < g_lo < g_hi:
        raise SnnRramError(f"--g-range: expected 0 < g_lo < g_hi (S), got {g_range}")
    if min(kappa) < 0:
        raise SnnRramError(f"--kappa: expected non-negative values (1/V²), got {kappa}")
    x = np.log10(np.geomspace(g_lo, g_hi, 64))
    k = np.interp(x, [x[0], x[-1]], np.log10(np.maximum(kappa, 1e-300)))
    a3 = (10.0**k) * (10.0**x)
    poly = np.polynomial.polynomial
    coeffs = poly.polyfit(x, a3, degree, w=1.0 / a3)
    error = float(np.max(np.abs(poly.polyval(x, coeffs) / a3 - 1.0)))
    return Polynomial(a2=[0.0], a3=coeffs), error


def kappa_of(model: Polynomial, G) -> np.ndarray:
    """Relative nonlinearity ``a3(G)/G`` of the model, 1/V²."""
    G = np.asarray(G, dtype=np.float64)
    return np.polynomial.polynomial.polyval(np.log10(G), model.a3) / G


def window_device(model: Polynomial, window: str, levels: int, args) -> Device:
    """The G-dependent device with uniform levels in the window ``lo:hi`` (µS)."""
    try:
        lo, hi = (float(v) * 1e-6 for v in window.split(":"))
    except ValueError:
        raise SnnRramError(f"--windows: expected lo:hi in µS, got {window!r}") from None
    g_lo, g_hi = args.g_range
    if not g_lo * (1 - 1e-9) <= lo < hi <= g_hi * (1 + 1e-9):
        raise SnnRramError(
            f"--windows: {window!r} µS is not inside the device's range "
            f"{g_lo * 1e6:g}:{g_hi * 1e6:g} µS (--g-range)"
        )
    return Device(
        name=f"g_dependent_{window.replace(':', '_')}uS",
        read_model=model,
        levels=UniformLevels(lo, hi, levels),
        source=(
            "studies/paper2_range_study.py: representative G-dependent cubic I–V (relative "
            f"nonlinearity a3/G log-linear from {args.kappa[0]:g} /V² at {g_lo:g} S to "
            f"{args.kappa[1]:g} /V² at {g_hi:g} S; more nonlinear at low G, as filamentary "
            "RRAM), our reconstruction for Kim et al., ACM JETC 14(2) 2018; not a measurement"
        ),
        description=f"G-dependent cubic I–V, levels {window} µS",
    )


def main():
    """Train the float network, then map and reconstruct it on every window."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/paper2_range_study")
    parser.add_argument("--dataset", default="mnist_5k")
    parser.add_argument("--windows", nargs="+", default=list(WINDOWS), help="lo:hi in µS")
    parser.add_argument(
        "--g-range", nargs=2, type=float, default=[1e-6, 1e-4], help="device's full range, S"
    )
    parser.add_argument(
        "--kappa", nargs=2, type=float, default=[4.0, 0.25], help="a3/G at its ends, 1/V²"
    )
    parser.add_argument("--degree", type=int, default=3, help="of a3 in log10 G")
    parser.add_argument("--levels", type=int, default=32, help="uniform levels per window")
    parser.add_argument("--bits", type=int, default=6, help="conventional: linear_pair bits")
    parser.add_argument("--v-read", type=float, default=2.0)
    parser.add_argument("--r-neuron", type=float, default=0.0)
    parser.add_argument("--epochs-float", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5, help="reconstructed: fine-tuning epochs")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--init-level", type=float, default=1.0)
    parser.add_argument("--n-train", type=int, default=None, help="first N training images")
    parser.add_argument("--n-test", type=int, default=None, help="first N test images")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    (out / "networks").mkdir(parents=True, exist_ok=True)

    model, fit_error = g_dependent_model(args.g_range, args.kappa, args.degree)
    model.check_monotone(np.geomspace(*args.g_range, 257), args.v_read, "study device")
    data = datasets.load(args.dataset)
    if args.n_train or args.n_test:
        data = _Subset(
            data, args.n_train or len(data.train_labels), args.n_test or len(data.test_labels)
        )
    network, float_acc, secs = _train_float("mlp", data, args.dataset, args.epochs_float)
    print(f"{args.dataset}, mlp: float {float_acc:.4f} ({secs:.0f} s)", flush=True)
    circuit = Circuit(args.v_read, READ_TIME, args.r_neuron)
    rows = []
    for window in args.windows:
        device = window_device(model, window, args.levels, args)
        point = _point(args, out, data, network, device, circuit)
        row = {"window": window, "float": float_acc, **point}
        rows.append(row)
        print(json.dumps(row), flush=True)
        _write(out, rows, args, model, fit_error)
    _figure(out, rows, args, model)


def _point(args, out, data, network, device, circuit) -> dict:
    """Conventional (raw, calibrated) and reconstructed accuracy on one window."""
    x_train, y_train = data.train_vectors(), np.asarray(data.train_labels)
    x_test, y_test = data.test_vectors(), np.asarray(data.test_labels)
    calib = x_train[:500]
    lv = device.levels
    conv = AnalogNetwork.from_network(
        network, calib, device, circuit, method="linear_pair", bits=args.bits
    )
    # batches of 100 images: a G-dependent law is evaluated per cell and read
    res = conv.forward(x_test, batch_size=100)
    cal = conv.calibrate(calib).forward(x_test, batch_size=100)
    started = time.perf_counter()
    rec, meta = train_device_aware(
        (784, 256, 10),
        x_train,
        y_train,
        x_test,
        y_test,
        device=device,
        circuit=circuit,
        epochs=args.epochs,
        lr=args.lr,
        init_network=network,
        init_level=args.init_level,
        name=f"reconstructed_mlp_{device.name}_{circuit.v_read:g}V",
    )
    seconds = time.perf_counter() - started
    rec.save(out / "networks" / f"{rec.name}.npz", {**meta, "dataset": args.dataset})
    # the reconstructed network's own forward pass (float64) is AnalogNetwork's on its
    # conductances to 1e-12 (tests/training); its analog read on a subset checks that here
    n_check = min(100, len(y_test))
    check = AnalogNetwork(**rec.analog_args()).forward(x_test[:n_check]).predict()
    agree = float(np.mean(check == rec.predict(x_test[:n_check])))
    kappa = kappa_of(device.read_model, [lv.g_min, lv.g_max])
    return {
        "g_min": lv.g_min,
        "g_max": lv.g_max,
        "kappa_at_g_min": float(kappa[0]),
        "kappa_at_g_max": float(kappa[1]),
        "conventional": float(np.mean(res.predict() == y_test)),
        "conventional_cal": float(np.mean(cal.predict() == y_test)),
        "reconstructed": meta["test_accuracy"],
        "reconstructed_analog_agreement": agree,
        "energy_conventional": res.energy_per_inference,
        "energy_conventional_cal": cal.energy_per_inference,
        "train_seconds": seconds,
    }


def _versions() -> dict:
    import torch

    return {
        "snn_rram": snn_rram.__version__,
        "numpy": np.__version__,
        "torch": str(torch.__version__),
        "h5py": h5py.__version__,
        "python": platform.python_version(),
    }


def _write(out: Path, rows: list, args, model: Polynomial, fit_error: float) -> None:
    """CSV, HDF5 and the markdown report of the rows so far (rewritten after every window)."""
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    with atomic_write(out / "results.csv", "w") as fh:
        table.to_csv(fh, index=False)
    with atomic_write(out / "results.h5") as fh, h5py.File(fh, "w") as f:
        f.attrs.update(
            kind="paper2_range_study",
            arguments=json.dumps(vars(args)),
            read_time_s=READ_TIME,
            read_model=json.dumps(model.to_dict()),
            a3_fit_max_relative_error=fit_error,
            **{f"version_{key}": value for key, value in _versions().items()},
        )
        for col, values in table.items():
            text = pd.api.types.is_string_dtype(values)
            f[col] = values.to_numpy(dtype=h5py.string_dtype() if text else np.float64)

    v = args.v_read
    lines = [
        "# Paper 2 (analog): accuracy vs the weight (conductance) range, G-dependent I–V",
        "",
        f"Device: I = G·V + a3(G)·V³, relative nonlinearity a3/G log-linear from "
        f"{args.kappa[0]:g} /V² at {args.g_range[0] * 1e6:g} µS to {args.kappa[1]:g} /V² at "
        f"{args.g_range[1] * 1e6:g} µS (a3 of degree {args.degree} in log10 G, largest "
        f"relative fit error {fit_error:.1e}); {args.levels} uniform levels per window. "
        f"MLP 784-256-10 on {args.dataset}, float {args.epochs_float} epochs; conventional = "
        f"`linear_pair` at {args.bits} bits, calibrated = per-layer gains fitted on 500 "
        f"training images; reconstructed = `train_device_aware` from the float network "
        f"({args.epochs} epochs, lr {args.lr:g}). V_read = {v:g} V, R_N = {args.r_neuron:g} Ω, "
        "ideal DAC/ADC, read time 1 µs. Chord conductance at V_read: G·(1 + κ·V_read²).",
        "",
        "| window (µS) | on/off | κ at g_min / g_max (1/V²) | chord ×, g_min / g_max | "
        "float | conventional | conv. + calibration | reconstructed | "
        "energy conv. / cal. (nJ) | training (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['window']} | {r['g_max'] / r['g_min']:.3g} | "
            f"{r['kappa_at_g_min']:.2f} / {r['kappa_at_g_max']:.2f} | "
            f"{1 + r['kappa_at_g_min'] * v * v:.2f} / {1 + r['kappa_at_g_max'] * v * v:.2f} | "
            f"{r['float']:.4f} | {r['conventional']:.4f} | {r['conventional_cal']:.4f} | "
            f"**{r['reconstructed']:.4f}** | "
            f"{r['energy_conventional'] * 1e9:.3g} / {r['energy_conventional_cal'] * 1e9:.3g} | "
            f"{r['train_seconds']:.0f} |"
        )
    lines += [
        "",
        "Reconstructed accuracy: `train_device_aware`'s float64 forward pass on the trained "
        "conductances; `AnalogNetwork` on them agrees on the predicted class of the first 100 "
        "test images in "
        + ", ".join(f"{r['reconstructed_analog_agreement']:.0%}" for r in rows)
        + " of them.",
        "",
        f"Versions: {json.dumps(_versions())}.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _figure(out: Path, rows: list, args, model: Polynomial) -> None:
    """Left: the device's nonlinearity over G with the windows; right: accuracy per window."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10.5, 3.8), width_ratios=(1, 1.6))
    G = np.geomspace(*args.g_range, 200)
    v = args.v_read
    ax0.semilogx(G * 1e6, 1 + kappa_of(model, G) * v * v, "k-")
    for k, r in enumerate(rows):
        y = 1 + (k + 0.5) / max(len(rows), 1) * (args.kappa[0] * v * v)
        ax0.plot([r["g_min"] * 1e6, r["g_max"] * 1e6], [y, y], "|-", lw=2, label=r["window"])
    ax0.set(
        xlabel="G (µS)",
        ylabel=f"chord conductance / G at {v:g} V",
        title="device nonlinearity and the windows",
    )
    ax0.grid(alpha=0.3)
    x = np.arange(len(rows))
    ax1.axhline(rows[0]["float"], color="k", ls="--", label="float")
    for key, label, style in (
        ("conventional", "conventional", "o-"),
        ("conventional_cal", "conventional + calibration", "s-"),
        ("reconstructed", "reconstructed", "^-"),
    ):
        ax1.plot(x, [r[key] for r in rows], style, label=label)
    ax1.set_xticks(x, [f"{r['window']}\n(×{r['g_max'] / r['g_min']:.3g})" for r in rows])
    ax1.set(
        xlabel="conductance window (µS) and on/off ratio",
        ylabel="test accuracy",
        title=f"MLP, {args.dataset}, V_read = {v:g} V, R_N = {args.r_neuron:g} Ω",
    )
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
