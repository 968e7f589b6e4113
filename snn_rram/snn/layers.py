"""Brian2 objects of one crossbar layer: event based or coupled.

Event-based layers (grounded inactive rows, no wires, linear or sinh devices) keep each column's
state in plain variables that one code block advances per time step: the column current from
its conductance sum (``i = kk · ga`` with ``kk = v_read / (1 + R · gt)`` for linear devices,
``column_current()`` for sinh), then the membrane ``v += Σ gain · i · dt / C_mem``. Synapses add
their conductances at a pulse's start and remove them at its end (two pathways); pulses of one
step are instead consumed by the update, which clears the sum after using it.

Energy: sinh layers integrate ``D = Φa − Φg`` and ``Φg`` per column and keep ``acc`` per
synapse (``acc −= D`` at the start, ``+= D`` at the end; for one-step pulses only ``acc += dD``
one step after the start, ``dD`` being the column's increment of ``D`` in the pulse's step);
linear layers need nothing during the run, their energies follow exactly from the activity's
moments (:mod:`snn_rram.snn.energy`).

Sinh layers with one-step pulses in C++ standalone whose every input reaches every neuron (no
always-on rows, no shared columns) are stepped instead by the row kernel of
``include/snn_rram_rows.h``, called once per step before the update: from the source's spikes
it does nothing when no row is read, adds the precomputed responses of a row read alone, and
evaluates the tables only when rows overlap; the update integrates the ``I_in`` it leaves. The
numbers are those of the generated code (same tables, same order of operations).
"""

from __future__ import annotations

import itertools
import time

import brian2 as b2
import numpy as np
import scipy.sparse as sp
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

from snn_rram.devices.iv import Linear
from snn_rram.snn.energy import linear_energy
from snn_rram.snn.functions import (
    MAX_SLOTS,
    column_current_function,
    rows_function,
    set_rows_kernel,
    tabulated_column_functions,
)
from snn_rram.snn.result import LayerResult

__all__ = ["CoupledLayer", "EventLayer"]

_table_ids = itertools.count(1)


def _neuron_lines(neuron) -> list[str]:
    lines = ["C_mem : farad (shared, constant)", "theta : volt (shared, constant)"]
    if neuron.leak_tau is not None:
        lines.append("tau_leak : second (shared, constant)")
    return lines


def _assign(view, value) -> None:
    """Set a variable, except shared scalars in standalone.

    A standalone run receives every crossbar value and neuron constant as a run argument, so
    a scalar assignment (which Brian2 compiles in as a literal) would only make the code depend
    on the values, and defeat the build cache of :mod:`snn_rram.snn._build_cache`.
    """
    if view.variable.scalar and isinstance(b2.get_device(), CPPStandaloneDevice):
        return
    view[:] = value


def _set_neuron(group, neuron):
    _assign(group.C_mem, neuron.capacitance * b2.farad)
    _assign(group.theta, neuron.threshold * b2.volt)
    if neuron.leak_tau is not None:
        _assign(group.tau_leak, neuron.leak_tau * b2.second)


def _reset(neuron) -> str:
    return "v -= theta" if neuron.reset == "subtract" else "v = 0*volt"


def layer_result(name, layer, device_energy, neuron_energy, input_counts) -> LayerResult:
    """Assemble a :class:`LayerResult` from a layer's monitors and energies."""
    rows = layer.xbar.layout.row_input
    reads = np.where(rows >= 0, input_counts[np.maximum(rows, 0)], 0)
    return LayerResult(
        name=name,
        spike_indices=np.asarray(layer.spikes.i[:]),
        spike_times=np.asarray(layer.spikes.t_[:]),
        device_energy=device_energy,
        neuron_energy=neuron_energy,
        read_counts=reads.astype(np.int64),
        n_synapses=int(layer.plan.syn_i.size + layer.plan.ssyn_i.size),
    )


class _Columns:
    """Variables and per-step statements of the columns of one group (slots ``suffixes``).

    ``consume``: pulses last one step, so synapses add into ``gs`` and the update uses and
    clears it (no pathway removes them; with event energy, one a step later adds the step's
    ``dD`` to ``acc``); otherwise synapses add to and remove from ``ga``.
    ``table_ids``: one table set per slot for the tabulated sinh solve, or ``None`` for the
    exact solve. ``direct``: linear one-step pulses whose column values are not stored; the
    currents superpose, so each synapse adds its own contribution to the neuron's input
    current of the step, ``I_in`` (one sum per neuron instead of one per column).
    """

    def __init__(
        self, suffixes, linear, consume, event_energy, store, gain, table_ids=None, rows=False
    ):
        self.s, self.linear, self.consume = list(suffixes), linear, consume
        self.event_energy, self.store, self.gain = event_energy, store, gain
        self.table_ids = table_ids
        self.direct = linear and consume and gain and not store
        self.rows = rows
        self.summed = self.direct or rows  # the neurons' input current arrives as I_in

    def sum_name(self, s: str) -> str:
        """Variable the synapses write to."""
        return f"gs{s}" if self.consume else f"ga{s}"

    def active(self, s: str) -> str:
        """Expression of the active conductance sum in the update."""
        return f"(gb{s} + gs{s})" if self.consume else f"ga{s}"

    def variables(self) -> list[str]:
        lines = ["I_in : amp"] if self.summed else []
        for s in self.s:
            if not self.summed:
                lines.append(f"{self.sum_name(s)} : siemens")
            if self.consume and (self.store or not self.linear) and not self.rows:
                lines.append(f"gb{s} : siemens (constant)")
            lines.append(f"R{s} : ohm (constant)")
            if self.linear:
                if self.store:
                    lines.append(f"kk{s} : volt (constant)")
                if self.gain and not self.direct:
                    lines.append(f"w{s} : volt (constant)")
            else:
                lines.append(f"gt{s} : siemens (constant)")
                if self.gain:
                    lines.append(f"gain{s} : 1 (constant)")
            if self.store:
                lines += [f"icol{s} : amp", f"vcol{s} : volt"]
            if self.event_energy and self.rows:
                lines += [f"Pg{s} : volt**2*second", f"En{s} : joule"]
            elif self.event_energy:
                lines += [f"D{s} : volt**2*second", f"Pg{s} : volt**2*second", f"En{s} : joule"]
                if self.consume:
                    lines.append(f"dD{s} : volt**2*second")
        if self.linear and self.consume and self.gain:
            lines.append("WB : amp (constant)")
        return lines

    def update(self) -> tuple[list[str], list[str]]:
        """Statements of the step, and the terms of the neurons' input current."""
        lines, terms = [], []
        if self.rows:
            return lines, ["I_in"]
        for n, s in enumerate(self.s):
            ga = self.active(s)
            if self.linear:
                if self.store:
                    lines += [f"icol{s} = kk{s}*{ga}", f"vcol{s} = R{s}*icol{s}"]
                if self.gain and not self.direct:
                    terms.append(f"w{s}*{self.sum_name(s) if self.consume else ga}")
                continue
            i = f"icol{s}" if self.store else f"_icol{s}"
            x = f"vcol{s}" if self.store else f"_vcol{s}"
            if self.table_ids is None:
                lines += [
                    f"{i} = column_current({ga}, gt{s} - {ga}, R{s}, v_read, b_dev)",
                    f"{x} = R{s}*{i}",
                ]
                if self.event_energy:
                    lines += [
                        f"_ua{s} = v_read - {x}",
                        f"_pg{s} = {x}*sinh(b_dev*{x})/b_dev",
                        *self._integrate(s, f"(_ua{s}*sinh(b_dev*_ua{s})/b_dev - _pg{s})"),
                        f"Pg{s} += _pg{s}*dt",
                    ]
            else:
                tid = self.table_ids[n]
                lines.append(f"{i} = column_i({ga}, gt{s}, R{s}, v_read, b_dev, {tid}, i)")
                if self.store or self.event_energy:
                    lines.append(f"{x} = column_x({tid}, i)")
                if self.event_energy:
                    lines += self._integrate(s, f"column_d({tid}, i)")
                    lines.append(f"Pg{s} += column_pg({tid}, i)*dt")
            if self.event_energy:
                lines.append(f"En{s} += {x}*{i}*dt")
            if self.gain:
                terms.append(f"gain{s}*{i}")
        if self.direct:
            terms.append("I_in")
        if self.linear and self.consume and self.gain:
            terms.insert(0, "WB")
        return lines, terms

    def _integrate(self, s: str, rate: str) -> list[str]:
        """Statements that advance ``D`` by ``rate·dt`` (keeping the increment ``dD``)."""
        if self.consume:
            return [f"dD{s} = {rate}*dt", f"D{s} += dD{s}"]
        return [f"D{s} += {rate}*dt"]

    def clear(self) -> list[str]:
        """Statements that consume the one-step pulses."""
        if self.summed:
            return ["I_in = 0*amp"]
        return [f"gs{s} = 0*siemens" for s in self.s] if self.consume else []

    @staticmethod
    def kk(cond_gt, r, v_read):
        """Neuron current per unit of read conductance of linear columns, ``i = kk · ga``."""
        return v_read / (1.0 + r * cond_gt)

    def values(self, group, cond_gt, cond_bias, r, kk_gain, v_read) -> list:
        """``(view, value, length)`` of the conductance-dependent variables of ``group``.

        ``cond_gt``, ``cond_bias``, ``r``: (n, n_slots) column totals, always-on sums and
        neuron resistances of the slots; ``kk_gain``: (n, n_slots) gains (or ones).
        """
        out = []
        n = cond_gt.shape[0]
        kk = self.kk(cond_gt, r, v_read)
        for k, s in enumerate(self.s):
            if self.consume:
                if (self.store or not self.linear) and not self.rows:
                    out.append((getattr(group, f"gb{s}"), cond_bias[:, k] * b2.siemens, n))
            else:
                out.append((getattr(group, f"ga{s}"), cond_bias[:, k] * b2.siemens, n))
            if self.linear:
                if self.store:
                    out.append((getattr(group, f"kk{s}"), kk[:, k] * b2.volt, n))
                if self.gain and not self.direct:
                    out.append((getattr(group, f"w{s}"), kk_gain[:, k] * kk[:, k] * b2.volt, n))
            else:
                out.append((getattr(group, f"gt{s}"), cond_gt[:, k] * b2.siemens, n))
        if self.linear and self.consume and self.gain:
            wb = np.sum(kk_gain * kk * cond_bias, axis=1)
            out.append((group.WB, wb * b2.amp, n))
        return out


class EventLayer:
    """Event-based layer: columns solved from their conductance sums in the neurons' update.

    Parameters
    ----------
    prefix : str
        Name prefix of the Brian2 objects.
    xbar, plan, neuron
        The crossbar, its :class:`~snn_rram.snn.plan.LayerPlan` and its neurons' parameters.
    source : brian2.Group
        Spike source (input generator or previous layer's neurons).
    dt : float
        Time step, s.
    pulse_steps : int
        Read pulse width in steps.
    refractory : float
        Refractory period, s.
    energy : bool
        Account device energies: event based for sinh devices; for linear devices exactly
        from the activity's moments after the run (:mod:`snn_rram.snn.energy`), which costs
        the simulation nothing.
    record : list of str
        Variables that will be recorded (``vcol0``, ``icol0``, ...: then stored every step).
    solver : {"table", "exact"}
        Column solve of sinh devices: tabulated (cubic Hermite, ~1e-12, fast) or exact Newton
        at every step.
    """

    coupled = False

    def __init__(
        self,
        prefix,
        xbar,
        plan,
        neuron,
        source,
        dt,
        pulse_steps,
        refractory,
        energy,
        record=(),
        solver="table",
    ):
        model = xbar.device.read_model
        self.linear = linear = isinstance(model, Linear)
        self.energy = energy
        self.event_energy = energy and not linear
        self.consume = pulse_steps == 1
        dt_q = dt * b2.second
        K = plan.n_slots
        self.plan, self.xbar, self.K, self.pulse_steps, self.dt = plan, xbar, K, pulse_steps, dt
        store = any(name.startswith(("icol", "vcol")) for name in record)
        tabulated = not linear and solver == "table"
        ids = [next(_table_ids) for _ in range(K + 1)] if tabulated else None
        # sinh one-step pulses in standalone, every input reaching every neuron: stepped by the
        # row kernel (include/snn_rram_rows.h)
        rows = (
            tabulated
            and self.consume
            and not store
            and isinstance(b2.get_device(), CPPStandaloneDevice)
            and plan.n_shared == 0
            and plan.n_bias_rows == 0
            and 1 <= K <= MAX_SLOTS
            and plan.dense_synapses
        )
        self.cols = _Columns(
            [str(k) for k in range(K)],
            linear,
            self.consume,
            self.event_energy,
            store,
            gain=True,
            table_ids=None if ids is None else ids[:K],
            rows=rows,
        )
        if rows:
            self.rows_name = f"snn_rram_rows_{prefix}"
            self.rows_function = rows_function()
            namespace = {self.rows_name: self.rows_function}
        elif linear:
            namespace = {}
        elif tabulated:
            namespace = tabulated_column_functions()
        else:
            namespace = {"column_current": column_current_function(model)}

        lines = ["v : volt", "v_read : volt (shared, constant)", *_neuron_lines(neuron)]
        if not linear:
            lines.append("b_dev : 1/volt (shared, constant)")
        if rows:
            lines.append("rows_read : 1 (shared)")
        lines += self.cols.variables()
        update, terms = self.cols.update()
        if plan.n_shared:
            lines.append("I_shared : amp")
            terms.append("I_shared")
        current = " + ".join(terms) if terms else "0*amp"
        if neuron.leak_tau is None:
            update.append(f"v += ({current})*dt/C_mem")
        else:  # forward Euler
            update.append(f"v += (({current})/C_mem - v/tau_leak)*dt")
        update += self.cols.clear()
        self.group = b2.NeuronGroup(
            plan.n_neurons,
            "\n".join(lines),
            threshold="v > theta",
            reset=_reset(neuron),
            refractory=refractory * b2.second,
            dt=dt_q,
            namespace=namespace,
            name=f"{prefix}_neurons",
        )
        g = self.group
        self.update = g.run_regularly(
            "\n".join(update), dt=dt_q, when="groups", order=0, name=f"{prefix}_update"
        )
        _set_neuron(g, neuron)
        self.objects = [g, self.update]

        self.shared = None
        self.scols = _Columns(
            [""],
            linear,
            self.consume,
            self.event_energy,
            True,
            gain=False,
            table_ids=None if ids is None else ids[K:],
        )
        if plan.n_shared:
            slines = ["v_read : volt (shared, constant)"]
            if not linear:
                slines.append("b_dev : 1/volt (shared, constant)")
            slines += self.scols.variables()
            s_update, _ = self.scols.update()
            self.shared = b2.NeuronGroup(
                plan.n_shared,
                "\n".join(slines),
                dt=dt_q,
                namespace=namespace,
                name=f"{prefix}_shared",
            )
            shared_update = self.shared.run_regularly(
                "\n".join(s_update + self.scols.clear()),
                dt=dt_q,
                when="groups",
                order=-2,
                name=f"{prefix}_shared_update",
            )
            readout_model = "gain_s : 1 (constant)\nI_shared_post = gain_s*icol_pre : amp (summed)"
            readout = b2.Synapses(self.shared, g, readout_model, dt=dt_q, name=f"{prefix}_readout")
            readout.connect(i=plan.shared_i, j=plan.shared_j)
            self.readout = readout
            self.objects += [self.shared, shared_update, readout]

        self.syn = self.ssyn = None
        if plan.syn_i.size:
            self.syn = self._synapses(source, g, self.cols, dt_q, f"{prefix}_synapses")
            self.syn.connect(i=plan.syn_i, j=plan.syn_j)
            self.objects.append(self.syn)
        if rows:  # before the neurons' update, which uses the I_in it leaves
            set_rows_kernel(
                self.rows_function, self.rows_name, source, g, self.syn, K, ids[:K], self.energy
            )
            self.objects.append(
                g.run_regularly(
                    f"rows_read = {self.rows_name}(dt)",
                    dt=dt_q,
                    when="groups",
                    order=-1,
                    name=f"{prefix}_row_kernel",
                )
            )
        if plan.ssyn_i.size:
            self.ssyn = self._synapses(
                source, self.shared, self.scols, dt_q, f"{prefix}_shared_synapses"
            )
            self.ssyn.connect(i=plan.ssyn_i, j=plan.ssyn_j)
            self.objects.append(self.ssyn)
        self.retarget(xbar, plan)
        for view, value, _ in self.crossbar_values(xbar.G):
            _assign(view, value)

    def _synapses(self, source, target, cols, dt_q, name):
        if cols.rows:  # no pathways: the row kernel reads the source's spikes
            model = [f"G{s} : siemens (constant)" for s in cols.s]
            if cols.event_energy:
                model += [f"acc{s} : volt**2*second" for s in cols.s]
            return b2.Synapses(source, target, "\n".join(model), dt=dt_q, name=name)
        if cols.direct:  # linear one-step pulses: the synapse's own current
            model, start = ["Ic : amp (constant)"], ["I_in_post += Ic"]
        else:
            model = [f"G{s} : siemens (constant)" for s in cols.s]
            start = [f"{cols.sum_name(s)}_post += G{s}" for s in cols.s]
        if cols.event_energy:
            model += [f"acc{s} : volt**2*second" for s in cols.s]
        if cols.consume and cols.event_energy:  # the pulse's step is integrated a step later
            end = [f"acc{s} += dD{s}_post" for s in cols.s]
        elif cols.consume:
            return b2.Synapses(
                source, target, "\n".join(model), on_pre="\n".join(start), dt=dt_q, name=name
            )
        else:
            end = [f"ga{s}_post -= G{s}" for s in cols.s]
            if cols.event_energy:
                start += [f"acc{s} -= D{s}_post" for s in cols.s]
                end += [f"acc{s} += D{s}_post" for s in cols.s]
        return b2.Synapses(
            source,
            target,
            "\n".join(model),
            on_pre={"start": "\n".join(start), "end": "\n".join(end)},
            delay={"end": self.pulse_steps * dt_q},
            dt=dt_q,
            name=name,
        )

    def retarget(self, xbar, plan) -> None:
        """Take ``xbar``, a crossbar of the same structure, for :meth:`crossbar_values`."""
        self.xbar, self.plan = xbar, plan
        r_n = xbar.circuit.r_neuron_for(xbar.n_cols)
        self.r_slot = np.where(plan.slot_col >= 0, r_n[np.maximum(plan.slot_col, 0)], 0.0)

    def crossbar_values(self, G) -> list[tuple[object, object, int]]:
        """``(variable view, value, expected length)`` of every crossbar-dependent variable.

        Read voltage, device constant, neuron input resistances, readout gains and conductance
        sums for conductances ``G``: used to set the variables, and as the run arguments of a
        standalone build.
        """
        plan, g, n = self.plan, self.group, self.plan.n_neurons
        v_read = self.xbar.circuit.v_read
        cond = plan.conductances(G)
        out = [(g.v_read, v_read * b2.volt, 1)]
        if not self.linear:
            out.append((g.b_dev, self.xbar.device.read_model.b / b2.volt, 1))
        for k in range(self.K):
            out.append((getattr(g, f"R{k}"), self.r_slot[:, k] * b2.ohm, n))
            if not self.linear:
                out.append((getattr(g, f"gain{k}"), plan.slot_gain[:, k], n))
        out += self.cols.values(g, cond["gt"], cond["g_bias"], self.r_slot, plan.slot_gain, v_read)
        if self.syn is not None and self.cols.direct:  # Σ over its columns of gain · kk · G
            w = plan.slot_gain * self.cols.kk(cond["gt"], self.r_slot, v_read)
            ic = sum(w[plan.syn_j, k] * cond["syn_G"][k] for k in range(self.K))
            out.append((self.syn.Ic, np.asarray(ic) * b2.amp, plan.syn_i.size))
        elif self.syn is not None:
            for k in range(self.K):
                out.append(
                    (getattr(self.syn, f"G{k}"), cond["syn_G"][k] * b2.siemens, plan.syn_i.size)
                )
        if self.shared is not None:
            s = self.shared
            r = self.xbar.circuit.r_neuron_for(self.xbar.n_cols)[plan.shared_cols]
            out.append((s.v_read, v_read * b2.volt, 1))
            if not self.linear:
                out.append((s.b_dev, self.xbar.device.read_model.b / b2.volt, 1))
            out.append((s.R, r * b2.ohm, plan.n_shared))
            out.append((self.readout.gain_s, plan.shared_gain, plan.shared_i.size))
            out += self.scols.values(
                s,
                cond["shared_gt"][:, None],
                cond["shared_bias"][:, None],
                r[:, None],
                np.ones((plan.n_shared, 1)),
                v_read,
            )
            if self.ssyn is not None:
                out.append((self.ssyn.G, cond["ssyn_G"] * b2.siemens, plan.ssyn_i.size))
        return out

    def collect(self, G, open_inputs, input_counts, name, windows=None) -> LayerResult:
        """Read spikes and energies after a run (``windows``: input pulse windows, linear)."""
        plan, K = self.plan, self.K
        n_cols = plan.shape[1]
        device_energy = neuron_energy = None
        start = time.perf_counter()
        if self.energy and self.linear:
            device_energy, neuron_energy = linear_energy(
                self.xbar.with_conductances(G), windows, self.dt
            )
        elif self.energy:
            g = self.group

            def slots(var):
                if K == 0:
                    return np.zeros((plan.n_neurons, 0))
                return np.stack([np.asarray(getattr(g, f"{var}{k}_")[:]) for k in range(K)], 1)

            def shared(var):
                if self.shared is None:
                    return np.zeros(0)
                return np.asarray(getattr(self.shared, f"{var}_")[:])

            acc = (
                np.stack([np.asarray(getattr(self.syn, f"acc{k}_")[:]) for k in range(K)])
                if self.syn is not None
                else np.zeros((K, 0))
            )
            s_acc = np.asarray(self.ssyn.acc_[:]) if self.ssyn is not None else np.zeros(0)
            Pg, sD, sPg = slots("Pg"), shared("D"), shared("Pg")
            D = np.zeros_like(Pg) if self.cols.rows else slots("D")
            if self.consume:  # pulses still open have not been integrated, nor subtracted
                open_inputs = np.zeros_like(open_inputs)
            device_energy = plan.device_energy(
                G, acc, s_acc, D + Pg, Pg, sD + sPg, sPg, open_inputs
            )
            neuron_energy = np.zeros(n_cols)
            have = plan.slot_col >= 0
            neuron_energy[plan.slot_col[have]] = slots("En")[have]
            neuron_energy[plan.shared_cols] = shared("En")
        self.energy_time = time.perf_counter() - start
        return layer_result(name, self, device_energy, neuron_energy, input_counts)


class CoupledLayer:
    """A layer whose columns are coupled (floating rows, wires, non-separable devices).

    A network operation re-solves the whole array with :meth:`Crossbar.read` whenever the set
    of active rows changes, sets the neurons' input currents, and integrates every device's
    power between changes. Runtime targets only. Parameters as :class:`EventLayer`.
    """

    coupled = True

    def __init__(self, prefix, xbar, plan, neuron, source, dt, pulse_steps, refractory, energy):
        dt_q = dt * b2.second
        self.plan, self.xbar, self.energy, self.dt = plan, xbar, energy, dt
        self.rows = b2.NeuronGroup(
            xbar.layout.n_inputs, "active : 1", dt=dt_q, name=f"{prefix}_rows"
        )
        self.row_syn = b2.Synapses(
            source,
            self.rows,
            on_pre={"start": "active_post = 1", "end": "active_post = 0"},
            delay={"end": pulse_steps * dt_q},
            dt=dt_q,
            name=f"{prefix}_row_synapses",
        )
        self.row_syn.connect(j="i")
        leak = " - v/tau_leak" if neuron.leak_tau is not None else ""
        lines = ["I_in : amp", *_neuron_lines(neuron), f"dv/dt = I_in/C_mem{leak} : volt"]
        self.group = b2.NeuronGroup(
            xbar.layout.n_neurons,
            "\n".join(lines),
            threshold="v > theta",
            reset=_reset(neuron),
            refractory=refractory * b2.second,
            method="euler",
            dt=dt_q,
            name=f"{prefix}_neurons",
        )
        _set_neuron(self.group, neuron)
        self._last = None
        self._since = 0
        n_rows, n_cols = xbar.shape
        self.e_dev = np.zeros((n_rows, n_cols)) if energy else None
        self.e_neuron = np.zeros(n_cols) if energy else None
        self._p_dev = self._p_neuron = None
        self.op = b2.NetworkOperation(self._update, dt=dt_q, when="start", name=f"{prefix}_solve")
        self.objects = [self.rows, self.row_syn, self.group, self.op]

    def _flush(self, step):
        if self.energy and self._p_dev is not None:
            elapsed = (step - self._since) * self.dt
            self.e_dev += self._p_dev * elapsed
            self.e_neuron += self._p_neuron * elapsed
        self._since = step

    def _update(self, t):
        active = np.asarray(self.rows.active_[:]) > 0.5
        if self._last is not None and np.array_equal(active, self._last):
            return
        self._flush(round(float(t / b2.second) / self.dt))
        self._last = active
        res = self.xbar.read(self.xbar.layout.active_rows(active))
        self.group.I_in_[:] = res.output()[0]
        if self.energy:
            self._p_dev = res.device_power[0]
            self._p_neuron = res.neuron_power[0]

    def collect(self, G, open_inputs, input_counts, name, n_steps) -> LayerResult:
        """Read spikes and energies after a run of ``n_steps``."""
        self._flush(n_steps)
        dev = None
        if self.energy:
            dev = self.e_dev
            if sp.issparse(G):  # only where the devices are
                mask = sp.csr_matrix(G, copy=True)
                mask.data[:] = 1.0
                dev = mask.multiply(self.e_dev).tocsr()
        return layer_result(name, self, dev, self.e_neuron, input_counts)
