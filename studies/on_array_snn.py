"""The trained arrays of on-array training in the spiking network (issue 16 §3–4).

``python studies/on_array_snn.py RESULT.h5 [--images 200]`` takes an on-array training result
(:func:`snn_rram.training.save_on_array`, e.g. from ``studies/on_array_accuracy.py --out``),
saves its network next to it (``RESULT.npz``, :meth:`OnArrayResult.network`) and runs that
network through the ordinary pipeline with ``mapping.method = "trained"`` on the
``neurosim_realdevice`` card (linear reads, R_N = 1 kΩ by default): the arrays as trained, no
re-quantisation. It prints the trained (float-read) accuracy on the same images, the SNN
accuracy and the average power per synapse.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from snn_rram import ann, datasets
from snn_rram.experiments import load_config, run
from snn_rram.training import load_on_array


def main(argv=None) -> None:
    """Run the study (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("result")
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--duration", default="50 ms")
    p.add_argument("--target", default="numpy")
    args = p.parse_args(argv)
    path = Path(args.result).resolve()
    r = load_on_array(path)
    net = ann.save(r.network(), path.with_suffix(".npz"))
    text = (
        f'[network]\nweights = "{net}"\n'
        f"[data]\nn_images = {args.images}\nn_calibration = 500\n"
        f'[simulation]\ntarget = "{args.target}"\nprogress = false\n'
        f'[encoder]\nmax_rate = "200 Hz"\nimage_duration = "{args.duration}"\n'
        '[device]\ncard = "neurosim_realdevice"\n'
        f'[mapping]\nmethod = "trained"\noptions = {{file = "{path}"}}\n'
        f'[output]\ndirectory = "{path.parent}"\nname = "{path.stem}_snn"\nfigure = false\n'
    )
    cfg_path = path.with_name(f"{path.stem}_snn.toml")
    cfg_path.write_text(text)
    outcome = run(load_config(cfg_path))
    m = outcome.metrics
    ds = datasets.load("mnist_5k")
    y = ds.test_labels[: args.images]
    trained = float(np.mean(r.predict(ds.test_vectors()[: args.images]) == y))
    print(
        f"{path.name}: synapse={r.config.synapse} trained_accuracy={trained:.3f} "
        f"snn_accuracy={m['snn_accuracy']:.3f} "
        f"power_per_synapse_W={m['average_power_per_synapse']:.4g} images={args.images} "
        f"wall_s={m['wall_time']:.0f}"
    )


if __name__ == "__main__":
    main()
