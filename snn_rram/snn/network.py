"""A spiking network of RRAM crossbar layers in Brian2: build once, run (many times).

Each layer is one :class:`~snn_rram.crossbar.Crossbar`. A spike of one of its inputs is a read
pulse of ``pulse_width`` on every row of that input. With grounded inactive rows and no wires the
layer is *event based*: a synapse adds its conductances to its neuron's column sums when the pulse
starts and a second pathway, delayed by the pulse width, removes them; the neurons solve their
columns in their own update, from those sums (see :mod:`snn_rram.snn.plan`). Floating rows, wire
resistance or non-separable devices couple the columns: such layers are *coupled*, and a
network operation re-solves the array with :meth:`Crossbar.read` whenever its active rows change
(runtime targets only).

Per-synapse energy is exact and event based: each column integrates ``Φa = ∫ p(v_read − V) dt``
and ``Φg = ∫ p(V) dt`` (``p(V) = V·f(V)``), each synapse keeps ``acc -= Φa − Φg`` at a pulse's
start and ``acc += Φa − Φg`` at its end, and a device's energy at the end is
``G · (acc + n_open · (Φa − Φg) + Φg)``.

Timing: synaptic events of step k change the column sums after the neurons' update of step k,
so a pulse starting at step k is integrated over steps k+1 … k+n (n = pulse width / dt).

This module checks a network's parameters and holds the public API; the jobs are elsewhere:
the Brian2 objects in :mod:`~snn_rram.snn.graph`, the compiled standalone project in
:mod:`~snn_rram.snn.standalone`, the results of a run in :mod:`~snn_rram.snn.collect`.
"""

from __future__ import annotations

import itertools
import time

import brian2 as b2
import numpy as np
import scipy.sparse as sp

from snn_rram._validation import one_of
from snn_rram.crossbar.array import Crossbar
from snn_rram.errors import SnnRramError
from snn_rram.snn._targets import TARGETS, configure_runtime
from snn_rram.snn.collect import collect_result
from snn_rram.snn.encoders import SpikeTrains
from snn_rram.snn.graph import Graph, build_graph
from snn_rram.snn.layers import LayerSpec, has_column_model
from snn_rram.snn.neuron import IFNeuron
from snn_rram.snn.plan import LayerPlan
from snn_rram.snn.result import SnnResult
from snn_rram.snn.standalone import StandaloneProject, run_arguments

__all__ = ["COLUMN_SOLVERS", "SpikingNetwork"]

_names = itertools.count()  # distinct Brian2 names of runtime networks (not state of a build)


#: Column solvers of the runtime and standalone targets: tabulated (fast) or exact Newton.
COLUMN_SOLVERS = ("table", "exact")


def _steps(value: float, dt: float, what: str) -> int:
    n = round(value / dt)
    if n < 1 or abs(n * dt - value) > 1e-9 * value:
        raise SnnRramError(
            f"{what}: {value:g} s is not a whole number of time steps of dt = {dt:g} s "
            f"(Brian2 would round it)"
        )
    return n


def _needs_coupled(xbar: Crossbar) -> bool:
    """True when the columns of ``xbar`` cannot be solved one by one from conductance sums."""
    c = xbar.circuit
    return c.inactive_rows == "float" or c.has_wires or not _has_column_solver(xbar)


def _has_column_solver(xbar: Crossbar) -> bool:
    return has_column_model(xbar.device.read_model)


class SpikingNetwork:
    """Crossbar layers of integrate-and-fire neurons in Brian2, fed by input spike trains.

    Parameters
    ----------
    crossbars : list of Crossbar
        The layers, input first; layer l's logical inputs are layer l−1's neurons.
    neurons : IFNeuron or list of IFNeuron
        Neuron parameters, one for all layers or one per layer.
    spikes : SpikeTrains
        Input spikes of all images, back to back (see :mod:`snn_rram.snn.encoders`).
    energy : bool
        Account the energy of every device (exact, event based; costs time).
    target : {"numpy", "cython", "cpp_standalone"}
        Brian2 code generation. ``cpp_standalone`` compiles once, on construction; every
        :meth:`run` then executes the compiled program, with conductances and circuit constants
        passed as run arguments (see :meth:`set_conductances`). Compiles are shared through a
        build cache (``$SNN_RRAM_BUILD_DIR/standalone/cache``): a process that writes the same
        code as an earlier one copies its objects instead of compiling (``reused_build``).
    coupled : bool, optional
        Solve every layer with :meth:`Crossbar.read` on each change of its active rows, instead
        of the event-based column solve. Default: only layers that need it (floating rows,
        wires, non-separable devices). Runtime targets only.
    record : dict, optional
        ``{layer index: [variable names]}`` to record every step with a StateMonitor (runtime
        targets): ``v`` (membrane) and, in event-based layers, ``vcol<k>`` and ``icol<k>``
        (voltage and current of each neuron's k-th column, e.g. the + and − columns of a
        differential pair), e.g. ``{0: ["v", "vcol0", "icol0"]}``; in coupled layers ``I_in``
        (the neuron's input current).
    name : str, optional
        Prefix of the Brian2 object names (and of the standalone build folder).
    report : str, optional
        Brian2 progress report for long runs (``"text"`` or ``"stdout"``).
    column_solver : {"table", "exact"}
        How event-based layers of sinh devices solve their columns at every step: from
        per-column cubic Hermite tables (built from exact solves, accurate to ~1e-12 relative,
        fast) or by an exact Newton solve.
    """

    def __init__(
        self,
        crossbars,
        neurons,
        spikes: SpikeTrains,
        *,
        energy: bool = True,
        target: str = "numpy",
        coupled: bool | None = None,
        record: dict | None = None,
        name: str | None = None,
        report: str | None = None,
        column_solver: str = "table",
    ):
        one_of(target, "target", TARGETS)
        self.column_solver = one_of(column_solver, "column_solver", COLUMN_SOLVERS)
        crossbars = list(crossbars) if not isinstance(crossbars, Crossbar) else [crossbars]
        if not crossbars or not all(isinstance(x, Crossbar) for x in crossbars):
            raise SnnRramError("crossbars: expected a non-empty list of Crossbar objects")
        if isinstance(neurons, IFNeuron):
            neurons = [neurons] * len(crossbars)
        neurons = list(neurons)
        if len(neurons) != len(crossbars) or not all(isinstance(n, IFNeuron) for n in neurons):
            raise SnnRramError(
                f"neurons: expected an IFNeuron or a list of {len(crossbars)} IFNeurons"
            )
        if not isinstance(spikes, SpikeTrains):
            raise SnnRramError(f"spikes: expected SpikeTrains, got {type(spikes).__name__}")
        if spikes.n_inputs != crossbars[0].layout.n_inputs:
            raise SnnRramError(
                f"spikes: {spikes.n_inputs} inputs, but layer 0 has "
                f"{crossbars[0].layout.n_inputs} logical inputs"
            )
        for k in range(1, len(crossbars)):
            if crossbars[k].layout.n_inputs != crossbars[k - 1].layout.n_neurons:
                raise SnnRramError(
                    f"crossbars[{k}]: has {crossbars[k].layout.n_inputs} inputs, but layer "
                    f"{k - 1} has {crossbars[k - 1].layout.n_neurons} neurons"
                )
        self.dt = spikes.dt
        self.pulse_steps = [
            _steps(x.circuit.pulse_width, self.dt, f"crossbars[{k}].circuit.pulse_width")
            for k, x in enumerate(crossbars)
        ]
        if spikes.min_gap_steps() < self.pulse_steps[0]:
            raise SnnRramError(
                f"spikes: two spikes of one input are {spikes.min_gap_steps()} steps apart, "
                f"less than the pulse width ({self.pulse_steps[0]} steps): their read pulses "
                "would overlap (give the encoder a dead time >= the pulse width)"
            )
        self.refractory = []
        for k, neuron in enumerate(neurons):
            nxt = self.pulse_steps[k + 1] if k + 1 < len(crossbars) else self.pulse_steps[k]
            need = nxt * self.dt
            ref = need if neuron.refractory is None else neuron.refractory
            if ref < need * (1 - 1e-9):
                raise SnnRramError(
                    f"neurons[{k}].refractory: {ref:g} s is shorter than the read pulse its "
                    f"spikes drive ({need:g} s): pulses of one row would overlap"
                )
            self.refractory.append(ref)
        needs = [_needs_coupled(x) for x in crossbars]
        if coupled is None:
            self.coupled = needs
        else:
            self.coupled = [bool(coupled) or n for n in needs]
        if target == "cpp_standalone" and any(self.coupled):
            bad = [k for k, c in enumerate(self.coupled) if c]
            raise SnnRramError(
                f"target: layers {bad} need the coupled solve (floating rows, wires or a "
                "non-separable device), which runs only on the runtime targets "
                "('numpy', 'cython')"
            )
        self.crossbars = crossbars
        self.neurons = neurons
        self.spikes = spikes
        self.energy = bool(energy)
        self.target = target
        self.record = dict(record or {})
        self.plans = [LayerPlan.from_crossbar(x) for x in crossbars]
        self._check_record()
        self.report = report
        # standalone: one project per process at a time, so a fixed name, which makes the
        # generated code (and the build cache key) the same in every process
        self.name = name or ("snn" if target == "cpp_standalone" else f"snn{next(_names)}")
        self._conductances = [x.G for x in crossbars]
        self._n_steps = spikes.n_images * spikes.image_steps
        self._graph: Graph | None = None  # of the last run (runtime) or of the build
        self._project: StandaloneProject | None = None
        if target == "cpp_standalone":
            self._project = StandaloneProject(self._create, self.duration, report)
            self._graph = self._project.graph

    def _check_record(self):
        if self.record and self.target == "cpp_standalone":
            raise SnnRramError("record: state monitors need a runtime target ('numpy', 'cython')")
        for k, names in self.record.items():
            if not (isinstance(k, int) and 0 <= k < len(self.crossbars)):
                raise SnnRramError(
                    f"record: {k!r} is not a layer index (0…{len(self.crossbars) - 1})"
                )
            if self.coupled[k]:
                allowed = ["v", "I_in"]
            else:
                slots = range(self.plans[k].n_slots)
                allowed = ["v", *(f"vcol{s}" for s in slots), *(f"icol{s}" for s in slots)]
            bad = [n for n in names if n not in allowed]
            if bad:
                kind = (
                    "coupled (floating rows, wires or a non-separable device)"
                    if self.coupled[k]
                    else "event-based"
                )
                raise SnnRramError(
                    f"record[{k}]: cannot record {', '.join(map(repr, bad))}; layer {k} is "
                    f"{kind} and records {', '.join(allowed)}"
                )

    # -- construction ---------------------------------------------------------------------------

    def _specs(self) -> list[LayerSpec]:
        return [
            LayerSpec(
                prefix=f"{self.name}_L{k}",
                xbar=xbar,
                plan=plan,
                neuron=neuron,
                dt=self.dt,
                pulse_steps=self.pulse_steps[k],
                refractory=self.refractory[k],
                energy=self.energy,
                record=tuple(self.record.get(k, ())),
                solver=self.column_solver,
            )
            for k, (xbar, plan, neuron) in enumerate(
                zip(self.crossbars, self.plans, self.neurons, strict=True)
            )
        ]

    def _create(self) -> Graph:
        return build_graph(self.name, self.spikes, self._specs(), self.coupled)

    # -- state ----------------------------------------------------------------------------------

    @property
    def built(self) -> bool:
        """Whether this standalone network's compiled project can run.

        A process holds one standalone project at a time: building another standalone network
        replaces this one's (then build this network again). Always ``False`` on the runtime
        targets, which build their Brian2 objects at every :meth:`run`.
        """
        return self._project is not None and self._project.current

    @property
    def reused_build(self) -> bool:
        """Whether the standalone compile was copied from the build cache (no compiler run)."""
        return self._project is not None and self._project.reused_build

    @property
    def layers(self) -> list:
        """The Brian2 layers: of the build in standalone, of the last run otherwise.

        Each is an :class:`~snn_rram.snn.layers.EventLayer` or a
        :class:`~snn_rram.snn.layers.CoupledLayer`; empty before a runtime target's first run.
        """
        return [] if self._graph is None else self._graph.layers

    @property
    def n_steps(self) -> int:
        """Time steps of one run."""
        return self._n_steps

    # -- conductances ---------------------------------------------------------------------------

    def set_neurons(self, neurons) -> None:
        """New threshold, capacitance and leak for the next :meth:`run` (no recompiling).

        The reset mode, refractory period and the presence of a leak are compiled in and must
        stay as built.
        """
        if isinstance(neurons, IFNeuron):
            neurons = [neurons] * len(self.neurons)
        neurons = list(neurons)
        if len(neurons) != len(self.neurons):
            raise SnnRramError(f"neurons: expected {len(self.neurons)} IFNeurons")
        for k, (old, new) in enumerate(zip(self.neurons, neurons, strict=True)):
            same = (
                old.reset == new.reset
                and old.refractory == new.refractory
                and (old.leak_tau is None) == (new.leak_tau is None)
            )
            if not same:
                raise SnnRramError(
                    f"neurons[{k}]: reset, refractory and leak (on/off) are compiled in; "
                    "build a new network to change them"
                )
        self.neurons = neurons

    def set_conductances(self, layer: int, G) -> None:
        """Give layer ``layer`` new conductances for the next :meth:`run`.

        The device structure must stay the same (same shape; for sparse layers the same stored
        cells): the network's synapses were created for it. In standalone the new values are
        passed as run arguments, without recompiling.
        """
        self.set_crossbar(layer, self.crossbars[layer].with_conductances(G))

    def set_crossbar(self, layer: int, xbar: Crossbar) -> None:
        """Replace layer ``layer``'s crossbar by ``xbar`` for the next :meth:`run`.

        ``xbar`` may differ in conductances, read voltage, neuron input resistance, device
        constant and readout gains; its structure must be the one the network was built for:
        shape and stored cells, which rows each input drives, which columns each neuron reads,
        pulse width, inactive-row mode, wires and device model. In standalone the new values
        are passed as run arguments, without recompiling.
        """
        if not isinstance(xbar, Crossbar):
            raise SnnRramError(f"xbar: expected a Crossbar, got {type(xbar).__name__}")
        if not 0 <= layer < len(self.crossbars):
            raise SnnRramError(f"layer: {layer} is not in 0…{len(self.crossbars) - 1}")
        old = self.crossbars[layer]
        where = f"crossbars[{layer}]"
        if sp.issparse(old.G) != sp.issparse(xbar.G) or old.G.shape != xbar.G.shape:
            raise SnnRramError(
                f"{where}.G: the layer was built for a "
                f"{'sparse' if sp.issparse(old.G) else 'dense'} {old.G.shape} array; got "
                f"{'sparse' if sp.issparse(xbar.G) else 'dense'} {xbar.G.shape}"
            )
        if sp.issparse(old.G):
            a, b = old.G.tocsr(), xbar.G.tocsr()
            a.sort_indices()
            b.sort_indices()
            if not (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)):
                raise SnnRramError(f"{where}.G: the stored cells differ from the built ones")
        c0, c1 = old.circuit, xbar.circuit
        for field in ("pulse_width", "inactive_rows", "has_wires"):
            if getattr(c0, field) != getattr(c1, field):
                raise SnnRramError(
                    f"{where}.circuit.{field}: {getattr(c1, field)!r} differs from the built "
                    f"{getattr(c0, field)!r}; build a new network"
                )
        if type(old.device.read_model) is not type(xbar.device.read_model):
            raise SnnRramError(
                f"{where}.device.read_model: {type(xbar.device.read_model).__name__} differs "
                f"from the built {type(old.device.read_model).__name__}; build a new network"
            )
        plan = LayerPlan.from_crossbar(xbar)
        diff = self.plans[layer].structure_difference(plan)
        if diff is not None:
            raise SnnRramError(f"{where}.layout: {diff}: not as built; build a new network")
        self.crossbars[layer] = xbar
        self.plans[layer] = plan
        self._conductances[layer] = xbar.G
        if self._project is not None:  # its run arguments follow
            self._project.graph.layers[layer].retarget(xbar, plan)

    # -- running --------------------------------------------------------------------------------

    def run(self) -> SnnResult:
        """Present every image once and collect spikes, predictions and energies."""
        if self._project is not None:
            args = run_arguments(self._project.graph.layers, self._conductances, self.neurons)
            simulation = self._project.run(args)
        else:
            configure_runtime(self.target)
            self._graph = self._create()
            start = time.perf_counter()
            self._graph.network.run(self.duration * b2.second, report=self.report, namespace={})
            simulation = time.perf_counter() - start
        start = time.perf_counter()
        result = collect_result(
            self._graph, self.spikes, self._conductances, self.pulse_steps, self.target
        )
        result.timings = {
            "simulation_s": simulation,
            "collect_s": time.perf_counter() - start,
            "energy_s": sum(layer.energy_time for layer in self.layers),
        }
        return result

    @property
    def duration(self) -> float:
        """Simulated time of one run, s."""
        return self._n_steps * self.dt
