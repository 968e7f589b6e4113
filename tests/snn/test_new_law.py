"""A new separable device law is one read-model class: no edit in ``snn_rram.snn``.

The law below exists only here. It states itself for Brian2 (``brian2_law``), so event-based
layers solve its columns (:class:`snn_rram.snn.layers.LawColumns`) on every target, with exact
per-device energies.
"""

import dataclasses

import numpy as np
import pytest

from snn_rram import devices, snn
from snn_rram.crossbar import Crossbar
from snn_rram.devices.iv import Separable
from snn_rram.snn.layers import LawColumns

from .helpers import brute_force_energy, dense, max_rel, small_network


@dataclasses.dataclass(frozen=True)
class Cubic(Separable):
    """``I = G · (V + a·V³)`` (test only)."""

    a: float
    odd = True

    def f(self, V):
        V = np.asarray(V, dtype=np.float64)
        return V + self.a * V**3

    def df(self, V):
        V = np.asarray(V, dtype=np.float64)
        return 1.0 + 3.0 * self.a * V**2

    def F(self, V):
        V = np.asarray(V, dtype=np.float64)
        return 0.5 * V**2 + 0.25 * self.a * V**4

    def to_dict(self):
        return {"model": "cubic", "a": self.a}

    def spice_current(self, g, v, const):
        return f"{const(g)}*({v}+{const(self.a)}*{v}*{v}*{v})"

    def brian2_law(self):
        return "u + a*u**3", "1 + 3*a*u**2", {"a": self.a}


def _case(pulse_steps, a=3.0):
    device = dataclasses.replace(devices.load("sinh_strong"), read_model=Cubic(a))
    return small_network(device, pulse_steps=pulse_steps, n_images=2, seed=3)


def _check_exact(net, res):
    assert sum(len(x.spike_indices) for x in res.layers) > 30
    for layer, (E, En) in zip(res.layers, brute_force_energy(net, res), strict=True):
        assert max_rel(layer.device_energy, E) < 1e-9
        assert max_rel(layer.neuron_energy, En) < 1e-9


def _same(a, b):
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(la.spike_indices, lb.spike_indices)
        np.testing.assert_array_equal(la.spike_times, lb.spike_times)
        np.testing.assert_allclose(dense(la.device_energy), dense(lb.device_energy), rtol=1e-12)
        np.testing.assert_allclose(la.neuron_energy, lb.neuron_energy, rtol=1e-12)


def test_one_step_pulses_of_the_new_law_are_exact_on_numpy():
    net = snn.SpikingNetwork(*_case(pulse_steps=1), target="numpy")
    res = net.run()
    assert net.coupled == [False, False]
    assert all(isinstance(layer.cols, LawColumns) for layer in net.layers)
    _check_exact(net, res)


@pytest.mark.standalone
def test_the_new_law_runs_on_every_target_with_exact_energy():
    xbars, neuron, spikes = _case(pulse_steps=2)
    ref_net = snn.SpikingNetwork(xbars, neuron, spikes, target="numpy")
    ref = ref_net.run()
    _check_exact(ref_net, ref)
    for target in ("cython", "cpp_standalone"):
        net = snn.SpikingNetwork(xbars, neuron, spikes, target=target, name="t_new_law")
        res = net.run()
        assert all(isinstance(layer.cols, LawColumns) for layer in net.layers)
        _same(res, ref)
    # in standalone the law's constant is a run argument: a new one without recompiling
    device = dataclasses.replace(xbars[0].device, read_model=Cubic(5.0))
    stronger = [Crossbar(x.G, device, x.circuit, x.layout) for x in xbars]
    for k, x in enumerate(stronger):
        net.set_crossbar(k, x)
    _same(net.run(), snn.SpikingNetwork(stronger, neuron, spikes, target="numpy").run())
