"""MNIST download with SHA-256 checks, against a local HTTP server (no outside network)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.datasets import MNIST_SHA256, download_mnist, load
from snn_rram.datasets.download import fetch

from ._mnist_files import small_arrays, write_mnist_dir


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def mirror(tmp_path: Path):
    """Serve four small gzipped IDX files from 127.0.0.1; yield (base url, hashes, arrays)."""
    served = tmp_path / "served" / "mnist"
    arrays = small_arrays(n_train=40, n_test=15, seed=3)
    paths = write_mnist_dir(served, arrays)
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.values()}
    requests: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path / "served"))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mnist/", hashes, arrays, requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_download_then_load(tmp_path: Path, mirror) -> None:
    url, hashes, arrays, requests = mirror
    cache = tmp_path / "cache"
    assert download_mnist(cache, mirrors=[url], sha256=hashes, timeout=10) == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(hashes)
    for name, digest in hashes.items():
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == digest
    ds = load("mnist", path=cache)
    assert ds.name == "mnist"
    for key, array in arrays.items():
        np.testing.assert_array_equal(getattr(ds, key), array)
    assert len(requests) == 4
    # a second call finds the files with the right hashes and downloads nothing
    download_mnist(cache, mirrors=[url], sha256=hashes, timeout=10)
    assert len(requests) == 4


def test_hash_mismatch_leaves_no_file(tmp_path: Path, mirror) -> None:
    url, hashes, _, _ = mirror
    wrong = dict(hashes)
    wrong["t10k-images-idx3-ubyte.gz"] = "0" * 64
    cache = tmp_path / "cache"
    with pytest.raises(SnnRramError, match="SHA-256 mismatch") as info:
        download_mnist(cache, mirrors=[url], sha256=wrong, timeout=10)
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)
    present = sorted(p.name for p in cache.iterdir())
    assert "t10k-images-idx3-ubyte.gz" not in present
    assert not [name for name in present if name.endswith(".tmp")]


def test_fetch_mismatch_keeps_existing_file_and_leaves_no_temporary(
    tmp_path: Path, mirror
) -> None:
    url, _, _, _ = mirror
    dest = tmp_path / "labels.gz"
    dest.write_bytes(b"old")
    with pytest.raises(SnnRramError, match="not kept"):
        fetch(url + "train-labels-idx1-ubyte.gz", dest, "f" * 64, timeout=10)
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name != "served"] == ["labels.gz"]


def test_falls_back_to_the_next_mirror(tmp_path: Path, mirror) -> None:
    url, hashes, _, requests = mirror
    missing = url.replace("/mnist/", "/absent/")
    download_mnist(tmp_path / "cache", mirrors=[missing, url], sha256=hashes, timeout=10)
    assert len(requests) == 8  # four 404s, then four downloads
    assert len(list((tmp_path / "cache").iterdir())) == 4


def test_all_mirrors_failing_lists_each(tmp_path: Path, mirror) -> None:
    url, hashes, _, _ = mirror
    missing = url.replace("/mnist/", "/absent/")
    refused = "http://127.0.0.1:1/"
    with pytest.raises(SnnRramError) as info:
        download_mnist(tmp_path / "cache", mirrors=[missing, refused], sha256=hashes, timeout=5)
    message = str(info.value)
    assert "HTTP 404" in message
    assert "127.0.0.1:1" in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_existing_file_with_wrong_hash_is_left_alone(tmp_path: Path, mirror) -> None:
    url, hashes, _, _ = mirror
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(b"something else")
    with pytest.raises(SnnRramError, match="delete it"):
        download_mnist(cache, mirrors=[url], sha256=hashes, timeout=10)
    assert (cache / "train-labels-idx1-ubyte.gz").read_bytes() == b"something else"


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(SnnRramError, match="http"):
        fetch("file:///etc/passwd", tmp_path / "x", "0" * 64)
    with pytest.raises(SnnRramError, match="64 hex digits"):
        fetch("http://127.0.0.1:1/x", tmp_path / "x", "abc")
    with pytest.raises(SnnRramError, match="mirrors"):
        download_mnist(tmp_path, mirrors="http://127.0.0.1:1/")
    assert list(tmp_path.iterdir()) == []


def test_published_hashes_are_well_formed() -> None:
    assert sorted(MNIST_SHA256) == sorted(
        [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ]
    )
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in MNIST_SHA256.values())
    assert len(set(MNIST_SHA256.values())) == 4  # four different files


def test_load_mnist_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SnnRramError, match="path"):
        load("mnist")
    with pytest.raises(SnnRramError, match="download=True"):
        load("mnist", path=tmp_path / "absent")
    with pytest.raises(SnnRramError, match="train-images-idx3-ubyte"):
        load("mnist", path=tmp_path)
