"""QWSM's robustness targets (issue 18) checked by ``snn-rram report`` on a sweep over cards."""

import pandas as pd
import pytest

from snn_rram.errors import SnnRramError
from snn_rram.sweep.report import robustness_claims, write_report


def summary(rows):
    """A sweep summary: (card, R_N, method, quantised acc., SNN acc., power in nW) per point."""
    return pd.DataFrame(
        [
            {
                "status": "done",
                "device.card": card,
                "circuit.r_neuron": rn,
                "mapping.method": method,
                "quantized_accuracy": qa,
                "snn_accuracy": sa,
                "average_power_per_synapse": p * 1e-9,
                "label": "",
            }
            for card, rn, method, qa, sa, p in rows
        ]
    )


GOOD = [
    ("a", 100.0, "linear_pair", 0.90, 0.89, 1.0),
    ("a", 100.0, "qwsm", 0.95, 0.94, 0.5),
    ("b", 100.0, "linear_pair", 0.80, 0.78, 1.0),
    ("b", 100.0, "qwsm", 0.798, 0.78, 0.9),  # −0.2 pp: within the tolerance, less power
    ("a", 1000.0, "linear_pair", 0.70, 0.71, 1.0),
    ("a", 1000.0, "qwsm", 0.90, 0.91, 1.2),  # more power, but more accurate
    ("b", 1000.0, "linear_pair", 0.60, 0.60, 1.0),
    ("b", 1000.0, "qwsm", 0.70, 0.69, 0.8),
]


def test_the_targets_hold_on_a_good_grid():
    claims = robustness_claims(summary(GOOD))
    assert len(claims) == 5 and all(c.holds for c in claims), claims
    assert "worst -0.2 pp (b · 100.0)" in claims[0].detail


def test_a_lost_cell_and_extra_power_are_caught():
    rows = list(GOOD)
    rows[3] = ("b", 100.0, "qwsm", 0.79, 0.77, 1.1)  # −1 pp and more power at lower accuracy
    claims = robustness_claims(summary(rows))
    held = {c.text: c.holds for c in claims}
    assert not held["QWSM quantised acc. ≥ linear_pair − 0.5 pp in every cell (issue 18)"]
    assert not held["QWSM SNN acc. ≥ linear_pair − 0.5 pp in every cell (issue 18)"]
    assert held["QWSM SNN acc. ≥ linear_pair on average (issue 18)"]
    power = next(c for c in claims if "power" in c.text)
    assert not power.holds and "1 of 4 cells above: b · 100.0" in power.detail


def test_the_report_checks_them_and_refuses_a_grid_without_both_methods(tmp_path):
    text = write_report(
        summary(GOOD), tmp_path, series=["device.card", "mapping.method"], x="circuit.r_neuron"
    ).read_text()
    assert "## Targets" in text and "(issue 18)" in text and "✘" not in text
    only = summary([r for r in GOOD if r[2] == "qwsm"])
    with pytest.raises(SnnRramError, match="needs linear_pair and qwsm"):
        robustness_claims(only)
