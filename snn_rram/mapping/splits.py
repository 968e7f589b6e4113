"""Achievable values of device splits and the search for the best split of each target.

A *side* of a weight is one device or ``k`` parallel devices (on ``k`` rows of the same input,
read together, so their currents add). Its achievable values are the sums of ``k`` levels; a
*split* is one achievable value on the positive side and one on the negative side. The search
is exhaustive and vectorised: for every target and every positive-side value, the nearest
negative-side values are found by bisection, so every split is considered without forming all
pairs (``O(T · n log n)`` instead of ``O(T · n²)``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from snn_rram.errors import SnnRramError

__all__ = ["Side", "best_splits", "side_values"]


@dataclass(frozen=True, eq=False)
class Side:
    """Achievable values of one side, sorted by value.

    Attributes
    ----------
    value : numpy.ndarray, shape (n,)
        What the side contributes (nominal or effective conductance sum), S.
    cost : numpy.ndarray, shape (n,)
        Nominal conductance sum of its devices, S (the read power is proportional to it).
    combo : numpy.ndarray of int, shape (n, k)
        Level indices of its ``k`` devices.
    """

    value: np.ndarray
    cost: np.ndarray
    combo: np.ndarray


def side_values(levels, k: int = 1, transfer=None) -> Side:
    """All sums of ``k`` levels (with repetition); for equal values the cheapest is kept.

    Parameters
    ----------
    levels : numpy.ndarray, shape (K,)
        Programmable conductances, S.
    k : int
        Parallel devices per side.
    transfer : numpy.ndarray, shape (K,), optional
        What each level contributes when read (effective conductance); default the level.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise SnnRramError(f"parallel: expected an integer >= 1, got {k!r}")
    levels = np.asarray(levels, dtype=np.float64)
    transfer = levels if transfer is None else np.asarray(transfer, dtype=np.float64)
    combos = np.array(list(itertools.combinations_with_replacement(range(levels.size), k)))
    value = transfer[combos].sum(axis=1)
    cost = levels[combos].sum(axis=1)
    order = np.lexsort((cost, value))
    value, cost, combos = value[order], cost[order], combos[order]
    keep = np.r_[True, np.diff(value) > 0]  # same value: the first (cheapest) stays
    return Side(value[keep], cost[keep], combos[keep])


def best_splits(
    pos: Side,
    neg: Side,
    targets,
    *,
    power_weight: float = 0.0,
    error_scale: float = 1.0,
    cost_scale: float = 1.0,
):
    """For each target, the split ``pos.value[a] − neg.value[b]`` minimising the objective.

    Objective: ``(error / error_scale)² + power_weight · (cost_a + cost_b) / cost_scale``;
    among splits of equal objective the cheaper one wins.

    Parameters
    ----------
    pos, neg : Side
    targets : numpy.ndarray, shape (T,)
        Wanted differences, S.
    power_weight, error_scale, cost_scale : float
        Trade-off and normalisations of the objective.

    Returns
    -------
    a, b : numpy.ndarray of int, shape (T,)
        Indices into ``pos`` and ``neg``.
    error : numpy.ndarray, shape (T,)
        Realised difference minus target, S.
    cost : numpy.ndarray, shape (T,)
        Nominal conductance of the split, S.
    """
    t = np.asarray(targets, dtype=np.float64)
    want = pos.value[None, :] - t[:, None]  # (T, n_pos): the negative value each needs
    j = np.searchsorted(neg.value, want)
    best = None
    for cand in (np.clip(j - 1, 0, neg.value.size - 1), np.clip(j, 0, neg.value.size - 1)):
        err = pos.value[None, :] - neg.value[cand] - t[:, None]
        cost = pos.cost[None, :] + neg.cost[cand]
        obj = (err / error_scale) ** 2 + power_weight * cost / cost_scale
        if best is None:
            best = [obj, cost, err, cand]
        else:
            better = (obj < best[0]) | ((obj == best[0]) & (cost < best[1]))
            for slot, new in enumerate((obj, cost, err, cand)):
                best[slot] = np.where(better, new, best[slot])
    obj, cost, err, cand = best
    # among the positive-side values, the best objective, then the cheapest
    a = np.lexsort((cost, obj), axis=1)[:, 0] if obj.ndim == 2 else np.lexsort((cost, obj))[0]
    rows = np.arange(t.size)
    return a, cand[rows, a], err[rows, a], cost[rows, a]
