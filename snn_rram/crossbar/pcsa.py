"""Differential 2T2R cells read by a precharge sense amplifier (PCSA): binary and ternary weights.

The paper
---------
Laborieux et al., "Low-Power In-Memory Implementation of Ternary Neural Networks with Resistive
RAM-Based Synapse", AICAS 2020 (arXiv:2005.01973), and the follow-up "Implementation of Ternary
Weights with Resistive RAM Using a Single Sense Operation per Synapse" (arXiv:2007.14234). A weight
is stored in two devices on complementary bit lines (BL, BLb), each behind an access transistor
(2T2R). A PCSA reads the pair in one sense operation. Binary weights use (LRS, HRS) and
(HRS, LRS); the papers add the third state (HRS, HRS) for the weight 0: near threshold (low supply
voltage) neither branch of the PCSA switches within the sense phase and the pair reads 0, while
at nominal supply such a pair resolves at random to ±1. The bit errors the PCSA makes are
tolerated by ternary networks without error-correcting codes.

Our reconstruction (every free choice is a parameter of :class:`PCSA` or :class:`TwoStateCells`)
------------------------------------------------------------------------------------------------
Only the abstracts are public to us, so the circuit below is a *behavioural* model, chosen to be
the simplest one that has the papers' qualitative behaviour, not a transistor-level model of
their chip:

- **Precharge:** both branch nodes, of capacitance ``c_node`` each, are charged to ``vdd``.
- **Sense:** each branch discharges through its RRAM device ``R_b`` in series with its access
  transistor, an on-resistance ``R_acc(vdd)``: ``V_b(t) = vdd · exp(−t/τ_b)``,
  ``τ_b = c_node · (R_b + R_acc)``.
- **Near threshold:** the access transistor's drive follows the EKV interpolation between strong
  inversion and subthreshold conduction, ``R_acc(V) = r_access · F(vdd_nominal) / F(V)`` with
  ``F(V) = ln²(1 + exp((V − v_threshold) / (2·n·U_T)))``, ``U_T = k·T/q``. It grows
  exponentially below ``v_threshold``, which slows both branches.
- **Latch:** a branch trips when its node has fallen by ``v_trip`` (the cross-coupled latch's
  PMOS of the other side turns on when its gate falls by about its threshold voltage), so the
  switching point ``vdd − v_trip`` follows the supply and the trip time
  ``t_b = τ_b · ln(vdd / (vdd − v_trip))`` diverges as ``vdd → v_trip``. The latch's
  input-referred offset ``δ`` (Gaussian, standard deviation ``sigma_offset``, drawn per read)
  moves the two trip levels apart: BL needs a drop ``v_trip + δ/2``, BLb ``v_trip − δ/2``.
- **Outcome:** the first branch to trip within the sense window ``t_sense`` sets the output, BL
  first → +1, BLb first → −1; neither → 0.
- **Devices:** programmed resistances are log-normal around the card's LRS and HRS
  (:class:`TwoStateCells`), drawn once per device (device-to-device variation).
- **Energy (supply energy of one precharge–sense cycle):** a branch that did not trip is
  recharged from where it stopped, ``c_node·vdd·(vdd − V_b(t_sense))``; when the latch decides
  at ``t*`` it cuts the discharge paths, pulls the winner to 0 V (recharged next cycle:
  ``c_node·vdd²``) and the loser back to ``vdd`` (``c_node·vdd·(vdd − V_loser(t*))``). The
  part dissipated in the two RRAM devices is reported separately. Static latch and peripheral
  (word-line, clock) energies are not modelled.

Error types follow from the model: 0 → ±1 (an (HRS, HRS) pair that trips), ±1 → 0 (an
(LRS, HRS) pair too slow for the window) and ±1 → ∓1 (only where the LRS and HRS distributions
overlap); none is forced to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import ndtr, ndtri

from snn_rram._validation import as_array, as_rng, as_scalar, one_of
from snn_rram.errors import SnnRramError

__all__ = [
    "ENCODINGS",
    "PCSA",
    "ReadErrorRates",
    "TwoStateCells",
    "program_2t2r",
]

BOLTZMANN_OVER_CHARGE = 8.617333262e-5  # k/q, V/K
ENCODINGS = {"binary": (-1, 1), "ternary": (-1, 0, 1)}
_OUTCOMES = (-1, 0, 1)
_BISECTION_STEPS = 64  # halves the bracket of the crossing time to ~5e-20 of its width
_ENERGY_QUADRATURE = 32  # points per device for the mean energy (smooth in the resistances)
_OFFSET_NODES, _OFFSET_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_OFFSET_WEIGHTS = _OFFSET_WEIGHTS / _OFFSET_WEIGHTS.sum()


def _conductances(g, name: str) -> np.ndarray:
    return as_array(g, name, "siemens", positive=True)


@dataclass(frozen=True)
class TwoStateCells:
    """Programmed LRS and HRS conductances of the devices of a 2T2R array.

    Each device's resistance is log-normal, drawn once when it is programmed
    (device-to-device variation): ``ln R = ln(1/g_state) + sigma_state · ε``, ε standard normal.

    Parameters
    ----------
    g_lrs, g_hrs : float
        Median conductance of the low- and high-resistance state, in S (``g_lrs > g_hrs > 0``).
    sigma_lrs, sigma_hrs : float
        Standard deviation of ``ln R`` of each state (dimensionless, >= 0).
    """

    g_lrs: float
    g_hrs: float
    sigma_lrs: float = 0.0
    sigma_hrs: float = 0.0

    def __post_init__(self):
        for name, unit in (("g_lrs", "siemens"), ("g_hrs", "siemens")):
            x = as_scalar(getattr(self, name), f"TwoStateCells.{name}", unit, positive=True)
            object.__setattr__(self, name, x)
        for name in ("sigma_lrs", "sigma_hrs"):
            x = as_scalar(getattr(self, name), f"TwoStateCells.{name}", nonnegative=True)
            object.__setattr__(self, name, x)
        if not self.g_lrs > self.g_hrs:
            raise SnnRramError(
                f"TwoStateCells: g_lrs must exceed g_hrs, got g_lrs={self.g_lrs!r} S, "
                f"g_hrs={self.g_hrs!r} S"
            )

    @classmethod
    def from_device(cls, device, sigma_lrs: float | None = None, sigma_hrs: float | None = None):
        """The device's highest and lowest programmable levels as LRS and HRS.

        Without explicit sigmas, a card with log-normal programming variation gives its
        ``programming_sigma`` to both states; otherwise they are 0.
        """
        values = np.asarray(device.levels.values, dtype=np.float64)
        variation = device.variation
        default = (
            variation.programming_sigma
            if variation.programming_distribution == "lognormal"
            else 0.0
        )
        return cls(
            g_lrs=float(values.max()),
            g_hrs=float(values.min()),
            sigma_lrs=default if sigma_lrs is None else sigma_lrs,
            sigma_hrs=default if sigma_hrs is None else sigma_hrs,
        )

    def median(self, lrs) -> np.ndarray:
        """Median conductance of each device, in S, from a boolean "is LRS" array."""
        return np.where(lrs, self.g_lrs, self.g_hrs)

    def sample(self, lrs, rng) -> np.ndarray:
        """Draw programmed conductances, in S, for devices in the given states (seeded)."""
        lrs = np.asarray(lrs, dtype=bool)
        rng = as_rng(rng)
        sigma = np.where(lrs, self.sigma_lrs, self.sigma_hrs)
        return self.median(lrs) * np.exp(-sigma * rng.standard_normal(lrs.shape))


def _checked_weights(weights, encoding: str) -> np.ndarray:
    one_of(encoding, "encoding", tuple(ENCODINGS))
    w = np.asarray(weights)
    if w.dtype.kind not in "biuf":
        raise SnnRramError(f"weights: expected a numeric array, got dtype {w.dtype}")
    if not np.isin(w, ENCODINGS[encoding]).all():
        bad = w[~np.isin(w, ENCODINGS[encoding])].flat[0]
        raise SnnRramError(
            f"weights: a {encoding} weight must be one of {ENCODINGS[encoding]}, got {bad!r}"
        )
    return w.astype(np.int8)


def program_2t2r(
    weights, cells: TwoStateCells, rng, encoding: str = "ternary"
) -> tuple[np.ndarray, np.ndarray]:
    """Program binary or ternary weights onto 2T2R pairs.

    Encoding on (BL, BLb): +1 = (LRS, HRS), −1 = (HRS, LRS), 0 = (HRS, HRS).

    Parameters
    ----------
    weights : array_like of int
        Weights in {−1, +1} (binary) or {−1, 0, +1} (ternary), any shape.
    cells : TwoStateCells
        The devices' state distributions.
    rng : int or numpy.random.Generator
        Seed of the device-to-device variation.
    encoding : {"ternary", "binary"}
        The alphabet the weights must belong to.

    Returns
    -------
    g_bl, g_blb : numpy.ndarray
        Conductances of the BL and BLb devices, in S, the shape of ``weights``.
    """
    if not isinstance(cells, TwoStateCells):
        raise SnnRramError(f"cells: expected a TwoStateCells, got {type(cells).__name__}")
    w = _checked_weights(weights, encoding)
    rng = as_rng(rng)
    return cells.sample(w > 0, rng), cells.sample(w < 0, rng)


@dataclass(frozen=True)
class ReadErrorRates:
    """Read-outcome statistics of a PCSA on an array's device distributions.

    Attributes
    ----------
    encoding : str
        ``"binary"`` or ``"ternary"``.
    vdd : float
        Supply voltage, in V.
    states : tuple of int
        The alphabet, the row order of ``confusion``.
    prior : numpy.ndarray
        How often each stored state is read (sums to 1).
    confusion : numpy.ndarray
        ``confusion[s, k]``: probability of reading outcome ``(−1, 0, +1)[k]`` when state
        ``states[s]`` is stored, averaged over the device distributions and the latch offset.
    energy : numpy.ndarray
        Mean supply energy of one sense operation per stored state, in J.
    device_energy : numpy.ndarray
        The part of ``energy`` dissipated in the two RRAM devices, in J.
    """

    encoding: str
    vdd: float
    states: tuple[int, ...]
    prior: np.ndarray
    confusion: np.ndarray
    energy: np.ndarray
    device_energy: np.ndarray = field(repr=False)

    def _rate(self, stored, read) -> float:
        total = 0.0
        for s, state in enumerate(self.states):
            if state in stored:
                cols = [k for k, out in enumerate(_OUTCOMES) if read(state, out)]
                total += self.prior[s] * self.confusion[s, cols].sum()
        return float(total)

    @property
    def ber(self) -> float:
        """Probability that a read differs from the stored weight (bit-error rate)."""
        return self._rate(self.states, lambda s, out: out != s)

    @property
    def zero_to_nonzero(self) -> float:
        """Probability of a read that turns a stored 0 into ±1."""
        return self._rate((0,), lambda s, out: out != 0)

    @property
    def nonzero_to_zero(self) -> float:
        """Probability of a read that turns a stored ±1 into 0."""
        return self._rate((-1, 1), lambda s, out: out == 0)

    @property
    def sign_flip(self) -> float:
        """Probability of a read that turns a stored ±1 into ∓1."""
        return self._rate((-1, 1), lambda s, out: out == -s)

    @property
    def mean_energy(self) -> float:
        """Mean supply energy of one sense operation over the prior, in J."""
        return float(self.prior @ self.energy)


@dataclass(frozen=True)
class PCSA:
    """A behavioural precharge sense amplifier reading 2T2R pairs (a reconstruction).

    See the module docstring for the model. The defaults are representative of a 130 nm CMOS
    process (nominal supply 1.2 V, threshold voltages of 0.4 V) with bit-line nodes of tens of
    femtofarads; they are our choices, not the papers' numbers.

    Parameters
    ----------
    vdd : float
        Supply voltage, in V (> 0).
    c_node : float
        Capacitance of each precharged branch node, in F.
    r_access : float
        On-resistance of an access transistor at ``vdd_nominal``, in Ω.
    vdd_nominal : float
        Supply voltage at which ``r_access`` holds, in V.
    v_threshold : float
        Threshold voltage of the access transistors, in V.
    subthreshold_slope : float
        Subthreshold slope factor ``n`` (dimensionless, >= 1).
    temperature : float
        Temperature, in K (sets the thermal voltage ``U_T = k·T/q``).
    v_trip : float
        Drop of a branch node that trips the latch, in V.
    t_sense : float
        Duration of the sense phase, in s.
    sigma_offset : float
        Standard deviation of the latch's input-referred offset, in V (>= 0; drawn per read).
    """

    vdd: float
    c_node: float = 20e-15
    r_access: float = 5e3
    vdd_nominal: float = 1.2
    v_threshold: float = 0.4
    subthreshold_slope: float = 1.5
    temperature: float = 300.0
    v_trip: float = 0.4
    t_sense: float = 30e-9
    sigma_offset: float = 0.01

    def __post_init__(self):
        units = {
            "vdd": "volt",
            "c_node": "farad",
            "r_access": "ohm",
            "vdd_nominal": "volt",
            "v_threshold": "volt",
            "subthreshold_slope": "1",
            "temperature": "1",
            "v_trip": "volt",
            "t_sense": "second",
            "sigma_offset": "volt",
        }
        for name, unit in units.items():
            positive = name != "sigma_offset"
            x = as_scalar(
                getattr(self, name), f"PCSA.{name}", unit, positive=positive, nonnegative=True
            )
            object.__setattr__(self, name, x)
        if self.subthreshold_slope < 1:
            raise SnnRramError(
                f"PCSA.subthreshold_slope: must be >= 1, got {self.subthreshold_slope!r}"
            )

    # --- the circuit ------------------------------------------------------------------------

    def _drive(self, v) -> float:
        u_t = BOLTZMANN_OVER_CHARGE * self.temperature
        return np.logaddexp(0.0, (v - self.v_threshold) / (2 * self.subthreshold_slope * u_t))

    @property
    def r_access_at_vdd(self) -> float:
        """On-resistance of an access transistor at this supply, in Ω."""
        ratio = self._drive(self.vdd_nominal) / self._drive(self.vdd)
        return float(self.r_access * ratio**2)

    def time_constant(self, g) -> np.ndarray:
        """Discharge time constant of a branch whose device has conductance ``g`` (S), in s."""
        g = _conductances(g, "g")
        return self.c_node * (1.0 / g + self.r_access_at_vdd)

    def node_voltage(self, g, t) -> np.ndarray:
        """Voltage of a discharging branch node, in V, for ``g`` (S) broadcast against ``t`` (s).

        The free discharge, before the latch decides.
        """
        t = as_array(t, "t", "second", nonnegative=True)
        return self.vdd * np.exp(-t / self.time_constant(g))

    def _trip_time(self, tau, drop) -> np.ndarray:
        """Time at which a node with time constant ``tau`` has fallen by ``drop``."""
        v = self.vdd
        with np.errstate(divide="ignore", invalid="ignore"):
            t = tau * np.log(v / (v - drop))
        t = np.where(drop >= v, np.inf, t)
        return np.where(drop <= 0, 0.0, t)

    def trip_times(self, g_bl, g_blb, offset=0.0) -> tuple[np.ndarray, np.ndarray]:
        """Times at which each branch would trip the latch, in s (``inf``: never).

        Parameters
        ----------
        g_bl, g_blb : array_like
            Conductances of the BL and BLb devices, in S (broadcastable).
        offset : array_like
            The latch offset δ of each read, in V (broadcastable).
        """
        tau_bl = self.time_constant(_conductances(g_bl, "g_bl"))
        tau_blb = self.time_constant(_conductances(g_blb, "g_blb"))
        x = 0.5 * np.asarray(offset, dtype=np.float64)
        return self._trip_time(tau_bl, self.v_trip + x), self._trip_time(tau_blb, self.v_trip - x)

    # --- reads ------------------------------------------------------------------------------

    def _decide(self, t_bl, t_blb, coin) -> np.ndarray:
        bl_first = (t_bl < t_blb) | ((t_bl == t_blb) & coin)
        first = np.where(bl_first, t_bl, t_blb)
        out = np.where(bl_first, 1, -1).astype(np.int8)
        return np.where(first <= self.t_sense, out, np.int8(0)).astype(np.int8)

    def read(self, g_bl, g_blb, rng, *, return_energy: bool = False):
        """Sense 2T2R pairs once each (Monte Carlo of the latch offset).

        Parameters
        ----------
        g_bl, g_blb : array_like
            Conductances of the BL and BLb devices, in S (broadcastable).
        rng : int or numpy.random.Generator
            Seed of the per-read offsets (and of exact ties, resolved at random).
        return_energy : bool
            Also return the supply energy of each read.

        Returns
        -------
        numpy.ndarray of int8
            Outcomes in {−1, 0, +1}, the broadcast shape.
        numpy.ndarray, optional
            Supply energy of each read, in J.
        """
        rng = as_rng(rng)
        g_bl = _conductances(g_bl, "g_bl")
        g_blb = _conductances(g_blb, "g_blb")
        shape = np.broadcast_shapes(g_bl.shape, g_blb.shape)
        offset = self.sigma_offset * rng.standard_normal(shape)
        coin = rng.random(shape) < 0.5
        t_bl, t_blb = self.trip_times(g_bl, g_blb, offset)
        out = self._decide(t_bl, t_blb, coin)
        if not return_energy:
            return out
        energy, _ = self._cycle_energy(g_bl, g_blb, t_bl, t_blb, out)
        return out, energy

    def outcome_probabilities(self, g_bl, g_blb) -> np.ndarray:
        """Probabilities of reading −1, 0 and +1, in closed form over the latch offset.

        With δ the offset and ``x = δ/2``: BL trips first iff ``x < x*``, where at ``x*`` both
        branches trip at the same time ``t*`` (``e^(−t*/τ_bl) + e^(−t*/τ_blb) =
        2·(1 − v_trip/vdd)``, solved by bisection); BL trips within the window iff ``x ≤ x_bl``
        and BLb iff ``x ≥ x_blb``. So ``P(+1) = Φ(min(x*, x_bl)/s)`` and
        ``P(−1) = 1 − Φ(max(x*, x_blb)/s)`` with ``s = sigma_offset/2``.

        Parameters
        ----------
        g_bl, g_blb : array_like
            Conductances of the BL and BLb devices, in S (broadcastable).

        Returns
        -------
        numpy.ndarray
            Shape ``broadcast + (3,)``: P(−1), P(0), P(+1).
        """
        tau_bl = self.time_constant(_conductances(g_bl, "g_bl"))
        tau_blb = self.time_constant(_conductances(g_blb, "g_blb"))
        tau_bl, tau_blb = np.broadcast_arrays(tau_bl, tau_blb)
        v, a = self.vdd, self.v_trip
        x_bl = v * -np.expm1(-self.t_sense / tau_bl) - a
        x_blb = a + v * np.expm1(-self.t_sense / tau_blb)
        if v > a:
            target = 2.0 * (1.0 - a / v)
            lo = np.zeros_like(tau_bl)
            hi = np.maximum(tau_bl, tau_blb) * np.log(v / (v - a))
            for _ in range(_BISECTION_STEPS):
                mid = 0.5 * (lo + hi)
                above = np.exp(-mid / tau_bl) + np.exp(-mid / tau_blb) > target
                lo = np.where(above, mid, lo)
                hi = np.where(above, hi, mid)
            t_cross = 0.5 * (lo + hi)
            # half the difference of the two drops at t*: exactly 0 for equal branches
            x_cross = 0.5 * v * (np.exp(-t_cross / tau_blb) - np.exp(-t_cross / tau_bl))
        else:  # no common trip time: each branch can only trip where the other cannot
            x_cross = 0.5 * (x_bl + x_blb)
        p_pos = self._offset_cdf(np.minimum(x_cross, x_bl))
        p_neg = 1.0 - self._offset_cdf(np.maximum(x_cross, x_blb))
        return np.stack([p_neg, 1.0 - p_pos - p_neg, p_pos], axis=-1)

    def _offset_cdf(self, x) -> np.ndarray:
        s = 0.5 * self.sigma_offset
        if s > 0:
            return ndtr(x / s)
        return np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5))

    # --- energy -----------------------------------------------------------------------------

    def _cycle_energy(self, g_bl, g_blb, t_bl, t_blb, out):
        """Supply and device energy of cycles with the given trip times and outcomes, in J."""
        v, c = self.vdd, self.c_node
        r_acc = self.r_access_at_vdd
        tau_bl = c * (1.0 / g_bl + r_acc)
        tau_blb = c * (1.0 / g_blb + r_acc)
        decided = out != 0
        t_end = np.where(decided, np.minimum(t_bl, t_blb), self.t_sense)
        v_bl = v * np.exp(-t_end / tau_bl)
        v_blb = v * np.exp(-t_end / tau_blb)
        undecided = c * v * ((v - v_bl) + (v - v_blb))
        loser = np.where(out > 0, v_blb, v_bl)
        supply = np.where(decided, c * v * v + c * v * (v - loser), undecided)

        def dissipated(g, tau):  # ∫ V(t)²·R/(R + R_acc)² dt over [0, t_end]
            r = 1.0 / g
            return r / (r + r_acc) ** 2 * v * v * tau / 2 * -np.expm1(-2 * t_end / tau)

        return supply, dissipated(g_bl, tau_bl) + dissipated(g_blb, tau_blb)

    def read_energy(self, g_bl, g_blb) -> tuple[np.ndarray, np.ndarray]:
        """Mean supply energy of one sense operation, and its part in the devices, in J.

        The mean over the latch offset, by 64-point Gauss–Hermite quadrature (exact ties
        count half for each side).

        Parameters
        ----------
        g_bl, g_blb : array_like
            Conductances of the BL and BLb devices, in S (broadcastable).

        Returns
        -------
        energy, device_energy : numpy.ndarray
            The broadcast shape.
        """
        g_bl = _conductances(g_bl, "g_bl")[..., None]
        g_blb = _conductances(g_blb, "g_blb")[..., None]
        offset = self.sigma_offset * _OFFSET_NODES
        t_bl, t_blb = self.trip_times(g_bl, g_blb, offset)
        sides = []
        for coin in (True, False):
            out = self._decide(t_bl, t_blb, np.full(t_bl.shape, coin))
            sides.append(self._cycle_energy(g_bl, g_blb, t_bl, t_blb, out))
        supply = 0.5 * (sides[0][0] + sides[1][0])
        device = 0.5 * (sides[0][1] + sides[1][1])
        return supply @ _OFFSET_WEIGHTS, device @ _OFFSET_WEIGHTS

    # --- array statistics -------------------------------------------------------------------

    def error_rates(
        self,
        cells,
        encoding: str = "ternary",
        *,
        vdd: float | None = None,
        prior=None,
        n_quadrature: int = 256,
    ) -> ReadErrorRates:
        """Outcome statistics of reading an array's weights, averaged over its devices.

        Parameters
        ----------
        cells : TwoStateCells or snn_rram.devices.Device
            The LRS/HRS distributions (a device card: its extreme levels, see
            :meth:`TwoStateCells.from_device`).
        encoding : {"ternary", "binary"}
            The weight alphabet.
        vdd : float, optional
            Supply voltage, in V, instead of this PCSA's.
        prior : array_like, optional
            How often each weight of the alphabet is stored (default: equally often).
        n_quadrature : int
            Points per device of the quadrature over the two log-normal resistances (midpoints
            of equal-probability intervals; the error is O(1/n) where the outcome jumps). The
            mean energy, smooth in the resistances, uses at most 32.

        Returns
        -------
        ReadErrorRates
        """
        if vdd is not None:
            return replace(self, vdd=vdd).error_rates(
                cells, encoding, prior=prior, n_quadrature=n_quadrature
            )
        if not isinstance(cells, TwoStateCells):
            cells = TwoStateCells.from_device(cells)
        one_of(encoding, "encoding", tuple(ENCODINGS))
        states = ENCODINGS[encoding]
        if prior is None:
            prior = np.full(len(states), 1.0 / len(states))
        prior = as_array(prior, "prior", shape=(len(states),), nonnegative=True)
        if not np.isclose(prior.sum(), 1.0, rtol=0, atol=1e-12):
            raise SnnRramError(f"prior: must sum to 1, got {prior.sum()!r}")
        if isinstance(n_quadrature, bool) or not isinstance(n_quadrature, int | np.integer):
            raise SnnRramError(f"n_quadrature: expected an integer, got {n_quadrature!r}")
        if not 1 <= n_quadrature <= 4096:
            raise SnnRramError(f"n_quadrature: must be in 1..4096, got {n_quadrature}")
        z = ndtri((np.arange(n_quadrature) + 0.5) / n_quadrature)

        def grid(lrs: bool, axis: int, z):
            g = cells.g_lrs if lrs else cells.g_hrs
            sigma = cells.sigma_lrs if lrs else cells.sigma_hrs
            return (g * np.exp(-sigma * z)).reshape((-1, 1) if axis == 0 else (1, -1))

        m = min(n_quadrature, _ENERGY_QUADRATURE)
        z_energy = ndtri((np.arange(m) + 0.5) / m)

        confusion = np.empty((len(states), 3))
        energy = np.empty(len(states))
        device_energy = np.empty(len(states))
        for s, w in enumerate(states):
            g_bl, g_blb = grid(w > 0, 0, z), grid(w < 0, 1, z)
            confusion[s] = self.outcome_probabilities(g_bl, g_blb).mean(axis=(0, 1))
            e, d = self.read_energy(grid(w > 0, 0, z_energy), grid(w < 0, 1, z_energy))
            energy[s], device_energy[s] = e.mean(), d.mean()
        return ReadErrorRates(encoding, self.vdd, states, prior, confusion, energy, device_energy)
