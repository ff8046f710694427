"""``minicnn demo --check``: recompute each of the demo's numbers with PyTorch and report the difference.

The torch side comes from ``reference/`` (imported only here, only when asked), always in float64.
"""

from __future__ import annotations

import numpy as np

from minicnn.testing import normalized_max_error, tolerance


class NoCheck:
    """What the demo uses without --check: every check is skipped."""

    enabled = False

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class TorchCheck:
    enabled = True

    def __init__(self):
        try:
            from reference import efficientnet, functional, models
        except ImportError as e:
            raise ImportError(f"--check needs torch and torchvision ({e}): pip install 'minicnn[reference]'") from None
        self.functional, self.models, self.efficientnet = functional, models, efficientnet

    def conv(self, r, what, x, w, ours):
        ref = self.functional.torch_op("conv2d", x, w, float64=True)
        scale = self.functional.torch_op("conv2d", np.abs(x), np.abs(w), float64=True).max()
        r.check(what, normalized_max_error(ours, ref, scale), tolerance(np.float32, "im2col"))

    def op(self, r, name, ours, x, **kwargs):
        ref = self.functional.torch_op(name, x, float64=True, **kwargs)
        r.check(name, normalized_max_error(ours, ref), tolerance(np.float32, "exact"))

    def _torchvision(self, model_name, minicnn_model):
        """The torchvision model with minicnn's arrays (pretrained or random alike), in float64, eval mode."""
        import torch

        tv = self.models.torchvision_model(model_name)
        tv.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in minicnn_model.state_dict().items()})
        return tv.double().eval()

    def model_output(self, r, what, model_name, model, x, ours):
        import torch

        with torch.no_grad():
            ref = self._torchvision(model_name, model)(torch.from_numpy(x.astype(np.float64))).softmax(1)[0].numpy()
        r.check(what, normalized_max_error(ours, ref), tolerance(np.float32, "model"))

    def feature_maps(self, r, model, x, ours):
        import torch

        tv, z = self._torchvision("vgg16", model), []
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
