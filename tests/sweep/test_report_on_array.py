"""``snn-rram report`` on folders of on-array training results (paper 3's targets, issue 16).

Real result files: tiny runs (784-8-10 on 200 training / 200 test images of mnist_5k, two
epochs, seeds 0 and 1) trained here and saved with :func:`save_on_array`. Whether the target
holds is steered by the learning rate: a run at a learning rate too small to move any device
(or the float weights) keeps its initial accuracy, a run at the study's learning rate learns.
"""

import h5py
import numpy as np
import pytest

from snn_rram import SnnRramError, datasets
from snn_rram.cli import main
from snn_rram.devices import Programming
from snn_rram.sweep.on_array_report import (
    is_on_array_folder,
    on_array_claims,
    on_array_notes,
    on_array_runs,
    on_array_table,
    write_on_array_report,
)
from snn_rram.training import OnArrayConfig, read_provenance, save_on_array, train_on_array

DEVICE = Programming(1e-6, 1e-5, 50, 2.4, -4.88, sigma_c2c=0.035, pulse_energy=1e-12)
SIZES = (784, 8, 10)
SCHEME = {"pair_update": "ltp_ltd", "pulse_rule": "state_aware", "rounding": "stochastic"}
LEARNS, STILL = 0.05, 1e-9  # learning rates: the study's order, and one that moves nothing
#: configuration name → (OnArrayConfig fields)
CONFIGS = {
    "float": {"synapse": "float"},
    "single": {"synapse": "single", **SCHEME},
    "hybrid_phase": {"synapse": "hybrid", "selection": "phase", **SCHEME},
    "hybrid_magnitude": {
        "synapse": "hybrid",
        "selection": "magnitude",
        "magnitude_scope": "residual",
        **SCHEME,
    },
    "hybrid_carry": {"synapse": "hybrid_carry", "carry_every": 20, **SCHEME},
}


@pytest.fixture(scope="module")
def data():
    ds = datasets.load("mnist_5k").subset(n_train=200, n_test=200)
    return ds.train_vectors(), ds.train_labels, ds.test_vectors(), ds.test_labels


def _train(data, name, lr, seed):
    cfg = OnArrayConfig(epochs=2, learning_rate=lr, gamma=5.0, **CONFIGS[name])
    # float with the device too, as the study runs it (it keeps it as provenance, unused)
    return train_on_array(SIZES, DEVICE, *data, cfg, seed=seed)


@pytest.fixture(scope="module")
def runs(data):
    """(configuration, learning rate, seed) → result, for what the tests below need."""
    keys = [(n, LEARNS, s) for n in CONFIGS for s in (0, 1)]
    keys += [("float", STILL, s) for s in (0, 1)]
    keys += [("hybrid_magnitude", STILL, s) for s in (0, 1)]
    return {k: _train(data, *k) for k in keys}


def _save(folder, runs, plan, dataset="mnist_5k"):
    """Save the runs of ``plan`` ((configuration, learning rate) pairs) for seeds 0 and 1."""
    folder.mkdir(exist_ok=True)
    for name, lr in plan:
        for seed in (0, 1):
            save_on_array(
                runs[(name, lr, seed)],
                folder / f"{dataset}_{name}_{lr:g}_s{seed}.h5",
                data=f"{dataset}, 200 train / 200 test",
                dataset=dataset,
                configuration=name,
            )
    return folder


def test_the_table_reads_what_the_files_carry(tmp_path, runs):
    folder = _save(tmp_path / "r", runs, [(n, LEARNS) for n in CONFIGS])
    (folder / "notes.txt").write_text("not a result")
    with h5py.File(folder / "other.h5", "w") as f:
        f.attrs["kind"] = "run"  # an HDF5 file of another kind is left out
    frame = on_array_runs(folder)
    assert len(frame) == 10 and set(frame["dataset"]) == {"mnist_5k"}
    table = on_array_table(frame)
    order = ["float", "single", "hybrid_magnitude", "hybrid_phase", "hybrid_carry"]
    assert list(table["configuration"]) == order
    assert (table["n"] == 2).all() and (table["seeds"] == (0, 1)).all()
    for _, row in table.iterrows():
        acc = [runs[(row["configuration"], LEARNS, s)].test_accuracy[-1] for s in (0, 1)]
        assert row["mean"] == pytest.approx(np.mean(acc))
        assert row["sd"] == pytest.approx(np.std(acc, ddof=1))
        ref = [runs[("float", LEARNS, s)].test_accuracy[-1] for s in (0, 1)]
        assert row["vs_float"] == pytest.approx(np.mean(acc) - np.mean(ref))
        r = runs[(row["configuration"], LEARNS, 0)]
        if row["configuration"] == "float":
            assert np.isnan(row["states"]) and row["scheme"] == "—"
        else:
            assert row["states"] == 50 and row["scheme"] == "ltp_ltd/state_aware/stochastic"
        pulses = [
            sum(int(v.sum()) for v in runs[(row["configuration"], LEARNS, s)].pulses.values())
            for s in (0, 1)
        ]
        assert row["pulses"] == pytest.approx(np.mean(pulses))
        assert row["network"] == "784-8-10" and row["epochs"] == 2 and r.seed == 0
        curves = [runs[(row["configuration"], LEARNS, s)].test_accuracy for s in (0, 1)]
        np.testing.assert_allclose(row["curve"], np.mean(curves, axis=0))


def test_the_target_holds_when_the_best_hybrid_reaches_float(tmp_path, runs):
    # float at a learning rate that moves nothing: any hybrid that learns is above it
    folder = _save(
        tmp_path / "holds",
        runs,
        [("float", STILL), ("hybrid_magnitude", STILL), ("hybrid_phase", LEARNS)],
    )
    table = on_array_table(on_array_runs(folder))
    (claim,) = on_array_claims(table)
    assert claim.holds, claim
    assert claim.text.startswith("mnist_5k: best hybrid within 0.5 pp of float at 50 states")
    # the best of the two hybrids is the one that learned
    assert claim.detail.startswith("hybrid_phase, ltp_ltd/state_aware/stochastic")
    assert "2 of them within 0.5 pp" in claim.detail


def test_the_target_fails_when_every_hybrid_falls_short(tmp_path, runs):
    folder = _save(
        tmp_path / "fails",
        runs,
        [("float", LEARNS), ("hybrid_magnitude", STILL), ("single", LEARNS)],
    )
    table = on_array_table(on_array_runs(folder))
    (claim,) = on_array_claims(table)
    still = np.mean([runs[("hybrid_magnitude", STILL, s)].test_accuracy[-1] for s in (0, 1)])
    ref = np.mean([runs[("float", LEARNS, s)].test_accuracy[-1] for s in (0, 1)])
    assert ref - still > 0.05  # the premise: float learned, the still hybrid did not
    assert not claim.holds
    assert f"{100 * (still - ref):+.2f} pp on 2 common seed(s), 0 of them" in claim.detail


def test_a_data_set_without_float_or_hybrid_fails_saying_so(tmp_path, runs):
    folder = _save(tmp_path / "a", runs, [("float", LEARNS), ("hybrid_phase", LEARNS)])
    _save(folder, runs, [("hybrid_phase", LEARNS)], dataset="fashion_mnist")
    _save(folder, runs, [("float", LEARNS), ("single", LEARNS)], dataset="toy")
    table = on_array_table(on_array_runs(folder))
    claims = {c.text.split(":")[0]: c for c in on_array_claims(table)}
    assert set(claims) == {"mnist_5k", "fashion_mnist", "toy"}
    assert not claims["fashion_mnist"].holds and claims["fashion_mnist"].detail == (
        "no float run to compare"
    )
    assert not claims["toy"].holds and claims["toy"].detail == "no hybrid run at 50 states"


def test_notes_state_what_single_loses_and_what_carry_costs(tmp_path, runs):
    folder = _save(tmp_path / "n", runs, [(n, LEARNS) for n in CONFIGS])
    table = on_array_table(on_array_runs(folder)).set_index("configuration")
    single_line, carry_line = on_array_notes(table.reset_index())
    s, f = table.loc["single"], table.loc["float"]
    best = table.loc[["hybrid_phase", "hybrid_magnitude"], "mean"].idxmax()
    assert single_line.startswith("mnist_5k: single (ltp_ltd/state_aware/stochastic)")
    assert f"{100 * (s['mean'] - f['mean']):+.2f} pp vs float" in single_line
    c, b = table.loc["hybrid_carry"], table.loc[best]
    assert f"vs the best hybrid ({best}," in carry_line
    more = c["pulses"] - b["pulses"]
    word = f"{abs(more) / 1e6:.2f} M {'extra' if more >= 0 else 'fewer'}"
    assert f"{word} ({c['pulses'] / b['pulses']:.2f}×)" in carry_line
    frugal = table.loc[["hybrid_phase", "hybrid_magnitude"], "pulses"].idxmin()
    assert (f"against the hybrid with the fewest pulses ({frugal}," in carry_line) == (
        frugal != best
    )


def test_the_cli_writes_the_report(tmp_path, runs, capsys):
    folder = _save(tmp_path / "cli", runs, [(n, LEARNS) for n in CONFIGS])
    assert is_on_array_folder(folder) and not is_on_array_folder(tmp_path / "missing")
    assert main(["report", str(folder)]) == 0
    out = capsys.readouterr().out
    text = (folder / "report.md").read_text()
    assert text in out and "## Targets" in text and "best hybrid within 0.5 pp" in text
    assert "## What single loses and what carry costs" in text
    row = "| mnist_5k | 784-8-10, 2 | hybrid_carry | ltp_ltd/state_aware/stochastic | 50 |"
    assert row in text
    assert (folder / "report.csv").exists()
    assert (folder / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_files_without_names_or_with_a_seed_twice_are_refused(tmp_path, runs):
    r = runs[("float", LEARNS, 0)]
    old = tmp_path / "old"
    old.mkdir()
    save_on_array(r, old / "f.h5", data="mnist_5k")
    with h5py.File(old / "f.h5", "a") as f:  # as written before the names were recorded
        del f.attrs["dataset"], f.attrs["configuration"]
    assert read_provenance(old / "f.h5") == {
        "data": "mnist_5k",
        "dataset": None,
        "configuration": None,
        "created": read_provenance(old / "f.h5")["created"],
    }
    with pytest.raises(SnnRramError, match="does not name its dataset and configuration"):
        write_on_array_report(old)
    assert not (old / "report.md").exists()
    twice = _save(tmp_path / "twice", runs, [("float", LEARNS)])
    save_on_array(r, twice / "copy.h5", dataset="mnist_5k", configuration="float")
    with pytest.raises(SnnRramError, match=r"more than one file for seed\(s\) \[0\]"):
        on_array_table(on_array_runs(twice))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SnnRramError, match="holds no on-array training result"):
        on_array_runs(empty)
    with pytest.raises(SnnRramError, match="dataset: expected a string"):
        save_on_array(r, tmp_path / "x.h5", dataset=3)
