import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import devices, mapping
from snn_rram.crossbar import Circuit
from snn_rram.errors import SnnRramError
from snn_rram.plot import plot_iv, plot_levels


@pytest.fixture(scope="module")
def default():
    return devices.load("default")


def test_iv_curves_at_levels(default):
    ax = plot_iv(default, n_levels=4)
    assert len(ax.lines) == 4
    assert ax.get_xlabel() == "voltage (V)" and ax.get_ylabel() == "current (µA)"
    values = default.levels.values
    G = values[[0, 10, 21, 31]]  # evenly spaced indices, ends included
    for line, g in zip(ax.lines, G, strict=True):
        V = line.get_xdata()
        assert V[0] == pytest.approx(-0.5) and V[-1] == pytest.approx(0.5)
        np.testing.assert_allclose(
            line.get_ydata() * 1e-6, default.read_model.current(g, V), rtol=1e-12
        )
    assert "Sinh" in ax.get_title(loc="left") and "default" in ax.get_title(loc="left")
    assert len(ax.get_legend().get_texts()) == 4


def test_iv_with_fitted_model_and_measured_points(default):
    V = np.linspace(0.0, 0.4, 9)
    G_true = np.array([2e-6, 1e-5])
    rng = np.random.default_rng(1)
    I = default.read_model.current(G_true[:, None], V) * (1 + 0.02 * rng.standard_normal((2, 9)))
    fit = devices.fit_iv(V, I, "sinh")
    fitted = devices.Device("fitted", fit.model, default.levels, source="test")
    ax = plot_iv(fitted, measured=(V, I, fit.G), color=None)
    # two model curves at the fitted G, then two marker lines with the measurements
    assert len(ax.lines) == 4
    model, points = ax.lines[:2], ax.lines[2:]
    for line, g in zip(model, fit.G, strict=True):
        Vm = line.get_xdata()
        assert Vm[0] == 0.0 and Vm[-1] == pytest.approx(0.4)  # measured V >= 0: [0, v_max]
        np.testing.assert_allclose(line.get_ydata() * 1e-6, fit.model.current(g, Vm))
    for line, row, curve in zip(points, I, model, strict=True):
        assert line.get_linestyle() == "None" and line.get_marker() == "o"
        np.testing.assert_allclose(line.get_xdata(), V)
        np.testing.assert_allclose(line.get_ydata() * 1e-6, row)
        assert line.get_color() == curve.get_color()
    assert "fitted" in ax.get_title(loc="left")


def test_iv_measured_without_g_over_polynomial_levels():
    dev = devices.Device(
        "poly",
        devices.Polynomial(a2=[2e-6], a3=[1e-6]),
        devices.UniformLevels(1e-6, 1e-5, 8),
        source="test",
    )
    V = np.linspace(-0.3, 0.3, 7)
    I = dev.read_model.current(5e-6, V)
    ax = plot_iv(dev, measured=(V, I), n_levels=2, v_max=0.4)
    assert len(ax.lines) == 3  # two levels, one measured curve
    V_model = ax.lines[0].get_xdata()
    assert V_model[0] == pytest.approx(-0.4) and V_model[-1] == pytest.approx(0.4)
    np.testing.assert_allclose(
        ax.lines[1].get_ydata() * 1e-6, dev.read_model.current(1e-5, V_model)
    )  # not odd: the negative branch differs from a mirrored positive one
    assert ax.lines[1].get_ydata()[0] != pytest.approx(-ax.lines[1].get_ydata()[-1])


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ("default", {}, "device: expected a snn_rram.devices.Device"),
        (None, {"measured": ([0.1, 0.2], [1e-6])}, "measured\\[1\\] \\(I\\): expected 2 points"),
        (None, {"measured": ([0.1, 0.2], [1e-6, 2e-6], [1e-5, 2e-5])}, "measured\\[2\\] \\(G\\)"),
        (None, {"measured": np.zeros((2, 5))}, "measured: expected a tuple"),
        (None, {"n_levels": 0}, "n_levels"),
        (None, {"v_max": -1.0}, "v_max: must be > 0"),
        (None, {"measured": ([0.0], [0.0])}, "every measured voltage is 0 V"),
    ],
)
def test_iv_bad_input(default, args, kwargs, match):
    with pytest.raises(SnnRramError, match=match):
        plot_iv(args if args is not None else default, **kwargs)


def test_levels_alone(default):
    ax = plot_levels(default.levels)
    assert len(ax.lines) == 1 and len(ax.figure.axes) == 1
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(32))
    np.testing.assert_allclose(ax.lines[0].get_ydata() * 1e-6, default.levels.values)
    assert ax.get_ylabel() == "conductance (µS)" and ax.get_xlabel() == "level index"
    # an array of levels works the same, and kwds reach the line
    ax = plot_levels(default.levels.values, color="k", marker="s")
    assert ax.lines[0].get_color() == "k" and ax.lines[0].get_marker() == "s"


def test_levels_with_the_devices_of_a_mapping(default):
    rng = np.random.default_rng(2)
    circuit = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=100.0)
    m = mapping.linear_pair(rng.normal(0, 0.3, (6, 20)), default, circuit, bits=4)
    ax = plot_levels(default, m.crossbar.G)
    twin = ax.figure.axes[-1]
    heights = np.array([p.get_height() for p in twin.patches])
    expected = np.bincount(default.levels.nearest(np.ravel(m.crossbar.G)), minlength=32)
    np.testing.assert_array_equal(heights, expected)
    assert heights.sum() == m.crossbar.G.size and "devices per level" in twin.get_ylabel()
    # the same weights mapped by scale: |w|·g_per_weight above the lowest level
    w = rng.normal(0, 0.3, (5, 7))
    ax = plot_levels(default.levels, w, scale=m.g_per_weight)
    heights = np.array([p.get_height() for p in ax.figure.axes[-1].patches])
    g = default.levels.values[0] + np.abs(w).ravel() * m.g_per_weight
    np.testing.assert_array_equal(heights, np.bincount(default.levels.nearest(g), minlength=32))
    assert "weights per level" in ax.figure.axes[-1].get_ylabel()


def test_levels_sparse_conductances_count_stored_devices(default):
    values = default.levels.values
    G = sp.csr_matrix(([values[3], values[3], values[7]], ([0, 1, 4], [2, 0, 1])), shape=(5, 3))
    fig, ax = plt.subplots()
    assert plot_levels(values, G, axes=ax) is ax
    heights = np.array([p.get_height() for p in fig.axes[-1].patches])
    assert heights[3] == 2 and heights[7] == 1 and heights.sum() == 3


@pytest.mark.parametrize(
    ("levels", "weights", "kwargs", "match"),
    [
        ([2e-6, 1e-6], None, {}, "levels: expected strictly increasing"),
        ([], None, {}, "levels: no conductance levels"),
        ([1e-6, 2e-6], [[-1e-6]], {}, "weights: negative conductances"),
        ([1e-6, 2e-6], None, {"scale": 1e-6}, "scale: given without weights"),
        ([1e-6, 2e-6], [[0.5]], {"scale": -1.0}, "scale: must be > 0"),
        ([1e-6, 2e-6], np.zeros((2, 2)), {}, "weights: no values"),
    ],
)
def test_levels_bad_input(levels, weights, kwargs, match):
    with pytest.raises(SnnRramError, match=match):
        plot_levels(levels, weights, **kwargs)
