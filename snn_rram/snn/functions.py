"""Brian2 functions that solve a column of the array in the neurons' update.

With grounded inactive rows and no wires each column is one node. For a separable device
``I = G·f(V)`` with f odd, its neuron current ``i`` depends only on the conductance sums of the
active cells (``ga``) and of the grounded ones (``gg``):

    i = ga · f(v_read − R·i) − gg · f(R·i)

solved by safeguarded Newton on i in ``[0, ga·f(v_read)]`` (the upper end is the current into an
ideal virtual ground, R = 0). The same algorithm is written for numpy, Cython and C++ so that the
runtime and standalone targets agree to rounding.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import brian2 as b2
import numpy as np

from snn_rram.devices.iv import Linear, Separable, Sinh
from snn_rram.errors import SnnRramError

__all__ = ["column_current_function", "tabulated_column_functions"]

_MAX_ITER = 100
_RTOL = 4e-16

_CPP = """
#include <cmath>
static inline double snn_rram_column_current_sinh(double ga, double gg, double R, double V,
                                                  double b)
{
    if (ga <= 0.0) return 0.0;
    double hi = ga * sinh(b * V) / b;
    if (R <= 0.0) return hi;
    double lo = 0.0;
    double i = V * ga / (1.0 + R * (ga + gg));
    for (int it = 0; it < @MAX_ITER@; ++it) {
        const double x = R * i;
        const double ua = b * (V - x), ug = b * x;
        const double h = (ga * sinh(ua) - gg * sinh(ug)) / b - i;
        if (h == 0.0) return i;
        if (h > 0.0) lo = i; else hi = i;
        const double dh = -R * (ga * cosh(ua) + gg * cosh(ug)) - 1.0;
        const double step = -h / dh;
        double i_new = i + step;
        if (std::fabs(step) <= @RTOL@ * std::fabs(i)) return i_new;
        if (i_new < lo || i_new > hi) i_new = 0.5 * (lo + hi);
        i = i_new;
    }
    return i;
}
""".replace("@MAX_ITER@", str(_MAX_ITER)).replace("@RTOL@", repr(_RTOL))

_CYTHON = """
cdef double snn_rram_column_current_sinh(double ga, double gg, double R, double V, double b):
    cdef double hi, lo, i, x, ua, ug, h, dh, step, i_new
    cdef int it
    if ga <= 0.0:
        return 0.0
    hi = ga * sinh(b * V) / b
    if R <= 0.0:
        return hi
    lo = 0.0
    i = V * ga / (1.0 + R * (ga + gg))
    for it in range(@MAX_ITER@):
        x = R * i
        ua = b * (V - x)
        ug = b * x
        h = (ga * sinh(ua) - gg * sinh(ug)) / b - i
        if h == 0.0:
            return i
        if h > 0.0:
            lo = i
        else:
            hi = i
        dh = -R * (ga * cosh(ua) + gg * cosh(ug)) - 1.0
        step = -h / dh
        i_new = i + step
        if fabs(step) <= @RTOL@ * fabs(i):
            return i_new
        if i_new < lo or i_new > hi:
            i_new = 0.5 * (lo + hi)
        i = i_new
    return i
""".replace("@MAX_ITER@", str(_MAX_ITER)).replace("@RTOL@", repr(_RTOL))


def _column_current_sinh(ga, gg, R, V, b):
    """Vectorised numpy twin of the C++/Cython code above (same iteration, same stopping)."""
    ga, gg, R, V, b = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (ga, gg, R, V, b))
    )
    out = np.zeros(ga.shape)
    hi = ga * np.sinh(b * V) / b
    ideal = (ga > 0) & (R <= 0)
    out[ideal] = hi[ideal]
    idx = np.flatnonzero((ga > 0) & (R > 0))
    ga, gg, R, V, b, hi = (a.ravel()[idx] for a in (ga, gg, R, V, b, hi))
    lo = np.zeros_like(ga)
    i = V * ga / (1.0 + R * (ga + gg))
    result = np.empty_like(ga)
    todo = np.arange(ga.size)
    for _ in range(_MAX_ITER):
        if todo.size == 0:
            break
        x = R[todo] * i[todo]
        ua, ug = b[todo] * (V[todo] - x), b[todo] * x
        h = (ga[todo] * np.sinh(ua) - gg[todo] * np.sinh(ug)) / b[todo] - i[todo]
        zero = h == 0.0
        lo[todo] = np.where(h > 0, i[todo], lo[todo])
        hi[todo] = np.where(h < 0, i[todo], hi[todo])
        dh = -R[todo] * (ga[todo] * np.cosh(ua) + gg[todo] * np.cosh(ug)) - 1.0
        step = -h / dh
        i_new = i[todo] + step
        small = np.abs(step) <= _RTOL * np.abs(i[todo])
        result[todo[zero]] = i[todo[zero]]
        done_small = small & ~zero
        result[todo[done_small]] = i_new[done_small]
        i_new = np.where(
            (i_new < lo[todo]) | (i_new > hi[todo]), 0.5 * (lo[todo] + hi[todo]), i_new
        )
        i[todo] = i_new
        todo = todo[~(zero | small)]
    result[todo] = i[todo]
    out.ravel()[idx] = result
    return out


def column_current_function(model: Separable) -> b2.Function | None:
    """The Brian2 function ``column_current(ga, gg, R, v_read, b)`` for a read model.

    Returns ``None`` for linear devices, whose column current has the closed form
    ``v_read · ga / (1 + R · (ga + gg))`` written directly in the equations.
    """
    if isinstance(model, Linear):
        return None
    if not isinstance(model, Sinh):
        raise SnnRramError(
            f"device: the event-based synapse layer solves columns for linear and sinh read "
            f"models; {type(model).__name__} needs the coupled solve (use a runtime target "
            f"with coupled=True)"
        )
    func = b2.Function(
        _column_current_sinh,
        arg_units=[b2.siemens, b2.siemens, b2.ohm, b2.volt, 1 / b2.volt],
        return_unit=b2.amp,
        arg_names=["ga", "gg", "R", "V", "b"],
    )
    func.implementations.add_numpy_implementation(_column_current_sinh, discard_units=True)
    func.implementations.add_implementation(
        "cpp", {"support_code": _CPP}, name="snn_rram_column_current_sinh"
    )
    func.implementations.add_implementation("cython", _CYTHON, name="snn_rram_column_current_sinh")
    return func


_INCLUDE = str(Path(__file__).resolve().parent / "include")
_HEADER = str(Path(_INCLUDE) / "snn_rram_column.h")
_WRAP_I = (
    "static inline double snn_rram_column_i(double ga, double gt, double R, double V, "
    "double b, long id, int col)\n{ return snn_rram::column_i(ga, gt, R, V, b, id, col); }\n"
)


def tabulated_column_functions() -> dict[str, b2.Function]:
    """Brian2 functions of the tabulated sinh column solve.

    ``column_i(ga, gt, R, v_read, b, table_id, col)`` returns a column's neuron current and
    caches its voltage and power rates, read by ``column_x(table_id, col)``,
    ``column_d(table_id, col)`` (``p(v_read − x) − p(x)``) and ``column_pg(table_id, col)``
    (``p(x)``), in that order within one update. See :mod:`snn_rram.snn.tables`.
    """
    from snn_rram.snn import tables

    kwds = {"include_dirs": [_INCLUDE], "headers": ['"snn_rram_column.h"']}
    # Brian2's Cython target ignores a function's include_dirs: the header is named by path,
    # and its digest is written into the code, since Brian2's module cache keys on the code only
    cython_kwds = {}
    digest = hashlib.sha256(Path(_HEADER).read_bytes()).hexdigest()
    extern = f'# snn_rram_column.h sha256 {digest}\ncdef extern from "{_HEADER}":\n'
    funcs = {}
    main = b2.Function(
        tables.column_i,
        arg_units=[b2.siemens, b2.siemens, b2.ohm, b2.volt, 1 / b2.volt, 1, 1],
        return_unit=b2.amp,
        arg_types=["float"] * 5 + ["integer", "integer"],
        return_type="float",
        arg_names=["ga", "gt", "R", "V", "b", "table_id", "col"],
        stateless=False,
    )
    main.implementations.add_numpy_implementation(tables.column_i, discard_units=True)
    main.implementations.add_implementation(
        "cpp",
        {"support_code": _WRAP_I},
        name="snn_rram_column_i",
        compiler_kwds=kwds,
    )
    main.implementations.add_implementation(
        "cython",
        extern + '    double snn_rram_column_i "snn_rram::column_i"'
        "(double, double, double, double, double, long, int)\n",
        name="snn_rram_column_i",
        compiler_kwds=cython_kwds,
    )
    funcs["column_i"] = main
    for which, (name, unit) in enumerate(
        [("column_x", b2.volt), ("column_d", b2.volt**2), ("column_pg", b2.volt**2)], start=1
    ):
        f = b2.Function(
            tables.column_accessor(which),
            arg_units=[1, 1],
            return_unit=unit,
            arg_types=["integer", "integer"],
            return_type="float",
            arg_names=["table_id", "col"],
            stateless=False,
        )
        f.implementations.add_numpy_implementation(
            tables.column_accessor(which), discard_units=True
        )
        f.implementations.add_implementation(
            "cpp",
            {
                "support_code": f"static inline double snn_rram_{name}(long id, int col)\n"
                f"{{ return snn_rram::{name}(id, col); }}\n"
            },
            name=f"snn_rram_{name}",
            compiler_kwds=kwds,
        )
        f.implementations.add_implementation(
            "cython",
            extern + f'    double snn_rram_{name} "snn_rram::{name}"(long, int)\n',
            name=f"snn_rram_{name}",
            compiler_kwds=cython_kwds,
        )
        funcs[name] = f
    return funcs


#: Column slots per neuron the row kernel handles (``SNN_RRAM_MAX_SLOTS``).
MAX_SLOTS = 8
#: Memory the row kernel may take per layer for the responses of rows read alone, bytes
#: (inputs × neurons × (1 + 3 · slots with energy) doubles); a larger layer evaluates its
#: columns from the tables at every step with a row read instead.
SINGLE_ROW_BYTES = 256 * 2**20


def _standalone_only(*args):
    raise SnnRramError("the row kernel of one-step sinh pulses runs in C++ standalone only")


def rows_function() -> b2.Function:
    """A Brian2 function ``(dt)`` stepping one layer by the row kernel.

    Its C++ implementation is given by :func:`set_rows_kernel` once the layer's objects exist
    (it names their arrays). It returns the number of rows read in the step.
    """
    return b2.Function(
        _standalone_only,
        arg_units=[b2.second],
        return_unit=1,
        arg_types=["float"],
        return_type="float",
        arg_names=["dt"],
    )


def set_rows_kernel(func, name, source, neurons, synapses, n_slots, table_ids, energy) -> None:
    """Give ``func`` (from :func:`rows_function`) its C++ code ``name`` for these objects.

    The synapses must join every input ``r`` to every neuron ``n``, synapse ``r·N + n`` (the
    kernel's layout). The code reads the arrays of the standalone project by their generated
    names: the source's spikes, the synapses' conductances ``G<k>`` (and accumulators ``acc<k>``),
    the neurons' column totals ``gt<k>``, resistances ``R<k>``, gains ``gain<k>`` (and integrals
    ``Pg<k>``, ``En<k>``), input current ``I_in``, read voltage and device constant.
    """
    device = b2.get_device()

    def static(group, var):
        return "brian::" + device.get_array_name(group.variables[var])

    def vector(var):
        return "brian::" + device.get_array_name(synapses.variables[var], access_data=False)

    lines = [
        f"static double {name}(double dt)",
        "{",
        f'    static_assert({n_slots} <= SNN_RRAM_MAX_SLOTS, "column slots per neuron");',
        "    static snn_rram::RowLayer layer;",
        "    snn_rram::RowArrays a;",
        f"    a.spikespace = {static(source, '_spikespace')};",
        f"    a.n_source = {len(source)};",
        f"    a.n_neurons = {len(neurons)};",
        f"    a.K = {n_slots};",
    ]
    for k in range(n_slots):
        lines += [
            f"    a.table_id[{k}] = {int(table_ids[k])};",
            f"    a.G[{k}] = {vector(f'G{k}')}.data();",
            f"    a.acc[{k}] = {vector(f'acc{k}') + '.data()' if energy else 'nullptr'};",
            f"    a.gt[{k}] = {static(neurons, f'gt{k}')};",
            f"    a.R[{k}] = {static(neurons, f'R{k}')};",
            f"    a.gain[{k}] = {static(neurons, f'gain{k}')};",
            f"    a.Pg[{k}] = {static(neurons, f'Pg{k}') if energy else 'nullptr'};",
            f"    a.En[{k}] = {static(neurons, f'En{k}') if energy else 'nullptr'};",
        ]
    lines += [
        f"    a.I_in = {static(neurons, 'I_in')};",
        f"    a.V = {static(neurons, 'v_read')}[0];",
        f"    a.b = {static(neurons, 'b_dev')}[0];",
        "    a.dt = dt;",
        f"    a.single_bytes = {float(SINGLE_ROW_BYTES)!r};",
        "    return snn_rram::rows_step(layer, a);",
        "}",
    ]
    # Brian2 caches the values of arrays no code object of its own writes (the zeros these
    # start with), and would return them after a run
    written = [neurons.variables["I_in"]]
    for k in range(n_slots if energy else 0):
        written += [neurons.variables[f"Pg{k}"], neurons.variables[f"En{k}"]]
        written.append(synapses.variables[f"acc{k}"])
    for var in written:
        device.array_cache[var] = None
    func.implementations.add_implementation(
        "cpp",
        {"support_code": "\n".join(lines) + "\n"},
        name=name,
        compiler_kwds={"include_dirs": [_INCLUDE], "headers": ['"snn_rram_rows.h"']},
    )
