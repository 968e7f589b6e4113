"""Many cells and their periphery: the crossbar, its read circuit and static read solvers.

:class:`Crossbar` holds the programmed conductances and how they serve a layer
(:class:`Layout`); :class:`Circuit` says how it is read. :meth:`Crossbar.read` computes the
currents of a passive array under voltage division with the neuron inputs, batched over many
input vectors; :meth:`Crossbar.static_gain` gives the static read distortion;
:meth:`Crossbar.to_spice` writes the same circuit for ngspice. :class:`PCSA` reads differential
2T2R pairs with a precharge sense amplifier (binary and ternary weights).
"""

from snn_rram.crossbar.array import Crossbar
from snn_rram.crossbar.circuit import Circuit
from snn_rram.crossbar.layout import ALWAYS_ON, Layout
from snn_rram.crossbar.pcsa import PCSA, ReadErrorRates, TwoStateCells, program_2t2r
from snn_rram.crossbar.result import ReadResult

__all__ = [
    "ALWAYS_ON",
    "PCSA",
    "Circuit",
    "Crossbar",
    "Layout",
    "ReadErrorRates",
    "ReadResult",
    "TwoStateCells",
    "program_2t2r",
]
