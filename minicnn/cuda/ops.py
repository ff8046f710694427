"""The functional ops on DeviceArrays: the same arguments, checks and results as minicnn.functional.

``minicnn.functional`` sends a call here when its input is a DeviceArray; each op checks its arguments with
the CPU version's rules, allocates the output on the GPU and launches one kernel (minicnn/cuda/kernels.py).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda

from minicnn._config import check_conv_algorithm, get_conv_algorithm
from minicnn.cuda import conv_blocked, kernels
from minicnn.cuda.array import DeviceArray
from minicnn.functional._args import pair, shape_str

THREADS = 128  # threads per block for the one-thread-per-element kernels


def _blocks(n):
    return max(1, math.ceil(n / THREADS))


def _device(a, what, op):
    if not isinstance(a, DeviceArray):
        raise TypeError(
            f"{op}(): {what} is on the CPU but the input is on the GPU: move it with minicnn.cuda.to_device"
        )
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}(): {what} has dtype {a.dtype}; minicnn computes in float32 or float64")
    return a


def _same_dtype(op, x, **others):
    for name, a in others.items():
        if a is not None and a.dtype != x.dtype:
            raise TypeError(f"{op}(): input dtype ({x.dtype}) and {name} dtype ({a.dtype}) should be the same")


def _batched(x, op):
    if x.ndim not in (3, 4):
        raise ValueError(
            f"Expected 3D (unbatched) or 4D (batched) input to {op}, but got input of size: {shape_str(x.shape)}"
        )
    return (x.reshape(1, *x.shape), True) if x.ndim == 3 else (x, False)


def _empty(shape, dtype):
    return DeviceArray(cuda.device_array(shape, dtype=dtype))


def _zeros_bias(c, dtype):
    return cuda.to_device(np.zeros(c, dtype))


#: conv2d's algorithms on the GPU: the direct kernel, the readable tiled implicit GEMM, and the register-blocked
#: one (what "auto", the default, runs; it chooses the direct kernel for depthwise-like layers).
CUDA_CONV_ALGORITHMS = ("auto", "naive", "im2col")


@functools.cache
def _multiprocessors() -> int:
    """The GPU's streaming multiprocessors (1 under the simulator, which has no device to ask)."""
    device = getattr(cuda, "get_current_device", None)
    return device().MULTIPROCESSOR_COUNT if device is not None else 1


def _blocked_config(C_out_g, P, NG):
    """The block shape of conv2d_blocked for a layer: "large" (128 x 128 outputs per block) when a group has at
    least 128 output channels and the layer makes blocks for at least half of the GPU's multiprocessors, else
    "small" (64 x 64). Chosen from VGG16's layers on an H200 (docs/benchmarks_gpu.md): large blocks waste half
    their work on 64 channels, and leave most of the GPU idle on small layers."""
    BM, BN = conv_blocked.block_shape("large")
    if C_out_g >= BM and math.ceil(C_out_g / BM) * math.ceil(P / BN) * NG >= _multiprocessors() // 2:
        return "large"
    return "small"


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm=None, _relu=False):
    """conv2d on the GPU: "naive" runs the one-thread-per-output kernel, "im2col" the tiled implicit GEMM,
    "auto" (the default) the register-blocked implicit GEMM (or the direct kernel when a group has fewer than 8
    output channels or K < 16: depthwise layers, where a GEMM tile would be mostly empty)."""
    from minicnn.functional.conv import _check_conv_args, _check_fits, _resolve_padding

    op = "conv2d"
    name = check_conv_algorithm(get_conv_algorithm() if algorithm is None else algorithm)
    if name not in CUDA_CONV_ALGORITHMS:
        raise ValueError(f"conv2d algorithm {name!r} has no CUDA kernel; on the GPU: {', '.join(CUDA_CONV_ALGORITHMS)}")
    x, unbatched = _batched(_device(input, "input", op), op)
    weight = _device(weight, "weight", op)
    if bias is not None:
        _device(bias, "bias", op)
    _same_dtype(op, x, weight=weight, bias=bias)
    stride, dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
    _check_conv_args(x, weight, bias, stride, dilation, groups)
    top, bottom, left, right = _resolve_padding(padding, weight.shape[2:], stride, dilation)
    _check_fits(x, weight, (top, bottom, left, right), dilation)
    N, _, H, W = x.shape
    C_out, _, KH, KW = weight.shape
    OH = (H + top + bottom - dilation[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + left + right - dilation[1] * (KW - 1) - 1) // stride[1] + 1
    out = _empty((N, C_out, OH, OW), x.dtype)
    b = bias.data if bias is not None else _zeros_bias(C_out, x.dtype)
    args = (x.data, weight.data, b, out.data, stride[0], stride[1], top, left, dilation[0], dilation[1], groups, _relu)
    C_out_g, C_in_g, P = C_out // groups, weight.shape[1], OH * OW
    NG = min(N * groups, conv_blocked.MAX_GRID_Z)  # grid z: blocks loop over (image, group) pairs beyond it
    contiguous = all(a.is_c_contiguous() for a in (x.data, weight.data, b))
    if name == "auto" and (C_out_g < 8 or C_in_g * KH * KW < 16 or not contiguous):
        name = "naive"
    if out.size == 0:
        pass
    elif name == "naive":
        kernels.conv2d_direct[_blocks(out.size), THREADS](*args)
    elif name == "im2col":
        grid = (math.ceil(P / kernels.TILE), math.ceil(C_out_g / kernels.TILE), NG)
        kernels.conv2d_tiled[x.dtype.name][grid, (kernels.TILE, kernels.TILE)](*args)
    else:
        config = _blocked_config(C_out_g, P, NG)
        BM, BN = conv_blocked.block_shape(config)
        grid = (math.ceil(P / BN), math.ceil(C_out_g / BM), NG)
        kernel = conv_blocked.conv2d_blocked(x.dtype.name, config)
        kernel[grid, (conv_blocked.THREADS_M, conv_blocked.THREADS_N)](
            x.data.reshape(-1), weight.data.reshape(-1), b, out.data.reshape(-1), N, x.shape[1], H, W, C_out, KH, KW,
            OH, OW, *args[4:])  # fmt: skip
    return out[0] if unbatched else out


def linear(input, weight, bias=None):
    op = "linear"
    x, weight = _device(input, "input", op), _device(weight, "weight", op)
    _same_dtype(op, x, weight=weight, bias=bias)
    if weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"mat1 and mat2 shapes cannot be multiplied: input {shape_str(x.shape)}, weight {shape_str(weight.shape)}"
        )
    lead = x.shape[:-1]
    a = x.reshape(-1, x.shape[-1])
    out = _empty((a.shape[0], weight.shape[0]), x.dtype)
    b = bias.data if bias is not None else _zeros_bias(weight.shape[0], x.dtype)
    grid = (math.ceil(weight.shape[0] / kernels.TILE), math.ceil(a.shape[0] / kernels.TILE))
    if out.size:
        kernels.gemm_tiled[x.dtype.name][grid, (kernels.TILE, kernels.TILE)](a.data, weight.data, b, out.data)
    return out.reshape(*lead, weight.shape[0])


def _clip(x, lo, hi, inplace, op):
    x = _device(x, "input", op)
    out = x if inplace else _empty(x.shape, x.dtype)
    flat_in, flat_out = x.reshape(-1).data, out.reshape(-1).data
    if out.size:
        kernels.elementwise[_blocks(out.size), THREADS](flat_in, flat_in, flat_out, 0, lo, hi)
    return out


def relu(input, inplace=False):
    return _clip(input, 0.0, math.inf, inplace, "relu")


def relu6(input, inplace=False):
    return _clip(input, 0.0, 6.0, inplace, "relu6")


def add(a, b, out=None):
    """a + b for two DeviceArrays of the same shape (the residual connections)."""
    if not isinstance(b, DeviceArray) or a.shape != b.shape or a.dtype != b.dtype:
        raise ValueError(f"adding {shape_str(a.shape)} {a.dtype} and {getattr(b, 'shape', type(b).__name__)}: "
                         "both must be DeviceArrays of one shape and dtype")  # fmt: skip
    out = _empty(a.shape, a.dtype) if out is None else out
    if out.size:
        kernels.elementwise[_blocks(out.size), THREADS](a.reshape(-1).data, b.reshape(-1).data, out.reshape(-1).data,
                                                        1, 0.0, 0.0)  # fmt: skip
    return out


def _pool_setup(op, input, kernel_size, stride, padding, dilation, ceil_mode):
    from minicnn.functional.pooling import pool_output_size

    x, unbatched = _batched(_device(input, "input", op), op)
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == [] else pair(stride, "stride", op)
    p, d = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if min(k) <= 0 or min(s) <= 0 or min(d) <= 0 or min(p) < 0 or any(pp > kk // 2 for kk, pp in zip(k, p)):
        raise ValueError(f"{op}: invalid kernel_size {k}, stride {s}, padding {p} or dilation {d} "
                         "(positive sizes, padding at most half the kernel)")  # fmt: skip
    C, H, W = x.shape[1:]
    out = tuple(pool_output_size(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip((H, W), k, s, p, d))
    if min(out) < 1:
        raise ValueError(f"Given input size: ({C}x{H}x{W}). Calculated output size: ({C}x{out[0]}x{out[1]}). "
                         "Output size is too small")  # fmt: skip
    return x, unbatched, k, s, p, d, out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x, unbatched, k, s, p, d, (OH, OW) = _pool_setup("max_pool2d", input, kernel_size, stride, padding, dilation,
                                                     ceil_mode)  # fmt: skip
    out, idx = _empty((x.shape[0], x.shape[1], OH, OW), x.dtype), _empty((x.shape[0], x.shape[1], OH, OW), np.int64)
    if out.size:
        kernels.max_pool2d[_blocks(out.size), THREADS](x.data, out.data, idx.data, *k, *s, *p, *d)
    if unbatched:
        out, idx = out[0], idx[0]
    return (out, idx) if return_indices else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):  # fmt: skip
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("divisor must be not zero")
    x, unbatched, k, s, p, _, (OH, OW) = _pool_setup("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    out = _empty((x.shape[0], x.shape[1], OH, OW), x.dtype)
    if out.size:
        kernels.avg_pool2d[_blocks(out.size), THREADS](x.data, out.data, *k, *s, *p, bool(count_include_pad),
                                                       divisor_override or 0)  # fmt: skip
    return out[0] if unbatched else out


def adaptive_avg_pool2d(input, output_size):
    x, unbatched = _batched(_device(input, "input", "adaptive_avg_pool2d"), "adaptive_avg_pool2d")
    size = (output_size, output_size) if output_size is None or isinstance(output_size, int) else tuple(output_size)
    OH, OW = (n if o is None else o for o, n in zip(size, x.shape[2:]))
    out = _empty((x.shape[0], x.shape[1], OH, OW), x.dtype)
    if out.size:
        kernels.adaptive_avg_pool2d[_blocks(out.size), THREADS](x.data, out.data)
    return out[0] if unbatched else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    x, unbatched = _batched(_device(input, "input", "adaptive_max_pool2d"), "adaptive_max_pool2d")
    size = (output_size, output_size) if output_size is None or isinstance(output_size, int) else tuple(output_size)
    OH, OW = (n if o is None else o for o, n in zip(size, x.shape[2:]))
    out, idx = _empty((x.shape[0], x.shape[1], OH, OW), x.dtype), _empty((x.shape[0], x.shape[1], OH, OW), np.int64)
    if out.size:
        kernels.adaptive_max_pool2d[_blocks(out.size), THREADS](x.data, out.data, idx.data)
    if unbatched:
        out, idx = out[0], idx[0]
    return (out, idx) if return_indices else out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel, in one pass on the GPU. In training mode the batch's
    statistics are computed on the GPU first, and the running ones updated."""
    op = "batch_norm"
    x = _device(input, "input", op)
    C = x.shape[1]
    inner = x.size // (x.shape[0] * C) if x.shape[0] * C else 0
    for name, a in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if a is not None and _device(a, name, op).shape != (C,):
            raise ValueError(f"{name} should contain {C} elements not {a.size} (input {shape_str(x.shape)})")
    if training:
        if x.size // C <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {shape_str(x.shape)}"
            )
        mean_d, var_d = cuda.device_array(C, x.dtype), cuda.device_array(C, x.dtype)
        kernels.channel_stats[_blocks(C), THREADS](x.reshape(-1).data, x.shape[0], C, inner, mean_d, var_d)
        count = x.size // C
        for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
            if stat is not None:  # running statistics: tiny, updated on the host then copied back
                batch = mean_d.copy_to_host() if name == "running_mean" else var_d.copy_to_host() * count / (count - 1)
                stat.data.copy_to_device((stat.copy_to_host() * (1 - momentum) + momentum * batch).astype(x.dtype))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("running_mean and running_var must be defined in evaluation mode")
        mean_d, var_d = running_mean.data, running_var.data
    out = _empty(x.shape, x.dtype)
    if out.size:  # everything stays on the GPU: no copy to the host in evaluation mode
        none = cuda.device_array(1, x.dtype)
        w_d, b_d = (none if a is None else a.data for a in (weight, bias))
        kernels.batch_norm_apply[_blocks(out.size), THREADS](x.reshape(-1).data, mean_d, var_d, w_d, b_d, float(eps),
                                                             out.reshape(-1).data, C, inner, weight is not None,
                                                             bias is not None)  # fmt: skip
    return out


def softmax(input, dim=None, *, _log=False):
    from minicnn.functional._args import normalize_dim

    x = _device(input, "input", "log_softmax" if _log else "softmax")
    dim = normalize_dim(1 if dim is None and x.ndim not in (0, 1, 3) else (0 if dim is None else dim), x.ndim)
    length = x.shape[dim]
    inner = int(np.prod(x.shape[dim + 1 :])) if dim + 1 < x.ndim else 1
    out = _empty(x.shape, x.dtype)
    if out.size:
        lines = x.size // length
        kernels.softmax[_blocks(lines), THREADS](x.reshape(-1).data, out.reshape(-1).data, length, inner, _log)
    return out


def log_softmax(input, dim=None):
    return softmax(input, dim, _log=True)


def pad(input, pad, mode="constant", value=0.0):
    """Padding of the last one or two axes (non-negative amounts) on the GPU."""
    modes = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3}
    x = _device(input, "input", "pad")
    if mode not in modes:
        raise ValueError(f"Unrecognised padding mode {mode!r}; expected one of {', '.join(modes)}")
    if len(pad) not in (2, 4) or min(pad) < 0 or x.ndim < 2:
        raise NotImplementedError("on the GPU, pad takes (left, right) or (left, right, top, bottom), non-negative, "
                                  "for inputs of 2 or more dimensions; move other cases to the CPU")  # fmt: skip
    left, right = pad[0], pad[1]
    top, bottom = (pad[2], pad[3]) if len(pad) == 4 else (0, 0)
    H, W = x.shape[-2:]
    if mode == "reflect" and (max(left, right) >= W or max(top, bottom) >= H):
        raise ValueError("Padding size should be less than the corresponding input dimension")
    lead = x.shape[:-2]
    x3 = x.reshape(-1, H, W)
    out = _empty((x3.shape[0], H + top + bottom, W + left + right), x.dtype)
    if out.size:
        kernels.pad2d[_blocks(out.size), THREADS](x3.data, out.data, left, top, modes[mode], value)
    return out.reshape(*lead, H + top + bottom, W + left + right)


def dropout(input, p=0.5, training=True, inplace=False, *, rng=None):
    if training and p > 0:
        raise NotImplementedError("dropout in training mode is not implemented on the GPU: call model.eval()")
    return input
