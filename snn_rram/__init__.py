"""snn-rram: spiking neural networks whose synapses are RRAM devices in passive crossbars.

The package is layered (see ``DESIGN.md``): :mod:`snn_rram.devices` (one cell) →
:mod:`snn_rram.crossbar` (the array and its periphery) → :mod:`snn_rram.mapping`
(weights to conductances); :mod:`snn_rram.ann` (networks users bring);
:mod:`snn_rram.snn` (Brian2 simulation); experiments, sweeps and the command line on top.
"""

from snn_rram.errors import SnnRramError, SnnRramWarning, install_excepthook

__version__ = "0.1.0"

__all__ = ["SnnRramError", "SnnRramWarning", "__version__"]

# Brian2 (imported by snn_rram.snn) claims every uncaught exception with its "unexpected error"
# banner and a debug log; the packages that import it call this again after importing it.
install_excepthook()
