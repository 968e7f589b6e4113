"""Framework-free description of trained ANNs, and importers from the usual file formats.

:class:`Network` is an ordered list of layers (:class:`Dense`, :class:`Conv2d`,
:class:`AvgPool2d`, :class:`MaxPool2d`, :class:`Flatten`, :class:`ReLU`) with float64 weights in
PyTorch's layout; its :meth:`Network.forward` is the float reference of every SNN result.
:func:`load` reads NumPy ``.npz`` (native or state-dict style), safetensors, Keras (``.keras``,
``.h5``, ``.weights.h5``), PyTorch state dicts, ONNX and NIR graphs (:func:`from_nir`);
:func:`save` writes the native ``.npz``.

This layer imports nothing of the hardware side (devices, crossbar, mapping, snn).
"""

from snn_rram.ann._nir import NirLayer, NirNetwork, NirNeuron, from_nir
from snn_rram.ann.convert import ConvertedLayer, ConvertedNetwork, convert
from snn_rram.ann.importers import FORMATS, detect_format, load
from snn_rram.ann.layers import (
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    Layer,
    MaxPool2d,
    ReLU,
    WeightLayer,
)
from snn_rram.ann.native import save
from snn_rram.ann.network import Network

__all__ = [
    "FORMATS",
    "AvgPool2d",
    "Conv2d",
    "ConvertedLayer",
    "ConvertedNetwork",
    "Dense",
    "Flatten",
    "Layer",
    "MaxPool2d",
    "Network",
    "NirLayer",
    "NirNetwork",
    "NirNeuron",
    "ReLU",
    "WeightLayer",
    "convert",
    "detect_format",
    "from_nir",
    "load",
    "save",
]
