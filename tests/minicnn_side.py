"""Run a minicnn model on a checkpoint with torch made unimportable, and save every module's output.

    python tests/minicnn_side.py MODEL CHECKPOINT INPUT.npy OUTPUT.npz

Used by tests/test_models.py to prove that loading and running need no torch: any ``import torch``
in this process raises ImportError.
"""

import sys
from pathlib import Path

sys.modules["torch"] = None  # blocks torch, torchvision and everything that imports them
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from minicnn import models  # noqa: E402
from minicnn.summary import record_outputs  # noqa: E402


def main(model_name, checkpoint, input_path, output_path):
    model = getattr(models, model_name)(weights=checkpoint).eval()
    outputs = record_outputs(model, np.load(input_path))
    arrays = {f"{name}#{i}": a for name, outs in outputs.items() for i, a in enumerate(outs)}
    loaded = [m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision") and sys.modules[m] is not None]
    arrays["__torch_modules__"] = np.array(loaded, dtype=str)
    np.savez(output_path, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
