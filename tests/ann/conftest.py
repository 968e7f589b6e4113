"""Fixtures of the ann tests: tiny seeded PyTorch models and inputs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from ._models import MLP, SmallCNN, seeded


@pytest.fixture(scope="session")
def mlp():
    return seeded(MLP)


@pytest.fixture(scope="session")
def cnn():
    return seeded(SmallCNN)


@pytest.fixture(scope="session")
def x_mlp():
    return np.random.default_rng(1).normal(size=(16, 12))


@pytest.fixture(scope="session")
def x_cnn():
    return np.random.default_rng(2).normal(size=(16, 1, 16, 16))


@pytest.fixture(scope="session")
def x_lenet():
    return np.random.default_rng(3).normal(size=(8, 1, 28, 28))
