"""Spiking networks on RRAM crossbars in Brian2.

:class:`SpikingNetwork` builds integrate-and-fire layers (:class:`IFNeuron`) driven by an
event-based synapse layer that computes the read currents of each passive array from its column
conductance sums, and accounts the energy of every device exactly. Encoders
(:class:`PoissonEncoder`, :class:`RegularEncoder`) turn images into input spike trains presented
back to back in one run.
"""

from snn_rram.errors import install_excepthook
from snn_rram.snn.encoders import PoissonEncoder, RegularEncoder, SpikeTrains
from snn_rram.snn.network import SpikingNetwork
from snn_rram.snn.neuron import IFNeuron
from snn_rram.snn.result import LayerResult, SnnResult
from snn_rram.snn.sense_network import SenseLayer, SenseNetwork

install_excepthook()  # after Brian2 was imported: our errors print no Brian2 banner

__all__ = [
    "IFNeuron",
    "LayerResult",
    "PoissonEncoder",
    "RegularEncoder",
    "SenseLayer",
    "SenseNetwork",
    "SnnResult",
    "SpikeTrains",
    "SpikingNetwork",
]
