"""The exact and the tabulated column solves, compiled on every target, against Crossbar.read.

The compiled solve is ``include/snn_rram_column.h`` (C++ standalone includes it, Cython declares
it); the numpy target runs ``snn_rram.crossbar.columns.separable_current`` — the solve of
``Crossbar.read`` — and its tables. Tolerances are relative to a quantity's largest value
(the tables are accurate to 1e-12 of it; the exact solves agree to rounding).
"""

import numpy as np
import pytest

from snn_rram import snn

from .helpers import active_inputs, brute_force_energy, dense, max_rel, small_network


@pytest.fixture(scope="module")
def case():
    """Sinh devices with bias rows in layer 0; two-step pulses (pulse start and end pathways)."""
    return small_network("sinh_strong", pulse_steps=2, n_images=2, seed=3)


@pytest.fixture(scope="module")
def numpy_runs(case):
    xbars, neuron, spikes = case
    return {
        solver: snn.SpikingNetwork(
            xbars, neuron, spikes, target="numpy", column_solver=solver
        ).run()
        for solver in ("exact", "table")
    }


def _rel(a, b):
    """Largest difference relative to the largest value of ``b``."""
    a, b = dense(a), dense(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _agree(a, b, tol):
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(la.spike_indices, lb.spike_indices)
        np.testing.assert_allclose(la.spike_times, lb.spike_times, rtol=0, atol=1e-12)
        assert _rel(la.device_energy, lb.device_energy) <= tol
        assert _rel(la.neuron_energy, lb.neuron_energy) <= tol


@pytest.mark.parametrize("solver", ["exact", "table"])
def test_column_states_equal_crossbar_read_at_every_step(case, solver):
    xbars, neuron, spikes = case
    record = {0: ["vcol0", "vcol1", "icol0", "icol1"], 1: ["icol0", "icol1"]}
    net = snn.SpikingNetwork(xbars, neuron, spikes, column_solver=solver, record=record)
    res = net.run()
    n_active = 0
    for k, xbar in enumerate(xbars):
        if k == 0:
            idx, steps = spikes.indices, spikes.steps
        else:  # the first layer's spikes drive the second
            prev = res.layers[0]
            idx, steps = prev.spike_indices, np.round(prev.spike_times / net.dt).astype(int)
        active = active_inputs(idx, steps, xbar.layout.n_inputs, net.n_steps, 2)
        n_active += int(active.any(axis=1).sum())
        read = xbar.read(xbar.layout.active_rows(active))
        for s in (0, 1):
            cols = net.plans[k].slot_col[:, s]
            icol = res.layers[k].states[f"icol{s}"]
            assert _rel(icol, read.neuron_current[:, cols]) <= 1e-12
            if k == 0:
                vcol = res.layers[k].states[f"vcol{s}"]
                assert _rel(vcol, read.column_voltage[:, cols]) <= 1e-12
    assert n_active > 100


def test_exact_and_tabulated_solves_agree_on_numpy(numpy_runs):
    assert sum(len(x.spike_indices) for x in numpy_runs["exact"].layers) > 50
    _agree(numpy_runs["table"], numpy_runs["exact"], 1e-12)


def _built_with_other_conductances(case, **kw):
    """A network built for other layer-0 conductances, given ``case``'s before its first run
    (the values every target must then use)."""
    xbars, neuron, spikes = case
    levels = xbars[0].device.levels
    G_other = levels.values[np.random.default_rng(7).integers(0, levels.n, xbars[0].shape)]
    other = [xbars[0].with_conductances(G_other), *xbars[1:]]
    net = snn.SpikingNetwork(other, neuron, spikes, **kw)
    net.set_conductances(0, xbars[0].G)
    return net


def test_set_conductances_before_the_first_run_on_numpy(case, numpy_runs):
    net = _built_with_other_conductances(case, target="numpy")
    _agree(net.run(), numpy_runs["table"], 0)


@pytest.fixture(scope="module")
def cython_exact(case):
    return _built_with_other_conductances(case, target="cython", column_solver="exact").run()


def test_exact_solve_compiled_for_cython(cython_exact, numpy_runs):
    _agree(cython_exact, numpy_runs["exact"], 1e-13)
    _agree(cython_exact, numpy_runs["table"], 1e-12)


@pytest.mark.standalone
def test_exact_solve_compiled_for_standalone(case, numpy_runs, cython_exact):
    """The header's exact solve in C++ standalone, against numpy, Cython and brute force (the
    static reads of every step); conductances set before the first run."""
    net = _built_with_other_conductances(
        case, target="cpp_standalone", name="t_exact", column_solver="exact"
    )
    res = net.run()
    _agree(res, numpy_runs["exact"], 1e-13)
    _agree(res, cython_exact, 1e-13)
    _agree(res, numpy_runs["table"], 1e-12)
    for layer, (E, En) in zip(res.layers, brute_force_energy(net, res), strict=True):
        assert max_rel(layer.device_energy, E) < 1e-9
        assert max_rel(layer.neuron_energy, En) < 1e-9


def test_the_headers_take_their_constants_from_python():
    """One source: no header defines a constant of :data:`functions.MACROS` itself."""
    from snn_rram.snn import functions

    include = functions._INCLUDE
    for header in include.glob("*.h"):
        text = header.read_text()
        for name, _ in functions.MACROS:
            assert f"#define {name}" not in text, (header.name, name)
    used = "".join(h.read_text() for h in include.glob("*.h"))
    assert all(name in used for name, _ in functions.MACROS)
