"""The errors of the checkpoint reader. Both are ``ValueError``s: a bad file is a bad input value."""


class CheckpointError(ValueError):
    """The file is not a valid PyTorch checkpoint (or not one minicnn can read): nothing was loaded."""


class UnsafeCheckpointError(CheckpointError):
    """The checkpoint asks to import or call something a state dict never needs: it was refused, not run."""
