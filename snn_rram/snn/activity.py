"""The spikes that drove one layer in a run, as its :meth:`collect` needs them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from snn_rram.snn.energy import activity_windows

__all__ = ["InputActivity"]


@dataclass(frozen=True, eq=False)
class InputActivity:
    """The read pulses of one layer's logical inputs over a run.

    Attributes
    ----------
    indices, steps : numpy.ndarray of int
        Input and time step of every spike that starts a pulse.
    n_inputs : int
        Logical inputs of the layer.
    n_steps : int
        Time steps of the run.
    pulse_steps : int
        Read pulse width in steps (a pulse starting at step s covers s+1 … s+pulse_steps).
    """

    indices: np.ndarray
    steps: np.ndarray
    n_inputs: int
    n_steps: int
    pulse_steps: int

    @functools.cached_property
    def counts(self) -> np.ndarray:
        """Read pulses per input, shape (n_inputs,)."""
        return np.bincount(self.indices, minlength=self.n_inputs)

    @functools.cached_property
    def open_inputs(self) -> np.ndarray:
        """Inputs whose last pulse is still on at the end of the run, shape (n_inputs,)."""
        last = np.full(self.n_inputs, -(10**12), dtype=np.int64)
        np.maximum.at(last, self.indices, self.steps)
        return last + self.pulse_steps >= self.n_steps

    @functools.cached_property
    def windows(self):
        """Pulse-window matrix (n_steps, n_inputs), sparse (:func:`activity_windows`)."""
        return activity_windows(
            self.indices, self.steps, self.n_inputs, self.n_steps, self.pulse_steps
        )
