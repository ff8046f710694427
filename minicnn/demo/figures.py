"""The demo's figures (matplotlib, drawn off-screen)."""

from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gray(arr, title, size=5):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(arr, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
    return fig


def rgb(chw, title):
    return gray(np.clip(chw.transpose(1, 2, 0), 0, 1), title)


def panels(arrays, titles, cmap="gray"):
    plt = _plt()
    fig, axes = plt.subplots(1, len(arrays), figsize=(5 * len(arrays), 5))
    for ax, arr, title in zip(np.atleast_1d(axes), arrays, titles):
        ax.imshow(arr, cmap=cmap)
        ax.set_title(title)
        ax.axis("off")
    return fig


def kernel_grid(weight, title, cols=8):
    """The notebook's drawing of first-layer kernels: channel 0 of each, a grid, the 'seismic' colormap."""
    plt = _plt()
    n = weight.shape[0]
    rows = -(-n // cols)
    fig = plt.figure(figsize=(20, 17 * rows / 8))
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(weight[i, 0, :, :], cmap="seismic")
        ax.axis("off")
    fig.suptitle(title, fontsize=20)
    return fig


def feature_grid(maps, title, channels=16, cols=4):
    """The first ``channels`` feature maps of one image (C, H, W) as a grid."""
    plt = _plt()
    n = min(channels, maps.shape[0])
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows + 0.6))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(maps[i], cmap="viridis")
            ax.set_title(f"channel {i}", fontsize=9)
    fig.suptitle(title)
    return fig


def probabilities(probs, top, categories, title):
    """The notebook's plt.plot(output.squeeze()): the probability of each of the 1000 classes, top-5 marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(probs)
    for c in top:
        ax.annotate(categories[c], (c, probs[c]), fontsize=8, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("class index")
    ax.set_ylabel("probability")
    ax.set_title(title)
    return fig
