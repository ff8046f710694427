"""minicnn on the GPU: the CUDA kernels under Numba's simulator in CI, against torch on a real GPU when present."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_cuda_kernels_under_the_simulator_match_the_cpu_path():
    """Every op (both conv kernels, every padding form, pooling rules, batch norm in both modes) and a small
    network with VGG, ResNet and EfficientNet blocks moved by model.to("cuda"), on device arrays."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "cuda_sim_checks.py")], env=env, capture_output=True,
                            text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all 59 checks passed" in result.stdout


def test_device_arrays_refuse_mixing_with_host_arrays():
    from minicnn.cuda import ops
    from minicnn.cuda.array import DeviceArray

    fake = DeviceArray(np.zeros((1, 3, 4, 4), np.float32))  # the wrapper alone: no kernel runs
    with pytest.raises(TypeError, match="weight is on the CPU but the input is on the GPU"):
        ops.conv2d(fake, np.zeros((2, 3, 3, 3), np.float32))


def _torch_cuda():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.parametrize("algorithm", ["naive", "im2col"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "kwargs", [dict(padding=1), dict(stride=2, dilation=2), dict(padding="same", groups=4), dict(padding=(1, 2, 0, 1))]
)
@pytest.mark.cuda
@pytest.mark.skipif(not _torch_cuda(), reason="no CUDA GPU (torch.cuda)")
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
    assert_close(got, ref, kind="im2col", dtype=dtype, scale=scale)


@pytest.mark.cuda
@pytest.mark.skipif(not _torch_cuda(), reason="no CUDA GPU (torch.cuda)")
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
