"""Shared test set-up: build and cache folders stay inside the repository's build/ folder."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("SNN_RRAM_BUILD_DIR", ROOT / "build"))
os.environ.setdefault("SNN_RRAM_BUILD_DIR", str(BUILD))
os.environ.setdefault("MPLCONFIGDIR", str(BUILD / "matplotlib"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)
