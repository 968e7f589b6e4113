"""Brian2 functions that solve a column of the array in the neurons' update.

With grounded inactive rows and no wires each column is one node. For a separable device
``I = G·f(V)`` with f odd, its neuron current ``i`` depends only on the conductance sums of the
active cells (``ga``) and of the grounded ones (``gg``):

    i = ga · f(v_read − R·i) − gg · f(R·i)

solved by safeguarded Newton on i in ``[0, ga·f(v_read)]`` (the upper end is the current into an
ideal virtual ground, R = 0). The compiled solve (exact and tabulated) is written once, in
``include/snn_rram_column.h``: the C++ standalone target includes it, Cython declares its
functions with ``cdef extern``. The numpy target runs its numpy twins
(:func:`snn_rram.crossbar.columns.separable_current`, :mod:`snn_rram.snn.tables`), so that the
targets agree to rounding. The header's constants are Python's (:data:`MACROS`), defined by the
compiler. The per-layer code of the row kernel is rendered from ``templates/row_kernel.cpp``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import brian2 as b2
import jinja2

from snn_rram._io import file_sha256
from snn_rram.crossbar import columns
from snn_rram.devices.iv import Sinh
from snn_rram.errors import SnnRramError
from snn_rram.snn import tables
from snn_rram.snn._brian2 import forget_cached_values

__all__ = [
    "MACROS",
    "MAX_SLOTS",
    "SINGLE_ROW_BYTES",
    "column_current_function",
    "rows_function",
    "set_rows_kernel",
    "tabulated_column_functions",
]

#: Column slots per neuron the row kernel handles (``SNN_RRAM_MAX_SLOTS``).
MAX_SLOTS = 8
#: Memory the row kernel may take per layer for the responses of rows read alone, bytes
#: (inputs × neurons × (1 + 3 · slots with energy) doubles); a larger layer evaluates its
#: columns from the tables at every step with a row read instead.
SINGLE_ROW_BYTES = 256 * 2**20

#: The constants of the compiled code, ``(macro, value)``: the headers take them from the
#: compiler's command line (``define_macros``; Cython: a verbatim block before the header).
MACROS = (
    ("SNN_RRAM_MAX_ITER", str(columns.MAX_ITER)),
    ("SNN_RRAM_RTOL", repr(columns.RTOL)),
    ("SNN_RRAM_TABLE_RTOL", repr(tables.TABLE_RTOL)),
    ("SNN_RRAM_TABLE_M0", str(tables.TABLE_M0)),
    ("SNN_RRAM_TABLE_MMAX", str(tables.TABLE_MMAX)),
    ("SNN_RRAM_MAX_SLOTS", str(MAX_SLOTS)),
)

_HERE = Path(__file__).resolve().parent
_INCLUDE = _HERE / "include"
_HEADER = _INCLUDE / "snn_rram_column.h"
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _cpp_kwds(header: str) -> dict:
    """Compiler arguments of a function of ``header`` for the C++ targets."""
    return {
        "include_dirs": [str(_INCLUDE)],
        "headers": [f'"{header}"'],
        "define_macros": list(MACROS),
    }


@functools.cache
def _cython_extern() -> str:
    """The Cython lines that declare the column header's functions (a ``cdef extern`` block).

    Brian2's Cython target takes neither a function's ``include_dirs`` nor ``define_macros``:
    the header is named by path, its constants are defined in a verbatim C block before it, and
    its digest is written into the code, since Brian2's module cache keys on the code only.
    """
    digest = file_sha256(_HEADER)
    defines = "\n".join(f"#define {name} {value}" for name, value in MACROS)
    return (
        f"# snn_rram_column.h sha256 {digest}\n"
        f'cdef extern from *:\n    """\n{defines}\n    """\n'
        f'cdef extern from "{_HEADER}":\n'
    )


def _from_header(func: b2.Function, numpy_impl, name: str, cython_decl: str) -> b2.Function:
    """Give ``func`` its numpy twin and the header's function ``name`` for C++ and Cython."""
    func.implementations.add_numpy_implementation(numpy_impl, discard_units=True)
    func.implementations.add_implementation(
        "cpp", None, name=name, compiler_kwds=_cpp_kwds("snn_rram_column.h")
    )
    func.implementations.add_implementation(
        "cython", _cython_extern() + f"    {cython_decl}\n", name=name
    )
    return func


def column_current_function(model: Sinh) -> b2.Function:
    """The Brian2 function ``column_current(ga, gg, R, v_read, b)`` of sinh columns (exact)."""
    func = b2.Function(
        tables.column_current,
        arg_units=[b2.siemens, b2.siemens, b2.ohm, b2.volt, 1 / b2.volt],
        return_unit=b2.amp,
        arg_names=["ga", "gg", "R", "V", "b"],
    )
    return _from_header(
        func,
        tables.column_current,
        "snn_rram_column_current",
        "double snn_rram_column_current(double, double, double, double, double)",
    )


def tabulated_column_functions() -> dict[str, b2.Function]:
    """Brian2 functions of the tabulated sinh column solve.

    ``column_i(ga, gt, R, v_read, b, table_id, col)`` returns a column's neuron current and
    caches its voltage and power rates, read by ``column_x(table_id, col)``,
    ``column_d(table_id, col)`` (``p(v_read − x) − p(x)``) and ``column_pg(table_id, col)``
    (``p(x)``), in that order within one update. See :mod:`snn_rram.snn.tables`.
    """
    main = b2.Function(
        tables.column_i,
        arg_units=[b2.siemens, b2.siemens, b2.ohm, b2.volt, 1 / b2.volt, 1, 1],
        return_unit=b2.amp,
        arg_types=["float"] * 5 + ["integer", "integer"],
        return_type="float",
        arg_names=["ga", "gt", "R", "V", "b", "table_id", "col"],
        stateless=False,
    )
    funcs = {
        "column_i": _from_header(
            main,
            tables.column_i,
            "snn_rram_column_i",
            "double snn_rram_column_i(double, double, double, double, double, long, int)",
        )
    }
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
        funcs[name] = _from_header(
            f,
            tables.column_accessor(which),
            f"snn_rram_{name}",
            f"double snn_rram_{name}(long, int)",
        )
    return funcs


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


def set_rows_kernel(
    func, name, source, neurons, synapses, n_slots, table_ids, energy, dense, clock
) -> None:
    """Give ``func`` (from :func:`rows_function`) its C++ code ``name`` for these objects.

    The synapses of each input must be contiguous and in the order of the inputs; ``dense``:
    they join every input ``r`` to every neuron ``n``, synapse ``r·N + n`` (the kernel then reads
    no index arrays). The code (``templates/row_kernel.cpp``) reads the arrays of the standalone
    project by their generated names: the source's spikes, the synapses' conductances ``G<k>``
    (and accumulators ``acc<k>``; sparse: their inputs and neurons), the neurons' column totals
    ``gt<k>``, always-on sums ``gb<k>``, resistances ``R<k>``, gains ``gain<k>`` (and integrals
    ``Pg<k>``, ``D<k>``, ``En<k>``), input current ``I_in``, read voltage and device constant,
    and the step and end step of ``clock`` (the clock of the code that calls ``func``).
    """
    device = b2.get_device()

    def static(group, var):
        return "brian::" + device.get_array_name(group.variables[var])

    def vector(var):
        return "brian::" + device.get_array_name(synapses.variables[var], access_data=False)

    slots = [
        {
            "table_id": int(table_ids[k]),
            "G": vector(f"G{k}") + ".data()",
            "acc": vector(f"acc{k}") + ".data()" if energy else "nullptr",
            "gt": static(neurons, f"gt{k}"),
            "gb": static(neurons, f"gb{k}"),
            "R": static(neurons, f"R{k}"),
            "gain": static(neurons, f"gain{k}"),
            "Pg": static(neurons, f"Pg{k}") if energy else "nullptr",
            "D": static(neurons, f"D{k}") if energy else "nullptr",
            "En": static(neurons, f"En{k}") if energy else "nullptr",
        }
        for k in range(n_slots)
    ]
    code = _TEMPLATES.get_template("row_kernel.cpp").render(
        name=name,
        spikespace=static(source, "_spikespace"),
        n_source=len(source),
        n_neurons=len(neurons),
        pre=None if dense else vector("_synaptic_pre"),
        post=None if dense else vector("_synaptic_post"),
        slots=slots,
        I_in=static(neurons, "I_in"),
        v_read=static(neurons, "v_read"),
        b_dev=static(neurons, "b_dev"),
        single_bytes=repr(float(SINGLE_ROW_BYTES)),
        clock=clock.name,
    )
    # the kernel writes these arrays, no code object of Brian2's: read them from the results
    written = [neurons.variables["I_in"]]
    for k in range(n_slots if energy else 0):
        written += [neurons.variables[f"{v}{k}"] for v in ("Pg", "D", "En")]
        written.append(synapses.variables[f"acc{k}"])
    forget_cached_values(device, written)
    func.implementations.add_implementation(
        "cpp", {"support_code": code}, name=name, compiler_kwds=_cpp_kwds("snn_rram_rows.h")
    )
