"""The ``snn-rram`` command."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from snn_rram import __version__
from snn_rram.errors import SnnRramError


def _devices(args) -> int:
    from snn_rram import devices

    cards = devices.list_cards()
    width = max(map(len, cards), default=0)
    for name, path in cards.items():
        try:
            dev = devices.load(path)
        except SnnRramError as exc:
            print(f"{name:<{width}}  (unreadable: {exc})")
            continue
        lv = dev.levels
        print(
            f"{name:<{width}}  {type(dev.read_model).__name__:<10} {lv.n:>4} levels "
            f"{lv.g_min:.3g}–{lv.g_max:.3g} S  {dev.description}"
        )
    return 0


def _examples(args) -> int:
    from snn_rram import _resources
    from snn_rram._validation import read_toml

    configs = _resources.available("config")
    width = max(map(len, configs), default=0)
    for name, path in configs.items():
        try:  # a sweep file names its base config; a run config has a network
            kind = "sweep" if "base" in read_toml(path, "config") else "run"
        except SnnRramError as exc:
            kind = f"(unreadable: {exc})"
        print(f"{name:<{width}}  {kind:<5}  {path}")
    return 0


def _read(args) -> int:
    from snn_rram import devices
    from snn_rram.crossbar import Circuit, Crossbar

    device = devices.load(args.device)
    rng = np.random.default_rng(args.seed)
    G = device.levels.values[rng.integers(0, device.levels.n, (args.rows, args.cols))]
    circuit = Circuit(
        v_read=args.v_read,
        pulse_width=args.pulse_width,
        r_neuron=args.r_neuron,
        inactive_rows=args.inactive_rows,
        r_wire_row=args.r_wire,
        r_wire_col=args.r_wire,
    )
    xbar = Crossbar(G, device, circuit)
    active = rng.random(args.rows) < args.activity
    res = xbar.read(active)
    gain = xbar.static_gain()
    print(f"{xbar!r}")
    print(
        f"v_read {circuit.v_read:g} V, r_neuron {circuit.r_neuron:g} Ω, inactive rows "
        f"{circuit.inactive_rows}, wires {args.r_wire:g} Ω; active rows: "
        f"{np.flatnonzero(active).tolist()}"
    )
    ideal = (active @ device.read_model.current(xbar.G, circuit.v_read)).ravel()
    print(
        f"{'column':>6} {'V_col (mV)':>11} {'I_neuron (µA)':>14} {'ideal (µA)':>11} "
        f"{'ratio':>6} {'mean G_eff/G':>12}"
    )
    for j in range(xbar.n_cols):
        ratio = res.neuron_current[0, j] / ideal[j] if ideal[j] else float("nan")
        print(
            f"{j:>6} {1e3 * res.column_voltage[0, j]:>11.4f} "
            f"{1e6 * res.neuron_current[0, j]:>14.5f} {1e6 * ideal[j]:>11.5f} {ratio:>6.3f} "
            f"{np.mean(gain[:, j] / xbar.G[:, j]):>12.4f}"
        )
    e = res.energy
    print(
        f"energy of this read ({1e6 * circuit.pulse_width:g} µs): devices "
        f"{1e12 * e('device').sum():.4f} pJ, neuron inputs {1e12 * e('neuron').sum():.4f} pJ, "
        f"wires {1e12 * e('wire').sum():.4f} pJ, drivers {1e12 * e('driver').sum():.4f} pJ"
    )
    return 0


def _summary_table(outcome) -> str:
    m = outcome.metrics
    analog = outcome.config.simulation.mode == "analog"
    rows = [
        ("ANN accuracy (float)", f"{m['ann_accuracy']:.4f}"),
        ("quantised ANN accuracy", f"{m['quantized_accuracy']:.4f}"),
        ("analog accuracy", f"{m['analog_accuracy']:.4f}")
        if analog
        else ("SNN accuracy", f"{m['snn_accuracy']:.4f}"),
        ("images", f"{m['n_images']}"),
        ("read time" if analog else "simulated time", f"{m['simulated_time']:.4g} s"),
    ]
    if "average_power_per_synapse" in m:
        rows += [
            ("device energy per inference", f"{m['energy_per_inference']:.4g} J"),
            ("average power per synapse", f"{m['average_power_per_synapse']:.4g} W"),
            ("total device energy", f"{m['total_device_energy']:.4g} J"),
        ]
    rows.append(("synapses", f"{m['n_synapses']}"))
    if analog:
        rows.append(("analog inference", f"{m['analog_s']:.2f} s"))
    else:
        rows.append(("Brian2 build / run", f"{m['build_s']:.1f} s / {m['simulation_s']:.1f} s"))
    rows.append(("wall time", f"{m['wall_time']:.1f} s"))
    if outcome.path is not None:
        rows.append(("result file", str(outcome.path)))
    if outcome.figure is not None:
        rows.append(("figure", str(outcome.figure)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def _run(args) -> int:
    from snn_rram.experiments import run
    from snn_rram.experiments.config import load_config, parse_overrides

    cfg = load_config(args.config, parse_overrides(args.set))
    if args.quiet:
        cfg = cfg.replace("simulation.progress", False)
    outcome = run(cfg)
    print(f"snn-rram run {args.config}")
    print(_summary_table(outcome))
    return 0


def _export(args) -> int:
    from pathlib import Path

    import scipy.sparse as sp

    from snn_rram import nir, results
    from snn_rram.errors import SnnRramError
    from snn_rram.experiments.config import RunConfig, load_config, parse_overrides
    from snn_rram.experiments.pipeline import prepare

    source = Path(args.config)
    record = None
    if source.suffix.lower() in (".h5", ".hdf5"):
        # a run's result: the network its config maps, checked against the stored conductances
        if args.set:
            raise SnnRramError("--set: a result file's network is exported as it was run")
        record = results.load(source)
        cfg = RunConfig.from_dict(record.config_dict)
    else:
        cfg = load_config(args.config, parse_overrides(args.set))
    prep = prepare(cfg)
    if record is not None:
        for (name, layer), m in zip(record.layers.items(), prep.mappings, strict=True):
            stored, rebuilt = (
                g.toarray() if sp.issparse(g) else np.asarray(g)
                for g in (layer.conductances, m.crossbar.G)
            )
            if stored.shape != rebuilt.shape or not np.array_equal(stored, rebuilt):
                raise SnnRramError(
                    f"{source}: layer {name!r}: the conductances its config maps today differ "
                    "from the ones stored in the result (network file or snn-rram changed); "
                    "not exported"
                )
    path = nir.write(
        args.output, crossbars=[m.crossbar for m in prep.mappings], neurons=prep.neurons
    )
    print(f"snn-rram export {args.config}: {len(prep.mappings)} mapped layers → {path}")
    return 0


def _sweep(args) -> int:
    from snn_rram import sweep
    from snn_rram.experiments.config import parse_overrides

    spec = sweep.load_sweep(args.file, parse_overrides(args.set))
    frame = sweep.run_sweep(
        spec, scheduler=args.scheduler, progress=not args.quiet, workers=args.workers
    )
    cols = [
        c
        for c in (
            "label",
            *spec.grid,
            *spec.zip,
            "status",
            "snn_accuracy",
            "analog_accuracy",
            "energy_per_inference",
            "average_power_per_synapse",
        )
        if c in frame.columns
    ]
    print(frame[cols].to_string(index=False))
    print(f"summary: {spec.directory / 'summary.csv'}")
    return 0 if (frame["status"] != "failed").all() else 1


def _info(args) -> int:
    from snn_rram import results

    print(results.summary(args.file))
    return 0


def _plot(args) -> int:
    from snn_rram.plot import standard_figures

    for path in standard_figures(args.file, args.out_dir):
        print(path)
    return 0


def _report(args) -> int:
    from pathlib import Path

    from snn_rram.plot import standard_figures
    from snn_rram.sweep import load
    from snn_rram.sweep.on_array_report import is_on_array_folder, write_on_array_report
    from snn_rram.sweep.report import default_axes, write_report

    folder = Path(args.summary)
    if is_on_array_folder(folder):  # on-array training results (paper 3), not a sweep
        path = write_on_array_report(folder)
        print(path.read_text())
        print(f"report: {path}")
        return 0
    folder = folder if folder.is_dir() else folder.parent
    try:
        frame = load(args.summary)
    except SnnRramError:
        raise
    except (OSError, ValueError, KeyError) as exc:  # e.g. a summary.csv that is not text
        raise SnnRramError(f"summary: cannot read {args.summary!r}: {_describe(exc)}") from exc
    series, x = args.series, args.x
    if series is None or x is None:
        auto_series, x = default_axes(frame, x)
        series = auto_series if series is None else series
        print(f"report: series {' · '.join(series)}, x {x} (from the sweep's axes)")
    path = write_report(frame, folder, series=series, x=x, references=tuple(args.reference))
    print(path.read_text())
    print(f"report: {path}")
    for fig in standard_figures(args.summary):
        print(f"figure: {fig}")
    return 0


def _fit(args) -> int:
    from pathlib import Path

    import matplotlib.pyplot as plt

    from snn_rram.devices.measurements import fit_card
    from snn_rram.plot import plot_iv, save_figure

    out = Path(args.out)
    if out.suffix != ".toml":
        raise SnnRramError(f"-o: a device card is a .toml file, got {args.out!r}")
    fit = fit_card(args.iv, args.levels, model=args.model, name=args.name or out.stem)
    path = fit.device.save(out)
    iv = fit.iv
    print(f"I–V fit ({args.model}, {iv.G.size} states): R² {iv.r2:.6f}, rms {iv.rms:.3g} A")
    params = {k: v for k, v in fit.device.read_model.to_dict().items() if k != "model"}
    if params:
        print("  read model: " + ", ".join(f"{k} = {v}" for k, v in params.items()))
    if fit.levels is not None:
        lv = fit.levels
        print(
            f"levels fit: R² {lv.r2:.6f}, rms {lv.rms:.3g} S; {lv.levels.n} levels "
            f"{lv.levels.g_min:.4g}–{lv.levels.g_max:.4g} S (A = {lv.A:.4g} pulses)"
        )
    figure = path.with_suffix(".png")
    n = 1 if fit.levels is None else 2
    fig, axes = plt.subplots(1, n, squeeze=False, figsize=(6 * n, 4.2), layout="constrained")
    try:
        plot_iv(fit.device, measured=(fit.V, fit.I, iv.G), axes=axes[0, 0])
        if fit.levels is not None:
            ax = axes[0, 1]
            ax.plot(fit.pulses, 1e6 * fit.G, "o", mfc="none", color="k", label="measured")
            ax.plot(np.arange(fit.levels.levels.n), 1e6 * fit.levels.levels.values, label="fit")
            ax.set_xlabel("potentiation pulses")
            ax.set_ylabel("conductance (µS)")
            ax.set_title(f"potentiation fit, R² {fit.levels.r2:.4f}", loc="left", fontsize=10)
            ax.grid(True, color="0.9", lw=0.6)
            ax.legend(fontsize=8)
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, figure)
    print(f"card: {path}")
    print(f"figure: {figure}")
    return 0


def _train(args) -> int:
    from snn_rram import datasets
    from snn_rram.ann import train

    kwargs = {"seed": args.seed, "data": datasets.load("mnist_5k"), "dataset": "mnist_5k"}
    if args.epochs is not None:
        kwargs["epochs"] = args.epochs
    network, meta = train.train_mlp(tuple(args.hidden or [256]), **kwargs)
    path = train.save_pretrained(network, meta, args.out)
    print(f"trained {network.name}: test accuracy {meta['test_accuracy']:.4f} -> {path}")
    return 0


def _int_in(lo: int, hi: int):
    """An argparse type: an integer from ``lo`` to ``hi``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected an integer from {lo} to {hi}, got {value}")
        return value

    return parse


def _float_in(lo: float, hi: float, *, open_lo: bool = False):
    """An argparse type: a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``open_lo``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (lo < value if open_lo else lo <= value) or not value <= hi:
            raise argparse.ArgumentTypeError(
                f"expected a number in {'(' if open_lo else '['}{lo:g}, {hi:g}], got {text}"
            )
        return value

    return parse


#: Largest array ``snn-rram read`` builds (rows and columns): a table printed to a terminal.
MAX_READ_SIZE = 1024
_SEED = _int_in(0, 2**63 - 1)


class _Parser(argparse.ArgumentParser):
    """argparse with every usage error as ``snn-rram: error: <command>: …`` (exit status 2)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        command = self.prog.removeprefix("snn-rram").strip()
        self.exit(2, f"snn-rram: error: {command + ': ' if command else ''}{message}\n")


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a field of the run config without editing the file, validated like the file "
        "(repeatable): --set mapping.bits=3 --set 'circuit.r_neuron=1 kohm'",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``snn-rram``."""
    parser = _Parser(
        prog="snn-rram",
        description="Spiking neural networks on passive RRAM crossbars.",
    )
    parser.add_argument("--version", action="version", version=f"snn-rram {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an error (for bug reports)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("devices", help="list the device cards")
    p.set_defaults(func=_devices)

    p = sub.add_parser("examples", help="list the example configs of the package")
    p.set_defaults(func=_examples)

    p = sub.add_parser("run", help="run the pipeline of a TOML config (convert, map, simulate)")
    p.add_argument("config", help="run configuration (.toml), or an example's name (demo)")
    _add_set(p)
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=_run)

    p = sub.add_parser(
        "export",
        help="write the network of a run config, converted and mapped, as a NIR graph "
        "(weights as read from the crossbars, the IF neurons)",
    )
    p.add_argument(
        "config",
        help="run configuration (.toml), an example's name (demo), or a run's result file (.h5)",
    )
    _add_set(p)
    p.add_argument("-o", "--output", required=True, help="the NIR file to write (.nir)")
    p.set_defaults(func=_export)

    p = sub.add_parser("sweep", help="run a sweep file on dask (resumable)")
    p.add_argument("file", help="sweep file (.toml), or an example's name (qwsm_study)")
    _add_set(p)
    p.add_argument(
        "--scheduler",
        default=None,
        help="address of a running dask scheduler (default $SNN_RRAM_SCHEDULER, "
        "else a local cluster)",
    )
    p.add_argument("--workers", type=_int_in(1, 4096), default=None, help="local worker processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("info", help="summarise an HDF5 result file")
    p.add_argument("file", help="result file (.h5)")
    p.set_defaults(func=_info)

    p = sub.add_parser("plot", help="write the standard figures (PNG) of a result or sweep")
    p.add_argument(
        "file", help="run result (.h5), sweep summary (summary.h5 / summary.csv) or sweep folder"
    )
    p.add_argument(
        "-o",
        "--out-dir",
        default=None,
        help="folder of the PNGs (default: the folder of FILE)",
    )
    p.set_defaults(func=_plot)

    p = sub.add_parser(
        "report",
        help="study table, changes against references and figures of a sweep; or the "
        "table and paper-3 targets of a folder of on-array training results",
    )
    p.add_argument(
        "summary",
        help="sweep folder or its summary.h5 / summary.csv, or a folder of on-array training "
        "result files (studies/on_array_accuracy.py --out)",
    )
    p.add_argument(
        "--series",
        nargs="+",
        default=None,
        help="column(s) whose values are the lines (default: mapping.method where the sweep "
        "varies it, else its other axes)",
    )
    p.add_argument(
        "--x",
        default=None,
        help="column of the x axis (default: mapping.bits where the sweep varies it, else its "
        "numeric axis with the most values)",
    )
    p.add_argument(
        "--reference",
        nargs="+",
        default=["linear_pair", "min_error"],
        help="series the power is compared with",
    )
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "fit",
        help="a device card fitted to measured I–V curves (and a potentiation curve)",
        description="CSV layouts: IV.csv has a column V (volts) and one column of currents "
        "(amperes) per programmed state; LEVELS.csv has the columns pulses and G (siemens). "
        "See snn_rram.devices.measurements.",
    )
    p.add_argument("iv", help="I–V curves (.csv: V,<state>,<state>,…)")
    p.add_argument("--levels", default=None, help="potentiation curve (.csv: pulses,G)")
    p.add_argument("--model", choices=["sinh", "linear", "polynomial"], default="sinh")
    p.add_argument("--name", default=None, help="card name (default: the output file's stem)")
    p.add_argument("-o", "--out", required=True, help="the card to write (.toml; a .png beside)")
    p.set_defaults(func=_fit)

    p = sub.add_parser("train", help="train an MLP on the bundled MNIST subset (needs torch)")
    p.add_argument(
        "--hidden",
        type=_int_in(1, 100_000),
        nargs="+",
        action="extend",
        help="hidden layer sizes (default 256)",
    )
    p.add_argument("--seed", type=_SEED, default=0)
    p.add_argument("--epochs", type=_int_in(1, 100_000), default=None)
    p.add_argument("--out", required=True, help="output .npz (a .toml sidecar is written too)")
    p.set_defaults(func=_train)

    p = sub.add_parser("read", help="static read of a small random array, printed as a table")
    p.add_argument("--rows", type=_int_in(1, MAX_READ_SIZE), default=8)
    p.add_argument("--cols", type=_int_in(1, MAX_READ_SIZE), default=4)
    p.add_argument("--device", default="default", help="device card name or .toml path")
    p.add_argument("--v-read", type=float, default=0.2, help="read voltage, V")
    p.add_argument("--pulse-width", type=float, default=1e-4, help="pulse width, s")
    p.add_argument("--r-neuron", type=float, default=1e3, help="neuron input resistance, Ω")
    p.add_argument("--inactive-rows", choices=["ground", "float"], default="ground")
    p.add_argument("--r-wire", type=float, default=0.0, help="wire segment resistance, Ω")
    p.add_argument(
        "--activity", type=_float_in(0.0, 1.0), default=0.5, help="fraction of rows read"
    )
    p.add_argument("--seed", type=_SEED, default=0)
    p.set_defaults(func=_read)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Every failure prints ``snn-rram: error: …`` on stderr and exits with status 2 (usage
    errors, bad input files, unreadable files); ``--debug`` shows the traceback instead.
    """
    args = build_parser().parse_args(argv)
    if "MPLBACKEND" not in os.environ:
        import matplotlib

        matplotlib.use("Agg")  # the command writes figures to files and never shows them
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("snn-rram: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"snn-rram: error: {_describe(exc)}", file=sys.stderr)
        return 2


def _describe(exc: Exception) -> str:
    """One line for an error: our messages as they are, others with their kind."""
    if isinstance(exc, SnnRramError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename!r}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start}: {exc.reason}); is it the right file?"
    if isinstance(exc, OSError | ValueError):
        return f"{exc}"
    return f"{type(exc).__name__}: {exc} (unexpected; run with --debug for the traceback)"


if __name__ == "__main__":
    sys.exit(main())
