"""Paper 2's target (issue 14) checked by ``snn-rram report`` on a sweep over V_read."""

import pandas as pd
import pytest

from snn_rram.errors import SnnRramError
from snn_rram.sweep.report import default_axes, paper2_claims, study_table, write_report

SERIES = ["device.card", "analog.sensing"]


def summary(rows):
    """Points (label, card, sensing, V_read, float acc., analog acc.) of a paper-2 sweep."""
    return pd.DataFrame(
        [
            {
                "status": "done",
                "label": label,
                "device.card": card,
                "analog.sensing": sensing,
                "circuit.v_read": v,
                "ann_accuracy": fa,
                "analog_accuracy": acc,
            }
            for label, card, sensing, v, fa, acc in rows
        ]
    )


ROWS = [
    # sinh_strong: conventional loses 10 pp at 1.5 V (best sensing), 20 pp at 2 V
    ("", "sinh_strong", "nominal", 0.5, 0.95, 0.94),
    ("", "sinh_strong", "calibrated", 0.5, 0.95, 0.945),
    ("reconstructed", "sinh_strong", "trained", 0.5, 0.96, 0.90),  # no target point here
    ("", "sinh_strong", "nominal", 1.5, 0.95, 0.80),
    ("", "sinh_strong", "calibrated", 1.5, 0.95, 0.85),
    ("reconstructed", "sinh_strong", "trained", 1.5, 0.93, 0.945),  # −0.5 pp: met
    ("", "sinh_strong", "nominal", 2.0, 0.95, 0.75),
    ("", "sinh_strong", "calibrated", 2.0, 0.95, 0.70),
    ("reconstructed", "sinh_strong", "trained", 2.0, 0.93, 0.935),  # −1.5 pp: missed
    # sinh_mild: the conventional network never loses 5 pp
    ("", "sinh_mild", "nominal", 2.0, 0.95, 0.92),
    ("", "sinh_mild", "calibrated", 2.0, 0.95, 0.93),
    ("reconstructed", "sinh_mild", "trained", 2.0, 0.93, 0.95),
]


def test_the_target_is_checked_where_the_conventional_network_loses_5_points():
    table = study_table(summary(ROWS), series=SERIES, x="circuit.v_read")
    claims = {c.text: c for c in paper2_claims(table)}
    assert len(claims) == 3, claims
    met = claims["at V_read = 1.5 V on sinh_strong: reconstructed within 1 pp of float (paper 2)"]
    assert met.holds and "conventional (best sensing) 0.850 (−10.0 pp)" in met.detail
    assert "reconstructed 0.945 (-0.5 pp)" in met.detail
    missed = claims["at V_read = 2 V on sinh_strong: reconstructed within 1 pp of float (paper 2)"]
    assert not missed.holds and "(−20.0 pp)" in missed.detail
    widen = next(c for c in claims.values() if "widen" in c.text)
    assert not widen.holds and "on sinh_mild" in widen.text and "−2.0 pp" in widen.detail


def test_a_target_point_without_a_reconstructed_network_fails():
    rows = [r for r in ROWS if not (r[0] and r[3] == 2.0 and r[1] == "sinh_strong")]
    table = study_table(summary(rows), series=SERIES, x="circuit.v_read")
    claim = next(c for c in paper2_claims(table) if c.text.startswith("at V_read = 2 V on sinh_s"))
    assert not claim.holds and "no reconstructed network" in claim.detail


def test_reconstructed_networks_of_one_device_named_in_their_label():
    rows = [r for r in ROWS if r[1] == "sinh_strong"]
    rows = [(f"{r[0]} · {r[1]}" if r[0] else r[0], *r[1:]) for r in rows]
    table = study_table(summary(rows), series=SERIES, x="circuit.v_read")
    assert "reconstructed · sinh_strong" in set(table["series"])
    assert [c.holds for c in paper2_claims(table)] == [True, False]


def test_the_report_checks_it_and_refuses_a_table_without_the_series(tmp_path):
    frame = summary(ROWS)
    assert default_axes(frame) == (SERIES, "circuit.v_read")  # what snn-rram report picks
    text = write_report(frame, tmp_path, series=SERIES, x="circuit.v_read").read_text()
    assert "✔ at V_read = 1.5 V on sinh_strong" in text
    assert "✘ at V_read = 2 V on sinh_strong" in text
    plain = frame[frame["label"] == ""]
    with pytest.raises(SnnRramError, match="reconstructed · <device>"):
        paper2_claims(study_table(plain, series=SERIES, x="circuit.v_read"))
    # a report of only conventional series has no paper-2 claims
    assert (
        "paper 2"
        not in write_report(plain, tmp_path, series=SERIES, x="circuit.v_read").read_text()
    )
