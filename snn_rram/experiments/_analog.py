"""The analog reads of a run (``simulation.mode = "analog"``): an AnalogNetwork on the crossbars.

The network is loaded, converted and mapped exactly as for the spiking network
(:func:`snn_rram.experiments.pipeline.map_network`; bias rows at duty 1, see
:func:`~snn_rram.experiments.pipeline.bias_duty`), then every test image is read through the
crossbars with row voltages proportional to its inputs (:class:`snn_rram.analog.AnalogNetwork`,
periphery from the ``[analog]`` table), batched and vectorised. A network reconstructed for the
device (``analog.sensing = "trained"``) is read on its own trained conductances and gains
instead (:func:`trained_mapping`).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from snn_rram.analog import AnalogNetwork, default_adc_range
from snn_rram.errors import SnnRramError
from snn_rram.snn.plan import LayerPlan

__all__ = [
    "BATCH",
    "WIRE_CELLS",
    "analog_network",
    "batch_size",
    "n_synapses",
    "read_images",
    "trained_mapping",
]

#: Images read at once (bounded memory: every read holds (batch, rows) and (batch, columns)
#: arrays); circuits with wires hold (batch, rows, columns) arrays and get batches of at most
#: :data:`WIRE_CELLS` cells.
BATCH = 1000
WIRE_CELLS = 1 << 24

#: The keyword arguments of AnalogNetwork that the ``[analog]`` table sets.
_PERIPHERY = ("dac_bits", "adc_bits", "adc_range", "bias_voltage")


def trained_mapping(cfg, path, device, circuit) -> tuple:
    """The crossbars of a network reconstructed for the device, exactly as it was trained.

    ``path`` is a file written by :meth:`snn_rram.training.DeviceAwareNetwork.save`; ``device``
    and ``circuit`` are the config's. The conductance pairs (on the device's levels), the
    unrolled convolutions and folded pooling, and the trained per-layer sense gains are those
    of :meth:`~snn_rram.training.DeviceAwareNetwork.analog_args`; the config's read time
    (``circuit.pulse_width``) sets the energy.

    Returns
    -------
    converted : snn_rram.ann.ConvertedNetwork
    mappings : list of snn_rram.mapping.Mapping
    periphery : dict
        ``output_scale`` (the trained gains) and ``bias_voltage`` for :class:`AnalogNetwork`.

    Raises
    ------
    SnnRramError
        The file is not a device-aware network, or the config's device card, ``v_read`` or
        ``r_neuron`` (or wires) are not those it was trained for, or ``analog.bias_voltage``
        differs from its bias rows' voltage.
    """
    from snn_rram.training.device_aware import load_device_aware

    try:
        net, side = load_device_aware(path)
    except SnnRramError as exc:
        raise SnnRramError(
            f'analog.sensing: "trained" reads a device-aware network: {exc}'
        ) from None
    trained, mine = net.device.to_dict(), device.to_dict()
    if trained != mine:
        raise SnnRramError(
            f"device.card: {cfg.device.card!r} is not the device the network was trained for "
            f"({net.device.name!r} in {path.name}'s sidecar); a reconstructed network is read "
            "on its own device"
        )
    for field in ("v_read", "r_neuron", "r_wire_row", "r_wire_col"):
        want, got = getattr(net.circuit, field), getattr(circuit, field)
        if not np.array_equal(np.asarray(want), np.asarray(got)):
            raise SnnRramError(
                f"circuit.{field}: {got!r}, but the network was trained for {want!r} (sidecar "
                f"of {path.name}); a reconstructed network is read as it was trained"
            )
    if cfg.analog.bias_voltage is not None and cfg.analog.bias_voltage != net.v_bias:
        raise SnnRramError(
            f"analog.bias_voltage: {cfg.analog.bias_voltage!r}, but the network's bias rows were "
            f"trained at {net.v_bias!r} V"
        )
    net = dataclasses.replace(net, circuit=net.circuit.replace(pulse_width=circuit.pulse_width))
    args = net.analog_args()
    for m in args["mappings"]:
        m.report["as_trained"] = str(side.get("recipe", ""))
    periphery = {"output_scale": args["output_scale"], "bias_voltage": args["bias_voltage"]}
    return args["converted"], args["mappings"], periphery


def analog_network(cfg, mapped) -> AnalogNetwork:
    """The :class:`AnalogNetwork` of a config on its mapped crossbars (``map_network``).

    The periphery of ``cfg.analog``; the output layer's default ADC range and a calibrated
    sense gain (``sensing = "calibrated"``) come from the calibration images; a network read
    as trained (``sensing = "trained"``) brings its own gains and bias voltage.
    """
    a = cfg.analog
    periphery = {
        "dac_bits": a.dac_bits,
        "adc_bits": a.adc_bits,
        "adc_range": a.adc_range,
        "bias_voltage": a.bias_voltage,
        **mapped.periphery,
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
