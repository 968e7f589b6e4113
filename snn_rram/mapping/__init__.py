"""Weights to conductances: quantisation and the mapping methods.

Every method takes a layer's normalised weights, a :class:`~snn_rram.devices.Device` and a
:class:`~snn_rram.crossbar.Circuit` and returns a :class:`Mapping` (the programmed
:class:`~snn_rram.crossbar.Crossbar`, its scale and a report). Methods are registered by name
(:func:`register`), so a configuration picks one by string: ``mapping.get("linear_pair")``.
"""

from snn_rram.mapping.base import Mapping, MappingWarning, differential_crossbar
from snn_rram.mapping.linear_pair import linear_pair
from snn_rram.mapping.min_error import bias_column, min_error
from snn_rram.mapping.pcsa_pairs import SenseMapping, binary_2t2r, ternarize, ternary_2t2r
from snn_rram.mapping.quantize import Quantized, quantize
from snn_rram.mapping.qwsm import qwsm
from snn_rram.mapping.registry import available, get, register
from snn_rram.mapping.trained import read_trained, trained, trained_columns

__all__ = [
    "Mapping",
    "MappingWarning",
    "Quantized",
    "SenseMapping",
    "available",
    "bias_column",
    "binary_2t2r",
    "differential_crossbar",
    "get",
    "linear_pair",
    "min_error",
    "quantize",
    "qwsm",
    "read_trained",
    "register",
    "ternarize",
    "ternary_2t2r",
    "trained",
    "trained_columns",
]
