"""VGG16 and ResNet50 against torchvision: checkpoints in both formats, every module's output, repr, modes."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from minicnn import models
from minicnn.testing import assert_close, tolerance
from reference.compare import module_errors
from reference.models import randomize_batchnorm, torchvision_model
from reference.models import record_outputs as torch_record_outputs

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["vgg16", "resnet50"]


def make_torchvision_model(name):
    """A torchvision model with seeded random weights; BatchNorm gets non-trivial statistics and affine terms."""
    torch.manual_seed({"vgg16": 1, "resnet50": 2}[name])
    model = randomize_batchnorm(getattr(torchvision.models, name)())
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.num_batches_tracked.fill_(7)
    return model


class Checkpoints:
    """{(model, format): path} of torch.save'd state dicts, written when first asked for.

    At most one file is on disk at a time (VGG16's takes 528 MB, and CI machines may have little disk): asking for
    another key deletes the previous file; asking for it again later writes it again from the state kept in memory.
    """

    def __init__(self, folder: Path):
        self.folder, self.states, self.current = folder, {}, None

    def __getitem__(self, key) -> Path:
        name, fmt = key
        path = self.folder / f"{name}_{fmt}.pth"
        if self.current != path:
            self.clear()
            if name not in self.states:
                self.states[name] = make_torchvision_model(name).state_dict()
            torch.save(self.states[name], path, _use_new_zipfile_serialization=(fmt == "zip"))
            self.current = path
        return path

    def clear(self):
        if self.current is not None:
            self.current.unlink(missing_ok=True)
            self.current = None


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """VGG16 and ResNet50 checkpoints, zip and legacy formats: ``checkpoints[name, fmt]`` is a path."""
    files = Checkpoints(tmp_path_factory.mktemp("checkpoints"))
    yield files
    files.clear()


def image_batch(size=96, n=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(np.float32)


def compare_outputs(ours: dict, theirs: dict, dtype=np.float32):
    """Every module's outputs (the same modules, in the same order) within the "model" tolerance, through the one
    torch comparer of reference/compare.py (which also checks call counts and shapes)."""
    assert list(ours) == list(theirs)
    limit = tolerance(dtype, "model")
    bad = [(name, err) for name, _, err in module_errors(ours, theirs) if not err <= limit]
    assert not bad, f"{len(bad)} module outputs off by more than {limit}: {bad[:5]}"
    for outs in ours.values():
        assert all(np.asarray(a).dtype == dtype for a in outs)


def top5_agree(ours, ref):
    """Top-5 classes equal, wherever the reference's consecutive logits are not within rounding of a tie."""
    for row_ours, row_ref in zip(ours, ref):
        order = np.argsort(-row_ref)[:6]
        gaps = -np.diff(row_ref[order])  # margin between ranks k and k+1
        for k in range(5):
            if gaps[k] > 1e-4 * np.abs(row_ref).max():
                assert set(np.argsort(-row_ours)[: k + 1]) == set(order[: k + 1]), f"top-{k + 1} differs"


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
@pytest.mark.parametrize("name", MODELS)
def test_every_module_matches_torchvision_with_torch_blocked(name, fmt, checkpoints, tmp_path):
    """minicnn loads the checkpoint and runs in a process where torch cannot be imported."""
    x = image_batch()
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "minicnn_side.py"), name, str(checkpoints[name, fmt]),
         str(tmp_path / "x.npy"), str(tmp_path / "out.npz")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    saved = np.load(tmp_path / "out.npz")
    assert saved["__torch_modules__"].size == 0
    ours = {}
    for key in saved.files:
        if key != "__torch_modules__":
            module, _, i = key.rpartition("#")
            ours.setdefault(module, {})[int(i)] = saved[key]
    ours = {k: [v[i] for i in sorted(v)] for k, v in ours.items()}
    reference = torch_record_outputs(torchvision_model(name, checkpoints[name, fmt]).double(), x.astype(np.float64))
    ours = {name: ours.get(name, []) for name in reference}  # modules never called have no outputs
    compare_outputs(ours, reference)
    top5_agree(ours[""][0], reference[""][0])


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU (torch.cuda)")
def test_every_module_matches_torchvision_on_the_gpu(name, batch, checkpoints):
    """The model moved to the GPU (model.to("cuda")), module by module, against torchvision on CUDA in float64."""
    from minicnn import cuda
    from minicnn.summary import record_outputs

    x = image_batch(n=batch)
    model = getattr(models, name)(weights=checkpoints[name, "zip"]).eval().to("cuda")
    ours = record_outputs(model, cuda.to_device(x))
    tv = torchvision_model(name, checkpoints[name, "zip"]).double()
    reference = torch_record_outputs(tv, x.astype(np.float64), device="cuda")
    ours = {name: ours.get(name, []) for name in reference}
    compare_outputs(ours, reference)
    top5_agree(ours[""][0], reference[""][0])


@pytest.mark.parametrize("name", MODELS)
def test_repr_and_state_dict_keys_match_torchvision(name):
    ours, theirs = getattr(models, name)(), getattr(torchvision.models, name)()
    assert repr(ours) == repr(theirs)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    assert sum(p.size for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


def test_notebook_feature_map_shapes_on_a_256x256_image(checkpoints):
    """The notebook's hooks on VGG16's features 0, 10, 17, 28 and the answer to its layer-30 question."""
    model = models.vgg16(weights=checkpoints["vgg16", "zip"]).eval()
    z = []

    def store_layer_output(module, input, output):
        z.append(output)

    for i in (0, 10, 17, 28, 30):
        model.features[i].register_forward_hook(store_layer_output)
    x = image_batch(size=256, n=1)
    model(x)
    assert [fm.shape for fm in z] == [(1, 64, 256, 256), (1, 256, 64, 64), (1, 512, 32, 32), (1, 512, 16, 16),
                                      (1, 512, 8, 8)]  # fmt: skip
    tm = torchvision_model("vgg16", checkpoints["vgg16", "zip"])
    zt = []
    for i in (0, 10, 17, 28, 30):
        tm.features[i].register_forward_hook(lambda m, i, o: zt.append(o.detach().numpy()))
    with torch.no_grad():
        tm(torch.from_numpy(x))
    for ours, theirs in zip(z, zt):
        assert_close(ours, theirs.astype(np.float64), kind="model", dtype=np.float32)


def test_inplace_relu_overwrites_what_a_hook_kept_as_in_torch(checkpoints):
    """The notebook's pitfall: a hook on conv features[0] keeps the array that ReLU(inplace) then clips."""
    x = image_batch(size=32, n=1)
    model = models.vgg16(weights=checkpoints["vgg16", "zip"]).eval()
    kept, copied = [], []

    def keep(module, inputs, output):  # returns None: the output is not replaced
        kept.append(output)
        copied.append(output.copy())

    model.features[0].register_forward_hook(keep)
    model(x)
    assert copied[0].min() < 0 and kept[0].min() == 0  # the kept array was clipped by features[1]
    np.testing.assert_array_equal(kept[0], np.maximum(copied[0], 0))
    tm = torchvision_model("vgg16", checkpoints["vgg16", "zip"])
    tkept = []
    tm.features[0].register_forward_hook(lambda m, i, o: tkept.append(o.detach()))
    with torch.no_grad():
        tm(torch.from_numpy(x))
    assert tkept[0].min().item() == 0  # torch behaves the same way
    assert_close(kept[0], tkept[0].double().numpy(), kind="model", dtype=np.float32)


def test_dropout_varies_in_training_mode_and_not_in_eval_mode(checkpoints):
    model = models.vgg16(weights=checkpoints["vgg16", "zip"])
    assert model.training and model.classifier[2].training  # torch's models start in training mode
    x = image_batch(size=32, n=1)
    first, second = model(x), model(x)
    assert not np.array_equal(first, second)
    model.eval()
    assert not model.classifier[2].training
    np.testing.assert_array_equal(model(x), model(x))


def test_batchnorm_in_training_mode_uses_batch_statistics_like_torch(checkpoints):
    """ResNet50 in training mode: outputs from batch statistics, running statistics updated, as torchvision."""
    x = image_batch(size=64, n=2)
    model = models.resnet50(weights=checkpoints["resnet50", "zip"]).double()
    tm = torchvision_model("resnet50", checkpoints["resnet50", "zip"], eval_mode=False).double()
    out = model(x.astype(np.float64))
    with torch.no_grad():
        ref = tm(torch.from_numpy(x.astype(np.float64))).numpy()
    assert_close(out, ref, kind="model", dtype=np.float64)
    ours, theirs = model.state_dict(), tm.state_dict()
    for key in ("bn1.running_mean", "layer4.2.bn3.running_var", "bn1.num_batches_tracked"):
        assert_close(ours[key], theirs[key].numpy(), kind="model", name=key)
    assert int(ours["bn1.num_batches_tracked"]) == 8  # 7 in the checkpoint, plus this batch


def test_fresh_initialisation_follows_torchvision():
    """Before training: kaiming_normal(fan_out) convs, N(0, 0.01) linear layers for VGG; BN ones and zeros."""
    vgg, res = models.vgg16(generator=0), models.resnet50(generator=0)
    w = vgg.features[28].weight
    assert abs(w.std() / np.sqrt(2 / (512 * 9)) - 1) < 0.01 and abs(w.mean()) < 1e-3
    assert abs(vgg.classifier[0].weight.std() / 0.01 - 1) < 0.01 and not vgg.classifier[0].bias.any()
    assert abs(res.conv1.weight.std() / np.sqrt(2 / (64 * 49)) - 1) < 0.05
    assert (res.bn1.weight == 1).all() and not res.bn1.bias.any()
    bound = 1 / np.sqrt(2048)
    assert np.abs(res.fc.weight).max() <= bound and np.abs(res.fc.weight).max() > 0.99 * bound
    np.testing.assert_array_equal(models.resnet50(generator=0).conv1.weight, res.conv1.weight)  # reproducible
