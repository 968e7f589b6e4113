"""Sphinx configuration of the snn-rram documentation (``make docs``).

Everything that describes the code is generated from it at build time:

- the API reference: autosummary, recursive over the package, with numpydoc docstrings; each
  public object is documented once, on the page of the module users import it from (see
  :func:`_api_index`), so modules added later appear by themselves;
- the run-config and sweep-file reference: ``_ext/config_reference.py`` introspects the config
  classes (dataclasses or pydantic models);
- the notebooks: copied from ``notebooks/`` and rendered by myst-nb **without** executing them
  (they are stored without outputs; ``tests/test_notebooks.py`` executes them).
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
# Importing the package must not write caches into the checkout or open windows.
os.environ.setdefault("SNN_RRAM_BUILD_DIR", str(ROOT / "build"))
os.environ.setdefault("MPLCONFIGDIR", str(ROOT / "build" / "matplotlib"))
os.environ.setdefault("MPLBACKEND", "Agg")

import snn_rram  # noqa: E402

project = "snn-rram"
author = "the snn-rram developers"
copyright = "the snn-rram developers"
release = snn_rram.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",  # registers myst_parser for .md pages and renders .ipynb
    "matplotlib.sphinxext.plot_directive",
    "config_reference",
    "results_check",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_templates", "_generated"]
templates_path = ["_templates"]

# --- MyST and notebooks -------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # notebooks are stored stripped; tests/test_notebooks.py runs them
nb_merge_streams = True


def _copy_notebooks() -> None:
    """Copy ``notebooks/*.ipynb`` and their README into ``docs/_notebooks`` (git-ignored)."""
    src, dst = ROOT / "notebooks", DOCS / "_notebooks"
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir()
    for path in [*sorted(src.glob("*.ipynb")), src / "README.md"]:
        if path.exists():
            shutil.copy2(path, dst / path.name)


_copy_notebooks()


def _readme_studies() -> None:
    """Write the README's study sections to ``_generated/readme_studies.md`` (git-ignored).

    From the first ``## `` section whose title mentions a study up to the last section (the
    repository layout), so the studies page shows the README's current tables.
    """
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"(?m)^(?=## )", text)
    first = next((i for i, s in enumerate(sections) if "study" in s.splitlines()[0].lower()), None)
    chosen = sections[first:-1] if first is not None else []
    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    body = "".join(chosen) or "The README has no study sections.\n"

    # the README's figures (paths relative to the repository) are copied next to the generated
    # page and linked from the page that includes it (guide/studies.md)
    def figure(match: re.Match) -> str:
        alt, rel = match.group(1), match.group(2)
        source, target = ROOT / rel, out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)
        return f"![{alt}](../_generated/{rel})"

    body = re.sub(r"!\[([^\]]*)\]\((?!https?:|/)([^)\s]+)\)", figure, body)
    path = out / "readme_studies.md"
    if not path.exists() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")


_readme_studies()


def _more_pages() -> None:
    """A toctree of the Markdown/reST pages in ``docs/`` that ``index.md`` does not list.

    Topic pages dropped into ``docs/`` (as ``sweeps.md`` was) appear by themselves, once.
    """
    listed = set((DOCS / "index.md").read_text(encoding="utf-8").split())
    pages = sorted(
        p.stem
        for p in [*DOCS.glob("*.md"), *DOCS.glob("*.rst")]
        if p.stem != "index" and p.stem not in listed
    )
    body = (
        "```{toctree}\n:maxdepth: 1\n:caption: Topics\n\n" + "\n".join(pages) + "\n```\n"
        if pages
        else ""
    )
    path = DOCS / "_generated" / "more_pages.md"
    if not path.exists() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")


_more_pages()

# --- autodoc, autosummary, numpydoc -------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_mock_imports: list[str] = []
numpydoc_show_class_members = False  # autodoc lists the members
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False


def _public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _api_index(package: str = "snn_rram") -> dict[str, dict]:
    """Which module page documents which object, generically from the package's ``__all__``.

    An object is documented on the page of the shallowest public module on its path that
    exports it, the name users import (``snn_rram.devices.load``, defined in
    ``snn_rram.devices.device``; ``snn_rram.datasets.load`` from the private
    ``snn_rram.datasets._loaders``); the module that defines it links there. So every object is
    described once (no duplicate descriptions) and new modules and names need no edit here.
    """
    pkg = importlib.import_module(package)
    names = [package] + [
        m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".") if _public(m.name)
    ]
    modules = {}
    for name in names:
        try:
            modules[name] = importlib.import_module(name)
        except Exception as exc:  # optional dependency missing: the page says so
            print(f"docs: cannot import {name}: {exc!r}", file=sys.stderr)

    def exports(module_name: str, obj_name: str, obj) -> bool:
        mod = modules.get(module_name)
        return (
            mod is not None
            and obj_name in getattr(mod, "__all__", ())
            and getattr(mod, obj_name, None) is obj
        )

    def home(module_name: str, obj_name: str, obj) -> str:
        """The shallowest public module on the object's path that exports it."""
        origin = getattr(obj, "__module__", None)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)) or origin is None:
            origin = module_name  # constants: where they are exported
        parts = origin.split(".")
        while parts and not _public(".".join(parts)):
            parts.pop()
        for depth in range(1, len(parts) + 1):
            candidate = ".".join(parts[:depth])
            # a function named like a submodule (``mapping.qwsm``) is described on the
            # submodule's own page: the two would share one name
            if exports(candidate, obj_name, obj) and f"{candidate}.{obj_name}" not in modules:
                return candidate
        return module_name

    index: dict[str, dict] = {}
    for name, mod in modules.items():
        exported = getattr(mod, "__all__", None)
        if exported is None:
            exported = [
                n
                for n, v in vars(mod).items()
                if not n.startswith("_")
                and getattr(v, "__module__", None) == name
                and (inspect.isclass(v) or inspect.isfunction(v))
            ]
        own, elsewhere, kinds = [], [], {}
        for obj_name in exported:
            if obj_name.startswith("__"):
                continue
            obj = getattr(mod, obj_name, None)
            target = home(name, obj_name, obj)
            if target == name:
                own.append(obj_name)
                kinds[obj_name] = (
                    "exception"
                    if inspect.isclass(obj) and issubclass(obj, BaseException)
                    else "class"
                    if inspect.isclass(obj)
                    else "function"
                    if callable(obj)
                    else "data"
                )
            else:
                # autosummary wants names below the current module relative to it
                prefix = name + "."
                full = f"{target}.{obj_name}"
                elsewhere.append(
                    (obj_name, full[len(prefix) :] if full.startswith(prefix) else full)
                )
        index[name] = {"own": own, "kinds": kinds, "elsewhere": elsewhere}
    return index


autosummary_context = {"api": _api_index()}
# autosummary writes the API stubs anew at every build; stubs of modules that were renamed or
# removed since the last build would fail to import, so none is kept
shutil.rmtree(DOCS / "reference" / "generated", ignore_errors=True)


def _constant_docs(obj, name: str) -> list[str]:
    """The ``#:`` comment of a module constant, looked up where it is defined.

    A constant re-exported by a package (``snn_rram.crossbar.ALWAYS_ON``, defined in
    ``snn_rram.crossbar.layout``) has no comment where it is documented; autodoc would show
    the docstring of its type (``int``) instead.
    """
    from sphinx.pycode import ModuleAnalyzer

    short = name.rsplit(".", 1)[-1]
    pkg = importlib.import_module("snn_rram")
    for info in pkgutil.walk_packages(pkg.__path__, "snn_rram."):
        mod = sys.modules.get(info.name)
        if mod is None or getattr(mod, short, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(info.name).find_attr_docs()
        except Exception:
            continue
        if ("", short) in docs:
            return [line for line in docs[("", short)] if line is not None]
    return []


def _fix_constant_docstring(app, what, name, obj, options, lines) -> None:
    """autodoc-process-docstring: a constant's comment instead of its type's docstring."""
    if what not in ("data", "attribute") or inspect.isclass(obj) or callable(obj):
        return
    type_doc = inspect.getdoc(type(obj)) or ""
    if lines and "\n".join(lines).strip() != type_doc.strip():
        return  # it has its own documentation
    lines[:] = _constant_docs(obj, name)


def setup(app):
    """Project-specific hooks."""
    # before numpydoc (priority 500) reformats the lines
    app.connect("autodoc-process-docstring", _fix_constant_docstring, priority=100)


# --- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"snn-rram {release}"
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []
html_show_sourcelink = False

# matplotlib's plot directive: figures made by code in the pages, at build time
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
