"""`load`: read a trained network from a file, whatever framework wrote it.

The importer is chosen by the file's content (magic bytes, archive members) and extension:

========================  ===================================================================
format                    what is read
========================  ===================================================================
``npz``                   the native format of :func:`snn_rram.ann.save`, or conventional
                          ``fc1.weight`` / ``fc1.bias`` arrays (PyTorch layout)
``safetensors``           PyTorch-layout tensors, via the ``safetensors`` numpy API
``keras``                 Keras 3 ``.keras`` archives (``config.json`` + ``model.weights.h5``)
``h5``                    Keras legacy ``.h5`` models, Keras 2 ``.h5`` weights, Keras 3
                          ``.weights.h5`` files (read with h5py and the JSON config only)
``torch``                 PyTorch ``state_dict`` files (``torch.load(weights_only=True)``)
``onnx``                  ONNX graphs of Gemm/MatMul(+Add)/Conv/Relu/AveragePool/MaxPool/
                          Flatten/Reshape nodes
========================  ===================================================================

Files without an architecture (conventional npz, safetensors, PyTorch state dicts, weights-only
Keras files) take it from ``skeleton=`` (an :class:`~snn_rram.ann.Network` whose weights are
replaced), or infer it: an MLP (Dense layers in order, ReLU between, none after the last) or,
for 4-D weights, a LeNet-style CNN (conv → ReLU → 2×2 pooling per conv, flatten, MLP).
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from snn_rram._validation import one_of
from snn_rram.ann._common import apply_skeleton, group_parameters, infer_network
from snn_rram.ann.native import NETWORK_KEY, check_sidecar, network_from_native
from snn_rram.ann.network import Network, check_input_shape
from snn_rram.errors import SnnRramError

FORMATS = ("npz", "safetensors", "keras", "h5", "torch", "onnx")
"""Format names accepted by ``load(..., format=)``."""

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_EXTENSIONS = {
    ".npz": "npz",
    ".safetensors": "safetensors",
    ".keras": "keras",
    ".h5": "h5",
    ".hdf5": "h5",
    ".pt": "torch",
    ".pth": "torch",
    ".onnx": "onnx",
}


def load(
    path: str | os.PathLike,
    *,
    skeleton: Network | None = None,
    input_shape: Sequence[int] | None = None,
    pooling: str = "max",
    format: str | None = None,
) -> Network:
    """Read a trained network from a file.

    Parameters
    ----------
    path : str or os.PathLike
        The file (see the module documentation for the formats).
    skeleton : Network, optional
        The architecture, for files that store only weights: its weight layers receive the
        file's weights and biases, matched by name when the names agree, else in order.
    input_shape : tuple of int, optional
        Per-sample input shape in our layout ((features,) or (C, H, W)): needed to infer a
        convolutional network, and used when the file does not say; a file that states a
        different one is an error.
    pooling : {"max", "avg"}
        Pooling layer of an inferred LeNet-style CNN.
    format : str, optional
        Force a format (one of :data:`FORMATS`) instead of detecting it.

    Returns
    -------
    Network
        Float64 weights in PyTorch's layout; the network's forward pass gives the outputs of the
        original model. A softmax at the very end is left out (with a warning): the network
        outputs logits, the predictions are unchanged.

    Raises
    ------
    SnnRramError
        Unknown or malformed files, unsupported layers or operators (named, with their
        position), weights that do not fit the architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise SnnRramError(f"path: no such file {str(path)!r}")
    one_of(pooling, "pooling", ("max", "avg"))
    if input_shape is not None:
        input_shape = check_input_shape(input_shape)
    if skeleton is not None and not isinstance(skeleton, Network):
        raise SnnRramError(f"skeleton: expected an snn_rram.ann.Network, got {type(skeleton)}")
    fmt = detect_format(path) if format is None else one_of(format, "format", FORMATS)
    kwargs = {"skeleton": skeleton, "input_shape": input_shape, "pooling": pooling}
    if fmt == "npz":
        return _load_npz(path, **kwargs)
    if fmt == "safetensors":
        return _load_safetensors(path, **kwargs)
    if fmt in ("keras", "h5"):
        from snn_rram.ann import _keras

        return _keras.load_keras(path, archive=fmt == "keras", **kwargs)
    if fmt == "torch":
        from snn_rram.ann import _torch

        return _torch.load_torch(path, **kwargs)
    from snn_rram.ann import _onnx

    return _onnx.load_onnx(path, **kwargs)


def detect_format(path: str | os.PathLike) -> str:
    """Name the format of a weights file from its first bytes, members and extension.

    Returns
    -------
    str
        One of :data:`FORMATS`.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(16)
    size = path.stat().st_size
    suffix = path.suffix.lower()
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                members = zf.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise SnnRramError(
                f"{path}: a zip archive ({suffix or 'no extension'}) that cannot be read, "
                f"truncated or corrupt ({exc})"
            ) from None
        if "config.json" in members and "model.weights.h5" in members:
            return "keras"
        if any(m == "data.pkl" or m.endswith("/data.pkl") for m in members):
            return "torch"
        if members and all(m.endswith(".npy") for m in members):
            return "npz"
        if suffix == ".keras":
            raise SnnRramError(
                f"{path}: a .keras archive needs members 'config.json' and 'model.weights.h5', "
                f"found {members[:10]}"
            )
        raise SnnRramError(
            f"{path}: a zip archive that is neither an .npz (only .npy members), a .keras "
            f"archive nor a PyTorch file; members: {members[:10]}"
        )
    if head.startswith(_HDF5_MAGIC):
        return "h5"
    if len(head) >= 9 and head[8:9] == b"{":
        (header_len,) = struct.unpack("<Q", head[:8])
        if header_len <= size - 8:
            return "safetensors"
    if head.startswith(b"\x80") and suffix in (".pt", ".pth", ".bin", ".ckpt"):
        return "torch"  # PyTorch's legacy (non-zip) serialization
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise SnnRramError(
        f"{path}: cannot tell the file format from its first bytes {head[:8]!r} or extension "
        f"{suffix!r}; pass format= (one of {', '.join(FORMATS)})"
    )


def _load_npz(path: Path, *, skeleton, input_shape, pooling) -> Network:
    source = path.name
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                try:
                    arrays[key] = archive[key]
                except ValueError as exc:
                    raise SnnRramError(f"{source}: array {key!r} cannot be read ({exc})") from None
    except SnnRramError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SnnRramError(f"{source}: not a readable .npz archive ({exc})") from None
    if NETWORK_KEY in arrays:
        header = arrays.pop(NETWORK_KEY)
        if header.ndim != 0 or header.dtype.kind != "U":
            raise SnnRramError(
                f"{source}: {NETWORK_KEY} must be a 0-d string array holding JSON, got dtype "
                f"{header.dtype} shape {header.shape}"
            )
        if skeleton is not None:
            raise SnnRramError(
                f"skeleton: {source} stores its own architecture ({NETWORK_KEY}); "
                "a skeleton is only for weights-only files"
            )
        network = network_from_native(str(header), arrays, source)
        check_sidecar(path)
        if input_shape is not None and input_shape != network.input_shape:
            raise SnnRramError(
                f"input_shape: {source} has input shape {network.input_shape}, got {input_shape}"
            )
        return network
    groups = group_parameters(arrays, source)
    if skeleton is not None:
        return apply_skeleton(skeleton, groups, source, input_shape=input_shape)
    return infer_network(groups, source, input_shape=input_shape, pooling=pooling)


def _load_safetensors(path: Path, *, skeleton, input_shape, pooling) -> Network:
    source = path.name
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError:  # pragma: no cover - safetensors is a dependency of the dev extra
        raise SnnRramError(
            f"{source}: reading safetensors files needs the 'safetensors' package "
            "(pip install safetensors)"
        ) from None
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise SnnRramError(f"{source}: not a readable safetensors file ({exc})") from None
    # safetensors stores no layer order: natural name order, convolutions first.
    groups = group_parameters(tensors, source, natural_order=True)
    if skeleton is not None:
        return apply_skeleton(skeleton, groups, source, input_shape=input_shape)
    return infer_network(groups, source, input_shape=input_shape, pooling=pooling)
