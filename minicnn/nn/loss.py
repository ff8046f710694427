"""Loss modules, as in ``torch.nn``: the functional losses with their options kept as attributes."""

from __future__ import annotations

import minicnn.functional as F
from minicnn.nn.module import Module


class CrossEntropyLoss(Module):
    """``F.cross_entropy`` of the logits (N, C) and the targets (N,) class indices or (N, C) probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(Module):
    """``F.nll_loss`` of log-probabilities (N, C) and class indices (N,)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(Module):
    """``F.mse_loss``: the mean (or sum) of the squared differences."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)
