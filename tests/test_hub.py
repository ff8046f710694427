"""The torch hub cache and downloads, against a real HTTP server on 127.0.0.1."""

import hashlib
import time

import numpy as np
import pytest
import torch
import torchvision

from minicnn import hub, models
from minicnn.checkpoint import CheckpointError
from tests.http_server import refused_url, serve

DATA = bytes(range(256)) * 4096  # 1 MiB
PREFIX = hashlib.sha256(DATA).hexdigest()[:8]


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch hub cache of our own: TORCH_HOME in a temporary folder, downloads allowed."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MINICNN_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "_hub_dir", None)
    return tmp_path / "torch"


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_get_dir_follows_torch_home_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert hub.get_dir() == str(tmp_path / "th" / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert hub.get_dir() == str(tmp_path / "home" / ".cache" / "torch" / "hub")
    assert hub.get_dir() == torch.hub.get_dir()  # the same answer as torch's own
    hub.set_dir(tmp_path / "mine")
    assert hub.get_dir() == str(tmp_path / "mine")


def test_download_good_file_with_hash_and_progress(tmp_path, capsys):
    with serve({f"/w-{PREFIX}.pth": DATA}) as url:
        dst = tmp_path / "dl" / f"w-{PREFIX}.pth"
        hub.download_url_to_file(f"{url}/w-{PREFIX}.pth", dst, hash_prefix=PREFIX, progress=True)
    assert dst.read_bytes() == DATA
    assert leftovers(dst.parent) == [dst.name]
    err = capsys.readouterr().err
    assert f"Downloading w-{PREFIX}.pth" in err and "100.0% of 1.0 MB" in err


@pytest.mark.parametrize(
    ("route", "error", "message"),
    [
        ({"/f.pth": DATA}, hub.HashMismatchError, 'invalid hash value \\(expected "00000000"'),
        ({"/f.pth": ("truncate", DATA)}, hub.DownloadError, "truncated|failed after"),
        ({"/f.pth": ("status", 500)}, hub.DownloadError, "answered 500"),
        ({}, hub.DownloadError, "answered 404"),
    ],
    ids=["wrong-hash", "truncated", "server-error", "not-found"],
)
def test_failed_downloads_leave_nothing_behind(tmp_path, route, error, message):
    dst = tmp_path / "dl" / "f.pth"
    with serve(route) as url:
        with pytest.raises(error, match=message):
            hub.download_url_to_file(f"{url}/f.pth", dst, hash_prefix="00000000", progress=False)
    assert not dst.exists() and leftovers(dst.parent) == []


def test_refused_connection(tmp_path):
    dst = tmp_path / "f.pth"
    with pytest.raises(hub.DownloadError, match="refused"):
        hub.download_url_to_file(refused_url(), dst, progress=False)
    assert leftovers(tmp_path) == []


def test_stalled_server_is_bounded_by_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_DOWNLOAD_TIMEOUT", "1")
    dst = tmp_path / "f.pth"
    with serve({"/f.pth": ("stall", 5)}) as url:
        start = time.monotonic()
        with pytest.raises(hub.DownloadError, match="timed out|failed after"):
            hub.download_url_to_file(f"{url}/f.pth", dst, progress=False)
        assert time.monotonic() - start < 4
    assert leftovers(tmp_path) == []


def test_fetch_uses_the_cache_and_downloads_once(torch_home):
    name = f"tiny-{PREFIX}.pth"
    with serve({f"/models/{name}": DATA}) as url:
        first = hub.fetch_checkpoint(f"{url}/models/{name}", progress=False)
        assert first == torch_home / "hub" / "checkpoints" / name and first.read_bytes() == DATA
    # the server is gone: the second call must not need it
    assert hub.fetch_checkpoint(f"{url}/models/{name}", progress=False) == first


def test_offline_fails_fast_with_the_url_and_the_expected_path(torch_home, monkeypatch):
    monkeypatch.setenv("MINICNN_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(hub.OfflineError) as err:
        models.resnet50(weights="DEFAULT")
    assert time.monotonic() - start < 5
    expected = torch_home / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    assert "https://download.pytorch.org/models/resnet50-11ad3fa6.pth" in str(err.value)
    assert str(expected) in str(err.value)
    with pytest.raises(hub.OfflineError, match="downloads are turned off"):
        models.vgg16(weights="DEFAULT", download=False)


def test_named_weights_are_found_in_the_torch_hub_cache(torch_home, monkeypatch):
    """A torchvision user's cached file is used as it is: nothing is downloaded."""
    monkeypatch.setenv("MINICNN_OFFLINE", "1")
    monkeypatch.setenv("MINICNN_VERIFY_CACHE", "0")  # random weights under torchvision's name
    torch.manual_seed(0)
    reference = torchvision.models.resnet50()
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(reference.state_dict(), folder / "resnet50-0676ba61.pth")
    model = models.resnet50(weights="IMAGENET1K_V1")
    np.testing.assert_array_equal(model.conv1.weight, reference.conv1.weight.detach().numpy())
    assert models.ResNet50_Weights.IMAGENET1K_V1.path() == folder / "resnet50-0676ba61.pth"
    assert models.ResNet50_Weights.DEFAULT is models.ResNet50_Weights.IMAGENET1K_V2
    meta = models.ResNet50_Weights.IMAGENET1K_V2.meta
    assert meta["num_params"] == 25557032 and len(meta["categories"]) == 1000
    assert meta["_metrics"]["ImageNet-1K"]["acc@1"] == 80.858


def test_a_damaged_cached_file_says_how_to_fix_it(torch_home, monkeypatch):
    monkeypatch.setenv("MINICNN_VERIFY_CACHE", "0")  # the structural check alone
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "vgg16-397923af.pth").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError, match="damaged.*delete it"):
        models.vgg16(weights="DEFAULT")


def test_weights_metadata_matches_torchvision():
    for ours, theirs in [
        (models.VGG16_Weights.IMAGENET1K_V1, torchvision.models.VGG16_Weights.IMAGENET1K_V1),
        (models.ResNet50_Weights.IMAGENET1K_V1, torchvision.models.ResNet50_Weights.IMAGENET1K_V1),
        (models.ResNet50_Weights.IMAGENET1K_V2, torchvision.models.ResNet50_Weights.IMAGENET1K_V2),
    ]:
        assert ours.url == theirs.url
        assert list(ours.meta["categories"]) == list(theirs.meta["categories"])
        assert ours.meta["num_params"] == theirs.meta["num_params"]
        assert ours.meta["_metrics"] == theirs.meta["_metrics"]
        assert ours.transforms().resize_size == theirs.transforms().resize_size[0]


def test_a_corrupted_cached_file_is_caught_by_its_hash_once(torch_home, monkeypatch, tmp_path):
    """A single flipped byte in a cached file: the SHA-256 in its name catches it; a good file is hashed once."""
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "minicnn-cache"))
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    name = f"tiny-{PREFIX}.pth"
    (folder / name).write_bytes(DATA)
    hashed = []
    real_sha = hub.sha256_of
    monkeypatch.setattr(hub, "sha256_of", lambda p, *a: hashed.append(p) or real_sha(p, *a))
    url = f"http://127.0.0.1:1/models/{name}"  # never contacted: the file is cached
    assert hub.fetch_checkpoint(url) == folder / name
    assert hub.fetch_checkpoint(url) == folder / name
    assert len(hashed) == 1  # remembered after the first check
    damaged = bytearray(DATA)
    damaged[1000] ^= 1
    (folder / name).write_bytes(bytes(damaged))
    with pytest.raises(hub.HashMismatchError, match="is damaged.*delete it and download it again"):
        hub.fetch_checkpoint(url)


def test_two_processes_downloading_the_same_file_at_once(tmp_path):
    """Each writes its own temporary file and moves it into place: both succeed, one whole file remains."""
    import subprocess
    import sys

    big = bytes(range(256)) * (8 << 12)  # 8 MiB, so that the downloads overlap
    prefix = hashlib.sha256(big).hexdigest()[:8]
    dst = tmp_path / "dl" / f"w-{prefix}.pth"
    code = "import sys; from minicnn import hub; hub.download_url_to_file(sys.argv[1], sys.argv[2], sys.argv[3], False)"
    with serve({"/w.pth": ("slow", big)}) as url:  # about 0.3 s each: the two downloads overlap
        procs = [subprocess.Popen([sys.executable, "-c", code, f"{url}/w.pth", str(dst), prefix]) for _ in range(2)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert dst.read_bytes() == big
    assert leftovers(dst.parent) == [dst.name]
