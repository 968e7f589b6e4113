"""QWSM's robustness study without Brian2: quantised-ANN accuracy and read power of every point.

Runs every point of ``models/experiments/qwsm_robustness.toml`` (or another sweep file) through
the pipeline's own steps up to the mapping (network, images, conversion, device, circuit,
mapping method with the pipeline's arguments) and measures

- ``quantized_accuracy``: the pipeline's metric, :func:`snn_rram.experiments.pipeline.
  effective_forward` (the effective, read weights in the float network) on the sweep's images;
- ``power_per_synapse``: device read power per synapse, W, each row read alone
  (:meth:`Crossbar.row_read_power`, devices only) at the duty of its input in the rate model
  (input intensity, or hidden activation, × ``max_rate`` × ``pulse_width``; bias rows always
  on), summed over layers / stored synapses: the spiking run's ``average_power_per_synapse``
  without the spikes' randomness;
- ``objective``: QWSM's objective (:func:`snn_rram.mapping.qwsm.objective`, error term and total
  at QWSM's power weight of that point), summed over layers, for the differential mappings;
- for QWSM: per layer passes, converged, objective vs linear_pair's, distinct weights, time.

Usage::

    PYTHONPATH=. python studies/qwsm_robustness.py [sweep.toml] [--out results/qwsm_robustness]

writes ``quantised.csv`` and ``layers.csv`` there and prints the summary tables (markdown).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from snn_rram import ann
from snn_rram.experiments import pipeline
from snn_rram.mapping.qwsm import objective
from snn_rram.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]


def _pairs(m):
    """(G+, G−, bias G+, bias G−) of a one-device-per-side differential mapping, or None."""
    x = m.crossbar
    if x.layout.n_rows != x.layout.n_inputs + (m.effective_bias is not None):
        return None  # parallel devices or another layout
    G = np.asarray(x.G.todense()) if x.is_sparse else np.asarray(x.G)
    n_in = x.layout.n_inputs
    gp, gm = G[:n_in, 0::2].T, G[:n_in, 1::2].T
    bgp = bgm = None
    if m.effective_bias is not None:
        bgp, bgm = G[n_in, 0::2], G[n_in, 1::2]
    return gp, gm, bgp, bgm


def qwsm_layer_row(layer, r: dict, seconds: float, **labels) -> dict:
    """One row of QWSM's per-layer table: the labels, then the report's convergence figures."""
    return {
        **labels,
        "layer": layer.name,
        "shape": "x".join(map(str, layer.weight.shape)),
        "passes": r["passes"],
        "converged": r["converged"],
        "objective": r["objective"],
        "objective_linear_pair": r["objective_linear_pair"],
        "objective_min_error": r["objective_min_error"],
        "start": r["start"],
        "power_weight": r["power_weight"],
        "power_weight_mode": r["power_weight_mode"],
        "distinct_effective_weights": r["distinct_effective_weights"],
        "time_s": seconds,
    }


def run(sweep_path: Path, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every point of the sweep: the per-point table and QWSM's per-layer table."""
    spec = load_sweep(sweep_path)
    base = spec.base
    network, _ = pipeline.load_network(base)
    x, y, calib = pipeline._dataset(base)
    converted = ann.convert(network, calib, percentile=base.conversion.percentile)
    rows, layer_rows = [], []
    points = spec.points()
    t_start = time.perf_counter()
    for n, p in enumerate(points):
        cfg = p.config
        (device, _), circuit = pipeline._device(cfg), pipeline._circuit(cfg)
        mappings, _, times = pipeline.map_layers(cfg, converted, calib, device, circuit)
        duty = min(1.0, cfg.encoder.max_rate * cfg.circuit.pulse_width)
        activity = (
            converted.input_activity(calib)
            if cfg.mapping.activity == "calibration"
            else [None] * len(mappings)
        )
        q_acc = float(np.mean(np.argmax(pipeline.effective_forward(mappings, x), axis=1) == y))
        # read power: every row at the mean duty of its input in the rate model of the mapped
        # network on the test images
        n_syn = 0
        objs, errs = 0.0, 0.0
        for k, (m, layer) in enumerate(zip(mappings, converted.layers, strict=True)):
            n_syn += int(np.size(m.effective_weight)) + (
                0 if m.effective_bias is None else m.effective_bias.size
            )
            pairs = _pairs(m) if not m.report.get("calibrated") else None
            if pairs is not None and objs == objs:
                lam = m.report.get("power_weight", 0.0)
                o = objective(
                    layer.weight,
                    pairs[0],
                    pairs[1],
                    device,
                    circuit,
                    bits=cfg.mapping.bits,
                    g_per_weight=m.g_per_weight,
                    bias=layer.bias,
                    bias_gp=pairs[2],
                    bias_gm=pairs[3],
                    bias_duty=duty,
                    power_weight=lam,
                    activity=activity[k],
                )
                objs += o.total
                errs += o.error
            else:
                objs = errs = float("nan")
            if m.report.get("method") == "qwsm":
                labels = {
                    "card": cfg.device.card,
                    "r_neuron": float(circuit.r_neuron),
                    "bits": cfg.mapping.bits,
                }
                layer_rows.append(qwsm_layer_row(layer, m.report, times[k], **labels))
        means = pipeline.effective_activity(mappings, x)
        energy_rate = pipeline.rate_read_power(mappings, means, cfg.encoder.max_rate)
        series = p.axes.get("label") or cfg.mapping.method
        rows.append(
            {
                "card": cfg.device.card,
                "r_neuron": float(circuit.r_neuron),
                "bits": cfg.mapping.bits,
                "series": series,
                "activity": cfg.mapping.activity,
                "quantized_accuracy": q_acc,
                "power_per_synapse": energy_rate / n_syn,
                "objective": objs,
                "objective_error": errs,
                "map_s": float(sum(times)),
            }
        )
        print(
            f"[{n + 1}/{len(points)} {time.perf_counter() - t_start:.0f} s] {cfg.device.card} "
            f"R_N={circuit.r_neuron:g} {cfg.mapping.bits} b {series}: acc {q_acc:.3f}, "
            f"{energy_rate / n_syn * 1e9:.3f} nW, J {objs:.4g}, {sum(times):.1f} s",
            file=sys.stderr,
            flush=True,
        )
    out.mkdir(parents=True, exist_ok=True)
    frame, layers = pd.DataFrame(rows), pd.DataFrame(layer_rows)
    frame.to_csv(out / "quantised.csv", index=False)
    layers.to_csv(out / "layers.csv", index=False)
    return frame, layers


def summarise(frame: pd.DataFrame, layers: pd.DataFrame) -> str:
    """The markdown tables of docs/qwsm.md and the targets."""
    key = ["card", "r_neuron", "bits"]
    wide = frame.pivot_table(index=key, columns="series", values="quantized_accuracy")
    power = frame.pivot_table(index=key, columns="series", values="power_per_synapse")
    diff = (wide["qwsm"] - wide["linear_pair"]) * 100
    pratio = power["qwsm"] / power["linear_pair"]
    out = [
        "| card | worst Δacc (pp) | mean Δacc (pp) | mean acc lp / qwsm / cal | "
        "power qwsm/lp (mean, max) | cells with Δacc < −0.5 pp |",
        "|---|---|---|---|---|---|",
    ]
    for card, d in diff.groupby(level="card", sort=False):
        w = wide.loc[card]
        pr = pratio.loc[card]
        out.append(
            f"| {card} | {d.min():+.1f} | {d.mean():+.2f} | {w['linear_pair'].mean():.3f} / "
            f"{w['qwsm'].mean():.3f} / {w['calibrated'].mean():.3f} | {pr.mean():.2f}, "
            f"{pr.max():.2f} | {int((d < -0.5).sum())} of {d.size} |"
        )
    out.append("")
    out.append(
        f"All cells: worst {diff.min():+.1f} pp, mean {diff.mean():+.2f} pp; cells with power "
        f"above linear_pair's and accuracy not higher: "
        f"{int(((pratio > 1 + 1e-9) & (diff <= 0)).sum())} of {diff.size}."
    )
    if ("default", 100.0, 5) in wide.index:
        d5 = wide.loc[("default", 100.0, 5)]
        out.append(
            f"Default card, 100 Ω, 5 bits: qwsm {d5['qwsm']:.3f}, calibrated "
            f"{d5['calibrated']:.3f}."
        )
    ok = frame[frame["series"] != "calibrated"].dropna(subset=["objective"])
    rho_e = spearmanr(ok["objective_error"], ok["quantized_accuracy"])
    rho_t = spearmanr(ok["objective"], ok["quantized_accuracy"])
    # within a cell: does the objective order the three methods as the accuracy does?
    agree = total = 0
    for _, g in ok.groupby(key):
        v = g[["objective_error", "quantized_accuracy"]].to_numpy()
        for i in range(len(v)):
            for j in range(i + 1, len(v)):
                if v[i, 1] != v[j, 1]:
                    total += 1
                    agree += (v[i, 0] - v[j, 0]) * (v[i, 1] - v[j, 1]) < 0
    out.append(
        f"Spearman(objective error, quantised accuracy) over {len(ok)} points: "
        f"{rho_e.statistic:.3f}; total objective: {rho_t.statistic:.3f}; method pairs within a "
        f"cell ordered alike: {agree} of {total}."
    )
    out.append("")
    out.append("Full table (quantised accuracy; power per synapse in nW):")
    out.append("")
    out.append("| card | R_N (Ω) | bits | lp | min_error | qwsm | calibrated | P lp | P qwsm |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for idx, r in wide.iterrows():
        pw = power.loc[idx]
        out.append(
            f"| {idx[0]} | {idx[1]:g} | {idx[2]} | {r['linear_pair']:.3f} | {r['min_error']:.3f}"
            f" | {r['qwsm']:.3f} | {r['calibrated']:.3f} | {pw['linear_pair'] * 1e9:.3f} | "
            f"{pw['qwsm'] * 1e9:.3f} |"
        )
    if len(layers):
        out.append("")
        above = layers["objective"] > layers["objective_linear_pair"] * (1 + 1e-9)
        out.append(
            f"QWSM layers: {len(layers)}, converged {int(layers['converged'].sum())}, objective "
            f"above linear_pair's in {int(above.sum())}; passes max {layers['passes'].max()}."
        )
        out.append("")
        out.append(
            "| layer | bits | passes (median, max) | converged | J / J_lp (median, max) | "
            "distinct weights (mean) | time (s, max) |"
        )
        out.append("|---|---|---|---|---|---|---|")
        ratio = layers["objective"] / layers["objective_linear_pair"]
        for (name, bits), g in layers.assign(ratio=ratio).groupby(["layer", "bits"]):
            out.append(
                f"| {name} | {bits} | {g['passes'].median():.0f}, {g['passes'].max()} | "
                f"{int(g['converged'].sum())} of {len(g)} | {g['ratio'].median():.3f}, "
                f"{g['ratio'].max():.3f} | {g['distinct_effective_weights'].mean():.1f} | "
                f"{g['time_s'].max():.1f} |"
            )
    return "\n".join(out)


def main(argv=None) -> int:
    """Command line: run (or re-summarise) the study and print its summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "sweep", nargs="?", default=str(ROOT / "models/experiments/qwsm_robustness.toml")
    )
    ap.add_argument("--out", default=str(ROOT / "results/qwsm_robustness"))
    ap.add_argument("--summary-only", action="store_true", help="summarise existing CSVs")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.summary_only:
        frame = pd.read_csv(out / "quantised.csv")
        layers = pd.read_csv(out / "layers.csv")
    else:
        frame, layers = run(Path(args.sweep), out)
    text = summarise(frame, layers)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
