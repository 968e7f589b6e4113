"""Symmetric uniform quantisation of a layer's weights with a least-squares step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar

from snn_rram.errors import SnnRramError

__all__ = ["Quantized", "quantize"]


@dataclass(frozen=True, eq=False)
class Quantized:
    """Weights as integers ``q`` in ``−Q … Q`` times a step: ``w ≈ step · q``.

    Attributes
    ----------
    q : numpy.ndarray of int or scipy.sparse.csr_matrix
        Integer levels, the layout of the weights (sparse stays sparse).
    step : float
        Weight per level.
    n_levels : int
        ``Q``: the largest level magnitude, ``2**(bits − 1) − 1``.
    mse : float
        Mean squared error ``mean((w − step·q)²)`` over the stored weights.
    """

    q: np.ndarray | sp.csr_matrix
    step: float
    n_levels: int
    mse: float

    def values(self) -> np.ndarray | sp.csr_matrix:
        """``step · q``, the quantised weights."""
        return self.q * self.step


def _data(w):
    return w.data if sp.issparse(w) else np.asarray(w).ravel()


def quantize(weight, bits: int) -> Quantized:
    """Quantise ``weight`` to ``2·Q + 1`` symmetric levels, ``Q = 2**(bits−1) − 1``.

    The step minimises the total squared error ``Σ (w − step·clip(round(w/step), −Q, Q))²``
    (a few outliers do not set it, unlike max-abs scaling): a coarse scan between 2 % and 100 %
    of ``max|w| / Q``, refined by bounded scalar minimisation around the best candidate.

    Parameters
    ----------
    weight : array_like or scipy.sparse matrix
        The layer's weights (zeros of a sparse matrix stay absent).
    bits : int
        Bits per weight including the sign, >= 2.

    Returns
    -------
    Quantized

    Examples
    --------
    >>> import numpy as np
    >>> from snn_rram.mapping import quantize
    >>> qz = quantize(np.array([0.5, -0.25, 0.1, 1.0]), bits=3)  # Q = 3: levels −3 … 3
    >>> qz.q, qz.n_levels
    (array([ 2, -1,  0,  3]), 3)
    """
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or bits < 2:
        raise SnnRramError(f"bits: expected an integer >= 2, got {bits!r}")
    w = (
        sp.csr_matrix(weight, dtype=np.float64)
        if sp.issparse(weight)
        else np.asarray(weight, dtype=np.float64)
    )
    d = _data(w)
    if not np.isfinite(d).all():
        raise SnnRramError("weight: contains NaN or infinite values")
    Q = 2 ** (int(bits) - 1) - 1
    top = float(np.abs(d).max(initial=0.0))
    if top == 0.0:
        q = w.copy() if sp.issparse(w) else np.zeros(w.shape, dtype=np.int64)
        return Quantized(q, 1.0, Q, 0.0)

    def sse(step):
        r = np.clip(np.round(d / step), -Q, Q)
        return float(np.sum((d - step * r) ** 2))

    grid = top / Q * np.geomspace(0.02, 1.0, 96)
    errors = np.array([sse(s) for s in grid])
    k = int(np.argmin(errors))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    best = minimize_scalar(sse, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12 * hi})
    step = float(best.x) if best.fun <= errors[k] else float(grid[k])
    r = np.clip(np.round(d / step), -Q, Q)
    if sp.issparse(w):
        q = w.copy()
        q.data = r
    else:
        q = r.reshape(w.shape).astype(np.int64)
    return Quantized(q, step, Q, sse(step) / max(d.size, 1))
