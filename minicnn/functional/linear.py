"""``linear`` (fully connected) and ``batch_norm``."""

from __future__ import annotations

import numpy as np

from minicnn import specs
from minicnn.autograd import differentiable
from minicnn.functional._args import gpu_ops, silent_ieee, skip_arithmetic


@differentiable("input", "weight", "bias", saves=("input", "weight"))
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


@differentiable("input", "weight", "bias", saves=("input", "weight"))
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


# ------------------------------------------------------------------------------------------------ backward


@linear.recorded
def _(input, weight, bias=None):
    out = linear(input, weight, bias)
    return out, lambda grad_output: linear_backward(grad_output, input, weight, bias is not None)


def linear_backward(grad_output, input, weight, has_bias=True):
    """With y = x W^T + b and G = dL/dy: dL/dx = G W, dL/dW = G^T x, dL/db = the sum of G over the batch.

    Shape: grad_output (*, out), input (*, in), weight (out, in) -> (*, in), (out, in), (out,)
    (a 1-D weight (in,) gives y of shape (*): the same formulas with out = 1).
    """
    g = grad_output[..., None] if weight.ndim == 1 else grad_output  # (*, out)
    w = weight[None] if weight.ndim == 1 else weight  # (out, in)
    grad_input = g @ w  # (*, out) @ (out, in)
    g2, x2 = g.reshape(-1, g.shape[-1]), input.reshape(-1, input.shape[-1])  # the batch dims flattened
    grad_weight = (g2.T @ x2).reshape(weight.shape)  # (out, B) @ (B, in)
    grad_bias = grad_output.sum(axis=tuple(range(grad_output.ndim - (weight.ndim == 2)))) if has_bias else None
    return grad_input, grad_weight, grad_bias


@batch_norm.recorded
def _(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    axes = (0,) + tuple(range(2, input.ndim))
    if training:  # the statistics of this batch, before the forward updates the running ones
        mean, var = input.mean(axis=axes), input.var(axis=axes)
    else:
        mean, var = np.array(running_mean, copy=True), np.array(running_var, copy=True)
    out = batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)

    def backward(grad_output):
        return batch_norm_backward(grad_output, input, mean, var, weight, eps, training, bias is not None)

    return out, backward


def batch_norm_backward(grad_output, input, mean, var, weight, eps, training, has_bias=True):
    r"""Gradients of batch normalization with respect to its input, weight (gamma) and bias (beta).

    With x_hat = (x - mean) / sqrt(var + eps), y = gamma x_hat + beta and G = dL/dy, per channel over the M
    values of the batch: dL/dbeta = sum G, dL/dgamma = sum G x_hat, and

    * evaluation (fixed statistics): dL/dx = gamma G / sqrt(var + eps);
    * training (mean and var depend on x too, CS231n's formula):
      dL/dx = gamma / (M sqrt(var + eps)) * (M G - sum G - x_hat sum(G x_hat)).

    Shape: grad_output and input (N, C, *), mean, var, weight (C,) -> (N, C, *), (C,), (C,)
    """
    C = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    bshape = (1, C) + (1,) * (input.ndim - 2)
    inv_std = (1 / np.sqrt(var + input.dtype.type(eps))).astype(input.dtype).reshape(bshape)
    x_hat = (input - mean.reshape(bshape)) * inv_std
    gamma = np.ones(bshape, input.dtype) if weight is None else weight.reshape(bshape)
    sum_g, sum_g_xhat = grad_output.sum(axis=axes), (grad_output * x_hat).sum(axis=axes)
    if training:
        M = input.size // max(C, 1)
        sum_g, sum_g_xhat = sum_g.reshape(bshape), sum_g_xhat.reshape(bshape)
        grad_input = gamma * inv_std / M * (M * grad_output - sum_g - x_hat * sum_g_xhat)
        sum_g, sum_g_xhat = sum_g.ravel(), sum_g_xhat.ravel()
    else:
        grad_input = grad_output * (gamma * inv_std)
    grad_weight = None if weight is None else sum_g_xhat
    return grad_input.astype(input.dtype, copy=False), grad_weight, (sum_g if has_bias else None)
