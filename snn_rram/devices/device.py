"""A device: read model + programmable levels + variation, and the device cards that hold them."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from snn_rram.devices import iv
from snn_rram.devices import levels as levels_mod
from snn_rram.devices.iv import ReadModel
from snn_rram.devices.levels import Levels
from snn_rram.devices.variation import Variation
from snn_rram.errors import SnnRramError

__all__ = ["Device", "card_dirs", "list_cards", "load"]


@dataclass(frozen=True, eq=False)
class Device:
    """One kind of RRAM cell.

    Parameters
    ----------
    name : str
        Short name (the card's file name for cards).
    read_model : ReadModel
        Its I–V law.
    levels : Levels
        The conductances it can be programmed to.
    variation : Variation
        Programming error, read noise and faults.
    source : str
        Where the numbers come from (paper, measurement, or "representative values").
    description : str
        One line for listings.
    """

    name: str
    read_model: ReadModel
    levels: Levels
    variation: Variation = field(default_factory=Variation)
    source: str = ""
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.read_model, ReadModel):
            raise SnnRramError(f"Device.read_model: expected a ReadModel, got {self.read_model!r}")
        if not isinstance(self.levels, Levels):
            raise SnnRramError(f"Device.levels: expected Levels, got {self.levels!r}")
        if not isinstance(self.variation, Variation):
            raise SnnRramError(f"Device.variation: expected a Variation, got {self.variation!r}")

    def to_dict(self) -> dict:
        """The device as a TOML-ready table, in the card format."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "read": self.read_model.to_dict(),
            "levels": self.levels.to_dict(),
            "variation": self.variation.to_dict(),
        }

    @classmethod
    def from_dict(cls, table: dict, where: str = "device") -> Device:
        """Build a device from a card table (see ``models/devices/*.toml``)."""
        allowed = {"name", "description", "source", "read", "levels", "variation"}
        unknown = set(table) - allowed
        if unknown:
            raise SnnRramError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        for key in ("name", "source", "read", "levels"):
            if key not in table:
                raise SnnRramError(f"{where}: missing required key {key!r}")
        for key in ("name", "source", "description"):
            if key in table and not isinstance(table[key], str):
                raise SnnRramError(f"{where}.{key}: expected a string, got {table[key]!r}")
        variation = table.get("variation", {})
        if not isinstance(variation, dict):
            raise SnnRramError(f"{where}.variation: expected a table, got {variation!r}")
        unknown = set(variation) - set(Variation.__dataclass_fields__)
        if unknown:
            raise SnnRramError(
                f"{where}.variation: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                f"{', '.join(Variation.__dataclass_fields__)}"
            )
        return cls(
            name=table["name"],
            read_model=iv.from_dict(table["read"], f"{where}.read"),
            levels=levels_mod.from_dict(table["levels"], f"{where}.levels"),
            variation=Variation(**variation),
            source=table["source"],
            description=table.get("description", ""),
        )


def card_dirs() -> list[Path]:
    """Folders searched for device cards, first match wins.

    The folders listed in the environment variable ``SNN_RRAM_DEVICE_PATH`` (separated by
    ``os.pathsep``), then the repository's ``models/devices``.
    """
    dirs = [Path(p) for p in os.environ.get("SNN_RRAM_DEVICE_PATH", "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / "models" / "devices")
    return dirs


def list_cards() -> dict[str, Path]:
    """Names of the available device cards and their files."""
    cards: dict[str, Path] = {}
    for d in card_dirs():
        for path in sorted(d.glob("*.toml")):
            cards.setdefault(path.stem, path)
    return cards


def load(name_or_path: str | os.PathLike) -> Device:
    """Load a device card by preset name (``"sinh_mild"``) or from a TOML file path.

    Raises
    ------
    SnnRramError
        Unknown preset, unreadable or malformed TOML, or invalid values.
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.suffix != ".toml" and os.sep not in text:
        cards = list_cards()
        if text not in cards:
            raise SnnRramError(
                f"device: unknown preset {text!r}; available: {', '.join(sorted(cards))} "
                f"(or give the path of a .toml card)"
            )
        path = cards[text]
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SnnRramError(f"device: card file {str(path)!r} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SnnRramError(f"device: malformed TOML in {str(path)!r}: {exc}") from exc
    return Device.from_dict(table, where=f"device card {path.name}")
