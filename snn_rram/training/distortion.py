"""Training for the passive array's static read distortion (papers 1 × 2).

The idea
--------
Paper 2 (Kim et al., ACM JETC 14(2) 2018) reconstructs the network for the crossbar instead of
tuning the crossbar to the network: train with the device's transfer in the forward pass. Paper 1
(Park et al., IEEE Access 12, 2024) shows that spike reads of a passive array distort the weights
(voltage division with the neuron input: each column's gain falls with its load, the device's
I–V bends at the column voltage). This module carries paper 2's idea to paper 1's setting: a
float network is fine-tuned with the weights **its mapping will actually realise** in the forward
pass, so that mapped with a plain method (``linear_pair``) it needs neither QWSM nor a calibrated
periphery.

Our reconstruction (every free choice a parameter of :func:`train_distortion_aware`)
------------------------------------------------------------------------------------
- Hardware in the loop, with snn-rram's own models: every ``refresh`` steps the current float
  network is converted as the pipeline converts it (:func:`snn_rram.ann.convert`, per-layer
  normalisation on calibration images), each layer is mapped with the chosen method onto the
  device and circuit, and the **effective weights** of the mapping (each input's rows read alone,
  :meth:`Crossbar.static_gain`: column loads, R_N and the device's I–V included) are brought
  back to the network's units (``× λ_l / λ_{l−1}`` for weights, ``× λ_l`` for biases).
- The forward pass uses those effective weights; the backward pass is the straight-through
  estimator (the gradient of the effective weight is taken as that of the float one), as in
  quantisation-aware training. Adam on the float weights, cross-entropy.
- So the network's rate model at the end is exactly the pipeline's ``quantized_accuracy`` model
  for the same config (a test holds them equal).
- Scope: networks of Dense and ReLU layers (MLPs), the bundled network's kind. For unrolled
  convolutions each output position has its own column gain, which a weight-shared kernel
  cannot express; they are refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_array, as_int, as_scalar
from snn_rram.ann.convert import convert
from snn_rram.ann.layers import Dense, ReLU
from snn_rram.ann.network import Network
from snn_rram.ann.train import _import_torch
from snn_rram.crossbar import Circuit
from snn_rram.devices import Device
from snn_rram.errors import SnnRramError
from snn_rram.mapping import registry
from snn_rram.training._distill import check_distill, distillation_loss, teacher_log_probs

__all__ = ["effective_network", "train_distortion_aware"]


def _check_mlp(network) -> None:
    if not isinstance(network, Network):
        raise SnnRramError(f"network: expected an snn_rram.ann.Network, got {type(network)}")
    for layer in network.layers:
        if not isinstance(layer, Dense | ReLU):
            raise SnnRramError(
                f"network.{layer.name}: distortion-aware training takes Dense and ReLU layers "
                f"only (MLPs), got {layer.kind}"
            )


def effective_network(
    network: Network,
    calibration_x,
    device: Device,
    circuit: Circuit,
    *,
    bits: int,
    method: str = "linear_pair",
    options: Mapping | None = None,
    bias_duty: float = 1.0,
    percentile: float = 99.9,
    seed: int = 0,
) -> tuple[Network, list]:
    """The network as its mapped crossbars realise it, in the network's own units.

    Parameters
    ----------
    network : Network
        A ReLU MLP (Dense and ReLU layers).
    calibration_x : array_like
        Images in [0, 1] for the conversion's per-layer scales.
    device, circuit : Device, Circuit
        The array.
    bits : int
        Quantisation bits of the mapping.
    method : str
        A registered mapping method (:func:`snn_rram.mapping.available`).
    options : mapping, optional
        Extra keyword arguments of the method.
    bias_duty : float
        As the pipeline passes it (``max_rate · pulse_width``).
    percentile : float
        The conversion's activation percentile.
    seed : int
        Seed of the programming variation (the same draws at every call).

    Returns
    -------
    Network
        Same layers, with the effective weights and biases (``× λ_l / λ_{l−1}``, ``× λ_l``).
    list of snn_rram.mapping.Mapping
        The mappings, one per weight layer.
    """
    _check_mlp(network)
    mapper = registry.get(method)
    converted = convert(network, calibration_x, percentile=percentile)
    rng = np.random.default_rng(seed)
    mappings, layers, k, scale_in = [], [], 0, 1.0
    for layer in network.layers:
        if isinstance(layer, ReLU):
            layers.append(ReLU(name=layer.name))
            continue
        conv = converted.layers[k]
        m = mapper(
            conv.weight,
            device,
            circuit,
            bits=bits,
            bias=conv.bias,
            bias_duty=bias_duty,
            seed=rng,
            **dict(options or {}),
        )
        mappings.append(m)
        eff = (
            m.effective_weight.toarray() if sp.issparse(m.effective_weight) else m.effective_weight
        )
        weight = np.asarray(eff, dtype=np.float64) * (conv.scale / scale_in)
        bias = None
        if layer.bias is not None:
            eff_b = m.effective_bias if m.effective_bias is not None else np.zeros(conv.n_outputs)
            bias = np.asarray(eff_b, dtype=np.float64) * conv.scale
        layers.append(Dense(weight, bias, name=layer.name))
        scale_in, k = conv.scale, k + 1
    return Network(layers, network.input_shape, name=network.name), mappings


def train_distortion_aware(
    network: Network,
    train_x,
    train_y,
    test_x,
    test_y,
    *,
    device: Device,
    circuit: Circuit,
    bits: int,
    method: str = "linear_pair",
    options: Mapping | None = None,
    bias_duty: float = 1.0,
    percentile: float = 99.9,
    n_calibration: int = 500,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 1e-4,
    refresh: int = 1,
    distill: float = 0.0,
    temperature: float = 4.0,
    seed: int = 0,
    log: Callable[[str], object] | None = None,
) -> tuple[Network, dict]:
    """Fine-tune a float MLP with the weights its mapped crossbars realise in the forward pass.

    Parameters
    ----------
    network : Network
        The float network to start from (Dense and ReLU layers).
    train_x, train_y, test_x, test_y : array_like
        Images in [0, 1] (``(n, features)``) and labels.
    device, circuit, bits, method, options, bias_duty, percentile
        The hardware and mapping, as in a run config (see :func:`effective_network`).
    n_calibration : int
        Training images used for the conversion's scales (the first ones).
    epochs, batch_size, lr : int, int, float
        Adam on the float weights.
    refresh : int
        Steps between two mappings of the current weights (1: every step, exact; larger is
        faster, with effective weights up to ``refresh − 1`` steps old).
    distill : float
        Weight α ∈ [0, 1] of knowledge distillation from the starting network (the teacher):
        the loss is ``(1 − α)·CE(labels) + α·T²·KL(softmax(teacher/T) ‖ softmax(student/T))``
        (Hinton et al. 2015). The starting network was trained in float, often on more data
        than the fine-tuning set; distillation keeps what it learned while the weights move to
        absorb the distortion. 0 (default): labels only.
    temperature : float
        Softening temperature ``T`` of the distillation (used when ``distill > 0``).
    seed : int
        Seed of the shuffling and of the programming variation.
    log : callable, optional
        Called with one line per epoch.

    Returns
    -------
    Network
        The fine-tuned float network (map it with ``method`` as usual).
    dict
        Metadata: the arguments, ``float_accuracy`` and ``effective_accuracy`` (test images,
        before and after), ``mapping_seconds``, ``training_seconds``.
    """
    torch = _import_torch("train_distortion_aware")
    _check_mlp(network)
    if not isinstance(device, Device) or not isinstance(circuit, Circuit):
        raise SnnRramError("device, circuit: expected a snn_rram Device and Circuit")
    epochs = as_int(epochs, "epochs", 0)
    batch_size = as_int(batch_size, "batch_size", 1)
    refresh = as_int(refresh, "refresh", 1)
    n_calibration = as_int(n_calibration, "n_calibration", 1)
    lr = as_scalar(lr, "lr", positive=True)
    distill, temperature = check_distill(distill, temperature)
    x_train = as_array(train_x, "train_x").reshape(len(train_x), -1)
    x_test = as_array(test_x, "test_x").reshape(len(test_x), -1)
    y_train, y_test = np.asarray(train_y), np.asarray(test_y)
    if y_train.shape != (x_train.shape[0],):
        raise SnnRramError(f"train_y: expected {x_train.shape[0]} labels, got {y_train.shape}")
    calib = x_train[:n_calibration]

    def mapped(net):
        return effective_network(
            net,
            calib,
            device,
            circuit,
            bits=bits,
            method=method,
            options=options,
            bias_duty=bias_duty,
            percentile=percentile,
            seed=seed,
        )[0]

    def accuracy(net):
        return float(np.mean(net.predict(x_test) == y_test))

    dense = [layer for layer in network.layers if isinstance(layer, Dense)]
    weights = [torch.tensor(d.weight, dtype=torch.float64, requires_grad=True) for d in dense]
    biases = [
        None if d.bias is None else torch.tensor(d.bias, dtype=torch.float64, requires_grad=True)
        for d in dense
    ]
    params = weights + [b for b in biases if b is not None]
    optimizer = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(seed)

    def current():
        layers = []
        for layer in network.layers:
            if isinstance(layer, Dense):
                k = sum(isinstance(x, Dense) for x in layers)
                b = biases[k]
                layers.append(
                    Dense(
                        weights[k].detach().numpy().copy(),
                        None if b is None else b.detach().numpy().copy(),
                        name=layer.name,
                    )
                )
            else:
                layers.append(ReLU(name=layer.name))
        return Network(layers, network.input_shape, name=network.name)

    before = accuracy(mapped(network))
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train.astype(np.int64))
    teacher = None
    if distill > 0:
        teacher = teacher_log_probs(torch, network, x_train, temperature)
    n, step, mapping_s = xt.shape[0], 0, 0.0
    started = time.perf_counter()
    effective = None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for epoch in range(1, epochs + 1):
            order = torch.randperm(n, generator=gen)
            loss_sum = 0.0
            for first in range(0, n, batch_size):
                if step % refresh == 0:
                    t = time.perf_counter()
                    effective = mapped(current())
                    mapping_s += time.perf_counter() - t
                idx = order[first : first + batch_size]
                h = xt[idx]
                k = 0
                for layer, eff in zip(network.layers, effective.layers, strict=True):
                    if isinstance(layer, ReLU):
                        h = torch.relu(h)
                        continue
                    w = weights[k]
                    w_used = w + (torch.tensor(eff.weight) - w).detach()
                    h = h @ w_used.T
                    if biases[k] is not None:
                        b = biases[k]
                        h = h + b + (torch.tensor(eff.bias) - b).detach()
                    k += 1
                loss = distillation_loss(
                    torch,
                    h,
                    yt[idx],
                    None if teacher is None else teacher[idx],
                    distill=distill,
                    temperature=temperature,
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                loss_sum += float(loss.detach()) * len(idx)
                step += 1
            if log is not None:
                log(f"epoch {epoch}/{epochs}: loss {loss_sum / n:.4f}")
    finally:
        torch.set_num_threads(threads)
    trained = current()
    after = accuracy(mapped(trained))
    meta = {
        "recipe": "snn_rram.training.train_distortion_aware",
        "device": device.name,
        "v_read": circuit.v_read,
        "r_neuron": float(np.max(circuit.r_neuron)),
        "inactive_rows": circuit.inactive_rows,
        "bits": bits,
        "method": method,
        "options": dict(options or {}),
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "refresh": refresh,
        "distill": distill,
        "temperature": temperature,
        "seed": seed,
        "effective_accuracy_before": before,
        "effective_accuracy": after,
        "float_accuracy": accuracy(trained),
        "mapping_seconds": mapping_s,
        "training_seconds": time.perf_counter() - started,
        "steps": step,
    }
    if not math.isfinite(meta["float_accuracy"]):
        raise SnnRramError("training diverged: the network's outputs are not finite")
    return trained, meta
