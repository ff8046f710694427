"""Where does the network look? Class activation maps: Grad-CAM (with gradients) and EigenCAM (without).

    cam = minicnn.explain.grad_cam(model, x)                    # (H, W) in [0, 1], x's size
    cam = minicnn.explain.grad_cam(model, x, model.layer4, 281)   # a chosen layer and class (281: tabby)

Grad-CAM (Selvaraju et al., 2017) weighs each channel k of a late convolutional layer's activations A_k by how
much the class score y_c grows with it, the mean of dy_c/dA_k over the map, and keeps the positive part of the
weighted sum: ``cam = relu(sum_k mean(dy_c/dA_k) * A_k)``. The map is scaled to [0, 1] (minus its minimum,
divided by its maximum) and resized to the input with bilinear interpolation, as pytorch-grad-cam's ``GradCAM``
does. EigenCAM (Muhammad and Yeasin, 2020) needs no gradient and no class: the activations projected on their
first principal component.
"""

from __future__ import annotations

import numpy as np

from minicnn import nn
from minicnn.autograd import Tensor, enable_grad, no_grad
from minicnn.nn.module import evaluating


def default_target_layer(model) -> nn.Module:
    """The layer pytorch-grad-cam's README suggests: VGG's ``features[-1]``, ResNet's ``layer4[-1]``,
    EfficientNet's last block; for another model, its last ``Conv2d``."""
    for name in ("layer4", "features", "_blocks"):
        child = model._modules.get(name)
        if child is not None and len(child._modules):
            return list(child.children())[-1]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no Conv2d layer: pass target_layer")
    return convs[-1]


def _activations(model, image, target_layer, record):
    """Run ``model`` in evaluation mode on ``image`` (C, H, W) or (1, C, H, W); return the class scores (1, classes),
    the target layer's output (1, K, h, w) and, if ``record``, a list that ``backward`` fills with its gradient.

    Only what follows the target layer is recorded (the parameters do not require a gradient meanwhile, so no
    parameter's ``.grad`` changes); the gradient is read by a hook on the layer's output as it was produced, before any
    in-place op that follows (a ReLU), as pytorch-grad-cam reads it. Every module's mode is restored afterwards."""
    x = image[None] if image.ndim == 3 else image
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image (C, H, W) or (1, C, H, W), got shape {tuple(image.shape)}")
    seen, grads = [], []

    def keep(module, inputs, output):
        if not record:
            seen.append(output)
            return None
        start = np.asarray(output).view(Tensor).requires_grad_()  # where the backward stops
        activations = start * 1  # the same values, an array of the tape: later in-place ops are recorded after it
        activations.register_hook(grads.append)
        seen.append(activations)
        return activations

    flags = [(p, p.requires_grad) for p in model.parameters() if isinstance(p, Tensor)]
    handle = target_layer.register_forward_hook(keep)
    try:
        for p, _ in flags:
            p.requires_grad = False
        with evaluating(model), enable_grad() if record else no_grad():  # batch norm on running statistics
            scores = model(x)
    finally:
        handle.remove()
        for p, flag in flags:
            p.requires_grad = flag
    if not seen:
        raise ValueError("target_layer did not run during the forward pass: is it a module of this model?")
    return scores, seen[-1], grads


def scale_and_resize(cam, size):
    """(h, w) map -> minus its minimum, divided by its maximum (+1e-7) -> bilinear resize to ``size`` (H, W)."""
    from minicnn.transforms import resize_array

    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    return resize_array(cam.astype(np.float32), size)


def grad_cam(model, image, target_layer=None, class_index=None):
    """Grad-CAM of ``class_index`` (default: the top class) at ``target_layer`` (default: see
    ``default_target_layer``) for one preprocessed ``image`` (C, H, W) or (1, C, H, W): an (H, W) map in [0, 1]."""
    target_layer = target_layer or default_target_layer(model)
    scores, activations, grads = _activations(model, image, target_layer, record=True)
    if class_index is None:
        class_index = int(np.argmax(np.asarray(scores)[0]))
    scores[0, class_index].backward()  # dy_c / d(the target layer's output), caught by the hook into grads
    A, G = np.asarray(activations)[0], np.asarray(grads[-1])[0]  # (K, h, w) each
    weights = G.mean(axis=(1, 2))  # (K,): how much y_c grows with each channel, on average over the map
    cam = np.maximum((weights[:, None, None] * A).sum(axis=0), 0)  # (h, w)
    return scale_and_resize(cam, image.shape[-2:])


def eigen_cam(model, image, target_layer=None):
    """EigenCAM: the target layer's activations (K, h, w), as h*w points of K numbers, centred, projected on their
    first principal component (the SVD's first right singular vector); positive part, scaled and resized."""
    target_layer = target_layer or default_target_layer(model)
    _, activations, _ = _activations(model, image, target_layer, record=False)
    A = np.nan_to_num(np.asarray(activations)[0].astype(np.float64))  # (K, h, w)
    points = A.reshape(A.shape[0], -1).T  # (h*w, K)
    points = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(points, full_matrices=False)
    cam = np.maximum((points @ vt[0]).reshape(A.shape[1:]), 0)
    return scale_and_resize(cam, image.shape[-2:])


def overlay(image_rgb, cam, alpha=0.5):
    """The map over the picture for plotting: (H, W, 3) floats in [0, 1] blended with matplotlib's 'jet' colours."""
    from matplotlib import colormaps

    heat = colormaps["jet"](cam)[..., :3]
    return np.clip((1 - alpha) * image_rgb + alpha * heat, 0, 1)


__all__ = ["default_target_layer", "eigen_cam", "grad_cam", "overlay"]
