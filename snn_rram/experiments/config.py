"""The configuration of a run: TOML validated into frozen dataclasses.

Every section is a frozen dataclass; an unknown key, a missing required key, or a value of the
wrong type or unit is a :class:`~snn_rram.errors.SnnRramError` naming its dotted path
(``circuit.v_read``). Physical values are SI numbers, or strings with a unit and an optional SI
prefix: ``v_read = "200 mV"``, ``pulse_width = "0.1 ms"``, ``r_neuron = "1 kohm"``.

Example::

    [network]
    weights = "models/networks/mlp_784_256_10.npz"

    [data]
    dataset = "mnist_5k"
    n_images = 1000

    [mapping]
    method = "linear_pair"
    bits = 4
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from snn_rram.errors import SnnRramError

__all__ = [
    "CircuitConfig",
    "ConversionConfig",
    "DataConfig",
    "DeviceConfig",
    "EncoderConfig",
    "MappingConfig",
    "NetworkConfig",
    "NeuronConfig",
    "OutputConfig",
    "RunConfig",
    "SimulationConfig",
    "dumps_toml",
    "load_config",
    "parse_config",
]

# --- values with units --------------------------------------------------------------------------

_PREFIX = {
    "": 1.0,
    "f": 1e-15,
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "µ": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
}
_UNITS = {
    "V": "V",
    "volt": "V",
    "s": "s",
    "second": "s",
    "ohm": "ohm",
    "Ω": "ohm",
    "Hz": "Hz",
    "F": "F",
    "farad": "F",
    "S": "S",
    "siemens": "S",
    "A": "A",
    "amp": "A",
}
_QUANTITY = re.compile(r"^\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*([^\s\d.+-].*?)?\s*$")


def _parse_unit(text: str):
    for name, unit in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(name):
            prefix = text[: -len(name)]
            if prefix in _PREFIX:
                return _PREFIX[prefix], unit
    return None


def _number(
    value,
    where: str,
    unit: str | None,
    *,
    integer=False,
    positive=False,
    nonnegative=False,
    allow_none=False,
):
    """A number from TOML: int/float, or (for physical values) a string with a unit."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise SnnRramError(f"{where}: expected a number, got a boolean ({value!r})")
    if isinstance(value, str) and unit is not None:
        m = _QUANTITY.match(value)
        parsed = _parse_unit(m.group(4) or "") if m and m.group(4) else None
        if not m or parsed is None:
            raise SnnRramError(
                f"{where}: expected a number in {unit} or a string such as '1.5 m{unit}', "
                f"got {value!r}"
            )
        factor, got = parsed
        if got != unit:
            raise SnnRramError(f"{where}: expected a value in {unit}, got {value!r} (in {got})")
        value = float(m.group(1)) * factor
    if integer:
        if not isinstance(value, int):
            raise SnnRramError(f"{where}: expected an integer, got {value!r}")
    elif not isinstance(value, int | float):
        shown = f" in {unit}" if unit else ""
        raise SnnRramError(f"{where}: expected a number{shown}, got {value!r}")
    if not integer:
        value = float(value)
        if not math.isfinite(value):
            raise SnnRramError(f"{where}: must be finite, got {value!r}")
    if positive and value <= 0:
        raise SnnRramError(f"{where}: must be > 0, got {value!r}")
    if nonnegative and value < 0:
        raise SnnRramError(f"{where}: must be >= 0, got {value!r}")
    return value


def _string(value, where, choices=None, allow_none=False):
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise SnnRramError(f"{where}: expected a string, got {value!r}")
    if choices is not None and value not in choices:
        raise SnnRramError(
            f"{where}: expected one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return value


def _bool(value, where):
    if not isinstance(value, bool):
        raise SnnRramError(f"{where}: expected true or false, got {value!r}")
    return value


# --- sections -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkConfig:
    """The trained network: a weights file, or a training recipe to run first.

    ``weights``: path (relative paths are resolved against the config file's folder, then the
    repository). ``format``: importer override (see ``snn_rram.ann.FORMATS``). ``input_shape``:
    for state dicts whose architecture is inferred. ``train_hidden``/``train_epochs``/
    ``train_seed``: train an MLP with these settings when ``weights`` does not exist (needs the
    ``torch`` extra) and save it there.
    """

    weights: str
    format: str | None = None
    input_shape: tuple[int, ...] | None = None
    train_hidden: tuple[int, ...] | None = None
    train_epochs: int | None = None
    train_seed: int = 0

    def __post_init__(self):
        _string(self.weights, "network.weights")
        _string(self.format, "network.format", allow_none=True)
        for name in ("input_shape", "train_hidden"):
            v = getattr(self, name)
            if v is not None:
                if not isinstance(v, list | tuple) or not all(
                    isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v
                ):
                    raise SnnRramError(f"network.{name}: expected a list of positive integers")
                object.__setattr__(self, name, tuple(v))
        _number(
            self.train_epochs,
            "network.train_epochs",
            None,
            integer=True,
            positive=True,
            allow_none=True,
        )
        _number(self.train_seed, "network.train_seed", None, integer=True, nonnegative=True)


@dataclass(frozen=True)
class DataConfig:
    """Images to simulate and to calibrate the conversion with.

    ``dataset``: ``mnist_5k``, ``fashion_mnist`` or ``mnist``, with an optional ``path``; the
    first ``n_images`` test images are simulated, ``n_calibration`` training images normalise
    the conversion.
    """

    dataset: str = "mnist_5k"
    path: str | None = None
    n_images: int = 1000
    n_calibration: int = 500

    def __post_init__(self):
        _string(self.dataset, "data.dataset")
        _string(self.path, "data.path", allow_none=True)
        _number(self.n_images, "data.n_images", None, integer=True, positive=True)
        _number(self.n_calibration, "data.n_calibration", None, integer=True, positive=True)


@dataclass(frozen=True)
class ConversionConfig:
    """ANN → SNN normalisation: percentile of each layer's positive activations."""

    percentile: float = 99.9

    def __post_init__(self):
        p = _number(self.percentile, "conversion.percentile", None, positive=True)
        if p > 100:
            raise SnnRramError(f"conversion.percentile: must be in (0, 100], got {p}")
        object.__setattr__(self, "percentile", p)


@dataclass(frozen=True)
class DeviceConfig:
    """Device card (name or path) and optional overrides of its variation table."""

    card: str = "default"
    variation: dict = field(default_factory=dict)

    def __post_init__(self):
        _string(self.card, "device.card")
        if not isinstance(self.variation, dict):
            raise SnnRramError(f"device.variation: expected a table, got {self.variation!r}")
        from snn_rram.devices import Variation

        allowed = {f.name for f in fields(Variation)}
        for key, value in self.variation.items():
            if key not in allowed:
                raise SnnRramError(
                    f"device.variation: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}"
                )
            if key == "programming_distribution":
                _string(value, f"device.variation.{key}", ("normal", "lognormal"))
            else:
                _number(value, f"device.variation.{key}", None, nonnegative=True)


@dataclass(frozen=True)
class CircuitConfig:
    """The read circuit (see :class:`snn_rram.crossbar.Circuit`), SI or unit strings."""

    v_read: float = 0.2
    pulse_width: float = 1e-4
    r_neuron: float = 100.0
    inactive_rows: str = "ground"
    r_wire_row: float = 0.0
    r_wire_col: float = 0.0

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "v_read", _number(self.v_read, "circuit.v_read", "V", positive=True))
        set_(
            self,
            "pulse_width",
            _number(self.pulse_width, "circuit.pulse_width", "s", positive=True),
        )
        set_(self, "r_neuron", _number(self.r_neuron, "circuit.r_neuron", "ohm", nonnegative=True))
        _string(self.inactive_rows, "circuit.inactive_rows", ("ground", "float"))
        for name in ("r_wire_row", "r_wire_col"):
            set_(
                self,
                name,
                _number(getattr(self, name), f"circuit.{name}", "ohm", nonnegative=True),
            )


@dataclass(frozen=True)
class MappingConfig:
    """Weights to conductances.

    ``method`` (registered name), quantisation ``bits``, ``seed`` of the programming
    variation, and method-specific ``options``.
    """

    method: str = "linear_pair"
    bits: int = 4
    seed: int = 0
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        _string(self.method, "mapping.method")
        b = _number(self.bits, "mapping.bits", None, integer=True)
        if b < 2:
            raise SnnRramError(f"mapping.bits: must be >= 2, got {b}")
        _number(self.seed, "mapping.seed", None, integer=True, nonnegative=True)
        if not isinstance(self.options, dict):
            raise SnnRramError(f"mapping.options: expected a table, got {self.options!r}")


@dataclass(frozen=True)
class EncoderConfig:
    """Input spike trains: ``poisson`` or ``regular``, maximum rate, presentation time."""

    kind: str = "poisson"
    max_rate: float = 100.0
    image_duration: float = 0.1
    seed: int = 0

    def __post_init__(self):
        _string(self.kind, "encoder.kind", ("poisson", "regular"))
        object.__setattr__(
            self, "max_rate", _number(self.max_rate, "encoder.max_rate", "Hz", positive=True)
        )
        object.__setattr__(
            self,
            "image_duration",
            _number(self.image_duration, "encoder.image_duration", "s", positive=True),
        )
        _number(self.seed, "encoder.seed", None, integer=True, nonnegative=True)


@dataclass(frozen=True)
class NeuronConfig:
    """Integrate-and-fire neurons: threshold, reset, leak.

    ``threshold`` in V; the capacitance follows from the mapping so that one spike through one
    unit of normalised weight brings one threshold of charge.
    """

    threshold: float = 1.0
    reset: str = "subtract"
    leak_tau: float | None = None
    refractory: float | None = None

    def __post_init__(self):
        object.__setattr__(
            self, "threshold", _number(self.threshold, "neuron.threshold", "V", positive=True)
        )
        _string(self.reset, "neuron.reset", ("subtract", "zero"))
        object.__setattr__(
            self,
            "leak_tau",
            _number(self.leak_tau, "neuron.leak_tau", "s", positive=True, allow_none=True),
        )
        object.__setattr__(
            self,
            "refractory",
            _number(self.refractory, "neuron.refractory", "s", nonnegative=True, allow_none=True),
        )


@dataclass(frozen=True)
class SimulationConfig:
    """Brian2 settings: time step, code-generation target, energy accounting."""

    dt: float = 1e-4
    target: str = "cpp_standalone"
    energy: bool = True
    column_solver: str = "table"
    progress: bool = True

    def __post_init__(self):
        object.__setattr__(self, "dt", _number(self.dt, "simulation.dt", "s", positive=True))
        _string(self.target, "simulation.target", ("numpy", "cython", "cpp_standalone"))
        _bool(self.energy, "simulation.energy")
        _string(self.column_solver, "simulation.column_solver", ("table", "exact"))
        _bool(self.progress, "simulation.progress")


@dataclass(frozen=True)
class OutputConfig:
    """Where results go: ``directory``/``name``.h5 (and .png with ``figure = true``)."""

    directory: str = "results"
    name: str = "run"
    figure: bool = True

    def __post_init__(self):
        _string(self.directory, "output.directory")
        _string(self.name, "output.name")
        if not re.match(r"^[A-Za-z0-9_.\-]+$", self.name):
            raise SnnRramError(
                f"output.name: letters, digits, '_', '.', '-' only, got {self.name!r}"
            )
        _bool(self.figure, "output.figure")


_SECTIONS = {
    "network": NetworkConfig,
    "data": DataConfig,
    "conversion": ConversionConfig,
    "device": DeviceConfig,
    "circuit": CircuitConfig,
    "mapping": MappingConfig,
    "encoder": EncoderConfig,
    "neuron": NeuronConfig,
    "simulation": SimulationConfig,
    "output": OutputConfig,
}


@dataclass(frozen=True)
class RunConfig:
    """A whole run: one section per stage of the pipeline."""

    network: NetworkConfig
    data: DataConfig = field(default_factory=DataConfig)
    conversion: ConversionConfig = field(default_factory=ConversionConfig)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    circuit: CircuitConfig = field(default_factory=CircuitConfig)
    mapping: MappingConfig = field(default_factory=MappingConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    neuron: NeuronConfig = field(default_factory=NeuronConfig)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    base_dir: str = field(default=".", compare=False)

    @classmethod
    def from_dict(cls, table: dict, base_dir: str | Path = ".") -> RunConfig:
        """Build and validate a config from a TOML table."""
        if not isinstance(table, dict):
            raise SnnRramError(f"config: expected a table, got {table!r}")
        unknown = set(table) - set(_SECTIONS)
        if unknown:
            raise SnnRramError(
                f"config: unknown section(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(_SECTIONS)}"
            )
        if "network" not in table:
            raise SnnRramError("config: missing required section 'network'")
        sections = {}
        for name, section in _SECTIONS.items():
            values = table.get(name, {})
            if not isinstance(values, dict):
                raise SnnRramError(f"{name}: expected a table, got {values!r}")
            known = {f.name for f in fields(section)}
            bad = set(values) - known
            if bad:
                raise SnnRramError(
                    f"{name}: unknown key(s) {', '.join(f'{name}.{k}' for k in sorted(bad))}; "
                    f"allowed: {', '.join(sorted(known))}"
                )
            try:
                sections[name] = section(**values)
            except TypeError as exc:
                raise SnnRramError(f"{name}: {exc}") from exc
        return cls(**sections, base_dir=str(base_dir))

    def to_dict(self) -> dict:
        """Plain nested dict (for TOML output and provenance)."""
        out = {}
        for name in _SECTIONS:
            sec = dataclasses.asdict(getattr(self, name))
            out[name] = {
                k: list(v) if isinstance(v, tuple) else v
                for k, v in sec.items()
                if v is not None and v != {}
            }
        return out

    def to_toml(self) -> str:
        """The resolved configuration as TOML text."""
        return dumps_toml(self.to_dict())

    def replace(self, path: str, value: Any) -> RunConfig:
        """A copy with the field at dotted ``path`` (``mapping.bits``) set to ``value``.

        ``device.variation.<key>`` and ``mapping.options.<key>`` set entries of those tables.
        """
        parts = path.split(".")
        table = self.to_dict()
        node = table
        for key in parts[:-1]:
            if key not in _SECTIONS and node is table:
                raise SnnRramError(f"{path}: unknown section {key!r}")
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise SnnRramError(f"{path}: {key!r} is not a table")
        node[parts[-1]] = value
        return RunConfig.from_dict(table, self.base_dir)

    def resolve_path(self, path: str) -> Path:
        """A path from the config: absolute, or relative to its folder or the repository."""
        p = Path(path).expanduser()
        if p.is_absolute():
            return p
        for root in (Path(self.base_dir), Path(__file__).resolve().parents[2], Path.cwd()):
            if (root / p).exists():
                return root / p
        return Path(self.base_dir) / p


def load_config(path: str | Path) -> RunConfig:
    """Load a run config from a TOML file; relative paths in it resolve against its folder."""
    p = Path(path)
    try:
        text = p.read_text()
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise SnnRramError(f"config: file {str(p)!r} not found") from exc
    return parse_config(text, p.resolve().parent)


def parse_config(text: str, base_dir: str | Path = ".") -> RunConfig:
    """Parse and validate a run config given as TOML text."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SnnRramError(f"config: malformed TOML: {exc}") from exc
    return RunConfig.from_dict(table, base_dir)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise SnnRramError(f"config: cannot write {v!r} to TOML")


def dumps_toml(table: dict) -> str:
    """Write nested dicts of scalars and lists as TOML (tables, then sub-tables)."""
    lines: list[str] = []

    def emit(prefix, node):
        scalars = {k: v for k, v in node.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in node.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml_value(v)}")
        if prefix and scalars:
            lines.append("")
        for k, v in tables.items():
            emit(f"{prefix}.{k}" if prefix else k, v)

    emit("", table)
    return "\n".join(lines).rstrip() + "\n"
