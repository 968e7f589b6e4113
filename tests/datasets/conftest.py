"""Fixtures of the data set tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ._mnist_files import small_arrays, write_mnist_dir


@pytest.fixture
def small_mnist(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A folder with four small gzipped IDX files, and the arrays they hold."""
    arrays = small_arrays()
    write_mnist_dir(tmp_path / "small", arrays)
    return tmp_path / "small", arrays
