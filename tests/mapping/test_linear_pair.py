import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_rram import SnnRramError, devices, mapping
from snn_rram.crossbar import ALWAYS_ON, Circuit

CIRCUIT = Circuit(0.2, 1e-4, 100.0)


def test_hand_computed_case():
    dev = devices.Device("d", devices.Linear(), devices.UniformLevels(1e-6, 8e-6, 8), source="t")
    w = np.array([[1.0, -0.5, 0.0], [0.25, -1.0, 0.75]])
    m = mapping.linear_pair(w, dev, CIRCUIT, bits=3)  # Q = 3; K = 8 levels, step 1 µS
    q = np.rint(w / m.report["step"]).astype(int)
    G = np.asarray(m.crossbar.G)
    idx = np.rint(np.abs(q) * 7 / 3).astype(int)
    lv = dev.levels.values
    gp = np.where(q > 0, lv[idx], lv[0])
    gm = np.where(q < 0, lv[idx], lv[0])
    np.testing.assert_array_equal(G[:, 0::2], gp.T)
    np.testing.assert_array_equal(G[:, 1::2], gm.T)
    assert m.crossbar.layout.readout.toarray()[:, 0].tolist() == [1, -1, 0, 0]


def test_exact_on_uniform_levels_when_indices_divide():
    dev = devices.load("ideal")  # 64 levels: K - 1 = 63 = 9 * Q for 4 bits (Q = 7)
    w = np.random.default_rng(0).normal(size=(10, 30))
    m = mapping.linear_pair(w, dev, CIRCUIT, bits=4)
    qz = mapping.quantize(w, 4)
    np.testing.assert_allclose(m.nominal_weight, qz.values(), rtol=1e-12, atol=1e-15)
    assert m.report["nominal_weight_rmse"] == pytest.approx(m.report["quantization_rmse"])
    assert m.g_per_weight == pytest.approx((1e-4 - 1e-6) / (7 * qz.step))
    # with an ideal virtual ground the reads are undistorted: effective = nominal
    ideal = mapping.linear_pair(w, dev, Circuit(0.2, 1e-4, 0.0), bits=4)
    np.testing.assert_allclose(
        ideal.effective_weight, ideal.nominal_weight, rtol=1e-12, atol=1e-15
    )
    # with R_N > 0 each column reads with gain 1 / (1 + R_N g_col): the floor no longer cancels
    loaded = mapping.linear_pair(w, dev, Circuit(0.2, 1e-4, 1e3), bits=4)
    assert loaded.report["weight_rmse"] > 2 * loaded.report["nominal_weight_rmse"]


def test_effective_weights_are_single_row_reads():
    dev = devices.load("sinh_mild")
    w = np.random.default_rng(4).normal(size=(3, 5))
    m = mapping.linear_pair(w, dev, CIRCUIT, bits=4)
    x = m.crossbar
    for i in range(5):
        one = np.zeros(x.n_rows, dtype=bool)
        one[i] = True
        out = x.read(one).output()[0] / (x.circuit.v_read * m.g_per_weight)
        np.testing.assert_allclose(m.effective_weight[:, i], out, rtol=1e-9)


def test_calibration_undoes_the_column_gain():
    dev = devices.load("ideal")
    w = np.random.default_rng(5).normal(size=(6, 40))
    cal = mapping.linear_pair(w, dev, Circuit(0.2, 1e-4, 500.0), bits=4, calibrate=True)
    np.testing.assert_allclose(cal.effective_weight, cal.nominal_weight, rtol=1e-10, atol=1e-12)
    assert cal.report["calibrated"]


def test_index_mapping_fails_on_nonlinear_levels():
    """Paper 4's point: on a potentiation curve, index mapping distorts the weights."""
    w = np.random.default_rng(1).normal(size=(20, 40))
    uniform = devices.Device(
        "u", devices.Linear(), devices.UniformLevels(3.0769e-9, 3.8462e-8, 97), source="t"
    )
    real = devices.load("neurosim_realdevice")
    err_u = mapping.linear_pair(w, uniform, CIRCUIT, bits=4).report["weight_rmse"]
    err_r = mapping.linear_pair(w, real, CIRCUIT, bits=4).report["weight_rmse"]
    assert err_r > 3 * err_u


def test_bias_row_and_duty():
    dev = devices.load("ideal")
    w = np.random.default_rng(2).normal(size=(4, 6))
    b = np.array([0.5, -0.5, 0.0, 2.0])
    m = mapping.linear_pair(w, dev, CIRCUIT, bits=5, bias=b, bias_duty=0.5)
    assert m.crossbar.layout.row_input[-1] == ALWAYS_ON
    assert m.crossbar.shape == (7, 8)
    # the always-on row carries duty × bias, so its effective bias (per unit duty) is b
    np.testing.assert_allclose(m.effective_bias, b, atol=m.report["step"] / 0.5)


def test_sparse_layer_and_variation():
    dev = devices.load("ideal")
    noisy = devices.Device(
        "n", dev.read_model, dev.levels, devices.Variation(programming_sigma=0.05), source="t"
    )
    w = sp.random(30, 50, density=0.2, random_state=3, format="csr")
    m = mapping.linear_pair(w, noisy, CIRCUIT, bits=4, seed=7)
    assert m.crossbar.is_sparse
    assert m.crossbar.G.nnz == 2 * w.nnz
    again = mapping.linear_pair(w, noisy, CIRCUIT, bits=4, seed=7)
    np.testing.assert_array_equal(m.crossbar.G.data, again.crossbar.G.data)
    clean = mapping.linear_pair(w, dev, CIRCUIT, bits=4)
    assert not np.allclose(m.crossbar.G.data, clean.crossbar.G.data)
    with pytest.raises(SnnRramError, match="seed: device 'n' has programming variation"):
        mapping.linear_pair(w, noisy, CIRCUIT, bits=4)


def test_registry(monkeypatch):
    # the method registered here must not outlive the test (other tests loop over available())
    monkeypatch.setattr(mapping.registry, "_METHODS", dict(mapping.registry._METHODS))
    assert mapping.get("linear_pair") is mapping.linear_pair
    assert "linear_pair" in mapping.available()
    with pytest.raises(SnnRramError, match="unknown method 'nope'; available: .*linear_pair"):
        mapping.get("nope")

    @mapping.register("test_method")
    def method(weight, device, circuit, **kw):
        return None

    assert mapping.get("test_method") is method
    with pytest.raises(SnnRramError, match="already registered"):
        mapping.register("test_method")(lambda: None)


def test_bad_weights():
    dev = devices.load("ideal")
    with pytest.raises(SnnRramError, match="weight: contains NaN"):
        mapping.linear_pair(np.array([[np.nan]]), dev, CIRCUIT, bits=4)
    with pytest.raises(SnnRramError, match="bias: expected shape"):
        mapping.linear_pair(np.ones((2, 3)), dev, CIRCUIT, bits=4, bias=np.ones(3))
    with pytest.raises(SnnRramError, match="bias_duty"):
        mapping.linear_pair(np.ones((2, 3)), dev, CIRCUIT, bits=4, bias_duty=2.0)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["ideal", "default", "neurosim_realdevice"]),
    st.integers(2, 6),
    st.integers(0, 2**31),
)
def test_conductances_on_the_level_set(card, bits, seed):
    dev = devices.load(card)
    w = np.random.default_rng(seed).normal(size=(6, 9))
    G = np.asarray(mapping.linear_pair(w, dev, CIRCUIT, bits=bits).crossbar.G)
    assert dev.levels.contains(G).all()
    assert G.min() >= dev.levels.g_min and G.max() <= dev.levels.g_max
