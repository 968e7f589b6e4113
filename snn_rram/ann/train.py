"""Training recipe of the bundled MLP (PyTorch, optional) and its provenance sidecar.

:func:`train_mlp` trains a bias-free ReLU MLP (784-256-10 by default) on the training split of a
bundled or installed image data set and returns it as a :class:`~snn_rram.ann.Network`, with a
metadata dict; :func:`save_pretrained` writes both: the network in the native ``.npz`` format and
a ``<name>.toml`` sidecar next to it (accuracies, hyper-parameters, versions, SHA-256 of the
file, the command that regenerates it).

The recipe, chosen for networks that are later quantized to a few bits and mapped onto
conductances (see ``models/networks/README.md`` for the numbers behind the choice):

- Adam, learning rate 1e-3 (constant), batch 64, 60 epochs, cross-entropy with label
  smoothing 0.1, no weight decay;
- every training image is shifted by a random whole number of pixels in ``[-2, 2]`` along each
  axis (zero fill), drawn anew every epoch: on 4,000 images this lifts the test accuracy of the
  bundled network from about 95.5 % to about 98 %;
- after every step each weight matrix is clipped to ``±3`` standard deviations of its own
  values, so ``max|w| / std(w) <= 3`` (about 8 without): a uniform quantizer scaled to the
  largest weight then keeps its levels busy (3-bit test accuracy about 96 % instead of about
  74 %) at no cost in float accuracy. An L2 penalty does not do this (with Adam it makes the
  outliers larger).

Reproducibility: all random draws (initialisation, shuffling, shifts) come from one
``torch.Generator`` seeded with ``seed``; training runs in float32 on one thread with
``torch.use_deterministic_algorithms(True)``, so the same call reproduces the same weights bit
for bit on the same machine and software (other CPUs or versions of torch may differ in the
last bits). The global torch settings are restored afterwards; the global random state is not
used.

Accuracies are computed in numpy, with :meth:`Network.predict` on the float64 weights, so they
can be checked from the saved file alone. This module imports torch and
nothing of the hardware side and no data set loader (the caller passes the images in).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import itertools
import math
import os
import platform
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from snn_rram._io import atomic_write, file_sha256
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, ReLU
from snn_rram.ann.native import save
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

TORCH_INSTALL_HINT = (
    "pip install torch==2.13.0 (the CPU wheel; an unpinned torch pulls several GB of CUDA "
    "packages), then pip install 'snn-rram[torch]'"
)
"""How to install the optional PyTorch dependency (quoted in error messages)."""

#: The arguments of :func:`train_mlp` that ``snn-rram train`` exposes as options.
_CLI_OPTIONS = ("hidden", "seed", "epochs")

#: Arguments of :func:`train_mlp` recorded in the metadata, in signature order.
_ARGUMENTS = (
    "hidden",
    "dataset",
    "data_path",
    "n_train",
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "label_smoothing",
    "clip_sigma",
    "max_shift",
    "seed",
    "bias",
)


def _import_torch(what: str):
    try:
        import torch
    except ImportError:
        raise SnnRramError(
            f"{what}: training needs PyTorch, an optional dependency: {TORCH_INSTALL_HINT}"
        ) from None
    return torch


# -- argument checks ---------------------------------------------------------------------------


def _int(value, name: str, minimum: int, maximum: int | None = None) -> int:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    ok = ok and value >= minimum and (maximum is None or value <= maximum)
    if not ok:
        upper = "" if maximum is None else f" and <= {maximum}"
        raise SnnRramError(f"{name}: expected an integer >= {minimum}{upper}, got {value!r}")
    return int(value)


def _float(value, name: str, *, positive: bool) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        kind = "> 0" if positive else ">= 0"
        raise SnnRramError(f"{name}: expected a finite number {kind}, got {value!r}")
    return float(value)


def _loss_and_clip(label_smoothing, clip_sigma) -> tuple[float, float | None]:
    """Checked label smoothing (in [0, 1)) and weight clipping (> 0 or None)."""
    label_smoothing = _float(label_smoothing, "label_smoothing", positive=False)
    if label_smoothing >= 1:
        raise SnnRramError(f"label_smoothing: expected a number in [0, 1), got {label_smoothing}")
    if clip_sigma is not None:
        clip_sigma = _float(clip_sigma, "clip_sigma", positive=True)
    return label_smoothing, clip_sigma


def _hidden(value) -> tuple[int, ...]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise SnnRramError(
            f"hidden: expected a sequence of hidden layer widths such as (256,), got {value!r}"
        )
    return tuple(_int(v, f"hidden[{i}]", 1) for i, v in enumerate(value))


# -- training ----------------------------------------------------------------------------------


N_CLASSES = 10


def train_mlp(
    hidden: int | Sequence[int] = (256,),
    *,
    data=None,
    dataset: str = "mnist_5k",
    data_path: str | os.PathLike[str] | None = None,
    n_train: int | None = None,
    epochs: int = 60,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    label_smoothing: float = 0.1,
    clip_sigma: float | None = 3.0,
    max_shift: int = 2,
    seed: int = 0,
    bias: bool = False,
    log: Callable[[str], object] | None = None,
) -> tuple[Network, dict]:
    """Train a ReLU MLP on an image data set with PyTorch and return it as a :class:`Network`.

    The network is ``Dense(784→h1), ReLU, ..., Dense(hk→10)`` (layers ``fc1, relu1, fc2, ...``),
    without biases by default, taking images as float64 vectors in [0, 1] (pixel / 255,
    row-major), as :meth:`snn_rram.datasets.Dataset.train_vectors` gives them.

    Parameters
    ----------
    hidden : int or sequence of int
        Widths of the hidden layers, input side first; ``()`` trains a linear classifier.
    data : snn_rram.datasets.Dataset
        The images and labels (``train_vectors()``, ``train_labels``, ``test_vectors()``,
        ``test_labels``, ``train_images``); the ann layer does not load data sets itself.
    dataset : str
        Name of that data set, recorded in the metadata (``"mnist_5k"``, ``"fashion_mnist"``,
        ``"mnist"``).
    data_path : str or os.PathLike, optional
        Its folder, recorded in the metadata.
    n_train : int, optional
        Train on the first ``n_train`` training images only (stored order); ``None`` for all.
    epochs : int
        Passes over the training images.
    batch_size : int
        Images per Adam step (the last batch of an epoch may be smaller).
    lr : float
        Adam learning rate (constant).
    weight_decay : float
        L2 penalty coefficient (Adam's ``weight_decay``) on weights and biases.
    label_smoothing : float
        Label smoothing of the cross-entropy loss, in [0, 1).
    clip_sigma : float or None
        After every step, clip each weight matrix to ``±clip_sigma`` times its own standard
        deviation; ``None`` for no clipping. Biases are not clipped.
    max_shift : int
        Augmentation: shift each image by random whole pixels in ``[-max_shift, max_shift]``
        along each axis (zero fill), drawn anew every epoch; 0 for none.
    seed : int
        Seed of every random draw (initialisation, shuffling, shifts).
    bias : bool
        Give the Dense layers biases.
    log : callable, optional
        Called with one line of text per epoch (mean loss, running train accuracy).

    Returns
    -------
    Network
        The trained network, float64 weights in PyTorch's layout (out, in); named
        ``mlp_784_<h1>_..._10``.
    dict
        Metadata: accuracies (``train_accuracy``, ``train_correct``, ``n_train_images``,
        ``test_accuracy``, ``test_correct``, ``n_test_images``, computed with
        :meth:`Network.predict` in numpy float64 on the unaugmented images), every argument
        above except ``log`` (``hidden`` as a list), ``architecture``, ``optimizer``,
        ``final_loss``, ``torch_version``, ``numpy_version``, ``python_version``,
        ``snn_rram_version``, ``num_threads``, ``deterministic``, ``wall_time_s``. Keys with the
        value ``None`` are absent arguments (``data_path``, ``n_train``, ``clip_sigma``).

    Raises
    ------
    SnnRramError
        PyTorch is not installed (the message says how to install it), a parameter is out of
        range (the message names it), or the data set cannot be loaded.
    """
    start = time.perf_counter()
    hidden = _hidden(hidden)
    if not isinstance(dataset, str):
        raise SnnRramError(
            f"dataset: expected a data set name such as 'mnist_5k', got {dataset!r}"
        )
    epochs = _int(epochs, "epochs", 1)
    batch_size = _int(batch_size, "batch_size", 1)
    lr = _float(lr, "lr", positive=True)
    weight_decay = _float(weight_decay, "weight_decay", positive=False)
    label_smoothing, clip_sigma = _loss_and_clip(label_smoothing, clip_sigma)
    max_shift = _int(max_shift, "max_shift", 0, 27)
    seed = _int(seed, "seed", 0, 2**63 - 1)
    if not isinstance(bias, bool | np.bool_):
        raise SnnRramError(f"bias: expected True or False, got {bias!r}")
    bias = bool(bias)
    if log is not None and not callable(log):
        raise SnnRramError(f"log: expected a callable taking a line of text, got {log!r}")
    torch = _import_torch("train_mlp")

    from snn_rram import __version__

    # the ann layer does not load data sets (a higher layer): the caller hands them in
    if data is None:
        raise SnnRramError(
            "data: give the images, e.g. snn_rram.datasets.load('mnist_5k') (the ann layer "
            "does not load data sets itself)"
        )
    try:
        x_train, y_train = data.train_vectors(), np.asarray(data.train_labels, dtype=np.int64)
        x_test, y_test = data.test_vectors(), np.asarray(data.test_labels, dtype=np.int64)
        image_shape = tuple(int(n) for n in np.shape(data.train_images)[1:])
    except AttributeError as exc:
        raise SnnRramError(
            "data: expected a snn_rram.datasets.Dataset (train_vectors(), train_labels, "
            f"test_vectors(), test_labels, train_images), got {type(data).__name__}"
        ) from exc
    if n_train is not None:
        n_train = _int(n_train, "n_train", 1, len(y_train))
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    n_in, n_out = x_train.shape[1], N_CLASSES
    sizes = (n_in, *hidden, n_out)

    with _reproducible(torch):
        weights, biases, final_loss = _fit(
            torch,
            x_train,
            y_train,
            image_shape,
            sizes,
            bias=bias,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            label_smoothing=label_smoothing,
            clip_sigma=clip_sigma,
            max_shift=max_shift,
            seed=seed,
            log=log,
        )

    layers: list = []
    for i, (w, b) in enumerate(zip(weights, biases, strict=True), start=1):
        if layers:
            layers.append(ReLU(name=f"relu{i - 1}"))
        layers.append(Dense(w, b, name=f"fc{i}"))
    name = "mlp_" + "_".join(map(str, sizes))
    network = Network(layers, (n_in,), name=name)

    train_correct = int(np.count_nonzero(network.predict(x_train) == y_train))
    test_correct = int(np.count_nonzero(network.predict(x_test) == y_test))
    meta = {
        "test_accuracy": test_correct / len(y_test),
        "train_accuracy": train_correct / len(y_train),
        "test_correct": test_correct,
        "n_test_images": len(y_test),
        "train_correct": train_correct,
        "n_train_images": len(y_train),
        "architecture": "-".join(map(str, sizes)),
        "hidden": list(hidden),
        "dataset": dataset,
        "data_path": None if data_path is None else str(data_path),
        "n_train": n_train,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "label_smoothing": label_smoothing,
        "clip_sigma": clip_sigma,
        "max_shift": max_shift,
        "seed": seed,
        "bias": bias,
        "optimizer": "Adam",
        "final_loss": final_loss,
        "torch_version": str(torch.__version__),
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "snn_rram_version": __version__,
        "num_threads": 1,
        "deterministic": True,
        "wall_time_s": round(time.perf_counter() - start, 3),
    }
    return network, meta


@contextlib.contextmanager
def _reproducible(torch):
    """One thread and deterministic algorithms inside, torch's settings restored after."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _step(torch, optimizer, loss, weights, clip_sigma: float | None) -> None:
    """One Adam step on ``loss``, then each weight array clipped to ``±clip_sigma`` std."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if clip_sigma is not None:
        with torch.no_grad():
            for w in weights:
                limit = clip_sigma * float(w.std(correction=0))
                w.clamp_(-limit, limit)


def _fit(
    torch,
    x_train: np.ndarray,
    y_train: np.ndarray,
    image_shape: tuple[int, ...],
    sizes: tuple[int, ...],
    *,
    bias: bool,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    label_smoothing: float,
    clip_sigma: float | None,
    max_shift: int,
    seed: int,
    log: Callable[[str], object] | None,
) -> tuple[list[np.ndarray], list[np.ndarray | None], float]:
    """Run the training loop; return float64 weights, biases and the last epoch's mean loss."""
    functional = torch.nn.functional
    gen = torch.Generator().manual_seed(seed)
    # PyTorch's default Linear initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    weights, biases = [], []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        weights.append(torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=gen))
        if bias:
            biases.append(torch.empty(fan_out).uniform_(-bound, bound, generator=gen))
    params = [p.requires_grad_() for p in weights + biases]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    x_all = torch.from_numpy(x_train).to(torch.float32)
    y_all = torch.from_numpy(y_train)
    n = x_all.shape[0]
    height, width = image_shape
    ar_h, ar_w = torch.arange(height), torch.arange(width)

    def shifted(x):
        """Each image moved by its own random (dy, dx) in [-max_shift, max_shift], zero fill."""
        b = x.shape[0]
        padded = functional.pad(x.view(b, height, width), (max_shift,) * 4)
        dy = torch.randint(0, 2 * max_shift + 1, (b,), generator=gen)
        dx = torch.randint(0, 2 * max_shift + 1, (b,), generator=gen)
        rows = (dy[:, None] + ar_h)[:, :, None]
        cols = (dx[:, None] + ar_w)[:, None, :]
        return padded[torch.arange(b)[:, None, None], rows, cols].reshape(b, height * width)

    def forward(x):
        for i, w in enumerate(weights):
            if i:
                x = torch.relu(x)
            x = functional.linear(x, w, biases[i] if bias else None)
        return x

    loss_mean = math.nan
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for first in range(0, n, batch_size):
            idx = order[first : first + batch_size]
            x = x_all[idx]
            if max_shift:
                x = shifted(x)
            logits = forward(x)
            loss = functional.cross_entropy(logits, y_all[idx], label_smoothing=label_smoothing)
            _step(torch, optimizer, loss, weights, clip_sigma)
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y_all[idx]).sum())
        loss_mean = loss_sum / n
        if log is not None:
            log(
                f"epoch {epoch}/{epochs}: loss {loss_mean:.4f}, train accuracy "
                f"{correct / n:.4f} (augmented, during the epoch)"
            )
    as_numpy = [w.detach().to(torch.float64).numpy().copy() for w in weights]
    b_numpy = [b.detach().to(torch.float64).numpy().copy() for b in biases] if bias else None
    return as_numpy, b_numpy or [None] * len(as_numpy), loss_mean


def train_network(
    architecture: Network,
    train_x,
    train_y,
    test_x,
    test_y,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    label_smoothing: float = 0.1,
    clip_sigma: float | None = 3.0,
    seed: int = 0,
    log: Callable[[str], object] | None = None,
) -> tuple[Network, dict]:
    """Train a network of any architecture in float with PyTorch (e.g. a LeNet-5).

    The recipe of :func:`train_mlp` without augmentation: Adam at a constant learning rate,
    cross-entropy with label smoothing, each weight array clipped to ``±clip_sigma`` standard
    deviations after every step, PyTorch's default initialisation (uniform in
    ``±1/sqrt(fan_in)`` for weights and biases), float32 on one thread, deterministic.

    Parameters
    ----------
    architecture : Network
        The layers (Dense, Conv2d, AvgPool2d, MaxPool2d, Flatten, ReLU); its weights are only
        shapes (re-initialised), a layer with a bias gets a trained bias.
    train_x, train_y, test_x, test_y : array_like
        Inputs (``(n, *input_shape)`` or flattened) and integer labels.
    epochs, batch_size, lr, label_smoothing, clip_sigma, seed, log
        As :func:`train_mlp`.

    Returns
    -------
    Network
        The architecture with the trained float64 weights.
    dict
        ``train_accuracy``, ``test_accuracy`` (numpy forward pass), ``final_loss``, the
        arguments, ``architecture`` (one line per layer), ``wall_time_s``, versions.
    """
    start = time.perf_counter()
    if not isinstance(architecture, Network):
        raise SnnRramError(f"architecture: expected an snn_rram.ann.Network, got {architecture!r}")
    epochs = _int(epochs, "epochs", 0)
    batch_size = _int(batch_size, "batch_size", 1)
    lr = _float(lr, "lr", positive=True)
    label_smoothing, clip_sigma = _loss_and_clip(label_smoothing, clip_sigma)
    seed = _int(seed, "seed", 0, 2**63 - 1)
    torch = _import_torch("train_network")
    functional = torch.nn.functional
    shape = architecture.input_shape
    data = []
    for what, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if x.ndim < 1 or x[0].size != int(np.prod(shape)) or y.shape != (x.shape[0],):
            raise SnnRramError(
                f"{what}_x, {what}_y: expected (n, {int(np.prod(shape))}) inputs and n labels, "
                f"got {x.shape} and {y.shape}"
            )
        data.append((x.reshape(-1, *shape), y))
    (x_train, y_train), (x_test, y_test) = data

    gen = torch.Generator().manual_seed(seed)
    params = {}
    for layer in architecture.layers:
        if layer.has_weights:
            fan_in = int(np.prod(layer.weight.shape[1:]))
            bound = 1.0 / math.sqrt(fan_in)
            w = torch.empty(layer.weight.shape).uniform_(-bound, bound, generator=gen)
            b = None
            if layer.bias is not None:
                b = torch.empty(layer.bias.shape).uniform_(-bound, bound, generator=gen)
            params[layer.name] = (w.requires_grad_(), None if b is None else b.requires_grad_())

    def forward(x):
        for layer in architecture.layers:
            if isinstance(layer, Dense):
                x = functional.linear(x, *params[layer.name])
            elif isinstance(layer, Conv2d):
                pt, pb, pl, pr = layer.padding
                x = functional.conv2d(
                    functional.pad(x, (pl, pr, pt, pb)), *params[layer.name], stride=layer.stride
                )
            elif isinstance(layer, AvgPool2d | MaxPool2d):
                pool = (
                    functional.avg_pool2d
                    if isinstance(layer, AvgPool2d)
                    else functional.max_pool2d
                )
                x = pool(x, layer.kernel_size, layer.stride)
            elif isinstance(layer, Flatten):
                x = x.reshape(x.shape[0], -1)
            else:
                x = torch.relu(x)
        return x

    weights = [w for w, _ in params.values()]
    trainable = weights + [b for _, b in params.values() if b is not None]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    x_all, y_all = torch.from_numpy(x_train).to(torch.float32), torch.from_numpy(y_train)
    n = x_all.shape[0]
    loss_mean = math.nan
    with _reproducible(torch):
        for epoch in range(1, epochs + 1):
            order = torch.randperm(n, generator=gen)
            loss_sum = 0.0
            for first in range(0, n, batch_size):
                idx = order[first : first + batch_size]
                loss = functional.cross_entropy(
                    forward(x_all[idx]), y_all[idx], label_smoothing=label_smoothing
                )
                _step(torch, optimizer, loss, weights, clip_sigma)
                loss_sum += float(loss.detach()) * len(idx)
            loss_mean = loss_sum / n
            if log is not None:
                log(f"epoch {epoch}/{epochs}: loss {loss_mean:.4f}")

    network = architecture.with_weights(
        {
            name: (
                w.detach().to(torch.float64).numpy(),
                None if b is None else b.detach().to(torch.float64).numpy(),
            )
            for name, (w, b) in params.items()
        }
    )
    meta = {
        "train_accuracy": float(np.mean(network.predict(x_train) == y_train)),
        "test_accuracy": float(np.mean(network.predict(x_test) == y_test)),
        "final_loss": loss_mean,
        "architecture": [layer.describe() for layer in architecture.layers],
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "label_smoothing": label_smoothing,
        "clip_sigma": clip_sigma,
        "seed": seed,
        "n_train_images": int(n),
        "torch_version": str(torch.__version__),
        "numpy_version": np.__version__,
        "wall_time_s": round(time.perf_counter() - start, 3),
    }
    return network, meta


# -- provenance --------------------------------------------------------------------------------


def weights_sha256(network: Network) -> str:
    """SHA-256 of a network's weights, independent of the file format that holds them.

    The digest covers, for every weight layer in order, its name, then for ``weight`` and
    ``bias`` (if any) the parameter name, the shape and the float64 little-endian bytes in
    C order. Two networks with this digest equal have bit-identical weights.

    Parameters
    ----------
    network : Network
        The network.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    if not isinstance(network, Network):
        raise SnnRramError(f"network: expected an snn_rram.ann.Network, got {type(network)}")
    digest = hashlib.sha256()
    for _, layer in network.weight_layers():
        digest.update(f"{layer.name}\n".encode())
        for key, arr in (("weight", layer.weight), ("bias", layer.bias)):
            if arr is None:
                continue
            digest.update(f"{key} {list(arr.shape)}\n".encode())
            digest.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
    return digest.hexdigest()


def regenerate_command(meta: Mapping, out: str | os.PathLike[str]) -> str | None:
    """The ``snn-rram train`` command line that reproduces a :func:`train_mlp` result.

    Parameters
    ----------
    meta : mapping
        The metadata returned by :func:`train_mlp`.
    out : str or os.PathLike
        The ``--out`` path, written as given.

    Returns
    -------
    str or None
        ``snn-rram train --hidden H1 [H2 ...] --seed S [--epochs E] --out OUT``
        (``--epochs`` only when it differs from the default), or ``None`` when the training
        used an argument that the command does not expose with a non-default value.
    """
    defaults = _defaults()
    missing = [k for k in _ARGUMENTS if k not in meta and defaults[k] is not None]
    if missing:
        raise SnnRramError(f"meta: missing the training arguments {missing}")
    if any(meta.get(k) != defaults[k] for k in _ARGUMENTS if k not in _CLI_OPTIONS):
        return None
    parts = ["snn-rram", "train"]
    parts.append("--hidden " + " ".join(str(h) for h in meta["hidden"]))
    parts.append(f"--seed {meta['seed']}")
    if meta["epochs"] != defaults["epochs"]:
        parts.append(f"--epochs {meta['epochs']}")
    parts.append(f"--out {_shell_word(os.fspath(out))}")
    return " ".join(parts)


def python_call(meta: Mapping) -> str:
    """The :func:`train_mlp` call, every argument explicit, that reproduces a result."""
    data = f"snn_rram.datasets.load({meta.get('dataset')!r}, {meta.get('data_path')!r})"
    args = []
    for key in _ARGUMENTS:
        value = meta.get(key)
        if key == "hidden":
            value = tuple(value)
        args.append(f"{key}={value!r}")
        if key == "hidden":
            args.append(f"data={data}")
    return f"snn_rram.ann.train.train_mlp({', '.join(args)})"


def _defaults() -> dict:
    params = inspect.signature(train_mlp).parameters
    out = {k: params[k].default for k in _ARGUMENTS}
    out["hidden"] = list(out["hidden"])
    return out


def _shell_word(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:=+@%-]+", text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def save_pretrained(network: Network, meta: Mapping, path: str | os.PathLike[str]) -> Path:
    """Write a trained network to ``path`` (native ``.npz``) and its ``.toml`` sidecar.

    The sidecar ``<stem>.toml`` next to the ``.npz`` holds, at the top level, ``file``,
    ``sha256`` (of the ``.npz``), ``weights_sha256`` (see :func:`weights_sha256`),
    ``command`` (the ``snn-rram train`` command that regenerates the file, see
    :func:`regenerate_command`; an empty string when no command line can) and ``python`` (the
    equivalent :func:`train_mlp` call), ``dataset_source``, ``network`` (its name),
    ``input_shape`` and ``layers`` (one line per layer); then the table
    ``[meta]``: the metadata, key for key (keys whose value is ``None`` are left out, TOML has no
    null). Both files are written to temporary files in the same folder and renamed into place
    one after the other, the sidecar last: it holds the ``.npz``'s SHA-256,
    which :func:`snn_rram.ann.load` checks, so a save interrupted in between is detected.

    Parameters
    ----------
    network : Network
        The trained network.
    meta : mapping
        Its metadata, as returned by :func:`train_mlp`; values are strings, booleans, integers,
        finite floats, lists of those, or ``None``.
    path : str or os.PathLike
        Destination of the network, ending in ``.npz``; the folder must exist.

    Returns
    -------
    pathlib.Path
        The path of the ``.npz``.
    """
    if not isinstance(network, Network):
        raise SnnRramError(f"network: expected an snn_rram.ann.Network, got {type(network)}")
    if not isinstance(meta, Mapping):
        raise SnnRramError(f"meta: expected the metadata dict of train_mlp, got {type(meta)}")
    path = Path(path)
    if path.suffix != ".npz":
        raise SnnRramError(f"path: expected a file name ending in .npz, got {str(path)!r}")
    if not path.parent.is_dir():
        raise SnnRramError(f"path: folder {str(path.parent)!r} does not exist")
    sidecar = path.with_suffix(".toml")
    command = regenerate_command(meta, path)
    header = {
        "file": path.name,
        "sha256": "",
        "weights_sha256": weights_sha256(network),
        "command": command or "",
        "python": python_call(meta),
        "dataset_source": _dataset_source(meta.get("dataset")),
        "network": network.name,
        "input_shape": list(network.input_shape),
        "layers": [f"{layer.name}: {layer.describe()}" for layer in network.layers],
    }
    comment = (
        f"Provenance of {path.name}, written by snn_rram.ann.train.save_pretrained.\n"
        "sha256: of the .npz file; weights_sha256: of the weights alone (see "
        "snn_rram.ann.train.weights_sha256).\n"
        "Accuracies: snn_rram.ann.Network.predict in numpy float64 on the unaugmented "
        "images of the named split."
    )
    if command is None:
        comment += (
            "\ncommand is empty: some arguments are not options of `snn-rram train`; "
            "use the python call."
        )
    toml_dumps(header, {"meta": dict(meta)})  # refuses bad metadata before anything is written
    save(network, path)
    # The sidecar is written last and carries the .npz's SHA-256: a save interrupted between
    # the two leaves a pair that ann.load refuses (snn_rram.ann.native.check_sidecar).
    header["sha256"] = file_sha256(path)
    with atomic_write(sidecar, "w") as fh:
        fh.write(toml_dumps(header, {"meta": dict(meta)}, comment=comment))
    return path


def _dataset_source(name) -> str:
    if name == "mnist_5k":
        return "data/mnist_5k of the snn-rram repository (see its README.md)"
    return f"snn_rram.datasets.load({name!r})"


# -- the sidecar's TOML (written by tomli-w) ------------------------------------------------


def _plain(value, where: str):
    """A value tomli-w writes and :mod:`tomllib` reads back equal (lists for tuples)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise SnnRramError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[]") for v in value]
    raise SnnRramError(
        f"{where}: expected a string, boolean, integer, float or a list of them, got "
        f"{type(value).__name__}"
    )


def _table(mapping: Mapping, where: str) -> dict:
    out = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not key:
            raise SnnRramError(f"meta: keys must be non-empty strings, got {key!r}")
        if value is not None:
            out[key] = _plain(value, f"{where}{key}")
    return out


def toml_dumps(
    top: Mapping, tables: Mapping[str, Mapping] | None = None, *, comment: str = ""
) -> str:
    """Render key/value pairs and one level of tables as TOML text (with :mod:`tomli_w`).

    Parameters
    ----------
    top : mapping
        Top-level keys: strings, booleans, integers, finite floats or lists of them; ``None``
        values are left out (TOML has no null).
    tables : mapping of str to mapping, optional
        ``[name]`` tables of the same kind of values, in order.
    comment : str
        Lines written first, each prefixed with ``#`` and a space.

    Returns
    -------
    str
        The document; :func:`tomllib.loads` reads it back to the same values (lists for tuples).

    Raises
    ------
    SnnRramError
        A value of another type or a non-finite float (naming its key).
    """
    import tomli_w

    doc = _table(top, "")
    for name, mapping in (tables or {}).items():
        if not isinstance(name, str) or not name:
            raise SnnRramError(f"tables: names must be non-empty strings, got {name!r}")
        doc[name] = _table(mapping, f"{name}.")
    head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return head + tomli_w.dumps(doc)
