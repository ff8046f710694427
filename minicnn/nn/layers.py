"""The layers the notebook's networks use, with torch.nn's constructors, attributes and repr.

Each layer keeps its hyper-parameters as attributes, its arrays as parameters or buffers, and calls the
matching ``minicnn.functional`` op in ``forward``. Shapes are those of the functional ops.
"""

from __future__ import annotations

import numpy as np

import minicnn.functional as F
from minicnn._random import as_generator
from minicnn.nn import init
from minicnn.nn.module import Module
from minicnn.specs import conv_padding, pair


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed classifier)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Conv2d(Module):
    """A 2-D convolution layer: weight (out_channels, in_channels // groups, KH, KW), bias (out_channels,).

    Initialised like torch: U(+-1/sqrt(fan_in)) with fan_in = in_channels // groups * KH * KW. padding_mode
    other than "zeros" pads with ``F.pad`` (reflect, replicate, circular) before an unpadded convolution.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", *, dtype=np.float32, generator=None):  # fmt: skip
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                f"padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride, self.dilation = pair(stride, "stride", "Conv2d"), pair(dilation, "dilation", "Conv2d")
        asymmetric = isinstance(padding, (tuple, list)) and len(padding) == 4  # (left, right, top, bottom)
        self.padding = padding if isinstance(padding, str) or asymmetric else pair(padding, "padding", "Conv2d")
        self.padding_mode = padding_mode
        self.register_parameter("weight", np.zeros((out_channels, in_channels // groups, *self.kernel_size), dtype))
        self.register_parameter("bias", np.zeros(out_channels, dtype) if bias else None)
        init.default_layer_init_(self.weight, self.bias, generator)

    def forward(self, x):
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        top, bottom, left, right = conv_padding(self.padding, self.kernel_size, self.stride, self.dilation)
        x = F.pad(x, (left, right, top, bottom), mode=self.padding_mode)  # F.pad order: last dimension first
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if isinstance(self.padding, str) or any(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Linear(Module):
    """y = x W^T + b with weight (out_features, in_features), initialised U(+-1/sqrt(in_features))."""

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float32, generator=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_parameter("weight", np.zeros((out_features, in_features), dtype))
        self.register_parameter("bias", np.zeros(out_features, dtype) if bias else None)
        init.default_layer_init_(self.weight, self.bias, generator)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """max(x, 0). With ``inplace=True`` it overwrites its input array (see the hooks note in ``module.py``)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU6(ReLU):
    """min(max(x, 0), 6)."""

    def forward(self, x):
        return F.relu6(x, inplace=self.inplace)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)  # fmt: skip

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")  # fmt: skip


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):  # fmt: skip
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)  # fmt: skip

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)


class Flatten(Module):
    """Merge dimensions start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def flatten(x, start_dim=0, end_dim=-1):
    """``torch.flatten``: merge dimensions start_dim..end_dim (a view when the layout allows)."""
    start, end = start_dim % max(x.ndim, 1), end_dim % max(x.ndim, 1)
    if not x.ndim:
        return x.reshape(1)
    merged = int(np.prod(x.shape[start : end + 1]))  # not -1: an empty batch makes -1 ambiguous
    return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1 :])


class Dropout(Module):
    """In training mode, zero each element with probability p and scale the others by 1/(1-p); in eval, nothing.

    Draws from ``generator`` (a numpy Generator or seed), else from minicnn's default generator
    (``minicnn.manual_seed``).
    """

    def __init__(self, p=0.5, inplace=False, *, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace
        # a seed becomes this layer's own generator, once: each call then draws a new mask from it
        self.generator = None if generator is None else as_generator(generator)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace, rng=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class BatchNorm2d(Module):
    """Per-channel normalization of (N, C, H, W): (x - mean) / sqrt(var + eps) * weight + bias.

    Training mode normalizes with the batch's statistics and updates ``running_mean`` / ``running_var``
    (momentum None: a cumulative average over ``num_batches_tracked`` batches); eval mode uses the running ones.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True,
                 dtype=np.float32):  # fmt: skip
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats, self._has_bias = affine, track_running_stats, affine and bias
        self.register_parameter("weight", np.ones(num_features, dtype) if affine else None)
        self.register_parameter("bias", np.zeros(num_features, dtype) if self._has_bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input of shape {x.shape})")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)  # fmt: skip

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self._has_bias}, track_running_stats={self.track_running_stats}")  # fmt: skip
