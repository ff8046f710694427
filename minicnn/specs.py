"""Every op's arguments checked once, with torch's rules and messages, for arrays on any device.

``minicnn.functional`` calls these first; they read only ``shape``, ``dtype`` and ``ndim`` (a NumPy array and a
``minicnn.cuda.DeviceArray`` alike) and return the arguments normalized, e.g. a ``ConvSpec`` with every size
of a convolution. A backend then computes from the spec: the NumPy kernels (``minicnn/kernels``) or the CUDA
ones (``minicnn/cuda``), which import this module and never ``minicnn.functional``.

Errors are ``TypeError`` for a wrong kind of argument (not an array, an integer dtype, mixed dtypes or devices)
and ``ValueError`` for a wrong value (shape, size, padding); each message names the shapes involved.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def shape_str(shape: tuple[int, ...]) -> str:
    """torch's way of printing a size in messages: ``[1, 3, 8, 8]``."""
    return "[" + ", ".join(str(s) for s in shape) + "]"


def is_int(v: object) -> bool:
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))  # int first: fast


def on_gpu(x) -> bool:
    """Whether ``x`` is a minicnn.cuda.DeviceArray (checked without importing anything of CUDA)."""
    return getattr(x, "device", None) == "cuda" and not isinstance(x, np.ndarray)


def check_array(x: object, op: str, name: str = "input", like=None):
    """``x`` itself if it is a float32/float64 array on the device of ``like`` (default: its own); else a TypeError
    naming ``op`` and ``name``."""
    gpu = on_gpu(x)
    if not (isinstance(x, np.ndarray) or gpu):
        raise TypeError(f"{op}(): argument '{name}' must be a numpy.ndarray, not {type(x).__name__}")
    if like is not None and gpu != on_gpu(like):
        where, other = ("the GPU", "the CPU") if gpu else ("the CPU", "the GPU")
        move = "minicnn.cuda.to_device" if not gpu else "minicnn.cuda.to_host"
        raise TypeError(f"{op}(): {name} is on {where} but the input is on {other}: move it with {move}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{op}(): argument '{name}' has dtype {x.dtype}; minicnn computes in float32 or float64 "
            f"(convert with {name}.astype(numpy.float32))"
        )
    return x


def check_others(op: str, input, **others) -> None:
    """Every array in ``others`` (None skipped): a float array on ``input``'s device with ``input``'s dtype (torch
    refuses to mix float and double)."""
    for name, a in others.items():
        if a is not None:
            check_array(a, op, name, like=input)
            if a.dtype != input.dtype:
                raise TypeError(f"{op}(): input dtype ({input.dtype}) and {name} dtype ({a.dtype}) should be the same")


def batched(x, op: str):
    """Accept (C, H, W) or (N, C, H, W); return the 4-D array (a view) and whether a batch axis was added."""
    if x.ndim not in (3, 4):
        raise ValueError(
            f"Expected 3D (unbatched) or 4D (batched) input to {op}, but got input of size: {shape_str(x.shape)}"
        )
    return (x.reshape(1, *x.shape), True) if x.ndim == 3 else (x, False)


def pair(v: object, name: str, op: str) -> tuple[int, int]:
    """An int, or a sequence of one or two ints, as the pair (for height, for width)."""
    if is_int(v):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)) and len(v) in (1, 2) and all(is_int(e) for e in v):
        return (int(v[0]), int(v[-1]))
    raise TypeError(f"{op}(): {name} must be an int or a pair of ints, got {v!r}")


def normalize_dim(dim: int, ndim: int) -> int:
    """A possibly negative axis as a non-negative one, with torch's IndexError when out of range."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not is_int(dim) or not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim % max(ndim, 1)


# ----------------------------------------------------------------------------------------------- convolution


@dataclass(frozen=True)
class ConvSpec:
    """A convolution's sizes, checked (notation of ``minicnn/kernels/__init__.py``).

    ``pads`` is (top, bottom, left, right): the zeros around the input (kernels pad themselves).
    """

    N: int
    C_in: int
    H: int
    W: int
    C_out: int
    KH: int
    KW: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    pads: tuple[int, int, int, int]

    @property
    def C_in_g(self) -> int:
        return self.C_in // self.groups

    @property
    def C_out_g(self) -> int:
        return self.C_out // self.groups

    @property
    def OH(self) -> int:
        return (self.H + self.pads[0] + self.pads[1] - self.dilation[0] * (self.KH - 1) - 1) // self.stride[0] + 1

    @property
    def OW(self) -> int:
        return (self.W + self.pads[2] + self.pads[3] - self.dilation[1] * (self.KW - 1) - 1) // self.stride[1] + 1

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.C_out, self.OH, self.OW)

    @property
    def kind(self) -> str:
        """ "pointwise" (1x1, groups 1), "depthwise" (one input channel per group) or "general"."""
        if self.groups == 1 and self.KH == self.KW == 1:
            return "pointwise"
        if self.groups > 1 and self.C_in_g == 1:
            return "depthwise"
        return "general"

    @property
    def macs(self) -> int:
        """Multiply-accumulates: N * C_out * OH * OW * C_in_g * KH * KW."""
        return self.N * self.C_out * self.OH * self.OW * self.C_in_g * self.KH * self.KW


def conv2d(x, weight, bias, stride, padding, dilation, groups) -> ConvSpec:
    """Check a 4-D ``x`` and conv2d's other arguments (torch's rules and messages); return the ConvSpec."""
    op = "conv2d"
    check_array(x, op)
    check_others(op, x, weight=weight, bias=bias)
    stride, dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
    if weight.ndim != 4:
        raise ValueError(f"conv2d expects a 4-D weight (C_out, C_in/groups, KH, KW), got {shape_str(weight.shape)}")
    if not is_int(groups) or groups <= 0:
        raise ValueError("non-positive groups is not supported")
    if min(stride) <= 0:
        raise ValueError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise ValueError(f"dilation should be greater than zero, but got {list(dilation)}")
    C_out, C_in_g, KH, KW = weight.shape
    if C_out < groups:  # torch's check: no output channels at all, or fewer than the groups
        raise ValueError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {shape_str(weight.shape)} instead"
        )
    if C_out % groups:
        raise ValueError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size {shape_str(weight.shape)} instead"
        )
    if x.shape[1] != C_in_g * groups:
        raise ValueError(
            f"Given groups={groups}, weight of size {shape_str(weight.shape)}, expected input"
            f"{shape_str(x.shape)} to have {C_in_g * groups} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and bias.shape != (C_out,):
        raise ValueError(
            f"Given weight of size {shape_str(weight.shape)}, expected bias to be 1-dimensional with "
            f"{C_out} elements, but got bias of size {shape_str(bias.shape)} instead"
        )
    pads = conv_padding(padding, (KH, KW), stride, dilation)
    N, C_in, H, W = x.shape
    Hp, Wp = H + pads[0] + pads[1], W + pads[2] + pads[3]
    span_h, span_w = dilation[0] * (KH - 1) + 1, dilation[1] * (KW - 1) + 1
    if span_h > Hp or span_w > Wp:
        raise ValueError(
            f"Calculated padded input size per channel: ({Hp} x {Wp}). Kernel size: ({span_h} x {span_w}). "
            "Kernel size can't be greater than actual input size"
        )
    return ConvSpec(N, C_in, H, W, C_out, KH, KW, stride, dilation, groups, pads)


def conv_padding(padding, kernel_size, stride, dilation) -> tuple[int, int, int, int]:
    """Any accepted form of conv2d's ``padding`` as (top, bottom, left, right) zero counts.

    An int or (h, w) pair pads both sides; ``"valid"`` nothing; ``"same"`` (stride 1) keeps the size, the odd one
    out at the bottom/right as torch does; minicnn adds ``(left, right, top, bottom)`` as in ``F.pad``.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"Invalid padding string: '{padding}'")
        if tuple(stride) != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel_size, dilation):
            total = d * (k - 1)  # what keeps the size; PyTorch puts the odd one out at the end
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    if isinstance(padding, (tuple, list)) and len(padding) == 4 and all(is_int(p) for p in padding):
        left, right, top, bottom = (int(p) for p in padding)  # F.pad order: last axis first
        pads = (top, bottom, left, right)
    else:
        ph, pw = pair(padding, "padding", "conv2d")
        pads = (ph, ph, pw, pw)
    if min(pads) < 0:
        raise ValueError("negative padding is not supported")
    return pads


# --------------------------------------------------------------------------------------------------- pooling


@dataclass(frozen=True)
class PoolSpec:
    """A pooling's sizes, checked: (h, w) pairs, and the output size."""

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    ceil_mode: bool
    out_size: tuple[int, int]


def pool_output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's pooled length along one axis.

    ``out = floor_or_ceil((size + 2*pad - dilation*(kernel-1) - 1) / stride) + 1``; with ceil_mode, a last
    window that would start in the right padding (``(out-1)*stride >= size + pad``) is dropped.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool2d(op, x, kernel_size, stride, padding, dilation, ceil_mode, given=None) -> PoolSpec:
    """Check the arguments of max and average pooling for a 4-D ``x`` (``aten/src/ATen/native/Pool.h``);
    ``given``: the input as the caller gave it (3-D or 4-D), for the messages."""
    check_array(x, op)
    if x.shape[1] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
            f"but got:{shape_str((x if given is None else given).shape)}"
        )
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else pair(stride, "stride", op)
    p, d = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if min(k) <= 0:
        raise ValueError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if min(s) <= 0:
        raise ValueError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise ValueError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    if min(p) < 0:
        raise ValueError(f"pad must be non-negative, but got pad: {p}")
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            raise ValueError(
                f"pad should be at most half of effective kernel size, but got pad={pp}, "
                f"kernel_size={kk} and dilation={d[0]}"
            )
    C, H, W = x.shape[1:]
    out = tuple(pool_output_size(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip((H, W), k, s, p, d))
    if min(out) < 1:
        raise ValueError(
            f"Given input size: ({C}x{H}x{W}). Calculated output size: ({C}x{out[0]}x{out[1]}). "
            "Output size is too small"
        )
    return PoolSpec(k, s, p, d, bool(ceil_mode), out)


def avg_divisor(divisor_override):
    if divisor_override is not None and (not is_int(divisor_override) or divisor_override == 0):
        raise ValueError("divisor must be not zero")
    return divisor_override


def adaptive_size(op, x, output_size, given=None) -> tuple[int, int]:
    """The (OH, OW) of adaptive pooling of a 4-D ``x`` (an entry None keeps that input size)."""
    check_array(x, op)
    if x.shape[1] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(
            f"{op}(): Expected 3D or 4D tensor with non-zero sizes for the channel and spatial "
            f"dimensions, but got input of size {shape_str((x if given is None else given).shape)}"
        )
    if is_int(output_size) or output_size is None:
        output_size = (output_size, output_size)
    if not isinstance(output_size, (tuple, list)) or len(output_size) != 2:
        raise TypeError(f"{op}(): output_size must be an int or a pair of ints or None, got {output_size!r}")
    size = tuple(n if o is None else o for o, n in zip(output_size, x.shape[2:]))
    if not all(is_int(o) for o in size) or min(size) < 0:
        raise ValueError(f"{op}: elements of output_size must be greater than or equal to 0 but received {output_size}")
    return tuple(int(o) for o in size)


# ------------------------------------------------------------------------------------ linear, normalization


def linear(x, weight, bias) -> None:
    check_array(x, "linear")
    check_others("linear", x, weight=weight, bias=bias)
    if weight.ndim not in (1, 2) or x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise ValueError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1] if x.ndim else 0} and "
            f"{'x'.join(str(s) for s in weight.shape[::-1])}): "
            f"input {shape_str(x.shape)}, weight {shape_str(weight.shape)}"
        )


def batch_norm(x, running_mean, running_var, weight, bias, training) -> None:
    op = "batch_norm"
    check_array(x, op)
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C) or (N, C, *), got {shape_str(x.shape)}")
    C = x.shape[1]
    stats = {"running_mean": running_mean, "running_var": running_var, "weight": weight, "bias": bias}
    check_others(op, x, **stats)
    for name, a in stats.items():
        if a is not None and a.shape != (C,):
            raise ValueError(f"{name} should contain {C} elements not {a.size} (input {shape_str(x.shape)})")
    if training and int(np.prod(x.shape)) // max(C, 1) <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {shape_str(x.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("running_mean and running_var must be defined in evaluation mode")


def dropout_p(p) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return float(p)
