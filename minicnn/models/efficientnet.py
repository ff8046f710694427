"""EfficientNet-Lite0 (Tan and Le, 2019; the "Lite" variant for mobile and TensorFlow Lite).

EfficientNet's building block is the MBConv ("mobile inverted bottleneck"): a 1x1 conv *expands* the
channels (x6), a depthwise KxK conv filters each channel on its own (stride 2 here halves the size), a
1x1 conv *projects* back down to few channels with no activation after it (a linear bottleneck), and the
input is added back when the shape allows. The Lite variant, made for integer hardware, drops
squeeze-and-excitation and uses ReLU6; its stem (32 channels) and head (1280) are fixed.

The architecture is the table below, one row per stage. The weights come from TensorFlow, so every conv
pads like TensorFlow's "SAME": just enough zeros for ``ceil(size / stride)`` outputs, split evenly with
the odd one at the bottom/right (for a 3x3 stride-2 conv on 224 pixels: 0 before, 1 after). Attribute
names follow the checkpoint (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``, ...), and BatchNorm
uses TensorFlow's eps of 1e-3.
"""

from __future__ import annotations

import math

import numpy as np

import minicnn.functional as F
from minicnn import nn

#: (repeats, kernel, stride of the first block, expansion, in channels, out channels) per stage.
LITE0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
BN_EPS, BN_MOMENTUM = 1e-3, 0.01  # TensorFlow's BatchNorm: epsilon 1e-3, decay 0.99


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "SAME" padding along one axis: (before, after), the odd one after.

    out = ceil(size / stride); total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """A Conv2d that pads like TensorFlow's "SAME", computed from each input's size."""

    def padding_for(self, size) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), as ``F.pad`` orders them, for an input of spatial size ``size`` (H, W)."""
        (top, bottom), (left, right) = (
            same_padding(n, k, s, d) for n, k, s, d in zip(size, self.kernel_size, self.stride, self.dilation)
        )
        return left, right, top, bottom

    def forward(self, x):
        padding = self.padding_for(x.shape[-2:])
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


def bn(channels, dtype):
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM, dtype=dtype)


class MBConvBlock(nn.Module):
    """1x1 expand (unless expansion is 1) -> depthwise KxK -> 1x1 project, plus the input when shapes match."""

    def __init__(self, in_channels, out_channels, kernel, stride, expansion, *, dtype=np.float32, generator=None):
        super().__init__()
        mid = in_channels * expansion
        kw = dict(bias=False, dtype=dtype, generator=generator)
        if expansion != 1:
            self._expand_conv = Conv2dSame(in_channels, mid, 1, **kw)
            self._bn0 = bn(mid, dtype)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid, **kw)
        self._bn1 = bn(mid, dtype)
        self._project_conv = Conv2dSame(mid, out_channels, 1, **kw)
        self._bn2 = bn(out_channels, dtype)
        self._relu = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        h = x  # (N, C_in, H, W)
        if "_expand_conv" in self._modules:
            h = self._relu(self._bn0(self._expand_conv(h)))  # (N, 6*C_in, H, W)
        h = self._relu(self._bn1(self._depthwise_conv(h)))  # (N, 6*C_in, H/stride, W/stride)
        h = self._bn2(self._project_conv(h))  # (N, C_out, H/stride, W/stride): no activation
        return h + x if self.residual else h


class EfficientNetLite(nn.Module):
    def __init__(self, stages=LITE0_STAGES, num_classes=1000, dropout=0.2, *, dtype=np.float32, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2, bias=False, **kw)  # 224 -> 112
        self._bn0 = bn(32, dtype)
        blocks = []
        for repeats, kernel, stride, expansion, c_in, c_out in stages:
            for i in range(repeats):  # only a stage's first block changes size and channel count
                blocks.append(MBConvBlock(c_in if i == 0 else c_out, c_out, kernel, stride if i == 0 else 1, expansion,
                                          **kw))  # fmt: skip
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = Conv2dSame(stages[-1][-1], 1280, 1, bias=False, **kw)
        self._bn1 = bn(1280, dtype)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes, **kw)
        self._relu = nn.ReLU6(inplace=True)

    def forward(self, x):
        x = self._relu(self._bn0(self._conv_stem(x)))  # (N, 32, H/2, W/2)
        x = self._blocks(x)  # (N, 320, H/32, W/32)
        x = self._relu(self._bn1(self._conv_head(x)))  # (N, 1280, H/32, W/32)
        x = nn.flatten(self._avg_pooling(x), 1)  # (N, 1280)
        return self._fc(self._dropout(x))  # (N, num_classes)
