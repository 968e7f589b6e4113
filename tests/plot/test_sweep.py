import numpy as np
import pandas as pd
import pytest

from snn_rram.errors import SnnRramError
from snn_rram.plot import plot_sweep


@pytest.fixture
def frame():
    rows = []
    for method in ("linear_pair", "qwsm"):
        for bits in (2, 3, 4):
            for repeat in (0, 1):
                rows.append(
                    {
                        "key": f"{method}-{bits}-{repeat}",
                        "mapping.method": method,
                        "mapping.bits": bits,
                        "label": "",
                        "repeat": repeat,
                        "status": "done",
                        "snn_accuracy": 0.5
                        + 0.1 * bits
                        + 0.05 * repeat
                        + 0.01 * (method == "qwsm"),
                        "average_power_per_synapse": 2e-9 * bits * (1 + repeat),
                    }
                )
    rows.append({**rows[0], "key": "bad", "status": "failed", "snn_accuracy": 0.0})
    return pd.DataFrame(rows)


def test_one_line_per_method_repeats_averaged(frame):
    ax = plot_sweep(frame, "mapping.bits", "snn_accuracy")
    assert len(ax.lines) == 2
    ok = frame[frame["status"] == "done"]
    for line, method in zip(ax.lines, ("linear_pair", "qwsm"), strict=True):
        assert line.get_label() == method
        expected = ok[ok["mapping.method"] == method].groupby("mapping.bits")["snn_accuracy"]
        np.testing.assert_array_equal(line.get_xdata(), [2, 3, 4])
        np.testing.assert_allclose(line.get_ydata(), expected.mean().to_numpy())
    # min/max of the repeats shaded, one band per line
    assert len(ax.collections) == 2
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.7) and band[:, 1].max() == pytest.approx(0.95)
    assert ax.get_legend().get_title().get_text() == "mapping.method"
    assert ax.get_xlabel() == "mapping.bits" and ax.get_ylabel() == "SNN accuracy"


def test_power_gets_an_si_prefix_and_std_spread(frame):
    ax = plot_sweep(frame, "mapping.bits", "average_power_per_synapse", spread="std")
    assert ax.get_ylabel() == "average power per synapse (nW)"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [6.0, 9.0, 12.0])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    sd = np.std([4.0, 8.0], ddof=1)
    assert band.min() == pytest.approx(6.0 - sd) and band.max() == pytest.approx(12.0 + 2 * sd)


def test_without_hue_one_line(frame):
    for hue in (None, "no.such.column", "mapping.bits"):
        ax = plot_sweep(frame, "mapping.bits", "snn_accuracy", hue=hue, spread=None)
        assert len(ax.lines) == 1 and len(ax.collections) == 0
        ok = frame[frame["status"] == "done"]
        np.testing.assert_allclose(
            ax.lines[0].get_ydata(), ok.groupby("mapping.bits")["snn_accuracy"].mean()
        )


def test_categorical_x(frame):
    ax = plot_sweep(frame, "mapping.method", "snn_accuracy", hue=None, color="k")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["linear_pair", "qwsm"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 1])
    assert ax.lines[0].get_color() == "k"
    assert ax.lines[0].get_linestyle() == "None"  # categories are not joined by lines
    ax = plot_sweep(frame, "mapping.bits", "snn_accuracy", hue=None)
    assert ax.lines[0].get_linestyle() == "-"


def test_log_axis_for_wide_numeric_ranges():
    frame = pd.DataFrame(
        {"circuit.r_neuron": [10.0, 100.0, 1000.0], "snn_accuracy": [0.9, 0.8, 0.5]}
    )
    ax = plot_sweep(frame, "circuit.r_neuron", "snn_accuracy")
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "circuit.r_neuron (kΩ)"
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.01, 0.1, 1.0])


def test_unit_strings_of_a_physical_axis_are_placed_by_value():
    # a sweep file may write "100 ohm", "1 kohm": not categories sorted as text
    frame = pd.DataFrame(
        {
            "circuit.r_neuron": ["1 kohm", "100 ohm", "10 kohm", "1 kohm"],
            "snn_accuracy": [0.8, 0.9, 0.5, 0.7],
        }
    )
    ax = plot_sweep(frame, "circuit.r_neuron", "snn_accuracy", hue=None)
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "circuit.r_neuron (kΩ)"
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0.1, 1.0, 10.0])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.9, 0.75, 0.5])
    # a field without a unit, or a value that is not a quantity, stays categorical
    frame = pd.DataFrame({"circuit.r_neuron": ["1 kohm", "open"], "snn_accuracy": [0.8, 0.9]})
    ax = plot_sweep(frame, "circuit.r_neuron", "snn_accuracy", hue=None)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 kohm", "open"]


def test_accuracies_get_binomial_standard_errors():
    frame = pd.DataFrame(
        {
            "mapping.bits": [2, 3, 3],
            "snn_accuracy": [0.5, 0.9, 0.7],
            "average_power_per_synapse": [1e-9, 2e-9, 3e-9],
            "n_images": [100, 100, 300],
        }
    )
    ax = plot_sweep(frame, "mapping.bits", "snn_accuracy", hue=None, spread=None)
    (bars,) = ax.containers
    assert len(ax.lines) == 1  # the bars are a collection, not lines
    segments = bars.lines[2][0].get_segments()
    half = [(s[1][1] - s[0][1]) / 2 for s in segments]
    # bits 2: p = 0.5 of 100 images; bits 3: the mean 0.8 of the two points, over 400 images
    np.testing.assert_allclose(half, [np.sqrt(0.25 / 100), np.sqrt(0.8 * 0.2 / 400)])
    ax = plot_sweep(frame, "mapping.bits", "average_power_per_synapse", hue=None)
    assert not ax.containers  # not a fraction of images


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "match"),
    [
        ("nope", "snn_accuracy", {}, "x: column 'nope' is not in the summary"),
        ("mapping.bits", "nope", {}, "y: column 'nope' is not in the summary"),
        ("mapping.bits", "mapping.method", {}, "y: column 'mapping.method' is not numeric"),
        ("mapping.bits", "snn_accuracy", {"spread": "iqr"}, "spread"),
        ("mapping.bits", "snn_accuracy", {"hue": 3}, "hue"),
    ],
)
def test_bad_input(frame, x, y, kwargs, match):
    with pytest.raises(SnnRramError, match=match):
        plot_sweep(frame, x, y, **kwargs)


def test_nothing_to_plot(frame):
    with pytest.raises(SnnRramError, match="frame: expected a pandas.DataFrame"):
        plot_sweep(frame.to_dict(), "mapping.bits", "snn_accuracy")
    failed = frame.assign(status="failed")
    with pytest.raises(SnnRramError, match="frame: no row to plot"):
        plot_sweep(failed, "mapping.bits", "snn_accuracy")


def test_empty_categories_are_named(frame):
    frame = frame.assign(label=["", "calibrated"] * 6 + [""])
    ax = plot_sweep(frame, "label", "snn_accuracy", hue=None)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["(none)", "calibrated"]
