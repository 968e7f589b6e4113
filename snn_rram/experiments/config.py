"""The configuration of a run: TOML validated into frozen pydantic models.

Every section is a frozen model (attribute access as on a frozen dataclass); an unknown key, a
missing required key, or a value of the wrong type or unit is a
:class:`~snn_rram.errors.SnnRramError` naming its dotted path (``circuit.v_read``), with the
nearest allowed name for a typo. Physical values are SI numbers, or strings with a unit and an
optional SI prefix parsed by pint: ``v_read = "200 mV"``, ``pulse_width = "0.1 ms"``,
``r_neuron = "1 kohm"``.

The allowed values come from the layers that use them: mapping methods from the mapping
registry and ``mapping.options`` from the chosen method's signature, device cards from
:func:`snn_rram.devices.list_cards`, simulation targets from Brian2's target list, row modes from
:class:`snn_rram.crossbar.Circuit`. :func:`load_config` refuses what a run would refuse:
the card is loaded, its variation merged with ``device.variation`` (stuck fractions summing
over 1 are refused), the time step must divide the image duration and the pulse width, and
``mapping.bits`` is limited to :data:`MAX_BITS`, the data set must hold ``data.n_images`` test
and ``data.n_calibration`` training images; more bits than the card's levels can represent
distinctly give a :class:`~snn_rram.errors.SnnRramWarning`.

Example::

    [network]
    weights = "mlp_784_256_10"    # a bundled network by name, or a path

    [data]
    dataset = "mnist_5k"
    n_images = 1000

    [mapping]
    method = "linear_pair"
    bits = 4
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import typing
import warnings
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import tomli_w
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from snn_rram import _resources
from snn_rram._schema import Section, choice, one_of, unknown_key
from snn_rram._units import quantity
from snn_rram._validation import MAX_TOML_BYTES, read_toml, renamed, suggest
from snn_rram.errors import SnnRramError, SnnRramWarning

__all__ = [
    "MAX_BITS",
    "AnalogConfig",
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
    "config_file",
    "dumps_toml",
    "load_config",
    "parse_config",
    "parse_overrides",
]

#: Largest ``mapping.bits``: 2·(2**15 − 1) + 1 = 65,535 weight codes, as many as the largest card
#: (:data:`snn_rram.devices.MAX_LEVELS` levels) can hold.
MAX_BITS = 16

#: Largest count of images (``data.n_images``, ``data.n_calibration``): MNIST's 70,000 and room.
MAX_IMAGES = 1_000_000


def _unit(unit: str):
    """Annotation parts of a physical value: a unit string parsed to an SI float."""
    return BeforeValidator(lambda v: quantity(v, "", unit))


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("a path cannot contain a NUL character")
    return text


Path_ = Annotated[StrictStr, AfterValidator(_no_nul)]
Volt = Annotated[float, _unit("V")]
Second = Annotated[float, _unit("s")]
Ohm = Annotated[float, _unit("ohm")]
Hertz = Annotated[float, _unit("Hz")]
Count = Annotated[StrictInt, Field(gt=0)]
Seed = Annotated[StrictInt, Field(ge=0, lt=2**63)]


def _tuple(v):
    return tuple(v) if isinstance(v, list) else v


PositiveInts = Annotated[tuple[Annotated[StrictInt, Field(gt=0)], ...], BeforeValidator(_tuple)]


# Allowed names, asked from the layer that owns each list when a value is validated.
def _formats():
    from snn_rram.ann.importers import FORMATS

    return FORMATS


def _datasets():
    from snn_rram.datasets import KNOWN_DATASETS

    return KNOWN_DATASETS


def _row_modes():
    from snn_rram.crossbar.circuit import INACTIVE_ROW_MODES

    return INACTIVE_ROW_MODES


def _methods():
    from snn_rram import mapping

    return mapping.available()


def _targets():
    from snn_rram.snn._targets import TARGETS

    return TARGETS


def _encoders():
    from snn_rram.snn.encoders import ENCODERS

    return ENCODERS


def _resets():
    from snn_rram.snn.neuron import RESETS

    return RESETS


def _column_solvers():
    from snn_rram.snn.network import COLUMN_SOLVERS

    return COLUMN_SOLVERS


# --- sections -----------------------------------------------------------------------------------


class NetworkConfig(Section):
    """The trained network: a weights file, or a training recipe to run first.

    ``weights``: the name of a bundled network (``"mlp_784_256_10"``, searched like device cards:
    the folders of ``SNN_RRAM_NETWORK_PATH``, then the bundled ``models/networks``; see
    :mod:`snn_rram._resources`) or a path (relative paths are resolved against the config
    file's folder, then the bundled files laid out like the repository, then the current
    folder). ``format``: importer override (see ``snn_rram.ann.FORMATS``). ``input_shape``:
    for state dicts whose architecture is inferred. ``train_hidden``/``train_epochs``/
    ``train_seed``: train an MLP with these settings when ``weights`` does not exist (needs the
    ``torch`` extra) and save it there.
    """

    key: ClassVar[str] = "network"
    weights: Path_
    format: Annotated[StrictStr, one_of(_formats)] | None = None
    input_shape: PositiveInts | None = None
    train_hidden: PositiveInts | None = None
    train_epochs: Count | None = None
    train_seed: Seed = 0


class DataConfig(Section):
    """Images to simulate and to calibrate the conversion with.

    ``dataset``: one of :data:`snn_rram.datasets.KNOWN_DATASETS`, with an optional ``path``;
    the first ``n_images`` test images are simulated, ``n_calibration`` training images
    normalise the conversion.
    """

    key: ClassVar[str] = "data"
    dataset: Annotated[StrictStr, one_of(_datasets)] = "mnist_5k"
    path: Path_ | None = None
    n_images: Annotated[StrictInt, Field(gt=0, le=MAX_IMAGES)] = 1000
    n_calibration: Annotated[StrictInt, Field(gt=0, le=MAX_IMAGES)] = 500


class ConversionConfig(Section):
    """ANN → SNN normalisation: percentile of each layer's positive activations.

    ``normalise_on``: whose activations set the spiking layers' scales. ``"float"`` (default):
    the float network's (the conversion's data-based normalisation, Diehl et al. 2015).
    ``"mapped"``: then, once mapped, each layer's neurons are rescaled (capacitance) so that
    the **mapped** network's rate model has the same percentile at 1 on the calibration
    images — threshold balancing on the network the arrays realise (column loads, R_N and the
    I–V shrink the activations the float network promised). Spiking mode only.
    """

    key: ClassVar[str] = "conversion"
    percentile: Annotated[float, Field(gt=0, le=100)] = 99.9
    normalise_on: Annotated[StrictStr, one_of(lambda: ("float", "mapped"))] = "float"


class DeviceConfig(Section):
    """Device card (name or path) and optional overrides of its variation table."""

    key: ClassVar[str] = "device"
    card: Path_ = "default"
    variation: dict[str, Any] = Field(default_factory=dict)

    @field_validator("card")
    @classmethod
    def _card(cls, v):
        from snn_rram.devices import is_card_path, list_cards

        return v if is_card_path(v) else choice(v, "device.card", sorted(list_cards()))

    @field_validator("variation")
    @classmethod
    def _variation(cls, v):
        from snn_rram.devices import Variation

        allowed = Variation.__dataclass_fields__
        for k in v:
            if k not in allowed:
                raise unknown_key("device.variation", k, allowed)
        try:
            Variation(**v)
        except SnnRramError as exc:
            raise renamed(exc, "Variation", "device.variation") from None
        return v


class CircuitConfig(Section):
    """The read circuit (see :class:`snn_rram.crossbar.Circuit`), SI or unit strings."""

    key: ClassVar[str] = "circuit"
    v_read: Annotated[Volt, Field(gt=0)] = 0.2
    pulse_width: Annotated[Second, Field(gt=0)] = 1e-4
    r_neuron: Annotated[Ohm, Field(ge=0)] = 100.0
    inactive_rows: Annotated[StrictStr, one_of(_row_modes)] = "ground"
    r_wire_row: Annotated[Ohm, Field(ge=0)] = 0.0
    r_wire_col: Annotated[Ohm, Field(ge=0)] = 0.0

    @model_validator(mode="after")
    def _circuit(self):
        from snn_rram.crossbar import Circuit

        try:  # the circuit's own rules, whatever they are
            Circuit(**self.model_dump())
        except SnnRramError as exc:
            raise renamed(exc, "Circuit", "circuit") from None
        return self


# Keywords every mapping method takes from the pipeline, not from ``mapping.options``.
_PIPELINE_KEYWORDS = {"bits", "bias", "bias_duty", "seed", "activity"}

#: ``mapping.activity``: how a method that weights its error by input activity (``qwsm``) learns
#: it — its default (every input at the same mean rate) or the calibration images.
ACTIVITIES = ("uniform", "calibration")

#: ``mapping.fallback``: the mapped network is compared with ``linear_pair``'s on the calibration
#: images and the one that agrees more with the converted network is kept (``"auto"``: for
#: ``qwsm``, whose promise is never to lose to its baseline; ``"none"``: never).
FALLBACKS = ("auto", "linear_pair", "none")


def method_options(method: str) -> dict[str, Any]:
    """The ``mapping.options`` a registered method takes: name → type annotation."""
    from snn_rram import mapping

    func = mapping.get(method)
    hints = typing.get_type_hints(func)
    return {
        name: hints.get(name, Any)
        for name, p in inspect.signature(func).parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in _PIPELINE_KEYWORDS
    }


class MappingConfig(Section):
    """Weights to conductances.

    ``method`` (registered name, see :func:`snn_rram.mapping.available`), quantisation
    ``bits`` (2 to :data:`MAX_BITS`), ``seed`` of the programming variation, the input
    ``activity`` a method that weights by it (``qwsm``) is given (``"uniform"``: the method's
    default; ``"calibration"``: each layer's mean input on the calibration images in the rate
    model; methods without an ``activity`` parameter ignore it), the ``fallback`` to
    ``linear_pair``'s mapping when that agrees better with the converted network on the
    calibration images (``"auto"``: for ``qwsm`` only), and the keyword ``options`` of the
    method (its signature says which).
    """

    key: ClassVar[str] = "mapping"
    method: Annotated[StrictStr, one_of(_methods)] = "linear_pair"
    bits: Annotated[StrictInt, Field(ge=2, le=MAX_BITS)] = 4
    seed: Seed = 0
    activity: Annotated[StrictStr, one_of(lambda: ACTIVITIES)] = "uniform"
    fallback: Annotated[StrictStr, one_of(lambda: FALLBACKS)] = "auto"
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _options(self):
        allowed = method_options(self.method)
        for k, v in self.options.items():
            if k not in allowed:
                raise SnnRramError(
                    str(unknown_key("mapping.options", k, allowed))
                    + f" (options of mapping method {self.method!r})"
                )
            try:
                TypeAdapter(allowed[k]).validate_python(v, strict=True)
            except ValidationError as exc:
                msg = exc.errors(include_url=False)[0]["msg"]
                raise SnnRramError(
                    f"mapping.options.{k}: {msg[0].lower() + msg[1:]}, got {v!r}"
                ) from None
        return self


class EncoderConfig(Section):
    """Input spike trains: ``poisson`` or ``regular``, maximum rate, presentation time."""

    key: ClassVar[str] = "encoder"
    kind: Annotated[StrictStr, one_of(_encoders)] = "poisson"
    max_rate: Annotated[Hertz, Field(gt=0)] = 100.0
    image_duration: Annotated[Second, Field(gt=0)] = 0.1
    seed: Seed = 0


class NeuronConfig(Section):
    """Integrate-and-fire neurons: threshold, reset, leak.

    ``threshold`` in V; the capacitance follows from the mapping so that one spike through one
    unit of normalised weight brings one threshold of charge.
    """

    key: ClassVar[str] = "neuron"
    threshold: Annotated[Volt, Field(gt=0)] = 1.0
    reset: Annotated[StrictStr, one_of(_resets)] = "subtract"
    leak_tau: Annotated[Second, Field(gt=0)] | None = None
    refractory: Annotated[Second, Field(ge=0)] | None = None


def _modes():
    from snn_rram.results import MODES

    return MODES


class SimulationConfig(Section):
    """How the network runs: spiking (Brian2 settings) or analog, and energy accounting.

    In analog mode (amplitude-coded inference on the same crossbars,
    :class:`snn_rram.analog.AnalogNetwork`, with the periphery of the ``[analog]`` table) the
    encoder, the neurons and the Brian2 settings are unused.
    """

    key: ClassVar[str] = "simulation"
    #: ``"spiking"``: the spiking network in Brian2; ``"analog"``: analog inference on the same
    #: mapped crossbars, each image read once per layer with input-proportional row voltages.
    mode: Annotated[StrictStr, one_of(_modes)] = "spiking"
    #: Brian2 time step (spiking mode).
    dt: Annotated[Second, Field(gt=0)] = 1e-4
    #: Brian2 code-generation target (spiking mode).
    target: Annotated[StrictStr, one_of(_targets)] = "cpp_standalone"
    #: Account device and neuron energies (per device, per layer; in both modes).
    energy: StrictBool = True
    #: Column solve of the spiking network: tabulated (fast) or exact Newton.
    column_solver: Annotated[StrictStr, one_of(_column_solvers)] = "table"
    #: Progress messages on the standard error.
    progress: StrictBool = True


def _per_layer(what: str, ok):
    """A field validator: one value for every layer, or a non-empty list of one per layer."""

    def check(v):
        values = v if isinstance(v, list) else [v]
        if v is None:
            return v
        if not values or not all(not isinstance(x, bool) and ok(x) for x in values):
            raise ValueError(
                f"expected {what}, or a non-empty list of them (one per layer), got {v!r}"
            )
        return v

    return BeforeValidator(check)


#: ``analog.sensing``: the sense gain from a layer's neuron currents to its outputs.
SENSINGS = ("nominal", "calibrated", "trained")

Bits = Annotated[StrictInt, Field(ge=1, le=32)]
FullScale = Annotated[float, Field(gt=0)]
_BITS = _per_layer("a number of bits in 1..32", lambda x: isinstance(x, int) and 1 <= x <= 32)
_RANGE = _per_layer(
    "a full scale > 0 (normalised units)",
    lambda x: isinstance(x, int | float) and np.isfinite(x) and x > 0,
)


class AnalogConfig(Section):
    """The periphery of analog inference (only with ``simulation.mode = "analog"``).

    See :class:`snn_rram.analog.AnalogNetwork`. ``dac_bits``: resolution of the row DACs
    (full scale ``circuit.v_read``; unset: ideal). ``adc_bits``: resolution of the output
    ADCs, one for every layer or a list of one per layer (unset: ideal, no clipping).
    ``adc_range``: the ADCs' full scale in normalised units, one or one per layer (only with
    ``adc_bits``; unset: 1 for hidden layers, the largest output of the rate model on the
    calibration images for the output layer). ``sensing``: the sense gain from neuron current
    to output, ``"nominal"`` (``1 / (v_read · g_per_weight)``: exact for linear cells read with
    ideal virtual grounds) or ``"calibrated"`` (a gain per layer fitted on the calibration
    images, :meth:`snn_rram.analog.AnalogNetwork.calibrate`) or ``"trained"`` (a network
    reconstructed for the device, written by
    :meth:`snn_rram.training.DeviceAwareNetwork.save`: its own conductance pairs and trained
    gains, read exactly as trained; the mapping section is then unused, and the device card,
    ``circuit.v_read`` and ``circuit.r_neuron`` must be the ones in its sidecar).
    ``bias_voltage``: voltage of
    the always-on (bias) rows (unset: ``circuit.v_read``, like an input at full scale; the
    bias rows are mapped at duty 1 in analog mode).
    """

    key: ClassVar[str] = "analog"
    dac_bits: Bits | None = None
    adc_bits: Annotated[Bits | list[Bits] | None, _BITS] = None
    adc_range: Annotated[FullScale | list[FullScale] | None, _RANGE] = None
    sensing: Annotated[StrictStr, one_of(lambda: SENSINGS)] = "nominal"
    bias_voltage: Volt | None = None

    @model_validator(mode="after")
    def _range_needs_bits(self):
        if self.adc_range is not None and self.adc_bits is None:
            raise SnnRramError(
                f"analog.adc_range: {self.adc_range!r} given without analog.adc_bits (an ideal "
                "ADC does not clip, so a full scale means nothing without a resolution)"
            )
        return self


class OutputConfig(Section):
    """Where results go: ``directory``/``name``.h5 (and .png with ``figure = true``)."""

    key: ClassVar[str] = "output"
    directory: Path_ = "results"
    name: StrictStr = "run"
    figure: StrictBool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,200}", v) or v in (".", ".."):
            raise ValueError(f"letters, digits, '_', '.', '-' only (1 to 200), got {v!r}")
        return v


# --- the whole run ------------------------------------------------------------------------------


class RunConfig(Section):
    """A whole run: one section per stage of the pipeline.

    ``base_dir`` (keyword, default ``"."``) is the folder relative paths resolve against; it is
    not part of the configuration (not compared, not written).
    """

    key: ClassVar[str] = ""
    network: NetworkConfig
    data: DataConfig = DataConfig()
    conversion: ConversionConfig = ConversionConfig()
    device: DeviceConfig = DeviceConfig()
    circuit: CircuitConfig = CircuitConfig()
    mapping: MappingConfig = MappingConfig()
    encoder: EncoderConfig = EncoderConfig()
    neuron: NeuronConfig = NeuronConfig()
    simulation: SimulationConfig = SimulationConfig()
    analog: AnalogConfig = AnalogConfig()
    output: OutputConfig = OutputConfig()
    _base_dir: str = PrivateAttr(default=".")

    def __init__(self, *, base_dir: str | Path = ".", **sections: Any):
        if "network" not in sections:
            raise SnnRramError("config: missing required section 'network'")
        super().__init__(**sections)
        self._base_dir = str(base_dir)
        self._check()

    @property
    def base_dir(self) -> str:
        """The folder relative paths in the config resolve against."""
        return self._base_dir

    def __eq__(self, other) -> bool:
        return isinstance(other, RunConfig) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # the tables inside are mutable dicts

    @classmethod
    def from_dict(cls, table: dict, base_dir: str | Path = ".") -> RunConfig:
        """Build and validate a config from a TOML table."""
        if not isinstance(table, dict):
            raise SnnRramError(f"config: expected a table, got {table!r}")
        return cls(**table, base_dir=base_dir)

    def to_dict(self) -> dict:
        """Plain nested dict (for TOML output and provenance); unset optional values left out.

        The ``analog`` table is written only in analog mode and when it differs from the
        defaults (it is refused in spiking mode: a copy switched to spiking stays valid).
        """
        out = {}
        for name in type(self).model_fields:
            if name == "analog" and (
                self.simulation.mode != "analog" or self.analog == AnalogConfig()
            ):
                continue
            sec = getattr(self, name).model_dump()
            out[name] = {
                k: list(v) if isinstance(v, tuple) else v
                for k, v in sec.items()
                if v is not None and v != {}
            }
        return out

    def to_toml(self) -> str:
        """The resolved configuration as TOML text (:func:`parse_config` reads it back)."""
        return dumps_toml(self.to_dict())

    def replace(self, path: str | dict, value: Any = None) -> RunConfig:
        """A copy with the field at dotted ``path`` (``mapping.bits``) set to ``value``.

        ``device.variation.<key>`` and ``mapping.options.<key>`` set entries of those tables.
        A dict ``{path: value, ...}`` sets several fields at once, validated together (so
        ``mapping.method`` and an option of that method can change in one step).
        """
        changes = path if isinstance(path, dict) else {path: value}
        table = self.to_dict()
        _set_fields(table, changes)
        return RunConfig.from_dict(table, self.base_dir)

    def resolve_path(self, path: str) -> Path:
        """A path from the config: absolute, else relative to the first root holding it.

        The roots: the config's folder, the bundled files (laid out like the repository,
        ``models/`` and ``data/``, so ``"models/networks/mlp_784_256_10.npz"`` is found from
        any folder), the current folder; when none holds it, the config's folder.
        """
        p = Path(path).expanduser()
        if p.is_absolute():
            return p
        for root in (Path(self.base_dir), _resources.bundled_root(), Path.cwd()):
            if (root / p).exists():
                return root / p
        return Path(self.base_dir) / p

    def network_path(self) -> Path:
        """``network.weights`` as a file: a bundled network's name or a path (resolved here).

        A name that no folder of the search path holds is resolved as a relative path (the
        file a training recipe writes).
        """
        weights = self.network.weights
        found = _resources.find("network", weights)
        return found if found is not None else self.resolve_path(weights)

    def output_dir(self) -> Path:
        """The folder of the result files (``output.directory``, absolute).

        A relative folder is relative to the config's folder (the current folder for a config
        given as text); an example config of the package writes under the current folder
        instead (see :func:`snn_rram._resources.output_folder`).
        """
        if self.base_dir == ".":
            return (Path.cwd() / Path(self.output.directory).expanduser()).resolve()
        return _resources.output_folder(self.base_dir, self.output.directory)

    def card_path(self) -> str:
        """``device.card`` as :func:`snn_rram.devices.load` takes it (a path resolved here)."""
        from snn_rram.devices import is_card_path

        card = self.device.card
        return str(self.resolve_path(card)) if is_card_path(card) else card

    def _check(self) -> None:
        """The checks that need several sections (and the device card)."""
        from snn_rram import devices

        sim, enc, circ = self.simulation, self.encoder, self.circuit
        self._check_mode()
        for where, value in (
            ("encoder.image_duration", enc.image_duration),
            ("circuit.pulse_width", circ.pulse_width),
        ):
            n = round(value / sim.dt)
            if n < 1 or abs(n * sim.dt - value) > 1e-9 * value:
                raise SnnRramError(
                    f"{where}: {value:g} s is not a whole number (>= 1) of time steps of "
                    f"simulation.dt = {sim.dt:g} s"
                )
        if circ.pulse_width > enc.image_duration:
            raise SnnRramError(
                f"circuit.pulse_width: {circ.pulse_width:g} s is longer than "
                f"encoder.image_duration = {enc.image_duration:g} s (no read fits in an image)"
            )
        self._check_data()
        try:
            device = devices.load(self.card_path())
        except SnnRramError as exc:
            raise SnnRramError(f"device.card: {exc}") from None
        if self.device.variation:
            merged = {**device.variation.to_dict(), **self.device.variation}
            try:
                devices.Variation(**merged)
            except SnnRramError as exc:
                raise SnnRramError(
                    f"{renamed(exc, 'Variation', 'device.variation')} (with the values of card "
                    f"{device.name!r})"
                ) from None
        message = level_warning(self.mapping.bits, device)
        if message is not None:
            warnings.warn(message, SnnRramWarning, stacklevel=2)
        if self.mapping.options:
            self._check_option_values(device)

    def _check_mode(self) -> None:
        """The ``[analog]`` table only in analog mode; analog mode only on crossbar reads."""
        mode = self.simulation.mode
        if "analog" in self.model_fields_set and mode != "analog":
            raise SnnRramError(
                f"analog: the [analog] table (the periphery of analog inference) is only valid "
                f'with simulation.mode = "analog", got simulation.mode = {mode!r}'
            )
        if mode == "analog" and self.conversion.normalise_on != "float":
            raise SnnRramError(
                f"conversion.normalise_on: {self.conversion.normalise_on!r} rescales the spiking "
                'neurons; analog inference has its own sensing (analog.sensing = "calibrated"), '
                'so use "float" with simulation.mode = "analog"'
            )
        if mode == "analog":
            from snn_rram.mapping.pcsa_pairs import SENSE_METHODS

            if self.mapping.method in SENSE_METHODS:
                raise SnnRramError(
                    f'simulation.mode: "analog" reads the crossbars with analog row voltages, '
                    f"but mapping method {self.mapping.method!r} makes 2T2R pairs read by a "
                    'sense amplifier (digital synapses); use simulation.mode = "spiking"'
                )

    def _check_option_values(self, device) -> None:
        """Option values the method refuses (``qwsm``'s ``parallel = 0``): map a 2×2 layer."""
        from snn_rram import mapping
        from snn_rram.crossbar import Circuit

        method = mapping.get(self.mapping.method)
        # a method whose options name the network's own layers (trained) checks them alone
        check = getattr(method, "check_options", None)
        # the options' own rules, not the circuit's (checked above): grounded rows, no wires
        c = self.circuit
        circuit = Circuit(c.v_read, c.pulse_width, float(np.max(c.r_neuron)))
        weight = np.array([[0.5, -0.25], [-1.0, 0.75]])
        try:
            if check is not None:
                check(**self.mapping.options)
                return
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence on a toy layer says nothing
                method(
                    weight, device, circuit, bits=self.mapping.bits, seed=0, **self.mapping.options
                )
        except SnnRramError as exc:
            raise SnnRramError(
                f"mapping.options: {exc} (options of mapping method {self.mapping.method!r})"
            ) from None

    def _check_data(self) -> None:
        """The data set exists and holds the images asked for (a run would refuse otherwise)."""
        d = self.data
        path = None if d.path is None else str(self.resolve_path(d.path).resolve())
        try:
            n_train, n_test = _dataset_sizes(d.dataset, path)
        except SnnRramError as exc:
            raise SnnRramError(f"data: {exc}") from None
        if d.n_images > n_test:
            raise SnnRramError(
                f"data.n_images: {d.n_images} asked, the test set of {d.dataset!r} has {n_test}"
            )
        if d.n_calibration > n_train:
            raise SnnRramError(
                f"data.n_calibration: {d.n_calibration} asked, the training set of "
                f"{d.dataset!r} has {n_train}"
            )


@functools.lru_cache(maxsize=16)
def _dataset_sizes(name: str, path: str | None) -> tuple[int, int]:
    """Training and test set sizes of a data set (loaded once per process and folder)."""
    from snn_rram import datasets

    ds = datasets.load(name, path)
    return ds.n_train, ds.n_test


def level_warning(bits: int, device) -> str | None:
    """Why ``bits`` asks for more distinct weights than ``device``'s levels give, or None."""
    codes = 2 ** (bits - 1) - 1  # weight codes per sign
    n = device.levels.n
    if codes <= n - 1:
        return None
    return (
        f"mapping.bits = {bits} asks for {2 * codes + 1} weight codes (±{codes}), but card "
        f"{device.name!r} has {n} levels: a pair of a level and the lowest level represents at "
        f"most {2 * n - 1} distinct weights, so codes collapse (at most {n.bit_length()} bits "
        "are distinct on this card)"
    )


def config_file(path: str | Path) -> Path:
    """The file of a run or sweep config given by path or by the name of an example config.

    An existing file is taken as it is; a name (no suffix, no folder) that is not a file is
    searched in the folders of ``SNN_RRAM_CONFIG_PATH``, then among the package's example
    configs (the repository's ``models/experiments``: ``"demo"``, ``"qwsm_study"``, …).

    Raises
    ------
    SnnRramError
        A name that is neither a file nor an example config (the examples listed).
    """
    p = Path(path).expanduser()
    text = str(path)
    if p.exists() or not _resources.is_name(text):
        return p
    found = _resources.find("config", text)
    if found is None:
        examples = _resources.available("config")
        raise SnnRramError(
            f"config: no file {text!r} and no example config of that name"
            f"{suggest(text, examples)}; examples: {', '.join(examples)}"
        )
    return found


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Load a run config from a TOML file; relative paths in it resolve against its folder.

    The file must be UTF-8 TOML of at most :data:`~snn_rram._validation.MAX_TOML_BYTES`
    (1 MiB); everything a run would refuse is refused here (see the module documentation).

    Parameters
    ----------
    path : str or pathlib.Path
        The file, or the name of an example config (see :func:`config_file`).
    overrides : dict, optional
        Fields to set before validation, by dotted key path (``{"mapping.bits": 3}``; see
        :func:`parse_overrides`): the result is validated as if the file held them.
    """
    path = config_file(path)
    table = read_toml(path, "config", MAX_TOML_BYTES)
    if overrides:
        _set_fields(table, overrides)
    return RunConfig.from_dict(table, path.resolve().parent)


def _set_fields(table: dict, changes: dict[str, Any]) -> None:
    """Set fields of a config table in place, by dotted key path (``mapping.bits``)."""
    sections = list(RunConfig.model_fields)
    for where, new in changes.items():
        if not isinstance(where, str) or not where or "" in where.split("."):
            raise SnnRramError(
                f"path: expected a dotted key path such as 'mapping.bits', got {where!r}"
            )
        parts = where.split(".")
        if parts[0] not in sections:
            raise SnnRramError(
                f"{where}: unknown section {parts[0]!r}{suggest(parts[0], sections)}; "
                f"allowed: {', '.join(sections)}"
            )
        node = table
        for i, key in enumerate(parts[:-1]):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise SnnRramError(f"{where}: {'.'.join(parts[: i + 1])!r} is not a table")
        node[parts[-1]] = copy.deepcopy(new)  # later paths may write into it


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` texts (the command line's ``--set``) as a dict of dotted paths → values.

    ``VALUE`` is read as a TOML value where it is one (``3``, ``0.5``, ``true``, ``[2, 3]``,
    ``"text"``) and is a string otherwise (``1 kohm``, ``numpy``), so that unit strings need
    no quotes. Spaces around ``KEY`` are ignored; a key given twice is refused.

    Examples
    --------
    >>> parse_overrides(["mapping.bits=3", "circuit.r_neuron=1 kohm", "simulation.energy=false"])
    {'mapping.bits': 3, 'circuit.r_neuron': '1 kohm', 'simulation.energy': False}
    """
    import tomllib

    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise SnnRramError(
                f"--set: expected KEY=VALUE such as mapping.bits=3, got {str(item)!r}"
            )
        if key in out:
            raise SnnRramError(f"--set: {key} given twice")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        out[key] = value
    return out


def parse_config(text: str, base_dir: str | Path = ".") -> RunConfig:
    """Parse and validate a run config given as TOML text."""
    import tomllib

    if not isinstance(text, str):
        raise SnnRramError(f"config: expected TOML text (str), got {type(text).__name__}")
    if len(text) > MAX_TOML_BYTES:
        raise SnnRramError(f"config: text longer than {MAX_TOML_BYTES} characters")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SnnRramError(f"config: malformed TOML: {exc}") from exc
    return RunConfig.from_dict(table, base_dir)


def dumps_toml(table: dict) -> str:
    """Nested dicts of TOML values as TOML text (through tomli-w)."""
    try:
        return tomli_w.dumps(table)
    except (TypeError, ValueError) as exc:
        raise SnnRramError(f"config: cannot write as TOML: {exc}") from exc
