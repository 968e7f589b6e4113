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
``nir``                   NIR graphs (``.nir``, HDF5) of spiking layers: their rate model, in
                          threshold units (:mod:`snn_rram.ann._nir`)
========================  ===================================================================

Files without an architecture (conventional npz, safetensors, PyTorch state dicts, weights-only
Keras files) take it from ``skeleton=`` (an :class:`~snn_rram.ann.Network` whose weights are
replaced), or infer it: an MLP (Dense layers in order, ReLU between, none after the last) or,
for 4-D weights, a LeNet-style CNN (conv → ReLU → 2×2 pooling per conv, flatten, MLP).

Limits (:mod:`snn_rram.ann._limits`): every size a file declares is checked before anything is
allocated for it: one array at most ``MAX_TENSOR_BYTES`` (4 GiB), a file and all its arrays at
most ``MAX_MODEL_BYTES`` (16 GiB), at most ``MAX_ARRAYS`` (100,000) arrays, a header or
configuration text at most ``MAX_HEADER_BYTES`` (100 MiB); and a declared size must fit the
bytes that hold it (exactly for uncompressed data, at most 1032:1 for deflate). VGG-16's
weights (553 MB in float32) load. A violation is an :class:`~snn_rram.errors.SnnRramError`
naming the file and the array.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from snn_rram._io import check_declared_size
from snn_rram._validation import one_of
from snn_rram.ann._common import apply_skeleton, group_parameters, infer_network
from snn_rram.ann._limits import (
    MAX_ARRAYS,
    MAX_HEADER_BYTES,
    MAX_MODEL_BYTES,
    MAX_TENSOR_BYTES,
    ZIP_ERRORS,
)
from snn_rram.ann.native import NETWORK_KEY, check_sidecar, network_from_native
from snn_rram.ann.network import Network, check_input_shape
from snn_rram.errors import SnnRramError

FORMATS = ("npz", "safetensors", "keras", "h5", "torch", "onnx", "nir")
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
    ".nir": "nir",
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
        what = "is a folder, expected a weights file" if path.is_dir() else "no such file"
        raise SnnRramError(f"path: {what} {str(path)!r}")
    check_declared_size(
        path.stat().st_size,
        None,
        f"path: {path.name}",
        limit=MAX_MODEL_BYTES,
        limit_name="snn_rram.ann._limits.MAX_MODEL_BYTES",
    )
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
    if fmt == "nir":
        return _load_nir(path, **kwargs)
    from snn_rram.ann import _onnx

    return _onnx.load_onnx(path, **kwargs)


def _load_nir(path: Path, *, skeleton, input_shape, pooling) -> Network:
    """The rate model of a NIR graph (:func:`snn_rram.ann._nir.from_nir`, ``max_rate`` 100 Hz)."""
    from snn_rram.ann import _nir

    del pooling  # a NIR graph names its pooling
    if skeleton is not None:
        raise SnnRramError(
            f"skeleton: {path.name} is a NIR graph, which stores its own architecture"
        )
    network = _nir.from_nir(_nir.read_nir(path)).network
    if input_shape is not None and input_shape != network.input_shape:
        raise SnnRramError(
            f"input_shape: {path.name} has input shape {network.input_shape}, got {input_shape}"
        )
    return network


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
        except ZIP_ERRORS as exc:
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
        return "nir" if suffix == ".nir" else "h5"
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


def _npy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, total: int):
    """One ``.npy`` member, its header's shape checked before its data is read."""
    limits = "snn_rram.ann._limits"
    check_declared_size(
        info.file_size,
        info.compress_size,
        where,
        limit=MAX_TENSOR_BYTES + MAX_HEADER_BYTES,
        limit_name=f"{limits}.MAX_TENSOR_BYTES",
    )
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise SnnRramError(f"{where}: .npy format version {version} is not supported")
        if dtype.hasobject or dtype.kind in "VOSMm":
            raise SnnRramError(f"{where}: dtype {dtype} is not numeric data")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        check_declared_size(
            nbytes,
            info.file_size,
            f"{where} (shape {shape}, {dtype})",
            limit=MAX_TENSOR_BYTES,
            limit_name=f"{limits}.MAX_TENSOR_BYTES",
        )
        check_declared_size(
            total + nbytes,
            None,
            f"{where}: the arrays so far",
            limit=MAX_MODEL_BYTES,
            limit_name=f"{limits}.MAX_MODEL_BYTES",
        )
        buf = np.empty(nbytes, dtype=np.uint8)
        view, got = memoryview(buf), 0
        while got < nbytes and (n := fh.readinto(view[got:])):
            got += n
        if got < nbytes or fh.read(1):
            raise SnnRramError(
                f"{where}: holds {'fewer' if got < nbytes else 'more'} bytes than its shape "
                f"{shape} of {dtype} announces ({nbytes})"
            )
    return buf.view(dtype).reshape(shape, order="F" if fortran else "C"), nbytes


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive, read within the limits of the module documentation.

    Raises
    ------
    SnnRramError
        An unreadable archive, a member that is not an ``.npy`` array of numbers or text, or a
        size beyond a limit or beyond the bytes that hold it (naming the array).
    """
    source = path.name
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ARRAYS:
                raise SnnRramError(
                    f"{source}: {len(infos)} members, more than the limit of {MAX_ARRAYS} "
                    "(snn_rram.ann._limits.MAX_ARRAYS)"
                )
            total = 0
            for info in infos:
                key = info.filename.removesuffix(".npy")
                where = f"{source}: array {key!r}"
                if not info.filename.endswith(".npy") or key in arrays:
                    raise SnnRramError(f"{where}: expected one .npy member per array name")
                try:
                    arrays[key], nbytes = _npy_member(zf, info, where, total)
                except SnnRramError:
                    raise
                except ZIP_ERRORS as exc:
                    raise SnnRramError(f"{where}: cannot be read ({exc})") from None
                total += nbytes
    except SnnRramError:
        raise
    except ZIP_ERRORS as exc:
        raise SnnRramError(f"{source}: not a readable .npz archive ({exc})") from None
    return arrays


def _load_npz(path: Path, *, skeleton, input_shape, pooling) -> Network:
    source = path.name
    arrays = read_npz(path)
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
    check_safetensors_header(path)
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise SnnRramError(f"{source}: not a readable safetensors file ({exc})") from None
    # safetensors stores no layer order: natural name order, convolutions first.
    groups = group_parameters(tensors, source, natural_order=True)
    if skeleton is not None:
        return apply_skeleton(skeleton, groups, source, input_shape=input_shape)
    return infer_network(groups, source, input_shape=input_shape, pooling=pooling)


#: Bytes per element of the safetensors dtypes.
_SAFETENSORS_DTYPES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}


def check_safetensors_header(path: Path) -> None:
    """Check a safetensors file's header against the file and the limits before loading it.

    The 8-byte header length must fit the file and :data:`~snn_rram.ann._limits.MAX_HEADER_BYTES`;
    the JSON header must be an object whose tensors have a known dtype, a shape of sizes >= 0
    and ``data_offsets`` inside the data section whose length is that of the shape.

    Raises
    ------
    SnnRramError
        Naming the file and the tensor or header field.
    """
    source = path.name
    size = path.stat().st_size
    limits = "snn_rram.ann._limits"
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise SnnRramError(f"{source}: header length: the file has only {len(head)} bytes")
        (n,) = struct.unpack("<Q", head)
        check_declared_size(
            n,
            None,
            f"{source}: header length",
            limit=MAX_HEADER_BYTES,
            limit_name=f"{limits}.MAX_HEADER_BYTES",
        )
        if n > size - 8:
            raise SnnRramError(
                f"{source}: header length {n} is more than the {size - 8} bytes after it"
            )
        text = fh.read(n)
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SnnRramError(f"{source}: header: invalid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise SnnRramError(
            f"{source}: header: expected a JSON object, got {type(header).__name__}"
        )
    if len(header) > MAX_ARRAYS + 1:
        raise SnnRramError(
            f"{source}: header: more than {MAX_ARRAYS} tensors ({limits}.MAX_ARRAYS)"
        )
    data = size - 8 - n
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{source}: tensor {name!r}"
        if not isinstance(entry, dict):
            raise SnnRramError(f"{where}: expected an object with dtype, shape, data_offsets")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _SAFETENSORS_DTYPES:
            raise SnnRramError(f"{where}.dtype: unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise SnnRramError(f"{where}.shape: expected a list of sizes >= 0, got {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data
        ):
            raise SnnRramError(
                f"{where}.data_offsets: expected [begin, end] within the {data} data bytes, got "
                f"{offsets!r}"
            )
        nbytes = math.prod(shape) * _SAFETENSORS_DTYPES[dtype]
        check_declared_size(
            nbytes,
            None,
            f"{where} (shape {shape}, {dtype})",
            limit=MAX_TENSOR_BYTES,
            limit_name=f"{limits}.MAX_TENSOR_BYTES",
        )
        if nbytes != offsets[1] - offsets[0]:
            raise SnnRramError(
                f"{where}: shape {shape} of {dtype} is {nbytes} bytes, data_offsets hold "
                f"{offsets[1] - offsets[0]}"
            )
        total += nbytes
    check_declared_size(
        total,
        None,
        f"{source}: all tensors",
        limit=MAX_MODEL_BYTES,
        limit_name=f"{limits}.MAX_MODEL_BYTES",
    )
