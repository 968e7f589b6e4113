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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from snn_rram.errors import SnnRramError
from snn_rram.experiments.config import RunConfig, load_config

__all__ = ["Point", "SweepSpec", "load_sweep"]

_KEYS = {
    "base",
    "directory",
    "repeats",
    "seed",
    "retries",
    "workers",
    "seed_fields",
    "grid",
    "zip",
    "extra",
    "name",
}


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
                cfg = self.base
                for path, value in axes.items():
                    cfg = cfg.replace(path, value)
                if self.repeats > 1 or self.seed:
                    # one seed per repeat, the same for every point: comparisons between points
                    # are paired (repeat r of each sees the same input spikes and programming
                    # draws); a seed field swept as an axis keeps its value
                    s = _derived_seed(self.seed, r)
                    for path in self.seed_fields:
                        if path not in axes:
                            cfg = cfg.replace(path, s)
                key = point_key(cfg)
                if key in seen:
                    continue
                seen.add(key)
                cfg = (
                    cfg.replace("output.directory", str(self.directory / "points"))
                    .replace("output.name", key)
                    .replace("output.figure", False)
                    .replace("simulation.progress", False)
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


def point_key(cfg: RunConfig) -> str:
    """Hash of a resolved configuration without its output and progress settings."""
    table = cfg.to_dict()
    table.pop("output", None)
    table.get("simulation", {}).pop("progress", None)
    weights = cfg.resolve_path(cfg.network.weights)
    table["network"]["weights"] = str(weights.resolve()) if weights.exists() else str(weights)
    from snn_rram.experiments.config import dumps_toml

    return hashlib.sha256(dumps_toml(table).encode()).hexdigest()[:16]


def load_sweep(path: str | Path) -> SweepSpec:
    """Load and validate a sweep file."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise SnnRramError(f"sweep: file {str(path)!r} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SnnRramError(f"sweep: malformed TOML in {str(path)!r}: {exc}") from exc
    unknown = set(table) - _KEYS
    if unknown:
        raise SnnRramError(
            f"sweep: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_KEYS))}"
        )
    if "base" not in table or not isinstance(table["base"], str):
        raise SnnRramError("sweep.base: the path of a run config is required")
    here = path.resolve().parent
    base = load_config(here / table["base"])
    directory = Path(table.get("directory", f"results/{path.stem}"))
    directory = directory if directory.is_absolute() else (here / directory)
    grid, zip_ = table.get("grid", {}), table.get("zip", {})
    for name, axes in (("grid", grid), ("zip", zip_)):
        if not isinstance(axes, dict):
            raise SnnRramError(f"sweep.{name}: expected a table of dotted paths to lists")
    grid, zip_ = _flatten(grid), _flatten(zip_)
    for name, axes in (("grid", grid), ("zip", zip_)):
        for k, v in axes.items():
            if not isinstance(v, list) or not v:
                raise SnnRramError(f"sweep.{name}.{k}: expected a non-empty list of values")
    if zip_ and len({len(v) for v in zip_.values()}) != 1:
        lengths = {k: len(v) for k, v in zip_.items()}
        raise SnnRramError(f"sweep.zip: every axis needs the same number of values, got {lengths}")
    extra = table.get("extra", [])
    if not isinstance(extra, list) or not all(isinstance(e, dict) for e in extra):
        raise SnnRramError("sweep.extra: expected an array of tables ([[extra]])")
    extra = [_flatten(e) for e in extra]
    ints = {}
    for name, default, lo in (("repeats", 1, 1), ("seed", 0, 0), ("retries", 1, 0)):
        v = table.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise SnnRramError(f"sweep.{name}: expected an integer >= {lo}, got {v!r}")
        ints[name] = v
    workers = table.get("workers")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise SnnRramError(f"sweep.workers: expected an integer >= 1, got {workers!r}")
    seed_fields = table.get("seed_fields", ["mapping.seed", "encoder.seed"])
    if not isinstance(seed_fields, list) or not all(isinstance(f, str) for f in seed_fields):
        raise SnnRramError(
            f"sweep.seed_fields: expected a list of dotted paths (strings), got {seed_fields!r}"
        )
    seed_fields = tuple(seed_fields)
    spec = SweepSpec(
        base,
        directory.resolve(),
        grid,
        zip_,
        tuple(extra),
        ints["repeats"],
        ints["seed"],
        ints["retries"],
        workers,
        seed_fields,
        str(table.get("name", path.stem)),
    )
    spec.points()  # validates every axis path and value now, before anything runs
    return spec
