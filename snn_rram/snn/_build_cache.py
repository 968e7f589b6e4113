"""Compiled Brian2 standalone projects shared between processes: a build cache.

Brian2 writes a standalone project's sources and makefile; compiling them takes most of a fresh
build. Two processes that write the same code (the workers of a sweep, or two ``snn-rram run``
on the same network shape) need only one compile: the first one publishes its object files and
binary under a key, the hash of the project's sources and makefile; the others copy them in and
run ``make``, which then has nothing to do. A compile holds a lock on its key, so workers that
start together wait for one compile instead of making their own.

A cache entry is only used when every file its dependency records list (the headers of Brian2,
of snn-rram and of the system, by content) is unchanged since it was compiled; otherwise the
project is compiled again and the entry replaced. The records are the compiler's: one
``make.deps`` for the whole project (Brian2 2.9) or one ``.d`` file per source (``-MMD``, the
makefile of Brian2 2.11).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

from snn_rram._io import atomic_folder, locked

#: Entries kept; the least recently used are removed beyond this.
MAX_ENTRIES = 16


# Brian2 writes some independent statements in the iteration order of a set of Clock objects,
# which changes from process to process: the clocks' initialisation and the clocks without code
# added to the network. Each run of such lines is put in one order before hashing.
_UNORDERED = (
    re.compile(rb"^\s*_array_\w+_clock_(timestep|t)\[0\] = 0(\.0)?;\s*$"),
    re.compile(rb"^\s*\w+\.add\(&\w+_clock, NULL\);\s*$"),
)


def _kind(line: bytes) -> int | None:
    for k, pattern in enumerate(_UNORDERED):
        if pattern.match(line):
            return k
    return None


def _canonical(text: bytes) -> bytes:
    out, block, block_kind = [], [], None
    for line in text.split(b"\n"):
        kind = _kind(line)
        if kind is None or kind != block_kind:
            out += sorted(block)
            block = []
        if kind is None:
            out.append(line)
        else:
            block.append(line)
        block_kind = kind
    out += sorted(block)
    return b"\n".join(out)


def _sha256(path: Path) -> str:
    return hashlib.sha256(_canonical(path.read_bytes())).hexdigest()


def _project_key(directory: Path, files: list[str]) -> str:
    h = hashlib.sha256()
    for name in files:
        h.update(name.encode() + b"\0" + _canonical((directory / name).read_bytes()) + b"\0")
    return h.hexdigest()[:32]


def _sources(files: list[str]) -> list[Path]:
    return [Path(f) for f in files if f.endswith((".cpp", ".c"))]


def _dependency_records(root: Path, files: list[str]) -> list[str]:
    """The files in which make records what each object was compiled from, found in ``root``.

    Brian2 2.9's makefile writes one ``make.deps``; Brian2 2.11's compiles with ``-MMD`` and
    writes a ``.d`` file next to each object.
    """
    if (root / "make.deps").exists():
        return ["make.deps"]
    return [str(f.with_suffix(".d")) for f in _sources(files)]


def _products(root: Path, files: list[str]) -> list[str]:
    """What ``make`` makes from these sources (as found in ``root``): objects, records, binary."""
    objects = [str(f.with_suffix(".o")) for f in _sources(files)]
    return [*objects, *_dependency_records(root, files), "main"]


def _dependencies(directory: Path, files: list[str]) -> dict:
    """Content hashes of every file the dependency records name (relative or absolute paths)."""
    text = " ".join(
        (directory / name).read_text() for name in _dependency_records(directory, files)
    ).replace("\\\n", " ")
    names = {tok for tok in text.split() if not tok.endswith(":")}
    return {name: _sha256(directory / name) for name in sorted(names)}


def _unchanged(directory: Path, recorded: dict) -> bool:
    try:
        return all(_sha256(directory / name) == sha for name, sha in recorded.items())
    except OSError:  # a header that is gone
        return False


def _restore(entry: Path, directory: Path, files: list[str]) -> bool:
    """Copy a valid entry's products into the project, newer than its sources."""
    meta = entry / "dependencies.json"
    if not meta.exists():
        return False
    if not _unchanged(directory, json.loads(meta.read_text())):
        return False
    products = _products(entry, files)
    for name in products:
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(entry / name, target)
    shutil.copymode(entry / "main", directory / "main")
    # make compares modification times: objects after their sources, the binary after them
    now = time.time_ns()
    for name in products:
        stamp = now + 1_000_000 if name == "main" else now
        os.utime(directory / name, ns=(stamp, stamp))
    os.utime(entry, None)  # recently used
    return True


def _publish(directory: Path, entry: Path, files: list[str]) -> None:
    with atomic_folder(entry) as tmp:
        for name in _products(directory, files):
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(directory / name, target)
        (tmp / "dependencies.json").write_text(json.dumps(_dependencies(directory, files)))


def _prune(cache: Path, keep: int) -> None:
    entries = sorted(
        (p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)  # (its lock file stays: someone may wait on it)


def compile_project(device, directory: str | Path, cache: str | Path) -> bool:
    """Compile the standalone project Brian2 has written, reusing a cached compile of it.

    Parameters
    ----------
    device : brian2.devices.cpp_standalone.CPPStandaloneDevice
        The device after ``build(..., compile=False)``: its writer knows the project's files.
    directory : str or Path
        The project folder.
    cache : str or Path
        The cache folder (shared by the processes that may build the same project).

    Returns
    -------
    bool
        Whether a cached compile was used.
    """
    from brian2.codegen.cpp_prefs import get_compiler_and_args

    directory, cache = Path(directory), Path(cache)
    files = [*sorted(device.writer.source_files | device.writer.header_files), "makefile"]
    key = _project_key(directory, files)
    entry = cache / key
    cache.mkdir(parents=True, exist_ok=True)
    compiler = get_compiler_and_args()[0]
    with locked(cache / f"{key}.lock"):
        reused = _restore(entry, directory, files)
        # after a restore make finds everything up to date; otherwise it compiles what changed
        device.compile_source(str(directory), compiler, False, False)
        if not reused:
            _publish(directory, entry, files)
    if not reused:
        _prune(cache, MAX_ENTRIES)
    return reused
