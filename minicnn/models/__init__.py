"""Model builders with torchvision's names: ``minicnn.models.vgg16()``, ``minicnn.models.resnet50()``.

``weights`` is None (fresh initialisation, torchvision's scheme) or the path of a checkpoint written by
``torch.save(model.state_dict(), path)``. ``pretrained=False`` / ``True`` are accepted as in old
torchvision. ``generator`` (a numpy Generator or a seed) makes the initialisation reproducible.
"""

from __future__ import annotations

import warnings

import numpy as np

from minicnn._random import as_generator
from minicnn.models.resnet import Bottleneck, ResNet
from minicnn.models.vgg import VGG, VGG16_CFG, make_layers
from minicnn.models.weights import load_weights, resolve_weights


def _build(name, make, weights, pretrained, kwargs):
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
    return load_weights(model, source)


def vgg16(weights=None, progress=True, *, pretrained=None, dtype=np.float32, generator=None, **kwargs) -> VGG:
    """VGG16 as ``torchvision.models.vgg16``: 138,357,544 parameters; (N, 3, H, W) -> (N, 1000) logits."""
    generator = as_generator(generator)  # one stream for the whole model (a seed would repeat per layer)

    def make(init_weights):
        features = make_layers(VGG16_CFG, dtype=dtype, generator=generator)
        return VGG(features, init_weights=init_weights, dtype=dtype, generator=generator, **kwargs)

    return _build("vgg16", make, weights, pretrained, kwargs)


def resnet50(weights=None, progress=True, *, pretrained=None, dtype=np.float32, generator=None, **kwargs) -> ResNet:
    """ResNet50 as ``torchvision.models.resnet50``: 25,557,032 parameters; (N, 3, H, W) -> (N, 1000) logits."""
    generator = as_generator(generator)
    return _build(
        "resnet50",
        lambda _: ResNet(Bottleneck, [3, 4, 6, 3], dtype=dtype, generator=generator, **kwargs),
        weights,
        pretrained,
        kwargs,
    )


__all__ = ["VGG", "ResNet", "Bottleneck", "vgg16", "resnet50"]
