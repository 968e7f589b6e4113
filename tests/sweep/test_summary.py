"""The summary table: CSV and HDF5 written atomically, read back as a DataFrame."""

import numpy as np
import pytest

from snn_rram.errors import SnnRramError
from snn_rram.sweep import load, load_sweep
from snn_rram.sweep.summary import write_summary

from .conftest import write_sweep

ROWS = [
    {"key": "a1", "mapping.bits": 3, "label": "", "status": "done", "snn_accuracy": 0.5},
    {"key": "b2", "mapping.bits": 4, "label": "cal", "status": "failed", "error": "E: boom"},
    {"key": "c3", "mapping.bits": 5, "label": "", "status": "resumed", "flag": True},
]


def test_round_trip_csv_and_hdf5(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, '[grid]\n"mapping.bits" = [3, 4, 5]\n'))
    frame = write_summary(spec, ROWS)
    assert list(frame["key"]) == ["a1", "b2", "c3"]
    h5 = load(spec.directory)
    csv = load(spec.directory / "summary.csv")
    for table in (h5, csv):
        assert list(table["key"]) == ["a1", "b2", "c3"]
        assert list(table["status"]) == ["done", "failed", "resumed"]
        assert list(table["mapping.bits"]) == [3, 4, 5]
        assert table["snn_accuracy"].iloc[0] == 0.5 and np.isnan(table["snn_accuracy"].iloc[1])
    # text cells a row does not have are empty in the HDF5 table, never the text "nan"
    assert list(h5["error"]) == ["", "E: boom", ""]
    assert list(h5["label"]) == ["", "cal", ""]
    assert list(h5["flag"]) == ["", "", "True"]
    # nothing half-written is left next to the tables
    assert sorted(p.name for p in spec.directory.iterdir()) == ["summary.csv", "summary.h5"]


def test_rewrite_replaces_the_tables(tmp_path):
    spec = load_sweep(write_sweep(tmp_path, '[grid]\n"mapping.bits" = [3, 4, 5]\n'))
    write_summary(spec, ROWS)
    write_summary(spec, ROWS[:1])
    assert list(load(spec.directory)["key"]) == ["a1"]
    assert list(load(spec.directory / "summary.csv")["key"]) == ["a1"]


def test_load_errors(tmp_path):
    with pytest.raises(SnnRramError, match="not found"):
        load(tmp_path)
    bad = tmp_path / "summary.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(SnnRramError, match="not an HDF5 file"):
        load(bad)


def test_a_summary_without_rows_reads_back_empty(tmp_path):
    # what a sweep killed before its first point finished leaves
    spec = load_sweep(write_sweep(tmp_path, '[grid]\n"mapping.bits" = [3]\n'))
    write_summary(spec, [])
    for table in (load(spec.directory), load(spec.directory / "summary.csv")):
        assert len(table) == 0 and {"key", "status"} <= set(table.columns)
