"""minicnn on a GPU: the same ops and models, computed by numba.cuda kernels on device arrays.

    import minicnn.cuda
    if minicnn.cuda.is_available():
        x = minicnn.cuda.to_device(x)                 # a DeviceArray
        y = F.conv2d(x, minicnn.cuda.to_device(w))    # computed on the GPU, a DeviceArray
        model.to("cuda"); logits = model(x)           # every parameter moved; every layer on the GPU
        logits = numpy.asarray(logits)                # back on the host

The kernels are in ``minicnn/cuda/kernels.py`` (one thread per output element first, then a tiled
implicit-GEMM convolution and a tiled GEMM with shared memory), explained in docs/cuda.md. Without a GPU
they run, slowly, under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), which is how CI tests them.
"""

from __future__ import annotations

import numpy as np

from minicnn.cuda.array import DeviceArray, is_device_array


def is_available() -> bool:
    """Whether numba.cuda can run kernels here (a CUDA GPU, or the simulator when NUMBA_ENABLE_CUDASIM=1)."""
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


def to_device(array) -> DeviceArray:
    """Copy a NumPy array to the GPU (a DeviceArray stays as it is)."""
    if isinstance(array, DeviceArray):
        return array
    from numba import cuda

    return DeviceArray(cuda.to_device(np.ascontiguousarray(array)))


def to_host(array) -> np.ndarray:
    """Copy a DeviceArray back to a NumPy array (a NumPy array stays as it is)."""
    return array.copy_to_host() if isinstance(array, DeviceArray) else np.asarray(array)


__all__ = ["DeviceArray", "is_available", "is_device_array", "to_device", "to_host"]
