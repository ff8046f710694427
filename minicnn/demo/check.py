"""``minicnn demo --check``: recompute each of the demo's numbers with PyTorch and report the difference.

The torch side comes from ``reference/`` (imported only here, only when asked), always in float64.
"""

from __future__ import annotations

import numpy as np

from minicnn.numerics import normalized_max_error, tolerance


class NoCheck:
    """What the demo uses without --check: every check is skipped."""

    enabled = False

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class TorchCheck:
    enabled = True

    def __init__(self):
        try:
            from reference import compare, efficientnet, functional
        except ImportError as e:
            raise ImportError(f"--check needs torch and torchvision ({e}): pip install 'minicnn[reference]'") from None
        self.functional, self.compare, self.efficientnet = functional, compare, efficientnet

    def conv(self, r, what, x, w, ours):
        ref = self.functional.torch_op("conv2d", x, w, float64=True)
        scale = self.functional.torch_op("conv2d", np.abs(x), np.abs(w), float64=True).max()
        r.check(what, normalized_max_error(ours, ref, scale), tolerance(np.float32, "direct"))

    def op(self, r, name, ours, x, **kwargs):
        ref = self.functional.torch_op(name, x, float64=True, **kwargs)
        r.check(name, normalized_max_error(ours, ref), tolerance(np.float32, "exact"))

    def model_output(self, r, what, model_name, model, x, ours):
        import torch

        twin = self.compare.torch_twin(model_name, model)
        with torch.no_grad():
            ref = twin(torch.from_numpy(x.astype(np.float64))).softmax(1)[0].numpy()
        r.check(what, normalized_max_error(ours, ref), tolerance(np.float32, "model"))

    def feature_maps(self, r, model, x, ours):
        import torch

        tv, z = self.compare.torch_twin("vgg16", model), []
        for i in (0, 10, 17, 28):
            tv.features[i].register_forward_hook(lambda m, i, o: z.append(o.detach()))  # the notebook's hook
        with torch.no_grad():
            tv(torch.from_numpy(x.astype(np.float64)))
        for layer, a, b in zip((0, 10, 17, 28), ours, z):
            r.check(
                f"feature maps of layer {layer}", normalized_max_error(a, b.numpy()), tolerance(np.float32, "model")
            )

    def effnet(self, r, model, x, ours):
        logits = self.efficientnet.forward(model.state_dict(), x)["logits"]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        ref = (e / e.sum(axis=1, keepdims=True))[0]
        r.check(
            "EfficientNet-Lite0 class probabilities", normalized_max_error(ours, ref), tolerance(np.float32, "model")
        )
