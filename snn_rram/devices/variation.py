"""Device non-idealities: programming error, read noise and stuck-at faults, always seeded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snn_rram._validation import as_rng, as_scalar, one_of
from snn_rram.devices.levels import Levels
from snn_rram.errors import SnnRramError

__all__ = ["PROGRAMMING_DISTRIBUTIONS", "Variation"]

#: The distributions of the programming error (``Variation.programming_distribution``).
PROGRAMMING_DISTRIBUTIONS = ("normal", "lognormal")


@dataclass(frozen=True)
class Variation:
    """Variation of a device, applied after mapping (programming) or per read.

    Parameters
    ----------
    programming_sigma : float
        Relative standard deviation of the device-to-device programming error.
    programming_distribution : {"normal", "lognormal"}
        ``normal``: ``G · (1 + σ·ε)``, clipped at 0 S; ``lognormal``: ``G · exp(σ·ε)``
        (median G), with ε standard normal.
    read_sigma : float
        Relative standard deviation of the read noise, drawn independently per device and read:
        ``G · (1 + σ·ε)``, clipped at 0 S.
    stuck_lrs, stuck_hrs : float
        Fractions of devices stuck at the highest / lowest level, whatever they were programmed
        to (drawn after the programming error; disjoint).
    """

    programming_sigma: float = 0.0
    programming_distribution: str = "normal"
    read_sigma: float = 0.0
    stuck_lrs: float = 0.0
    stuck_hrs: float = 0.0

    def __post_init__(self):
        for name in ("programming_sigma", "read_sigma", "stuck_lrs", "stuck_hrs"):
            x = as_scalar(getattr(self, name), f"Variation.{name}", nonnegative=True)
            object.__setattr__(self, name, x)
        one_of(
            self.programming_distribution,
            "Variation.programming_distribution",
            PROGRAMMING_DISTRIBUTIONS,
        )
        if self.stuck_lrs + self.stuck_hrs > 1:
            raise SnnRramError(
                f"Variation: stuck_lrs + stuck_hrs must not exceed 1, got "
                f"{self.stuck_lrs} + {self.stuck_hrs}"
            )

    @property
    def programming_active(self) -> bool:
        """True when programming changes conductances (error or faults)."""
        return bool(self.programming_sigma or self.stuck_lrs or self.stuck_hrs)

    def draw(self, shape, levels: Levels, rng) -> tuple[np.ndarray, np.ndarray]:
        """Draw the programming variation of devices of ``shape``.

        Returns
        -------
        factor : numpy.ndarray
            Multiplicative error of each device (1 without programming error).
        stuck : numpy.ndarray
            The conductance a stuck device is fixed at, NaN for devices that are not stuck.
        """
        rng = as_rng(rng)
        shape = tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
        factor = np.ones(shape)
        if self.programming_sigma:
            eps = rng.standard_normal(shape)
            if self.programming_distribution == "normal":
                factor = 1.0 + self.programming_sigma * eps
            else:
                factor = np.exp(self.programming_sigma * eps)
        stuck = np.full(shape, np.nan)
        if self.stuck_lrs or self.stuck_hrs:
            u = rng.random(shape)
            stuck = np.where(u < self.stuck_lrs, levels.g_max, stuck)
            hrs = (u >= self.stuck_lrs) & (u < self.stuck_lrs + self.stuck_hrs)
            stuck = np.where(hrs, levels.g_min, stuck)
        return factor, stuck

    @staticmethod
    def apply(G, factor, stuck) -> np.ndarray:
        """Conductances of devices with drawn variation programmed to targets ``G``."""
        G = np.asarray(G, dtype=np.float64)
        out = np.where(np.isnan(stuck), np.maximum(G * factor, 0.0), stuck)
        return np.where(G != 0, out, 0.0)

    def program(self, G, levels: Levels, rng) -> np.ndarray:
        """Conductances actually programmed when ``G`` is the target.

        Parameters
        ----------
        G : array_like
            Target conductances, in S (any shape). Entries equal to 0 S mean "no device" and
            stay 0.
        levels : Levels
            The device's levels; stuck devices take ``levels.g_max`` or ``levels.g_min``.
        rng : int or numpy.random.Generator
            Seed or generator.

        Returns
        -------
        numpy.ndarray
            Programmed conductances, same shape as ``G``.
        """
        G = np.asarray(G, dtype=np.float64)
        return self.apply(G, *self.draw(G.shape, levels, rng))

    def read(self, G, rng, size: tuple[int, ...] = ()) -> np.ndarray:
        """Conductances seen by ``size`` independent reads (read noise only).

        Returns an array of shape ``size + G.shape``.
        """
        G = np.asarray(G, dtype=np.float64)
        if not self.read_sigma:
            return np.broadcast_to(G, tuple(size) + G.shape)
        eps = as_rng(rng).standard_normal(tuple(size) + G.shape)
        return np.maximum(G * (1.0 + self.read_sigma * eps), 0.0)

    def to_dict(self) -> dict:
        """The variation as a TOML-ready table."""
        return {
            "programming_sigma": self.programming_sigma,
            "programming_distribution": self.programming_distribution,
            "read_sigma": self.read_sigma,
            "stuck_lrs": self.stuck_lrs,
            "stuck_hrs": self.stuck_hrs,
        }
