"""minicnn on the GPU: the CUDA kernels under Numba's simulator in CI, against torch on a real GPU when present."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn.functional as F
from minicnn.kernels.registry import ALGORITHMS, tolerance_kind
from tests.devices import torch_cuda_available

ROOT = Path(__file__).resolve().parents[1]


def test_cuda_kernels_under_the_simulator_match_the_cpu_path():
    """Every op (both conv kernels, every padding form, pooling rules, batch norm in both modes) and a small
    network with VGG, ResNet and EfficientNet blocks moved by model.to("cuda"), on device arrays."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "cuda_sim_checks.py")], env=env, capture_output=True,
                            text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all 71 checks passed" in result.stdout


def test_device_arrays_refuse_mixing_with_host_arrays():
    from minicnn.cuda.array import DeviceArray

    fake = DeviceArray(np.zeros((1, 3, 4, 4), np.float32))  # the wrapper alone: no kernel runs
    with pytest.raises(TypeError, match="weight is on the CPU but the input is on the GPU"):
        F.conv2d(fake, np.zeros((2, 3, 3, 3), np.float32))
    with pytest.raises(
        TypeError,
        match=r"linear\(\): weight is on the CPU but the input is on the GPU: move it with minicnn.cuda.to_device",
    ):
        F.linear(fake, np.zeros((2, 4), np.float32))


@pytest.mark.parametrize("algorithm", [n for n, a in ALGORITHMS.items() if a.cuda is None])
def test_cpu_only_algorithms_say_so_on_the_gpu(algorithm):
    from minicnn.cuda.array import DeviceArray

    fake, weight = DeviceArray(np.zeros((1, 3, 4, 4), np.float32)), DeviceArray(np.zeros((2, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=f"conv2d algorithm '{algorithm}' has no CUDA kernel; on the GPU: default"):
        F.conv2d(fake, weight, algorithm=algorithm)


def test_ops_without_a_gpu_version_say_so():
    from minicnn.cuda.array import DeviceArray

    fake = DeviceArray(np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(NotImplementedError, match="dropout in training mode is not implemented on the GPU"):
        F.dropout(fake, 0.5, training=True)
    with pytest.raises(NotImplementedError, match="on the GPU, pad takes"):
        F.pad(fake, (1, 1, 1, 1, 1, 1))


@pytest.mark.parametrize("algorithm", ["naive", "im2col", "auto"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "kwargs", [dict(padding=1), dict(stride=2, dilation=2), dict(padding="same", groups=4), dict(padding=(1, 2, 0, 1))]
)
@pytest.mark.cuda
@pytest.mark.skipif(not torch_cuda_available(), reason="no CUDA GPU (torch.cuda)")
def test_conv2d_on_the_gpu_against_torch_cuda(algorithm, dtype, kwargs):
    import minicnn.functional as F
    from minicnn import cuda
    from minicnn.testing import assert_close
    from reference.functional import torch_op

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8, 17, 19)).astype(dtype)
    w = rng.standard_normal((16, 8 // kwargs.get("groups", 1), 3, 3)).astype(dtype)
    got = np.asarray(F.conv2d(cuda.to_device(x), cuda.to_device(w), algorithm=algorithm, **kwargs))
    ref = torch_op("conv2d", x, w, device="cuda", float64=True, **kwargs)
    scale = torch_op("conv2d", np.abs(x), np.abs(w), device="cuda", float64=True, **kwargs).max()
    assert_close(got, ref, kind=tolerance_kind(algorithm), dtype=dtype, scale=scale)


@pytest.mark.cuda
@pytest.mark.skipif(not torch_cuda_available(), reason="no CUDA GPU (torch.cuda)")
@pytest.mark.parametrize("name", ["vgg16", "resnet50", "efficientnet_lite0"])
def test_whole_models_on_the_gpu(name):
    """The three models entirely on the GPU (model.to("cuda")) against their outputs on the CPU."""
    from minicnn import cuda, models
    from minicnn.testing import assert_close

    model = getattr(models, name)(generator=0).eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 96, 96)).astype(np.float32)
    cpu = model(x)
    model.to("cuda")
    gpu_out = np.asarray(model(cuda.to_device(x)))
    assert_close(gpu_out, cpu.astype(np.float64), kind="model", dtype=np.float32, scale=np.abs(cpu).max())


@pytest.mark.cuda
@pytest.mark.skipif(not torch_cuda_available(), reason="no CUDA GPU (torch.cuda)")
@pytest.mark.parametrize("algorithm", ["im2col", "auto"])
def test_more_image_group_pairs_than_a_grid_dimension_holds(algorithm):
    """N * groups = 2 * 33,000 > 65,535, CUDA's limit on the grid's z dimension: the blocks loop over the rest."""
    import minicnn.functional as F
    from minicnn import cuda
    from minicnn.testing import assert_close
    from reference.functional import torch_op

    groups = 33_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2 * groups, 3, 3)).astype(np.float32)
    w = rng.standard_normal((8 * groups, 2, 3, 3)).astype(np.float32)
    got = np.asarray(F.conv2d(cuda.to_device(x), cuda.to_device(w), padding=1, groups=groups, algorithm=algorithm))
    ref = torch_op("conv2d", x, w, device="cuda", float64=True, padding=1, groups=groups)
    scale = torch_op("conv2d", np.abs(x), np.abs(w), device="cuda", float64=True, padding=1, groups=groups).max()
    assert_close(got, ref, kind=tolerance_kind(algorithm), dtype=np.float32, scale=scale)
