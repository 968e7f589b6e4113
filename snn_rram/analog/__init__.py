"""Amplitude-coded (analog) inference of a converted network on its mapped crossbars.

Each layer's inputs drive its crossbar's rows at voltages proportional to their values (one DAC
per row, full scale = the circuit's ``v_read``); the crossbar physics
(:meth:`snn_rram.crossbar.Crossbar.read` with ``row_voltage``) gives the column currents; the
digital periphery senses the neuron currents (a per-layer scale, optional ADC), applies the
ReLU and feeds the next layer's DACs. The crossbars are exactly those the spiking network uses
(any mapping method: differential pairs, bias rows, unrolled convolutions), so spiking and
analog realisations of one network can be compared on the same device. This is the setting of
paper 2 (Kim et al., ACM JETC 14(2), 2018; PAPERS.md §2), where the device's nonlinear
``f(V)`` bends every input.

Layering (DESIGN.md §1, tests/test_layering.py): ``snn_rram.analog`` sits at the level of
:mod:`snn_rram.snn` and may import ``devices``, ``crossbar``, ``mapping`` and ``ann``; nothing
below it imports it.
"""

from snn_rram.analog.network import AnalogNetwork, AnalogResult, default_adc_range
from snn_rram.analog.periphery import adc, dac

__all__ = ["AnalogNetwork", "AnalogResult", "adc", "dac", "default_adc_range"]
