"""Binary and ternary weights on 2T2R pairs read by a precharge sense amplifier (paper 5).

The mapping methods ``ternary_2t2r`` and ``binary_2t2r`` store each weight's sign pattern in a
2T2R pair (:func:`snn_rram.crossbar.pcsa.program_2t2r`: +1 = (LRS, HRS), −1 = (HRS, LRS),
0 = (HRS, HRS)) and leave its magnitude to the periphery: every output row (neuron) has one
scale, by which the digital accumulation multiplies the PCSA's outcome q ∈ {−1, 0, +1}. The
biases are digital too (a constant drive of the neuron, no array read).

A network trained with :func:`snn_rram.training.train_quantized` has rows that are exactly one
scale times the alphabet; :func:`ternarize` recovers them exactly. Any other layer is
quantised row by row (ternary weight networks: keep ``|w| > threshold · mean|w|``, scale = the
mean ``|w|`` kept; binary: the sign, scale = mean ``|w|``).

The returned :class:`SenseMapping` is a :class:`Mapping` whose crossbar holds the programmed
pairs in the differential layout (BL device in column ``2j``, BLb in ``2j + 1``) and which
carries what the spiking path (:class:`snn_rram.snn.SenseNetwork`) needs: the PCSA, the row
scales, how often the pairs are sensed (``reads``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import scipy.sparse as sp

from snn_rram._validation import as_scalar, one_of, suggest
from snn_rram.crossbar import Circuit
from snn_rram.crossbar.pcsa import PCSA, TwoStateCells, program_2t2r
from snn_rram.devices import Device
from snn_rram.errors import SnnRramError
from snn_rram.mapping.base import Mapping, check_weights, differential_crossbar
from snn_rram.mapping.registry import register

__all__ = [
    "READS",
    "SENSE_METHODS",
    "SenseMapping",
    "binary_2t2r",
    "pcsa_from_options",
    "ternarize",
    "ternary_2t2r",
]

#: When the spiking path senses a pair: once per run (outcome kept in a register) or at
#: every presynaptic spike (a fresh outcome each time).
READS = ("once", "event")
#: The registered names of this module's methods.
SENSE_METHODS = ("ternary_2t2r", "binary_2t2r")


@dataclass(frozen=True, eq=False)
class SenseMapping(Mapping):
    """A layer on 2T2R pairs read by a PCSA: a :class:`Mapping` with the sense periphery.

    Attributes
    ----------
    pcsa : PCSA
        The sense amplifier of every column pair.
    encoding : str
        ``"ternary"`` or ``"binary"``.
    reads : str
        ``"once"`` or ``"event"`` (see :data:`READS`).
    row_scale : numpy.ndarray, shape (n_out,)
        The weight of an outcome +1 in each output row, in normalised-weight units.
    alphabet : numpy.ndarray or scipy.sparse.csr_matrix of int8, shape (n_out, n_in)
        The stored weight of every pair (the target outcome).

    ``g_per_weight`` is ``g_lrs − g_hrs`` of the cells (a +1 pair's nominal conductance
    difference); in a sense read it sizes nothing, the outcome is digital.
    """

    pcsa: PCSA | None = None
    encoding: str = "ternary"
    reads: str = "event"
    row_scale: np.ndarray | None = None
    alphabet: np.ndarray | sp.csr_matrix | None = None


def ternarize(weight, encoding: str = "ternary", threshold: float = 0.7):
    """Each row of ``weight`` as one scale times the binary or ternary alphabet.

    Parameters
    ----------
    weight : numpy.ndarray or scipy.sparse.csr_matrix, shape (n_out, n_in)
        Weights (of a sparse matrix only the stored entries count).
    encoding : {"ternary", "binary"}
    threshold : float
        Ternary: entries with ``|w| <= threshold · mean|w|`` of their row become 0
        (``0 <= threshold < 1``, so a row that already is one scale times {−1, 0, +1} is
        returned exactly).

    Returns
    -------
    t : numpy.ndarray or scipy.sparse.csr_matrix of int8
        The alphabet values (same layout as ``weight``).
    scale : numpy.ndarray, shape (n_out,)
        Mean ``|w|`` of each row's non-zero outcomes (0 for a row without any).
    """
    one_of(encoding, "encoding", ("ternary", "binary"))
    threshold = as_scalar(threshold, "threshold", nonnegative=True)
    if threshold >= 1:
        raise SnnRramError(f"threshold: a fraction of the mean |w| below 1, got {threshold!r}")
    if sp.issparse(weight):
        w = sp.csr_matrix(weight, dtype=np.float64)
        values, rows = w.data, np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    else:
        w = np.asarray(weight, dtype=np.float64)
        values, rows = w.ravel(), np.repeat(np.arange(w.shape[0]), w.shape[1])
    n_out = w.shape[0]
    size = np.maximum(np.bincount(rows, minlength=n_out), 1)
    mag = np.abs(values)
    if encoding == "ternary":
        mean = np.bincount(rows, mag, minlength=n_out) / size
        keep = mag > threshold * mean[rows]
        t = (np.sign(values) * keep).astype(np.int8)
    else:
        keep = np.ones(values.shape, dtype=bool)
        t = np.where(values < 0, -1, 1).astype(np.int8)
    kept = np.bincount(rows, keep, minlength=n_out)
    scale = np.bincount(rows, mag * keep, minlength=n_out) / np.maximum(kept, 1)
    if sp.issparse(w):
        return sp.csr_matrix((t, w.indices, w.indptr), shape=w.shape), scale
    return t.reshape(w.shape), scale


def pcsa_from_options(options: dict | None) -> PCSA:
    """The :class:`PCSA` of a ``pcsa`` options table (``vdd`` defaults to 1.2 V, nominal)."""
    table = dict(options or {})
    allowed = [f.name for f in fields(PCSA)]
    for key in table:
        if key not in allowed:
            raise SnnRramError(
                f"pcsa.{key}: unknown PCSA parameter{suggest(key, allowed)}; allowed: "
                f"{', '.join(allowed)}"
            )
    table.setdefault(
        "vdd", table.get("vdd_nominal", PCSA.__dataclass_fields__["vdd_nominal"].default)
    )
    return PCSA(**table)


def _sense_mapping(
    encoding, weight, device, circuit, bias, bias_duty, seed, reads, pcsa, threshold, sigmas
) -> SenseMapping:
    w, b, _ = check_weights(weight, bias, bias_duty)
    one_of(reads, "reads", READS)
    sense = pcsa_from_options(pcsa)
    cells = TwoStateCells.from_device(device, *sigmas)
    t, scale = ternarize(w, encoding, threshold)
    if seed is None:
        raise SnnRramError("seed: programming the 2T2R pairs draws their variation; give a seed")
    stored = t.data if sp.issparse(t) else t
    g_bl, g_blb = program_2t2r(stored, cells, seed, encoding)
    probs = sense.outcome_probabilities(g_bl, g_blb)
    mean_q = probs[..., 2] - probs[..., 0]
    correct = np.take_along_axis(probs, (stored.astype(np.int64) + 1)[..., None], -1)[..., 0]
    energy, device_energy = sense.read_energy(g_bl, g_blb)
    if sp.issparse(t):
        rows = np.repeat(np.arange(t.shape[0]), np.diff(t.indptr))

        def like(v):
            return sp.csr_matrix((v, t.indices, t.indptr), shape=t.shape)

        gp, gm = like(g_bl), like(g_blb)
        eff, nominal = like(scale[rows] * mean_q), like(scale[rows] * stored)
    else:
        gp, gm = g_bl, g_blb
        eff, nominal = scale[:, None] * mean_q, scale[:, None] * stored
    xbar = differential_crossbar(gp, gm, None, None, device, circuit, seed, programmed=True)
    report = {
        "method": f"{encoding}_2t2r",
        "encoding": encoding,
        "reads": reads,
        "pcsa": asdict(sense),
        "cells": asdict(cells),
        "threshold": float(threshold),
        "sparsity": float(np.mean(stored == 0)),
        "expected_read_error_rate": float(1.0 - correct.mean()),
        "mean_read_energy": float(energy.mean()),
        "mean_read_device_energy": float(device_energy.mean()),
        "digital_bias": b is not None,
    }
    return SenseMapping(
        xbar,
        float(cells.g_lrs - cells.g_hrs),
        eff,
        b,
        report,
        nominal,
        pcsa=sense,
        encoding=encoding,
        reads=reads,
        row_scale=scale,
        alphabet=t,
    )


_DOC = """

    See :mod:`snn_rram.mapping.pcsa_pairs`. The weights are split into one scale per row times
    {values} (:func:`ternarize`) and programmed onto the card's extreme levels as LRS and HRS
    (:meth:`TwoStateCells.from_device`: log-normal device-to-device variation with the card's
    ``programming_sigma`` unless ``sigma_lrs``/``sigma_hrs`` are given), seeded.

    Parameters
    ----------
    weight, device, circuit, bias, bias_duty, seed
        As for every mapping method; ``bits`` is accepted and ignored (the alphabet fixes the
        weight codes); biases stay digital (exact), ``bias_duty`` is unused.
    reads : {{"once", "event"}}
        The spiking path senses every pair once per run, or at every presynaptic spike.
    pcsa : dict, optional
        Parameters of :class:`~snn_rram.crossbar.PCSA` (``vdd`` in V, default 1.2 V; the
        others default as there).
    threshold : float
        Ternary threshold of :func:`ternarize` (binary: unused).
    sigma_lrs, sigma_hrs : float, optional
        Standard deviation of ln R of the LRS and HRS devices.

    Returns
    -------
    SenseMapping
    """


def _method(encoding: str):
    """The registered mapping method of one alphabet (see :data:`_DOC`)."""

    def method(
        weight,
        device: Device,
        circuit: Circuit,
        *,
        bits: int = 2,
        bias=None,
        bias_duty: float = 1.0,
        seed=None,
        reads: str = "event",
        pcsa: dict[str, float] | None = None,
        threshold: float = 0.7,
        sigma_lrs: float | None = None,
        sigma_hrs: float | None = None,
    ) -> SenseMapping:
        return _sense_mapping(
            encoding,
            weight,
            device,
            circuit,
            bias,
            bias_duty,
            seed,
            reads,
            pcsa,
            threshold,
            (sigma_lrs, sigma_hrs),
        )

    values = "{−1, 0, +1}" if encoding == "ternary" else "{−1, +1}"
    method.__name__ = method.__qualname__ = f"{encoding}_2t2r"
    method.__doc__ = f"Map a layer onto 2T2R pairs read by a PCSA, {encoding} weights.\n" + (
        _DOC.format(values=values)
    )
    return register(f"{encoding}_2t2r")(method)


ternary_2t2r = _method("ternary")
binary_2t2r = _method("binary")
