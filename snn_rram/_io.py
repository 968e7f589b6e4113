"""The one place where snn-rram writes, hashes and locks files.

:func:`atomic_path` / :func:`atomic_write`
    Write a file under a unique temporary name in the target's folder, ``fsync`` it, give it the
    usual permissions (``0o666`` less the umask) and rename it into place. On any error,
    ``KeyboardInterrupt`` included, the temporary file is removed and the target is left as it
    was. A reader never sees a half-written file. The umask is read without changing it (from
    ``/proc/self/status``, else from a probe file created in the folder): ``os.umask`` would
    set a process-wide mask for a moment, a window in which other threads create
    world-writable files.
:func:`file_sha256`
    SHA-256 of a file's bytes (:func:`hashlib.file_digest`).
:func:`locked`
    An inter-process lock on a lock file (the ``filelock`` package: ``flock`` on POSIX, released
    by the kernel when the process dies, ``kill -9`` included).

Temporary files are named ``.<name>.<random>.tmp`` (see :data:`TEMP_SUFFIX`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import filelock

from snn_rram.errors import SnnRramError

__all__ = [
    "TEMP_SUFFIX",
    "atomic_path",
    "atomic_write",
    "file_sha256",
    "is_temporary",
    "locked",
    "new_file_mode",
    "temporaries",
]

#: Temporary files of :func:`atomic_path` are ``.<name>.<random>`` followed by this suffix.
TEMP_SUFFIX = ".tmp"
_TEMP_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")


def _umask_from_proc() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def new_file_mode(folder: str | os.PathLike) -> int:
    """Permissions a new file gets in ``folder``: ``0o666`` less the process's umask.

    The umask is read from ``/proc/self/status`` (Linux); elsewhere a probe file is created in
    ``folder`` with mode ``0o666`` (the kernel applies the umask) and removed. The umask is
    never changed, not even for a moment.

    Parameters
    ----------
    folder : str or os.PathLike
        An existing, writable folder (used only for the probe).

    Returns
    -------
    int
        The mode bits, e.g. ``0o644`` under the usual umask ``022``.
    """
    mask = _umask_from_proc()
    if mask is not None:
        return 0o666 & ~mask
    fd, probe = tempfile.mkstemp(prefix=".umask-probe.", suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
    try:
        os.unlink(probe)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
        return os.stat(probe).st_mode & 0o777
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _check_target(path: Path) -> Path:
    folder = path.parent
    if not folder.is_dir():
        raise SnnRramError(f"path: folder {str(folder)!r} does not exist (for {str(path)!r})")
    if path.is_dir():
        raise SnnRramError(f"path: {str(path)!r} is a folder, expected a file name")
    return folder


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; rename it into place on success.

    For writers that want a file name (HDF5, figures, pandas). The temporary file exists
    (empty) when yielded; the caller writes it and closes it before the block ends.

    Parameters
    ----------
    path : str or os.PathLike
        The target; its folder must exist. An existing file is replaced.

    Yields
    ------
    pathlib.Path
        ``<folder>/.<name>.<random>.tmp``.

    Raises
    ------
    SnnRramError
        If the folder does not exist, ``path`` is a folder, or the temporary file cannot be
        created or renamed (``OSError``). Whatever the block raises is re-raised; in every case
        the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    folder = _check_target(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as exc:
        raise SnnRramError(f"path: cannot create a file in {str(folder)!r}: {exc}") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        try:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, new_file_mode(folder))
            os.replace(tmp, path)
        except OSError as exc:
            raise SnnRramError(f"path: cannot write {str(path)!r}: {exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None):
    """Open ``path`` for writing, atomically: see :func:`atomic_path`.

    Parameters
    ----------
    path : str or os.PathLike
        The target; its folder must exist.
    mode : {"wb", "w"}
        Binary or text.
    encoding : str, optional
        Text encoding (``"utf-8"`` when ``mode="w"`` and none is given).

    Yields
    ------
    file object
        Written, flushed and closed when the block ends, then renamed to ``path``.
    """
    if mode not in ("wb", "w"):
        raise SnnRramError(f"mode: expected 'wb' or 'w', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as fh:
        yield fh


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`atomic_path`."""
    return bool(_TEMP_RE.match(Path(path).name))


def temporaries(path: str | os.PathLike) -> list[Path]:
    """Temporary files :func:`atomic_path` may have left for ``path`` (a killed process)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return [p for p in path.parent.glob(f".{path.name}.*{TEMP_SUFFIX}") if is_temporary(p)]


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    str
        64 lower-case hexadecimal digits.

    Raises
    ------
    SnnRramError
        If ``path`` is not a readable file.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise SnnRramError(f"path: {what} {str(path)!r}")
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise SnnRramError(f"path: cannot read {str(path)!r}: {exc}") from exc


@contextlib.contextmanager
def locked(path: str | os.PathLike, *, wait: bool = True, busy: str | None = None):
    """Hold an exclusive inter-process lock on the lock file ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The lock file (created if missing; its folder must exist).
    wait : bool
        Wait for another holder to release it; with ``False`` a held lock is an error.
    busy : str, optional
        The message of that error.

    Yields
    ------
    bool
        True when locked; False on a file system without locks (the block then runs
        unlocked).

    Raises
    ------
    SnnRramError
        ``wait=False`` and another process holds the lock.
    """
    lock = filelock.FileLock(os.fspath(path), timeout=-1 if wait else 0, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise SnnRramError(busy or f"lock: {str(path)!r} is held by another process") from None
    except (OSError, NotImplementedError):  # a file system without locks
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
