"""The functional ops, with ``torch.nn.functional``'s names, arguments, defaults, shapes and dtypes.

    import minicnn.functional as F

Arrays are ``numpy.ndarray`` in float32 or float64 (kept as given), any memory layout; image tensors
are (N, C, H, W) or unbatched (C, H, W), conv weights (C_out, C_in // groups, KH, KW).

Every op is differentiable: called on an array that requires a gradient (a ``Parameter``, or the output of a
recorded op) it is recorded for ``backward`` (see ``minicnn/autograd.py``); its backward is written beside it.
"""

from minicnn.functional.activation import dropout, log_softmax, relu, relu6, softmax
from minicnn.functional.conv import conv2d
from minicnn.functional.layout import is_channels_last, to_channels_last
from minicnn.functional.linear import batch_norm, linear
from minicnn.functional.loss import cross_entropy, mse_loss, nll_loss
from minicnn.functional.padding import pad
from minicnn.functional.pooling import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d

__all__ = [
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "cross_entropy",
    "dropout",
    "is_channels_last",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "pad",
    "relu",
    "relu6",
    "softmax",
    "to_channels_last",
]
