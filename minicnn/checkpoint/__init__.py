"""Reading PyTorch checkpoints safely, without torch: ``load_checkpoint(path) -> {name: array}``."""

from minicnn.checkpoint.errors import CheckpointError, UnsafeCheckpointError
from minicnn.checkpoint.reader import load_checkpoint

__all__ = ["CheckpointError", "UnsafeCheckpointError", "load_checkpoint"]
