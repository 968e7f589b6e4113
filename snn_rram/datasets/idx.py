"""IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` the element type, ``NN`` the number
of dimensions), ``NN`` big-endian unsigned 32-bit sizes, then the elements in row-major (C)
order. Only unsigned bytes (``TT = 0x08``) are read and written here: every MNIST-format image
and label file uses them.

Compression is recognised from the first two bytes of the file (the gzip magic ``1f 8b``), not
from its name. The reader checks the header against the length of the (decompressed) data:
a truncated or corrupt file, or one with trailing bytes, is an error naming the file and what is
wrong, never a silently shorter array.

Limits: the data a header announces is checked before it is read: at most
:data:`MAX_IDX_BYTES`, exactly the rest of an uncompressed file, and no more than a gzip stream
of the file's size can inflate to (:data:`snn_rram._io.MAX_DEFLATE_RATIO`); a gzip stream is
never decompressed past the announced size (a gzip bomb stops there).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from snn_rram._io import atomic_write, check_declared_size
from snn_rram.errors import SnnRramError

__all__ = ["MAX_IDX_BYTES", "UBYTE", "read_idx", "write_idx"]

#: IDX element-type byte of unsigned 8-bit integers, the only type MNIST-format files use.
UBYTE = 0x08

_GZIP_MAGIC = b"\x1f\x8b"
# Element types the IDX format defines, for error messages only.
_IDX_TYPES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "short (int16)",
    0x0C: "int (int32)",
    0x0D: "float (float32)",
    0x0E: "double (float64)",
}
# Read in pieces, so that a corrupt header announcing terabytes fails on the data that is
# actually there instead of on one huge allocation.
_CHUNK = 1 << 24
_MAX_DIM = 2**32 - 1

#: Largest IDX data read, bytes (4 GiB: MNIST's training images are 47 MB, EMNIST's 0.6 GB).
MAX_IDX_BYTES = 4 << 30


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an unsigned-byte IDX file, plain or gzip-compressed.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is detected from its first bytes, whatever its name.

    Returns
    -------
    numpy.ndarray
        A writable ``uint8`` array with the shape given in the header (for example
        ``(60000, 28, 28)`` for MNIST training images, ``(60000,)`` for its labels).

    Raises
    ------
    SnnRramError
        The file is missing or unreadable, is not an IDX file (bad magic number), has an
        element type other than unsigned byte, has no dimensions, has a header or data shorter
        than announced, has bytes after the data, or is a damaged gzip stream. The message
        names the file.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as (stream, compressed):
            kind = "gzip-compressed IDX file" if compressed else "IDX file"
            try:
                return _read_stream(stream, path, kind, path.stat().st_size, compressed)
            except (OSError, EOFError, zlib.error) as exc:
                if not compressed:
                    raise
                raise SnnRramError(
                    f"{path}: damaged gzip stream ({type(exc).__name__}: {exc}); "
                    "expected a complete gzip-compressed IDX file"
                ) from exc
    except FileNotFoundError as exc:
        raise SnnRramError(f"{path}: no such file (expected an IDX file)") from exc
    except IsADirectoryError as exc:
        raise SnnRramError(f"{path}: is a directory, expected an IDX file") from exc
    except OSError as exc:
        raise SnnRramError(f"{path}: cannot read IDX file: {exc}") from exc


@contextlib.contextmanager
def _open_maybe_gzip(path: Path) -> Iterator[tuple[BinaryIO, bool]]:
    """Open ``path`` for reading, through gzip when it starts with the gzip magic bytes."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if compressed:
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield gz, True
        else:
            yield raw, False


def _read_exactly(stream: BinaryIO, n: int) -> bytearray:
    """Read up to ``n`` bytes (fewer only at the end of the stream)."""
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _read_stream(
    stream: BinaryIO, path: Path, kind: str, size: int, compressed: bool
) -> np.ndarray:
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise SnnRramError(
            f"{path}: truncated header: the file has {len(magic)} byte(s), an IDX file starts "
            "with a 4-byte magic number"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise SnnRramError(
            f"{path}: bad magic number 0x{bytes(magic).hex()}: an IDX file starts with two zero "
            "bytes, then the element type and the number of dimensions"
        )
    dtype_byte, ndim = magic[2], magic[3]
    if dtype_byte != UBYTE:
        name = _IDX_TYPES.get(dtype_byte, "not an IDX type")
        raise SnnRramError(
            f"{path}: element type byte 0x{dtype_byte:02x} ({name}); expected 0x08 "
            "(unsigned byte), the type of MNIST-format files"
        )
    if ndim == 0:
        raise SnnRramError(f"{path}: number of dimensions is 0 in the magic number, expected >= 1")
    size_bytes = _read_exactly(stream, 4 * ndim)
    if len(size_bytes) < 4 * ndim:
        raise SnnRramError(
            f"{path}: truncated header: {ndim} dimension size(s) announced ({4 * ndim} bytes), "
            f"only {len(size_bytes)} byte(s) follow the magic number"
        )
    shape = struct.unpack(f">{ndim}I", size_bytes)
    expected = 1
    for n in shape:
        expected *= n
    header = 4 + 4 * ndim
    if not compressed and expected < size - header:
        raise SnnRramError(
            f"{path}: {size - header - expected} trailing byte(s) after the {expected} byte(s) of "
            f"data announced by the header (shape {shape}); the {kind} is corrupt or not what it "
            "claims"
        )
    if not compressed and expected > size - header:
        raise SnnRramError(
            f"{path}: truncated data: the header announces shape {shape}, i.e. {expected} "
            f"byte(s) of data, but the {kind} holds only {size - header}"
        )
    check_declared_size(
        expected,
        size if compressed else None,
        f"{path}: the header's shape {shape}",
        limit=MAX_IDX_BYTES,
        limit_name="snn_rram.datasets.idx.MAX_IDX_BYTES",
    )
    data = _read_exactly(stream, expected)
    if len(data) < expected:
        raise SnnRramError(
            f"{path}: truncated data: the header announces shape {shape}, i.e. {expected} "
            f"byte(s) of data, but the {kind} holds only {len(data)}"
        )
    extra = stream.read(_CHUNK)  # never decompress more than one more chunk
    if extra:
        rest = f"{len(extra)}" if len(extra) < _CHUNK else f"at least {len(extra)}"
        raise SnnRramError(
            f"{path}: {rest} trailing byte(s) after the {expected} byte(s) of data announced "
            f"by the header (shape {shape}); the {kind} is corrupt or not what it claims"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> Path:
    """Write an unsigned-byte IDX file atomically.

    The file is written under a temporary name in the same directory, then renamed, so a
    failure never leaves a partial file at ``path``. Gzip output is deterministic (no file
    name and a zero time stamp in its header).

    Parameters
    ----------
    path : str or os.PathLike
        Where to write. Its directory must exist.
    array : numpy.ndarray
        A ``uint8`` array with at least one dimension, each of size < 2**32.
    compress : bool, optional
        Gzip the file. Default: when ``path`` ends in ``.gz``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    SnnRramError
        ``array`` is not a ``uint8`` array with 1 to 255 dimensions of size < 2**32, or the
        file cannot be written.
    """
    path = Path(path)
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        got = (
            f"dtype {array.dtype}"
            if isinstance(array, np.ndarray)
            else f"{type(array).__name__} (not a numpy array)"
        )
        raise SnnRramError(f"array: expected a numpy uint8 array for {path}, got {got}")
    if not 1 <= array.ndim <= 255:
        raise SnnRramError(
            f"array: expected 1 to 255 dimensions for an IDX file, got shape {array.shape}"
        )
    if any(n > _MAX_DIM for n in array.shape):
        raise SnnRramError(f"array: IDX dimension sizes must be < 2**32, got {array.shape}")
    if compress is None:
        compress = path.name.endswith(".gz")
    header = bytes([0, 0, UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array).tobytes()

    def write(f: BinaryIO) -> None:
        if compress:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                gz.write(header)
                gz.write(payload)
        else:
            f.write(header)
            f.write(payload)

    try:
        with atomic_write(path) as fh:
            write(fh)
    except OSError as exc:
        raise SnnRramError(f"{path}: writing failed: {exc}") from exc
    return path
