"""The pipeline from a config file: load or train → convert → map → simulate → save.

:func:`load_config` validates a TOML run configuration into :class:`RunConfig`; :func:`run`
executes it and returns a :class:`RunOutcome` (metrics, spiking result, HDF5 file and figure).
"""

from snn_rram.errors import install_excepthook
from snn_rram.experiments.config import RunConfig, load_config, parse_config
from snn_rram.experiments.pipeline import RunOutcome, prepare, run

install_excepthook()  # after Brian2 was imported (by the pipeline): our errors stay ours

__all__ = ["RunConfig", "RunOutcome", "load_config", "parse_config", "prepare", "run"]
