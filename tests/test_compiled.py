"""``minicnn.compiled()``: the compiled twins of the NumPy kernels (``kernels/im2col_numba.py``,
``kernels/pooling_numba.py``) against the readable versions and torch, forward and backward, and what the switch
does and does not change."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.functional as F
from minicnn import nn, optim, specs, training
from minicnn.kernels import zero_padded
from minicnn.kernels.conv_im2col import col2im_batch, im2col, im2col_batch
from minicnn.kernels.im2col_numba import col2im_rows, im2col_rows
from minicnn.kernels.pooling import max_pool2d_kernel
from minicnn.kernels.pooling_numba import max_pool2d_backward_numba, max_pool2d_numba
from minicnn.numerics import normalized_max_error, tolerance
from tests.strategies import conv_cases, make_array, pool_cases
from tests.test_autograd import check_grads

ints = st.integers


@settings(max_examples=25, deadline=None)  # each new kernel shape compiles once (about half a second)
@given(case=conv_cases(), seed=ints(0, 2**31))
def test_rows_are_the_readable_columns_and_col2im_rows_is_their_adjoint(case, seed):
    x, w = case["x"], case["weight"]
    x = x if x.ndim == 4 else x[None]
    kw = case["kwargs"]
    spec = specs.conv2d(x, w, None, kw["stride"], kw["padding"], kw["dilation"], kw["groups"])
    cols = im2col(zero_padded(x, spec.pads), (spec.KH, spec.KW), spec.stride, spec.dilation)  # (N, K, P)
    rows = im2col_rows(x, spec)  # (N*P, K)
    assert np.array_equal(rows, cols.transpose(0, 2, 1).reshape(rows.shape))
    batch = im2col_batch(zero_padded(x, spec.pads), (spec.KH, spec.KW), spec.stride, spec.dilation)  # (K, N*P)
    assert np.array_equal(batch, cols.transpose(1, 0, 2).reshape(batch.shape))  # the same columns side by side
    r = make_array(seed, rows.shape, rows.dtype)
    top, _, left, _ = spec.pads
    readable = col2im_batch(r.T, zero_padded(x, spec.pads).shape, (spec.KH, spec.KW), spec.stride, spec.dilation)
    readable = readable[:, :, top : top + spec.H, left : left + spec.W]
    got = col2im_rows(r, spec)
    assert normalized_max_error(got, readable) <= tolerance(x.dtype, "direct")
    # the adjoint: <im2col(x), r> = <x, col2im(r)>
    assert np.isclose(np.vdot(rows, r), np.vdot(x, got), rtol=1e-4 if x.dtype == np.float32 else 1e-10)


@settings(max_examples=25, deadline=None)
@given(case=conv_cases(), seed=ints(0, 2**31))
def test_conv2d_and_its_backward_under_compiled_match_torch(case, seed):
    """Groups 1 run ``im2col_rows`` (the rows kept for a backward of three GEMMs); other groups the default."""
    with minicnn.compiled():
        check_grads("conv2d", F.conv2d, seed, case["x"], case["weight"], case["bias"], **case["kwargs"])


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(), seed=ints(0, 2**31))
def test_max_pool2d_and_its_backward_under_compiled_match_torch(case, seed):
    """Padding, dilation, ceil_mode, ties: the same maxima, indices and gradients as torch."""
    x, kw = case["x"], case["kwargs"]
    with minicnn.compiled():
        out, idx = F.max_pool2d(x, **kw, return_indices=True)
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(np.array(x)), **kw, return_indices=True)
    assert np.array_equal(out, t_out.numpy()) and np.array_equal(idx, t_idx.numpy())
    assume((idx < x.shape[-2] * x.shape[-1]).all())  # a window wholly in the padding aborts torch's backward
    with minicnn.compiled():
        check_grads("max_pool2d", F.max_pool2d, seed, x, **kw)


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(values="special"))
def test_compiled_max_pooling_keeps_torchs_nan_and_inf_rules(case):
    """A NaN wins (the last one gives the index), a window of -inf reports its first position inside the input:
    as the readable kernel (itself checked against torch in test_pooling.py)."""
    x = case["x"] if case["x"].ndim == 4 else case["x"][None]
    kw = case["kwargs"]
    spec = specs.pool2d("max_pool2d", x, kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"],
                        kw["ceil_mode"])  # fmt: skip
    out, idx = max_pool2d_numba(x, spec)
    ref, ref_idx = max_pool2d_kernel(x, spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.out_size,
                                     True)  # fmt: skip
    assert np.array_equal(out, ref, equal_nan=True) and np.array_equal(idx, ref_idx)
    grad = max_pool2d_backward_numba(np.ones_like(out), idx, x.shape)
    assert grad.sum() == (idx < x.shape[2] * x.shape[3]).sum()  # each window's gradient went to one element


@settings(max_examples=40, deadline=None)
@given(case=st.one_of(pool_cases(), pool_cases(values="special")))
def test_channels_last_max_pooling_gives_the_readable_maxima(case):
    """``max_pool2d_cl`` (what ``minicnn.optimize`` runs): padding, dilation, ceil_mode, NaN and infinities, windows
    wholly in the padding: the readable kernel's values (checked against torch in test_pooling.py), on the calling
    thread and shared out to the threads, the output stored channels-last."""
    from minicnn.kernels import pooling_numba

    x = case["x"] if case["x"].ndim == 4 else case["x"][None]
    kw = case["kwargs"]
    spec = specs.pool2d("max_pool2d", x, kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"],
                        kw["ceil_mode"])  # fmt: skip
    ref, _ = max_pool2d_kernel(x, spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.out_size, False)
    x_cl = F.to_channels_last(x)
    for reads in (pooling_numba.PARALLEL_READS, 0):  # 0: every pooling shared out
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pooling_numba, "PARALLEL_READS", reads)
            for xi in (x_cl, x):
                out = pooling_numba.max_pool2d_cl(xi, spec)
                assert out.transpose(0, 2, 3, 1).flags.c_contiguous and out.dtype == x.dtype
                assert np.array_equal(out, ref, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channels_last_max_pooling_keeps_nan_and_infinities_in_every_lane(dtype):
    """Many channels (the vectorized select over 16 or 8 of them at a time, and a remainder): NaN, +inf and -inf
    planted at scattered channels and positions; windows hanging over the edge (ceil_mode, padding)."""
    from minicnn.kernels.pooling_numba import max_pool2d_cl

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 70, 9, 11)).astype(dtype)
    for value in (np.nan, np.inf, -np.inf):
        n, c, h, w = (rng.integers(0, s, 40) for s in x.shape)
        x[n, c, h, w] = value
    x[0, 5] = -np.inf  # a whole plane of -inf
    for kw in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
               {"kernel_size": 2, "stride": 1, "dilation": 2}):  # fmt: skip
        args = [kw.get(k, d) for k, d in (("kernel_size", 1), ("stride", None), ("padding", 0), ("dilation", 1),
                                           ("ceil_mode", False))]  # fmt: skip
        spec = specs.pool2d("max_pool2d", x, *args)
        got = max_pool2d_cl(F.to_channels_last(x), spec)
        ref = torch.nn.functional.max_pool2d(torch.from_numpy(x), **kw).numpy()
        assert np.array_equal(got, ref, equal_nan=True), kw


def _steps(compiled, dtype, n=4):
    x, y = minicnn.datasets.load_digits("train")
    model = training.digits_cnn(generator=np.random.default_rng(0)).to(dtype)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    with minicnn.compiled(compiled):
        for i in range(n):
            opt.zero_grad()
            loss = nn.CrossEntropyLoss()(model(x[64 * i : 64 * (i + 1)].astype(dtype)), y[64 * i : 64 * (i + 1)])
            loss.backward()
            opt.step()
            losses.append(float(loss))
    return np.array(losses), model.state_dict()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_steps_under_compiled_equal_the_readable_ones(dtype):
    losses, weights = _steps(False, dtype)
    c_losses, c_weights = _steps(True, dtype)
    assert np.allclose(c_losses, losses, rtol=1e-5 if dtype == np.float32 else 1e-12)
    for k, v in weights.items():
        assert normalized_max_error(c_weights[k], v) <= tolerance(dtype, "gradient"), k


def test_compiled_is_a_per_thread_switch_that_ends_with_its_block():
    assert not minicnn._config.is_compiled()
    seen = []
    with minicnn.compiled():
        assert minicnn._config.is_compiled()
        worker = threading.Thread(target=lambda: seen.append(minicnn._config.is_compiled()))
        worker.start()
        worker.join()
        with minicnn.compiled(False):
            assert not minicnn._config.is_compiled()
        assert minicnn._config.is_compiled()
    assert not minicnn._config.is_compiled() and seen == [False]
    with pytest.raises(ValueError):  # the setting does not leak out of a block that raised
        with minicnn.compiled():
            raise ValueError
    assert not minicnn._config.is_compiled()


def test_compiled_convolution_reads_the_weight_as_it_is_at_each_call():
    """Nothing derived from a weight is kept: an edit in place takes effect at the next call."""
    x = np.random.default_rng(0).standard_normal((8, 4, 6, 6)).astype(np.float32)
    conv = nn.Conv2d(4, 5, 3, padding=1)
    with minicnn.compiled():
        conv(x)
        conv.weight[0, 0, 0, 1] += 100.0
        got = conv(x)
    ref = F.conv2d(x, conv.weight, conv.bias, padding=1, algorithm="naive")
    assert normalized_max_error(got, ref) <= tolerance(np.float32, "direct")


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(ints(1, 5), min_size=1, max_size=4), seed=ints(0, 2**31), op=st.sampled_from(["relu", "relu6"]),
       compiled=st.booleans(), values=st.sampled_from(["ties", "special"]))  # fmt: skip
def test_relu_backward_with_nan_and_inf_matches_torch_compiled_or_not(shape, seed, op, compiled, values):
    """The gradient stops where the output is at or beyond the kinks (0 and 6) even when the gradient is NaN or
    infinite, and passes where the output is NaN (torch's scalar formulas): the NumPy product (with its fallback)
    and the compiled pass alike."""
    x = make_array(seed, shape, np.float64, values=values) * (3 if values == "ties" else 1)
    g = make_array(seed + 1, shape, np.float64, values="special")
    t = torch.tensor(x, requires_grad=True)
    getattr(torch.nn.functional, op)(t).backward(torch.tensor(g))
    leaf = np.array(x).view(minicnn.Tensor).requires_grad_()
    with minicnn.compiled(compiled):
        out = getattr(F, op)(leaf)
    out.backward(g)
    compared = np.ones(x.shape, bool) if op == "relu" else ~np.isnan(x)  # torch's relu6 at NaN depends on its loop
    assert np.array_equal(leaf.grad[compared], t.grad.numpy()[compared], equal_nan=True)
    assert op == "relu" or np.array_equal(leaf.grad[~compared], g[~compared], equal_nan=True)  # NaN passes it


def test_compiled_ops_keep_a_channels_last_layout():
    """A channels-last input or weight gives a channels-last output, as torch (and the readable kernels) do."""
    rng = np.random.default_rng(0)
    x = F.to_channels_last(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    leaf = x.view(minicnn.Tensor).requires_grad_()
    with minicnn.compiled():
        conv = F.conv2d(leaf, w, padding=1)
        pooled = F.max_pool2d(leaf, 2)
    ref = F.conv2d(x, w, padding=1, algorithm="naive")
    assert minicnn.functional.layout.is_channels_last(conv) and normalized_max_error(conv, ref) <= 2e-5
    assert minicnn.functional.layout.is_channels_last(pooled) and np.array_equal(pooled, F.max_pool2d(x, 2))


def test_recorded_ops_take_keyword_arguments_and_name_a_missing_one():
    """The tape hands the recorded twin its arguments by position (pad's twin names its parameter ``pad_``); a call
    missing an argument is refused with the op's own TypeError."""
    x = minicnn.Parameter(np.ones((1, 1, 2, 2)))
    F.pad(x, pad=(1, 1, 1, 1)).sum().backward()
    assert np.array_equal(x.grad, np.ones((1, 1, 2, 2)))
    with pytest.raises(TypeError, match="weight"):
        F.conv2d(x)


def test_relu_backward_gives_plus_zero_where_it_stops_the_gradient():
    x = minicnn.Parameter(np.array([-2.0, 1.0]))
    F.relu(x * 1).backward(np.array([-1.0, 1.0]))
    assert not np.signbit(x.grad).any() and np.array_equal(x.grad, [0.0, 1.0])
