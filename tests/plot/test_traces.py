import brian2 as b2
import matplotlib.pyplot as plt
import numpy as np
import pytest

from snn_rram import snn
from snn_rram.errors import SnnRramError
from snn_rram.plot import plot_traces
from tests.snn.helpers import small_network

PREFIX = {"k": 1e3, "": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9, "p": 1e-12}


def shown_factor(label, quantity, base):
    """The factor of the unit in an axis label such as 'current (µA)'."""
    assert label.startswith(f"{quantity} (") and label.endswith(f"{base})")
    return PREFIX[label[len(quantity) + 2 : -len(base) - 1]]


@pytest.fixture(scope="module")
def recorded():
    xbars, neuron, spikes = small_network("ideal", n_images=1, image_ms=10)
    net = snn.SpikingNetwork(
        xbars, neuron, spikes, energy=False, record={0: ["v", "vcol0", "icol0"]}
    )
    return net.run()


def test_snn_result_states_are_time_first(recorded):
    v = recorded.layers[0].states["v"]  # (n_steps, n_neurons)
    t = np.arange(v.shape[0]) * recorded.dt
    ax = plot_traces(t, v, indices=[0, 2, 5])
    assert len(ax.lines) == 3
    factor = shown_factor(ax.get_ylabel(), "voltage", "V")
    for line, i in zip(ax.lines, [0, 2, 5], strict=True):
        np.testing.assert_allclose(line.get_xdata(), t / 1e-3)
        np.testing.assert_allclose(line.get_ydata() * factor, v[:, i], rtol=1e-12)
    assert ax.get_xlabel() == "time (ms)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["#0", "#2", "#5"]


def test_column_currents_get_an_si_prefix(recorded):
    i0 = recorded.layers[0].states["icol0"]
    t = np.arange(i0.shape[0]) * recorded.dt
    ax = plot_traces(t, i0, unit="A")
    assert len(ax.lines) == i0.shape[1]
    factor = shown_factor(ax.get_ylabel(), "current", "A")
    assert 1 <= np.abs(i0).max() / factor < 1000
    np.testing.assert_allclose(ax.lines[1].get_ydata() * factor, i0[:, 1], rtol=1e-12)


def test_brian2_state_monitor_quantities():
    b2.prefs.codegen.target = "numpy"
    g = b2.NeuronGroup(3, "dv/dt = -v / (10*ms) : volt", method="exact")
    g.v = [1, 2, 3] * b2.mV
    mon = b2.StateMonitor(g, "v", record=True)
    b2.Network(g, mon).run(2 * b2.ms)
    ax = plot_traces(mon.t, mon.v)  # (n_traces, n_steps) quantities
    assert ax.get_ylabel() == "voltage (mV)"
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[2].get_ydata(), np.asarray(mon.v_[2]) / 1e-3)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), np.asarray(mon.t_) / 1e-3)
    # a quantity keeps its own unit; a prefixed unit must match it
    ax = plot_traces(mon.t, mon.v, unit="V", time_unit=1e-6)
    assert ax.get_xlabel() == "time (µs)"
    with pytest.raises(SnnRramError, match="unit: 'mA' does not match"):
        plot_traces(mon.t, mon.v, unit="mA")
    with pytest.raises(SnnRramError, match="times: expected times in seconds"):
        plot_traces(mon.v[0], mon.v)


def test_fixed_unit_kwds_and_given_axes():
    t = np.linspace(0, 1e-3, 11)
    values = np.full((2, 11), 0.5)
    _, ax = plt.subplots()
    n_figs = len(plt.get_fignums())
    out = plot_traces(t, values, unit="mV", axes=ax, color="red", quantity="membrane potential")
    assert out is ax and len(plt.get_fignums()) == n_figs
    assert ax.get_ylabel() == "membrane potential (mV)"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 500.0)
    assert all(line.get_color() == "red" for line in ax.lines)
    ax = plot_traces(t, np.full(11, 2e-6), unit="A")  # 1-D: one trace
    assert len(ax.lines) == 1 and ax.get_ylabel() == "current (µA)"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 2.0)


@pytest.mark.parametrize(
    ("times", "values", "kwargs", "match"),
    [
        (np.arange(5), np.zeros((3, 4)), {}, "values: shape \\(3, 4\\) has no axis of length 5"),
        (np.arange(5), np.zeros((2, 5, 1)), {}, "values: expected a non-empty"),
        ([], np.zeros((0,)), {}, "times: expected a non-empty 1-D"),
        (np.arange(5), np.zeros((2, 5)), {"indices": [2]}, "indices: 2 is out of range"),
        (np.arange(5), np.zeros((2, 5)), {"indices": [0.5]}, "indices: expected"),
        (np.arange(5), np.zeros((2, 5)), {"unit": "furlong"}, "unit: unknown unit 'furlong'"),
        (np.arange(5), np.zeros((2, 5)), {"time_unit": 0}, "time_unit"),
        (np.arange(5), np.zeros((2, 5)), {"axes": "ax"}, "axes: expected a matplotlib"),
        (np.arange(5), [["a"] * 5], {}, "values: expected an array of numbers"),
    ],
)
def test_bad_input(times, values, kwargs, match):
    with pytest.raises(SnnRramError, match=match):
        plot_traces(times, values, **kwargs)
