"""Shared test set-up: Hypothesis profiles and the CPU/CUDA device parameter.

Profiles: "dev" (default, random examples) and "ci" (selected when CI is set: the same examples on every
run, so a red CI is reproducible). HYPOTHESIS_PROFILE overrides.
"""

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

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


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


#: Parametrize a test over the device torch computes the reference on. minicnn computes on the CPU;
#: the CUDA variant checks that torch's CUDA kernels (TF32 off) agree with it too.
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not _cuda_available(), reason="no CUDA GPU (torch.cuda)"),
        ],
    ),
]


@pytest.fixture(params=DEVICES, scope="session")
def device(request):
    return request.param
