"""Encoders: images to input spike trains, many images back to back on one time grid.

A spike of input i is a read pulse on its rows, so two spikes of one input must be at least a
pulse width apart: every encoder here keeps a dead time (in whole time steps) between the spikes
of each input, across image boundaries too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snn_rram._validation import as_array, as_rng, as_scalar
from snn_rram.errors import SnnRramError

__all__ = ["ENCODERS", "PoissonEncoder", "RegularEncoder", "SpikeTrains"]


@dataclass(frozen=True, eq=False)
class SpikeTrains:
    """Spikes of ``n_inputs`` inputs on a time grid, for ``n_images`` images back to back.

    Attributes
    ----------
    indices : numpy.ndarray of int32
        Input index of each spike, sorted by time step then index.
    steps : numpy.ndarray of int64
        Time step of each spike (time = step · dt).
    n_inputs, n_images, image_steps : int
        Image ``k`` occupies steps ``[k · image_steps, (k + 1) · image_steps)``.
    dt : float
        Time step, s.
    """

    indices: np.ndarray
    steps: np.ndarray
    n_inputs: int
    n_images: int
    image_steps: int
    dt: float

    @property
    def times(self) -> np.ndarray:
        """Spike times, s."""
        return self.steps * self.dt

    @property
    def duration(self) -> float:
        """Total duration of all images, s."""
        return self.n_images * self.image_steps * self.dt

    def counts(self) -> np.ndarray:
        """Spikes per image and input, shape (n_images, n_inputs)."""
        image = self.steps // self.image_steps
        flat = np.bincount(
            image * self.n_inputs + self.indices, minlength=self.n_images * self.n_inputs
        )
        return flat.reshape(self.n_images, self.n_inputs)

    def min_gap_steps(self) -> int:
        """Smallest number of steps between two spikes of one input (a large number if none)."""
        order = np.lexsort((self.steps, self.indices))
        idx, st = self.indices[order], self.steps[order]
        same = idx[1:] == idx[:-1]
        gaps = np.diff(st)[same]
        return int(gaps.min()) if gaps.size else np.iinfo(np.int64).max


def _checked_images(images, n_inputs=None):
    x = as_array(images, "images", ndim=2)
    if n_inputs is not None and x.shape[1] != n_inputs:
        raise SnnRramError(f"images: expected {n_inputs} values per image, got {x.shape[1]}")
    if (x < 0).any() or (x > 1).any():
        raise SnnRramError("images: intensities must lie in [0, 1] (scale them first)")
    return x


def _grid(dt, image_duration, dead_time):
    dt = as_scalar(dt, "dt", "second", positive=True)
    image_duration = as_scalar(image_duration, "image_duration", "second", positive=True)
    image_steps = round(image_duration / dt)
    if abs(image_steps * dt - image_duration) > 1e-9 * image_duration:
        raise SnnRramError(
            f"image_duration: {image_duration:g} s is not a whole number of steps of dt = {dt:g} s"
        )
    dead_steps = math.ceil(dead_time / dt - 1e-9)
    return dt, image_steps, dead_steps


def _finish(indices, steps, n_inputs, n_images, image_steps, dt, dead_steps):
    """Sort the spikes; drop those closer than the dead time to their input's previous spike.

    Only the first spike of an image can be, after the last one of the image before.
    """
    order = np.lexsort((steps, indices))
    indices, steps = indices[order], steps[order]
    if steps.size > 1:
        too_close = np.r_[False, (indices[1:] == indices[:-1]) & (np.diff(steps) < dead_steps)]
        indices, steps = indices[~too_close], steps[~too_close]
    order = np.lexsort((indices, steps))
    return SpikeTrains(
        indices[order].astype(np.int32),
        steps[order].astype(np.int64),
        n_inputs,
        n_images,
        image_steps,
        dt,
    )


def _check_rate_and_dead_time(self):
    """``__post_init__`` of the encoders: SI floats from numbers or Brian2 quantities."""
    name = type(self).__name__
    rate = as_scalar(self.max_rate, f"{name}.max_rate", "hertz", positive=True)
    dead = as_scalar(self.dead_time, f"{name}.dead_time", "second", nonnegative=True)
    object.__setattr__(self, "max_rate", rate)
    object.__setattr__(self, "dead_time", dead)


@dataclass(frozen=True)
class PoissonEncoder:
    """Poisson spike trains with a dead time, rate proportional to intensity.

    Each input is a discrete-time renewal process: after a spike it is silent for
    ``dead_time`` (rounded up to whole steps), then spikes in each step with a fixed probability
    chosen so that the mean rate is ``intensity · max_rate``.

    Parameters
    ----------
    max_rate : float or brian2.Quantity
        Rate of an input of intensity 1, Hz.
    dead_time : float or brian2.Quantity
        Minimum time between two spikes of one input, s; it must be at least the read pulse
        width (checked when the network is built).
    """

    max_rate: float = 100.0
    dead_time: float = 0.0

    __post_init__ = _check_rate_and_dead_time

    def encode(self, images, dt, image_duration, rng) -> SpikeTrains:
        """Spike trains of ``images`` (n_images, n_inputs) in [0, 1], back to back.

        Parameters
        ----------
        images : array_like, shape (n_images, n_inputs)
        dt : float or brian2.Quantity
            Simulation time step, s.
        image_duration : float or brian2.Quantity
            Presentation time of one image, s (a whole number of steps).
        rng : int or numpy.random.Generator
        """
        x = _checked_images(images)
        dt, image_steps, dead = _grid(dt, image_duration, self.dead_time)
        rng = as_rng(rng)
        n_images, n_inputs = x.shape
        mean_isi = 1.0 / (np.maximum(x, 1e-300) * self.max_rate * dt)  # steps
        if self.max_rate * dt * max(dead, 1) > 1:
            raise SnnRramError(
                f"PoissonEncoder: max_rate {self.max_rate:g} Hz is too high for a dead time of "
                f"{dead} steps of {dt:g} s"
            )
        img, inp = np.nonzero(x > 0)
        # per-step probability after the dead time: mean ISI = dead + (1 − p) / p
        p = 1.0 / (mean_isi[img, inp] - dead + 1.0)
        p = np.clip(p, 0.0, 1.0)
        expected = image_steps / mean_isi[img, inp]
        k = int(np.ceil(expected.max(initial=0.0) + 6 * np.sqrt(expected.max(initial=0.0)) + 3))
        isi = rng.geometric(p[:, None], size=(p.size, k)) - 1  # failures before the spike
        isi[:, 1:] += dead
        t = np.cumsum(isi, axis=1)
        while t.size and (t[:, -1] < image_steps).any():  # rare: extend the short rows
            more = rng.geometric(p[:, None], size=(p.size, k)) - 1 + dead
            t = np.concatenate([t, t[:, -1:] + np.cumsum(more, axis=1)], axis=1)
        keep = t < image_steps
        rows = np.nonzero(keep)[0]
        steps = t[keep] + img[rows].astype(np.int64) * image_steps
        return _finish(inp[rows], steps, n_inputs, n_images, image_steps, dt, max(dead, 1))


@dataclass(frozen=True)
class RegularEncoder:
    """Regular spike trains, one spike every ``1 / (intensity · max_rate)``.

    The first spike of an input falls half a period after the image starts; periods are rounded
    to whole steps and never shorter than ``dead_time``.

    Parameters
    ----------
    max_rate : float or brian2.Quantity
        Rate of an input of intensity 1, Hz.
    dead_time : float or brian2.Quantity
        Minimum time between two spikes of one input, s.
    """

    max_rate: float = 100.0
    dead_time: float = 0.0

    __post_init__ = _check_rate_and_dead_time

    def encode(self, images, dt, image_duration, rng=None) -> SpikeTrains:
        """Spike trains of ``images`` (n_images, n_inputs) in [0, 1]; ``rng`` is unused."""
        x = _checked_images(images)
        dt, image_steps, dead = _grid(dt, image_duration, self.dead_time)
        n_images, n_inputs = x.shape
        img, inp = np.nonzero(x > 0)
        period = np.maximum(np.round(1.0 / (x[img, inp] * self.max_rate * dt)), max(dead, 1))
        k = int(np.ceil(image_steps / period.min(initial=image_steps))) + 1
        t = np.floor(period[:, None] * (np.arange(k)[None, :] + 0.5)).astype(np.int64)
        keep = t < image_steps
        rows = np.nonzero(keep)[0]
        steps = t[keep] + img[rows].astype(np.int64) * image_steps
        return _finish(inp[rows], steps, n_inputs, n_images, image_steps, dt, max(dead, 1))


#: Encoder kinds (a run config's ``encoder.kind``) and their classes.
ENCODERS = {"poisson": PoissonEncoder, "regular": RegularEncoder}
