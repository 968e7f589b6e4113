"""Helpers of the data set tests: small MNIST-format data sets written to folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from snn_rram.datasets import write_idx

MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def small_arrays(n_train: int = 30, n_test: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }


def write_mnist_dir(
    directory: Path, arrays: dict[str, np.ndarray], *, suffix: str = ".gz", dotted: bool = False
) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, base in MNIST_NAMES.items():
        name = base.replace("-idx", ".idx") if dotted else base
        paths[key] = write_idx(directory / (name + suffix), arrays[key])
    return paths
