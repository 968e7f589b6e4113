"""The Brian2 internals behind :mod:`snn_rram.snn._brian2` still behave as relied on.

A Brian2 upgrade that changes one of them fails here, by name. (``last_run_time`` needs a
compiled run: ``test_targets.py::test_standalone_simulation_time_is_the_compiled_programs_own``.)
"""

import brian2 as b2
import numpy as np
import pytest

from snn_rram.snn._brian2 import forget_cached_values, is_current_project, last_run_time
from snn_rram.snn._targets import build_dir, configure_runtime


@pytest.fixture
def standalone_device():
    """The standalone device with a fresh project, not compiled; the runtime device after."""
    directory = str(build_dir() / "standalone" / "internals")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    device = b2.get_device()
    device.reinit()
    device.activate(directory=directory, build_on_run=False)
    yield device
    device.reinit()
    configure_runtime("numpy")


def test_a_standalone_device_answers_from_its_array_cache_until_told_to_forget(
    standalone_device,
):
    group = b2.NeuronGroup(3, "x : 1", name="internals_cache")
    group.x = 2.0
    np.testing.assert_array_equal(group.x_[:], [2.0, 2.0, 2.0])  # Brian2's cache, no run
    forget_cached_values(standalone_device, [group.variables["x"]])
    with pytest.raises(NotImplementedError):  # would be read from a run's results
        group.x_[:]


def test_a_new_standalone_project_drops_the_networks_of_the_old_one(standalone_device):
    net = b2.Network(b2.NeuronGroup(2, "v : 1", name="internals_group"), name="internals_net")
    net.run(1 * b2.ms)  # recorded for the project (build_on_run=False: nothing compiles)
    assert is_current_project(standalone_device, net)
    standalone_device.reinit()
    assert not is_current_project(standalone_device, net)


def test_without_a_run_there_is_no_run_time(standalone_device, monkeypatch):
    # reinit keeps the run time of an earlier project's run (a test before this one may have
    # compiled one): remove it, as on a device that never ran
    monkeypatch.delattr(standalone_device, "_last_run_time", raising=False)
    with pytest.raises(RuntimeError, match="_last_run_time"):
        last_run_time(standalone_device)


def test_results_outlive_the_network_that_made_them():
    """Monitors may hand out views into memory their network frees (Brian2 2.11's dynamic arrays
    on the runtime targets): a result must hold copies, valid after the network is gone."""
    import gc

    from snn_rram import snn

    from .helpers import small_network

    xbars, neuron, spikes = small_network("ideal", n_images=2, seed=5)
    net = snn.SpikingNetwork(xbars, neuron, spikes, target="numpy", record={0: ["v"]})
    res = net.run()
    kept = [(la.spike_indices.copy(), la.spike_times.copy()) for la in res.layers]
    v = res.layers[0].states["v"].copy()
    del net
    gc.collect()
    snn.SpikingNetwork(*small_network("ideal", n_images=3, seed=6), target="numpy").run()
    for la, (idx, t) in zip(res.layers, kept, strict=True):
        assert la.spike_indices.size > 0
        np.testing.assert_array_equal(la.spike_indices, idx)
        np.testing.assert_array_equal(la.spike_times, t)
    np.testing.assert_array_equal(res.layers[0].states["v"], v)
