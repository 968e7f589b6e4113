"""The digital–analog periphery of an analog layer: row DACs and output ADCs.

Both are uniform mid-tread quantisers with clipping, applied elementwise and vectorised.
"""

from __future__ import annotations

import numpy as np

from snn_rram._validation import as_scalar
from snn_rram.errors import SnnRramError

__all__ = ["adc", "check_bits", "dac"]


def check_bits(bits, name: str) -> int | None:
    """``None`` (ideal converter) or a resolution of 1 to 32 bits."""
    if bits is None:
        return None
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 32:
        raise SnnRramError(
            f"{name}: expected None or an integer number of bits in 1..32, got {bits!r}"
        )
    return int(bits)


def dac(values, bits: int | None = None) -> np.ndarray:
    """Input code of a row DAC: values clipped to [0, 1] (1 = full scale), on ``2^bits`` levels.

    Parameters
    ----------
    values : array_like
        Normalised inputs (1 drives the row at the full-scale voltage).
    bits : int, optional
        DAC resolution; ``None`` is an ideal (continuous) DAC.

    Returns
    -------
    numpy.ndarray
        The fraction of full scale each row is driven at, in [0, 1].
    """
    a = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    if bits is None:
        return a
    n = 2**bits - 1
    return np.round(a * n) / n


def adc(values, bits: int | None = None, full_scale: float = 1.0) -> np.ndarray:
    """Output code of a signed ADC: values clipped to ``±full_scale`` on ``2^bits − 1`` levels.

    Parameters
    ----------
    values : array_like
        Sensed (normalised) neuron outputs.
    bits : int, optional
        ADC resolution (sign included); ``None`` is an ideal ADC (no clipping either).
    full_scale : float
        Largest magnitude it converts, in the units of ``values`` (> 0).

    Returns
    -------
    numpy.ndarray
    """
    v = np.asarray(values, dtype=np.float64)
    if bits is None:
        return v
    fs = as_scalar(full_scale, "adc_range", positive=True)
    n = max(2 ** (bits - 1) - 1, 1)
    return np.round(np.clip(v, -fs, fs) / fs * n) * fs / n
