"""PyTorch ``state_dict`` files, read with ``torch.load(weights_only=True)`` (never unpickled)."""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from snn_rram._io import check_declared_size
from snn_rram.ann._common import apply_skeleton, group_parameters, infer_network
from snn_rram.ann._limits import MAX_ARRAYS, MAX_MODEL_BYTES, MAX_TENSOR_BYTES, ZIP_ERRORS
from snn_rram.ann.network import Network
from snn_rram.errors import SnnRramError

# Keys under which training scripts commonly nest the state dict in a checkpoint.
_NESTED_KEYS = ("state_dict", "model_state_dict", "model")

_HOW_TO_SAVE = (
    "save the weights instead with `torch.save(model.state_dict(), path)` and load them with "
    "snn_rram.ann.load(path, skeleton=...) (or let it infer an MLP / LeNet-style network)"
)


def _import_torch(source: str):
    try:
        import torch
    except ImportError:
        raise SnnRramError(
            f"{source}: reading PyTorch files needs torch, an optional dependency: "
            "pip install torch (CPU wheel), or snn-rram[torch]"
        ) from None
    return torch


def _state_dict(obj, source: str, torch) -> dict[str, np.ndarray]:
    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _NESTED_KEYS:
            if isinstance(obj.get(key), Mapping):
                return _state_dict(obj[key], f"{source}[{key!r}]", torch)
    if not isinstance(obj, Mapping):
        raise SnnRramError(
            f"{source}: expected a state_dict (a mapping of parameter names to tensors), got "
            f"{type(obj).__name__}; {_HOW_TO_SAVE}"
        )
    out = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise SnnRramError(
                f"{source}: entry {key!r} is a {type(value).__name__}, not a tensor; expected a "
                "state_dict (a mapping of parameter names to tensors)"
            )
        if value.is_complex() or value.dtype == torch.bool:
            raise SnnRramError(f"{source}: entry {key!r} has dtype {value.dtype}, not real")
        out[key] = value.detach().to(device="cpu", dtype=torch.float64).numpy()
    return out


def _check_sizes(path: Path, source: str) -> None:
    """Bound what ``torch.load`` may allocate, from the archive's directory, before it runs.

    ``torch.save`` writes a zip archive (since PyTorch 1.6) whose members are the pickled
    structure and one member per storage: each member's declared size is checked against
    :data:`MAX_TENSOR_BYTES` and its stored bytes, their sum against :data:`MAX_MODEL_BYTES`.
    The legacy (pre-1.6) format, a bare pickle, is bounded by its file size.
    """
    limits = "snn_rram.ann._limits"
    size = path.stat().st_size
    check_declared_size(
        size, None, source, limit=MAX_MODEL_BYTES, limit_name=f"{limits}.MAX_MODEL_BYTES"
    )
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except ZIP_ERRORS as exc:
        raise SnnRramError(f"{source}: not a readable PyTorch archive ({exc})") from None
    if len(members) > MAX_ARRAYS + 16:
        raise SnnRramError(
            f"{source}: {len(members)} archive members, more than {limits}.MAX_ARRAYS"
        )
    total = 0
    for info in members:
        total += check_declared_size(
            info.file_size,
            info.compress_size,
            f"{source}: member {info.filename!r}",
            limit=MAX_TENSOR_BYTES,
            limit_name=f"{limits}.MAX_TENSOR_BYTES",
        )
    check_declared_size(
        total,
        None,
        f"{source}: all members",
        limit=MAX_MODEL_BYTES,
        limit_name=f"{limits}.MAX_MODEL_BYTES",
    )


def load_torch(path: Path, *, skeleton, input_shape, pooling) -> Network:
    """Read a PyTorch ``state_dict`` file (see :func:`snn_rram.ann.load`)."""
    source = path.name
    torch = _import_torch(source)
    _check_sizes(path, source)
    try:
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" (it references {found.group(1)})" if found else ""
        raise SnnRramError(
            f"{source}: not a plain state_dict: the file holds pickled Python objects{what}, "
            "such as a whole model saved with `torch.save(model, path)`; snn-rram never "
            f"unpickles untrusted code. {_HOW_TO_SAVE}"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SnnRramError(
            f"{source}: not a readable PyTorch file, truncated or corrupt ({first})"
        ) from None
    groups = group_parameters(_state_dict(obj, source, torch), source)
    if skeleton is not None:
        return apply_skeleton(skeleton, groups, source, input_shape=input_shape)
    return infer_network(groups, source, input_shape=input_shape, pooling=pooling)
