"""Run ``torch.nn.functional`` on NumPy arrays: the reference every minicnn op is compared with.

from reference.functional import torch_op
expected = torch_op("conv2d", x, w, b, padding=1, float64=True)       # float64 reference
same_dtype = torch_op("conv2d", x, w, b, padding=1)                   # torch's own dtype and shape
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

# Full float32 precision on CUDA: TF32 would round GEMM inputs to 10 mantissa bits.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def cuda_available() -> bool:
    return torch.cuda.is_available()


def to_torch(a, device="cpu", float64=False):
    """ndarray -> tensor on ``device`` (float arrays as float64 if asked); anything else unchanged."""
    if not isinstance(a, np.ndarray):
        return a
    t = torch.from_numpy(np.ascontiguousarray(a).reshape(a.shape))  # (ascontiguousarray makes 0-d arrays 1-d)
    if float64 and t.is_floating_point():
        t = t.double()
    return t.to(device)


def to_numpy(t):
    """tensor (or tuple of tensors) -> ndarray on the CPU."""
    if isinstance(t, (tuple, list)):
        return type(t)(to_numpy(e) for e in t)
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t


def torch_op(name, *args, device="cpu", float64=False, **kwargs):
    """``torch.nn.functional.<name>(*args, **kwargs)`` on tensors made from the NumPy arguments.

    minicnn's extension of conv2d, ``padding=(left, right, top, bottom)``, is run as ``F.pad`` then conv2d.
    """
    targs = [to_torch(a, device, float64) for a in args]
    tkwargs = {k: to_torch(v, device, float64) for k, v in kwargs.items()}
    if name == "conv2d" and isinstance(kwargs.get("padding"), (tuple, list)) and len(kwargs["padding"]) == 4:
        targs[0] = TF.pad(targs[0], tuple(tkwargs.pop("padding")))
    return to_numpy(getattr(TF, name)(*targs, **tkwargs))


def torch_grads(name, grad_output, *args, float64=False, **kwargs):
    """The gradients of ``torch.nn.functional.<name>`` with respect to each floating-point array argument, given
    the gradient of its output: a list aligned with ``args`` + ``kwargs`` values (None for the others)."""
    targs = [to_torch(a, float64=float64) for a in args]
    tkwargs = {k: to_torch(v, float64=float64) for k, v in kwargs.items()}
    inputs = [*targs, *tkwargs.values()]
    is_leaf = [isinstance(t, torch.Tensor) and t.is_floating_point() for t in inputs]
    for t, flag in zip(inputs, is_leaf):
        if flag:
            t.requires_grad_(True)
    if name == "conv2d" and isinstance(kwargs.get("padding"), (tuple, list)) and len(kwargs["padding"]) == 4:
        targs[0] = TF.pad(targs[0], tuple(tkwargs.pop("padding")))
    out = getattr(TF, name)(*targs, **tkwargs)
    out = out[0] if isinstance(out, tuple) else out
    out.backward(to_torch(np.asarray(grad_output), float64=float64))
    return [to_numpy(t.grad) if flag else None for t, flag in zip(inputs, is_leaf)]
