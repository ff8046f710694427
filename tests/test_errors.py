"""Bad input: each case must be refused by torch too, and minicnn's error must name the problem.

A case is (op, args, kwargs, expected exception, regex the message must match). Arrays are float32
unless the case says otherwise; ``x`` is (1, 3, 8, 8) and ``w`` is (4, 3, 3, 3).
"""

import numpy as np
import pytest

import minicnn.functional as F
from reference.functional import torch_op

x = np.zeros((1, 3, 8, 8), np.float32)
w = np.zeros((4, 3, 3, 3), np.float32)
f64 = np.float64

CASES = [
    # conv2d
    ("conv2d", (np.zeros((1, 5, 8, 8), np.float32), w), {}, ValueError, r"expected input\[1, 5, 8, 8\] to have 3 channels, but got 5"),
    ("conv2d", (np.zeros((1, 4, 8, 8), np.float32), np.zeros((3, 2, 3, 3), np.float32)), {"groups": 2}, ValueError, r"divisible by 2 at dimension 0.*\[3, 2, 3, 3\]"),
    ("conv2d", (np.zeros((1, 4, 8, 8), np.float32), np.zeros((0, 4, 3, 3), np.float32)), {}, ValueError, r"groups=1, expected weight to be at least 1 at dimension 0.*\[0, 4, 3, 3\]"),
    ("conv2d", (x, w), {"groups": 0}, ValueError, "non-positive groups"),
    ("conv2d", (np.zeros((1, 3, 2, 2), np.float32), w), {}, ValueError, r"padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\)"),
    ("conv2d", (np.zeros((1, 3, 4, 4), np.float32), w), {"dilation": 2}, ValueError, r"\(4 x 4\). Kernel size: \(5 x 5\)"),
    ("conv2d", (x, w), {"padding": -1}, ValueError, "negative padding"),
    ("conv2d", (x, w), {"stride": 0}, ValueError, "non-positive stride"),
    ("conv2d", (x, w), {"stride": (1, -2)}, ValueError, "non-positive stride"),
    ("conv2d", (x, w), {"dilation": 0}, ValueError, "dilation should be greater than zero"),
    ("conv2d", (x, w), {"padding": "same", "stride": 2}, ValueError, "padding='same' is not supported for strided"),
    ("conv2d", (x, w), {"padding": "full"}, ValueError, "Invalid padding string: 'full'"),
    ("conv2d", (np.zeros((3, 8), np.float32), w), {}, ValueError, r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[3, 8\]"),
    ("conv2d", (np.zeros((1, 1, 3, 8, 8), np.float32), w), {}, ValueError, r"input of size: \[1, 1, 3, 8, 8\]"),
    ("conv2d", (x.astype(f64), w), {}, TypeError, r"input dtype \(float64\) and weight dtype \(float32\)"),
    ("conv2d", (x, w, np.zeros(4, f64)), {}, TypeError, r"input dtype \(float32\) and bias dtype \(float64\)"),
    ("conv2d", (x, w, np.zeros(5, np.float32)), {}, ValueError, r"expected bias to be 1-dimensional with 4 elements, but got bias of size \[5\]"),
    ("conv2d", (x, np.zeros((4, 3, 3), np.float32)), {}, ValueError, r"4-D weight.*\[4, 3, 3\]"),
    ("conv2d", (x.tolist(), w), {}, TypeError, "argument 'input' must be a numpy.ndarray, not list"),
    # pooling
    ("max_pool2d", (np.zeros((1, 1, 8, 8), np.float32), 3), {"padding": 2}, ValueError, "pad should be at most half of effective kernel size, but got pad=2, kernel_size=3"),
    ("avg_pool2d", (np.zeros((1, 1, 8, 8), np.float32), 3), {"padding": 2}, ValueError, "pad should be at most half"),
    ("max_pool2d", (np.zeros((1, 1, 2, 2), np.float32), 3), {}, ValueError, r"Given input size: \(1x2x2\). Calculated output size: \(1x0x0\). Output size is too small"),
    ("avg_pool2d", (np.zeros((1, 1, 2, 2), np.float32), 3), {}, ValueError, "Output size is too small"),
    ("max_pool2d", (np.zeros((1, 1, 8, 8), np.float32), 2), {"stride": 0}, ValueError, "stride should be greater than zero"),
    ("max_pool2d", (np.zeros((1, 1, 8, 8), np.float32), 2), {"dilation": 0}, ValueError, "dilation should be greater than zero"),
    ("max_pool2d", (np.zeros((8, 8), np.float32), 2), {}, ValueError, r"input of size: \[8, 8\]"),
    ("max_pool2d", (np.zeros((1, 0, 8, 8), np.float32), 2), {}, ValueError, r"optional 0 dim batch size for input, but got:\[1, 0, 8, 8\]"),
    ("avg_pool2d", (np.zeros((1, 1, 8, 8), np.float32), 2), {"divisor_override": 0}, ValueError, "divisor must be not zero"),
    ("adaptive_avg_pool2d", (np.zeros((1, 1, 4, 4), np.float32), (-1, 2)), {}, ValueError, "greater than or equal to 0"),
    ("adaptive_max_pool2d", (np.zeros((1, 1, 0, 4), np.float32), 2), {}, ValueError, r"\[1, 1, 0, 4\]"),
    # the rest
    ("linear", (np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32)), {}, ValueError, r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 5x4\)"),
    ("linear", (np.zeros((2, 3), np.float32), np.zeros((4, 3), f64)), {}, TypeError, "dtype"),
    ("batch_norm", (np.zeros((1, 3, 1, 1), np.float32), np.zeros(3, np.float32), np.ones(3, np.float32)), {"training": True}, ValueError, r"Expected more than 1 value per channel when training, got input size \[1, 3, 1, 1\]"),
    ("batch_norm", (np.zeros((2, 3), np.float32), np.zeros(4, np.float32), np.ones(4, np.float32)), {}, ValueError, "running_mean should contain 3 elements not 4"),
    ("batch_norm", (np.zeros((2, 3), np.float32), None, None), {}, ValueError, "must be defined in evaluation mode"),
    ("softmax", (np.zeros((2, 3), np.float32),), {"dim": 2}, IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("log_softmax", (np.zeros((2, 3), np.float32),), {"dim": -3}, IndexError, "Dimension out of range"),
    ("dropout", (np.zeros(3, np.float32),), {"p": 1.5}, ValueError, "dropout probability has to be between 0 and 1, but got 1.5"),
    ("pad", (np.zeros((1, 1, 3, 3), np.float32), (3, 3, 0, 0)), {"mode": "reflect"}, ValueError, r"Padding size should be less than the corresponding input dimension, but got: padding \(3, 3\)"),
    ("pad", (np.zeros((1, 1, 3, 3), np.float32), (4, 0, 0, 0)), {"mode": "circular"}, ValueError, "wrapping around more than once"),
    ("pad", (np.zeros((1, 1, 3, 3), np.float32), (1, 2, 3)), {}, ValueError, "Padding length must be divisible by 2"),
    ("pad", (np.zeros((3, 3), np.float32), (1, 1, 1, 1, 1, 1)), {}, ValueError, "padding length 6 and input of dimension 2"),
    ("pad", (np.zeros((1, 1, 3, 3), np.float32), (-2, -2)), {}, ValueError, "negative size"),
    ("pad", (np.zeros((1, 2, 1, 1), np.float32), (0, 0, 0, 0, -1, -1)), {"mode": "replicate"}, ValueError, "must be >= 1"),
    ("pad", (np.zeros((3, 3), np.float32), (1, 1, 1, 1)), {"mode": "reflect"}, ValueError, "Padding size 4 is not supported for 2D input"),
    ("pad", (np.zeros((1, 1, 3, 3), np.float32), (1, 1)), {"mode": "wrap"}, ValueError, "Unrecognised padding mode 'wrap'"),
    ("pad", (np.zeros((1, 1, 3, 3), np.float32), (1, 1)), {"mode": "reflect", "value": 1.0}, ValueError, "doesn't take in value"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "args", "kwargs", "error", "message"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_is_refused_like_torch(op, args, kwargs, error, message):
    with pytest.raises(Exception):  # noqa: B017 - torch raises RuntimeError, ValueError, IndexError...
        torch_op(op, *[np.asarray(a) if isinstance(a, list) else a for a in args], **kwargs)
    with pytest.raises(error, match=message):
        getattr(F, op)(*args, **kwargs)


def test_integer_input_is_a_clear_type_error():
    """torch accepts int64 in conv2d and relu on the CPU; minicnn computes in float only and says how to convert."""
    with pytest.raises(TypeError, match=r"dtype int64.*astype\(numpy.float32\)"):
        F.conv2d(np.zeros((1, 3, 8, 8), np.int64), w)
    with pytest.raises(TypeError, match=r"relu\(\): argument 'input' has dtype int32"):
        F.relu(np.zeros(3, np.int32))
