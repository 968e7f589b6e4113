"""Programmable conductance levels: the finite set of conductances a device can be set to."""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from snn_rram._schema import build
from snn_rram._validation import as_array, as_scalar, one_of
from snn_rram.errors import SnnRramError, SnnRramWarning

__all__ = [
    "MAX_LEVELS",
    "Levels",
    "MeasuredLevels",
    "PotentiationLevels",
    "UniformLevels",
    "a_from_nonlinearity",
    "nonlinearity_from_a",
]


class Levels(ABC):
    """Base class: a sorted array of programmable conductances ``values`` (S)."""

    #: The levels, ascending, in S; every subclass also has ``n``, ``g_min`` and ``g_max``.
    values: np.ndarray
    n: int
    g_min: float
    g_max: float

    def nearest(self, G) -> np.ndarray:
        """Index of the level nearest to each conductance in ``G``."""
        G = np.asarray(G, dtype=np.float64)
        v = self.values
        k = np.clip(np.searchsorted(v, G), 1, v.size - 1)
        return np.where(np.abs(G - v[k - 1]) <= np.abs(v[k] - G), k - 1, k)

    def snap(self, G) -> np.ndarray:
        """The level nearest to each conductance in ``G``, in S."""
        return self.values[self.nearest(G)]

    def contains(self, G, rtol: float = 1e-12) -> np.ndarray:
        """True where ``G`` is one of the levels (to ``rtol``)."""
        G = np.asarray(G, dtype=np.float64)
        return np.abs(self.snap(G) - G) <= rtol * self.g_max

    @abstractmethod
    def to_dict(self) -> dict:
        """The levels as a TOML-ready table (inverse of :func:`from_dict`)."""


#: Most levels a device may have (a 16-bit level index; more is no physical device, and a card
#: asking for 10**12 levels would need terabytes).
MAX_LEVELS = 65536


def _freeze(x: np.ndarray, where: str) -> np.ndarray:
    """The levels, read-only, after checking that no two collapse onto one conductance."""
    step = np.diff(x)
    if np.any(step <= 0):
        k = int(np.argmax(step <= 0))
        raise SnnRramError(
            f"{where}: levels must be distinct, but levels {k} and {k + 1} collapse onto the "
            f"same conductance ({x[k]:.17g} S) in float64; use fewer levels or a wider range"
        )
    mean = (x[-1] - x[0]) / (x.size - 1)
    if step.min() < 1e-6 * mean:
        k = int(np.argmin(step))
        warnings.warn(
            f"{where}: levels {k} and {k + 1} differ by {step[k]:.3g} S, less than 1e-6 of the "
            f"mean step ({mean:.3g} S): they are indistinguishable in practice",
            SnnRramWarning,
            stacklevel=4,
        )
    x.setflags(write=False)
    return x


def _check_range(g_min, g_max, n, where):
    g_min = as_scalar(g_min, f"{where}.g_min", "siemens", nonnegative=True)
    g_max = as_scalar(g_max, f"{where}.g_max", "siemens", positive=True)
    if g_max <= g_min:
        raise SnnRramError(f"{where}: g_max ({g_max:g} S) must exceed g_min ({g_min:g} S)")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= MAX_LEVELS:
        raise SnnRramError(f"{where}.n: expected an integer from 2 to {MAX_LEVELS}, got {n!r}")
    return g_min, g_max, int(n)


@dataclass(frozen=True, eq=False)
class UniformLevels(Levels):
    """``n`` equally spaced conductances from ``g_min`` to ``g_max`` (S)."""

    g_min: float
    g_max: float
    n: int
    values: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        g_min, g_max, n = _check_range(self.g_min, self.g_max, self.n, "UniformLevels")
        object.__setattr__(self, "g_min", g_min)
        object.__setattr__(self, "g_max", g_max)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "values", _freeze(np.linspace(g_min, g_max, n), "UniformLevels"))

    def to_dict(self) -> dict:  # noqa: D102
        return {"kind": "uniform", "g_min": self.g_min, "g_max": self.g_max, "n": self.n}


# NeuroSim labels the nonlinearity of a potentiation curve by a number NL (its GetParamA lookup
# table maps NL to A). That table is reproduced, to its printed precision, by the definition:
# the normalised curve g(p) = (1 − e^(−p/A)) / (1 − e^(−1/A)), p in [0, 1], deviates from the
# straight line by at most 0.07·√2·NL.
_NL_DEVIATION = 0.07 * math.sqrt(2.0)


def _max_deviation(a: float) -> float:
    """Max over p in [0, 1] of g(p) − p for the normalised curve of parameter ``a``."""
    c = -math.expm1(-1.0 / a)  # 1 − e^(−1/a)
    p_star = -a * math.log(a * c)  # where g'(p) = 1
    return -math.expm1(-p_star / a) / c - p_star


def a_from_nonlinearity(nonlinearity: float) -> float:
    """Normalised curve parameter A for a NeuroSim nonlinearity label.

    Parameters
    ----------
    nonlinearity : float
        NeuroSim's label NL, in (0, 10); larger is more nonlinear.

    Returns
    -------
    float
        A for pulses normalised to [0, 1]; multiply by ``n − 1`` for A in pulses.
    """
    nl = as_scalar(nonlinearity, "nonlinearity", positive=True)
    target = _NL_DEVIATION * nl
    if target >= 0.999:
        raise SnnRramError(f"nonlinearity: must be below {0.999 / _NL_DEVIATION:.3f}, got {nl}")
    lo, hi = math.log(1e-4), math.log(1e9)
    if target <= _max_deviation(math.exp(hi)):
        # nearly linear: g(p) ≈ p + p(1 − p)/(2A), whose largest deviation is 1/(8A); exact to
        # a relative 1e-9 here, where the bracket of the root search ends
        return 1.0 / (8.0 * target)
    return math.exp(brentq(lambda x: _max_deviation(math.exp(x)) - target, lo, hi, xtol=1e-14))


def nonlinearity_from_a(a: float) -> float:
    """NeuroSim nonlinearity label of a normalised curve parameter A (inverse of the above)."""
    return _max_deviation(as_scalar(a, "A", positive=True)) / _NL_DEVIATION


@dataclass(frozen=True, eq=False)
class PotentiationLevels(Levels):
    """Levels along a nonlinear potentiation curve, ``G(p) = B(1 − e^(−p/A)) + g_min``.

    Parameters
    ----------
    g_min, g_max : float
        Conductance before the first pulse and after the last, in S.
    n : int
        Number of levels, reached by pulses ``p = 0 … n − 1``.
    nonlinearity : float
        NeuroSim's nonlinearity label (0 gives uniform levels). ``A`` (in pulses) follows from
        it (see :func:`a_from_nonlinearity`) and ``B`` from ``G(n − 1) = g_max``.
    """

    g_min: float
    g_max: float
    n: int
    nonlinearity: float
    A: float = field(init=False)
    B: float = field(init=False)
    values: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        g_min, g_max, n = _check_range(self.g_min, self.g_max, self.n, "PotentiationLevels")
        nl = as_scalar(self.nonlinearity, "PotentiationLevels.nonlinearity", nonnegative=True)
        p = np.arange(n, dtype=np.float64)
        if nl == 0:
            A, B = math.inf, g_max - g_min
            values = g_min + (g_max - g_min) * p / (n - 1)
        else:
            A = a_from_nonlinearity(nl) * (n - 1)
            B = (g_max - g_min) / -math.expm1(-(n - 1) / A)
            values = B * -np.expm1(-p / A) + g_min
            values[-1] = g_max
        for name, value in (("g_min", g_min), ("g_max", g_max), ("n", n), ("nonlinearity", nl)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "B", B)
        object.__setattr__(self, "values", _freeze(values, "PotentiationLevels"))

    def conductance(self, pulses) -> np.ndarray:
        """Conductance after ``pulses`` potentiation pulses from ``g_min``, in S."""
        p = np.asarray(pulses, dtype=np.float64)
        if math.isinf(self.A):
            return self.g_min + self.B * p / (self.n - 1)
        return self.B * -np.expm1(-p / self.A) + self.g_min

    def to_dict(self) -> dict:  # noqa: D102
        return {
            "kind": "potentiation",
            "g_min": self.g_min,
            "g_max": self.g_max,
            "n": self.n,
            "nonlinearity": self.nonlinearity,
        }


@dataclass(frozen=True, eq=False)
class MeasuredLevels(Levels):
    """Levels measured on a device, in S (sorted on construction; duplicates rejected)."""

    values: np.ndarray

    def __post_init__(self):
        v = np.sort(
            as_array(self.values, "MeasuredLevels.values", "siemens", ndim=1, nonnegative=True)
        )
        if not 2 <= v.size <= MAX_LEVELS:
            raise SnnRramError(
                f"MeasuredLevels.values: expected 2 to {MAX_LEVELS} levels, got {v.size}"
            )
        object.__setattr__(self, "values", _freeze(v, "MeasuredLevels.values"))

    @property
    def n(self) -> int:
        """Number of levels."""
        return int(self.values.size)

    @property
    def g_min(self) -> float:
        """Lowest level (high-resistance state), in S."""
        return float(self.values[0])

    @property
    def g_max(self) -> float:
        """Highest level (low-resistance state), in S."""
        return float(self.values[-1])

    def to_dict(self) -> dict:  # noqa: D102
        return {"kind": "measured", "values": self.values.tolist()}


def from_dict(table: dict, where: str = "levels") -> Levels:
    """Build levels from a TOML table, e.g. ``{"kind": "uniform", "g_min": …, "n": 16}``."""
    if not isinstance(table, dict):
        raise SnnRramError(f"{where}: expected a table, got {table!r}")
    table = dict(table)
    kind = table.pop("kind", None)
    one_of(kind, f"{where}.kind", tuple(LEVEL_KINDS))
    return build(LEVEL_KINDS[kind], table, where)


#: The level kinds a device card names (``[levels] kind = "uniform"``).
LEVEL_KINDS = {
    "uniform": UniformLevels,
    "potentiation": PotentiationLevels,
    "measured": MeasuredLevels,
}
