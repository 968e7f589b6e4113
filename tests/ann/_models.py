"""Tiny real PyTorch models and helpers shared by the ann tests."""

from __future__ import annotations

import copy

import numpy as np
import torch

nn = torch.nn


class MLP(nn.Module):
    """12 → 8 → 6 → 4, ReLU between."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 8)
        self.fc2 = nn.Linear(8, 6)
        self.fc3 = nn.Linear(6, 4)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class SmallCNN(nn.Module):
    """(1, 16, 16) → conv pad 1 → max pool → conv stride 2 pad 1 → avg pool → MLP."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 3, 3, padding=1)
        self.p1 = nn.MaxPool2d(2)
        self.c2 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.p2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(4 * 2 * 2, 6)
        self.fc2 = nn.Linear(6, 5)

    def forward(self, x):
        x = self.p2(torch.relu(self.c2(self.p1(torch.relu(self.c1(x))))))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class LeNet(nn.Module):
    """LeNet-5 style on (1, 28, 28): conv5 pad 2 → pool → conv5 → pool → 3 dense layers."""

    def __init__(self, pooling="max"):
        super().__init__()
        pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
        self.conv1 = nn.Conv2d(1, 4, 5, padding=2)
        self.pool1 = pool(2)
        self.conv2 = nn.Conv2d(4, 6, 5)
        self.pool2 = pool(2)
        self.fc1 = nn.Linear(6 * 5 * 5, 16)
        self.fc2 = nn.Linear(16, 12)
        self.fc3 = nn.Linear(12, 10)

    def forward(self, x):
        x = self.pool1(torch.relu(self.conv1(x)))
        x = self.pool2(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def seeded(cls, *args, seed=0):
    torch.manual_seed(seed)
    model = cls(*args).eval()
    # Larger biases than the default init, so that a lost bias shows.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-0.5, 0.5)
    return model


def torch_forward(model, x: np.ndarray) -> np.ndarray:
    """The model's own forward pass, in float64 (same float32 weights, widened)."""
    with torch.no_grad():
        return copy.deepcopy(model).double()(torch.from_numpy(x)).numpy()


def cnn_skeleton():
    """The architecture of SmallCNN as an ann.Network (zero weights, names as in torch)."""
    from snn_rram import ann

    return ann.Network(
        [
            ann.Conv2d(np.zeros((3, 1, 3, 3)), np.zeros(3), padding=1, name="c1"),
            ann.ReLU(),
            ann.MaxPool2d(2),
            ann.Conv2d(np.zeros((4, 3, 3, 3)), np.zeros(4), stride=2, padding=1, name="c2"),
            ann.ReLU(),
            ann.AvgPool2d(2),
            ann.Flatten(),
            ann.Dense(np.zeros((6, 16)), np.zeros(6), name="fc1"),
            ann.ReLU(),
            ann.Dense(np.zeros((5, 6)), np.zeros(5), name="fc2"),
        ],
        (1, 16, 16),
    )


def assert_same(net, ref: np.ndarray, x: np.ndarray, *, atol: float = 1e-9):
    """Outputs match ``ref`` and the predictions are identical."""
    out = net.forward(x)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=atol)
    np.testing.assert_array_equal(net.predict(x), ref.argmax(axis=1))
