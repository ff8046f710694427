"""minicnn: CNN inference in NumPy and Numba, checked number by number against PyTorch.

Tensors are NumPy arrays in PyTorch's layouts: activations (N, C, H, W), conv weights (C_out, C_in, KH, KW).

    import minicnn.functional as F
    y = F.conv2d(x, w, padding=1)             # same names, arguments and results as torch.nn.functional
    with minicnn.conv_algorithm("naive"):     # choose the conv2d kernel for a whole block of code
        y = F.conv2d(x, w, padding=1)

    from minicnn import models
    model = models.vgg16(weights="vgg16-397923af.pth").eval()   # a torchvision checkpoint, no torch needed
"""

from minicnn import functional, models, nn
from minicnn._config import CONV_ALGORITHMS, conv_algorithm, get_conv_algorithm, set_conv_algorithm
from minicnn._random import manual_seed
from minicnn.checkpoint import CheckpointError, UnsafeCheckpointError, load_checkpoint

__version__ = "0.1.0"

#: Memory formats for ``Module.to(memory_format=...)``, as ``torch.channels_last`` / ``torch.contiguous_format``.
channels_last = "channels_last"
contiguous_format = "contiguous_format"

__all__ = [
    "CONV_ALGORITHMS",
    "CheckpointError",
    "UnsafeCheckpointError",
    "channels_last",
    "contiguous_format",
    "conv_algorithm",
    "functional",
    "get_conv_algorithm",
    "load_checkpoint",
    "manual_seed",
    "models",
    "nn",
    "set_conv_algorithm",
]
