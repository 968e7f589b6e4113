"""Read models: the current through one cell of programmed conductance G at read voltage V.

Every model is vectorised over broadcastable arrays of G (siemens) and V (volts) and gives
``current(G, V)`` (amperes), ``dcurrent_dv(G, V)`` (siemens) and ``cocontent(G, V)``
(watts: the co-content ``∫₀^V I(G, v) dv``, whose sum over a circuit
is the convex function the nodal solver minimises).

Separable models write ``I = G · f(V)`` with ``f(0) = 0`` and ``f'(0) = 1``, so that G is the
small-signal conductance at zero bias; the array solvers use ``f``, ``f'`` and the power per
unit conductance ``p(V) = V · f(V)`` to work on column conductance sums instead of cells.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator

from snn_rram._schema import build
from snn_rram._validation import as_array, as_scalar, one_of
from snn_rram.errors import SnnRramError

__all__ = ["Linear", "Polynomial", "ReadModel", "Separable", "Sinh", "Tabulated"]


class ReadModel(ABC):
    """The I–V law of one cell, vectorised over arrays of conductance and voltage."""

    #: True for models of the form ``I = G · f(V)`` (see :class:`Separable`).
    separable: bool = False
    #: True when ``I(G, −V) = −I(G, V)`` for every G.
    odd: bool = False

    @abstractmethod
    def current(self, G, V) -> np.ndarray:
        """Current through the cell, in A.

        Parameters
        ----------
        G : array_like
            Programmed (small-signal) conductance, in S.
        V : array_like
            Voltage across the cell, in V; broadcast against ``G``.
        """

    @abstractmethod
    def dcurrent_dv(self, G, V) -> np.ndarray:
        """Differential conductance ``∂I/∂V``, in S."""

    @abstractmethod
    def cocontent(self, G, V) -> np.ndarray:
        """Co-content ``∫₀^V I(G, v) dv``, in W (A·V)."""

    @abstractmethod
    def to_dict(self) -> dict:
        """The model's parameters as a TOML-ready table (inverse of :func:`from_dict`)."""

    @abstractmethod
    def spice_current(self, g: float, v: str, const: Callable[[float], str]) -> str:
        """The cell current as an ngspice B-source expression.

        Parameters
        ----------
        g : float
            Programmed conductance of this cell, in S.
        v : str
            The voltage across the cell as a SPICE expression, e.g. ``"(V(r1)-V(c2))"``.
        const : callable
            Formats a float constant for the netlist at full precision.
        """

    def power(self, G, V) -> np.ndarray:
        """Power dissipated in the cell, ``I · V``, in W."""
        return self.current(G, V) * np.asarray(V, dtype=np.float64)

    def check_monotone(self, G, v_max: float, name: str = "device") -> None:
        """Raise :class:`SnnRramError` unless ``∂I/∂V > 0`` on ``[-v_max, v_max]`` for every G.

        The array solvers rely on it: a strictly increasing I–V makes the circuit's co-content
        strictly convex, so the operating point exists, is unique and Newton converges.
        """
        G = np.unique(np.asarray(G, dtype=np.float64).ravel())
        G = G[G > 0]
        if G.size == 0:
            return
        V = np.linspace(-v_max, v_max, 401)
        slope = self.dcurrent_dv(G[:, None], V[None, :])
        if not (slope > 0).all():
            gi, vi = np.argwhere(~(slope > 0))[0]
            raise SnnRramError(
                f"{name}: read model {self!r} is not increasing in V at G={G[gi]:.4g} S, "
                f"V={V[vi]:.4g} V (dI/dV={slope[gi, vi]:.4g} S); the array solver needs a "
                f"strictly increasing I–V over ±{v_max:g} V"
            )


class Separable(ReadModel):
    """A read model ``I = G · f(V)`` with ``f(0) = 0`` and ``f'(0) = 1``."""

    separable = True

    @abstractmethod
    def f(self, V) -> np.ndarray:
        """Current per unit conductance, ``f(V)``, in V."""

    @abstractmethod
    def df(self, V) -> np.ndarray:
        """``f'(V)``, dimensionless."""

    @abstractmethod
    def F(self, V) -> np.ndarray:
        """Co-content per unit conductance ``∫₀^V f``, in V²."""

    def p(self, V) -> np.ndarray:
        """Power per unit conductance ``V · f(V)``, in V²."""
        V = np.asarray(V, dtype=np.float64)
        return V * self.f(V)

    def current(self, G, V) -> np.ndarray:  # noqa: D102
        return np.asarray(G, dtype=np.float64) * self.f(V)

    def dcurrent_dv(self, G, V) -> np.ndarray:  # noqa: D102
        return np.asarray(G, dtype=np.float64) * self.df(V)

    def cocontent(self, G, V) -> np.ndarray:  # noqa: D102
        return np.asarray(G, dtype=np.float64) * self.F(V)

    def check_monotone(self, G, v_max: float, name: str = "device") -> None:  # noqa: D102
        return  # f' > 0 everywhere for every separable model here


@dataclass(frozen=True)
class Linear(Separable):
    """An ohmic cell, ``I = G · V``."""

    odd = True

    def f(self, V) -> np.ndarray:  # noqa: D102
        return np.asarray(V, dtype=np.float64).copy()

    def df(self, V) -> np.ndarray:  # noqa: D102
        return np.ones_like(np.asarray(V, dtype=np.float64))

    def F(self, V) -> np.ndarray:  # noqa: D102
        V = np.asarray(V, dtype=np.float64)
        return 0.5 * V * V

    def to_dict(self) -> dict:  # noqa: D102
        return {"model": "linear"}

    def spice_current(self, g, v, const) -> str:  # noqa: D102
        return f"{const(g)}*{v}"


@dataclass(frozen=True)
class Sinh(Separable):
    """A cell with a sinh I–V, ``I = (G / b) · sinh(b · V)``.

    Parameters
    ----------
    b : float
        Nonlinearity, in 1/V; the small-signal conductance at zero bias is G, and at ``V`` the
        chord conductance is ``G · sinh(bV) / (bV)``.
    """

    b: float
    odd = True

    def __post_init__(self):
        object.__setattr__(self, "b", as_scalar(self.b, "Sinh.b", positive=True))

    def f(self, V) -> np.ndarray:  # noqa: D102
        return np.sinh(self.b * np.asarray(V, dtype=np.float64)) / self.b

    def df(self, V) -> np.ndarray:  # noqa: D102
        return np.cosh(self.b * np.asarray(V, dtype=np.float64))

    def F(self, V) -> np.ndarray:  # noqa: D102
        # (cosh(bV) − 1) / b², written without the cancellation near V = 0
        s = np.sinh(0.5 * self.b * np.asarray(V, dtype=np.float64))
        return 2.0 * s * s / (self.b * self.b)

    def to_dict(self) -> dict:  # noqa: D102
        return {"model": "sinh", "b": self.b}

    def spice_current(self, g, v, const) -> str:  # noqa: D102
        return f"{const(g / self.b)}*sinh({const(self.b)}*{v})"


def _poly_log10(coeffs: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Evaluate ``Σ c_k (log10 G)^k``, with 0 where G = 0 (no device)."""
    with np.errstate(divide="ignore"):
        x = np.log10(np.where(G > 0, G, 1.0))
    return np.polynomial.polynomial.polyval(x, coeffs) * (G > 0)


@dataclass(frozen=True, eq=False)
class Polynomial(ReadModel):
    """A cubic I–V, ``I = G·V + a2(G)·V² + a3(G)·V³``.

    Parameters
    ----------
    a2 : sequence of float
        Coefficients ``c_k`` of ``a2(G) = Σ c_k · (log10 G)^k``, in A/V² (ascending powers).
    a3 : sequence of float
        Coefficients of ``a3(G)`` likewise, in A/V³.

    Notes
    -----
    The model is not odd when ``a2 ≠ 0`` (rectification), so cells on grounded rows, which see
    the column voltage with reversed sign, carry a different current magnitude than active ones.
    """

    a2: Sequence[float] = (0.0,)
    a3: Sequence[float] = (0.0,)

    def __post_init__(self):
        for name in ("a2", "a3"):
            c = as_array(getattr(self, name), f"Polynomial.{name}", ndim=1)
            if c.size == 0:
                raise SnnRramError(f"Polynomial.{name}: needs at least one coefficient")
            c.setflags(write=False)
            object.__setattr__(self, name, c)

    @property
    def odd(self) -> bool:  # noqa: D102
        return not np.any(self.a2)

    def _coeffs(self, G):
        G = np.asarray(G, dtype=np.float64)
        return G, _poly_log10(self.a2, G), _poly_log10(self.a3, G)

    def current(self, G, V) -> np.ndarray:  # noqa: D102
        G, a2, a3 = self._coeffs(G)
        V = np.asarray(V, dtype=np.float64)
        return V * (G + V * (a2 + V * a3))

    def dcurrent_dv(self, G, V) -> np.ndarray:  # noqa: D102
        G, a2, a3 = self._coeffs(G)
        V = np.asarray(V, dtype=np.float64)
        return G + V * (2.0 * a2 + 3.0 * a3 * V)

    def cocontent(self, G, V) -> np.ndarray:  # noqa: D102
        G, a2, a3 = self._coeffs(G)
        V = np.asarray(V, dtype=np.float64)
        return V * V * (0.5 * G + V * (a2 / 3.0 + 0.25 * a3 * V))

    def check_monotone(self, G, v_max: float, name: str = "device") -> None:  # noqa: D102
        # dI/dV is a quadratic in V: its minimum on the interval is at an end or at the vertex
        G, a2, a3 = self._coeffs(np.unique(np.asarray(G, dtype=np.float64).ravel()))
        keep = G > 0
        G, a2, a3 = G[keep], a2[keep], a3[keep]
        candidates = [np.full_like(G, -v_max), np.full_like(G, v_max)]
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = np.where(a3 != 0, -a2 / (3.0 * a3), 0.0)
        candidates.append(np.clip(vertex, -v_max, v_max))
        for V in candidates:
            slope = G + V * (2.0 * a2 + 3.0 * a3 * V)
            if (slope <= 0).any():
                i = int(np.argmax(slope <= 0))
                raise SnnRramError(
                    f"{name}: Polynomial read model is not increasing in V at G={G[i]:.4g} S, "
                    f"V={V[i]:.4g} V (dI/dV={slope[i]:.4g} S); the array solver needs a "
                    f"strictly increasing I–V over ±{v_max:g} V"
                )

    def to_dict(self) -> dict:  # noqa: D102
        return {"model": "polynomial", "a2": self.a2.tolist(), "a3": self.a3.tolist()}

    def spice_current(self, g, v, const) -> str:  # noqa: D102
        _, a2, a3 = self._coeffs(np.array(g))
        return f"({const(g)}*{v}+{const(float(a2))}*{v}*{v}+{const(float(a3))}*{v}*{v}*{v})"


@dataclass(frozen=True, eq=False)
class Tabulated(ReadModel):
    """Measured I–V curves of a set of programmed states, interpolated.

    Parameters
    ----------
    G_states : array_like, shape (n_states,)
        Programmed (small-signal) conductance of each measured state, in S, strictly increasing.
    V : array_like, shape (n_points,)
        Common voltage grid of the measurements, in V, strictly increasing. If it holds no
        negative voltage, the curves are extended to negative V by odd symmetry. If it does not
        contain 0, the point (0 V, 0 A) is added.
    I : array_like, shape (n_states, n_points)
        Measured currents, in A; each curve must be strictly increasing in V (an error
        otherwise) and pass through zero at V = 0.

    Notes
    -----
    Along V each state is interpolated by a monotone cubic (PCHIP, so monotone data stay
    monotone) and extrapolated linearly with the end slope. Between states the normalised shape
    ``I_k(V) / G_k`` is interpolated linearly in ``log G`` and scaled by G, so that
    ``I(G_k, V) = I_k(V)`` exactly; outside the measured states the nearest shape is scaled.
    """

    G_states: np.ndarray
    V: np.ndarray
    I: np.ndarray
    _knots: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        G = as_array(self.G_states, "Tabulated.G_states", "siemens", ndim=1, positive=True)
        V = as_array(self.V, "Tabulated.V", "volt", ndim=1)
        I = as_array(self.I, "Tabulated.I", "amp", shape=(G.size, V.size))
        if G.size == 0 or V.size < 2:
            raise SnnRramError("Tabulated: needs at least one state and two voltages")
        if np.any(np.diff(G) <= 0):
            raise SnnRramError("Tabulated.G_states: must be strictly increasing")
        if np.any(np.diff(V) <= 0):
            raise SnnRramError("Tabulated.V: must be strictly increasing")
        zero = np.flatnonzero(V == 0)
        if zero.size:
            scale = np.abs(I).max(axis=1)
            if np.any(np.abs(I[:, zero[0]]) > 1e-9 * scale):
                raise SnnRramError("Tabulated.I: every curve must be 0 A at V = 0 V")
            I = I.copy()
            I[:, zero[0]] = 0.0
        else:
            k = np.searchsorted(V, 0.0)
            V = np.insert(V, k, 0.0)
            I = np.insert(I, k, 0.0, axis=1)
        if V[0] >= 0:  # odd extension to negative voltages
            V = np.concatenate([-V[:0:-1], V])
            I = np.concatenate([-I[:, :0:-1], I], axis=1)
        bad = np.argwhere(np.diff(I, axis=1) <= 0)
        if bad.size:
            s, m = bad[0]
            raise SnnRramError(
                f"Tabulated.I: state {s} (G={G[s]:.4g} S) is not strictly increasing in V "
                f"between {V[m]:.4g} V and {V[m + 1]:.4g} V; measured I–V data must be monotone"
            )
        shape = I / G[:, None]
        slope = np.stack([PchipInterpolator(V, row).derivative()(V) for row in shape])
        # cumulative integral of each Hermite cubic at the knots, for the co-content
        h = np.diff(V)
        seg = h * (shape[:, :-1] + shape[:, 1:]) / 2 + h * h * (slope[:, :-1] - slope[:, 1:]) / 12
        cum = np.concatenate([np.zeros((G.size, 1)), np.cumsum(seg, axis=1)], axis=1)
        cum -= cum[:, [np.searchsorted(V, 0.0)]]
        for name, value in (("G_states", G), ("V", V), ("I", I)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_knots", (np.log(G), shape, slope, cum))

    def _state_weights(self, G):
        logG, *_ = self._knots
        with np.errstate(divide="ignore"):
            x = np.log(np.where(G > 0, G, self.G_states[0]))
        k = np.clip(np.searchsorted(logG, x) - 1, 0, max(logG.size - 2, 0))
        if logG.size == 1:
            return k, k, np.zeros_like(x)
        t = np.clip((x - logG[k]) / (logG[k + 1] - logG[k]), 0.0, 1.0)
        return k, k + 1, t

    def _shape(self, k, V, what):
        """Evaluate state k's normalised curve (what = 0: value, 1: slope, 2: integral)."""
        _, y, d, cum = self._knots
        Vg = self.V
        m = np.clip(np.searchsorted(Vg, V) - 1, 0, Vg.size - 2)
        x0, h = Vg[m], Vg[m + 1] - Vg[m]
        s = np.clip((V - x0) / h, 0.0, 1.0)
        y0, y1, d0, d1 = y[k, m], y[k, m + 1], d[k, m], d[k, m + 1]
        if what == 0:
            h00, h10 = (1 + 2 * s) * (1 - s) ** 2, s * (1 - s) ** 2
            h01, h11 = s * s * (3 - 2 * s), s * s * (s - 1)
            val = h00 * y0 + h10 * h * d0 + h01 * y1 + h11 * h * d1
            # linear extrapolation with the end slope
            lo, hi = V < Vg[0], V > Vg[-1]
            val = np.where(lo, y[k, 0] + d[k, 0] * (V - Vg[0]), val)
            return np.where(hi, y[k, -1] + d[k, -1] * (V - Vg[-1]), val)
        if what == 1:
            dh00, dh10 = 6 * s * (s - 1), (1 - s) * (1 - 3 * s)
            dh01, dh11 = -6 * s * (s - 1), s * (3 * s - 2)
            val = (dh00 * y0 + dh01 * y1) / h + dh10 * d0 + dh11 * d1
            val = np.where(V < Vg[0], d[k, 0], val)
            return np.where(V > Vg[-1], d[k, -1], val)
        # integral from the knot x0 to V of the Hermite cubic, plus the cumulative part
        i00 = s - s**3 + s**4 / 2
        i10 = s * s / 2 - 2 * s**3 / 3 + s**4 / 4
        i01 = s**3 - s**4 / 2
        i11 = s**4 / 4 - s**3 / 3
        part = h * (i00 * y0 + i01 * y1 + h * (i10 * d0 + i11 * d1))
        val = cum[k, m] + part
        lo, hi = V < Vg[0], V > Vg[-1]
        dv_lo, dv_hi = V - Vg[0], V - Vg[-1]
        val = np.where(lo, cum[k, 0] + y[k, 0] * dv_lo + d[k, 0] * dv_lo**2 / 2, val)
        val = np.where(hi, cum[k, -1] + y[k, -1] * dv_hi + d[k, -1] * dv_hi**2 / 2, val)
        return val

    def _eval(self, G, V, what):
        G, V = np.broadcast_arrays(np.asarray(G, np.float64), np.asarray(V, np.float64))
        k0, k1, t = self._state_weights(G)
        value = (1 - t) * self._shape(k0, V, what) + t * self._shape(k1, V, what)
        return G * value

    def current(self, G, V) -> np.ndarray:  # noqa: D102
        return self._eval(G, V, 0)

    def dcurrent_dv(self, G, V) -> np.ndarray:  # noqa: D102
        return self._eval(G, V, 1)

    def cocontent(self, G, V) -> np.ndarray:  # noqa: D102
        return self._eval(G, V, 2)

    @property
    def odd(self) -> bool:  # noqa: D102
        return bool(np.allclose(self.I, -self.I[:, ::-1], rtol=0, atol=0))

    def check_monotone(self, G, v_max: float, name: str = "device") -> None:  # noqa: D102
        return  # monotone by construction: PCHIP keeps monotone data monotone

    def to_dict(self) -> dict:  # noqa: D102
        return {
            "model": "tabulated",
            "G_states": self.G_states.tolist(),
            "V": self.V.tolist(),
            "I": self.I.tolist(),
        }

    def spice_current(self, g, v, const) -> str:  # noqa: D102
        raise SnnRramError(
            "to_spice: a Tabulated read model has no exact SPICE equivalent (its PCHIP "
            "interpolation is not a SPICE function); fit a sinh or polynomial model with "
            "snn_rram.devices.fit_iv to export the circuit"
        )


def from_dict(table: dict, where: str = "read") -> ReadModel:
    """Build a read model from a TOML table such as ``{"model": "sinh", "b": 2.0}``.

    Parameters
    ----------
    table : dict
        The table; ``model`` is one of ``linear``, ``sinh``, ``polynomial``, ``tabulated``.
    where : str
        Name of the table, used in error messages.
    """
    if not isinstance(table, dict):
        raise SnnRramError(f"{where}: expected a table, got {table!r}")
    table = dict(table)
    kind = table.pop("model", None)
    one_of(kind, f"{where}.model", tuple(READ_MODELS))
    return build(READ_MODELS[kind], table, where)


#: The read models a device card names (``[read] model = "sinh"``).
READ_MODELS = {"linear": Linear, "sinh": Sinh, "polynomial": Polynomial, "tabulated": Tabulated}
