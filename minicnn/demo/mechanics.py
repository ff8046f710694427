"""Pictures of the mechanics, each computed by minicnn's own (tested) code, not drawn by hand:

- ``window_sum``: one output pixel of a convolution, its 3x3 window on the cat and the 9 products summed;
- ``im2col_picture``: the column matrix of im2col, built from real patches of the cat;
- ``arithmetic``: stride, padding and dilation on small grids, input and output labelled (conv_arithmetic's
  relations; the output sizes come from ``F.conv2d`` itself);
- ``receptive_fields`` and ``shrinking``: how far each VGG16 layer sees, and how many numbers each holds.

Every word comes from the caller (``words``: a function of a key, in the report's language).
"""

from __future__ import annotations

import numpy as np

import minicnn.functional as F
from minicnn.demo.figures import pyplot
from minicnn.kernels.conv_im2col import im2col


def window_sum(channel, kernel, at, words, fmt):
    """``channel`` (H, W) and a (3, 3) ``kernel``: the window of output pixel ``at`` = (i, j) on the image, the
    window's values, the kernel, their products and the sum, equal to ``F.conv2d``'s output there."""
    plt = pyplot()
    i, j = at
    window = channel[i : i + 3, j : j + 3]
    products = window * kernel
    out = F.conv2d(channel[None, None], kernel[None, None].astype(channel.dtype))[0, 0, i, j]
    fig = plt.figure(figsize=(13, 3.8))
    grid = fig.add_gridspec(1, 4, width_ratios=[1.3, 1, 1, 1])
    ax = fig.add_subplot(grid[0])
    ax.imshow(channel, cmap="gray")
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 3, 3, fill=False, edgecolor="red", linewidth=2))
    ax.set_xlim(j - 12, j + 15)
    ax.set_ylim(i + 15, i - 12)
    ax.set_title(words("mech.window", i=i, j=j), fontsize=10)
    ax.set_axis_off()
    for k, (values, title) in enumerate(((window, words("mech.input")), (kernel, words("mech.kernel")),
                                         (products, words("mech.products")))):  # fmt: skip
        ax = fig.add_subplot(grid[1 + k])
        limit = float(np.abs(values).max()) or 1.0
        ax.imshow(values, cmap="seismic" if k else "gray", vmin=-limit if k else None, vmax=limit if k else None)
        for (u, v), value in np.ndenumerate(values):
            ax.text(v, u, fmt(value), ha="center", va="center", fontsize=11,
                    bbox=dict(boxstyle="round", facecolor="white", alpha=0.8, linewidth=0))  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(words("mech.sum", total=fmt(products.sum()), out=fmt(out)), fontsize=11)
    fig.tight_layout()
    return fig, float(products.sum()), float(out)


def im2col_picture(channel, at, size, words):
    """im2col of a ``size`` x ``size`` patch of ``channel`` (from ``at``) with a 3x3 kernel: the patch, and the
    column matrix (9 rows, one per kernel tap; one column per output pixel) as an image."""
    plt = pyplot()
    i, j = at
    patch = channel[i : i + size, j : j + size]
    cols = im2col(patch[None, None], (3, 3), (1, 1), (1, 1))[0]  # (9, (size-2)**2)
    fig = plt.figure(figsize=(13, 3.6))
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 4])
    ax = fig.add_subplot(grid[0])
    ax.imshow(patch, cmap="gray")
    ax.add_patch(plt.Rectangle((-0.5, -0.5), 3, 3, fill=False, edgecolor="red", linewidth=2))
    ax.set_title(words("mech.patch", size=size), fontsize=10)
    ax.set_axis_off()
    ax = fig.add_subplot(grid[1])
    ax.imshow(cols, cmap="gray", aspect="auto", interpolation="nearest")
    ax.add_patch(plt.Rectangle((-0.5, -0.5), 1, 9, fill=False, edgecolor="red", linewidth=2))
    ax.set_yticks(range(9), [f"({u}, {v})" for u in range(3) for v in range(3)], fontsize=8)
    ax.set_xlabel(words("mech.columns", n=cols.shape[1]))
    ax.set_ylabel(words("mech.taps"))
    ax.set_title(words("mech.cols", shape=f"{cols.shape[0]}x{cols.shape[1]}"), fontsize=10)
    fig.tight_layout()
    return fig, cols.shape


#: The conv_arithmetic cases drawn: (input size, kernel, stride, padding, dilation).
CASES = ((5, 3, 1, 0, 1), (5, 3, 2, 1, 1), (5, 3, 1, 1, 1), (7, 3, 1, 0, 2))


def output_size(i, k, s, p, d):
    """conv_arithmetic's relation (Dumoulin and Visin, 2016): o = floor((i + 2p - d(k - 1) - 1) / s) + 1."""
    return (i + 2 * p - d * (k - 1) - 1) // s + 1


def arithmetic(words):
    """Each case of ``CASES``: the padded input (padding hatched), the taps of the first and second windows, and
    the output, its size measured with ``F.conv2d`` (and equal to the relation)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(CASES), figsize=(4 * len(CASES), 4.6))
    for ax, (i, k, s, p, d) in zip(axes, CASES):
        o = F.conv2d(np.zeros((1, 1, i, i)), np.zeros((1, 1, k, k)), stride=s, padding=p, dilation=d).shape[-1]
        assert o == output_size(i, k, s, p, d)
        n = i + 2 * p
        for r in range(n):
            for c in range(n):
                inside = p <= r < p + i and p <= c < p + i
                ax.add_patch(plt.Rectangle((c, n - 1 - r), 1, 1, facecolor="#dbe9f6" if inside else "white",
                                           edgecolor="0.6", hatch=None if inside else "//"))  # fmt: skip
        for w, colour in ((0, "red"), (1, "orange")):  # the first two windows along a row
            for u in range(k):
                for v in range(k):
                    r, c = u * d, w * s + v * d
                    ax.add_patch(plt.Rectangle((c + 0.15, n - 1 - r + 0.15), 0.7, 0.7, facecolor=colour, alpha=0.55))
        off = n + 1.5  # the output, to the right
        for r in range(o):
            for c in range(o):
                ax.add_patch(plt.Rectangle((off + c, n - 1 - r), 1, 1, facecolor="#c7e9c0", edgecolor="0.4"))
        for w, colour in ((0, "red"), (1, "orange")):
            if w < o:
                ax.add_patch(plt.Rectangle((off + w + 0.15, n - 1 + 0.15), 0.7, 0.7, facecolor=colour, alpha=0.7))
        ax.set_xlim(-0.5, off + o + 0.5)
        ax.set_ylim(-1.6, n + 0.5)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(f"i={i}, k={k}, s={s}, p={p}, d={d}\n" + words("mech.o", o=o), fontsize=10)
        ax.text(n / 2, -1.0, words("mech.in"), ha="center", fontsize=9)
        ax.text(off + o / 2, -1.0, words("mech.out"), ha="center", fontsize=9)
    fig.suptitle(words("mech.relation"), fontsize=11)
    fig.tight_layout()
    return fig


def receptive_fields(model):
    """(name, receptive field side, jump) after each layer of ``model.features``: r += (k - 1) * jump, jump *= s
    (a conv or pool of kernel k and stride s; the dilation of every VGG16 layer is 1)."""
    rf, jump, rows = 1, 1, []
    for name, layer in model.features.named_children():
        k = getattr(layer, "kernel_size", 1)
        k = k[0] if isinstance(k, tuple) else k
        s = getattr(layer, "stride", 1)
        s = s[0] if isinstance(s, tuple) else s
        rf += (k - 1) * jump
        jump *= s
        rows.append((f"features.{name}", type(layer).__name__, rf, jump))
    return rows


def receptive_field_picture(image, rows, words, show=("0", "4", "9", "16", "23", "30")):
    """The receptive field of the centre pixel after some VGG16 layers, as squares on the (256x256) image."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 6.4))
    ax.imshow(image)
    size = image.shape[0]
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(show)))
    picked = [row for row in rows if row[0].split(".")[1] in show]
    for (name, _, rf, _), colour in zip(picked, colours):
        side, label = min(rf, size), words("mech.rf.label", name=name, rf=rf)
        corner = (size / 2 - side / 2, size / 2 - side / 2)
        ax.add_patch(plt.Rectangle(corner, side, side, fill=False, edgecolor=colour, linewidth=2, label=label))
    ax.legend(loc="lower left", fontsize=8, framealpha=0.85)
    ax.set_title(words("mech.rf"), fontsize=10)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def shrinking(shapes, words, fmt):
    """How many numbers each layer's output holds ((name, (C, H, W)) in order, the input first), on a log scale."""
    plt = pyplot()
    names = [name for name, _ in shapes]
    counts = [int(np.prod(shape)) for _, shape in shapes]
    fig, ax = plt.subplots(figsize=(12, 3.8))
    ax.bar(range(len(counts)), counts, color=["#4c72b0" if n != "features.30" else "#c44e52" for n in names])
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)), [n.replace("features.", "") for n in names], fontsize=8)
    ax.set_xlabel(words("mech.layer"))
    ax.set_ylabel(words("mech.count"))
    for x in (0, names.index("features.30")):
        ax.annotate(fmt(counts[x]), (x, counts[x]), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=9)
    ax.set_title(words("mech.shrink", first=fmt(counts[0]), last=fmt(counts[names.index("features.30")])),
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig
