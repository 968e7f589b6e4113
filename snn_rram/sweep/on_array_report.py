"""``snn-rram report`` on a folder of on-array training results (paper 3, issue 16 §4).

The folder holds the HDF5 files of :func:`snn_rram.training.save_on_array` (what
``studies/on_array_accuracy.py --out DIR`` writes, one file per configuration, scheme and
seed). :func:`on_array_runs` reads one row per file; :func:`on_array_table` groups them by data
set × network × epochs × configuration × scheme × states into the final test accuracy (mean ±
sample standard deviation over seeds, their number) against ``float`` on the same seeds, with
the pulses, refreshes and array reads of a run and its wall time per epoch;
:func:`on_array_claims` checks paper 3's target — the best ``hybrid`` (over selection logics and
update schemes) within 0.5 pp of ``float`` at 50 states on every data set present — and
:func:`on_array_notes` states, as information, what ``single`` loses and what ``hybrid_carry``
costs in pulses against that best hybrid. :func:`write_on_array_report` writes all of it, with a
figure of the mean test accuracy against epoch.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from snn_rram._io import atomic_write
from snn_rram.errors import SnnRramError
from snn_rram.mapping.trained import TRAINING_KIND
from snn_rram.plot.figures import save_figure
from snn_rram.sweep.report import Claim, claims_markdown
from snn_rram.training import load_on_array, read_provenance
from snn_rram.training.on_array import SYNAPSES

__all__ = [
    "TARGET_PP",
    "TARGET_STATES",
    "is_on_array_folder",
    "on_array_claims",
    "on_array_markdown",
    "on_array_notes",
    "on_array_runs",
    "on_array_table",
    "plot_on_array_curves",
    "write_on_array_report",
]

#: Paper 3's target: the best hybrid within this many points of float (fractions: 0.5 pp)...
TARGET_PP = 0.005
#: ... at this many conductance states per device.
TARGET_STATES = 50
#: The grouping of :func:`on_array_table`, in order.
_KEY = ["dataset", "network", "epochs", "configuration", "scheme", "states"]
_ROLES = ("main", "big", "small")


def _kind(path: Path) -> str | None:
    """The ``kind`` attribute of an HDF5 file (None for a file that is not HDF5)."""
    try:
        with h5py.File(path, "r") as f:
            kind = f.attrs.get("kind")
    except OSError:
        return None
    return None if kind is None else str(kind)


def _training_files(directory: Path) -> list[Path]:
    return [p for p in sorted(directory.glob("*.h5")) if _kind(p) == TRAINING_KIND]


def is_on_array_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder of on-array training results and not a sweep's folder."""
    path = Path(path)
    if not path.is_dir() or any((path / s).exists() for s in ("summary.h5", "summary.csv")):
        return False
    return bool(_training_files(path))


def on_array_runs(directory: str | os.PathLike):
    """One row per on-array training result file of ``directory`` (other files left out).

    Returns
    -------
    pandas.DataFrame
        Columns ``file``, ``dataset``, ``configuration``, ``synapse``, ``scheme``
        (``pair_update/pulse_rule/rounding``, ``"—"`` for float), ``seed``, ``states`` (pulses
        from G_min to G_max; NaN for float), ``network`` (``784-100-10``), ``epochs``,
        ``test_accuracy`` (after the last epoch), ``test_curve`` (per epoch, before training
        first), ``pulses`` / ``refreshes`` / ``reads`` (whole run, summed over roles),
        ``pulses_<role>`` per array role, ``epoch_s`` (mean wall time per epoch, s).

    Raises
    ------
    SnnRramError
        No such folder, no training file in it, or a file without the data set or
        configuration name (written before ``save_on_array`` recorded them, or without them).
    """
    import pandas as pd

    directory = Path(directory)
    if not directory.is_dir():
        raise SnnRramError(f"report: no folder {str(directory)!r}")
    files = _training_files(directory)
    if not files:
        raise SnnRramError(
            f"report: {str(directory)!r} holds no on-array training result (*.h5 of kind "
            f"{TRAINING_KIND!r}, written by snn_rram.training.save_on_array)"
        )
    rows = []
    for path in files:
        info = read_provenance(path)
        missing = [k for k in ("dataset", "configuration") if not info[k]]
        if missing:
            raise SnnRramError(
                f"report: {str(path)!r} does not name its {' and '.join(missing)} (written "
                "before save_on_array recorded them, or without them): rerun it, e.g. with "
                "studies/on_array_accuracy.py --out, or pass dataset= and configuration= to "
                "save_on_array"
            )
        r = load_on_array(path)
        cfg = r.config
        is_device = cfg.synapse != "float" and bool(r.programming)
        row = {
            "file": path.name,
            "dataset": info["dataset"],
            "configuration": info["configuration"],
            "synapse": cfg.synapse,
            "scheme": "—"
            if cfg.synapse == "float"
            else f"{cfg.pair_update}/{cfg.pulse_rule}/{cfg.rounding}",
            "seed": r.seed,
            # a float run may carry the device it was run beside: it has no states
            "states": float(r.programming["n"]) if is_device else np.nan,
            "network": "-".join(str(s) for s in r.sizes),
            "epochs": int(cfg.epochs),
            "test_accuracy": float(r.test_accuracy[-1]),
            "test_curve": np.asarray(r.test_accuracy, dtype=float),
            "epoch_s": float(np.mean(r.seconds)) if len(r.seconds) else np.nan,
        }
        for what in ("pulses", "refreshes", "reads"):
            row[what] = int(sum(int(v.sum()) for v in getattr(r, what).values()))
        for role in _ROLES:
            row[f"pulses_{role}"] = int(r.pulses[role].sum()) if role in r.pulses else 0
        rows.append(row)
    return pd.DataFrame(rows)


def on_array_table(runs):
    """Final test accuracy per data set × network × epochs × configuration × scheme × states.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`on_array_runs`.

    Returns
    -------
    pandas.DataFrame
        The key columns and ``mean``, ``sd`` (sample standard deviation, NaN for one seed),
        ``n``, ``seeds`` (sorted tuple), ``vs_float`` (mean over the seeds that ``float`` of
        the same data set, network and epochs also ran of the difference to it; NaN without
        such a seed), ``n_vs_float`` (those seeds), ``within`` (how many of them are within
        :data:`TARGET_PP` of their float), the means over seeds of ``pulses``,
        ``pulses_<role>``, ``refreshes``, ``reads`` and ``epoch_s``, ``curve`` (the mean test
        accuracy per epoch, before training first); plus ``synapse``.
        Per data set (in the order the files sort) float, single, hybrid and hybrid_carry
        rows, each by configuration and scheme.
    """
    import pandas as pd

    runs = runs.assign(states=runs["states"].fillna(-1.0))  # NaN keys would be dropped
    means = ["pulses", *(f"pulses_{r}" for r in _ROLES), "refreshes", "reads", "epoch_s"]
    rows = []
    for key, group in runs.groupby(_KEY, sort=False):
        row = dict(zip(_KEY, key, strict=True))
        acc = group.set_index("seed")["test_accuracy"]
        if acc.index.duplicated().any():
            dup = sorted(set(acc.index[acc.index.duplicated()]))
            raise SnnRramError(
                f"report: {' · '.join(map(str, key))} has more than one file for seed(s) {dup}: "
                f"{', '.join(group['file'])}"
            )
        float_rows = runs[
            (runs["synapse"] == "float")
            & (runs["dataset"] == row["dataset"])
            & (runs["network"] == row["network"])
            & (runs["epochs"] == row["epochs"])
        ]
        ref = float_rows.drop_duplicates("seed").set_index("seed")["test_accuracy"]
        common = acc.index.intersection(ref.index)
        diff = acc[common] - ref[common]
        row.update(
            synapse=group["synapse"].iloc[0],
            mean=float(acc.mean()),
            sd=float(acc.std(ddof=1)) if len(acc) > 1 else np.nan,
            n=len(acc),
            seeds=tuple(sorted(int(s) for s in acc.index)),
            vs_float=float(diff.mean()) if len(common) else np.nan,
            n_vs_float=len(common),
            within=int((diff >= -TARGET_PP - 1e-12).sum()),
            **{m: float(group[m].mean()) for m in means},
            curve=np.mean(np.stack(group["test_curve"].to_list()), axis=0),
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    table["states"] = table["states"].where(table["states"] >= 0, np.nan)
    order = {d: i for i, d in enumerate(dict.fromkeys(table["dataset"]))}
    synapse = {s: i for i, s in enumerate(SYNAPSES)}
    table = table.assign(
        _d=table["dataset"].map(order), _s=table["synapse"].map(synapse)
    ).sort_values(["_d", "_s", "configuration", "scheme"], kind="stable")
    return table.drop(columns=["_d", "_s"]).reset_index(drop=True)


def _at_target(table, dataset: str, synapse: str):
    """The rows of ``synapse`` on ``dataset`` at the target states."""
    return table[
        (table["dataset"] == dataset)
        & (table["synapse"] == synapse)
        & (table["states"] == TARGET_STATES)
    ]


def _best(table, dataset: str, synapse: str):
    """The best row of ``synapse`` on ``dataset`` at the target states.

    Highest mean difference to float on the same seeds (``vs_float``); the highest mean where
    no row has a seed in common with float.
    """
    rows = _at_target(table, dataset, synapse)
    if rows.empty:
        return None
    # against float on the same seeds where there is one (runs on other seeds compare fairly)
    paired = rows[np.isfinite(rows["vs_float"])]
    return (
        paired.loc[paired["vs_float"].idxmax()] if len(paired) else rows.loc[rows["mean"].idxmax()]
    )


def _float(table, dataset: str, row=None):
    rows = table[(table["dataset"] == dataset) & (table["synapse"] == "float")]
    if row is not None:
        rows = rows[(rows["network"] == row["network"]) & (rows["epochs"] == row["epochs"])]
    return None if rows.empty else rows.iloc[0]


def _acc(row) -> str:
    sd = "" if not np.isfinite(row["sd"]) else f" ± {row['sd']:.3f}"
    return f"{row['mean']:.3f}{sd} (n = {row['n']})"


def _name(row) -> str:
    scheme = "" if row["synapse"] == "float" else f", {row['scheme']}"
    return f"{row['configuration']}{scheme}"


def on_array_claims(table) -> list[Claim]:
    """Paper 3's target on every data set of an :func:`on_array_table`.

    The best ``hybrid`` run (closest to float on the seeds both ran, among every selection
    logic and update scheme at :data:`TARGET_STATES` states; ``hybrid_carry`` is the reference,
    not a candidate) is at most :data:`TARGET_PP` below ``float`` of the same data set, network and
    epochs — the mean over the seeds both ran of the per-seed differences. A data set without a
    float run or a hybrid at 50 states fails, saying what is missing.
    """
    out = []
    for dataset in dict.fromkeys(table["dataset"]):
        text = (
            f"{dataset}: best hybrid within {100 * TARGET_PP:g} pp of float at "
            f"{TARGET_STATES} states (paper 3)"
        )
        best = _best(table, dataset, "hybrid")
        ref = _float(table, dataset, best)
        if best is None or ref is None:
            what = "no hybrid run at 50 states" if best is None else "no float run to compare"
            out.append(Claim(text, False, what))
            continue
        gap = best["vs_float"]
        detail = (
            f"{_name(best)} {_acc(best)} vs float {_acc(ref)}: "
            + (
                f"{100 * gap:+.2f} pp on {best['n_vs_float']} common seed(s), "
                f"{best['within']} of them within {100 * TARGET_PP:g} pp"
                if np.isfinite(gap)
                else "no seed in common with float"
            )
            + f" ({best['network']}, {best['epochs']} epochs)"
        )
        out.append(Claim(text, bool(np.isfinite(gap) and gap >= -TARGET_PP - 1e-12), detail))
    return out


def _millions(x: float) -> str:
    return f"{x / 1e6:.2f} M"


def on_array_notes(table) -> list[str]:
    """Information lines per data set: what ``single`` loses, what ``hybrid_carry`` costs.

    ``single`` (its best scheme at :data:`TARGET_STATES` states) against float and the best
    hybrid; ``hybrid_carry`` (its best scheme) against the best hybrid, and against the hybrid
    with the fewest pulses where that is another: accuracy and the pulses of a run (update,
    refresh and carry pulses, every array), extra (or fewer) and as a ratio.
    """
    out = []
    for dataset in dict.fromkeys(table["dataset"]):
        best = _best(table, dataset, "hybrid")
        single = _best(table, dataset, "single")
        carry = _best(table, dataset, "hybrid_carry")
        if single is not None:
            text = f"{dataset}: single ({single['scheme']}) {_acc(single)}"
            if np.isfinite(single["vs_float"]):
                text += f", {100 * single['vs_float']:+.2f} pp vs float"
            if best is not None:
                text += f", {100 * (single['mean'] - best['mean']):+.2f} pp vs the best hybrid"
            out.append(text + f"; {_millions(single['pulses'])} pulses per run")
        if carry is not None and best is not None:
            text = (
                f"{dataset}: hybrid_carry ({carry['scheme']}) {_acc(carry)}, "
                f"{100 * (carry['mean'] - best['mean']):+.2f} pp vs the best hybrid "
                f"({_name(best)}); pulses per run {_pulses_against(carry, best)}; "
                f"refreshes {carry['refreshes']:.0f} vs {best['refreshes']:.0f}"
            )
            hybrids = _at_target(table, dataset, "hybrid")
            frugal = hybrids.loc[hybrids["pulses"].idxmin()]
            if frugal["pulses"] < best["pulses"]:
                text += (
                    f"; against the hybrid with the fewest pulses ({_name(frugal)}, "
                    f"{100 * frugal['vs_float']:+.2f} pp vs float): "
                    f"{_pulses_against(carry, frugal)}"
                )
            out.append(text)
    return out


def _pulses_against(row, ref) -> str:
    """``row``'s pulses per run against ``ref``'s: both, the difference and the ratio."""
    extra = row["pulses"] - ref["pulses"]
    ratio = row["pulses"] / ref["pulses"] if ref["pulses"] else np.inf
    more = f"{_millions(extra)} extra" if extra >= 0 else f"{_millions(-extra)} fewer"
    return f"{_millions(row['pulses'])} vs {_millions(ref['pulses'])}: {more} ({ratio:.2f}×)"


def on_array_markdown(table) -> str:
    """:func:`on_array_table` as a Markdown table."""
    heads = [
        "data set",
        "network, epochs",
        "configuration",
        "scheme",
        "states",
        "test acc. mean ± sd",
        "n",
        "vs float (same seeds)",
        "pulses per run (main / big + small)",
        "refreshes",
        "array reads",
        "s per epoch",
    ]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for _, row in table.iterrows():
        if row["synapse"] == "float":
            pulses = "—"
        elif row["synapse"] == "single":
            pulses = _millions(row["pulses_main"])
        else:
            pulses = f"{_millions(row['pulses_big'])} + {_millions(row['pulses_small'])}"
        vs = (
            "—"
            if row["synapse"] == "float" or not np.isfinite(row["vs_float"])
            else f"{100 * row['vs_float']:+.2f} pp ({row['n_vs_float']})"
        )
        sd = f" ± {row['sd']:.3f}" if np.isfinite(row["sd"]) else ""
        cells = [
            row["dataset"],
            f"{row['network']}, {row['epochs']}",
            row["configuration"],
            row["scheme"],
            "—" if not np.isfinite(row["states"]) else f"{row['states']:g}",
            f"{row['mean']:.3f}{sd}",
            str(row["n"]),
            vs,
            pulses,
            "—" if row["synapse"] == "float" else f"{row['refreshes']:.0f}",
            "—" if row["synapse"] == "float" else f"{row['reads']:.0f}",
            f"{row['epoch_s']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_on_array_curves(table):
    """Mean test accuracy after each epoch, one panel per data set, one line per table row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(6.0 * len(datasets), 4.2), squeeze=False, layout="constrained"
    )
    # one colour per configuration and scheme, the same in every panel
    names = dict.fromkeys(_name(row) for _, row in table.iterrows())
    colour = {n: f"C{i % 10}" for i, n in enumerate(names)}
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for _, row in table[table["dataset"] == dataset].iterrows():
            label = f"{_name(row)} (n = {row['n']})"
            style = "--" if row["synapse"] == "float" else "-"
            curve = row["curve"][1:]  # after each epoch (before training: chance, off scale)
            x = np.arange(1, len(curve) + 1)
            ax.plot(x, curve, style, marker=".", label=label, color=colour[_name(row)])
        ax.set_title(dataset)
        ax.set_xlabel("epochs trained")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("test accuracy (mean over seeds)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def write_on_array_report(directory: str | os.PathLike, *, name: str = "report") -> Path:
    """Write the report of a folder of on-array training results into that folder.

    ``<name>.md`` (table, targets, notes), ``<name>.csv`` (the table without the curves) and
    ``<name>.png`` (:func:`plot_on_array_curves`).

    Returns
    -------
    pathlib.Path
        The Markdown file.
    """
    directory = Path(directory)
    table = on_array_table(on_array_runs(directory))
    text = [
        f"# {name}: training on the array (paper 3)",
        "",
        on_array_markdown(table),
        "",
        "## Targets",
        "",
        claims_markdown(on_array_claims(table)),
        "",
    ]
    notes = on_array_notes(table)
    if notes:
        text += ["## What single loses and what carry costs", "", *(f"- {n}" for n in notes), ""]
    with atomic_write(directory / f"{name}.csv", "w") as fh:
        table.drop(columns=["curve"]).to_csv(fh, index=False)
    save_figure(plot_on_array_curves(table), directory / f"{name}.png")
    path = directory / f"{name}.md"
    with atomic_write(path, "w") as fh:
        fh.write("\n".join(text))
    return path
