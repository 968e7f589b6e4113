"""Sweep files: a base run config and the axes to vary.

Example (``models/experiments/qwsm_study.toml``)::

    base = "qwsm_base.toml"            # a run config, relative to this file
    directory = "../../results/qwsm"   # where point files and the summary go
    name = "qwsm"                      # label of the progress bar and the summary
    repeats = 1                        # runs per point, with seeds derived from `seed`
    seed = 0                           # base of the derived seeds
    seed_fields = ["mapping.seed", "encoder.seed"]   # the fields that get the derived seeds
    retries = 1                        # further attempts of a failed point
    workers = 2                        # local worker processes (default: one per core)

    [grid]                             # Cartesian product
    "mapping.method" = ["linear_pair", "min_error", "qwsm"]
    "mapping.bits" = [2, 3, 4, 5]

    [zip]                              # paired axes (equal lengths), crossed with the grid
    "circuit.r_neuron" = [100.0, 500.0]
    "circuit.v_read" = [0.2, 0.1]

    [[extra]]                          # further points, crossed with the grid axes
    label = "calibrated"               # that they do not set themselves
    "mapping.method" = "linear_pair"
    "mapping.options.calibrate" = true

Any config field is addressed by its dotted path (``device.variation.programming_sigma``,
``mapping.options.power_weight``), quoted or not (TOML reads an unquoted
``mapping.bits = [3, 4]`` as a nested table; both mean the same here). Each point is named by a
hash of its resolved config, so a point runs once whatever the sweep that asks for it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, StrictStr, model_validator

from snn_rram import _resources
from snn_rram._io import file_sha256
from snn_rram._schema import Section
from snn_rram._validation import read_toml
from snn_rram.errors import SnnRramError
from snn_rram.experiments.config import RunConfig, config_file, dumps_toml, load_config

__all__ = ["MAX_POINTS", "Point", "SweepFile", "SweepSpec", "load_sweep"]


@dataclass(frozen=True)
class Point:
    """One run of a sweep.

    Attributes
    ----------
    key : str
        Hash of the resolved configuration (without its output section): the file name.
    axes : dict
        The swept values of this point (dotted path → value), plus ``label`` and ``repeat``.
    config : RunConfig
        Its full configuration, writing to ``<directory>/points/<key>.h5``.
    """

    key: str
    axes: dict
    config: RunConfig


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (see the module documentation)."""

    base: RunConfig
    directory: Path
    grid: dict = field(default_factory=dict)
    zip: dict = field(default_factory=dict)
    extra: tuple = ()
    repeats: int = 1
    seed: int = 0
    retries: int = 1
    workers: int | None = None
    seed_fields: tuple = ("mapping.seed", "encoder.seed")
    name: str = "sweep"

    def points(self) -> list[Point]:
        """Every point, in a stable order (grid, then zip rows, then extras; repeats inside)."""
        combos = []
        zip_rows = (
            [dict(zip(self.zip, row, strict=True)) for row in zip(*self.zip.values(), strict=True)]
            if self.zip
            else [{}]
        )
        for label, fixed in [
            ("", {}),
            *[
                (e.get("label", f"extra{i}"), {k: v for k, v in e.items() if k != "label"})
                for i, e in enumerate(self.extra)
            ],
        ]:
            grid = {k: v for k, v in self.grid.items() if k not in fixed}
            keys = list(grid)
            for values in itertools.product(*grid.values()) if keys else [()]:
                for zrow in zip_rows:
                    axes = {**dict(zip(keys, values, strict=True)), **zrow, **fixed}
                    combos.append((label, axes))
        out, seen = [], set()
        for label, axes in combos:
            for r in range(self.repeats):
                changes = dict(axes)
                if self.repeats > 1 or self.seed:
                    # one seed per repeat, the same for every point: comparisons between points
                    # are paired (repeat r of each sees the same input spikes and programming
                    # draws); a seed field swept as an axis keeps its value
                    s = _derived_seed(self.seed, r)
                    changes.update({p: s for p in self.seed_fields if p not in axes})
                cfg = self.base.replace(changes)  # all at once: validated together
                key = point_key(cfg)
                if key in seen:
                    continue
                seen.add(key)
                cfg = cfg.replace(
                    {
                        "output.directory": str(self.directory / "points"),
                        "output.name": key,
                        "output.figure": False,
                        "simulation.progress": False,
                    }
                )
                out.append(Point(key, {**axes, "label": label, "repeat": r}, cfg))
        return out


def _flatten(table: dict, prefix: str = "") -> dict:
    """Nested tables (from unquoted dotted TOML keys) as one table of dotted paths."""
    out = {}
    for k, v in table.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{path}."))
        else:
            out[path] = v
    return out


def _derived_seed(base: int, repeat: int) -> int:
    text = repr((base, repeat))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


#: Fields added after sweeps existed, with their defaults: left out of a point's key at the
#: default, so that points keep the keys they had before the field existed.
_LATER_FIELDS = {("simulation", "mode"): "spiking", ("conversion", "normalise_on"): "float"}


def point_key(cfg: RunConfig) -> str:
    """Hash of a resolved configuration without its output and progress settings.

    Fields added later (:data:`_LATER_FIELDS`) are left out at their defaults too. The
    network file's SHA-256 is part of the key: a network retrained into the same file makes
    new points instead of finding the old network's results.
    """
    table = cfg.to_dict()
    table.pop("output", None)
    table.get("simulation", {}).pop("progress", None)
    for (section, name), default in _LATER_FIELDS.items():
        if table.get(section, {}).get(name) == default:
            del table[section][name]
    weights = cfg.network_path()
    table["network"]["weights"] = str(weights.resolve()) if weights.exists() else str(weights)
    if weights.is_file():
        table["network"]["weights_sha256"] = file_sha256(weights)
    return hashlib.sha256(dumps_toml(table).encode()).hexdigest()[:16]


#: Most points a sweep file may ask for (grid × zip rows × extras × repeats).
MAX_POINTS = 100_000


def _lists(axes: dict, where: str) -> dict:
    """Axes (dotted path → non-empty list), nested tables of unquoted dotted keys flattened."""
    axes = _flatten(axes)
    for k, v in axes.items():
        if not isinstance(v, list) or not v:
            raise ValueError(f"{where}.{k}: expected a non-empty list of values, got {v!r}")
    return axes


def _tuple(v):
    return tuple(v) if isinstance(v, list) else v


class SweepFile(Section):
    """The keys of a sweep file, validated (see the module documentation)."""

    key: ClassVar[str] = "sweep"
    base: StrictStr
    directory: StrictStr | None = None
    repeats: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    seed: Annotated[StrictInt, Field(ge=0, lt=2**63)] = 0
    retries: Annotated[StrictInt, Field(ge=0, le=100)] = 1
    workers: Annotated[StrictInt, Field(ge=1, le=4096)] | None = None
    seed_fields: Annotated[tuple[StrictStr, ...], BeforeValidator(_tuple)] = (
        "mapping.seed",
        "encoder.seed",
    )
    grid: Annotated[dict[str, Any], AfterValidator(lambda v: _lists(v, "sweep.grid"))] = Field(
        default_factory=dict
    )
    zip: Annotated[dict[str, Any], AfterValidator(lambda v: _lists(v, "sweep.zip"))] = Field(
        default_factory=dict
    )
    extra: list[dict[str, Any]] = Field(default_factory=list)
    name: StrictStr | None = None

    @model_validator(mode="after")
    def _sizes(self):
        if self.zip and len({len(v) for v in self.zip.values()}) != 1:
            lengths = {k: len(v) for k, v in self.zip.items()}
            raise ValueError(f"every zip axis needs the same number of values, got {lengths}")
        grid = math.prod(len(v) for v in self.grid.values())
        rows = len(next(iter(self.zip.values()))) if self.zip else 1
        n = grid * rows * (1 + len(self.extra)) * self.repeats
        if n > MAX_POINTS:
            raise ValueError(
                f"asks for {n} points (grid {grid} × zip {rows} × {1 + len(self.extra)} "
                f"× {self.repeats} repeats), more than {MAX_POINTS}"
            )
        return self


def load_sweep(path: str | Path, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Load and validate a sweep file (UTF-8 TOML of at most 1 MiB) and every point in it.

    Parameters
    ----------
    path : str or pathlib.Path
        The sweep file, or the name of an example sweep of the package
        (see :func:`snn_rram.experiments.config.config_file`).
    overrides : dict, optional
        Fields of the base run config to set before it is validated, by dotted key path
        (``{"data.n_images": 100}``); a field the sweep varies is refused.
    """
    path = config_file(path)
    table = read_toml(path, "sweep")
    f = SweepFile(**table)
    here = path.resolve().parent
    if overrides:
        axes = {*f.grid, *f.zip, *(k for e in f.extra for k in _flatten(e) if k != "label")}
        for key in overrides:
            if key in axes:
                raise SnnRramError(
                    f"--set {key}: the sweep varies this field (grid, zip or extra), so a "
                    "single value would be overwritten; edit the sweep file instead"
                )
    try:
        base = load_config(here / f.base, overrides)
    except SnnRramError as exc:
        raise SnnRramError(f"sweep.base: {exc}") from None
    directory = _resources.output_folder(
        here, f.directory if f.directory is not None else f"results/{path.stem}"
    )
    spec = SweepSpec(
        base,
        directory,
        f.grid,
        f.zip,
        tuple(_flatten(e) for e in f.extra),
        f.repeats,
        f.seed,
        f.retries,
        f.workers,
        f.seed_fields,
        f.name if f.name is not None else path.stem,
    )
    spec.points()  # validates every axis path and value now, before anything runs
    return spec
