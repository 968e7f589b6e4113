"""The exception and warning classes of snn-rram, and keeping Brian2's error hook off them."""

from __future__ import annotations

import sys

__all__ = ["SnnRramError", "SnnRramWarning", "install_excepthook"]


class SnnRramError(ValueError):
    """Bad input or an impossible request.

    Every message names the offending field, the value given and what was expected. It derives
    from :class:`ValueError`, so code that already catches bad values keeps working.
    """


class SnnRramWarning(UserWarning):
    """A request carried out although the hardware cannot fully meet it.

    For example more quantisation bits than the device's levels can represent distinctly, or
    device levels that collapse onto the same conductance.
    """


def _hook(exc_type, exc, tb):
    """``sys.excepthook``: snn-rram's own errors get Python's plain report, others go on."""
    if isinstance(exc_type, type) and issubclass(exc_type, SnnRramError):
        return sys.__excepthook__(exc_type, exc, tb)
    return _hook.previous(exc_type, exc, tb)


_hook.previous = sys.__excepthook__


def install_excepthook() -> None:
    """Keep the interpreter's uncaught-exception hook from claiming a :class:`SnnRramError`.

    Importing Brian2 replaces ``sys.excepthook`` with a hook that prints "Brian 2 encountered
    an unexpected error ..." and keeps a debug log in the temporary folder for *every*
    uncaught exception. Our errors are bad input, not Brian2 bugs: this puts a hook in front
    that reports a :class:`SnnRramError` as Python does by default (no banner, no log kept) and
    hands every other exception to the hook that was there. Call it after importing Brian2;
    calling it again is harmless.
    """
    if sys.excepthook is not _hook:
        _hook.previous = sys.excepthook
        sys.excepthook = _hook
