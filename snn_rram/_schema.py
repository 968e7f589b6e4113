"""Schemas of the TOML files users write (run configs, sweep files, device cards), on pydantic.

Every config section derives from :class:`Section`: frozen, unknown keys forbidden, no type
coercion (``bits = 4.5`` or ``energy = 1`` is an error, not a conversion). A
:class:`pydantic.ValidationError` becomes a :class:`~snn_rram.errors.SnnRramError` naming the
TOML key path (``mapping.options.frobnicate``) and, for a typo, the nearest allowed name.

Device cards are parsed by :func:`build`: the schema of a card table is the ``__init__``
signature of the dataclass it becomes (``Sinh(b: float)``, ``Variation(read_sigma: float =
0.0, …)``), validated by a strict pydantic model derived from it, so ``snn_rram.devices``
declares its card format in its own classes and needs no third-party library beyond numpy and
scipy (DESIGN.md §1); the physics checks stay in the classes' ``__post_init__``.

A base module (``tests/test_layering.py``): every layer may import it, it imports nothing of
the package but the other base modules.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from snn_rram._validation import renamed, suggest
from snn_rram.errors import SnnRramError

__all__ = ["Section", "as_error", "build", "choice", "one_of", "unknown_key"]


#: Frozen, no unknown keys, no type coercion, no NaN or infinity.
STRICT = ConfigDict(
    frozen=True, extra="forbid", strict=True, allow_inf_nan=False, hide_input_in_errors=True
)


class Section(BaseModel):
    """Base of the config models: frozen, strict, unknown keys refused."""

    model_config = STRICT

    #: The section's TOML key (``"mapping"``), the prefix of its error messages.
    key: ClassVar[str] = ""

    def __init__(self, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise as_error(exc, type(self)) from None


def unknown_key(path: str, key: str, allowed, what: str = "key") -> SnnRramError:
    """The error for an unknown key ``key`` in table ``path``, suggesting the nearest one."""
    allowed = sorted(allowed)
    full = f"{path}.{key}" if path else key
    return SnnRramError(
        f"{full}: unknown {what}{suggest(key, allowed)}; allowed: {', '.join(allowed)}"
    )


def choice(value: str, where: str, choices) -> str:
    """``value`` if it is one of ``choices``; else an error suggesting the nearest one.

    ``where`` (the key path) may be ``""`` inside a model: :func:`as_error` adds it.
    """
    choices = tuple(choices)
    if value not in choices:
        raise SnnRramError(
            f"{where + ': ' if where else ''}expected one of {', '.join(map(repr, choices))}, "
            f"got {value!r}{suggest(value, choices)}"
        )
    return value


def one_of(choices: Callable[[], Iterable[str]]) -> AfterValidator:
    """A field validator: the value must be one of ``choices()``.

    The list is asked for when a value is validated, so the domain layer that owns it is
    imported only then.
    """
    return AfterValidator(lambda v: v if v is None else choice(v, "", choices()))


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class holding the key at ``loc`` (``None`` inside a free-form table)."""
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def as_error(
    exc: ValidationError, model: type[BaseModel], prefix: str | None = None
) -> SnnRramError:
    """The first error of a pydantic validation as a :class:`SnnRramError` with its key path.

    ``prefix`` is the key path of the validated table (default: the model's ``key``).
    """
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
    prefix = getattr(model, "key", "") if prefix is None else prefix
    path = ".".join(str(p) for p in (prefix, *loc) if p != "")
    path = path or "config"
    if err["type"] == "extra_forbidden":
        holder = _model_at(model, loc)
        allowed = holder.model_fields if holder is not None else ()
        parent = path.rpartition(".")[0]
        what = "section" if holder is not None and getattr(holder, "key", None) == "" else "key"
        return unknown_key(parent, str(loc[-1]), allowed, what)
    if err["type"] == "missing":
        return SnnRramError(f"{path}: missing required key")
    if err["type"] in ("dict_type", "model_type"):
        got = err.get("input")
        return SnnRramError(f"{path}: expected a table, got {got!r}")
    if err["type"] == "value_error":
        cause = err.get("ctx", {}).get("error")
        text = str(cause) if cause is not None else err["msg"]
        return SnnRramError(text if text.startswith(path) else f"{path}: {text}")
    msg = err["msg"]
    msg = msg[0].lower() + msg[1:]
    got = err.get("input")
    shown = f", got {got!r}" if "input" in err and not isinstance(got, dict | list) else ""
    if isinstance(got, bool) and "number" in msg:
        shown = f", got a boolean ({got!r})"
    return SnnRramError(f"{path}: {msg}{shown}")


#: How an annotation of a card dataclass is read from TOML (arrays are given as lists).
_TOML_TYPES = {np.ndarray: list[float] | list[list[float]]}


@functools.cache
def _table_model(cls: type) -> type[BaseModel]:
    """The strict pydantic model of the ``__init__`` fields of dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    fields = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        kind = _TOML_TYPES.get(hints[f.name], hints[f.name])
        if f.default is not dataclasses.MISSING:
            fields[f.name] = (kind, f.default)
        elif f.default_factory is not dataclasses.MISSING:
            fields[f.name] = (kind, Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (kind, ...)
    return create_model(f"{cls.__name__}Table", __config__=STRICT, **fields)


def build(cls: type, table: Mapping, where: str):
    """``cls(**table)`` for a TOML table, validated against the dataclass's ``__init__`` fields.

    Parameters
    ----------
    cls : type
        A dataclass whose ``__init__`` fields (names, type hints, defaults) are the table's
        schema; ``numpy.ndarray`` fields are given as lists of numbers.
    table : mapping
        The TOML table.
    where : str
        Its key path, the prefix of error messages (``"read"``, ``"device.levels"``).

    Raises
    ------
    SnnRramError
        Not a table, unknown key (nearest allowed one suggested), missing key, wrong type (no
        coercion: ``n = 4.5`` and ``b = "2"`` are errors), NaN or infinity, or a value the class
        itself refuses — each named by its key path.
    """
    if not isinstance(table, Mapping):
        raise SnnRramError(f"{where or 'card'}: expected a table, got {table!r}")
    model = _table_model(cls)
    try:
        values = model.model_validate(dict(table))
    except ValidationError as exc:
        raise as_error(exc, model, where) from None
    try:
        return cls(**{name: getattr(values, name) for name in type(values).model_fields})
    except SnnRramError as exc:
        raise renamed(exc, cls.__name__, where) from None
