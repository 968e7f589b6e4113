"""A sweep with ``simulation.mode`` as an axis: spiking and analog points, report and figures."""

import numpy as np
import pandas as pd
import pytest

from snn_rram import SnnRramError, results
from snn_rram.cli import main
from snn_rram.sweep import load_sweep, run_sweep
from snn_rram.sweep.report import default_axes, mode_claims, mode_table, study_table

from .conftest import write_sweep

BODY = (
    'workers = 2\n[grid]\n"simulation.mode" = ["spiking", "analog"]\n'
    '[[extra]]\nlabel = "analog, 6-bit DAC"\n"simulation.mode" = "analog"\n'
    '"analog.dac_bits" = 6\n'
)


def test_a_sweep_over_the_mode_runs_both_and_reports_them_side_by_side(tmp_path, capsys):
    spec = load_sweep(write_sweep(tmp_path, BODY))
    points = spec.points()
    assert [p.config.simulation.mode for p in points] == ["spiking", "analog", "analog"]
    assert points[2].config.analog.dac_bits == 6
    frame = run_sweep(spec, progress=False)
    assert (frame["status"] == "done").all(), frame.get("error")
    for _, row in frame.iterrows():
        rec = results.load(row["file"])
        assert rec.mode == row["simulation.mode"]
        if rec.mode == "analog":
            assert rec.metrics["analog_accuracy"] == pytest.approx(row["analog_accuracy"])
            assert np.isnan(row["snn_accuracy"]) and rec.spikes == {}
        else:
            assert rec.metrics["snn_accuracy"] == pytest.approx(row["snn_accuracy"])
            assert np.isnan(row["analog_accuracy"])
        assert rec.metrics["energy_per_inference"] == pytest.approx(row["energy_per_inference"])

    # the report: the mode is the only axis (the labelled extra's own field is none)
    assert default_axes(frame) == (["label"], "simulation.mode")
    table = study_table(frame, series="label", x="simulation.mode")
    assert {"snn_accuracy", "analog_accuracy", "energy_per_inference"} <= set(table.columns)
    assert len(table) == 3
    modes = mode_table(frame)
    assert list(modes.index) == ["all"]
    spiking = frame[(frame["simulation.mode"] == "spiking") & (frame["label"] == "")]
    np.testing.assert_allclose(modes["snn_accuracy"], spiking["snn_accuracy"])
    np.testing.assert_allclose(
        modes["energy_ratio"], modes["spiking_energy"] / modes["analog_energy"]
    )
    (same,) = mode_claims(modes)
    assert same.holds, same.detail  # one mapping, two realisations

    assert main(["report", str(spec.directory)]) == 0
    out = capsys.readouterr().out
    assert "series label, x simulation.mode" in out
    text = (spec.directory / "report.md").read_text()
    assert "## Spiking vs analog on the same crossbars" in text and "| all |" in text
    assert "✔ spiking and analog runs read the same crossbars" in text
    assert "figure: " in out  # the standard figures of the sweep


def test_mode_table_needs_both_modes_and_flags_different_crossbars():
    frame = pd.DataFrame(
        {
            "simulation.mode": ["spiking", "analog", "spiking", "analog"],
            "circuit.r_neuron": [100.0, 100.0, 1000.0, 1000.0],
            "status": "done",
            "snn_accuracy": [0.9, np.nan, 0.8, np.nan],
            "analog_accuracy": [np.nan, 0.92, np.nan, 0.7],
            "energy_per_inference": [2e-6, 1e-7, 2e-6, 1e-7],
            "quantized_accuracy": [0.91, 0.91, 0.75, 0.74],
            "n_synapses": [10, 10, 10, 10],
        }
    )
    modes = mode_table(frame)
    np.testing.assert_allclose(modes["difference"], [0.02, -0.1])
    np.testing.assert_allclose(modes["energy_ratio"], [20.0, 20.0])
    (same,) = mode_claims(modes)
    assert not same.holds and "1 of 2 cells" in same.detail and "1000.0" in same.detail
    with pytest.raises(SnnRramError, match="needs spiking and analog points"):
        mode_table(frame[frame["simulation.mode"] == "spiking"])
    with pytest.raises(SnnRramError, match="no column 'simulation.mode'"):
        mode_table(frame.drop(columns="simulation.mode"))
