"""Brian2 code-generation targets and the build folders they use."""

from __future__ import annotations

import os
from pathlib import Path

import brian2 as b2

from snn_rram._validation import one_of

TARGETS = ("numpy", "cython", "cpp_standalone")


def build_dir() -> Path:
    """Root of Brian2 caches and standalone builds: ``$SNN_RRAM_BUILD_DIR`` or ``./build``."""
    root = Path(os.environ.get("SNN_RRAM_BUILD_DIR", Path.cwd() / "build")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def configure_runtime(target: str) -> None:
    """Select a runtime target; Cython compiles into the build folder, never the home folder."""
    one_of(target, "target", TARGETS)
    if b2.get_device().__class__.__name__ != "RuntimeDevice":
        b2.set_device("runtime")
    b2.prefs.codegen.target = target
    if target == "cython":
        cache = build_dir() / "cython"
        cache.mkdir(parents=True, exist_ok=True)
        b2.prefs.codegen.runtime.cython.cache_dir = str(cache)
        b2.prefs.codegen.runtime.cython.multiprocess_safe = True
