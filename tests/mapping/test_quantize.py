import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from snn_rram import SnnRramError
from snn_rram.mapping import quantize


def test_levels_and_reconstruction():
    w = np.array([[-1.0, -0.5, 0.0, 0.26, 0.5, 1.0]])
    qz = quantize(w, 3)  # Q = 3
    assert qz.n_levels == 3
    assert set(np.unique(qz.q)) <= set(range(-3, 4))
    assert qz.q.dtype.kind == "i"
    assert qz.mse == pytest.approx(np.mean((w - qz.values()) ** 2))


def test_least_squares_step_beats_max_abs(rng):
    w = rng.standard_t(df=3, size=(200, 100))  # heavy tails: outliers set max|w|
    for bits in (2, 3, 4, 5):
        qz = quantize(w, bits)
        Q = qz.n_levels
        step_max = np.abs(w).max() / Q
        mse_max = np.mean((w - step_max * np.clip(np.round(w / step_max), -Q, Q)) ** 2)
        assert qz.mse < mse_max
        # and it is a (local) optimum of the squared error
        for f in (0.98, 1.02):
            s = qz.step * f
            mse = np.mean((w - s * np.clip(np.round(w / s), -Q, Q)) ** 2)
            assert qz.mse <= mse * (1 + 1e-12)


def test_sparse_stays_sparse():
    w = sp.random(50, 40, density=0.1, random_state=1, format="csr")
    qz = quantize(w, 4)
    assert sp.issparse(qz.q) and qz.q.nnz == w.nnz
    np.testing.assert_array_equal(qz.q.indices, w.tocsr().indices)


def test_all_zero_and_errors():
    assert quantize(np.zeros((2, 3)), 4).mse == 0.0
    with pytest.raises(SnnRramError, match="bits: expected an integer >= 2"):
        quantize(np.ones(3), 1)
    with pytest.raises(SnnRramError, match="NaN"):
        quantize(np.array([1.0, np.nan]), 4)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31))
def test_levels_within_range(bits, seed):
    w = np.random.default_rng(seed).normal(size=(20, 10))
    qz = quantize(w, bits)
    assert np.abs(qz.q).max() <= 2 ** (bits - 1) - 1
    assert qz.step > 0
