"""ann.load: format detection and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import torch
from safetensors.numpy import save_file

from snn_rram import SnnRramError, ann

from ._models import cnn_skeleton


def test_detection_by_content_not_extension(tmp_path, mlp):
    torch.save(mlp.state_dict(), tmp_path / "weights.bin")
    assert ann.detect_format(tmp_path / "weights.bin") == "torch"
    ann.save(cnn_skeleton(), tmp_path / "model.dat")
    assert ann.detect_format(tmp_path / "model.dat") == "npz"
    save_file({"a.weight": np.ones((2, 2), np.float32)}, tmp_path / "st.npz")
    assert ann.detect_format(tmp_path / "st.npz") == "safetensors"
    assert ann.load(tmp_path / "st.npz").output_shape == (2,)


def test_unknown_format(tmp_path):
    (tmp_path / "w.txt").write_text("1 2 3")
    with pytest.raises(SnnRramError, match=r"cannot tell the file format.*format="):
        ann.load(tmp_path / "w.txt")
    # Forcing a format gives that importer's own error.
    with pytest.raises(SnnRramError, match="not a readable .npz archive"):
        ann.load(tmp_path / "w.txt", format="npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(SnnRramError, match="not a readable .npz archive"):
        ann.load(tmp_path / "empty.npz")


def test_argument_checks(tmp_path):
    ann.save(cnn_skeleton(), tmp_path / "n.npz")
    with pytest.raises(SnnRramError, match="path: no such file"):
        ann.load(tmp_path / "missing.npz")
    with pytest.raises(SnnRramError, match="pooling: expected one of 'max', 'avg'"):
        ann.load(tmp_path / "n.npz", pooling="sum")
    with pytest.raises(SnnRramError, match="format: expected one of"):
        ann.load(tmp_path / "n.npz", format="tflite")
    with pytest.raises(SnnRramError, match="input_shape: expected the per-sample shape"):
        ann.load(tmp_path / "n.npz", input_shape=(1, -28))
    with pytest.raises(SnnRramError, match="skeleton: expected an snn_rram.ann.Network"):
        ann.load(tmp_path / "n.npz", skeleton=[1])


def test_limits_hold_vgg16():
    """The reader limits are far above real networks: VGG-16 (138 M weights) fits in float64."""
    from snn_rram.ann import _limits

    assert _limits.MAX_TENSOR_BYTES >= 25088 * 4096 * 8  # fc6, the largest array
    assert _limits.MAX_MODEL_BYTES >= 138_357_544 * 8  # every weight
    assert _limits.MAX_ARRAYS >= 1000
