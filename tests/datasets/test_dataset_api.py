"""The Dataset container, subsets, ANN vectors, and load() on folders of IDX files."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from snn_rram import SnnRramError
from snn_rram.datasets import KNOWN_DATASETS, Dataset, as_vectors, load, load_idx_dir, write_idx

from ._mnist_files import MNIST_NAMES, small_arrays, write_mnist_dir


def make(**changes) -> Dataset:
    fields = {"name": "t", "source": "test", **small_arrays(), **changes}
    return Dataset(**fields)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(SnnRramError) as info:
        load("cifar10")
    message = str(info.value)
    assert "cifar10" in message
    for name in KNOWN_DATASETS:
        assert repr(name) in message
    assert set(KNOWN_DATASETS) == {"mnist_5k", "fashion_mnist", "mnist"}


def test_download_only_for_mnist() -> None:
    with pytest.raises(SnnRramError, match="only 'mnist'"):
        load("mnist_5k", download=True)


def test_dataset_is_frozen_and_read_only() -> None:
    arrays = small_arrays()
    ds = Dataset(name="t", source="s", **arrays)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "u"
    with pytest.raises(ValueError, match="read-only"):
        ds.train_images[0, 0, 0] = 1
    arrays["train_images"][0, 0, 0] = 7  # the caller's arrays stay writable
    assert ds.train_images[0, 0, 0] == 7  # (the data set holds views of them)
    assert repr(ds) == "Dataset(name='t', train=30, test=12, source='s')"


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"train_images": np.zeros((30, 28, 28), dtype=np.float64)}, "train_images: .*uint8"),
        ({"test_labels": np.zeros((12, 1), dtype=np.uint8)}, "test_labels: .*1 dimension"),
        ({"train_images": np.zeros((30, 28, 27), dtype=np.uint8)}, r"\(n, 28, 28\)"),
        ({"test_labels": np.zeros(11, dtype=np.uint8)}, "11 labels for 12 test images"),
        ({"train_labels": np.full(30, 10, dtype=np.uint8)}, "labels 0..9, got 10"),
        ({"train_labels": [0] * 30}, "train_labels: .*got list"),
        ({"name": ""}, "name"),
        ({"source": None}, "source"),
    ],
)
def test_dataset_validation(changes: dict, match: str) -> None:
    with pytest.raises(SnnRramError, match=match):
        make(**changes)


def test_subset_first() -> None:
    ds = make()
    sub = ds.subset(10, 5)
    assert (sub.n_train, sub.n_test) == (10, 5)
    np.testing.assert_array_equal(sub.train_images, ds.train_images[:10])
    np.testing.assert_array_equal(sub.test_labels, ds.test_labels[:5])
    assert "first 10 train / 5 test" in sub.source
    assert ds.subset(n_test=0).n_train == 30
    assert ds.subset(n_test=0).n_test == 0


def test_subset_seeded() -> None:
    ds = make()
    a = ds.subset(20, 12, seed=7)
    b = ds.subset(20, 12, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.train_images, b.train_images)
    np.testing.assert_array_equal(a.train_labels, b.train_labels)
    # a random sample without replacement: each drawn image is one of the originals, once
    flat = ds.train_images.reshape(30, -1)
    rows = [int(np.flatnonzero((flat == img.ravel()).all(axis=1))[0]) for img in a.train_images]
    assert len(set(rows)) == 20
    np.testing.assert_array_equal(a.train_labels, ds.train_labels[rows])
    assert sorted(a.test_labels.tolist()) == sorted(ds.test_labels.tolist())
    assert "random (seeded)" in a.source


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_train": 31}, r"n_train: expected an integer in 0..30"),
        ({"n_test": -1}, "n_test"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_train": True}, "n_train"),
        ({"n_train": 3, "seed": 1.5}, "seed"),
    ],
)
def test_subset_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(SnnRramError, match=match):
        make().subset(**kwargs)


def test_vectors() -> None:
    ds = make()
    x = ds.train_vectors()
    assert x.shape == (30, 784)
    assert x.dtype == np.float64
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(x[3], ds.train_images[3].ravel() / 255.0)
    assert ds.test_vectors().shape == (12, 784)
    np.testing.assert_array_equal(as_vectors(np.array([[[0, 255]]], dtype=np.uint8)), [[0, 1]])
    with pytest.raises(SnnRramError, match="uint8"):
        as_vectors(ds.train_images.astype(np.float64))
    with pytest.raises(SnnRramError, match="uint8"):
        as_vectors(ds.train_labels)


def test_load_folder_variants(tmp_path: Path) -> None:
    arrays = small_arrays()
    write_mnist_dir(tmp_path / "plain", arrays, suffix="")
    write_mnist_dir(tmp_path / "dotted", arrays, suffix="", dotted=True)
    write_mnist_dir(tmp_path / "dotted_gz", arrays, dotted=True)
    for folder in ("plain", "dotted", "dotted_gz"):
        ds = load("mnist", path=tmp_path / folder)
        for key, array in arrays.items():
            np.testing.assert_array_equal(getattr(ds, key), array)
    ds = load("fashion_mnist", path=tmp_path / "plain")
    assert ds.name == "fashion_mnist"
    assert str(tmp_path / "plain") in ds.source


def test_load_small_fixture(small_mnist) -> None:
    folder, arrays = small_mnist
    ds = load_idx_dir(folder, "mine", "made here")
    assert (ds.name, ds.source) == ("mine", "made here")
    np.testing.assert_array_equal(ds.test_images, arrays["test_images"])


@pytest.mark.parametrize(
    "key, array, match",
    [
        ("train_images", np.zeros((30, 32, 32), dtype=np.uint8), r"\(n, 28, 28\)"),
        ("train_images", np.zeros((30, 784), dtype=np.uint8), r"\(n, 28, 28\)"),
        ("test_labels", np.zeros((12, 2), dtype=np.uint8), r"labels of shape \(n,\)"),
        ("test_labels", np.full(12, 10, dtype=np.uint8), "labels 0..9, found 10"),
        ("test_labels", np.zeros(13, dtype=np.uint8), "13 labels for the 12 images"),
    ],
)
def test_load_rejects_inconsistent_files(
    small_mnist, key: str, array: np.ndarray, match: str
) -> None:
    folder, _ = small_mnist
    path = folder / (MNIST_NAMES[key] + ".gz")
    write_idx(path, array)
    with pytest.raises(SnnRramError, match=match) as info:
        load("mnist", path=folder)
    assert path.name in str(info.value)


def test_load_reports_corrupt_file(small_mnist) -> None:
    folder, _ = small_mnist
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(SnnRramError, match="gzip") as info:
        load("mnist", path=folder)
    assert str(path) in str(info.value)


def test_load_missing_file_names_it(small_mnist, tmp_path: Path) -> None:
    folder, _ = small_mnist
    incomplete = tmp_path / "incomplete"
    shutil.copytree(folder, incomplete)
    (incomplete / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(SnnRramError, match="train-labels-idx1-ubyte"):
        load("fashion_mnist", path=incomplete)
    with pytest.raises(SnnRramError, match="not a directory"):
        load("mnist", path=incomplete / "t10k-images-idx3-ubyte.gz")
