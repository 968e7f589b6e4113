"""C++ standalone: compile a network's project once, run it with new values as run arguments."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path

import brian2 as b2
import numpy as np

from snn_rram.errors import SnnRramError
from snn_rram.snn._brian2 import is_current_project, last_run_time
from snn_rram.snn._build_cache import compile_project
from snn_rram.snn._targets import build_dir
from snn_rram.snn.graph import Graph

__all__ = ["StandaloneProject", "run_arguments"]


class StandaloneProject:
    """A compiled standalone project of one network's graph.

    A process holds one standalone project at a time (Brian2 has one standalone device): a
    newer project replaces this one, which then is no longer :attr:`current`.

    Parameters
    ----------
    create : callable
        Creates the network's :class:`~snn_rram.snn.graph.Graph` in the standalone device.
    duration : float
        Simulated time of one run, s.
    report : str, optional
        Brian2 progress report of the runs.
    """

    def __init__(self, create: Callable[[], Graph], duration: float, report: str | None = None):
        # one folder per process: two processes never build in one directory
        directory = build_dir() / "standalone" / f"process{os.getpid()}"
        b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
        device = b2.get_device()
        device.reinit()  # the project of an earlier standalone network goes
        # ... and its objects with it: Brian2 numbers the clocks and code objects whose names
        # live objects still hold (`_clock_1`), which would change the generated code, and the
        # build cache key, from network to network
        gc.collect()
        device.activate(directory=str(directory), build_on_run=False)
        self.graph = create()
        self.graph.network.run(duration * b2.second, report=report)
        device.build(directory=str(directory), compile=False, run=False)
        #: Whether the compile was copied from the build cache (:mod:`._build_cache`).
        cache = build_dir() / "standalone" / "cache"
        self.reused_build = compile_project(device, directory, cache)
        self.device = device
        self.directory = Path(directory)
        self.report = report

    @property
    def current(self) -> bool:
        """Whether this project is still the process's standalone project (runnable)."""
        return is_current_project(self.device, self.graph.network)

    def run(self, args: dict) -> float:
        """Run the compiled program with run arguments ``args``; returns its simulation time, s."""
        if not self.current:
            raise SnnRramError(
                "run: this standalone network's compiled project was replaced by a newer "
                "standalone network (one per process at a time); build it again"
            )
        self.device.run(
            directory=str(self.directory), with_output=self.report is not None, run_args=args
        )
        return last_run_time(self.device)


def run_arguments(layers, conductances, neurons) -> dict:
    """Crossbar-dependent values and neuron constants of every layer, checked.

    Brian2 keeps the old values, silently, when a run-args array has the wrong length, so
    every length is checked against the plan the network was built from.

    Parameters
    ----------
    layers : list of EventLayer
        The layers of the compiled graph.
    conductances : list
        Each layer's conductances, S.
    neurons : list of IFNeuron
        Each layer's neuron parameters.
    """
    args = {}
    for layer, G, neuron in zip(layers, conductances, neurons, strict=True):
        for view, value, expected in layer.crossbar_values(G):
            if np.size(value) != expected:
                raise SnnRramError(
                    f"run_args: {view.group_name}.{view.name} needs {expected} values, "
                    f"got {np.size(value)}"
                )
            # Brian2 hashes the buffer, which must be contiguous (column slices are not)
            args[view] = np.array(value, order="C", subok=True)
        args[layer.group.C_mem] = neuron.capacitance * b2.farad
        args[layer.group.theta] = neuron.threshold * b2.volt
        if neuron.leak_tau is not None:
            args[layer.group.tau_leak] = neuron.leak_tau * b2.second
    return args
