"""Max pooling and its backward as compiled loops: the window's maximum and where it was, in one pass.

The NumPy version (``kernels/pooling.py``, its backward ``max_pool2d_backward_by_taps``) makes one pass over the
output per kernel tap; on small planes (the digits CNN's 8x8 and 4x4) each pass runs one loop per output row of
a few numbers, and NumPy's per-loop cost dominates. Here each window is read once, by compiled loops, with torch's
rules (notation as in ``kernels/pooling.py``): the first maximum wins a tie (scanning kh, then kw), a NaN always
wins and the last NaN gives the index, and a window whose values are all -inf reports its first position inside
the input. The backward sends each window's gradient to its index (overlapping windows add up). What
``minicnn.compiled()`` runs.

``max_pool2d_cl`` is the forward alone (no indices) on channels-last activations, what ``minicnn.optimize`` runs:
each tap of a window is one vector of C contiguous numbers, and the output rows are shared out to minicnn's threads.
NumPy's version makes one pass over the output per tap through a strided view of the input; VGG16's first pooling
(64 x 224 x 224, 12.8 MB) took 2.5 ms that way and 1.2 ms in torch (channels-last, caches flushed, 2 threads).
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from minicnn.kernels import threads


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


@njit(nogil=True, cache=True, boundscheck=False)
def _max_pool2d_cl_rows(x, KH, KW, sH, sW, pT, pL, dH, dW, out, r0, r1):
    """Output rows r0 .. r1-1 (of the N*OH rows) of ``out`` (N, OH, OW, C) from ``x`` (N, H, W, C), both
    C-contiguous. Taps outside the input are padding (-inf: they never win): each window's taps inside the input are
    kh0 .. kh1-1 and kw0 .. kw1-1. A NaN wins, as in torch; the order of the taps cannot change a maximum.

    The running maxima of a window's C channels go back and forth between the two rows of ``best``, each tap reading
    one and writing the other. (Updated in place, ``o[c] = b if b > o[c] else o[c]`` stores the number it read
    wherever the tap loses: LLVM compiles that to masked stores, microcoded on AMD's Zen 3: ResNet50's 3x3 pooling
    took 1.08 ms against torch's 0.31.)"""
    N, H, W, C = x.shape
    OH, OW = out.shape[1], out.shape[2]
    best = np.empty((2, C), x.dtype)
    for r in range(r0, r1):
        n, oh = r // OH, r % OH
        h0 = oh * sH - pT
        kh0, kh1 = max(0, -(h0 // dH)), min(KH, (H - h0 + dH - 1) // dH)  # h0 + kh*dH in [0, H)
        for ow in range(OW):
            w0 = ow * sW - pL
            kw0, kw1 = max(0, -(w0 // dW)), min(KW, (W - w0 + dW - 1) // dW)
            o = out[n, oh, ow]
            if kh0 >= kh1 or kw0 >= kw1:  # a window wholly in the padding
                o[:] = -np.inf
                continue
            best[0] = x[n, h0 + kh0 * dH, w0 + kw0 * dW]
            i = 0  # best[i]: the maxima so far
            for kh in range(kh0, kh1):
                for kw in range(kw0, kw1):
                    v, src, dst = x[n, h0 + kh * dH, w0 + kw * dW], best[i], best[1 - i]
                    for c in range(C):  # selects, not branches: one vector instruction for 8 or 16 channels
                        a, b = src[c], v[c]
                        dst[c] = b if (b > a) | (b != b) else a
                    i = 1 - i
            o[:] = best[i]


#: Poolings reading fewer numbers than this (output elements x taps) run on the calling thread alone: waking another
#: costs more (VGG16's 512 x 28 x 28 pooling: 0.14 ms alone, 0.37 ms shared out).
PARALLEL_READS = 1 << 20


def max_pool2d_cl(x, spec):
    """Max pooling of a channels-last ``x`` (N, C, H, W), stored as (N, H, W, C), described by ``spec``
    (``minicnn.specs.PoolSpec``) -> (N, C, OH, OW) stored as (N, OH, OW, C). The values of ``F.max_pool2d``."""
    N, C = x.shape[:2]
    OH, OW = spec.out_size
    out = np.empty((N, OH, OW, C), x.dtype)
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # a view when x is channels-last
    (KH, KW), (sH, sW), (pT, pL), (dH, dW) = spec.kernel_size, spec.stride, spec.padding, spec.dilation

    def rows(r0, r1):
        _max_pool2d_cl_rows(x_cl, KH, KW, sH, sW, pT, pL, dH, dW, out, r0, r1)

    if out.size * KH * KW >= PARALLEL_READS:
        threads.over_range(rows, N * OH)
    else:
        rows(0, N * OH)
    return out.transpose(0, 3, 1, 2)
