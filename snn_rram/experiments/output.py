"""Writing a run's HDF5 result file and figure."""

from __future__ import annotations

import json

from snn_rram import results
from snn_rram.plot import plot_run_summary, save_figure

__all__ = ["write_outputs"]


def write_outputs(outcome, prep) -> None:
    """Write ``<directory>/<name>.h5`` (and ``.png``) for a finished run; sets their paths."""
    cfg = outcome.config
    out_dir = cfg.output_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    res = outcome.result
    layers, spikes = [], {}
    sp_ = prep.spikes
    spikes["input"] = results.SpikeRecord(sp_.times, sp_.indices, sp_.n_inputs, res.image_duration)
    for conv, m, layer in zip(prep.converted.layers, outcome.mappings, res.layers, strict=True):
        x = m.crossbar
        layers.append(
            results.LayerRecord(
                name=conv.name,
                conductances=x.G,
                device_energy=layer.device_energy,
                read_counts=layer.read_counts,
                neuron_energy=layer.neuron_energy,
                row_input=x.layout.row_input,
                readout=x.layout.readout,
                mapping=cfg.mapping.method,
                device=x.device.name,
                mapping_report=m.report,
            )
        )
        spikes[conv.name] = results.SpikeRecord(
            layer.spike_times, layer.spike_indices, x.layout.n_neurons, res.image_duration
        )
    metrics = {k: v for k, v in outcome.metrics.items() if isinstance(v, int | float)}
    metrics.update(counts=res.counts, predictions=res.predictions, labels=outcome.labels)
    path = out_dir / f"{cfg.output.name}.h5"
    outcome.path = results.save(
        path,
        config_text=cfg.to_toml(),
        weights_sha256=prep.weights_sha256,
        device_card=prep.device_card,
        layers=layers,
        spikes=spikes,
        metrics=metrics,
        extra_attrs={
            "weights_file": cfg.network.weights,
            "target": cfg.simulation.target,
            "warnings": json.dumps(prep.warnings),
        },
    )
    if cfg.output.figure:
        m = outcome.metrics
        title = (
            f"{cfg.output.name}: {cfg.mapping.method}, {cfg.mapping.bits} bits, device "
            f"{cfg.device.card} — ANN {m['ann_accuracy']:.3f}, SNN {m['snn_accuracy']:.3f}"
        )
        fig = plot_run_summary(res, outcome.labels, title=title)
        outcome.figure = save_figure(fig, out_dir / f"{cfg.output.name}.png")
