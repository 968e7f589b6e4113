"""Size limits of the weight-file readers (documented in :mod:`snn_rram.ann.importers`).

Every size a file declares (an ``.npy`` header's shape, a zip member's size, a safetensors
header's offsets, an ONNX initializer's dims, an HDF5 dataset's shape) is checked against these
and against the bytes the file holds (:func:`snn_rram._io.check_declared_size`) before anything
is allocated. They are far above real networks: VGG-16's largest weight array (fc6,
25088 × 4096) is 411 MB in float32, 822 MB in float64; all its weights are 553 MB in float32.
"""

import zipfile
import zlib

#: Largest single array (weight or bias tensor), bytes as stored.
MAX_TENSOR_BYTES = 4 << 30

#: Largest weights file and largest total of its arrays, bytes.
MAX_MODEL_BYTES = 16 << 30

#: Most arrays (npz members, safetensors tensors, ONNX initializers) in one file.
MAX_ARRAYS = 100_000

#: Largest header or configuration text (safetensors JSON header, Keras ``config.json``, the
#: ``__network__`` header of a native npz), bytes.
MAX_HEADER_BYTES = 100 << 20

#: What :mod:`zipfile` raises on damaged archives: bad headers, truncation, corrupt deflate data,
#: unsupported compression methods or versions (``NotImplementedError``), encrypted members
#: (``RuntimeError``).
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)
