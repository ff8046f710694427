"""The command line end to end, as a newcomer runs it: classify, summary, weights, and every mistake."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from minicnn.data import imagenet_categories, sample_image_path

ROOT = Path(__file__).resolve().parents[1]


def minicnn(*args, env=None, cwd=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "minicnn", *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def resnet_checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    model = torchvision.models.resnet50()
    with torch.no_grad():  # make the logits far apart, so the top 5 is well defined
        model.fc.weight.mul_(50)
    path = tmp_path_factory.mktemp("ckpt") / "my_resnet50.pth"
    torch.save(model.state_dict(), path)
    yield path, model.eval()
    path.unlink()  # 100 MB: free the disk for the next modules' checkpoints


def assert_one_line_error(result, text):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("minicnn: error: ") and text in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


def test_classify_the_shipped_photo_with_a_checkpoint_matches_torchvision(resnet_checkpoint):
    path, reference = resnet_checkpoint
    result = minicnn("classify", "--model", "resnet50", "--weights", path, "--topk", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"{sample_image_path()}  (resnet50, my_resnet50.pth weights)"
    names = [line.split(". ", 1)[1].rsplit(" ", 1)[0].strip() for line in lines[1:6]]
    x = torchvision.models.ResNet50_Weights.DEFAULT.transforms()(Image.open(sample_image_path()).convert("RGB"))
    with torch.no_grad():
        top5 = reference(x[None])[0].argsort(descending=True)[:5].tolist()
    assert names == [imagenet_categories()[c] for c in top5]


def test_classify_several_images_and_check_against_torch(resnet_checkpoint, tmp_path):
    path, _ = resnet_checkpoint
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(photo)
    result = minicnn("classify", sample_image_path(), photo, "--model", "resnet50", "--weights", path, "--topk",
                     "3", "--check", "--algorithm", "im2col")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("(resnet50, my_resnet50.pth weights)") == 2 and "3. " in out and "4. " not in out
    assert out.count("worst normalized error") == 2 and "FAILED" not in out and "layer4.2.conv3" in out


def test_classify_default_weights_from_the_torch_cache(tmp_path):
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(4)
    torch.save(torchvision.models.resnet50().state_dict(), folder / "resnet50-11ad3fa6.pth")
    env = {"TORCH_HOME": str(tmp_path), "MINICNN_OFFLINE": "1", "MINICNN_VERIFY_CACHE": "0"}  # our own file
    result = minicnn("classify", "--model", "resnet50", env=env)
    assert result.returncode == 0, result.stderr
    assert "(resnet50, IMAGENET1K_V2 weights)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "no/such/cat.jpg"], "image not found: no/such/cat.jpg"),
        (["classify", __file__], "cannot read"),
        (["classify", "--model", "alexnet"], "unknown model 'alexnet'; choose one of: vgg16, resnet50"),
        (["classify", "--weights", "IMAGENET1K_V9"], "unknown weights 'IMAGENET1K_V9'"),
        (["classify", "--weights", "missing.pth"], "weights file not found: missing.pth"),
        (["classify", "--weights", __file__], "not a PyTorch checkpoint"),
        (["classify", "--topk", "0"], "--topk must be at least 1"),
        (["summary", "vgg17"], "unknown model 'vgg17'"),
        (["summary", "vgg16", "--input", "256x256"], "--input must look like 3x224x224"),
        (["summary", "vgg16", "--input", "3x16x16"], "cannot take a 3x16x16 input"),
        (["demo", "--image", "nope.png"], "image not found: nope.png"),
    ],
)
def test_a_users_mistake_is_one_line(args, message, tmp_path):
    assert_one_line_error(minicnn(*args, env={"TORCH_HOME": str(tmp_path)}), message)


def test_default_weights_offline_with_an_empty_cache_says_where_to_put_them(tmp_path):
    for env in ({"MINICNN_OFFLINE": "1"}, {"MINICNN_OFFLINE": ""}):  # turned off, or no network at all
        result = minicnn("classify", env={"TORCH_HOME": str(tmp_path), **env}, cwd=tmp_path)
        expected = tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"
        assert_one_line_error(result, "https://download.pytorch.org/models/vgg16-397923af.pth")
        assert str(expected) in result.stderr and not expected.exists()


def test_summary_vgg16_answers_the_layer_30_question():
    result = minicnn("summary", "vgg16", "--input", "3x256x256")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip().startswith("features.")}
    assert "(MaxPool2d)" in rows["features.30"] and "[1, 512, 8, 8]" in rows["features.30"]
    assert "[1, 64, 256, 256]" in rows["features.0"] and "1,792" in rows["features.0"]
    assert "Total params: 138,357,544" in result.stdout
    resnet = minicnn("summary", "resnet50", "--depth", "1")
    assert "Total params: 25,557,032" in resnet.stdout and "layer1.0.conv1" not in resnet.stdout


def test_weights_list_path_verify(tmp_path):
    env = {"TORCH_HOME": str(tmp_path)}
    listing = minicnn("weights", "list", env=env)
    assert listing.returncode == 0 and listing.stdout.count("not cached") == 3
    path = Path(minicnn("weights", "path", "resnet50", env=env).stdout.strip())
    assert path == tmp_path / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    path.parent.mkdir(parents=True)
    path.write_bytes(np.arange(10).tobytes())  # a corrupted cache entry
    assert_one_line_error(minicnn("weights", "verify", "resnet50", env=env), "is damaged")
    assert "cached" in minicnn("weights", "list", "resnet50", env=env).stdout


def test_classify_with_auto_shows_what_it_measures_the_first_time(tmp_path):
    """--algorithm auto measures (and compiles) every new layer shape: seconds, said on stderr; the next run
    remembers the choices and says nothing about them."""
    env = {"MINICNN_CACHE_DIR": str(tmp_path)}
    first = minicnn("classify", "--model", "efficientnet_lite0", "--algorithm", "auto", "--topk", "1", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert any("measuring the conv algorithms of each new layer shape" in line for line in lines), first.stderr
    done = [line for line in lines if line.startswith("minicnn: auto measured ")]
    assert len(done) == 1 and int(done[0].split()[3]) >= 20 and str(tmp_path) in done[0], first.stderr
    again = minicnn("classify", "--model", "efficientnet_lite0", "--algorithm", "auto", "--topk", "1", env=env)
    assert again.returncode == 0 and "auto" not in again.stderr and again.stdout == first.stdout, again.stderr


def test_classify_with_the_real_efficientnet_weights_finds_the_cat():
    result = minicnn("classify", "--model", "efficientnet_lite0", "--topk", "3")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[1]
    assert any(cat in first for cat in ("tabby", "tiger cat", "Egyptian cat")), result.stdout
    summary = minicnn("summary", "efficientnet_lite0")
    assert "Total params: 4,652,008" in summary.stdout and "_blocks.15._project_conv (Conv2dSame)" in summary.stdout
