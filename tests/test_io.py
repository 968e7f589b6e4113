"""snn_rram._io: atomic writes, file hashes and the inter-process lock."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snn_rram import SnnRramError
from snn_rram._io import (
    atomic_folder,
    atomic_write,
    file_sha256,
    is_temporary,
    locked,
    new_file_mode,
)


def test_atomic_write_replaces_with_usual_permissions(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with atomic_write(target, "w") as fh:
        fh.write("new")
        assert target.read_text() == "old"  # nothing visible before the block ends
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["a.txt"]
    mask = os.umask(0o022)  # the test may set the umask; the code never does
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask == new_file_mode(tmp_path)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_error_in_block_removes_temporary_and_keeps_target(tmp_path, exc):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(type(exc)), atomic_write(target) as fh:
        fh.write(b"half")
        raise exc
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_nothing_named_while_writing_and_two_writers_do_not_collide(tmp_path):
    with atomic_write(tmp_path / "r.bin") as a, atomic_write(tmp_path / "r.bin") as b:
        a.write(b"a")
        b.write(b"b")
        # an unnamed file (O_TMPFILE) where the system has it, else two distinct temporaries
        named = os.listdir(tmp_path)
        assert named == [] or (len(named) == 2 and all(is_temporary(n) for n in named))
    assert os.listdir(tmp_path) == ["r.bin"] and (tmp_path / "r.bin").read_bytes() == b"a"
    assert not is_temporary(tmp_path / "r.bin")


def test_named_fallback(tmp_path, monkeypatch):
    """Where there is no unnamed file (O_TMPFILE), the named temporary behaves the same."""
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    with atomic_write(tmp_path / "x.txt", "w") as fh:
        fh.write("hi")
        (name,) = os.listdir(tmp_path)
        assert is_temporary(name)
    assert os.listdir(tmp_path) == ["x.txt"]
    with pytest.raises(KeyboardInterrupt), atomic_write(tmp_path / "x.txt", "w") as fh:
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == ["x.txt"] and (tmp_path / "x.txt").read_text() == "hi"
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == new_file_mode(tmp_path)


def test_bad_targets(tmp_path):
    with pytest.raises(SnnRramError, match="folder .* does not exist"):
        with atomic_write(tmp_path / "missing" / "x"):
            pass
    with pytest.raises(SnnRramError, match="is a folder"):
        with atomic_write(tmp_path):
            pass
    assert os.listdir(tmp_path) == []


def test_file_sha256(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc" * 100_000)
    assert file_sha256(p) == hashlib.sha256(b"abc" * 100_000).hexdigest()
    with pytest.raises(SnnRramError, match="no such file"):
        file_sha256(tmp_path / "nope")
    with pytest.raises(SnnRramError, match="is a folder"):
        file_sha256(tmp_path)


def test_lock_excludes_other_processes(tmp_path):
    lock = tmp_path / "x.lock"
    code = (
        "import sys; from snn_rram._io import locked; from snn_rram import SnnRramError\n"
        "try:\n"
        f"    with locked({str(lock)!r}, wait=False, busy='busy'):\n"
        "        print('got')\n"
        "except SnnRramError as e:\n"
        "    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with locked(lock) as held:
        assert held
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert out.stdout.strip() == "busy", out.stderr
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "got", out.stderr


def test_umask_probe_without_proc(tmp_path, monkeypatch):
    """Without /proc the umask comes from a probe file (removed again), never from os.umask."""
    from snn_rram import _io

    expected = new_file_mode(tmp_path)
    monkeypatch.setattr(_io, "_umask_from_proc", lambda: None)
    monkeypatch.setattr(os, "umask", lambda *a: pytest.fail("os.umask must not be called"))
    assert new_file_mode(tmp_path) == expected
    assert os.listdir(tmp_path) == []


def test_atomic_folder_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "entry"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_folder(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").exists()  # the old folder stays until the block ends
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    with pytest.raises(KeyboardInterrupt), atomic_folder(target) as tmp:
        (tmp / "half.txt").write_text("half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]  # no temporary left
    with (
        pytest.raises(SnnRramError, match="does not exist"),
        atomic_folder(tmp_path / "no" / "entry"),
    ):
        pass
