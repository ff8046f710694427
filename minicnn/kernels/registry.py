"""Every conv2d algorithm of minicnn in one table: name -> kernel, the shapes and layout it is for, its tolerance,
its readable twin, and its CUDA counterpart.

``F.conv2d(algorithm=...)``, ``minicnn.conv_algorithm``, ``"auto"``, ``minicnn.optimize``, the CUDA backend, the
tests and the benchmarks all read this one list. Every kernel follows the calling convention of
``minicnn/kernels/__init__.py``: ``kernel(x, pack(weight), spec, epilogue)``. Adding an algorithm is one entry here,
one kernel file and its test (the tests are parametrized by ``ALGORITHMS``).

Two more names choose among these per convolution, and are no kernels of their own:

- ``"default"`` (what runs unless asked otherwise): a fixed rule, NumPy only, nothing compiled, timed or written
  (``default_algorithm``): a GEMM for 1x1 convolutions, shift-and-add for depthwise ones, else im2col, in the
  input's memory layout.
- ``"auto"``: measures the candidates that apply (``candidates``) on the actual input once per shape, keeps the
  fastest (``minicnn/functional/_autotune.py``).

An algorithm asked for by name on a shape it does not cover (Winograd on a 1x1 convolution) runs the default
rule's choice instead.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from minicnn.specs import ConvSpec


def _any(spec: ConvSpec) -> bool:
    return True


def _one_group(spec: ConvSpec) -> bool:
    return spec.groups == 1


def _pointwise(spec: ConvSpec) -> bool:
    return spec.kind == "pointwise"


def _depthwise(spec: ConvSpec) -> bool:
    return spec.kind == "depthwise"


def _winograd(spec: ConvSpec) -> bool:
    """Winograd F(m x m, 3 x 3) computes 3x3 convolutions with stride 1, no dilation, one group."""
    return (spec.KH, spec.KW) == (3, 3) and spec.stride == (1, 1) and spec.dilation == (1, 1) and spec.groups == 1


def _few_tile_winograd(spec: ConvSpec) -> bool:
    """Where "auto" measures F(2x2, 3x3) on channels-last tiles: deep layers (512 channels and more, at most 16x16
    outputs: VGG16's last stage, ResNet50's layer4), where F(4x4) reads 4x the weights for a few tiles. (Measured
    on every 3x3 layer, two runs of benchmarks/run.py measured ResNet50 20% slower, for a reason not found.)"""
    return spec.C_in >= 512 and spec.OH <= 16 and spec.OW <= 16


#: Where "auto" measures F(4x4, 3x3) on channels-last tiles: at least this many 4x4 output tiles (N * OH/4 * OW/4,
#: rounded up). Measured alone, with the caches flushed, it won ResNet50's 256-channel layers at 14x14 (16 tiles per
#: image) in some processes; inside the network it then lost every time (1.2-1.9 ms against im2col's 0.94-0.99,
#: medians of alternate passes, Zen 5 EPYC), and on VGG16's 512-channel layers at 14x14 it did no better than im2col
#: (F(2x2) did). With 49 tiles (28x28) it is as fast as im2col or faster.
WINOGRAD4_MIN_TILES = 32


def _many_tile_winograd(spec: ConvSpec) -> bool:
    """Where "auto" measures F(4x4, 3x3) on channels-last tiles: at least WINOGRAD4_MIN_TILES tiles in the batch."""
    return spec.N * -(-spec.OH // 4) * -(-spec.OW // 4) >= WINOGRAD4_MIN_TILES


def _stem(spec: ConvSpec) -> bool:
    """Where "auto" measures the register-blocked direct kernel: few input channels (an image's), at most 64 output
    channels (one block of sums: VGG16's, ResNet50's and EfficientNet-Lite0's first layers)."""
    return spec.C_in < 8 and spec.C_out <= 64  # (of the convolutions it computes: one group)


def _identity(weight):
    return weight


@functools.cache
def _load(path: str | None) -> Callable:
    if path is None:
        return _identity
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class ConvAlgorithm:
    name: str
    kernel: str  # "module:function", imported when first run (modules with Numba load slowly)
    applies: Callable[[ConvSpec], bool]  # which convolutions it computes
    layout: str  # "nchw" or "channels_last": the memory layout it reads and writes without copying
    tolerance: str  # its key in minicnn.numerics.TOLERANCES
    twin: str | None  # the readable version it is checked against and explained by
    compiled: bool  # needs Numba (compiles on first use)
    auto: bool  # a candidate of "auto"
    pack: str | None = None  # "module:function" making the kernel's weight argument from the weight (None: itself)
    cuda: str | None = None  # the CUDA kernel computing the same algorithm (minicnn/cuda/ops.py), if any
    other_layout: str | None = None  # the same algorithm for the other memory layout, if there is one
    doc: str = ""
    auto_when: Callable[[ConvSpec], bool] | None = None  # the shapes "auto" measures it for (None: all it computes)

    def run(self, x, weight, spec, epilogue):
        """The convolution of ``x`` (unpadded) by ``weight`` (C_out, C_in_g, KH, KW), packed afresh."""
        return _load(self.kernel)(x, _load(self.pack)(weight), spec, epilogue)

    def prepack(self, weight):
        """What ``run`` gives the kernel as its weight, computed once (``minicnn.optimize`` keeps it). (A contiguous
        copy of ``weight_cols`` made ResNet50's deepest 1x1 layers 10-20% faster alone but not the network measurably,
        for another copy of every weight: not kept.)"""
        return _load(self.pack)(weight)

    def run_packed(self, x, packed, spec, epilogue):
        return _load(self.kernel)(x, packed, spec, epilogue)


_K = "minicnn.kernels."
ALGORITHMS: dict[str, ConvAlgorithm] = {
    a.name: a
    for a in [
        ConvAlgorithm("naive", _K + "conv_naive:conv2d_naive", _any, "nchw", "direct", None, False, False,
                      cuda="conv2d_direct", doc="the textbook loops, one output element at a time"),
        ConvAlgorithm("im2col_full", _K + "conv_im2col:conv2d_im2col_full", _any, "nchw", "direct", "naive", False,
                      False, doc="every receptive field copied into one column matrix, then one GEMM"),
        ConvAlgorithm("im2col", _K + "conv_im2col:conv2d_im2col", _any, "nchw", "direct", "im2col_full", False, True,
                      cuda="conv2d_tiled", other_layout="im2col_cl",
                      doc="im2col a band of output rows at a time, in a buffer kept in cache"),
        ConvAlgorithm("im2col_cl", _K + "conv_im2col:conv2d_im2col_cl", _one_group, "channels_last", "direct",
                      "im2col", False, True, pack=_K + "conv_im2col:weight_cols", other_layout="im2col",
                      doc="im2col on channels-last pixels, one GEMM per kernel row, bands on every thread"),
        ConvAlgorithm("im2col_rows", _K + "im2col_numba:conv2d_im2col_rows", _one_group, "nchw", "direct",
                      "im2col_full", True, False,
                      doc="compiled im2col, one row per output pixel of the whole batch, then one GEMM"),
        ConvAlgorithm("pointwise", _K + "conv_im2col:conv2d_pointwise", _pointwise, "nchw", "direct", "im2col_full",
                      False, True, other_layout="pointwise_cl",
                      doc="a 1x1 convolution is a GEMM: the input already is the column matrix"),
        ConvAlgorithm("pointwise_cl", _K + "conv_im2col:conv2d_pointwise_cl", _pointwise, "channels_last", "direct",
                      "pointwise", False, True, pack=_K + "conv_im2col:weight_cols", other_layout="pointwise",
                      doc="a 1x1 convolution of channels-last pixels: one GEMM, no copy"),
        ConvAlgorithm("depthwise", _K + "depthwise:depthwise_shift_add", _depthwise, "nchw", "direct", "naive",
                      False, False, doc="one input channel per group: KH*KW shifted multiply-adds"),
        ConvAlgorithm("depthwise_numba", _K + "depthwise_numba:depthwise_numba", _depthwise, "nchw", "direct",
                      "depthwise", True, True, other_layout="depthwise_cl",
                      doc="the depthwise formula's loops, compiled, parallel over planes"),
        ConvAlgorithm("depthwise_cl", _K + "depthwise_numba:depthwise_cl", _depthwise, "channels_last", "direct",
                      "depthwise_numba", True, True, pack=_K + "depthwise_numba:pack_cl",
                      other_layout="depthwise_numba",
                      doc="the depthwise loops on channels-last pixels: each tap one vector of channels"),
        ConvAlgorithm("direct_cl", _K + "direct_cl:conv2d_direct_cl", _one_group, "channels_last", "direct", "naive",
                      True, True, pack=_K + "direct_cl:pack", auto_when=_stem,
                      doc="the naive loops on channels-last pixels, each block of sums in vector registers: stems"),
        ConvAlgorithm("numba", _K + "conv_numba:conv2d_numba", _any, "nchw", "direct", "naive", True, False,
                      doc="the naive loops reordered (a kernel tap sweeps the output plane), compiled, parallel"),
        ConvAlgorithm("numba_blocked", _K + "conv_numba_blocked:conv2d_numba_blocked", _any, "nchw", "direct",
                      "numba", True, False, doc="the compiled loops blocked over output channels and rows"),
        ConvAlgorithm("winograd2", _K + "winograd:conv2d_winograd2", _winograd, "nchw", "winograd2", "naive", True,
                      True, pack=_K + "winograd:pack2", other_layout="winograd2_cl",
                      doc="Winograd F(2x2, 3x3): 2.25x fewer multiplications"),
        ConvAlgorithm("winograd2_cl", _K + "winograd_cl:conv2d_winograd2_cl", _winograd, "channels_last", "winograd2",
                      "winograd2", True, True, pack=_K + "winograd_cl:pack_cl2", other_layout="winograd2",
                      doc="Winograd F(2x2, 3x3) on channels-last tiles: deep layers with few tiles",
                      auto_when=_few_tile_winograd),
        ConvAlgorithm("winograd4", _K + "winograd:conv2d_winograd4", _winograd, "nchw", "winograd4", "winograd2",
                      True, True, pack=_K + "winograd:pack4", other_layout="winograd4_cl",
                      doc="Winograd F(4x4, 3x3): 4x fewer multiplications"),
        ConvAlgorithm("winograd4_cl", _K + "winograd_cl:conv2d_winograd4_cl", _winograd, "channels_last",
                      "winograd4", "winograd4", True, True, pack=_K + "winograd_cl:pack_cl", other_layout="winograd4",
                      doc="Winograd F(4x4, 3x3) on channels-last tiles, vectorized transforms, bands on threads",
                      auto_when=_many_tile_winograd),
    ]
}  # fmt: skip

#: The names ``conv2d(algorithm=...)`` accepts: the two rules, then every algorithm.
NAMES: tuple[str, ...] = ("default", "auto", *ALGORITHMS)


def check_name(name: object) -> str:
    """``name`` if it is a known conv2d algorithm, else a ValueError listing the known ones."""
    if not isinstance(name, str) or name not in NAMES:
        raise ValueError(f"unknown conv2d algorithm {name!r}; expected one of {', '.join(NAMES)}")
    return name


#: A whole column matrix at most this large (elements, 16 MB of float32) is built at once ("im2col_full": one batched
#: GEMM); a larger one band by band ("im2col"). Small layers (the digits CNN: 0.3 M) otherwise pay Python's cost per
#: image and band.
SMALL_COLUMNS = 1 << 22


def default_algorithm(spec: ConvSpec, channels_last: bool) -> str:
    """The fixed rule of ``"default"``: NumPy kernels only, chosen by the shape and the input's memory layout."""
    if spec.kind == "pointwise":
        return "pointwise_cl" if channels_last else "pointwise"
    if spec.kind == "depthwise":
        return "depthwise"
    if channels_last and spec.groups == 1:
        return "im2col_cl"
    columns = spec.N * spec.C_in * spec.KH * spec.KW * spec.OH * spec.OW
    return "im2col_full" if columns <= SMALL_COLUMNS else "im2col"


def compiled_algorithm(spec: ConvSpec, channels_last: bool) -> str:
    """The fixed rule of ``"default"`` inside ``minicnn.compiled()``: small images of one group in NCHW (whole column
    matrices of at most SMALL_COLUMNS, e.g. the digits CNN) by ``im2col_rows`` (one GEMM for the whole batch, and a
    backward of three), the others as ``default_algorithm``."""
    columns = spec.N * spec.C_in * spec.KH * spec.KW * spec.OH * spec.OW
    if spec.kind == "general" and spec.groups == 1 and not channels_last and columns <= SMALL_COLUMNS:
        return "im2col_rows"
    return default_algorithm(spec, channels_last)


def resolve(name: str, spec: ConvSpec, channels_last: bool) -> ConvAlgorithm:
    """The algorithm that computes ``spec`` when ``name`` (not "auto") is asked for."""
    if name == "compiled":
        return ALGORITHMS[compiled_algorithm(spec, channels_last)]
    if name != "default":
        algorithm = ALGORITHMS[name]
        if algorithm.applies(spec):
            return algorithm
    return ALGORITHMS[default_algorithm(spec, channels_last)]


def candidates(spec: ConvSpec, channels_last: bool) -> list[str]:
    """The algorithms ``"auto"`` measures for ``spec`` and an input in that layout: of an algorithm written for both
    layouts, the version for the input's (the other would copy the input, and its output, for nothing)."""
    layout = "channels_last" if channels_last else "nchw"
    names = []
    for a in ALGORITHMS.values():
        twin = ALGORITHMS.get(a.other_layout)
        if a.auto and a.applies(spec) and (a.auto_when is None or a.auto_when(spec)) and \
                (a.layout == layout or twin is None or not twin.applies(spec)):  # fmt: skip
            names.append(a.name)
    return names


def tolerance_kind(name: str) -> str:
    """The tolerance (a key of ``minicnn.numerics.TOLERANCES``) of results computed by ``name``."""
    if name == "default":
        return "direct"
    if name == "auto":
        return "auto"
    return ALGORITHMS[name].tolerance
