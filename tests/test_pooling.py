"""Pooling against torch.nn.functional: values, indices, shapes and dtypes, ceil_mode and padding rules."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn.functional as F
from minicnn.testing import assert_close
from reference.functional import torch_op
from tests.devices import run_op
from tests.strategies import DTYPES, LAYOUTS, make_array, pool_cases


def check(op, x, kind, device="cpu", **kwargs):
    got = run_op(device, op, x, **kwargs)
    same = torch_op(op, x, device=device, **kwargs)
    ref = torch_op(op, x, device=device, float64=True, **kwargs)
    if kwargs.get("return_indices"):
        assert_close(got[0], ref[0], kind=kind, dtype=same[0].dtype, name=f"{op} values")
        assert_close(got[1], same[1], kind="exact", dtype=same[1].dtype, name=f"{op} indices")
    else:
        assert_close(got, ref, kind=kind, dtype=same.dtype, name=op)


@given(case=pool_cases(), return_indices=st.booleans())
def test_max_pool2d(case, return_indices, device):
    check("max_pool2d", case["x"], "exact", device, return_indices=return_indices, **case["kwargs"])


@given(case=pool_cases(values="special"))
def test_max_pool2d_nan_and_inf(case):
    """NaN always wins (the last NaN gives the index); all -inf windows report their first input position."""
    check("max_pool2d", case["x"], "exact", return_indices=True, **case["kwargs"])


@given(case=pool_cases(dilation=False), count_include_pad=st.booleans(), divisor=st.sampled_from([None, 1, 3, -2]))
def test_avg_pool2d(case, count_include_pad, divisor, device):
    check(
        "avg_pool2d",
        case["x"],
        "reduction",
        device,
        count_include_pad=count_include_pad,
        divisor_override=divisor,
        **case["kwargs"],
    )


@st.composite
def adaptive_cases(draw):
    dtype = draw(st.sampled_from(DTYPES))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w) if draw(st.booleans()) else (2, h, w)
    values = draw(st.sampled_from(["normal", "ties", "special"]))
    x = make_array(draw(st.integers(0, 2**32 - 1)), shape, dtype, draw(st.sampled_from(LAYOUTS)), values)
    size = draw(
        st.one_of(
            st.integers(1, 12),  # also larger than the input: windows repeat
            st.tuples(st.one_of(st.none(), st.integers(1, 12)), st.one_of(st.none(), st.integers(1, 12))),
        )
    )
    return x, size


@given(case=adaptive_cases())
def test_adaptive_avg_pool2d(case, device):
    x, size = case
    check("adaptive_avg_pool2d", x, "reduction", device, output_size=size)


@given(case=adaptive_cases(), return_indices=st.booleans())
def test_adaptive_max_pool2d(case, return_indices, device):
    x, size = case
    check("adaptive_max_pool2d", x, "exact", device, output_size=size, return_indices=return_indices)


def test_notebook_example_2x2_max_pooling():
    """The notebook's cell: a 4x4 map, 2x2 max pooling halves each side and keeps each square's max."""
    x = np.array([[[[1, 2, 5, 0], [3, 4, 1, 1], [0, 0, 9, 8], [7, 0, 6, 5]]]], np.float32)
    out, idx = F.max_pool2d(x, kernel_size=2, return_indices=True)
    np.testing.assert_array_equal(out, [[[[4, 5], [7, 9]]]])
    np.testing.assert_array_equal(idx, [[[[5, 2], [12, 10]]]])


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_ceil_mode_drops_a_window_starting_in_the_padding(ceil_mode):
    """H=5, k=2, s=2, p=1: ceil((5+2-2)/2)+1 = 4 windows, but the 4th would start at padded row 6 >= 5+1."""
    x = make_array(0, (1, 1, 5, 5), np.float64)
    out = F.max_pool2d(x, 2, 2, padding=1, ceil_mode=ceil_mode)
    assert out.shape == torch_op("max_pool2d", x, 2, 2, padding=1, ceil_mode=ceil_mode).shape == (1, 1, 3, 3)
    out = F.avg_pool2d(x, 3, 2, padding=0, ceil_mode=ceil_mode)
    assert out.shape == torch_op("avg_pool2d", x, 3, 2, padding=0, ceil_mode=ceil_mode).shape


def test_empty_batch():
    x = np.zeros((0, 2, 6, 6), np.float32)
    assert F.max_pool2d(x, 2).shape == torch_op("max_pool2d", x, 2).shape == (0, 2, 3, 3)
    assert F.avg_pool2d(x, 2).shape == (0, 2, 3, 3)
    assert F.adaptive_avg_pool2d(x, 7).shape == (0, 2, 7, 7)
