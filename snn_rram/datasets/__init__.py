"""Image data sets for the networks: the bundled MNIST subset, Fashion-MNIST and MNIST.

>>> import snn_rram.datasets as datasets
>>> ds = datasets.load("mnist_5k")          # bundled: 4,000 train / 1,000 test
>>> ds.train_images.shape, ds.train_images.dtype
((4000, 28, 28), dtype('uint8'))
>>> x = ds.subset(n_train=100).train_vectors()   # float64 in [0, 1], shape (100, 784)

Names known to :func:`load`: ``"mnist_5k"`` (bundled in ``data/mnist_5k``), ``"fashion_mnist"``
(Debian's ``dataset-fashion-mnist`` or a folder), ``"mnist"`` (a folder, optionally downloaded
into with SHA-256 checks). Files are MNIST-format IDX, read by :func:`read_idx`.
"""

from snn_rram.datasets._dataset import IMAGE_SHAPE, N_CLASSES, Dataset, as_vectors
from snn_rram.datasets._loaders import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    KNOWN_DATASETS,
    bundled_dir,
    load,
    load_idx_dir,
)
from snn_rram.datasets.download import MNIST_MIRRORS, MNIST_SHA256, download_mnist
from snn_rram.datasets.idx import read_idx, write_idx

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "IMAGE_SHAPE",
    "KNOWN_DATASETS",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "N_CLASSES",
    "Dataset",
    "as_vectors",
    "bundled_dir",
    "download_mnist",
    "load",
    "load_idx_dir",
    "read_idx",
    "write_idx",
]
