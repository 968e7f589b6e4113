"""Unit strings, through pint: values such as ``"200 mV"`` in configs, units such as ``"µA"``.

Only ``<number> <unit>`` is accepted (the unit made of letters; no ``/``, exponents or
arithmetic): pint's expression parser never sees an expression a user wrote. pint is imported
on first use, so the layers that never parse a unit string do not load it.
"""

from __future__ import annotations

import functools
import math
import re

from snn_rram.errors import SnnRramError

__all__ = ["SI_UNITS", "quantity", "unit_factor"]

#: The SI unit of each kind of value a config holds (pint names).
SI_UNITS = {"V": "volt", "s": "second", "ohm": "ohm", "Hz": "hertz", "S": "siemens", "A": "ampere"}

_QUANTITY = re.compile(
    r"^\s*(?P<num>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>[^\W\d_]+)\s*$"
)


@functools.cache
def _registry():
    import pint

    return pint.UnitRegistry()


def quantity(value, where: str, unit: str) -> float:
    """An SI float from a number (already SI) or a string with a unit, e.g. ``"1.5 kohm"``.

    Parameters
    ----------
    value : int, float or str
        The value as written in the TOML file.
    where : str
        Its key path, for error messages (``circuit.v_read``); ``""`` leaves it to the caller.
    unit : str
        Its SI unit, a key of :data:`SI_UNITS` (``"V"``, ``"s"``, ``"ohm"`` ...).

    Returns
    -------
    float
        The value in SI units (may be infinite or NaN when given so: range checks follow).
    """
    if not isinstance(value, str):
        return value
    try:
        return _parse(value, unit)
    except SnnRramError as exc:
        if not where:
            raise
        raise SnnRramError(f"{where}: {exc}") from exc.__cause__


def _parse(value: str, unit: str) -> float:
    m = _QUANTITY.match(value)
    if m is None:
        raise SnnRramError(
            f"expected a number in {unit} or a string such as '1.5 m{unit}', got {value!r}"
        )
    import pint

    ureg = _registry()
    try:
        q = ureg.Quantity(float(m.group("num")), m.group("unit"))
    except (pint.errors.PintError, AttributeError, ValueError) as exc:
        raise SnnRramError(f"unknown unit {m.group('unit')!r} in {value!r}") from exc
    si = ureg.Unit(SI_UNITS[unit])
    if q.dimensionality != si.dimensionality:
        raise SnnRramError(
            f"expected a value in {unit}, got {value!r} (dimension {q.dimensionality})"
        )
    x = float(q.to(si).magnitude)
    if not math.isfinite(x):
        raise SnnRramError(f"must be finite, got {value!r}")
    return x


_UNIT = re.compile(r"^[^\W\d_]+$")


def unit_factor(text: str, si_units) -> tuple[float, str] | None:
    """SI factor and SI unit of a (prefixed) unit name such as ``"mV"`` or ``"kΩ"``.

    Parameters
    ----------
    text : str
        The unit as a user wrote it.
    si_units : iterable of str
        The SI units accepted (pint names or symbols such as ``"V"``, ``"Ω"``, ``"Hz"``).

    Returns
    -------
    (float, str) or None
        The factor to SI and which of ``si_units`` it measures; ``None`` when ``text`` is no
        unit or measures none of them.
    """
    if not isinstance(text, str) or not _UNIT.match(text):
        return None
    import pint

    ureg = _registry()
    try:
        q = ureg.Quantity(1.0, text)
    except (pint.errors.PintError, AttributeError, ValueError):
        return None
    for si in si_units:
        unit = ureg.Unit(si)
        if q.dimensionality == unit.dimensionality:
            return float(q.to(unit).magnitude), si
    return None
