"""``DeviceArray``: an array in GPU memory, as minicnn's ops take and return it.

A thin wrapper around a numba.cuda device array that adds what a network's code needs from a tensor:
``shape``, ``dtype``, ``reshape`` (with -1), indexing, ``+`` and ``+=`` (the residual connections), and
``copy_to_host()`` / ``numpy.asarray(d)`` to bring the values back. It imports nothing heavy, so the
functional ops can check ``isinstance(x, DeviceArray)`` without loading Numba's CUDA support.
"""

from __future__ import annotations

import numpy as np


class DeviceArray:
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data  # a numba.cuda device array (or the simulator's stand-in)

    shape = property(lambda self: tuple(self.data.shape))
    dtype = property(lambda self: np.dtype(self.data.dtype))
    ndim = property(lambda self: len(self.data.shape))
    size = property(lambda self: int(np.prod(self.data.shape)))
    device = "cuda"

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            shape = tuple(self.size // known if s == -1 else s for s in shape)
        return DeviceArray(self.data.reshape(*shape))

    def __getitem__(self, index):
        return DeviceArray(self.data[index])

    def copy_to_host(self) -> np.ndarray:
        return self.data.copy_to_host()

    def __array__(self, dtype=None, copy=None):
        a = self.copy_to_host()
        return a if dtype is None else a.astype(dtype)

    def __add__(self, other):
        from minicnn.cuda import ops

        return ops.add(self, other)

    def __iadd__(self, other):
        from minicnn.cuda import ops

        return ops.add(self, other, out=self)

    def __repr__(self):
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype})"


def is_device_array(x) -> bool:
    return isinstance(x, DeviceArray)
