"""Max pooling and its backward as compiled loops: the window's maximum and where it was, in one pass.

The NumPy version (``kernels/pooling.py``, its backward ``max_pool2d_backward_by_taps``) makes one pass over the
output per kernel tap; on small planes (the digits CNN's 8x8 and 4x4) each pass runs one loop per output row of
a few numbers, and NumPy's per-loop cost dominates. Here each window is read once, by compiled loops, with torch's
rules (notation as in ``kernels/pooling.py``): the first maximum wins a tie (scanning kh, then kw), a NaN always
wins and the last NaN gives the index, and a window whose values are all -inf reports its first position inside
the input. The backward sends each window's gradient to its index (overlapping windows add up). What
``minicnn.compiled()`` runs.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit


@functools.cache
def _max_pool2d_kernel(KH, KW, sH, sW, pT, pL, dH, dW):
    """The forward loops compiled for one window shape: the sizes are constants of the machine code (the tap loops
    unrolled, no division), about 3x faster than loops over sizes passed as arguments. Cached on disk per shape."""

    @njit(nogil=True, cache=True)
    def max_pool2d(x, out, idx):
        N, C, H, W = x.shape
        OH, OW = out.shape[2], out.shape[3]
        for n in range(N):
            for c in range(C):
                plane = x[n, c]
                for oh in range(OH):
                    h0 = oh * sH - pT
                    rows_inside = h0 >= 0 and h0 + (KH - 1) * dH < H
                    for ow in range(OW):
                        w0 = ow * sW - pL
                        if rows_inside and w0 >= 0 and w0 + (KW - 1) * dW < W:  # the whole window in the input
                            best = plane[h0, w0]  # (most windows: no bounds to check, no padding case)
                            at = h0 * W + w0
                            for kh in range(KH):
                                for kw in range(KW):
                                    v = plane[h0 + kh * dH, w0 + kw * dW]
                                    take = (v > best) | (v != v)  # as below
                                    best = v if take else best
                                    at = (h0 + kh * dH) * W + w0 + kw * dW if take else at
                            out[n, c, oh, ow] = best
                            idx[n, c, oh, ow] = at
                            continue
                        best = -np.inf
                        at = -1
                        for kh in range(KH):
                            h = h0 + kh * dH
                            if 0 <= h < H:
                                for kw in range(KW):
                                    w = w0 + kw * dW
                                    if 0 <= w < W:
                                        v = plane[h, w]
                                        # the first tap inside the input (the answer if all is -inf), a larger
                                        # value, or a NaN (which wins; a later NaN takes the index); as selects,
                                        # not branches, which the random place of the maximum would mispredict
                                        take = (at < 0) | (v > best) | (v != v)
                                        best = v if take else best
                                        at = h * W + w if take else at
                        if at < 0:  # a window wholly in the padding: its first tap at or after 0, as the readable
                            hh = h0 if h0 >= 0 else h0 + (-h0 + dH - 1) // dH * dH  # kernel (torch's backward
                            ww = w0 if w0 >= 0 else w0 + (-w0 + dW - 1) // dW * dW  # refuses such a window)
                            at = hh * W + ww
                        out[n, c, oh, ow] = best
                        idx[n, c, oh, ow] = at

    return max_pool2d


@njit(nogil=True, cache=True)
def _max_pool2d_backward(grad_output, idx, grad):
    N, C, H, W = grad.shape
    OH, OW = grad_output.shape[2], grad_output.shape[3]
    grad[...] = 0
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    i = idx[n, c, oh, ow]
                    if 0 <= i < H * W:
                        grad[n, c, i // W, i % W] += grad_output[n, c, oh, ow]


def max_pool2d_numba(x, spec):
    """Max pooling of ``x`` (N, C, H, W) described by ``spec`` (``minicnn.specs.PoolSpec``): (out, indices), the
    indices flat per plane (``h*W + w``, int64) as torch's ``return_indices``."""
    N, C = x.shape[:2]
    out = np.empty((N, C, *spec.out_size), x.dtype)
    idx = np.empty(out.shape, np.int64)
    (KH, KW), (sH, sW), (pT, pL), (dH, dW) = spec.kernel_size, spec.stride, spec.padding, spec.dilation
    _max_pool2d_kernel(KH, KW, sH, sW, pT, pL, dH, dW)(np.ascontiguousarray(x), out, idx)
    return out, idx


def max_pool2d_backward_numba(grad_output, indices, input_shape):
    """Each window's gradient added to the input element its index names (``max_pool2d_backward``, compiled).
    Shape: grad_output and indices (N, C, OH, OW) or (C, OH, OW) -> input_shape (N, C, H, W) or (C, H, W)."""
    grad = np.empty(input_shape if len(input_shape) == 4 else (1, *input_shape), grad_output.dtype)
    g, i = (a if a.ndim == 4 else a[None] for a in (grad_output, indices))
    _max_pool2d_backward(np.ascontiguousarray(g), np.ascontiguousarray(i), grad)
    return grad.reshape(input_shape)
