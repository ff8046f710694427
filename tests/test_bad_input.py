"""Bad input to every public function and module: torch's result, or a clear error that names the problem.

Each row: what is called, then either "like torch" (the same call in torch must give the same result) or
the exception and a regex its message must match. Arrays that are merely unusual (non-contiguous, negatively
strided, empty batches) must work.
"""

import numpy as np
import pytest
import torch

import minicnn.functional as F
from minicnn import hub, load_checkpoint, models, nn, transforms
from minicnn.checkpoint import CheckpointError
from minicnn.testing import assert_close
from reference.functional import torch_op

rng = np.random.default_rng(0)
x4 = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
w4 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
flipped = np.ascontiguousarray(x4[:, :, ::-1, ::-1])[:, :, ::-1, ::-1]  # negative strides
strided = np.zeros((2, 3, 8, 16), np.float32)[..., ::2]  # non-contiguous
strided[...] = x4
x4_cl = np.ascontiguousarray(x4.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # channels-last, as the models pass

LIKE_TORCH = [
    ("conv2d on negatively strided input", "conv2d", (flipped, w4), {"padding": 1}),
    ("conv2d on strided input", "conv2d", (strided, w4), {"stride": 2}),
    ("conv2d on an empty batch", "conv2d", (x4[:0], w4), {}),
    ("conv2d on a channels-last empty batch", "conv2d", (x4_cl[:0], w4), {"padding": 1}),
    ("max_pool2d on negatively strided input", "max_pool2d", (flipped, 2), {}),
    ("avg_pool2d on strided input", "avg_pool2d", (strided, 3), {"padding": 1}),
    ("adaptive_avg_pool2d on an empty batch", "adaptive_avg_pool2d", (x4[:0], 3), {}),
    ("adaptive_avg_pool2d to no rows", "adaptive_avg_pool2d", (x4, (0, 2)), {}),
    ("adaptive_avg_pool2d to nothing", "adaptive_avg_pool2d", (x4_cl, 0), {}),
    ("linear with no rows", "linear", (np.zeros((0, 5), np.float32), np.ones((2, 5), np.float32)), {}),
    ("linear on a transposed weight", "linear", (x4.reshape(2, -1)[:, :8], np.ones((8, 4), np.float32).T), {}),
    ("softmax of an empty axis", "softmax", (np.zeros((3, 0), np.float32),), {"dim": 1}),
    ("relu of a flipped array", "relu", (flipped,), {}),
    ("pad of a strided array", "pad", (strided, (1, 2, 0, 1)), {"mode": "reflect"}),
]


@pytest.mark.parametrize(("what", "op", "args", "kwargs"), LIKE_TORCH, ids=[c[0] for c in LIKE_TORCH])
def test_unusual_but_valid_input_gives_torchs_result(what, op, args, kwargs):
    got = getattr(F, op)(*args, **kwargs)
    ref = torch_op(op, *args, float64=True, **kwargs)
    assert_close(got, ref, kind="direct", dtype=np.float32)


def vgg_on_gray():
    models.vgg16()(np.zeros((1, 1, 32, 32), np.float32))


ERRORS = [
    ("Conv2d with the wrong channel count", lambda: nn.Conv2d(3, 8, 3)(np.zeros((1, 4, 8, 8), np.float32)),
     ValueError, r"expected input\[1, 4, 8, 8\] to have 3 channels"),
    ("Linear with the wrong feature count", lambda: nn.Linear(10, 5)(np.zeros((2, 7), np.float32)),
     ValueError, r"mat1 and mat2 shapes cannot be multiplied \(2x7 and 10x5\)"),
    ("BatchNorm2d on 3-D input", lambda: nn.BatchNorm2d(3)(np.zeros((3, 4, 4), np.float32)),
     ValueError, "expected 4D input"),
    ("BatchNorm2d with the wrong channel count", lambda: nn.BatchNorm2d(3).eval()(np.zeros((1, 4, 2, 2), np.float32)),
     ValueError, "running_mean should contain 4 elements not 3"),
    ("MaxPool2d larger than the image", lambda: nn.MaxPool2d(2)(np.zeros((1, 1, 1, 1), np.float32)),
     ValueError, "Output size is too small"),
    ("VGG16 on a grayscale batch", vgg_on_gray, ValueError, "to have 3 channels, but got 1 channels"),
    ("a model on float64 input", lambda: nn.Conv2d(3, 2, 1)(np.zeros((1, 3, 2, 2))),
     TypeError, r"input dtype \(float64\) and weight dtype \(float32\)"),
    ("a model on integer input", lambda: nn.Conv2d(3, 2, 1)(np.zeros((1, 3, 2, 2), np.int64)),
     TypeError, "dtype int64"),
    ("a model on a list", lambda: nn.ReLU()([1.0, -1.0]), TypeError, "must be a numpy.ndarray, not list"),
    ("load_state_dict of a list", lambda: nn.Conv2d(1, 1, 1).load_state_dict([1, 2]),
     TypeError, "expects a mapping"),
    ("load_state_dict of a wrong shape", lambda: nn.Conv2d(1, 1, 1).load_state_dict({"weight": np.zeros((2, 1, 1, 1)),
     "bias": np.zeros(1)}), ValueError, r"size mismatch for weight: copying a param with shape \(2, 1, 1, 1\)"),
    ("a forward hook with two arguments", lambda: nn.ReLU().register_forward_hook(lambda m, o: None),
     TypeError, r"must accept \(module, inputs, output\)"),
    ("a pre-hook that is not callable", lambda: nn.ReLU().register_forward_pre_hook(3), TypeError, "callable"),
    ("a conv kernel larger than the image", lambda: F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 9, 9))),
     ValueError, r"Kernel size: \(9 x 9\). Kernel size can't be greater than actual input size"),
    ("an empty image", lambda: F.max_pool2d(np.zeros((1, 1, 0, 5), np.float32), 2), ValueError, r"\[1, 1, 0, 5\]"),
    ("batch_norm with mixed dtypes", lambda: F.batch_norm(np.zeros((2, 3)), np.zeros(3, np.float32), np.ones(3)),
     TypeError, "running_mean dtype"),
    ("Resize to a negative size", lambda: transforms.Resize(-3), ValueError, "positive int"),
    ("Normalize with the wrong channel count",
     lambda: transforms.Normalize([0.5] * 3, [0.5] * 3)(np.zeros((4, 2, 2), np.float32)),
     ValueError, "3 means and 3 stds for 4 channels"),
    ("load_checkpoint of a folder", lambda: load_checkpoint("."), CheckpointError, "is a folder"),
    ("download from a non-URL", lambda: hub.download_url_to_file("not a url", "x.pth", progress=False),
     hub.DownloadError, "cannot download 'not a url'"),
    ("weights of another model", lambda: models.vgg16(weights=models.ResNet50_Weights.IMAGENET1K_V1),
     ValueError, "are not weights for vgg16"),
    ("an unknown weights name", lambda: models.resnet50(weights="IMAGENET1K_V9"), ValueError, "IMAGENET1K_V9"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "call", "error", "message"), ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_input_raises_a_clear_error(what, call, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing a failing call might write lands in the repository
    with pytest.raises(error, match=message):
        call()
    assert list(tmp_path.iterdir()) == []  # and nothing half-written is left behind


def test_torch_refuses_what_minicnn_refuses():
    """The shape errors above are errors in torch too (their messages are the model for minicnn's)."""
    with pytest.raises(RuntimeError):
        torch.nn.Conv2d(3, 8, 3)(torch.zeros(1, 4, 8, 8))
    with pytest.raises(RuntimeError):
        torch.nn.Linear(10, 5)(torch.zeros(2, 7))
    with pytest.raises(ValueError):
        torch.nn.BatchNorm2d(3)(torch.zeros(3, 4, 4))
