"""The GPU backend: the functional ops on DeviceArrays, computed by the kernels of ``minicnn/cuda/kernels.py``.

``minicnn.functional`` checks every argument first (``minicnn.specs``, the same rules and messages as on the CPU)
and sends the call here when its input is a DeviceArray, with the sizes worked out (a ``ConvSpec``, a
``PoolSpec``). Each op allocates its output on the GPU and launches one kernel. This module imports nothing of
``minicnn.functional``; what it cannot compute says so (``NotImplementedError``) rather than computing elsewhere.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import cuda

from minicnn.cuda import conv_blocked, kernels
from minicnn.cuda.array import DeviceArray
from minicnn.kernels.registry import ALGORITHMS

THREADS = 128  # threads per block for the one-thread-per-element kernels


def _blocks(n):
    return max(1, math.ceil(n / THREADS))


def _empty(shape, dtype):
    return DeviceArray(cuda.device_array(shape, dtype=dtype))


def _zeros_bias(c, dtype):
    return cuda.to_device(np.zeros(c, dtype))


#: conv2d on the GPU: "naive" and "im2col" run the kernels the registry names for them (the direct kernel, the
#: readable tiled implicit GEMM); "default" and "auto" the register-blocked implicit GEMM (cuda/conv_blocked.py),
#: or the direct kernel where a group has fewer than 8 output channels or K < 16 (depthwise layers: a GEMM tile
#: would be mostly empty).
GPU_RULES = ("default", "auto")


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


def kernel_name(name: str, spec) -> str:
    """The CUDA kernel that computes ``spec`` for the algorithm ``name``; a ValueError if it has none."""
    if name in GPU_RULES:
        small = spec.C_out_g < 8 or spec.C_in_g * spec.KH * spec.KW < 16
        return "conv2d_direct" if small else "conv2d_blocked"
    kernel = ALGORITHMS[name].cuda
    if kernel is None:
        on_gpu = [*GPU_RULES, *(n for n, a in ALGORITHMS.items() if a.cuda)]
        raise ValueError(f"conv2d algorithm {name!r} has no CUDA kernel; on the GPU: {', '.join(on_gpu)}")
    return kernel


def conv2d(x, weight, bias, spec, name, relu=False):
    """conv2d of the 4-D DeviceArray ``x`` as ``spec`` says, by the kernel ``kernel_name(name, spec)`` picks."""
    kernel = kernel_name(name, spec)
    out = _empty(spec.out_shape, x.dtype)
    if out.size == 0:
        return out
    b = bias.data if bias is not None else _zeros_bias(spec.C_out, x.dtype)
    (sH, sW), (dH, dW), (top, _, left, _) = spec.stride, spec.dilation, spec.pads
    args = (x.data, weight.data, b, out.data, sH, sW, top, left, dH, dW, spec.groups, relu)
    NG = min(spec.N * spec.groups, conv_blocked.MAX_GRID_Z)  # grid z: blocks loop over (image, group) pairs beyond
    contiguous = all(a.is_c_contiguous() for a in (x.data, weight.data, b))
    if kernel == "conv2d_blocked" and not contiguous:
        kernel = "conv2d_tiled"  # the blocked kernel reads flat arrays
    if kernel == "conv2d_direct":
        kernels.conv2d_direct[_blocks(out.size), THREADS](*args)
    elif kernel == "conv2d_tiled":
        grid = (math.ceil(spec.OH * spec.OW / kernels.TILE), math.ceil(spec.C_out_g / kernels.TILE), NG)
        kernels.conv2d_tiled[x.dtype.name][grid, (kernels.TILE, kernels.TILE)](*args)
    else:
        config = _blocked_config(spec.C_out_g, spec.OH * spec.OW, NG)
        BM, BN = conv_blocked.block_shape(config)
        grid = (math.ceil(spec.OH * spec.OW / BN), math.ceil(spec.C_out_g / BM), NG)
        kernel = conv_blocked.conv2d_blocked(x.dtype.name, config)
        kernel[grid, (conv_blocked.THREADS_M, conv_blocked.THREADS_N)](
            x.data.reshape(-1), weight.data.reshape(-1), b, out.data.reshape(-1), spec.N, spec.C_in, spec.H, spec.W,
            spec.C_out, spec.KH, spec.KW, spec.OH, spec.OW, *args[4:])  # fmt: skip
    return out


def linear(x, weight, bias):
    """x @ weight.T + bias; a 1-D weight drops the last axis, as in torch."""
    vector = weight.ndim == 1
    w = weight.reshape(1, -1) if vector else weight
    lead = x.shape[:-1]
    a = x.reshape(-1, x.shape[-1])
    out = _empty((a.shape[0], w.shape[0]), x.dtype)
    b = bias.reshape(-1).data if bias is not None else _zeros_bias(w.shape[0], x.dtype)
    if bias is not None and bias.size != w.shape[0]:
        raise NotImplementedError("on the GPU, linear takes a bias of out_features elements (no broadcasting)")
    grid = (math.ceil(w.shape[0] / kernels.TILE), math.ceil(a.shape[0] / kernels.TILE))
    if out.size:
        kernels.gemm_tiled[x.dtype.name][grid, (kernels.TILE, kernels.TILE)](a.data, w.data, b, out.data)
    return out.reshape(*lead) if vector else out.reshape(*lead, w.shape[0])


def clip(x, lo, hi, inplace):
    """min(max(x, lo), hi) element-wise, NaN kept (relu: lo = 0, hi = inf; relu6: hi = 6)."""
    out = x if inplace else _empty(x.shape, x.dtype)
    flat_in, flat_out = x.reshape(-1).data, out.reshape(-1).data
    if out.size:
        kernels.elementwise[_blocks(out.size), THREADS](flat_in, flat_in, flat_out, 0, lo, hi)
    return out


def add(a, b, out=None):
    """a + b for two DeviceArrays of the same shape (the residual connections)."""
    if not isinstance(b, DeviceArray) or a.shape != b.shape or a.dtype != b.dtype:
        raise ValueError(f"adding {a.shape} {a.dtype} and {getattr(b, 'shape', type(b).__name__)}: "
                         "both must be DeviceArrays of one shape and dtype")  # fmt: skip
    out = _empty(a.shape, a.dtype) if out is None else out
    if out.size:
        kernels.elementwise[_blocks(out.size), THREADS](a.reshape(-1).data, b.reshape(-1).data, out.reshape(-1).data,
                                                        1, 0.0, 0.0)  # fmt: skip
    return out


def max_pool2d(x, spec):
    """(values, indices) of max pooling the 4-D ``x`` as ``spec`` (a PoolSpec) says."""
    shape = (x.shape[0], x.shape[1], *spec.out_size)
    out, idx = _empty(shape, x.dtype), _empty(shape, np.int64)
    if out.size:
        kernels.max_pool2d[_blocks(out.size), THREADS](x.data, out.data, idx.data, *spec.kernel_size, *spec.stride,
                                                       *spec.padding, *spec.dilation)  # fmt: skip
    return out, idx


def avg_pool2d(x, spec, count_include_pad, divisor):
    out = _empty((x.shape[0], x.shape[1], *spec.out_size), x.dtype)
    if out.size:
        kernels.avg_pool2d[_blocks(out.size), THREADS](x.data, out.data, *spec.kernel_size, *spec.stride,
                                                       *spec.padding, count_include_pad, divisor or 0)  # fmt: skip
    return out


def adaptive_pool2d(x, size, mode):
    """(values, indices or None) of adaptive "avg" or "max" pooling of the 4-D ``x`` to ``size`` (OH, OW)."""
    shape = (x.shape[0], x.shape[1], *size)
    out = _empty(shape, x.dtype)
    idx = _empty(shape, np.int64) if mode == "max" else None
    if out.size and mode == "max":
        kernels.adaptive_max_pool2d[_blocks(out.size), THREADS](x.data, out.data, idx.data)
    elif out.size:
        kernels.adaptive_avg_pool2d[_blocks(out.size), THREADS](x.data, out.data)
    return out, idx


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """(x - mean) / sqrt(var + eps) * weight + bias per channel, in one pass on the GPU. In training mode the batch's
    statistics are computed on the GPU first, and the running ones updated."""
    C = x.shape[1]
    inner = x.size // (x.shape[0] * C) if x.shape[0] * C else 0
    if training:
        mean_d, var_d = cuda.device_array(C, x.dtype), cuda.device_array(C, x.dtype)
        kernels.channel_stats[_blocks(C), THREADS](x.reshape(-1).data, x.shape[0], C, inner, mean_d, var_d)
        count = x.size // C
        for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
            if stat is not None:  # running statistics: tiny, updated on the host then copied back
                batch = mean_d.copy_to_host() if name == "running_mean" else var_d.copy_to_host() * count / (count - 1)
                stat.data.copy_to_device((stat.copy_to_host() * (1 - momentum) + momentum * batch).astype(x.dtype))
    else:
        mean_d, var_d = running_mean.data, running_var.data
    out = _empty(x.shape, x.dtype)
    if out.size:  # everything stays on the GPU: no copy to the host in evaluation mode
        none = cuda.device_array(1, x.dtype)
        w_d, b_d = (none if a is None else a.data for a in (weight, bias))
        kernels.batch_norm_apply[_blocks(out.size), THREADS](x.reshape(-1).data, mean_d, var_d, w_d, b_d, float(eps),
                                                             out.reshape(-1).data, C, inner, weight is not None,
                                                             bias is not None)  # fmt: skip
    return out


def softmax(x, dim, log):
    """softmax (or log_softmax, ``log``) along the non-negative axis ``dim``."""
    length = x.shape[dim]
    inner = int(np.prod(x.shape[dim + 1 :])) if dim + 1 < x.ndim else 1
    out = _empty(x.shape, x.dtype)
    if out.size:
        lines = x.size // length
        kernels.softmax[_blocks(lines), THREADS](x.reshape(-1).data, out.reshape(-1).data, length, inner, log)
    return out


def pad(x, pads, mode, value):
    """Padding of the last one or two axes (non-negative amounts) on the GPU; the arguments are checked already."""
    modes = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3}
    if len(pads) not in (2, 4) or min(pads) < 0 or x.ndim < 2:
        raise NotImplementedError("on the GPU, pad takes (left, right) or (left, right, top, bottom), non-negative, "
                                  "for inputs of 2 or more dimensions; move other cases to the CPU")  # fmt: skip
    left, right = pads[0], pads[1]
    top, bottom = (pads[2], pads[3]) if len(pads) == 4 else (0, 0)
    H, W = x.shape[-2:]
    if mode == "reflect" and (max(left, right) >= W or max(top, bottom) >= H):
        raise ValueError("Padding size should be less than the corresponding input dimension")
    lead = x.shape[:-2]
    x3 = x.reshape(-1, H, W)
    out = _empty((x3.shape[0], H + top + bottom, W + left + right), x.dtype)
    if out.size:
        kernels.pad2d[_blocks(out.size), THREADS](x3.data, out.data, left, top, modes[mode], value)
    return out.reshape(*lead, H + top + bottom, W + left + right)


def dropout(x, p, training):
    if training and p > 0:
        raise NotImplementedError("dropout in training mode is not implemented on the GPU: call model.eval()")
    return x
