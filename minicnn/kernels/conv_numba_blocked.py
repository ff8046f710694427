"""conv2d compiled by Numba, blocked for the cache: the fast twin of ``conv_numba.py``.

Same arithmetic as ``conv_numba`` (notation in ``minicnn/kernels/__init__.py``); the loops are blocked:

- **Output-channel blocking.** A job computes one output row for a block of CO_BLOCK output channels at
  once. Each input row it loads is used by all CO_BLOCK channels, so the input is read CO_BLOCK times less.
- **Cache blocking.** The CO_BLOCK accumulator rows (CO_BLOCK x OW floats: 7 kB for VGG16's first layers) stay
  in the fastest cache for the whole sum over (ci, kh, kw), instead of sweeping a whole output plane in and
  out of slower caches C_in*KH*KW times as the readable kernel does.
- **Parallel** over (image, channel block, output row): plenty of jobs for every core, shared out in ranges to
  minicnn's threads (``threads.over_range``).

The innermost loop still walks ``ow`` through contiguous memory (stride 1), which the compiler vectorizes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minicnn.kernels import NO_EPILOGUE, bias_or_zeros, finish, threads, zero_padded

CO_BLOCK = 8


@njit(nogil=True, cache=True)
def _conv2d_blocked(x, weight, bias, sH, sW, dH, dW, groups, cob, out, job0, job1):
    N, C_out, OH, OW = out.shape
    C_in_g, KH, KW = weight.shape[1], weight.shape[2], weight.shape[3]
    C_out_g = C_out // groups
    blocks_per_group = (C_out_g + cob - 1) // cob
    n_blocks = groups * blocks_per_group
    for job in range(job0, job1):
        n = job // (n_blocks * OH)
        rest = job % (n_blocks * OH)
        blk, oh = rest // OH, rest % OH
        g = blk // blocks_per_group
        co0 = g * C_out_g + (blk % blocks_per_group) * cob
        co1 = min(co0 + cob, (g + 1) * C_out_g)
        acc = np.empty((co1 - co0, OW), dtype=out.dtype)  # the block's output rows: stays in L1
        for j in range(co1 - co0):
            acc[j, :] = bias[co0 + j]
        for ci in range(C_in_g):
            c = g * C_in_g + ci
            for kh in range(KH):
                row = x[n, c, oh * sH + kh * dH]  # (W,): loaded once, used by every channel of the block
                for kw in range(KW):
                    if sW == 1:  # the common case: a contiguous segment, which the compiler vectorizes
                        seg = row[kw * dW : kw * dW + OW]
                        for j in range(co1 - co0):
                            wv = weight[co0 + j, ci, kh, kw]
                            a = acc[j]
                            for ow in range(OW):
                                a[ow] += wv * seg[ow]
                    else:
                        for j in range(co1 - co0):
                            wv = weight[co0 + j, ci, kh, kw]
                            for ow in range(OW):
                                acc[j, ow] += wv * row[ow * sW + kw * dW]
        for j in range(co1 - co0):
            out[n, co0 + j, oh, :] = acc[j]


def conv2d_numba_blocked(x, weight, spec, epilogue=NO_EPILOGUE):
    """conv2d with the blocked, parallel loops of ``_conv2d_blocked`` (same convention as every kernel)."""
    out = np.empty(spec.out_shape, x.dtype)
    if out.size == 0:
        return out
    b = bias_or_zeros(epilogue, spec.C_out, x.dtype)
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    xp, w, groups = zero_padded(x, spec.pads, reuse=True), np.ascontiguousarray(weight), spec.groups
    blocks = groups * -(-spec.C_out_g // CO_BLOCK)  # channel blocks per image
    threads.over_range(lambda j0, j1: _conv2d_blocked(xp, w, b, sH, sW, dH, dW, groups, CO_BLOCK, out, j0, j1),
                       spec.N * blocks * spec.OH)  # fmt: skip
    return finish(out, epilogue._replace(bias=None))  # the bias is in already
