"""Where a model's weights come from: nothing (fresh initialisation) or a checkpoint file."""

from __future__ import annotations

from pathlib import Path

from minicnn.checkpoint import load_checkpoint


def resolve_weights(model_name: str, weights):
    """None for a fresh model, else the Path of the checkpoint to load."""
    if weights is None:
        return None
    if isinstance(weights, (str, Path)):
        path = Path(weights)
        if path.is_file():
            return path
        if isinstance(weights, str) and weights.isupper():
            raise ValueError(
                f"named weights ({weights!r}) for {model_name} are not available in this version of minicnn; "
                "pass the path of a checkpoint written by torch.save(model.state_dict(), path)"
            )
        raise FileNotFoundError(f"weights file not found: {path}")
    raise TypeError(f"weights must be None or a checkpoint path, got {type(weights).__name__}")


def load_weights(model, path):
    """Load the checkpoint at ``path`` into ``model`` (strict: every key, every shape) and return the model."""
    model.load_state_dict(load_checkpoint(path))
    return model
