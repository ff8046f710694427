"""The walkthrough demo and the command line, end to end on the shipped photo."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import minicnn.functional as F
from minicnn import demo
from minicnn.data import sample_image_path
from minicnn.testing import assert_close


def test_demo_writes_every_figure_and_prints_the_answers(tmp_path, capsys):
    results = demo.run(out_dir=tmp_path)
    printed = capsys.readouterr().out
    assert results["blurred_shape"] == (1, 1, 237, 237)
    assert results["prewitt_shape"] == (1, 1, 254, 254)
    assert results["pooled_shape"] == (1, 1, 2, 2)
    assert "(1, 1, 237, 237)" in printed and "max_pool2d" in printed
    for name in results["figures"]:
        pixels = np.asarray(Image.open(tmp_path / name).convert("L"), dtype=float)
        assert pixels.shape[0] > 100 and pixels.std() > 5, f"{name} looks blank"


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
    assert_close(ours, ref.numpy(), kind="im2col", dtype=np.float32)


def test_prewitt_kernels_are_the_notebooks():
    k1, k2 = demo.prewitt_kernels()
    assert k1.shape == k2.shape == (1, 3, 3, 3)
    np.testing.assert_array_equal(k1[0, 0], [[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(k2[0, 1], np.array([[-1, 0, 1]] * 3).T)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--image", "no/such/cat.jpg"], "minicnn: error: image not found: no/such/cat.jpg"),
        (["demo", "--image", __file__], "minicnn: error: cannot read"),
    ],
)
def test_cli_reports_a_users_mistake_in_one_line(args, message, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "minicnn", *args, "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_cli_demo_on_another_image(tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.fromarray((np.random.default_rng(0).random((120, 90, 3)) * 255).astype(np.uint8)).save(photo)
    result = subprocess.run(
        [sys.executable, "-m", "minicnn", "demo", "--image", str(photo), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "cat_prewitt.png").exists()
