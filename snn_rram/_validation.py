"""Checks shared by every layer: SI numbers, Brian2 quantities and arrays.

A user-facing parameter accepts an SI float or a Brian2 quantity of the right dimension; anything
else is a :class:`~snn_rram.errors.SnnRramError` that names the parameter.
"""

from __future__ import annotations

import difflib
import numbers
import tomllib
from pathlib import Path

import numpy as np

from snn_rram.errors import SnnRramError

# SI unit names as Brian2 spells them; the dimension check imports Brian2 lazily, only when a
# quantity is actually passed, so that the device layer stays numpy/scipy only.
_UNIT_NAMES = {
    "volt",
    "amp",
    "siemens",
    "ohm",
    "second",
    "farad",
    "joule",
    "watt",
    "hertz",
    "1",
}


def _check_dimension(value, unit: str, name: str):
    """Return ``value`` in SI as a plain float64 array, checking a Brian2 quantity's dimension."""
    if unit not in _UNIT_NAMES:
        raise SnnRramError(f"internal: unknown unit name {unit!r} for {name}")
    dim = getattr(value, "dim", None)
    if dim is None:
        return value
    import brian2

    expected = brian2.get_dimensions(1 if unit == "1" else getattr(brian2, unit))
    if dim is not expected:
        raise SnnRramError(
            f"{name}: expected a value in {unit} (SI float or Brian2 quantity), "
            f"got {value!r} with dimension {dim}"
        )
    return np.asarray(value, dtype=np.float64)


def as_scalar(
    value,
    name: str,
    unit: str = "1",
    *,
    positive: bool = False,
    nonnegative: bool = False,
    finite: bool = True,
) -> float:
    """Convert a user-facing scalar parameter to an SI float.

    Parameters
    ----------
    value : float or brian2.Quantity
        The value as given by the user.
    name : str
        The parameter name used in error messages.
    unit : str
        Brian2 name of the SI unit the value must have (``"volt"``, ``"ohm"``, ...), or
        ``"1"`` for dimensionless.
    positive, nonnegative : bool
        Require ``value > 0`` or ``value >= 0``.
    finite : bool
        Reject infinities (NaN is always rejected).

    Returns
    -------
    float
        The value in SI units.
    """
    if isinstance(value, bool | np.bool_ | str | bytes) or value is None:
        raise SnnRramError(
            f"{name}: expected a number in {unit} (SI float or Brian2 quantity), "
            f"got {value!r} of type {type(value).__name__}"
        )
    value = _check_dimension(value, unit, name)
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"{name}: expected a number in {unit}, got {value!r}") from exc
    if x.ndim != 0:
        raise SnnRramError(f"{name}: expected a single number, got shape {x.shape}")
    x = float(x)
    _check_range(np.asarray(x), name, unit, positive, nonnegative, finite)
    return x


def as_array(
    value,
    name: str,
    unit: str = "1",
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: tuple[int | None, ...] | None = None,
    positive: bool = False,
    nonnegative: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """Convert a user-facing array parameter to a float64 array in SI units.

    Parameters
    ----------
    value : array_like or brian2.Quantity
        The values as given by the user.
    name : str
        The parameter name used in error messages.
    unit : str
        Brian2 name of the SI unit, or ``"1"``.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    positive, nonnegative, finite : bool
        Value checks, as in :func:`as_scalar`.

    Returns
    -------
    numpy.ndarray
        A float64 array (a copy when conversion was needed).
    """
    value = _check_dimension(value, unit, name)
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"{name}: expected numbers in {unit}, got {value!r}") from exc
    check_shape(x, name, ndim=ndim, shape=shape)
    _check_range(x, name, unit, positive, nonnegative, finite)
    return x


def check_shape(x: np.ndarray, name: str, *, ndim=None, shape=None) -> None:
    """Raise :class:`SnnRramError` unless ``x`` has the allowed ``ndim`` and ``shape``."""
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise SnnRramError(
                f"{name}: expected an array with {' or '.join(map(str, allowed))} "
                f"dimension(s), got shape {x.shape}"
            )
    if shape is not None:
        if x.ndim != len(shape) or any(
            want is not None and want != got for want, got in zip(shape, x.shape, strict=True)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise SnnRramError(f"{name}: expected shape {want}, got {x.shape}")


def _check_range(x, name, unit, positive, nonnegative, finite):
    if np.isnan(x).any():
        raise SnnRramError(f"{name}: contains NaN")
    if finite and not np.isfinite(x).all():
        raise SnnRramError(f"{name}: contains infinite values")
    shown = f" {unit}" if unit != "1" else ""
    if positive and (x <= 0).any():
        bad = float(x[x <= 0].flat[0])
        raise SnnRramError(f"{name}: must be > 0{shown}, got {bad!r}")
    if nonnegative and (x < 0).any():
        bad = float(x[x < 0].flat[0])
        raise SnnRramError(f"{name}: must be >= 0{shown}, got {bad!r}")


def as_int(value, name: str, low: int) -> int:
    """``value`` as a Python int, checked to be an integer (not a bool) ``>= low``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral | np.integer)
        or value < low
    ):
        raise SnnRramError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


def as_rng(seed, name: str = "rng") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from a seed or a generator.

    ``None`` is refused: every random choice in snn-rram is seeded.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral | np.integer):
        raise SnnRramError(
            f"{name}: expected an integer seed or a numpy.random.Generator, got {seed!r}"
        )
    return np.random.default_rng(int(seed))


def suggest(value, choices) -> str:
    """A hint naming the allowed value nearest to ``value`` (a typo), or ``""``."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def one_of(value, name: str, choices) -> str:
    """Check that ``value`` is one of the allowed strings (the error suggests the nearest)."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise SnnRramError(
            f"{name}: expected one of {allowed}, got {value!r}{suggest(value, choices)}"
        )
    return value


#: Largest TOML file (config, sweep file or device card) read, in bytes.
MAX_TOML_BYTES = 1 << 20


def read_toml(path, what: str, limit: int = MAX_TOML_BYTES) -> dict:
    """Read a small TOML file (a config, sweep file or device card) with a size bound.

    At most ``limit + 1`` bytes are read, so a device file such as ``/dev/zero`` or a huge file
    is refused without being read whole.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What it is, for error messages (``"config"``, ``"device card"``).
    limit : int
        Largest size accepted, in bytes.

    Returns
    -------
    dict
        The parsed TOML table.

    Raises
    ------
    SnnRramError
        Missing file, a directory, unreadable, larger than ``limit``, not UTF-8 or not TOML.
    """
    p = Path(path)
    shown = str(p)
    if p.is_dir():
        raise SnnRramError(f"{what}: {shown!r} is a directory, expected a TOML file")
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError as exc:
        raise SnnRramError(f"{what}: file {shown!r} not found") from exc
    except OSError as exc:
        raise SnnRramError(f"{what}: cannot read {shown!r}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise SnnRramError(
            f"{what}: {shown!r} is larger than {limit} bytes, too large for a {what} "
            "(is it the right file?)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnnRramError(
            f"{what}: {shown!r} is not UTF-8 text (byte {exc.start}: {exc.reason}); TOML files "
            "are UTF-8"
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SnnRramError(f"{what}: malformed TOML in {shown!r}: {exc}") from exc


def renamed(exc: SnnRramError, owner: str, where: str) -> SnnRramError:
    """``exc`` with its subject ``owner`` (a class name such as ``Variation``) renamed ``where``.

    Objects built from a file check themselves under their class name; the file's reader
    reports the same error under the key path of the file (``levels.n``, not
    ``UniformLevels.n``).
    """
    msg = str(exc)
    if where and msg.startswith(owner):
        return SnnRramError(where + msg[len(owner) :])
    return SnnRramError(f"{where}: {msg}" if where else msg)
