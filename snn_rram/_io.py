"""The one place where snn-rram writes, hashes and locks files.

:func:`atomic_write`
    Write a file as an unnamed file in the target's folder (Linux ``O_TMPFILE``: a process
    killed mid-write leaves nothing) or under a unique temporary name, ``fsync`` it, give it the
    usual permissions (``0o666`` less the umask) and rename it into place. On any error,
    ``KeyboardInterrupt`` included, the temporary file is removed and the target is left as it
    was. A reader never sees a half-written file. The umask is read without changing it (from
    ``/proc/self/status``, else from a probe file created in the folder): ``os.umask`` would
    set a process-wide mask for a moment, a window in which other threads create
    world-writable files.
:func:`file_sha256`
    SHA-256 of a file's bytes (:func:`hashlib.file_digest`).
:func:`check_declared_size`, :func:`read_bounded`
    The size checks of every reader: a size a file declares is compared with a limit and with
    what the stored bytes can hold (:data:`MAX_DEFLATE_RATIO`) before anything is allocated,
    and a stream is read only up to its limit.
:func:`locked`
    An inter-process lock on a lock file (the ``filelock`` package: ``flock`` on POSIX, released
    by the kernel when the process dies, ``kill -9`` included).

Named temporary files are ``.<name>.<random>.tmp`` (see :data:`TEMP_SUFFIX`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path

import filelock

from snn_rram.errors import SnnRramError

__all__ = [
    "MAX_DEFLATE_RATIO",
    "TEMP_SUFFIX",
    "atomic_write",
    "check_declared_size",
    "file_sha256",
    "is_temporary",
    "locked",
    "new_file_mode",
    "read_bounded",
    "temporaries",
]

#: Named temporary files of :func:`atomic_write` are ``.<name>.<random>`` followed by this suffix.
TEMP_SUFFIX = ".tmp"
_TEMP_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


#: Deflate (zip, gzip, HDF5's gzip filter) expands data at most about 1032 times: a size declared
#: beyond this many times the stored bytes (plus 64 KiB of slack) is not data of the file.
MAX_DEFLATE_RATIO = 1032
_SLACK = 64 << 10


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} B"


def check_declared_size(
    declared: int, stored: int | None, where: str, *, limit: int, limit_name: str
) -> int:
    """Check a size a file declares before anything is allocated for it.

    Parameters
    ----------
    declared : int
        Bytes the file says the data has (elements × item size, an archive member's size).
    stored : int or None
        Bytes of the file (or member) that hold the data, compressed or not; None: unknown.
    where : str
        The file and the part of it, for the message.
    limit : int
        The documented limit for this kind of data, bytes.
    limit_name : str
        The name of that limit (e.g. ``"snn_rram.ann.MAX_TENSOR_BYTES"``).

    Returns
    -------
    int
        ``declared``.

    Raises
    ------
    SnnRramError
        ``declared`` exceeds ``limit``, or exceeds what ``stored`` bytes can hold even
        compressed (:data:`MAX_DEFLATE_RATIO`).
    """
    if declared < 0:
        raise SnnRramError(f"{where}: declares a negative size ({declared} bytes)")
    if declared > limit:
        raise SnnRramError(
            f"{where}: declares {_bytes(declared)} ({declared} bytes), more than the limit of "
            f"{_bytes(limit)} ({limit_name})"
        )
    if stored is not None and declared > MAX_DEFLATE_RATIO * stored + _SLACK:
        raise SnnRramError(
            f"{where}: declares {_bytes(declared)} ({declared} bytes), more than its "
            f"{stored} stored bytes can hold even compressed (at most {MAX_DEFLATE_RATIO}:1): "
            "a damaged or hostile file"
        )
    return declared


def read_bounded(stream, limit: int, where: str, *, limit_name: str) -> bytes:
    """Read ``stream`` to its end, but never more than ``limit`` bytes.

    Raises
    ------
    SnnRramError
        The stream holds more than ``limit`` bytes (reading stops there).
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise SnnRramError(
            f"{where}: holds more than {_bytes(limit)} ({limit_name}); reading stopped there"
        )
    return data


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


def _unnamed(folder: Path):
    """An unnamed file in ``folder`` (Linux ``O_TMPFILE``), or None where there is none."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        return os.open(folder, flag | os.O_RDWR, 0o666)  # the kernel applies the umask
    except OSError:  # a file system or kernel without O_TMPFILE
        return None


def _link(fd: int, name: Path) -> bool:
    """Give the unnamed file ``fd`` the name ``name``; False where the system does not let us."""
    with contextlib.suppress(OSError):
        os.link(f"/proc/self/fd/{fd}", name, follow_symlinks=True)
        return True
    with contextlib.suppress(OSError, AttributeError, TypeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(name), _AT_EMPTY_PATH) == 0
    return False


def _named_temp(path: Path) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise SnnRramError(f"path: cannot create a file in {str(path.parent)!r}: {exc}") from exc
    os.close(fd)
    return Path(name)


def _publish(fd: int, name: str | None, path: Path) -> None:
    """Make the complete, synced temporary file (``fd``; ``name``, None if unnamed) ``path``."""
    folder = path.parent
    if name is not None:
        os.chmod(name, new_file_mode(folder))
        os.replace(name, path)
        return
    # an unnamed file: link it under a temporary name (which exists only until the rename)
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    if not _link(fd, tmp):  # no way to name it here: copy it into a named temporary file
        tmp = _named_temp(path)
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            with open(tmp, "wb") as out:
                while block := os.read(fd, 1 << 20):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, new_file_mode(folder))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None):
    """Open ``path`` for writing, atomically.

    The file is written as an unnamed file in the target's folder (Linux ``O_TMPFILE``; a
    process killed while writing, ``kill -9`` included, leaves nothing behind), or elsewhere as
    ``.<name>.<random>.tmp``; when the block ends without error it is flushed, ``fsync``-ed,
    given the usual permissions (``0o666`` less the umask) and renamed to ``path``. On any
    error, ``KeyboardInterrupt`` included, the temporary file is removed and ``path`` is left
    as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The target; its folder must exist. An existing file is replaced.
    mode : {"wb", "w"}
        Binary or text. Binary files are also readable and seekable (``h5py.File(fh, "w")``).
    encoding : str, optional
        Text encoding (``"utf-8"`` when ``mode="w"`` and none is given).

    Yields
    ------
    file object

    Raises
    ------
    SnnRramError
        If the folder does not exist, ``path`` is a folder, or the file cannot be created or
        renamed (``OSError``). Whatever the block raises is re-raised.
    """
    if mode not in ("wb", "w"):
        raise SnnRramError(f"mode: expected 'wb' or 'w', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    path = Path(path)
    folder = _check_target(path)
    fd = _unnamed(folder)
    how = "w+b" if mode == "wb" else "w+"
    if fd is not None:
        fh, name = os.fdopen(fd, how, encoding=encoding), None
    else:
        name = str(_named_temp(path))
        fh = open(name, how, encoding=encoding)
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            try:
                _publish(fh.fileno(), name, path)
            except OSError as exc:
                raise SnnRramError(f"path: cannot write {str(path)!r}: {exc}") from exc
    except BaseException:
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)
        raise
    _fsync_dir(folder)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike):
    """Fill a new folder that replaces ``path`` whole when the block ends without error.

    The block fills a temporary folder ``.<name>.<random>.tmp`` beside ``path``; on success an
    existing ``path`` is removed and the temporary folder renamed to it, so a reader finds the
    old folder, no folder, or the complete new one. On any error the temporary folder is
    removed and ``path`` is left as it was. Concurrent writers of one ``path`` must hold a lock
    (:func:`locked`).

    Yields
    ------
    pathlib.Path
        The temporary folder to fill.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise SnnRramError(f"path: folder {str(folder)!r} does not exist (for {str(path)!r})")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=folder))
    try:
        yield tmp
        if path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(folder)


def write_toml(path: str | os.PathLike, data: dict) -> Path:
    """Write a TOML document atomically (:func:`atomic_write`) with ``tomli-w``.

    Parameters
    ----------
    path : str or os.PathLike
        The target; its folder must exist.
    data : dict
        Tables and values TOML can hold (no ``None``).

    Returns
    -------
    pathlib.Path
    """
    import tomli_w  # the writing twin of the standard library's tomllib

    text = tomli_w.dumps(data)
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`atomic_write`."""
    return bool(_TEMP_RE.match(Path(path).name))


def temporaries(path: str | os.PathLike) -> list[Path]:
    """Named temporary files :func:`atomic_write` may have left for ``path`` (killed process)."""
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


def open_hdf5(path: str | os.PathLike, not_ours: str):
    """``h5py.File(path, "r")``, or a :class:`SnnRramError` that starts with ``not_ours``.

    ``not_ours`` says what the file was expected to be (``"path: 'r.h5' is not an snn-rram
    result file"``); the error adds why it is not (not HDF5 at all, or unreadable as HDF5).
    """
    import h5py  # only the readers of HDF5 files need it

    try:
        ok = h5py.is_hdf5(path)
    except OSError:
        ok = False
    if not ok:
        raise SnnRramError(f"{not_ours} ({str(path)!r} is not an HDF5 file)")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise SnnRramError(f"{not_ours} (cannot be opened as HDF5: {exc})") from exc
