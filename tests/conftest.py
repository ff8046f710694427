"""Shared test set-up: Hypothesis profiles and the CPU/CUDA device parameter.

Profiles: "dev" (default, random examples) and "ci" (selected when CI is set: the same examples on every
run, so a red CI is reproducible). HYPOTHESIS_PROFILE overrides.
"""

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

from tests.devices import needs_cuda, torch_cuda_available

# "auto" remembers its measurements on disk: keep the tests' out of the user's cache.
os.environ.setdefault("MINICNN_CACHE_DIR", tempfile.mkdtemp(prefix="minicnn-test-cache-"))

settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", parent=settings.get_profile("dev"), derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_report_header(config):
    """Free disk where the tests write: their checkpoints need about 1 GB (a CI run once ran out)."""
    folder = tempfile.gettempdir()
    return f"free disk in {folder}: {shutil.disk_usage(folder).free / 1e9:.1f} GB (the tests need about 1 GB)"


if torch_cuda_available():  # the references in full float32 (or float64): no TF32 in torch's CUDA kernels
    import torch

    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False

#: Parametrize a test over the device both sides compute on: "cuda" runs minicnn's CUDA kernels on DeviceArrays
#: (tests/devices.py) against torch's CUDA kernels.
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.fixture(params=DEVICES, scope="session")
def device(request):
    return request.param
