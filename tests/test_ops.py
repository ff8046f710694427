"""relu, relu6, linear, batch_norm, softmax, log_softmax, dropout and pad against torch.nn.functional."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn.functional as F
from minicnn.testing import assert_close
from reference.functional import torch_op
from tests.devices import run_op, to_device
from tests.strategies import DTYPES, LAYOUTS, make_array

seeds = st.integers(0, 2**32 - 1)
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


def check(op, *args, kind, device="cpu", scale=None, **kwargs):
    got = run_op(device, op, *args, **kwargs)
    same = torch_op(op, *args, device=device, **kwargs)
    ref = torch_op(op, *args, device=device, float64=True, **kwargs)
    assert_close(got, ref, kind=kind, dtype=same.dtype, scale=scale, name=op)
    return got


@given(seed=seeds, shape=shapes, dtype=st.sampled_from(DTYPES), values=st.sampled_from(["normal", "special"]))
def test_relu_and_relu6(seed, shape, dtype, values, device):
    x = make_array(seed, shape, dtype, values=values) * 4  # reaches past 6 for relu6
    check("relu", x, kind="exact", device=device)
    check("relu6", x, kind="exact", device=device)


def test_relu_inplace_overwrites_its_input():
    x = np.array([-1.0, 2.0, -3.0], np.float32)
    y = F.relu(x, inplace=True)
    assert y is x and x.tolist() == [0.0, 2.0, 0.0]
    x = np.array([-1.0, 7.0], np.float32)
    assert F.relu6(x, inplace=True) is x and x.tolist() == [0.0, 6.0]


@given(
    seed=seeds,
    lead=st.lists(st.integers(1, 3), max_size=3).map(tuple),
    n_in=st.integers(1, 40),
    n_out=st.integers(1, 10),
    dtype=st.sampled_from(DTYPES),
    bias=st.booleans(),
    layout=st.sampled_from(LAYOUTS),
)
def test_linear(seed, lead, n_in, n_out, dtype, bias, layout, device):
    x = make_array(seed, lead + (n_in,), dtype, layout)
    w = make_array(seed + 1, (n_out, n_in), dtype, layout)
    b = make_array(seed + 2, (n_out,), dtype) if bias else None
    scale_terms = torch_op("linear", np.abs(x), np.abs(w), None if b is None else np.abs(b), float64=True)
    check("linear", x, w, b, kind="linear", device=device, scale=scale_terms.max())


def test_linear_with_1d_weight_drops_the_last_axis():
    x, w = make_array(0, (2, 3), np.float64), make_array(1, (3,), np.float64)
    check("linear", x, w, kind="linear")


@st.composite
def bn_cases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = (draw(st.integers(2, 4)), draw(st.integers(1, 4))) + tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
    seed = draw(seeds)
    c = shape[1]
    x = make_array(seed, shape, dtype, draw(st.sampled_from(LAYOUTS))) * 3 + 1
    mean = make_array(seed + 1, (c,), dtype)
    var = np.abs(make_array(seed + 2, (c,), dtype)) + 0.1
    weight = make_array(seed + 3, (c,), dtype) if draw(st.booleans()) else None
    bias = make_array(seed + 4, (c,), dtype) if draw(st.booleans()) else None
    return x, mean, var, weight, bias, draw(st.sampled_from([0.1, 0.5, 1.0])), draw(st.sampled_from([1e-5, 1e-3]))


@given(case=bn_cases(), training=st.booleans())
def test_batch_norm_and_running_statistics(case, training, device):
    x, mean, var, weight, bias, momentum, eps = case
    ours_mean, ours_var = to_device(mean.copy(), device), to_device(var.copy(), device)  # updated in place
    got = run_op(device, "batch_norm", x, ours_mean, ours_var, weight, bias, training=training, momentum=momentum,
                 eps=eps)  # fmt: skip
    ours_mean, ours_var = np.asarray(ours_mean), np.asarray(ours_var)
    import torch  # the running statistics are updated in place, so this test drives torch directly

    t = [None if a is None else torch.from_numpy(a.astype(np.float64)).to(device) for a in case[:5]]
    ref = torch.nn.functional.batch_norm(*t[:5], training=training, momentum=momentum, eps=eps)
    # The size of the terms, as for conv: y = x*s - mean*s + bias with s = weight / sqrt(var + eps). When
    # x is close to its mean, x - mean cancels and float32's rounding of x is what remains.
    x64 = x.astype(np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    mu, v = (x64.mean(axis=axes), x64.var(axis=axes)) if training else (mean, var)
    s = np.abs(1.0 if weight is None else weight) / np.sqrt(v + eps)
    bshape = (1, -1) + (1,) * (x.ndim - 2)
    terms = np.abs(x64) * s.reshape(bshape) + (np.abs(mu) * s + np.abs(0.0 if bias is None else bias)).reshape(bshape)
    assert_close(got, ref.cpu().numpy(), kind="reduction", dtype=x.dtype, scale=terms.max(), name="batch_norm")
    assert_close(ours_mean, t[1].cpu().numpy(), kind="reduction", dtype=x.dtype, name="running_mean")
    assert_close(ours_var, t[2].cpu().numpy(), kind="reduction", dtype=x.dtype, name="running_var")
    if not training:
        np.testing.assert_array_equal(ours_mean, mean)  # evaluation never touches the running statistics


@given(
    seed=seeds,
    shape=shapes,
    dtype=st.sampled_from(DTYPES),
    values=st.sampled_from(["normal", "large", "special"]),
    data=st.data(),
)
def test_softmax_and_log_softmax(seed, shape, dtype, values, data, device):
    x = make_array(seed, shape, dtype, values="special" if values == "special" else "normal")
    if values == "large":
        x = x * 1000  # exp(1000) overflows: only the max-shifted formula survives
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check("softmax", x, kind="reduction", device=device, dim=dim)
    check("log_softmax", x, kind="reduction", device=device, dim=dim)


def test_softmax_without_dim_warns_and_picks_torchs_axis():
    x = make_array(0, (2, 3), np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        got = F.softmax(x)
    np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-6)


@given(seed=seeds, p=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), dtype=st.sampled_from(DTYPES))
def test_dropout_is_inverted_dropout(seed, p, dtype):
    x = np.abs(make_array(seed, (4000,), dtype)) + 1
    y = F.dropout(x, p=p, training=True, rng=seed)
    assert y.dtype == x.dtype and y.shape == x.shape
    kept = y != 0
    if 0 < p < 1:
        np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)  # survivors scaled by 1/(1-p)
        assert abs((~kept).mean() - p) < 5 * np.sqrt(p * (1 - p) / x.size)  # about p of them dropped
    assert kept.all() if p == 0 else (not kept.any() if p == 1 else True)
    np.testing.assert_array_equal(F.dropout(x, p=p, training=False), x)  # evaluation: identity
    np.testing.assert_array_equal(y, F.dropout(x, p=p, rng=seed))  # the same seed, the same mask


def test_dropout_masks_differ_between_calls_without_seed():
    x = np.ones(1000, np.float32)
    assert not np.array_equal(F.dropout(x), F.dropout(x))


@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    k = draw(st.integers(1, 3))
    ndim = draw(st.sampled_from([k + 1, k + 2])) if mode != "constant" else draw(st.integers(k, 4))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    pads = []
    for i in range(k):
        size = shape[ndim - 1 - i]
        hi = {"reflect": size - 1, "circular": size}.get(mode, 3)
        before = draw(st.integers(-(size // 2), hi))  # negative amounts crop
        after = draw(st.integers(max(-(size // 2), 1 - size - before), hi))  # leaving at least one element
        if mode == "circular":  # wrap at most once around what the cropping leaves
            left = size - max(0, -before) - max(0, -after)
            before, after = min(before, left), min(after, left)
        pads += [before, after]
    x = make_array(draw(seeds), shape, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(LAYOUTS)))
    value = draw(st.sampled_from([0.0, 1.5, -2.0])) if mode == "constant" else 0.0
    return x, tuple(pads), mode, value


def gpu_pads(x, pads):
    """What the GPU's pad kernel covers: the last one or two dimensions, no cropping, inputs of 2+ dimensions."""
    return len(pads) in (2, 4) and min(pads) >= 0 and x.ndim >= 2


@given(case=pad_cases())
def test_pad(case, device):
    x, pads, mode, value = case
    if device == "cuda" and not gpu_pads(x, pads):
        with pytest.raises(NotImplementedError, match="on the GPU, pad"):
            F.pad(to_device(x, device), pads, mode=mode)
        device = "cpu"  # the GPU kernel does not cover these: minicnn's CPU pad against torch's CUDA one
    if mode == "constant":
        check("pad", x, pads, kind="exact", device=device, mode=mode, value=value)
    else:
        check("pad", x, pads, kind="exact", device=device, mode=mode)
