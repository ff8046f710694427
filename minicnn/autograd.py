"""Reverse-mode automatic differentiation over NumPy arrays: what runs when you call ``loss.backward()``.

The idea is micrograd's, on whole arrays. When an op is called on an array that *requires a gradient* (a
``Parameter``, or the output of an op that was recorded), it computes its output as usual and also records a
``Node``: the function that turns the gradient of its output into the gradients of its inputs (its
"backward", written beside the op's forward in ``minicnn/functional``), and the nodes of those inputs. The
output is a ``Tensor``, a NumPy array that remembers its node (``grad_fn``). ``loss.backward()`` then visits
the nodes from the loss back to the parameters, in reverse order of creation (a topological order), applying
the chain rule: each node receives the sum of the gradients flowing into its output, and every ``Parameter``
ends with ``p.grad``, an array of p's shape.

Nothing is recorded (the ops return plain arrays, at today's speed) inside ``minicnn.no_grad()``, when no input
requires a gradient, or when a model in evaluation mode is called on plain arrays (minicnn's rule: torch records
there too, unless under ``no_grad``; ``minicnn.enable_grad()`` records anyway, as Grad-CAM needs).

What is recorded: the ops of ``minicnn.functional`` and the layers built on them, and on a Tensor ``+ - * / **``,
unary minus, ``@``, ``np.exp``, ``np.log``, ``np.sqrt``, ``np.square``, ``np.abs``, ``reshape``, indexing (and
``t[i] = v``), ``sum``, ``mean`` and ``.T``. Any other NumPy function on a Tensor
returns a plain array that carries no gradient (as ``tensor.detach()`` in torch). In-place writes into a Tensor
(``t += u``, ``t[i] = v``, ReLU with ``inplace=True``) raise its version; ``backward`` refuses to use an array
that changed after the forward saved it, with torch's message, rather than compute a wrong gradient.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading

import numpy as np

# ----------------------------------------------------------------------------------------------- grad mode

_state = threading.local()  # per thread, as in torch: mode None (default), True (enable_grad) or False (no_grad)


def _mode():
    return getattr(_state, "mode", None)


def is_grad_enabled() -> bool:
    """Whether ops record the tape in this thread (False inside ``no_grad()``)."""
    return _mode() is not False


class _GradMode(contextlib.ContextDecorator):
    """Sets this thread's grad mode inside a ``with`` block or a decorated function, then restores it."""

    mode = None

    def __init__(self):
        self._previous = []

    def __enter__(self):
        self._previous.append(_mode())
        _state.mode = self.mode

    def __exit__(self, *exc):
        _state.mode = self._previous.pop()

    def _recreate_cm(self):  # a decorated function gets a fresh context at every call (threads, recursion)
        return type(self)()


class no_grad(_GradMode):
    """Nothing is recorded inside: plain arrays out, no memory kept for a backward (inference, optimizer steps)."""

    mode = False


class enable_grad(_GradMode):
    """Record inside, even within ``no_grad`` and even for a model in evaluation mode (Grad-CAM needs this)."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` turns recording off at once for this thread (as a plain call, as in torch), or for a
    ``with`` block or a decorated function, after which the previous mode comes back."""

    def __init__(self, mode: bool):
        super().__init__()
        self.mode = bool(mode)
        self._before_call = _mode()
        _state.mode = self.mode

    def __enter__(self):
        self._previous.append(self._before_call)
        _state.mode = self.mode

    def _recreate_cm(self):
        previous = _mode()
        cm = set_grad_enabled(self.mode)
        cm._before_call = previous
        _state.mode = previous  # the decorated function sets it on entering, not its definition
        return cm


def model_call_records(module_training: bool, args) -> contextlib.AbstractContextManager:
    """How ``Module.__call__`` runs an outermost module: a model in evaluation mode called on plain arrays, with no
    explicit ``enable_grad``, records nothing (inference costs what it did before training existed)."""
    if module_training or _mode() is not None or any(requires_grad(a) for a in args):
        return contextlib.nullcontext()
    return no_grad()


# ------------------------------------------------------------------------------------------- the arrays


class Tensor(np.ndarray):
    """A NumPy array that knows how it was computed: ``grad_fn`` (its Node), ``requires_grad``, ``grad``.

    It is an ``np.ndarray`` in every other way: print it, plot it, index it. ``np.asarray(t)`` or ``t.detach()``
    gives the plain array. Views and copies made by NumPy itself (other than those listed in the module
    docstring) are detached.
    """

    grad_fn = None
    requires_grad = False
    grad = None
    _retained = False

    def __array_finalize__(self, obj):
        # A view shares its base's version counter (a write through the view changes the base); a copy starts anew.
        # A view has no history and does not require a gradient: a view of a Parameter is not that Parameter.
        base_box = obj.__dict__.get("_box") if isinstance(obj, Tensor) else None
        self._box = base_box if base_box is not None and self.base is not None else [0]
        if self.base is not None:
            self.requires_grad = False

    @property
    def _version(self) -> int:
        return self.__dict__.setdefault("_box", [0])[0]  # (an unpickled Tensor has no counter yet)

    def _bump(self):
        self.__dict__.setdefault("_box", [0])[0] += 1

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def detach(self) -> np.ndarray:
        """The same numbers as a plain array (shared memory), outside the tape."""
        return self.view(np.ndarray)

    def numpy(self) -> np.ndarray:
        return self.detach()

    def requires_grad_(self, requires_grad: bool = True):
        if not self.is_leaf and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this (non-leaf) array's gradient in ``.grad`` after ``backward`` (leaves always keep theirs)."""
        if self.grad_fn is not None:
            self._retained = True
            self.grad_fn.retained.append(self)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this array's gradient is computed; a returned array replaces the gradient."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        (self.grad_fn or _accumulator(self)).hooks.append(hook)
        return hook

    def backward(self, gradient=None, retain_graph: bool = False):
        """Fill ``.grad`` of every leaf this array depends on (see ``minicnn.autograd.backward``)."""
        backward(self, gradient, retain_graph)

    # The array methods that are recorded (others return detached results, see the class docstring).
    def reshape(self, *shape, **kwargs):
        return _reshape(self, *shape, **kwargs)

    def __getitem__(self, index):
        return _getitem(self, index)

    def __setitem__(self, index, value):
        """``t[index] = value``. On an array of the tape (or with a value that requires a gradient) the write is
        recorded, as torch's CopySlices: the old values there get no gradient, ``value`` gets theirs. On a leaf (a
        Parameter) it is an edit of the values, counted by the version (torch requires ``no_grad`` for it)."""
        record = is_grad_enabled() and not (self.is_leaf and self.requires_grad)
        record = record and (self.grad_fn is not None or requires_grad(value))
        _refuse_edit_of_a_recorded_view(self)
        index = tuple(plain_array(i) for i in index) if isinstance(index, tuple) else plain_array(index)
        if not record:
            np.ndarray.__setitem__(self.view(np.ndarray), index, plain_array(value))
            self._bump()
            return
        shape = np.shape(value)

        def copy_slices_backward(g):
            kept = g.copy()
            kept[index] = 0  # overwritten: the old values no longer reach the output
            return kept, _unbroadcast(np.asarray(g[index]), shape)

        np.ndarray.__setitem__(self.view(np.ndarray), index, plain_array(value))
        _record("CopySlices", None, copy_slices_backward, (self, value), (), inplace_target=self)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if out is not None or dtype is not None or kwargs:
            return np.asarray(self).sum(axis, dtype, out, keepdims, **kwargs)
        return _sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if out is not None or dtype is not None or kwargs:
            return np.asarray(self).mean(axis, dtype, out, keepdims, **kwargs)
        return _mean(self, axis=axis, keepdims=keepdims)

    @property
    def T(self):
        return _transpose(self)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = [plain_array(a) for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(plain_array(o) for o in out)
        rule = _UFUNC_RULES.get(ufunc) if method == "__call__" and not kwargs.keys() - {"out"} else None
        record = rule is not None and is_grad_enabled() and any(requires_grad(a) for a in inputs)
        if record and out is not None and any(not isinstance(o, Tensor) or o.is_leaf for o in out):
            record = False  # into a plain array (NumPy's own out=, e.g. in np.round), or editing a parameter in place
            # (see Node's version checks): computed, not recorded
        for o in out or ():
            _refuse_edit_of_a_recorded_view(o)
            if not record and isinstance(o, Tensor) and o.grad_fn is not None and is_grad_enabled():
                raise RuntimeError(
                    f"np.{ufunc.__name__} cannot write into an array of the tape (its gradient would be lost): write "
                    "`y = f(y)` instead of `f(y, out=y)`, or detach it (`y.detach()`) if no gradient must flow"
                )
        if not record:
            result = getattr(ufunc, method)(*plain, **kwargs)
            if out is None:
                return result
            for o in out:
                if isinstance(o, Tensor):
                    o._bump()
            return out[0] if len(out) == 1 else out
        result, backward_fn = rule(*plain, **kwargs)
        target = out[0] if out is not None else None
        saved = inputs if ufunc is np.matmul else ()  # (multiply and divide keep copies of their operands)
        return _record(ufunc.__name__, result, backward_fn, inputs, saved=saved, inplace_target=target)


class Parameter(Tensor):
    """A learned array of a module (a conv's ``weight``): a leaf of the tape, ``requires_grad`` True by default.

    ``Parameter(data)`` shares ``data``'s memory, as ``torch.nn.Parameter`` does.
    """

    requires_grad = True  # (its copies too: ``astype`` in ``Module.to`` keeps a trainable Parameter)

    def __new__(cls, data, requires_grad: bool = True):
        p = np.asarray(data).view(cls)
        p.requires_grad = bool(requires_grad)
        return p

    def __reduce__(self):  # pickle as a Parameter, with its flag
        return (Parameter, (np.asarray(self).copy(), self.requires_grad))

    def __deepcopy__(self, memo):
        return Parameter(np.asarray(self).copy(order="K"), self.requires_grad)  # K: a channels-last weight stays so

    def __repr__(self):
        return "Parameter containing:\n" + repr(np.asarray(self))


def plain_array(a):
    """``a`` as a plain ``np.ndarray`` if it is a Tensor (the plain array it views when it is all of it: a closure
    that keeps it then keeps no Tensor, hence no cycle through the Tensor's node), else ``a`` itself."""
    if not isinstance(a, Tensor):
        return a
    plain = a.__dict__.get("_plain")  # the array a Tensor of the tape was made from (set by _record)
    if plain is not None and plain.shape == a.shape and plain.strides == a.strides and plain.dtype == a.dtype:
        return plain
    base = a.base
    if (type(base) is np.ndarray and base.shape == a.shape and base.strides == a.strides and base.dtype == a.dtype
            and base.__array_interface__["data"][0] == a.__array_interface__["data"][0]):  # fmt: skip
        return base
    return a.view(np.ndarray)


def requires_grad(a) -> bool:
    return isinstance(a, Tensor) and a.requires_grad


# ------------------------------------------------------------------------------------------- the tape


class Node:
    """One recorded op: ``backward_fn(grad_output) -> gradients of its inputs``, and where each one goes.

    ``edges[i]`` is the Node of input i (an ``_Accumulate`` for a leaf that requires a gradient) or None. ``saved``
    pairs each array that ``backward_fn`` reads with its version at the forward.
    """

    __slots__ = ("name", "backward_fn", "edges", "saved", "hooks", "retained")

    def __init__(self, name, backward_fn, edges, saved):
        self.name, self.backward_fn, self.edges = name, backward_fn, edges
        self.saved = _versions(saved)
        self.hooks, self.retained = [], []

    def __repr__(self):
        return f"<{self.name}>"


class _Accumulate(Node):
    """The end of the tape for one leaf: adds the gradient into ``leaf.grad``."""

    __slots__ = ("leaf",)

    def __init__(self, leaf):
        super().__init__("AccumulateGrad", None, (), ())
        self.leaf = leaf


def _accumulator(leaf):
    acc = leaf.__dict__.get("_accumulator")
    if acc is None:
        acc = leaf._accumulator = _Accumulate(leaf)
    return acc


def _edge(a):
    if not isinstance(a, Tensor) or not a.requires_grad:
        return None
    return a.grad_fn if a.grad_fn is not None else _accumulator(a)


def _record(name, output, backward_fn, inputs, saved, inplace_target=None):
    """Wrap ``output`` (a plain array) as a Tensor made by a new Node; an in-place op re-labels its target."""
    node = Node(name, backward_fn, tuple(_edge(a) for a in inputs), saved)
    if inplace_target is not None:
        if inplace_target.is_leaf and inplace_target.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        old = inplace_target.grad_fn
        if old is not None and any(t is inplace_target for t in old.retained):  # retain_grad moves to the new history
            old.retained[:] = [t for t in old.retained if t is not inplace_target]
            node.retained.append(inplace_target)
        inplace_target._bump()
        inplace_target.grad_fn, inplace_target.requires_grad = node, True
        return inplace_target
    plain = np.asarray(output)
    t = plain.view(Tensor)
    t.grad_fn, t.requires_grad, t._plain = node, True, plain
    return t


def backward(tensor, gradient=None, retain_graph: bool = False):
    """Apply the chain rule from ``tensor`` back to the leaves, adding into each leaf's ``.grad``.

    ``gradient`` is d(something)/d(tensor); it may be omitted for a single number (then 1, as ``loss.backward()``).
    The tape is freed afterwards unless ``retain_graph``: a second ``backward`` through it raises, as in torch.
    """
    if not isinstance(tensor, Tensor) or not tensor.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if tensor.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        gradient = np.ones(tensor.shape, tensor.dtype)
    gradient = np.asarray(gradient, dtype=tensor.dtype)
    if gradient.shape != tensor.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {gradient.shape} and output[0] "
                           f"has a shape of {tensor.shape}.")  # fmt: skip
    root = tensor.grad_fn or _accumulator(tensor)
    order = _topological_order(root)
    grads = {root: gradient}
    with no_grad(), np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # NaN and inf flow, as in torch
        for node in order:
            grad = grads.pop(node, None)
            if grad is None:
                continue
            for hook in node.hooks:
                replaced = hook(grad)
                grad = grad if replaced is None else np.asarray(replaced, dtype=grad.dtype)
            for t in node.retained:
                t.grad = grad.copy() if t.grad is None else t.grad + grad
            if isinstance(node, _Accumulate):
                leaf = node.leaf
                grad = grad.astype(leaf.dtype, copy=False).reshape(leaf.shape)
                leaf.grad = grad.copy() if leaf.grad is None else leaf.grad + grad
                continue
            if node.backward_fn is None:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access saved tensors after "
                    "they have already been freed). Specify retain_graph=True if you need to backward through the "
                    "graph a second time."
                )
            _check_versions(node)
            input_grads = node.backward_fn(grad)
            if not retain_graph:
                node.backward_fn, node.saved, node.retained = None, [], []
            for edge, g in zip(node.edges, input_grads):
                if edge is not None and g is not None:
                    grads[edge] = g if edge not in grads else grads[edge] + g


def _topological_order(root):
    """Every node reachable from ``root``, each after all the nodes that send it a gradient (iterative DFS)."""
    order, visited, stack = [], {root}, [(root, iter(root.edges))]
    while stack:
        node, edges = stack[-1]
        for e in edges:
            if e is not None and e not in visited:
                visited.add(e)
                stack.append((e, iter(e.edges)))
                break
        else:
            stack.pop()
            order.append(node)
    return order[::-1]


def _versions(tensors):
    """What a node remembers of the arrays its backward reads: each one's version counter (shared with its views),
    the version now, and its dtype and shape for the error; not the array itself (the output would hold its own
    node)."""
    return [(box, box[0], t.dtype, t.shape) for t in tensors if isinstance(t, Tensor)
            for box in (t.__dict__.setdefault("_box", [0]),)]  # fmt: skip


def _check_versions(node):
    for box, version, dtype, shape in node.saved:
        if box[0] != version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"[{dtype} array of shape {list(shape)}] of {node} is at version {box[0]}; expected version "
                f"{version} instead."
            )


# --------------------------------------------------------------------------- recording the functional ops


class differentiable:
    """Decorator of an op of ``minicnn.functional``: calls with an input that requires a gradient are recorded.

        @differentiable("input", "weight", "bias", saves=("input", "weight"))
        def conv2d(input, weight, bias=None, ...): ...          # the forward, on plain arrays

        @conv2d.recorded
        def _(input, weight, bias=None, ...):                   # the same call, made while recording:
            return output, lambda grad_output: (grad_input, grad_weight, grad_bias)

    The names are the op's differentiable arguments, in the order the backward returns their gradients; ``saves``
    those whose values the backward reads (checked against later in-place edits; "output" for the output).
    ``inplace`` names the argument that makes the op write into its input.
    """

    def __init__(self, *wrt, saves=(), inplace=None):
        self.wrt, self.saves, self.inplace = wrt, saves, inplace

    def __call__(self, forward):
        return _Op(forward, self.wrt, self.saves, self.inplace)


class _Op:
    def __init__(self, forward, wrt, saves, inplace):
        functools.update_wrapper(self, forward)
        self.forward, self.wrt, self.saves, self.inplace = forward, wrt, saves, inplace
        self.signature = inspect.signature(forward)
        params = self.signature.parameters.values()
        self.positional = [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD]
        self.names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        self.required = [p.name for p in params if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
        self.positional_set = set(self.positional)
        self.simple = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)
        self.node_name = _node_name(forward.__name__)
        self.record_fn = None

    def recorded(self, fn):
        self.record_fn = fn
        self.wants_needs = "needs_input_grad" in inspect.signature(fn).parameters
        return self

    def _arguments(self, args, kwargs):
        """The arguments given, by name (``inspect.Signature.bind(...).arguments``, without its cost per call)."""
        if self.simple and len(args) <= len(self.positional):
            arguments = dict(zip(self.positional, args))
            if not kwargs and len(args) >= len(self.required):
                return arguments
            if all(k in self.names and k not in arguments for k in kwargs):
                arguments.update(kwargs)
                if all(name in arguments for name in self.required):
                    return arguments
        return self.signature.bind(*args, **kwargs).arguments  # the other cases, and its TypeError for a wrong call

    def __get__(self, obj, objtype=None):  # behave as a function when stored on a class
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if not (is_grad_enabled() and (any(map(requires_grad, args)) or any(map(requires_grad, kwargs.values())))):
            if not any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
                return self.forward(*args, **kwargs)
            out = self.forward(*map(plain_array, args), **{k: plain_array(v) for k, v in kwargs.items()})
            if self.inplace:  # a Tensor written in place: its version counts the edit, and it is the output
                arguments = self._arguments(args, kwargs)
                target = arguments.get("input")
                if arguments.get(self.inplace) and isinstance(target, Tensor):
                    target._bump()
                    return target
            return out
        arguments = self._arguments(args, kwargs)
        inputs = [arguments.get(name) for name in self.wrt]
        saved = [output_marker if name == "output" else arguments.get(name) for name in self.saves]
        inplace = self.inplace is not None and bool(arguments.get(self.inplace))
        if kwargs and not self.positional_set.isdisjoint(kwargs):  # the recorded twin gets them by position (its
            bound = self.signature.bind(*args, **kwargs)  # parameter names may differ: pad's is ``pad_``)
            args, kwargs = bound.args, bound.kwargs
        plain_args = [plain_array(a) for a in args]
        plain_kwargs = {k: plain_array(v) for k, v in kwargs.items()}
        if self.record_fn is None:
            raise NotImplementedError(f"minicnn cannot differentiate {self.__name__} yet")
        if self.wants_needs:  # which of the differentiable inputs need a gradient (the backward may skip the others)
            plain_kwargs["needs_input_grad"] = tuple(requires_grad(a) for a in inputs)
        output, backward_fn = self.record_fn(*plain_args, **plain_kwargs)
        extra = None
        if isinstance(output, tuple):  # (values, indices): only the values are differentiable
            output, extra = output[0], output[1:]
        target = arguments["input"] if inplace else None
        out = _record(self.node_name, output, backward_fn, inputs, [], inplace_target=target)
        out.grad_fn.saved = _versions(out if s is output_marker else s for s in saved)
        return out if extra is None else (out, *extra)


output_marker = object()


def _node_name(op):
    return "".join(part.capitalize() for part in op.split("_")) + "Backward"


# ------------------------------------------------------------- array methods and arithmetic on Tensors


def _refuse_edit_of_a_recorded_view(t):
    if isinstance(t, Tensor) and t.__dict__.get("_view_of_recorded") and is_grad_enabled():
        raise RuntimeError(
            "minicnn does not record an in-place edit through a view of an array of the tape (the array's own "
            "gradient would be wrong): edit the array itself (`y[i] = v`, not `y.reshape(...)[j] = v`)"
        )


def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _shape(a):
    return np.shape(a)


def _add(a, b, out=None):
    return np.add(a, b, out=out), lambda g: (_unbroadcast(g, _shape(a)), _unbroadcast(g, _shape(b)))


def _subtract(a, b, out=None):
    return np.subtract(a, b, out=out), lambda g: (_unbroadcast(g, _shape(a)), _unbroadcast(-g, _shape(b)))


def _multiply(a, b, out=None):
    a0, b0 = np.array(a, copy=True), np.array(b, copy=True)  # in-place multiply overwrites one factor
    return np.multiply(a, b, out=out), lambda g: (_unbroadcast(g * b0, _shape(a0)), _unbroadcast(g * a0, _shape(b0)))


def _true_divide(a, b, out=None):
    a0, b0 = np.array(a, copy=True), np.array(b, copy=True)
    return np.true_divide(a, b, out=out), lambda g: (
        _unbroadcast(g / b0, _shape(a0)),
        _unbroadcast(-g * a0 / (b0 * b0), _shape(b0)),
    )


def _negative(a, out=None):
    return np.negative(a, out=out), lambda g: (-g,)


def _matmul(a, b, out=None):
    """a @ b: dL/da = G b^T, dL/db = a^T G (a 1-D operand is a row or a column, as np.matmul treats it)."""
    a2 = a[None] if np.ndim(a) == 1 else a  # (1, k)
    b2 = b[:, None] if np.ndim(b) == 1 else b  # (k, 1)

    def backward(g):
        g2 = np.asarray(g)
        if np.ndim(b) == 1:
            g2 = g2[..., None]
        if np.ndim(a) == 1:
            g2 = g2[..., None, :]
        ga = _unbroadcast(g2 @ np.swapaxes(b2, -1, -2), np.shape(a2))
        gb = _unbroadcast(np.swapaxes(a2, -1, -2) @ g2, np.shape(b2))
        return ga.reshape(np.shape(a)), gb.reshape(np.shape(b))

    return np.matmul(a, b, out=out), backward


def _square(a, out=None):
    a0 = np.array(a, copy=True)  # (numpy's own var and std square in place)
    return np.square(a, out=out), lambda g: (2 * g * a0,)


def _sqrt(a, out=None):
    result = np.sqrt(a, out=out)
    r0 = np.array(result, copy=True)
    return result, lambda g: (g / (2 * r0),)


def _exp(a, out=None):
    result = np.exp(a, out=out)
    r0 = np.array(result, copy=True)
    return result, lambda g: (g * r0,)


def _log(a, out=None):
    a0 = np.array(a, copy=True)
    return np.log(a, out=out), lambda g: (g / a0,)


def _absolute(a, out=None):
    a0 = np.array(a, copy=True)
    return np.absolute(a, out=out), lambda g: (g * np.sign(a0),)  # 0 at 0, as torch


def _power(a, b, out=None):
    """a ** b: dL/da = G b a^(b-1), dL/db = G a^b log(a) (0 where a = 0 and b > 0, as torch)."""
    a0, b0 = np.array(a, copy=True), np.array(b, copy=True)
    result = np.power(a, b, out=out)
    r0 = np.array(result, copy=True)

    def backward(g):
        ga = g * b0 * np.power(a0, b0 - 1)
        gb = g * r0 * np.log(np.where(a0 == 0, 1, a0))
        return _unbroadcast(ga, np.shape(a0)), _unbroadcast(gb, np.shape(b0))

    return result, backward


_UFUNC_RULES = {
    np.square: _square,
    np.sqrt: _sqrt,
    np.exp: _exp,
    np.log: _log,
    np.absolute: _absolute,
    np.power: _power,
    np.add: _add,
    np.subtract: _subtract,
    np.multiply: _multiply,
    np.true_divide: _true_divide,
    np.negative: _negative,
    np.matmul: _matmul,
}


def _method(name, forward, backward_of):
    """A recorded array method: ``forward(x, ...)`` on the plain array, ``backward_of(x, grad)`` its backward."""

    def method(t):
        x = t.view(np.ndarray)
        out = forward(x)
        if is_grad_enabled() and t.requires_grad:
            result = _record(name, out, lambda g: (backward_of(x, g),), (t,), ())
            if isinstance(out, np.ndarray) and out.base is not None and not t.is_leaf:
                result._view_of_recorded = True  # an in-place edit through it would bypass t's history
        elif isinstance(out, np.ndarray) and out.base is not None:
            result = out.view(Tensor)  # an untracked view, still a Tensor so that writes through it are seen
        else:
            return out
        if isinstance(out, np.ndarray) and out.base is not None:
            result._box = t._box  # a view: a write through it changes t
        return result

    return method


def _reshape(t, *shape, **kwargs):
    return _method("ViewBackward", lambda x: x.reshape(*shape, **kwargs),
                   lambda x, g: g.reshape(x.shape, **kwargs))(t)  # fmt: skip


def _transpose(t):
    return _method("TBackward", lambda x: x.T, lambda x, g: g.T)(t)


def _getitem(t, index):
    def index_backward(x, g):
        grad = np.zeros(x.shape, g.dtype)
        np.add.at(grad, index, g)  # an index may repeat (fancy indexing): its gradients add up
        return grad

    index = tuple(plain_array(i) for i in index) if isinstance(index, tuple) else plain_array(index)
    out = _method("IndexBackward", lambda x: x[index], index_backward)(t)
    return out


def _sum(t, axis=None, keepdims=False):
    def sum_backward(x, g):
        if not keepdims and axis is not None:
            g = np.expand_dims(g, axis)
        return np.broadcast_to(g, x.shape).copy()

    return _method("SumBackward", lambda x: x.sum(axis=axis, keepdims=keepdims), sum_backward)(t)


def _mean(t, axis=None, keepdims=False):
    def mean_backward(x, g):
        count = x.size // max(1, np.size(g))  # how many inputs each output averaged
        if not keepdims and axis is not None:
            g = np.expand_dims(g, axis)
        return np.broadcast_to(g / count, x.shape).copy()

    return _method("MeanBackward", lambda x: x.mean(axis=axis, keepdims=keepdims), mean_backward)(t)
