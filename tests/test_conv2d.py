"""conv2d: every algorithm against torch.nn.functional.conv2d (float64 reference) and against naive."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.functional as F
from minicnn.kernels import registry
from minicnn.testing import assert_close, tolerance
from reference.functional import torch_op
from tests.devices import CUDA_CONV_ALGORITHMS, run_op
from tests.strategies import conv_cases, make_array

#: Every conv2d algorithm of the registry, and the two rules that choose among them.
ALGORITHMS = list(registry.ALGORITHMS)
NAMES = list(registry.NAMES)


def cases_for(name, values="normal"):
    """Convolutions that ``name`` computes itself (for the others it runs the default rule's choice)."""
    applies = registry.ALGORITHMS[name].applies if name in registry.ALGORITHMS else None
    if applies is registry._winograd:
        return conv_cases(values=values, winograd=True)
    if applies is registry._pointwise:
        return conv_cases(values=values, pointwise=True)
    if applies is registry._depthwise:
        return conv_cases(values=values, depthwise=True)
    return conv_cases(values=values)


def conv_scale(case, device="cpu"):
    """Size of the summed terms: max of conv2d(|x|, |w|) + |b|, the normalizer of conv errors."""
    absb = None if case["bias"] is None else np.abs(case["bias"])
    s = torch_op(
        "conv2d",
        np.abs(case["x"]),
        np.abs(case["weight"]),
        absb,
        device=device,
        float64=True,
        **case["kwargs"],
    )
    return max(float(np.max(s, initial=0.0)), np.finfo(case["x"].dtype).tiny)


def check_against_torch(case, algorithm, device="cpu"):
    """minicnn's conv2d against torch's on ``device`` (on the GPU for the algorithms with a CUDA kernel)."""
    x, w, b, kw = case["x"], case["weight"], case["bias"], case["kwargs"]
    gpu = device == "cuda" and algorithm in CUDA_CONV_ALGORITHMS
    got = run_op("cuda" if gpu else "cpu", "conv2d", x, w, b, **kw, algorithm=algorithm)
    same_dtype = torch_op("conv2d", x, w, b, device=device, **kw)  # torch's own shape and dtype
    ref = torch_op("conv2d", x, w, b, device=device, float64=True, **kw)
    assert got.shape == same_dtype.shape and got.dtype == same_dtype.dtype
    kind = registry.tolerance_kind(algorithm)
    assert_close(got, ref, kind=kind, dtype=x.dtype, scale=conv_scale(case, device), name=algorithm)
    return got


@pytest.mark.parametrize("algorithm", NAMES)
@given(data=st.data())
def test_conv2d_matches_torch(algorithm, data, device):
    """Every algorithm over the shapes it computes (Hypothesis draws them: groups, strides, dilations, every
    padding form, batched or not, any memory layout), against torch in float64."""
    check_against_torch(data.draw(cases_for(algorithm)), algorithm, device)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@given(data=st.data())
def test_every_algorithm_agrees_with_naive(algorithm, data):
    """The registry's promise: each rung against the textbook loops, within the sum of their tolerances."""
    case = data.draw(cases_for(algorithm))
    x, w, b, kw = case["x"], case["weight"], case["bias"], case["kwargs"]
    naive = F.conv2d(x, w, b, **kw, algorithm="naive")
    fast = F.conv2d(x, w, b, **kw, algorithm=algorithm)
    kind = registry.tolerance_kind(algorithm)
    tol = tolerance(x.dtype, "direct") + tolerance(x.dtype, kind)  # both are approximations
    assert_close(fast, naive, kind=kind, dtype=x.dtype, scale=conv_scale(case), tol=tol)


@pytest.mark.parametrize("algorithm", NAMES)
@given(case=conv_cases(depthwise=True))
def test_depthwise_and_channel_multiplier(algorithm, case):
    """Depthwise convs: every name computes them (the general kernels with groups, or the dedicated ones)."""
    check_against_torch(case, algorithm)


def test_registry_entries_are_complete():
    """Each algorithm names a kernel that imports, a readable twin that exists, and a written tolerance."""
    from minicnn.numerics import TOLERANCES

    for name, algorithm in registry.ALGORITHMS.items():
        assert callable(registry._load(algorithm.kernel)) and callable(registry._load(algorithm.pack))
        assert algorithm.twin is None or algorithm.twin in registry.ALGORITHMS, name
        assert algorithm.layout in ("nchw", "channels_last") and algorithm.doc
        for dtype in TOLERANCES:
            assert algorithm.tolerance in TOLERANCES[dtype]
    assert tuple(minicnn.CONV_ALGORITHMS) == registry.NAMES


@pytest.mark.parametrize("algorithm", NAMES)
@settings(max_examples=25)
@given(data=st.data())
def test_nan_and_inf_propagate_like_torch(algorithm, data):
    check_against_torch(data.draw(cases_for(algorithm, values="special")), algorithm)


@pytest.mark.parametrize("algorithm", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vgg_like_layer(algorithm, dtype, device):
    """A layer shaped like VGG16's (3x3, padding 1, 64 -> 32 channels) at a size tests can afford."""
    x = make_array(0, (2, 64, 12, 10), dtype)
    w = make_array(1, (32, 64, 3, 3), dtype) * 0.05
    b = make_array(2, (32,), dtype)
    case = dict(x=x, weight=w, bias=b, kwargs=dict(padding=1))
    if algorithm == "naive":
        case["x"] = x[:1, :, :6, :5]
    check_against_torch(case, algorithm, device)
    out = F.conv2d(case["x"], w, b, padding=1, algorithm=algorithm)
    assert out.flags.c_contiguous


@pytest.mark.parametrize("padding", ["same", (1, 2, 0, 3)])
def test_same_and_asymmetric_padding_put_extra_at_bottom_right(padding):
    """An even 2x2 kernel of ones with 'same': torch pads 0 rows on top and 1 at the bottom."""
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    out = F.conv2d(x, np.ones((1, 1, 2, 2)), padding=padding)
    ref = torch_op("conv2d", x, np.ones((1, 1, 2, 2)), padding=padding)
    np.testing.assert_array_equal(out, ref)
    if padding == "same":
        assert out[0, 0, 0, 0] == 0 + 1 + 4 + 5  # window starts at the top-left pixel itself
        assert out[0, 0, 3, 3] == 15  # the last window hangs over the bottom-right zeros


def test_conv_algorithm_context_manager_sets_the_default(monkeypatch):
    x = make_array(3, (1, 2, 5, 5), np.float32)
    w = make_array(4, (2, 2, 2, 2), np.float32)
    seen = []
    real_resolve = F.conv.resolve
    monkeypatch.setattr(F.conv, "resolve", lambda name, *a: seen.append(name) or real_resolve(name, *a))
    assert minicnn.get_conv_algorithm() == "default"
    with minicnn.conv_algorithm("naive"):
        F.conv2d(x, w)
        with minicnn.conv_algorithm("numba"):
            F.conv2d(x, w)
        F.conv2d(x, w, algorithm="im2col")  # an explicit argument wins over the default
    F.conv2d(x, w)  # back to the default rule
    assert seen == ["naive", "numba", "im2col", "default"]
    assert minicnn.get_conv_algorithm() == "default"


def test_unknown_algorithm_is_refused():
    x = np.zeros((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="unknown conv2d algorithm 'fast'.*naive"):
        F.conv2d(x, x, algorithm="fast")
    with pytest.raises(ValueError, match="unknown conv2d algorithm"):
        with minicnn.conv_algorithm("fft"):
            pass


@given(st.data())
def test_auto_picks_a_correct_algorithm(data):
    case = data.draw(conv_cases())
    check_against_torch(case, "auto")


def test_empty_batch_gives_torch_shape():
    x, w = np.ones((0, 3, 6, 6), np.float32), np.ones((4, 3, 3, 3), np.float32)
    ref = torch_op("conv2d", x, w)
    for algorithm in NAMES:
        assert F.conv2d(x, w, algorithm=algorithm).shape == ref.shape == (0, 4, 4, 4)


def test_zero_input_channels_sum_nothing():
    """With C_in = 0 every sum is empty: the output is the bias. (torch 2.14 returns 0 output channels
    here, which contradicts its own shape formula; minicnn keeps the formula.)"""
    x, w, b = np.ones((1, 0, 6, 6)), np.ones((4, 0, 3, 3)), np.arange(4.0)
    for algorithm in NAMES:
        out = F.conv2d(x, w, b, algorithm=algorithm)
        np.testing.assert_array_equal(out, np.broadcast_to(b[None, :, None, None], (1, 4, 4, 4)))
