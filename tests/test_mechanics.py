"""The pictures of the mechanics (minicnn/demo/mechanics.py) state facts; these tests check the facts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn.functional as F
from minicnn import nn
from minicnn.autograd import Tensor
from minicnn.demo import mechanics

ints = st.integers


@settings(max_examples=300, deadline=None)
@given(i=ints(1, 12), k=ints(1, 5), s=ints(1, 4), p=ints(0, 3), d=ints(1, 3))
def test_conv_arithmetic_relation_is_what_conv2d_returns(i, k, s, p, d):
    """Dumoulin and Visin's relation o = floor((i + 2p - d(k - 1) - 1) / s) + 1, for every valid case."""
    if d * (k - 1) + 1 > i + 2 * p:
        return  # the kernel does not fit: conv2d refuses (tested in test_errors.py)
    out = F.conv2d(np.zeros((1, 1, i, i)), np.zeros((1, 1, k, k)), stride=s, padding=p, dilation=d)
    assert out.shape[-1] == mechanics.output_size(i, k, s, p, d)


def test_receptive_field_rule_matches_the_support_of_a_gradient():
    """r += (k - 1) * jump, jump *= s, layer by layer: the input pixels that the centre output pixel depends on
    (where its gradient is nonzero, with positive weights and inputs so that nothing cancels) form an r x r square."""

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1),
                                          nn.AvgPool2d(2), nn.Conv2d(2, 2, 3, padding=1), nn.AvgPool2d(2),
                                          nn.Conv2d(2, 1, 3, padding=1))  # fmt: skip

    model = Stack().double()
    for p in model.parameters():
        p[...] = np.abs(p) + 0.1
    rows = mechanics.receptive_fields(model)
    assert [side for _, _, side, _ in rows] == [3, 3, 5, 6, 10, 12, 20]
    x = np.ones((1, 1, 64, 64)).view(Tensor).requires_grad_()
    out = model.features(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows_hit, cols_hit = np.nonzero(x.grad[0, 0])
    assert rows_hit.max() - rows_hit.min() + 1 == rows[-1][2] == cols_hit.max() - cols_hit.min() + 1


def test_the_window_picture_sums_what_conv2d_computes_and_im2col_has_a_column_per_window():
    rng = np.random.default_rng(0)
    channel = rng.random((40, 40)).astype(np.float32)
    kernel = np.array([[-1.0, 0.0, 1.0]] * 3, np.float32)
    _, total, out = mechanics.window_sum(channel, kernel, (10, 20), lambda key, **v: key, lambda v: f"{v:.2f}")
    assert abs(total - out) < 1e-6 and abs(out - float((channel[10:13, 20:23] * kernel).sum())) < 1e-6
    _, shape = mechanics.im2col_picture(channel, (5, 5), 12, lambda key, **v: key)
    assert shape == (9, 100)
