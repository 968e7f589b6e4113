"""Spiking layers whose synapses are 2T2R pairs read by a precharge sense amplifier (paper 5).

A synapse is one 2T2R pair (BL and BLb devices) of a column pair with its own PCSA. Each
presynaptic spike delivers ``v_post += w · q`` to its neuron, where ``w`` is the row's weight
scale (in thresholds, times the neuron's threshold) and ``q`` ∈ {−1, 0, +1} the PCSA's outcome
for the pair:

- ``reads="once"``: every pair is sensed once when the network is built
  (:meth:`PCSA.read`, Monte Carlo of the latch offset, seeded) and the outcome kept in a
  register for the whole run; one sense operation per synapse.
- ``reads="event"``: every presynaptic spike senses the pair afresh. The outcome is drawn in
  Brian2 (``rand()``, seeded through :func:`brian2.seed`) from the pair's outcome
  probabilities (:meth:`PCSA.outcome_probabilities`, closed form over the latch offset),
  stored per synapse; one sense operation per presynaptic spike.

Energy: each synapse's energy is its sense operations × the PCSA's supply energy of one sense
of its pair (:meth:`PCSA.read_energy`: the precharge of both branch nodes, the discharge
through the two devices and access transistors, the latch's restore; the devices' own
dissipation is part of it). With ``reads="once"`` it is the energy of the read that happened;
with ``reads="event"`` the mean over the latch offset (the offsets drawn in Brian2 are not
kept). Nothing else conducts: the devices are only biased by the precharged nodes during a
sense. Not modelled (reported as 0): the digital accumulation, the register of ``"once"``
reads, word-line and clock drivers, the neurons. In the result, a pair's energy is split
evenly over its two devices' entries of ``device_energy`` (the crossbar layout: BL device in
column ``2j``, BLb in ``2j + 1``), so the per-synapse energy is the sum of the pair.

Biases are digital: a constant drive of the neuron (thresholds per second). Targets: ``numpy``,
``cython`` and ``cpp_standalone``; standalone compiles the network's project at its first
:meth:`SenseNetwork.run` through :class:`~snn_rram.snn.standalone.StandaloneProject` (one
standalone project per process at a time, compiles shared through the build cache) and runs the
compiled program at every later run. Standalone's ``rand()`` is its own generator: per-event
reads are seeded and reproducible there too, but draw other numbers than on the runtime targets.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from dataclasses import dataclass

import brian2 as b2
import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_array, as_rng, one_of
from snn_rram.crossbar.array import Crossbar
from snn_rram.crossbar.pcsa import PCSA
from snn_rram.errors import SnnRramError
from snn_rram.snn._targets import TARGETS, configure_runtime
from snn_rram.snn.encoders import SpikeTrains
from snn_rram.snn.graph import Graph
from snn_rram.snn.neuron import IFNeuron
from snn_rram.snn.result import LayerResult, SnnResult
from snn_rram.snn.standalone import StandaloneProject

__all__ = ["SENSE_READS", "SENSE_TARGETS", "SenseLayer", "SenseNetwork"]

#: When a pair is sensed: once per run, or at every presynaptic spike.
SENSE_READS = ("once", "event")
#: Brian2 targets of :class:`SenseNetwork`: all of them.
SENSE_TARGETS = TARGETS

_names = itertools.count()


@dataclass(frozen=True)
class SenseLayer:
    """One layer of 2T2R synapses read by a PCSA.

    Parameters
    ----------
    crossbar : Crossbar
        The programmed pairs in the differential layout: logical input i on row i (no bias
        rows), the BL device of neuron j in column ``2j``, its BLb device in ``2j + 1``.
    scale : array_like, shape (n_neurons,)
        Weight of an outcome +1 in each neuron, in thresholds (normalised-weight units).
    pcsa : PCSA
        The sense amplifier of every pair.
    drive : array_like, shape (n_neurons,), optional
        Constant (digital bias) input of each neuron, in thresholds per second.
    """

    crossbar: Crossbar
    scale: np.ndarray
    pcsa: PCSA
    drive: np.ndarray | None = None

    def __post_init__(self):
        x = self.crossbar
        if not isinstance(x, Crossbar):
            raise SnnRramError(f"crossbar: expected a Crossbar, got {type(x).__name__}")
        if not isinstance(self.pcsa, PCSA):
            raise SnnRramError(f"pcsa: expected a PCSA, got {type(self.pcsa).__name__}")
        n_in, n_cols = x.shape
        if n_cols % 2 or not np.array_equal(x.layout.row_input, np.arange(n_in)):
            raise SnnRramError(
                "crossbar: expected the differential 2T2R layout (row i = input i, no bias "
                f"rows, columns 2j and 2j+1 per neuron), got shape {x.shape}"
            )
        n = n_cols // 2
        object.__setattr__(self, "scale", as_array(self.scale, "scale", shape=(n,)))
        if self.drive is not None:
            object.__setattr__(self, "drive", as_array(self.drive, "drive", shape=(n,)))

    @property
    def n_inputs(self) -> int:
        """Logical inputs (rows)."""
        return self.crossbar.shape[0]

    @property
    def n_neurons(self) -> int:
        """Neurons (column pairs)."""
        return self.crossbar.shape[1] // 2

    def pairs(self):
        """Synapses as (input i, neuron j, g_bl, g_blb) arrays, S."""
        G = self.crossbar.G
        if sp.issparse(G):
            bl, blb = sp.csc_matrix(G[:, 0::2]).tocoo(), sp.csc_matrix(G[:, 1::2]).tocoo()
            # both sides share one structure: sort each by (input, neuron)
            a, b = np.lexsort((bl.col, bl.row)), np.lexsort((blb.col, blb.row))
            if not (
                np.array_equal(bl.row[a], blb.row[b]) and np.array_equal(bl.col[a], blb.col[b])
            ):
                raise SnnRramError("crossbar: the BL and BLb devices do not form pairs")
            return bl.row[a], bl.col[a], bl.data[a], blb.data[b]
        G = np.asarray(G)
        i, j = np.meshgrid(np.arange(self.n_inputs), np.arange(self.n_neurons), indexing="ij")
        return i.ravel(), j.ravel(), G[:, 0::2].ravel(), G[:, 1::2].ravel()


class _OrderWarning(logging.Filter):
    def filter(self, record) -> bool:
        return "order of execution" not in record.getMessage()


@contextlib.contextmanager
def _order_warning_silenced():
    """Silence Brian2's warning that ``rand()`` in ``on_pre`` makes the order matter.

    The per-event draw ``u = rand()`` is one independent number per sense: which synapse gets
    which number depends on the order, the distribution of the outcomes does not.
    """
    logger = logging.getLogger("brian2.codegen.generators.base")
    quiet = _OrderWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


class SenseNetwork:
    """Integrate-and-fire layers fed through 2T2R pairs sensed by a PCSA, in Brian2.

    Parameters
    ----------
    layers : list of SenseLayer
        Input first; layer l's inputs are layer l−1's neurons.
    neurons : IFNeuron or list of IFNeuron
        Threshold, reset, refractory period and leak (the capacitance is not used: a spike
        moves the membrane by ``w · q`` thresholds directly).
    spikes : SpikeTrains
        Input spikes of all images, back to back.
    reads : {"once", "event"}
        Sense each pair once per run, or at every presynaptic spike.
    seed : int or numpy.random.Generator
        Seed of the ``"once"`` reads (drawn here) and of Brian2's ``rand()`` (``"event"``).
    energy : bool
        Account the sense energy of every synapse.
    target : {"numpy", "cython", "cpp_standalone"}
        Brian2 code generation. ``cpp_standalone`` compiles at the first :meth:`run` (or copies
        the compile from the build cache) and reruns the compiled program afterwards.
    record : dict, optional
        ``{layer index: ["v"]}`` to record membranes every step (every target).
    report : str, optional
        Brian2 progress report (``"text"``).
    """

    def __init__(
        self,
        layers,
        neurons,
        spikes: SpikeTrains,
        *,
        reads: str = "event",
        seed=0,
        energy: bool = True,
        target: str = "numpy",
        record: dict | None = None,
        report: str | None = None,
    ):
        self.reads = one_of(reads, "reads", SENSE_READS)
        self.target = one_of(target, "target", SENSE_TARGETS)
        layers = [layers] if isinstance(layers, SenseLayer) else list(layers)
        if not layers or not all(isinstance(x, SenseLayer) for x in layers):
            raise SnnRramError("layers: expected a non-empty list of SenseLayer objects")
        if isinstance(neurons, IFNeuron):
            neurons = [neurons] * len(layers)
        neurons = list(neurons)
        if len(neurons) != len(layers) or not all(isinstance(n, IFNeuron) for n in neurons):
            raise SnnRramError(f"neurons: expected an IFNeuron or a list of {len(layers)}")
        if not isinstance(spikes, SpikeTrains):
            raise SnnRramError(f"spikes: expected SpikeTrains, got {type(spikes).__name__}")
        sizes = [spikes.n_inputs] + [x.n_neurons for x in layers[:-1]]
        for k, (x, n) in enumerate(zip(layers, sizes, strict=True)):
            if x.n_inputs != n:
                raise SnnRramError(f"layers[{k}]: has {x.n_inputs} inputs, its source has {n}")
        self.layers, self.neurons, self.spikes = layers, neurons, spikes
        self.energy, self.report = bool(energy), report
        self.record = dict(record or {})
        for k, names in self.record.items():
            if not (isinstance(k, int) and 0 <= k < len(layers)) or list(names) != ["v"]:
                raise SnnRramError(
                    f"record: expected {{layer index: ['v']}}, got {k!r}: {names!r}"
                )
        rng = as_rng(seed, "seed")
        self._brian_seed = int(rng.integers(2**31 - 1))
        self.dt = spikes.dt
        self._n_steps = spikes.n_images * spikes.image_steps
        self.synapses = []  # per layer: i, j, outcomes (once) or probabilities, sense energies
        for x in layers:
            i, j, g_bl, g_blb = x.pairs()
            if self.reads == "once":
                q, e = x.pcsa.read(g_bl, g_blb, rng, return_energy=True)
                extra = {"q": q.astype(np.float64), "sense_energy": e}
            else:
                p = x.pcsa.outcome_probabilities(g_bl, g_blb)
                e, _ = x.pcsa.read_energy(g_bl, g_blb)
                extra = {"p_neg": p[:, 0], "p_pos": p[:, 2], "sense_energy": e}
            self.synapses.append({"i": i, "j": j, **extra})
        # standalone: one project per process at a time, so a fixed name, which makes the
        # generated code (and the build cache key) the same in every process
        self.name = "sense" if self.target == "cpp_standalone" else f"sense{next(_names)}"
        self._project: StandaloneProject | None = None
        #: Sense operations of each layer in the last run.
        self.sense_operations: list[int] = []

    def _create(self) -> Graph:
        """The Brian2 objects in the current device, Brian2's ``rand()`` seeded."""
        dt, sp_ = self.dt * b2.second, self.spikes
        times = sp_.times * b2.second
        objects = [
            b2.SpikeGeneratorGroup(
                sp_.n_inputs, sp_.indices, times, dt=dt, name=f"{self.name}_input"
            )
        ]
        source = objects[0]
        self._groups, self._spike_monitors, self._monitors = [], [], {}
        for k, (x, neuron, syn) in enumerate(
            zip(self.layers, self.neurons, self.synapses, strict=True)
        ):
            prefix = f"{self.name}_L{k}"
            lines = ["v : volt", "theta : volt (shared, constant)", "drive : Hz (constant)"]
            update = "drive*theta"
            if neuron.leak_tau is not None:
                lines.append("tau_leak : second (shared, constant)")
                update += " - v/tau_leak"
            refractory = 0.0 if neuron.refractory is None else neuron.refractory
            reset = "v -= theta" if neuron.reset == "subtract" else "v = 0*volt"
            group = b2.NeuronGroup(
                x.n_neurons,
                "\n".join(lines),
                threshold="v > theta",
                reset=reset,
                refractory=refractory * b2.second,
                dt=dt,
                name=f"{prefix}_neurons",
            )
            group.theta = neuron.threshold * b2.volt
            if neuron.leak_tau is not None:
                group.tau_leak = neuron.leak_tau * b2.second
            objects.append(group)
            if x.drive is not None or neuron.leak_tau is not None:
                if x.drive is not None:
                    group.drive = x.drive * b2.Hz
                objects.append(
                    group.run_regularly(
                        f"v += ({update})*dt", dt=dt, when="groups", name=f"{prefix}_drive"
                    )
                )
            if self.reads == "once":
                model, on_pre = "w : volt (constant)\nq : 1 (constant)", "v_post += w*q"
            else:
                model = "w : volt (constant)\np_pos : 1 (constant)\np_neg : 1 (constant)"
                # one uniform number per sense: +1 below p_pos, −1 from 1 − p_neg on
                on_pre = "u = rand()\nv_post += w*(int(u < p_pos) - int(u >= 1 - p_neg))"
            synapses = b2.Synapses(
                source, group, model, on_pre=on_pre, dt=dt, name=f"{prefix}_synapses"
            )
            synapses.connect(i=syn["i"], j=syn["j"])
            synapses.w = x.scale[syn["j"]] * neuron.threshold * b2.volt
            for var in ("q", "p_pos", "p_neg"):
                if var in syn:
                    setattr(synapses, var, syn[var])
            monitor = b2.SpikeMonitor(group, name=f"{prefix}_spikes")
            image_reset = group.run_regularly(
                "v = 0*volt", dt=sp_.image_steps * dt, when="start", name=f"{prefix}_image"
            )
            objects += [synapses, monitor, image_reset]
            if k in self.record:
                mon = b2.StateMonitor(group, "v", record=True, when="end", name=f"{prefix}_v")
                self._monitors[k] = mon
                objects.append(mon)
            self._groups.append(group)
            self._spike_monitors.append(monitor)
            source = group
        # v of the output before each image's reset: the end of the image before
        at_reset = {"record": True, "when": "start", "order": -1}
        self._v_end = b2.StateMonitor(
            source, "v", dt=sp_.image_steps * dt, name=f"{self.name}_v_end", **at_reset
        )
        objects.append(self._v_end)
        net = b2.Network(objects, name=f"{self.name}_network")
        b2.seed(self._brian_seed)  # in standalone: compiled into the project, before the run
        return Graph(list(self._groups), net, self._v_end)

    @property
    def built(self) -> bool:
        """Whether a standalone network's compiled project can run without compiling again.

        ``False`` before the first run, after another standalone network replaced the
        project (one per process) and always on the runtime targets.
        """
        return self._project is not None and self._project.current

    @property
    def reused_build(self) -> bool:
        """Whether the standalone compile was copied from the build cache (no compiler run)."""
        return self._project is not None and self._project.reused_build

    def run(self) -> SnnResult:
        """Present every image once and collect spikes, predictions and sense energies.

        ``result.timings`` has ``simulation_s`` (in standalone: the compiled program's own
        simulation time), ``collect_s``, ``energy_s`` (0: the energies are products of counts,
        part of collecting) and in standalone ``build_s`` (code generation and compile of this
        run, 0 when the project was built already).
        """
        build = 0.0
        if self.target == "cpp_standalone":
            if not self.built:
                t0 = time.perf_counter()
                with _order_warning_silenced():
                    self._project = StandaloneProject(self._create, self.duration, self.report)
                build = time.perf_counter() - t0
            simulation = self._project.run({})
        else:
            configure_runtime(self.target)
            graph = self._create()
            t0 = time.perf_counter()
            with _order_warning_silenced():
                graph.network.run(self.duration * b2.second, report=self.report, namespace={})
            simulation = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = self._collect()
        result.timings = dict(
            simulation_s=simulation, collect_s=time.perf_counter() - t1, energy_s=0.0
        )
        if self.target == "cpp_standalone":
            result.timings["build_s"] = build
        return result

    def _collect(self) -> SnnResult:
        sp_ = self.spikes
        input_counts = np.bincount(sp_.indices, minlength=sp_.n_inputs)
        counts_in = input_counts
        results = []
        self.sense_operations = []
        for k, (x, syn, mon) in enumerate(
            zip(self.layers, self.synapses, self._spike_monitors, strict=True)
        ):
            if self.reads == "once":
                reads_per_row = np.ones(x.n_inputs, dtype=np.int64)
            else:
                reads_per_row = counts_in.astype(np.int64)
            self.sense_operations.append(int(reads_per_row[syn["i"]].sum()))
            device_energy = None
            if self.energy:
                pair = reads_per_row[syn["i"]] * syn["sense_energy"]
                rows = np.repeat(syn["i"], 2)
                cols = np.ravel(np.stack([2 * syn["j"], 2 * syn["j"] + 1], axis=1))
                half = np.repeat(0.5 * pair, 2)
                if x.crossbar.is_sparse:
                    device_energy = sp.csr_matrix((half, (rows, cols)), shape=x.crossbar.shape)
                else:
                    device_energy = np.zeros(x.crossbar.shape)
                    device_energy[rows, cols] = half
            res = LayerResult(
                name=f"layer{k}",
                spike_indices=np.array(mon.i[:]),
                spike_times=np.array(mon.t_[:]),
                device_energy=device_energy,
                neuron_energy=np.zeros(x.crossbar.shape[1]) if self.energy else None,
                read_counts=reads_per_row,
                n_synapses=int(syn["i"].size),
            )
            if k in self._monitors:
                res.states["v"] = np.array(self._monitors[k].v_).T
            results.append(res)
            counts_in = np.bincount(res.spike_indices, minlength=x.n_neurons)
        out, n_out = results[-1], self.layers[-1].n_neurons
        steps = np.round(out.spike_times / self.dt).astype(np.int64)
        output = SpikeTrains(out.spike_indices, steps, n_out, sp_.n_images, sp_.image_steps, 1.0)
        v_before_reset = np.array(self._v_end.v_).T[1 : sp_.n_images]
        v_end = np.vstack([v_before_reset, np.array(self._groups[-1].v_[:])[None]])
        return SnnResult(
            results,
            output.counts(),
            v_end,
            sp_.image_steps * self.dt,
            self.dt,
            self.target,
            input_counts=input_counts,
        )

    @property
    def duration(self) -> float:
        """Simulated time of one run, s."""
        return self._n_steps * self.dt
