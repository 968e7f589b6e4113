"""Pulse programming: how identical set/reset pulses move a device's conductance.

The model is NeuroSim's (P.-Y. Chen, X. Peng, S. Yu, IEEE TCAD 37(12), 2018), the form
paper 3 (Choi et al., hybrid synapses; PAPERS.md §3) builds on:

- Potentiation (LTP) follows ``G(p) = B(1 − e^(−p/A)) + g_min`` in the pulse coordinate
  ``p ∈ [0, n − 1]``, with ``G(n − 1) = g_max``; ``A`` comes from NeuroSim's nonlinearity label
  exactly as for :class:`~snn_rram.devices.levels.PotentiationLevels` (``A = a(NL)·(n − 1)``),
  so ``p`` pulses from ``g_min`` land on level ``p`` of ``PotentiationLevels(g_min, g_max, n,
  NL)``.
- Depression (LTD) has its own curve of the same form in its own pulse coordinate
  ``q ∈ [0, n_ltd − 1]``, label ``nl_ltd``; a depression pulse moves ``q`` down by one. As in
  NeuroSim the sign of the label chooses the shape: a **negative** label (NeuroSim's RealDevice
  has −4.88) gives ``A < 0``, a convex curve in ``q`` — the mirror of potentiation: the first
  depression pulses from ``g_max`` take big steps, those near ``g_min`` small ones. A positive
  label retraces a concave, potentiation-shaped curve; 0 is linear.
- A train of ``n`` pulses from conductance ``G`` is applied in closed form: the curve's inverse
  gives the effective pulse number ``p_eff(G)``, the device moves to ``G(p_eff + n)``, clipped
  to the curve's ends (saturation).
- Cycle-to-cycle noise: every pulse adds an independent normal error of standard deviation
  ``sigma_c2c · (g_max − g_min)``. A train of ``|n|`` pulses therefore adds their sum, a
  normal error of standard deviation ``sigma_c2c · (g_max − g_min) · √|n|``, after the train
  (NeuroSim's aggregation; ``mode="aggregate"``, the default), then clips to the range. A
  train that runs into a range end carries the error of its last pulse only (the pulses after
  the end re-clamp the device). This is exact in distribution for a linear curve that does not
  saturate inside the train; on a nonlinear curve each pulse's error would also
  shift the step of the pulses after it, and a train could touch a range end in the middle —
  ``mode="per_pulse"`` applies the pulses one at a time (a loop over the largest pulse count
  only, vectorised over devices) for whoever needs that.
- Device-to-device variation (:meth:`Programming.draw`): per device, ``g_min`` and ``g_max``
  scaled by ``1 + σ·ε`` and the nonlinearity labels shifted by ``σ_nl·ε`` (NeuroSim's
  ``sigmaDtoD`` acts on the label as well), ε standard normal, seeded.
- Area scaling (:meth:`Programming.scaled`, paper 3's big synapse): a device of γ times the
  area has conductances and steps γ times larger; its *relative* cycle-to-cycle noise shrinks
  as ``γ^(−noise_exponent)`` (0.5 by default: a γ-times larger device averages γ independent
  filament contributions). The exponent is our reading of the paper's "areal dependency of
  conductance precision" (a reconstruction), kept a parameter.

All functions are vectorised over devices; every random draw takes a seed or a generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from snn_rram._schema import build
from snn_rram._validation import as_array, as_rng, as_scalar, one_of
from snn_rram.devices.levels import (
    MAX_LEVELS,
    Levels,
    MeasuredLevels,
    PotentiationLevels,
    a_from_nonlinearity,
)
from snn_rram.errors import SnnRramError

__all__ = ["PULSE_MODES", "ProgrammedDevices", "Programming"]

#: How a train of pulses is applied (see the module docstring).
PULSE_MODES = ("aggregate", "per_pulse")

_NL_LIMIT = 10.0  # NeuroSim's labels run up to ~9; a_from_nonlinearity refuses ~10.1 and above
#: Labels smaller than this in magnitude are linear: the curve differs from the straight line by
#: less than 1e-9 of the range, and A would exceed the bracket of a_from_nonlinearity.
_NL_LINEAR = 1e-8


def _a_signed(nl: float, n_pulses: int) -> float:
    """``A`` in pulses for a signed label (inf for 0), the sign carried over."""
    if abs(nl) < _NL_LINEAR:
        return math.inf
    return math.copysign(a_from_nonlinearity(abs(nl)) * n_pulses, nl)


def _a_signed_array(nl: np.ndarray, n_pulses: int) -> np.ndarray:
    """Vectorised :func:`_a_signed`: bisection in log A on the closed-form deviation."""
    mag = np.abs(nl)
    target = 0.07 * math.sqrt(2.0) * mag
    lo = np.full(nl.shape, math.log(1e-4))
    hi = np.full(nl.shape, math.log(1e9))
    for _ in range(80):  # the bracket shrinks 2^80-fold: far below float64 resolution
        mid = 0.5 * (lo + hi)
        a = np.exp(mid)
        c = -np.expm1(-1.0 / a)
        p_star = -a * np.log(a * c)
        dev = -np.expm1(-p_star / a) / c - p_star
        big = dev > target  # too nonlinear: A must grow
        lo = np.where(big, mid, lo)
        hi = np.where(big, hi, mid)
    a = np.exp(0.5 * (lo + hi)) * n_pulses
    return np.where(mag < _NL_LINEAR, np.inf, np.copysign(a, nl))


def _curve(x, n_pulses, a):
    """Normalised curve ``(G − g_min)/(g_max − g_min)`` at pulse coordinate ``x``."""
    if np.ndim(a) == 0:  # one curve for all devices: in place, only the branch needed
        if math.isinf(a):
            return x / n_pulses
        t = np.divide(x, -a)  # divisions (not reciprocals): the curve's end is exactly 1
        t = np.expm1(t, out=t) if isinstance(t, np.ndarray) else np.expm1(t)
        t /= np.expm1(np.divide(n_pulses, -a))  # the same expm1 as the numerator
        return t
    u = x / n_pulses
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r = a / n_pulses
        nonlin = np.expm1(-u / r) / np.expm1(-1.0 / r)
    return np.where(np.isinf(a), u, nonlin)


def _inverse(f, n_pulses, a):
    """Pulse coordinate of the normalised conductance ``f`` (inverse of :func:`_curve`)."""
    if np.ndim(a) == 0:
        if math.isinf(a):
            return f * n_pulses
        t = np.multiply(f, np.expm1(np.divide(n_pulses, -a)))
        t = np.log1p(t, out=t) if isinstance(t, np.ndarray) else np.log1p(t)
        return t * -a
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r = a / n_pulses
        nonlin = -r * np.log1p(f * np.expm1(-1.0 / r))
    return np.where(np.isinf(a), f, nonlin) * n_pulses


@dataclass(frozen=True, eq=False)
class ProgrammedDevices:
    """Per-device programming parameters (arrays broadcastable to the devices' shape).

    Built by :meth:`Programming.draw` (device-to-device variation) or
    :meth:`Programming.nominal`; :meth:`apply_pulses` is the one implementation of a pulse
    train that :meth:`Programming.apply_pulses` also uses.
    """

    g_min: np.ndarray
    g_max: np.ndarray
    a_ltp: np.ndarray
    a_ltd: np.ndarray
    n: int
    n_ltd: int
    sigma: float  # absolute c2c σ per pulse as a fraction of each device's range

    def take(self, index) -> ProgrammedDevices:
        """The parameters of the devices at flat ``index`` (for updating a few devices only).

        Parameters of scalar shape (no device-to-device variation) are kept as they are.
        """
        pick = {}
        for name in ("g_min", "g_max", "a_ltp", "a_ltd"):
            x = getattr(self, name)
            pick[name] = x if x.ndim == 0 else x.reshape(-1)[index]
        return ProgrammedDevices(**pick, n=self.n, n_ltd=self.n_ltd, sigma=self.sigma)

    def pulses_ltp(self, G) -> np.ndarray:
        """Noise-free LTP pulse coordinate of conductance ``G`` (clipped to the range)."""
        f = np.clip(
            (np.asarray(G, dtype=np.float64) - self.g_min) / (self.g_max - self.g_min), 0, 1
        )
        return _inverse(f, self.n - 1, self.a_ltp)

    def pulses_to(self, G, target) -> np.ndarray:
        """Noise-free pulses (real-valued) that take conductance ``G`` to ``target``.

        The closed-form inverse of the curves: ``p_ltp(target) − p_ltp(G)`` (positive,
        potentiation) where ``target ≥ G``, else ``q_ltd(target) − q_ltd(G)`` (negative,
        depression), both ends clipped to the device's range. Rounding the result and applying
        it (:meth:`apply_pulses`, σ = 0) lands within half a pulse of ``target`` on the curve:
        within one local step. Used by the state-aware (read-before-write) update of
        :mod:`snn_rram.training.pair_array`.

        Parameters
        ----------
        G, target : array_like
            Present and wanted conductances, in S (broadcast with each other and the
            parameters).

        Returns
        -------
        numpy.ndarray
            Signed pulse numbers (float64).
        """
        span = self.g_max - self.g_min
        f0 = np.clip((np.asarray(G, dtype=np.float64) - self.g_min) / span, 0, 1)
        f1 = np.clip((np.asarray(target, dtype=np.float64) - self.g_min) / span, 0, 1)
        up = f1 >= f0
        out = []  # the curves of the directions present only
        if up.any():
            out.append(_inverse(f1, self.n - 1, self.a_ltp) - _inverse(f0, self.n - 1, self.a_ltp))
        if not up.all():
            N = self.n_ltd - 1
            out.append(_inverse(f1, N, self.a_ltd) - _inverse(f0, N, self.a_ltd))
        return out[0] if len(out) == 1 else np.where(up, *out)

    def conductance_ltp(self, p) -> np.ndarray:
        """Conductance at LTP pulse coordinate ``p`` (from ``g_min``), in S."""
        f = _curve(np.asarray(p, dtype=np.float64), self.n - 1, self.a_ltp)
        return self.g_min + (self.g_max - self.g_min) * f

    def conductance_ltd(self, q) -> np.ndarray:
        """Conductance at LTD pulse coordinate ``q`` (``q = n_ltd − 1`` is ``g_max``), in S."""
        f = _curve(np.asarray(q, dtype=np.float64), self.n_ltd - 1, self.a_ltd)
        return self.g_min + (self.g_max - self.g_min) * f

    def apply_pulses(self, G, n, rng, mode: str = "aggregate") -> np.ndarray:
        """Conductances after signed pulse trains ``n`` (positive: potentiation) from ``G``.

        Parameters
        ----------
        G : array_like
            Present conductances, in S (any shape; broadcast with ``n`` and the parameters).
            Values outside a device's range are taken at the nearer end.
        n : array_like of int
            Pulses per device: ``n > 0`` potentiation, ``n < 0`` depression, 0 untouched.
        rng : int or numpy.random.Generator
            Seed or generator of the cycle-to-cycle noise (nothing is drawn when σ = 0).
        mode : {"aggregate", "per_pulse"}
            See the module docstring.

        Returns
        -------
        numpy.ndarray
            New conductances, in S, within each device's ``[g_min, g_max]``.
        """
        one_of(mode, "mode", PULSE_MODES)
        G = as_array(G, "G", "siemens")
        n = np.asarray(n)
        if not np.issubdtype(n.dtype, np.integer):
            if not np.issubdtype(n.dtype, np.floating) or np.any(n != np.round(n)):
                raise SnnRramError(f"n: expected integer pulse counts, got dtype {n.dtype}")
            n = n.astype(np.int64)
        rng = as_rng(rng)
        G, n = np.broadcast_arrays(G, n)
        if mode == "aggregate":
            if G.ndim:
                return self._train(G, n, rng)
            out = self._train(G.reshape(1), n.reshape(1), rng)  # in-place steps need arrays
            return out.reshape(()) if out.size == 1 else out
        out = G.copy()
        steps = np.abs(n)
        sign = np.sign(n)
        for k in range(int(steps.max(initial=0))):
            out = np.where(steps > k, self._train(out, sign * (steps > k), rng), out)
        return out

    def pulse_trains(self, G: np.ndarray, n: np.ndarray, rng) -> np.ndarray:
        """:meth:`apply_pulses` (``aggregate``) without its input checks, for hot loops.

        ``G``: float64 conductances, ``n``: integer counts of the same shape (at least 1-D),
        ``rng``: a Generator — the caller guarantees all three.
        """
        return self._train(G, n, rng)

    def _train(self, G, n, rng) -> np.ndarray:
        g_min = self.g_min
        span = self.g_max - g_min
        f = np.subtract(G, g_min)
        f /= span
        _clip01(f)
        hi, lo = n.max(initial=0), n.min(initial=0)
        moved = []  # (new f, saturated) of the directions present: each curve only if needed
        for up, N, a in ((True, self.n - 1, self.a_ltp), (False, self.n_ltd - 1, self.a_ltd)):
            if (hi > 0) if up else (lo < 0):
                p = _inverse(f, N, a)
                p += n
                saturated = p > N if up else p < 0
                np.clip(p, 0.0, N, out=p)
                moved.append((_curve(p, N, a), saturated))
        if not moved:
            return np.array(G, dtype=np.float64)
        if len(moved) == 1:
            f_new, saturated = moved[0]
        else:
            up = n > 0
            f_new = np.where(up, moved[0][0], moved[1][0])
            saturated = np.where(up, moved[0][1], moved[1][1])
        if self.sigma:
            # a train that runs into a range end leaves the device there with the error of its
            # last pulse only (every pulse after the end re-clamps it)
            # float32 draws: twice as fast, and 7 digits are plenty for a noise term
            scale = np.abs(n).astype(np.float32)
            np.copyto(scale, 1.0, where=saturated)
            np.sqrt(scale, out=scale)
            noise = rng.standard_normal(f_new.shape, dtype=np.float32)
            noise *= scale
            noise *= np.float32(self.sigma)
            f_new += noise
            _clip01(f_new)
        out = f_new  # a new array of this call's own (the curve's result)
        out *= span
        out += g_min
        still = n == 0
        if still.any():
            np.copyto(out, G, where=still)
        return out


def _clip01(x: np.ndarray) -> None:
    """Clip ``x`` to [0, 1] in place."""
    np.maximum(x, 0.0, out=x)
    np.minimum(x, 1.0, out=x)


@dataclass(frozen=True, eq=False)
class Programming:
    """Pulse programming model of a device (see the module docstring).

    Parameters
    ----------
    g_min, g_max : float
        Conductance range, in S.
    n : int
        Number of states along potentiation: ``n − 1`` pulses take ``g_min`` to ``g_max``.
    nl_ltp, nl_ltd : float
        NeuroSim nonlinearity labels of potentiation and depression (signed; 0: linear).
    n_ltd : int, optional
        States along depression (``n`` when not given).
    sigma_c2c : float
        Cycle-to-cycle σ of one pulse, as a fraction of ``g_max − g_min``.
    d2d_g_min, d2d_g_max : float
        Relative device-to-device σ of ``g_min`` and ``g_max``.
    d2d_nl : float
        Device-to-device σ of both nonlinearity labels (label units).
    pulse_energy : float
        Energy of one programming pulse, in J (0: not known).
    """

    g_min: float
    g_max: float
    n: int
    nl_ltp: float = 0.0
    nl_ltd: float = 0.0
    n_ltd: int | None = None
    sigma_c2c: float = 0.0
    d2d_g_min: float = 0.0
    d2d_g_max: float = 0.0
    d2d_nl: float = 0.0
    pulse_energy: float = 0.0
    _nominal: ProgrammedDevices = field(init=False, repr=False)

    def __post_init__(self):
        w = "Programming"
        g_min = as_scalar(self.g_min, f"{w}.g_min", "siemens", nonnegative=True)
        g_max = as_scalar(self.g_max, f"{w}.g_max", "siemens", positive=True)
        if g_max <= g_min:
            raise SnnRramError(f"{w}.g_max: must exceed g_min ({g_min:g} S), got {g_max:g} S")
        n_ltd = self.n if self.n_ltd is None else self.n_ltd
        for name, value in (("n", self.n), ("n_ltd", n_ltd)):
            ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
            if not ok or not 2 <= value <= MAX_LEVELS:
                raise SnnRramError(
                    f"{w}.{name}: expected an integer from 2 to {MAX_LEVELS}, got {value!r}"
                )
        values = {"g_min": g_min, "g_max": g_max, "n": int(self.n), "n_ltd": int(n_ltd)}
        for name in ("nl_ltp", "nl_ltd"):
            x = as_scalar(getattr(self, name), f"{w}.{name}")
            if abs(x) >= _NL_LIMIT:
                raise SnnRramError(f"{w}.{name}: expected |label| < {_NL_LIMIT:g}, got {x:g}")
            values[name] = x
        for name in ("sigma_c2c", "d2d_g_min", "d2d_g_max", "d2d_nl", "pulse_energy"):
            unit = "joule" if name == "pulse_energy" else "1"
            values[name] = as_scalar(getattr(self, name), f"{w}.{name}", unit, nonnegative=True)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_nominal", self._devices(g_min, g_max, self.nl_ltp, self.nl_ltd))

    # -- construction -------------------------------------------------------------------------

    def _devices(self, g_min, g_max, nl_ltp, nl_ltd) -> ProgrammedDevices:
        scalar = np.ndim(nl_ltp) == 0
        a = (lambda nl, N: _a_signed(float(nl), N)) if scalar else _a_signed_array
        return ProgrammedDevices(
            g_min=np.asarray(g_min, dtype=np.float64),
            g_max=np.asarray(g_max, dtype=np.float64),
            a_ltp=np.asarray(a(nl_ltp, self.n - 1), dtype=np.float64),
            a_ltd=np.asarray(a(nl_ltd, self.n_ltd - 1), dtype=np.float64),
            n=self.n,
            n_ltd=self.n_ltd,
            sigma=self.sigma_c2c,
        )

    def nominal(self) -> ProgrammedDevices:
        """The parameters of a device without device-to-device variation."""
        return self._nominal

    def draw(self, shape, rng) -> ProgrammedDevices:
        """Per-device parameters of ``shape`` devices with device-to-device variation.

        ``g_min·(1 + σ·ε)`` (at least 0), ``g_max·(1 + σ·ε)`` (at least 1.001 times the
        device's ``g_min``), labels ``NL + σ_nl·ε`` kept on the nominal label's side of 0 and
        below 10 in magnitude; ε standard normal, drawn in that order from ``rng``.
        """
        rng = as_rng(rng)
        shape = tuple(np.atleast_1d(shape).tolist()) if not isinstance(shape, tuple) else shape
        g_min = np.maximum(self.g_min * (1 + self.d2d_g_min * rng.standard_normal(shape)), 0.0)
        g_max = self.g_max * (1 + self.d2d_g_max * rng.standard_normal(shape))
        g_max = np.maximum(g_max, np.maximum(g_min * 1.001, 1e-3 * self.g_max))
        if not self.d2d_nl:  # one A for all devices: no per-device solve
            return self._devices(g_min, g_max, self.nl_ltp, self.nl_ltd)
        labels = []
        for nl in (self.nl_ltp, self.nl_ltd):
            x = nl + self.d2d_nl * rng.standard_normal(shape)
            x = np.where(nl * x < 0, 0.0, x) if nl != 0 else x
            labels.append(np.clip(x, -0.99 * _NL_LIMIT, 0.99 * _NL_LIMIT))
        return self._devices(g_min, g_max, *labels)

    def scaled(self, gamma: float, noise_exponent: float = 0.5) -> Programming:
        """The same device with ``gamma`` times the area (paper 3's big synapse).

        Conductances, steps and pulse energy × γ; the relative cycle-to-cycle σ × γ^(−exponent)
        (our reading of the paper's "areal dependency of conductance precision"); states,
        nonlinearity and relative device-to-device variation unchanged.
        """
        gamma = as_scalar(gamma, "gamma", positive=True)
        noise_exponent = as_scalar(noise_exponent, "noise_exponent", nonnegative=True)
        return Programming(
            g_min=self.g_min * gamma,
            g_max=self.g_max * gamma,
            n=self.n,
            nl_ltp=self.nl_ltp,
            nl_ltd=self.nl_ltd,
            n_ltd=self.n_ltd,
            sigma_c2c=self.sigma_c2c * gamma**-noise_exponent,
            d2d_g_min=self.d2d_g_min,
            d2d_g_max=self.d2d_g_max,
            d2d_nl=self.d2d_nl,
            pulse_energy=self.pulse_energy * gamma,
        )

    # -- use ----------------------------------------------------------------------------------

    @property
    def step(self) -> float:
        """Mean conductance step of one potentiation pulse, ``(g_max − g_min)/(n − 1)``, in S."""
        return (self.g_max - self.g_min) / (self.n - 1)

    def levels(self) -> Levels:
        """The conductances reached by 0 … n − 1 noise-free potentiation pulses from ``g_min``.

        :class:`PotentiationLevels` for a label ≥ 0, the measured-style list of the convex
        curve for a negative one.
        """
        if self.nl_ltp >= 0:
            return PotentiationLevels(self.g_min, self.g_max, self.n, self.nl_ltp)
        return MeasuredLevels(self.conductance_ltp(np.arange(self.n)))

    def conductance_ltp(self, p) -> np.ndarray:
        """Conductance after ``p`` noise-free potentiation pulses from ``g_min``, in S."""
        return self._nominal.conductance_ltp(p)

    def conductance_ltd(self, q) -> np.ndarray:
        """Conductance after ``q`` noise-free depression pulses from ``g_max``, in S."""
        return self._nominal.conductance_ltd(self.n_ltd - 1 - np.asarray(q, dtype=np.float64))

    def apply_pulses(self, G, n, rng, mode: str = "aggregate") -> np.ndarray:
        """Nominal devices: see :meth:`ProgrammedDevices.apply_pulses`."""
        return self._nominal.apply_pulses(G, n, rng, mode)

    # -- cards --------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The model as a TOML-ready ``[programming]`` table (inverse of :meth:`from_dict`)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    @classmethod
    def from_dict(cls, table: dict, where: str = "programming", defaults: dict | None = None):
        """Build the model from a card's ``[programming]`` table.

        Parameters
        ----------
        table : dict
            Keys as the constructor's parameters; ``n`` is required.
        where : str
            Key path of the table, for error messages (``device.programming``).
        defaults : dict, optional
            Values for keys the table leaves out, e.g. ``g_min`` and ``g_max`` of the device's
            levels.
        """
        if not isinstance(table, dict):
            raise SnnRramError(f"{where}: expected a table, got {table!r}")
        return build(cls, {**(defaults or {}), **table}, where)
