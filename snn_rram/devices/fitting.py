"""Fitting device models to measured data (scipy least squares)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, minimize_scalar

from snn_rram._validation import as_array, one_of
from snn_rram.devices.iv import Linear, Polynomial, ReadModel, Sinh
from snn_rram.devices.levels import PotentiationLevels, nonlinearity_from_a
from snn_rram.errors import SnnRramError

__all__ = ["IVFit", "LevelsFit", "fit_iv", "fit_levels"]


@dataclass(frozen=True, eq=False)
class IVFit:
    """Result of :func:`fit_iv`.

    Attributes
    ----------
    model : ReadModel
        The fitted read model.
    G : numpy.ndarray, shape (n_states,)
        Fitted programmed conductance of each measured curve, in S.
    r2 : float
        Coefficient of determination over all points.
    rms : float
        Root-mean-square error of the current, in A.
    """

    model: ReadModel
    G: np.ndarray
    r2: float
    rms: float


@dataclass(frozen=True, eq=False)
class LevelsFit:
    """Result of :func:`fit_levels`.

    Attributes
    ----------
    levels : PotentiationLevels
        Levels at pulses ``0 … max(pulses)`` along the fitted curve.
    A : float
        Curve constant, in pulses.
    B : float
        Curve amplitude, in S.
    g_min : float
        Conductance at pulse 0, in S.
    r2, rms : float
        Fit quality (rms in S).
    """

    levels: PotentiationLevels
    A: float
    B: float
    g_min: float
    r2: float
    rms: float


def _quality(y, yhat):
    res = y - yhat
    ss_tot = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum(res**2) / ss_tot if ss_tot > 0 else float(np.all(res == 0))
    return float(r2), float(np.sqrt(np.mean(res**2)))


def _ls_through_origin(basis, I, w):
    """Per-state weighted least squares ``I ≈ G · basis``; returns G (n_states,)."""
    return np.sum(w * basis * I, axis=1) / np.sum(w * basis * basis, axis=1)


def fit_iv(V, I, model: str = "sinh", *, degree: int | None = None) -> IVFit:
    """Fit a read model to measured I–V curves.

    Parameters
    ----------
    V : array_like, shape (n_points,)
        Voltages, in V.
    I : array_like, shape (n_points,) or (n_states, n_points)
        Measured currents of one or several programmed states, in A.
    model : {"sinh", "linear", "polynomial"}
        ``sinh`` fits one shared ``b`` and a conductance per state; ``polynomial`` fits
        ``G, a2, a3`` per state, then ``a2`` and ``a3`` as polynomials of ``log10 G``.
    degree : int, optional
        Degree of those polynomials (``polynomial`` only); default ``min(2, n_states − 1)``.

    Returns
    -------
    IVFit
        The model, the per-state conductances and the fit quality.

    Notes
    -----
    Each state's residuals are weighted by the inverse of its largest current, so that
    high-resistance states count as much as low-resistance ones.
    """
    one_of(model, "model", ("sinh", "linear", "polynomial"))
    V = as_array(V, "V", "volt", ndim=1)
    I = as_array(I, "I", "amp", ndim=(1, 2))
    I2 = np.atleast_2d(I)
    if I2.shape[1] != V.size:
        raise SnnRramError(f"I: expected {V.size} points per curve (len(V)), got {I2.shape[1]}")
    if V.size < 3 or not np.any(V != 0):
        raise SnnRramError("V: needs at least three points, not all at 0 V")
    w = 1.0 / np.maximum(np.abs(I2).max(axis=1, keepdims=True), np.finfo(float).tiny) ** 2

    if model == "linear":
        G = _ls_through_origin(V[None, :], I2, w)
        fitted: ReadModel = Linear()
    elif model == "sinh":

        def profile(log_b):
            f = np.sinh(np.exp(log_b) * V) / np.exp(log_b)
            G = _ls_through_origin(f[None, :], I2, w)
            return np.sum(w * (I2 - G[:, None] * f) ** 2)

        b0 = np.exp(
            minimize_scalar(
                profile,
                bounds=(np.log(1e-3), np.log(50.0)),
                method="bounded",
                options={"xatol": 1e-10},
            ).x
        )
        G0 = _ls_through_origin((np.sinh(b0 * V) / b0)[None, :], I2, w)
        if np.any(G0 <= 0):
            raise SnnRramError("I: a curve has a non-positive small-signal conductance")
        sw = np.sqrt(w)

        def residual(x):
            b, G = np.exp(x[0]), np.exp(x[1:])
            return (sw * (I2 - G[:, None] * np.sinh(b * V) / b)).ravel()

        sol = least_squares(
            residual, np.log(np.concatenate([[b0], G0])), xtol=1e-15, ftol=1e-15, gtol=1e-15
        )
        b, G = float(np.exp(sol.x[0])), np.exp(sol.x[1:])
        fitted = Sinh(b)
    else:
        basis = np.stack([V, V**2, V**3], axis=1)  # (n_points, 3)
        coef = np.linalg.lstsq(basis, I2.T, rcond=None)[0]  # (3, n_states)
        G = coef[0]
        if np.any(G <= 0):
            raise SnnRramError("I: a curve has a non-positive small-signal conductance")
        n = G.size
        deg = min(2, n - 1) if degree is None else degree
        if not isinstance(deg, int) or deg < 0 or deg > n - 1:
            raise SnnRramError(f"degree: expected an integer in 0..{n - 1}, got {degree!r}")
        # given x_k = log10 G_k the model is linear in (G_k, a2 coefficients, a3 coefficients):
        # one weighted least squares over every curve, repeated as the G_k (so x_k) settle
        sw = np.sqrt(w).ravel()
        for _ in range(20):
            powers = np.log10(G)[:, None] ** np.arange(deg + 1)[None, :]  # (n, deg + 1)
            A = np.zeros((n, V.size, n + 2 * (deg + 1)))
            A[np.arange(n), :, np.arange(n)] = V
            A[:, :, n : n + deg + 1] = powers[:, None, :] * (V**2)[None, :, None]
            A[:, :, n + deg + 1 :] = powers[:, None, :] * (V**3)[None, :, None]
            sol = np.linalg.lstsq(
                (A * sw[:, None, None]).reshape(n * V.size, -1),
                (I2 * sw[:, None]).ravel(),
                rcond=None,
            )[0]
            G_new = sol[:n]
            if np.any(G_new <= 0):
                raise SnnRramError("I: a curve has a non-positive small-signal conductance")
            converged = np.allclose(G_new, G, rtol=1e-13, atol=0)
            G = G_new
            if converged:
                break
        fitted = Polynomial(a2=sol[n : n + deg + 1], a3=sol[n + deg + 1 :])
    r2, rms = _quality(I2.ravel(), fitted.current(G[:, None], V[None, :]).ravel())
    return IVFit(model=fitted, G=np.asarray(G, dtype=np.float64), r2=r2, rms=rms)


def fit_levels(pulses, G) -> LevelsFit:
    """Fit a potentiation curve ``G(p) = B(1 − e^(−p/A)) + g_min`` to measured conductances.

    Parameters
    ----------
    pulses : array_like, shape (n,)
        Number of potentiation pulses applied before each measurement (0, 1, 2, …; repeats
        allowed, e.g. several cycles).
    G : array_like, shape (n,)
        Measured conductances, in S.

    Returns
    -------
    LevelsFit
        The curve parameters, the levels at pulses ``0 … max(pulses)`` and the fit quality.
    """
    p = as_array(pulses, "pulses", ndim=1, nonnegative=True)
    G = as_array(G, "G", "siemens", ndim=1, nonnegative=True)
    if p.size != G.size:
        raise SnnRramError(f"G: expected {p.size} values (one per pulse count), got {G.size}")
    if np.unique(p).size < 3:
        raise SnnRramError("pulses: needs at least three distinct pulse counts")
    span = p.max() - p.min()

    def linear_part(A):
        basis = np.stack([-np.expm1(-p / A), np.ones_like(p)], axis=1)
        coef = np.linalg.lstsq(basis, G, rcond=None)[0]
        return coef, basis @ coef

    def profile(log_a):
        return np.sum((G - linear_part(np.exp(log_a))[1]) ** 2)

    lo, hi = np.log(span * 1e-3), np.log(span * 1e4)
    log_a = minimize_scalar(profile, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).x
    (B, g_min), _ = linear_part(np.exp(log_a))

    def residual(x):
        return (G - (x[1] * -np.expm1(-p / np.exp(x[0])) + x[2])) / G.max()

    sol = least_squares(residual, [log_a, B, g_min], xtol=1e-15, ftol=1e-15, gtol=1e-15)
    A, B, g_min = float(np.exp(sol.x[0])), float(sol.x[1]), float(sol.x[2])
    if B <= 0:
        raise SnnRramError("G: the data do not increase with pulses (B <= 0): not potentiation")
    n = round(p.max()) + 1
    g_max = B * -np.expm1(-(n - 1) / A) + g_min
    levels = PotentiationLevels(
        g_min=g_min, g_max=float(g_max), n=n, nonlinearity=nonlinearity_from_a(A / (n - 1))
    )
    r2, rms = _quality(G, B * -np.expm1(-p / A) + g_min)
    return LevelsFit(levels=levels, A=A, B=B, g_min=g_min, r2=r2, rms=rms)
