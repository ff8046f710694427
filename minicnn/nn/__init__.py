"""Layers and models as in ``torch.nn``: ``import minicnn.nn as nn``."""

from minicnn.nn import init
from minicnn.nn.containers import Sequential
from minicnn.nn.layers import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    ReLU,
    ReLU6,
    flatten,
)
from minicnn.nn.module import IncompatibleKeys, Module, RemovableHandle

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten",
    "Identity", "IncompatibleKeys", "Linear", "MaxPool2d", "Module", "ReLU", "ReLU6", "RemovableHandle",
    "Sequential", "flatten", "init",
]  # fmt: skip
