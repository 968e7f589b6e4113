"""The QWSM study: its report on hand-made tables, the equal-read power, and two real points of
the study's sweep file on a small subset, end to end."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from snn_rram import SnnRramError, devices, mapping, results, snn
from snn_rram.crossbar import Circuit
from snn_rram.experiments import run
from snn_rram.experiments.pipeline import equal_read_power
from snn_rram.sweep import load_sweep
from snn_rram.sweep.report import (
    neurosim_claims,
    qwsm_claims,
    study_table,
    table_markdown,
    write_report,
)
from snn_rram.sweep.summary import write_summary

STUDY = Path(__file__).parents[2] / "models" / "experiments" / "qwsm_study.toml"


def _frame(rows):
    cols = ["label", "mapping.method", "mapping.bits", "status", "snn_accuracy"]
    cols += ["average_power_per_synapse", "equal_read_power_per_synapse", "n_images"]
    return pd.DataFrame(rows, columns=cols)


def _study_rows(q_acc=0.95, q_power=0.7e-9):
    rows = []
    for bits in (4, 5):
        rows += [
            ("", "linear_pair", bits, "done", 0.94, 1.0e-9, 1.1e-9, 1000),
            ("", "min_error", bits, "done", 0.93, 2.0e-9, 2.0e-9, 1000),
            ("", "qwsm", bits, "done", q_acc, q_power, 0.8e-9, 1000),
            ("calibrated", "linear_pair", bits, "done", 0.955, 1.0e-9, 1.1e-9, 1000),
        ]
    return rows


def test_study_table_means_repeats_and_compares_power_at_equal_bits():
    rows = _study_rows()
    rows.append(("", "qwsm", 4, "done", 0.97, 0.9e-9, 0.8e-9, 1000))  # a repeat
    rows.append(("", "qwsm", 5, "failed", np.nan, np.nan, np.nan, np.nan))
    table = study_table(_frame(rows))
    assert list(table["series"].unique()) == ["linear_pair", "min_error", "qwsm", "calibrated"]
    q4 = table[(table["series"] == "qwsm") & (table["x"] == 4)].iloc[0]
    assert q4["n"] == 2 and q4["snn_accuracy"] == pytest.approx(0.96)
    assert q4["average_power_per_synapse"] == pytest.approx(0.8e-9)
    assert q4["power_vs_linear_pair"] == pytest.approx(-0.2)
    assert q4["power_vs_min_error"] == pytest.approx(-0.6)
    assert q4["equal_read_power_vs_linear_pair"] == pytest.approx(0.8 / 1.1 - 1)
    text = table_markdown(table)
    assert "| qwsm | 4 | 0.960 |" in text and "-20.0 %" in text


def test_labelled_points_over_a_grid_keep_the_series_axes_that_tell_them_apart():
    from snn_rram.sweep.report import series_of

    frame = pd.DataFrame(
        {
            "label": ["", "", "cal", "cal", "cal"],
            "mapping.method": ["qwsm", "qwsm", "linear_pair", "linear_pair", "linear_pair"],
            "circuit.inactive_rows": ["ground", "float", "ground", "float", "ground"],
            "mapping.bits": [4, 4, 4, 4, 5],
        }
    )
    names = series_of(frame, ["circuit.inactive_rows", "mapping.method"])
    assert list(names) == [
        "ground · qwsm",
        "float · qwsm",
        "cal · ground",
        "cal · float",
        "cal · ground",
    ]
    assert list(series_of(frame, "mapping.method")) == ["qwsm", "qwsm", "cal", "cal", "cal"]


def test_qwsm_claims_hold_and_fail_as_the_numbers_say():
    ok = {c.text: c.holds for c in qwsm_claims(study_table(_frame(_study_rows())))}
    assert all(ok.values()) and len(ok) == 4
    # 12 % less power than linear_pair misses paper 1's 12.56 %; less accurate than min_error
    bad = qwsm_claims(study_table(_frame(_study_rows(q_acc=0.92, q_power=0.88e-9))))
    holds = [c.holds for c in bad]
    assert holds == [False, False, False, False]
    assert "12.0 % less" in bad[1].detail


def test_neurosim_claim_is_the_share_of_the_loss_recovered():
    rows = []
    for card, method, acc in [
        ("neurosim_uniform", "linear_pair", 0.96),
        ("neurosim_realdevice", "linear_pair", 0.80),
        ("neurosim_realdevice", "min_error", 0.92),
    ]:
        rows.append(
            {
                "device.card": card,
                "mapping.method": method,
                "mapping.bits": 3,
                "status": "done",
                "snn_accuracy": acc,
                "average_power_per_synapse": 1e-9 if method == "linear_pair" else 1.5e-9,
            }
        )
    table = study_table(pd.DataFrame(rows), series=["device.card", "mapping.method"])
    (claim,) = neurosim_claims(table)
    assert claim.holds  # recovers 12 of 16 pp
    assert "recovers 75 %" in claim.detail and "power +50.0 %" in claim.detail
    rows[2]["snn_accuracy"] = 0.87  # 7 of 16 pp
    (claim,) = neurosim_claims(
        study_table(pd.DataFrame(rows), series=["device.card", "mapping.method"])
    )
    assert not claim.holds


def test_study_table_errors_name_the_column():
    with pytest.raises(SnnRramError, match="no column 'mapping.bits'"):
        study_table(pd.DataFrame({"mapping.method": ["qwsm"], "snn_accuracy": [0.9]}))
    frame = _frame([("", "qwsm", 3, "failed", np.nan, np.nan, np.nan, np.nan)])
    with pytest.raises(SnnRramError, match="no completed point"):
        study_table(frame)


def test_equal_read_power_reads_every_driven_row_equally_often():
    rng = np.random.default_rng(3)
    dev = devices.load("default_linear")
    circuit = Circuit(0.2, 2e-4, 300.0)
    W = rng.normal(0, 0.5, (3, 6))
    m = mapping.get("linear_pair")(
        W, dev, circuit, bits=4, bias=rng.normal(0, 0.2, 3), bias_duty=0.05, seed=0
    )
    spikes = snn.PoissonEncoder(max_rate=300.0, dead_time=2e-4).encode(
        rng.random((2, 6)), 1e-4, 0.03, rng=1
    )
    res = snn.SpikingNetwork([m.crossbar], snn.IFNeuron(0.1, 1e-11), spikes).run()
    layer = res.layers[0]
    x = m.crossbar
    driven = x.layout.row_input >= 0
    p = x.row_read_power(devices_only=True)
    duty = layer.read_counts[driven].sum() * 2e-4 / (driven.sum() * res.duration)
    expected = (duty * p[driven].sum() + p[~driven].sum()) / layer.n_synapses
    assert equal_read_power([m], res) == pytest.approx(expected, rel=1e-12)
    # the same order as the measured power: the circuit is the same, only the rates differ
    assert 0.5 < equal_read_power([m], res) / res.average_power_per_synapse() < 2.0


@pytest.fixture(scope="module")
def two_points(tmp_path_factory):
    """linear_pair and qwsm at 3 bits from the study's own sweep file, on 30 images."""
    out = tmp_path_factory.mktemp("study")
    spec = load_sweep(STUDY)
    points = [
        p
        for p in spec.points()
        if p.axes["label"] == ""
        and p.axes["mapping.bits"] == 3
        and p.axes["mapping.method"] in ("linear_pair", "qwsm")
    ]
    assert len(points) == 2
    outcomes, rows = [], []
    for p in points:
        cfg = p.config
        for path, value in [
            ("data.n_images", 30),
            ("data.n_calibration", 200),
            ("encoder.image_duration", 0.05),
            ("simulation.target", "numpy"),
            ("output.directory", str(out / "points")),
        ]:
            cfg = cfg.replace(path, value)
        o = run(cfg)
        outcomes.append(o)
        rows.append(
            {
                **{k: v for k, v in p.axes.items()},
                "status": "done",
                "file": str(o.path),
                **o.metrics,
            }
        )
    return outcomes, rows, out


def test_two_study_points_end_to_end(two_points):
    (lp, q), _, _ = two_points
    for o in (lp, q):
        m = o.metrics
        assert results.is_complete(o.path)
        assert m["ann_accuracy"] > 0.9 and m["quantized_accuracy"] > 0.8
        assert m["snn_accuracy"] > 0.7
        assert m["average_power_per_synapse"] > 0
        assert 0.8 < m["equal_read_power_per_synapse"] / m["average_power_per_synapse"] < 1.25
        rec = results.load(o.path)
        assert rec.config_dict["mapping"]["method"] == o.config.mapping.method
    # distortion-aware splitting picks lower conductances: less power than the baseline
    assert q.metrics["average_power_per_synapse"] < lp.metrics["average_power_per_synapse"]
    assert q.mappings[0].report["passes"] >= 1


def test_study_report_of_the_two_points(two_points):
    _, rows, out = two_points
    table = study_table(pd.DataFrame(rows), references=("linear_pair",))
    assert list(table["series"]) == ["linear_pair", "qwsm"]
    q = table.iloc[1]
    expected = rows[1]["average_power_per_synapse"] / rows[0]["average_power_per_synapse"] - 1
    assert q["power_vs_linear_pair"] == pytest.approx(expected)
    path = write_report(pd.DataFrame(rows), out, references=("linear_pair",))
    assert "| qwsm | 3 |" in path.read_text()
    spec = load_sweep(STUDY)
    frame = write_summary(spec.__class__(**{**spec.__dict__, "directory": out}), rows)
    assert len(frame) == 2


def test_pcsa_claim_is_the_window_loss_against_error_free_reads():
    from snn_rram.sweep.report import pcsa_claims

    def table(window_acc):
        rows = [
            ("pcsa error-free", "ternary_2t2r", 2, "done", 0.93, 2e-11, np.nan, 300),
            ("pcsa 0.45 V", "ternary_2t2r", 2, "done", window_acc, 2e-11, np.nan, 300),
            ("", "linear_pair", 2, "done", 0.90, 1e-9, 1e-9, 300),
        ]
        return study_table(_frame(rows))

    (claim,) = pcsa_claims(table(0.927))
    assert claim.holds and "+0.30 pp lost" in claim.detail
    assert "0.02 nW vs linear_pair 1 nW" in claim.detail
    (claim,) = pcsa_claims(table(0.92))
    assert not claim.holds
    with pytest.raises(SnnRramError, match="no series 'pcsa error-free'"):
        pcsa_claims(study_table(_frame([("", "linear_pair", 2, "done", 0.9, 1e-9, 1e-9, 300)])))


def test_distortion_claim_is_the_gap_to_the_calibrated_periphery_at_each_r_neuron(tmp_path):
    from snn_rram.sweep.report import distortion_claims

    cols = ["label", "mapping.method", "circuit.r_neuron", "status", "snn_accuracy"]
    rows = []
    for r_n, aware in ((100.0, 0.975), (1000.0, 0.95)):
        rows += [
            ("", "linear_pair", r_n, "done", 0.9),
            ("linear_pair + calibration", "linear_pair", r_n, "done", 0.979),
            ("distortion-aware + linear_pair", "linear_pair", r_n, "done", aware),
            ("distortion-aware, normalised on mapped", "linear_pair", r_n, "done", 0.97),
            ("linear_pair, normalised on mapped", "linear_pair", r_n, "done", 0.7),
        ]
    frame = pd.DataFrame(rows, columns=cols)
    table = study_table(frame, x="circuit.r_neuron")
    near, far, near_mapped, far_mapped = distortion_claims(table)
    assert near.holds and "+0.40 pp below" in near.detail and "linear_pair 0.900" in near.detail
    assert not far.holds and "+2.90 pp below" in far.detail
    assert near_mapped.holds and far_mapped.holds and "+0.90 pp" in far_mapped.detail
    text = write_report(frame, tmp_path, x="circuit.r_neuron").read_text()
    assert "✔ at x = 100: distortion-aware + linear_pair" in text
    assert "✘ at x = 1000: distortion-aware + linear_pair" in text
    assert "✔ at x = 1000: distortion-aware, normalised on mapped" in text
    with pytest.raises(SnnRramError, match="no series 'linear_pair \\+ calibration'"):
        distortion_claims(study_table(frame[frame["label"] == ""], x="circuit.r_neuron"))
