"""The arrays of on-array training: differential pairs of pulse-programmed devices.

:class:`PairArray` holds one crossbar of pairs (``W = k·(G⁺ − G⁻)``) and applies signed pulse
counts to all of them in parallel (:meth:`PairArray.pulse`, counts from the mean step) or the
counts each device needs at its present conductance for a wanted weight change
(:meth:`PairArray.pulse_delta`, read-before-write), routes a pair's count to its devices
(``potentiate``, ``push_pull``, ``ltp_ltd``), counts the array reads, writes weights
(write-verified), and refreshes saturated pairs; :func:`pulse_counts` turns an SGD step into
pulse counts (rounded or stochastic). The training loop that uses them is
:mod:`snn_rram.training.on_array`, whose docstring gives the paper and our reconstruction.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from snn_rram._validation import one_of
from snn_rram.devices.programming import Programming

__all__ = ["PAIR_UPDATES", "ROUNDINGS", "UPDATE_RULES", "PairArray", "pulse_counts"]

#: Pulse-count rules.
UPDATE_RULES = ("rounded", "stochastic")
#: A pulse goes through the whole block of pulsed rows (dense operations) when at least 1 in
#: ``_DENSE`` of its pairs receives pulses; otherwise through the pulsed pairs alone.
_DENSE = 4
#: How the rounded rule rounds (see :func:`pulse_counts`).
ROUNDINGS = ("nearest", "stochastic")
#: How a pair receives a signed count.
PAIR_UPDATES = ("potentiate", "push_pull", "ltp_ltd")


class PairArray:
    """One crossbar of differential pairs of pulse-programmed devices (``W = k·(G⁺ − G⁻)``).

    Parameters
    ----------
    programming : Programming
        The devices' pulse model; device-to-device variation is drawn per device.
    shape : tuple of int
        Pairs (rows × columns).
    k : float
        Weight per siemens of conductance difference.
    rng : numpy.random.Generator
        This array's generator (variation, then cycle-to-cycle noise).
    pair_update : {"potentiate", "push_pull", "ltp_ltd"}
        Which device(s) of a pair a signed count moves (see :mod:`snn_rram.training.on_array`).
    read_energy_per_siemens : float
        ``V_read²·t_read`` of one device read, in J/S: an array read (:meth:`read`) costs this
        times the sum of the array's conductances.
    """

    def __init__(
        self,
        programming: Programming,
        shape,
        k: float,
        rng,
        pair_update: str,
        read_energy_per_siemens: float = 0.0,
    ):
        self.programming = programming
        self.shape = tuple(shape)
        self.k = float(k)
        self.rng = rng
        self.pair_update = one_of(pair_update, "pair_update", PAIR_UPDATES)
        self._e_read = float(read_energy_per_siemens)
        varies = programming.d2d_g_min or programming.d2d_g_max or programming.d2d_nl
        # [0]: G⁺, [1]: G⁻; without device-to-device variation one set of scalars serves all
        self.devices = programming.draw((2, *self.shape), rng) if varies else programming.nominal()
        #: What the periphery knows of the curves (the card's nominal device): the state-aware
        #: rule converts with it, not with each device's own drawn parameters.
        self.nominal = programming.nominal()
        self._quiet = dataclasses.replace(self.nominal, sigma=0.0)
        self.G = np.broadcast_to(self.devices.g_min, (2, *self.shape)).copy()
        per_pulse = programming.step * self.k
        #: Mean weight change of one pulse count (S·k per pulse, × 2 for push-pull).
        self.w_step = per_pulse * (2 if pair_update == "push_pull" else 1)
        size = int(np.prod(self.shape))
        self._g_min = np.broadcast_to(self.devices.g_min, self.G.shape).reshape(2, size)
        self._span = (
            np.broadcast_to(self.devices.g_max, self.G.shape).reshape(2, size) - self._g_min
        )
        # rows (dense pulses) and pairs (sparse pulses) pulsed since the last refresh check
        self._touched: list[np.ndarray] = []
        self._touched_pairs: list[np.ndarray] = []
        self._levels: dict[float, tuple] = {}  # refresh level -> conductance thresholds
        self._W = self.k * (self.G[0] - self.G[1])  # reset pairs: 0 unless g_min varies
        self.pulses = 0  # update and write pulses so far
        self.resets = 0
        self.refreshes = 0
        self.reads = 0  # array reads of the periphery (read-before-write)
        self.read_energy = 0.0  # their energy, J

    @property
    def g_min(self) -> np.ndarray:
        """Each device's ``g_min``, shape ``(2, *shape)``, in S."""
        return np.broadcast_to(self.devices.g_min, self.G.shape)

    def weight(self) -> np.ndarray:
        """The pairs' weights, ``k·(G⁺ − G⁻)`` (a copy)."""
        return self._W.copy()

    def read(self) -> None:
        """Count one read of every device of the array and its energy (read-before-write).

        One array-wide operation (physically one read pulse per row, every column sensed in
        parallel); energy ``V_read²·t_read·ΣG`` over both devices of every pair.
        """
        self.reads += 1
        if self._e_read:
            self.read_energy += self._e_read * float(self.G.sum())

    def _reweigh(self, pairs: np.ndarray) -> None:
        G = self.G.reshape(2, -1)
        self._W.reshape(-1)[pairs] = self.k * (G[0, pairs] - G[1, pairs])

    def pulse(self, n: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Apply signed pulse counts ``n`` (weight direction) to every pair in parallel.

        ``ltp_ltd`` reads the array first (:meth:`read`): the device a count goes to depends
        on the pair's state.

        Parameters
        ----------
        n : numpy.ndarray of int
            Counts, shape ``shape``, or ``(len(rows), shape[1])`` with ``rows``.
        rows : numpy.ndarray of int, optional
            The rows ``n`` covers (the others receive no pulse: their input was 0).
        """
        nnz = np.count_nonzero(n)
        if not nnz:
            return
        if self.pair_update == "ltp_ltd":
            self.read()
        if nnz * _DENSE < n.size:  # few pulsed pairs: only those
            local = np.flatnonzero(n)
            pairs = self._pairs(local, rows)
            cnt = n.reshape(-1)[local]
            G = self.G.reshape(2, -1)[:, pairs]
            self._pulse_pairs(pairs, *self._route(cnt, G, self._bounds(pairs)))
        else:  # most pairs of the block: dense operations on the block
            block = self.G if rows is None else self.G[:, rows]
            self._pulse_rows(block, rows, *self._route(n, block, self._bounds_rows(rows)))

    def pulse_delta(
        self, dw, rows, rng, budget: int, rounding: str = "nearest", expect: bool = False
    ) -> np.ndarray | None:
        """State-aware update: read the array, then pulse each pair towards ``W + dw``.

        The periphery reads every device (:meth:`read`), routes each pair's change as
        :meth:`pulse` does, and converts the wanted conductance change of each pulsed device
        into its own pulse count with the closed-form inverse of the card's nominal curves
        (:meth:`~snn_rram.devices.programming.ProgrammedDevices.pulses_to`) at the device's
        present conductance — rounded (``nearest`` or ``stochastic``, as
        :func:`pulse_counts`) and clipped to ``±budget``. Still one fully parallel update:
        every device receives its own count at once; cycle-to-cycle noise as for any pulse.

        Parameters
        ----------
        dw : numpy.ndarray
            Wanted weight changes, shape ``shape`` or ``(len(rows), shape[1])``.
        rows : numpy.ndarray of int or None
            The rows ``dw`` covers.
        rng : numpy.random.Generator
            For stochastic rounding.
        budget : int
            Most pulses per device.
        rounding : {"nearest", "stochastic"}
        expect : bool
            Return the weight change the periphery expects.

        Returns
        -------
        numpy.ndarray or None
            With ``expect``: the weight change the periphery expects (noise-free curves),
            shape of ``dw``.
        """
        self.read()
        block = self.G if rows is None else self.G[:, rows]
        bounds = self._bounds_rows(rows)
        side, sign = self._route(np.sign(dw), block, bounds)
        dG = np.abs(dw) / self.k
        if side is None:  # push-pull: half of the change on each device, opposite signs
            G = block
            target = block + np.stack([0.5 * dG, -0.5 * dG]) * sign[0]
        else:
            G = np.where(side, block[0], block[1])
            target = G + sign * dG
        x = self.nominal.pulses_to(G, target)
        if one_of(rounding, "rounding", ROUNDINGS) == "nearest":
            np.rint(x, out=x)
        else:
            x += rng.random(x.shape)
            np.floor(x, out=x)
        np.clip(x, -budget, budget, out=x)
        c = x.astype(np.int64)
        expected = None
        if expect:
            moved = self._quiet.pulse_trains(G, c, None)  # where the curves take them
            if side is None:
                expected = self.k * ((moved[0] - G[0]) - (moved[1] - G[1]))
            else:
                expected = self.k * np.where(side, moved - G, G - moved)
        nz = np.flatnonzero(c if side is not None else (c[0] | c[1]))
        if not nz.size:
            return expected
        if nz.size * _DENSE < dw.size:
            pairs = self._pairs(nz, rows)
            if side is None:
                cc = c.reshape(2, -1)[:, nz]
                self._pulse_pairs(pairs, None, cc)
            else:
                self._pulse_pairs(pairs, side.reshape(-1)[nz], c.reshape(-1)[nz])
        else:
            self._pulse_rows(block, rows, side, c)
        return expected

    # -- routing and application ---------------------------------------------------------------

    def _pairs(self, local: np.ndarray, rows) -> np.ndarray:
        """Flat pair indices of the flat positions ``local`` of a block of ``rows``."""
        if rows is None:
            return local
        n_out = self.shape[1]
        return rows[local // n_out] * n_out + local % n_out

    def _bounds(self, pairs):
        """``(g_min, g_max)`` of both devices of flat ``pairs``: (2, m) arrays or scalars."""
        d = self.devices
        if np.ndim(d.g_min) == 0 and np.ndim(d.g_max) == 0:
            return d.g_min, d.g_max
        g_min = self._g_min[:, pairs]
        return g_min, g_min + self._span[:, pairs]

    def _bounds_rows(self, rows):
        """``(g_min, g_max)`` of both devices of a block of ``rows`` (all with None)."""
        d = self.devices
        if np.ndim(d.g_min) == 0 and np.ndim(d.g_max) == 0:
            return d.g_min, d.g_max
        shape = (2, *self.shape)
        g_min = self._g_min.reshape(shape)
        g_max = g_min + self._span.reshape(shape)
        return (g_min, g_max) if rows is None else (g_min[:, rows], g_max[:, rows])

    def _route(self, n, G, bounds):
        """Device-level pulses of weight-direction counts ``n`` on pairs of conductances ``G``.

        Returns ``(side, c)``: ``side`` True where G⁺ is pulsed (G⁻ elsewhere) and ``c`` the
        signed device count (positive: potentiation); ``side`` None for push-pull, ``c`` then
        holds the counts of both devices, shape ``(2, *n.shape)``.

        ``potentiate``: a positive count potentiates G⁺, a negative one G⁻. ``ltp_ltd``: a
        positive count potentiates G⁺ or depresses G⁻, whichever has more conductance
        headroom in that direction (``g_max − G⁺`` against ``G⁻ − g_min``; G⁺ on a tie), a
        negative one potentiates G⁻ or depresses G⁺ likewise.
        """
        if self.pair_update == "push_pull":
            return None, np.stack([n, -n])
        if self.pair_update == "potentiate":
            return n > 0, np.abs(n)
        g_min, g_max = bounds
        up = n > 0
        # the device that potentiates (G⁺ for a positive count) against the one that depresses
        pot = np.where(up, G[0], G[1])
        dep = np.where(up, G[1], G[0])
        if np.ndim(g_min):
            room_up = np.where(up, g_max[0], g_max[1]) - pot
            room_down = dep - np.where(up, g_min[1], g_min[0])
        else:
            room_up, room_down = g_max - pot, dep - g_min
        depress = room_down > room_up
        side = up != depress  # G⁺: a potentiated increase or a depressed decrease
        mag = np.abs(n)
        return side, np.where(depress, -mag, mag)

    def _pulse_pairs(self, pairs: np.ndarray, side, c) -> None:
        M = self._W.size
        if side is None:
            dev = np.concatenate([pairs, pairs + M])
            counts = c.reshape(-1)
        else:
            dev = np.where(side, pairs, pairs + M)
            counts = c
        self.pulses += int(np.abs(counts).sum())
        flat = self.G.reshape(-1)
        flat[dev] = self.devices.take(dev).pulse_trains(flat[dev], counts, self.rng)
        self._reweigh(pairs)
        self._touched_pairs.append(pairs)

    def _pulse_rows(self, block, rows, side, c) -> None:
        """Pulse the block of ``rows`` (``block`` = their conductances, replaced)."""
        self.pulses += int(np.abs(c).sum())
        if side is None:
            block = self._devices_of(rows, None).pulse_trains(block, c, self.rng)
        else:  # one device per pair
            G = np.where(side, block[0], block[1])
            new = self._devices_of(rows, side).pulse_trains(G, c, self.rng)
            np.copyto(block[0], new, where=side)
            np.copyto(block[1], new, where=~side)
        if rows is None:
            self.G = block
            self._W = self.k * (block[0] - block[1])
        else:
            self.G[:, rows] = block
            self._W[rows] = self.k * (block[0] - block[1])
        self._touched.append(np.arange(self.shape[0]) if rows is None else rows)

    def _devices_of(self, rows, side):
        """The device parameters of ``rows`` (all with None): G⁺ where ``side``, else G⁻."""
        d = self.devices
        picked = {}
        for name in ("g_min", "g_max", "a_ltp", "a_ltd"):
            x = getattr(d, name)
            if x.ndim:
                x = x if rows is None else x[:, rows]
                x = x if side is None else np.where(side, x[0], x[1])
            picked[name] = x
        return dataclasses.replace(d, **picked)

    def write(self, w: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Reset pairs (``mask``, all by default) and write weights ``w`` noise-free.

        Each device gets the integer number of potentiation pulses from ``g_min`` whose
        noise-free conductance is nearest its target (write-verify): ``potentiate`` puts
        ``|w|/k`` above ``g_min`` into the sign side's device and leaves the other reset;
        ``push_pull`` centres the pair on mid-range, ``±w/(2k)`` about it, so that both
        directions keep headroom.
        """
        mask = np.ones(self.shape, dtype=bool) if mask is None else mask
        idx = np.flatnonzero(mask)
        self._write(idx, np.broadcast_to(w, self.shape).reshape(-1)[idx])

    def _write(self, idx: np.ndarray, w: np.ndarray) -> None:
        """:meth:`write` of the pairs at flat indices ``idx`` to weights ``w`` (same length)."""
        if not idx.size:
            return
        w = w / self.k
        span = self._span[:, idx]
        if self.pair_update != "push_pull":
            target = np.stack([np.maximum(w, 0.0), np.maximum(-w, 0.0)])
        else:
            target = 0.5 * span + np.stack([0.5 * w, -0.5 * w])
        target = np.clip(target, 0.0, span)
        M = int(np.prod(self.shape))
        both = np.concatenate([idx, idx + M])
        dev = self.devices.take(both)
        p = np.rint(dev.pulses_ltp(self._g_min[:, idx].reshape(-1) + target.reshape(-1)))
        self.G.reshape(-1)[both] = dev.conductance_ltp(p)
        self._reweigh(idx)
        self.pulses += int(p.sum())
        self.resets += 2 * idx.size

    def refresh_saturated(self, level: float) -> int:
        """Refresh the pairs near saturation (see the module docstring); their number.

        Only the rows pulsed since the last call are checked (no other pair can have moved).
        """
        hi, lo = self._thresholds(level)
        hits = []
        if self._touched:
            # one pulse since the last check (the usual case): its rows are already unique
            t = self._touched
            rows = t[0] if len(t) == 1 else np.unique(np.concatenate(t))
            gp, gm = self.G[0, rows], self.G[1, rows]
            h, l = (hi[:, rows], lo[:, rows]) if hi.ndim > 1 else (hi, lo)
            hit = np.flatnonzero(((gp > h[0]) & (gm > l[1])) | ((gm > h[1]) & (gp > l[0])))
            n_out = self.shape[1]
            hits.append(rows[hit // n_out] * n_out + hit % n_out)
        if self._touched_pairs:
            idx = np.unique(np.concatenate(self._touched_pairs))
            G = self.G.reshape(2, -1)
            gp, gm = G[0, idx], G[1, idx]
            if hi.ndim > 1:
                h, l = hi.reshape(2, -1)[:, idx], lo.reshape(2, -1)[:, idx]
            else:
                h, l = hi, lo
            hits.append(idx[((gp > h[0]) & (gm > l[1])) | ((gm > h[1]) & (gp > l[0]))])
        self._touched, self._touched_pairs = [], []
        hit = np.unique(np.concatenate(hits)) if len(hits) > 1 else (hits[0] if hits else None)
        if hit is None or not hit.size:
            return 0
        self._write(hit, self._W.reshape(-1)[hit])
        self.refreshes += int(hit.size)
        return int(hit.size)

    def _thresholds(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Conductances above ``level`` and ``1 − level`` of each device's range.

        Shape ``(2,)`` (G⁺, G⁻) without device-to-device variation, else ``(2, *shape)``.
        """
        if level not in self._levels:
            d = self.devices
            scalar = np.ndim(d.g_min) == 0 and np.ndim(d.g_max) == 0
            shape = (2,) if scalar else (2, *self.shape)
            g_min = np.full(2, float(d.g_min)) if scalar else self._g_min.reshape(shape)
            span = np.full(2, float(d.g_max - d.g_min)) if scalar else self._span.reshape(shape)
            self._levels[level] = (g_min + level * span, g_min + (1 - level) * span)
        return self._levels[level]


def pulse_counts(
    x: np.ndarray,
    delta: np.ndarray,
    learning_rate: float,
    w_step: float,
    rng,
    rule: str = "rounded",
    budget: int = 20,
    stream_length: int = 10,
    rounding: str = "nearest",
) -> np.ndarray:
    """Signed pulse counts per device for the SGD step ``ΔW = −η/B·xᵀδ`` (fully parallel).

    Parameters
    ----------
    x : numpy.ndarray
        Row inputs, shape ``(B, n_in)`` (a mini-batch of B examples).
    delta : numpy.ndarray
        Column errors, shape ``(B, n_out)``.
    learning_rate : float
        η.
    w_step : float
        Weight change of one pulse count on the array.
    rng : numpy.random.Generator
        For the stochastic rule.
    rule : {"rounded", "stochastic"}
        ``rounded``: ``clip(round(ΔW/w_step), ±budget)``. ``stochastic``: coincidences of
        ``stream_length`` Bernoulli row and column pulses per example (Gokmen & Vlasov 2016),
        probabilities ``|x|·c`` and ``|δ|·c`` with ``c = √(η/(B·stream_length·w_step))``
        (clipped at 1), so that the expected count is ``ΔW/w_step``; a batch's streams follow
        one another and the counts are summed with their signs.
    budget : int
        Most pulses per device and update (rounded rule).
    stream_length : int
    rounding : {"nearest", "stochastic"}
        Rounded rule: ``nearest`` rounds ``ΔW/w_step`` to the nearest integer (an update below
        half a step is lost); ``stochastic`` rounds down or up with the probability of the
        fractional part (``floor(ΔW/w_step + u)``, u uniform in [0, 1)), an unbiased count —
        what a periphery with a random number per row/column pair would send.

    Returns
    -------
    numpy.ndarray
        int64 counts, shape ``(n_in, n_out)``; positive: the weight grows.
    """
    B = x.shape[0]
    if rule == "rounded":
        scale = -(learning_rate / B) / w_step
        n = np.outer(x[0] * scale, delta[0]) if B == 1 else scale * (x.T @ delta)
        if one_of(rounding, "rounding", ROUNDINGS) == "nearest":
            np.rint(n, out=n)
        else:
            n += rng.random(n.shape)
            np.floor(n, out=n)
        np.maximum(n, -budget, out=n)
        np.minimum(n, budget, out=n)
        return n.astype(np.int64)
    one_of(rule, "rule", UPDATE_RULES)
    L = stream_length
    c = math.sqrt(learning_rate / (B * L * w_step))
    px = np.minimum(np.abs(x) * c, 1.0)
    pd = np.minimum(np.abs(delta) * c, 1.0)
    rows = (rng.random((L, *x.shape)) < px) * np.sign(x)  # (L, B, n_in)
    cols = (rng.random((L, *delta.shape)) < pd) * -np.sign(delta)  # (L, B, n_out)
    n = rows.reshape(-1, x.shape[1]).T @ cols.reshape(-1, delta.shape[1])
    return np.rint(n).astype(np.int64)
