import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.sparse as sp

from snn_rram import devices
from snn_rram.crossbar import Circuit, Crossbar
from snn_rram.errors import SnnRramError
from snn_rram.plot import plot_conductance_histogram, plot_distortion, plot_energy_heatmap

CIRCUIT = Circuit(v_read=0.2, pulse_width=1e-4, r_neuron=2e3)


@pytest.fixture(scope="module")
def device():
    return devices.load("default")


def test_distortion_dense(device):
    rng = np.random.default_rng(0)
    G = device.levels.values[rng.integers(0, device.levels.n, (30, 6))]
    G[3, 2] = 0.0  # no device there
    xbar = Crossbar(G, device, CIRCUIT)
    ax = plot_distortion(xbar)
    points = ax.collections[0].get_offsets()
    keep = G > 0
    assert len(points) == keep.sum()
    np.testing.assert_allclose(points[:, 0] * 1e-6, G[keep])
    np.testing.assert_allclose(points[:, 1] * 1e-6, xbar.static_gain()[keep])
    assert (points[:, 1] < points[:, 0]).all()  # voltage division only lowers G_eff
    identity = ax.lines[0]
    np.testing.assert_allclose(identity.get_xdata(), identity.get_ydata())
    assert ax.get_xlabel() == "programmed conductance G (µS)"
    assert ax.get_ylabel() == "effective conductance G_eff (µS)"
    assert "G_eff/G mean" in ax.get_title(loc="left")


def test_distortion_sparse(device):
    G = sp.random(40, 8, density=0.25, random_state=1, format="csr") * 1e-5 + 0.0
    G.data += 1e-6
    xbar = Crossbar(G, device, CIRCUIT)
    _, ax = plt.subplots()
    assert plot_distortion(xbar, axes=ax, s=3) is ax
    points = ax.collections[0].get_offsets()
    assert len(points) == G.nnz
    gain = sp.csr_matrix(xbar.static_gain())
    coo = G.tocoo()
    np.testing.assert_allclose(points[:, 0] * 1e-6, coo.data)
    np.testing.assert_allclose(points[:, 1] * 1e-6, np.asarray(gain[coo.row, coo.col]).ravel())


def test_distortion_bad_input(device):
    with pytest.raises(SnnRramError, match="crossbar: expected"):
        plot_distortion(np.ones((2, 2)))
    with pytest.raises(SnnRramError, match="crossbar: has no device"):
        plot_distortion(Crossbar(np.zeros((2, 2)), device, CIRCUIT))


def test_energy_heatmap_dense():
    E = np.arange(12.0).reshape(4, 3) * 1e-12
    ax = plot_energy_heatmap(E)
    (image,) = ax.images
    np.testing.assert_allclose(image.get_array(), E / 1e-12)
    assert image.colorbar is not None
    assert image.colorbar.ax.get_ylabel() == "energy per device (pJ)"
    assert ax.get_aspect() == "auto"
    assert ax.get_xlabel() == "column" and ax.get_ylabel() == "row"
    assert "total 66 pJ" in ax.get_title(loc="left")
    ax = plot_energy_heatmap(E, unit="fJ", cmap="magma")
    np.testing.assert_allclose(ax.images[0].get_array(), E / 1e-15)
    assert ax.images[0].get_cmap().name == "magma"
    ax = plot_energy_heatmap(E * 1e3, unit="J")  # automatic prefix
    assert ax.images[0].colorbar.ax.get_ylabel() == "energy per device (nJ)"


def test_energy_heatmap_sparse_leaves_empty_cells_blank():
    E = sp.csr_matrix(([1e-12, 3e-12], ([0, 2], [1, 0])), shape=(3, 2))
    image = plot_energy_heatmap(E).images[0].get_array()
    assert image.shape == (3, 2)
    assert image[0, 1] == pytest.approx(1.0) and image[2, 0] == pytest.approx(3.0)
    assert np.isnan(image[0, 0]) or np.ma.is_masked(image[0, 0])


def test_energy_heatmap_of_a_big_layer_shows_block_means():
    rng = np.random.default_rng(2)
    E = rng.random((3000, 20)) * 1e-12
    ax = plot_energy_heatmap(E)
    image = np.asarray(ax.images[0].get_array())
    assert image.shape == (1000, 20)  # blocks of 3 rows
    np.testing.assert_allclose(image, E.reshape(1000, 3, 20).mean(axis=1) / 1e-12)
    assert "blocks of 3×1" in ax.get_title(loc="left")
    assert ax.images[0].get_extent() == [-0.5, 19.5, 2999.5, -0.5]
    assert "mean energy per device" in ax.images[0].colorbar.ax.get_ylabel()
    # sparse: the mean over the devices present in each block
    S = sp.csr_matrix(([2e-12, 4e-12, 9e-12], ([0, 1, 2999], [0, 0, 5])), shape=(3000, 2048))
    image = np.ma.filled(np.ma.asarray(plot_energy_heatmap(S).images[0].get_array()), np.nan)
    assert image.shape == (1000, 1024)
    assert image[0, 0] == pytest.approx(3.0) and image[999, 2] == pytest.approx(9.0)
    assert np.isnan(image).sum() == image.size - 2


@pytest.mark.parametrize(
    ("energy", "kwargs", "match"),
    [
        (np.full((2, 2), -1e-12), {}, "energy: must be >= 0"),
        (np.ones(3), {}, "energy: expected a 2-D"),
        (np.ones((0, 3)), {}, "energy: empty array"),
        (np.full((2, 2), np.nan), {}, "energy: contains NaN"),
        (np.ones((2, 2)), {"unit": "mV"}, "unit: expected an energy unit"),
        (np.ones((2, 2)), {"unit": "xJ"}, "unit"),
    ],
)
def test_energy_heatmap_bad_input(energy, kwargs, match):
    with pytest.raises(SnnRramError, match=match):
        plot_energy_heatmap(energy, **kwargs)


def test_conductance_histogram(device):
    values = device.levels.values
    G = np.array([[values[0], values[0], 0.0], [values[5], values[31], values[0]]])
    ax = plot_conductance_histogram(G, levels=device.levels)
    heights = np.array([p.get_height() for p in ax.patches])
    assert heights.size == 32  # one bin per level
    assert heights[0] == 3 and heights[5] == 1 and heights[31] == 1 and heights.sum() == 5
    assert ax.get_xlabel() == "conductance (µS)" and ax.get_ylabel() == "devices"
    ax = plot_conductance_histogram(sp.csr_matrix(G))  # bins at the distinct values
    heights = np.array([p.get_height() for p in ax.patches])
    np.testing.assert_array_equal(heights, [3, 1, 1])
    with pytest.raises(SnnRramError, match="conductances: no device"):
        plot_conductance_histogram(np.zeros((2, 2)))
    with pytest.raises(SnnRramError, match="conductances: must be >= 0"):
        plot_conductance_histogram(-G)
