"""Training on the array: pulse-programmed differential pairs and hybrid big/small synapses.

The paper (3 in PAPERS.md)
--------------------------
Choi, Kwak, Kim, Hwang, "Neural Network Training Acceleration With RRAM-Based Hybrid Synapses",
Front. Neurosci. 15:690418 (2021). Claims: RRAM devices have a finite number of conductance
states; a hybrid synaptic unit of a "big" and a "small" synapse — the same Mo/TiOx device at two
areas, so the big one's conductance step is γ times larger — with a matching training method
keeps **array-wise fully parallel** updates with a simple **array-selection logic**, and
reaches 97 % against 97.92 % for floating point with 50 conductance states per device.

Our reconstruction
------------------
Only the abstract is public; every free choice is a field of :class:`OnArrayConfig`.

- Network: a multilayer perceptron, ReLU hidden layers, softmax output with cross-entropy;
  the bias of a layer is an always-on input row of its array (input 1). Forward and backward
  reads are ideal (``W`` read exactly from the conductances); activations and errors are
  computed in the periphery in float.
- A weight is a differential pair, ``W = k·(G⁺ − G⁻)``, ``k`` in weight units per siemens
  chosen so that a full-range pair of the (big) device spans ``w_max`` (per layer; by default
  ``w_max_sigmas`` standard deviations of the He initialisation, a free choice).
- Hybrid: ``W = k·[(Gb⁺ − Gb⁻) + (Gs⁺ − Gs⁻)]``, the big devices being the small device scaled
  by γ in area (:meth:`~snn_rram.devices.Programming.scaled`): a read sums physical currents,
  so the big pair carries γ times the weight of the small one and its step is γ times larger
  (PAPERS.md writes the same thing as ``γ·(Gb⁺ − Gb⁻)`` with Gb in small-device units).
- Update, fully parallel over the selected array (mini-batch 1 by default): the SGD step
  ``ΔW = −η/B · Σ_b x_b δ_bᵀ`` becomes a pulse count per device, either

  - ``rounded``: ``n = round(ΔW / Δw)`` clipped to ``±pulse_budget``, with ``Δw`` the
    array's mean weight step per pulse (``rounding``: to the nearest integer, or stochastic
    rounding, unbiased but with more pulses); or
  - ``stochastic`` (Gokmen & Vlasov 2016): the rows fire ``stream_length`` Bernoulli pulses
    of probability ``|x_i|·c`` and the columns of probability ``|δ_j|·c`` (signs carried by
    the pulse polarity), a device counts the coincidences, ``c = √(η / (B · stream_length ·
    Δw))`` so that the expected count is the rounded rule's ``ΔW/Δw`` (probabilities clipped
    at 1).
- Pair update scheme (``pair_update``): ``potentiate`` (the default; "LTP only") — a positive
  count potentiates ``G⁺``, a negative one potentiates ``G⁻`` (both devices only ever climb;
  ``Δw = k·step``; the LTD curve never acts); ``push_pull`` — ``G⁺`` receives the signed
  count and ``G⁻`` its opposite (``Δw = 2k·step``); ``ltp_ltd`` (our reconstruction, beyond
  the paper) — one device per pair, the one with more conductance headroom in the needed
  direction: a positive count potentiates ``G⁺`` (room ``g_max − G⁺``) or depresses ``G⁻``
  (room ``G⁻ − g_min``), a negative one potentiates ``G⁻`` or depresses ``G⁺`` (``Δw =
  k·step``, ties to potentiation). Depression pulses follow the LTD curve (NeuroSim's label
  −4.88 takes effect), and a pair whose devices have both climbed past mid-range comes back
  down instead of saturating. Choosing by headroom needs the pair's state: the array is read
  once before each update (counted, see below).
- Pulse count rule (``pulse_rule``): ``mean_step`` (the default, the paper's fully parallel
  outer product) — counts from the array's mean step ``Δw`` as above, blind to where each
  device sits on its curve, so a nonlinear curve scales the effective learning rate by the
  local step (about 2.3× near ``g_min`` and 0.4× near ``g_max`` for LTP label 2.4);
  ``state_aware`` (read-before-write, **our reconstruction, beyond the paper**) — the
  periphery reads the selected array once per update (one array-wide read: one read pulse
  per row, all columns sensed in parallel; counted in ``reads`` with its energy ``V_read²·
  t_read·ΣG`` over every device, ``read_voltage`` and ``read_time`` NeuroSim's 0.5 V and
  10 ns by default) and converts each pair's wanted ``ΔW`` into that device's own count with
  the closed-form inverse of the card's nominal LTP/LTD curves at its present conductance
  (:meth:`~snn_rram.devices.programming.ProgrammedDevices.pulses_to`), rounded as
  ``rounding`` says and clipped to ``pulse_budget``. Still one fully parallel update (every
  device its own count at once), cycle-to-cycle noise per pulse as before; the periphery
  knows the nominal curves only, not each device's device-to-device deviation. Rounded rule
  only (a stochastic coincidence count cannot carry a per-device scale). With ``residual``
  selection the small array receives what the big one's pulses are expected (noise-free
  curve) to leave of ``ΔW``. Rounding to the nearest count drops updates below half a
  *local* step (up to 1.1 mean steps near ``g_min`` on NeuroSim's LTP curve);
  ``rounding = "stochastic"`` is the unbiased choice with this rule (README, paper 3).
- Saturation (``refresh``): ``saturated`` reprograms a pair whose larger device is above
  ``refresh_level`` of its range while the smaller one is above ``1 − refresh_level`` (so the
  rewrite gains headroom): both are reset to ``g_min`` and the difference is written into one
  device by a noise-free (write-verified) train of potentiation pulses to the nearest state.
  Refreshes and their pulses are counted. ``none`` lets pairs saturate. (``push_pull``
  pairs are written centred on mid-range, ``±w/(2k)`` about it, and refreshed back there.)
- Array selection of ``hybrid`` (the paper's logic, in the two readings of PAPERS.md):
  ``phase`` — the big array receives the updates in epochs ``< switch_epoch``, the small one
  afterwards; ``magnitude`` — per update, the big array when the update exceeds the small
  array's reach (a rounded count beyond ``pulse_budget``), either for the whole array at once
  (``magnitude_scope = "array"``, one array per update as in the paper) or per device
  (``"cell"``, both arrays pulsed in the same update); ``"residual"`` splits every update
  (rounded rule): the big array receives ``round(ΔW/Δw_big)`` pulses, the small array the
  rounded remainder in its own steps — each array one fully parallel update.
- ``hybrid_carry`` (a reference, NeuroSim's HybridCell style, what the paper avoids): every
  update goes to the small array; every ``carry_every`` updates the small pair's weight is
  carried into the big pair (rounded to big pulses) and the small pair is reset, and the
  remainder rewritten into it when ``carry_remainder``.
- Schedule: η in epoch ``e`` is ``learning_rate · learning_rate_decay**e`` for every
  configuration. The defaults (η = 0.05, no decay) are NeuroSim-like; on 50 noisy states
  η = 0.02 halved every epoch is what ``studies/on_array_accuracy.py`` uses: large early steps
  go to the big array, and the late fine-tuning of the small array sends few, small pulse
  trains (every pulse adds cycle-to-cycle noise).
- ``float``: the same network, initialisation, order and schedule in float64 (the reference).
- Initial weights: He-normal (σ = √(2/fan_in), biases 0), clipped to ``±w_max``, written into
  the (big) array noise-free to the nearest state; the small array starts reset.
- Pulse energy: the card's ``pulse_energy`` (big devices γ times more) times the pulses.

Everything is numpy; random draws come from generators derived from one integer seed per
purpose (initialisation, order, each array), so a ``hybrid`` run that never touches its small
array with γ = 1 equals the ``single`` run of the same seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from snn_rram import ann
from snn_rram._validation import as_array, as_int, as_scalar, one_of
from snn_rram.devices.programming import Programming
from snn_rram.errors import SnnRramError
from snn_rram.mapping.trained import trained_columns
from snn_rram.training.pair_array import (
    PAIR_UPDATES,
    ROUNDINGS,
    UPDATE_RULES,
    PairArray,
    pulse_counts,
)

__all__ = [
    "PULSE_RULES",
    "SELECTIONS",
    "SYNAPSES",
    "OnArrayConfig",
    "OnArrayResult",
    "train_on_array",
]

#: Synapse configurations of :class:`OnArrayConfig`.
SYNAPSES = ("float", "single", "hybrid", "hybrid_carry")
#: Pulse count rules: from the mean step, or from each device's state (read-before-write).
PULSE_RULES = ("mean_step", "state_aware")
#: Array selection of ``hybrid``.
SELECTIONS = ("phase", "magnitude")
_SCOPES = ("array", "cell", "residual")
_REFRESH = ("none", "saturated")


@dataclass(frozen=True)
class OnArrayConfig:
    """Settings of :func:`train_on_array` (see the module docstring for their meaning).

    Parameters
    ----------
    synapse : {"float", "single", "hybrid", "hybrid_carry"}
    learning_rate : float
        η of the SGD step (in the first epoch).
    learning_rate_decay : float
        η of epoch ``e`` (from 0) is ``learning_rate · learning_rate_decay**e``, for every
        synapse configuration (``float`` included).
    epochs, batch_size : int
    update_rule : {"rounded", "stochastic"}
    rounding : {"nearest", "stochastic"}
        How the rounded rule rounds a count (:func:`~snn_rram.training.pulse_counts`).
    pulse_budget : int
        Most pulses a device receives in one update (rounded rule) and the small array's reach
        (``magnitude`` selection).
    stream_length : int
        Pulses per row/column stream of the stochastic rule.
    pair_update : {"potentiate", "push_pull", "ltp_ltd"}
    pulse_rule : {"mean_step", "state_aware"}
        ``state_aware``: read-before-write counts from each device's present conductance
        (our reconstruction; rounded update rule only).
    read_voltage : float
        Read voltage of the state-aware rule's array reads, in V.
    read_time : float
        Read pulse width of those reads, in s.
    selection : {"phase", "magnitude"}
    switch_epoch : int
        ``phase``: epochs on the big array before switching to the small one.
    magnitude_scope : {"array", "cell", "residual"}
    gamma : float
        Area ratio big/small.
    noise_exponent : float
        Relative c2c noise of the big device × γ^(−noise_exponent).
    carry_every : int
        ``hybrid_carry``: updates between transfers.
    carry_remainder : bool
        ``hybrid_carry``: rewrite what the big pulses could not carry into the small pair.
    refresh : {"saturated", "none"}
    refresh_level : float
        Fraction of a device's range above which its pair is refreshed (in (0.5, 1]).
    w_max : float or sequence of float, optional
        Weight of a full-range (big) pair per layer; default ``w_max_sigmas·√(2/fan_in)``.
    w_max_sigmas : float
    """

    synapse: str = "single"
    learning_rate: float = 0.05
    learning_rate_decay: float = 1.0
    epochs: int = 3
    batch_size: int = 1
    update_rule: str = "rounded"
    rounding: str = "nearest"
    pulse_budget: int = 20
    stream_length: int = 10
    pair_update: str = "potentiate"
    pulse_rule: str = "mean_step"
    read_voltage: float = 0.5
    read_time: float = 10e-9
    selection: str = "phase"
    switch_epoch: int = 1
    magnitude_scope: str = "array"
    gamma: float = 10.0
    noise_exponent: float = 0.5
    carry_every: int = 100
    carry_remainder: bool = True
    refresh: str = "saturated"
    refresh_level: float = 0.95
    w_max: float | tuple[float, ...] | None = None
    w_max_sigmas: float = 4.0

    def __post_init__(self):
        w = "OnArrayConfig"
        one_of(self.synapse, f"{w}.synapse", SYNAPSES)
        one_of(self.update_rule, f"{w}.update_rule", UPDATE_RULES)
        one_of(self.rounding, f"{w}.rounding", ROUNDINGS)
        one_of(self.pair_update, f"{w}.pair_update", PAIR_UPDATES)
        one_of(self.selection, f"{w}.selection", SELECTIONS)
        one_of(self.pulse_rule, f"{w}.pulse_rule", PULSE_RULES)
        if self.pulse_rule == "state_aware" and self.update_rule != "rounded":
            raise SnnRramError(
                f"{w}.pulse_rule: 'state_aware' needs update_rule 'rounded' (a stochastic "
                f"coincidence count has no per-device scale), got {self.update_rule!r}"
            )
        for name, unit in (("read_voltage", "volt"), ("read_time", "second")):
            value = as_scalar(getattr(self, name), f"{w}.{name}", unit, nonnegative=True)
            object.__setattr__(self, name, value)
        one_of(self.magnitude_scope, f"{w}.magnitude_scope", _SCOPES)
        one_of(self.refresh, f"{w}.refresh", _REFRESH)
        as_scalar(self.learning_rate, f"{w}.learning_rate", positive=True)
        as_scalar(self.learning_rate_decay, f"{w}.learning_rate_decay", positive=True)
        for name, low in (("epochs", 1), ("batch_size", 1), ("pulse_budget", 1)):
            as_int(getattr(self, name), f"{w}.{name}", low)
        for name, low in (("stream_length", 1), ("switch_epoch", 0), ("carry_every", 1)):
            as_int(getattr(self, name), f"{w}.{name}", low)
        as_scalar(self.gamma, f"{w}.gamma", positive=True)
        as_scalar(self.noise_exponent, f"{w}.noise_exponent", nonnegative=True)
        as_scalar(self.w_max_sigmas, f"{w}.w_max_sigmas", positive=True)
        level = as_scalar(self.refresh_level, f"{w}.refresh_level")
        if not 0.5 < level <= 1:
            raise SnnRramError(f"{w}.refresh_level: expected a value in (0.5, 1], got {level}")
        if not isinstance(self.carry_remainder, bool):
            raise SnnRramError(f"{w}.carry_remainder: expected True or False")
        if self.w_max is not None:
            v = as_array(self.w_max, f"{w}.w_max", ndim=(0, 1), positive=True)
            object.__setattr__(self, "w_max", float(v) if v.ndim == 0 else tuple(v.tolist()))


def _weight_scale(programming: Programming, w_max: float) -> float:
    """``k``: weight per siemens so that a full-range pair spans ``w_max``."""
    return w_max / (programming.g_max - programming.g_min)


class _Layer:
    """The synapses of one layer in one configuration: float, single, hybrid, hybrid_carry."""

    def __init__(self, cfg: OnArrayConfig, programming, shape, w_max, w0, seed, layer):
        self.cfg = cfg
        self.kind = cfg.synapse
        self.updates = 0

        def rng(role):
            return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, layer, role)))

        if self.kind == "float":
            self.W = w0.copy()
            self.arrays = {}
            return
        pu, e_read = cfg.pair_update, cfg.read_voltage**2 * cfg.read_time
        if self.kind == "single":
            k = _weight_scale(programming, w_max)
            self.arrays = {"main": PairArray(programming, shape, k, rng(0), pu, e_read)}
            self.arrays["main"].write(w0)
        else:
            big_dev = programming.scaled(cfg.gamma, cfg.noise_exponent)
            k = _weight_scale(big_dev, w_max)
            self.arrays = {
                "big": PairArray(big_dev, shape, k, rng(0), pu, e_read),
                "small": PairArray(programming, shape, k, rng(1), pu, e_read),
            }
            self.arrays["big"].write(w0)
            self.W = self._sum()

    def _sum(self, rows=slice(None)) -> np.ndarray:
        return self.arrays["big"]._W[rows] + self.arrays["small"]._W[rows]

    def weight(self) -> np.ndarray:
        if len(self.arrays) == 1:
            return self.arrays["main"]._W  # kept up to date by every pulse and write
        return self.W  # float; hybrids: the two arrays' sum, updated where they changed

    def _counts(self, x, delta, w_step, rng) -> np.ndarray:
        cfg = self.cfg
        return pulse_counts(
            x,
            delta,
            self.lr,
            w_step,
            rng,
            cfg.update_rule,
            cfg.pulse_budget,
            cfg.stream_length,
            cfg.rounding,
        )

    def _update_state_aware(self, x, delta, rows, rng) -> None:
        """The selected array(s) read, then pulsed towards ``W + ΔW`` (see the docstring)."""
        cfg = self.cfg
        B = x.shape[0]
        dW = np.outer(x[0], delta[0]) if B == 1 else x.T @ delta
        dW *= -self.lr / B
        b, rounding = cfg.pulse_budget, cfg.rounding
        if self.kind == "single":
            self.arrays["main"].pulse_delta(dW, rows, rng, b, rounding)
            return
        big, small = self.arrays["big"], self.arrays["small"]
        if self.kind == "hybrid_carry":
            small.pulse_delta(dW, rows, rng, b, rounding)
        elif cfg.selection == "phase":
            target = big if self.epoch < cfg.switch_epoch else small
            target.pulse_delta(dW, rows, rng, b, rounding)
        elif cfg.magnitude_scope == "residual":
            rest = dW - big.pulse_delta(dW, rows, rng, b, rounding, expect=True)
            small.pulse_delta(rest, rows, rng, b, rounding)
        else:
            over = np.abs(np.rint(dW / small.w_step)) > b
            if cfg.magnitude_scope == "array":
                (big if over.any() else small).pulse_delta(dW, rows, rng, b, rounding)
            else:  # cell
                big.pulse_delta(np.where(over, dW, 0.0), rows, rng, b, rounding)
                small.pulse_delta(np.where(over, 0.0, dW), rows, rng, b, rounding)

    def update(self, x, delta, epoch: int, rng) -> None:
        cfg = self.cfg
        self.updates += 1
        self.lr = cfg.learning_rate * cfg.learning_rate_decay**epoch
        self.epoch = epoch
        if self.kind == "float":
            self.W -= (self.lr / x.shape[0]) * (x.T @ delta)
            return
        # rows whose input is 0 in the whole batch receive no pulse under either rule
        rows = np.flatnonzero(np.any(x != 0, axis=0))
        x = x[:, rows]
        if cfg.pulse_rule == "state_aware":
            self._update_state_aware(x, delta, rows, rng)
        elif self.kind == "single":
            main = self.arrays["main"]
            main.pulse(self._counts(x, delta, main.w_step, rng), rows)
        elif self.kind == "hybrid":
            big, small = self.arrays["big"], self.arrays["small"]
            if cfg.selection == "phase":
                target = big if epoch < cfg.switch_epoch else small
                target.pulse(self._counts(x, delta, target.w_step, rng), rows)
            else:
                dW = -(self.lr / x.shape[0]) * (x.T @ delta)
                over = np.abs(np.rint(dW / small.w_step)) > cfg.pulse_budget
                if cfg.magnitude_scope == "array":
                    target = big if over.any() else small
                    target.pulse(self._counts(x, delta, target.w_step, rng), rows)
                elif cfg.magnitude_scope == "cell":
                    n_big = self._counts(x, delta, big.w_step, rng)
                    n_small = self._counts(x, delta, small.w_step, rng)
                    big.pulse(np.where(over, n_big, 0), rows)
                    small.pulse(np.where(over, 0, n_small), rows)
                else:  # residual: whole big steps to the big array, the rest to the small one
                    b = cfg.pulse_budget
                    n_big = np.clip(np.rint(dW / big.w_step), -b, b)
                    rest = np.clip(np.rint((dW - n_big * big.w_step) / small.w_step), -b, b)
                    big.pulse(n_big.astype(np.int64), rows)
                    small.pulse(rest.astype(np.int64), rows)
        else:  # hybrid_carry
            small = self.arrays["small"]
            small.pulse(self._counts(x, delta, small.w_step, rng), rows)
        if self.kind == "hybrid_carry":
            big, small = self.arrays["big"], self.arrays["small"]
            if self.updates % cfg.carry_every == 0:
                rows = slice(None)
                ws = small.weight()
                n_big = np.rint(ws / big.w_step).astype(np.int64)
                before = big.weight()
                big.pulse(n_big)
                rest = ws - (big.weight() - before) if cfg.carry_remainder else 0.0
                small.write(rest)
        if cfg.refresh == "saturated":
            for a in self.arrays.values():
                a.refresh_saturated(cfg.refresh_level)
        if self.kind != "single":  # nothing outside the pulsed rows has changed
            self.W[rows] = self._sum(rows)


@dataclass
class OnArrayResult:
    """What :func:`train_on_array` returns.

    Attributes
    ----------
    config : OnArrayConfig
    sizes : tuple of int
        Layer widths, input first.
    train_accuracy, test_accuracy : numpy.ndarray
        Per epoch, index 0 before training (fractions).
    pulses, resets, refreshes : dict of str to numpy.ndarray
        Per array role (``main``; ``big``/``small``) the counts per epoch, summed over layers:
        update pulses plus the pulses of refreshes and carries (the initial write excluded).
    energy : numpy.ndarray
        Programming energy per epoch, in J (pulses × the card's ``pulse_energy``).
    reads : dict of str to numpy.ndarray
        Per array role the array reads per epoch (read-before-write: ``state_aware`` or
        ``ltp_ltd``; 0 otherwise), summed over layers.
    read_energy : numpy.ndarray
        Energy of those reads per epoch, in J (cells only: ``V_read²·t_read·ΣG`` per read).
    weights : list of numpy.ndarray
        Effective weights per layer, shape ``(fan_in + 1, fan_out)`` (bias row last).
    conductances : list of dict
        Per layer and array role the conductances, shape ``(2, fan_in + 1, fan_out)``
        (``[0]`` = G⁺, ``[1]`` = G⁻), in S.
    gains : list of float
        Weight per siemens ``k`` per layer.
    seconds : numpy.ndarray
        Wall time per epoch, s.
    seed : int
    programming : dict or None
        The (small) device's programming table (:meth:`Programming.to_dict`).
    """

    config: OnArrayConfig
    sizes: tuple[int, ...]
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    pulses: dict[str, np.ndarray]
    resets: dict[str, np.ndarray]
    refreshes: dict[str, np.ndarray]
    energy: np.ndarray
    weights: list[np.ndarray]
    conductances: list[dict[str, np.ndarray]] = field(repr=False)
    gains: list[float] = field(default_factory=list)
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    seed: int = 0
    programming: dict | None = None
    reads: dict[str, np.ndarray] = field(default_factory=dict)
    read_energy: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def predict(self, x) -> np.ndarray:
        """Class of each row of ``x`` with the trained effective weights."""
        return _forward(self.weights, np.asarray(x, dtype=np.float64))[-1].argmax(axis=1)

    def array(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Layer ``layer``'s trained arrays as one crossbar: conductances and column gains.

        Returns
        -------
        G : numpy.ndarray, shape (fan_in + 1, n_cols)
            Physical conductances in S, rows = inputs then the always-on bias row; per neuron
            ``j`` the columns ``[G⁺, G⁻]`` (``single``) or ``[Gb⁺, Gb⁻, Gs⁺, Gs⁻]`` (hybrid:
            the big devices' conductances are physical, γ times larger, so every gain is ±1).
        gains : numpy.ndarray, shape (n_cols,)
            +1 / −1 per column; neuron ``j``'s column block is ``j·c … j·c + c − 1``.

        The layer's weights are ``k · Σ_block G · gains`` (``k = self.gains[layer]``), exactly
        :attr:`weights` (see :meth:`effective_weights`).
        """
        if self.config.synapse == "float":
            raise SnnRramError("layer: a float run has no arrays")
        if not 0 <= layer < len(self.conductances):
            raise SnnRramError(f"layer: expected 0 … {len(self.conductances) - 1}, got {layer}")
        return trained_columns(self.conductances[layer])

    def network(self, name: str = "on_array"):
        """The trained effective weights as an :class:`snn_rram.ann.Network` (Dense + ReLU).

        Save it (:func:`snn_rram.ann.save`) as the ``network.weights`` of a run whose
        ``mapping.method`` is ``"trained"`` with this result's file: the run then puts these
        arrays, as trained, onto its crossbars.
        """
        layers = []
        for i, W in enumerate(self.weights):
            layers.append(ann.Dense(W[:-1].T.copy(), W[-1].copy(), name=f"fc{i + 1}"))
            if i + 1 < len(self.weights):
                layers.append(ann.ReLU(name=f"relu{i + 1}"))
        return ann.Network(layers, (self.sizes[0],), name=name)

    def effective_weights(self, layer: int) -> np.ndarray:
        """Weights of layer ``layer`` computed from :meth:`array` (equal to ``weights``)."""
        G, gains = self.array(layer)
        n_out = self.weights[layer].shape[1]
        per_col = G * gains
        return self.gains[layer] * per_col.reshape(G.shape[0], n_out, -1).sum(axis=-1)


def _augment(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)


def _forward(weights, x) -> list[np.ndarray]:
    """Activations of every layer (input first, logits last)."""
    acts = [x]
    for i, W in enumerate(weights):
        z = _augment(acts[-1]) @ W
        acts.append(z if i == len(weights) - 1 else np.maximum(z, 0.0))
    return acts


def _accuracy(weights, x, y, chunk: int = 2048) -> float:
    hits = 0
    for s in range(0, x.shape[0], chunk):
        hits += int(
            (_forward(weights, x[s : s + chunk])[-1].argmax(axis=1) == y[s : s + chunk]).sum()
        )
    return hits / x.shape[0]


def _check_data(x, y, name, n_in):
    x = as_array(x, f"{name} images", ndim=2)
    if x.shape[1] != n_in:
        raise SnnRramError(f"{name} images: expected {n_in} features per row, got {x.shape[1]}")
    y = np.asarray(y)
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise SnnRramError(f"{name} labels: expected {x.shape[0]} integer labels, got {y.shape}")
    return x, y.astype(np.int64)


def train_on_array(
    sizes: Sequence[int],
    programming: Programming | None,
    x_train,
    y_train,
    x_test,
    y_test,
    config: OnArrayConfig | None = None,
    seed: int = 0,
    progress: bool = False,
) -> OnArrayResult:
    """Train a multilayer perceptron on crossbar arrays with pulse updates (paper 3).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first (e.g. ``(784, 100, 10)``).
    programming : Programming or None
        The (small) device's pulse model (a card's ``device.programming``); None only for
        ``synapse = "float"``.
    x_train, x_test : array_like
        Inputs, one row per example (e.g. pixels in [0, 1]).
    y_train, y_test : array_like of int
        Class labels in ``0 … sizes[-1] − 1``.
    config : OnArrayConfig, optional
    seed : int
        One seed for everything (initialisation, order, each array's variation and noise).
    progress : bool
        A progress bar over the epochs.

    Returns
    -------
    OnArrayResult
    """
    cfg = OnArrayConfig() if config is None else config
    if not isinstance(cfg, OnArrayConfig):
        raise SnnRramError(f"config: expected an OnArrayConfig, got {cfg!r}")
    sizes = tuple(as_int(s, f"sizes[{i}]", 1) for i, s in enumerate(sizes))
    if len(sizes) < 2:
        raise SnnRramError(f"sizes: expected at least input and output widths, got {sizes}")
    seed = as_int(seed, "seed", 0)
    if cfg.synapse != "float" and not isinstance(programming, Programming):
        raise SnnRramError(
            f"programming: synapse {cfg.synapse!r} needs a Programming (a device card with a "
            f"[programming] table), got {programming!r}"
        )
    x_train, y_train = _check_data(x_train, y_train, "train", sizes[0])
    x_test, y_test = _check_data(x_test, y_test, "test", sizes[0])
    for name, y in (("train", y_train), ("test", y_test)):
        if y.size and (y.min() < 0 or y.max() >= sizes[-1]):
            raise SnnRramError(f"{name} labels: expected classes 0 … {sizes[-1] - 1}")
    n_layers = len(sizes) - 1
    if cfg.w_max is None:
        w_max = [cfg.w_max_sigmas * math.sqrt(2.0 / sizes[i]) for i in range(n_layers)]
    elif isinstance(cfg.w_max, tuple):
        if len(cfg.w_max) != n_layers:
            raise SnnRramError(
                f"config.w_max: expected one value per layer ({n_layers}), got {len(cfg.w_max)}"
            )
        w_max = list(cfg.w_max)
    else:
        w_max = [cfg.w_max] * n_layers

    def rng(*key):
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))

    init = rng(0)
    layers = []
    for i in range(n_layers):
        shape = (sizes[i] + 1, sizes[i + 1])
        w0 = init.standard_normal(shape) * math.sqrt(2.0 / sizes[i])
        w0[-1] = 0.0
        w0 = np.clip(w0, -w_max[i], w_max[i])
        layers.append(_Layer(cfg, programming, shape, w_max[i], w0, seed, i))
    order, stoch = rng(1), rng(3)
    roles = sorted({r for layer in layers for r in layer.arrays})
    E = cfg.epochs
    counts = {
        what: {r: np.zeros(E, dtype=np.int64) for r in roles}
        for what in ("pulses", "resets", "refreshes", "reads")
    }
    energy, read_energy, seconds = np.zeros(E), np.zeros(E), np.zeros(E)
    weights = [layer.weight() for layer in layers]
    train_acc = [_accuracy(weights, x_train, y_train)]
    test_acc = [_accuracy(weights, x_test, y_test)]
    onehot = np.eye(sizes[-1])
    epochs = range(E)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc=f"on-array {cfg.synapse}", unit="epoch")
    for epoch in epochs:
        t0 = time.perf_counter()
        before = {
            (what, r): sum(getattr(la.arrays[r], what) for la in layers if r in la.arrays)
            for what in counts
            for r in roles
        }
        e0, r0 = _energy(layers), _read_energy(layers)
        perm = order.permutation(x_train.shape[0])
        for s in range(0, perm.size, cfg.batch_size):
            idx = perm[s : s + cfg.batch_size]
            acts = _forward(weights, x_train[idx])
            z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
            p = np.exp(z)
            delta = p / p.sum(axis=1, keepdims=True) - onehot[y_train[idx]]
            for i in range(n_layers - 1, -1, -1):
                back = delta @ weights[i][:-1].T if i else None
                layers[i].update(_augment(acts[i]), delta, epoch, stoch)
                weights[i] = layers[i].weight()
                if i:
                    delta = back * (acts[i] > 0)
        for what in counts:
            for r in roles:
                now = sum(getattr(la.arrays[r], what) for la in layers if r in la.arrays)
                counts[what][r][epoch] = now - before[(what, r)]
        energy[epoch] = _energy(layers) - e0
        read_energy[epoch] = _read_energy(layers) - r0
        seconds[epoch] = time.perf_counter() - t0
        train_acc.append(_accuracy(weights, x_train, y_train))
        test_acc.append(_accuracy(weights, x_test, y_test))
    return OnArrayResult(
        config=cfg,
        sizes=sizes,
        train_accuracy=np.array(train_acc),
        test_accuracy=np.array(test_acc),
        pulses=counts["pulses"],
        resets=counts["resets"],
        refreshes=counts["refreshes"],
        energy=energy,
        weights=[w.copy() for w in weights],
        conductances=[{r: a.G.copy() for r, a in la.arrays.items()} for la in layers],
        gains=[next(iter(la.arrays.values())).k if la.arrays else 1.0 for la in layers],
        seconds=seconds,
        seed=seed,
        programming=None if programming is None else programming.to_dict(),
        reads=counts["reads"],
        read_energy=read_energy,
    )


def _energy(layers) -> float:
    """Programming energy so far: pulses × each array's pulse energy, in J."""
    return sum(a.pulses * a.programming.pulse_energy for la in layers for a in la.arrays.values())


def _read_energy(layers) -> float:
    """Energy of the periphery's array reads so far, in J."""
    return sum(a.read_energy for la in layers for a in la.arrays.values())
