"""Sphinx extension: the reference of every run-config and sweep-file field, from the code.

At ``builder-inited`` it writes ``_generated/config_run.rst`` and ``_generated/config_sweep.rst``
(included by ``guide/config.rst``). Nothing is listed by hand: the sections are the fields of
:class:`snn_rram.experiments.RunConfig` whose type is a config class, and each section's fields
are read with :func:`dataclasses.fields` or, for pydantic v2 models, ``model_fields``. What a
field accepts is asked from the validators themselves, so the page cannot disagree with them:

- its unit: the first of V, s, Ω, Hz, F, S, A whose unit string (``"1 V"``) the section accepts;
- its choices: the list in the error for a value that is not one (``expected one of …``);
- its lower bound: whether 0 and −1 are refused; pydantic ``Gt``/``Ge``/``Lt``/``Le`` metadata;
- the keys of a table field: the ``allowed: …`` list in the error for an unknown key.

A field's description is, in this order: its pydantic ``description`` or dataclass
``metadata["doc"]``; its attribute docstring (``#:`` comment); its entry in a numpydoc
``Attributes``/``Parameters`` section of the class; the sentences of the class docstring that
name it (````name````); the comment after ``name = …`` in an example of the class's or module's
docstring; the parameter of the same name of a class the docstring links to
(``:class:`snn_rram.crossbar.Circuit```) or whose name contains the section's (``NeuronConfig``
→ ``IFNeuron``), marked with that class.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import textwrap
import typing
from pathlib import Path

#: Unit strings tried on every float field: (as written in TOML, as shown, an example value).
UNITS = [
    ("V", "V", "200 mV"),
    ("s", "s", "0.1 ms"),
    ("ohm", "Ω", "1 kohm"),
    ("Hz", "Hz", "100 Hz"),
    ("F", "F", "1 pF"),
    ("S", "S", "10 uS"),
    ("A", "A", "1 uA"),
]
_MISSING = object()


# --- fields of a dataclass or a pydantic model ---------------------------------------------------


@dataclasses.dataclass
class FieldInfo:
    """One field of a config class, as the page shows it."""

    name: str
    annotation: object
    default: object = _MISSING
    description: str = ""
    bounds: list[str] = dataclasses.field(default_factory=list)


def is_config_class(obj) -> bool:
    """True for a dataclass type or a pydantic model type."""
    return inspect.isclass(obj) and (dataclasses.is_dataclass(obj) or hasattr(obj, "model_fields"))


def _union_metadata(annotation) -> list:
    """Constraint metadata of ``Annotated[...]`` members of an optional (``X | None``) type."""
    out = []
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Annotated:
            out += list(arg.__metadata__)
    return out


def _number_text(value) -> str:
    if isinstance(value, int) and value >= 2**20 and (value & (value - 1)) == 0:
        return f"2**{value.bit_length() - 1}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bounds(metadata) -> list[str]:
    """``> 0``, ``≤ 100`` … from annotated-types / pydantic constraint objects."""
    out = []
    for m in metadata:
        for attr, sym in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(m, attr, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.append(f"{sym} {_number_text(value)}")
    return out


def config_fields(cls) -> list[FieldInfo]:
    """The fields of a dataclass (init fields) or of a pydantic v2 model, in order."""
    out = []
    if hasattr(cls, "model_fields"):  # pydantic v2
        for name, f in cls.model_fields.items():
            if f.is_required():
                default = _MISSING
            elif f.default_factory is not None:
                default = f.default_factory()
            else:
                default = f.default
            bounds = _bounds([*f.metadata, *_union_metadata(f.annotation)])
            out.append(FieldInfo(name, f.annotation, default, f.description or "", bounds))
        return out
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = _MISSING
        if not f.compare and default is not _MISSING:
            continue  # bookkeeping such as base_dir, not a key of the file
        out.append(
            FieldInfo(f.name, hints.get(f.name, f.type), default, f.metadata.get("doc", ""))
        )
    return out


# --- asking the validators -----------------------------------------------------------------------


def _base_kwargs(cls, fields: list[FieldInfo]) -> dict | None:
    """Values that let ``cls`` be built: its required fields set to a plain string."""
    kwargs = {f.name: "x" for f in fields if f.default is _MISSING}
    try:
        cls(**kwargs)
    except Exception:
        return None
    return kwargs


def _error(cls, base: dict, name: str, value) -> str | None:
    """The error message ``cls`` gives for ``name = value`` (None when accepted)."""
    try:
        cls(**{**base, name: value})
    except Exception as exc:
        return str(exc)
    return None


def _parsed(cls, base: dict, name: str, value):
    """The value the field holds after ``name = value`` (None when refused)."""
    try:
        return getattr(cls(**{**base, name: value}), name)
    except Exception:
        return None


def probe(cls, f: FieldInfo, base: dict) -> dict:
    """Unit, choices, lower bound and table keys of one field, from the validators."""
    found: dict = {}
    default = f.default
    if isinstance(default, float) or default is None:
        for text, shown, example in UNITS:
            if _parsed(cls, base, f.name, f"2 k{text}") == 2000.0:
                found["unit"], found["example"] = shown, example
                break
    if isinstance(default, int | float) and not isinstance(default, bool) and not f.bounds:
        one = 1.0 if isinstance(default, float) else 1
        zero, minus = (0.0, -1.0) if isinstance(default, float) else (0, -1)
        if _error(cls, base, f.name, one) is None:
            if _error(cls, base, f.name, zero) is not None:
                f.bounds.append("> 0")
            elif _error(cls, base, f.name, minus) is not None:
                f.bounds.append("≥ 0")
    if isinstance(default, str):
        msg = _error(cls, base, f.name, "\u2063not-a-choice")
        m = re.search(r"expected one of (.*?)(?:, got|$)", msg or "")
        if m:
            found["choices"] = re.findall(r"'([^']*)'", m.group(1))
    if isinstance(default, dict):
        msg = _error(cls, base, f.name, {"\u2063not_a_key": 0})
        m = re.search(r"allowed: ([\w, ]+)", msg or "")
        if m:
            found["keys"] = [k.strip() for k in m.group(1).split(",") if k.strip()]
    return found


# --- descriptions ----------------------------------------------------------------------------


def _numpydoc(obj) -> dict[str, str]:
    """Parameter and attribute descriptions of a class's numpydoc docstring, by name."""
    from numpydoc.docscrape import ClassDoc, NumpyDocString

    try:
        doc = (
            ClassDoc(obj, config={"show_class_members": False})
            if inspect.isclass(obj)
            else (NumpyDocString(inspect.getdoc(obj) or ""))
        )
    except Exception:
        return {}
    out = {}
    for section in ("Attributes", "Parameters", "Other Parameters"):
        for p in doc[section]:
            for name in p.name.split(","):
                out.setdefault(name.strip(), " ".join(p.desc))
    return out


def _attribute_docs(cls) -> dict[str, str]:
    """``#:`` comments and docstrings after the class's attributes (Sphinx's analyser)."""
    from sphinx.pycode import ModuleAnalyzer

    try:
        docs = ModuleAnalyzer.for_module(cls.__module__).find_attr_docs()
    except Exception:
        return {}
    return {
        attr: " ".join(lines).strip()
        for (scope, attr), lines in docs.items()
        if scope == cls.__qualname__
    }


_LEAD = re.compile(r"``(\w+)``(?:/\s*``(\w+)``)*:")


def _sentences_naming(text: str, name: str) -> str:
    """What ``text`` says of ````name````.

    The ``name: …`` segment that starts with it (``train_hidden``/``train_epochs``: …) when the
    docstring is written that way, else the sentences (or ``;``-clauses) that name it.
    """
    flat = " ".join(text.split())
    segments = []
    for seg in re.split(r"(?=``\w+``(?:/\s*``\w+``)*:)", flat):
        if segments and re.search(r"/\s*$", segments[-1]):
            segments[-1] += seg  # the rest of a ``a``/``b``: group
        else:
            segments.append(seg)
    for seg in segments:
        lead = re.match(r"((?:``\w+``/?\s*)+):", seg)
        if lead and f"``{name}``" in lead.group(1):
            return seg.strip()
    parts = re.split(r"(?<=[.;])\s+", flat)
    hits = [p for p in parts if f"``{name}``" in p]
    return " ".join(hits)


def _example_comment(text: str, name: str) -> str:
    """The comment after ``name = …`` in a TOML example inside ``text``."""
    key = re.escape(name)
    m = re.search(rf'^\s*(?:"?{key}"?\s*=|\[\[?{key}\]\]?).*?#\s*(.+)$', text or "", re.M)
    return m.group(1).strip() if m else ""


def _linked_classes(doc: str, cls, registry: dict[str, type]) -> list[type]:
    """Classes the docstring links to, then classes whose name contains the section's stem."""
    out = []
    for target in re.findall(r":class:`~?([\w.]+)`", doc or ""):
        obj = registry.get(target) or registry.get(target.rsplit(".", 1)[-1])
        if obj is not None:
            out.append(obj)
    stem = re.sub(r"(Config|Spec|File)$", "", cls.__name__).lower()
    if stem:
        out += [
            c
            for n, c in sorted(registry.items())
            if "." not in n and stem in n.lower() and not is_config_section_name(n)
        ]
    return out


def is_config_section_name(name: str) -> bool:
    """Names of config classes themselves (never a source of descriptions)."""
    return name.endswith(("Config", "Spec", "File"))


def class_registry(package: str = "snn_rram") -> dict[str, type]:
    """Public classes of the package by short and full name (for linked descriptions)."""
    import pkgutil

    pkg = importlib.import_module(package)
    registry: dict[str, type] = {}
    for m in [package, *(i.name for i in pkgutil.walk_packages(pkg.__path__, package + "."))]:
        if any(part.startswith("_") for part in m.split(".")):
            continue
        try:
            mod = importlib.import_module(m)
        except Exception:
            continue
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if inspect.isclass(obj):
                registry.setdefault(name, obj)
                registry.setdefault(f"{m}.{name}", obj)
    return registry


def public_name(obj, registry: dict[str, type]) -> str:
    """The shortest dotted name the package exports a class under (where it is documented)."""
    names = [n for n, c in registry.items() if c is obj and "." in n]
    return (
        min(names, key=lambda n: (n.count("."), len(n)))
        if names
        else (f"{obj.__module__}.{obj.__qualname__}")
    )


def _clause_naming(summary: str, name: str) -> str:
    """The clause of a one-line summary that holds every word of ``name``.

    ``energy`` → "energy accounting" in "time step, code-generation target, energy accounting".
    """
    words = name.lower().split("_")
    clauses = re.split(r"[,:;]\s+|\s+and\s+|\.\s*$", summary)
    for clause in clauses:
        lowered = clause.lower()
        if clause.strip() and all(re.search(rf"\b{re.escape(w)}", lowered) for w in words):
            return clause.strip().rstrip(".")
    return ""


def describe(cls, f: FieldInfo, registry: dict[str, type]) -> str:
    """The description of one field (see the module docstring for the order)."""
    if f.description:
        return f.description
    attr = _attribute_docs(cls).get(f.name)
    if attr:
        return attr
    own = _numpydoc(cls).get(f.name)
    if own:
        return own
    doc = inspect.getdoc(cls) or ""
    text = _sentences_naming(doc, f.name)
    if text:
        return text
    module_doc = inspect.getdoc(importlib.import_module(cls.__module__)) or ""
    text = _example_comment(doc, f.name) or _example_comment(module_doc, f.name)
    if text:
        return text
    for other in _linked_classes(doc, cls, registry):
        text = _numpydoc(other).get(f.name)
        if text:
            return f"{text} (from :class:`~{public_name(other, registry)}`)"
    text = _clause_naming(doc.split("\n\n")[0], f.name)
    return text[:1].upper() + text[1:] + "." if text else ""


def _table_owner(keys: list[str], registry: dict[str, type]) -> type | None:
    """The class whose numpydoc parameters are exactly the table's keys."""
    want = set(keys)
    for name, obj in sorted(registry.items()):
        if "." in name or is_config_section_name(name):
            continue
        if want and set(_numpydoc(obj)) == want:
            return obj
    return None


# --- rendering -------------------------------------------------------------------------------


def type_name(annotation) -> str:
    """A short readable name of a type annotation (``float or None``, ``list of int``)."""
    if isinstance(annotation, str):
        return annotation.replace(" | ", " or ")
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(type_name(a) for a in args)
    if origin in (tuple, list):
        inner = [a for a in args if a is not Ellipsis]
        return "list of " + type_name(inner[0]) if inner else "list"
    if origin is dict:
        return "table"
    if annotation is type(None):
        return "None"
    if inspect.isclass(annotation):
        return {"str": "str", "dict": "table", "Path": "path"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation).replace("typing.", "")


def toml_value(value) -> str:
    """A default as it would be written in TOML."""
    if value is _MISSING:
        return "(required)"
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "``true``" if value else "``false``"
    if isinstance(value, str):
        return f'``"{value}"``'
    if isinstance(value, dict):
        return "``{}``" if not value else f"``{value!r}``"
    if isinstance(value, tuple | list):
        return "``[" + ", ".join(toml_value(v).strip("`") for v in value) + "]``"
    if isinstance(value, Path):
        return f'``"{value}"``'
    return f"``{value!r}``"


def _cell(text: str) -> str:
    return " ".join(str(text).split()) or " "


def render_section(cls, key: str, registry: dict[str, type], level: str) -> str:
    """The reST of one section: its docstring summary and a table of its fields."""
    fields = config_fields(cls)
    base = _base_kwargs(cls, fields)
    doc = inspect.getdoc(cls) or ""
    title = f"``[{key}]``" if key else "Top-level keys"
    lines = [title, level * (len(title) + 2), ""]
    lines += [f":class:`{public_name(cls, registry)}`", ""]
    lines += [doc.split("\n\n")[0], ""]
    lines += [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 18 14 14 14 40",
        "",
        "   * - key",
        "     - type",
        "     - default",
        "     - unit, range",
        "     - meaning",
    ]
    for f in fields:
        found = probe(cls, f, base) if base is not None else {}
        unit = found.get("unit", "")
        typ = type_name(f.annotation)
        rng = ", ".join(f.bounds)
        extra = ""
        if "choices" in found:
            extra += " One of " + ", ".join(f"``{c}``" for c in found["choices"]) + "."
        if "keys" in found:
            owner = _table_owner(found["keys"], registry)
            extra += " Keys: " + ", ".join(f"``{k}``" for k in found["keys"]) + "."
            if owner is not None:
                extra += f" (the parameters of :class:`~{public_name(owner, registry)}`)"
        if unit:
            extra += f' A number in {unit}, or a string with a unit (``"{found["example"]}"``).'
        text = describe(cls, f, registry) + extra
        lines += [
            f"   * - ``{f.name}``",
            f"     - {_cell(typ)}",
            f"     - {_cell(toml_value(f.default))}",
            f"     - {_cell(', '.join(x for x in (unit, rng) if x))}",
            f"     - {_cell(text)}",
        ]
    return "\n".join(lines) + "\n\n"


def render_run_config(registry) -> str:
    """Every section of a run config."""
    from snn_rram.experiments import config as cfg_mod

    run = cfg_mod.RunConfig
    out = []
    for f in config_fields(run):
        if is_config_class(f.annotation):
            out.append(render_section(f.annotation, f.name, registry, "-"))
    return "".join(out)


def render_sweep(registry) -> str:
    """The top-level keys of a sweep file."""
    spec = importlib.import_module("snn_rram.sweep.spec")
    # the model of the file itself if there is one, else the validated spec
    cls = getattr(spec, "SweepFile", None) or spec.SweepSpec
    return render_section(cls, "", registry, "-")


def generate(app) -> None:
    """Write the generated reST files into the source folder (git-ignored)."""
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    registry = class_registry()
    for name, text in (
        ("config_run.rst", render_run_config(registry)),
        ("config_sweep.rst", render_sweep(registry)),
    ):
        path = out / name
        if not path.exists() or path.read_text() != text:  # unchanged: no rebuild
            path.write_text(textwrap.dedent(text))


def setup(app):
    """Register the generator."""
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
