"""The :class:`Dataset` container and the conversion of images to ANN input vectors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from snn_rram._validation import as_rng
from snn_rram.errors import SnnRramError

__all__ = ["IMAGE_SHAPE", "N_CLASSES", "Dataset", "as_vectors"]

#: Height and width of every MNIST-format image.
IMAGE_SHAPE = (28, 28)
#: Number of classes of MNIST and Fashion-MNIST (labels 0 to 9).
N_CLASSES = 10


def as_vectors(images: np.ndarray) -> np.ndarray:
    """Flatten ``uint8`` images to float64 vectors in [0, 1], the ANN side's input.

    Parameters
    ----------
    images : numpy.ndarray
        ``uint8`` images of shape ``(n, 28, 28)`` (any ``(n, ...)`` is flattened per image).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 784)`` for 28×28 images, float64, pixel value / 255.

    Raises
    ------
    SnnRramError
        ``images`` is not a ``uint8`` array with at least 2 dimensions.
    """
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim < 2:
        got = (
            f"dtype {images.dtype}, shape {images.shape}"
            if isinstance(images, np.ndarray)
            else type(images).__name__
        )
        raise SnnRramError(f"images: expected a uint8 array of shape (n, 28, 28), got {got}")
    return images.reshape(images.shape[0], -1).astype(np.float64) / 255.0


@dataclass(frozen=True, eq=False)
class Dataset:
    """An image classification data set with a fixed train/test split.

    The arrays are stored as read-only views (the caller's arrays are not modified); copy one
    to change it.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"mnist_5k"``.
    train_images, test_images : numpy.ndarray
        ``uint8`` images, shape ``(n, 28, 28)``, row-major, 0 = background.
    train_labels, test_labels : numpy.ndarray
        ``uint8`` class labels in ``0..9``, shape ``(n,)``.
    source : str
        Where the data came from (files, package, licence), for provenance in results.

    Raises
    ------
    SnnRramError
        An array has the wrong type or shape, image and label counts differ, or a label is
        outside ``0..9``.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SnnRramError(f"name: expected a non-empty string, got {self.name!r}")
        if not isinstance(self.source, str):
            raise SnnRramError(f"source: expected a string, got {self.source!r}")
        for split in ("train", "test"):
            images = self._checked(f"{split}_images", ndim=3)
            labels = self._checked(f"{split}_labels", ndim=1)
            if images.shape[1:] != IMAGE_SHAPE:
                raise SnnRramError(
                    f"{split}_images: expected shape (n, 28, 28), got {images.shape}"
                )
            if images.shape[0] != labels.shape[0]:
                raise SnnRramError(
                    f"{split}_labels: {labels.shape[0]} labels for {images.shape[0]} "
                    f"{split} images; expected one label per image"
                )
            if labels.size and labels.max() >= N_CLASSES:
                raise SnnRramError(
                    f"{split}_labels: expected labels 0..{N_CLASSES - 1}, got {labels.max()}"
                )

    def _checked(self, field: str, ndim: int) -> np.ndarray:
        value = getattr(self, field)
        if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != ndim:
            got = (
                f"dtype {value.dtype}, shape {value.shape}"
                if isinstance(value, np.ndarray)
                else type(value).__name__
            )
            raise SnnRramError(
                f"{field}: expected a uint8 array with {ndim} dimension(s), got {got}"
            )
        view = value.view()
        view.flags.writeable = False
        object.__setattr__(self, field, view)
        return view

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={self.n_train}, test={self.n_test}, "
            f"source={self.source!r})"
        )

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return int(self.train_images.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return int(self.test_images.shape[0])

    def subset(
        self,
        n_train: int | None = None,
        n_test: int | None = None,
        *,
        seed: int | np.random.Generator | None = None,
    ) -> Dataset:
        """Return a smaller data set: the first images of each split, or a seeded sample.

        Parameters
        ----------
        n_train, n_test : int, optional
            How many training and test images to keep; ``None`` keeps the whole split.
        seed : int or numpy.random.Generator, optional
            Without it, the first ``n`` images of each split are kept (the stored order,
            deterministic). With it, ``n`` images are drawn without replacement, in random
            order.

        Returns
        -------
        Dataset
            Same name; the source string records the subset.

        Raises
        ------
        SnnRramError
            A count is not an integer in ``0..`` the split's size.
        """
        counts = {
            "n_train": (n_train, self.n_train),
            "n_test": (n_test, self.n_test),
        }
        for key, (n, size) in counts.items():
            if n is None:
                continue
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 <= n <= size:
                raise SnnRramError(f"{key}: expected an integer in 0..{size}, got {n!r}")
        rng = None if seed is None else as_rng(seed, "seed")

        def pick(n: int | None, size: int) -> slice | np.ndarray:
            if n is None:
                return slice(None)
            if rng is None:
                return slice(0, int(n))
            return rng.choice(size, size=int(n), replace=False)

        tr = pick(n_train, self.n_train)
        te = pick(n_test, self.n_test)
        how = "first" if rng is None else "random (seeded)"
        train_images = self.train_images[tr]
        test_images = self.test_images[te]
        note = f"; subset: {how} {len(train_images)} train / {len(test_images)} test"
        return dataclasses.replace(
            self,
            train_images=train_images,
            train_labels=self.train_labels[tr],
            test_images=test_images,
            test_labels=self.test_labels[te],
            source=self.source + note,
        )

    def train_vectors(self) -> np.ndarray:
        """Training images as float64 vectors in [0, 1], shape ``(n_train, 784)``."""
        return as_vectors(self.train_images)

    def test_vectors(self) -> np.ndarray:
        """Test images as float64 vectors in [0, 1], shape ``(n_test, 784)``."""
        return as_vectors(self.test_images)
