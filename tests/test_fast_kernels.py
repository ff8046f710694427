"""The fast paths: Winograd, bounded-workspace im2col, fused conv+ReLU, and the measuring "auto"."""

import json

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.functional as F
from minicnn import models
from minicnn.functional import _autotune
from minicnn.kernels import conv_im2col, winograd
from minicnn.testing import assert_close
from reference.functional import torch_op
from tests.strategies import DTYPES, make_array


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


@pytest.mark.parametrize("algorithm", ["winograd", "winograd2"])
@given(case=winograd_cases(), relu=st.booleans())
def test_winograd_matches_torch(algorithm, case, relu):
    x, w, b, pads = case
    ref = torch_op("conv2d", x, w, b, padding=pads, float64=True)
    scale = torch_op("conv2d", np.abs(x), np.abs(w), None if b is None else np.abs(b), padding=pads, float64=True)
    op = F.conv2d_relu if relu else F.conv2d
    got = op(x, w, b, padding=pads, algorithm=algorithm)
    assert_close(got, np.maximum(ref, 0) if relu else ref, kind=algorithm, dtype=x.dtype, scale=scale.max())


def test_winograd_on_vgg16_shaped_layers_within_its_tolerance():
    """The error the tolerance table quotes: F(4x4, 3x3) on VGG-like layers, random data."""
    rng = np.random.default_rng(0)
    for c_in, c_out, size in [(3, 64, 32), (64, 64, 32), (256, 256, 14), (512, 512, 7)]:
        x = rng.standard_normal((1, c_in, size, size), dtype=np.float32)
        w = (rng.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2 / (9 * c_in))).astype(np.float32)
        ref = torch_op("conv2d", x, w, padding=1, float64=True)
        scale = torch_op("conv2d", np.abs(x), np.abs(w), padding=1, float64=True).max()
        for algorithm in ("winograd", "winograd2"):
            assert_close(F.conv2d(x, w, padding=1, algorithm=algorithm), ref, kind=algorithm, scale=scale)


def test_winograd_leaves_other_shapes_to_im2col():
    x, w = make_array(0, (1, 4, 9, 9), np.float32), make_array(1, (4, 4, 3, 3), np.float32)
    for kwargs in ({"stride": 2}, {"dilation": 2}, {"groups": 2, "w": w[:, :2]}):
        weight = kwargs.pop("w", w)
        np.testing.assert_array_equal(
            F.conv2d(x, weight, algorithm="winograd", **kwargs), F.conv2d(x, weight, algorithm="im2col", **kwargs)
        )


def test_transformed_weights_are_cached_and_refreshed_when_changed():
    w = make_array(2, (4, 3, 3, 3), np.float32)
    x = make_array(3, (1, 3, 8, 8), np.float32)
    first = F.conv2d(x, w, padding=1, algorithm="winograd")
    assert winograd.cached_weights(w, 4) is winograd.cached_weights(w, 4)
    w *= 2  # changed in place: the cache notices
    assert_close(F.conv2d(x, w, padding=1, algorithm="winograd"), 2 * first.astype(np.float64), kind="winograd")


def test_derived_arrays_follow_in_place_edits_of_their_inputs():
    """A derived array is recomputed when an input is edited in place (one filter, or two filters swapped), also
    when ``compute`` returns the input itself; arrays derived() made are trusted, not fingerprinted."""
    from minicnn.kernels import workspace

    w = make_array(20, (64, 32, 3, 3), np.float32)
    calls = []

    def doubled(a):
        calls.append(1)
        return 2 * a

    first = workspace.derived(w, "test-doubled", doubled)
    assert workspace.derived(w, "test-doubled", doubled) is first and len(calls) == 1
    w[37] = 0  # one output channel's filter
    np.testing.assert_array_equal(workspace.derived(w, "test-doubled", doubled), 2 * w)
    w[[3, 5]] = w[[5, 3]]  # two filters swapped: the same values, elsewhere
    np.testing.assert_array_equal(workspace.derived(w, "test-doubled", doubled), 2 * w)
    assert len(calls) == 3
    same = workspace.derived(w, "test-contiguous", np.ascontiguousarray)  # the input itself: still watched
    assert same is w and not workspace._is_made_here(same)
    made = workspace.derived(w, "test-doubled", doubled)
    assert workspace._is_made_here(made) and not made.flags.writeable  # read-only: nothing can edit it unseen
    stats = np.ones(2048, np.float32)  # a batch norm of 2048 channels: one channel edited must be seen
    assert workspace.derived(stats, "test-doubled", doubled)[1001] == 2
    stats[1001] = 5
    assert workspace.derived(stats, "test-doubled", doubled)[1001] == 10


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


def test_bounded_im2col_equals_the_readable_full_matrix(monkeypatch):
    """Many small bands (a tiny workspace) give the full-matrix result exactly: same sums, same order."""
    x, w, b = make_array(4, (2, 6, 11, 9), np.float64), make_array(5, (4, 3, 3, 2), np.float64), np.arange(4.0)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))
    full = conv_im2col.conv2d_im2col_full(xp, w, b, (2, 1), (1, 2), 2)
    monkeypatch.setattr(conv_im2col, "WORKSPACE_ELEMENTS", 50)  # one output row per band
    np.testing.assert_allclose(conv_im2col.conv2d_im2col(xp, w, b, (2, 1), (1, 2), 2), full, rtol=1e-14, atol=1e-14)


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
    monkeypatch.setattr(conv_im2col, "KERNEL_ROW_GEMM_MIN", 1 if by_kernel_row else 10**9)
    shared, row_gemms = [], []
    real_share, real_row_gemm = worker_threads.share, conv_im2col._gemm_by_kernel_row
    monkeypatch.setattr(worker_threads, "share", lambda fn, items: shared.append(1) or real_share(fn, items))
    monkeypatch.setattr(conv_im2col, "_gemm_by_kernel_row", lambda *a: row_gemms.append(1) or real_row_gemm(*a))
    x, w, b = make_array(15, (2, 5, 13, 12), np.float64), make_array(16, (4, 5, 3, 2), np.float64), np.arange(4.0)
    full = conv_im2col.conv2d_im2col_full(np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2))), w, b, stride, dilation, 1)
    weight_cols = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(-1, 4)
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    got = conv_im2col.conv2d_im2col_cl(x_cl, weight_cols, b, (3, 2), stride, (1, 1, 2, 2), dilation, relu=True)
    np.testing.assert_allclose(got, np.maximum(full, 0), rtol=1e-12, atol=1e-12)
    assert got.transpose(0, 2, 3, 1).flags.c_contiguous
    assert bool(shared) == (threads == 2 and worker_threads.blas_controllable())  # the bands ran on both threads
    assert bool(row_gemms) == (by_kernel_row and stride[0] == 1 and bool(shared))  # for bands on threads only
    unpadded = conv_im2col.conv2d_im2col_cl(x_cl[:, 1:, 2:], weight_cols, b, (3, 2), stride, (0,) * 4, dilation)
    reference = conv_im2col.conv2d_im2col_full(x[:, :, 1:, 2:], w, b, stride, dilation, 1)  # nothing to pad
    np.testing.assert_allclose(unpadded, reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("by_kernel_row", [False, True])
def test_channels_last_im2col_bands_made_of_padding_only(monkeypatch, by_kernel_row):
    """Padding wider than the kernel's reach: some bands read only padded rows (zeros), and bias is all they
    give; the result is still torch's."""
    from minicnn.kernels import threads as worker_threads

    monkeypatch.setattr(worker_threads, "count", lambda: 2)
    monkeypatch.setattr(conv_im2col, "WORKSPACE_ELEMENTS", 300)  # a few output rows per band
    monkeypatch.setattr(conv_im2col, "MIN_THREAD_PIXELS", 1)
    monkeypatch.setattr(conv_im2col, "KERNEL_ROW_GEMM_MIN", 1 if by_kernel_row else 10**9)
    x = channels_last(make_array(23, (2, 4, 3, 5), np.float64))
    w, b = make_array(24, (6, 4, 3, 3), np.float64), make_array(25, (6,), np.float64)
    got = F.conv2d(x, w, b, padding=(7, 2), algorithm="im2col")
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
    got = F.conv2d(x, w, b, **kw, algorithm="im2col")
    ref = torch_op("conv2d", x, w, b, float64=True, **kw)
    scale = torch_op("conv2d", np.abs(x), np.abs(w), np.abs(b), float64=True, **kw).max()
    assert F.is_channels_last(got)
    assert_close(got, ref, kind="im2col", dtype=dtype, scale=scale)
    if worker_threads.blas_controllable():
        assert bool(row_gemms) == (c_in == 96 and stride != 2)  # the cases cover both paths


def vgg16_pair(tmp_path, seed):
    """A random torchvision VGG16 (eval mode) and minicnn's VGG16 loaded from its checkpoint."""
    torch.manual_seed(seed)
    tv = torchvision.models.vgg16().eval()
    torch.save(tv.state_dict(), tmp_path / "vgg16.pth")
    return tv, models.vgg16(weights=tmp_path / "vgg16.pth").eval()


def test_fused_conv_relu_in_models_changes_nothing(tmp_path):
    """Sequential runs Conv2d+ReLU fused unless a hook watches; the logits equal the unfused ones and torch's."""
    tv, model = vgg16_pair(tmp_path, 5)
    x = make_array(6, (1, 3, 64, 64), np.float32)
    fused = model(x)
    with model.features[0].register_forward_hook(lambda m, i, o: None):  # a hook: that pair runs unfused
        unfused_first = model(x)
    np.testing.assert_array_equal(fused, unfused_first)
    with torch.no_grad():
        ref = tv.double()(torch.from_numpy(x.astype(np.float64))).numpy()
    assert_close(fused, ref, kind="model", dtype=np.float32)


def test_auto_measures_once_and_remembers_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_autotune, "_choices", {})
    monkeypatch.setattr(_autotune, "_loaded", False)
    x, w = make_array(7, (1, 8, 20, 20), np.float32), make_array(8, (8, 8, 3, 3), np.float32)
    with minicnn.conv_algorithm("auto"):
        out = F.conv2d(x, w, padding=1)
    saved = json.loads(_autotune.cache_file().read_text())
    assert len(saved) == 1 and list(saved.values())[0] in ("im2col", "winograd", "winograd2")
    assert_close(out, torch_op("conv2d", x, w, padding=1, float64=True), kind="auto", dtype=np.float32,
                 scale=torch_op("conv2d", np.abs(x), np.abs(w), padding=1, float64=True).max())  # fmt: skip
    calls = []
    monkeypatch.setattr(_autotune, "_measure", lambda *a: calls.append(a) or "im2col")
    F.conv2d(x, w, padding=1)  # remembered: not measured again
    assert calls == []


@given(case=__import__("tests.strategies", fromlist=["conv_cases"]).conv_cases())
def test_blocked_numba_kernel_equals_its_readable_twin(case):
    """The blocked loops add the same products in the same order as conv_numba.py: identical results."""
    from minicnn.kernels.conv_numba import conv2d_numba
    from minicnn.kernels.conv_numba_blocked import conv2d_numba_blocked

    x, w, b = case["x"], case["weight"], case["bias"]
    x = x if x.ndim == 4 else x[None]
    stride = F.conv.pair(case["kwargs"]["stride"], "stride", "t")
    dilation = F.conv.pair(case["kwargs"]["dilation"], "dilation", "t")
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (9, 9), (9, 9))))  # room for any drawn kernel
    args = (xp, np.ascontiguousarray(w), b, stride, dilation, case["kwargs"]["groups"])
    np.testing.assert_array_equal(conv2d_numba_blocked(*args), conv2d_numba(*args))


def test_auto_without_measuring(monkeypatch):
    monkeypatch.setenv("MINICNN_AUTOTUNE", "0")
    assert (
        _autotune.choose(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
        == "im2col"
    )
    assert _autotune.candidates((4, 1, 3, 3), (1, 1), (1, 1), 4) == ["numba"]


def channels_last(a):
    """The same values stored pixel by pixel (memory order N, H, W, C), as torch.channels_last."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("algorithm", ["naive", "im2col", "numba", "winograd", "winograd2"])
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
        assert_close(out, ref, kind=algorithm, dtype=np.float32, scale=scale)


@pytest.mark.parametrize("threads, max_band, min_band", [(1, 256, 32), (2, 5, 2), (2, 256, 1000)])
def test_winograd_channels_last_work_splits_agree(monkeypatch, threads, max_band, min_band):
    """One thread; many bands over two threads (BLAS set to one thread); few tiles, GEMMs split by position."""
    from minicnn.kernels import threads as worker_threads
    from minicnn.kernels import winograd_cl

    monkeypatch.setattr(worker_threads, "count", lambda: threads)
    monkeypatch.setattr(winograd_cl, "MAX_BAND_TILES", max_band)
    monkeypatch.setattr(winograd_cl, "MIN_BAND_TILES", min_band)
    x, w, b = make_array(11, (3, 7, 13, 10), np.float64), make_array(12, (4, 7, 3, 3), np.float64), np.arange(4.0)
    pads = (2, 0, 1, 1)
    got = winograd_cl.conv2d_winograd_cl(channels_last(x), w, b, pads, relu=True)
    ref = torch_op("conv2d", x, w, b, padding=(1, 1, 2, 0), float64=True)
    assert_close(got, np.maximum(ref, 0), kind="winograd", dtype=np.float64)
    assert got.transpose(0, 2, 3, 1).flags.c_contiguous


def test_winograd_falls_back_to_direct_sums_for_infinite_inputs():
    """inf - inf is NaN inside Winograd's transforms; torch's direct sums give +-inf: so does minicnn."""
    x, w = make_array(13, (1, 8, 12, 12), np.float32), make_array(14, (8, 8, 3, 3), np.float32)
    x[0, 3, 5, 5] = -np.inf
    ref = torch_op("conv2d", x, w, padding=1)
    for algorithm in ("winograd", "winograd2"):
        got = F.conv2d(channels_last(x), w, padding=1, algorithm=algorithm)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
        assert not np.isnan(got).any()


def test_channels_last_model_gives_the_same_logits(tmp_path):
    """model.to(memory_format=channels_last), as in torch: weights stored pixel by pixel, same logits."""
    tv, model = vgg16_pair(tmp_path, 7)
    x = make_array(15, (2, 3, 48, 48), np.float32)
    seen = []
    with model.features[2].register_forward_hook(lambda m, i, o: seen.append(o)):
        plain = model(x)  # VGG's forward stores the image channels-last: every activation stays so
    assert F.is_channels_last(seen[0]) and not F.is_channels_last(model.features[2].weight)
    model.to(memory_format=minicnn.channels_last)
    assert model.features[0].weight.transpose(0, 2, 3, 1).flags.c_contiguous
    with minicnn.conv_algorithm("winograd"):
        fast = model(x)
    with torch.no_grad():
        ref = tv.double()(torch.from_numpy(x.astype(np.float64))).numpy()
    assert_close(fast, ref, kind="winograd", dtype=np.float32, scale=np.abs(ref).max())
    assert_close(plain, ref, kind="model", dtype=np.float32)
    model.to(memory_format=minicnn.contiguous_format)
    assert model.features[0].weight.flags.c_contiguous
    with pytest.raises(ValueError, match="memory_format must be"):
        model.to(memory_format="nhwc")


def test_batch_norm_folds_into_the_conv_when_evaluating():
    """nn.conv_bn: the folded conv equals conv -> bn -> relu, notices edited statistics, and steps aside for
    hooks and training mode (where bn uses the batch's own statistics)."""
    conv, bn, relu = minicnn.nn.Conv2d(6, 5, 3, padding=1, bias=True), minicnn.nn.BatchNorm2d(5), minicnn.nn.ReLU()
    rng = np.random.default_rng(16)
    bn.running_mean[:] = rng.standard_normal(5)
    bn.running_var[:] = rng.random(5) + 0.5
    bn.weight[:], bn.bias[:] = rng.standard_normal(5), rng.standard_normal(5)
    x = make_array(17, (2, 6, 9, 8), np.float32)
    conv.eval(), bn.eval()

    def unfused():
        return relu(bn(conv(x)))

    assert_close(minicnn.nn.conv_bn(conv, bn, x, relu), unfused().astype(np.float64), kind="model", dtype=np.float32)
    bn.running_mean += 1.0  # edited in place: the folded weights are recomputed
    assert_close(minicnn.nn.conv_bn(conv, bn, x, relu), unfused().astype(np.float64), kind="model", dtype=np.float32)
    seen = []
    with bn.register_forward_hook(lambda m, i, o: seen.append(i[0])):
        minicnn.nn.conv_bn(conv, bn, x, relu)
    assert len(seen) == 1 and seen[0].shape == (2, 5, 9, 8)  # the hook saw the conv's own output
    bn.train()
    np.testing.assert_array_equal(minicnn.nn.conv_bn(conv, bn, x), bn.eval().train()(conv(x)))


def test_resnet_block_fuses_bn_residual_and_relu_only_when_unobserved(tmp_path):
    """ResNet50's Bottleneck in eval mode runs conv3 + bn3 + identity + ReLU as one GEMM and one pass; with a
    hook on the downsample branch every step runs as written. Both give torchvision's logits."""
    torch.manual_seed(8)
    tv = torchvision.models.resnet50().eval()
    torch.save(tv.state_dict(), tmp_path / "resnet50.pth")
    model = models.resnet50(weights=tmp_path / "resnet50.pth").eval()
    x = make_array(18, (1, 3, 64, 64), np.float32)
    with torch.no_grad():
        ref = tv.double()(torch.from_numpy(x.astype(np.float64))).numpy()
    fused = model(x)
    seen = []
    with model.layer1[0].downsample.register_forward_hook(lambda m, i, o: seen.append(o.shape)):
        stepwise = model(x)
    assert seen == [(1, 256, 16, 16)]
    assert_close(fused, ref, kind="model", dtype=np.float32)
    assert_close(stepwise, ref, kind="model", dtype=np.float32)


def test_fused_epilogue_matches_numpy():
    from minicnn.kernels.epilogue import PARALLEL_ELEMENTS, epilogue

    rng = np.random.default_rng(19)
    for rows in (3, PARALLEL_ELEMENTS // 8 + 5):  # one thread, then rows shared out
        out, res = rng.standard_normal((rows, 8)), rng.standard_normal((rows, 8))
        bias = rng.standard_normal(8)
        expected = np.maximum(out + bias + res, 0)
        np.testing.assert_array_equal(epilogue(out.copy(), bias, res, relu=True), expected)
        np.testing.assert_array_equal(epilogue(out.copy(), None, None, relu=False), out)
        np.testing.assert_array_equal(epilogue(out.copy(), bias, relu=False), out + bias)
