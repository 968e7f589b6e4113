"""Fixtures of the ann tests: tiny seeded PyTorch models and inputs.

Only the fixtures that build PyTorch models need torch (they skip without it); modules that use
torch themselves skip on their own, so the numpy-only tests of ``tests/ann`` run without torch.
"""

from __future__ import annotations

import numpy as np
import pytest


def _models():
    pytest.importorskip("torch")
    from . import _models

    return _models


@pytest.fixture(scope="session")
def mlp():
    m = _models()
    return m.seeded(m.MLP)


@pytest.fixture(scope="session")
def cnn():
    m = _models()
    return m.seeded(m.SmallCNN)


@pytest.fixture(scope="session")
def x_mlp():
    return np.random.default_rng(1).normal(size=(16, 12))


@pytest.fixture(scope="session")
def x_cnn():
    return np.random.default_rng(2).normal(size=(16, 1, 16, 16))


@pytest.fixture(scope="session")
def x_lenet():
    return np.random.default_rng(3).normal(size=(8, 1, 28, 28))
