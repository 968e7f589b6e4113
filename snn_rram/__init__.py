"""snn-rram: spiking neural networks whose synapses are RRAM devices in passive crossbars.

The package is layered (see ``DESIGN.md``): :mod:`snn_rram.devices` (one cell) →
:mod:`snn_rram.crossbar` (the array and its periphery) → :mod:`snn_rram.mapping`
(weights to conductances); :mod:`snn_rram.ann` (networks users bring);
:mod:`snn_rram.snn` (Brian2 simulation); experiments, sweeps and the command line on top.
"""

from snn_rram.errors import SnnRramError

__version__ = "0.1.0"

__all__ = ["SnnRramError", "__version__"]
