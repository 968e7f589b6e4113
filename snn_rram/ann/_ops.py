"""Vectorised numpy kernels of the float reference forward pass.

All arrays are batch first and float64; feature maps are NCHW. No function loops over images or
pixels: convolutions are one matrix product over im2col columns (built from a strided view),
split into batch chunks only to bound the memory of the column matrix.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Upper bound on the im2col matrix of one convolution chunk, in bytes.
_IM2COL_BYTES = 64 * 2**20


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int) -> int:
    """Output length of a convolution or pooling window along one axis (floor mode)."""
    return (size + pad_total - kernel) // stride + 1


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``x @ weight.T + bias`` for ``x`` of shape (N, in) and ``weight`` of shape (out, in)."""
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> np.ndarray:
    """2-D cross-correlation (PyTorch's ``conv2d``) of NCHW ``x`` with OIHW ``weight``.

    ``padding`` is (top, bottom, left, right) zeros; the result has shape (N, O, Ho, Wo).
    """
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    sh, sw = stride
    pt, pb, pl, pr = padding
    if pt or pb or pl or pr:
        x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ho = conv_output_size(h, kh, sh, pt + pb)
    wo = conv_output_size(w, kw, sw, pl + pr)
    wmat = weight.reshape(o, c * kh * kw).T  # (C*kh*kw, O)
    out = np.empty((n, ho, wo, o))
    chunk = max(1, _IM2COL_BYTES // max(1, 8 * c * kh * kw * ho * wo))
    for start in range(0, n, chunk):
        part = x[start : start + chunk]
        # (b, C, Ho, Wo, kh, kw) view, strided to the output positions.
        win = sliding_window_view(part, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * kh * kw)  # the im2col copy
        out[start : start + chunk] = (cols @ wmat).reshape(-1, ho, wo, o)
    out = out.transpose(0, 3, 1, 2)
    if bias is not None:
        out = out + bias[:, None, None]
    return np.ascontiguousarray(out)


def pool2d(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], op: str) -> np.ndarray:
    """Max (``op="max"``) or mean (``op="avg"``) pooling of NCHW ``x``, no padding, floor mode."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = stride
    ho = conv_output_size(h, kh, sh, 0)
    wo = conv_output_size(w, kw, sw, 0)
    if (kh, kw) == (sh, sw):
        # Non-overlapping windows: a reshape of the cropped map, no strided view needed.
        win = x[:, :, : ho * kh, : wo * kw].reshape(n, c, ho, kh, wo, kw)
        axes = (3, 5)
    else:
        win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
        axes = (4, 5)
    if op == "max":
        return win.max(axis=axes)
    return win.mean(axis=axes)
