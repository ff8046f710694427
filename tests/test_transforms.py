"""Preprocessing against torchvision: the ImageNet presets on real photos, and each transform on PIL and arrays."""

import matplotlib.cbook
import numpy as np
import pytest
import torch
import torchvision
import torchvision.transforms as TT
from PIL import Image

from minicnn import transforms as T
from minicnn.data import sample_image_path
from minicnn.models import ResNet50_Weights, VGG16_Weights
from minicnn.testing import assert_close


def photos():
    """Real photos of several sizes and modes, plus synthetic ones that stress the size rules."""
    rng = np.random.default_rng(0)
    yield "chelsea", Image.open(sample_image_path())
    yield "grace_hopper", Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg"))
    yield "logo_rgba", Image.open(matplotlib.cbook.get_sample_data("logo2.png"))
    yield "present", Image.open(matplotlib.cbook.get_sample_data("Minduka_Present_Blue_Pack.png"))
    yield "portrait", Image.fromarray(rng.integers(0, 256, (500, 333, 3), dtype=np.uint8))
    yield "tiny", Image.fromarray(rng.integers(0, 256, (100, 150, 3), dtype=np.uint8))  # upscaled, then cropped
    yield "gray", Image.fromarray(rng.integers(0, 256, (300, 400), dtype=np.uint8))


@pytest.mark.parametrize(("name", "image"), list(photos()), ids=[n for n, _ in photos()])
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (VGG16_Weights.IMAGENET1K_V1, torchvision.models.VGG16_Weights.IMAGENET1K_V1),
        (ResNet50_Weights.IMAGENET1K_V2, torchvision.models.ResNet50_Weights.IMAGENET1K_V2),
    ],
    ids=["vgg16", "resnet50_v2"],
)
def test_imagenet_presets_equal_torchvision_on_photos(name, image, ours, theirs):
    rgb = image.convert("RGB")
    got = ours.transforms()(rgb)
    want = theirs.transforms()(rgb).numpy()
    assert got.dtype == np.float32 and got.shape == want.shape == (3, 224, 224)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("size", [100, (57, 300), [64], 500])
def test_resize_pil_and_array(size):
    img = Image.open(sample_image_path())
    np.testing.assert_array_equal(np.asarray(T.Resize(size)(img)), np.asarray(TT.Resize(size)(img)))
    a = T.ToTensor()(img).astype(np.float64)
    want = TT.Resize(size, antialias=True)(torch.from_numpy(a)).numpy()
    assert_close(T.Resize(size)(a), want, kind="reduction", dtype=np.float64)
    assert_close(T.Resize(size)(a.astype(np.float32)), want, kind="reduction", dtype=np.float32)


def test_resize_max_size_follows_torchvision():
    img = Image.open(sample_image_path())  # 451 x 300
    assert T.Resize(200, max_size=250)(img).size == TT.Resize(200, max_size=250)(img).size == (250, 166)
    with pytest.raises(ValueError, match="max_size"):
        T.Resize(200, max_size=200)(img)


@pytest.mark.parametrize("size", [224, (100, 400), (600, 500)])
def test_center_crop_pads_like_torchvision(size):
    img = Image.open(sample_image_path())
    np.testing.assert_array_equal(np.asarray(T.CenterCrop(size)(img)), np.asarray(TT.CenterCrop(size)(img)))
    a = T.ToTensor()(img)
    np.testing.assert_array_equal(T.CenterCrop(size)(a), TT.CenterCrop(size)(torch.from_numpy(a)).numpy())


def test_to_tensor_and_normalize():
    img = Image.open(matplotlib.cbook.get_sample_data("logo2.png"))  # RGBA
    for im in (img, img.convert("L"), img.convert("RGB")):
        np.testing.assert_array_equal(T.ToTensor()(im), TT.ToTensor()(im).numpy())
    x = T.ToTensor()(img.convert("RGB"))
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    want = TT.Normalize(mean, std)(torch.from_numpy(x)).numpy()
    assert_close(T.Normalize(mean, std)(x), want.astype(np.float64), kind="reduction", dtype=np.float32)
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize(mean, [1, 0, 1])
    with pytest.raises(TypeError, match="ToTensor first"):
        T.Normalize(mean, std)(np.zeros((3, 2, 2), np.uint8))


def test_compose_is_the_notebooks_pipeline():
    """The notebook: resize to 256x256, ToTensor, Normalize, batch dimension."""
    img = Image.open(sample_image_path()).convert("RGB")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ours = T.Compose([T.Resize((256, 256)), T.ToTensor(), T.Normalize(mean, std)])(img)[None]
    theirs = TT.Compose([TT.Resize((256, 256)), TT.ToTensor(), TT.Normalize(mean, std)])(img).unsqueeze(0)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=1e-6)
    assert ours.shape == (1, 3, 256, 256)
