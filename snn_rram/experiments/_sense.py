"""The spiking run of a PCSA mapping (``ternary_2t2r``, ``binary_2t2r``): a SenseNetwork."""

from __future__ import annotations

import dataclasses

import numpy as np

from snn_rram import snn
from snn_rram.errors import SnnRramError
from snn_rram.mapping.pcsa_pairs import SENSE_METHODS, SenseMapping

__all__ = ["check_target", "is_sense", "sense_network"]


def is_sense(mappings) -> bool:
    """True when the layers are 2T2R pairs read by a PCSA (all or none of them)."""
    return any(isinstance(m, SenseMapping) for m in mappings)


def check_target(cfg) -> None:
    """Refuse a Brian2 target the sense network does not run on, before any work is done.

    :data:`snn.sense_network.SENSE_TARGETS` holds every target today; the check stays so that
    a target added to the crossbar path fails here, by name, until the sense path has it.
    """
    sim = cfg.simulation
    if cfg.mapping.method in SENSE_METHODS and sim.target not in snn.sense_network.SENSE_TARGETS:
        raise SnnRramError(
            f"simulation.target: mapping method {cfg.mapping.method!r} runs on "
            f"{', '.join(map(repr, snn.sense_network.SENSE_TARGETS))}, got {sim.target!r}"
        )


def sense_network(cfg, prep) -> snn.SenseNetwork:
    """The :class:`snn.SenseNetwork` of a prepared run.

    Row scales become synapse weights in thresholds, biases a digital drive of
    ``bias · max_rate`` thresholds per second (the rate a bias of 1 stands for), and a neuron
    without a refractory period gets the pulse width, as on the crossbar path.
    """
    sim = cfg.simulation
    check_target(cfg)
    layers, neurons = [], []
    for m, neuron in zip(prep.mappings, prep.neurons, strict=True):
        drive = None if m.effective_bias is None else m.effective_bias * cfg.encoder.max_rate
        layers.append(snn.SenseLayer(m.crossbar, m.row_scale, m.pcsa, drive))
        if neuron.refractory is None:
            neuron = dataclasses.replace(neuron, refractory=cfg.circuit.pulse_width)
        neurons.append(neuron)
    return snn.SenseNetwork(
        layers,
        neurons,
        prep.spikes,
        reads=prep.mappings[0].reads,
        # a stream of its own: not the one that drew the programming variation
        seed=np.random.default_rng((cfg.mapping.seed, 1)),
        energy=sim.energy,
        target=sim.target,
        report="text" if sim.progress else None,
    )
