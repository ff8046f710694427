"""The fast kernels against their readable twins and torch: Winograd, bounded and channels-last im2col, the
compiled loops, worker threads, the fused epilogue, and the measuring "auto" with its cache."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.functional as F
from minicnn import specs
from minicnn.functional import _autotune
from minicnn.kernels import NO_EPILOGUE, Epilogue, conv_im2col
from minicnn.kernels.registry import ALGORITHMS
from minicnn.testing import assert_close
from reference.functional import torch_op
from tests.strategies import DTYPES, conv_cases, make_array


def spec_of(x, w, stride=1, padding=0, dilation=1, groups=1, b=None):
    return specs.conv2d(x, w, b, stride, padding, dilation, groups)


def channels_last(a):
    """The same values stored pixel by pixel (memory order N, H, W, C), as torch.channels_last."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@st.composite
def winograd_cases(draw):
    """3x3, stride 1: the shapes Winograd computes, with any (also asymmetric) padding and odd sizes."""
    dtype = draw(st.sampled_from(DTYPES))
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))  # (left, right, top, bottom)
    h = draw(st.integers(max(1, 3 - pads[2] - pads[3]), 13))
    w = draw(st.integers(max(1, 3 - pads[0] - pads[1]), 13))
    seed = draw(st.integers(0, 2**32 - 1))
    x = make_array(seed, (n, c_in, h, w), dtype)
    weight = make_array(seed + 1, (c_out, c_in, 3, 3), dtype)
    bias = make_array(seed + 2, (c_out,), dtype) if draw(st.booleans()) else None
    return x, weight, bias, pads


@pytest.mark.parametrize("algorithm", ["winograd2", "winograd4", "winograd4_cl", "winograd2_cl"])
@given(case=winograd_cases(), relu=st.booleans(), residual=st.booleans())
def test_winograd_kernels_and_their_epilogue_match_torch(algorithm, case, relu, residual):
    """Each Winograd kernel, called through the registry with bias, residual and ReLU in its epilogue."""
    x, w, b, pads = case
    spec = spec_of(x, w, padding=pads, b=b)
    ref = torch_op("conv2d", x, w, b, padding=pads, float64=True)
    res = make_array(3, ref.shape, x.dtype) if residual else None
    expected = ref + (0 if res is None else res)
    expected = np.maximum(expected, 0) if relu else expected
    got = ALGORITHMS[algorithm].run(x, w, spec, Epilogue(b, relu, res))
    scale = torch_op("conv2d", np.abs(x), np.abs(w), None if b is None else np.abs(b), padding=pads, float64=True)
    scale = max(scale.max(), 1.0 if res is None else np.abs(res).max())
    assert_close(got, expected, kind=ALGORITHMS[algorithm].tolerance, dtype=x.dtype, scale=scale)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("with_nan", [False, True])
def test_every_algorithm_applies_relu6s_cap_in_its_epilogue(algorithm, residual, with_nan):
    """Epilogue(cap=6.0) with relu is ReLU6 (minicnn.optimize fuses EfficientNet's), after the bias and the residual,
    in every kernel, NumPy and compiled epilogues alike, either memory layout; a NaN stays NaN, as in torch."""
    a = ALGORITHMS[algorithm]
    x = 4 * make_array(31, (2, 4, 9, 9), np.float64)  # sums well beyond 6 and below 0
    if with_nan:  # (Winograd then computes the layer by im2col: a NaN would spread through its transforms)
        x[0, :, 4, 4] = np.nan
    b = make_array(33, (4,), np.float64)
    for kernel, groups in (((3, 3), 1), ((1, 1), 1), ((3, 3), 4)):  # the first of these shapes it computes
        w = make_array(32, (4, 4 // groups, *kernel), np.float64)
        padding = kernel[0] // 2
        spec = spec_of(x, w, padding=padding, groups=groups, b=b)
        if a.applies(spec):
            break
    ref = torch_op("conv2d", x, w, b, padding=padding, groups=groups, float64=True)
    res = make_array(34, ref.shape, np.float64) if residual else None
    sums = ref + (0 if res is None else res)
    expected = np.clip(sums, 0, 6)
    assert np.isnan(expected).any() == with_nan and (expected == 6).any() and (expected == 0).any()
    for fast in (False, True):
        for xi in (x, channels_last(x)):
            for relu, want in ((True, expected), (False, np.minimum(sums, 6))):  # a cap alone clamps only above
                got = a.run(xi, w, spec, Epilogue(b, relu, res, fast, cap=6.0))
                np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
                assert_close(np.nan_to_num(got), np.nan_to_num(want), kind=a.tolerance, dtype=np.float64)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("cl_layout", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_layout", ["contiguous", "channels_last", "flipped view"])
def test_winograd_kernel_transform_is_g_g_gt_for_every_kernel(m, cl_layout, dtype, weight_layout):
    """The one-GEMM transform (Kronecker product G (x) G) equals G g G^T computed kernel by kernel in float64, in
    both layouts, in the weight's dtype, for a contiguous weight, a channels-last one and a strided view, over several
    blocks of kernels (the last one partial)."""
    from minicnn.kernels.winograd import MATRICES, kernel_transform

    G = MATRICES[m][1]
    t = m + 2
    w = make_array(3, (7, 2500, 3, 3), dtype)
    if weight_layout == "channels_last":
        w = channels_last(w)
    elif weight_layout == "flipped view":
        w = w[:, ::-1, ::-1]
    got = kernel_transform(G, w, channels_last=cl_layout)
    want = np.einsum("ik,ockl,jl->ijoc", G, w.astype(np.float64), G).reshape(t * t, *w.shape[:2])  # (t*t, C_out, C_in)
    if cl_layout:
        want = want.transpose(0, 2, 1)
    assert got.shape == want.shape and got.dtype == w.dtype
    tol = 1e-12 if dtype == np.float64 else 1e-6  # float64 sums, rounded once to the weight's dtype
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_winograd_kernel_transform_of_a_layer_without_input_channels():
    from minicnn.kernels.winograd import G4, kernel_transform

    w = np.zeros((4, 0, 3, 3), np.float32)
    assert kernel_transform(G4, w).shape == (36, 4, 0)
    assert kernel_transform(G4, w, channels_last=True).shape == (36, 0, 4)


def test_winograd_on_vgg16_shaped_layers_within_its_tolerance():
    """Float32 error of F(4x4) and F(2x2) on wide layers (K = 9*C_in up to 2304), against float64."""
    for c_in, size in ((64, 28), (256, 14)):
        x, w = make_array(1, (1, c_in, size, size), np.float32), make_array(2, (32, c_in, 3, 3), np.float32) * 0.05
        ref = torch_op("conv2d", x, w, padding=1, float64=True)
        scale = torch_op("conv2d", np.abs(x), np.abs(w), padding=1, float64=True).max()
        for algorithm in ("winograd2", "winograd4", "winograd4_cl", "winograd2_cl"):
            got = F.conv2d(x, w, padding=1, algorithm=algorithm)
            assert_close(got, ref, kind=ALGORITHMS[algorithm].tolerance, dtype=np.float32, scale=scale)


def test_an_algorithm_asked_for_a_shape_it_does_not_cover_runs_the_default_rule():
    """Winograd asked for a 1x1 or strided conv: the default rule's kernel computes it (the same sums)."""
    x = make_array(3, (1, 4, 9, 9), np.float64)
    for w, kwargs in ((make_array(4, (6, 4, 1, 1), np.float64), {}), (make_array(5, (6, 4, 3, 3), np.float64),
                                                                       dict(stride=2))):  # fmt: skip
        for algorithm in ("winograd2", "winograd4", "winograd4_cl", "winograd2_cl", "pointwise", "depthwise"):
            np.testing.assert_array_equal(F.conv2d(x, w, algorithm=algorithm, **kwargs),
                                          F.conv2d(x, w, algorithm="default", **kwargs))  # fmt: skip


@pytest.mark.parametrize("algorithm", ["winograd2", "winograd4", "winograd4_cl", "winograd2_cl"])
def test_winograd_falls_back_to_direct_sums_for_infinite_inputs(algorithm):
    """inf - inf is NaN inside Winograd's transforms; torch's direct sums give +-inf: so does minicnn."""
    x, w = make_array(13, (1, 8, 12, 12), np.float32), make_array(14, (8, 8, 3, 3), np.float32)
    x[0, 3, 5, 5] = -np.inf
    ref = torch_op("conv2d", x, w, padding=1)
    for xi in (x, channels_last(x)):
        got = F.conv2d(xi, w, padding=1, algorithm=algorithm)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
        assert not np.isnan(got).any()


@pytest.mark.parametrize(
    "threads, max_band, min_band, shared_u_bytes",
    [(1, 256, 32, 1 << 24), (2, 5, 2, 1 << 24), (2, 256, 1000, 1 << 24), (2, 256, 2, 0), (3, 4, 2, 1 << 24)],
)
def test_winograd_channels_last_work_splits_agree(monkeypatch, threads, max_band, min_band, shared_u_bytes):
    """One thread; many bands over two or three threads (BLAS set to one thread); few tiles, or few for large
    weights (SHARED_U_BYTES): GEMMs split by position."""
    from minicnn.kernels import threads as worker_threads
    from minicnn.kernels import winograd_cl

    monkeypatch.setattr(worker_threads, "count", lambda: threads)
    monkeypatch.setattr(winograd_cl, "MAX_BAND_TILES", max_band)
    monkeypatch.setattr(winograd_cl, "MIN_BAND_TILES", min_band)
    monkeypatch.setattr(winograd_cl, "SHARED_U_BYTES", shared_u_bytes)
    x, w, b = make_array(11, (3, 7, 13, 10), np.float64), make_array(12, (4, 7, 3, 3), np.float64), np.arange(4.0)
    pads = (1, 1, 2, 0)  # (left, right, top, bottom)
    spec = spec_of(x, w, padding=pads, b=b)
    ref = torch_op("conv2d", x, w, b, padding=pads, float64=True)
    for kernel, pack, kind in ((winograd_cl.conv2d_winograd4_cl, winograd_cl.pack_cl, "winograd4"),
                               (winograd_cl.conv2d_winograd2_cl, winograd_cl.pack_cl2, "winograd2")):  # fmt: skip
        got = kernel(channels_last(x), pack(w), spec, Epilogue(b, relu=True))
        assert_close(got, np.maximum(ref, 0), kind=kind, dtype=np.float64)
        assert got.transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize(
    "threads, max_band, min_band, shared_u_bytes", [(1, 256, 32, 1 << 24), (2, 5, 2, 1 << 24), (2, 256, 2, 0)]
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_cl_max_pool_is_the_layer_then_the_pooling(monkeypatch, threads, max_band, min_band, shared_u_bytes,
                                                            dtype):  # fmt: skip
    """The pooled output transforms (``conv2d_winograd4_cl_max_pool``, F(2x2)'s too; ``minicnn.optimize`` fuses a
    MaxPool2d(2, 2) so): exactly ``max_pool2d_cl`` of the same kernel's output, odd sizes dropping the last row or
    column as torch, ReLU or not, every way the work is split; a residual is refused; an infinite input gives torch's
    infinities (the layer by direct summation, then the pooling)."""
    from minicnn.kernels import threads as worker_threads
    from minicnn.kernels import winograd_cl
    from minicnn.kernels.pooling_numba import max_pool2d_cl

    monkeypatch.setattr(worker_threads, "count", lambda: threads)
    monkeypatch.setattr(winograd_cl, "MAX_BAND_TILES", max_band)
    monkeypatch.setattr(winograd_cl, "MIN_BAND_TILES", min_band)
    monkeypatch.setattr(winograd_cl, "SHARED_U_BYTES", shared_u_bytes)
    pooling = winograd_cl.MAX_POOLED
    pairs = [(winograd_cl.conv2d_winograd4_cl, pooling["winograd4_cl"], winograd_cl.pack_cl),
             (winograd_cl.conv2d_winograd2_cl, pooling["winograd2_cl"], winograd_cl.pack_cl2)]  # fmt: skip
    for shape in [(2, 5, 13, 11), (1, 6, 12, 12), (1, 3, 2, 3)]:
        x, w = channels_last(make_array(21, shape, dtype)), make_array(22, (7, shape[1], 3, 3), dtype)
        b = make_array(23, (7,), dtype)
        spec = spec_of(x, w, padding=1, b=b)
        for relu in (True, False):
            for layer, pooled, pack in pairs:
                full = layer(x, pack(w), spec, Epilogue(b, relu=relu))
                ref = max_pool2d_cl(full, specs.pool2d("max_pool2d", full, 2, 2, 0, 1, False))
                got = pooled(x, pack(w), spec, Epilogue(b, relu=relu))
                assert got.shape == (shape[0], 7, shape[2] // 2, shape[3] // 2) and np.array_equal(got, ref)
                assert got.transpose(0, 2, 3, 1).flags.c_contiguous
    with pytest.raises(ValueError, match="bias and ReLU only"):
        pairs[0][1](x, pairs[0][2](w), spec, Epilogue(b, residual=np.zeros(spec.out_shape, dtype)))
    x = make_array(24, (1, 4, 12, 12), dtype)
    x[0, 1, 5, 6] = np.inf
    w = make_array(25, (4, 4, 3, 3), dtype)
    ref = torch_op("max_pool2d", torch_op("conv2d", x, w, padding=1), 2, 2)
    for _, pooled, pack in pairs:
        got = pooled(channels_last(x), pack(w), spec_of(x, w, padding=1), NO_EPILOGUE)
        assert np.array_equal(np.isinf(got), np.isinf(ref)) and np.isinf(got).any() and not np.isnan(got).any()


def test_pointwise_cl_in_bands_equals_one_gemm(monkeypatch):
    """A 1x1 convolution of few input channels in bands over two threads, each band's epilogue (bias, residual,
    ReLU6) in cache: the numbers of one GEMM and one epilogue pass."""
    from minicnn.kernels import threads as worker_threads

    x, w, b = make_array(51, (2, 5, 9, 7), np.float64), make_array(52, (6, 5, 1, 1), np.float64), np.arange(6.0)
    spec = spec_of(x, w, b=b)
    res = make_array(53, spec.out_shape, np.float64)
    kernel, weight = ALGORITHMS["pointwise_cl"].kernel, conv_im2col.weight_cols(w)
    for fast in (False, True):
        epilogue = Epilogue(b, True, res, fast, cap=0.5)
        one = conv_im2col.conv2d_pointwise_cl(channels_last(x), weight, spec, epilogue)
        bands = []

        def share(fn, items, bands=bands, share=worker_threads.share):  # the real share, the bands recorded
            bands.extend(items)
            share(fn, bands)

        with monkeypatch.context() as m:
            m.setattr(worker_threads, "count", lambda: 2)
            m.setattr(conv_im2col, "POINTWISE_BAND_OUTPUTS", 1)
            m.setattr(worker_threads, "share", share)
            banded = conv_im2col.conv2d_pointwise_cl(channels_last(x), weight, spec, epilogue)
        assert kernel.endswith("conv2d_pointwise_cl") and len(bands) > 1  # the banded path ran
        np.testing.assert_allclose(banded, one, rtol=1e-14, atol=1e-14)
        assert banded.transpose(0, 2, 3, 1).flags.c_contiguous


def test_bounded_im2col_equals_the_readable_full_matrix(monkeypatch):
    """Many small bands (a tiny workspace) give the full-matrix result exactly: same sums, same order."""
    x, w, b = make_array(4, (2, 6, 11, 9), np.float64), make_array(5, (4, 3, 3, 2), np.float64), np.arange(4.0)
    spec = spec_of(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    full = conv_im2col.conv2d_im2col_full(x, w, spec, Epilogue(b))
    monkeypatch.setattr(conv_im2col, "WORKSPACE_ELEMENTS", 50)  # one output row per band
    np.testing.assert_allclose(conv_im2col.conv2d_im2col(x, w, spec, Epilogue(b)), full, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("by_kernel_row", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("stride, dilation", [((1, 1), (1, 1)), ((2, 3), (1, 1)), ((1, 2), (2, 1)), ((1, 1), (1, 2))])
def test_channels_last_im2col_bands_equal_the_readable_full_matrix(
    monkeypatch, threads, stride, dilation, by_kernel_row
):
    """Channels-last im2col, in many bands run on one or two threads, each padding its own input rows, with
    kernel rows copied whole (no dilation along W) or tap by tap, as full columns or one GEMM per kernel row
    (stride 1 along H only): the full-matrix result, to rounding (the GEMM sums in its own order)."""
    from minicnn.kernels import threads as worker_threads

    monkeypatch.setattr(worker_threads, "count", lambda: threads)
    monkeypatch.setattr(conv_im2col, "WORKSPACE_ELEMENTS", 200)  # one to three output rows per band
    monkeypatch.setattr(conv_im2col, "MIN_THREAD_PIXELS", 1)  # split even this small layer between threads
    monkeypatch.setattr(conv_im2col, "SPLIT_MIN_CHANNELS", 1)  # and inputs of any number of channels
    monkeypatch.setattr(conv_im2col, "KERNEL_ROW_GEMM_MIN", 1 if by_kernel_row else 10**9)
    shared, row_gemms = [], []
    real_share, real_row_gemm = worker_threads.share, conv_im2col._gemm_by_kernel_row
    monkeypatch.setattr(worker_threads, "share", lambda fn, items: shared.append(1) or real_share(fn, items))
    monkeypatch.setattr(conv_im2col, "_gemm_by_kernel_row", lambda *a: row_gemms.append(1) or real_row_gemm(*a))
    x, w, b = make_array(15, (2, 5, 13, 12), np.float64), make_array(16, (4, 5, 3, 2), np.float64), np.arange(4.0)
    spec = spec_of(x, w, stride=stride, padding=(1, 2), dilation=dilation)
    full = conv_im2col.conv2d_im2col_full(x, w, spec, Epilogue(b))
    got = conv_im2col.conv2d_im2col_cl(channels_last(x), conv_im2col.weight_cols(w), spec, Epilogue(b, relu=True))
    np.testing.assert_allclose(got, np.maximum(full, 0), rtol=1e-12, atol=1e-12)
    assert got.transpose(0, 2, 3, 1).flags.c_contiguous
    assert bool(shared) == (threads == 2 and worker_threads.blas_controllable())  # the bands ran on both threads
    assert bool(row_gemms) == (by_kernel_row and stride[0] == 1 and bool(shared))  # for bands on threads only
    spec0 = spec_of(x[:, :, 1:, 2:], w, stride=stride, dilation=dilation)
    unpadded = conv_im2col.conv2d_im2col_cl(channels_last(x[:, :, 1:, 2:]), conv_im2col.weight_cols(w), spec0,
                                            Epilogue(b))  # fmt: skip
    reference = conv_im2col.conv2d_im2col_full(x[:, :, 1:, 2:], w, spec0, Epilogue(b))  # nothing to pad
    np.testing.assert_allclose(unpadded, reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("c_in, split", [(3, False), (8, True)])
def test_channels_last_im2col_splits_bands_between_threads_except_for_image_stems(monkeypatch, c_in, split):
    """An image stem (fewer than SPLIT_MIN_CHANNELS input channels) runs its bands on BLAS's threads; wider inputs
    share theirs between minicnn's threads. Either way the result is torch's."""
    from minicnn.kernels import threads as worker_threads

    monkeypatch.setattr(worker_threads, "count", lambda: 2)
    monkeypatch.setattr(worker_threads, "blas_controllable", lambda: True)
    monkeypatch.setattr(conv_im2col, "WORKSPACE_ELEMENTS", 2000)  # several bands
    shared = []
    real_share = worker_threads.share
    monkeypatch.setattr(worker_threads, "share", lambda fn, items: shared.append(1) or real_share(fn, items))
    x = channels_last(make_array(26, (1, c_in, 64, 64), np.float64))  # 32x32 outputs: enough to split
    w = make_array(27, (16, c_in, 7, 7), np.float64)
    got = F.conv2d(x, w, stride=2, padding=3, algorithm="im2col_cl")
    np.testing.assert_allclose(got, torch_op("conv2d", x, w, stride=2, padding=3, float64=True), rtol=1e-12, atol=1e-12)
    assert bool(shared) == split


@pytest.mark.parametrize("by_kernel_row", [False, True])
def test_channels_last_im2col_bands_made_of_padding_only(monkeypatch, by_kernel_row):
    """Padding wider than the kernel's reach: some bands read only padded rows (zeros), and bias is all they
    give; the result is still torch's."""
    from minicnn.kernels import threads as worker_threads

    monkeypatch.setattr(worker_threads, "count", lambda: 2)
    monkeypatch.setattr(conv_im2col, "WORKSPACE_ELEMENTS", 300)  # a few output rows per band
    monkeypatch.setattr(conv_im2col, "MIN_THREAD_PIXELS", 1)
    monkeypatch.setattr(conv_im2col, "SPLIT_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_im2col, "KERNEL_ROW_GEMM_MIN", 1 if by_kernel_row else 10**9)
    x = channels_last(make_array(23, (2, 4, 3, 5), np.float64))
    w, b = make_array(24, (6, 4, 3, 3), np.float64), make_array(25, (6,), np.float64)
    got = F.conv2d(x, w, b, padding=(7, 2), algorithm="im2col_cl")
    ref = torch_op("conv2d", x, w, b, padding=(7, 2), float64=True)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "c_in, stride, padding, dilation",
    [(24, 1, 1, 1), (96, 1, 1, 1), (96, 1, 2, 2), (96, 2, 1, 1), (96, (1, 2), (0, 3), (1, 2))],
)
def test_channels_last_im2col_matches_torch_by_columns_and_by_kernel_rows(
    monkeypatch, c_in, stride, padding, dilation, dtype
):
    """With the real thresholds, bands on two threads: 24 channels (KW*C_in = 72) build full columns, 96
    channels (288) run one GEMM per kernel row unless the stride along H is not 1; each against torch."""
    from minicnn.kernels import threads as worker_threads

    monkeypatch.setattr(worker_threads, "count", lambda: 2)
    row_gemms, real_row_gemm = [], conv_im2col._gemm_by_kernel_row
    monkeypatch.setattr(conv_im2col, "_gemm_by_kernel_row", lambda *a: row_gemms.append(1) or real_row_gemm(*a))
    x = channels_last(make_array(20, (2, c_in, 17, 40), dtype))
    w, b = make_array(21, (40, c_in, 3, 3), dtype), make_array(22, (40,), dtype)
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    got = F.conv2d(x, w, b, **kw)  # the default rule: channels-last in, im2col_cl
    ref = torch_op("conv2d", x, w, b, float64=True, **kw)
    scale = torch_op("conv2d", np.abs(x), np.abs(w), np.abs(b), float64=True, **kw).max()
    assert F.is_channels_last(got)
    assert_close(got, ref, kind="direct", dtype=dtype, scale=scale)
    if worker_threads.blas_controllable():
        assert bool(row_gemms) == (c_in == 96 and stride != 2)  # the cases cover both paths


@given(case=conv_cases())
def test_blocked_numba_kernel_equals_its_readable_twin(case):
    """The blocked loops add the same products in the same order as conv_numba.py: identical results."""
    from minicnn.kernels.conv_numba import conv2d_numba
    from minicnn.kernels.conv_numba_blocked import conv2d_numba_blocked

    x, w, b = case["x"], case["weight"], case["bias"]
    x = x if x.ndim == 4 else x[None]
    k = case["kwargs"]
    spec = spec_of(x, w, k["stride"], k["padding"], k["dilation"], k["groups"], b)
    np.testing.assert_array_equal(conv2d_numba_blocked(x, w, spec, Epilogue(b)), conv2d_numba(x, w, spec, Epilogue(b)))


def test_weight_cols_is_a_view_of_a_channels_last_weight():
    w = make_array(1, (8, 5, 3, 3), np.float32)
    cols = conv_im2col.weight_cols(w)
    np.testing.assert_array_equal(cols, w.transpose(2, 3, 1, 0).reshape(45, 8))
    w_cl = channels_last(w)
    assert np.shares_memory(conv_im2col.weight_cols(w_cl), w_cl)  # no copy when the weight is channels-last
    np.testing.assert_array_equal(conv_im2col.weight_cols(w_cl), cols)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@pytest.mark.parametrize("kernel", [(3, 1), (1, 0), (3, 0)])  # (size, padding): Winograd, pointwise, general
def test_memory_format_follows_torch(algorithm, kernel):
    """Channels-last input or weight -> channels-last output, else C-contiguous: torch's rule, same values."""
    k, pad = kernel
    x, w, b = make_array(9, (2, 6, 9, 7), np.float32), make_array(10, (5, 6, k, k), np.float32), np.arange(5.0)
    b = b.astype(np.float32)
    ref = torch_op("conv2d", x, w, b, padding=pad, float64=True)
    scale = torch_op("conv2d", np.abs(x), np.abs(w), np.abs(b), padding=pad, float64=True).max()
    cases = [(x, w, False), (channels_last(x), w, True)]
    if k > 1:  # NumPy stores a 1x1 weight with the same strides in both formats: it cannot carry the format
        cases.append((x, channels_last(w), True))
    for xi, wi, expect_cl in cases:
        out = F.conv2d(xi, wi, b, padding=pad, algorithm=algorithm)
        assert out.transpose(0, 2, 3, 1).flags.c_contiguous if expect_cl else out.flags.c_contiguous
        assert_close(out, ref, kind=ALGORITHMS[algorithm].tolerance, dtype=np.float32, scale=scale)


def test_fused_epilogue_matches_numpy(monkeypatch):
    from minicnn.kernels import epilogue as one_pass
    from minicnn.kernels import finish_rows
    from minicnn.kernels.epilogue import epilogue

    rng = np.random.default_rng(19)
    monkeypatch.setattr(one_pass, "PARALLEL_ELEMENTS", 64)
    for rows in (3, 45):  # 24 elements: the calling thread alone; 360 >= 64: rows shared out
        out, res = rng.standard_normal((rows, 8)), rng.standard_normal((rows, 8))
        out[0, :5] = np.nan, np.inf, -np.inf, -0.0, 3.4e38  # special values pass as in NumPy (NaN stays NaN)
        bias = rng.standard_normal(8)
        expected = np.maximum(out + bias + res, 0)
        np.testing.assert_array_equal(epilogue(out.copy(), bias, res, relu=True), expected)
        np.testing.assert_array_equal(epilogue(out.copy(), None, None, relu=False), out)
        np.testing.assert_array_equal(epilogue(out.copy(), bias, relu=False), out + bias)
        np.testing.assert_array_equal(epilogue(out.copy(), bias, res, relu=True, cap=0.5), np.minimum(expected, 0.5))
        out32, bias32 = out.astype(np.float32), bias.astype(np.float32)  # float32: 3.4e38 + bias may overflow
        np.testing.assert_array_equal(epilogue(out32.copy(), bias32, None, relu=True, cap=np.float32(6)),
                                      np.minimum(np.maximum(out32 + bias32, 0), 6))  # fmt: skip
        for fast in (False, True):  # finish_rows: NumPy or the compiled one-pass kernel, the same numbers
            np.testing.assert_array_equal(finish_rows(out.copy(), Epilogue(bias, True, None, fast), res), expected)
            np.testing.assert_array_equal(finish_rows(out.copy(), Epilogue(bias, True, None, fast, 0.5), res),
                                          np.minimum(expected, 0.5))  # fmt: skip


# ------------------------------------------------------------------------------------------------- "auto"


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_autotune, "_choices", {})
    monkeypatch.setattr(_autotune, "_loaded", False)
    return tmp_path


def test_auto_measures_once_and_remembers_on_disk(fresh_cache, monkeypatch):
    x, w = make_array(7, (1, 8, 20, 20), np.float32), make_array(8, (8, 8, 3, 3), np.float32)
    with minicnn.conv_algorithm("auto"):
        out = F.conv2d(x, w, padding=1)
    saved = json.loads(_autotune.cache_file().read_text())
    assert len(saved) == 1 and list(saved.values())[0] in ALGORITHMS
    assert_close(out, torch_op("conv2d", x, w, padding=1, float64=True), kind="auto", dtype=np.float32,
                 scale=torch_op("conv2d", np.abs(x), np.abs(w), padding=1, float64=True).max())  # fmt: skip
    calls = []
    monkeypatch.setattr(_autotune, "_measure", lambda *a: calls.append(a) or "im2col")
    F.conv2d(x, w, padding=1, algorithm="auto")  # remembered: not measured again
    assert calls == []


@pytest.mark.parametrize(
    "content",
    [b"[1, 2, 3]", b'{"a": 7}', b'{"key": "not-an-algorithm"}', b'{"trunc', b"\x00\xff\x13binary", b"null"],
)
def test_a_hostile_autotune_cache_is_ignored_with_one_warning(fresh_cache, content):
    """A JSON list, a wrong type, an unknown name, a truncated or binary file: ignored, and rewritten whole."""
    _autotune.cache_file().parent.mkdir(parents=True, exist_ok=True)
    _autotune.cache_file().write_bytes(content)
    x, w = make_array(7, (1, 4, 9, 9), np.float32), make_array(8, (4, 4, 3, 3), np.float32)
    with pytest.warns(UserWarning, match="ignoring the autotune cache"):
        out = F.conv2d(x, w, padding=1, algorithm="auto")
    assert_close(out, torch_op("conv2d", x, w, padding=1, float64=True), kind="auto", dtype=np.float32,
                 scale=torch_op("conv2d", np.abs(x), np.abs(w), padding=1, float64=True).max())  # fmt: skip
    saved = json.loads(_autotune.cache_file().read_text())
    assert all(v in ALGORITHMS for v in saved.values())


def test_a_remembered_choice_that_is_no_candidate_is_measured_again(fresh_cache, monkeypatch):
    """A cache saying "naive" (valid name, but never a candidate) for a shape: measured, not obeyed."""
    x, w = make_array(7, (1, 4, 9, 9), np.float32), make_array(8, (4, 4, 3, 3), np.float32)
    F.conv2d(x, w, padding=1, algorithm="auto")
    key = next(iter(_autotune._choices))
    _autotune.cache_file().write_text(json.dumps({key: "naive"}))
    monkeypatch.setattr(_autotune, "_choices", {})
    monkeypatch.setattr(_autotune, "_loaded", False)
    measured = []
    real = _autotune._measure
    monkeypatch.setattr(_autotune, "_measure", lambda *a: measured.append(1) or real(*a))
    F.conv2d(x, w, padding=1, algorithm="auto")
    assert measured == [1] and _autotune._choices[key] != "naive"


def test_a_new_candidate_is_measured_although_the_shape_was_tuned_before(fresh_cache, monkeypatch):
    """A choice is remembered with the candidates it was made among: once an algorithm joins them (a newer minicnn),
    the shape is measured again rather than kept on the older choice."""
    from minicnn.kernels import registry

    x, w = make_array(7, (1, 4, 9, 9), np.float32), make_array(8, (4, 4, 3, 3), np.float32)
    real_candidates = registry.candidates
    monkeypatch.setattr(_autotune, "candidates", lambda spec, cl: real_candidates(spec, cl)[:2])  # an older set
    F.conv2d(x, w, padding=1, algorithm="auto")
    monkeypatch.setattr(_autotune, "candidates", real_candidates)  # every candidate of this version
    measured = []
    real = _autotune._measure
    monkeypatch.setattr(_autotune, "_measure", lambda names, *a, **k: measured.append(names) or real(names, *a, **k))
    F.conv2d(x, w, padding=1, algorithm="auto")
    assert measured == [real_candidates(spec_of(x, w, padding=1), False)]
    assert len(_autotune._choices) == 2


def test_two_processes_tuning_different_shapes_keep_both_choices(fresh_cache):
    """Saving merges with what the file holds: another process's choices survive."""
    x, w = make_array(7, (1, 4, 9, 9), np.float32), make_array(8, (4, 4, 3, 3), np.float32)
    F.conv2d(x, w, padding=1, algorithm="auto")
    other = json.loads(_autotune.cache_file().read_text())
    other["another process's shape"] = "im2col"
    _autotune.cache_file().write_text(json.dumps(other))
    F.conv2d(make_array(9, (1, 4, 11, 11), np.float32), w, padding=1, algorithm="auto")
    saved = json.loads(_autotune.cache_file().read_text())
    assert saved["another process's shape"] == "im2col" and len(saved) == 3


def test_auto_without_measuring(monkeypatch):
    monkeypatch.setenv("MINICNN_AUTOTUNE", "0")
    x, w = np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3))
    assert _autotune.choose(x, w, None, spec_of(x, w, padding=1)) == "im2col_full"  # the default rule: a small layer
    monkeypatch.setenv("MINICNN_AUTOTUNE", "maybe")
    with pytest.raises(ValueError, match="MINICNN_AUTOTUNE='maybe': expected one of 1, true"):
        _autotune.choose(x, w, None, spec_of(x, w, padding=1))
    assert NO_EPILOGUE == Epilogue()


# ------------------------------------------------------------------------------------------- worker threads


def test_shared_work_runs_every_item_once_on_every_thread_and_reports_errors(monkeypatch):
    """threads.share: each item exactly once, the calling thread and a helper working; a failing item's error reaches
    the caller after every thread has stopped."""
    import threading
    import time

    from minicnn.kernels import threads as worker_threads

    monkeypatch.setattr(worker_threads, "count", lambda: 3)
    done, who = [], set()

    def work(item):
        time.sleep(0.002)  # long enough for every thread to take items
        done.append(item)
        who.add(threading.get_ident())

    worker_threads.share(work, range(40))
    assert sorted(done) == list(range(40)) and threading.get_ident() in who and len(who) >= 2

    running = []

    def fail_on_7(item):
        running.append(item)
        time.sleep(0.002)
        running.remove(item)
        if item == 7:
            raise ValueError("item 7")

    with pytest.raises(ValueError, match="item 7"):
        worker_threads.share(fail_on_7, range(40))
    assert running == []  # every thread had stopped when the error came out

    # every worker busy elsewhere: the calling thread does all the items and returns without waiting for a helper
    # that never started (it is cancelled)
    release = threading.Event()
    blockers = [worker_threads._pool().submit(release.wait) for _ in range(3)]
    try:
        items, caller = [], threading.Thread(target=lambda: worker_threads.share(items.append, range(5)), daemon=True)
        caller.start()
        caller.join(10)
        assert not caller.is_alive() and sorted(items) == list(range(5))
        assert not any(b.done() for b in blockers)
    finally:
        release.set()

    # a kernel inside a kernel: work shared from a worker thread runs on that thread (no deadlock: a hang fails)
    inner, items_done = [], []
    nested = threading.Thread(
        target=lambda: inner.extend(
            worker_threads.parallel(lambda i: worker_threads.share(items_done.append, range(4)) or i, range(3))
        ),
        daemon=True,
    )
    nested.start()
    nested.join(30)
    assert inner == [0, 1, 2] and len(items_done) == 12


def test_overlapping_one_blas_thread_blocks_restore_the_thread_count():
    """Two threads inside one_blas_thread, leaving in the other order: BLAS gets its thread count back."""
    from minicnn.kernels import threads as worker_threads

    assert worker_threads.blas_controllable()  # threadpoolctl finds NumPy's BLAS (a declared dependency)
    libs = worker_threads._blas_controllers()
    before = [lib.get_num_threads() for lib in libs]
    a, b = worker_threads.one_blas_thread(), worker_threads.one_blas_thread()
    a.__enter__()
    b.__enter__()
    assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)
    a.__exit__(None, None, None)
    assert [lib.get_num_threads() for lib in libs] == [1] * len(libs)  # b is still inside
    b.__exit__(None, None, None)
    assert [lib.get_num_threads() for lib in libs] == before


def test_auto_candidates_follow_the_input_layout():
    """Of an algorithm written for both layouts, auto tries the one for the input's: the other would copy the input
    and its output; algorithms with one layout only are tried for both."""
    from minicnn.kernels.registry import candidates

    x, w = np.ones((1, 8, 28, 28), np.float32), np.ones((8, 8, 3, 3), np.float32)
    general = spec_of(x, w, padding=1)
    assert set(candidates(general, True)) == {"im2col_cl", "winograd4_cl"}  # F(2x2) on cl: deep layers only
    assert set(candidates(general, False)) == {"im2col", "winograd4", "winograd2"}
    deep = spec_of(np.ones((1, 512, 14, 14), np.float32), np.ones((512, 512, 3, 3), np.float32), padding=1)
    assert set(candidates(deep, True)) == {"im2col_cl", "winograd2_cl"}  # F(4x4) on cl: 32 tiles or more
    few_tiles = spec_of(np.ones((1, 8, 14, 14), np.float32), w, padding=1)  # 16 tiles of 4x4
    assert set(candidates(few_tiles, True)) == {"im2col_cl"}
    assert "winograd4_cl" in candidates(spec_of(np.ones((2, 8, 14, 14), np.float32), w, padding=1), True)  # 32
    x = x[:, :, :9, :9]
    depthwise = spec_of(x, np.ones((8, 1, 3, 3), np.float32), padding=1, groups=8)
    assert candidates(depthwise, True) == ["im2col", "depthwise_cl"]
    assert candidates(depthwise, False) == ["im2col", "depthwise_numba"]
    stem = spec_of(np.ones((1, 3, 32, 32), np.float32), np.ones((64, 3, 7, 7), np.float32), stride=2, padding=3)
    assert set(candidates(stem, True)) == {"im2col_cl", "direct_cl"}  # registers hold a stem's sums; auto measures
    wide = spec_of(np.ones((1, 3, 32, 32), np.float32), np.ones((128, 3, 3, 3), np.float32), padding=1)
    assert "direct_cl" not in candidates(wide, True) + candidates(general, True)  # > 64 outputs, or 8 inputs


# ------------------------------------------------------------------------------------------------- direct_cl


@pytest.mark.parametrize("pixels", [1, 4])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape",  # (N, C_in, H, W, C_out, KH, KW, stride, padding, dilation)
    [
        (1, 3, 19, 23, 64, 7, 7, 2, 3, 1),  # ResNet50's stem, one block of 64 sums, rows of 12 pixels
        (2, 3, 9, 10, 70, 3, 3, 1, 1, 1),  # two blocks, the second with 6 channels; a batch
        (1, 2, 8, 6, 5, 3, 2, (2, 1), (0, 1, 0, 1), (1, 2)),  # asymmetric padding ("SAME"), strides, dilation
        (1, 4, 5, 3, 129, 2, 3, 1, 1, 1),  # rows of 3 pixels: narrower than a block of 4, computed one by one
    ],
)
def test_direct_cl_matches_torch_with_its_epilogue(shape, dtype, pixels, monkeypatch):
    """The register-blocked direct kernel against torch in float64, with bias, residual, ReLU and a cap applied as it
    stores its sums, from either memory layout, with 4 pixels per block (AVX-512) and with 1 (AVX2), so that both
    paths are tested on any machine."""
    from minicnn.kernels import direct_cl

    monkeypatch.setattr(direct_cl, "pixels_per_block", lambda: pixels)
    N, C, H, W, C_out, KH, KW, stride, padding, dilation = shape
    x, w = make_array(41, (N, C, H, W), dtype), make_array(42, (C_out, C, KH, KW), dtype)
    b = make_array(43, (C_out,), dtype)
    spec = specs.conv2d(x, w, b, stride, padding, dilation, 1)  # a 4-tuple: (left, right, top, bottom), as F.pad
    top, bottom, left, right = spec.pads
    xt = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    ref = torch_op("conv2d", xt, w, b, stride=stride, dilation=dilation, float64=True)
    res = make_array(44, ref.shape, dtype)
    scale = np.abs(ref).max() + np.abs(res).max()
    packed = direct_cl.pack(w)
    for xi in (x, channels_last(x)):
        got = direct_cl.conv2d_direct_cl(xi, packed, spec, Epilogue(b))
        assert got.shape == ref.shape and got.dtype == dtype and got.transpose(0, 2, 3, 1).flags.c_contiguous
        assert_close(got, ref, kind="direct", dtype=dtype, scale=scale)
        got = direct_cl.conv2d_direct_cl(xi, packed, spec, Epilogue(b, True, channels_last(res), cap=1.5))
        assert_close(got, np.clip(ref + res, 0, 1.5), kind="direct", dtype=dtype, scale=scale)


def test_direct_cl_keeps_its_sums_in_512_bit_registers_where_numba_targets_avx512():
    """On an AVX-512 target the block of sums is 16 zmm registers. LLVM's Intel targets prefer 256-bit vectors, and
    with them the same block was 32 ymm registers, every one spilled to the stack at each tap (ResNet50's stem 1.9 ms
    instead of 1.0 on an Intel Xeon): the kernel asks for 512-bit vectors. Compiled afresh (the cached kernel cannot
    be inspected), the machine code's multiply-adds must all be on zmm registers. (Only an Intel target can catch the
    attribute missing: AMD's Zen 4 and 5 use 512-bit vectors without it.)"""
    import re

    from numba import njit

    from minicnn.kernels import direct_cl

    if direct_cl.pixels_per_block() != direct_cl.PIXELS_AVX512:
        pytest.skip("Numba does not compile for AVX-512 here")
    kernel = njit(nogil=True, fastmath={"contract"}, boundscheck=False)(direct_cl._kernel(4).py_func)
    x, w = make_array(1, (1, 3, 12, 12), np.float32), make_array(2, (64, 3, 3, 3), np.float32)
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))).transpose(0, 2, 3, 1)).reshape(1, 14, -1)
    out = np.empty((1, 12, 12, 64), np.float32)
    offsets = (np.arange(3)[:, None] * 3 + np.arange(3)).reshape(-1)
    bias, res = np.zeros(64, np.float32), np.empty((0, 0, 0, 0), np.float32)
    kernel(xp, direct_cl.pack(w), offsets, 3, 1, 1, 3, bias, res, False, np.inf, out, 0, 12)
    np.testing.assert_allclose(out.transpose(0, 3, 1, 2), torch_op("conv2d", x, w, padding=1), rtol=1e-4, atol=1e-4)
    fmas = re.findall(r"vfmadd\w+\s+[^\n]*", kernel.inspect_asm(kernel.signatures[0]))
    assert fmas and all("zmm" in f for f in fmas), fmas[:4]


def test_prepacked_measurements_pack_once_and_are_remembered_apart(fresh_cache, monkeypatch):
    """optimize measures kernels on weights packed once (packing is not timed); eager auto packs at every call,
    so the two choices are remembered under different keys."""
    x, w = F.to_channels_last(make_array(7, (1, 16, 24, 24), np.float32)), make_array(8, (16, 16, 3, 3), np.float32)
    spec = spec_of(x, w, padding=1)
    packs = []
    real = ALGORITHMS["winograd4_cl"].__class__.prepack
    monkeypatch.setattr(ALGORITHMS["winograd4_cl"].__class__, "prepack", lambda self, w: packs.append(self.name) or
                        real(self, w))  # fmt: skip
    prepacked = _autotune.choose(x, w, None, spec, prepacked=True)
    assert packs.count("winograd4_cl") == 1  # once, for the warm-up and every timed call
    eager = _autotune.choose(x, w, None, spec)
    assert len(_autotune._choices) == 2 and {prepacked, eager} <= set(ALGORITHMS)


def _fake_clock_measure(monkeypatch, durations, names=("im2col", "im2col_full", "naive")):
    """``_autotune._measure`` over ``names`` with a fake clock: the k-th timed call of ``name`` lasts
    ``durations[name](k)`` seconds (the reference and warm-up calls last nothing). Returns (choice, timed calls)."""
    from types import SimpleNamespace

    from minicnn.kernels.registry import ConvAlgorithm

    clock, calls = [0.0], {n: 0 for n in names}
    untimed = {n: 1 + (n == names[0]) for n in names}  # the warm-up, and the reference (the first name's)
    real_run = ConvAlgorithm.run

    def run(self, *args):
        out = real_run(self, *args)
        calls[self.name] += 1
        if calls[self.name] > untimed[self.name]:
            clock[0] += durations[self.name](calls[self.name] - untimed[self.name])
        return out

    monkeypatch.setattr(ConvAlgorithm, "run", run)
    monkeypatch.setattr(_autotune, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    x, w = make_array(21, (1, 2, 6, 6), np.float32), make_array(22, (3, 2, 3, 3), np.float32)
    choice = _autotune._measure(list(names), x, w, None, spec_of(x, w, padding=1), names[0])
    return choice, {n: calls[n] - untimed[n] for n in names}


def test_auto_times_close_candidates_again_and_clear_losers_no_more(monkeypatch):
    """Three rounds, then more only for the candidates within CLOSE of the leader: a candidate slow in the first
    rounds (a busy moment of the machine) but close enough is timed again and wins; a clear loser is not timed again."""
    choice, timed = _fake_clock_measure(monkeypatch, {"im2col": lambda k: 1.0, "naive": lambda k: 3.0,
                                                      "im2col_full": lambda k: 1.1 if k <= 3 else 0.8})  # fmt: skip
    assert choice == "im2col_full"
    assert timed == {"naive": _autotune.TIMED_CALLS, "im2col": 4, "im2col_full": 4}  # round 4: im2col 1.25x behind


def test_auto_falls_back_to_the_reference_when_no_candidate_computes_the_right_numbers(monkeypatch):
    """A candidate whose output differs from the default algorithm's is never chosen; if none agrees, the default's."""
    from minicnn import numerics

    monkeypatch.setattr(numerics, "normalized_max_error", lambda *a: float("inf"))
    x, w = make_array(21, (1, 2, 6, 6), np.float32), make_array(22, (3, 2, 3, 3), np.float32)
    assert _autotune._measure(["im2col_full", "naive"], x, w, None, spec_of(x, w, padding=1), "im2col") == "im2col"


def test_auto_stops_timing_equal_candidates_after_max_timed_calls(monkeypatch):
    choice, timed = _fake_clock_measure(monkeypatch, {"im2col": lambda k: 1.0, "im2col_full": lambda k: 1.0,
                                                      "naive": lambda k: 1.5})  # fmt: skip
    assert choice in ("im2col", "im2col_full")
    assert timed == {"im2col": _autotune.MAX_TIMED_CALLS, "im2col_full": _autotune.MAX_TIMED_CALLS,
                     "naive": _autotune.TIMED_CALLS}  # fmt: skip


def test_auto_reports_each_shape_it_measures_within_a_reporting_block(fresh_cache):
    """What the CLI shows as progress: a call before each measurement, none for a remembered shape or outside."""
    x, w = F.to_channels_last(make_array(11, (1, 16, 24, 24), np.float32)), make_array(12, (16, 16, 3, 3), np.float32)
    x2 = F.to_channels_last(make_array(13, (1, 16, 22, 22), np.float32))
    seen = []
    with _autotune.reporting(seen.append):
        _autotune.choose(x, w, None, spec_of(x, w, padding=1), prepacked=True)  # measured
        _autotune.choose(x, w, None, spec_of(x, w, padding=1), prepacked=True)  # remembered
    _autotune.choose(x2, w, None, spec_of(x2, w, padding=1), prepacked=True)  # measured, nobody asked
    assert seen == ["input (1, 16, 24, 24), weight (16, 16, 3, 3)"] and len(_autotune._choices) == 2


def test_auto_evicts_the_caches_with_a_bounded_read(fresh_cache, monkeypatch):
    """Between timed calls auto reads 1.5x the last-level cache, at most FLUSH_MAX_BYTES: on a machine reporting a
    256 MB L3 it allocated and read 384 MB for every layer it measured (12 of the 16 s of a cold classify)."""
    import tracemalloc

    monkeypatch.setattr(_autotune, "_last_level_cache_bytes", lambda: 256 << 20)
    assert _autotune._flush_bytes() == _autotune.FLUSH_MAX_BYTES < 256 << 20
    x, w = F.to_channels_last(make_array(9, (1, 16, 24, 24), np.float32)), make_array(10, (16, 16, 3, 3), np.float32)
    tracemalloc.start()  # NumPy reports its arrays' memory to tracemalloc
    try:
        _autotune.choose(x, w, None, spec_of(x, w, padding=1), prepacked=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _autotune.FLUSH_MAX_BYTES <= peak < _autotune.FLUSH_MAX_BYTES + (16 << 20)
    monkeypatch.setattr(_autotune, "_last_level_cache_bytes", lambda: 32 << 20)  # below the cap: 1.5x the cache
    assert _autotune._flush_bytes() == 48 << 20
