import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import devices, mapping
from snn_rram.crossbar import Circuit
from snn_rram.errors import SnnRramError
from snn_rram.plot import plot_mapping

CIRCUIT = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=1e3)


def test_effective_against_nominal_weight():
    w = np.random.default_rng(0).normal(0, 0.3, (8, 30))
    m = mapping.linear_pair(w, devices.load("default"), CIRCUIT, bits=4)
    ax = plot_mapping(m)
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], np.ravel(m.nominal_weight))
    np.testing.assert_allclose(points[:, 1], np.ravel(m.effective_weight))
    identity = ax.lines[0]
    np.testing.assert_allclose(identity.get_xdata(), identity.get_ydata())
    title = ax.get_title(loc="left")
    assert "linear_pair" in title and "240 synapses" in title
    rmse = np.sqrt(np.mean((m.effective_weight - m.nominal_weight) ** 2))
    assert f"{rmse:.3g}" in title
    assert "nominal weight" in ax.get_xlabel() and "effective weight" in ax.get_ylabel()


def test_sparse_mapping_uses_stored_synapses():
    rng = np.random.default_rng(1)
    w = sp.random(12, 40, density=0.2, random_state=3, data_rvs=lambda n: rng.normal(0, 0.3, n))
    m = mapping.linear_pair(w.tocsr(), devices.load("default"), CIRCUIT, bits=3)
    ax = plot_mapping(m, s=10, color="C3")
    points = ax.collections[0].get_offsets()
    assert len(points) == w.nnz
    nominal = sp.csr_matrix(m.nominal_weight)
    effective = sp.csr_matrix(m.effective_weight)
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(nominal.data))
    np.testing.assert_allclose(np.sort(points[:, 1]), np.sort(effective.data))
    assert ax.collections[0].get_sizes()[0] == 10


def test_bad_input():
    with pytest.raises(SnnRramError, match="mapping: expected a snn_rram.mapping.Mapping"):
        plot_mapping({"crossbar": None})
    w = np.full((2, 3), 0.1)
    m = mapping.linear_pair(w, devices.load("default"), CIRCUIT, bits=3)
    bare = mapping.Mapping(m.crossbar, m.g_per_weight, m.effective_weight, None, {}, None)
    with pytest.raises(SnnRramError, match="mapping.nominal_weight"):
        plot_mapping(bare)


def test_effective_against_target_weight():
    w = np.random.default_rng(2).normal(0, 0.3, (6, 20))
    m = mapping.qwsm(w, devices.load("default"), CIRCUIT, bits=4)
    ax = plot_mapping(m, target=w)
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], w.ravel())
    np.testing.assert_allclose(points[:, 1], np.ravel(m.effective_weight))
    assert "target weight" in ax.get_xlabel()
    with pytest.raises(SnnRramError, match=r"differs from target \(3, 20\)"):
        plot_mapping(m, target=w[:3])
