"""The one torch comparer: minicnn's model against its torch twin on the same arrays, module by module.

Used by ``minicnn classify --check``, ``minicnn demo --check`` and the tests. The torch side runs in float64;
errors are minicnn.numerics' normalized max error, to be read against its "model" tolerance.
"""

from __future__ import annotations

import numpy as np
import torch

from minicnn.numerics import normalized_max_error
from reference import efficientnet
from reference.models import record_outputs, torchvision_model


def torch_twin(model_name: str, minicnn_model) -> torch.nn.Module:
    """The torchvision model holding minicnn's arrays (pretrained or random alike), in float64, eval mode."""
    tv = torchvision_model(model_name)
    tv.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in minicnn_model.state_dict().items()})
    return tv.double().eval()


def reference_outputs(model_name: str, minicnn_model, x) -> dict:
    """{module name: [outputs]} of the torch side for input ``x``: every module of the torchvision twin, or for
    EfficientNet-Lite0 (no torchvision twin) each block and the logits of the independent functional version."""
    if model_name == "efficientnet_lite0":
        blocks = efficientnet.forward(minicnn_model.state_dict(), x)
        return {k: [v] for k, v in blocks.items() if k.startswith("_blocks.")} | {"": [blocks["logits"]]}
    return record_outputs(torch_twin(model_name, minicnn_model), np.asarray(x, np.float64))


def module_errors(ours: dict, reference: dict) -> list[tuple[str, tuple, float]]:
    """(module name, output shape, normalized max error) for every output the reference recorded."""
    rows = []
    for name, outs in reference.items():
        mine = ours.get(name, [])
        if len(mine) != len(outs):
            raise AssertionError(f"{name or 'model'} called {len(mine)} times, torch {len(outs)}")
        for a, b in zip(mine, outs):
            if np.shape(a) != np.shape(b):
                raise AssertionError(f"{name or 'model'}: shape {np.shape(a)} != torch's {np.shape(b)}")
            rows.append((name, tuple(np.shape(b)), normalized_max_error(a, b)))
    return rows
