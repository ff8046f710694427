"""The backward of ReLU and ReLU6 as one compiled pass: what ``minicnn.compiled()`` runs.

``relu_backward`` (``minicnn/functional/activation.py``) builds a mask and multiplies by it, then checks the
result for NaN: four passes over the array in NumPy, one here. Same rules as torch: ReLU's gradient stops where
``output <= 0``, ReLU6's where ``output <= 0 or output >= 6``; it passes elsewhere, a NaN output included (torch's
scalar formulas; its vectorized hardtanh_backward stops the gradient at a NaN).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def _relu_backward(grad_output, output, grad):
    for i in range(grad.size):
        grad[i] = 0 if output[i] <= 0 else grad_output[i]


@njit(nogil=True, cache=True)
def _relu6_backward(grad_output, output, grad):
    for i in range(grad.size):
        grad[i] = 0 if (output[i] <= 0 or output[i] >= 6) else grad_output[i]


def relu_backward_numba(grad_output, output):
    """ReLU's gradient given its output: stopped where output <= 0, passed elsewhere (NaN and inf too)."""
    return _elementwise(_relu_backward, grad_output, output)


def relu6_backward_numba(grad_output, output):
    """ReLU6's gradient given its output: stopped where output <= 0 or >= 6, passed elsewhere (NaN too)."""
    return _elementwise(_relu6_backward, grad_output, output)


def _elementwise(kernel, grad_output, output):
    g = np.ascontiguousarray(grad_output).reshape(-1)
    grad = np.empty(g.shape, grad_output.dtype)
    kernel(g, np.ascontiguousarray(output).reshape(-1), grad)
    return grad.reshape(grad_output.shape)
