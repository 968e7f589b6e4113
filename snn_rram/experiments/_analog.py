"""The analog reads of a run (``simulation.mode = "analog"``): an AnalogNetwork on the crossbars.

The network is loaded, converted and mapped exactly as for the spiking network
(:func:`snn_rram.experiments.pipeline.map_network`; bias rows at duty 1, see
:func:`~snn_rram.experiments.pipeline.bias_duty`), then every test image is read through the
crossbars with row voltages proportional to its inputs (:class:`snn_rram.analog.AnalogNetwork`,
periphery from the ``[analog]`` table), batched and vectorised.
"""

from __future__ import annotations

import time

import numpy as np

from snn_rram.analog import AnalogNetwork, default_adc_range
from snn_rram.errors import SnnRramError
from snn_rram.snn.plan import LayerPlan

__all__ = ["BATCH", "WIRE_CELLS", "analog_network", "batch_size", "n_synapses", "read_images"]

#: Images read at once (bounded memory: every read holds (batch, rows) and (batch, columns)
#: arrays); circuits with wires hold (batch, rows, columns) arrays and get batches of at most
#: :data:`WIRE_CELLS` cells.
BATCH = 1000
WIRE_CELLS = 1 << 24

#: The keyword arguments of AnalogNetwork that the ``[analog]`` table sets.
_PERIPHERY = ("dac_bits", "adc_bits", "adc_range", "bias_voltage")


def analog_network(cfg, mapped) -> AnalogNetwork:
    """The :class:`AnalogNetwork` of a config on its mapped crossbars (``map_network``).

    The periphery of ``cfg.analog``; the output layer's default ADC range and a calibrated
    sense gain (``sensing = "calibrated"``) come from the calibration images.
    """
    a = cfg.analog
    periphery = {
        "dac_bits": a.dac_bits,
        "adc_bits": a.adc_bits,
        "adc_range": a.adc_range,
        "bias_voltage": a.bias_voltage,
    }
    if a.adc_range is None:
        periphery["adc_range"] = default_adc_range(mapped.converted, mapped.calibration)
    try:
        net = AnalogNetwork(mapped.converted, mapped.mappings, **periphery)
        if a.sensing == "calibrated":
            net = net.calibrate(mapped.calibration)
    except SnnRramError as exc:
        text = str(exc)
        if text.split(":", 1)[0].split("[", 1)[0] in _PERIPHERY:
            raise SnnRramError(f"analog.{text}") from None
        raise
    return net


def batch_size(mappings) -> int:
    """Images per batch: :data:`BATCH`, fewer with wires (see :data:`WIRE_CELLS`)."""
    xbars = [m.crossbar for m in mappings]
    if not any(x.circuit.has_wires for x in xbars):
        return BATCH
    cells = max(x.n_rows * x.n_cols for x in xbars)
    return max(1, min(BATCH, WIRE_CELLS // cells))


def n_synapses(xbar) -> int:
    """Logical synapses of a crossbar, counted as the spiking network counts them.

    The (input, neuron) pairs its driven rows reach (:class:`snn_rram.snn.plan.LayerPlan`),
    so that ``average_power_per_synapse`` means the same in both modes.
    """
    plan = LayerPlan.from_crossbar(xbar)
    return int(plan.syn_i.size + plan.ssyn_i.size)


def read_images(cfg, mapped):
    """Build the analog network of ``cfg`` and read the test images through it.

    Returns
    -------
    result : snn_rram.analog.AnalogResult
        Of the test images (per-device energies with ``simulation.energy``).
    metrics : dict
        ``analog_accuracy``, ``n_images``, ``n_synapses`` (logical), ``simulated_time`` (the
        reads: images × the layers' pulse widths, s), ``build_s``, ``analog_s`` and, with
        ``simulation.energy``, ``total_device_energy``, ``energy_per_inference``,
        ``average_power_per_synapse``, ``total_neuron_energy`` and ``total_driver_energy``.
    """
    t1 = time.perf_counter()
    net = analog_network(cfg, mapped)
    build = time.perf_counter() - t1
    energy = cfg.simulation.energy
    # read noise, when the card has any: a stream of its own, not the programming variation's
    rng = np.random.default_rng((cfg.mapping.seed, 2))
    result = net.forward(
        mapped.x, rng=rng, synapse_energy=energy, batch_size=batch_size(mapped.mappings)
    )
    forward = time.perf_counter() - t1 - build
    n = len(mapped.labels)
    metrics = {
        "analog_accuracy": float(np.mean(result.predict() == mapped.labels)),
        "n_images": n,
        "n_synapses": sum(n_synapses(m.crossbar) for m in mapped.mappings),
        "simulated_time": n * sum(m.crossbar.circuit.pulse_width for m in mapped.mappings),
    }
    if energy:
        total = float(sum(e.sum() for e in result.synapse_energy))
        metrics["total_device_energy"] = total
        metrics["energy_per_inference"] = total / max(n, 1)
        metrics["average_power_per_synapse"] = total / (
            metrics["n_synapses"] * metrics["simulated_time"]
        )
        metrics["total_neuron_energy"] = float(sum(e.sum() for e in result.neuron_energy))
        metrics["total_driver_energy"] = float(result.driver_energy.sum())
    metrics["build_s"] = build
    metrics["analog_s"] = forward
    return result, metrics
