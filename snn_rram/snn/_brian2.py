"""The Brian2 internals snn-rram relies on, each behind one function.

Brian2 offers no public way to do these three things; each function says why it is needed.
``tests/snn/test_brian2_internals.py`` checks every one against the installed Brian2, so that an
upgrade that changes them fails there, by name, instead of giving wrong numbers elsewhere.
"""

from __future__ import annotations

import brian2 as b2

__all__ = ["forget_cached_values", "is_current_project", "last_run_time"]


def _changed(what: str) -> RuntimeError:
    return RuntimeError(
        f"brian2 {b2.__version__}: {what}; snn_rram.snn._brian2 must be adapted to this version"
    )


def last_run_time(device) -> float:
    """Seconds the last standalone run spent simulating (without start-up and file output).

    Why private: Brian2 reads the compiled program's own timing (``last_run_info.txt``) into
    ``CPPStandaloneDevice._last_run_time`` and offers no public accessor; the public
    ``device.timers["run_binary"]`` also counts the process start and the writing of results.
    """
    value = getattr(device, "_last_run_time", None)
    if not isinstance(value, float):
        raise _changed("the standalone device has no float _last_run_time after a run")
    return value


def forget_cached_values(device, variables) -> None:
    """Make a standalone device read these variables from the run's results, not its cache.

    Why private: a standalone device keeps the values Brian2's own code objects assigned
    (``CPPStandaloneDevice.array_cache``, e.g. the zeros an array starts with) and returns
    them instead of the results of a run when no code object of its own writes the variable.
    Code written outside Brian2's code generation (the row kernel, which writes ``I_in`` and
    the energy integrals) must drop these entries, as Brian2 does for the variables it writes.
    """
    cache = getattr(device, "array_cache", None)
    if not isinstance(cache, dict):
        raise _changed("the standalone device has no array_cache dictionary")
    for var in variables:
        cache[var] = None


def is_current_project(device, network) -> bool:
    """Whether ``network`` belongs to the project the standalone device currently holds.

    Why private: a process has one standalone device, and ``device.reinit()`` (the start of
    every new standalone build) discards the project of the networks built before, which
    Brian2 does not report. The device lists the networks of its current project in
    ``CPPStandaloneDevice.networks``, a set that ``reinit`` replaces by an empty one.
    """
    networks = getattr(device, "networks", None)
    if not isinstance(networks, set):
        raise _changed("the standalone device has no set of networks")
    return network in networks
