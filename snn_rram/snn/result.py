"""What a spiking-network run returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from snn_rram._layer_energy import LayerEnergy
from snn_rram._validation import as_array
from snn_rram.errors import SnnRramError

__all__ = ["LayerResult", "SnnResult"]


@dataclass
class LayerResult(LayerEnergy):
    """Spikes and energy of one crossbar layer.

    ``total_device_energy`` and ``total_neuron_energy`` (J) are those of
    :class:`snn_rram._layer_energy.LayerEnergy`, shared with :class:`snn_rram.results.LayerRecord`.

    Attributes
    ----------
    spike_indices, spike_times : numpy.ndarray
        Spikes of the layer's neurons (index, s).
    device_energy : numpy.ndarray or scipy.sparse.csr_matrix, shape (n_rows, n_cols)
        Energy dissipated in every device over the run, J, in the layout of the crossbar's
        conductances (dense, or sparse for sparse crossbars); ``None`` without energy
        accounting.
    neuron_energy : numpy.ndarray, shape (n_cols,)
        Energy dissipated in each column's neuron input, ``∫ V²/R_N dt``, J.
    read_counts : numpy.ndarray of int, shape (n_rows,)
        Read pulses applied to each physical row (0 for always-on rows, which are never pulsed
        but always read).
    n_synapses : int
        Logical synapses (stored weights) of the layer, for per-synapse averages.
    """

    name: str
    spike_indices: np.ndarray
    spike_times: np.ndarray
    device_energy: np.ndarray | sp.csr_matrix | None
    neuron_energy: np.ndarray | None
    read_counts: np.ndarray
    n_synapses: int
    states: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class SnnResult:
    """Outcome of presenting ``n_images`` images back to back.

    Attributes
    ----------
    layers : list of LayerResult
    counts : numpy.ndarray of int, shape (n_images, n_outputs)
        Output spikes per image.
    v_end : numpy.ndarray, shape (n_images, n_outputs)
        Output membrane potential at the end of each image, V (breaks ties between counts).
    image_duration, dt : float
        s.
    timings : dict
        ``simulation_s`` (Brian2 network run; for standalone the C++ run time),
        ``collect_s`` (reading results and computing energies) and ``energy_s`` (the energy
        computations alone), s.
    """

    layers: list[LayerResult]
    counts: np.ndarray
    v_end: np.ndarray
    image_duration: float
    dt: float
    target: str
    input_counts: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        """Number of images presented."""
        return int(self.counts.shape[0])

    @property
    def duration(self) -> float:
        """Simulated time, s."""
        return self.n_images * self.image_duration

    @property
    def predictions(self) -> np.ndarray:
        """Predicted class per image: most output spikes, ties broken by the membrane potential."""
        score = self.counts + 0.5 * np.tanh(self.v_end / (np.abs(self.v_end).max() + 1e-300))
        return np.argmax(score, axis=1)

    def accuracy(self, labels) -> float:
        """Fraction of images whose prediction equals ``labels``."""
        y = as_array(labels, "labels", ndim=1)
        if y.size != self.n_images:
            raise SnnRramError(f"labels: expected {self.n_images} labels, got {y.size}")
        return float(np.mean(self.predictions == y))

    def total_device_energy(self) -> float:
        """Energy of every device of every layer, J."""
        return sum(layer.total_device_energy for layer in self.layers)

    def average_power_per_synapse(self) -> float:
        """Total device energy / (logical synapses × simulated time), W."""
        n = sum(layer.n_synapses for layer in self.layers)
        return self.total_device_energy() / (n * self.duration)
