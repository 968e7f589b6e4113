"""One RRAM cell: read I–V models, programmable levels, variation, fitting and device cards.

Examples
--------
>>> from snn_rram import devices
>>> dev = devices.load("sinh_mild")  # a bundled card by name, or the path of a .toml card
>>> dev.levels.n, dev.levels.g_min, dev.levels.g_max  # 32 levels, S
(32, 1e-06, 2e-05)
>>> float(dev.read_model.current(1e-5, 0.2))  # A: (G / b)·sinh(b·V) with b = 1.5 /V
2.0301...e-06
"""

from snn_rram.devices.device import Device, card_dirs, is_card_path, list_cards, load
from snn_rram.devices.fitting import IVFit, LevelsFit, fit_iv, fit_levels
from snn_rram.devices.iv import Linear, Polynomial, ReadModel, Separable, Sinh, Tabulated
from snn_rram.devices.levels import (
    MAX_LEVELS,
    Levels,
    MeasuredLevels,
    PotentiationLevels,
    UniformLevels,
    a_from_nonlinearity,
    nonlinearity_from_a,
)
from snn_rram.devices.programming import ProgrammedDevices, Programming
from snn_rram.devices.variation import Variation

__all__ = [
    "MAX_LEVELS",
    "Device",
    "IVFit",
    "Levels",
    "LevelsFit",
    "Linear",
    "MeasuredLevels",
    "Polynomial",
    "PotentiationLevels",
    "ProgrammedDevices",
    "Programming",
    "ReadModel",
    "Separable",
    "Sinh",
    "Tabulated",
    "UniformLevels",
    "Variation",
    "a_from_nonlinearity",
    "card_dirs",
    "fit_iv",
    "fit_levels",
    "is_card_path",
    "list_cards",
    "load",
    "nonlinearity_from_a",
]
