"""The fast CUDA convolution: ``conv2d_tiled``'s implicit GEMM with register blocking (read that kernel first).

``conv2d_tiled`` gives each thread one output and, per multiply-add, two reads of shared memory: the GPU then
waits on shared memory, not on arithmetic. Here each thread owns a TM x TN block of outputs (TM output
channels x TN pixels) held in registers. Per step along K it reads TM weights and TN inputs from shared memory
into registers and does TM*TN multiply-adds with them: 16 multiply-adds for 8 reads at 4x4, 64 for 16 at 8x8.
This is the classic register-blocked SGEMM (as in CUTLASS's and cuDNN's implicit-GEMM kernels, minus their
vector loads, double buffering and tensor cores).

A block of THREADS_M x THREADS_N = 16 x 16 threads computes a BM x BN block of the output (BM = 16*TM
channels, BN = 16*TN pixels). Thread (ty, tx) owns channels ``ty + 16*i`` and pixels ``tx + 16*j``: spread
out, so that neighbouring threads read neighbouring shared-memory words and write neighbouring pixels.

Each step along K, the block loads a BK x BM tile of weights and a BK x BN tile of the implicit column
matrix into shared memory. Which input value column entry (k, p) holds (channel, kernel row, kernel column
of k) takes integer divisions, slow on a GPU: the BK entries of one tile are decoded once per tile, by BK
threads, into a small table in shared memory (``k_ci``, ``k_kh``, ``k_kw``), and each thread works out
its pixels' top-left input positions once per block.

Notation as in ``minicnn/kernels/__init__.py``; ``K = C_in/groups * KH * KW``, ``P = OH * OW``.
"""

from __future__ import annotations

from numba import cuda, float32, float64, int32

THREADS_M = THREADS_N = 16  # threads per block along output channels and along pixels: 256 threads
MAX_GRID_Z = 65535  # CUDA's limit on a grid's z dimension: blocks loop over (image, group) pairs beyond it


def make_conv2d_blocked(dtype, TM: int, TN: int, BK: int):
    """Compile-time tile sizes: each thread computes TM x TN outputs; tiles of BK along K."""
    BM, BN = THREADS_M * TM, THREADS_N * TN
    NT = THREADS_M * THREADS_N
    W_ROW = BM + 32 // BK  # w_s's padded row length: the transposing stores then hit 32 different banks
    W_LOADS, X_LOADS = BK * BM // NT, BK * BN // NT  # values each thread loads per tile, weights and inputs
    W_STEP, X_STEP = NT // BK, NT // BN  # rows of the weight tile / of the input tile that the block loads at once
    assert NT % BK == 0 and NT % BN == 0 and (BK * BM) % NT == 0 and (BK * BN) % NT == 0

    @cuda.jit
    def conv2d_blocked(x, w, b, out, N, C_in, H, W, C_out, KH, KW, OH, OW, sH, sW, pT, pL, dH, dW, groups, relu):
        """Block (bx, by, z): pixels bx*BN.., output channels by*BM.. (within the group), image and group z.

        x, w and out are the C-contiguous arrays flattened: x[((n*C_in + c)*H + h)*W + w], w[co*K + k] (k in
        (ci, kh, kw) order, as OIHW stores it), out[(n*C_out + co)*P + p].
        """
        C_in_g, C_out_g = C_in // groups, C_out // groups
        KHW = KH * KW
        K, P = C_in_g * KHW, OH * OW
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        tid = ty * THREADS_N + tx
        m0, p0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN

        w_s = cuda.shared.array((BK, W_ROW), dtype)  # weights, transposed: (k, channel)
        x_s = cuda.shared.array((BK, BN), dtype)  # implicit im2col: (k, pixel)
        # For each k of a tile: the offset ci*H*W + kh*dH*W + kw*dW of its input value, and kh*dH, kw*dW. Two
        # tables: the next tile's is written while the current one may still be read.
        k_off = cuda.shared.array((2, BK), int32)
        k_kh = cuda.shared.array((2, BK), int32)
        k_kw = cuda.shared.array((2, BK), int32)
        acc = cuda.local.array((TM, TN), dtype)  # this thread's outputs: registers once unrolled
        a = cuda.local.array(TM, dtype)
        c = cuda.local.array(TN, dtype)
        w_next = cuda.local.array(W_LOADS, dtype)  # the next tile's values this thread loads, in registers
        x_next = cuda.local.array(X_LOADS, dtype)

        # The pixel this thread loads for the input tile is the same for every tile: decode it once.
        x_col = tid % BN
        p = p0 + x_col
        oh = p // OW
        h0, w0 = oh * sH - pT, (p - oh * OW) * sW - pL  # top-left input position of pixel p's window
        w_k = tid % BK  # the k this thread loads for the weight tile
        tiles = (K + BK - 1) // BK

        for z in range(cuda.blockIdx.z, N * groups, cuda.gridDim.z):
            n, g = z // groups, z % groups
            x_base = (n * C_in + g * C_in_g) * H * W
            w_base = (g * C_out_g + m0) * K
            for i in range(TM):
                for j in range(TN):
                    acc[i, j] = 0
            for t in range(-1, tiles):
                # 1. The loads of tile t, held in registers since the previous step, go to shared memory, and
                #    the table of tile t + 1 is decoded (by BK threads).
                if t >= 0:
                    for l in range(W_LOADS):
                        w_s[w_k, tid // BK + l * W_STEP] = w_next[l]
                    for l in range(X_LOADS):
                        x_s[tid // BN + l * X_STEP, x_col] = x_next[l]
                nxt = (t + 1) % 2
                if tid < BK:
                    k = (t + 1) * BK + tid
                    ci = k // KHW
                    r = k - ci * KHW
                    kh = r // KW
                    k_kh[nxt, tid], k_kw[nxt, tid] = kh * dH, (r - kh * KW) * dW
                    k_off[nxt, tid] = ci * H * W + k_kh[nxt, tid] * W + k_kw[nxt, tid]
                cuda.syncthreads()  # tile t and the next table are complete
                # 2. The loads of tile t + 1 are started: they arrive while this thread computes on tile t.
                k0 = (t + 1) * BK
                if k0 < K:
                    for l in range(W_LOADS):  # weights: consecutive threads read consecutive k (contiguous)
                        m = tid // BK + l * W_STEP
                        v = dtype(0)
                        if m0 + m < C_out_g and k0 + w_k < K:
                            v = w[w_base + m * K + k0 + w_k]
                        w_next[l] = v
                    for l in range(X_LOADS):  # inputs: consecutive threads read consecutive pixels
                        kk = tid // BN + l * X_STEP
                        h, ww = h0 + k_kh[nxt, kk], w0 + k_kw[nxt, kk]
                        v = dtype(0)
                        if k0 + kk < K and p < P and 0 <= h < H and 0 <= ww < W:
                            v = x[x_base + k_off[nxt, kk] + h0 * W + w0]
                        x_next[l] = v
                # 3. The multiply-adds of tile t, from shared memory through registers.
                if t >= 0:
                    for kk in range(BK):
                        for i in range(TM):
                            a[i] = w_s[kk, ty + THREADS_M * i]
                        for j in range(TN):
                            c[j] = x_s[kk, tx + THREADS_N * j]
                        for i in range(TM):
                            for j in range(TN):
                                acc[i, j] += a[i] * c[j]
                cuda.syncthreads()  # everyone is done with tile t before step 1 overwrites it
            for i in range(TM):
                m = m0 + ty + THREADS_M * i
                if m < C_out_g:
                    co = g * C_out_g + m
                    for j in range(TN):
                        q = p0 + tx + THREADS_N * j
                        if q < P:
                            v = acc[i, j] + b[co]
                            if relu and v < 0:
                                v = 0
                            out[(n * C_out + co) * P + q] = v

    return conv2d_blocked


#: (TM, TN, BK) of the block shapes: 128 x 128 outputs per block for layers with enough of them to fill the
#: GPU, 64 x 64 for the others (smaller blocks: more of them in flight), and 128 x 64 between. Without a
#: register cap, ptxas gives them 214, 168 and 128 registers per thread (CUDA 13, sm_90), no spills.
CONFIGS = {"large": (8, 8, 8), "small": (4, 4, 8)}

_compiled: dict = {}


def block_shape(config: str) -> tuple[int, int]:
    """(BM, BN): output channels and pixels one block computes."""
    TM, TN, _ = CONFIGS[config]
    return THREADS_M * TM, THREADS_N * TN


def conv2d_blocked(dtype_name: str, config: str):
    """The kernel for one dtype and block shape (a key of CONFIGS), built when first asked for."""
    key = (dtype_name, config)
    if key not in _compiled:
        _compiled[key] = make_conv2d_blocked({"float32": float32, "float64": float64}[dtype_name], *CONFIGS[config])
    return _compiled[key]
