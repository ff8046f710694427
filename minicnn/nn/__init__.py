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
from minicnn.nn.loss import CrossEntropyLoss, MSELoss, NLLLoss
from minicnn.nn.module import IncompatibleKeys, Module, Parameter, RemovableHandle

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout",
    "Flatten", "Identity", "IncompatibleKeys", "Linear", "MSELoss", "MaxPool2d", "Module", "NLLLoss", "Parameter",
    "ReLU", "ReLU6", "RemovableHandle", "Sequential", "flatten", "init",
]  # fmt: skip
