"""An analog (amplitude-coded) network: mapped crossbars read with input-proportional voltages.

The crossbars of a converted network, each read with row voltages proportional to its inputs,
and the digital periphery between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from snn_rram import ann, mapping
from snn_rram._validation import as_array, as_rng, as_scalar
from snn_rram.analog.periphery import adc, check_bits, dac
from snn_rram.crossbar import ALWAYS_ON, Circuit, ReadResult
from snn_rram.devices import Device
from snn_rram.errors import SnnRramError

__all__ = ["AnalogNetwork", "AnalogResult", "default_adc_range"]


@dataclass(frozen=True, eq=False)
class AnalogResult:
    """The outcome of :meth:`AnalogNetwork.forward` on a batch of images.

    Attributes
    ----------
    output : numpy.ndarray, shape (n_images, n_outputs)
        The last layer's sensed outputs in normalised units (as
        :meth:`snn_rram.ann.ConvertedNetwork.forward`; times the last layer's ``scale`` they
        are the ANN's logits).
    device_energy : numpy.ndarray, shape (n_images, n_layers)
        Energy dissipated in the devices of each layer's crossbar per image, J
        (device power × read time, the read time being the circuit's ``pulse_width``).
    driver_energy : numpy.ndarray, shape (n_images, n_layers)
        Energy the row drivers deliver per image and layer, J (devices + neuron inputs +
        wires): ``Σ_i V_i · I_i`` × read time.
    synapse_energy : list of numpy.ndarray or scipy.sparse.csr_matrix, (n_rows, n_cols) each
        Energy of every device of each layer, summed over the images of the batch, J (empty
        unless asked for: ``forward(x, synapse_energy=True)``).
    reads : list of ReadResult
        The batched read of each layer (row voltages, column voltages, neuron currents, ...);
        empty when the images were read in several batches (``forward(x, batch_size=…)``).
    neuron_energy : list of numpy.ndarray, (n_cols,) each
        Energy dissipated in each column's neuron input (``V_j² / R_N`` × read time) of each
        layer, summed over the images, J.
    read_counts : list of numpy.ndarray of int64, (n_rows,) each
        Reads in which each physical row of each layer was driven at a non-zero voltage.
    """

    output: np.ndarray
    device_energy: np.ndarray
    driver_energy: np.ndarray
    synapse_energy: list
    reads: list
    neuron_energy: list = field(default_factory=list)
    read_counts: list = field(default_factory=list)

    def predict(self) -> np.ndarray:
        """Arg-max class of each image, (n_images,)."""
        return np.argmax(self.output, axis=1)

    @property
    def energy_per_inference(self) -> float:
        """Mean device energy of one image over all layers, J."""
        return float(self.device_energy.sum(axis=1).mean())


def _per_layer(value, n: int, name: str, check) -> list:
    """One value for every layer, or a sequence of n of them."""
    if value is None or np.isscalar(value):
        return [check(value, name) for _ in range(n)]
    values = list(value)
    if len(values) != n:
        raise SnnRramError(f"{name}: expected one value or {n} (one per layer), got {len(values)}")
    return [check(v, f"{name}[{k}]") for k, v in enumerate(values)]


def _positive_or_none(value, name):
    return None if value is None else as_scalar(value, name, positive=True)


def default_adc_range(converted: ann.ConvertedNetwork, calibration_x) -> list:
    """The default ADC full scale of every layer, in normalised units.

    ``None`` (the constructor's 1) for every layer but the output layer, whose full scale is the
    largest absolute output of the rate model (:meth:`snn_rram.ann.ConvertedNetwork.forward`)
    on the calibration inputs (1 when they are all 0).
    """
    x = np.asarray(calibration_x, dtype=np.float64).reshape(len(calibration_x), -1)
    top = float(np.max(np.abs(converted.forward(x)), initial=0.0)) or 1.0
    return [None] * (len(converted.layers) - 1) + [top]


class AnalogNetwork:
    """Analog inference of a converted network on the crossbars it was mapped to.

    Layer ``l`` with normalised inputs ``a`` (1 = full scale) drives the physical rows of
    input ``k`` at ``v_read · DAC(a_k)`` and its always-on (bias) rows at ``bias_voltage``;
    :meth:`Crossbar.read` with those row voltages gives the neuron currents, the layout's
    readout their signed sums ``I`` (``I+ − I−`` of differential pairs); the periphery senses
    ``ADC(s_l · I)`` with the per-layer output scale ``s_l`` and applies the ReLU. The default
    ``s_l = 1 / (v_read · g_per_weight)`` makes an ideal read (linear devices, ideal virtual
    ground) reproduce the rate model ``W̃ a + b̃`` of the mapped weights exactly; the DAC's
    clipping at full scale is the analog counterpart of the spiking network's maximum rate.

    Parameters
    ----------
    converted : snn_rram.ann.ConvertedNetwork
        The normalised network (which layers have a ReLU, their names and scales).
    mappings : sequence of snn_rram.mapping.Mapping
        One per converted layer, in order (any mapping method): those of the spiking network
        too (give their ``bias_duty``).
    dac_bits : int, optional
        Resolution of the row DACs (``None``: ideal).
    adc_bits : int or sequence of int, optional
        Resolution of the output ADCs, per layer or for all (``None``: ideal, no clipping).
    adc_range : float or sequence of float, optional
        ADC full scale in normalised units, per layer or for all. Default 1 for layers with a
        ReLU (larger values saturate the next DAC anyway) and, for the output layer, the
        largest absolute output of the rate model on calibration data
        (:meth:`from_network`), else 1.
    output_scale : float or sequence of float, optional
        Sense gain ``s_l`` from neuron current to normalised output, 1/A, per layer
        (default ``1 / (v_read · g_per_weight)``; :meth:`calibrate` fits it on data).
    bias_voltage : float, optional
        Voltage of the always-on rows, V (default ``v_read / bias_duty``).
    bias_duty : float
        The ``bias_duty`` the mappings scaled the bias rows by (the spiking pipeline maps with
        ``max_rate · pulse_width``; :meth:`from_network` with 1). The default bias voltage
        ``v_read / bias_duty`` restores the biases exactly for ideal reads of linear cells; on
        nonlinear cells a bias row above full scale sits at another point of the I–V.

    Examples
    --------
    >>> import numpy as np
    >>> from snn_rram import ann, devices
    >>> from snn_rram.analog import AnalogNetwork
    >>> from snn_rram.crossbar import Circuit
    >>> rng = np.random.default_rng(0)
    >>> net = ann.Network([ann.Dense(rng.normal(size=(3, 4)), np.zeros(3))], input_shape=(4,))
    >>> x = rng.random((5, 4))
    >>> analog = AnalogNetwork.from_network(
    ...     net, x, devices.load("ideal"), Circuit(0.2, 1e-6, 0.0), bits=8)
    >>> analog.forward(x).output.shape
    (5, 3)
    """

    def __init__(
        self,
        converted: ann.ConvertedNetwork,
        mappings: Sequence[mapping.Mapping],
        *,
        dac_bits: int | None = None,
        adc_bits=None,
        adc_range=None,
        output_scale=None,
        bias_voltage: float | None = None,
        bias_duty: float = 1.0,
    ):
        if not isinstance(converted, ann.ConvertedNetwork):
            raise SnnRramError(
                f"converted: expected an snn_rram.ann.ConvertedNetwork, got {converted!r}"
            )
        mappings = list(mappings)
        n = len(converted.layers)
        if len(mappings) != n:
            raise SnnRramError(
                f"mappings: expected one per converted layer ({n}), got {len(mappings)}"
            )
        for k, (layer, m) in enumerate(zip(converted.layers, mappings, strict=True)):
            if not isinstance(m, mapping.Mapping):
                raise SnnRramError(
                    f"mappings[{k}]: expected an snn_rram.mapping.Mapping, got {m!r}"
                )
            lay = m.crossbar.layout
            if (lay.n_inputs, lay.n_neurons) != (layer.n_inputs, layer.n_outputs):
                raise SnnRramError(
                    f"mappings[{k}]: maps {lay.n_inputs} inputs to {lay.n_neurons} neurons, but "
                    f"layer {layer.name!r} has {layer.n_inputs} inputs and {layer.n_outputs} "
                    "outputs"
                )
        self.converted = converted
        self.mappings = mappings
        self.dac_bits = check_bits(dac_bits, "dac_bits")
        self.adc_bits = _per_layer(adc_bits, n, "adc_bits", check_bits)
        ranges = _per_layer(adc_range, n, "adc_range", _positive_or_none)
        self.adc_range = [1.0 if r is None else r for r in ranges]
        if output_scale is None:
            scales = [1.0 / (m.crossbar.circuit.v_read * m.g_per_weight) for m in mappings]
        else:
            scales = _per_layer(output_scale, n, "output_scale", _positive_or_none)
        self.output_scale = [float(s) for s in scales]
        self.bias_voltage = (
            None if bias_voltage is None else as_scalar(bias_voltage, "bias_voltage", "volt")
        )
        self.bias_duty = as_scalar(bias_duty, "bias_duty", positive=True)
        if self.bias_duty > 1:
            raise SnnRramError(f"bias_duty: a fraction of time in (0, 1], got {self.bias_duty}")

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_network(
        cls,
        network: ann.Network,
        calibration_x,
        device: Device,
        circuit: Circuit,
        *,
        method: str | Callable = "linear_pair",
        bits: int,
        seed=None,
        percentile: float = 99.9,
        options: dict | None = None,
        **periphery,
    ) -> AnalogNetwork:
        """Convert, map every layer (bias rows at duty 1) and build the analog network.

        Parameters
        ----------
        network : snn_rram.ann.Network
        calibration_x : array_like
            Inputs in [0, 1] for the normalisation (:func:`snn_rram.ann.convert`) and the
            output layer's default ADC range.
        device, circuit
            The cells and how the arrays are read.
        method : str or callable
            A mapping method (name in :func:`snn_rram.mapping.available`, or the function).
        bits : int
            Weight quantisation bits of the mapping.
        seed : int or numpy.random.Generator, optional
            Programming variation (required when the device has any).
        percentile : float
            Normalisation percentile (:func:`snn_rram.ann.convert`).
        options : dict, optional
            Further keyword arguments of the mapping method.
        **periphery
            ``dac_bits``, ``adc_bits``, ``adc_range``, ``output_scale``, ``bias_voltage``
            (bias rows are mapped at duty 1).
        """
        converted = ann.convert(network, calibration_x, percentile=percentile)
        fn = mapping.get(method) if isinstance(method, str) else method
        rng = as_rng(seed, "seed") if seed is not None else None
        mappings = [
            fn(
                layer.weight,
                device,
                circuit,
                bits=bits,
                bias=layer.bias,
                bias_duty=1.0,
                seed=rng,
                **(options or {}),
            )
            for layer in converted.layers
        ]
        if periphery.get("adc_range") is None:
            periphery["adc_range"] = default_adc_range(converted, calibration_x)
        return cls(converted, mappings, **periphery)

    @property
    def n_layers(self) -> int:
        """Number of crossbar layers."""
        return len(self.mappings)

    @property
    def crossbars(self) -> list:
        """The crossbar of every layer."""
        return [m.crossbar for m in self.mappings]

    def row_voltages(self, k: int, a: np.ndarray) -> np.ndarray:
        """Row voltages of layer ``k`` for normalised inputs ``a`` (n, n_inputs), V."""
        xbar = self.mappings[k].crossbar
        v_read = xbar.circuit.v_read
        rows = xbar.layout.row_input
        driven = rows != ALWAYS_ON
        bias_v = v_read / self.bias_duty if self.bias_voltage is None else self.bias_voltage
        code = dac(a, self.dac_bits)
        V = np.empty((a.shape[0], rows.size))
        V[:, ~driven] = bias_v
        n = a.shape[1]
        if rows.size >= n and np.array_equal(rows[:n], np.arange(n)) and not driven[n:].any():
            np.multiply(code, v_read, out=V[:, :n])  # one row per input, in order (no gather)
        else:
            V[:, driven] = v_read * code[:, rows[driven]]
        return V

    def _inputs(self, x) -> np.ndarray:
        a = as_array(x, "x")
        if a.ndim < 1 or a.shape[0] == 0:
            raise SnnRramError(f"x: expected a batch of inputs, got shape {a.shape}")
        a = a.reshape(a.shape[0], -1)
        if a.shape[1] != self.converted.input_size:
            raise SnnRramError(
                f"x: expected {self.converted.input_size} input values per image, got {a.shape[1]}"
            )
        if (a < 0).any() or (a > 1).any():
            raise SnnRramError("x: inputs must lie in [0, 1] (fractions of the DAC full scale)")
        return a

    # -- inference ------------------------------------------------------------------------------

    def forward(
        self, x, *, rng=None, synapse_energy: bool = False, batch_size: int | None = None
    ) -> AnalogResult:
        """Analog inference of a batch of images, vectorised over the images.

        Parameters
        ----------
        x : array_like, shape ``(n, input_size)`` or ``(n, *input_shape)``
            Inputs in [0, 1].
        rng : int or numpy.random.Generator, optional
            Read noise of the devices (per device and read), when the device has any.
        synapse_energy : bool
            Also sum the energy of every device over the images (``synapse_energy``; as costly
            as the read itself for linear and sinh cells, so off by default).
        batch_size : int, optional
            Read at most this many images at once (memory grows with the batch: for cells or
            circuits without a matrix-product path, such as wires, as batch × devices); the
            result is the same as one batch, without ``reads``. Default: all at once.

        Returns
        -------
        AnalogResult
        """
        a = self._inputs(x)
        gen = None if rng is None else as_rng(rng, "rng")
        n = a.shape[0]
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int | np.integer)
            or batch_size < 1
        ):
            raise SnnRramError(
                f"batch_size: expected None or a positive integer, got {batch_size!r}"
            )
        if batch_size is None or batch_size >= n:
            return self._forward(a, gen, synapse_energy)
        parts = [
            self._forward(a[i : i + batch_size], gen, synapse_energy)
            for i in range(0, n, batch_size)  # a few batches, vectorised inside
        ]
        total = [sum(ps) for ps in zip(*(p.synapse_energy for p in parts), strict=True)]
        return AnalogResult(
            np.concatenate([p.output for p in parts]),
            np.concatenate([p.device_energy for p in parts]),
            np.concatenate([p.driver_energy for p in parts]),
            total,
            [],
            [sum(ps) for ps in zip(*(p.neuron_energy for p in parts), strict=True)],
            [sum(ps) for ps in zip(*(p.read_counts for p in parts), strict=True)],
        )

    def _forward(self, a: np.ndarray, gen, synapse_energy: bool) -> AnalogResult:
        """:meth:`forward` of checked inputs in one batch."""
        n = a.shape[0]
        dev_e = np.empty((n, self.n_layers))
        drv_e = np.empty((n, self.n_layers))
        syn_e, reads, neuron_e, counts = [], [], [], []
        for k, (layer, m) in enumerate(zip(self.converted.layers, self.mappings, strict=True)):
            xbar = m.crossbar
            V = self.row_voltages(k, a)
            res: ReadResult = xbar.read(row_voltage=V, rng=gen)
            t = xbar.circuit.pulse_width
            driver = res.total_power
            drv_e[:, k] = driver * t
            neuron = res.neuron_power
            # power balance: the devices take what the drivers give minus the neuron inputs and
            # the wires (exact, and it needs no (n, n_rows, n_cols) array)
            dev_e[:, k] = (driver - neuron.sum(axis=1) - res.wire_power) * t
            neuron_e.append(neuron.sum(axis=0) * t)
            counts.append(np.count_nonzero(V, axis=0).astype(np.int64))
            if synapse_energy:
                syn_e.append(res.device_power_sum() * t)
            reads.append(res)
            out = adc(res.output() * self.output_scale[k], self.adc_bits[k], self.adc_range[k])
            a = np.maximum(out, 0.0) if layer.relu else out
        return AnalogResult(a, dev_e, drv_e, syn_e, reads, neuron_e, counts)

    def predict(self, x, *, rng=None) -> np.ndarray:
        """Arg-max class of each image."""
        return self.forward(x, rng=rng).predict()

    def calibrate(self, x, *, level: float = 1.0) -> AnalogNetwork:
        """A copy whose per-layer output scales are fitted on calibration inputs ``x``.

        Layer by layer (each fed by the calibrated layers before it), the scale ``s_l`` is the
        least-squares fit of ``s_l · I`` to the rate model's pre-activations ``W̃ a + b̃`` of
        the same inputs (the converted weights): a per-layer gain that absorbs the average
        bend of the device's I–V and the columns' voltage division, as ``ann.convert``
        normalises each layer for the spiking network.

        ``level`` (in (0, 1]) puts the hidden layers' outputs at that fraction of the rate
        model's (the next layer's rows at ``level`` of full scale, in the milder part of a
        nonlinear I–V): the targets are ``level · (W̃ a / level_in + b̃)``, ``level_in`` the
        level of the layer's inputs (1 for the network's inputs); the output layer's level is 1.
        """
        lev = as_scalar(level, "level", positive=True)
        if lev > 1:
            raise SnnRramError(f"level: expected a fraction of full scale in (0, 1], got {lev}")
        a = self._inputs(x)
        scales = []
        level_in = 1.0
        for k, (layer, m) in enumerate(zip(self.converted.layers, self.mappings, strict=True)):
            current = m.crossbar.read(row_voltage=self.row_voltages(k, a)).output()
            d = dac(a, self.dac_bits)
            level_out = lev if k < self.n_layers - 1 else 1.0
            target = np.asarray(layer.weight @ d.T).T / level_in
            if layer.bias is not None:
                target = target + layer.bias
            target = level_out * target
            level_in = level_out
            den = float(np.sum(current * current))
            s = float(np.sum(current * target)) / den if den > 0 else self.output_scale[k]
            if not s > 0:
                raise SnnRramError(
                    f"calibrate: layer {layer.name!r} sensed currents anti-correlated with "
                    "its targets; cannot fit a positive output scale"
                )
            scales.append(s)
            out = adc(current * s, self.adc_bits[k], self.adc_range[k])
            a = np.maximum(out, 0.0) if layer.relu else out
        return AnalogNetwork(
            self.converted,
            self.mappings,
            dac_bits=self.dac_bits,
            adc_bits=self.adc_bits,
            adc_range=self.adc_range,
            output_scale=scales,
            bias_voltage=self.bias_voltage,
            bias_duty=self.bias_duty,
        )

    def __repr__(self) -> str:
        sizes = " → ".join(str(layer.n_outputs) for layer in self.converted.layers)
        dev = self.mappings[0].crossbar.device.name
        return (
            f"AnalogNetwork({self.converted.input_size} → {sizes}, device={dev!r}, "
            f"dac_bits={self.dac_bits})"
        )
