"""The torchvision side of the model checks: the same architecture and weights, every module's output.

model = torchvision_model("vgg16", "vgg16.pth")       # weights from a checkpoint file (or None)
outputs = record_outputs(model, x)                      # {"features.0": [array], ..., "": [logits]}
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
import torchvision

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def torchvision_model(name: str, checkpoint=None, eval_mode=True) -> torch.nn.Module:
    """``torchvision.models.<name>()`` with the state dict of ``checkpoint`` (a path) loaded, if given."""
    model = getattr(torchvision.models, name)()
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return model.eval() if eval_mode else model


def randomize_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Give every BatchNorm2d of ``model`` non-trivial running statistics and affine terms, drawn from torch's
    global generator (seed it first). Fresh torchvision models have mean 0, var 1, weight 1, bias 0: a test on them
    could not tell a batch norm applied from one skipped."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_(1, 0.2)
                m.bias.normal_(0, 0.2)
    return model


def record_outputs(model: torch.nn.Module, *inputs, device="cpu") -> OrderedDict:
    """Run ``model`` on NumPy ``inputs`` and return each module's outputs, copied when produced.

    Keys are ``named_modules()`` names ("" is the whole model); a module called several times (the
    shared ReLU of a ResNet block) has one entry per call. Copies matter: an in-place ReLU would otherwise
    change a conv's recorded output afterwards.
    """
    outputs = OrderedDict((name, []) for name, _ in model.named_modules())
    handles = [
        m.register_forward_hook(
            lambda mod, args, out, name=name: outputs[name].append(out.detach().cpu().numpy().copy())
        )
        for name, m in model.named_modules()
    ]
    try:
        with torch.no_grad():
            model.to(device)(*[torch.from_numpy(np.ascontiguousarray(x)).to(device) for x in inputs])
    finally:
        for h in handles:
            h.remove()
    return outputs
