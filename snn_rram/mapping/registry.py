"""Mapping methods are plain functions registered by name, so a config picks one by string."""

from __future__ import annotations

from collections.abc import Callable

from snn_rram.errors import SnnRramError

__all__ = ["available", "get", "register"]

_METHODS: dict[str, Callable] = {}


def register(name: str) -> Callable[[Callable], Callable]:
    """Decorator registering a mapping method under ``name``.

    A method is called as ``method(weight, device, circuit, *, bits, bias=None,
    bias_duty=1.0, seed=None, **options)`` and returns a :class:`~snn_rram.mapping.Mapping`.
    Users may register their own.
    """

    def decorate(func: Callable) -> Callable:
        if name in _METHODS and _METHODS[name] is not func:
            raise SnnRramError(f"mapping method {name!r} is already registered")
        _METHODS[name] = func
        return func

    return decorate


def get(name: str) -> Callable:
    """The mapping method registered as ``name``."""
    if name not in _METHODS:
        raise SnnRramError(
            f"mapping.method: unknown method {name!r}; available: {', '.join(available())}"
        )
    return _METHODS[name]


def available() -> list[str]:
    """Names of the registered mapping methods."""
    return sorted(_METHODS)
