"""``linear`` (fully connected) and ``batch_norm``."""

from __future__ import annotations

import numpy as np

from minicnn.functional._args import check_array, check_same_dtype, on_device, shape_str, silent_ieee


@on_device
@silent_ieee
def linear(input, weight, bias=None):
    """y = x W^T + b, as ``torch.nn.functional.linear``.

    Shape:
        input (*, in_features), weight (out_features, in_features) or (in_features,),
        bias (out_features,) or () -> (*, out_features) (the last axis dropped for a 1-D weight).
    """
    x = check_array(input, "linear")
    weight = check_array(weight, "linear", "weight")
    check_same_dtype("linear", x, weight=weight)
    if bias is not None:
        check_same_dtype("linear", x, bias=check_array(bias, "linear", "bias"))
    if weight.ndim not in (1, 2) or x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise ValueError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1] if x.ndim else 0} and "
            f"{'x'.join(str(s) for s in weight.shape[::-1])}): "
            f"input {shape_str(x.shape)}, weight {shape_str(weight.shape)}"
        )
    out = x @ weight.T  # (*, in) @ (in, out) -> (*, out)
    if bias is not None:
        out = out + bias
    return out


@on_device
@silent_ieee
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization per channel (axis 1), as ``torch.nn.functional.batch_norm``.

        y = (x - mean) / sqrt(var + eps) * weight + bias

    In evaluation (``training=False``) mean and var are the running statistics. In training they are the
    statistics of this batch over every axis but 1 (biased variance), and the running ones are updated
    in place: running = (1 - momentum) * running + momentum * batch (with the unbiased variance).

    Shape: input (N, C) or (N, C, *); running_mean, running_var, weight, bias (C,).
    """
    op = "batch_norm"
    x = check_array(input, op)
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C) or (N, C, *), got {shape_str(x.shape)}")
    C = x.shape[1]
    for name, arr in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if arr is not None:
            check_same_dtype(op, x, **{name: check_array(arr, op, name)})
            if arr.shape != (C,):
                raise ValueError(f"{name} should contain {C} elements not {arr.size} (input {shape_str(x.shape)})")
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, C) + (1,) * (x.ndim - 2)  # broadcasts a (C,) vector over (N, C, *)
    if training:
        count = x.size // max(C, 1)
        if count <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {shape_str(x.shape)}"
            )
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (count / (count - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("running_mean and running_var must be defined in evaluation mode")
        mean, var = running_mean, running_var
    scale = 1 / np.sqrt(var + x.dtype.type(eps))
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return (x * scale.reshape(bshape) + shift.reshape(bshape)).astype(x.dtype, copy=False)
