"""The Brian2 graph of a spiking network: input generator, layers and the end-of-image monitor."""

from __future__ import annotations

from dataclasses import dataclass

import brian2 as b2

from snn_rram.snn.encoders import SpikeTrains
from snn_rram.snn.layers import CoupledLayer, EventLayer, LayerSpec

__all__ = ["Graph", "build_graph"]


@dataclass(frozen=True)
class Graph:
    """The Brian2 objects of one network.

    Attributes
    ----------
    layers : list of EventLayer or CoupledLayer
        The layers, input first; each owns its monitors.
    network : brian2.Network
        Every object of the graph.
    v_end : brian2.StateMonitor
        The output layer's membranes at the start of every image (before its reset).
    """

    layers: list
    network: b2.Network
    v_end: b2.StateMonitor


def build_graph(name: str, spikes: SpikeTrains, specs: list[LayerSpec], coupled: list[bool]):
    """Create the Brian2 objects of a network in the current device.

    Parameters
    ----------
    name : str
        Prefix of the Brian2 object names.
    spikes : SpikeTrains
        Input spikes of all images.
    specs : list of LayerSpec
        The layers, input first.
    coupled : list of bool
        Which layers are coupled (:class:`CoupledLayer`) rather than event based.

    Returns
    -------
    Graph
    """
    dt = spikes.dt * b2.second
    source = b2.SpikeGeneratorGroup(
        spikes.n_inputs, spikes.indices, spikes.steps * dt, dt=dt, name=f"{name}_input"
    )
    objects = [source]
    layers = []
    for k, (spec, is_coupled) in enumerate(zip(specs, coupled, strict=True)):
        layer = (CoupledLayer if is_coupled else EventLayer)(spec, source)
        # every image starts from rest
        reset = layer.group.run_regularly(
            "v = 0*volt", dt=spikes.image_steps * dt, when="start", name=f"{name}_L{k}_image"
        )
        objects += [*layer.objects, reset]
        layers.append(layer)
        source = layer.group
    v_end = b2.StateMonitor(
        layers[-1].group,
        "v",
        record=True,
        dt=spikes.image_steps * dt,
        when="start",
        order=-1,
        name=f"{name}_v_end",
    )
    objects.append(v_end)
    return Graph(layers, b2.Network(objects, name=f"{name}_network"), v_end)
