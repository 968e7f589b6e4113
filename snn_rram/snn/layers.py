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

Sinh layers with one-step pulses in C++ standalone (dense or sparse, with or without always-on
rows) are stepped instead by the row kernel of ``include/snn_rram_rows.h``, called once per step
before the update: from the source's spikes it adds the idle point's constants when no row is
read (nothing without always-on rows), the precomputed responses of a row read alone, and
evaluates the tables only for the columns that rows read together reach; the update integrates
the ``I_in`` it leaves. Shared columns keep their own generated group. The numbers are those of
the generated code (same tables, same order of operations).

The columns of a group are a column model (:class:`LinearColumns`, :class:`SinhExactColumns`,
:class:`SinhTableColumns`, :class:`SinhRowColumns`): its Brian2 variables, update statements,
device constants and conductance-dependent values. The read model picks it: a factory is
registered per read model class with :func:`column_model`; a device law without one takes the
coupled solve (:class:`CoupledLayer`). A layer is built from a :class:`LayerSpec`.
"""

from __future__ import annotations

import functools
import itertools
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import brian2 as b2
import numpy as np
import scipy.sparse as sp
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.utils.stringtools import word_substitute

from snn_rram.devices.iv import Linear, Sinh
from snn_rram.errors import SnnRramError
from snn_rram.snn.energy import linear_energy
from snn_rram.snn.functions import (
    MAX_SLOTS,
    column_current_function,
    rows_function,
    set_rows_kernel,
    tabulated_column_functions,
)
from snn_rram.snn.result import LayerResult

__all__ = ["CoupledLayer", "EventLayer", "LayerSpec", "column_model", "has_column_model"]

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


def _add_monitors(layer, spec) -> None:
    """Give ``layer`` its own monitors: its spikes, and every step the variables ``spec.record``.

    They are ``layer.spikes`` and ``layer.monitors`` (by variable), and join ``layer.objects``.
    """
    dt_q = spec.dt * b2.second
    layer.spikes = b2.SpikeMonitor(layer.group, name=f"{spec.prefix}_spikes")
    layer.monitors = {
        var: b2.StateMonitor(
            layer.group, var, record=True, dt=dt_q, when="end", name=f"{spec.prefix}_{var}"
        )
        for var in spec.record
    }
    layer.objects += [layer.spikes, *layer.monitors.values()]


def layer_result(name, layer, device_energy, neuron_energy, input_counts) -> LayerResult:
    """Assemble a :class:`LayerResult` from a layer's monitors and energies."""
    rows = layer.xbar.layout.row_input
    reads = np.where(rows >= 0, input_counts[np.maximum(rows, 0)], 0)
    # copies (np.array), never views: Brian2 2.11's monitors hand out views into memory that
    # is freed with their network (tests/snn/test_brian2_internals.py)
    return LayerResult(
        name=name,
        spike_indices=np.array(layer.spikes.i[:]),
        spike_times=np.array(layer.spikes.t_[:]),
        device_energy=device_energy,
        neuron_energy=neuron_energy,
        read_counts=reads.astype(np.int64),
        n_synapses=int(layer.plan.syn_i.size + layer.plan.ssyn_i.size),
        states={var: np.array(getattr(mon, f"{var}_")).T for var, mon in layer.monitors.items()},
    )


@dataclass(frozen=True)
class LayerSpec:
    """What a layer's Brian2 objects are built from.

    Attributes
    ----------
    prefix : str
        Name prefix of the Brian2 objects.
    xbar : Crossbar
        The crossbar.
    plan : LayerPlan
        Its synapses and columns (:class:`~snn_rram.snn.plan.LayerPlan`).
    neuron : IFNeuron
        The layer's neuron parameters.
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
    record : tuple of str
        Variables the layer's own monitors record every step (event-based layers: ``vcol0``,
        ``icol0``, ... are then stored every step).
    solver : {"table", "exact"}
        Column solve of sinh devices (event-based layers): tabulated (cubic Hermite, ~1e-12,
        fast) or exact Newton at every step.
    """

    prefix: str
    xbar: object
    plan: object
    neuron: object
    dt: float
    pulse_steps: int
    refractory: float
    energy: bool
    record: tuple = ()
    solver: str = "table"


class _Columns(ABC):
    """Variables, per-step statements and values of the columns of one group (slots ``s``).

    One subclass per kind of column (linear closed form, sinh exact, sinh tables, sinh row
    kernel); the read model picks it (:func:`column_model`). Common to every kind:
    ``consume``: pulses last one step, so synapses add into ``gs`` and the update uses and
    clears it (no pathway removes them; with event energy, one a step later adds the step's
    ``dD`` to ``acc``); otherwise synapses add to and remove from ``ga``. ``store``: the
    columns' currents and voltages are kept (``icol``, ``vcol``). ``gain``: the group's
    neurons read the columns (``False`` for shared columns, read through synapses).
    """

    #: Synapses add their own current into the neurons' ``I_in`` (no conductance sums).
    direct = False
    #: Stepped by the row kernel (``include/snn_rram_rows.h``).
    rows = False
    #: Energies follow from the activity after the run (none is integrated during it).
    energy_from_activity = False

    def __init__(self, suffixes, consume, energy, store, gain):
        self.s, self.consume, self.store, self.gain = list(suffixes), consume, store, gain
        self.event_energy = energy and not self.energy_from_activity

    @property
    def summed(self) -> bool:
        """The neurons' input current arrives as ``I_in``."""
        return self.direct or self.rows

    def sum_name(self, s: str) -> str:
        """Variable the synapses write to."""
        return f"gs{s}" if self.consume else f"ga{s}"

    def active(self, s: str) -> str:
        """Expression of the active conductance sum in the update."""
        return f"(gb{s} + gs{s})" if self.consume else f"ga{s}"

    def _bias_sum(self) -> bool:
        """One-step pulses: the always-on sum ``gb`` is kept apart from the pulses' ``gs``."""
        return self.consume

    def functions(self, model) -> dict:
        """The Brian2 functions the update calls, by name."""
        return {}

    def device_variables(self) -> list[str]:
        """Shared constants of the device law."""
        return []

    def device_values(self, group, model) -> list:
        """``(view, value, length)`` of :meth:`device_variables` for read model ``model``."""
        return []

    @abstractmethod
    def _slot_variables(self, s: str) -> list[str]:
        """Brian2 equation lines of one column slot's constants."""

    def _energy_variables(self, s: str) -> list[str]:
        lines = [f"D{s} : volt**2*second", f"Pg{s} : volt**2*second", f"En{s} : joule"]
        return [*lines, f"dD{s} : volt**2*second"] if self.consume else lines

    def _extra_variables(self) -> list[str]:
        return []

    def variables(self) -> list[str]:
        """Brian2 equation lines of the columns' variables."""
        lines = ["I_in : amp"] if self.summed else []
        for s in self.s:
            if not self.summed:
                lines.append(f"{self.sum_name(s)} : siemens")
            if self._bias_sum():
                lines.append(f"gb{s} : siemens (constant)")
            lines.append(f"R{s} : ohm (constant)")
            lines += self._slot_variables(s)
            if self.store:
                lines += [f"icol{s} : amp", f"vcol{s} : volt"]
            if self.event_energy:
                lines += self._energy_variables(s)
        return lines + self._extra_variables()

    @abstractmethod
    def update(self) -> tuple[list[str], list[str]]:
        """Statements of the step, and the terms of the neurons' input current."""

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

    @abstractmethod
    def _slot_values(self, group, k, s, cond_gt, kk_gain, kk) -> list:
        """``(view, value, length)`` of one column slot's constants."""

    def _extra_values(self, group, cond_bias, kk_gain, kk) -> list:
        return []

    def values(self, group, cond_gt, cond_bias, r, kk_gain, v_read) -> list:
        """``(view, value, length)`` of the conductance-dependent variables of ``group``.

        ``cond_gt``, ``cond_bias``, ``r``: (n, n_slots) column totals, always-on sums and
        neuron resistances of the slots; ``kk_gain``: (n, n_slots) gains (or ones).
        """
        out = []
        n = cond_gt.shape[0]
        kk = self.kk(cond_gt, r, v_read)
        for k, s in enumerate(self.s):
            if self._bias_sum():
                out.append((getattr(group, f"gb{s}"), cond_bias[:, k] * b2.siemens, n))
            elif not self.consume:
                out.append((getattr(group, f"ga{s}"), cond_bias[:, k] * b2.siemens, n))
            out += self._slot_values(group, k, s, cond_gt, kk_gain, kk)
        return out + self._extra_values(group, cond_bias, kk_gain, kk)


_COLUMN_MODELS: dict[type, object] = {}


def column_model(*read_models):
    """Register a column-model factory as the one serving these read model classes.

    The factory is called as ``factory(suffixes, consume, energy, store, gain, solver=...,
    row_kernel=...)`` (``row_kernel``: the layer could be stepped by the row kernel) and
    returns a :class:`_Columns`. Subclasses of a registered read model are served by it too.
    """

    def register(factory):
        for read_model in read_models:
            _COLUMN_MODELS[read_model] = factory
        return factory

    return register


def _factory(model):
    for klass in type(model).__mro__:
        if klass in _COLUMN_MODELS:
            return _COLUMN_MODELS[klass]
    if getattr(model, "separable", False) and callable(getattr(model, "brian2_law", None)):
        return functools.partial(LawColumns, model)  # any separable law stated for Brian2
    return None


def has_column_model(model) -> bool:
    """Whether an event-based layer can solve columns of read model ``model``."""
    return _factory(model) is not None


def make_columns(model, *args, solver: str = "table", row_kernel: bool = False) -> _Columns:
    """The column model serving ``model`` (arguments as :func:`column_model`'s factories)."""
    factory = _factory(model)
    if factory is None:
        raise SnnRramError(
            f"device: the event-based synapse layer solves columns of the read models "
            f"{sorted(k.__name__ for k in _COLUMN_MODELS)}; {type(model).__name__} needs the "
            f"coupled solve (use a runtime target with coupled=True)"
        )
    return factory(*args, solver=solver, row_kernel=row_kernel)


@column_model(Linear)
class LinearColumns(_Columns):
    """Ohmic cells: ``i = kk · ga`` with ``kk = v_read / (1 + R · gt)``, weights ``w = gain · kk``.

    ``direct``: one-step pulses whose column values are not stored; the currents superpose,
    so each synapse adds its own contribution to the neuron's input current of the step,
    ``I_in`` (one sum per neuron instead of one per column); always-on rows are the constant
    ``WB``. Energies follow from the activity's moments after the run.
    """

    energy_from_activity = True

    def __init__(self, suffixes, consume, energy, store, gain, *, solver, row_kernel):
        super().__init__(suffixes, consume, energy, store, gain)
        self.direct = consume and gain and not store

    def _bias_sum(self) -> bool:
        return self.consume and self.store

    def _slot_variables(self, s):
        lines = [f"kk{s} : volt (constant)"] if self.store else []
        if self.gain and not self.direct:
            lines.append(f"w{s} : volt (constant)")
        return lines

    def _extra_variables(self):
        return ["WB : amp (constant)"] if self.consume and self.gain else []

    def update(self):
        lines, terms = [], []
        for s in self.s:
            ga = self.active(s)
            if self.store:
                lines += [f"icol{s} = kk{s}*{ga}", f"vcol{s} = R{s}*icol{s}"]
            if self.gain and not self.direct:
                terms.append(f"w{s}*{self.sum_name(s) if self.consume else ga}")
        if self.direct:
            terms.append("I_in")
        if self.consume and self.gain:
            terms.insert(0, "WB")
        return lines, terms

    def _slot_values(self, group, k, s, cond_gt, kk_gain, kk):
        n = cond_gt.shape[0]
        out = []
        if self.store:
            out.append((getattr(group, f"kk{s}"), kk[:, k] * b2.volt, n))
        if self.gain and not self.direct:
            out.append((getattr(group, f"w{s}"), kk_gain[:, k] * kk[:, k] * b2.volt, n))
        return out

    def _extra_values(self, group, cond_bias, kk_gain, kk):
        if not (self.consume and self.gain):
            return []
        wb = np.sum(kk_gain * kk * cond_bias, axis=1)
        return [(group.WB, wb * b2.amp, cond_bias.shape[0])]


class _SolvedColumns(_Columns, ABC):
    """Nonlinear columns solved at every step from ``ga``, their totals ``gt`` and gains."""

    def _slot_variables(self, s):
        lines = [f"gt{s} : siemens (constant)"]
        return [*lines, f"gain{s} : 1 (constant)"] if self.gain else lines

    def _slot_values(self, group, k, s, cond_gt, kk_gain, kk):
        n = cond_gt.shape[0]
        out = [(getattr(group, f"gt{s}"), cond_gt[:, k] * b2.siemens, n)]
        if self.gain:
            out.append((getattr(group, f"gain{s}"), kk_gain[:, k], n))
        return out


class _SinhColumns(_SolvedColumns, ABC):
    """Sinh cells, ``f(u) = sinh(b·u) / b``: columns solved at every step from ``ga``."""

    def device_variables(self):
        return ["b_dev : 1/volt (shared, constant)"]

    def device_values(self, group, model):
        return [(group.b_dev, model.b / b2.volt, 1)]

    @abstractmethod
    def _solve(self, n: int, s: str, ga: str, i: str, x: str) -> list[str]:
        """Statements that set the neuron current ``i`` and column voltage ``x`` of a slot."""

    def update(self):
        lines, terms = [], []
        for n, s in enumerate(self.s):
            i = f"icol{s}" if self.store else f"_icol{s}"
            x = f"vcol{s}" if self.store else f"_vcol{s}"
            lines += self._solve(n, s, self.active(s), i, x)
            if self.event_energy:
                lines.append(f"En{s} += {x}*{i}*dt")
            if self.gain:
                terms.append(f"gain{s}*{i}")
        return lines, terms


class SinhExactColumns(_SinhColumns):
    """Sinh columns solved exactly at every step (``column_current``, safeguarded Newton)."""

    def functions(self, model):
        return {"column_current": column_current_function(model)}

    def _solve(self, n, s, ga, i, x):
        lines = [
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
        return lines


class SinhTableColumns(_SinhColumns):
    """Sinh columns read from per-column tables, one table set per slot.

    ``column_i`` and its accessors (:mod:`snn_rram.snn.tables`, ``include/snn_rram_column.h``).
    """

    def __init__(self, suffixes, consume, energy, store, gain):
        super().__init__(suffixes, consume, energy, store, gain)
        self.table_ids = [next(_table_ids) for _ in self.s]

    def functions(self, model):
        return tabulated_column_functions()

    def _solve(self, n, s, ga, i, x):
        tid = self.table_ids[n]
        lines = [f"{i} = column_i({ga}, gt{s}, R{s}, v_read, b_dev, {tid}, i)"]
        if self.store or self.event_energy:
            lines.append(f"{x} = column_x({tid}, i)")
        if self.event_energy:
            lines += self._integrate(s, f"column_d({tid}, i)")
            lines.append(f"Pg{s} += column_pg({tid}, i)*dt")
        return lines


class SinhRowColumns(SinhTableColumns):
    """Sinh columns of one-step pulses stepped by the row kernel.

    The kernel reads the always-on sums ``gb`` and sets ``I_in`` (and integrates ``Pg``, ``En``,
    with always-on rows ``D``, and the synapses' ``acc``); the update integrates ``I_in`` and
    leaves it (the kernel puts it back to the idle values).
    """

    rows = True

    def functions(self, model):
        return {}  # the layer's own row-kernel function

    def _energy_variables(self, s):
        return [f"D{s} : volt**2*second", f"Pg{s} : volt**2*second", f"En{s} : joule"]

    def clear(self):
        return []  # the kernel keeps I_in (at the idle point's values between reads)

    def update(self):
        return [], ["I_in"]


@column_model(Sinh)
def _sinh_columns(suffixes, consume, energy, store, gain, *, solver, row_kernel):
    if solver == "exact":
        return SinhExactColumns(suffixes, consume, energy, store, gain)
    if row_kernel:
        return SinhRowColumns(suffixes, consume, energy, store, gain)
    return SinhTableColumns(suffixes, consume, energy, store, gain)


class LawColumns(_SolvedColumns):
    """Columns of any separable read model that states its law for Brian2.

    The read model (``separable``) has a method ``brian2_law()`` returning ``(f, df,
    constants)``: ``f(u)`` and ``f'(u)`` as Brian2 expressions of a dimensionless ``u`` (the
    voltage in V) and of the names in ``constants`` (``{name: value}``, dimensionless in the
    expressions, SI values), e.g. ``("u + a*u**3", "1 + 3*a*u**2", {"a": 0.5})``. A new
    separable law is then one read-model class, with no column model of its own.

    Each step solves ``i = ga·f(v_read − R·i) − gg·f(R·i)`` by :data:`NEWTON_STEPS` Newton
    steps from the current of ohmic cells, each kept in ``[0, ga·f(v_read)]``, and integrates
    the energies as the exact sinh columns do (``p(u) = u·f(u)``). The constants are shared
    variables ``law_<name>`` (run arguments in standalone). Laws for which that many steps do
    not converge need a column model of their own (:func:`column_model`).
    """

    #: Newton steps of the column solve (from the ohmic current; quadratic convergence).
    NEWTON_STEPS = 8

    def __init__(self, model, suffixes, consume, energy, store, gain, *, solver, row_kernel):
        super().__init__(suffixes, consume, energy, store, gain)
        self.law = self._law(model)

    @staticmethod
    def _law(model):
        f, df, constants = model.brian2_law()
        return str(f), str(df), tuple(constants)

    def _call(self, expr: str, arg: str) -> str:
        names = {"u": f"(({arg})/volt)", **{c: f"law_{c}" for c in self.law[2]}}
        return f"({word_substitute(expr, names)})"

    def f(self, arg: str) -> str:
        """Brian2 expression of ``f(arg)`` (volt) for an expression ``arg`` in volt."""
        return f"{self._call(self.law[0], arg)}*volt"

    def df(self, arg: str) -> str:
        """Brian2 expression of ``f'(arg)`` (dimensionless)."""
        return self._call(self.law[1], arg)

    def device_variables(self):
        return [f"law_{c} : 1 (shared, constant)" for c in self.law[2]]

    def device_values(self, group, model):
        if self._law(model) != self.law:
            raise SnnRramError(
                f"device.read_model: {model!r} states another law than the built one; "
                "build a new network"
            )
        constants = model.brian2_law()[2]
        return [(getattr(group, f"law_{c}"), float(constants[c]), 1) for c in self.law[2]]

    def update(self):
        lines, terms = [], []
        for s in self.s:
            ga = self.active(s)
            i = f"icol{s}" if self.store else f"_icol{s}"
            x = f"vcol{s}" if self.store else f"_vcol{s}"
            ua, gg, hi = f"_ua{s}", f"_gg{s}", f"_hi{s}"
            lines += [
                f"{gg} = gt{s} - {ga}",
                f"{hi} = {ga}*{self.f('v_read')}",
                f"{i} = clip({ga}*v_read/(1 + R{s}*gt{s}), 0*amp, {hi})",
            ]
            for _ in range(self.NEWTON_STEPS):
                h = f"{ga}*{self.f(ua)} - {gg}*{self.f(x)} - {i}"
                dh = f"-R{s}*({ga}*{self.df(ua)} + {gg}*{self.df(x)}) - 1"
                lines += [
                    f"{x} = R{s}*{i}",
                    f"{ua} = v_read - {x}",
                    f"{i} = clip({i} - ({h})/({dh}), 0*amp, {hi})",
                ]
            lines += [f"{x} = R{s}*{i}", f"{ua} = v_read - {x}"]
            if self.event_energy:
                lines += [
                    f"_pg{s} = {x}*{self.f(x)}",
                    *self._integrate(s, f"({ua}*{self.f(ua)} - _pg{s})"),
                    f"Pg{s} += _pg{s}*dt",
                    f"En{s} += {x}*{i}*dt",
                ]
            if self.gain:
                terms.append(f"gain{s}*{i}")
        return lines, terms


class EventLayer:
    """Event-based layer: columns solved from their conductance sums in the neurons' update.

    Parameters
    ----------
    spec : LayerSpec
        What the layer is built from.
    source : brian2.Group
        Spike source (input generator or previous layer's neurons).
    """

    coupled = False

    def __init__(self, spec: LayerSpec, source):
        prefix, xbar, plan, neuron = spec.prefix, spec.xbar, spec.plan, spec.neuron
        dt, pulse_steps, energy, solver = spec.dt, spec.pulse_steps, spec.energy, spec.solver
        record = spec.record
        model = xbar.device.read_model
        self.energy = energy
        self.consume = pulse_steps == 1
        dt_q = dt * b2.second
        K = plan.n_slots
        self.plan, self.xbar, self.K, self.pulse_steps, self.dt = plan, xbar, K, pulse_steps, dt
        store = any(name.startswith(("icol", "vcol")) for name in record)
        # one-step pulses in standalone: the row kernel (include/snn_rram_rows.h) may step the
        # layer's private columns, if its column model has one
        row_kernel = (
            self.consume
            and not store
            and isinstance(b2.get_device(), CPPStandaloneDevice)
            and 1 <= K <= MAX_SLOTS
            and plan.inputs_grouped
        )
        self.cols = make_columns(
            model,
            [str(k) for k in range(K)],
            self.consume,
            energy,
            store,
            True,
            solver=solver,
            row_kernel=row_kernel,
        )
        rows = self.cols.rows
        namespace = self.cols.functions(model)
        if rows:
            self.rows_name = f"snn_rram_rows_{prefix}"
            self.rows_function = rows_function()
            namespace[self.rows_name] = self.rows_function

        lines = ["v : volt", "v_read : volt (shared, constant)", *_neuron_lines(neuron)]
        lines += self.cols.device_variables()
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
            refractory=spec.refractory * b2.second,
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
        self.scols = make_columns(model, [""], self.consume, energy, True, False, solver=solver)
        if plan.n_shared:
            slines = ["v_read : volt (shared, constant)", *self.scols.device_variables()]
            slines += self.scols.variables()
            s_update, _ = self.scols.update()
            self.shared = b2.NeuronGroup(
                plan.n_shared,
                "\n".join(slines),
                dt=dt_q,
                namespace={**namespace, **self.scols.functions(model)},
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
            kernel = g.run_regularly(
                f"rows_read = {self.rows_name}(dt)",
                dt=dt_q,
                when="groups",
                order=-1,
                name=f"{prefix}_row_kernel",
            )
            set_rows_kernel(
                self.rows_function,
                self.rows_name,
                source,
                g,
                self.syn,
                K,
                self.cols.table_ids,
                self.energy,
                plan.dense_synapses,
                kernel.clock,
            )
            self.objects.append(kernel)
        if plan.ssyn_i.size:
            self.ssyn = self._synapses(
                source, self.shared, self.scols, dt_q, f"{prefix}_shared_synapses"
            )
            self.ssyn.connect(i=plan.ssyn_i, j=plan.ssyn_j)
            self.objects.append(self.ssyn)
        _add_monitors(self, spec)
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
        model = self.xbar.device.read_model
        out = [(g.v_read, v_read * b2.volt, 1), *self.cols.device_values(g, model)]
        for k in range(self.K):
            out.append((getattr(g, f"R{k}"), self.r_slot[:, k] * b2.ohm, n))
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
            out += self.scols.device_values(s, model)
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

    def collect(self, G, activity, name: str) -> LayerResult:
        """Spikes, recorded states and energies after a run.

        Parameters
        ----------
        G : array_like or scipy.sparse matrix
            The conductances of the run, S.
        activity : InputActivity
            The read pulses of the layer's inputs (:class:`~snn_rram.snn.activity.InputActivity`).
        name : str
            Name of the layer in the result.
        """
        plan, K = self.plan, self.K
        open_inputs, input_counts = activity.open_inputs, activity.counts
        n_cols = plan.shape[1]
        device_energy = neuron_energy = None
        start = time.perf_counter()
        if self.energy and self.cols.energy_from_activity:
            device_energy, neuron_energy = linear_energy(
                self.xbar.with_conductances(G), activity.windows, self.dt
            )
        elif self.energy:
            g = self.group

            def slots(var):
                if K == 0:
                    return np.zeros((plan.n_neurons, 0))
                return np.stack([np.array(getattr(g, f"{var}{k}_")[:]) for k in range(K)], 1)

            def shared(var):
                if self.shared is None:
                    return np.zeros(0)
                return np.array(getattr(self.shared, f"{var}_")[:])

            acc = (
                np.stack([np.array(getattr(self.syn, f"acc{k}_")[:]) for k in range(K)])
                if self.syn is not None
                else np.zeros((K, 0))
            )
            s_acc = np.array(self.ssyn.acc_[:]) if self.ssyn is not None else np.zeros(0)
            Pg, sD, sPg = slots("Pg"), shared("D"), shared("Pg")
            D = slots("D")
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
    power between changes. Runtime targets only. Parameters as :class:`EventLayer` (a
    spec's ``solver`` does not apply; it records ``v`` and ``I_in``).
    """

    coupled = True

    def __init__(self, spec: LayerSpec, source):
        prefix, xbar, neuron, energy = spec.prefix, spec.xbar, spec.neuron, spec.energy
        dt, pulse_steps = spec.dt, spec.pulse_steps
        dt_q = dt * b2.second
        self.plan, self.xbar, self.energy, self.dt = spec.plan, xbar, energy, dt
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
            refractory=spec.refractory * b2.second,
            method="euler",
            dt=dt_q,
            name=f"{prefix}_neurons",
        )
        _set_neuron(self.group, neuron)
        self.objects = [self.rows, self.row_syn, self.group]
        _add_monitors(self, spec)
        self._last = None
        self._since = 0
        n_rows, n_cols = xbar.shape
        self.e_dev = np.zeros((n_rows, n_cols)) if energy else None
        self.e_neuron = np.zeros(n_cols) if energy else None
        self._p_dev = self._p_neuron = None
        self.op = b2.NetworkOperation(self._update, dt=dt_q, when="start", name=f"{prefix}_solve")
        self.objects.append(self.op)

    def _flush(self, step):
        if self.energy and self._p_dev is not None:
            elapsed = (step - self._since) * self.dt
            self.e_dev += self._p_dev * elapsed
            self.e_neuron += self._p_neuron * elapsed
        self._since = step

    def _update(self, t):
        active = np.array(self.rows.active_[:]) > 0.5
        if self._last is not None and np.array_equal(active, self._last):
            return
        self._flush(round(float(t / b2.second) / self.dt))
        self._last = active
        res = self.xbar.read(self.xbar.layout.active_rows(active))
        self.group.I_in_[:] = res.output()[0]
        if self.energy:
            self._p_dev = res.device_power[0]
            self._p_neuron = res.neuron_power[0]

    def collect(self, G, activity, name: str) -> LayerResult:
        """Spikes, recorded states and energies after a run (as :meth:`EventLayer.collect`)."""
        start = time.perf_counter()
        self._flush(activity.n_steps)
        dev = None
        if self.energy:
            dev = self.e_dev
            if sp.issparse(G):  # only where the devices are
                mask = sp.csr_matrix(G, copy=True)
                mask.data[:] = 1.0
                dev = mask.multiply(self.e_dev).tocsr()
        self.energy_time = time.perf_counter() - start
        return layer_result(name, self, dev, self.e_neuron, activity.counts)
