"""Memory formats of (N, C, H, W) arrays, as PyTorch's ``torch.contiguous_format`` and ``torch.channels_last``.

The shape is always (N, C, H, W); the layout is how the numbers sit in memory: plane by plane (NCHW, C order) or
pixel by pixel (memory order N, H, W, C: a C-contiguous (N, H, W, C) array seen through ``.transpose(0, 3, 1,
2)``). Values never depend on it. Convolutions return channels-last output when their input or weight is
channels-last, as torch does; pooling and element-wise ops keep the layout they get.
"""

from __future__ import annotations

import numpy as np


def is_channels_last(a) -> bool:
    """True for a 4-D array stored pixel by pixel (memory order N, H, W, C) rather than plane by plane.

    Decided by the strides, as PyTorch does: a 1x1 weight or a 1-channel image is contiguous either way,
    and counts as channels-last only if its strides are the channels-last ones.
    """
    if a.ndim != 4 or not a.transpose(0, 2, 3, 1).flags.c_contiguous:
        return False
    _, C, H, W = a.shape
    return not a.flags.c_contiguous or a.strides != (
        C * H * W * a.itemsize,
        H * W * a.itemsize,
        W * a.itemsize,
        a.itemsize,
    )


def to_memory_format(out, channels_last: bool):
    """``out`` with the requested memory layout (a copy only if it has the other one)."""
    if not channels_last:
        return np.ascontiguousarray(out)
    if out.transpose(0, 2, 3, 1).flags.c_contiguous:
        return out
    return np.ascontiguousarray(out.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def to_channels_last(x):
    """``x`` stored pixel by pixel (a copy unless it already is); like ``x.contiguous(memory_format=channels_last)``.

    Arrays that are not 4-D (or not NumPy arrays: device arrays) are returned unchanged.
    """
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        return x
    return to_memory_format(x, channels_last=True)
