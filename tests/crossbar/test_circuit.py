import brian2
import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.crossbar import ALWAYS_ON, Circuit, Layout


def test_quantities_and_floats():
    c = Circuit(v_read=200 * brian2.mV, pulse_width=0.1 * brian2.ms, r_neuron=2 * brian2.kohm)
    assert (c.v_read, c.pulse_width, c.r_neuron) == pytest.approx((0.2, 1e-4, 2e3))
    assert Circuit(0.2, 1e-4, [0.0, 1e3]).r_neuron_for(2).tolist() == [0.0, 1e3]
    assert not c.has_wires and Circuit(0.2, 1e-4, 0, r_wire_col=1).has_wires
    assert c.replace(v_read=0.3).v_read == 0.3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"v_read": 0.0}, "v_read: must be > 0"),
        ({"v_read": -0.1}, "v_read: must be > 0"),
        ({"v_read": float("nan")}, "v_read: contains NaN"),
        ({"v_read": 2 * brian2.mA}, "v_read: expected a value in volt"),
        ({"v_read": "0.2"}, "v_read: expected a number"),
        ({"pulse_width": 0}, "pulse_width: must be > 0"),
        ({"r_neuron": -1.0}, "r_neuron: must be >= 0"),
        ({"r_neuron": [[1.0]]}, "r_neuron: expected an array with 0 or 1"),
        ({"inactive_rows": "open"}, "inactive_rows: expected one of 'ground', 'float'"),
        ({"r_wire_row": -0.5}, "r_wire_row: must be >= 0"),
        ({"r_wire_col": 1 * brian2.volt}, "r_wire_col: expected a value in ohm"),
    ],
)
def test_bad_circuits(kwargs, match):
    base = {"v_read": 0.2, "pulse_width": 1e-4, "r_neuron": 1e3}
    base.update(kwargs)
    with pytest.raises(SnnRramError, match=match):
        Circuit(**base)


def test_per_column_r_neuron_length():
    with pytest.raises(SnnRramError, match="3 values, but the crossbar has 2 columns"):
        Circuit(0.2, 1e-4, [1.0, 2.0, 3.0]).r_neuron_for(2)


def test_layouts():
    lay = Layout.differential(3, 2, bias=True)
    assert (lay.n_rows, lay.n_cols, lay.n_neurons, lay.n_inputs) == (4, 4, 2, 3)
    assert lay.row_input.tolist() == [0, 1, 2, ALWAYS_ON]
    rows = lay.active_rows(np.array([[True, False, False], [False, False, False]]))
    assert rows.tolist() == [[True, False, False, True], [False, False, False, True]]
    out = lay.neuron_current(np.array([[5.0, 2.0, 1.0, 4.0]]))
    assert out.tolist() == [[3.0, -3.0]]
    with pytest.raises(SnnRramError, match="inputs_active: expected shape"):
        lay.active_rows(np.zeros(4, dtype=bool))
    with pytest.raises(SnnRramError, match="row_input"):
        Layout(np.array([0.5]), np.eye(1))
    with pytest.raises(SnnRramError, match="out of range"):
        Layout(np.array([0, 5]), np.eye(1), n_inputs=2)
