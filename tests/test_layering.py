"""The package's import graph: no cycle between modules, and the layering of DESIGN.md.

Every module of ``snn_rram/`` is parsed with :mod:`ast` (nothing is imported); its imports —
absolute and relative, at module level or inside functions — become edges to the modules they
load: ``from package import name`` leads to ``package.name`` when that is a module, else to the
package's ``__init__``. A parent package's ``__init__`` that runs first is not an edge (Python
initialises it before the child; counting it would make every package a cycle with itself).

Layers (DESIGN.md §1, "may import"): a package may import the packages its row names, and
itself. The base — the root package (which only re-exports :class:`SnnRramError`),
``snn_rram/errors.py`` and ``snn_rram/_validation.py`` — is allowed everywhere and imports
nothing else of the package. ``devices`` imports no third-party library but numpy and scipy.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "snn_rram"

#: Top-level modules every layer may import (and which import nothing above them).
BASE = {
    "snn_rram",
    "snn_rram.errors",
    "snn_rram._validation",
    "snn_rram._units",  # unit strings (pint)
    "snn_rram._io",  # atomic writes, file hashes, locks, bounded reads
    "snn_rram._resources",  # the bundled files (importlib.resources) and the user search path
    "snn_rram._layer_energy",  # the energy totals shared by snn and results records
    "snn_rram._schema",  # pydantic schemas of configs, sweep files and device cards
}

_LOWER = {"devices", "crossbar", "mapping", "ann", "snn", "analog", "training"}
_DATA = {"results", "datasets", "plot"}
_TOP = {"experiments", "sweep", "cli"}
#: Layer → the layers it may import (DESIGN.md §1), besides itself and BASE.
ALLOWED = {
    "devices": set(),
    "crossbar": {"devices"},
    "mapping": {"devices", "crossbar"},
    "ann": set(),  # nothing of the hardware side
    "snn": {"devices", "crossbar", "ann"},
    "analog": {"devices", "crossbar", "mapping", "ann"},
    "training": {"devices", "crossbar", "mapping", "ann"},
    # "the above"; and one another (plot draws results): the cycle check keeps that one-way
    **{name: _LOWER | _DATA for name in _DATA},
    **{name: _LOWER | _DATA | _TOP | {"nir"} for name in _TOP},  # cli: `snn-rram export`
    # snn_rram.nir: NIR in (ann) and out (snn), and NIR networks on crossbars (mapping)
    "nir": _LOWER,
}
#: Third-party libraries a layer may import, where DESIGN.md restricts them.
THIRD_PARTY = {"devices": {"numpy", "scipy"}}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The module that ``import name`` loads (``name`` or the nearest package above it)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path, modules: set[str], root: Path = PACKAGE) -> tuple[set[str], set[str]]:
    """Modules of the package, and top-level third-party/stdlib names, that ``path`` imports."""
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    internal, external = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[: len(up) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            targets = []
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in modules else base)
        else:
            continue
        for target in targets:
            if target.split(".")[0] != root.name:
                external.add(target.split(".")[0])
                continue
            found = _resolve(target, modules)
            if found is not None and found != me:
                internal.add(found)
    return internal, external


def import_graph(root: Path = PACKAGE) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    files = sorted(root.rglob("*.py"))
    modules = {module_name(f, root) for f in files}
    graph, third = {}, {}
    for f in files:
        graph[module_name(f, root)], third[module_name(f, root)] = imports(f, modules, root)
    return graph, third


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def layer(module: str) -> str:
    return "base" if module in BASE else module.split(".")[1]


def violations(graph: dict[str, set[str]], third: dict[str, set[str]]) -> list[str]:
    out = []
    for mod, targets in sorted(graph.items()):
        mine = layer(mod)
        for target in sorted(targets):
            theirs = layer(target)
            if theirs in ("base", mine):
                continue
            if mine == "base" or theirs not in ALLOWED[mine]:
                out.append(f"{mod} imports {target} ({mine} may not import {theirs})")
        if mine in THIRD_PARTY:
            stdlib = set(sys.stdlib_module_names) | {"__future__"}
            for name in sorted(third[mod] - stdlib - THIRD_PARTY[mine]):
                out.append(f"{mod} imports {name} ({mine} may import {sorted(THIRD_PARTY[mine])})")
    return out


def test_every_layer_is_known():
    graph, _ = import_graph()
    assert {layer(m) for m in graph} - {"base"} <= set(ALLOWED)


def test_no_import_cycle_between_modules():
    graph, _ = import_graph()
    assert len(graph) > 50
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))


def test_the_package_layering_of_design_md():
    graph, third = import_graph()
    assert violations(graph, third) == []


def _package(tmp_path, files: dict[str, str]) -> Path:
    root = tmp_path / "snn_rram"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "cycle", "bad"),
    [
        (  # a cycle through an import inside a function, relative imports, a lower layer upward
            {
                "__init__.py": "from snn_rram.errors import SnnRramError\n",
                "errors.py": "",
                "devices/__init__.py": "from .iv import f\n",
                "devices/iv.py": "import numpy\n\ndef f():\n    from ..crossbar import array\n",
                "crossbar/__init__.py": "",
                "crossbar/array.py": "from snn_rram.devices.iv import f\nimport h5py\n",
            },
            ["snn_rram.crossbar.array", "snn_rram.devices.iv", "snn_rram.crossbar.array"],
            [
                "snn_rram.devices.iv imports snn_rram.crossbar.array (devices may not import "
                "crossbar)"
            ],
        ),
        (  # from-imports of names (the package) and of modules; a third-party import in devices
            {
                "__init__.py": "",
                "devices/__init__.py": "import torch\n",
                "snn/__init__.py": "from snn_rram.snn import net\n",
                "snn/net.py": "from snn_rram.mapping import qwsm\nfrom snn_rram.ann import Net\n",
                "ann/__init__.py": "",
                "mapping/__init__.py": "",
                "mapping/qwsm.py": "from snn_rram import devices\n",
            },
            None,
            [
                "snn_rram.devices imports torch (devices may import ['numpy', 'scipy'])",
                "snn_rram.snn.net imports snn_rram.mapping.qwsm (snn may not import mapping)",
            ],
        ),
    ],
)
def test_the_check_finds_cycles_and_violations(tmp_path, files, cycle, bad):
    graph, third = import_graph(_package(tmp_path, files))
    assert find_cycle(graph) == cycle
    assert violations(graph, third) == bad
