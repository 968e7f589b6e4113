"""Train the ternary MLP of the spiking PCSA study (issue 15, section 4) and save it.

``python studies/ternary_snn_network.py`` writes ``models/networks/ternary_mlp_784_128_10.npz``
(native format, :func:`snn_rram.ann.native.save`): a 784-128-10 ternary MLP with batch
normalisation folded into per-neuron scales and biases, trained by
:func:`snn_rram.training.train_quantized` on the 4,000 training images of ``mnist_5k`` (20
epochs, seed 0, one torch thread). The sweep ``models/experiments/ternary_snn_study.toml`` runs
it through the PCSA path and through the passive array.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from snn_rram import datasets
from snn_rram.ann import native
from snn_rram.training import train_quantized


def main(argv=None) -> None:
    """Train and save the network (``--out`` folder, ``--epochs``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "models" / "networks")
    )
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    ds = datasets.load("mnist_5k")
    net, meta = train_quantized(
        ds.train_vectors(),
        np.asarray(ds.train_labels),
        ds.test_vectors(),
        np.asarray(ds.test_labels),
        alphabet="ternary",
        hidden=(128,),
        epochs=args.epochs,
        seed=0,
    )
    path = native.save(net, Path(args.out) / "ternary_mlp_784_128_10.npz")
    print(
        f"{path}: test accuracy {meta['test_accuracy']:.4f}, sparsity {meta['sparsity']}, "
        f"{meta['training_seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
