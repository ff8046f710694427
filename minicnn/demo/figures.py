"""The demo's figures (matplotlib, drawn off-screen). Every word on them comes from the caller, in its language."""

from __future__ import annotations

import numpy as np


def pyplot():
    """matplotlib.pyplot, drawing off-screen (the Agg backend), as the demo and its code cells use it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def localize(fig, lang):
    """Write the tick labels of every axis of ``fig`` the way ``lang`` writes numbers (0,5 in French)."""
    from matplotlib.ticker import ScalarFormatter

    class CommaFormatter(ScalarFormatter):
        def __call__(self, x, pos=None):
            return super().__call__(x, pos).replace(".", ",")

    if lang == "fr":
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                if isinstance(axis.get_major_formatter(), ScalarFormatter):
                    axis.set_major_formatter(CommaFormatter())
            for image in ax.images:  # a colour bar keeps its own formatter, set again whenever it is drawn
                if image.colorbar is not None and isinstance(image.colorbar.formatter, ScalarFormatter):
                    image.colorbar.formatter = CommaFormatter()
    return fig


def gray(arr, title, colorbar=None, size=5):
    """An image in grey levels; ``colorbar``: the label of a colour bar giving the true values."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(size + (1 if colorbar else 0), size))
    im = ax.imshow(arr, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.8, label=colorbar)
    return fig


def rgb(chw, title):
    return gray(np.clip(chw.transpose(1, 2, 0), 0, 1), title)


def panels(arrays, titles, cmap="gray"):
    plt = pyplot()
    fig, axes = plt.subplots(1, len(arrays), figsize=(5 * len(arrays), 5))
    for ax, arr, title in zip(np.atleast_1d(axes), arrays, titles):
        ax.imshow(arr, cmap=cmap)
        ax.set_title(title)
        ax.axis("off")
    return fig


def kernel_grid(weight, title, colorbar, cols=8):
    """The notebook's drawing of first-layer kernels, channel 0 of each, in 'seismic', on one symmetric scale.

    Every kernel shares the scale [-v, v], v the largest |weight| drawn, so 0 is white in all of them (an
    all-zero kernel is white, not dark blue) and one colour bar, labelled ``colorbar``, reads them all.
    """
    plt = pyplot()
    n = weight.shape[0]
    rows = -(-n // cols)
    v = float(np.abs(weight[:, 0]).max()) or 1.0
    fig, axes = plt.subplots(rows, cols, figsize=(20, 17 * rows / 8 + 0.8), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_xticks([]), ax.set_yticks([])
        ax.spines[:].set_color("0.8")  # a light frame: a kernel near 0 is white, on white
        if i < n:
            im = ax.imshow(weight[i, 0, :, :], cmap="seismic", vmin=-v, vmax=v)
        else:
            ax.axis("off")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label=colorbar)
    fig.suptitle(title, fontsize=20)
    return fig


def feature_grid(maps, title, channel_label, channels=16, cols=4):
    """The first ``channels`` feature maps of one image (C, H, W), each on its own scale (the notebook's imshow);
    ``channel_label`` is a format string for each map's title, e.g. "channel {i}"."""
    plt = pyplot()
    n = min(channels, maps.shape[0])
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows + 0.6), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(maps[i], cmap="viridis")
            ax.set_title(channel_label.format(i=i), fontsize=9)
    fig.suptitle(title)
    return fig


def probabilities(probs, top, labels, title, xlabel, ylabel):
    """The notebook's plt.plot(output.squeeze()): the probability of each class; the classes ``top`` marked and
    labelled ``labels``, in a column beside the curve with a line to each point, so that no two labels overlap
    (ImageNet's cat classes, 281 to 287, are neighbours)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(probs, lw=1)
    ax.plot(top, probs[top], "o", ms=4, color="C3")
    ax.set_ylim(0, max(1.15 * float(probs.max()), 1e-3))
    for k, (c, label) in enumerate(zip(top, labels)):
        ax.annotate(label, xy=(c, probs[c]), xytext=(0.5, 0.9 - 0.12 * k), textcoords="axes fraction", va="center",
                    fontsize=9, arrowprops=dict(arrowstyle="-", color="0.6", lw=0.7))  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def learning(losses, snapshots, title, loss_label, step_label, kernel_title):
    """The loss against the step (log scale), and the kernel at a few steps, on one symmetric scale."""
    plt = pyplot()
    fig = plt.figure(figsize=(11, 3.2))
    grid = fig.add_gridspec(1, 1 + len(snapshots), width_ratios=[3] + [1] * len(snapshots))
    ax = fig.add_subplot(grid[0])
    ax.semilogy(np.arange(1, len(losses) + 1), losses)
    ax.set(xlabel=step_label, ylabel=loss_label, title=title)
    limit = max(float(np.abs(k).max()) for _, k in snapshots) or 1.0
    for i, (step, kernel) in enumerate(snapshots):
        kax = fig.add_subplot(grid[1 + i])
        im = kax.imshow(kernel, cmap="seismic", vmin=-limit, vmax=limit)
        kax.set_title(kernel_title.format(step=step), fontsize=9)
        kax.set_axis_off()
    fig.colorbar(im, ax=fig.axes[1:], shrink=0.7)
    return fig


def cams(rgb, maps, titles):
    """Each class activation map over the picture (minicnn.explain.overlay), side by side."""
    from minicnn.explain import overlay

    plt = pyplot()
    fig, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 4.4))
    for ax, cam, title in zip(np.atleast_1d(axes), maps, titles):
        ax.imshow(overlay(rgb, cam))
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.tight_layout()
    return fig
