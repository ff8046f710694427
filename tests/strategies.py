"""Hypothesis strategies that draw shapes *and* hyper-parameters, and arrays in any memory layout.

A case is a dict of NumPy arrays plus keyword arguments, valid for both minicnn and torch. Array values
come from a NumPy generator seeded by Hypothesis (fast, and still shrinkable through the seed).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

DTYPES = (np.float32, np.float64)
LAYOUTS = ("C", "F", "strided", "flipped", "channels_last")
ints = st.integers


def make_array(seed, shape, dtype, layout="C", values="normal"):
    """A random array of ``shape`` and ``dtype`` whose memory layout is ``layout``:

    C (contiguous), F (Fortran order), strided (every other element of a larger array), flipped
    (negative strides on the last two axes), channels_last (a 4-D array stored pixel by pixel, memory order
    N, H, W, C, as torch.channels_last: the layout minicnn's models run in; other ranks stay C-contiguous).
    ``values``: normal, ties (small integers, for max pooling), or special (normal with NaN, +inf and -inf
    sprinkled in).
    """
    rng = np.random.default_rng(seed)
    if values == "ties":
        a = rng.integers(-2, 3, size=shape).astype(dtype)
    else:
        a = rng.standard_normal(shape).astype(dtype)
    if values == "special" and a.size:
        pick = rng.random(shape)
        a[pick < 0.08] = np.nan
        a[(pick >= 0.08) & (pick < 0.14)] = np.inf
        a[(pick >= 0.14) & (pick < 0.20)] = -np.inf
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided" and a.ndim:
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if layout == "flipped" and a.ndim >= 2:
        return np.ascontiguousarray(a[..., ::-1, ::-1])[..., ::-1, ::-1]
    if layout == "channels_last" and a.ndim == 4:
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return a


def same_pads(kernel, dilation):
    """padding='same' for stride 1, as torch does it: total d*(k-1), the odd one at the end."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


@st.composite
def conv_cases(draw, dtype=None, values="normal", depthwise=False, pointwise=False, winograd=False):
    """Every conv2d configuration: groups (depthwise and channel multipliers too), per-axis kernel,
    stride and dilation, every padding form, batched or unbatched, with or without bias, any layout.
    ``depthwise``: one input channel per group (2 to 5 groups); ``pointwise``: 1x1 kernels, one group;
    ``winograd``: 3x3 kernels, stride and dilation 1, one group (what Winograd computes)."""
    dtype = dtype or draw(st.sampled_from(DTYPES))
    groups = 1 if pointwise or winograd else draw(ints(2, 5) if depthwise else ints(1, 3))
    c_in_g = 1 if depthwise else draw(ints(1, 3))
    c_out_g = draw(ints(1, 3))
    kh, kw, dh, dw = draw(ints(1, 4)), draw(ints(1, 4)), draw(ints(1, 3)), draw(ints(1, 3))
    if pointwise:
        kh = kw = 1
    if winograd:
        kh, kw, dh, dw = 3, 3, 1, 1
    kind = draw(st.sampled_from(["int", "pair", "valid", "same", "tuple4"]))
    stride = (1, 1) if kind == "same" or winograd else (draw(ints(1, 3)), draw(ints(1, 3)))
    if kind == "int":
        padding = draw(ints(0, 3))
        pads = (padding,) * 4
    elif kind == "pair":
        padding = (draw(ints(0, 3)), draw(ints(0, 3)))
        pads = (padding[0], padding[0], padding[1], padding[1])
    elif kind == "valid":
        padding, pads = "valid", (0, 0, 0, 0)
    elif kind == "same":
        padding, pads = "same", same_pads(kh, dh) + same_pads(kw, dw)
    else:
        padding = tuple(draw(ints(0, 3)) for _ in range(4))  # (left, right, top, bottom)
        pads = (padding[2], padding[3], padding[0], padding[1])
    min_h = max(1, dh * (kh - 1) + 1 - pads[0] - pads[1])
    min_w = max(1, dw * (kw - 1) + 1 - pads[2] - pads[3])
    h, w = draw(ints(min_h, min_h + 7)), draw(ints(min_w, min_w + 7))
    n, batched = draw(ints(1, 2)), draw(st.booleans())
    seed, layout = draw(ints(0, 2**32 - 1)), draw(st.sampled_from(LAYOUTS))
    x_shape = (n, groups * c_in_g, h, w) if batched else (groups * c_in_g, h, w)
    x = make_array(seed, x_shape, dtype, layout, values)
    weight = make_array(seed + 1, (groups * c_out_g, c_in_g, kh, kw), dtype, draw(st.sampled_from(LAYOUTS)))
    bias = make_array(seed + 2, (groups * c_out_g,), dtype) if draw(st.booleans()) else None
    kwargs = dict(stride=stride, padding=padding, dilation=(dh, dw), groups=groups)
    if draw(st.booleans()):  # also exercise the scalar forms torch accepts
        kwargs["stride"] = stride[0] if stride[0] == stride[1] else stride
        kwargs["dilation"] = dh if dh == dw else (dh, dw)
    return dict(x=x, weight=weight, bias=bias, kwargs=kwargs)


@st.composite
def pool_cases(draw, dtype=None, values=None, dilation=True):
    """max/avg pooling configurations: kernel, stride (or None), padding up to half the kernel,
    dilation, ceil_mode, any input large enough for one window."""
    dtype = dtype or draw(st.sampled_from(DTYPES))
    values = values or draw(st.sampled_from(["normal", "ties"]))
    kh, kw = draw(ints(1, 4)), draw(ints(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(ints(1, 3), ints(1, 3)), ints(1, 3)))
    ph, pw = draw(ints(0, kh // 2)), draw(ints(0, kw // 2))
    dh, dw = (draw(ints(1, 3)), draw(ints(1, 3))) if dilation else (1, 1)
    min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
    min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
    h, w = draw(ints(min_h, min_h + 8)), draw(ints(min_w, min_w + 8))
    shape = (draw(ints(1, 2)), draw(ints(1, 3)), h, w) if draw(st.booleans()) else (draw(ints(1, 3)), h, w)
    x = make_array(draw(ints(0, 2**32 - 1)), shape, dtype, draw(st.sampled_from(LAYOUTS)), values)
    kwargs = dict(kernel_size=(kh, kw), stride=stride, padding=(ph, pw), ceil_mode=draw(st.booleans()))
    if dilation:
        kwargs["dilation"] = (dh, dw)
    return dict(x=x, kwargs=kwargs)
