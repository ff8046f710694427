"""One comparison helper (the tolerances and the error measure live in ``minicnn.numerics``; docs/testing.md).

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

from minicnn.numerics import TOLERANCES, normalized_max_error, tolerance  # noqa: F401 - re-exported


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
