"""``linear`` (fully connected) and ``batch_norm``."""

from __future__ import annotations

import numpy as np

from minicnn import specs
from minicnn.functional._args import gpu_ops, silent_ieee, skip_arithmetic


@silent_ieee
def linear(input, weight, bias=None):
    """y = x W^T + b, as ``torch.nn.functional.linear``.

    Shape:
        input (*, in_features), weight (out_features, in_features) or (in_features,),
        bias (out_features,) or () -> (*, out_features) (the last axis dropped for a 1-D weight).
    """
    specs.linear(input, weight, bias)
    if skip_arithmetic():
        return np.empty((*input.shape[:-1], *weight.shape[:-1]), input.dtype)
    gpu = gpu_ops(input)
    if gpu:
        return gpu.linear(input, weight, bias)
    x = input
    out = x @ weight.T  # (*, in) @ (in, out) -> (*, out)
    if bias is not None:
        out = out + bias
    return out


@silent_ieee
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization per channel (axis 1), as ``torch.nn.functional.batch_norm``.

        y = (x - mean) / sqrt(var + eps) * weight + bias

    In evaluation (``training=False``) mean and var are the running statistics. In training they are the
    statistics of this batch over every axis but 1 (biased variance), and the running ones are updated
    in place: running = (1 - momentum) * running + momentum * batch (with the unbiased variance).

    Shape: input (N, C) or (N, C, *); running_mean, running_var, weight, bias (C,).
    """
    specs.batch_norm(input, running_mean, running_var, weight, bias, training)
    gpu = gpu_ops(input)
    if gpu:
        return gpu.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    x = input
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, C) + (1,) * (x.ndim - 2)  # broadcasts a (C,) vector over (N, C, *)
    if training:
        count = x.size // max(C, 1)
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (count / (count - 1))
    else:
        mean, var = running_mean, running_var
    scale = 1 / np.sqrt(var + x.dtype.type(eps))
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return (x * scale.reshape(bshape) + shift.reshape(bshape)).astype(x.dtype, copy=False)
