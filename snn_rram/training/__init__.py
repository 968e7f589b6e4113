"""Training recipes that know the hardware.

:mod:`snn_rram.training.device_aware` trains networks with the crossbar's analog transfer
(the device's ``f(V)`` on every input, conductance pairs in the device's range, the column
solve with R_N) in the forward pass: paper 2's reconstructed networks.
:mod:`snn_rram.training.distortion` fine-tunes a float network with the weights its mapped
crossbars realise when read (the passive array's static read distortion) in the forward pass.
:mod:`snn_rram.training.ternary` trains binary and ternary networks (paper 5) with a
straight-through estimator and the read errors of a precharge sense amplifier injected in the
forward pass, and reads trained networks through the PCSA model of
:mod:`snn_rram.crossbar.pcsa`.

This package may import devices, crossbar, mapping and ann (see DESIGN.md). Its training
functions need PyTorch, an optional dependency; the inference and error models are numpy only.
"""

from snn_rram.training.device_aware import (
    DeviceAwareLayer,
    DeviceAwareNetwork,
    crossbar_current,
    load_device_aware,
    train_device_aware,
)
from snn_rram.training.distortion import effective_network, train_distortion_aware
from snn_rram.training.on_array import OnArrayConfig, OnArrayResult, train_on_array
from snn_rram.training.on_array_file import load_on_array, read_provenance, save_on_array
from snn_rram.training.pair_array import PairArray, pulse_counts
from snn_rram.training.ternary import (
    PCSAInference,
    ReadErrors,
    errors_inference,
    pcsa_inference,
    split_alphabet,
    train_quantized,
)

__all__ = [
    "DeviceAwareLayer",
    "DeviceAwareNetwork",
    "OnArrayConfig",
    "OnArrayResult",
    "PCSAInference",
    "PairArray",
    "ReadErrors",
    "crossbar_current",
    "effective_network",
    "errors_inference",
    "load_device_aware",
    "load_on_array",
    "pcsa_inference",
    "pulse_counts",
    "read_provenance",
    "save_on_array",
    "split_alphabet",
    "train_device_aware",
    "train_distortion_aware",
    "train_on_array",
    "train_quantized",
]
