"""The default random generator: initialisation and dropout draw from it unless given their own.

``minicnn.manual_seed(0)`` makes every later draw reproducible, like ``torch.manual_seed`` (the numbers
differ from torch's: NumPy and torch have different generators).
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def as_generator(generator=None) -> np.random.Generator:
    """``generator`` itself, a new generator seeded by it (an int), or the default one (None)."""
    if generator is None:
        return _generator
    return generator if isinstance(generator, np.random.Generator) else np.random.default_rng(generator)
