"""Writing a run's HDF5 result file and figure (spiking and analog runs)."""

from __future__ import annotations

import json

from snn_rram import results
from snn_rram.plot import plot_analog_summary, plot_run_summary, save_figure

__all__ = ["write_analog_outputs", "write_outputs"]


def _layer_record(cfg, conv, m, **arrays) -> results.LayerRecord:
    x = m.crossbar
    return results.LayerRecord(
        name=conv.name,
        conductances=x.G,
        row_input=x.layout.row_input,
        readout=x.layout.readout,
        mapping="as_trained" if "as_trained" in m.report else cfg.mapping.method,
        device=x.device.name,
        mapping_report=m.report,
        **arrays,
    )


def _save(outcome, prep, layers, spikes, metrics, attrs, mode) -> None:
    """Write ``<directory>/<name>.h5`` with the run's provenance; sets ``outcome.path``."""
    cfg = outcome.config
    out_dir = cfg.output_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    scalars = {k: v for k, v in outcome.metrics.items() if isinstance(v, int | float)}
    outcome.path = results.save(
        out_dir / f"{cfg.output.name}.h5",
        config_text=cfg.to_toml(),
        weights_sha256=prep.weights_sha256,
        device_card=prep.device_card,
        layers=layers,
        spikes=spikes,
        metrics={**scalars, **metrics},
        extra_attrs={
            "weights_file": cfg.network.weights,
            **attrs,
            "warnings": json.dumps(prep.warnings),
        },
        mode=mode,
    )


def write_outputs(outcome, prep) -> None:
    """Write ``<directory>/<name>.h5`` (and ``.png``) for a finished run; sets their paths."""
    cfg = outcome.config
    res = outcome.result
    layers, spikes = [], {}
    sp_ = prep.spikes
    spikes["input"] = results.SpikeRecord(sp_.times, sp_.indices, sp_.n_inputs, res.image_duration)
    for conv, m, layer in zip(prep.converted.layers, outcome.mappings, res.layers, strict=True):
        layers.append(
            _layer_record(
                cfg,
                conv,
                m,
                device_energy=layer.device_energy,
                read_counts=layer.read_counts,
                neuron_energy=layer.neuron_energy,
            )
        )
        spikes[conv.name] = results.SpikeRecord(
            layer.spike_times, layer.spike_indices, m.crossbar.layout.n_neurons, res.image_duration
        )
    arrays = {"counts": res.counts, "predictions": res.predictions, "labels": outcome.labels}
    attrs = {"target": cfg.simulation.target}
    _save(outcome, prep, layers, spikes, arrays, attrs, "spiking")
    if cfg.output.figure:
        m = outcome.metrics
        title = (
            f"{cfg.output.name}: {cfg.mapping.method}, {cfg.mapping.bits} bits, device "
            f"{cfg.device.card} — ANN {m['ann_accuracy']:.3f}, SNN {m['snn_accuracy']:.3f}"
        )
        fig = plot_run_summary(res, outcome.labels, title=title)
        outcome.figure = save_figure(fig, cfg.output_dir() / f"{cfg.output.name}.png")


def write_analog_outputs(outcome, mapped) -> None:
    """Write the result file (and figure) of an analog run; sets their paths.

    The layout of :func:`write_outputs` where it applies: layers with their per-device and
    per-column energies summed over the images (absent without ``simulation.energy``) and
    ``read_counts`` (reads at a non-zero voltage), no spikes; metrics ``outputs`` (sensed
    outputs per image), ``predictions``, ``labels`` and ``device_energy_per_image``.
    """
    cfg = outcome.config
    res = outcome.result
    energy = cfg.simulation.energy
    layers = [
        _layer_record(
            cfg,
            conv,
            m,
            device_energy=res.synapse_energy[k] if energy else None,
            read_counts=res.read_counts[k],
            neuron_energy=res.neuron_energy[k] if energy else None,
        )
        for k, (conv, m) in enumerate(zip(mapped.converted.layers, outcome.mappings, strict=True))
    ]
    arrays = {"outputs": res.output, "predictions": res.predict(), "labels": outcome.labels}
    if energy:
        arrays["device_energy_per_image"] = res.device_energy
    _save(outcome, mapped, layers, {}, arrays, {}, "analog")
    if cfg.output.figure:
        m = outcome.metrics
        a = cfg.analog
        title = (
            f"{cfg.output.name} (analog): {cfg.mapping.method}, {cfg.mapping.bits} bits, device "
            f"{cfg.device.card}, DAC {a.dac_bits or 'ideal'}, ADC {a.adc_bits or 'ideal'} — "
            f"ANN {m['ann_accuracy']:.3f}, analog {m['analog_accuracy']:.3f}"
        )
        fig = plot_analog_summary(res, outcome.labels, title=title)
        outcome.figure = save_figure(fig, cfg.output_dir() / f"{cfg.output.name}.png")
