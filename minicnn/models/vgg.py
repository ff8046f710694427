"""VGG16 (Simonyan and Zisserman, 2014), laid out exactly as torchvision's ``models/vgg.py``.

The architecture is data: a list of channel counts, with "M" for a 2x2 max pooling. Thirteen 3x3 convs
(padding 1, so they keep the size) and five poolings (each halves it): a 3x224x224 image becomes
512x7x7 in ``features``, ``avgpool`` makes that 7x7 for any input size, and ``classifier`` maps the
25,088 numbers to 1,000 class scores. Attribute names match torchvision, so checkpoint keys map 1:1
(``features.0.weight`` ... ``classifier.6.bias``). ``minicnn.optimize(model)`` makes it faster without
changing this file (channels-last activations, fused ReLU, prepacked weights).
"""

from __future__ import annotations

import numpy as np

from minicnn import nn
from minicnn.nn import init

#: torchvision's configuration "D": VGG16.
VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def make_layers(cfg, in_channels=3, dtype=np.float32, generator=None) -> nn.Sequential:
    """Conv2d(3x3, padding 1) + ReLU(inplace) for each number, MaxPool2d(2, 2) for each "M"."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1, dtype=dtype, generator=generator),
                       nn.ReLU(inplace=True)]  # fmt: skip
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features, num_classes=1000, dropout=0.5, init_weights=True, *, dtype=np.float32, generator=None):
        super().__init__()
        self.features = features  # (N, 3, H, W) -> (N, 512, H/32, W/32)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))  # -> (N, 512, 7, 7)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096, dtype=dtype, generator=generator),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096, dtype=dtype, generator=generator),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes, dtype=dtype, generator=generator),
        )
        if init_weights:  # torchvision's initialisation
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=generator)
                    if m.bias is not None:
                        init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0, 0.01, generator=generator)
                    init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)  # (N, 512, H/32, W/32)
        x = self.avgpool(x)  # (N, 512, 7, 7)
        x = nn.flatten(x, 1)  # (N, 25088)
        return self.classifier(x)  # (N, num_classes)
