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
"""

from __future__ import annotations

import itertools
import weakref
from pathlib import Path

import brian2 as b2
import numpy as np
import scipy.sparse as sp

from snn_rram._validation import one_of
from snn_rram.crossbar.array import Crossbar
from snn_rram.devices.iv import Linear
from snn_rram.errors import SnnRramError
from snn_rram.snn._targets import TARGETS, build_dir, configure_runtime
from snn_rram.snn.encoders import SpikeTrains
from snn_rram.snn.functions import column_current_function
from snn_rram.snn.neuron import IFNeuron
from snn_rram.snn.plan import LayerPlan
from snn_rram.snn.result import LayerResult, SnnResult

__all__ = ["SpikingNetwork"]

_names = itertools.count()
_active_standalone: weakref.ref | None = None


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
    try:
        column_current_function(xbar.device.read_model)
    except SnnRramError:
        return False
    return True


def _column_equations(s: str, linear: bool, energy: bool, gain: bool = True) -> list[str]:
    """Equations of one column (slot suffix ``s``) solved from its conductance sums."""
    lines = [f"ga{s} : siemens", f"gt{s} : siemens (constant)", f"R{s} : ohm (constant)"]
    if gain:
        lines.append(f"gain{s} : 1 (constant)")
    if linear:
        lines.append(f"i{s} = v_read*ga{s}/(1 + R{s}*gt{s}) : amp (constant over dt)")
    else:
        lines.append(
            f"i{s} = column_current(ga{s}, gt{s} - ga{s}, R{s}, v_read, b_dev) : amp "
            "(constant over dt)"
        )
    lines.append(f"x{s} = R{s}*i{s} : volt (constant over dt)")
    if energy:
        if linear:
            pa, pg = f"(v_read - x{s})**2", f"x{s}**2"
        else:
            pa = f"(v_read - x{s})*sinh(b_dev*(v_read - x{s}))/b_dev"
            pg = f"x{s}*sinh(b_dev*x{s})/b_dev"
        lines += [
            f"dPa{s}/dt = {pa} : volt**2*second",
            f"dPg{s}/dt = {pg} : volt**2*second",
            f"dEn{s}/dt = x{s}*i{s} : joule",
        ]
    return lines


class _EventLayer:
    """Brian2 objects of an event-based layer."""

    def __init__(self, net, index, xbar, plan, neuron, source, refractory, energy):
        c = xbar.circuit
        model = xbar.device.read_model
        linear = isinstance(model, Linear)
        fn = column_current_function(model)
        namespace = {} if fn is None else {"column_current": fn}
        dt = net.dt * b2.second
        pre = f"{net.name}_L{index}"
        K = plan.n_slots
        self.plan, self.xbar, self.energy, self.K = plan, xbar, energy, K
        lines = [
            "v_read : volt (shared, constant)",
            "C_mem : farad (shared, constant)",
            "theta : volt (shared, constant)",
        ]
        if not linear:
            lines.append("b_dev : 1/volt (shared, constant)")
        for k in range(K):
            lines += _column_equations(str(k), linear, energy)
        terms = [f"gain{k}*i{k}" for k in range(K)]
        if plan.n_shared:
            lines.append("I_shared : amp")
            terms.append("I_shared")
        lines.append("I_in = " + (" + ".join(terms) if terms else "0*amp") + " : amp")
        leak = ""
        if neuron.leak_tau is not None:
            lines.append("tau_leak : second (shared, constant)")
            leak = " - v/tau_leak"
        # v integrates during refractoriness too: charge is delayed, never lost
        lines.append(f"dv/dt = I_in/C_mem{leak} : volt")
        reset = "v -= theta" if neuron.reset == "subtract" else "v = 0*volt"
        self.group = b2.NeuronGroup(
            plan.n_neurons,
            "\n".join(lines),
            threshold="v > theta",
            reset=reset,
            refractory=refractory * b2.second,
            method="euler",
            dt=dt,
            namespace=namespace,
            name=f"{pre}_neurons",
        )
        g = self.group
        g.v_read = c.v_read * b2.volt
        g.C_mem = neuron.capacitance * b2.farad
        g.theta = neuron.threshold * b2.volt
        if not linear:
            g.b_dev = model.b / b2.volt
        if neuron.leak_tau is not None:
            g.tau_leak = neuron.leak_tau * b2.second
        r_n = c.r_neuron_for(xbar.n_cols)
        for k in range(K):
            col = plan.slot_col[:, k]
            setattr(g, f"R{k}", np.where(col >= 0, r_n[col], 0.0) * b2.ohm)
            setattr(g, f"gain{k}", plan.slot_gain[:, k])
        self.objects = [g]

        self.shared = None
        if plan.n_shared:
            slines = ["v_read : volt (shared, constant)"]
            if not linear:
                slines.append("b_dev : 1/volt (shared, constant)")
            slines += _column_equations("", linear, energy, gain=False)
            self.shared = b2.NeuronGroup(
                plan.n_shared,
                "\n".join(slines),
                method="euler",
                dt=dt,
                namespace=namespace,
                name=f"{pre}_shared",
            )
            self.shared.v_read = c.v_read * b2.volt
            if not linear:
                self.shared.b_dev = model.b / b2.volt
            self.shared.R = r_n[plan.shared_cols] * b2.ohm
            readout = b2.Synapses(
                self.shared,
                g,
                "gain_s : 1 (constant)\nI_shared_post = gain_s*i_pre : amp (summed)",
                dt=dt,
                name=f"{pre}_readout",
            )
            readout.connect(i=plan.shared_i, j=plan.shared_j)
            readout.gain_s = plan.shared_gain
            self.objects += [self.shared, readout]

        delay = {"end": net.pulse_steps[index] * dt}
        self.syn = None
        if plan.syn_i.size:
            model_lines = [f"G{k} : siemens (constant)" for k in range(K)]
            start = [f"ga{k}_post += G{k}" for k in range(K)]
            end = [f"ga{k}_post -= G{k}" for k in range(K)]
            if energy:
                model_lines += [f"acc{k} : volt**2*second" for k in range(K)]
                start += [f"acc{k} -= Pa{k}_post - Pg{k}_post" for k in range(K)]
                end += [f"acc{k} += Pa{k}_post - Pg{k}_post" for k in range(K)]
            self.syn = b2.Synapses(
                source,
                g,
                "\n".join(model_lines),
                on_pre={"start": "\n".join(start), "end": "\n".join(end)},
                delay=delay,
                dt=dt,
                name=f"{pre}_synapses",
            )
            self.syn.connect(i=plan.syn_i, j=plan.syn_j)
            self.objects.append(self.syn)
        self.ssyn = None
        if plan.ssyn_i.size:
            model_lines = ["G : siemens (constant)"]
            start, end = ["ga_post += G"], ["ga_post -= G"]
            if energy:
                model_lines.append("acc : volt**2*second")
                start.append("acc -= Pa_post - Pg_post")
                end.append("acc += Pa_post - Pg_post")
            self.ssyn = b2.Synapses(
                source,
                self.shared,
                "\n".join(model_lines),
                on_pre={"start": "\n".join(start), "end": "\n".join(end)},
                delay=delay,
                dt=dt,
                name=f"{pre}_shared_synapses",
            )
            self.ssyn.connect(i=plan.ssyn_i, j=plan.ssyn_j)
            self.objects.append(self.ssyn)
        self.set_conductances(xbar.G)

    def conductance_values(self, G) -> list[tuple[object, np.ndarray]]:
        """(variable view, value) pairs that carry conductances ``G`` (for run_args too)."""
        cond = self.plan.conductances(G)
        pairs = []
        g = self.group
        for k in range(self.K):
            pairs.append((getattr(g, f"gt{k}"), cond["gt"][:, k]))
            pairs.append((getattr(g, f"ga{k}"), cond["g_bias"][:, k]))
            if self.syn is not None:
                pairs.append((getattr(self.syn, f"G{k}"), cond["syn_G"][k]))
        if self.shared is not None:
            pairs.append((self.shared.gt, cond["shared_gt"]))
            pairs.append((self.shared.ga, cond["shared_bias"]))
            if self.ssyn is not None:
                pairs.append((self.ssyn.G, cond["ssyn_G"]))
        return pairs

    def set_conductances(self, G) -> None:
        for view, value in self.conductance_values(G):
            view[:] = value * b2.siemens

    def collect(self, G, open_inputs, input_counts, name) -> LayerResult:
        plan, K = self.plan, self.K
        n_cols = plan.shape[1]
        device_energy = neuron_energy = None
        if self.energy:
            g = self.group
            acc = (
                np.stack([np.asarray(getattr(self.syn, f"acc{k}_")[:]) for k in range(K)])
                if self.syn is not None
                else np.zeros((K, 0))
            )
            s_acc = np.asarray(self.ssyn.acc_[:]) if self.ssyn is not None else np.zeros(0)

            def slots(var):
                if K == 0:
                    return np.zeros((plan.n_neurons, 0))
                return np.stack([np.asarray(getattr(g, f"{var}{k}_")[:]) for k in range(K)], 1)

            def shared(var):
                if self.shared is None:
                    return np.zeros(0)
                return np.asarray(getattr(self.shared, f"{var}_")[:])

            device_energy = plan.device_energy(
                G, acc, s_acc, slots("Pa"), slots("Pg"), shared("Pa"), shared("Pg"), open_inputs
            )
            neuron_energy = np.zeros(n_cols)
            have = plan.slot_col >= 0
            neuron_energy[plan.slot_col[have]] = slots("En")[have]
            neuron_energy[plan.shared_cols] = shared("En")
        return _layer_result(name, self, device_energy, neuron_energy, input_counts)


def _layer_result(name, layer, device_energy, neuron_energy, input_counts):
    xbar = layer.xbar
    rows = xbar.layout.row_input
    reads = np.where(rows >= 0, input_counts[np.maximum(rows, 0)], 0)
    n_syn = int(layer.plan.syn_i.size + layer.plan.ssyn_i.size)
    return LayerResult(
        name=name,
        spike_indices=np.asarray(layer.spikes.i[:]),
        spike_times=np.asarray(layer.spikes.t_[:]),
        device_energy=device_energy,
        neuron_energy=neuron_energy,
        read_counts=reads.astype(np.int64),
        n_synapses=n_syn,
    )


class _CoupledLayer:
    """Brian2 objects of a layer whose columns are coupled: solved by ``Crossbar.read``."""

    def __init__(self, net, index, xbar, plan, neuron, source, refractory, energy):
        dt = net.dt * b2.second
        pre = f"{net.name}_L{index}"
        self.plan, self.xbar, self.energy = plan, xbar, energy
        self.rows = b2.NeuronGroup(xbar.layout.n_inputs, "active : 1", dt=dt, name=f"{pre}_rows")
        self.row_syn = b2.Synapses(
            source,
            self.rows,
            on_pre={"start": "active_post = 1", "end": "active_post = 0"},
            delay={"end": net.pulse_steps[index] * dt},
            dt=dt,
            name=f"{pre}_row_synapses",
        )
        self.row_syn.connect(j="i")
        lines = [
            "I_in : amp",
            "C_mem : farad (shared, constant)",
            "theta : volt (shared, constant)",
        ]
        leak = ""
        if neuron.leak_tau is not None:
            lines.append("tau_leak : second (shared, constant)")
            leak = " - v/tau_leak"
        lines.append(f"dv/dt = I_in/C_mem{leak} : volt")
        reset = "v -= theta" if neuron.reset == "subtract" else "v = 0*volt"
        self.group = b2.NeuronGroup(
            xbar.layout.n_neurons,
            "\n".join(lines),
            threshold="v > theta",
            reset=reset,
            refractory=refractory * b2.second,
            method="euler",
            dt=dt,
            name=f"{pre}_neurons",
        )
        self.group.C_mem = neuron.capacitance * b2.farad
        self.group.theta = neuron.threshold * b2.volt
        if neuron.leak_tau is not None:
            self.group.tau_leak = neuron.leak_tau * b2.second
        self._last = None
        self._since = 0
        n_rows, n_cols = xbar.shape
        self.e_dev = np.zeros((n_rows, n_cols)) if energy else None
        self.e_neuron = np.zeros(n_cols) if energy else None
        self._p_dev = self._p_neuron = None
        self.op = b2.NetworkOperation(self._update, dt=dt, when="start", name=f"{pre}_solve")
        self.objects = [self.rows, self.row_syn, self.group, self.op]

    def _flush(self, step):
        if self.energy and self._p_dev is not None:
            elapsed = (step - self._since) * self._dt
            self.e_dev += self._p_dev * elapsed
            self.e_neuron += self._p_neuron * elapsed
        self._since = step

    def _update(self, t):
        active = np.asarray(self.rows.active_[:]) > 0.5
        if self._last is not None and np.array_equal(active, self._last):
            return
        step = round(float(t / b2.second) / self._dt)
        self._flush(step)
        self._last = active
        res = self.xbar.read(self.xbar.layout.active_rows(active))
        self.group.I_in_[:] = res.output()[0]
        if self.energy:
            self._p_dev = res.device_power[0]
            self._p_neuron = res.neuron_power[0]

    def collect(self, G, open_inputs, input_counts, name) -> LayerResult:
        self._flush(self._n_steps)
        dev = sp.csr_matrix(self.e_dev) if self.energy else None
        return _layer_result(name, self, dev, self.e_neuron, input_counts)


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
        passed as run arguments (see :meth:`set_conductances`).
    coupled : bool, optional
        Solve every layer with :meth:`Crossbar.read` on each change of its active rows, instead
        of the event-based column solve. Default: only layers that need it (floating rows,
        wires, non-separable devices). Runtime targets only.
    record : dict, optional
        ``{layer index: [variable names]}`` to record every step with a StateMonitor (runtime
        targets), e.g. ``{0: ["v", "x0", "i0"]}``.
    name : str, optional
        Prefix of the Brian2 object names (and of the standalone build folder).
    report : str, optional
        Brian2 progress report for long runs (``"text"`` or ``"stdout"``).
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
    ):
        one_of(target, "target", TARGETS)
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
        self.report = report
        self.name = name or f"snn{next(_names)}"
        self.plans = [LayerPlan.from_crossbar(x) for x in crossbars]
        self._conductances = [x.G for x in crossbars]
        self._n_steps = spikes.n_images * spikes.image_steps
        self._built = False
        if target == "cpp_standalone":
            self._build_standalone()

    # -- construction ---------------------------------------------------------------------------

    def _create(self):
        dt = self.dt * b2.second
        sp_ = self.spikes
        source = b2.SpikeGeneratorGroup(
            sp_.n_inputs, sp_.indices, sp_.steps * dt, dt=dt, name=f"{self.name}_input"
        )
        objects = [source]
        self.layers = []
        for k, (xbar, plan, neuron) in enumerate(
            zip(self.crossbars, self.plans, self.neurons, strict=True)
        ):
            cls = _CoupledLayer if self.coupled[k] else _EventLayer
            layer = cls(self, k, xbar, plan, neuron, source, self.refractory[k], self.energy)
            if isinstance(layer, _CoupledLayer):
                layer._dt = self.dt
                layer._n_steps = self._n_steps
            layer.spikes = b2.SpikeMonitor(layer.group, name=f"{self.name}_L{k}_spikes")
            reset = layer.group.run_regularly(
                "v = 0*volt", dt=sp_.image_steps * dt, when="start", name=f"{self.name}_L{k}_image"
            )
            objects += [*layer.objects, layer.spikes, reset]
            layer.monitors = {}
            for var in self.record.get(k, []):
                mon = b2.StateMonitor(
                    layer.group,
                    var,
                    record=True,
                    dt=dt,
                    when="end",
                    name=f"{self.name}_L{k}_{var}",
                )
                layer.monitors[var] = mon
                objects.append(mon)
            self.layers.append(layer)
            source = layer.group
        out = self.layers[-1].group
        self._v_end = b2.StateMonitor(
            out,
            "v",
            record=True,
            dt=sp_.image_steps * dt,
            when="start",
            order=-1,
            name=f"{self.name}_v_end",
        )
        objects.append(self._v_end)
        self._net = b2.Network(objects, name=f"{self.name}_network")

    def _build_standalone(self):
        global _active_standalone
        directory = build_dir() / "standalone" / self.name
        if _active_standalone is not None and _active_standalone() is not None:
            _active_standalone()._built = False  # its compiled project is about to go
        b2.device.reinit()
        b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = []
        self._create()
        self._net.run(self._n_steps * self.dt * b2.second, report=self.report)
        b2.device.build(directory=str(directory), compile=True, run=False, clean=True)
        self._directory = Path(directory)
        self._built = True
        _active_standalone = weakref.ref(self)

    # -- conductances ---------------------------------------------------------------------------

    def set_conductances(self, layer: int, G) -> None:
        """Give layer ``layer`` new conductances for the next :meth:`run`.

        The device structure must stay the same (same shape; for sparse layers the same stored
        cells): the network's synapses were created for it. In standalone the new values are
        passed as run arguments, without recompiling.
        """
        old = self.crossbars[layer]
        new = old.with_conductances(G)
        if sp.issparse(old.G) != sp.issparse(new.G) or old.G.shape != new.G.shape:
            raise SnnRramError(
                f"G: layer {layer} was built for a {'sparse' if sp.issparse(old.G) else 'dense'}"
                f" {old.G.shape} array; got {'sparse' if sp.issparse(new.G) else 'dense'} "
                f"{new.G.shape}"
            )
        if sp.issparse(old.G):
            a, b = old.G.tocsr(), new.G.tocsr()
            a.sort_indices()
            b.sort_indices()
            if not (np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)):
                raise SnnRramError(f"G: layer {layer}'s stored cells differ from the built ones")
        self.crossbars[layer] = new
        self._conductances[layer] = new.G

    def _run_args(self) -> dict:
        args = {}
        for k, layer in enumerate(self.layers):
            for view, value in layer.conductance_values(self._conductances[k]):
                args[view] = value * b2.siemens
            xbar = self.crossbars[k]
            args[layer.group.v_read] = xbar.circuit.v_read * b2.volt
            if layer.shared is not None:
                args[layer.shared.v_read] = xbar.circuit.v_read * b2.volt
        return args

    # -- running --------------------------------------------------------------------------------

    def run(self) -> SnnResult:
        """Present every image once and collect spikes, predictions and energies."""
        if self.target == "cpp_standalone":
            if not self._built:
                raise SnnRramError(
                    "run: this standalone network's compiled project was replaced by a newer "
                    "standalone network (one per process at a time); build it again"
                )
            args = self._run_args()
            self._check_run_args(args)
            b2.device.run(
                directory=str(self._directory), with_output=self.report is not None, run_args=args
            )
        else:
            configure_runtime(self.target)
            self._create()
            self._net.run(self._n_steps * self.dt * b2.second, report=self.report, namespace={})
        return self._collect()

    def _check_run_args(self, args):
        """Brian2 keeps the old values, silently, when a run_args array has the wrong length."""
        for view, value in args.items():
            n = np.size(value)
            var = view.variable
            size = var.size if not getattr(var, "dynamic", False) else None
            if var.scalar:
                continue
            if size is None:
                owner = var.owner
                size = len(owner) if hasattr(owner, "__len__") else None
            if size is not None and n != size:
                raise SnnRramError(
                    f"run_args: {view.group_name}.{view.name} has {size} values, got {n}"
                )

    def _collect(self) -> SnnResult:
        sp_ = self.spikes
        n = self._n_steps
        input_counts = np.bincount(sp_.indices, minlength=sp_.n_inputs)
        last = np.full(sp_.n_inputs, -(10**12), dtype=np.int64)
        np.maximum.at(last, sp_.indices, sp_.steps)
        results = []
        for k, layer in enumerate(self.layers):
            open_inputs = last + self.pulse_steps[k] >= n
            res = layer.collect(self._conductances[k], open_inputs, input_counts, f"layer{k}")
            for var, mon in getattr(layer, "monitors", {}).items():
                res.states[var] = np.asarray(getattr(mon, f"{var}_")).T
            results.append(res)
            # this layer's spikes drive the next layer
            steps = np.round(res.spike_times / self.dt).astype(np.int64)
            input_counts = np.bincount(res.spike_indices, minlength=layer.plan.n_neurons)
            last = np.full(layer.plan.n_neurons, -(10**12), dtype=np.int64)
            np.maximum.at(last, res.spike_indices, steps)
        out = results[-1]
        n_out = self.layers[-1].plan.n_neurons
        image = np.round(out.spike_times / self.dt).astype(np.int64) // sp_.image_steps
        counts = np.bincount(
            image * n_out + out.spike_indices, minlength=sp_.n_images * n_out
        ).reshape(sp_.n_images, n_out)
        v = np.asarray(self._v_end.v_).T  # (records, n_out): v at the start of each image
        v_end = np.empty((sp_.n_images, n_out))
        v_end[:-1] = v[1 : sp_.n_images]
        v_end[-1] = np.asarray(self.layers[-1].group.v_[:])
        return SnnResult(
            results,
            counts,
            v_end,
            sp_.image_steps * self.dt,
            self.dt,
            self.target,
            input_counts=np.bincount(sp_.indices, minlength=sp_.n_inputs),
        )

    @property
    def duration(self) -> float:
        """Simulated time of one run, s."""
        return self._n_steps * self.dt
