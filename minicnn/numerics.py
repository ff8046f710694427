"""Numerical tolerances and the error measure, written once (explained in docs/testing.md).

Every value minicnn computes is compared with a float64 reference computed by PyTorch on float64 copies
of the same inputs. The error is the *normalized max error*

    err = max_i |actual_i - reference_i| / scale

where ``scale`` is max_i |reference_i| unless the caller gives the size of the terms being summed
(for conv2d and linear, max of ``conv2d(|x|, |w|) + |b|``, so that outputs that cancel to nearly zero
cannot inflate the error). ``minicnn.testing`` re-exports these with its comparison helper; ``auto`` and
``optimize`` use them to refuse a kernel whose result is off.
"""

from __future__ import annotations

import numpy as np

#: Largest normalized max error accepted, per dtype and per kind of computation, with the reason.
#: u32 = 2**-24 ~ 6.0e-8 and u64 = 2**-53 ~ 1.1e-16 are the unit roundoffs.
TOLERANCES: dict[str, dict[str, float]] = {
    "float32": {
        # Values are picked or copied, never rounded: max pooling, relu, relu6, pad, dropout masks.
        "exact": 0.0,
        # A few roundings per element, or sums of up to ~1e4 terms normalized by the largest output:
        # softmax, log_softmax, avg/adaptive pooling, batch_norm. Measured <= 3e-7 on the test shapes.
        "reduction": 2e-6,
        # Convolution by direct summation (every algorithm but Winograd: naive, im2col, GEMMs, compiled loops, the
        # CUDA kernels): sums of K = C_in_g*KH*KW products, normalized by the size of the terms. Rounding grows
        # like sqrt(K)*u32 for random data (K*u32 in the worst case); K = 4608 for VGG16's widest layer gives
        # ~4e-6. Each kernel sums in its own order, all under the same bound.
        "direct": 2e-5,
        # Winograd's transforms multiply by constants up to 5 (and divide by 24) before rounding, which
        # amplifies float32 rounding: measured 3.0e-6 (F(4x4, 3x3)) and 1.2e-7 (F(2x2, 3x3)) on VGG16's
        # layers with random data, against 1e-7 for direct summation. 10x headroom over the measurement.
        "winograd4": 5e-5,
        "winograd2": 2e-5,
        "auto": 5e-5,  # the largest of the algorithms "auto" chooses from
        "linear": 2e-5,
        # Every module's output inside a whole network (VGG16, ResNet50), normalized by that output's
        # largest value: errors of ~15-50 layers accumulate. Measured <= 1.5e-6 on random weights, about
        # torch's own float32 error against float64 (1.9e-6).
        "model": 2e-5,
        # Gradients (backward of every op, checked against torch.autograd in float64): the sums of a convolution's
        # backward run over N*OH*OW products (weight) or C_out_g*KH*KW (input), normalized by the largest gradient;
        # the rest as "reduction". Measured <= 2e-6 on the test shapes; 10x headroom.
        "gradient": 2e-5,
    },
    "float64": {
        "exact": 0.0,
        "reduction": 1e-13,
        "direct": 1e-12,  # the same reasoning with u64: sqrt(K)*u64 ~ 1e-14, K*u64 ~ 5e-13
        "winograd4": 1e-11,
        "winograd2": 1e-11,
        "auto": 1e-11,
        "linear": 1e-12,
        "model": 1e-12,
        "gradient": 1e-12,
    },
}


def tolerance(dtype, kind: str) -> float:
    """The tolerance for results of ``dtype`` computed by ``kind`` (a key of ``TOLERANCES``)."""
    table = TOLERANCES.get(np.dtype(dtype).name)
    if table is None or kind not in table:
        raise KeyError(f"no tolerance written down for dtype {np.dtype(dtype).name} and kind {kind!r}")
    return table[kind]


def normalized_max_error(actual, reference, scale=None) -> float:
    """max |actual - reference| / scale over the finite reference values (scale: max |reference|)."""
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    finite = np.isfinite(r)
    if not finite.any():
        return 0.0
    diff = np.abs(a[finite] - r[finite])
    s = float(np.max(np.abs(r[finite]))) if scale is None else float(scale)
    worst = float(diff.max())
    return worst / s if s > 0 else worst
