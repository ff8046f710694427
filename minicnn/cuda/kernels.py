"""The CUDA kernels, written with numba.cuda (notation in ``minicnn/kernels/__init__.py``).

A GPU runs thousands of threads at once; a kernel says what *one* thread computes, and the launch says how
many threads run (a grid of blocks of threads). Two convolution kernels, to read in order:

1. ``conv2d_direct``: one thread per output element, each running the naive formula's sum over
   (ci, kh, kw), reading the unpadded input and treating positions outside it as zero. Simple and correct,
   but every thread reads its inputs from global memory, the GPU's slowest.
2. ``conv2d_tiled``: the convolution as a matrix product (implicit GEMM: im2col's matrix is never built,
   each thread computes which input value its column entry would hold). A block of TILE x TILE threads
   computes a TILE x TILE block of the output (channels x pixels); the weights and inputs it needs are
   loaded a TILE x TILE tile at a time into *shared memory* (fast, shared by the block), each value then used
   TILE times. This is the CUDA form of the cache blocking of the CPU kernels.

``gemm_tiled`` is the same tiling for ``linear``; the rest are one thread per output element.
"""

from __future__ import annotations

import math

from numba import cuda, float32, float64

TILE = 16


@cuda.jit
def conv2d_direct(x, w, b, out, sH, sW, pT, pL, dH, dW, groups, relu):
    """out[n, co, oh, ow] for the one output element this thread owns."""
    N, C_out, OH, OW = out.shape
    C_in_g, KH, KW = w.shape[1], w.shape[2], w.shape[3]
    H, W = x.shape[2], x.shape[3]
    i = cuda.grid(1)
    if i >= N * C_out * OH * OW:
        return
    ow, oh = i % OW, (i // OW) % OH
    co, n = (i // (OW * OH)) % C_out, i // (OW * OH * C_out)
    c0 = (co // (C_out // groups)) * C_in_g
    acc = b[co]
    for ci in range(C_in_g):
        for kh in range(KH):
            h = oh * sH - pT + kh * dH
            if 0 <= h < H:
                for kw in range(KW):
                    ww = ow * sW - pL + kw * dW
                    if 0 <= ww < W:
                        acc += x[n, c0 + ci, h, ww] * w[co, ci, kh, kw]
    out[n, co, oh, ow] = max(acc, 0.0) if relu else acc


def _make_conv2d_tiled(dtype):
    @cuda.jit
    def conv2d_tiled(x, w, b, out, sH, sW, pT, pL, dH, dW, groups, relu):
        """Block (bx, by, z): pixels bx*TILE.., output channels by*TILE.., of image and group z (and z + 65,535...)."""
        N, C_out, OH, OW = out.shape
        C_in_g, KH, KW = w.shape[1], w.shape[2], w.shape[3]
        H, W = x.shape[2], x.shape[3]
        C_out_g, K, P = C_out // groups, C_in_g * KH * KW, OH * OW
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        row = cuda.blockIdx.y * TILE + ty  # output channel within the group
        col = cuda.blockIdx.x * TILE + tx  # output pixel oh * OW + ow
        w_tile = cuda.shared.array((TILE, TILE), dtype)  # weights: (channels, k)
        x_tile = cuda.shared.array((TILE, TILE), dtype)  # implicit im2col: (k, pixels)
        for z in range(cuda.blockIdx.z, N * groups, cuda.gridDim.z):  # grid z is capped at 65,535
            n, g = z // groups, z % groups
            acc = dtype(0)  # accumulates in the arrays' precision, as the CPU kernels and cuDNN do
            for k0 in range(0, K, TILE):
                k = k0 + tx  # this thread loads weight (row, k)
                w_tile[ty, tx] = (
                    w[g * C_out_g + row, k // (KH * KW), (k // KW) % KH, k % KW] if row < C_out_g and k < K else 0
                )
                k = k0 + ty  # and input column entry (k, col): which pixel of which channel it would hold
                v = dtype(0)
                if k < K and col < P:
                    ci, kh, kw = k // (KH * KW), (k // KW) % KH, k % KW
                    h, ww = (col // OW) * sH - pT + kh * dH, (col % OW) * sW - pL + kw * dW
                    if 0 <= h < H and 0 <= ww < W:
                        v = x[n, g * C_in_g + ci, h, ww]
                x_tile[ty, tx] = v
                cuda.syncthreads()  # the tiles are complete
                for j in range(TILE):
                    acc += w_tile[ty, j] * x_tile[j, tx]
                cuda.syncthreads()  # everyone is done with them before the next ones overwrite them
            if row < C_out_g and col < P:
                co = g * C_out_g + row
                acc += b[co]
                out[n, co, col // OW, col % OW] = max(acc, 0.0) if relu else acc

    return conv2d_tiled


conv2d_tiled = {"float32": _make_conv2d_tiled(float32), "float64": _make_conv2d_tiled(float64)}


def _make_gemm_tiled(dtype):
    @cuda.jit
    def gemm_tiled(a, w, b, out):
        """out = a @ w.T + b for (M, K) a and (N, K) w: the same shared-memory tiling as conv2d_tiled."""
        M, K = a.shape
        N = w.shape[0]
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        row, col = cuda.blockIdx.y * TILE + ty, cuda.blockIdx.x * TILE + tx
        a_tile = cuda.shared.array((TILE, TILE), dtype)
        w_tile = cuda.shared.array((TILE, TILE), dtype)
        acc = dtype(0)
        for k0 in range(0, K, TILE):
            a_tile[ty, tx] = a[row, k0 + tx] if row < M and k0 + tx < K else 0
            w_tile[ty, tx] = (
                w[cuda.blockIdx.x * TILE + ty, k0 + tx] if cuda.blockIdx.x * TILE + ty < N and k0 + tx < K else 0
            )
            cuda.syncthreads()
            for j in range(TILE):
                acc += a_tile[ty, j] * w_tile[tx, j]
            cuda.syncthreads()
        if row < M and col < N:
            out[row, col] = acc + b[col]

    return gemm_tiled


gemm_tiled = {"float32": _make_gemm_tiled(float32), "float64": _make_gemm_tiled(float64)}


@cuda.jit
def elementwise(x, y, out, op, lo, hi):
    """op 0: clip(x, lo, hi) (relu: lo=0, hi=inf; relu6: hi=6); op 1: x + y. NaN passes through, as in torch."""
    i = cuda.grid(1)
    if i < out.size:
        v = x[i]
        if op == 0:
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
        else:
            v = v + y[i]
        out[i] = v


@cuda.jit(device=True)
def nchw(i, C, OH, OW):
    """The (n, c, oh, ow) position of flat output index i: what a one-thread-per-output kernel computes."""
    return i // (OW * OH * C), (i // (OW * OH)) % C, (i // OW) % OH, i % OW


@cuda.jit
def max_pool2d(x, out, idx, kH, kW, sH, sW, pT, pL, dH, dW):
    """torch's rules: the first maximum wins a tie, NaN always wins (the last NaN gives the index)."""
    N, C, OH, OW = out.shape
    H, W = x.shape[2], x.shape[3]
    i = cuda.grid(1)
    if i >= out.size:
        return
    n, c, oh, ow = nchw(i, C, OH, OW)
    h0, w0 = oh * sH - pT, ow * sW - pL
    while h0 < 0:
        h0 += dH
    while w0 < 0:
        w0 += dW
    best, where = -math.inf, h0 * W + w0
    for h in range(h0, min(oh * sH - pT + (kH - 1) * dH + 1, H), dH):
        for ww in range(w0, min(ow * sW - pL + (kW - 1) * dW + 1, W), dW):
            v = x[n, c, h, ww]
            if v > best or math.isnan(v):
                best, where = v, h * W + ww
    out[n, c, oh, ow] = best
    idx[n, c, oh, ow] = where


@cuda.jit
def avg_pool2d(x, out, kH, kW, sH, sW, pT, pL, count_include_pad, divisor):
    """Window sums divided by torch's count (a non-zero divisor overrides it, negative ones too, as in torch)."""
    N, C, OH, OW = out.shape
    H, W = x.shape[2], x.shape[3]
    i = cuda.grid(1)
    if i >= out.size:
        return
    n, c, oh, ow = nchw(i, C, OH, OW)
    h0, w0 = oh * sH - pT, ow * sW - pL
    h1, w1 = min(h0 + kH, H + pT), min(w0 + kW, W + pL)
    pool = (h1 - h0) * (w1 - w0)
    h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
    total = 0.0
    for h in range(h0, h1):
        for ww in range(w0, w1):
            total += x[n, c, h, ww]
    if divisor != 0:
        d = divisor
    elif count_include_pad:
        d = pool
    else:
        d = (h1 - h0) * (w1 - w0)
    out[n, c, oh, ow] = total / d


@cuda.jit(device=True)
def adaptive_window(o, n, out_n):
    """The input positions floor(o*n/out_n) .. ceil((o+1)*n/out_n) - 1 of adaptive pooling's output position o."""
    return (o * n) // out_n, -((-(o + 1) * n) // out_n)


@cuda.jit
def adaptive_avg_pool2d(x, out):
    """Output (oh, ow) averages rows floor(oh*H/OH) .. ceil((oh+1)*H/OH), likewise columns."""
    N, C, OH, OW = out.shape
    H, W = x.shape[2], x.shape[3]
    i = cuda.grid(1)
    if i >= out.size:
        return
    n, c, oh, ow = nchw(i, C, OH, OW)
    h0, h1 = adaptive_window(oh, H, OH)
    w0, w1 = adaptive_window(ow, W, OW)
    total = 0.0
    for h in range(h0, h1):
        for ww in range(w0, w1):
            total += x[n, c, h, ww]
    out[n, c, oh, ow] = total / ((h1 - h0) * (w1 - w0))


@cuda.jit
def adaptive_max_pool2d(x, out, idx):
    """adaptive_avg_pool2d's windows, max_pool2d's rules: the first maximum wins a tie, NaN always wins."""
    N, C, OH, OW = out.shape
    H, W = x.shape[2], x.shape[3]
    i = cuda.grid(1)
    if i >= out.size:
        return
    n, c, oh, ow = nchw(i, C, OH, OW)
    h0, h1 = adaptive_window(oh, H, OH)
    w0, w1 = adaptive_window(ow, W, OW)
    best, where = -math.inf, h0 * W + w0
    for h in range(h0, h1):
        for ww in range(w0, w1):
            v = x[n, c, h, ww]
            if v > best or math.isnan(v):
                best, where = v, h * W + ww
    out[n, c, oh, ow] = best
    idx[n, c, oh, ow] = where


@cuda.jit
def batch_norm_apply(x, mean, var, weight, bias, eps, out, C, inner, has_weight, has_bias):
    """out = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c] over flat (N*C*inner) arrays."""
    i = cuda.grid(1)
    if i < out.size:
        c = (i // inner) % C
        s = 1 / math.sqrt(var[c] + eps)
        if has_weight:
            s *= weight[c]
        v = (x[i] - mean[c]) * s
        if has_bias:
            v += bias[c]
        out[i] = v


@cuda.jit
def channel_stats(x, N, C, inner, mean, var):
    """One thread per channel: mean and (biased) variance over every other axis of flat x (batch norm in training)."""
    c = cuda.grid(1)
    if c >= C:
        return
    total = 0.0
    for n in range(N):
        for j in range(inner):
            total += x[(n * C + c) * inner + j]
    m = total / (N * inner)
    sq = 0.0
    for n in range(N):
        for j in range(inner):
            d = x[(n * C + c) * inner + j] - m
            sq += d * d
    mean[c] = m
    var[c] = sq / (N * inner)


@cuda.jit
def softmax(x, out, length, inner, log):
    """One thread per (outer, inner) line of ``length`` values: exp(x - max) / sum, with x viewed flat;
    with ``log``, log_softmax: (x - max) - log(sum)."""
    i = cuda.grid(1)
    outer = x.size // (length * inner)
    if i >= outer * inner:
        return
    o, j = i // inner, i % inner
    base = o * length * inner + j
    top = -math.inf
    for k in range(length):
        v = x[base + k * inner]
        if v > top or math.isnan(v):
            top = v
    total = 0.0
    for k in range(length):
        total += math.exp(x[base + k * inner] - top)
    for k in range(length):
        if log:
            out[base + k * inner] = (x[base + k * inner] - top) - math.log(total)
        else:
            out[base + k * inner] = math.exp(x[base + k * inner] - top) / total


@cuda.jit
def pad2d(x, out, left, top, mode, value):
    """The last two axes padded: mode 0 constant, 1 reflect, 2 replicate, 3 circular (x viewed as (B, H, W))."""
    B, OH, OW = out.shape
    H, W = x.shape[1], x.shape[2]
    i = cuda.grid(1)
    if i >= out.size:
        return
    ow, oh, b = i % OW, (i // OW) % OH, i // (OW * OH)
    h, w = oh - top, ow - left
    if mode == 0:
        out[b, oh, ow] = x[b, h, w] if 0 <= h < H and 0 <= w < W else value
        return
    if mode == 1:
        h, w = abs(h), abs(w)
        h = 2 * (H - 1) - h if h >= H else h
        w = 2 * (W - 1) - w if w >= W else w
    elif mode == 2:
        h, w = min(max(h, 0), H - 1), min(max(w, 0), W - 1)
    else:
        h, w = h % H, w % W
    out[b, oh, ow] = x[b, h, w]
