"""Losses: ``nll_loss``, ``cross_entropy`` (= ``nll_loss(log_softmax(x))``, as torch computes it) and ``mse_loss``.

A loss turns a batch of predictions into one number to minimise. ``cross_entropy`` and ``mse_loss`` are written
with other ops (``log_softmax``, ``nll_loss``, array arithmetic), so their gradients come from those ops' own.
"""

from __future__ import annotations

import numpy as np

from minicnn import specs
from minicnn.autograd import differentiable
from minicnn.functional._args import silent_ieee
from minicnn.functional.activation import log_softmax

REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _class_targets(op, input, target, ignore_index):
    """``target`` checked against ``input`` (N, C, *) or (C,): the (N, *) class indices, a mask of those not
    ignored, and the indices with the ignored ones replaced by 0 (safe to index with)."""
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "iu":
        got = target.dtype if isinstance(target, np.ndarray) else type(target).__name__
        raise TypeError(f"{op}: expected target of integer class indices (int64), got {got}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if target.shape != expected:
        raise ValueError(f"{op}: expected target of shape {specs.shape_str(expected)} for input of shape "
                         f"{specs.shape_str(input.shape)}, got {specs.shape_str(target.shape)}")  # fmt: skip
    C = input.shape[1] if input.ndim >= 2 else input.shape[0]
    valid = target != ignore_index
    bad = target[valid & ((target < 0) | (target >= C))]
    if bad.size:
        raise IndexError(f"Target {int(bad.flat[0])} is out of bounds.")
    return valid, np.where(valid, target, 0).astype(np.int64)


@differentiable("input", saves=("input",))
@silent_ieee
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """The negative log-likelihood of the target classes, as ``torch.nn.functional.nll_loss``.

    ``input`` holds log-probabilities (N, C) or (N, C, *) or (C,); ``target`` the class of each sample (N,) or
    (N, *) or (), int64. Sample n's loss is ``-weight[t_n] * input[n, t_n]``; samples whose target is
    ``ignore_index`` count for nothing. ``reduction``: "none" (one loss per sample), "sum", or "mean" (the sum
    divided by the total weight of the samples counted, so a weighted mean).
    """
    _check_reduction(reduction)
    valid, t = _class_targets("nll_loss", input, target, ignore_index)
    w = _sample_weights(input, weight, valid, t)
    picked = np.take_along_axis(_batched(input), t.reshape(-1, 1, *t.shape[1:]), axis=1)[:, 0].reshape(t.shape)
    losses = -w * picked
    if reduction == "none":
        return losses
    total = losses.sum()
    return np.asarray(total if reduction == "sum" else total / w.sum(), dtype=input.dtype)


def _batched(a):
    return a.reshape(1, -1) if a.ndim == 1 else a


def _sample_weights(input, weight, valid, t):
    """The weight of each sample's target class (0 where ignored)."""
    w = valid.astype(input.dtype)
    return w if weight is None else w * weight.astype(input.dtype)[t]


@nll_loss.recorded
def _(input, target, weight=None, ignore_index=-100, reduction="mean"):
    out = nll_loss(input, target, weight, ignore_index, reduction)

    def backward(grad_output):
        return (nll_loss_backward(grad_output, input, target, weight, ignore_index, reduction),)

    return out, backward


def nll_loss_backward(grad_output, input, target, weight=None, ignore_index=-100, reduction="mean"):
    """The loss read one number per sample, ``input[n, t_n]``, times ``-w_n``: its gradient is ``-w_n`` times G
    there (divided by the total weight for "mean") and zero for every other class."""
    valid, t = _class_targets("nll_loss", input, target, ignore_index)
    w = _sample_weights(input, weight, valid, t)
    if reduction == "mean":  # (every sample ignored: the loss is 0/0 = NaN, and the gradient zero, as in torch)
        total = w.sum()
        grad_output = grad_output / total if total != 0 else np.zeros_like(grad_output)
    g = -w * grad_output  # (N, *) by broadcasting
    grad = np.zeros(_batched(input).shape, input.dtype)
    np.put_along_axis(grad, t.reshape(-1, 1, *t.shape[1:]), np.reshape(g, (-1, 1, *t.shape[1:])), axis=1)
    return grad.reshape(input.shape)


@silent_ieee
def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between the softmax of the logits ``input`` and the target, as torch's ``cross_entropy``.

    ``target`` is either class indices ((N,) or (N, *) int64: the loss is ``nll_loss(log_softmax(input, 1))``) or
    class probabilities of the input's shape (float). ``label_smoothing`` = eps mixes the target with the uniform
    distribution: (1 - eps) of the loss on the target, eps / C on every class. ``weight`` (C,) weighs classes.

    Example:
        >>> import numpy as np, minicnn.functional as F
        >>> round(float(F.cross_entropy(np.array([[2.0, 0.0, 0.0]]), np.array([0]))), 4)
        0.2395
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    specs.check_array(input, "cross_entropy")
    class_dim = 0 if input.ndim == 1 else 1
    C = input.shape[class_dim]
    logp = log_softmax(input, class_dim)
    w = None if weight is None else weight.astype(input.dtype).reshape((C,) + (1,) * (input.ndim - class_dim - 1))
    if isinstance(target, np.ndarray) and target.dtype.kind == "f":  # class probabilities
        if target.shape != input.shape:
            raise ValueError(f"cross_entropy: class-probability target of shape {specs.shape_str(target.shape)} "
                             f"for input of shape {specs.shape_str(input.shape)}")  # fmt: skip
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / C
        losses = -(logp * (target if w is None else target * w)).sum(axis=class_dim)
        if reduction == "none":
            return losses
        return losses.sum() if reduction == "sum" else losses.sum() / (input.size // C)
    loss = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return loss
    valid, t = _class_targets("cross_entropy", input, target, ignore_index)
    smooth = -(logp if w is None else logp * w).sum(axis=class_dim) * valid  # (N, *): every class's share
    if reduction == "mean":  # torch's normalisation: by the total weight of the targets counted (or their number)
        count = input.dtype.type(valid.sum()) if weight is None else weight.astype(input.dtype)[t[valid]].sum()
        if count == 0:  # every target ignored: the loss is NaN (0/0) and its gradient zero, as in torch
            return (1 - label_smoothing) * loss
        smooth = smooth.sum() / count
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / C)


@silent_ieee
def mse_loss(input, target, reduction="mean"):
    """The mean (or sum) of the squared differences, as ``torch.nn.functional.mse_loss``."""
    _check_reduction(reduction)
    diff = input - target
    squared = diff * diff
    if reduction == "none":
        return squared
    return squared.sum() if reduction == "sum" else squared.mean()
