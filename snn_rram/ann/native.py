"""The native ``.npz`` file format of :class:`~snn_rram.ann.Network`.

An uncompressed NumPy ``.npz`` archive, readable with ``np.load(path, allow_pickle=False)``:

- ``<name>.weight`` and ``<name>.bias`` (float64) for every :class:`Dense` and :class:`Conv2d`
  layer, in the layout of :mod:`snn_rram.ann.layers`; ``.bias`` is absent for a layer without
  bias;
- ``__network__``: a 0-d unicode string array holding JSON::

    {"format": "snn_rram.ann.Network", "version": 1, "name": "...",
     "input_shape": [1, 28, 28],
     "layers": [{"type": "Conv2d", "name": "conv1", "stride": [1, 1],
                 "padding": [2, 2, 2, 2]},
                {"type": "ReLU", "name": "relu1"},
                {"type": "MaxPool2d", "name": "pool1", "kernel_size": [2, 2],
                 "stride": [2, 2]},
                {"type": "Flatten", "name": "flatten1"},
                {"type": "Dense", "name": "fc1"}, ...]}

``padding`` is (top, bottom, left, right) in pixels.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from snn_rram._io import atomic_write, file_sha256
from snn_rram.ann.layers import LAYER_TYPES, Conv2d
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

NETWORK_KEY = "__network__"
FORMAT_NAME = "snn_rram.ann.Network"
FORMAT_VERSION = 1


def save(network: Network, path: str | os.PathLike) -> Path:
    """Write ``network`` to ``path`` in the native ``.npz`` format.

    The file is written to a temporary file in the same folder and renamed into place, so an
    interrupted save never leaves a half-written file.

    Parameters
    ----------
    network : Network
        The network to save.
    path : str or os.PathLike
        Destination; used as given (no ``.npz`` is appended).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    if not isinstance(network, Network):
        raise SnnRramError(f"network: expected an snn_rram.ann.Network, got {type(network)}")
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for layer in network.layers:
        entry: dict = {"type": layer.kind, "name": layer.name}
        if isinstance(layer, Conv2d):
            entry["stride"] = list(layer.stride)
            entry["padding"] = list(layer.padding)
        elif hasattr(layer, "kernel_size"):
            entry["kernel_size"] = list(layer.kernel_size)
            entry["stride"] = list(layer.stride)
        if layer.has_weights:
            arrays[f"{layer.name}.weight"] = layer.weight
            if layer.bias is not None:
                arrays[f"{layer.name}.bias"] = layer.bias
        layers.append(entry)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": network.name,
        "input_shape": list(network.input_shape),
        "layers": layers,
    }
    arrays[NETWORK_KEY] = np.array(json.dumps(header))
    with atomic_write(path) as fh:
        np.savez(fh, **arrays)
    return path


#: Largest provenance sidecar read beside an ``.npz``, bytes (a sidecar is a few kB).
MAX_SIDECAR_BYTES = 1 << 20


def check_sidecar(path: str | os.PathLike) -> None:
    """Check an ``.npz`` against the provenance sidecar ``save_pretrained`` wrote beside it.

    ``<stem>.toml`` counts as the sidecar only when it is a TOML file of at most
    :data:`MAX_SIDECAR_BYTES` naming this file (``file = "<name>.npz"``) with a ``sha256``;
    then that hash must be the file's. The sidecar is written after the ``.npz``, so a save
    interrupted between the two is caught here.

    Raises
    ------
    SnnRramError
        The sidecar names this file with another SHA-256.
    """
    import tomllib

    path = Path(path)
    sidecar = path.with_suffix(".toml")
    try:
        if not sidecar.is_file() or sidecar.stat().st_size > MAX_SIDECAR_BYTES:
            return
        side = tomllib.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # not our sidecar
    if side.get("file") != path.name or not isinstance(side.get("sha256"), str):
        return
    got = file_sha256(path)
    if got != side["sha256"].lower():
        raise SnnRramError(
            f"{path.name}: SHA-256 {got} disagrees with its sidecar {sidecar.name} (sha256 = "
            f"{side['sha256']!r}): the pair was not written together (an interrupted "
            "save_pretrained?) or one of them was changed; save again or remove the sidecar"
        )


def _field(mapping, key: str, where: str, kind: type | tuple[type, ...]):
    if not isinstance(mapping, dict) or key not in mapping:
        raise SnnRramError(f"{where}.{key}: missing")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SnnRramError(f"{where}.{key}: expected {kind}, got {value!r}")
    return value


def network_from_native(header_text: str, arrays: dict[str, np.ndarray], source: str) -> Network:
    """Build a :class:`Network` from the native JSON header and its weight arrays.

    Parameters
    ----------
    header_text : str
        The JSON stored under ``__network__``.
    arrays : dict of str to numpy.ndarray
        The ``<name>.weight`` / ``<name>.bias`` arrays.
    source : str
        File name for error messages.
    """
    where = f"{source}: {NETWORK_KEY}"
    try:
        header = json.loads(header_text)
    except json.JSONDecodeError as exc:
        raise SnnRramError(f"{where}: invalid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise SnnRramError(f"{where}: expected a JSON object, got {type(header).__name__}")
    fmt = header.get("format")
    if fmt != FORMAT_NAME:
        raise SnnRramError(f"{where}.format: expected {FORMAT_NAME!r}, got {fmt!r}")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise SnnRramError(
            f"{where}.version: this snn-rram reads version {FORMAT_VERSION}, got {version!r}"
        )
    input_shape = _field(header, "input_shape", where, list)
    entries = _field(header, "layers", where, list)
    name = header.get("name", "network")
    layers = []
    for i, entry in enumerate(entries):
        at = f"{where}.layers[{i}]"
        kind = _field(entry, "type", at, str)
        cls = LAYER_TYPES.get(kind)
        if cls is None:
            raise SnnRramError(
                f"{at}.type: unsupported layer {kind!r}; expected one of {', '.join(LAYER_TYPES)}"
            )
        lname = _field(entry, "name", at, str)
        kwargs: dict = {"name": lname}
        for key in ("stride", "padding", "kernel_size"):
            if key in entry:
                kwargs[key] = tuple(_field(entry, key, at, list))
        if cls.has_weights:
            wkey, bkey = f"{lname}.weight", f"{lname}.bias"
            if wkey not in arrays:
                raise SnnRramError(f"{at} ({kind}): array {wkey!r} is missing")
            kwargs["weight"] = arrays[wkey]
            kwargs["bias"] = arrays.get(bkey)
        try:
            layers.append(cls(**kwargs))
        except TypeError as exc:
            raise SnnRramError(f"{at}: unexpected fields for {kind} ({exc})") from None
        except SnnRramError as exc:
            raise SnnRramError(f"{at}: {exc}") from None
    used = {
        f"{layer.name}.{p}" for layer in layers if layer.has_weights for p in ("weight", "bias")
    }
    extra = sorted(set(arrays) - used)
    if extra:
        raise SnnRramError(
            f"{source}: arrays {extra} belong to no layer of {NETWORK_KEY} (wrong names?)"
        )
    try:
        return Network(layers, input_shape, name=name if isinstance(name, str) else "network")
    except SnnRramError as exc:
        raise SnnRramError(f"{source}: {exc}") from None
