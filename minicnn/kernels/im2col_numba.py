"""conv2d as im2col + one GEMM for the whole batch, the column matrix built by compiled loops, and its backward.

For small images in large batches (the digits CNN: 64 images of 4x4 pixels). NumPy's ``im2col`` copies a kernel
tap at a time, and each copy runs one loop per row of OW numbers: 4 numbers per loop at 4x4 pixels, so Python and
NumPy's per-loop costs, not the arithmetic, set the time. Compiled, the same copy is a few microseconds; and with
one *row* per output pixel of the whole batch, each product of the forward and the backward is one GEMM::

    rows = im2col_rows(x)                      (N*OH*OW, C_in*KH*KW)   row (n, oh, ow): that pixel's receptive field
    out  = rows @ W.T                          (N*OH*OW, C_out)        W = weight.reshape(C_out, C_in*KH*KW)

    dL/dW    = G.T @ rows                      G = dL/dout as (N*OH*OW, C_out); rows kept from the forward
    dL/drows = G @ W                           then col2im_rows: each row added back onto the pixels it came from

The readable versions are ``im2col``, ``col2im_batch`` and ``conv2d_backward`` (``minicnn/functional/conv.py``); the
columns are the same numbers (transposed). Groups 1 only. What ``minicnn.compiled()`` runs for such layers.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from minicnn.kernels import NO_EPILOGUE, finish_rows
from minicnn.kernels.workspace import workspace


@functools.cache
def _kernels(KH, KW, sH, sW, dH, dW, pT, pL):
    """The loops compiled for one kernel shape (sizes, stride, dilation, padding as constants of the machine code:
    the tap loops unrolled, about 3x faster than sizes passed as arguments); cached on disk per shape."""

    @njit(nogil=True, cache=True)
    def im2col_rows(x, OH, OW, rows):
        """rows[(n*OH + oh)*OW + ow, (c*KH + kh)*KW + kw] = x[n, c, oh*sH + kh*dH - pT, ow*sW + kw*dW - pL], or 0."""
        N, C, H, W = x.shape
        r = 0
        for n in range(N):
            for oh in range(OH):
                for ow in range(OW):
                    k = 0
                    for c in range(C):
                        for kh in range(KH):
                            h = oh * sH + kh * dH - pT
                            for kw in range(KW):
                                w = ow * sW + kw * dW - pL
                                rows[r, k] = x[n, c, h, w] if 0 <= h < H and 0 <= w < W else 0
                                k += 1
                    r += 1

    @njit(nogil=True, cache=True)
    def col2im_rows(rows, OH, OW, x):
        """The adjoint: x[n, c, h, w] = the sum of the row entries copied from it (x zeroed first)."""
        N, C, H, W = x.shape
        x[...] = 0
        r = 0
        for n in range(N):
            for oh in range(OH):
                for ow in range(OW):
                    k = 0
                    for c in range(C):
                        for kh in range(KH):
                            h = oh * sH + kh * dH - pT
                            for kw in range(KW):
                                w = ow * sW + kw * dW - pL
                                if 0 <= h < H and 0 <= w < W:
                                    x[n, c, h, w] += rows[r, k]
                                k += 1
                    r += 1

    return im2col_rows, col2im_rows


@njit(nogil=True, cache=True)
def _to_pixels(x, pixels):
    """pixels[n*P + p, c] = x[n, c, p]: (N, C, P) -> (N*P, C), read in x's order."""
    N, C, P = x.shape
    for n in range(N):
        for c in range(C):
            for p in range(P):
                pixels[n * P + p, c] = x[n, c, p]


@njit(nogil=True, cache=True)
def _from_pixels(pixels, x):
    """x[n, c, p] = pixels[n*P + p, c]: the inverse, written in x's order."""
    N, C, P = x.shape
    for n in range(N):
        for c in range(C):
            for p in range(P):
                x[n, c, p] = pixels[n * P + p, c]


def _for(spec):
    top, _, left, _ = spec.pads
    return _kernels(spec.KH, spec.KW, *spec.stride, *spec.dilation, top, left)


def im2col_rows(x, spec, rows=None):
    """Every receptive field of ``x`` (N, C_in, H, W), zero padding included, as one row:
    (N*OH*OW, C_in*KH*KW), columns in (c, kh, kw) order like ``weight.reshape(C_out, -1)``; into ``rows`` if given."""
    if rows is None:
        rows = np.empty((spec.N * spec.OH * spec.OW, spec.C_in * spec.KH * spec.KW), x.dtype)
    _for(spec)[0](np.ascontiguousarray(x), spec.OH, spec.OW, rows)
    return rows


def col2im_rows(rows, spec):
    """The adjoint of ``im2col_rows``: (N*OH*OW, C_in*KH*KW) -> (N, C_in, H, W), the padding's share dropped."""
    x = np.empty((spec.N, spec.C_in, spec.H, spec.W), rows.dtype)
    _for(spec)[1](np.ascontiguousarray(rows), spec.OH, spec.OW, x)
    return x


def _scratch(name, spec, dtype):
    """A reused (N*OH*OW, C_in*KH*KW) buffer (``workspace``): fresh memory would page-fault on every call."""
    return workspace(name, (spec.N * spec.OH * spec.OW, spec.C_in * spec.KH * spec.KW), dtype)


def conv2d_im2col_rows(x, weight, spec, epilogue=NO_EPILOGUE):
    """conv2d as ``im2col_rows`` then one GEMM (N*OH*OW, K) @ (K, C_out); groups 1.

    Shape: x (N, C_in, H, W); weight (C_out, C_in, KH, KW) -> (N, C_out, OH, OW), C-contiguous.
    """
    return _product(im2col_rows(x, spec, _scratch("im2col rows", spec, x.dtype)), weight, spec, epilogue)


def conv2d_and_rows(x, weight, spec, epilogue=NO_EPILOGUE):
    """``conv2d_im2col_rows``, and the rows it multiplied: a recorded convolution keeps them for its backward."""
    rows = im2col_rows(x, spec)
    return _product(rows, weight, spec, epilogue), rows


def _product(rows, weight, spec, epilogue):
    pixels = workspace("im2col rows product", (rows.shape[0], spec.C_out), rows.dtype)
    np.matmul(rows, weight.reshape(spec.C_out, -1).T, out=pixels)  # (N*OH*OW, C_out): channels-last pixels
    residual = epilogue.residual
    finish_rows(pixels, epilogue, None if residual is None else residual.transpose(0, 2, 3, 1).reshape(pixels.shape))
    out = np.empty(spec.out_shape, rows.dtype)
    _from_pixels(pixels, out.reshape(spec.N, spec.C_out, -1))  # (a NumPy transpose copy is 5x slower here)
    return out


def conv2d_backward_rows(grad_output, rows, weight, spec, input_grad=True):
    """``conv2d_backward`` (``minicnn/functional/conv.py``) from the forward's rows: three GEMMs for the whole batch.

    Shape: grad_output (N, C_out, OH, OW); rows (N*OH*OW, C_in*KH*KW) of the input; weight (C_out, C_in, KH, KW)
    -> grad_input (N, C_in, H, W) (None unless ``input_grad``), grad_weight, grad_bias
    """
    w = weight.reshape(spec.C_out, -1)  # (C_out, K)
    g = workspace("im2col rows output gradient", (rows.shape[0], spec.C_out), rows.dtype)  # (N*OH*OW, C_out)
    _to_pixels(np.ascontiguousarray(grad_output).reshape(spec.N, spec.C_out, -1), g)  # in pixel order
    grad_weight = (g.T @ rows).reshape(weight.shape)
    grad_input = None
    if input_grad:
        grad_input = col2im_rows(np.matmul(g, w, out=_scratch("im2col rows gradient", spec, rows.dtype)), spec)
    return grad_input, grad_weight, g.sum(axis=0)
