"""conv2d as one matrix product: im2col ("image to columns"), then GEMM.

Same result as ``conv_naive`` (notation in ``minicnn/kernels/__init__.py``). Each output pixel (oh, ow)
reads a receptive field of C_in*KH*KW input values. Copy every receptive field into one column of a
matrix and the whole convolution is a single matrix product::

    cols   = im2col(x)                          (N, C_in*KH*KW, OH*OW)   one column per output pixel
    weight.reshape(C_out, C_in*KH*KW) @ cols -> (N, C_out, OH*OW)        one row per output channel

With groups, the rows of ``cols`` that belong to group g are contiguous (channels are the outer index),
so the product splits into G independent GEMMs, batched by ``np.matmul``. The price is memory: ``cols``
is KH*KW times larger than the input (116 MB for VGG16's second layer at 224x224 in float32); the speed
comes from the GEMM, which BLAS runs near the machine's peak.

``conv2d_im2col_full`` is the readable version (the whole matrix); ``conv2d_im2col``, the one the
"im2col" algorithm runs, builds it a band of output rows at a time in a small reused buffer.
"""

from __future__ import annotations

import numpy as np

from minicnn.kernels import NO_EPILOGUE, conv_output_size, finish, finish_rows, threads, zero_padded
from minicnn.kernels.workspace import workspace


def im2col(x, kernel_size, stride, dilation):
    """Copy every receptive field of ``x`` into a column.

    Shape:
        x: (N, C, H, W) -> cols: (N, C*KH*KW, OH*OW), row index c*KH*KW + kh*KW + kw, column oh*OW + ow

    Built with KH*KW strided slice copies (one per kernel tap) rather than OH*OW small copies.
    """
    N, C, H, W = x.shape
    (KH, KW), (sH, sW), (dH, dW) = kernel_size, stride, dilation
    OH, OW = conv_output_size(H, KH, sH, dH), conv_output_size(W, KW, sW, dW)
    cols = np.empty((N, C, KH, KW, OH, OW), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            h0, w0 = kh * dH, kw * dW  # where tap (kh, kw) sits for output pixel (0, 0)
            cols[:, :, kh, kw] = x[:, :, h0 : h0 + sH * (OH - 1) + 1 : sH, w0 : w0 + sW * (OW - 1) + 1 : sW]
    return cols.reshape(N, C * KH * KW, OH * OW)


def im2col_batch(x, kernel_size, stride, dilation):
    """``im2col`` of a whole batch as one matrix, the images' columns side by side.

    The weight's gradient sums over images and pixels alike (``conv2d_backward``): with every column of the batch in
    one matrix it is one GEMM whose inner dimension is N*OH*OW, instead of one small GEMM per image and a sum.

    Shape:
        x: (N, C, H, W) -> cols: (C*KH*KW, N*OH*OW), row index c*KH*KW + kh*KW + kw, column n*OH*OW + oh*OW + ow
    """
    N, C, H, W = x.shape
    (KH, KW), (sH, sW), (dH, dW) = kernel_size, stride, dilation
    OH, OW = conv_output_size(H, KH, sH, dH), conv_output_size(W, KW, sW, dW)
    x = x.transpose(1, 0, 2, 3)  # (C, N, H, W), a view
    cols = np.empty((C, KH, KW, N, OH, OW), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            h0, w0 = kh * dH, kw * dW
            cols[:, kh, kw] = x[:, :, h0 : h0 + sH * (OH - 1) + 1 : sH, w0 : w0 + sW * (OW - 1) + 1 : sW]
    return cols.reshape(C * KH * KW, N * OH * OW)


def col2im_batch(cols, padded_shape, kernel_size, stride, dilation):
    """col2im, the adjoint of ``im2col_batch``: add every column back onto the pixels it was copied from.

    Where receptive fields overlap, a pixel was copied into several columns, so it receives the sum of their
    values: this is how the gradient of a convolution flows back to its input (``conv2d_backward``).

    Shape:
        cols: (C*KH*KW, N*OH*OW) -> (N, C, H, W), with (H, W) = ``padded_shape[2:]``
    """
    N, C, H, W = padded_shape
    (KH, KW), (sH, sW), (dH, dW) = kernel_size, stride, dilation
    OH, OW = conv_output_size(H, KH, sH, dH), conv_output_size(W, KW, sW, dW)
    cols = cols.reshape(C, KH, KW, N, OH, OW)
    x = np.zeros(padded_shape, dtype=cols.dtype)
    x_t = x.transpose(1, 0, 2, 3)  # (C, N, H, W), a view of x
    for kh in range(KH):
        for kw in range(KW):
            h0, w0 = kh * dH, kw * dW
            x_t[:, :, h0 : h0 + sH * (OH - 1) + 1 : sH, w0 : w0 + sW * (OW - 1) + 1 : sW] += cols[:, kh, kw]
    return x


def conv2d_im2col_full(x, weight, spec, epilogue=NO_EPILOGUE):
    """conv2d as im2col then one GEMM per (image, group): the readable version, the whole matrix at once.

    Shape: x (N, C_in, H, W); weight (C_out, C_in // groups, KH, KW) -> (N, C_out, OH, OW)
    """
    N, G, K, P = spec.N, spec.groups, spec.C_in_g * spec.KH * spec.KW, spec.OH * spec.OW
    x = zero_padded(x, spec.pads)  # (N, C_in, H + top + bottom, W + left + right)
    cols = im2col(x, (spec.KH, spec.KW), spec.stride, spec.dilation)  # (N, C_in*KH*KW, OH*OW)
    cols = cols.reshape(N, G, K, P)  # (N, G, C_in_g*KH*KW, OH*OW)
    w = weight.reshape(G, spec.C_out_g, K)  # (G, C_out_g, C_in_g*KH*KW)
    out = np.matmul(w, cols)  # (N, G, C_out_g, OH*OW)
    return finish(out.reshape(spec.out_shape), epilogue)


#: The column matrix is built this many elements at a time (4 MB of float32: it stays in cache and is reused).
WORKSPACE_ELEMENTS = 1 << 20
#: Channels-last im2col splits a layer's rows between threads only if each thread gets this many output pixels.
MIN_THREAD_PIXELS = 256
#: Channels-last im2col runs one GEMM per kernel row (see conv2d_im2col_cl) when a kernel row holds at least this
#: many input numbers (KW*C_in): every 3x3 layer of VGG16 and ResNet50 but the first (4-16% faster than full columns).
KERNEL_ROW_GEMM_MIN = 128
#: Channels-last im2col shares its bands between minicnn's threads only for inputs of at least this many channels. An
#: image stem (3 channels: GEMMs with K = 27 or 147 columns and 64 outputs) runs faster as one band after another on
#: BLAS's threads: ResNet50's 7x7 stem 6.7 ms against 10.3 split, VGG16's 3x3 stem 11.7 ms against 15.9 (medians,
#: AMD EPYC with AVX2 only; ResNet50's optimize 5% faster in one process, VGG16 and EfficientNet-Lite0 unchanged).
SPLIT_MIN_CHANNELS = 8


def conv2d_im2col(x, weight, spec, epilogue=NO_EPILOGUE):
    """conv2d as im2col + GEMM with a bounded workspace: ``conv2d_im2col_full`` a band of output rows at a time.

    The full column matrix of VGG16's conv1_2 is 116 MB, written to memory and read back by the GEMM. Here
    the columns of a few output rows at a time (at most WORKSPACE_ELEMENTS) are built into a reused buffer
    that stays in cache, and the GEMM writes its (C_out, rows*OW) block straight into the NCHW output
    (a strided view: no transpose, no copy). Bias and, if asked, ReLU are applied to the block while it is
    still in cache. As in ``conv2d_im2col_cl``, the bands are shared between minicnn's threads, each building
    its columns in its own buffer and calling a one-threaded GEMM (a small layer stays on BLAS's threads).

    Shape: as ``conv2d_im2col_full``.
    """
    x = zero_padded(x, spec.pads, reuse=True)  # (N, C_in, H', W'), C-contiguous, in a reused buffer
    N, C = x.shape[:2]
    C_out, C_in_g, KH, KW, OH, OW, groups = spec.C_out, spec.C_in_g, spec.KH, spec.KW, spec.OH, spec.OW, spec.groups
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    bias, relu = epilogue.bias, epilogue.relu and epilogue.residual is None  # a residual comes before the ReLU
    cap = epilogue.cap if epilogue.residual is None else None
    K = C_in_g * KH * KW  # rows of the column matrix per group
    out = np.empty(spec.out_shape, dtype=x.dtype)
    if out.size == 0:
        return out
    rows = max(1, min(OH, WORKSPACE_ELEMENTS // max(1, C * KH * KW * OW)))  # output rows per band
    t = threads.count()
    split = t > 1 and N * OH * OW >= MIN_THREAD_PIXELS * t and threads.blas_controllable()
    if split and N == 1:  # as many bands for every thread
        rows = -(-OH // (-(-OH // (rows * t)) * t))
    w = weight.reshape(groups, C_out // groups, K)  # (G, C_out_g, K)
    b = None if bias is None else bias.reshape(groups, C_out // groups, 1)

    def band(job):
        n, oh0, r = job
        cols = workspace("im2col columns", (C, KH, KW, r, OW), x.dtype)  # this thread's buffer
        h0 = oh0 * sH
        for kh in range(KH):
            for kw in range(KW):
                hs, ws = h0 + kh * dH, kw * dW
                cols[:, kh, kw] = x[n, :, hs : hs + sH * (r - 1) + 1 : sH, ws : ws + sW * (OW - 1) + 1 : sW]
        out_n = out[n].reshape(groups, C_out // groups, OH * OW)  # (G, C_out_g, OH*OW), a view of out
        block = out_n[:, :, oh0 * OW : (oh0 + r) * OW]  # (G, C_out_g, r*OW)
        np.matmul(w, cols.reshape(groups, K, r * OW), out=block)
        if b is not None:
            block += b
        if relu:
            np.maximum(block, 0, out=block)
        if cap is not None:
            np.minimum(block, cap, out=block)

    jobs = [(n, oh0, min(rows, OH - oh0)) for n in range(N) for oh0 in range(0, OH, rows)]
    if split and len(jobs) >= t:  # bands on every thread, each with a one-threaded GEMM (as conv2d_im2col_cl)
        with threads.one_blas_thread():
            threads.share(band, jobs)
    else:
        for job in jobs:
            band(job)
    if epilogue.residual is not None:
        finish(out, epilogue._replace(bias=None))
    return out


def conv2d_pointwise(x, weight, spec, epilogue=NO_EPILOGUE):
    """A 1x1 ("pointwise") convolution is a plain GEMM: the input already is the column matrix.

    Each output pixel reads one input pixel, so im2col would copy ``x`` unchanged; a stride only
    subsamples the pixels first. Requires groups == 1 and KH == KW == 1 (dilation does not matter).

    Shape: x (N, C_in, H, W) -> (N, C_out, OH, OW) = weight (C_out, C_in) @ x (N, C_in, OH*OW)
    """
    x = zero_padded(x, spec.pads) if any(spec.pads) else x
    x = x[:, :, :: spec.stride[0], :: spec.stride[1]]  # (N, C_in, OH, OW)
    N, C_in, OH, OW = x.shape
    out = np.matmul(weight.reshape(spec.C_out, C_in), x.reshape(N, C_in, OH * OW))  # (N, C_out, OH*OW)
    return finish(out.reshape(spec.out_shape), epilogue)


def weight_cols(weight):
    """The GEMM's right-hand side for channels-last columns: (C_out, C_in, KH, KW) -> (KH*KW*C_in, C_out), rows
    in (kh, kw, c) order. A free view of a channels-last weight (``model.to(memory_format=channels_last)``),
    else a copy."""
    C_out, C_in, KH, KW = weight.shape
    w_cl = weight.transpose(0, 2, 3, 1)  # (C_out, KH, KW, C_in)
    if not w_cl.flags.c_contiguous:
        w_cl = np.ascontiguousarray(w_cl)
    return w_cl.reshape(C_out, KH * KW * C_in).T


def conv2d_im2col_cl(x, weight_cols, spec, epilogue=NO_EPILOGUE):
    """im2col + GEMM for channels-last activations (groups 1): the output comes out channels-last, no transposes.

    With the C values of a pixel contiguous, a receptive field is KH*KW runs of C contiguous numbers, so the
    column matrix has one *row* per output pixel, its taps in (kh, kw, c) order. The GEMM then gives one row
    of C_out numbers per pixel: exactly the channels-last output, written in place band by band (bias and ReLU
    applied while it is in cache)::

        cols (rows*OW, KH*KW*C_in) @ weight_cols (KH*KW*C_in, C_out) -> out[n, rows, :, :] (rows*OW, C_out)

    Each band first copies the input rows it reads, zero-padded, into a small buffer (no padded copy of the
    whole input, made by one thread before the others can start). With stride 1 along H, long kernel rows
    (KW*C_in >= KERNEL_ROW_GEMM_MIN) and bands shared between threads, a band builds only the fields of one
    kernel row, ``fields[i, ow]`` = the KW*C_in numbers that kernel row reads in padded input row i, and sums
    KH GEMMs over shifted views of it::

        out[oh0 + i, ow] = sum_kh fields[i + kh*dH, ow] @ w[kh]      w = weight_cols.reshape(KH, KW*C_in, C_out)

    Up to KH times less copying than the full columns (r + (KH-1)*dH rows of fields for r output rows, band row
    oh0 + i reading fields rows i .. i + (KH-1)*dH), and up to KH times more output rows from the same workspace:
    for VGG16's 256- and 512-channel layers a GEMM of a few hundred rows packed the whole weight matrix for them.
    (A layer too small to split runs one GEMM on BLAS's threads: KH of them, each waking the threads, cost more.)

    Bands run on minicnn's threads at once, each building its own columns and calling a one-threaded GEMM
    (NumPy copies run on one core, so building the columns in one thread while the other waits would leave
    half the machine idle). A small layer (fewer than MIN_THREAD_PIXELS output pixels per thread) runs its
    bands one after the other with BLAS's own threads instead: a GEMM of a hundred rows is too small for one
    core to run well (VGG16's 512 channels at 14x14: 2.8 ms split by rows, 2.5 ms as one GEMM). So does an image
    stem (fewer than SPLIT_MIN_CHANNELS input channels): its one-threaded GEMMs of 27 or 147 columns ran slower
    side by side.

    Shape: x (N, C_in, H, W), any memory layout (read as (N, H, W, C_in): no copy if it is channels-last);
    weight_cols = ``weight_cols(weight)`` (KH*KW*C_in, C_out); groups 1 -> (N, C_out, OH, OW) stored as
    (N, OH, OW, C_out).
    """
    x = x.transpose(0, 2, 3, 1)  # (N, H, W, C_in), a view
    N, H, W, C = x.shape
    (KH, KW), (sH, sW), (dH, dW), padding = (spec.KH, spec.KW), spec.stride, spec.dilation, spec.pads
    OH, OW, C_out = spec.OH, spec.OW, spec.C_out
    residual = None if epilogue.residual is None else epilogue.residual.transpose(0, 2, 3, 1)  # (N, OH, OW, C_out)
    out = np.empty((N, OH, OW, C_out), dtype=x.dtype)
    t = threads.count()
    split = t > 1 and N * OH * OW >= MIN_THREAD_PIXELS * t and C >= SPLIT_MIN_CHANNELS and threads.blas_controllable()
    by_kernel_row = split and sH == 1 and KH > 1 and KW * C >= KERNEL_ROW_GEMM_MIN
    if by_kernel_row:  # output rows per band, at most: their fields, (KH-1)*dH rows of halo included, fill it
        rows = WORKSPACE_ELEMENTS // max(1, KW * C * OW) - (KH - 1) * dH
    else:
        rows = WORKSPACE_ELEMENTS // max(1, KH * KW * C * OW)
    rows = max(1, min(OH, rows))
    if split and N == 1:  # as many bands for every thread (7 bands on 2 threads: the last one does 4, one waits)
        per_thread = -(-OH // (rows * t))
        rows = -(-OH // (per_thread * t))
    bands = [(n, oh0, min(rows, OH - oh0)) for n in range(N) for oh0 in range(0, OH, rows)]

    def run(band):
        n, oh0, r = band
        xb = _padded_rows(x[n], oh0 * sH, oh0 * sH + sH * (r - 1) + dH * (KH - 1) + 1, padding)
        block = out[n, oh0 : oh0 + r].reshape(r * OW, C_out)  # a view: the GEMMs write the output in place
        if by_kernel_row:
            _gemm_by_kernel_row(xb, r, OW, (KH, KW), sW, (dH, dW), weight_cols, block)
        else:
            cols = workspace("im2col cl columns", (r, OW, KH, KW, C), x.dtype)
            _receptive_fields(xb, (KH, KW), (sH, sW), (dH, dW), cols)
            np.matmul(cols.reshape(r * OW, KH * KW * C), weight_cols, out=block)
        res = None if residual is None else residual[n, oh0 : oh0 + r].reshape(r * OW, C_out)
        finish_rows(block, epilogue, res)  # bias, residual and ReLU while the block is in cache

    if not split or len(bands) < t:
        for band in bands:
            run(band)
    else:
        with threads.one_blas_thread():
            threads.share(run, bands)
    return out.transpose(0, 3, 1, 2)


def _padded_rows(x, h0, h1, padding):
    """Rows h0 .. h1-1 of ``x`` (H, W, C) zero-padded by ``padding``, counted in padded coordinates: a
    (h1 - h0, W + left + right, C) array in this thread's buffer, valid until this thread's next call (``x``
    itself, sliced, when nothing is padded)."""
    top, bottom, left, right = padding
    H, W, C = x.shape
    if not (top or bottom or left or right):
        return x[h0:h1]
    xb = workspace("im2col cl input rows", (h1 - h0, W + left + right, C), x.dtype)
    i0 = min(max(top - h0, 0), h1 - h0)  # rows i0 .. i1-1 of xb hold rows of x (none if the band is all padding)
    i1 = max(min(top + H - h0, h1 - h0), i0)
    xb[:i0], xb[i1:], xb[i0:i1, :left], xb[i0:i1, left + W :] = 0, 0, 0, 0
    xb[i0:i1, left : left + W] = x[h0 + i0 - top : h0 + i1 - top]
    return xb


def _receptive_fields(x, kernel_size, stride, dilation, cols):
    """``cols[oh, ow, kh, kw] = x[oh*sH + kh*dH, ow*sW + kw*dW]``: the receptive field of every output pixel of
    the input rows ``x`` (H', W', C), copied into ``cols`` (OH', OW', KH, KW, C).

    Without dilation along W the KW taps of a kernel row are neighbours, KW*C contiguous numbers, so the whole
    copy is one strided (OH', OW', KH, KW*C) view of ``x`` (``as_strided``): long runs instead of KH*KW copies of
    C numbers (for ResNet50's 7x7 stem on 3 channels, runs of 21 numbers instead of 3: 2x faster).
    """
    (KH, KW), (sH, sW), (dH, dW) = kernel_size, stride, dilation
    OH, OW, C = cols.shape[0], cols.shape[1], x.shape[2]
    sx_h, sx_w, sx_c = x.strides
    if dW == 1 and sx_w == C * sx_c:
        shape, strides = (OH, OW, KH, KW * C), (sH * sx_h, sW * sx_w, dH * sx_h, sx_c)
        cols[...] = np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False).reshape(OH, OW, KH, KW, C)
    else:
        for kh in range(KH):
            for kw in range(KW):
                h, w = kh * dH, kw * dW
                cols[:, :, kh, kw] = x[h : h + sH * (OH - 1) + 1 : sH, w : w + sW * (OW - 1) + 1 : sW]


def _gemm_by_kernel_row(xb, r, OW, kernel_size, sW, dilation, weight_cols, block):
    """``block`` (r*OW, C_out) = the convolution of input rows ``xb`` (r + (KH-1)*dH, W', C), stride 1 along H,
    as KH GEMMs: the fields of one kernel row in every input row, built once, then for each kh the r rows
    starting at kh*dH, a contiguous (r*OW, KW*C) matrix, times that kernel row's weights (KW*C, C_out)."""
    (KH, KW), (dH, dW) = kernel_size, dilation
    R, _, C = xb.shape
    C_out = block.shape[1]
    fields = workspace("im2col cl kernel-row fields", (R, OW, 1, KW, C), xb.dtype)
    _receptive_fields(xb, (1, KW), (1, sW), (1, dW), fields)  # the receptive fields of a 1 x KW kernel
    fields = fields.reshape(R, OW, KW * C)
    w = weight_cols.reshape(KH, KW * C, C_out)  # rows of weight_cols are in (kh, kw, c) order
    partial = workspace("im2col cl partial sums", (r * OW, C_out), block.dtype)
    np.matmul(fields[:r].reshape(r * OW, KW * C), w[0], out=block)
    for kh in range(1, KH):
        np.matmul(fields[kh * dH : kh * dH + r].reshape(r * OW, KW * C), w[kh], out=partial)
        block += partial


def conv2d_pointwise_cl(x, weight_cols, spec, epilogue=NO_EPILOGUE):
    """A 1x1 convolution of a channels-last input: one GEMM (pixels, C_in) @ (C_in, C_out), no copy.

    Shape: x (N, C_in, H, W) stored as (N, H, W, C_in) (another layout is copied); weight_cols = ``weight_cols(weight)``
    (C_in, C_out) -> (N, C_out, OH, OW) stored as (N, OH, OW, C_out). Bias, the residual and ReLU in one pass after
    the GEMM (``finish_rows``). A large output with few input channels (EfficientNet's first layers: K = 16 to 32,
    the GEMM as fast as memory) is computed in bands of pixels shared between the threads, each band's epilogue
    applied while its block is in cache rather than in a second pass over the whole output.
    """
    x = zero_padded(x, spec.pads) if any(spec.pads) else x
    x_cl = x.transpose(0, 2, 3, 1)[:, :: spec.stride[0], :: spec.stride[1]]  # (N, OH, OW, C_in), a view
    N, OH, OW, C_in = x_cl.shape
    C_out, P = spec.C_out, N * OH * OW
    pixels = x_cl.reshape(P, C_in)  # copied only if strided
    res = None if epilogue.residual is None else epilogue.residual.transpose(0, 2, 3, 1).reshape(P, C_out)
    t = threads.count()
    if t > 1 and P * C_out >= POINTWISE_BAND_OUTPUTS and C_in <= POINTWISE_BAND_MAX_K and threads.blas_controllable():
        out = np.empty((P, C_out), x.dtype)
        step = -(-P // (4 * t))  # four bands per thread

        def band(p0):
            block = out[p0 : p0 + step]
            np.matmul(pixels[p0 : p0 + step], weight_cols, out=block)
            finish_rows(block, epilogue, None if res is None else res[p0 : p0 + step])

        with threads.one_blas_thread():
            threads.share(band, range(0, P, step))
    else:
        out = np.matmul(pixels, weight_cols)
        finish_rows(out, epilogue, res)
    return out.reshape(N, OH, OW, C_out).transpose(0, 3, 1, 2)


#: Channels-last 1x1 convolutions with at least this many outputs and at most POINTWISE_BAND_MAX_K input channels run
#: in bands (see conv2d_pointwise_cl): EfficientNet-Lite0 1% faster on AVX-512, 6% capped at AVX2; ResNet50's 1x1
#: layers on 64 channels measured no faster.
POINTWISE_BAND_OUTPUTS = 1 << 18
POINTWISE_BAND_MAX_K = 32
