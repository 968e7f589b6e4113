"""The weight stores of Keras files, read with h5py (Keras itself is not imported).

- Keras 3 (``.keras`` archives' ``model.weights.h5`` and ``.weights.h5`` files): one group
  ``layers/<snake_case class name>[_<n>]/vars`` per layer with datasets ``0``, ``1``, ... in the
  order of the layer's variables (kernel, bias) and, in recent versions, an attribute ``name``;
- Keras legacy ``.h5`` models (``model.save("x.h5")``): root attribute ``model_config`` (JSON)
  and a group ``model_weights/<layer name>`` with attribute ``weight_names``;
- Keras 2 ``save_weights("x.h5")``: the same layer groups at the root, attribute ``layer_names``.

Sizes are checked before reading (:mod:`snn_rram.ann._limits`): the archive members' declared
sizes against the limits and their compressed sizes, and reading stops past the limit whatever
a member declares; every weight dataset's declared size against the limit and the size of the
HDF5 file that holds it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np

from snn_rram._io import check_declared_size, read_bounded
from snn_rram.ann._common import as_float_array, natural_key
from snn_rram.ann._limits import MAX_HEADER_BYTES, MAX_MODEL_BYTES, MAX_TENSOR_BYTES, ZIP_ERRORS
from snn_rram.errors import SnnRramError


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes | np.bytes_) else str(value)


def _read(node, where: str, file_size: int) -> np.ndarray:
    """A weight dataset as a float array, its declared size checked before it is read."""
    if not isinstance(node, h5py.Dataset):
        raise SnnRramError(f"{where}: expected a dataset, got {type(node).__name__}")
    nbytes = int(np.prod(node.shape, dtype=object)) * node.dtype.itemsize
    check_declared_size(
        nbytes,
        file_size,
        f"{where} (shape {node.shape})",
        limit=MAX_TENSOR_BYTES,
        limit_name="snn_rram.ann._limits.MAX_TENSOR_BYTES",
    )
    try:
        value = node[()]
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise SnnRramError(f"{where}: cannot be read ({exc})") from None
    return as_float_array(value, where)


def _member(zf: zipfile.ZipFile, name: str, source: str, limit: int, limit_name: str) -> bytes:
    """An archive member, its declared and its actual size within ``limit``."""
    info = zf.getinfo(name)
    where = f"{source}: {name}"
    check_declared_size(
        info.file_size, info.compress_size, where, limit=limit, limit_name=limit_name
    )
    with zf.open(info) as fh:
        return read_bounded(fh, limit, where, limit_name=limit_name)


# -- weight stores --------------------------------------------------------------------------------


class _Keras3Store:
    """``layers/<path>/vars/<i>`` groups of a Keras 3 weights file."""

    def __init__(self, root: h5py.Group, source: str, size: int):
        self.source = source
        self.by_path: dict[str, list[np.ndarray]] = {}
        self.by_name: dict[str, list[np.ndarray]] = {}
        self.names: dict[str, str] = {}
        layers = root.get("layers")
        if not isinstance(layers, h5py.Group):
            raise SnnRramError(f"{source}: group 'layers' of the Keras weights is missing")
        for path, group in layers.items():
            vars_ = group.get("vars") if isinstance(group, h5py.Group) else None
            if not isinstance(vars_, h5py.Group):
                continue
            keys = sorted((k for k in vars_ if k.isdigit()), key=int)
            arrays = [_read(vars_[k], f"{source}: layers/{path}/vars/{k}", size) for k in keys]
            self.by_path[path] = arrays
            name = vars_.attrs.get("name")
            if name is not None:
                self.by_name[_text(name)] = arrays
                self.names[path] = _text(name)

    def variables(self, name: str, path: str) -> list[np.ndarray]:
        """Return the variables of the layer ``name`` stored at ``layers/<path>``."""
        if name in self.by_name:
            return self.by_name[name]
        if path in self.by_path:
            return self.by_path[path]
        raise SnnRramError(
            f"{self.source}: the weights of layer {name!r} (group layers/{path}/vars) are "
            "missing from the Keras weights file"
        )

    def groups(self) -> list[tuple[str, list[np.ndarray]]]:
        """(layer name, variables) of every layer with variables, convolutions first."""
        paths = [p for p, arrays in self.by_path.items() if arrays]
        paths.sort(key=lambda p: (self.by_path[p][0].ndim != 4, natural_key(p)))
        return [(self.names.get(p, p), self.by_path[p]) for p in paths]


class _LegacyStore:
    """``<layer name>`` groups with ``weight_names`` of a Keras legacy HDF5 file."""

    def __init__(self, root: h5py.Group, source: str, size: int):
        self.source = source
        self.size = size
        self.root = root
        if "layer_names" not in root.attrs:
            raise SnnRramError(
                f"{source}: attribute 'layer_names' of the Keras weights is missing"
            )
        self.layer_names = [_text(n) for n in root.attrs["layer_names"]]

    def variables(self, name: str, path: str = "") -> list[np.ndarray]:
        """Return the variables of the layer called ``name``, in ``weight_names`` order."""
        group = self.root.get(name)
        if not isinstance(group, h5py.Group) or "weight_names" not in group.attrs:
            raise SnnRramError(
                f"{self.source}: the weights of layer {name!r} (group {name}/ with attribute "
                "'weight_names') are missing from the Keras file"
            )
        arrays = []
        for wname in (_text(w) for w in group.attrs["weight_names"]):
            if wname not in group:
                raise SnnRramError(f"{self.source}: weight {name}/{wname} is missing")
            arrays.append(_read(group[wname], f"{self.source}: {name}/{wname}", self.size))
        return arrays

    def groups(self) -> list[tuple[str, list[np.ndarray]]]:
        """(layer name, variables) of every layer with variables, in model order."""
        out = []
        for name in self.layer_names:
            arrays = self.variables(name)
            if arrays:
                out.append((name, arrays))
        return out


# -- reading the file ----------------------------------------------------------------------------


def open_keras(path: Path, archive: bool):
    """Return (config or None, store, h5 file to close)."""
    source = path.name
    limits = "snn_rram.ann._limits"
    if archive:
        try:
            with zipfile.ZipFile(path) as zf:
                config_text = _member(
                    zf, "config.json", source, MAX_HEADER_BYTES, f"{limits}.MAX_HEADER_BYTES"
                )
                weights = _member(
                    zf, "model.weights.h5", source, MAX_MODEL_BYTES, f"{limits}.MAX_MODEL_BYTES"
                )
        except KeyError as exc:
            raise SnnRramError(
                f"{source}: member {exc} of the .keras archive is missing"
            ) from None
        except SnnRramError:
            raise
        except ZIP_ERRORS as exc:
            raise SnnRramError(
                f"{source}: unreadable .keras archive, truncated? ({exc})"
            ) from None
        try:
            config = json.loads(config_text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SnnRramError(f"{source}: config.json: invalid JSON ({exc})") from None
        h5 = _h5(io.BytesIO(weights), f"{source}: model.weights.h5")
        return config, _Keras3Store(h5, source, len(weights)), h5
    size = path.stat().st_size
    h5 = _h5(path, source)
    if "model_config" in h5.attrs:
        try:
            config = json.loads(_text(h5.attrs["model_config"]))
        except json.JSONDecodeError as exc:
            h5.close()
            raise SnnRramError(f"{source}: attribute model_config: invalid JSON ({exc})") from None
        if not isinstance(h5.get("model_weights"), h5py.Group):
            h5.close()
            raise SnnRramError(f"{source}: group 'model_weights' is missing")
        return config, _LegacyStore(h5["model_weights"], source, size), h5
    if "layer_names" in h5.attrs:
        return None, _LegacyStore(h5, source, size), h5
    if "layers" in h5:
        return None, _Keras3Store(h5, source, size), h5
    h5.close()
    raise SnnRramError(
        f"{source}: an HDF5 file but not a Keras model or weights file (no attribute "
        "'model_config' or 'layer_names', no group 'layers')"
    )


def _h5(file, source: str) -> h5py.File:
    try:
        return h5py.File(file, "r")
    except OSError as exc:
        raise SnnRramError(f"{source}: not a readable HDF5 file, truncated? ({exc})") from None
