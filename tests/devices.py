"""Run a minicnn op on the device a test is parametrized with (tests/conftest.py's ``device`` fixture).

For ``device="cuda"`` the float arrays go to the GPU (minicnn.cuda.to_device), the op runs there on
DeviceArrays, and its results come back as NumPy arrays; the torch reference is computed on CUDA too. For
``device="cpu"`` the op runs on the arrays as they are.
"""

from __future__ import annotations

import numpy as np
import pytest

import minicnn.functional as F
from minicnn.kernels.registry import ALGORITHMS


def torch_cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


#: Marks of a test that needs a CUDA GPU (skipped without one; ``pytest -m cuda`` selects them).
needs_cuda = [pytest.mark.cuda, pytest.mark.skipif(not torch_cuda_available(), reason="no CUDA GPU (torch.cuda)")]

#: conv2d names with a CUDA kernel (the registry's ``cuda`` field, and the two rules); the others are CPU-only.
CUDA_CONV_ALGORITHMS = ("default", "auto", *(n for n, a in ALGORITHMS.items() if a.cuda))


def to_device(a, device):
    if device != "cuda" or not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        return a
    from minicnn import cuda

    return cuda.to_device(a)


def run_op(device, op, *args, **kwargs):
    """``F.<op>(*args, **kwargs)`` computed on ``device``, results as NumPy arrays."""
    out = getattr(F, op)(*(to_device(a, device) for a in args), **{k: to_device(v, device) for k, v in kwargs.items()})
    if device != "cuda":
        return out
    from minicnn.cuda import is_device_array

    outs = out if isinstance(out, tuple) else (out,)
    assert all(is_device_array(o) for o in outs), f"{op} on DeviceArrays returned {[type(o) for o in outs]}"
    return tuple(np.asarray(o) for o in outs) if isinstance(out, tuple) else np.asarray(out)
