"""Pooling: a window slides over each plane and is reduced to one number (its max or its mean).

Notation as in ``minicnn/kernels/__init__.py``; pT, pL are the top and left padding. Output pixel
(oh, ow) reads input rows ``oh*sH - pT + kh*dH`` (kh < KH) and columns ``ow*sW - pL + kw*dW`` (kw < KW);
positions outside the input are padding and never win a max nor add to a sum.

The windows are a strided *view* of the padded input (``sliding_window_view``: no copy), reduced over
their last two axes. PyTorch's tie and NaN rules are kept: the first maximum wins a tie (scanning kh, then
kw), a NaN always wins and the last NaN gives the index, and a window whose values are all -inf
reports the first position inside the input.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def pool_windows(x, kernel_size, stride, padding, dilation, out_size, pad_value):
    """View of every pooling window.

    Shape:
        x: (N, C, H, W) -> (N, C, OH, OW, KH, KW), padded with ``pad_value`` (enough on the bottom/right
        for ceil_mode windows that hang over the edge)
    """
    N, C, H, W = x.shape
    (KH, KW), (sH, sW), (pT, pL), (dH, dW), (OH, OW) = kernel_size, stride, padding, dilation, out_size
    span_h, span_w = dH * (KH - 1) + 1, dW * (KW - 1) + 1  # window extent, dilation included
    pB = max(0, (OH - 1) * sH + span_h - (H + pT))  # rows needed below the input
    pR = max(0, (OW - 1) * sW + span_w - (W + pL))
    xp = np.pad(x, ((0, 0), (0, 0), (pT, pB), (pL, pR)), constant_values=pad_value)
    win = sliding_window_view(xp, (span_h, span_w), axis=(2, 3))  # (N, C, H', W', span_h, span_w)
    return win[:, :, : (OH - 1) * sH + 1 : sH, : (OW - 1) * sW + 1 : sW, ::dH, ::dW]


def reduce_taps(x, kernel_size, stride, padding, dilation, out_size, pad_value, combine):
    """Pool without materializing windows: combine the KH*KW shifted, strided views of the padded input.

    ``combine`` is np.maximum (max pooling; NaN propagates) or np.add (sums for average pooling). Each tap is
    one vectorized pass over the output, which is much faster than reducing the small window axes.
    Shape: (N, C, H, W) -> (N, C, OH, OW).
    """
    (KH, KW), (sH, sW), (dH, dW), (OH, OW) = kernel_size, stride, dilation, out_size
    xp = padded_for_taps(x, kernel_size, stride, padding, dilation, out_size, pad_value)
    out = None
    for kh in range(KH):
        for kw in range(KW):
            h0, w0 = kh * dH, kw * dW
            tap = xp[:, :, h0 : h0 + sH * (OH - 1) + 1 : sH, w0 : w0 + sW * (OW - 1) + 1 : sW]  # (N, C, OH, OW)
            out = tap.copy(order="K") if out is None else combine(out, tap, out=out)  # K: keeps x's layout
    return out


def padded_for_taps(x, kernel_size, stride, padding, dilation, out_size, pad_value):
    """``x`` with ``padding`` on the top and left and, on the bottom and right, as much as the last windows reach
    (ceil_mode), filled with ``pad_value``; ``x`` itself when nothing is needed. Shape: (N, C, H', W')."""
    _, _, H, W = x.shape
    (KH, KW), (sH, sW), (pT, pL), (dH, dW), (OH, OW) = kernel_size, stride, padding, dilation, out_size
    pB = max(0, (OH - 1) * sH + dH * (KH - 1) + 1 - (H + pT))
    pR = max(0, (OW - 1) * sW + dW * (KW - 1) + 1 - (W + pL))
    return pad_keeping_layout(x, (pT, pB, pL, pR), pad_value) if pT or pB or pL or pR else x


def pad_keeping_layout(x, pads, value):
    """x surrounded by ``value`` (top, bottom, left, right), stored in x's memory order (np.pad returns C order:
    a channels-last network would lose its layout at every padded pooling)."""
    pT, pB, pL, pR = pads
    N, C, H, W = x.shape
    order = np.argsort(x.strides)[::-1]  # axes from the largest stride to the smallest: x's memory order
    shape = (N, C, H + pT + pB, W + pL + pR)
    xp = np.full([shape[a] for a in order], value, dtype=x.dtype).transpose(np.argsort(order))
    xp[:, :, pT : pT + H, pL : pL + W] = x
    return xp


def max_with_index(values):
    """Max over the last axis with PyTorch's rules: first max on ties, NaN wins, last NaN's position.

    Shape: values (..., L) -> (max (...), argmax (...) as int64)
    """
    idx = np.argmax(values, axis=-1)  # NumPy: first max, or first NaN
    best = np.take_along_axis(values, idx[..., None], axis=-1)[..., 0]
    nan = np.isnan(best)
    if nan.any():
        L = values.shape[-1]
        last_nan = L - 1 - np.argmax(np.isnan(values[nan][..., ::-1]), axis=-1)
        idx[nan] = last_nan
    return best, idx.astype(np.int64)


def max_pool2d_kernel(x, kernel_size, stride, padding, dilation, out_size, return_indices):
    """Max pooling over (N, C, H, W) -> (N, C, OH, OW), and flat per-plane indices ``h*W + w`` if asked."""
    N, C, H, W = x.shape
    if not return_indices:
        return reduce_taps(x, kernel_size, stride, padding, dilation, out_size, -np.inf, np.maximum), None
    win = pool_windows(x, kernel_size, stride, padding, dilation, out_size, -np.inf)
    (KH, KW), (sH, sW), (pT, pL), (dH, dW), (OH, OW) = kernel_size, stride, padding, dilation, out_size
    out, k = max_with_index(win.reshape(N, C, OH, OW, KH * KW))
    h = np.arange(OH)[:, None] * sH - pT + (k // KW) * dH  # (N, C, OH, OW) input row of the max
    w = np.arange(OW)[None, :] * sW - pL + (k % KW) * dW
    # A window with only -inf (and padding) reports its first position inside the input, like torch.
    h0 = _first_inside(np.arange(OH) * sH - pT, dH)[:, None]
    w0 = _first_inside(np.arange(OW) * sW - pL, dW)[None, :]
    all_neg_inf = out == -np.inf
    h, w = np.where(all_neg_inf, h0, h), np.where(all_neg_inf, w0, w)
    return out, (h * W + w).astype(np.int64)


def _first_inside(start, dilation):
    """First tap position >= 0 of windows that start at ``start`` (may be negative) with this dilation."""
    return np.where(start < 0, start + (-start + dilation - 1) // dilation * dilation, start)


def avg_pool_divisors(size, kernel, stride, pad, out_len, count_include_pad):
    """How many elements each output position divides by, along one axis (torch's rule).

    A window is clipped to the padded input [-pad, size + pad) when padding counts, to [0, size) when not.
    """
    start = np.arange(out_len) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool2d_kernel(x, kernel_size, stride, padding, out_size, ceil_mode, count_include_pad, divisor):
    """Average pooling over (N, C, H, W) -> (N, C, OH, OW); ``divisor`` overrides the count if not None."""
    _, _, H, W = x.shape
    total = reduce_taps(x, kernel_size, stride, padding, (1, 1), out_size, 0, np.add)  # padding adds nothing
    if divisor is None:
        dh = avg_pool_divisors(H, kernel_size[0], stride[0], padding[0], out_size[0], count_include_pad)
        dw = avg_pool_divisors(W, kernel_size[1], stride[1], padding[1], out_size[1], count_include_pad)
        divisor = (dh[:, None] * dw[None, :]).astype(x.dtype)  # (OH, OW)
    return (total / np.asarray(divisor, dtype=x.dtype)).astype(x.dtype, copy=False)


def adaptive_bounds(in_len, out_len):
    """Window [start, end) of each output position: start = floor(i*in/out), end = ceil((i+1)*in/out)."""
    i = np.arange(out_len)
    return (i * in_len) // out_len, -((-(i + 1) * in_len) // out_len)


def adaptive_pool2d_kernel(x, out_size, mode):
    """Adaptive average or max pooling (N, C, H, W) -> (N, C, OH, OW), with flat indices for max."""
    N, C, H, W = x.shape
    OH, OW = out_size
    if mode == "avg" and OH and OW and H % OH == 0 and W % OW == 0:  # equal windows side by side: one mean of blocks
        return x.reshape(N, C, OH, H // OH, OW, W // OW).mean(axis=(3, 5)), None  # (VGG16's 7x7 -> 7x7: a copy)
    (hs, he), (ws, we) = adaptive_bounds(H, OH), adaptive_bounds(W, OW)
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    idx = np.empty((N, C, OH, OW), dtype=np.int64) if mode == "max" else None
    for oh in range(OH):
        for ow in range(OW):
            window = x[:, :, hs[oh] : he[oh], ws[ow] : we[ow]]  # (N, C, h, w)
            if mode == "avg":
                out[:, :, oh, ow] = window.mean(axis=(2, 3))
            else:
                w_len = we[ow] - ws[ow]
                out[:, :, oh, ow], k = max_with_index(window.reshape(N, C, window.shape[2] * window.shape[3]))
                idx[:, :, oh, ow] = (hs[oh] + k // w_len) * W + ws[ow] + k % w_len
    return out, idx
