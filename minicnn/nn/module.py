"""``Module``: the base of every layer and model, with torch.nn.Module's behaviour on NumPy arrays.

A module holds three ordered tables: ``_parameters`` (learned arrays, e.g. a conv's ``weight``),
``_buffers`` (other state, e.g. BatchNorm's running statistics) and ``_modules`` (its children).
Assigning an attribute files it in the right table, so ``model.conv1.weight`` *is* the array, and
``state_dict()`` names every array by its path: ``layer1.0.conv1.weight``, exactly as in torch, which is
what lets a torchvision checkpoint load key for key.

Calling a module runs, in order: each forward pre-hook ``hook(module, inputs)``, ``forward``, then each
forward hook ``hook(module, inputs, output)``; a hook that returns something replaces the inputs or the
output. Beware in-place operations: ``ReLU(inplace=True)`` overwrites the array it receives, so a hook
that keeps a conv's output (without copying it) sees it *after* the following ReLU, in torch as here.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from minicnn import autograd
from minicnn.autograd import Parameter


class IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` unregisters the hook (also on ``with`` exit)."""

    _ids = itertools.count()

    def __init__(self, table: dict):
        self.table, self.id = table, next(self._ids)

    def remove(self) -> None:
        self.table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _check_hook(hook, args, kind):
    if not callable(hook):
        raise TypeError(f"{kind} must be callable, got {type(hook).__name__}")
    try:
        inspect.signature(hook).bind(*args)
    except TypeError:
        names = {2: "(module, inputs)", 3: "(module, inputs, output)"}[len(args)]
        raise TypeError(f"{kind} must accept {names}, but {hook!r} does not") from None
    except ValueError:  # builtins without a signature: trust them
        pass


class _ParameterTable(OrderedDict):
    """A module's ``_parameters``: a plain array filed here becomes a ``Parameter`` viewing the same memory (so
    that it can hold ``.grad``); Parameters, read-only views made by ``minicnn.optimize`` and GPU arrays stay."""

    def __setitem__(self, name, value):
        if type(value) is np.ndarray:
            value = Parameter(value)
        super().__setitem__(name, value)


@contextlib.contextmanager
def evaluating(model):
    """``model`` in evaluation mode inside the block; afterwards each module's own mode again (a batch norm kept in
    eval mode inside a model in training mode stays so, which ``model.train()`` would undo)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)


_calls = threading.local()  # whether this thread is inside a module's call (only the outermost call decides grad mode)


class Module:
    """Base class of layers and models (see the module docstring)."""

    def __init__(self):
        object.__setattr__(self, "_parameters", _ParameterTable())
        for name in ("_buffers", "_modules", "_forward_hooks", "_forward_pre_hooks"):
            object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __getstate__(self):
        """For ``copy.deepcopy`` and pickling: the module's state without what ``minicnn.optimize`` attached (a copy
        of an optimized model is the eager model, with plain arrays; optimize it again if you like)."""
        state = dict(self.__dict__)
        if state.pop("_optimized", False):
            state.pop("forward", None)
        state.pop("_fused_by_optimize", None)
        return state

    def __call__(self, *args, **kwargs):
        if getattr(_calls, "inside", False):
            return self._call(*args, **kwargs)
        _calls.inside = True  # the outermost call: a model in eval mode called on plain arrays records no tape
        try:
            with autograd.model_call_records(self.training, (*args, *kwargs.values())):
                return self._call(*args, **kwargs)
        finally:
            _calls.inside = False

    def _call(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # ------------------------------------------------------------------------------ attributes and tables

    def __setattr__(self, name, value):
        if isinstance(value, Module):
            for t in (self._parameters, self._buffers):
                t.pop(name, None)
            self._modules[name] = value  # an existing child keeps its place, as in torch
        elif name in self._parameters:
            self._parameters[name] = self._as_array(name, value)
        elif name in self._buffers:
            self._buffers[name] = self._as_array(name, value)
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as child module '{name}'")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        for table in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(table)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for t in (self._parameters, self._buffers, self._modules):
            if name in t:
                del t[name]
                return
        object.__delattr__(self, name)

    @staticmethod
    def _as_array(name, value):
        if value is not None and not isinstance(value, np.ndarray) and type(value).__name__ != "DeviceArray":
            raise TypeError(f"cannot assign a {type(value).__name__} as '{name}' (a numpy.ndarray or None expected)")
        return value

    def register_parameter(self, name: str, value) -> None:
        """Add a learned array (or None, e.g. a conv without bias) under ``name``."""
        self._parameters[name] = self._as_array(name, value)

    def register_buffer(self, name: str, value, persistent: bool = True) -> None:
        """Add a non-learned array (running statistics); non-persistent ones stay out of ``state_dict``."""
        self._buffers[name] = self._as_array(name, value)
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)

    def add_module(self, name: str, module) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    # ------------------------------------------------------------------------------------------ traversal

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        return (m for _, m in self.named_children())

    def named_modules(self, memo=None, prefix: str = ""):
        """This module and every descendant once, named by dotted path ("" for this one)."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def _named_arrays(self, table: str, skip_non_persistent=False):
        seen = set()
        for prefix, m in self.named_modules():
            for name, a in getattr(m, table).items():
                if a is None or id(a) in seen or (skip_non_persistent and name in m._non_persistent):
                    continue
                seen.add(id(a))
                yield (f"{prefix}.{name}" if prefix else name), a

    def named_parameters(self):
        return self._named_arrays("_parameters")

    def parameters(self):
        return (a for _, a in self.named_parameters())

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``p.grad = None``, or zeros with ``set_to_none=False``)."""
        for p in self.parameters():
            if getattr(p, "grad", None) is not None:
                p.grad = None if set_to_none else np.zeros_like(p.grad)

    def requires_grad_(self, requires_grad: bool = True):
        """Whether ``backward`` computes gradients for this module's parameters (False freezes them)."""
        for p in self.parameters():
            if isinstance(p, Parameter):
                p.requires_grad = bool(requires_grad)
        return self

    def named_buffers(self):
        return self._named_arrays("_buffers")

    def buffers(self):
        return (a for _, a in self.named_buffers())

    def get_submodule(self, target: str) -> Module:
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules or m._modules[part] is None:
                raise AttributeError(f"{type(m).__name__} has no submodule '{part}' (looking up '{target}')")
            m = m._modules[part]
        return m

    def apply(self, fn):
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------------------------- modes and dtypes

    def train(self, mode: bool = True):
        """Set training mode (dropout active, BatchNorm on batch statistics) here and in every descendant."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``. Models start in training mode, as in torch."""
        return self.train(False)

    def to(self, dtype_or_device=None, *, memory_format=None):
        """Convert every floating-point parameter and buffer to a dtype (e.g. numpy.float64), or move them
        to "cuda" (DeviceArrays on the GPU: every layer then computes there) or back to "cpu".

        ``memory_format="channels_last"`` (``minicnn.channels_last``) stores every 4-D parameter (the conv
        weights) pixel by pixel, as ``torch.channels_last`` does; convolutions then return channels-last
        activations, which the channels-last Winograd kernel reads without copying. Values are unchanged;
        ``"contiguous_format"`` goes back.
        """
        if memory_format is not None:
            self._to_memory_format(memory_format)
        if dtype_or_device is None:
            return self
        if isinstance(dtype_or_device, str) and dtype_or_device.split(":")[0] in ("cuda", "cpu"):
            device, _, index = dtype_or_device.partition(":")  # "cuda:0" as torch writes it: minicnn has one GPU
            if index not in ("", "0"):
                raise ValueError(f"minicnn uses one GPU, cuda:0; got {dtype_or_device!r}")
            return self._move(device)
        try:
            dtype = np.dtype(dtype_or_device)
        except TypeError:
            raise TypeError(f"to() expects a dtype or a device ('cpu', 'cuda'), got {dtype_or_device!r}") from None
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for name, a in table.items():
                    if a is not None and a.dtype.kind == "f" and a.dtype != dtype:  # a new array: make optimizers after
                        new = a.astype(dtype)
                        if isinstance(a, Parameter):
                            new = Parameter(new, a.requires_grad)  # a frozen parameter stays frozen
                        table[name] = new
        return self

    def _to_memory_format(self, memory_format):
        if memory_format not in ("channels_last", "contiguous_format"):
            raise ValueError(f"memory_format must be 'channels_last' or 'contiguous_format', got {memory_format!r}")
        from minicnn.functional.layout import to_memory_format

        for m in self.modules():
            for name, a in m._parameters.items():
                if isinstance(a, np.ndarray) and a.ndim == 4:  # (O, I, KH, KW), stored as (O, KH, KW, I) if cl
                    m._parameters[name] = to_memory_format(a, memory_format == "channels_last")

    def _move(self, device):
        from minicnn import cuda

        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for name, a in table.items():
                    if a is None or (device == "cuda" and a.dtype.kind != "f"):
                        continue  # integer buffers (num_batches_tracked) stay on the host
                    table[name] = cuda.to_device(a) if device == "cuda" else cuda.to_host(a)
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # ------------------------------------------------------------------------------------------------ hooks

    def _refuse_hooks_if_fused(self):
        if self.__dict__.get("_fused_by_optimize"):
            raise RuntimeError(
                f"this {type(self).__name__} was fused with its neighbours by minicnn.optimize, so its own output is "
                "never computed and a hook would not run; call minicnn.optimize.unfreeze(model), register the hook, "
                "then minicnn.optimize(model) again (a module with hooks is left unfused)"
            )

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward; returning a value replaces the output."""
        self._refuse_hooks_if_fused()
        _check_hook(hook, (self, (), None), "a forward hook")
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before every forward; returning a value replaces the inputs."""
        self._refuse_hooks_if_fused()
        _check_hook(hook, (self, ()), "a forward pre-hook")
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------------------------------ state dict

    def state_dict(self) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name (the arrays themselves, not copies)."""
        out = OrderedDict()
        for prefix, m in self.named_modules():
            for table, skip in ((m._parameters, set()), (m._buffers, m._non_persistent)):
                for name, a in table.items():
                    if a is not None and name not in skip:
                        out[f"{prefix}.{name}" if prefix else name] = a
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Take the values of ``state_dict``, as torch does: by name, every problem reported at once.

        Missing and unexpected keys are errors when ``strict`` (a missing ``num_batches_tracked``, absent from
        checkpoints of older torch versions, is not: the module keeps its own, as in torch); a shape mismatch, or a
        value that is not a numeric array, always is. Everything is checked and converted before anything
        changes: a failing call changes nothing. The values are copied, converted to the model's dtypes (later
        edits of the source do not reach the model); ``assign=True`` (torch's option) takes the arrays themselves
        where their dtype matches.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects a mapping of names to arrays, got {type(state_dict).__name__}")
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict and not k.endswith("num_batches_tracked")]
        unexpected = [k for k in state_dict if k not in own]
        problems, staged, tied = [], {}, {}  # tied: one new array per array of the model (shared weights stay shared)
        for k, v in state_dict.items():
            if k not in own:
                continue
            if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
                what = f"an array of dtype {v.dtype}" if isinstance(v, np.ndarray) else f"a {type(v).__name__}"
                problems.append(f"value for {k} is {what}, not a numeric numpy.ndarray.")
            elif v.shape != own[k].shape:
                problems.append(
                    f"size mismatch for {k}: copying a param with shape {v.shape} from checkpoint, "
                    f"the shape in current model is {own[k].shape}."
                )
            elif assign and v.dtype == own[k].dtype:
                staged[k] = v  # the array itself (a Parameter made of it if it is a plain one: same memory)
            elif isinstance(own[k], Parameter) and own[k].flags.writeable:
                staged[k] = ("copy into", v)  # a trainable parameter keeps its identity (an optimizer holds it)
            elif id(own[k]) in tied:  # another name of the same array: the same new array, the last value wins
                staged[k] = tied[id(own[k])]
                staged[k][...] = v
            else:
                staged[k] = tied[id(own[k])] = np.array(v, dtype=own[k].dtype, copy=True)
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if problems:
            raise ValueError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(problems))
        for k, v in staged.items():
            owner_name, _, name = k.rpartition(".")
            owner = self.get_submodule(owner_name)
            table = owner._parameters if name in owner._parameters else owner._buffers
            if isinstance(v, tuple):
                table[name][...] = v[1]  # cast as np.array(v, dtype) would (a Parameter counts the edit)
            else:
                flag = getattr(table[name], "requires_grad", None)
                table[name] = v
                if flag is not None and isinstance(table[name], Parameter):
                    table[name].requires_grad = flag  # torch's assign=True keeps the module's requires_grad
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------------------------------------ repr

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        """torch's layout: ``Name(extra)`` or ``Name(\\n  (child): ...\\n)``, children indented by two spaces."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, m in self._modules.items():
            text = repr(m).replace("\n", "\n  ")
            child_lines.append(f"({name}): {text}")
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"
