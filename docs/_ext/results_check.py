"""Sphinx extension: every name the result writer writes is described on ``guide/results.md``.

At ``builder-inited`` a small result file is written with :func:`snn_rram.results.save` (a dense
and a sparse layer, with energies; spikes; the required and standard metrics; an extra
attribute; a device card where the writer takes one) into a temporary folder and walked with
h5py. Every group, dataset and attribute name in it must appear in backquotes on the page;
each one that does not is a warning (an error with ``-W``), so the hand-written format page
cannot fall behind the writer. Names the check chose itself (``dense``, ``sparse``, ``input``,
``run_label``) are not required.
"""

from __future__ import annotations

import inspect
import tempfile
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Names this check gives its own layers, populations and extra attribute.
OWN_NAMES = {"dense", "sparse", "input", "run_label"}
PAGE = "guide/results.md"


def written_names(folder: Path) -> set[str]:
    """Every group, dataset and attribute name of a small file written by ``results.save``."""
    import h5py
    import numpy as np
    import scipy.sparse as sp

    from snn_rram import results

    G = np.full((3, 2), 1e-6)
    layers = [
        results.LayerRecord(
            name="dense",
            conductances=G,
            device_energy=G * 1e-9,
            read_counts=[2, 1, 0],
            neuron_energy=[1e-12, 1e-12],
            row_input=[0, 1, -1],
            readout=np.array([[1.0], [-1.0]]),
            mapping="linear_pair",
            device="default",
            mapping_report={"n_levels": 7},
        ),
        results.LayerRecord(
            name="sparse",
            conductances=sp.csr_matrix(G),
            device_energy=sp.csr_matrix(G * 1e-9),
            read_counts=[1, 1, 1],
            neuron_energy=None,
            row_input=[0, 1, 2],
            readout=sp.eye(2, format="csr"),
            mapping="linear_pair",
            device="default",
        ),
    ]
    spikes = {"input": results.SpikeRecord([0.01, 0.12], [0, 1], 2, 0.1)}
    # the required and the standard metrics; the total is the layers' device energies
    counts = np.zeros((2, 2), dtype=np.int64)
    metrics = {"n_images": 2, "snn_accuracy": 0.5, "simulated_time": 0.2, "counts": counts}
    metrics.update(predictions=np.array([0, 1]), labels=np.array([0, 0]), ann_accuracy=1.0)
    metrics.update(total_device_energy=2e-9 * float(G.sum()), average_power_per_synapse=1e-9)
    kwargs = {}
    if "device_card" in inspect.signature(results.save).parameters:
        kwargs["device_card"] = 'name = "default"\n'
    path = results.save(
        folder / "check.h5",
        config_text='[network]\nweights = "w.npz"\n',
        weights_sha256="0" * 64,
        layers=layers,
        spikes=spikes,
        metrics=metrics,
        extra_attrs={"run_label": "docs check"},
        **kwargs,
    )
    names: set[str] = set()

    def visit(name, node):
        names.add(name.rsplit("/", 1)[-1])
        names.update(node.attrs.keys())

    with h5py.File(path, "r") as f:
        names.update(f.attrs.keys())
        f.visititems(visit)
    return names - OWN_NAMES


def check(app) -> None:
    """Warn for every written name the results page does not mention."""
    page = Path(app.srcdir) / PAGE
    text = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        names = written_names(Path(tmp))
    for name in sorted(names):
        if f"`{name}`" not in text:
            logger.warning(
                "the result writer writes %r, which %s does not describe",
                name,
                PAGE,
                location=PAGE.removesuffix(".md"),
            )


def setup(app):
    """Register the check."""
    app.connect("builder-inited", check)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
