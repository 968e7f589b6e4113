"""Fashion-MNIST from Debian's package ``dataset-fashion-mnist`` (installed by ``make test``)."""

from __future__ import annotations

import numpy as np
import pytest

from snn_rram.datasets import FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, load


@pytest.fixture(scope="module")
def fashion():
    if not FASHION_MNIST_DIR.is_dir():
        pytest.fail(
            f"{FASHION_MNIST_DIR} is missing: install Debian's package dataset-fashion-mnist "
            "(`make system-deps`, or `apt-get install dataset-fashion-mnist`)"
        )
    return load("fashion_mnist")


def test_full_size(fashion) -> None:
    assert fashion.name == "fashion_mnist"
    assert fashion.train_images.shape == (60000, 28, 28)
    assert fashion.test_images.shape == (10000, 28, 28)
    assert fashion.train_labels.shape == (60000,)
    assert fashion.test_labels.shape == (10000,)
    assert fashion.train_images.dtype == np.uint8
    assert str(FASHION_MNIST_DIR) in fashion.source


def test_balanced_classes(fashion) -> None:
    # Fashion-MNIST has exactly 6,000 training and 1,000 test images per class
    assert np.bincount(fashion.train_labels, minlength=10).tolist() == [6000] * 10
    assert np.bincount(fashion.test_labels, minlength=10).tolist() == [1000] * 10
    assert len(FASHION_MNIST_CLASSES) == 10


def test_pixel_statistics(fashion) -> None:
    # published normalisation constants of the training set: mean 0.2860, std 0.3530
    pixels = fashion.train_images.ravel()
    n = pixels.size
    mean = int(pixels.sum(dtype=np.uint64)) / n
    counts = np.bincount(pixels, minlength=256)  # exact second moment without a float copy
    var = float(counts @ (np.arange(256.0) ** 2)) / n - mean**2
    assert mean / 255 == pytest.approx(0.2860, abs=5e-4)
    assert np.sqrt(var) / 255 == pytest.approx(0.3530, abs=5e-4)


def test_explicit_path_is_the_same(fashion) -> None:
    again = load("fashion_mnist", path=FASHION_MNIST_DIR)
    np.testing.assert_array_equal(again.test_labels, fashion.test_labels)
