"""Training for the device: the paper-2 recipe (networks reconstructed for the crossbar).

What is paper 2
---------------
H. Kim, T. Kim, J. Kim, J.-J. Kim, "Deep Neural Network Optimized to Resistive Memory with
Nonlinear Current-Voltage Characteristics", ACM JETC 14(2), 2018 (arXiv:1703.10642;
PAPERS.md §2). Its claim: the nonlinear I–V of RRAM restrains the read voltage and the weight
range and costs accuracy when a network trained in software is mapped onto the array; instead
of tuning the hardware to the network, **reconstruct the network for the crossbar**: train it
with the device's actual transfer in the forward pass (inputs applied as read voltages, each
cell's current ``G · f(V)``, weights as conductances within the device's range) and ordinary
backpropagation, which gives much higher accuracy than the conventional network on devices
with a nonlinear I–V, for two device models.

What is our reconstruction (every free choice a parameter of :func:`train_device_aware`)
----------------------------------------------------------------------------------------
- The setting is amplitude-coded analog inference as :class:`snn_rram.analog.AnalogNetwork`
  does it: layer ``l`` drives the row of input ``i`` at ``V_i = v_read · a_i`` (``a_i`` in
  [0, 1], an ideal row DAC that clips), an optional bias row at ``bias_voltage``; a neuron's
  current is ``I = I+ − I−`` of a differential pair of columns; the sensed output is
  ``s_l · I`` with a per-layer sense gain ``s_l`` (1/A), then the ReLU, and the next layer's
  DAC clips at full scale (so hidden activations live in [0, 1]). The forward pass in torch
  (:func:`crossbar_current`) is the same physics as :meth:`snn_rram.crossbar.Crossbar.read`
  with ``row_voltage``, and a trained network converts to an ``AnalogNetwork`` on exactly the
  conductances it was trained with (:meth:`DeviceAwareNetwork.analog_args`); the tests hold the
  two forward passes equal (1e-12 in float64).
- Device law: separable read models ``I = G · f(V)`` (snn-rram's ``linear`` and ``sinh``; the
  column sums of sinh cells reduce to ``Σ G sinh(bV)`` and ``Σ G cosh(bV)`` by the addition
  theorem, as in :func:`snn_rram.crossbar.columns.solve_driven`) and the G-dependent,
  non-separable ``polynomial`` model ``I = G·V + a2(G)·V² + a3(G)·V³`` (``a2``, ``a3``
  polynomials in ``log10 G``: the nonlinearity differs from cell to cell with its
  conductance, so no per-layer gain can undo it). At a virtual ground a polynomial column is
  three column sums, ``Σ G V + Σ a2(G) V² + Σ a3(G) V³``, differentiable in G through
  ``a2`` and ``a3``; with a column voltage ``x`` the cells' currents at ``V − x`` expand into
  a cubic in ``x`` whose coefficients are nine column sums. Other read models (tabulated)
  are refused, as are polynomial ones whose I–V is not increasing over ±``v_read`` at every
  conductance of the range.
- Neuron input resistance ``R_N > 0``: every column's voltage ``x`` solves KCL
  ``R_N · Σ_i I(G_i, V_i − x) = x`` inside the forward pass (safeguarded Newton in float64
  without gradient), and the gradient is the implicit-function one
  (``dx/dθ = −(∂h/∂θ) / (∂h/∂x)`` at the root, one Newton correction whose value is zero).
  ``R_N = 0`` is an ideal virtual ground (``I = Σ I(G, V)``).
- Weights: a trainable ``w`` in [−1, 1] per synapse (clipped to [−1, 1] after every Adam step)
  is the fraction of the device's conductance range ``Δg = g_max − g_min`` a pair realises:
  ``pair="one_sided"`` (as ``linear_pair``: ``G+ = g_min + Δg·max(w, 0)``,
  ``G− = g_min + Δg·max(−w, 0)``) or ``pair="symmetric"`` (``G± = g_mid ± Δg·w / 2``, a
  constant column load). ``snap=True`` puts the conductances on the device's programmable
  levels in the forward pass (straight-through gradient), so the trained network is exactly
  what can be programmed.
- Sense gain: ``s_l = exp(σ_l)`` per layer, trained with the weights, initialised on the first
  training batch: a hidden layer's ``init_percentile`` percentile of outputs at ``init_level``
  of full scale (default 1: at full scale, as :func:`snn_rram.ann.convert` normalises; lower
  values start the hidden rows in the milder part of a nonlinear I–V), the output layer's
  standard deviation ``init_std`` (or that of the float network's logits when starting from
  one). The log gains have their own learning rate ``gain_lr``.
- Start: from scratch (weights uniform in ``±init_range``) or from a float network
  (``init_network``, e.g. the conventional one: each layer's weights divided by its largest
  absolute weight, so the pairs span the device's range), which then is fine-tuned on the
  device (a free choice of ours; the paper trains the reconstructed network).
- Loss and optimiser as the bundled network's recipe (:func:`snn_rram.ann.train.train_mlp`):
  Adam, cross-entropy with label smoothing, batch 64; no augmentation. Optionally (``distill``,
  ``temperature``; ours, not the paper's) knowledge distillation from the starting float
  network (Hinton et al. 2015), the same loss as the papers-1 × 2 recipe
  (:mod:`snn_rram.training._distill`).
- The conventional baseline (not here: studies/paper2_analog_study.py) is the same
  architecture trained in float (:func:`snn_rram.ann.train.train_mlp`) and mapped with the
  existing methods (:meth:`snn_rram.analog.AnalogNetwork.from_network`, optionally with its
  per-layer :meth:`~snn_rram.analog.AnalogNetwork.calibrate`).
- Layers: dense and convolutional, with ReLU between them and average pooling (windows that
  tile the map) folded into the next layer — the networks :func:`snn_rram.ann.convert` maps,
  e.g. LeNet-5. A convolution is one crossbar unrolled as ``ann.convert`` unrolls it (the
  kernel's pairs at every output position, no cells for taps in the zero padding): the device
  law bends every row voltage elementwise, one ``conv2d`` over the batch sums every column's
  cells, and with R_N > 0 every (position, channel) column has its own Newton solve, batched.
  Folded pooling makes the rows the pooling's inputs, each window's cells carrying its pooled
  feature's pair (a sum; the mean's 1/area goes into the gain). See
  :mod:`snn_rram.training._geometry`. Programming variation and read noise are not in the
  training forward pass (an ``AnalogNetwork`` made from the trained conductances can add them
  at inference).

Saved networks (:meth:`DeviceAwareNetwork.save`) are a native ``.npz``
(:func:`snn_rram.ann.save`, readable by :func:`snn_rram.ann.load`, whose Dense weights are the
nominal weights an ideal linear read gives: ``W̃ = s_l · v_read · (G+ − G−)``) and a ``.toml``
sidecar with the recipe, the device card, the circuit, the per-layer gains and the training
metadata; :func:`load_device_aware` reads both back.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rram._io import file_sha256, write_toml
from snn_rram._validation import as_array, as_int, as_scalar, one_of, read_toml
from snn_rram.ann.convert import ConvertedLayer, ConvertedNetwork
from snn_rram.ann.layers import AvgPool2d, Conv2d, Dense, Flatten, ReLU
from snn_rram.ann.native import save as save_network
from snn_rram.ann.network import Network
from snn_rram.ann.train import _import_torch, _plain, weights_sha256
from snn_rram.crossbar import Circuit
from snn_rram.devices import Device
from snn_rram.devices.iv import Linear, Polynomial, Sinh
from snn_rram.errors import SnnRramError
from snn_rram.mapping.base import Mapping, differential_crossbar
from snn_rram.training._distill import check_distill, distillation_loss, teacher_log_probs
from snn_rram.training._geometry import Geometry, plan_mlp, plan_network

__all__ = [
    "PAIRS",
    "DeviceAwareLayer",
    "DeviceAwareNetwork",
    "crossbar_current",
    "load_device_aware",
    "train_device_aware",
]

#: How a weight in [−1, 1] becomes a (G+, G−) pair (see the module docstring).
PAIRS = ("one_sided", "symmetric")
#: Recipe name recorded in the provenance sidecar.
RECIPE = "snn_rram.training.device_aware (paper 2: Kim et al., ACM JETC 14(2) 2018)"
#: Newton iterations at most in the column solve of the forward pass.
MAX_ITER = 60
_KIND = "device_aware_network"


def _check_device(device, circuit) -> None:
    if not isinstance(device, Device):
        raise SnnRramError(f"device: expected an snn_rram.devices.Device, got {device!r}")
    if not isinstance(circuit, Circuit):
        raise SnnRramError(f"circuit: expected an snn_rram.crossbar.Circuit, got {circuit!r}")
    model = device.read_model
    if not isinstance(model, Linear | Sinh | Polynomial):
        raise SnnRramError(
            f"device {device.name!r}: device.read_model: device-aware training takes the read "
            f"models linear, sinh and polynomial, got {model!r}"
        )
    if isinstance(model, Polynomial):
        # the column solve needs an increasing I–V over every conductance the weights can take
        # (between the levels too, unless snapped) and every cell voltage of a read (|V| ≤ v_read)
        lv = device.levels
        lo = lv.g_min if lv.g_min > 0 else float(np.min(np.asarray(lv.values)[lv.values > 0]))
        grid = np.concatenate([np.geomspace(lo, lv.g_max, 257), np.asarray(lv.values)])
        model.check_monotone(grid, circuit.v_read, name=f"device {device.name!r}")
    if circuit.has_wires:
        raise SnnRramError(
            "circuit: device-aware training solves the columns of an array without wire "
            f"resistance, got r_wire_row={circuit.r_wire_row}, r_wire_col={circuit.r_wire_col} "
            "(analog reads drive every row, so inactive_rows does not matter)"
        )


def pair_conductances(w, g_min: float, g_max: float, pair: str, xp=np):
    """(G+, G−) of weights ``w`` in [−1, 1], S (numpy or torch arrays, as ``xp``)."""
    dg = g_max - g_min
    if pair == "one_sided":
        relu = np.maximum if xp is np else (lambda a, _b: a.clamp(min=0))
        return g_min + dg * relu(w, 0.0), g_min + dg * relu(-w, 0.0)
    mid = 0.5 * (g_min + g_max)
    return mid + 0.5 * dg * w, mid - 0.5 * dg * w


# -- the differentiable crossbar read (torch) -----------------------------------------------


def _newton_root(torch, h_and_dh, x0, lo, hi):
    """Column voltage x with ``h(x) = 0``, float64, no gradient.

    Safeguarded Newton on the bracket [lo, hi] (``h`` is decreasing in x: an increasing I–V),
    vectorised over every column of every read, as
    :func:`snn_rram.crossbar.columns.solve_driven`; ``h_and_dh(x)`` gives ``h`` and ``h'``.
    """
    eps = 4 * np.finfo(np.float64).eps
    atol = eps * torch.maximum(-lo, hi)
    x = torch.clamp(x0, lo, hi)
    for _ in range(MAX_ITER):
        h, dh = h_and_dh(x)
        lo = torch.where(h > 0, x, lo)
        hi = torch.where(h < 0, x, hi)
        step = -h / dh
        new = x + step
        outside = (new < lo) | (new > hi)
        done = (step.abs() <= eps * x.abs() + atol) | (h == 0)
        x = torch.where(outside & ~done, 0.5 * (lo + hi), new)
        if bool(done.all()):
            break
    return x


class _Cells:
    """Column sums of per-row quantities over the cells of one side of a layer (torch).

    ``terms`` are ``(sign, G)`` pairs of weight-shaped conductances (one side: ``((1, G),)``;
    a virtual ground's pair: ``((1, G+), (−1, G−))``), ``bias_terms`` likewise for the bias
    row's cells (or None). :meth:`sum` gives ``Σ_i c(G_ji) φ_i`` over every neuron j's cells
    for a per-cell coefficient law ``c`` (default ``c(G) = G``), plus ``φ_b · c(G_b)`` of
    its bias cell; each law's coefficients are computed once.
    """

    def __init__(self, torch, geometry, terms, bias_terms):
        self.torch, self.geometry = torch, geometry
        self.terms, self.bias_terms = terms, bias_terms
        self._cache = {}

    def _coefficients(self, law):
        if law not in self._cache:
            f = (lambda g: g) if law is None else law

            def combine(terms):
                return None if terms is None else sum(sign * f(g) for sign, g in terms)

            self._cache[law] = (combine(self.terms), combine(self.bias_terms))
        return self._cache[law]

    def sum(self, phi, phi_b=None, law=None):
        """``Σ_i c(G_ji) φ_i (+ φ_b c(G_bj))``, shaped ``(n, *out_shape)``.

        ``phi`` is per row (shaped as the row voltages), ``phi_b`` a float for the bias row's
        cells (None: no bias row or not wanted).
        """
        g, gb = self._coefficients(law)
        s = self.geometry.colsum(self.torch, phi, g)
        if phi_b is None or gb is None:
            return s
        return s + phi_b * self.geometry.per_channel(gb)


def _polynomial_coefficient(torch, coeffs):
    """``c(G) = Σ_k c_k (log10 G)^k`` in torch (0 where G ≤ 0: no device), as Polynomial."""
    values = [float(c) for c in coeffs]

    def law(g):
        pos = g > 0
        x = torch.log10(torch.where(pos, g, torch.ones_like(g)))
        out = torch.full_like(g, values[-1])
        for c in values[-2::-1]:
            out = out * x + c
        return torch.where(pos, out, torch.zeros_like(g))

    return law


def _column_law(torch, model, cells, V, Vb, need_x: bool):
    """The neuron current of every column as a function of its column voltage ``x``.

    Returns ``(at_zero, law)``: the current with the column at 0 V (a virtual ground),
    differentiable, and — when ``need_x`` — ``law(x, grad)`` giving ``(P(x), P'(x))``, the
    column's cell current ``Σ_i I(G_i, V_i − x)`` and its x-derivative from column sums
    (``grad=False``: on float64 copies of the sums without gradient, for the Newton solve).
    Separable sinh cells reduce to ``Σ G sinh(bV)`` and ``Σ G cosh(bV)`` (addition theorem);
    polynomial cells ``I = G·u + a2(G)·u² + a3(G)·u³`` at ``u = V − x`` expand into a cubic
    in x whose coefficients are the nine sums ``Σ G·{1, V}``, ``Σ a2(G)·{1, V, V²}``,
    ``Σ a3(G)·{1, V, V², V³}``.
    """

    def freeze(sums):
        return [s.detach().to(torch.float64) for s in sums]

    if isinstance(model, Sinh):
        b = model.b
        vb = None if Vb is None else (math.sinh(b * Vb), math.cosh(b * Vb))
        S = cells.sum(torch.sinh(b * V), None if vb is None else vb[0])
        if not need_x:
            return S / b, None
        C = cells.sum(torch.cosh(b * V), None if vb is None else vb[1])
        frozen = freeze((S, C))

        def law(x, grad=True):
            s, c = (S, C) if grad else frozen
            sh, ch = torch.sinh(b * x), torch.cosh(b * x)
            return (ch * s - sh * c) / b, sh * s - ch * c

        return S / b, law
    # polynomial: powers of the row voltages, the bias row's as floats
    a2 = _polynomial_coefficient(torch, model.a2)
    a3 = _polynomial_coefficient(torch, model.a3)
    V2, V3 = V * V, V * V * V
    vb = (None,) * 4 if Vb is None else (1.0, Vb, Vb * Vb, Vb**3)
    gv, a2v2, a3v3 = cells.sum(V, vb[1]), cells.sum(V2, vb[2], a2), cells.sum(V3, vb[3], a3)
    at_zero = gv + a2v2 + a3v3
    if not need_x:
        return at_zero, None
    ones = torch.ones_like(V)
    c1 = -(cells.sum(ones, vb[0]) + 2 * cells.sum(V, vb[1], a2) + 3 * cells.sum(V2, vb[2], a3))
    c2 = cells.sum(ones, vb[0], a2) + 3 * cells.sum(V, vb[1], a3)
    c3 = -cells.sum(ones, vb[0], a3)
    frozen = freeze((at_zero, c1, c2, c3))

    def law(x, grad=True):
        k0, k1, k2, k3 = (at_zero, c1, c2, c3) if grad else frozen
        return k0 + x * (k1 + x * (k2 + x * k3)), k1 + x * (2 * k2 + 3 * x * k3)

    return at_zero, law


def _column_currents(torch, model, cells, V, Vb, r):
    """Neuron current of every column of one side, differentiable.

    ``cells`` (:class:`_Cells`) sums per-row quantities (shaped as ``V``, the row voltages)
    over every column's cells and its bias cell; ``Vb`` is the bias row's voltage (float) or
    None, ``r`` the columns' R_N as a tensor of the per-read output shape. With R_N > 0 the
    column voltage x solves KCL ``R_N · P(x) = x`` (safeguarded Newton in float64 without
    gradient) and its gradient is the implicit-function one.
    """
    pos = r > 0
    r_safe = torch.where(pos, r, torch.ones_like(r))
    if isinstance(model, Linear):
        drive = cells.sum(V, Vb)
        if not bool(pos.any()):
            return drive
        load = cells.sum(torch.ones_like(V), None if Vb is None else 1.0)
        return drive / (1.0 + r * load)
    at_zero, law = _column_law(torch, model, cells, V, Vb, bool(pos.any()))
    if law is None:
        return at_zero
    with torch.no_grad():
        V64 = V.detach().to(torch.float64).reshape(V.shape[0], -1)
        vmax, vmin = V64.max(dim=1).values, V64.min(dim=1).values
        if Vb is not None:
            vmax, vmin = torch.clamp(vmax, min=Vb), torch.clamp(vmin, max=Vb)
        per_read = (-1,) + (1,) * (at_zero.dim() - 1)
        lo = torch.clamp(vmin, max=0.0).reshape(per_read).expand(at_zero.shape)
        hi = torch.clamp(vmax, min=0.0).reshape(per_read).expand(at_zero.shape)
        r64 = r.detach().to(torch.float64)
        p0, dp0 = law(torch.zeros((), dtype=torch.float64), grad=False)
        x0 = r64 * p0 / (1.0 - r64 * dp0)  # the linearised solution

        def h_and_dh(x):
            p, dp = law(x, grad=False)
            return r64 * p - x, r64 * dp - 1.0

        x_star = _newton_root(torch, h_and_dh, x0, lo, hi).to(at_zero.dtype)
        dh = (r * law(x_star, grad=False)[1].to(at_zero.dtype) - 1.0).detach()
    # implicit-function gradient: a Newton correction whose value is 0 but whose gradient is
    # −(∂h/∂θ) / (∂h/∂x) at the root
    h = r * law(x_star)[0] - x_star
    correction = -h / dh
    x = x_star + (correction - correction.detach())
    return torch.where(pos, x / r_safe, at_zero)


def _layer_current(
    torch, geometry, a, g_pos, g_neg, bias_pos, bias_neg, bias_voltage, device, circuit
):
    """``I+ − I−`` of a layer of the given geometry (see :func:`crossbar_current`)."""
    V = circuit.v_read * a
    Vb = None
    if bias_pos is not None:
        Vb = circuit.v_read if bias_voltage is None else float(bias_voltage)
    r = torch.as_tensor(circuit.r_neuron_for(2 * geometry.n_out), dtype=a.dtype)
    model = device.read_model

    def cells(pairs, bias_pairs):
        return _Cells(torch, geometry, pairs, None if bias_pos is None else bias_pairs)

    if not bool((r > 0).any()):
        # a virtual ground: every cell current is linear in its own coefficients (G, a2(G),
        # a3(G)), so the pair's difference is one column sum per coefficient
        zero = torch.zeros(geometry.out_shape, dtype=a.dtype)
        both = cells(((1, g_pos), (-1, g_neg)), ((1, bias_pos), (-1, bias_neg)))
        return _column_currents(torch, model, both, V, Vb, zero)
    shape = geometry.out_shape
    plus, minus = cells(((1, g_pos),), ((1, bias_pos),)), cells(((1, g_neg),), ((1, bias_neg),))
    i_pos = _column_currents(torch, model, plus, V, Vb, r[0::2].reshape(shape))
    i_neg = _column_currents(torch, model, minus, V, Vb, r[1::2].reshape(shape))
    return i_pos - i_neg


def crossbar_current(
    a,
    g_pos,
    g_neg,
    *,
    device: Device,
    circuit: Circuit,
    bias_pos=None,
    bias_neg=None,
    bias_voltage: float | None = None,
    stride=(1, 1),
    padding=(0, 0, 0, 0),
    pool=None,
):
    """Signed neuron currents ``I+ − I−`` of a differential-pair layer read with analog rows.

    Torch, differentiable in every tensor argument; the same physics as
    :meth:`snn_rram.crossbar.Crossbar.read` with ``row_voltage`` on the crossbar of
    :func:`snn_rram.mapping.differential_crossbar` (columns ``2j``, ``2j+1`` of neuron j): a
    dense layer, or a convolution unrolled as :func:`snn_rram.ann.convert` does it (the same
    read at every position: the device law bends every row's voltage elementwise, then one
    convolution over the whole batch sums the cells of every column; with R_N > 0 every
    (position, channel) column gets its own Newton solve, all at once).

    Parameters
    ----------
    a : torch.Tensor, shape (n, n_in) or (n, C, H, W)
        Normalised inputs (row ``i`` is driven at ``v_read · a_i``; not clipped here).
    g_pos, g_neg : torch.Tensor, shape (n_out, n_in) or (O, C, KH, KW)
        Conductances of the positive and negative devices, S (4-D: a convolution's kernel,
        every tap a cell at every output position; taps in the padding have none).
    device, circuit
        The read model (linear, sinh or polynomial) and ``v_read`` and ``r_neuron`` (scalar,
        or one value per physical column, 2·n_out, in the crossbar's column order; neuron j
        of a convolution is output (o, y, x) in C-order).
    bias_pos, bias_neg : torch.Tensor, shape (n_out,) or (O,), optional
        Conductances of an always-on bias row, S (a convolution's per channel).
    bias_voltage : float, optional
        Its voltage, V (default ``v_read``).
    stride, padding : convolution stride (2 ints) and zero padding (top, bottom, left, right).
    pool : (int, int), optional
        A sum pooling folded in before the layer (rows are the pooling's inputs; each cell of
        a window carries its pooled feature's weight), as ``ann.convert`` folds average
        pooling; needs a 4-D ``a`` whose map the windows tile.

    Returns
    -------
    torch.Tensor, shape (n, n_out) or (n, O, Ho, Wo)
        ``I+ − I−``, A.
    """
    torch = _import_torch("crossbar_current")
    _check_device(device, circuit)
    if g_pos.dim() == 4:
        geometry = Geometry(
            "conv", tuple(g_pos.shape), tuple(a.shape[1:]), tuple(stride), tuple(padding), pool
        )
    else:
        geometry = Geometry("dense", tuple(g_pos.shape), tuple(a.shape[1:]), pool=pool)
    return _layer_current(
        torch, geometry, a, g_pos, g_neg, bias_pos, bias_neg, bias_voltage, device, circuit
    )


# -- the trained network (numpy) -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DeviceAwareLayer:
    """One dense or convolutional layer of a :class:`DeviceAwareNetwork`.

    Attributes
    ----------
    name : str
    weight : numpy.ndarray, shape (n_out, n_in) or (O, C, KH, KW)
        Fraction of the device's conductance range of each pair, in [−1, 1] (a convolution's
        kernel: the pairs of every output position's cells).
    bias : numpy.ndarray of shape (n_out,) or (O,), or None
        Likewise for the bias row's pairs (a convolution: per output channel).
    gain : float
        Sense gain ``s_l`` from neuron current to normalised output, 1/A.
    relu : bool
        ReLU after the layer (False for the output layer).
    stride, padding : tuple of int
        A convolution's stride (2) and zero padding (top, bottom, left, right).
    pool : (int, int) or None
        Average pooling before the layer, folded in as a sum over each window's cells.
    in_shape : tuple of int
        Per-sample shape of the map the layer's rows read, before the pooling (default
        ``(n_in,)`` of a dense weight).
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray | None
    gain: float
    relu: bool
    stride: tuple = (1, 1)
    padding: tuple = (0, 0, 0, 0)
    pool: tuple | None = None
    in_shape: tuple = ()

    def __post_init__(self):
        if not self.in_shape:
            if np.ndim(self.weight) != 2:
                raise SnnRramError(f"{self.name}: a convolution needs its in_shape (C, H, W)")
            object.__setattr__(self, "in_shape", (int(np.shape(self.weight)[1]),))
        object.__setattr__(self, "in_shape", tuple(int(v) for v in self.in_shape))
        object.__setattr__(self, "stride", tuple(int(v) for v in self.stride))
        object.__setattr__(self, "padding", tuple(int(v) for v in self.padding))
        if self.pool is not None:
            object.__setattr__(self, "pool", tuple(int(v) for v in self.pool))

    @property
    def geometry(self) -> Geometry:
        """Where the layer's cells sit (rows, columns, pooling folded in)."""
        kind = "conv" if np.ndim(self.weight) == 4 else "dense"
        return Geometry(
            kind, np.shape(self.weight), self.in_shape, self.stride, self.padding, self.pool
        )


@dataclass(frozen=True, eq=False)
class DeviceAwareNetwork:
    """A network reconstructed for a device: conductance pairs, gains, device and circuit.

    Attributes
    ----------
    layers : tuple of DeviceAwareLayer
    device : Device
    circuit : Circuit
    pair : {"one_sided", "symmetric"}
    snap : bool
        Conductances on the device's programmable levels.
    bias_voltage : float or None
        Voltage of the bias rows, V (None: ``v_read``).
    input_shape : tuple of int
    name : str
    """

    layers: tuple
    device: Device
    circuit: Circuit
    pair: str = "one_sided"
    snap: bool = True
    bias_voltage: float | None = None
    input_shape: tuple = ()
    name: str = "device_aware"

    def __post_init__(self):
        _check_device(self.device, self.circuit)
        one_of(self.pair, "pair", PAIRS)
        if not self.layers:
            raise SnnRramError("layers: a network needs at least one layer")
        if not self.input_shape:
            object.__setattr__(self, "input_shape", self.layers[0].in_shape)

    @property
    def v_bias(self) -> float:
        """Voltage of the bias rows, V."""
        return self.circuit.v_read if self.bias_voltage is None else float(self.bias_voltage)

    def conductances(self, k: int):
        """``(G+, G−, bias G+, bias G−)`` of layer ``k``, S (bias ones None without bias).

        Shaped as the layer's weight and bias (a convolution: its kernel's pairs).
        """
        layer = self.layers[k]
        lv = self.device.levels
        snap = lv.snap if self.snap else (lambda g: g)
        gp, gm = pair_conductances(layer.weight, lv.g_min, lv.g_max, self.pair)
        if layer.bias is None:
            return snap(gp), snap(gm), None, None
        bp, bm = pair_conductances(layer.bias, lv.g_min, lv.g_max, self.pair)
        return snap(gp), snap(gm), snap(bp), snap(bm)

    def to_network(self) -> Network:
        """The nominal network: ideal linear reads, ``W̃ = s_l · v_read · (G+ − G−)``.

        Its :meth:`Network.forward` omits the DAC's clipping at full scale and the device law;
        the biases are ``s_l · v_bias · (G+ − G−)`` of the bias rows. A pooling folded into a
        layer is an ``AvgPool2d`` before it whose 1/area the layer's weights undo
        (``W̃ = area · s_l · v_read · (G+ − G−)``), a dense layer on a map a ``Flatten``.
        """
        layers = []
        for k, layer in enumerate(self.layers):
            geo = layer.geometry
            gp, gm, bp, bm = self.conductances(k)
            w = geo.pool_area * layer.gain * self.circuit.v_read * (gp - gm)
            b = None if bp is None else layer.gain * self.v_bias * (bp - bm)
            if geo.pool is not None:
                layers.append(AvgPool2d(geo.pool, name=f"pool_{layer.name}"))
            if geo.kind == "dense":
                if len(geo.in_shape) > 1:
                    layers.append(Flatten(name=f"flatten_{layer.name}"))
                layers.append(Dense(w, b, name=layer.name))
            else:
                layers.append(
                    Conv2d(w, b, stride=layer.stride, padding=layer.padding, name=layer.name)
                )
            if layer.relu:
                layers.append(ReLU(name=f"relu_{layer.name}"))
        return Network(layers, self.input_shape, name=self.name)

    def analog_args(self) -> dict:
        """Keyword arguments of :class:`snn_rram.analog.AnalogNetwork` on these conductances.

        ``AnalogNetwork(**net.analog_args(), dac_bits=..., ...)`` is the numpy analog network
        of exactly the trained conductances (the layering keeps ``snn_rram.analog`` out of
        this package): ``converted`` (the nominal weights, unrolled as ``ann.convert`` unrolls
        convolutions and folds pooling, scale 1), ``mappings`` (the differential-pair
        crossbars, bias rows last; a convolution's sparse, one cell per tap and position),
        ``output_scale`` (the trained gains) and ``bias_voltage``.
        """
        converted, mappings = [], []
        for k, layer in enumerate(self.layers):
            geo = layer.geometry
            gp, gm, bp, bm = self.conductances(k)
            unit = layer.gain * self.circuit.v_read
            Gp, Gm, W = geo.unroll([gp, gm, unit * (gp - gm)])
            if bp is not None:
                bp, bm = geo.per_neuron(bp), geo.per_neuron(bm)
            bias = None if bp is None else layer.gain * self.v_bias * (bp - bm)
            xbar = differential_crossbar(
                Gp, Gm, bp, bm, self.device, self.circuit, None, programmed=True
            )
            mappings.append(Mapping(xbar, 1.0 / unit, W, bias, {}, W))
            converted.append(ConvertedLayer(layer.name, W, bias, 1.0, layer.relu, geo.out_shape))
        net = ConvertedNetwork(tuple(converted), int(np.prod(self.input_shape)), 100.0)
        return {
            "converted": net,
            "mappings": mappings,
            "output_scale": [layer.gain for layer in self.layers],
            "bias_voltage": self.v_bias,
        }

    def torch_forward(self, x, dtype: str = "float64"):
        """Logits of the hardware-aware forward pass (torch, no gradient) on inputs ``x``."""
        torch = _import_torch("DeviceAwareNetwork.torch_forward")
        one_of(dtype, "dtype", ("float32", "float64"))
        tdt = getattr(torch, dtype)
        fwd = _Forward(
            torch,
            self.device,
            self.circuit,
            (
                [layer.geometry for layer in self.layers],
                [torch.as_tensor(layer.weight, dtype=tdt) for layer in self.layers],
                [
                    None if la.bias is None else torch.as_tensor(la.bias, dtype=tdt)
                    for la in self.layers
                ],
                [torch.tensor(math.log(layer.gain), dtype=tdt) for layer in self.layers],
            ),
            pair=self.pair,
            snap=self.snap,
            bias_voltage=self.bias_voltage,
        )
        x = as_array(x, "x")
        with torch.no_grad():
            return fwd(torch.as_tensor(x.reshape(len(x), -1), dtype=tdt))

    def predict(self, x) -> np.ndarray:
        """Arg-max class of each input (torch forward pass in float64)."""
        return self.torch_forward(x).argmax(dim=1).numpy()

    # -- files --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, meta: dict | None = None) -> Path:
        """Write the nominal network (``.npz``) and its provenance sidecar (``.toml``).

        The sidecar holds ``file``, ``sha256`` of the ``.npz`` (checked by
        :func:`snn_rram.ann.load`), ``weights_sha256``, ``recipe``, ``kind``, and the tables
        ``[network]`` (pair, snap, bias voltage, per-layer gains and ReLUs), ``[device]`` (the
        device card), ``[circuit]`` and ``[meta]`` (the training metadata, None values left
        out). Both are written atomically, the sidecar last.
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise SnnRramError(f"path: expected a file name ending in .npz, got {str(path)!r}")
        if not path.parent.is_dir():
            raise SnnRramError(f"path: folder {str(path.parent)!r} does not exist")
        nominal = self.to_network()
        doc = {
            "file": path.name,
            "sha256": "",
            "weights_sha256": weights_sha256(nominal),
            "kind": _KIND,
            "recipe": RECIPE,
            "network": {
                "name": self.name,
                "input_shape": list(self.input_shape),
                "pair": self.pair,
                "snap": self.snap,
                "bias_voltage": self.v_bias,
                "layers": [layer.name for layer in self.layers],
                "gains": [layer.gain for layer in self.layers],
                "relu": [layer.relu for layer in self.layers],
            },
            "device": self.device.to_dict(),
            "circuit": self.circuit.to_dict(),
            "meta": {k: _plain(v, f"meta.{k}") for k, v in (meta or {}).items() if v is not None},
        }
        save_network(nominal, path)
        doc["sha256"] = file_sha256(path)
        write_toml(path.with_suffix(".toml"), doc)
        return path


def load_device_aware(path: str | os.PathLike) -> tuple[DeviceAwareNetwork, dict]:
    """Read a network written by :meth:`DeviceAwareNetwork.save` and its metadata.

    Returns
    -------
    DeviceAwareNetwork
        The weights recovered from the nominal ones (``w = W̃ / (s_l · v_read · Δg)``;
        exact for ``snap=False``; with ``snap=True`` the conductances are the same levels).
    dict
        The sidecar (recipe, device, circuit, meta, ...).
    """
    from snn_rram.ann.importers import load as load_network

    path = Path(path)
    sidecar = path.with_suffix(".toml")
    if not sidecar.is_file():
        raise SnnRramError(f"{path.name}: no provenance sidecar {sidecar.name} beside it")
    side = read_toml(sidecar, "device-aware network sidecar")
    if side.get("kind") != _KIND:
        raise SnnRramError(
            f"{sidecar.name}: kind = {side.get('kind')!r}, expected {_KIND!r} (written by "
            "DeviceAwareNetwork.save)"
        )
    nominal = load_network(path)  # checks the .npz against the sidecar's sha256
    device = Device.from_dict(side["device"], "device")
    circuit = Circuit(**side["circuit"])
    info = side["network"]
    pair = one_of(info["pair"], "network.pair", PAIRS)
    lv = device.levels
    span = lv.g_max - lv.g_min  # w = ±1 spans Δg = G+ − G− in both pairings
    plan = plan_network(nominal, sidecar.name)
    if len(plan) != len(info["gains"]):
        raise SnnRramError(
            f"{sidecar.name}: {len(info['gains'])} gains for {len(plan)} weight layers"
        )
    layers = []
    for p, gain, relu in zip(plan, info["gains"], info["relu"], strict=True):
        geo, d = p.geometry, p.layer
        unit = geo.pool_area * gain * circuit.v_read * span
        w = np.clip(d.weight / unit, -1.0, 1.0)
        b = None
        if d.bias is not None:
            b = np.clip(d.bias / (gain * float(info["bias_voltage"]) * span), -1.0, 1.0)
        layers.append(
            DeviceAwareLayer(
                d.name,
                w,
                b,
                float(gain),
                bool(relu),
                *(geo.stride, geo.padding),
                geo.pool,
                geo.in_shape,
            )
        )
    net = DeviceAwareNetwork(
        tuple(layers),
        device,
        circuit,
        pair=pair,
        snap=bool(info["snap"]),
        bias_voltage=float(info["bias_voltage"]),
        input_shape=tuple(info["input_shape"]),
        name=str(info["name"]),
    )
    return net, side


# -- training ---------------------------------------------------------------------------------


def _snap_torch(torch, g, values):
    """Nearest level (ties to the lower one, as :meth:`Levels.nearest`), straight-through."""
    k = torch.clamp(torch.searchsorted(values, g.detach().contiguous()), 1, values.numel() - 1)
    lo, hi = values[k - 1], values[k]
    snapped = torch.where((g.detach() - lo).abs() <= (hi - g.detach()).abs(), lo, hi)
    return g + (snapped - g).detach()


class _Forward:
    """The hardware-aware forward pass of a network from its torch parameters.

    ``params`` are ``(geometries, weights, biases, log_gain)``: the layers' cells
    (:class:`Geometry`), ``weights`` (weight-shaped) and ``biases`` in [−1, 1] (fractions of
    the conductance range), ``log_gain`` the log sense gains; the conductance pairs, the level
    snapping (straight-through), the crossbar read, the gains, the ReLU and the DAC's clipping
    at full scale, as :class:`snn_rram.analog.AnalogNetwork` on the same conductances.
    """

    def __init__(self, torch, device, circuit, params, *, pair, snap, bias_voltage):
        self.torch, self.device, self.circuit = torch, device, circuit
        self.geometries, self.weights, self.biases, self.log_gain = params
        self.pair, self.snap, self.bias_voltage = pair, snap, bias_voltage
        self.values = torch.tensor(np.array(device.levels.values), dtype=self.weights[0].dtype)

    def pairs(self, w):
        lv = self.device.levels
        gp, gm = pair_conductances(w, lv.g_min, lv.g_max, self.pair, xp=self.torch)
        if self.snap:
            gp, gm = (
                _snap_torch(self.torch, gp, self.values),
                _snap_torch(self.torch, gm, self.values),
            )
        return gp, gm

    def current(self, k: int, a):
        """Signed neuron currents of layer ``k`` for its inputs ``a`` (already in [0, 1]), A."""
        gp, gm = self.pairs(self.weights[k])
        bp = bm = None
        if self.biases[k] is not None:
            bp, bm = self.pairs(self.biases[k])
        return _layer_current(
            self.torch,
            self.geometries[k],
            a,
            gp,
            gm,
            bp,
            bm,
            self.bias_voltage,
            self.device,
            self.circuit,
        )

    def inputs(self, x):
        """Network inputs ``x`` (n, features) as the first layer's rows read them, in [0, 1]."""
        shape = self.geometries[0].in_shape
        return self.torch.clamp(x.reshape(x.shape[0], *shape), 0.0, 1.0)

    def __call__(self, x):
        """Logits for inputs ``x`` (n, n_in); hidden activations clipped to [0, 1]."""
        a = self.inputs(x)
        last = len(self.weights) - 1
        for k in range(last + 1):
            out = self.torch.exp(self.log_gain[k]) * self.current(k, a)
            a = self.torch.clamp(out, 0.0, 1.0) if k < last else out
        return a.reshape(a.shape[0], -1)


def _from_network(torch, network, plan, bias: bool, tdt):
    """Weights (and biases) of a float network, each layer divided by its largest |weight|."""
    theirs = plan_network(network, "init_network")
    if [(p.geometry, p.relu) for p in theirs] != [(p.geometry, p.relu) for p in plan]:
        raise SnnRramError(
            "init_network: expected a network of the architecture's layers "
            f"({[(p.geometry.kind, p.geometry.weight_shape) for p in plan]}), got "
            f"{network.name!r} ({[layer.describe() for layer in network.layers]})"
        )
    weights, biases = [], []
    for p in theirs:
        d = p.layer
        top = float(np.max(np.abs(d.weight))) or 1.0
        weights.append(torch.as_tensor(d.weight / top, dtype=tdt).clone())
        b = None
        if bias:
            n_out = d.weight.shape[0]
            b = np.zeros(n_out) if d.bias is None else np.clip(d.bias / top, -1, 1)
            b = torch.as_tensor(b, dtype=tdt).clone()
        biases.append(b)
    return weights, biases


def train_device_aware(
    architecture: Sequence[int] | Network,
    train_x,
    train_y,
    test_x,
    test_y,
    *,
    device: Device,
    circuit: Circuit,
    pair: str = "one_sided",
    snap: bool = True,
    bias: bool = False,
    bias_voltage: float | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    gain_lr: float = 1e-2,
    label_smoothing: float = 0.1,
    init_range: float = 0.5,
    init_std: float = 0.5,
    init_percentile: float = 99.9,
    init_level: float = 1.0,
    init_network: Network | None = None,
    distill: float = 0.0,
    temperature: float = 4.0,
    dtype: str = "float32",
    seed: int = 0,
    name: str | None = None,
    log: Callable[[str], object] | None = None,
) -> tuple[DeviceAwareNetwork, dict]:
    """Train a network with the crossbar's transfer in the forward pass (paper 2's recipe).

    Parameters
    ----------
    architecture : sequence of int or snn_rram.ann.Network
        An MLP's layer widths, input first (e.g. ``(784, 256, 10)``; ReLU between dense
        layers), or a float network whose layers are the architecture (its weights are not
        used unless it is also ``init_network``): Dense and Conv2d layers, a ReLU after each
        but the last, AvgPool2d (windows tiling the map) and Flatten between them — the
        networks :func:`snn_rram.ann.convert` maps, e.g. a LeNet-5. Every layer is one
        crossbar as ``ann.convert`` unrolls it (a convolution's cells at every output
        position, the pooling before a layer folded in as a sum over each window).
    train_x, train_y, test_x, test_y : array_like
        Inputs in [0, 1] (``(n, n_in)`` or ``(n, *input_shape)``) and integer labels.
    device, circuit
        The cells (linear, sinh or polynomial read model; levels give ``g_min``, ``g_max``) and
        the read (``v_read``, ``r_neuron``; no wires: analog reads drive every row).
    pair : {"one_sided", "symmetric"}
        How a weight in [−1, 1] becomes a conductance pair.
    snap : bool
        Conductances on the device's levels in the forward pass (straight-through gradient).
    bias : bool
        Give every layer a bias row (driven at ``bias_voltage``, default ``v_read``).
    epochs, batch_size, lr, label_smoothing
        Adam on the weights, cross-entropy with label smoothing.
    gain_lr : float
        Adam's learning rate of the log sense gains.
    init_range : float
        Initial weights uniform in ``±init_range`` (fractions of the conductance range).
    init_std : float
        Initial gain of the output layer: the standard deviation of its outputs on the first
        batch (with ``init_network``: that of the float network's logits).
    init_percentile : float
        Initial gains of the hidden layers: this percentile of their outputs on the first
        batch at ``init_level``.
    init_level : float
        Where the hidden layers' ``init_percentile`` output starts, as a fraction of the DAC's
        full scale (1: at full scale, as ``ann.convert`` normalises). Lower values start the
        hidden layers' rows at lower voltages, in the milder part of a nonlinear I–V (the
        gains stay trainable).
    init_network : snn_rram.ann.Network, optional
        Start from this float network (the architecture's layers and shapes; weights divided
        by each layer's largest absolute weight) instead of random weights.
    distill : float
        Weight α ∈ [0, 1] of knowledge distillation from ``init_network`` (the teacher, needed
        when α > 0): the loss is
        ``(1 − α)·CE(labels) + α·T²·KL(softmax(teacher/T) ‖ softmax(student/T))`` (Hinton et
        al. 2015; the label term with ``label_smoothing``), as
        :func:`snn_rram.training.train_distortion_aware` has it. The float network keeps what
        it learned while the small fine-tuning set would let the reconstructed one overfit.
        0 (default): labels only.
    temperature : float
        Softening temperature ``T`` of the distillation (used when ``distill > 0``).
    dtype : {"float32", "float64"}
        Torch precision of the forward pass (the column solve runs in float64 either way).
    seed : int
        Seed of the initialisation and the shuffling.
    name : str, optional
        Network name (default ``device_aware_<sizes>`` or ``device_aware_<network name>``).
    log : callable, optional
        Called with one line per epoch.

    Returns
    -------
    DeviceAwareNetwork
    dict
        Metadata: the arguments, ``device``, ``v_read``, ``r_neuron``, ``train_accuracy`` and
        ``test_accuracy`` (of the torch forward pass in float64 on the final weights),
        ``final_loss``, ``training_seconds``, ``steps``, torch and numpy versions.
    """
    torch = _import_torch("train_device_aware")
    _check_device(device, circuit)
    if isinstance(architecture, Network):
        plan = plan_network(architecture)
        sizes = None
        default_name = f"device_aware_{architecture.name}"
    else:
        sizes = [as_int(s, f"sizes[{k}]", 1) for k, s in enumerate(architecture)]
        if len(sizes) < 2:
            raise SnnRramError(f"sizes: expected at least (n_in, n_out), got {sizes}")
        plan = plan_mlp(sizes)
        default_name = "device_aware_" + "_".join(map(str, sizes))
    geometries = [p.geometry for p in plan]
    n_in = geometries[0].n_in
    one_of(pair, "pair", PAIRS)
    epochs = as_int(epochs, "epochs", 0)
    batch_size = as_int(batch_size, "batch_size", 1)
    seed = as_int(seed, "seed", 0)
    lr = as_scalar(lr, "lr", positive=True)
    gain_lr = as_scalar(gain_lr, "gain_lr", positive=True)
    init_range = as_scalar(init_range, "init_range", positive=True)
    init_std = as_scalar(init_std, "init_std", positive=True)
    init_percentile = as_scalar(init_percentile, "init_percentile", positive=True)
    init_level = as_scalar(init_level, "init_level", positive=True)
    if init_level > 1:
        raise SnnRramError(
            f"init_level: expected a fraction of full scale in (0, 1], got {init_level}"
        )
    if init_percentile > 100:
        raise SnnRramError(
            f"init_percentile: expected a percentile in (0, 100], got {init_percentile}"
        )
    label_smoothing = as_scalar(label_smoothing, "label_smoothing")
    if not 0 <= label_smoothing < 1 or init_range > 1:
        raise SnnRramError(
            f"label_smoothing in [0, 1) and init_range in (0, 1] expected, got "
            f"{label_smoothing}, {init_range}"
        )
    distill, temperature = check_distill(distill, temperature)
    if distill > 0 and init_network is None:
        raise SnnRramError(
            f"distill: {distill} needs a teacher, the float network given as init_network"
        )
    one_of(dtype, "dtype", ("float32", "float64"))
    tdt = getattr(torch, dtype)
    x_train = as_array(train_x, "train_x").reshape(len(train_x), -1)
    x_test = as_array(test_x, "test_x").reshape(len(test_x), -1)
    y_train, y_test = np.asarray(train_y, dtype=np.int64), np.asarray(test_y, dtype=np.int64)
    for what, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.shape[1] != n_in:
            raise SnnRramError(f"{what}_x: expected {n_in} features, got {x.shape[1]}")
        if y.shape != (x.shape[0],):
            raise SnnRramError(f"{what}_y: expected {x.shape[0]} labels, got shape {y.shape}")
        if (x < 0).any() or (x > 1).any():
            raise SnnRramError(f"{what}_x: inputs must lie in [0, 1] (fractions of full scale)")
    n_layers = len(plan)

    gen = torch.Generator().manual_seed(seed)
    weights = [
        (torch.rand(*g.weight_shape, generator=gen, dtype=tdt) * 2 - 1) * init_range
        for g in geometries
    ]
    biases = [torch.zeros(g.weight_shape[0], dtype=tdt) if bias else None for g in geometries]
    if init_network is not None:
        weights, biases = _from_network(torch, init_network, plan, bias, tdt)
    log_gain = [torch.zeros((), dtype=tdt) for _ in range(n_layers)]
    forward = _Forward(
        torch,
        device,
        circuit,
        (geometries, weights, biases, log_gain),
        pair=pair,
        snap=snap,
        bias_voltage=bias_voltage,
    )

    xt = torch.as_tensor(x_train, dtype=tdt)
    yt = torch.as_tensor(y_train)
    teacher = None
    if distill > 0:
        teacher = teacher_log_probs(torch, init_network, x_train, temperature, dtype=tdt)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    step, loss_mean = 0, math.nan
    try:
        logit_std = None
        if init_network is not None:  # the float network's logits set the output scale
            logit_std = float(
                np.std(
                    init_network.forward(
                        x_train[:batch_size].reshape(-1, *init_network.input_shape)
                    )
                )
            )
        with torch.no_grad():  # gains from the first batch (see init_std, init_percentile)
            a = forward.inputs(xt[:batch_size])
            for k in range(n_layers):
                current = forward.current(k, a)
                if k < n_layers - 1:
                    top = float(np.percentile(current.numpy(), init_percentile))
                    scale = init_level / top if top > 0 else 1.0
                else:
                    std = float(current.std())
                    target = init_std if logit_std is None else logit_std
                    scale = target / std if std > 0 else 1.0
                log_gain[k] = torch.tensor(math.log(scale), dtype=tdt)
                out = torch.exp(log_gain[k]) * current
                a = torch.clamp(out, 0.0, 1.0)
        params = [w.requires_grad_() for w in weights]
        params += [b.requires_grad_() for b in biases if b is not None]
        params += [g.requires_grad_() for g in log_gain]
        optimizer = torch.optim.Adam(
            [
                {"params": params[: len(params) - n_layers]},
                {"params": params[len(params) - n_layers :], "lr": gain_lr},
            ],
            lr=lr,
        )
        n = xt.shape[0]
        for epoch in range(1, epochs + 1):
            order = torch.randperm(n, generator=gen)
            loss_sum = 0.0
            for first in range(0, n, batch_size):
                idx = order[first : first + batch_size]
                loss = distillation_loss(
                    torch,
                    forward(xt[idx]),
                    yt[idx],
                    None if teacher is None else teacher[idx],
                    distill=distill,
                    temperature=temperature,
                    label_smoothing=label_smoothing,
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    for w in params[: len(params) - n_layers]:
                        w.clamp_(-1.0, 1.0)
                loss_sum += float(loss.detach()) * len(idx)
                step += 1
            loss_mean = loss_sum / n
            if not math.isfinite(loss_mean):
                raise SnnRramError(f"training diverged at epoch {epoch} (loss {loss_mean})")
            if log is not None:
                log(f"epoch {epoch}/{epochs}: loss {loss_mean:.4f}")
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - started
    layers = tuple(
        DeviceAwareLayer(
            p.name,
            weights[k].detach().to(torch.float64).numpy().copy(),
            None if biases[k] is None else biases[k].detach().to(torch.float64).numpy().copy(),
            float(torch.exp(log_gain[k].detach().to(torch.float64))),
            k < n_layers - 1,
            p.geometry.stride,
            p.geometry.padding,
            p.geometry.pool,
            p.geometry.in_shape,
        )
        for k, p in enumerate(plan)
    )
    net = DeviceAwareNetwork(
        layers,
        device,
        circuit,
        pair=pair,
        snap=snap,
        bias_voltage=bias_voltage,
        input_shape=geometries[0].in_shape,
        name=name or default_name,
    )
    meta = {
        "recipe": RECIPE,
        "sizes": sizes,
        "architecture": [p.layer.describe() if p.layer is not None else p.name for p in plan],
        "device": device.name,
        "v_read": circuit.v_read,
        "r_neuron": float(np.max(circuit.r_neuron)),
        "pair": pair,
        "snap": snap,
        "bias": bias,
        "bias_voltage": bias_voltage,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "gain_lr": gain_lr,
        "label_smoothing": label_smoothing,
        "init_range": init_range,
        "init_std": init_std,
        "init_percentile": init_percentile,
        "init_level": init_level,
        "init_network": None if init_network is None else init_network.name,
        "distill": distill,
        "temperature": temperature,
        "dtype": dtype,
        "seed": seed,
        "n_train_images": int(x_train.shape[0]),
        "final_loss": loss_mean,
        "train_accuracy": float(np.mean(net.predict(x_train) == y_train)),
        "test_accuracy": float(np.mean(net.predict(x_test) == y_test)),
        "training_seconds": round(seconds, 3),
        "steps": step,
        "torch_version": str(torch.__version__),
        "numpy_version": np.__version__,
    }
    return net, meta
