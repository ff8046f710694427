"""The walkthrough demo end to end on the shipped photo: figures, answers, report, fallbacks, --check, French."""

import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import minicnn.functional as F
from minicnn import demo
from minicnn.data import sample_image_path
from minicnn.testing import assert_close

CATS = {"tabby", "tiger cat", "Egyptian cat"}


def assert_figures_not_blank(folder, names):
    for name in names:
        pixels = np.asarray(Image.open(folder / name).convert("L"), dtype=float)
        assert pixels.shape[0] > 100 and pixels.std() > 5, f"{name} looks blank"


def assert_report_complete(report, figures):
    html = report.read_text(encoding="utf-8")
    assert html.count("<figure>") == len(figures) and html.count("data:image/png;base64,") == len(figures)
    for link in re.findall(r"<a href='([^']+)'>", html):  # every link to a file points at one beside the report
        assert link.startswith("https://") or (report.parent / link).is_file(), link
    return html


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr("minicnn.hub._hub_dir", None)
    return tmp_path / "torch"


def test_offline_with_an_empty_cache_falls_back_and_checks_against_torch(tmp_path, empty_cache, capsys):
    results = demo.run(out_dir=tmp_path / "out", quick=True, check=True)
    printed = capsys.readouterr().out
    assert results["blurred_shape"] == (1, 1, 237, 237) and results["prewitt_shape"] == (1, 1, 254, 254)
    assert results["layer30"] == (512, 8, 8) and results["resnet_conv1"] == (64, 147, 9408)
    train_diff, eval_diff = results["dropout"]
    assert train_diff > 0 and eval_diff == 0
    assert results["top5"][0] in CATS  # classified by the trained EfficientNet-Lite0
    assert results["dropout_model"] == results["feature_maps_model"] == "EfficientNet-Lite0"  # trained, never random
    assert results["feature_maps"] == [(1, 32, 112, 112), (1, 24, 56, 56), (1, 40, 28, 28), (1, 112, 14, 14)]
    for answer in ("512x8x8 for a 3x256x256 input", "64 neurons", "3x7x7 = 147 weights", "9,408 weights"):
        assert answer in printed
    assert "not found (expected at" in printed and str(empty_cache) in printed
    assert "effnet_stem_trained.png" in results["figures"] and "resnet50_conv1_after.png" not in results["figures"]
    assert_figures_not_blank(tmp_path / "out", results["figures"])
    html = assert_report_complete(results["report"], results["figures"])
    assert "random initialisation" in html and "EfficientNet-Lite0 trained" in html
    assert len(results["checks"]) >= 10 and all(ok for *_, ok in results["checks"])


def test_pretrained_weights_in_the_cache_are_used_and_named(tmp_path, empty_cache, monkeypatch):
    monkeypatch.setenv("MINICNN_VERIFY_CACHE", "0")  # random weights under torchvision's names
    folder = empty_cache / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.vgg16().state_dict(), folder / "vgg16-397923af.pth")
    torch.save(torchvision.models.resnet50().state_dict(), folder / "resnet50-0676ba61.pth")
    results = demo.run(out_dir=tmp_path / "out", quick=True, lang="fr")
    assert "resnet50_conv1_after.png" in results["figures"] and "effnet_stem_trained.png" not in results["figures"]
    html = assert_report_complete(results["report"], results["figures"])
    assert "poids préentraînés IMAGENET1K_V1" in html and "resnet50-0676ba61.pth" in html  # V2 absent: V1 used
    assert "Les noyaux de convolution après apprentissage" in html and "<html lang='fr'>" in html
    assert results["dropout_model"] == results["feature_maps_model"] == "VGG16"  # the loaded VGG16, as the notebook
    assert results["dropout_training"] == [name for name, _ in torchvision.models.vgg16().named_modules()]
    assert results["feature_maps"] == [(1, 64, 256, 256), (1, 256, 64, 64), (1, 512, 32, 32), (1, 512, 16, 16)]


def test_notebook_gaussian_cell_matches_torch():
    """The notebook's cell, run in torch exactly as written, against the demo's minicnn version."""
    x_range = torch.arange(-5, 5, 0.5)
    xx, yy = torch.meshgrid(x_range, x_range, indexing="ij")
    var = 10
    kernel = (1.0 / (2.0 * 3.14 * var)) * torch.exp(-(xx**2 + yy**2) / (2 * var))
    np.testing.assert_allclose(demo.gaussian_kernel(), kernel.numpy(), rtol=1e-6)
    img = demo.load_image(sample_image_path())[None]
    ours = F.conv2d(img, np.tile(demo.gaussian_kernel(), (1, 3, 1, 1)))
    ref = torch.nn.functional.conv2d(torch.from_numpy(img).double(), kernel.double().repeat(1, 3, 1, 1))
    assert_close(ours, ref.numpy(), kind="direct", dtype=np.float32)


def test_prewitt_kernels_are_the_notebooks():
    k1, k2 = demo.prewitt_kernels()
    assert k1.shape == k2.shape == (1, 3, 3, 3)
    np.testing.assert_array_equal(k1[0, 0], [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(k2[0, 1], np.array([[-1, 0, 1]] * 3).T)


def test_cli_demo_mistakes_are_one_line(tmp_path):
    for args, message in [
        (["--image", "no/such/cat.jpg"], "image not found: no/such/cat.jpg"),
        (["--weights", "vgg16"], "--weights takes MODEL=NAME_OR_PATH"),
        (["--weights", "vgg16=missing.pth"], "weights file not found: missing.pth"),
    ]:
        result = subprocess.run([sys.executable, "-m", "minicnn", "demo", "--out", str(tmp_path), *args],
                                capture_output=True, text=True)  # fmt: skip
        assert result.returncode == 2 and result.stderr.strip().startswith(f"minicnn: error: {message}")
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_tutorial_runs(tmp_path):
    """docs/tutorial.py, the notebook's cells with minicnn in place of torch, executed as a script."""
    from pathlib import Path

    tutorial = Path(__file__).resolve().parents[1] / "docs" / "tutorial.py"
    env = {"TORCH_HOME": str(tmp_path), "MINICNN_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, str(tutorial)], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "(1, 1, 237, 237)" in out and "(1, 512, 8, 8)" in out and "64 147 9408" in out
    gaps = dict(re.findall(r"(training|eval) mode, two passes differ by (\S+)", out))
    assert float(gaps["eval"]) == 0.0 and float(gaps["training"]) > 0.0  # (0.0947... once read as "by 0.0")
    assert any(cat in out for cat in CATS)  # the trained network recognises the cat
    assert "(1, 24, 56, 56)" in out  # offline, the hooks watch the trained EfficientNet-Lite0, not a random VGG16
