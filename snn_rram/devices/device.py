"""A device: read model + programmable levels + variation, and the device cards that hold them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snn_rram import _resources
from snn_rram._io import write_toml
from snn_rram._schema import build
from snn_rram._validation import read_toml, suggest
from snn_rram.devices import iv
from snn_rram.devices import levels as levels_mod
from snn_rram.devices.iv import ReadModel
from snn_rram.devices.levels import Levels
from snn_rram.devices.programming import Programming
from snn_rram.devices.variation import Variation
from snn_rram.errors import SnnRramError

__all__ = ["Device", "card_dirs", "is_card_path", "list_cards", "load"]


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
    programming : Programming, optional
        How pulses move its conductance (the card's optional ``[programming]`` table; on-chip
        training needs it).
    """

    name: str
    read_model: ReadModel
    levels: Levels
    variation: Variation = field(default_factory=Variation)
    source: str = ""
    description: str = ""
    programming: Programming | None = None

    def __post_init__(self):
        if not isinstance(self.read_model, ReadModel):
            raise SnnRramError(f"Device.read_model: expected a ReadModel, got {self.read_model!r}")
        if not isinstance(self.levels, Levels):
            raise SnnRramError(f"Device.levels: expected Levels, got {self.levels!r}")
        if not isinstance(self.variation, Variation):
            raise SnnRramError(f"Device.variation: expected a Variation, got {self.variation!r}")
        if self.programming is not None and not isinstance(self.programming, Programming):
            raise SnnRramError(
                f"Device.programming: expected a Programming or None, got {self.programming!r}"
            )

    def to_dict(self) -> dict:
        """The device as a TOML-ready table, in the card format (plain Python values)."""
        table = {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "read": self.read_model.to_dict(),
            "levels": self.levels.to_dict(),
            "variation": self.variation.to_dict(),
        }
        if self.programming is not None:
            table["programming"] = self.programming.to_dict()
        return _plain(table)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the device as a card (TOML) that :func:`load` reads back to an equal device.

        The file is written atomically: a temporary file in the same folder, renamed over
        ``path`` once complete, so a reader never sees half a card.

        Returns
        -------
        pathlib.Path
            The card's path.
        """
        path = Path(path)
        if path.suffix != ".toml":
            raise SnnRramError(f"path: a device card is a .toml file, got {str(path)!r}")
        if not path.parent.is_dir():
            raise SnnRramError(f"path: folder {str(path.parent)!r} does not exist")
        write_toml(path, self.to_dict())
        return path

    @classmethod
    def from_dict(cls, table: dict, where: str = "device") -> Device:
        """Build a device from a card table (see ``models/devices/*.toml``).

        ``where`` prefixes the key paths in error messages (``""``: the card's own keys).
        """
        card = build(_CardTable, table, where)
        levels = levels_mod.from_dict(card.levels, _key(where, "levels"))
        programming = None
        if card.programming is not None:
            programming = Programming.from_dict(
                card.programming,
                _key(where, "programming"),
                defaults={"g_min": levels.g_min, "g_max": levels.g_max},
            )
        return cls(
            name=card.name,
            read_model=iv.from_dict(card.read, _key(where, "read")),
            levels=levels,
            variation=build(Variation, card.variation, _key(where, "variation")),
            source=card.source,
            description=card.description,
            programming=programming,
        )


@dataclass(frozen=True)
class _CardTable:
    """The top level of a device card (its schema: see :func:`snn_rram._schema.build`)."""

    name: str
    source: str
    read: dict
    levels: dict
    description: str = ""
    variation: dict = field(default_factory=dict)
    programming: dict | None = None


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _plain(x):
    """Nested tables with numpy scalars turned into Python numbers (for the TOML writer)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def card_dirs() -> list[Path]:
    """Folders searched for device cards by name, first match wins.

    The folders listed in the environment variable ``SNN_RRAM_DEVICE_PATH`` (separated by
    ``os.pathsep``), then the bundled cards (the repository's ``models/devices``, package data
    of an installed snn-rram; see :mod:`snn_rram._resources`).
    """
    return _resources.search_path("device")


def list_cards() -> dict[str, Path]:
    """Names of the available device cards and their files (see :func:`card_dirs`)."""
    return _resources.available("device")


def is_card_path(name_or_path: str | os.PathLike) -> bool:
    """True when :func:`load` reads ``name_or_path`` as a file path, not a preset name."""
    text = os.fspath(name_or_path)
    return Path(text).suffix == ".toml" or os.sep in text


def load(name_or_path: str | os.PathLike) -> Device:
    """Load a device card by preset name (``"sinh_mild"``) or from a TOML file path.

    A text with a ``.toml`` suffix or a folder separator is a path (relative to the current
    folder); any other text is a name, searched in the folders of ``SNN_RRAM_DEVICE_PATH``, then
    among the bundled cards (:func:`card_dirs`).

    A card is UTF-8 TOML of at most :data:`~snn_rram._validation.MAX_TOML_BYTES` (1 MiB) with
    at most :data:`~snn_rram.devices.levels.MAX_LEVELS` levels.

    Raises
    ------
    SnnRramError
        Unknown preset (the nearest name suggested), unreadable, too large, not UTF-8 or
        malformed TOML, or invalid values (named by their key path).
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise SnnRramError(f"device: expected a card name or path, got {name_or_path!r}")
    text = os.fspath(name_or_path)
    path = Path(text)
    if not is_card_path(text):
        cards = list_cards()
        if text not in cards:
            raise SnnRramError(
                f"device: unknown preset {text!r}{suggest(text, cards)}; available: "
                f"{', '.join(sorted(cards))} (or give the path of a .toml card)"
            )
        path = cards[text]
    table = read_toml(path, "device card")
    try:
        return Device.from_dict(table, where="")
    except SnnRramError as exc:
        raise SnnRramError(f"device card {str(path)!r}: {exc}") from None
