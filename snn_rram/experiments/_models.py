"""Pydantic plumbing of the config models: frozen strict sections, errors as SnnRramError.

Every config section derives from :class:`Section`: frozen, unknown keys forbidden, no type
coercion (``bits = 4.5`` or ``energy = 1`` is an error, not a conversion). A
:class:`pydantic.ValidationError` becomes a :class:`~snn_rram.errors.SnnRramError` naming the
TOML key path (``mapping.options.frobnicate``) and, for a typo, the nearest allowed name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from snn_rram._validation import suggest
from snn_rram.errors import SnnRramError

__all__ = ["Section", "as_error", "choice", "one_of", "unknown_key"]


class Section(BaseModel):
    """Base of the config models: frozen, strict, unknown keys refused."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, allow_inf_nan=False, hide_input_in_errors=True
    )

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


def as_error(exc: ValidationError, model: type[BaseModel]) -> SnnRramError:
    """The first error of a pydantic validation as a :class:`SnnRramError` with its key path."""
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
    path = ".".join(str(p) for p in (getattr(model, "key", ""), *loc) if p != "")
    path = path or "config"
    if err["type"] == "extra_forbidden":
        holder = _model_at(model, loc)
        allowed = holder.model_fields if holder is not None else ()
        parent = path.rpartition(".")[0]
        what = "section" if holder is not None and getattr(holder, "key", None) == "" else "key"
        return unknown_key(parent, str(loc[-1]), allowed, what)
    if err["type"] == "missing":
        return SnnRramError(f"{path}: missing required key")
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
