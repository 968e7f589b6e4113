"""The files shipped with the package, and the user folders searched before them.

The bundled files — device cards, the bundled network and its sidecar, the ``mnist_5k`` MNIST
subset and the example configs — live in the repository's ``models/`` and ``data/`` folders.
``snn_rram/_bundled/models`` and ``snn_rram/_bundled/data`` are symbolic links to those folders,
so a checkout, an editable install and an installed wheel (which holds copies, see
``[options.package_data]`` in ``setup.cfg``) all find them at
``importlib.resources.files("snn_rram") / "_bundled"``, laid out like the repository.

A *named* file (a name without a suffix or a folder, such as ``"default"``) of a kind in
:data:`KINDS` is searched in the folders of the kind's environment variable (separated by
``os.pathsep``, first match wins), then in the bundled folder:

=========  ========================  =======================  ========
kind       environment variable      bundled folder           suffix
=========  ========================  =======================  ========
device     ``SNN_RRAM_DEVICE_PATH``  ``models/devices``       ``.toml``
network    ``SNN_RRAM_NETWORK_PATH`` ``models/networks``      ``.npz``
config     ``SNN_RRAM_CONFIG_PATH``  ``models/experiments``   ``.toml``
=========  ========================  =======================  ========
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from snn_rram.errors import SnnRramError

__all__ = [
    "KINDS",
    "available",
    "bundled",
    "bundled_root",
    "find",
    "is_bundled",
    "is_name",
    "output_folder",
    "search_path",
]


class Kind(NamedTuple):
    """Where files of one kind are searched."""

    env: str
    folder: str
    suffix: str


#: Kinds of named files: the environment variable of the user's folders, the bundled folder
#: (relative to :func:`bundled_root`) and the file suffix.
KINDS = {
    "device": Kind("SNN_RRAM_DEVICE_PATH", "models/devices", ".toml"),
    "network": Kind("SNN_RRAM_NETWORK_PATH", "models/networks", ".npz"),
    "config": Kind("SNN_RRAM_CONFIG_PATH", "models/experiments", ".toml"),
}


def bundled_root() -> Path:
    """The folder of the bundled files (``models/`` and ``data/`` inside it).

    Raises
    ------
    SnnRramError
        The package is not installed as files on disk (e.g. imported from a zip archive).
    """
    root = resources.files("snn_rram") / "_bundled"
    if not isinstance(root, Path):
        raise SnnRramError(
            f"snn_rram is imported from {root!r}, not from a folder: the bundled device cards, "
            "network and data need a regular (unzipped) installation"
        )
    return root


def bundled(relative: str) -> Path:
    """A bundled file or folder, e.g. ``bundled("data/mnist_5k")`` (it may not exist)."""
    return bundled_root() / relative


def is_bundled(path: str | os.PathLike) -> bool:
    """True when ``path`` lies in the bundled folders (the package's read-only files)."""
    try:
        Path(path).resolve().relative_to(bundled_root().resolve())
    except ValueError:
        return False
    return True


def is_name(text: str) -> bool:
    """True when ``text`` is a name (no suffix, no folder), not a path."""
    return bool(text) and "/" not in text and os.sep not in text and Path(text).suffix == ""


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise SnnRramError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return KINDS[kind]


def search_path(kind: str) -> list[Path]:
    """The folders searched for named files of ``kind``, in order (see the module docs)."""
    k = _kind(kind)
    dirs = [Path(p).expanduser() for p in os.environ.get(k.env, "").split(os.pathsep) if p]
    dirs.append(bundled(k.folder))
    return dirs


def available(kind: str) -> dict[str, Path]:
    """Names of the files of ``kind`` in :func:`search_path` (first match wins) and their paths."""
    k = _kind(kind)
    found: dict[str, Path] = {}
    for folder in search_path(kind):
        for path in sorted(folder.glob("*" + k.suffix)):
            found.setdefault(path.stem, path)
    return found


def find(kind: str, name: str) -> Path | None:
    """The file of ``kind`` named ``name`` (first in :func:`search_path`), or None."""
    if not is_name(name):
        return None
    suffix = _kind(kind).suffix
    for folder in search_path(kind):
        path = folder / (name + suffix)
        if path.is_file():
            return path
    return None


def output_folder(base_dir: str | os.PathLike, directory: str | os.PathLike) -> Path:
    """The absolute folder that a config file in ``base_dir`` names as its output ``directory``.

    A relative ``directory`` is relative to ``base_dir``, except for a config of the package
    itself (an example config: read-only package data, perhaps in a system folder): its
    outputs go under the current folder, with leading ``..`` parts dropped, so the example's
    ``"../../results"`` becomes ``./results`` — where ``make demo`` writes in a checkout.
    """
    d = Path(directory).expanduser()
    if d.is_absolute():
        return d.resolve()
    if is_bundled(base_dir):
        parts = list(d.parts)
        while parts and parts[0] == "..":
            parts.pop(0)
        return (Path.cwd() / Path(*parts)).resolve()
    return (Path(base_dir) / d).resolve()
