"""After a run: every layer's spikes and energies, predictions and final membranes."""

from __future__ import annotations

import numpy as np

from snn_rram.snn.activity import InputActivity
from snn_rram.snn.encoders import SpikeTrains
from snn_rram.snn.graph import Graph
from snn_rram.snn.result import SnnResult

__all__ = ["collect_result"]


def collect_result(
    graph: Graph, spikes: SpikeTrains, conductances, pulse_steps, target: str
) -> SnnResult:
    """The :class:`SnnResult` of a finished run of ``graph``.

    Parameters
    ----------
    graph : Graph
        The network's Brian2 objects after the run.
    spikes : SpikeTrains
        The input spikes of the run.
    conductances : list
        Each layer's conductances in the run, S.
    pulse_steps : list of int
        Each layer's read pulse width in steps.
    target : str
        The code-generation target (recorded in the result).
    """
    dt = spikes.dt
    n = spikes.n_images * spikes.image_steps
    activity = InputActivity(spikes.indices, spikes.steps, spikes.n_inputs, n, pulse_steps[0])
    results = []
    for k, layer in enumerate(graph.layers):
        if k:  # the previous layer's spikes drive this one
            prev = results[-1]
            steps = np.round(prev.spike_times / dt).astype(np.int64)
            activity = InputActivity(
                prev.spike_indices, steps, layer.plan.n_inputs, n, pulse_steps[k]
            )
        results.append(layer.collect(conductances[k], activity, f"layer{k}"))
    out = results[-1]
    n_out = graph.layers[-1].plan.n_neurons
    image = np.round(out.spike_times / dt).astype(np.int64) // spikes.image_steps
    counts = np.bincount(
        image * n_out + out.spike_indices, minlength=spikes.n_images * n_out
    ).reshape(spikes.n_images, n_out)
    v = np.array(graph.v_end.v_).T  # (records, n_out): v at the start of each image
    v_end = np.empty((spikes.n_images, n_out))
    v_end[:-1] = v[1 : spikes.n_images]
    v_end[-1] = np.array(graph.layers[-1].group.v_[:])
    return SnnResult(
        results,
        counts,
        v_end,
        spikes.image_steps * dt,
        dt,
        target,
        input_counts=np.bincount(spikes.indices, minlength=spikes.n_inputs),
    )
