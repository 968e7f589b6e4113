"""Binary and ternary networks for 2T2R arrays read by a PCSA (paper 5).

The paper
---------
Laborieux et al. (arXiv:2005.01973, arXiv:2007.14234) train binary and ternary networks, store
each weight in a 2T2R pair read by a precharge sense amplifier, and find that ternary networks
beat binary ones and tolerate the PCSA's bit errors without error-correcting codes.

Our reconstruction (every free choice a parameter of :func:`train_quantized`)
-----------------------------------------------------------------------------
- Latent float weights, initialised as PyTorch's layers do, clipped to [−1, 1] after every
  step; the forward pass uses their quantised values and the backward pass the
  straight-through estimator (the gradient of the quantised weight is taken as that of the
  latent one).
- Binary: ``t = sign(w)`` (0 → +1). Ternary: ``t = sign(w)·[|w| > Δ]`` with
  ``Δ = threshold · mean|w|`` of the layer (Li & Liu's ternary weight networks; ``threshold``
  0.7 by default). The layer's scale is the mean ``|w|`` of the weights kept (detached).
- Optional batch normalisation after every weight layer, folded at export into a scale and a
  bias per output neuron (channel): the exported layer's weights are ``scale_o · t_o``, so each
  row is one number times the alphabet (:func:`split_alphabet` recovers both exactly).
- ReLU activations in float (the ann layer's convention), average pooling in the CNN.
- Read errors injected in the forward pass of training (fresh draws every step), either the
  papers' scheme (:meth:`ReadErrors.uniform`: ternary 0 ↔ ±1 at a given rate, binary sign flips)
  or the PCSA model's per-type rates (:meth:`ReadErrors.from_rates`).

Inference through the PCSA (:func:`pcsa_inference`): every weight layer's alphabet matrix is
programmed onto 2T2R pairs (log-normal devices) and sensed by the PCSA model, either once for
the whole run or afresh for every image (a kernel of a convolution is sensed once per image and
reused at every position); the outcomes, times the row scales, are accumulated digitally in
float (signed accumulation) and the next layer gets the ReLU of the result. Energy: one sense
operation per synapse and read.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from snn_rram._validation import as_array, as_int, as_rng, as_scalar, one_of
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, ReLU
from snn_rram.ann.network import Network
from snn_rram.ann.train import _import_torch
from snn_rram.crossbar.pcsa import ENCODINGS, PCSA, ReadErrorRates, TwoStateCells, program_2t2r
from snn_rram.errors import SnnRramError

__all__ = [
    "PCSAInference",
    "ReadErrors",
    "errors_inference",
    "pcsa_inference",
    "split_alphabet",
    "train_quantized",
]

_BN_EPS = 1e-5
#: Learning-rate schedules of :func:`train_quantized`.
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class ReadErrors:
    """Read errors of a binary or ternary weight, conditional on the stored value.

    Parameters
    ----------
    zero_to_nonzero : float
        Probability that a stored 0 reads as ±1 (either sign, equally likely).
    nonzero_to_zero : float
        Probability that a stored ±1 reads as 0.
    sign_flip : float
        Probability that a stored ±1 reads as ∓1.
    """

    zero_to_nonzero: float = 0.0
    nonzero_to_zero: float = 0.0
    sign_flip: float = 0.0

    def __post_init__(self):
        for name in ("zero_to_nonzero", "nonzero_to_zero", "sign_flip"):
            x = as_scalar(getattr(self, name), f"ReadErrors.{name}", nonnegative=True)
            if x > 1:
                raise SnnRramError(f"ReadErrors.{name}: a probability, must be <= 1, got {x!r}")
            object.__setattr__(self, name, x)
        if self.nonzero_to_zero + self.sign_flip > 1:
            raise SnnRramError(
                "ReadErrors: nonzero_to_zero + sign_flip must not exceed 1, got "
                f"{self.nonzero_to_zero} + {self.sign_flip}"
            )

    @classmethod
    def uniform(cls, ber: float, alphabet: str = "ternary") -> ReadErrors:
        """The papers' injection scheme: ternary 0 ↔ ±1 errors, binary sign flips, at ``ber``."""
        one_of(alphabet, "alphabet", tuple(ENCODINGS))
        if alphabet == "binary":
            return cls(sign_flip=ber)
        return cls(zero_to_nonzero=ber, nonzero_to_zero=ber)

    @classmethod
    def from_rates(cls, rates: ReadErrorRates) -> ReadErrors:
        """The conditional error probabilities of a PCSA's :class:`ReadErrorRates`."""
        if not isinstance(rates, ReadErrorRates):
            raise SnnRramError(f"rates: expected ReadErrorRates, got {type(rates).__name__}")
        rows = dict(zip(rates.states, rates.confusion, strict=True))
        nonzero = [rows[-1], rows[1]]
        return cls(
            zero_to_nonzero=float(rows[0][0] + rows[0][2]) if 0 in rows else 0.0,
            nonzero_to_zero=float(np.mean([r[1] for r in nonzero])),
            sign_flip=float(np.mean([rows[-1][2], rows[1][0]])),
        )

    @property
    def any(self) -> bool:
        """True when reads can be wrong."""
        return bool(self.zero_to_nonzero or self.nonzero_to_zero or self.sign_flip)

    def corrupt(self, t, rng) -> np.ndarray:
        """Read ``t`` (values in {−1, 0, +1}) once with these errors; an int8 array."""
        t = np.asarray(t, dtype=np.int8)
        rng = as_rng(rng)
        u = rng.random(t.shape)
        sign = np.where(rng.random(t.shape) < 0.5, -1, 1).astype(np.int8)
        zero = t == 0
        out = t.copy()
        out[zero & (u < self.zero_to_nonzero)] = sign[zero & (u < self.zero_to_nonzero)]
        to_zero = ~zero & (u < self.nonzero_to_zero)
        flip = ~zero & (u >= self.nonzero_to_zero) & (u < self.nonzero_to_zero + self.sign_flip)
        out[to_zero] = 0
        out[flip] = -t[flip]
        return out


def split_alphabet(layer) -> tuple[np.ndarray, np.ndarray]:
    """A quantised layer's weights as alphabet values times one scale per output.

    Parameters
    ----------
    layer : snn_rram.ann.Dense or snn_rram.ann.Conv2d
        A layer whose every output row (channel) is ``scale · t`` with t in {−1, 0, +1}.

    Returns
    -------
    t : numpy.ndarray of int8
        The alphabet values, the layer's weight shape.
    scale : numpy.ndarray
        One non-negative scale per output (0 for an all-zero row).

    Raises
    ------
    SnnRramError
        If a row is not one number times {−1, 0, +1}.
    """
    w = np.asarray(layer.weight, dtype=np.float64)
    rows = w.reshape(w.shape[0], -1)
    scale = np.abs(rows).max(axis=1)
    safe = np.where(scale > 0, scale, 1.0)
    t = rows / safe[:, None]
    if not np.isin(t, (-1.0, 0.0, 1.0)).all():
        raise SnnRramError(
            f"{layer.name}.weight: not a binary/ternary layer (a row is not one scale times "
            "{-1, 0, +1})"
        )
    return t.astype(np.int8).reshape(w.shape), scale


# --- training --------------------------------------------------------------------------------


def _checked_data(x, y, input_shape, what):
    x = as_array(x, f"{what}_x")
    if x.shape[0] != np.asarray(y).shape[0]:
        raise SnnRramError(
            f"{what}_y: expected {x.shape[0]} labels to match {what}_x, got {np.shape(y)[0]}"
        )
    try:
        x = x.reshape((x.shape[0], *input_shape))
    except ValueError:
        raise SnnRramError(
            f"{what}_x: shape {x.shape} does not hold samples of shape {tuple(input_shape)}"
        ) from None
    return x, np.asarray(y, dtype=np.int64)


def _architecture(input_shape, hidden, conv, n_classes):
    """The layer plan: ("conv", c_in, c_out), ("pool",), ("flatten",), ("dense", n_in, n_out)."""
    plan, shape = [], tuple(input_shape)
    if conv:
        if len(shape) != 3:
            raise SnnRramError(f"conv: needs image inputs (C, H, W), got input_shape {shape}")
        c, h, w = shape
        for c_out in conv:
            plan += [("conv", c, c_out), ("pool",)]
            c, h, w = c_out, h // 2, w // 2
            if h < 1 or w < 1:
                raise SnnRramError(f"conv: {len(conv)} pooled blocks shrink {shape} to nothing")
        plan.append(("flatten",))
        width = c * h * w
    else:
        if len(shape) != 1:
            plan.append(("flatten",))
        width = int(np.prod(shape))
    for n_out in (*hidden, n_classes):
        plan.append(("dense", width, n_out))
        width = n_out
    return plan


def _int_list(value, name) -> tuple[int, ...]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise SnnRramError(f"{name}: expected a sequence of widths, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or not 1 <= v <= 65536:
            raise SnnRramError(f"{name}: widths must be integers in 1..65536, got {v!r}")
        out.append(int(v))
    return tuple(out)


def train_quantized(
    train_x,
    train_y,
    test_x,
    test_y,
    *,
    input_shape: Sequence[int] = (784,),
    alphabet: str = "ternary",
    hidden: int | Sequence[int] = (256,),
    conv: Sequence[int] = (),
    n_classes: int = 10,
    threshold: float = 0.7,
    batchnorm: bool = True,
    errors: ReadErrors | None = None,
    epochs: int = 10,
    batch_size: int = 100,
    lr: float = 2e-3,
    lr_schedule: str = "constant",
    seed: int = 0,
    validation: tuple | None = None,
    score_train: bool = True,
    log: Callable[[str], object] | None = None,
) -> tuple[Network, dict]:
    """Train a binary or ternary network with PyTorch (straight-through estimator).

    Parameters
    ----------
    train_x, test_x : array_like
        Images in [0, 1], shape ``(n, *input_shape)`` or ``(n, features)``.
    train_y, test_y : array_like of int
        Labels.
    input_shape : sequence of int
        Shape of one sample: ``(features,)`` or ``(C, H, W)`` (needed for ``conv``).
    alphabet : {"ternary", "binary", "float"}
        The weight values; ``"float"`` trains the same architecture without quantisation (the
        reference; latent weights still clipped to [−1, 1]).
    hidden : int or sequence of int
        Widths of the hidden dense layers.
    conv : sequence of int
        Output channels of the VGG-like blocks before the dense layers (each a 3×3
        convolution with padding 1, batch normalisation, ReLU and 2×2 average pooling).
    n_classes : int
        Outputs of the last layer.
    threshold : float
        Ternary threshold as a fraction of the layer's mean ``|w|``.
    batchnorm : bool
        Batch normalisation after every weight layer (folded into scales and biases at export).
    errors : ReadErrors, optional
        Read errors injected into the quantised weights of every forward pass of training.
    epochs, batch_size, lr : int, int, float
        Adam on the latent weights: passes, images per step, (initial) learning rate.
    lr_schedule : {"constant", "cosine"}
        ``"constant"``: ``lr`` throughout. ``"cosine"``: the learning rate decays from ``lr`` to
        0 along a half cosine over the steps of training (Loshchilov & Hutter's SGDR without
        restarts), so that the latent weights settle and the quantised weights stop flipping
        at the end (a ternary weight has two thresholds to flip at, a binary one one). Cosine
        is what the paper-5 study uses (it lifts the Fashion-MNIST CNN by 2–4 points); on a
        few dozen steps it halves the mean rate and underfits.
    seed : int
        Seed of the initialisation, the shuffling and the injected errors.
    validation : tuple of (array_like, array_like), optional
        Held-out images and labels (e.g. the last training images, never trained on) on which
        the exported network is scored too, to choose settings such as ``threshold`` without
        looking at the test set.
    score_train : bool
        Score the exported network on the training images (``train_accuracy``); ``False``
        skips it (``train_accuracy`` is None), which saves a pass of numpy inference over the
        whole training set (on the Fashion-MNIST CNN as long as the training itself).
    log : callable, optional
        Called with one line per epoch.

    Returns
    -------
    Network
        The exported network (weights ``scale_o · t_o``, biases from batch normalisation).
    dict
        Metadata: the arguments, ``alphabet``, per-layer ``sparsity`` (fraction of zeros),
        ``train_accuracy`` and ``test_accuracy`` (numpy, exported network, error-free reads),
        with ``validation``: ``validation_accuracy`` and ``n_validation_images``,
        ``training_seconds``, versions.
    """
    torch = _import_torch("train_quantized")
    one_of(alphabet, "alphabet", (*ENCODINGS, "float"))
    if alphabet == "float" and errors is not None:
        raise SnnRramError("errors: a float network has no read errors to inject")
    hidden, conv = _int_list(hidden, "hidden"), _int_list(conv, "conv")
    threshold = as_scalar(threshold, "threshold", nonnegative=True)
    lr = as_scalar(lr, "lr", positive=True)
    one_of(lr_schedule, "lr_schedule", LR_SCHEDULES)
    epochs = as_int(epochs, "epochs", 0)
    batch_size = as_int(batch_size, "batch_size", 1)
    if errors is not None and not isinstance(errors, ReadErrors):
        raise SnnRramError(f"errors: expected ReadErrors or None, got {type(errors).__name__}")
    input_shape = tuple(int(s) for s in input_shape)
    x_train, y_train = _checked_data(train_x, train_y, input_shape, "train")
    x_test, y_test = _checked_data(test_x, test_y, input_shape, "test")
    if validation is not None:
        if not isinstance(validation, tuple | list) or len(validation) != 2:
            raise SnnRramError(
                f"validation: expected a pair (images, labels) or None, got {type(validation)}"
            )
        x_val, y_val = _checked_data(*validation, input_shape, "validation")
    plan = _architecture(input_shape, hidden, conv, n_classes)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    functional = torch.nn.functional

    weights, bn = [], []
    for step in plan:
        if step[0] in ("conv", "dense"):
            fan_in = step[1] * (9 if step[0] == "conv" else 1)
            shape = (step[2], step[1], 3, 3) if step[0] == "conv" else (step[2], step[1])
            bound = 1.0 / math.sqrt(fan_in)
            weights.append(torch.empty(shape).uniform_(-bound, bound, generator=gen))
            bn.append(
                {
                    "gamma": torch.ones(step[2]),
                    "beta": torch.zeros(step[2]),
                    "mean": torch.zeros(step[2]),
                    "var": torch.ones(step[2]),
                }
            )
    params = [w.requires_grad_() for w in weights]
    if batchnorm:
        params += [p.requires_grad_() for b in bn for p in (b["gamma"], b["beta"])]
    optimizer = torch.optim.Adam(params, lr=lr)
    steps = epochs * -(-x_train.shape[0] // batch_size)
    schedule = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
        if lr_schedule == "cosine"
        else None
    )

    def quantise(w):
        """Alphabet values t and the layer scale α of latent weights (no gradient)."""
        a = w.detach().abs()
        if alphabet == "float":  # the reference: the latent weights themselves
            return w.detach(), torch.ones(())
        if alphabet == "binary":
            t = torch.where(w.detach() >= 0, 1.0, -1.0)
            return t, a.mean()
        keep = a > threshold * a.mean()
        t = torch.sign(w.detach()) * keep
        alpha = a[keep].mean() if bool(keep.any()) else a.mean()
        return t, alpha

    def forward(x, training):
        k = 0
        last = len(weights) - 1
        for step in plan:
            if step[0] == "pool":
                x = functional.avg_pool2d(x, 2)
                continue
            if step[0] == "flatten":
                x = x.reshape(x.shape[0], -1)
                continue
            w = weights[k]
            t, alpha = quantise(w)
            if training and errors is not None and errors.any:
                read = errors.corrupt(t.numpy().astype(np.int8), rng)
                t = torch.from_numpy(read.astype(np.float32))
            wq = w + (alpha * t - w).detach()  # straight-through estimator
            x = functional.conv2d(x, wq, padding=1) if step[0] == "conv" else x @ wq.T
            if batchnorm:
                b = bn[k]
                x = functional.batch_norm(
                    x, b["mean"], b["var"], b["gamma"], b["beta"], training=training, eps=_BN_EPS
                )
            if k < last:
                x = torch.relu(x)
            k += 1
        return x

    xt = torch.from_numpy(x_train.astype(np.float32))
    yt = torch.from_numpy(y_train)
    n = xt.shape[0]
    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reproducible sums, and no oversubscription on small networks
    try:
        _fit(torch, forward, optimizer, schedule, weights, xt, yt, epochs, batch_size, gen, log)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - started

    layers, sparsity, k = [], [], 0
    for step in plan:
        if step[0] == "pool":
            layers.append(AvgPool2d(2))
            continue
        if step[0] == "flatten":
            layers.append(Flatten())
            continue
        t, alpha = quantise(weights[k])
        t = t.numpy().astype(np.float64)
        scale = np.full(t.shape[0], float(alpha))
        bias = None
        if batchnorm:
            b = {key: v.detach().numpy().astype(np.float64) for key, v in bn[k].items()}
            a = b["gamma"] / np.sqrt(b["var"] + _BN_EPS)
            bias = b["beta"] - a * b["mean"]
            scale = scale * a
        shape = (-1,) + (1,) * (t.ndim - 1)
        weight = scale.reshape(shape) * t
        layer_cls = Conv2d if step[0] == "conv" else Dense
        extra = {"padding": 1} if step[0] == "conv" else {}
        layers.append(layer_cls(weight, bias, **extra))
        sparsity.append(float((t == 0).mean()) if alphabet != "float" else 0.0)
        if k < len(weights) - 1:
            layers.append(ReLU())
        k += 1
    name = (
        f"{alphabet}_"
        + ("cnn" if conv else "mlp")
        + "_"
        + "_".join(str(v) for v in (*conv, *hidden, n_classes))
    )
    network = Network(layers, input_shape, name=name)
    meta = {
        "recipe": "snn_rram.training.train_quantized",
        "alphabet": alphabet,
        "hidden": list(hidden),
        "conv": list(conv),
        "threshold": threshold,
        "batchnorm": batchnorm,
        "errors": None if errors is None else vars(errors).copy(),
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "lr_schedule": lr_schedule,
        "seed": seed,
        "sparsity": sparsity,
        "train_accuracy": _accuracy(network, x_train, y_train) if score_train else None,
        "test_accuracy": _accuracy(network, x_test, y_test),
        "n_train_images": int(n),
        "n_test_images": int(x_test.shape[0]),
        "training_seconds": seconds,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    if validation is not None:
        meta["validation_accuracy"] = _accuracy(network, x_val, y_val)
        meta["n_validation_images"] = int(x_val.shape[0])
    return network, meta


def _accuracy(network, x, y, chunk: int = 1000) -> float:
    """Fraction of ``x`` the network classifies as ``y``, in chunks (bounded memory)."""
    hits = sum(
        int(np.sum(network.predict(x[k : k + chunk]) == y[k : k + chunk]))
        for k in range(0, x.shape[0], chunk)
    )
    return hits / max(x.shape[0], 1)


def _fit(torch, forward, optimizer, schedule, weights, xt, yt, epochs, batch_size, gen, log):
    """Adam on the latent weights, clipped to [−1, 1] after every step."""
    functional = torch.nn.functional
    n = xt.shape[0]
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=gen)
        loss_sum = 0.0
        for first in range(0, n, batch_size):
            idx = order[first : first + batch_size]
            loss = functional.cross_entropy(forward(xt[idx], True), yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            with torch.no_grad():
                for w in weights:
                    w.clamp_(-1.0, 1.0)
            loss_sum += float(loss.detach()) * len(idx)
        if log is not None:
            log(f"epoch {epoch}/{epochs}: loss {loss_sum / n:.4f}")


# --- inference through the PCSA ----------------------------------------------------------------


@dataclass(frozen=True)
class PCSAInference:
    """Result of :func:`pcsa_inference`.

    Attributes
    ----------
    predictions : numpy.ndarray
        Predicted class per image.
    outputs : numpy.ndarray
        Last layer's outputs per image.
    n_reads : int
        Sense operations made (one per synapse and read).
    read_energy : float
        Supply energy of those sense operations, in J.
    """

    predictions: np.ndarray
    outputs: np.ndarray
    n_reads: int
    read_energy: float

    def accuracy(self, labels) -> float:
        """Fraction of images classified as ``labels``."""
        labels = np.asarray(labels)
        if labels.shape != self.predictions.shape:
            raise SnnRramError(
                f"labels: expected shape {self.predictions.shape}, got {labels.shape}"
            )
        return float(np.mean(self.predictions == labels))


def _layer_with(layer, weight):
    if isinstance(layer, Conv2d):
        return Conv2d(weight, layer.bias, stride=layer.stride, padding=layer.padding)
    return Dense(weight, layer.bias)


def pcsa_inference(
    network: Network,
    x,
    pcsa: PCSA,
    cells: TwoStateCells,
    rng,
    *,
    reads: str = "once",
    batch_size: int = 100,
) -> PCSAInference:
    """Run a binary/ternary network with every weight read through a PCSA model.

    Parameters
    ----------
    network : Network
        A network whose weight layers split into alphabet values and row scales
        (:func:`split_alphabet`), e.g. from :func:`train_quantized`.
    x : array_like
        Inputs, shape ``(n, *network.input_shape)`` or ``(n, features)``.
    pcsa : PCSA
        The sense amplifier.
    cells : TwoStateCells
        The LRS/HRS distributions the weights are programmed onto (one draw per device).
    rng : int or numpy.random.Generator
        Seed of programming and reads.
    reads : {"once", "per_image"}
        Sense every synapse once for the whole run, or afresh for every image.
    batch_size : int
        Images per vectorised step with ``reads="per_image"``.

    Returns
    -------
    PCSAInference
    """
    if not isinstance(pcsa, PCSA):
        raise SnnRramError(f"pcsa: expected a PCSA, got {type(pcsa).__name__}")
    x, rng = _checked_run(network, x, rng, reads)
    programmed = {}
    for layer in network.layers:
        if layer.has_weights:
            t, scale = split_alphabet(layer)
            programmed[layer.name] = (program_2t2r(t, cells, rng), scale)

    def sense(name, batch):
        (g_bl, g_blb), scale = programmed[name]
        shape = (*batch, *g_bl.shape)
        g_bl, g_blb = np.broadcast_to(g_bl, shape), np.broadcast_to(g_blb, shape)
        q, energy = pcsa.read(g_bl, g_blb, rng, return_energy=True)
        return q, scale, float(energy.sum())

    return _run(network, x, sense, reads, batch_size)


def errors_inference(
    network: Network, x, errors: ReadErrors, rng, *, reads: str = "once", batch_size: int = 100
) -> PCSAInference:
    """Run a binary/ternary network whose weight reads fail with given probabilities.

    As :func:`pcsa_inference`, with the outcome of each read drawn from ``errors`` instead of
    the circuit (the papers' bit-error injection at inference); ``read_energy`` is 0.
    """
    if not isinstance(errors, ReadErrors):
        raise SnnRramError(f"errors: expected ReadErrors, got {type(errors).__name__}")
    x, rng = _checked_run(network, x, rng, reads)
    split = {layer.name: split_alphabet(layer) for layer in network.layers if layer.has_weights}

    def sense(name, batch):
        t, scale = split[name]
        return errors.corrupt(np.broadcast_to(t, (*batch, *t.shape)), rng), scale, 0.0

    return _run(network, x, sense, reads, batch_size)


def _checked_run(network, x, rng, reads):
    if not isinstance(network, Network):
        raise SnnRramError(f"network: expected an snn_rram.ann.Network, got {type(network)}")
    one_of(reads, "reads", ("once", "per_image"))
    x = as_array(x, "x")
    try:
        x = x.reshape((x.shape[0], *network.input_shape))
    except (ValueError, IndexError):
        raise SnnRramError(
            f"x: shape {x.shape} does not hold inputs of shape {network.input_shape}"
        ) from None
    return x, as_rng(rng)


def _run(network, x, sense, reads, batch_size) -> PCSAInference:
    """The forward pass with weights ``scale · q`` where ``sense(name, batch)`` gives q."""
    n_reads, energy = 0, 0.0

    def weights(layer, batch):
        nonlocal n_reads, energy
        q, scale, e = sense(layer.name, batch)
        n_reads, energy = n_reads + q.size, energy + e
        return scale.reshape((-1,) + (1,) * (q.ndim - 1 - len(batch))) * q

    if reads == "once":
        layers = [
            _layer_with(layer, weights(layer, ())) if layer.has_weights else layer
            for layer in network.layers
        ]
        outputs = Network(layers, network.input_shape).forward(x)
    else:
        parts = []
        for first in range(0, x.shape[0], batch_size):
            h = x[first : first + batch_size]
            for layer in network.layers:
                if layer.has_weights:
                    h = _per_image_forward(layer, h, weights(layer, (h.shape[0],)))
                else:
                    h = layer.forward(h)
            parts.append(h)
        outputs = np.concatenate(parts)
    return PCSAInference(outputs.argmax(axis=1), outputs, n_reads, energy)


def _per_image_forward(layer, x, weight):
    """A weight layer applied to each image with its own weights ``weight[b]``."""
    if isinstance(layer, Dense):
        y = np.einsum("bi,boi->bo", x, weight)
    else:
        pt, pb, pl, pr = layer.padding
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        kh, kw = weight.shape[-2:]
        sh, sw = layer.stride
        win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
        win = win[:, :, ::sh, ::sw]
        y = np.einsum("bchwij,bocij->bohw", win, weight, optimize=True)
    if layer.bias is not None:
        y = y + layer.bias.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y
