"""Winograd convolution F(m x m, 3 x 3): fewer multiplications for 3x3, stride-1 convolutions.

Direct convolution spends 9 multiplications per output per input channel. Winograd's minimal filtering
algorithm (Lavin and Gray, 2015) computes an m x m block of outputs from an (m+2) x (m+2) input tile with
(m+2)^2 multiplications instead of 9 m^2, after cheap linear transforms (notation in
``minicnn/kernels/__init__.py``; t = m + 2 is the tile size):

    U = G g G^T         the 3x3 kernel g of each (co, ci) pair, transformed once per layer   (t, t)
    V = B^T d B         each t x t input tile d (tiles overlap by 2), per channel             (t, t)
    M = sum_ci U * V    element-wise products summed over input channels:
                        for each of the t*t positions e, one GEMM  M[e] = U[e] (C_out, C_in) @ V[e] (C_in, T)
    Y = A^T M A         each m x m output block                                                (m, m)

F(2x2, 3x3) uses 16 products for 4 outputs (2.25 times fewer than 36); F(4x4, 3x3) uses 36 for 16
(4 times fewer than 144). The price: the transforms' constants (up to 5 and 1/24 in F(4,3)) amplify
rounding errors, so float32 results are less accurate than direct convolution (measured and
documented in docs/performance.md; the tolerance in minicnn/testing.py).

The input transform reads the unpadded input and treats positions outside it as zero (padding fused);
the output transform adds the bias and, if asked, applies ReLU (fused), writing NCHW directly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from minicnn.kernels import NO_EPILOGUE, finish, threads
from minicnn.kernels.workspace import workspace

# Lavin and Gray's matrices. F(2x2, 3x3): 4x4 tiles, 2x2 outputs.
BT2 = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G2 = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
AT2 = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
# F(4x4, 3x3): 6x6 tiles, 4x4 outputs.
BT4 = np.array(
    [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0],
     [0, 4, 0, -5, 0, 1]], dtype=np.float64)  # fmt: skip
G4 = np.array(
    [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
     [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=np.float64)  # fmt: skip
AT4 = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], dtype=np.float64)
MATRICES = {2: (BT2, G2, AT2), 4: (BT4, G4, AT4)}


def kernel_transform(G: np.ndarray, weight: np.ndarray, channels_last: bool = False) -> np.ndarray:
    """U = G g G^T for every 3x3 kernel g = weight[o, c], computed in float64, returned in the weight's dtype.

    Shape: weight (C_out, C_in, 3, 3) -> (t*t, C_out, C_in), or (t*t, C_in, C_out) if ``channels_last``.
    Written out, U[i, j] = sum over k, l of G[i, k] g[k, l] G[j, l]: with g flattened to 9 numbers, that is one
    (t*t, 9) matrix, the Kronecker product G (x) G, times g. So a block of kernels, one per column, is transformed
    by one GEMM (G (x) G) @ (9, kernels), rather than by two 6x3 and 3x3 products per kernel (NumPy's cost per
    small product made those 0.1-0.2 s for a 512x512 layer; the GEMM: under 30 ms, measured on 2 AMD EPYC cores).
    """
    t = G.shape[0]
    GG = np.kron(G, G)  # (t*t, 9): GG[i*t + j, k*3 + l] = G[i, k] * G[j, l]
    g = weight.transpose(2, 3, 1, 0) if channels_last else weight.transpose(2, 3, 0, 1)  # (3, 3, A, B): a view
    A, B = g.shape[2:]
    U = np.empty((t * t, A, B), weight.dtype)
    step = max(1, (1 << 14) // max(B, 1))  # rows of A at a time: float64 temporaries of a few MB, not of the layer
    for a in range(0, A, step):
        block = g[:, :, a : a + step].reshape(9, -1).astype(np.float64)  # (9, step*B): kernel entry k*3+l per row
        U[:, a : a + step] = (GG @ block).reshape(t * t, min(step, A - a), B)
    return U


class WinogradWeights(NamedTuple):
    """What a Winograd kernel is given as its weight (its ``pack``): the transformed kernels U, and the weight
    itself, for the layers it hands to direct summation (see ``conv2d_winograd``)."""

    U: np.ndarray
    weight: np.ndarray


def transform_weights(weight: np.ndarray, m: int) -> np.ndarray:
    """U = G g G^T for every (co, ci): (C_out, C_in, 3, 3) -> (t*t, C_out, C_in), computed in float64."""
    return kernel_transform(MATRICES[m][1], weight)


def pack2(weight: np.ndarray) -> WinogradWeights:
    return WinogradWeights(transform_weights(weight, 2), weight)


def pack4(weight: np.ndarray) -> WinogradWeights:
    return WinogradWeights(transform_weights(weight, 4), weight)


@njit(nogil=True, cache=True)
def _input_transform(x, BT, pT, pL, m, tiles_w, row0, rows, V, job0, job1):
    """V[e, c, tile] = (B^T d B)[e] for the t x t tiles d of tile rows row0 .. row0+rows-1 (zero outside x).

    One job per (image, channel). For each row of tiles, B^T is applied down the columns of all its tiles
    at once (whole input rows: contiguous loops), then B across each tile; the innermost loops run over
    the tiles, which are contiguous in V.
    """
    N, C, H, W = x.shape
    t = BT.shape[0]
    width = tiles_w * m + 2  # the padded columns a row of tiles reads
    lo, hi = max(pL, 0), min(width, W + pL)  # the padded columns that hold input values
    for job in range(job0, job1):
        n, c = job // C, job % C
        col = np.empty((t, width), dtype=x.dtype)  # B^T d, for every column of one tile row
        cols = np.empty((t, t, tiles_w), dtype=x.dtype)  # the same, regrouped: [i, k, tile] = col[i, tile*m + k]
        acc = np.empty(tiles_w, dtype=x.dtype)
        for r in range(rows):
            col[:, :] = 0.0
            for k in range(t):
                h = (row0 + r) * m - pT + k
                if 0 <= h < H:  # rows of padding add nothing
                    for i in range(t):
                        coef = BT[i, k]
                        if coef != 0:
                            for wp in range(lo, hi):
                                col[i, wp] += coef * x[n, c, h, wp - pL]
            for i in range(t):
                for k in range(t):
                    for tw in range(tiles_w):
                        cols[i, k, tw] = col[i, tw * m + k]
            base = (n * rows + r) * tiles_w
            for i in range(t):
                for j in range(t):
                    acc[:] = 0.0
                    for k in range(t):
                        coef = BT[j, k]
                        if coef != 0:
                            for tw in range(tiles_w):  # contiguous: vectorized
                                acc[tw] += coef * cols[i, k, tw]
                    V[i * t + j, c, base : base + tiles_w] = acc


@njit(nogil=True, cache=True)
def _output_transform(M, AT, bias, relu, m, tiles_w, row0, rows, out, job0, job1):
    """out[n, co, block] = A^T M A + bias (ReLU'd if asked) for tile rows row0 .. row0+rows-1, clipped at the edge.

    One job per (image, output channel); the innermost loops run over the tiles of a row.
    """
    N, C, OH, OW = out.shape
    t = AT.shape[1]
    for job in range(job0, job1):
        n, co = job // C, job % C
        tmp = np.empty((m, t, tiles_w), dtype=out.dtype)  # A^T applied down the columns of each tile
        acc = np.empty(tiles_w, dtype=out.dtype)
        zero = out.dtype.type(0)
        for r in range(rows):
            base = (n * rows + r) * tiles_w
            tmp[:, :, :] = 0.0
            for a in range(m):
                for i in range(t):
                    coef = AT[a, i]
                    if coef != 0:
                        for j in range(t):
                            src = M[i * t + j, co, base : base + tiles_w]
                            for tw in range(tiles_w):
                                tmp[a, j, tw] += coef * src[tw]
            for a in range(m):
                h = (row0 + r) * m + a
                if h >= OH:
                    break
                for b in range(m):
                    acc[:] = bias[co]
                    for j in range(t):
                        coef = AT[b, j]
                        if coef != 0:
                            for tw in range(tiles_w):
                                acc[tw] += coef * tmp[a, j, tw]
                    last = min(tiles_w, (OW - b + m - 1) // m)  # tiles whose column b is inside the image
                    for tw in range(last):
                        v = acc[tw]
                        out[n, co, h, tw * m + b] = (zero if v < zero else v) if relu else v  # a NaN stays NaN


#: Tile rows transformed together: V and M for a band stay near the cache (a bounded workspace).
BAND_ELEMENTS = 1 << 23


def conv2d_winograd2(x, packed: WinogradWeights, spec, epilogue=NO_EPILOGUE):
    """Winograd F(2x2, 3x3): ``conv2d_winograd`` with m = 2 (``pack2`` made ``packed``)."""
    return conv2d_winograd(x, packed, spec, epilogue, m=2)


def conv2d_winograd4(x, packed: WinogradWeights, spec, epilogue=NO_EPILOGUE):
    """Winograd F(4x4, 3x3): ``conv2d_winograd`` with m = 4 (``pack4`` made ``packed``)."""
    return conv2d_winograd(x, packed, spec, epilogue, m=4)


def conv2d_winograd(x, packed: WinogradWeights, spec, epilogue=NO_EPILOGUE, m=4):
    """3x3 stride-1 convolution (dilation 1, groups 1) by Winograd F(m x m, 3 x 3), m = 2 or 4.

    Shape: x (N, C_in, H, W) unpadded; packed.U (t*t, C_out, C_in) -> (N, C_out, OH, OW) with
    OH = H + top + bottom - 2, likewise OW. Works a band of tile rows at a time, so its workspace stays around
    BAND_ELEMENTS floats.

    Winograd's transforms turn an infinite input into inf - inf = NaN where direct summation gives +-inf (as
    torch does): a layer whose output is not finite is computed again by im2col (``conv2d_im2col``).
    """
    N, C_in, H, W = x.shape
    C_out = spec.C_out
    pT, pB, pL, pR = spec.pads
    OH, OW = spec.OH, spec.OW
    BT, _, AT = (a.astype(x.dtype) for a in MATRICES[m])
    tiles_h, tiles_w = -(-OH // m), -(-OW // m)
    t = m + 2
    U = packed.U  # (t*t, C_out, C_in)
    x = np.ascontiguousarray(x)
    out = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    bias, relu = epilogue.bias, epilogue.relu and epilogue.residual is None  # a residual comes before the ReLU
    b = np.zeros(C_out, x.dtype) if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
    band = max(1, min(tiles_h, BAND_ELEMENTS // max(1, t * t * max(C_in, C_out) * N * tiles_w)))
    V_work = workspace("winograd V", t * t * C_in * N * band * tiles_w, x.dtype)  # reused by bands and calls
    M_work = workspace("winograd M", t * t * C_out * N * band * tiles_w, x.dtype)
    for row0 in range(0, tiles_h, band):
        rows = min(band, tiles_h - row0)
        T = N * rows * tiles_w  # tiles in this band
        V = V_work[: t * t * C_in * T].reshape(t * t, C_in, T)
        M = M_work[: t * t * C_out * T].reshape(t * t, C_out, T)
        threads.over_range(lambda j0, j1: _input_transform(x, BT, pT, pL, m, tiles_w, row0, rows, V, j0, j1),  # noqa: B023
                           N * C_in)  # fmt: skip
        np.matmul(U, V, out=M)  # t*t GEMMs (C_out, C_in) @ (C_in, T): the element-wise stage, summed over channels
        threads.over_range(lambda j0, j1: _output_transform(M, AT, b, relu, m, tiles_w, row0, rows, out, j0, j1),  # noqa: B023
                           N * C_out)  # fmt: skip
    if not np.isfinite(out).all():
        from minicnn.kernels.conv_im2col import conv2d_im2col

        return conv2d_im2col(x, packed.weight, spec, epilogue)
    if epilogue.residual is not None or epilogue.cap is not None:  # the rest of the epilogue, if there is a rest
        finish(out, epilogue._replace(bias=None, relu=epilogue.relu and epilogue.residual is not None))
    return out
