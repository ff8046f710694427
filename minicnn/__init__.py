"""minicnn: CNN inference in NumPy and Numba, checked number by number against PyTorch.

Tensors are NumPy arrays in PyTorch's layouts: activations (N, C, H, W), conv weights (C_out, C_in, KH, KW).

    import minicnn.functional as F
    y = F.conv2d(x, w, padding=1)             # same names, arguments and results as torch.nn.functional
    with minicnn.conv_algorithm("naive"):     # choose the conv2d kernel for a whole block of code
        y = F.conv2d(x, w, padding=1)

    from minicnn import models
    model = models.vgg16(weights="vgg16-397923af.pth").eval()   # a torchvision checkpoint, no torch needed
    fast = minicnn.optimize(model)                              # folded, fused, channels-last, tuned

Training, as in torch: ``loss.backward()`` fills every parameter's ``.grad`` (``minicnn/autograd.py``), and
``minicnn.optim`` has SGD, Adam and AdamW; ``minicnn.no_grad()`` turns the recording off; ``with minicnn.compiled():``
runs compiled twins of the readable kernels where small arrays make NumPy's cost per call dominate (training).

Importing ``minicnn`` (or ``minicnn.functional``, ``minicnn.nn``) needs NumPy alone; ``models``, ``checkpoint``,
``hub``, ``optimize`` and ``cuda`` load when first used (the models bring Pillow for their preprocessing).
"""

import importlib

from minicnn import functional, nn
from minicnn._config import CONV_ALGORITHMS, compiled, conv_algorithm, get_conv_algorithm, set_conv_algorithm
from minicnn._random import manual_seed
from minicnn.autograd import Parameter, Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__version__ = "0.1.0"

#: Memory formats for ``Module.to(memory_format=...)``, as ``torch.channels_last`` / ``torch.contiguous_format``.
channels_last = "channels_last"
contiguous_format = "contiguous_format"

_LAZY = {  # name -> (module, attribute or None for the module itself)
    "models": ("minicnn.models", None),
    "checkpoint": ("minicnn.checkpoint", None),
    "hub": ("minicnn.hub", None),
    "cuda": ("minicnn.cuda", None),
    "summary": ("minicnn.summary", None),
    "load_checkpoint": ("minicnn.checkpoint", "load_checkpoint"),
    "CheckpointError": ("minicnn.checkpoint", "CheckpointError"),
    "UnsafeCheckpointError": ("minicnn.checkpoint", "UnsafeCheckpointError"),
    "optimize": ("minicnn.optimization", "optimize"),
    "optim": ("minicnn.optim", None),
    "datasets": ("minicnn.datasets", None),
    "explain": ("minicnn.explain", None),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'minicnn' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    return value if attribute is None else getattr(value, attribute)


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = [
    "CONV_ALGORITHMS",
    "CheckpointError",
    "Parameter",
    "Tensor",
    "UnsafeCheckpointError",
    "channels_last",
    "compiled",
    "contiguous_format",
    "conv_algorithm",
    "datasets",
    "enable_grad",
    "explain",
    "functional",
    "get_conv_algorithm",
    "is_grad_enabled",
    "load_checkpoint",
    "manual_seed",
    "models",
    "nn",
    "no_grad",
    "optim",
    "optimize",
    "set_conv_algorithm",
    "set_grad_enabled",
]
