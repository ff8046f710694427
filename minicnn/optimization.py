"""``minicnn.optimize(model, example_input=None)``: the one place where minicnn buys speed.

(This module is ``minicnn.optimization``; ``minicnn.optimize`` is its function, with ``minicnn.optimize.unfreeze``.)

In the spirit of ``torch.jit.freeze`` + ``torch.jit.optimize_for_inference`` (and ``ipex.optimize``), for a model
in evaluation mode on the CPU:

1. **Freeze.** Every parameter and buffer becomes read-only, and so does the memory it views: an in-place edit
   (``w[i] += d``, ``w *= k``, ``w[...] = v``) raises an error that names ``minicnn.optimize`` (``np.copyto``,
   ``w.flat[i] = v`` and edits through the array a weight is a view of raise NumPy's "assignment destination is
   read-only"). Assigning a new array (``conv.weight = w``, ``load_state_dict``, ``model.to(...)``) is seen: that
   layer is rebuilt from the new arrays at its next call. Beyond the arrays, each fused path checks at every call
   that what it was built from is still there (the same child modules, strides, paddings, modes, no forward of
   their own); after any such change the model's own code runs. Nothing derived from a weight can go stale.
2. **Fold and fuse.** A ``BatchNorm2d`` right after a convolution is folded into it (``weight * s``,
   ``beta + s * (bias - mean)`` with ``s = gamma / sqrt(var + eps)``, computed in float64), and the following
   ReLU, and ResNet's residual addition, run in the convolution's epilogue while each block of output is in cache.
   Where: runs of (Conv2d, BatchNorm2d, ReLU) in a ``Sequential``, and the blocks of minicnn's models (ResNet's
   stem and ``Bottleneck``, EfficientNet's stem, ``MBConvBlock`` and head).
3. **Channels-last.** The input is stored pixel by pixel at the model's entry; every activation stays so.
4. **Prepack and tune.** Each convolution measures its candidates (``"auto"``) for each input shape it meets
   (with ``example_input``, now; else at the first call), keeps the fastest, and prepacks its weights for it
   (Winograd's transformed kernels, GEMM columns) once.
5. **Pool.** ``MaxPool2d`` runs a compiled kernel on the channels-last activations (``max_pool2d_cl``: one vector
   of channels per tap, the same maxima), except under ``algorithm="default"``, which compiles nothing. A
   ``MaxPool2d(2, 2)`` right after a fused convolution (VGG16's) is done by that convolution when it runs Winograd:
   each output tile is pooled in the output transform, so the full-size output is never written nor read back
   (``winograd_cl.MAX_POOLED``; the same values). With another algorithm, once the pooling's settings change, or
   with hooks or a forward of its own on it, the pooling runs after the convolution as its module would (its hooks
   see what torch's would); it is checked at every call, and stays free to have hooks.

The model is optimized in place and returned (as ``ipex.optimize(..., inplace=True)``): the same classes, the same
``print`` and ``state_dict``. Values agree with the eager model within the tolerance of the algorithms chosen.
Training mode, or arrays moved to the GPU, run the model's own code. Hooks: a module that has hooks when
``optimize`` runs is left unfused, so its hooks see what torch's would; registering a hook afterwards on a module
that was fused raises an error (call ``minicnn.optimize.unfreeze(model)`` first, then optimize again).
``unfreeze(model)`` undoes everything (the very arrays come back, writable again). ``copy.deepcopy`` and pickling
give the eager model, with plain arrays.
"""

from __future__ import annotations

import sys
import threading
import weakref

import numpy as np

from minicnn import nn, specs
from minicnn.functional import _autotune
from minicnn.functional._args import silent_ieee
from minicnn.functional.layout import is_channels_last, to_channels_last, to_memory_format
from minicnn.kernels import Epilogue
from minicnn.kernels.registry import check_name, resolve

MESSAGE = ("this array belongs to a model frozen by minicnn.optimize: its layers were built from it, and an edit in "
           "place would be ignored. Assign a new array instead (layer.weight = new), or call "
           "minicnn.optimize.unfreeze(model) first")  # fmt: skip


class FrozenArray(np.ndarray):
    """A parameter or buffer of an optimized model: a read-only view of the model's array, and an edit says why.

    Copies (``.copy()``, ``astype``, ``copy.deepcopy``, pickling) are plain NumPy arrays, free to edit.
    """

    def __setitem__(self, key, value):
        if not self.flags.writeable:
            raise ValueError(MESSAGE)
        super().__setitem__(key, value)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if out is not None and any(isinstance(o, FrozenArray) and not o.flags.writeable for o in out):
            raise ValueError(MESSAGE)
        inputs = tuple(i.view(np.ndarray) if isinstance(i, FrozenArray) else i for i in inputs)
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, FrozenArray) else o for o in out)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def copy(self, order="C"):
        return self.view(np.ndarray).copy(order)

    def astype(self, *args, **kwargs):
        return self.view(np.ndarray).astype(*args, **kwargs)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return self.copy().__reduce__()


#: Arrays whose writeable flag optimize turned off (the model's arrays and the bases they view), for unfreeze:
#: id -> weak reference (NumPy arrays cannot be hashed).
_flipped: dict = {}


def _flip_off(a) -> None:
    if a.flags.writeable:
        a.flags.writeable = False
        key = id(a)
        _flipped[key] = weakref.ref(a, lambda _, key=key: _flipped.pop(key, None))


def _flip_back(a) -> None:
    ref = _flipped.get(id(a))
    if ref is not None and ref() is a:
        a.flags.writeable = True
        del _flipped[id(a)]


def _freeze(a, memo):
    """A read-only FrozenArray view of ``a``; ``a`` and every array it views become read-only too, so that no edit
    through another view of the same memory can change a weight behind the model's back."""
    if not isinstance(a, np.ndarray) or isinstance(a, FrozenArray):
        return a
    if id(a) in memo:  # a tied array (two names, one array): one view, so that parameters() still lists it once
        return memo[id(a)]
    chain = a
    while isinstance(chain, np.ndarray):
        _flip_off(chain)
        chain = chain.base
    memo[id(a)] = frozen = a.view(FrozenArray)
    return frozen


def _thaw(a):
    """The original array behind a FrozenArray, writable again where optimize made it read-only."""
    if not isinstance(a, FrozenArray):
        return a
    original = a.base
    chain = []
    while isinstance(original, np.ndarray) and original is not None:
        chain.append(original)
        original = original.base
    try:
        for arr in reversed(chain):  # a base before its views: a view can be writable only if its base is
            _flip_back(arr)
    except ValueError:  # memory NumPy will not make writable again (a view of a foreign buffer): a copy
        return a.base.copy()
    return a.base


def _freeze_arrays(model):
    memo = {}
    for m in model.modules():
        for table in (m._parameters, m._buffers):
            for name, a in table.items():
                table[name] = _freeze(a, memo)


#: Each optimized Conv2d -> the FusedConv that computes it now (the last one made for it: a fusion tried and given up
#: is replaced by the one that runs), for ``algorithms(model)``. Kept beside the modules, not in them: copies and
#: pickles of a model stay plain.
_fused_convs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: The poolings a FusedConv applies (``FusedConv.pool``): left without an override of their own, which would make them
#: look unplain to it.
_pools_in_convs: weakref.WeakSet = weakref.WeakSet()


class FusedConv:
    """``relu(bn(conv(x)) + residual)`` as one convolution (``bn``, ``relu``, the residual optional; ``cap=6.0``
    makes the ReLU a ReLU6), its weights folded, packed and its algorithm chosen per input shape, rebuilt whenever one
    of its arrays is replaced. ``pool``: a ``MaxPool2d`` that follows, applied to the output (in Winograd's output
    transform while it is a plain 2x2 pooling, else as its module would)."""

    def __init__(self, conv, bn=None, relu=False, algorithm="auto", cap=None, pool=None):
        self.conv, self.bn, self.relu, self.algorithm, self.cap = conv, bn, relu, algorithm, cap
        self.pool = pool  # a MaxPool2d that follows (``_max_pool_2x2`` when fused), or None
        self.pool_forward = None if pool is None else _max_pool_cl(pool)  # (its compiled forward, as for other pools)
        if pool is not None:
            _pools_in_convs.add(pool)
        self.sources = None  # the arrays it was built from: a new one (assigned, loaded) means rebuild
        self.plans = {}  # (input shape, dtype) -> (ConvSpec, algorithm, packed weight, bias, pooled kernel or None)
        self.lock = threading.Lock()
        _fused_convs[conv] = self

    def _arrays(self):
        """What the built weights come from: the arrays (a new one is seen by identity: the old ones are frozen) and
        the settings of the convolution and the batch norm."""
        c, b = self.conv, self.bn  # (read from the tables: every call pays for this, Module.__getattr__ is slower)
        p, d = c._parameters, c.__dict__
        conv = (p.get("weight"), p.get("bias"), d.get("stride"), d.get("padding"), d.get("dilation"), d.get("groups"),
                d.get("padding_mode"))  # fmt: skip
        if b is None:
            return conv
        p, buffers = b._parameters, b._buffers
        return conv + (p.get("weight"), p.get("bias"), buffers.get("running_mean"), buffers.get("running_var"),
                       b.__dict__.get("eps"))  # fmt: skip

    def _build(self):
        c, b = self.conv, self.bn
        _freeze_arrays(c)
        weight, bias = c.weight.view(np.ndarray), None if c.bias is None else c.bias.view(np.ndarray)
        if b is not None:
            _freeze_arrays(b)
            s = 1.0 / np.sqrt(b.running_var.astype(np.float64) + b.eps)
            if b.weight is not None:
                s = s * b.weight
            shift = s * ((0.0 if bias is None else bias) - b.running_mean.astype(np.float64))
            bias = (shift if b.bias is None else shift + b.bias).astype(weight.dtype)
            weight = (weight * s[:, None, None, None]).astype(weight.dtype)
        self.weight = to_memory_format(weight, channels_last=True)  # im2col's GEMM columns: a view, no copy
        self.bias = bias
        for a in (self.weight, self.bias):
            if a is not None:
                a.flags.writeable = False
        self.sources, self.plans = self._arrays(), {}

    def usable(self, x) -> bool:
        """Whether the fused path may run: CPU arrays, evaluation mode (a batch norm needs a 4-D input)."""
        if not (isinstance(x, np.ndarray) and isinstance(self.conv.weight, np.ndarray)):
            return False
        return self.bn is None or (not self.bn.training and x.ndim == 4 and self.bn.running_mean is not None)

    @silent_ieee  # NaN and inf flow through silently, as in the eager F.conv2d and in torch
    def __call__(self, x, residual=None):
        with self.lock:
            if self.sources is None or any(a is not b for a, b in zip(self._arrays(), self.sources)):
                self._build()
            key = (x.shape, x.dtype.str)
            plan = self.plans.get(key)
            if plan is None:
                plan = self.plans[key] = self._plan(x)
        spec, algorithm, packed, bias, pooled = plan  # (the bias of the same build as the packed weight)
        x4 = x if x.ndim == 4 else x[None]
        residual = residual if residual is None or residual.ndim == 4 else residual[None]
        # the compiled one-pass epilogue, except under the default rule (NumPy only: nothing compiled, Numba not loaded)
        epilogue = Epilogue(bias, self.relu, residual, fast=self.algorithm != "default", cap=self.cap)
        if pooled is not None and _max_pool_2x2(self.pool):  # (its settings read at every call)
            out = pooled(to_channels_last(x4), packed, spec, epilogue)  # the layer, then the pooling, in one kernel
        else:
            out = algorithm.run_packed(to_channels_last(x4), packed, spec, epilogue)
            out = to_memory_format(out, channels_last=True)
            if self.pool is not None:  # the module's own forward and hooks if it has any, else its compiled forward
                pooled_out = self.pool_forward(out) if _plain(self.pool) else NotImplemented
                out = self.pool(out) if pooled_out is NotImplemented else pooled_out
        if x.ndim == 4:
            return out
        return tuple(o[0] for o in out) if isinstance(out, tuple) else out[0]  # (a pooling's indices too)

    def _plan(self, x):
        c = self.conv
        x4 = to_channels_last(x if x.ndim == 4 else x[None])
        padding = c.padding_for(x4.shape[-2:]) if hasattr(c, "padding_for") else c.padding  # EfficientNet's "SAME"
        spec = specs.conv2d(x4, self.weight, self.bias, c.stride, padding, c.dilation, c.groups)
        auto = self.algorithm == "auto"
        name = _autotune.choose(x4, self.weight, self.bias, spec, prepacked=True) if auto else self.algorithm
        algorithm = resolve(name, spec, channels_last=True)
        pooled = None
        if self.pool is not None and spec.OH >= 2 and spec.OW >= 2:  # (a smaller output: the pooling's own error)
            from minicnn.kernels.winograd_cl import MAX_POOLED

            pooled = MAX_POOLED.get(algorithm.name)
        return spec, algorithm, algorithm.prepack(self.weight), self.bias, pooled


def _plain(module) -> bool:
    """No hooks, no forward of its own (``module.forward = ...``): fusing it changes nothing anyone can see."""
    return not (module._forward_hooks or module._forward_pre_hooks or "forward" in module.__dict__)


def _foldable_bn(m) -> bool:
    """A plain BatchNorm2d with running statistics (what folding into the convolution computes)."""
    return type(m) is nn.BatchNorm2d and m.track_running_stats and _plain(m)


def _max_pool_2x2(m) -> bool:
    """A plain ``MaxPool2d(2, 2)``: 2x2 windows, stride 2, no padding, dilation, ceil mode or indices (what a Winograd
    kernel can pool in its output transform)."""
    if type(m) is not nn.MaxPool2d or not _plain(m) or m.return_indices or m.ceil_mode:
        return False
    settings = (m.kernel_size, m.stride, m.padding, m.dilation)
    return tuple(tuple(v) if isinstance(v, (tuple, list)) else (v, v) for v in settings) == ((2, 2), (2, 2), (0, 0),
                                                                                            (1, 1))  # fmt: skip


def _fusable_conv(m) -> bool:
    """A Conv2d computing just ``F.conv2d`` (a subclass may choose its padding per input with ``padding_for``)."""
    standard = type(m) is nn.Conv2d or (isinstance(m, nn.Conv2d) and hasattr(type(m), "padding_for"))
    return standard and m.padding_mode == "zeros" and _plain(m)


def _signature(module, fused_modules) -> tuple:
    """What a fused path depends on beyond the arrays: which module objects sit where (``module``'s children and
    theirs), their classes, settings, modes, hooks and forwards of their own. The fused path runs only while this is
    unchanged; after any change (a child replaced, a stride edited, one batch norm put in training mode, a forward
    assigned) the model's own code runs, computing from whatever is there."""
    parts = [tuple((name, id(m)) for name, m in module._modules.items())]
    for m in fused_modules:
        attributes = m.__dict__  # (the settings are plain attributes: reading them there skips Module.__getattr__)
        settings = tuple(attributes.get(a) for a in ("stride", "padding", "dilation", "groups", "padding_mode", "eps",
                                                     "track_running_stats", "inplace"))  # fmt: skip
        parts.append((id(m), type(m), m.training, "forward" in m.__dict__, bool(m._forward_hooks or
                      m._forward_pre_hooks), settings, tuple((n, id(c)) for n, c in m._modules.items())))  # fmt: skip
    return tuple(parts)


def _override(module, forward, fused_modules):
    """``module``'s forward becomes ``forward`` while the fused path may run (evaluation mode, and nothing it
    depends on changed: ``_signature``), its own class's forward otherwise."""
    original = type(module).forward
    fused_modules = [m for m in fused_modules if m is not module]
    expected = _signature(module, fused_modules)

    def dispatch(*args, **kwargs):
        if not module.training and forward is not None and _signature(module, fused_modules) == expected:
            result = forward(*args, **kwargs)
            if result is not NotImplemented:
                return result
        return original(module, *args, **kwargs)

    object.__setattr__(module, "forward", dispatch)
    object.__setattr__(module, "_optimized", True)
    for m in fused_modules:
        object.__setattr__(m, "_fused_by_optimize", True)


def _sequential(seq, algorithm):
    """A Sequential's runs of Conv2d (+ BatchNorm2d) (+ ReLU) (+ MaxPool2d(2, 2)) fused; every other child called as it
    is."""
    children = list(seq._modules.values())
    steps, fused, i = [], [], 0
    while i < len(children):
        m = children[i]
        if _fusable_conv(m):
            bn = children[i + 1] if i + 1 < len(children) and _foldable_bn(children[i + 1]) else None
            j = i + 1 + (bn is not None)
            relu = j < len(children) and type(children[j]) is nn.ReLU and _plain(children[j])
            k = j + relu  # a 2x2 max pooling next: the convolution pools (except under the default rule: no Winograd)
            pool = children[k] if k < len(children) and algorithm != "default" and _max_pool_2x2(children[k]) else None
            group = FusedConv(m, bn, relu, algorithm, pool=pool)
            steps.append(group)
            fused += [m] + ([bn] if bn else []) + ([children[j]] if relu else [])  # (the group checks its pooling)
            i = k + (pool is not None)
        else:
            steps.append(m)
            i += 1
    if not any(isinstance(s, FusedConv) for s in steps):
        return

    def forward(x):
        if not all(s.usable(x) for s in steps if isinstance(s, FusedConv)):
            return NotImplemented
        for step in steps:
            x = step(x)
        return x

    _override(seq, forward, fused)


def _bottleneck(block, algorithm):
    """ResNet's Bottleneck: three fused convolutions, the last one adding the identity and applying ReLU."""
    parts = [block.conv1, block.bn1, block.conv2, block.bn2, block.conv3, block.bn3, block.relu, block]
    down = [] if block.downsample is None else list(block.downsample.modules())
    if not all(_plain(m) for m in parts + down) or not all(_fusable_conv(c) for c in parts[:6:2]):
        return False
    if not all(_foldable_bn(b) for b in parts[1:6:2]) or type(block.relu) is not nn.ReLU:
        return False
    g1, g2 = FusedConv(block.conv1, block.bn1, True, algorithm), FusedConv(block.conv2, block.bn2, True, algorithm)
    g3 = FusedConv(block.conv3, block.bn3, True, algorithm)
    gd = None
    if block.downsample is not None:
        d = list(block.downsample)
        if type(block.downsample) is not nn.Sequential or len(d) != 2 or not _fusable_conv(d[0]) or not _foldable_bn(
                d[1]):  # fmt: skip
            return False
        gd = FusedConv(d[0], d[1], False, algorithm)

    def forward(x):
        if not g1.usable(x):
            return NotImplemented
        identity = x if gd is None else gd(x)
        return g3(g2(g1(x)), residual=identity)

    _override(block, forward, parts[:-1] + down)
    return True


def _mbconv(block, algorithm):
    """EfficientNet's MBConvBlock: expand (+ ReLU6), depthwise (+ ReLU6), project (+ the input), batch norms folded."""
    names = ["_depthwise_conv", "_bn1", "_project_conv", "_bn2"]
    if "_expand_conv" in block._modules:
        names = ["_expand_conv", "_bn0", *names]
    parts = [getattr(block, n) for n in names] + [block._relu, block]
    if not all(_plain(m) for m in parts) or not all(_fusable_conv(getattr(block, n)) for n in names[::2]):
        return False
    if not all(_foldable_bn(getattr(block, n)) for n in names[1::2]) or type(block._relu) is not nn.ReLU6:
        return False
    convs = list(zip(names[::2], names[1::2]))
    expand_depthwise = [  # ReLU6 in the epilogues of the expansion and the depthwise convolution
        FusedConv(getattr(block, c), getattr(block, b), True, algorithm, cap=6.0) for c, b in convs[:-1]
    ]
    project = FusedConv(getattr(block, convs[-1][0]), getattr(block, convs[-1][1]), False, algorithm)

    def forward(x):
        if not all(g.usable(x) for g in (*expand_depthwise, project)):
            return NotImplemented
        h = x
        for g in expand_depthwise:
            h = g(h)
        return project(h, residual=x if block.residual else None)

    _override(block, forward, parts[:-1])
    return True


def _conv_bn_act(conv, bn, act, algorithm):
    """A model's stem or head: conv, batch norm, then ``act`` (a ReLU or ReLU6), in one fused convolution."""
    if not all(_plain(m) for m in (conv, bn, act)) or not _fusable_conv(conv) or not _foldable_bn(bn):
        return None
    if type(act) not in (nn.ReLU, nn.ReLU6):
        return None
    return FusedConv(conv, bn, True, algorithm, cap=6.0 if type(act) is nn.ReLU6 else None)


def _max_pool_cl(pool):
    """``pool``'s forward on channels-last activations by the compiled kernel (``max_pool2d_cl``: the same maxima,
    one vector of channels per tap), its settings read at every call; anything else (indices asked for, another
    layout) by its own forward."""

    def forward(x):
        plain = type(x) is np.ndarray and x.dtype in (np.float32, np.float64) and is_channels_last(x)
        if not plain or pool.return_indices:
            return NotImplemented
        from minicnn.kernels.pooling_numba import max_pool2d_cl

        spec = specs.pool2d("max_pool2d", x, pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode)
        return max_pool2d_cl(x, spec)

    return forward


def _known_models(model, algorithm):
    """ResNet's and EfficientNet's own forward, with their stems (and head) fused."""
    resnet = sys.modules.get("minicnn.models.resnet")
    effnet = sys.modules.get("minicnn.models.efficientnet")
    if resnet is not None and type(model) is resnet.ResNet and _plain(model):
        group = _conv_bn_act(model.conv1, model.bn1, model.relu, algorithm)
        if group is not None:

            def forward(x):
                if not group.usable(x):
                    return NotImplemented
                x = model.maxpool(group(x))
                for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
                    x = layer(x)
                return model.fc(nn.flatten(model.avgpool(x), 1))

            _override(model, forward, [model.conv1, model.bn1, model.relu])
    if effnet is not None and type(model) is effnet.EfficientNetLite and _plain(model):
        stem = _conv_bn_act(model._conv_stem, model._bn0, model._relu, algorithm)
        head = _conv_bn_act(model._conv_head, model._bn1, model._relu, algorithm)
        if stem is not None and head is not None:

            def forward(x):
                if not stem.usable(x):
                    return NotImplemented
                x = model._blocks(stem(x))
                x = nn.flatten(model._avg_pooling(head(x)), 1)
                return model._fc(model._dropout(x))

            _override(model, forward, [model._conv_stem, model._bn0, model._conv_head, model._bn1, model._relu])


def optimize(model, example_input=None, *, algorithm="auto"):
    """Optimize ``model`` for inference, in place, and return it (see the module docstring).

    ``algorithm`` (minicnn's addition): how each convolution's kernel is chosen: ``"auto"`` measures the candidates
    (compiled ones included; the first call per shape pays for it), ``"default"`` the fixed NumPy rule (nothing
    compiled or timed: for a few images), or one name of ``minicnn.CONV_ALGORITHMS``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"minicnn.optimize expects a minicnn.nn.Module, got {type(model).__name__}")
    check_name(algorithm)
    unfreeze(model)
    _freeze_arrays(model)
    _fuse(model, algorithm)
    if example_input is not None:
        model(example_input)  # measures and prepacks every layer for this input's shape
    return model


def _fuse(model, algorithm):
    resnet = sys.modules.get("minicnn.models.resnet")
    effnet = sys.modules.get("minicnn.models.efficientnet")
    done = set()
    for m in model.modules():
        if resnet is not None and type(m) is resnet.Bottleneck and _bottleneck(m, algorithm):
            done |= {id(c) for c in m.modules()}
        elif effnet is not None and type(m) is effnet.MBConvBlock and _mbconv(m, algorithm):
            done |= {id(c) for c in m.modules()}
    for m in model.modules():
        if type(m) is nn.Sequential and id(m) not in done:
            _sequential(m, algorithm)
    _known_models(model, algorithm)
    for m in model.modules():  # every other convolution: channels-last, prepacked, tuned (no fusion)
        if _fusable_conv(m) and not getattr(m, "_fused_by_optimize", False):
            group = FusedConv(m, None, False, algorithm)
            _override(m, lambda x, g=group: g(x) if g.usable(x) else NotImplemented, [])
        elif type(m) is nn.MaxPool2d and _plain(m) and algorithm != "default" and m not in _pools_in_convs:
            _override(m, _max_pool_cl(m), [])  # (the default rule compiles nothing; a FusedConv runs its own pooling)
    if "forward" not in model.__dict__ or model.__dict__.get("_optimized"):  # (not a forward the user set)
        inner = model.__dict__.get("forward") or (lambda *args, **kw: type(model).forward(model, *args, **kw))

        def entry(*args, **kwargs):  # channels-last from the entry on
            return inner(*((to_channels_last(args[0]),) + args[1:]) if args else (), **kwargs)

        _override(model, entry, [])


def algorithms(model) -> dict[str, dict[tuple, str]]:
    """The conv2d algorithm each optimized convolution of ``model`` runs (minicnn's addition): ``{layer name: {(input
    shape, dtype): algorithm}}``, in the model's order, for the inputs met so far (every layer's, after
    ``example_input``), e.g. ``{"conv1": {((1, 3, 224, 224), "float32"): "direct_cl"}, ...}``. With ``"auto"`` they
    are what it measured fastest on this machine, and can differ between runs where two are close. Empty where
    nothing is optimized (``optimize`` not applied, or undone by ``unfreeze``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"minicnn.optimize.algorithms expects a minicnn.nn.Module, got {type(model).__name__}")
    chosen = {}
    for name, m in model.named_modules():
        fused = _fused_convs.get(m)
        if fused is not None:
            with fused.lock:
                plans = {(shape, np.dtype(dtype).name): plan[1].name for (shape, dtype), plan in fused.plans.items()}
            if plans:
                chosen[name] = plans
    return chosen


def unfreeze(model):
    """Undo ``optimize``: the model's own forward everywhere, its arrays writable again. Returns the model."""
    for m in model.modules():
        _fused_convs.pop(m, None)
        if m.__dict__.pop("_optimized", False):
            m.__dict__.pop("forward", None)  # ours; a forward the user set stays
        m.__dict__.pop("_fused_by_optimize", None)
        _pools_in_convs.discard(m)
        for table in (m._parameters, m._buffers):
            for name, a in table.items():
                table[name] = _thaw(a)
    return model


optimize.unfreeze = unfreeze  # minicnn.optimize.unfreeze(model), as the messages say
optimize.algorithms = algorithms  # minicnn.optimize.algorithms(model)
optimize.FrozenArray = FrozenArray

__all__ = ["FrozenArray", "algorithms", "optimize", "unfreeze"]
