"""Study reports from a sweep summary.

A table per series and x value, power changes against reference series, and the checks of the
QWSM study's targets (papers 1 and 4), of QWSM's robustness over device cards (issue 18), of
paper 5's PCSA claim, of distortion-aware training (papers 1 × 2), of networks reconstructed
for the device in analog inference (paper 2), and the side-by-side table
of spiking and analog runs on the same crossbars (a sweep over ``simulation.mode``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rram._io import atomic_write
from snn_rram.errors import SnnRramError

__all__ = [
    "Claim",
    "claims_markdown",
    "default_axes",
    "distortion_claims",
    "mode_claims",
    "mode_markdown",
    "mode_table",
    "neurosim_claims",
    "paper2_claims",
    "pcsa_claims",
    "qwsm_claims",
    "robustness_claims",
    "series_of",
    "study_table",
    "sweep_axes",
    "table_markdown",
    "write_report",
]

#: The metrics of a study table, in order, with their headings and display scales.
METRICS = {
    "ann_accuracy": ("ANN acc.", 1.0, ".3f"),
    "quantized_accuracy": ("quantised acc.", 1.0, ".3f"),
    "snn_accuracy": ("SNN acc.", 1.0, ".3f"),
    "analog_accuracy": ("analog acc.", 1.0, ".3f"),
    "average_power_per_synapse": ("power/synapse (nW)", 1e9, ".4g"),
    "equal_read_power_per_synapse": ("equal-read power (nW)", 1e9, ".4g"),
    "energy_per_inference": ("energy/inference (nJ)", 1e9, ".4g"),
}


def sweep_axes(frame) -> list[str]:
    """The axes of a sweep summary, in its order.

    Its dotted config-path columns (``mapping.bits``) that take more than one value among the
    completed points.
    """
    ok = frame[frame["status"].astype(str) != "failed"] if "status" in frame else frame
    return [
        str(c) for c in frame.columns if "." in str(c) and ok[c].dropna().astype(str).nunique() > 1
    ]


def _no_column(what: str, column: str, frame) -> SnnRramError:
    axes = sweep_axes(frame)
    return SnnRramError(
        f"{what}: the summary has no column {column!r}; the sweep's axes: "
        f"{', '.join(axes) if axes else 'none (no config field varies)'}"
    )


def default_axes(frame, x: str | None = None) -> tuple[list[str], str]:
    """The series and x axis of a study when none are given, from the sweep's own axes.

    ``x`` (unless given) is ``mapping.bits`` where it varies, else the numeric axis with the
    most values, else the first axis; the series are ``mapping.method`` where it varies and is
    not ``x``, else the other axes that the unlabelled points set (``label`` when there is
    none: one line, plus the labelled extra points).

    Raises
    ------
    SnnRramError
        No config field varies between the points.
    """
    import pandas as pd

    axes = sweep_axes(frame)
    if not axes and x is None:
        raise SnnRramError(
            "report: no config field varies between the points of the summary, so there is no "
            f"x axis (columns: {', '.join(map(str, frame.columns))})"
        )
    if x is None and "mapping.bits" in axes:
        x = "mapping.bits"
    elif x is None:
        numeric = [c for c in axes if pd.to_numeric(frame[c], errors="coerce").notna().all()]
        x = max(numeric, key=lambda c: frame[c].nunique()) if numeric else axes[0]
    rest = [c for c in axes if c != x]
    plain = _unlabelled(frame)
    if len(plain):  # a field only the labelled extra points set defines them: not a series
        rest = [c for c in rest if plain[c].dropna().astype(str).replace("", np.nan).nunique()]
    series = ["mapping.method"] if "mapping.method" in rest else rest
    if not series:
        series = ["label"] if "label" in frame else [x]
    return series, x


def series_of(frame, axes="mapping.method"):
    """Name of each row's series: its ``label`` where it has one, else its values of ``axes``.

    ``axes`` is a column or a list of columns (their values joined by ``" · "``). Labelled rows
    that differ in some of ``axes`` (an extra point repeated over a grid) get those values after
    the label.
    """
    axes = [axes] if isinstance(axes, str) else list(axes)
    if not axes:
        raise SnnRramError("series: name at least one column")
    for axis in axes:
        if axis not in frame:
            raise _no_column("series", axis, frame)
    name = frame[axes[0]].astype(str)
    for axis in axes[1:]:
        name = name + " · " + frame[axis].astype(str)
    if "label" in frame:
        label = frame["label"].astype(object).fillna("").astype(str)  # all-empty CSV: NaN
        named = label.copy()
        for value in label[label != ""].unique():
            rows = label == value
            # the series axes that vary among the rows of this label still tell them apart
            varying = [a for a in axes if frame.loc[rows, a].astype(str).nunique() > 1]
            for axis in varying:
                named[rows] = named[rows] + " · " + frame.loc[rows, axis].astype(str)
        name = name.where(label == "", named)
    return name


def study_table(
    frame,
    *,
    series="mapping.method",
    x: str = "mapping.bits",
    references=("linear_pair", "min_error"),
    power: str = "average_power_per_synapse",
):
    """One row per series and x value: the metrics (mean over repeats) and power changes.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sweep summary (:func:`snn_rram.sweep.load`); failed points are left out.
    series : str or list of str
        Column(s) whose values are the lines of the study (a row's ``label`` takes
        precedence).
    x : str
        Column of the study's x axis.
    references : sequence of str
        Series the power is compared with, at the same x: adds ``power_vs_<ref>`` and
        ``equal_read_power_vs_<ref>`` columns, relative changes (−0.2 is 20 % less power).
    power : str
        The power metric, W.

    Returns
    -------
    pandas.DataFrame
        Columns ``series``, ``x``, ``n`` (points averaged) and the metrics present.
    """
    import pandas as pd

    if x not in frame:
        raise _no_column("x", x, frame)
    ok = frame[frame["status"] != "failed"] if "status" in frame else frame
    if not len(ok):
        raise SnnRramError("study_table: no completed point in the summary")
    data = ok.assign(series=series_of(ok, series).to_numpy(), x=ok[x].to_numpy())
    metrics = [m for m in (*METRICS, "n_images") if m in data]
    table = (
        data.groupby(["series", "x"], sort=False)[metrics]
        .mean()
        .join(data.groupby(["series", "x"], sort=False).size().rename("n"))
        .reset_index()
    )
    order = {s: i for i, s in enumerate(dict.fromkeys(data["series"]))}
    table = table.sort_values(
        ["series", "x"], key=lambda c: c.map(order) if c.name == "series" else c
    )
    for ref in references:
        base = table[table["series"] == ref].set_index("x")
        for m, name in ((power, "power"), ("equal_read_power_per_synapse", "equal_read_power")):
            if m in table and len(base):
                ref_value = table["x"].map(base[m])
                table[f"{name}_vs_{ref}"] = table[m] / ref_value - 1.0
    return pd.DataFrame(table).reset_index(drop=True)


def table_markdown(table) -> str:
    """The study table as a Markdown table (accuracies as fractions, powers in nW/synapse)."""
    cols = ["series", "x"] + [m for m in METRICS if m in table]
    rel = [c for c in table.columns if "_vs_" in c]
    heads = ["series", "x"] + [METRICS[m][0] for m in cols[2:]]
    heads += ["Δ" + c.replace("equal_read_power", "eq.-read").replace("_vs_", " vs ") for c in rel]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for _, row in table.iterrows():
        cells = [str(row["series"]), f"{row['x']:g}" if _is_number(row["x"]) else str(row["x"])]
        for m in cols[2:]:
            _, scale, fmt = METRICS[m]
            cells.append(format(row[m] * scale, fmt) if np.isfinite(row[m]) else "–")
        for c in rel:
            cells.append(f"{100 * row[c]:+.1f} %" if np.isfinite(row[c]) else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _is_number(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


@dataclass(frozen=True)
class Claim:
    """One target of a study, checked against the measured table."""

    text: str
    holds: bool
    detail: str


def qwsm_claims(table, *, accuracy: str = "snn_accuracy") -> list[Claim]:
    """The QWSM study's targets (issue 6; papers 1 and 4), checked on a :func:`study_table`.

    Needs the series ``linear_pair``, ``min_error``, ``qwsm`` and ``calibrated``.
    """
    by = {s: t.set_index("x") for s, t in table.groupby("series")}
    for need in ("linear_pair", "min_error", "qwsm"):
        if need not in by:
            raise SnnRramError(f"qwsm_claims: the table has no series {need!r}")
    q, lp, me = by["qwsm"], by["linear_pair"], by["min_error"]
    xs = q.index.intersection(lp.index)
    power = "average_power_per_synapse"
    out = []

    def fmt(values):
        return ", ".join(f"{x:g}: {v}" for x, v in values)

    acc = [(x, f"{q.loc[x, accuracy]:.3f} vs {lp.loc[x, accuracy]:.3f}") for x in xs]
    out.append(
        Claim(
            "QWSM SNN accuracy ≥ linear_pair at every bit width (paper 1)",
            bool(np.all(q.loc[xs, accuracy] >= lp.loc[xs, accuracy])),
            fmt(acc),
        )
    )
    hi = [x for x in xs if x >= 4]
    red = [(x, 1 - q.loc[x, power] / lp.loc[x, power]) for x in hi]
    out.append(
        Claim(
            "QWSM power per synapse ≥ 12.56 % below linear_pair at ≥ 4 bits (paper 1)",
            bool(hi) and all(r >= 0.1256 for _, r in red),
            fmt((x, f"{100 * r:.1f} % less") for x, r in red),
        )
    )
    xs_me = q.index.intersection(me.index)
    both = [
        (x, q.loc[x, accuracy] >= me.loc[x, accuracy], q.loc[x, power] <= me.loc[x, power])
        for x in xs_me
    ]
    out.append(
        Claim(
            "QWSM at least as accurate as min_error at no more power, every bit width",
            bool(both) and all(a and p for _, a, p in both),
            fmt(
                (
                    x,
                    f"acc {q.loc[x, accuracy]:.3f} vs {me.loc[x, accuracy]:.3f}, power "
                    f"{100 * (q.loc[x, power] / me.loc[x, power] - 1):+.1f} %",
                )
                for x, _, _ in both
            ),
        )
    )
    if "calibrated" in by and 5 in q.index and 5 in by["calibrated"].index:
        c, a = by["calibrated"].loc[5, accuracy], q.loc[5, accuracy]
        gap = c - a
        detail = f"calibrated {c:.3f}, qwsm {a:.3f} ({100 * gap:+.1f} pp"
        if "n_images" in q:
            # binomial standard error of the difference of two accuracies on n images each
            n = q.loc[5, "n_images"] * q.loc[5, "n"]
            se = np.sqrt((c * (1 - c) + a * (1 - a)) / n)
            detail += f"; standard error of the difference {100 * se:.1f} pp"
        out.append(
            Claim(
                "QWSM within 1 percentage point of the calibrated reference at 5 bits",
                bool(gap <= 0.01 + 1e-12),
                detail + ")",
            )
        )
    return out


def neurosim_claims(table, *, accuracy: str = "snn_accuracy") -> list[Claim]:
    """Paper 4's target, checked on a :func:`study_table` with series ``card · method``.

    Index-based mapping (``linear_pair``) on ``neurosim_realdevice`` loses accuracy against
    the same range with uniform levels (``neurosim_uniform``); ``min_error`` on the real levels
    should recover at least half of it, at every bit width. Its power cost is reported.
    """
    by = {s: t.set_index("x") for s, t in table.groupby("series")}
    names = {
        "lp_real": "neurosim_realdevice · linear_pair",
        "me_real": "neurosim_realdevice · min_error",
        "lp_uni": "neurosim_uniform · linear_pair",
    }
    for need in names.values():
        if need not in by:
            raise SnnRramError(f"neurosim_claims: the table has no series {need!r}")
    lp, me, uni = (by[names[k]] for k in ("lp_real", "me_real", "lp_uni"))
    power = "average_power_per_synapse"
    out = []
    for x in lp.index.intersection(me.index).intersection(uni.index):
        loss = uni.loc[x, accuracy] - lp.loc[x, accuracy]
        gain = me.loc[x, accuracy] - lp.loc[x, accuracy]
        share = gain / loss if loss > 0 else np.inf
        cost = me.loc[x, power] / lp.loc[x, power] - 1
        out.append(
            Claim(
                f"min_error recovers ≥ half of the index-mapping loss at {x:g} bits (paper 4)",
                bool(loss <= 0 or share >= 0.5),
                f"uniform {uni.loc[x, accuracy]:.3f}, index {lp.loc[x, accuracy]:.3f} (loss "
                f"{100 * loss:.1f} pp), min_error {me.loc[x, accuracy]:.3f} (recovers "
                f"{100 * share:.0f} %), power {100 * cost:+.1f} % vs index",
            )
        )
    return out


def _series_by_x(table, needed, who: str) -> dict:
    """The study table's series (indexed by x), checking that ``needed`` ones are there."""
    by = {s: t.set_index("x") for s, t in table.groupby("series")}
    for need in needed:
        if need not in by:
            raise SnnRramError(f"{who}: the table has no series {need!r}")
    return by


#: Series names of the spiking PCSA study (``models/experiments/ternary_snn_study.toml``).
PCSA_SERIES = {"error_free": "pcsa error-free", "window": "pcsa 0.45 V"}


def pcsa_claims(table, *, accuracy: str = "snn_accuracy") -> list[Claim]:
    """Paper 5's target in the spiking network, checked on a :func:`study_table`.

    In the near-threshold window (series ``pcsa 0.45 V``, with device spread) the PCSA-read
    ternary SNN loses less than 0.5 point against error-free reads (``pcsa error-free``: the
    same supply without device spread, where no read can be wrong); same images and seeds, so
    the comparison is paired. Power per synapse is reported against the analog series
    ``linear_pair`` at the same x.
    """
    by = _series_by_x(table, PCSA_SERIES.values(), "pcsa_claims")
    ref, win = by[PCSA_SERIES["error_free"]], by[PCSA_SERIES["window"]]
    out = []
    for x in win.index.intersection(ref.index):
        loss = ref.loc[x, accuracy] - win.loc[x, accuracy]
        detail = (
            f"error-free {ref.loc[x, accuracy]:.3f}, window {win.loc[x, accuracy]:.3f} "
            f"({100 * loss:+.2f} pp lost)"
        )
        power = "average_power_per_synapse"
        if "linear_pair" in by and x in by["linear_pair"].index and power in win:
            analog = by["linear_pair"].loc[x]
            detail += (
                f"; power per synapse {1e9 * win.loc[x, power]:.4g} nW vs linear_pair "
                f"{1e9 * analog[power]:.4g} nW (SNN acc. {analog[accuracy]:.3f})"
            )
        out.append(
            Claim(
                "PCSA-read ternary SNN in the near-threshold window loses < 0.5 point against "
                "error-free reads (paper 5)",
                bool(loss < 0.005),
                detail,
            )
        )
    return out


#: Series names of the distortion-aware study (``models/experiments/distortion_study.toml``).
DISTORTION_SERIES = {
    "calibrated": "linear_pair + calibration",
    "aware": "distortion-aware + linear_pair",
}


def distortion_claims(table, *, accuracy: str = "snn_accuracy") -> list[Claim]:
    """The papers-1 × 2 target, checked on a :func:`study_table` with x = ``circuit.r_neuron``.

    At every x where both ran, each distortion-aware series (its name starts with
    ``distortion-aware``: the fine-tuned network mapped with plain ``linear_pair``, with the
    conversion's float normalisation or normalised on the mapped network) is within 1 point of
    the conventional network with an ideally calibrated periphery
    (``linear_pair + calibration``). One claim per series and x.
    """
    by = _series_by_x(table, DISTORTION_SERIES.values(), "distortion_claims")
    ref = by[DISTORTION_SERIES["calibrated"]]
    prefix = DISTORTION_SERIES["aware"].split(" + ")[0]
    out = []
    for name, aware in by.items():
        if not name.startswith(prefix):
            continue
        for x in aware.index.intersection(ref.index):
            gap = ref.loc[x, accuracy] - aware.loc[x, accuracy]
            detail = (
                f"calibrated {ref.loc[x, accuracy]:.3f}, {name} {aware.loc[x, accuracy]:.3f} "
                f"({100 * gap:+.2f} pp below)"
            )
            if "linear_pair" in by and x in by["linear_pair"].index:
                detail += f"; plain linear_pair {by['linear_pair'].loc[x, accuracy]:.3f}"
            out.append(
                Claim(
                    f"at x = {x:g}: {name} within 1 point of the calibrated periphery "
                    "(papers 1 × 2)",
                    bool(gap <= 0.01),
                    detail,
                )
            )
    return out


#: Series of the paper-2 study (``models/experiments/paper2_study.toml``): the conventional
#: network read with each sensing (unlabelled points, series ``<device> · <sensing>``) and the
#: reconstructed networks (labelled ``reconstructed · <device>`` in the sweep file, so that the
#: device is in the name even when only one device has them).
PAPER2_SERIES = {"reconstructed": "reconstructed", "conventional": ("nominal", "calibrated")}


def _paper2_split(name: str):
    """(role, device key) of a paper-2 series name, or None for other series."""
    parts = name.split(" · ")
    if parts[0] == PAPER2_SERIES["reconstructed"]:
        return "reconstructed", " · ".join(parts[1:])
    sensing = [p for p in parts if p in PAPER2_SERIES["conventional"]]
    if len(sensing) == 1:
        return "conventional", " · ".join(p for p in parts if p != sensing[0])
    return None


def paper2_claims(
    table, *, accuracy: str = "analog_accuracy", loss: float = 0.05, tolerance: float = 0.01
) -> list[Claim]:
    """Paper 2's target (issue 14), checked on a :func:`study_table` with x = ``circuit.v_read``.

    Series: the conventional network read with nominal and calibrated sense gains
    (``<device> · nominal``, ``<device> · calibrated``) and the network reconstructed for each
    device and read voltage (``reconstructed · <device>``; with one device the device part is
    empty). The float accuracy at each x is the conventional series' ``ann_accuracy`` (the
    float network on the same images). Where the better conventional series loses at least
    ``loss`` to float, the reconstructed network must stay within ``tolerance`` of float (one
    claim per device and x; a missing reconstructed point fails it); a device where the
    conventional network never loses ``loss`` gets a failed claim saying the sweep must be
    widened.
    """
    by = {s: t.set_index("x") for s, t in table.groupby("series")}
    devices: dict = {}
    for name, t in by.items():
        role = _paper2_split(name)
        if role is not None:
            devices.setdefault(role[1], {"conventional": [], "reconstructed": None})
            if role[0] == "reconstructed":
                devices[role[1]]["reconstructed"] = t
            else:
                devices[role[1]]["conventional"].append(t)
    if not any(d["conventional"] and d["reconstructed"] is not None for d in devices.values()):
        raise SnnRramError(
            "paper2_claims: the table needs conventional series ('<device> · nominal' or "
            "'<device> · calibrated') and 'reconstructed · <device>' of the same device, got "
            f"{sorted(by)}"
        )
    if "ann_accuracy" not in table:
        raise SnnRramError("paper2_claims: the table has no ann_accuracy (the float accuracy)")
    out = []
    for device, d in devices.items():
        if not d["conventional"]:
            continue
        where = f" on {device}" if device else ""
        conv = _best_of(d["conventional"], accuracy)
        float_acc = _best_of(d["conventional"], "ann_accuracy")
        rec = d["reconstructed"]
        hits = 0
        for x in conv.index:
            lost = float_acc[x] - conv[x]
            if lost < loss - 1e-12:
                continue
            hits += 1
            if rec is None or x not in rec.index:
                out.append(
                    Claim(
                        f"at V_read = {x:g} V{where}: reconstructed within "
                        f"{100 * tolerance:g} pp of float (paper 2)",
                        False,
                        f"float {float_acc[x]:.3f}, conventional {conv[x]:.3f} "
                        f"(−{100 * lost:.1f} pp), no reconstructed network at this point",
                    )
                )
                continue
            gap = float_acc[x] - rec.loc[x, accuracy]
            out.append(
                Claim(
                    f"at V_read = {x:g} V{where}: reconstructed within {100 * tolerance:g} pp "
                    "of float (paper 2)",
                    bool(gap <= tolerance + 1e-12),
                    f"float {float_acc[x]:.3f}, conventional (best sensing) {conv[x]:.3f} "
                    f"(−{100 * lost:.1f} pp), reconstructed {rec.loc[x, accuracy]:.3f} "
                    f"({-100 * gap:+.1f} pp)",
                )
            )
        if not hits:
            worst = float((float_acc - conv).max())
            out.append(
                Claim(
                    f"the conventional network loses ≥ {100 * loss:g} pp to float somewhere"
                    f"{where} (a target point; else widen the sweep)",
                    False,
                    f"at most −{100 * worst:.1f} pp over V_read = "
                    f"{', '.join(f'{x:g}' for x in conv.index)} V",
                )
            )
    return out


def _best_of(tables, column: str):
    """Per x, the largest ``column`` over the given series (x present in any of them)."""
    import pandas as pd

    return pd.concat([t[column] for t in tables], axis=1).max(axis=1).sort_index()


def robustness_claims(frame, *, tolerance: float = 0.005) -> list[Claim]:
    """QWSM's robustness targets (issue 18), checked on a sweep summary over device cards.

    A *cell* is one value of every sweep axis but ``mapping.method`` (card, R_N, bits, ...; means
    over repeats); each needs a ``linear_pair`` and a ``qwsm`` point. Checked for every accuracy
    metric present (quantised ANN, SNN): ``qwsm`` ≥ ``linear_pair`` − ``tolerance`` in every
    cell and ≥ on average; and, with the device power per synapse, ``qwsm`` draws no more than
    ``linear_pair`` in every cell where it is not more accurate (SNN accuracy when present).
    """
    ok = frame[frame["status"].astype(str) != "failed"] if "status" in frame else frame
    if "label" in ok:  # labelled extras (the calibrated reference) are other series
        ok = ok[ok["label"].astype(object).fillna("").astype(str) == ""]
    cells = [a for a in sweep_axes(ok) if a != "mapping.method"]
    if "mapping.method" not in ok or not cells:
        raise SnnRramError("robustness_claims: needs mapping.method and at least one other axis")
    metrics = [m for m in ("quantized_accuracy", "snn_accuracy") if m in ok]
    power = "average_power_per_synapse"
    key = ok[cells].astype(str).agg(" · ".join, axis=1)
    columns = [*metrics, *([power] if power in ok else [])]
    by = {}
    for method in ("linear_pair", "qwsm"):
        rows = ok["mapping.method"] == method
        by[method] = ok.loc[rows, columns].groupby(key[rows].rename("cell")).mean()
    if any(not len(t) for t in by.values()):
        raise SnnRramError("robustness_claims: needs linear_pair and qwsm points")
    both = by["qwsm"].index.intersection(by["linear_pair"].index)
    q, lp = by["qwsm"].loc[both], by["linear_pair"].loc[both]
    out = []
    for m in metrics:
        diff = q[m] - lp[m]
        worst = diff.idxmin()
        out.append(
            Claim(
                f"QWSM {METRICS[m][0]} ≥ linear_pair − {100 * tolerance:g} pp in every cell "
                "(issue 18)",
                bool(diff.min() >= -tolerance - 1e-12),
                f"{int((diff >= -tolerance - 1e-12).sum())} of {len(diff)} cells; worst "
                f"{100 * diff.min():+.1f} pp ({worst}); mean {100 * diff.mean():+.2f} pp",
            )
        )
        out.append(
            Claim(
                f"QWSM {METRICS[m][0]} ≥ linear_pair on average (issue 18)",
                bool(diff.mean() >= 0),
                f"mean {100 * diff.mean():+.2f} pp over {len(diff)} cells",
            )
        )
    if power in q and metrics:
        m = metrics[-1]
        bad = (q[power] > lp[power] * (1 + 1e-9)) & (q[m] <= lp[m])
        out.append(
            Claim(
                "QWSM power ≤ linear_pair wherever it is not more accurate (issue 18)",
                not bool(bad.any()),
                f"{int(bad.sum())} of {len(bad)} cells above"
                + (f": {', '.join(bad[bad].index)}" if bad.any() else "")
                + f"; power qwsm/linear_pair {np.min(q[power] / lp[power]):.2f}–"
                f"{np.max(q[power] / lp[power]):.2f}",
            )
        )
    return out


MODE = "simulation.mode"


def _unlabelled(frame):
    """The completed points that are not labelled extras."""
    ok = frame[frame["status"].astype(str) != "failed"] if "status" in frame else frame
    if "label" in ok:
        ok = ok[ok["label"].astype(object).fillna("").astype(str) == ""]
    return ok


def mode_table(frame):
    """Spiking and analog runs side by side, per cell of the sweep's other axes.

    A *cell* is one value of every sweep axis but ``simulation.mode`` (means over repeats;
    labelled extra points left out). Needs points of both modes.

    Returns
    -------
    pandas.DataFrame
        Index: the cell (``"all"`` when the mode is the only axis). Columns ``snn_accuracy``,
        ``analog_accuracy``, ``difference`` (analog − spiking), ``spiking_energy`` and
        ``analog_energy`` (device energy per inference, J), ``energy_ratio`` (spiking /
        analog), and per mode ``quantized_accuracy`` and ``n_synapses`` where the summary has
        them (``*_spiking``, ``*_analog``).
    """
    import pandas as pd

    ok = _unlabelled(frame)
    if MODE not in ok:
        raise SnnRramError(f"mode_table: the summary has no column {MODE!r}")
    modes = ok[MODE].astype(str)
    if not {"spiking", "analog"} <= set(modes):
        raise SnnRramError("mode_table: needs spiking and analog points")
    cells = [a for a in sweep_axes(ok) if a != MODE]
    key = ok[cells].astype(str).agg(" · ".join, axis=1) if cells else pd.Series("all", ok.index)
    by = {}
    for mode, acc in (("spiking", "snn_accuracy"), ("analog", "analog_accuracy")):
        rows = modes == mode
        wanted = (acc, "energy_per_inference", "quantized_accuracy", "n_synapses")
        cols = [c for c in wanted if c in ok]
        by[mode] = ok.loc[rows, cols].groupby(key[rows].rename("cell"), sort=False).mean()
    both = by["spiking"].index.intersection(by["analog"].index)
    s, a = by["spiking"].loc[both], by["analog"].loc[both]
    out = pd.DataFrame(index=both)
    out["snn_accuracy"] = s.get("snn_accuracy")
    out["analog_accuracy"] = a.get("analog_accuracy")
    out["difference"] = out["analog_accuracy"] - out["snn_accuracy"]
    if "energy_per_inference" in s and "energy_per_inference" in a:
        out["spiking_energy"] = s["energy_per_inference"]
        out["analog_energy"] = a["energy_per_inference"]
        out["energy_ratio"] = out["spiking_energy"] / out["analog_energy"]
    for col in ("quantized_accuracy", "n_synapses"):
        if col in s and col in a:
            out[f"{col}_spiking"], out[f"{col}_analog"] = s[col], a[col]
    return out


def mode_markdown(table) -> str:
    """:func:`mode_table` as a Markdown table (energies in nJ per inference)."""
    energy = "analog_energy" in table
    heads = ["cell", "SNN acc.", "analog acc.", "analog − SNN"]
    if energy:
        heads += ["SNN energy/inference (nJ)", "analog energy/inference (nJ)", "SNN / analog"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for cell, row in table.iterrows():
        cells = [
            str(cell),
            f"{row['snn_accuracy']:.3f}",
            f"{row['analog_accuracy']:.3f}",
            f"{100 * row['difference']:+.1f} pp",
        ]
        if energy:
            cells += [
                f"{1e9 * row['spiking_energy']:.4g}",
                f"{1e9 * row['analog_energy']:.4g}",
                f"{row['energy_ratio']:.3g}×",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mode_claims(table) -> list[Claim]:
    """What a spiking-vs-analog comparison rests on, checked on a :func:`mode_table`.

    Both realisations read the same crossbars: in every cell the two modes have the same
    device count and the same quantised accuracy (the rate model of the mapped weights, which
    only the mapping decides). Networks with biases differ in their bias rows (mapped at the
    spiking duty or at duty 1), which this check then reports.
    """
    out = []
    if "quantized_accuracy_spiking" in table:
        q = (table["quantized_accuracy_spiking"] - table["quantized_accuracy_analog"]).abs()
        same = q <= 1e-12
        if "n_synapses_spiking" in table:
            same &= table["n_synapses_spiking"] == table["n_synapses_analog"]
        out.append(
            Claim(
                "spiking and analog runs read the same crossbars (same synapse count and "
                "quantised accuracy in every cell)",
                bool(same.all()),
                f"{int(same.sum())} of {len(same)} cells"
                + (
                    f"; differ: {', '.join(map(str, same[~same].index))}" if not same.all() else ""
                ),
            )
        )
    return out


def claims_markdown(claims) -> str:
    """The checked claims as a Markdown list."""
    return "\n".join(f"- {'✔' if c.holds else '✘'} {c.text}: {c.detail}" for c in claims)


def write_report(frame, directory: str | os.PathLike, *, name: str = "report", **kwds) -> Path:
    """Write ``<directory>/<name>.md``: the study table and, when it applies, the claims."""
    table = study_table(frame, **kwds)
    text = [f"# {name}", "", table_markdown(table), ""]
    series = set(table["series"])
    claims = []
    if {"linear_pair", "min_error", "qwsm"} <= series:
        claims += qwsm_claims(table)
    if {"neurosim_realdevice · linear_pair", "neurosim_uniform · linear_pair"} <= series:
        claims += neurosim_claims(table)
    if set(PCSA_SERIES.values()) <= series:
        claims += pcsa_claims(table)
    if set(DISTORTION_SERIES.values()) <= series:
        claims += distortion_claims(table)
    if any((_paper2_split(s) or ("",))[0] == "reconstructed" for s in series):
        claims += paper2_claims(table)
    methods = set(frame["mapping.method"].astype(str)) if "mapping.method" in frame else set()
    if {"linear_pair", "qwsm"} <= methods and "device.card" in sweep_axes(frame):
        claims += robustness_claims(frame)
    if claims:
        text += ["## Targets", "", claims_markdown(claims), ""]
    ok = _unlabelled(frame)
    if MODE in ok and {"spiking", "analog"} <= set(ok[MODE].astype(str)):
        modes = mode_table(frame)
        text += ["## Spiking vs analog on the same crossbars", "", mode_markdown(modes), ""]
        checks = mode_claims(modes)
        if checks:
            text += [claims_markdown(checks), ""]
    path = Path(directory) / f"{name}.md"
    with atomic_write(path, "w") as fh:
        fh.write("\n".join(text))
    return path
