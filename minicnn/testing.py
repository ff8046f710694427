"""One comparison helper, and the tolerance policy, written once (explained in docs/testing.md).

Every value minicnn computes is compared with a float64 reference computed by PyTorch on float64 copies
of the same inputs. The error is the *normalized max error*

    err = max_i |actual_i - reference_i| / scale

where ``scale`` is max_i |reference_i| unless the caller gives the size of the terms being summed
(for conv2d and linear, the tests pass max of ``conv2d(|x|, |w|) + |b|``, so that outputs that cancel
to nearly zero cannot inflate the error). NaN must appear exactly where the reference has NaN, and
infinities exactly where it has infinities of the same sign; integer results (indices) must be equal.
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
        # Sums of K = C_in_g*KH*KW products, normalized by the size of the terms. Rounding grows like
        # sqrt(K)*u32 for random data (K*u32 in the worst case); K = 4608 for VGG16's widest layer
        # gives ~4e-6. Each conv algorithm sums in its own order, all under the same bound.
        "naive": 2e-5,
        "im2col": 2e-5,
        "numba": 2e-5,
        # Winograd's transforms multiply by constants up to 5 (and divide by 24) before rounding, which
        # amplifies float32 rounding: measured 3.0e-6 (F(4x4, 3x3)) and 1.2e-7 (F(2x2, 3x3)) on VGG16's
        # layers with random data, against 1e-7 for direct summation. 10x headroom over the measurement.
        "winograd": 5e-5,
        "winograd2": 2e-5,
        "auto": 5e-5,  # the largest of the algorithms "auto" chooses from
        "linear": 2e-5,
        # Every module's output inside a whole network (VGG16, ResNet50), normalized by that output's
        # largest value: errors of ~15-50 layers accumulate. Measured <= 1.5e-6 on random weights, about
        # torch's own float32 error against float64 (1.9e-6).
        "model": 2e-5,
    },
    "float64": {
        "exact": 0.0,
        "reduction": 1e-13,
        "naive": 1e-12,  # the same reasoning with u64: sqrt(K)*u64 ~ 1e-14, K*u64 ~ 5e-13
        "im2col": 1e-12,
        "numba": 1e-12,
        "winograd": 1e-11,
        "winograd2": 1e-11,
        "auto": 1e-11,
        "linear": 1e-12,
        "model": 1e-12,
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


def assert_close(actual, expected, *, kind: str, dtype=None, scale=None, tol=None, name: str = "") -> float:
    """Assert ``actual`` matches the float64 ``expected`` (shape, dtype, special values, then values).

    Args:
        kind: which tolerance applies (see ``TOLERANCES``), ignored for integer arrays (must be equal).
        dtype: the dtype ``actual`` must have (torch's output dtype for the same inputs).
        scale: the normalizer of the error (default max |expected|).
        tol: overrides the tolerance (e.g. the sum of two when comparing two approximate results).
    Returns the normalized max error. On failure the message shows the worst element and the first values.
    """
    a, e = np.asarray(actual), np.asarray(expected)
    label = f"{name}: " if name else ""
    if a.shape != e.shape:
        raise AssertionError(f"{label}shape {a.shape} != expected {e.shape}")
    if dtype is not None and a.dtype != np.dtype(dtype):
        raise AssertionError(f"{label}dtype {a.dtype} != expected {np.dtype(dtype)}")
    if a.dtype.kind in "iub" or e.dtype.kind in "iub":
        bad = np.argwhere(a != e)
        if bad.size:
            at = tuple(int(i) for i in bad[0])
            raise AssertionError(f"{label}{len(bad)} integer values differ, first at {at}: {a[at]} != {e[at]}")
        return 0.0
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    for what, mask_a, mask_e in (
        ("NaN", np.isnan(a64), np.isnan(e64)),
        ("+inf", np.isposinf(a64), np.isposinf(e64)),
        ("-inf", np.isneginf(a64), np.isneginf(e64)),
    ):
        if not np.array_equal(mask_a, mask_e):
            at = tuple(int(i) for i in np.argwhere(mask_a != mask_e)[0])
            raise AssertionError(f"{label}{what} pattern differs, first at {at}: got {a64[at]}, expected {e64[at]}")
    limit = tolerance(a.dtype, kind) if tol is None else tol
    err = normalized_max_error(a64, e64, scale)
    if not err <= limit:
        finite = np.isfinite(e64)
        diff = np.where(finite, np.abs(a64 - e64), 0.0)
        at = np.unravel_index(np.argmax(diff), diff.shape)
        raise AssertionError(
            f"{label}normalized max error {err:.3g} > tolerance {limit:.3g} ({a.dtype}, {kind}); "
            f"worst at {tuple(int(i) for i in at)}: got {a64[at]!r}, expected {e64[at]!r}\n"
            f"  first values got      {a64.ravel()[:6]}\n  first values expected {e64.ravel()[:6]}"
        )
    return err
