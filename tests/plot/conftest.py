"""Real inputs for the figure tests: a small run file, a sweep summary, closing figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from snn_rram import ann


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def write_run_config(folder, weights, name="run"):
    """A tiny pipeline run: 3 images of 20 ms on the numpy target, no figure."""
    text = (
        f'[network]\nweights = "{weights}"\n'
        "[data]\nn_images = 3\nn_calibration = 50\n"
        '[simulation]\ntarget = "numpy"\nprogress = false\n'
        '[encoder]\nmax_rate = "200 Hz"\nimage_duration = "20 ms"\n'
        "[mapping]\nmethod = 'linear_pair'\nbits = 3\n"
        f'[output]\ndirectory = "{folder}"\nname = "{name}"\nfigure = false\n'
    )
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def run_file(tmp_path_factory):
    """A real result file of the pipeline (784-8-10 MLP with random weights, numpy target)."""
    from snn_rram.experiments import load_config, run

    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    net = ann.Network(
        [
            ann.Dense(rng.normal(0, 0.05, (8, 784))),
            ann.ReLU(),
            ann.Dense(rng.normal(0, 0.3, (10, 8))),
        ],
        (784,),
    )
    weights = folder / "mlp.npz"
    ann.save(net, weights)
    outcome = run(load_config(write_run_config(folder, weights)))
    return outcome.path


@pytest.fixture(scope="session")
def sweep_dir(tmp_path_factory, run_file):
    """A sweep summary written by the sweep code: real points, made-up metrics, one failure."""
    from snn_rram.sweep import load_sweep
    from snn_rram.sweep.summary import write_summary

    folder = tmp_path_factory.mktemp("sweep")
    (folder / "sweep.toml").write_text(
        f'base = "{run_file.with_suffix(".toml")}"\ndirectory = "{folder / "out"}"\n'
        'name = "tiny"\nrepeats = 2\n'
        '[grid]\n"mapping.method" = ["linear_pair", "min_error"]\n"mapping.bits" = [2, 3, 4]\n'
    )
    spec = load_sweep(folder / "sweep.toml")
    rows = []
    for k, p in enumerate(spec.points()):
        row = {"key": p.key, **p.axes}
        if k == len(spec.points()) - 1:
            row.update(status="failed", error="RuntimeError: boom")
        else:
            bits = p.axes["mapping.bits"]
            better = p.axes["mapping.method"] == "min_error"
            row.update(
                status="done",
                snn_accuracy=0.5 + 0.1 * bits + 0.05 * better + 0.01 * p.axes["repeat"],
                average_power_per_synapse=1e-9 * (1 + bits) * (1 + 0.1 * p.axes["repeat"]),
            )
        rows.append(row)
    write_summary(spec, rows)
    return spec.directory
