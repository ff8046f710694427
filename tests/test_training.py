"""Training end to end: optimizers step for step against torch.optim, the digits CNN against torch from the same
weights and batches, overfitting 50 digits, ``minicnn train digits``, and Grad-CAM against a torch Grad-CAM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minicnn
from minicnn import datasets, nn, optim, training
from minicnn.numerics import normalized_max_error

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_optimizer_trajectories_match_torch_optim(name, kwargs, dtype):
    """Twenty steps from the same start with the same gradients (drawn afresh at each step)."""
    rng = np.random.default_rng(0)
    start = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(5).astype(dtype)]
    ours = [nn.Parameter(a.copy()) for a in start]
    ref = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt, topt = getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(ref, **kwargs)
    for _ in range(20):
        for p, t in zip(ours, ref):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad, t.grad = g, torch.tensor(g)
        opt.step()
        topt.step()
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for p, t in zip(ours, ref):
        assert p.dtype == dtype
        assert normalized_max_error(p, t.detach().numpy()) <= tol


def test_optimizer_arguments_are_checked_as_torch():
    p = [nn.Parameter(np.zeros(3))]
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameters"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])


def torch_digits_cnn(model):
    """The same network in torch, holding minicnn's weights."""
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Flatten(), torch.nn.Linear(256, 10))  # fmt: skip
    t.load_state_dict({k: torch.tensor(np.array(v)) for k, v in model.state_dict().items()})
    return t.to(torch.float64 if model[0].weight.dtype == np.float64 else torch.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_digits_training_matches_torch_loss_for_loss(dtype):
    """The first 15 losses of SGD with momentum on the shipped digits, same weights and same batches."""
    model = training.digits_cnn(generator=np.random.default_rng(1)).to(dtype)
    ref = torch_digits_cnn(model)
    x, y = datasets.load_digits("train")
    x = x.astype(dtype)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    ours, theirs = [], []
    for xb, yb in list(training.batches(x, y, 64, np.random.default_rng(0)))[:15]:
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(xb), yb)
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(ref(torch.tensor(xb)), torch.tensor(yb))
        tloss.backward()
        topt.step()
        ours.append(float(loss))
        theirs.append(tloss.item())
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(ours, theirs, rtol=tol)
    assert ours[-1] < ours[0]


def test_overfit_50_digits_to_100_percent():
    """CS231n's sanity check: a network that cannot memorise 50 images has a bug."""
    x, y = datasets.load_digits("train")
    x, y = x[:50], y[:50]
    model = training.digits_cnn(generator=np.random.default_rng(0))
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        opt.step()
    assert training.accuracy(model, x, y) == 1.0


@pytest.mark.slow
def test_minicnn_train_digits_reaches_97_percent(tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "minicnn", "train", "digits", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy: ") and last.endswith("% (359 images)")
    assert float(last.split()[2].rstrip("%")) >= 97.0
    for name in ("training_curves.png", "kernels_before_after.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    bad = subprocess.run([sys.executable, "-m", "minicnn", "train", "digits", "--epochs", "0"], capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--epochs" in bad.stderr


def torch_grad_cam(model, x, layer, class_index):
    """Grad-CAM written with torch's hooks, as pytorch-grad-cam computes it (float64)."""
    store = {}
    layer.register_forward_hook(lambda m, i, o: store.update(a=o))
    layer.register_full_backward_hook(lambda m, gi, go: store.update(g=go[0]))
    scores = model(x)
    scores[0, class_index].backward()
    weights = store["g"].mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * store["a"]).sum(1, keepdim=True))
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    return torch.nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]


def test_grad_cam_on_resnet50_layer4_matches_a_torch_grad_cam():
    import torchvision

    from minicnn import models
    from reference.models import randomize_batchnorm

    minicnn.manual_seed(0)
    ours = models.resnet50(dtype=np.float64)
    ref = randomize_batchnorm(torchvision.models.resnet50()).double().eval()
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 96, 96))
    cam = minicnn.explain.grad_cam(ours, x, target_layer=ours.layer4, class_index=281)
    expected = torch_grad_cam(ref, torch.tensor(x[None]), ref.layer4, 281).detach().numpy()
    assert cam.shape == (96, 96) and 0 <= cam.min() and cam.max() <= 1
    assert np.abs(cam - expected).max() < 1e-6
    assert ours.training  # the mode it had is restored
    top = minicnn.explain.grad_cam(ours, x)  # default layer (layer4[-1]) and class (the top one)
    assert top.shape == (96, 96)
    eigen = minicnn.explain.eigen_cam(ours.eval(), x)
    assert eigen.shape == (96, 96) and np.isfinite(eigen).all()


def test_the_loop_in_docs_training_md_runs_and_learns(capsys):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "training.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(code, "docs/training.md", "exec"), {})
    losses = [float(line.split()[1]) for line in capsys.readouterr().out.splitlines()]
    assert len(losses) == 10 and losses[-1] < 0.5 * losses[0]


def test_grad_cam_changes_nothing_in_the_model():
    """No parameter's .grad touched, every module's own mode restored (a batch norm kept in eval stays so)."""
    from minicnn import models

    minicnn.manual_seed(0)
    model = models.resnet50()
    model.layer1[0].bn1.eval()  # a mixed-mode model, in training otherwise
    grads_before = [p.grad for p in model.parameters()]
    x = np.random.default_rng(0).standard_normal((3, 64, 64)).astype(np.float32)
    first = minicnn.explain.grad_cam(model, x, class_index=3)
    again = minicnn.explain.grad_cam(model, x, class_index=3)
    np.testing.assert_array_equal(first, again)
    assert [p.grad for p in model.parameters()] == grads_before
    assert model.training and not model.layer1[0].bn1.training and model.layer1[0].bn2.training
    assert all(p.requires_grad for p in model.parameters())
