"""The run pipeline: load (or train) → convert → map → simulate → save.

Every stage is a library call; this module only wires them from a :class:`RunConfig` and keeps
standalone builds for reuse: runs of the same network shape and input spikes share one compiled
Brian2 project, new conductances going in as run arguments. With ``simulation.mode =
"analog"`` the mapped crossbars are read by :class:`snn_rram.analog.AnalogNetwork` instead
(:func:`run_analog`, :mod:`snn_rram.experiments._analog`).
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from snn_rram import _resources, ann, datasets, devices, mapping, results, snn
from snn_rram.crossbar import Circuit
from snn_rram.errors import SnnRramError, SnnRramWarning
from snn_rram.experiments._sense import check_target, is_sense, sense_network
from snn_rram.experiments.config import RunConfig, level_warning

__all__ = ["RunOutcome", "map_network", "mapped_scales", "prepare", "run", "run_analog"]


@dataclass
class RunOutcome:
    """What a run produced.

    Attributes
    ----------
    metrics : dict
        ``ann_accuracy`` (float network), ``quantized_accuracy`` (numpy rate model with the
        mapped weights), ``snn_accuracy`` (spiking) or ``analog_accuracy`` (analog),
        ``total_device_energy`` (J), ``energy_per_inference`` (device energy per image, J),
        ``average_power_per_synapse`` (W), ``simulated_time`` (s), ``wall_time`` (s),
        ``build_s`` (network construction, s), ``compiled`` (1.0 when a standalone project was
        compiled for this run, 0.0 when one was reused), ...
    result : SnnResult or snn_rram.analog.AnalogResult
        The spiking network's result, or the analog network's (``simulation.mode``).
    mappings : list of Mapping
    path, figure : pathlib.Path or None
        The HDF5 file and PNG written (if any).
    """

    config: RunConfig
    metrics: dict
    result: snn.SnnResult
    mappings: list
    labels: np.ndarray
    path: Path | None = None
    figure: Path | None = None
    timings: dict = field(default_factory=dict)


def _log(cfg: RunConfig, message: str) -> None:
    if cfg.simulation.progress:
        print(f"[snn-rram] {message}", file=sys.stderr, flush=True)


def load_network(cfg: RunConfig):
    """The trained network of the config (trained first if asked and missing) and its hash."""
    net_cfg = cfg.network
    path = cfg.network_path()
    if not path.exists():
        if net_cfg.train_hidden is None:
            named = ""
            if _resources.is_name(net_cfg.weights):
                names = ", ".join(_resources.available("network"))
                named = f" (and no network named {net_cfg.weights!r}; bundled: {names})"
            raise SnnRramError(f"network.weights: file {str(path)!r} not found{named}")
        from snn_rram.ann import train

        _log(cfg, f"training an MLP {net_cfg.train_hidden} (torch) -> {path}")
        kwargs = {
            "seed": net_cfg.train_seed,
            "data": datasets.load(
                cfg.data.dataset,
                (None if cfg.data.path is None else cfg.resolve_path(cfg.data.path)),
            ),
            "dataset": cfg.data.dataset,
        }
        if net_cfg.train_epochs is not None:
            kwargs["epochs"] = net_cfg.train_epochs
        network, meta = train.train_mlp(tuple(net_cfg.train_hidden), **kwargs)
        path.parent.mkdir(parents=True, exist_ok=True)
        train.save_pretrained(network, meta, path)
    network = ann.load(path, format=net_cfg.format, input_shape=net_cfg.input_shape)
    return network, results.file_sha256(path)


def _dataset(cfg: RunConfig):
    d = cfg.data
    path = None if d.path is None else cfg.resolve_path(d.path)
    ds = datasets.load(d.dataset, path)
    if d.n_images > ds.n_test:
        raise SnnRramError(f"data.n_images: {d.n_images} asked, the test set has {ds.n_test}")
    if d.n_calibration > ds.n_train:
        raise SnnRramError(
            f"data.n_calibration: {d.n_calibration} asked, the training set has {ds.n_train}"
        )
    x = ds.test_vectors()[: d.n_images]
    y = np.asarray(ds.test_labels[: d.n_images], dtype=np.int64)
    calib = ds.train_vectors()[: d.n_calibration]
    return x, y, calib


def _card_path(cfg: RunConfig) -> Path:
    """The device card file of ``cfg`` (a path, or a name looked up like :func:`devices.load`)."""
    card = cfg.device.card
    if card.endswith(".toml"):
        return Path(cfg.resolve_path(card))
    cards = devices.list_cards()
    if card not in cards:
        raise SnnRramError(f"device.card: no device card named {card!r}")
    return cards[card]


def _device(cfg: RunConfig) -> tuple[devices.Device, str]:
    """The device of ``cfg`` and the card file's text (stored in the result as provenance)."""
    path = _card_path(cfg)
    dev = devices.load(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SnnRramError(f"device.card: cannot read {str(path)!r} ({exc})") from exc
    if cfg.device.variation:
        import dataclasses

        var = dataclasses.replace(dev.variation, **cfg.device.variation)
        dev = dataclasses.replace(dev, variation=var)
    return dev, text


def _circuit(cfg: RunConfig) -> Circuit:
    c = cfg.circuit
    return Circuit(
        c.v_read, c.pulse_width, c.r_neuron, c.inactive_rows, c.r_wire_row, c.r_wire_col
    )


def effective_forward(mappings, x) -> np.ndarray:
    """Rate model of the mapped network (nominal conductances, ideal reads)."""
    *_, out = _effective_activations(mappings, x)
    return out


def effective_activity(mappings, x) -> list[np.ndarray]:
    """Mean input of every mapped layer over ``x`` in the rate model of the mapped network.

    Per layer, shape ``(n_inputs,)``, a fraction of the maximum rate (not clipped).
    """
    return [a.mean(axis=0) for a in list(_effective_activations(mappings, x))[:-1]]


def _effective_activations(mappings, x):
    """The input, then every mapped layer's output, of :func:`effective_forward`."""
    a = np.asarray(x, dtype=np.float64)
    yield a
    for k, m in enumerate(mappings):
        a = _mapped_layer(m, a)
        if k + 1 < len(mappings):
            a = np.maximum(a, 0.0)
        yield a


def _mapped_layer(m, a) -> np.ndarray:
    """A mapped layer's output (before the ReLU) for inputs ``a`` in the rate model."""
    z = np.asarray(m.effective_weight @ a.T).T
    return z if m.effective_bias is None else z + m.effective_bias


def mapped_scales(mappings, calibration_x, percentile: float) -> list[float]:
    """Per layer, the robust maximum of the mapped network's normalised activations.

    The conversion normalises each layer to its float activations' ``percentile`` (1 = the
    maximum rate); the mapped arrays realise other weights, so the rate model of the mapped
    network (:func:`effective_forward`) reaches another value ``s_l``. Layer by layer, with the
    layers before already rescaled by theirs, ``s_l`` is the ``percentile`` of layer l's
    positive activations on ``calibration_x``; dividing a layer's input by ``s_l`` (its
    neurons' capacitance × ``s_l``) restores the conversion's scale.

    Raises
    ------
    SnnRramError
        A layer of the mapped network has no positive activation on the calibration images.
    """
    a = np.asarray(calibration_x, dtype=np.float64)
    scales = []
    for k, m in enumerate(mappings):
        z = _mapped_layer(m, a)
        positive = z[z > 0]
        if not positive.size:
            raise SnnRramError(
                f"conversion.normalise_on: layer {k} of the mapped network has no positive "
                "activation on the calibration images; cannot rescale it"
            )
        scales.append(float(np.percentile(positive, percentile)))
        a = np.maximum(z, 0.0) / scales[-1]
    return scales


def equal_read_power(mappings, result) -> float:
    """Device power per synapse if every row were read equally often, W.

    Each layer's rows are read, one at a time, with the layer's mean read duty in the run
    (reads × pulse width / time); always-on rows all the time. It tells circuit effects (which
    conductances, how distorted) from rate effects (which inputs were active how often).
    """
    total, n_syn = 0.0, 0
    for m, layer in zip(mappings, result.layers, strict=True):
        x = m.crossbar
        p = x.row_read_power(devices_only=True)
        driven = x.layout.row_input >= 0
        reads = layer.read_counts[driven].sum() * x.circuit.pulse_width
        duty = reads / (max(int(driven.sum()), 1) * result.duration)
        total += duty * p[driven].sum() + p[~driven].sum()
        n_syn += layer.n_synapses
    return total / n_syn


def rate_read_power(mappings, input_means, max_rate: float) -> float:
    """Device read power of the mapped layers in the rate model, W (summed over layers).

    Every row is read alone (:meth:`~snn_rram.crossbar.Crossbar.row_read_power`, devices only)
    at the duty of its input — its mean rate (``input_means`` of the layer, a fraction of
    ``max_rate``) times the pulse width, at most 1; always-on (bias) rows all the time.
    """
    total = 0.0
    for m, mean in zip(mappings, input_means, strict=True):
        xb = m.crossbar
        duty = np.ones(xb.n_rows)
        driven = xb.layout.row_input >= 0
        rate = np.clip(np.asarray(mean, dtype=np.float64), 0.0, 1.0) * max_rate
        duty[driven] = np.minimum(rate[xb.layout.row_input[driven]] * xb.circuit.pulse_width, 1)
        total += float(np.sum(duty * xb.row_read_power(devices_only=True)))
    return total


@dataclass
class Mapped:
    """The network on its crossbars, and the images: what both modes start from."""

    converted: ann.ConvertedNetwork
    mappings: list
    x: np.ndarray
    labels: np.ndarray
    calibration: np.ndarray
    metrics: dict
    weights_sha256: str
    device_card: str
    warnings: list[str] = field(default_factory=list)
    #: Keyword arguments of AnalogNetwork that the network brings (trained gains).
    periphery: dict = field(default_factory=dict)


@dataclass
class Prepared:
    """Everything before the simulation: the inputs of :class:`snn.SpikingNetwork`."""

    converted: ann.ConvertedNetwork
    mappings: list
    neurons: list
    spikes: snn.SpikeTrains
    labels: np.ndarray
    metrics: dict
    weights_sha256: str
    device_card: str
    warnings: list[str] = field(default_factory=list)


def distinct_weights(weight) -> int:
    """How many different values a layer's (nominal) weights take, to 1e-9 of the largest."""
    values = sp.csr_matrix(weight).data if sp.issparse(weight) else np.ravel(weight)
    top = float(np.max(np.abs(values), initial=0.0))
    if top == 0.0:
        return 1
    return int(np.unique(np.round(values / top, 9)).size)


def bias_duty(cfg: RunConfig) -> float:
    """The duty the always-on (bias) rows are mapped at.

    Spiking: ``max_rate · pulse_width`` (an always-on row delivers its current all the time, a
    weight of maximum rate only during its pulses). Analog: 1 (a read is one pulse, in which a
    bias row is driven like an input at full scale); the weight rows are the same in both
    modes.
    """
    if cfg.simulation.mode == "analog":
        return 1.0
    return min(1.0, cfg.encoder.max_rate * cfg.circuit.pulse_width)


def map_layers(cfg: RunConfig, converted, calib, device, circuit):
    """Every layer of ``converted`` onto crossbars with the config's mapping method.

    Parameters
    ----------
    cfg : RunConfig
        The run (``mapping`` section, the encoder's rate and the pulse width for bias duties).
    converted : snn_rram.ann.ConvertedNetwork
        The network to map.
    calib : numpy.ndarray
        Calibration images in [0, 1]: the input activity when ``mapping.activity`` is
        ``"calibration"``.
    device, circuit
        The card's device and the circuit.

    Returns
    -------
    mappings : list of snn_rram.mapping.Mapping
    notes : list of str
        The hardware warnings of the mapping (also shown as warnings), for the result file:
        bits beyond what the card's levels represent (with the distinct weights each layer
        realised), methods that did not converge.
    seconds : list of float
        Mapping time per layer, s.
    """
    method = mapping.get(cfg.mapping.method)
    duty = bias_duty(cfg)
    rng = np.random.default_rng(cfg.mapping.seed)
    takes_activity = "activity" in inspect.signature(method).parameters
    activity = [None] * len(converted.layers)
    if cfg.mapping.activity == "calibration" and takes_activity:
        activity = converted.input_activity(calib)
    mappings, seconds = [], []
    # warnings of the hardware (too many bits for the card, a mapping that did not converge)
    # are shown as usual and kept for the result file
    levels_note = level_warning(cfg.mapping.bits, device)
    notes = []
    for layer, act in zip(converted.layers, activity, strict=True):
        extra = {} if act is None else {"activity": act}
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = method(
                layer.weight,
                device,
                circuit,
                bits=cfg.mapping.bits,
                bias=layer.bias,
                bias_duty=duty,
                seed=rng,
                **extra,
                **cfg.mapping.options,
            )
        seconds.append(time.perf_counter() - t0)
        mappings.append(m)
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            if issubclass(w.category, SnnRramWarning | mapping.MappingWarning):
                notes.append(f"{layer.name}: {w.message}")
    if levels_note is not None:  # and what the mapping made of it
        realised = ", ".join(
            f"{layer.name} {distinct_weights(m.nominal_weight)}"
            for layer, m in zip(converted.layers, mappings, strict=True)
        )
        notes.insert(0, f"{levels_note}; distinct weights the mapping realised: {realised}")
        warnings.warn(notes[0], SnnRramWarning, stacklevel=3)
    fallback = cfg.mapping.fallback
    if fallback == "auto":
        fallback = "linear_pair" if cfg.mapping.method == "qwsm" else "none"
    if fallback == "linear_pair" and cfg.mapping.method != "linear_pair":
        mappings = _keep_the_better(cfg, converted, calib, device, circuit, mappings, notes)
    return mappings, notes, seconds


def _keep_the_better(cfg, converted, calib, device, circuit, mappings, notes):
    """``mappings``, or ``linear_pair``'s if those agree better with the converted network.

    Agreement: the fraction of calibration images whose class in the rate model of the mapped
    network (:func:`effective_forward`) is the converted network's. A tie goes to the mapping
    that draws less read power (:func:`rate_read_power` at its own mean inputs on the
    calibration images). The choice and both agreements are written into every layer's
    ``report["fallback"]`` and, on a fallback, into ``notes``.
    """
    plain = cfg.replace({"mapping.method": "linear_pair", "mapping.options": {}})
    with warnings.catch_warnings():  # the run's own mapping has said what there is to say
        warnings.simplefilter("ignore")
        base, _, _ = map_layers(plain, converted, calib, device, circuit)
    x = np.asarray(calib, dtype=np.float64).reshape(len(calib), -1)
    target = converted.predict(x)
    agree = [
        float(np.mean(np.argmax(effective_forward(ms, x), axis=1) == target))
        for ms in (mappings, base)
    ]
    power = [
        rate_read_power(ms, effective_activity(ms, x), cfg.encoder.max_rate)
        for ms in (mappings, base)
    ]
    keep = 0 if (agree[0], -power[0]) >= (agree[1], -power[1]) else 1
    record = {
        "kept": (cfg.mapping.method, "linear_pair")[keep],
        "agreement": agree[0],
        "agreement_linear_pair": agree[1],
        "images": len(x),
    }
    chosen = (mappings, base)[keep]
    for m in chosen:
        m.report["fallback"] = record
    if keep:
        notes.append(
            f"mapping: {cfg.mapping.method} fell back to linear_pair, whose network agrees "
            f"better with the converted one on the {len(x)} calibration images "
            f'({agree[1]:.3f} against {agree[0]:.3f}; mapping.fallback = "none" keeps '
            f"{cfg.mapping.method})"
        )
    return chosen


def map_network(cfg: RunConfig) -> Mapped:
    """Load, convert and map: the crossbars of every layer, the test and calibration images.

    ``metrics`` holds ``ann_accuracy``, ``quantized_accuracy`` and ``prepare_s``.
    """
    t0 = time.perf_counter()
    network, digest = load_network(cfg)
    x, y, calib = _dataset(cfg)
    ann_acc = float(np.mean(network.predict(x.reshape((len(x), *network.input_shape))) == y))
    (device, card_text), circuit = _device(cfg), _circuit(cfg)
    periphery, notes = {}, []
    if cfg.simulation.mode == "analog" and cfg.analog.sensing == "trained":
        from snn_rram.experiments._analog import trained_mapping

        converted, mappings, periphery = trained_mapping(cfg, cfg.network_path(), device, circuit)
    else:
        converted = ann.convert(network, calib, percentile=cfg.conversion.percentile)
        mappings, notes, _ = map_layers(cfg, converted, calib, device, circuit)
    q_acc = float(np.mean(np.argmax(effective_forward(mappings, x), axis=1) == y))
    metrics = {
        "ann_accuracy": ann_acc,
        "quantized_accuracy": q_acc,
        "prepare_s": time.perf_counter() - t0,
    }
    return Mapped(converted, mappings, x, y, calib, metrics, digest, card_text, notes, periphery)


def prepare(cfg: RunConfig) -> Prepared:
    """Load, convert and map: the spiking network's crossbars, neurons and input spikes."""
    t0 = time.perf_counter()
    mapped = map_network(cfg)
    circuit = _circuit(cfg)
    if cfg.conversion.normalise_on == "mapped":
        scales = mapped_scales(mapped.mappings, mapped.calibration, cfg.conversion.percentile)
    else:
        scales = [1.0] * len(mapped.mappings)
    neurons = []
    for m, scale in zip(mapped.mappings, scales, strict=True):
        # one spike through one unit of normalised weight = one threshold of charge (divided
        # by the layer's scale on the mapped network when normalising on it)
        charge = circuit.v_read * circuit.pulse_width * m.g_per_weight
        neurons.append(
            snn.IFNeuron(
                threshold=cfg.neuron.threshold,
                capacitance=charge * scale / cfg.neuron.threshold,
                reset=cfg.neuron.reset,
                refractory=cfg.neuron.refractory,
                leak_tau=cfg.neuron.leak_tau,
            )
        )
    enc_cfg = cfg.encoder
    encoder = snn.encoders.ENCODERS[enc_cfg.kind](
        max_rate=enc_cfg.max_rate, dead_time=cfg.circuit.pulse_width
    )
    spikes = encoder.encode(mapped.x, cfg.simulation.dt, enc_cfg.image_duration, enc_cfg.seed)
    metrics = {**mapped.metrics, "prepare_s": time.perf_counter() - t0}
    return Prepared(
        mapped.converted,
        mapped.mappings,
        neurons,
        spikes,
        mapped.labels,
        metrics,
        mapped.weights_sha256,
        mapped.device_card,
        mapped.warnings,
    )


_BUILDS: dict = {}


def _spiking_network(cfg: RunConfig, prep: Prepared) -> tuple[snn.SpikingNetwork, bool]:
    """A network for these crossbars, and whether it was compiled for them.

    Standalone builds are reused when the shape matches: in this process through run
    arguments, across processes through the build cache (``SpikingNetwork.reused_build``).
    """
    crossbars = [m.crossbar for m in prep.mappings]
    sim = cfg.simulation
    kwargs = {
        "energy": sim.energy,
        "target": sim.target,
        "column_solver": sim.column_solver,
        "report": "stdout" if sim.progress and sim.target == "cpp_standalone" else None,
    }
    if sim.target != "cpp_standalone":
        if sim.progress:
            kwargs["report"] = "text"
        return snn.SpikingNetwork(crossbars, prep.neurons, prep.spikes, **kwargs), False
    key = (
        hashlib.sha256(prep.spikes.indices.tobytes() + prep.spikes.steps.tobytes()).hexdigest(),
        tuple(
            (
                x.shape,
                x.is_sparse,
                x.device.read_model.to_dict().get("model"),
                x.circuit.pulse_width,
                x.circuit.inactive_rows,
                x.circuit.has_wires,
            )
            for x in crossbars
        ),
        tuple((n.reset, n.refractory, n.leak_tau is None) for n in prep.neurons),
        sim.energy,
        sim.column_solver,
        sim.dt,
    )
    net = _BUILDS.get(key)
    if net is not None and net.built:
        try:
            for k, x in enumerate(crossbars):
                net.set_crossbar(k, x)
            net.set_neurons(prep.neurons)
            return net, False
        except SnnRramError:
            pass
    net = snn.SpikingNetwork(crossbars, prep.neurons, prep.spikes, **kwargs)
    _BUILDS.clear()
    _BUILDS[key] = net
    return net, not net.reused_build


def run(cfg: RunConfig, *, save: bool = True) -> RunOutcome:
    """Run the whole pipeline of ``cfg``; writes the HDF5 result and figure when ``save``.

    ``simulation.mode`` decides the realisation: the spiking network (Brian2) or analog
    inference on the same crossbars (:func:`run_analog`).
    """
    if cfg.simulation.mode == "analog":
        return run_analog(cfg, save=save)
    t0 = time.perf_counter()
    _log(
        cfg,
        f"preparing: network {cfg.network.weights}, {cfg.data.n_images} images, "
        f"mapping {cfg.mapping.method} ({cfg.mapping.bits} bits), device {cfg.device.card}",
    )
    check_target(cfg)
    prep = prepare(cfg)
    _log(
        cfg,
        f"ANN accuracy {prep.metrics['ann_accuracy']:.4f}, quantised "
        f"{prep.metrics['quantized_accuracy']:.4f}; simulating with Brian2 "
        f"({cfg.simulation.target})",
    )
    t1 = time.perf_counter()
    if is_sense(prep.mappings):  # 2T2R pairs read by a PCSA: digital synapses
        net, compiled = sense_network(cfg, prep), False
    else:
        net, compiled = _spiking_network(cfg, prep)
    build = time.perf_counter() - t1
    result = net.run()
    for layer, conv in zip(result.layers, prep.converted.layers, strict=True):
        layer.name = conv.name
    metrics = dict(prep.metrics)
    metrics["snn_accuracy"] = result.accuracy(prep.labels)
    metrics["n_images"] = result.n_images
    metrics["simulated_time"] = result.duration
    metrics["n_synapses"] = sum(layer.n_synapses for layer in result.layers)
    if cfg.simulation.energy:
        metrics["total_device_energy"] = result.total_device_energy()
        metrics["energy_per_inference"] = metrics["total_device_energy"] / max(result.n_images, 1)
        metrics["average_power_per_synapse"] = result.average_power_per_synapse()
        metrics["total_neuron_energy"] = float(sum(np.sum(x.neuron_energy) for x in result.layers))
        if not is_sense(prep.mappings):
            metrics["equal_read_power_per_synapse"] = equal_read_power(prep.mappings, result)
    if is_sense(prep.mappings):
        metrics["sense_operations"] = sum(net.sense_operations)
    metrics["build_s"] = build
    metrics["compiled"] = float(compiled)
    metrics.update({k: v for k, v in result.timings.items()})
    return _finish(RunOutcome(cfg, metrics, result, prep.mappings, prep.labels), prep, t0, save)


def _finish(outcome: RunOutcome, source, t0: float, save: bool) -> RunOutcome:
    """Write the outputs of a finished run (``source``: its Prepared or Mapped), log, return."""
    from snn_rram.experiments import output

    cfg, metrics = outcome.config, outcome.metrics
    analog = cfg.simulation.mode == "analog"
    if save:
        (output.write_analog_outputs if analog else output.write_outputs)(outcome, source)
    metrics["wall_time"] = time.perf_counter() - t0
    if analog:
        text = f"analog accuracy {metrics['analog_accuracy']:.4f}"
        energy = ("device energy per inference", "energy_per_inference", "J")
    else:
        text = f"SNN accuracy {metrics['snn_accuracy']:.4f}"
        energy = ("average power per synapse", "average_power_per_synapse", "W")
    if cfg.simulation.energy:
        text += f", {energy[0]} {metrics[energy[1]]:.4g} {energy[2]}"
    _log(cfg, text)
    return outcome


def run_analog(cfg: RunConfig, *, save: bool = True) -> RunOutcome:
    """Run ``cfg`` in analog mode; writes the HDF5 result and figure when ``save``.

    The crossbars of :func:`map_network`, every test image read through them
    (:func:`snn_rram.experiments._analog.read_images`); ``result`` is the
    :class:`snn_rram.analog.AnalogResult`, the metrics hold ``analog_accuracy`` instead of
    ``snn_accuracy``.
    """
    from snn_rram.experiments._analog import read_images

    t0 = time.perf_counter()
    _log(
        cfg,
        f"preparing (analog): network {cfg.network.weights}, {cfg.data.n_images} images, "
        f"mapping {cfg.mapping.method} ({cfg.mapping.bits} bits), device {cfg.device.card}",
    )
    mapped = map_network(cfg)
    _log(
        cfg,
        f"ANN accuracy {mapped.metrics['ann_accuracy']:.4f}, quantised "
        f"{mapped.metrics['quantized_accuracy']:.4f}; analog inference",
    )
    result, analog = read_images(cfg, mapped)
    metrics = {**mapped.metrics, **analog}
    return _finish(
        RunOutcome(cfg, metrics, result, mapped.mappings, mapped.labels), mapped, t0, save
    )
