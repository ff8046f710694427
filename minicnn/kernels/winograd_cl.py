"""Winograd F(4x4, 3x3) in the channels-last layout: the fast twin of ``winograd.py``.

Same algorithm, same matrices (read ``winograd.py`` first; t = 6, m = 4):

    V = B^T d B     each 6x6 input tile d, per channel
    M[e] = V[e] @ U[e]     for each of the 36 positions e: (tiles, C_in) @ (C_in, C_out), U = G g G^T
    Y = A^T M A + bias     each 4x4 output block, ReLU'd if asked

What changes is where the numbers sit in memory. ``winograd.py`` keeps PyTorch's NCHW layout, so the
loops over one tile jump between rows and planes and the compiler cannot use SIMD instructions well.
Here activations are *channels-last*: the C values of one pixel are contiguous (memory order N, H, W, C:
PyTorch's ``torch.channels_last``). Every step of a transform is then the same formula applied to C
contiguous numbers at once, a loop that compiles to vector instructions (16 float32 per instruction with
AVX-512), and the transforms are written out as the six- and four-term formulas of B^T and A^T.

The output is channels-last too: an (N, C_out, OH, OW) array whose memory is (N, OH, OW, C_out), exactly
what ``x.transpose(0, 3, 1, 2)`` of a C-contiguous (N, H, W, C) array is. Values and shapes are those of
any other algorithm; only the strides differ, and the next layer (pooling, another convolution) keeps
that layout without copying.

Work is split into bands of tiles. Each band is transformed, multiplied and transformed back while its
V and M (a few hundred KB) are still in cache; the machine's threads take the bands as the work goes,
running one-threaded BLAS, so that no thread waits for another (see ``conv2d_winograd4_cl``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minicnn.kernels import NO_EPILOGUE, finish, threads
from minicnn.kernels.winograd import G2, G4, WinogradWeights, kernel_transform
from minicnn.kernels.workspace import workspace

# The constants of B^T and A^T, typed float32 so that float32 tiles stay float32 (an int constant would
# make Numba compute in float64); with float64 tiles they are promoted exactly.
TWO, FOUR, FIVE, EIGHT = np.float32(2), np.float32(4), np.float32(5), np.float32(8)


@njit(inline="always")
def _apply_bt(src, s0, s_a, s1, s_b, dst, d0, d_a, d1, d_b):
    """B^T applied to six vectors of C numbers: for k = 0..5 and every channel c,

        dst[d0 + d_a*k, d1 + d_b*k, c] = sum_m BT4[k, m] * src[s0 + s_a*m, s1 + s_b*m, c]

    (the steps choose whether m and k walk the first or the second axis). One loop per row of B^T, each
    writing one vector: the compiler turns such loops into SIMD code. A loop writing six arrays at once,
    or one going through array views made inside the tile loop, ran 3 to 20 times slower (measured).
    """
    C = dst.shape[2]
    m0, m1, m2, m3, m4, m5 = (s0, s1), (s0 + s_a, s1 + s_b), (s0 + 2 * s_a, s1 + 2 * s_b), \
        (s0 + 3 * s_a, s1 + 3 * s_b), (s0 + 4 * s_a, s1 + 4 * s_b), (s0 + 5 * s_a, s1 + 5 * s_b)  # fmt: skip
    for c in range(C):
        dst[d0, d1, c] = FOUR * src[m0[0], m0[1], c] - FIVE * src[m2[0], m2[1], c] + src[m4[0], m4[1], c]
    for c in range(C):
        dst[d0 + d_a, d1 + d_b, c] = (
            src[m3[0], m3[1], c] + src[m4[0], m4[1], c] - FOUR * (src[m1[0], m1[1], c] + src[m2[0], m2[1], c])
        )
    for c in range(C):
        dst[d0 + 2 * d_a, d1 + 2 * d_b, c] = (
            FOUR * (src[m1[0], m1[1], c] - src[m2[0], m2[1], c]) - src[m3[0], m3[1], c] + src[m4[0], m4[1], c]
        )
    for c in range(C):
        dst[d0 + 3 * d_a, d1 + 3 * d_b, c] = (
            TWO * (src[m3[0], m3[1], c] - src[m1[0], m1[1], c]) - src[m2[0], m2[1], c] + src[m4[0], m4[1], c]
        )
    for c in range(C):
        dst[d0 + 4 * d_a, d1 + 4 * d_b, c] = (
            TWO * (src[m1[0], m1[1], c] - src[m3[0], m3[1], c]) - src[m2[0], m2[1], c] + src[m4[0], m4[1], c]
        )
    for c in range(C):
        dst[d0 + 5 * d_a, d1 + 5 * d_b, c] = (
            FOUR * src[m1[0], m1[1], c] - FIVE * src[m3[0], m3[1], c] + src[m5[0], m5[1], c]
        )


@njit(inline="always")
def _apply_at(src, s0, s_a, s1, s_b, dst, d0, d_a, d1, d_b):
    """A^T applied the same way, for a = 0..3:
    dst[d0 + d_a*a, d1 + d_b*a, c] = sum_m AT4[a, m] * src[s0 + s_a*m, s1 + s_b*m, c]."""
    C = dst.shape[2]
    m0, m1, m2, m3, m4, m5 = (s0, s1), (s0 + s_a, s1 + s_b), (s0 + 2 * s_a, s1 + 2 * s_b), \
        (s0 + 3 * s_a, s1 + 3 * s_b), (s0 + 4 * s_a, s1 + 4 * s_b), (s0 + 5 * s_a, s1 + 5 * s_b)  # fmt: skip
    for c in range(C):
        dst[d0, d1, c] = (
            src[m0[0], m0[1], c] + src[m1[0], m1[1], c] + src[m2[0], m2[1], c]
            + src[m3[0], m3[1], c] + src[m4[0], m4[1], c]
        )  # fmt: skip
    for c in range(C):
        dst[d0 + d_a, d1 + d_b, c] = (
            src[m1[0], m1[1], c] - src[m2[0], m2[1], c] + TWO * (src[m3[0], m3[1], c] - src[m4[0], m4[1], c])
        )
    for c in range(C):
        dst[d0 + 2 * d_a, d1 + 2 * d_b, c] = (
            src[m1[0], m1[1], c] + src[m2[0], m2[1], c] + FOUR * (src[m3[0], m3[1], c] + src[m4[0], m4[1], c])
        )
    for c in range(C):
        dst[d0 + 3 * d_a, d1 + 3 * d_b, c] = (
            src[m1[0], m1[1], c] - src[m2[0], m2[1], c]
            + EIGHT * (src[m3[0], m3[1], c] - src[m4[0], m4[1], c]) + src[m5[0], m5[1], c]
        )  # fmt: skip


@njit(inline="always")
def _load_tile(x, n, h0, w0, d):
    """d[i, j, :] = x[n, h0 + i, w0 + j, :] for the t x t tile d, zeros where it leaves the input (padding fused: no
    padded copy of x)."""
    H, W, C = x.shape[1], x.shape[2], x.shape[3]
    t = d.shape[0]
    inside = h0 >= 0 and w0 >= 0 and h0 + t <= H and w0 + t <= W
    for i in range(t):
        for j in range(t):
            h, w = h0 + i, w0 + j
            if inside or (0 <= h < H and 0 <= w < W):
                for c in range(C):
                    d[i, j, c] = x[n, h, w, c]
            else:
                for c in range(C):
                    d[i, j, c] = 0


@njit(nogil=True, cache=True)
def input_transform(x, pT, pL, tiles_h, tiles_w, tile0, T, V, at):
    """V[e, at + i, :] = (B^T d B)[e] for tiles tile0 + i, i < T, of the channels-last input (zero outside it). ``at``:
    where these tiles go in V, 0 for a band's own V, tile0 for one V of the whole layer shared by the threads.

    Shape: x (N, H, W, C) C-contiguous; V (36, >= at + T, C). Tile number ``n*tiles_h*tiles_w + i*tiles_w + j``
    covers padded rows 4i .. 4i+5 and columns 4j .. 4j+5, i.e. input rows 4i - pT .. 4i - pT + 5.
    Every innermost loop runs over the C contiguous channels.
    """
    N, H, W, C = x.shape
    d = np.zeros((6, 6, C), x.dtype)  # the tile d, zero-padded where it leaves the input
    tmp = np.empty((6, 6, C), x.dtype)  # B^T d
    per_image = tiles_h * tiles_w
    for tt in range(at, at + T):  # row tt of V (or M) holds tile tile0 + tt - at
        tile = tile0 + tt - at
        n, r = tile // per_image, tile % per_image
        _load_tile(x, n, (r // tiles_w) * 4 - pT, (r % tiles_w) * 4 - pL, d)
        for j in range(6):  # B^T down each column j: tmp[k, j] = sum_m BT[k, m] d[m, j]
            _apply_bt(d, 0, 1, j, 0, tmp, 0, 1, j, 0)
        for i in range(6):  # then B across each row i: V[6i + k, tt] = sum_m BT[k, m] tmp[i, m]
            _apply_bt(tmp, i, 0, 0, 1, V, 6 * i, 1, tt, 0)


@njit(inline="always")
def _tile_outputs(M, tt, tmp, y):
    """y = A^T M A (4 x 4 x C_out) for the tile in row tt of M (36, tiles, C_out); tmp (4, 6, C_out) holds A^T M."""
    for j in range(6):  # A^T down each column j: tmp[a, j] = sum_i AT[a, i] M[6i + j]
        _apply_at(M, j, 6, tt, 0, tmp, 0, 1, j, 0)
    for a in range(4):  # then A across each row a: y[a, b] = sum_j AT[b, j] tmp[a, j]
        _apply_at(tmp, a, 0, 0, 1, y, a, 0, 0, 1)


@njit(nogil=True, cache=True)
def output_transform(M, bias, relu, tiles_h, tiles_w, tile0, T, out, at):
    """out[n, 4i + a, 4j + b, :] = (A^T M A)[a, b] + bias for tiles tile0 .. tile0+T-1 (rows at .. at+T-1 of M, as in
    ``input_transform``), clipped at the edge.

    Shape: M (36, >= at + T, C_out); bias (C_out,); out (N, OH, OW, C_out) C-contiguous. ReLU fused if ``relu``.
    Returns False if any output (before ReLU) is infinite or NaN: the transforms turn an infinite input into
    inf - inf = NaN where direct summation gives +-inf, so the caller then computes the layer another way.
    """
    N, OH, OW, K = out.shape
    tmp = np.empty((4, 6, K), out.dtype)  # A^T M
    y = np.empty((4, 4, K), out.dtype)  # A^T M A
    zero = out.dtype.type(0)
    nonfinite = 0
    per_image = tiles_h * tiles_w
    for tt in range(at, at + T):  # row tt of V (or M) holds tile tile0 + tt - at
        tile = tile0 + tt - at
        n, r = tile // per_image, tile % per_image
        h0, w0 = (r // tiles_w) * 4, (r % tiles_w) * 4
        _tile_outputs(M, tt, tmp, y)
        for a in range(min(4, OH - h0)):  # plus bias (and ReLU), clipped at the bottom and right edges
            for b in range(min(4, OW - w0)):
                for k in range(K):
                    v = y[a, b, k] + bias[k]
                    nonfinite |= v - v != 0  # inf - inf and NaN - NaN are NaN
                    out[n, h0 + a, w0 + b, k] = max(v, zero) if relu else v
    return nonfinite == 0


@njit(nogil=True, cache=True)
def output_transform_max_pool(M, bias, relu, tiles_h, tiles_w, tile0, T, out, at):
    """``output_transform`` followed by max pooling over 2x2 windows with stride 2 (the ``MaxPool2d(2, 2)`` after
    VGG16's layers, fused by ``minicnn.optimize``): each 4x4 block of sums gives a 2x2 block of maxima, and only those
    are written, out[n, 2i + a, 2j + b, :] for tile (i, j). The bias and ReLU come after the maximum: adding the same
    number and clamping at zero keep the order of floats, so the results are those of the layer, then the pooling.

    Shape: M (36, >= at + T, C_out); out (N, OH // 2, OW // 2, C_out) C-contiguous (floor, as torch: a last odd row or
    column of the layer's output is dropped). Returns False if a pooled window holds an infinite or NaN sum (the
    caller then computes the layer another way, as for ``output_transform``).
    """
    N, PH, PW, K = out.shape
    tmp = np.empty((4, 6, K), out.dtype)  # A^T M
    y = np.empty((4, 4, K), out.dtype)  # A^T M A
    zero = out.dtype.type(0)
    nonfinite = 0
    per_image = tiles_h * tiles_w
    for tt in range(at, at + T):  # row tt of M holds tile tile0 + tt - at
        tile = tile0 + tt - at
        n, r = tile // per_image, tile % per_image
        p0, q0 = (r // tiles_w) * 2, (r % tiles_w) * 2  # the tile's first pooled row and column
        _tile_outputs(M, tt, tmp, y)
        for i in range(min(2, PH - p0)):
            for j in range(min(2, PW - q0)):
                for k in range(K):
                    y0, y1 = y[2 * i, 2 * j, k], y[2 * i, 2 * j + 1, k]
                    y2, y3 = y[2 * i + 1, 2 * j, k], y[2 * i + 1, 2 * j + 1, k]
                    total = y0 + y1 + y2 + y3  # infinite or NaN if one of them is
                    v = max(max(y0, y1), max(y2, y3)) + bias[k]
                    nonfinite |= (total - total != 0) | (v - v != 0)
                    out[n, p0 + i, q0 + j, k] = max(v, zero) if relu else v
    return nonfinite == 0


def pack_cl(weight: np.ndarray) -> WinogradWeights:
    """U = G g G^T for every (co, ci), laid out for ``V @ U``: (C_out, C_in, 3, 3) -> (36, C_in, C_out)."""
    return WinogradWeights(kernel_transform(G4, weight, channels_last=True), weight)


#: Most tiles in one band. A band's V and M (36 x tiles x channels) are reused from the thread's cache. (256 before the
#: bands were made equal: with equal bands, 128 measured 0.82x the time on VGG16's 64 -> 128 channel layer at 112x112,
#: 0.95-0.97x on its 224x224 and 128-channel 112x112 ones, the same elsewhere; alone, alternate calls, Zen 5 EPYC.)
MAX_BAND_TILES = 128
#: Fewer tiles than this per band (deep layers at batch 1): the GEMMs are split by position e instead. (A band of
#: 8 to 31 tiles per thread, start to finish, needs one hand-off to the threads where the split needs three:
#: ResNet50's 128-channel 3x3 layers at 28x28, 25 tiles per thread, took 1.0 ms instead of 1.2 alone on a 2-core
#: Xeon, and the forward pass 1-2% less.)
MIN_BAND_TILES = 8
#: Transformed weights U of at least this many bytes, and at most SHARED_U_MAX_TILES tiles per band: the threads share
#: one band by position e as well, so that each reads its part of U instead of all of it. Every band reads the whole
#: U: VGG16's 512-channel layers at 28x28 read 37.7 MB of it for a band of 25 tiles, from memory (a network's U does
#: not stay in cache). Measured alone on the 2-core Zen 5 EPYC, alternate calls with three weights in turn: 0.88x the
#: time of two bands at 37.7 MB, 0.93x at 16.8 MB (F(2x2), 512 channels at 14x14), 0.97x at 18.9 MB; with 2.4 MB
#: (ResNet50's 128 channels at 28x28) bands were faster (the split 1.34x).
SHARED_U_BYTES = 1 << 24
SHARED_U_MAX_TILES = 64


def conv2d_winograd4_cl(x, packed: WinogradWeights, spec, epilogue=NO_EPILOGUE):
    """3x3 stride-1 convolution by Winograd F(4x4, 3x3) in the channels-last layout.

    Shape: x (N, C_in, H, W), any memory layout (copied to channels-last if it is not); packed = ``pack_cl(weight)``
    -> (N, C_out, OH, OW), channels-last, with OH = H + top + bottom - 2, likewise OW. A layer with an infinite or
    NaN output (see ``output_transform``) is computed again by direct summation (``conv2d_im2col_cl``).

    The tiles are cut into equal bands of at most MAX_BAND_TILES, as many for every thread (VGG16's 784 tiles at
    112x112 were 256 + 256 + 256 + 16, which left one thread 512 tiles and the other 272; now 8 x 98). Each thread
    takes the next band when it is done with its last (``threads.parallel``: a thread slowed down or late to wake
    leaves its bands to the others) and takes it from start to finish (input transform, 36 GEMMs with one-threaded
    BLAS, output transform). With few tiles (deep layers, batch 1; see MIN_BAND_TILES and SHARED_U_BYTES), the
    threads share one band's 36 GEMMs instead.
    """
    return _winograd_cl(x, packed, spec, epilogue, 4, input_transform, output_transform, MAX_BAND_TILES)


def conv2d_winograd4_cl_max_pool(x, packed: WinogradWeights, spec, epilogue=NO_EPILOGUE):
    """``conv2d_winograd4_cl`` then ``F.max_pool2d(out, 2, 2)``, the pooling done in the output transform: the layer's
    full-size output is never written nor read back (``minicnn.optimize`` fuses a ``MaxPool2d(2, 2)`` that follows a
    layer run by Winograd). The epilogue: bias and ReLU only.

    Shape: as ``conv2d_winograd4_cl``, then (N, C_out, OH // 2, OW // 2), channels-last.
    """
    return _winograd_cl(x, packed, spec, epilogue, 4, input_transform, output_transform_max_pool, MAX_BAND_TILES, True)


def _winograd_cl(x, packed, spec, epilogue, m, input_tf, output_tf, max_band, pooled=False):
    """F(m x m, 3 x 3) on channels-last tiles (t = m + 2): what ``conv2d_winograd4_cl`` and ``conv2d_winograd2_cl``
    share; ``input_tf`` and ``output_tf`` are the compiled transforms of that m, ``max_band`` the most tiles a band
    holds. ``pooled``: ``output_tf`` max-pools over 2x2 windows (``conv2d_winograd4_cl_max_pool``)."""
    if pooled and (epilogue.residual is not None or epilogue.cap is not None):
        raise ValueError("a pooled Winograd layer takes a bias and ReLU only")
    N, C_in, H, W = x.shape
    C_out, t2 = spec.C_out, (m + 2) ** 2  # t2: the positions e of a tile, one GEMM each
    pT, pB, pL, pR = spec.pads
    OH, OW = spec.OH, spec.OW
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # (N, H, W, C_in): no copy if already channels-last
    out_cl = np.empty((N, OH // 2, OW // 2, C_out) if pooled else (N, OH, OW, C_out), dtype=x.dtype)
    if out_cl.size == 0:
        return out_cl.transpose(0, 3, 1, 2)
    U = packed.U  # (t2, C_in, C_out)
    bias, relu = epilogue.bias, epilogue.relu and epilogue.residual is None  # a residual comes before the ReLU
    b = np.zeros(C_out, x.dtype) if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
    tiles_h, tiles_w = -(-OH // m), -(-OW // m)
    tiles = N * tiles_h * tiles_w
    workers = threads.count() if threads.blas_controllable() else 1
    bands = workers * -(-tiles // (workers * max_band))  # equal bands, as many for every thread
    per_band = -(-tiles // bands)

    def band(tile0, T):  # tiles tile0 .. tile0+T-1, start to finish, in this thread's workspaces
        V = workspace(f"winograd F({m}) cl V", (t2, T, C_in), x.dtype)
        M = workspace(f"winograd F({m}) cl M", (t2, T, C_out), x.dtype)
        input_tf(x_cl, pT, pL, tiles_h, tiles_w, tile0, T, V, 0)
        np.matmul(V, U, out=M)  # t2 GEMMs (T, C_in) @ (C_in, C_out)
        return output_tf(M, b, relu, tiles_h, tiles_w, tile0, T, out_cl, 0)

    starts = list(range(0, tiles, per_band))
    if workers == 1:
        finite = all([band(s, min(per_band, tiles - s)) for s in starts])
    elif per_band >= MIN_BAND_TILES and (U.nbytes < SHARED_U_BYTES or per_band > SHARED_U_MAX_TILES):
        with threads.one_blas_thread():  # (parallel shares the bands out as the work goes)
            finite = all(threads.parallel(lambda s: band(s, min(per_band, tiles - s)), starts))
    else:  # few tiles, or few for large weights: one band, its transforms shared out by tiles, its GEMMs by position e
        V = workspace(f"winograd F({m}) cl V", (t2, tiles, C_in), x.dtype)  # (the calling thread's buffers)
        M = workspace(f"winograd F({m}) cl M", (t2, tiles, C_out), x.dtype)
        ranges = [(tiles * k // workers, tiles * (k + 1) // workers) for k in range(workers)]
        threads.parallel(lambda r: input_tf(x_cl, pT, pL, tiles_h, tiles_w, r[0], r[1] - r[0], V, r[0]), ranges)
        parts = [slice(t2 * k // workers, t2 * (k + 1) // workers) for k in range(workers)]
        with threads.one_blas_thread():
            threads.parallel(lambda e: np.matmul(V[e], U[e], out=M[e]), parts)
        shares = threads.parallel(
            lambda r: output_tf(M, b, relu, tiles_h, tiles_w, r[0], r[1] - r[0], out_cl, r[0]), ranges
        )
        finite = all(shares)
    if not finite:
        from minicnn.kernels.conv_im2col import conv2d_im2col_cl, weight_cols

        out = conv2d_im2col_cl(x, weight_cols(packed.weight), spec, epilogue)
        if pooled:
            from minicnn import specs
            from minicnn.kernels.pooling_numba import max_pool2d_cl

            out = max_pool2d_cl(out, specs.pool2d("max_pool2d", out, 2, 2, 0, 1, False))
        return out
    out = out_cl.transpose(0, 3, 1, 2)
    if epilogue.residual is not None or epilogue.cap is not None:  # the rest of the epilogue, if there is a rest
        finish(out, epilogue._replace(bias=None, relu=epilogue.relu and epilogue.residual is not None))
    return out


# ------------------------------------------------------------------------------------- F(2x2, 3x3), channels-last


@njit(nogil=True, cache=True)
def input_transform2(x, pT, pL, tiles_h, tiles_w, tile0, T, V, at):
    """F(2x2, 3x3)'s V[e, at + i, :] = (B^T d B)[e] for the 4x4 tiles tile0 + i, i < T (zero outside the input; ``at``
    as in ``input_transform``).

    Shape: x (N, H, W, C) C-contiguous; V (16, >= at + T, C). Tile ``n*tiles_h*tiles_w + i*tiles_w + j`` covers
    input rows 2i - pT .. 2i - pT + 3 and columns 2j - pL .. 2j - pL + 3. With B^T = [[1, 0, -1, 0], [0, 1, 1, 0],
    [0, -1, 1, 0], [0, 1, 0, -1]], every step is an addition of two vectors of C channels.
    """
    N, H, W, C = x.shape
    d = np.zeros((4, 4, C), x.dtype)
    t = np.empty((4, 4, C), x.dtype)  # B^T d
    per_image = tiles_h * tiles_w
    for tt in range(at, at + T):  # row tt of V (or M) holds tile tile0 + tt - at
        tile = tile0 + tt - at
        n, r = tile // per_image, tile % per_image
        _load_tile(x, n, (r // tiles_w) * 2 - pT, (r % tiles_w) * 2 - pL, d)
        for j in range(4):  # B^T down each column
            for c in range(C):
                t[0, j, c] = d[0, j, c] - d[2, j, c]
            for c in range(C):
                t[1, j, c] = d[1, j, c] + d[2, j, c]
            for c in range(C):
                t[2, j, c] = d[2, j, c] - d[1, j, c]
            for c in range(C):
                t[3, j, c] = d[1, j, c] - d[3, j, c]
        for i in range(4):  # then B across each row: V[4i + k]
            for c in range(C):
                V[4 * i, tt, c] = t[i, 0, c] - t[i, 2, c]
            for c in range(C):
                V[4 * i + 1, tt, c] = t[i, 1, c] + t[i, 2, c]
            for c in range(C):
                V[4 * i + 2, tt, c] = t[i, 2, c] - t[i, 1, c]
            for c in range(C):
                V[4 * i + 3, tt, c] = t[i, 1, c] - t[i, 3, c]


@njit(nogil=True, cache=True)
def output_transform2(M, bias, relu, tiles_h, tiles_w, tile0, T, out, at):
    """F(2x2, 3x3)'s out[n, 2i + a, 2j + b, :] = (A^T M A)[a, b] + bias, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], ReLU'd
    if asked, clipped at the bottom and right edges. Returns False if an output is infinite or NaN (see
    ``output_transform``). Shape: M (16, >= at + T, C_out); out (N, OH, OW, C_out) C-contiguous."""
    N, OH, OW, K = out.shape
    s = np.empty((2, 4, K), out.dtype)  # A^T M
    zero = out.dtype.type(0)
    nonfinite = 0
    per_image = tiles_h * tiles_w
    for tt in range(at, at + T):  # row tt of V (or M) holds tile tile0 + tt - at
        tile = tile0 + tt - at
        n, r = tile // per_image, tile % per_image
        h0, w0 = (r // tiles_w) * 2, (r % tiles_w) * 2
        for j in range(4):  # A^T down each column j: rows 0..3 of M are positions 4*i + j
            for k in range(K):
                s[0, j, k] = M[j, tt, k] + M[4 + j, tt, k] + M[8 + j, tt, k]
            for k in range(K):
                s[1, j, k] = M[4 + j, tt, k] - M[8 + j, tt, k] - M[12 + j, tt, k]
        for a in range(min(2, OH - h0)):
            for b in range(min(2, OW - w0)):
                for k in range(K):
                    if b == 0:
                        v = s[a, 0, k] + s[a, 1, k] + s[a, 2, k] + bias[k]
                    else:
                        v = s[a, 1, k] - s[a, 2, k] - s[a, 3, k] + bias[k]
                    nonfinite |= v - v != 0
                    out[n, h0 + a, w0 + b, k] = max(v, zero) if relu else v
    return nonfinite == 0


@njit(nogil=True, cache=True)
def output_transform2_max_pool(M, bias, relu, tiles_h, tiles_w, tile0, T, out, at):
    """F(2x2, 3x3)'s ``output_transform2`` followed by max pooling over 2x2 windows with stride 2: each 2x2 block of
    outputs is one window, so tile (i, j) gives out[n, i, j, :], bias and ReLU after the maximum (as in
    ``output_transform_max_pool``). Shape: M (16, >= at + T, C_out); out (N, OH // 2, OW // 2, C_out) C-contiguous (a
    last odd row or column of tiles dropped). Returns False if a window holds an infinite or NaN sum."""
    N, PH, PW, K = out.shape
    s = np.empty((2, 4, K), out.dtype)  # A^T M
    zero = out.dtype.type(0)
    nonfinite = 0
    per_image = tiles_h * tiles_w
    for tt in range(at, at + T):  # row tt of M holds tile tile0 + tt - at
        tile = tile0 + tt - at
        n, r = tile // per_image, tile % per_image
        i, j = r // tiles_w, r % tiles_w
        if i >= PH or j >= PW:
            continue
        for c in range(4):  # A^T down each column c: rows 0..3 of M are positions 4*i + c
            for k in range(K):
                s[0, c, k] = M[c, tt, k] + M[4 + c, tt, k] + M[8 + c, tt, k]
            for k in range(K):
                s[1, c, k] = M[4 + c, tt, k] - M[8 + c, tt, k] - M[12 + c, tt, k]
        for k in range(K):
            y0, y1 = s[0, 0, k] + s[0, 1, k] + s[0, 2, k], s[0, 1, k] - s[0, 2, k] - s[0, 3, k]
            y2, y3 = s[1, 0, k] + s[1, 1, k] + s[1, 2, k], s[1, 1, k] - s[1, 2, k] - s[1, 3, k]
            total = y0 + y1 + y2 + y3  # infinite or NaN if one of them is
            v = max(max(y0, y1), max(y2, y3)) + bias[k]
            nonfinite |= (total - total != 0) | (v - v != 0)
            out[n, i, j, k] = max(v, zero) if relu else v
    return nonfinite == 0


def pack_cl2(weight: np.ndarray) -> WinogradWeights:
    """F(2x2, 3x3)'s U = G g G^T laid out for ``V @ U``: (C_out, C_in, 3, 3) -> (16, C_in, C_out)."""
    return WinogradWeights(kernel_transform(G2, weight, channels_last=True), weight)


def conv2d_winograd2_cl(x, packed: WinogradWeights, spec, epilogue=NO_EPILOGUE):
    """3x3 stride-1 convolution by Winograd F(2x2, 3x3) in the channels-last layout (as ``conv2d_winograd4_cl``).

    For deep layers with few tiles at batch 1 (VGG16's 512 channels at 14x14, ResNet50's at 7x7): F(4x4)'s
    transformed weights are 4 times the weights (36 of 9 per kernel), read for only 16 tiles, while F(2x2)'s are
    16/9 of them, and its GEMMs have more rows (49 tiles at 14x14). 2.25x fewer multiplications than direct
    summation, with its rounding (tolerance "winograd2").
    """
    max_band = MAX_BAND_TILES * 36 // 16  # as many numbers in V and M as F(4x4)'s bands
    return _winograd_cl(x, packed, spec, epilogue, 2, input_transform2, output_transform2, max_band)


def conv2d_winograd2_cl_max_pool(x, packed: WinogradWeights, spec, epilogue=NO_EPILOGUE):
    """``conv2d_winograd2_cl`` then ``F.max_pool2d(out, 2, 2)`` in the output transform (as
    ``conv2d_winograd4_cl_max_pool``): VGG16's last layer and pooling, at 14x14."""
    max_band = MAX_BAND_TILES * 36 // 16
    return _winograd_cl(x, packed, spec, epilogue, 2, input_transform2, output_transform2_max_pool, max_band, True)


#: The algorithms whose kernels can max-pool over 2x2 windows in their output transform, and those kernels.
MAX_POOLED = {"winograd4_cl": conv2d_winograd4_cl_max_pool, "winograd2_cl": conv2d_winograd2_cl_max_pool}
