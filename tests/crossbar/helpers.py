"""Independent reference checks shared by the crossbar tests (written from the physics, not
from the solver code)."""

import numpy as np


def kcl_residuals(xbar, res, b=0):
    """Largest KCL imbalance over every node of read ``b``, relative to the largest current."""
    c = xbar.circuit
    wr, wc = c.r_wire_row, c.r_wire_col
    I = res.device_current[b]
    vr = res.row_node_voltage[b]
    vc = res.column_node_voltage[b]
    n_rows, n_cols = I.shape
    src = res.row_voltage[b]  # driver voltages, NaN for floating rows
    out = []
    scale = max(np.abs(I).max(), np.abs(res.neuron_current[b]).max(), 1e-300)
    # row side
    if wr > 0:
        seg = np.diff(vr, axis=1) / wr  # current from cell j+1 to j is -seg ... left to right
        flow_right = -seg  # current flowing from (i, j) to (i, j+1)
        inflow = np.zeros((n_rows, n_cols))
        driven = ~np.isnan(src)
        inflow[:, 0] = np.where(driven, (np.nan_to_num(src) - vr[:, 0]) / wr, 0.0)
        inflow[:, 1:] += flow_right
        outflow = I.copy()
        outflow[:, :-1] += flow_right
        dead = ~(np.asarray(xbar.G.toarray() if xbar.is_sparse else xbar.G) > 0).any(axis=1)
        out.append(np.abs(inflow - outflow)[~dead])
    else:
        floating = np.isnan(src)
        out.append(np.abs(I.sum(axis=1))[floating])  # a floating row's currents cancel
        driven = ~floating
        out.append(np.abs(I.sum(axis=1) - res.driver_current[b])[driven])
    # column side
    if wc > 0:
        flow_down = -np.diff(vc, axis=0) / wc  # from (i, j) to (i+1, j)
        to_neuron = (vc[-1] - res.column_voltage[b]) / wc
        inflow = I.copy()
        inflow[1:] += flow_down
        outflow = np.zeros_like(I)
        outflow[:-1] += flow_down
        outflow[-1] += to_neuron
        out.append(np.abs(inflow - outflow).ravel())
        out.append(np.abs(to_neuron - res.neuron_current[b]))
    else:
        out.append(np.abs(I.sum(axis=0) - res.neuron_current[b]))
    r_n = c.r_neuron_for(n_cols)
    ok = r_n > 0
    out.append(np.abs(res.column_voltage[b][ok] / r_n[ok] - res.neuron_current[b][ok]))
    return max(float(np.max(x, initial=0.0)) for x in out) / scale


def random_crossbar(rng, device, n_rows, n_cols, **circuit):
    from snn_rram.crossbar import Circuit, Crossbar

    G = device.levels.values[rng.integers(0, device.levels.n, (n_rows, n_cols))]
    kwargs = {"v_read": 0.3, "pulse_width": 1e-4, "r_neuron": 1e3}
    kwargs.update(circuit)
    return Crossbar(G, device, Circuit(**kwargs))
