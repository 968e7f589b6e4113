"""`snn-rram report` without --series/--x: the series and x axis from the sweep's own axes."""

import pandas as pd
import pytest

from snn_rram.cli import main
from snn_rram.errors import SnnRramError
from snn_rram.sweep.report import default_axes, study_table, sweep_axes


def _frame(axes: dict, n: int) -> pd.DataFrame:
    """A summary of ``n`` completed points with the given axis columns."""
    return pd.DataFrame(
        {
            "label": [""] * n,
            **axes,
            "mapping.seed": [0] * n,  # a config field that does not vary: not an axis
            "status": ["done"] * n,
            "snn_accuracy": [0.9 - 0.01 * i for i in range(n)],
            "average_power_per_synapse": [1e-9 * (1 + i) for i in range(n)],
            "n_images": [10] * n,
        }
    )


def _r_neuron_sweep() -> pd.DataFrame:
    return _frame(
        {
            "device.card": ["default", "default", "default", "ideal", "ideal", "ideal"],
            "circuit.r_neuron": [100.0, 1000.0, 10000.0] * 2,
        },
        6,
    )


def test_a_sweep_without_bits_gets_its_numeric_axis_as_x():
    frame = _r_neuron_sweep()
    assert sweep_axes(frame) == ["device.card", "circuit.r_neuron"]
    assert default_axes(frame) == (["device.card"], "circuit.r_neuron")
    table = study_table(frame, series=["device.card"], x="circuit.r_neuron", references=())
    assert list(table["series"].unique()) == ["default", "ideal"]
    assert list(table["x"][:3]) == [100.0, 1000.0, 10000.0]


def test_the_study_axes_are_preferred_and_a_single_axis_gets_one_series():
    frame = _frame(
        {"mapping.method": ["linear_pair", "qwsm"] * 2, "mapping.bits": [3, 3, 4, 4]}, 4
    )
    assert default_axes(frame) == (["mapping.method"], "mapping.bits")
    frame = _frame({"circuit.v_read": [0.1, 0.2, 0.3]}, 3)
    assert default_axes(frame) == (["label"], "circuit.v_read")
    with pytest.raises(SnnRramError, match="no config field varies"):
        default_axes(_frame({"circuit.v_read": [0.1, 0.1]}, 2))


def test_a_missing_column_names_the_sweeps_axes():
    with pytest.raises(
        SnnRramError,
        match=r"x: the summary has no column 'mapping.bits'; the sweep's axes: "
        r"device.card, circuit.r_neuron",
    ):
        study_table(_r_neuron_sweep())
    with pytest.raises(SnnRramError, match=r"series: .*no column 'mapping.method'; the sweep's"):
        study_table(_r_neuron_sweep(), x="circuit.r_neuron")


def test_the_command_line_reports_a_sweep_that_does_not_sweep_bits(tmp_path, capsys):
    csv = tmp_path / "summary.csv"
    _r_neuron_sweep().to_csv(csv, index=False)
    assert main(["report", str(csv), "--reference", "default"]) == 0
    out = capsys.readouterr().out
    assert "report: series device.card, x circuit.r_neuron (from the sweep's axes)" in out
    text = (tmp_path / "report.md").read_text()
    assert "| ideal | 1000 |" in text or "| ideal | 1000.0 |" in text, text
    # given axes are used as they are
    assert main(["report", str(csv), "--x", "device.card", "--reference", "none"]) == 0
    assert "series circuit.r_neuron, x device.card" in capsys.readouterr().out
