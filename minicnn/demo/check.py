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

    def conv(self, r, what, x, w, ours, **kwargs):
        ref = self.functional.torch_op("conv2d", x, w, float64=True, **kwargs)
        scale = self.functional.torch_op("conv2d", np.abs(x), np.abs(w), float64=True, **kwargs).max()
        r.check(what, normalized_max_error(ours, ref, scale), tolerance(np.float32, "direct"))

    def op(self, r, what, name, ours, x, **kwargs):
        ref = self.functional.torch_op(name, x, float64=True, **kwargs)
        r.check(what, normalized_max_error(ours, ref), tolerance(np.float32, "exact"))

    def model_output(self, r, what, model_name, model, x, ours):
        import torch

        twin = self.compare.torch_twin(model_name, model)
        with torch.no_grad():
            ref = twin.eval()(torch.from_numpy(x.astype(np.float64))).softmax(1)[0].numpy()
        r.check(what, normalized_max_error(ours, ref), tolerance(np.float32, "model"))

    def feature_maps(self, r, whats, model, x, ours):
        """VGG16's feature maps, hooked in torch exactly as the notebook hooks them (after the in-place ReLU)."""
        import torch

        tv, z = self.compare.torch_twin("vgg16", model), []
        for i in (0, 10, 17, 28):
            tv.features[i].register_forward_hook(lambda m, i, o: z.append(o.detach()))  # the notebook's hook
        with torch.no_grad():
            tv.eval()(torch.from_numpy(x.astype(np.float64)))
        for what, a, b in zip(whats, ours, z):
            r.check(what, normalized_max_error(a, b.numpy()), tolerance(np.float32, "model"))

    def _effnet_reference(self, model, x):
        """Every block's output of the torch side for these weights and this input, computed once for both."""
        import hashlib

        state = model.state_dict()
        digest = hashlib.sha256(x.tobytes())
        for name, array in state.items():
            digest.update(name.encode() + array.tobytes())
        if getattr(self, "_effnet_key", None) != digest.digest():
            self._effnet_key, self._effnet_ref = digest.digest(), self.efficientnet.forward(state, x)
        return self._effnet_ref

    def effnet(self, r, what, model, x, ours):
        logits = self._effnet_reference(model, x)["logits"]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        ref = (e / e.sum(axis=1, keepdims=True))[0]
        r.check(what, normalized_max_error(ours, ref), tolerance(np.float32, "model"))

    def effnet_maps(self, r, whats, paths, model, x, ours):
        """EfficientNet-Lite0's stem convolution (TensorFlow's SAME padding) and block outputs, from the torch side."""
        ref = dict(self._effnet_reference(model, x))  # every block's output
        stem = model._conv_stem
        ref["_conv_stem"] = self.functional.torch_op("conv2d", x, stem.weight, stride=stem.stride,
                                                     padding=stem.padding_for(x.shape[-2:]), float64=True)  # fmt: skip
        for what, path, a in zip(whats, paths, ours):
            r.check(what, normalized_max_error(a, ref[path]), tolerance(np.float32, "model"))
