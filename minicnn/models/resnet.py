"""ResNet50 (He et al., 2015), laid out exactly as torchvision's ``models/resnet.py``.

A 7x7 stride-2 stem and a max pooling (224 -> 56), then four stages of Bottleneck blocks (3, 4, 6, 3 of
them; 256, 512, 1024, 2048 output channels; the first block of stages 2-4 halves the size with its 3x3
conv), a global average pooling and one Linear layer. Each block adds its input back to its output (the
residual); a 1x1 conv (``downsample``) reshapes the input when the block changes size or channel count.
``minicnn.optimize(model)`` folds the batch norms into the convolutions and fuses the residual additions,
without changing this file.
"""

from __future__ import annotations

import numpy as np

from minicnn import nn
from minicnn.nn import init


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1, **kw):
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation, **kw)  # fmt: skip


def conv1x1(in_planes, out_planes, stride=1, **kw):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False, **kw)


class Bottleneck(nn.Module):
    """1x1 conv (reduce channels) -> 3x3 conv (stride here) -> 1x1 conv (expand x4), plus the identity."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1, **kw):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        dtype = kw.get("dtype", np.float32)
        self.conv1 = conv1x1(inplanes, width, **kw)
        self.bn1 = nn.BatchNorm2d(width, dtype=dtype)
        self.conv2 = conv3x3(width, width, stride, groups, dilation, **kw)
        self.bn2 = nn.BatchNorm2d(width, dtype=dtype)
        self.conv3 = conv1x1(width, planes * self.expansion, **kw)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion, dtype=dtype)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x  # (N, inplanes, H, W)
        out = self.relu(self.bn1(self.conv1(x)))  # (N, width, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, width, H/stride, W/stride)
        out = self.bn3(self.conv3(out))  # (N, 4*planes, H/stride, W/stride)
        if self.downsample is not None:
            identity = self.downsample(x)  # (N, 4*planes, H/stride, W/stride)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, *, dtype=np.float32, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.inplanes, self.dilation, self.groups, self.base_width = 64, 1, 1, 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False, **kw)
        self.bn1 = nn.BatchNorm2d(self.inplanes, dtype=dtype)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], **kw)
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2, **kw)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2, **kw)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, **kw)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes, **kw)
        for m in self.modules():  # torchvision's initialisation (the fc layer keeps torch's default)
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)

    def _make_layer(self, block, planes, blocks, stride=1, **kw):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride, **kw),
                nn.BatchNorm2d(planes * block.expansion, dtype=kw["dtype"]),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, self.dilation, **kw)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width, **kw))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer1(x)  # (N, 256, H/4, W/4)
        x = self.layer2(x)  # (N, 512, H/8, W/8)
        x = self.layer3(x)  # (N, 1024, H/16, W/16)
        x = self.layer4(x)  # (N, 2048, H/32, W/32)
        x = self.avgpool(x)  # (N, 2048, 1, 1)
        x = nn.flatten(x, 1)  # (N, 2048)
        return self.fc(x)  # (N, num_classes)
