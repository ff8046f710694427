"""conv2d computed directly on channels-last pixels, each block of sums held in vector registers: for convolutions
of few input channels (an image's stem: the first layer of VGG16 and ResNet50).

There, im2col's GEMM has a short inner dimension (27 or 147 numbers per row for 3 input channels) at which BLAS
runs well below its peak, and building the columns costs nearly as much as the product. This kernel is the naive
loops (``conv_naive.py``) reordered so that the C_out sums of an output pixel are updated together, one tap at a
time::

    for each output pixel (n, oh, ow):
        acc[:] = bias                                                           C_out sums
        for each tap (kh, kw, c):
            acc += x[n, oh*sH + kh*dH, ow*sW + kw*dW, c] * w[kh, kw, c, :]     C_out contiguous weights
        out[n, oh, ow, :] = acc, then the residual, ReLU and the cap (the epilogue)

The speed comes from where ``acc`` lives. A few neighbouring pixels (``pixels_per_block``) share each tap's
weights, and their sums, a (pixels, BLOCK) block (4 x 64 float32 on AVX-512: sixteen 512-bit registers), sit in a
fixed-size buffer on the stack (``_stack_block``). Once the compiler has unrolled the loops over the block, every
index into it is a constant, and LLVM keeps the whole block in vector registers for the sum over all taps: each tap
then costs BLOCK/16 loads of weights, one broadcast of an input number per pixel and pixels*BLOCK/16 fused
multiply-adds. With the same loops on an ``np.empty`` accumulator (heap memory the compiler must assume the weights
may alias), every partial sum went back to memory and the kernel ran 5-10x slower. The same happens if LLVM vectorizes
with 256-bit registers, as it prefers to on Intel's AVX-512 processors (the block is then 32 ymm registers, all of
them spilled at each tap): the kernel asks for 512-bit vectors (``_stack_block``), and ResNet50's stem took 1.0 ms
instead of 1.9 on a 2-core Intel Xeon (family 6 model 167; 1.4-1.9 ms instead of 2.0 inside the network).

Measured on a 2-core AMD EPYC (Zen 5), 2 threads, alone: ResNet50's 7x7 stem 1.1-1.3 ms against 1.3-2.0 for
im2col (torch 0.6-0.8), VGG16's 3x3 stem 1.4-1.9 ms against 2.4-3.4; with Numba compiling for AVX2 (one pixel per
block) 1.8-1.9 against 2.2, and 2.2-3.5 against 3.1-3.9 (``auto`` measures which). Inside ResNet50 the stem took
1.3-1.6 ms instead of 2.0-2.4 (docs/performance.md).

Output channels beyond a multiple of BLOCK are computed against zero weights (``pack``) and not stored; a row
narrower than a block of pixels is computed a pixel at a time.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba import njit
from numba.core import cgutils
from numba.extending import intrinsic

from minicnn.kernels import NO_EPILOGUE, threads, zero_padded
from minicnn.kernels.conv_im2col import weight_cols

#: Output channels per block of sums. (With 32 or 16, LLVM unrolled the loop over the block before vectorizing it and
#: computed one number at a time: 10-15x slower.) A smaller C_out is computed against zero weights: ``auto`` measures
#: whether that pays.
BLOCK = 64
#: Output pixels (neighbours along a row) whose sums are computed together, sharing each tap's weights: as many as
#: keep the block of sums in registers with a few to spare, and enough independent sums to keep both FMA units busy
#: (an FMA's result is ready 4 cycles later). AVX-512: 4 pixels x 64 float32 = 16 of its 32 registers. AVX2: 1 pixel
#: = 8 of its 16 (with 4 pixels half of the sums went back to memory at every tap: ResNet50's stem 2.8 ms against 1.8,
#: measured with Numba compiling for Haswell on the Zen 5 EPYC).
PIXELS_AVX512, PIXELS_AVX2 = 4, 1


@functools.cache
def pixels_per_block() -> int:
    """PIXELS_AVX512 if Numba compiles for AVX-512, else PIXELS_AVX2. Numba's own rule (``numba.core.codegen``):
    the features in NUMBA_CPU_FEATURES if it is set, else the host's (without AVX if NUMBA_ENABLE_AVX=0)."""
    from numba.core import config
    from numba.core.codegen import get_host_cpu_features

    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return PIXELS_AVX512 if "+avx512f" in features.split(",") else PIXELS_AVX2


@intrinsic
def _stack_block(typingctx, like):
    """A pointer to PIXELS_AVX512*BLOCK numbers of ``like``'s dtype on the stack: an LLVM ``alloca`` of constant size
    in the function's entry block, what the compiler can turn into registers. Compiling for AVX-512, it also marks the
    calling function ``"prefer-vector-width"="512"`` (clang's ``-mprefer-vector-width=512``): LLVM's Intel targets
    otherwise vectorize with 256-bit registers, too few to hold the block."""
    dtype = like.dtype

    def codegen(context, builder, signature, args):
        if pixels_per_block() == PIXELS_AVX512:  # a string attribute, which llvmlite's add() does not know: set's
            try:  # (llvmlite's attribute set is a set subclass; should that change, the kernel is only slower)
                set.add(builder.function.attributes, '"prefer-vector-width"="512"')
            except TypeError:
                pass
        size = context.get_constant(numba.types.intp, PIXELS_AVX512 * BLOCK)
        return cgutils.alloca_once(builder, context.get_value_type(dtype), size=size)

    return numba.types.CPointer(dtype)(like), codegen


@functools.cache
def _kernel(pixels: int):
    """The loops for a (pixels, BLOCK) block of sums (``pixels_per_block()``, or 1 for narrow outputs): the block's
    sizes are constants of the machine code, what lets the compiler keep it in registers; the convolution's sizes
    are arguments. Compiled once per dtype, cached on disk."""

    @njit(nogil=True, fastmath={"contract"}, boundscheck=False, cache=True)
    def conv_rows(xp, w, offsets, KH, sH, dH, pixel_step, bias, residual, relu, cap, out, r0, r1):
        """Output rows r0 .. r1-1 (of the N*OH rows) of ``out`` (N, OH, OW, C_out), with the epilogue:
        ``min(relu(sums + bias + residual), cap)``. ``xp`` (N, H', W'*C): the zero-padded channels-last input;
        ``w`` (blocks, KH*KW*C, BLOCK): the weights (``pack``); ``offsets`` (KW*C,): where each (kw, c) of a
        kernel row is read, from output pixel 0's first number in an input row; ``pixel_step`` = sW*C: how far the
        next output pixel reads. ``bias`` (blocks*BLOCK,), zeros where there is none; ``residual`` (N, OH, OW,
        C_out), or empty for none; ``cap`` the upper clamp (infinity for none)."""
        N, OH, OW, C_out = out.shape
        taps_per_row = offsets.shape[0]
        add_residual = residual.size > 0
        low = 0.0 if relu else -np.inf
        acc = numba.carray(_stack_block(out), (pixels, BLOCK))
        for r in range(r0, r1):
            n, oh = r // OH, r % OH
            for b in range(w.shape[0]):
                bb = bias[b * BLOCK : (b + 1) * BLOCK]
                for ow in range(0, OW, pixels):
                    ow0 = min(ow, OW - pixels)  # the last block overlaps the one before: same sums written twice
                    for j in range(pixels):
                        for co in range(BLOCK):
                            acc[j, co] = bb[co]
                    for kh in range(KH):
                        row = xp[n, oh * sH + kh * dH]  # (W'*C,): one padded input row, channels innermost
                        for i in range(taps_per_row):
                            wt = w[b, kh * taps_per_row + i]  # (BLOCK,) contiguous: indexed by loop counters only
                            at = np.uint64(ow0 * pixel_step + offsets[i])  # unsigned: no check for negative indices
                            for j in range(pixels):
                                v = row[at + np.uint64(j * pixel_step)]
                                for co in range(BLOCK):
                                    acc[j, co] += v * wt[co]
                    co0 = b * BLOCK
                    m = min(BLOCK, C_out - co0)
                    for j in range(pixels):
                        o = out[n, oh, ow0 + j, co0 : co0 + m]
                        if add_residual:
                            res = residual[n, oh, ow0 + j, co0 : co0 + m]
                            for co in range(m):
                                acc[j, co] += res[co]
                        for co in range(m):  # selects, not branches: vectorized; a NaN stays NaN, as in torch
                            v = acc[j, co]
                            v = low if v < low else v
                            o[co] = cap if v > cap else v

    return conv_rows


def pack(weight):
    """The kernel's weights: (C_out, C_in, KH, KW) -> (blocks, KH*KW*C_in, BLOCK): block b, row t holds the weights
    of tap t (in (kh, kw, c) order, as ``weight_cols``) for output channels b*BLOCK .. (b+1)*BLOCK - 1, zeros beyond
    the last one. Each row is contiguous, indexed by a loop counter alone: a signed sum as index makes Numba check
    for negative indices on every element, and the compiler then gathers the weights one by one (15x slower)."""
    cols = weight_cols(weight)  # (taps, C_out)
    taps, C_out = cols.shape
    blocks = -(-C_out // BLOCK)
    padded = np.zeros((taps, blocks * BLOCK), weight.dtype)
    padded[:, :C_out] = cols
    return np.ascontiguousarray(padded.reshape(taps, blocks, BLOCK).transpose(1, 0, 2))


def conv2d_direct_cl(x, packed, spec, epilogue=NO_EPILOGUE):
    """conv2d by the register-blocked direct loops of ``_kernel``; groups 1.

    Shape: x (N, C_in, H, W), any memory layout (read as (N, H, W, C_in)); packed = ``pack(weight)``
    -> (N, C_out, OH, OW) stored as (N, OH, OW, C_out).
    """
    N, C = x.shape[:2]
    out = np.empty((N, spec.OH, spec.OW, spec.C_out), x.dtype)
    if out.size == 0:
        return out.transpose(0, 3, 1, 2)
    xp = zero_padded(x, spec.pads, reuse=True, channels_last=True).transpose(0, 2, 3, 1)  # (N, H', W', C)
    xp = xp.reshape(N, xp.shape[1], -1)  # (N, H', W'*C): a row of padded pixels, channels innermost (a view)
    kernel = _kernel(pixels_per_block() if spec.OW >= pixels_per_block() else 1)
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    offsets = (np.arange(spec.KW)[:, None] * dW * C + np.arange(C)).reshape(-1)  # (KW*C,) in (kw, c) order
    bias = np.zeros(packed.shape[0] * BLOCK, x.dtype)
    if epilogue.bias is not None:
        bias[: spec.C_out] = epilogue.bias
    residual = np.empty((0, 0, 0, 0), x.dtype)
    if epilogue.residual is not None:  # (N, OH, OW, C_out): a view of a channels-last residual, else a copy
        residual = np.ascontiguousarray(epilogue.residual.transpose(0, 2, 3, 1), dtype=x.dtype)
    cap = np.inf if epilogue.cap is None else epilogue.cap

    def rows_of(r0, r1):
        kernel(xp, packed, offsets, spec.KH, sH, dH, sW * C, bias, residual, epilogue.relu, cap, out, r0, r1)

    threads.over_range(rows_of, N * spec.OH)
    return out.transpose(0, 3, 1, 2)
