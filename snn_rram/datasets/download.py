"""Downloads checked by SHA-256: the full MNIST from its standard mirrors.

Every file is streamed to a temporary name beside its destination while it is hashed, and
renamed only when its SHA-256 matches; a mismatch, a network error or an interruption leaves
no file behind. Only the standard library (:mod:`urllib`) is used.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from snn_rram._io import atomic_write, file_sha256
from snn_rram.errors import SnnRramError

__all__ = ["MNIST_MIRRORS", "MNIST_SHA256", "download_mnist", "fetch"]

#: Mirrors of the original MNIST files, tried in order (the one torchvision uses first, then
#: the one TensorFlow uses); each holds the four files under their original names.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: SHA-256 of the four gzipped MNIST IDX files as published by LeCun, Cortes and Burges.
MNIST_SHA256: Mapping[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}

_CHUNK = 1 << 20


def _check_digest(value: str, name: str) -> str:
    if (
        not isinstance(value, str)
        or len(value) != 64
        or any(c not in "0123456789abcdef" for c in value.lower())
    ):
        raise SnnRramError(f"{name}: expected a SHA-256 as 64 hex digits, got {value!r}")
    return value.lower()


def fetch(url: str, dest: str | os.PathLike[str], sha256: str, *, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` if its SHA-256 is ``sha256``.

    Parameters
    ----------
    url : str
        An ``http://`` or ``https://`` address.
    dest : str or os.PathLike
        The file to create; its directory must exist. An existing file is replaced only by a
        download whose hash matches.
    sha256 : str
        The expected SHA-256 (hex).
    timeout : float
        Seconds to wait for the server at each step (connect, each read).

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    SnnRramError
        The address is not http(s), the server cannot be reached or answers with an error, or
        the downloaded bytes have another SHA-256. No file is left at ``dest`` (nor a
        temporary one beside it) in any of these cases.
    """
    dest = Path(dest)
    expected = _check_digest(sha256, f"sha256 of {dest.name}")
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise SnnRramError(f"url: expected an http:// or https:// address, got {url!r}")

    def write(f: BinaryIO) -> None:
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                while chunk := response.read(_CHUNK):
                    h.update(chunk)
                    f.write(chunk)
        except urllib.error.HTTPError as exc:
            raise SnnRramError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SnnRramError(f"{url}: download failed: {reason}") from exc
        got = h.hexdigest()
        if got != expected:
            raise SnnRramError(
                f"{url}: SHA-256 mismatch for {dest.name}: got {got}, expected {expected}; "
                "the file was not kept"
            )

    with atomic_write(dest) as fh:
        write(fh)
    return dest


def download_mnist(
    directory: str | os.PathLike[str],
    *,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    sha256: Mapping[str, str] = MNIST_SHA256,
    timeout: float = 60.0,
) -> Path:
    """Download the MNIST IDX files into ``directory``, checking each one's SHA-256.

    Files already in ``directory`` are kept if their hash matches. Each missing file is
    fetched from the mirrors in order until one gives the right bytes.

    Parameters
    ----------
    directory : str or os.PathLike
        The cache directory (created if missing).
    mirrors : sequence of str
        Base addresses, each followed by the file name to form a file's address.
    sha256 : mapping of str to str
        File name → expected SHA-256. The defaults are the published MNIST files; tests pass
        their own.
    timeout : float
        Seconds to wait for a server at each step.

    Returns
    -------
    pathlib.Path
        ``directory``.

    Raises
    ------
    SnnRramError
        A file already in ``directory`` has another hash (it is left alone: delete it to
        download again), or no mirror delivered a file with the expected hash (the message
        lists what each mirror did).
    """
    directory = Path(directory)
    if isinstance(mirrors, str) or not mirrors:
        raise SnnRramError(f"mirrors: expected a non-empty sequence of addresses, got {mirrors!r}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SnnRramError(f"directory: cannot create {directory}: {exc}") from exc
    for name, digest in sha256.items():
        digest = _check_digest(digest, f"sha256 of {name}")
        dest = directory / name
        if dest.exists():
            got = file_sha256(dest)
            if got != digest:
                raise SnnRramError(
                    f"{dest}: already present with SHA-256 {got}, expected {digest}; "
                    "delete it to download it again"
                )
            continue
        failures = []
        for base in mirrors:
            url = base if base.endswith("/") else base + "/"
            try:
                fetch(url + name, dest, digest, timeout=timeout)
                break
            except SnnRramError as exc:
                failures.append(str(exc))
        else:
            raise SnnRramError(
                f"{name}: no mirror delivered it with SHA-256 {digest}:\n  "
                + "\n  ".join(failures)
            )
    return directory
