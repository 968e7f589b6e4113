"""The ``trained`` mapping: the arrays of on-array training as they were trained (paper 3).

:func:`snn_rram.training.train_on_array` leaves conductances that *are* a mapping: the
differential pairs (``single``) or big and small pairs (``hybrid``, ``hybrid_carry``) of every
layer, written pulse by pulse. ``mapping.method = "trained"`` with ``mapping.options.file`` (the
HDF5 file of :func:`snn_rram.training.save_on_array`) puts them onto the crossbars unchanged — no
re-quantisation, no programming variation drawn again (the file's conductances already carry
the training's device-to-device variation and cycle-to-cycle noise) — so a run gives the trained
arrays' SNN accuracy and power per synapse.

Layout of a layer (``fan_in`` inputs, ``n_out`` neurons, ``m`` columns per neuron: 2 for
``single``, 4 for the hybrids)::

    rows 0 … fan_in − 1   the inputs (the arrays' rows as trained)
    row  fan_in           the always-on bias row (when the network layer has a bias)
    columns j·m … j·m + m − 1              neuron j: [G⁺, G⁻] or [Gb⁺, Gb⁻, Gs⁺, Gs⁻]
    columns (n_out + j)·m … (n_out + j)·m + m − 1   neuron j's bias devices, one per column

Column gains: ``+1`` / ``−1`` for the two sides of a pair. ``big_columns = "area"`` (default)
keeps the big devices' physical conductances (γ times the small ones': a read sums physical
currents, so the big pair's gain is 1, and its read current and power are the big device's);
``"gain"`` stores them divided by γ and reads those columns with gain ``±γ`` (small-area devices
with an amplified readout — the same weights, a γ times smaller read power of the big columns).

Bias devices sit in columns of their own (the conductances as trained, one device per column
on the always-on row) because a trained bias is read like an input of activity 1, while the
spiking network's always-on row conducts all the time and the converted network scales biases
apart from weights (``b̃ = b/λ_l`` against ``W̃ = W·λ_{l−1}/λ_l``, :mod:`snn_rram.ann.convert`):
their readout gain ``bias_duty/λ_{l−1}`` (fitted from the biases the pipeline passes) keeps every
trained conductance while the neuron receives the converted bias.

Which trained layer serves the network layer being mapped is found from the weights: the
pipeline passes the converted layer ``W̃ = s·W`` (``s = λ_{l−1}/λ_l > 0``); the file's layer of
that shape whose trained weights are proportional to it (relative residual at most ``rtol``) is
the one, and ``g_per_weight = 1/(k·s)`` with ``k`` the training's weight per siemens. A network
that is not the trained one is an error (run it with the network of
:meth:`snn_rram.training.OnArrayResult.network`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from snn_rram._io import open_hdf5
from snn_rram._validation import as_scalar, one_of
from snn_rram.crossbar import Circuit, Crossbar, Layout
from snn_rram.crossbar.layout import ALWAYS_ON
from snn_rram.devices import Device
from snn_rram.errors import SnnRramError
from snn_rram.mapping.base import Mapping, check_weights, effective_weights, nominal_weights
from snn_rram.mapping.registry import register

__all__ = [
    "BIG_COLUMNS",
    "TRAINING_KIND",
    "TRAINING_SCHEMA_VERSION",
    "TrainedArrays",
    "TrainedLayer",
    "open_training_file",
    "read_layers",
    "read_trained",
    "trained",
    "trained_columns",
]

#: ``kind`` attribute of an on-array training result file.
TRAINING_KIND = "on_array_training"
#: The schema version of those files this snn-rram reads and writes.
TRAINING_SCHEMA_VERSION = 1
#: How the big devices of a hybrid appear (see the module docstring).
BIG_COLUMNS = ("area", "gain")
#: Order of the array roles inside a neuron's column block.
_ROLES = ("main", "big", "small")


@dataclass(frozen=True, eq=False)
class TrainedLayer:
    """One trained layer.

    Attributes
    ----------
    weights : numpy.ndarray, shape (fan_in + 1, n_out)
        Effective weights, bias row last.
    conductances : dict of str to numpy.ndarray
        Per array role (``main``; ``big``/``small``) the conductances, shape
        ``(2, fan_in + 1, n_out)`` (``[0]`` = G⁺, ``[1]`` = G⁻), in S.
    gain : float
        ``k``, weight per siemens.
    """

    weights: np.ndarray
    conductances: dict
    gain: float


@dataclass(frozen=True, eq=False)
class TrainedArrays:
    """What :func:`read_trained` returns: the file's layers and how they were trained."""

    path: Path
    synapse: str
    gamma: float
    layers: list


def open_training_file(path: str | os.PathLike, field: str = "path"):
    """Open an on-array training result file, checking its kind and schema version.

    Parameters
    ----------
    path : str or os.PathLike
    field : str
        The configuration field that named the file, for error messages.

    Returns
    -------
    h5py.File
        Open for reading (use it as a context manager).

    Raises
    ------
    SnnRramError
        Missing file, not HDF5, another kind of file or another schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise SnnRramError(f"{field}: no file {str(path)!r}")
    f = open_hdf5(path, f"{field}: {str(path)!r} is not an on-array training result")
    kind = f.attrs.get("kind")
    version = int(f.attrs.get("schema_version", -1))
    if kind != TRAINING_KIND:
        f.close()
        raise SnnRramError(
            f"{field}: {str(path)!r} is not an on-array training result "
            f"(kind {kind!r}, expected {TRAINING_KIND!r})"
        )
    if version != TRAINING_SCHEMA_VERSION:
        f.close()
        raise SnnRramError(
            f"{field}: {str(path)!r} has schema version {version}, this snn-rram reads "
            f"{TRAINING_SCHEMA_VERSION}"
        )
    return f


def read_layers(f) -> list[TrainedLayer]:
    """The layers of an open training file (``/layers/<i>``); KeyError if one is missing."""
    groups = [f["layers"][str(i)] for i in range(len(f["layers"]))]
    return [
        TrainedLayer(
            weights=g["weights"][()],
            conductances={role: g["conductances"][role][()] for role in g["conductances"]},
            gain=float(g.attrs["gain"]),
        )
        for g in groups
    ]


def read_trained(path: str | os.PathLike, field: str = "path") -> TrainedArrays:
    """The trained arrays of an on-array training result file.

    Raises
    ------
    SnnRramError
        As :func:`open_training_file`; a float run (no arrays); a damaged file.
    """
    with open_training_file(path, field) as f:
        try:
            config = json.loads(f.attrs["config"])
            layers = read_layers(f)
            synapse, gamma = str(config["synapse"]), float(config["gamma"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SnnRramError(f"{field}: {str(path)!r} is damaged: {exc}") from None
    if synapse == "float" or not layers or not layers[0].conductances:
        raise SnnRramError(
            f"{field}: {str(path)!r} holds a float (software) run, which has no arrays"
        )
    for i, layer in enumerate(layers):
        rows, n_out = layer.weights.shape
        for role, G in layer.conductances.items():
            if role not in _ROLES or G.shape != (2, rows, n_out):
                raise SnnRramError(
                    f"{field}: {str(path)!r} is damaged: layer {i} array {role!r} of shape "
                    f"{G.shape}, expected (2, {rows}, {n_out})"
                )
    return TrainedArrays(Path(path), synapse, gamma, layers)


def trained_columns(
    conductances: dict, gamma: float = 1.0, big_columns: str = "area"
) -> tuple[np.ndarray, np.ndarray]:
    """A layer's trained arrays as crossbar columns: conductances and column gains.

    Parameters
    ----------
    conductances : dict of str to numpy.ndarray
        Per role (``main``; ``big``/``small``) shape ``(2, rows, n_out)``, physical, in S.
    gamma : float
        Area ratio big/small (used by ``big_columns = "gain"``).
    big_columns : {"area", "gain"}
        See the module docstring.

    Returns
    -------
    G : numpy.ndarray, shape (rows, n_out·m)
        Per neuron ``j`` the columns ``j·m … j·m + m − 1``: ``[G⁺, G⁻]`` of each role in the
        order main, big, small.
    gains : numpy.ndarray, shape (n_out·m,)
        Readout gain of each column (``k · Σ_block G·gains`` is the layer's weight).
    """
    one_of(big_columns, "big_columns", BIG_COLUMNS)
    roles = [r for r in _ROLES if r in conductances]
    scale = {r: gamma if (r == "big" and big_columns == "gain") else 1.0 for r in roles}
    sides = [conductances[r][s] / scale[r] for r in roles for s in (0, 1)]
    per_col = np.array([scale[r] * sign for r in roles for sign in (1.0, -1.0)])
    stacked = np.stack(sides, axis=-1)  # rows, n_out, m
    rows, n_out, m = stacked.shape
    return stacked.reshape(rows, n_out * m), np.tile(per_col, n_out)


def _proportional(target, source) -> tuple[float, float]:
    """``a`` minimising ``‖target − a·source‖`` and the relative residual."""
    den = float(np.sum(source * source))
    norm = float(np.linalg.norm(target))
    if den == 0.0:
        return 0.0, (0.0 if norm == 0.0 else np.inf)
    a = float(np.sum(target * source)) / den
    res = float(np.linalg.norm(target - a * source))
    return a, (res / norm if norm else res)


@register("trained")
def trained(
    weight,
    device: Device,
    circuit: Circuit,
    *,
    bits: int,
    bias=None,
    bias_duty: float = 1.0,
    seed=None,
    file: str | None = None,
    big_columns: str = "area",
    rtol: float = 1e-6,
) -> Mapping:
    """Put a layer's arrays from an on-array training result onto a crossbar, as trained.

    Parameters
    ----------
    weight : array_like, shape (n_out, n_in)
        The converted (normalised) weights of the layer: those of the trained network scaled
        by a positive factor (:mod:`snn_rram.ann.convert`).
    device : Device
        Its read model reads the trained conductances.
    circuit : Circuit
    bits : int
        Ignored: nothing is quantised again.
    bias : array_like, shape (n_out,), optional
        Converted biases; the trained bias row is put on an always-on row.
    bias_duty : float
        Fraction of time an input of maximum rate is read (see the module docstring).
    seed : ignored
        The conductances are the trained ones; no programming variation is drawn.
    file : str
        ``mapping.options.file``: the HDF5 file of :func:`snn_rram.training.save_on_array`
        (absolute, or relative to the current folder).
    big_columns : {"area", "gain"}
        How the big devices of a hybrid appear (module docstring).
    rtol : float
        Largest relative residual of ``weight`` against the trained weights times a scale.

    Returns
    -------
    Mapping
        ``report``: ``layer`` (index in the file), ``scale`` (``s``), ``bias_gain``,
        ``synapse``, ``gamma``, ``big_columns``, ``weight_rmse``, ``mean_pair_conductance``,
        ``ideal_read_power_per_synapse``, ...

    Raises
    ------
    SnnRramError
        No ``file``; the file missing or not a training result; no layer of the file matches
        ``weight`` (the field named is ``mapping.options.file``).
    """
    field = "mapping.options.file"
    arrays, rtol = _read_options(file, big_columns, rtol)
    if sp.issparse(weight):
        raise SnnRramError(
            "weight: the trained mapping takes dense layers (on-array training trains MLPs)"
        )
    w, b, duty = check_weights(weight, bias, bias_duty)
    found = None
    shapes = []
    for i, layer in enumerate(arrays.layers):
        Wt = layer.weights[:-1].T
        shapes.append(Wt.shape)
        if Wt.shape != w.shape:
            continue
        s, res = _proportional(w, Wt)
        if s > 0 and res <= rtol:
            found = i, s
            break
    if found is None:
        raise SnnRramError(
            f"{field}: no layer of {str(file)!r} (weight shapes (n_out, n_in) "
            f"{', '.join(map(str, shapes))}) holds the network's layer of shape {w.shape} up to "
            "a positive scale; run the network the training produced "
            "(OnArrayResult.network())"
        )
    index, s = found
    layer = arrays.layers[index]
    k = layer.gain
    G_all, gains = trained_columns(layer.conductances, arrays.gamma, big_columns)
    n_in, n_out = w.shape[1], w.shape[0]
    m = G_all.shape[1] // n_out
    n_cols = n_out * m
    neuron = np.repeat(np.arange(n_out), m)
    bt = layer.weights[-1]
    bias_gain = 0.0
    if b is None:
        if np.any(bt != 0):
            raise SnnRramError(
                f"bias: the network's layer of shape {w.shape} has no bias, but layer {index} "
                f"of {str(file)!r} has a trained bias row"
            )
        G = G_all[:n_in]
        layout = Layout(np.arange(n_in), _readout(gains, neuron, n_out), n_in)
    else:
        r, res = _proportional(b, s * bt)
        if res > rtol or r < 0:
            raise SnnRramError(
                f"bias: the network's biases of the layer of shape {w.shape} are not the "
                f"trained biases of layer {index} of {str(file)!r} times a positive scale "
                f"(relative residual {res:.3g})"
            )
        bias_gain = duty * r
        G = np.zeros((n_in + 1, 2 * n_cols))
        G[:n_in, :n_cols] = G_all[:n_in]
        G[n_in, n_cols:] = G_all[n_in]
        col_gain = np.concatenate([gains, bias_gain * gains])
        layout = Layout(
            np.r_[np.arange(n_in), ALWAYS_ON],
            _readout(col_gain, np.tile(neuron, 2), n_out),
            n_in,
        )
    g_per_weight = 1.0 / (k * s)
    xbar = Crossbar(G, device, circuit, layout)
    nominal, _ = nominal_weights(xbar, g_per_weight, duty, w)
    eff, eff_b = effective_weights(xbar, g_per_weight, duty, w)
    pair_g = float(np.mean(G_all[:n_in].reshape(n_in, n_out, m).sum(axis=-1)))
    report = {
        "method": "trained",
        "file": str(file),
        "layer": index,
        "synapse": arrays.synapse,
        "gamma": arrays.gamma,
        "big_columns": big_columns,
        "columns_per_weight": m,
        "scale": s,
        "bias_gain": bias_gain,
        "g_per_weight": g_per_weight,
        "weight_rmse": float(np.sqrt(np.mean((eff - w) ** 2))),
        "nominal_weight_rmse": float(np.sqrt(np.mean((nominal - w) ** 2))),
        "mean_pair_conductance": pair_g,
        "ideal_read_power_per_synapse": circuit.v_read**2 * pair_g,
        "programming_variation": False,
    }
    return Mapping(xbar, g_per_weight, eff, eff_b, report, nominal)


def _readout(gains, neuron, n_out) -> sp.csr_matrix:
    cols = np.arange(gains.size)
    return sp.csr_matrix((gains, (cols, neuron)), shape=(gains.size, n_out))


def _read_options(file, big_columns, rtol) -> tuple[TrainedArrays, float]:
    """Check the options of :func:`trained` and read the file they name."""
    field = "mapping.options.file"
    if file is None:
        raise SnnRramError(f"{field}: the trained mapping needs the training result file")
    if not isinstance(file, str | os.PathLike):
        raise SnnRramError(f"{field}: expected a path, got {file!r}")
    one_of(big_columns, "mapping.options.big_columns", BIG_COLUMNS)
    rtol = as_scalar(rtol, "mapping.options.rtol", positive=True)
    return read_trained(file, field), rtol


def check_options(file: str | None = None, big_columns: str = "area", rtol: float = 1e-6):
    """The options' own rules, checked without a network layer (configuration checks)."""
    _read_options(file, big_columns, rtol)


trained.check_options = check_options
