"""Every op's backward against torch.autograd (Hypothesis over the parameter space), the readable backward functions
against finite differences, and the tape's rules: what is recorded, in-place edits, hooks, no_grad and eval."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.functional as F
from minicnn import nn
from minicnn.autograd import Tensor
from minicnn.numerics import normalized_max_error, tolerance
from reference.functional import torch_grads
from tests.strategies import DTYPES, conv_cases, make_array, pool_cases

ints = st.integers


def leaf(a):
    """A leaf of the tape holding ``a``'s values (a copy: the test's arrays stay plain)."""
    return np.array(a, copy=True).view(Tensor).requires_grad_()


def minicnn_grads(op, grad_output, *args, **kwargs):
    """Our gradients of ``op`` with respect to each floating-point array argument (None for the others)."""
    wrapped = [leaf(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args]
    kw = {k: leaf(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v for k, v in kwargs.items()}
    out = op(*wrapped, **kw)
    out = out[0] if isinstance(out, tuple) else out
    out.backward(grad_output)
    return [a.grad if isinstance(a, Tensor) else None for a in (*wrapped, *kw.values())]


def check_grads(name, op, seed, *args, kind="gradient", **kwargs):
    """Run ``op`` forward on plain arrays for the output's shape, draw the gradient of the output, and compare our
    gradients with torch's float64 ones (normalized max error within the written tolerance)."""
    out = op(*args, **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    dtype = next(a.dtype for a in args if isinstance(a, np.ndarray))
    grad_output = make_array(seed, np.shape(out), dtype)
    ours = minicnn_grads(op, grad_output, *args, **kwargs)
    ref = torch_grads(name, grad_output, *args, float64=True, **kwargs)
    for i, (a, r) in enumerate(zip(ours, ref)):
        if r is None:
            continue
        assert a is not None, f"no gradient for argument {i}"
        assert a.shape == r.shape and a.dtype == dtype
        err = normalized_max_error(a, r)
        assert err <= tolerance(dtype, kind), f"argument {i}: error {err:.2e}"
    return ours


# ------------------------------------------------------------------------------------------------ every op


@settings(max_examples=60, deadline=None)
@given(case=conv_cases(), seed=ints(0, 2**31), flipped=st.booleans(), one_image_at_a_time=st.booleans())
def test_conv2d_backward_matches_torch(case, seed, flipped, one_image_at_a_time):
    """Every stride, padding (int, pair, "same", "valid", minicnn's 4-tuple), dilation, groups, bias, layout; the
    input's gradient by col2im and, for stride 1, by the flipped kernel (which large layers use); the batch's
    columns in one matrix or an image at a time (as a batch too large for BACKWARD_COLUMNS)."""
    from minicnn.functional import conv

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(conv, "FLIPPED_KERNEL_COLUMNS", 0 if flipped else 1 << 62)
        if one_image_at_a_time:
            mp.setattr(conv, "BACKWARD_COLUMNS", 1)
        check_grads("conv2d", F.conv2d, seed, case["x"], case["weight"], case["bias"], **case["kwargs"])


@settings(max_examples=60, deadline=None)
@given(case=pool_cases(), seed=ints(0, 2**31))
def test_max_pool2d_backward_matches_torch(case, seed):
    """Padding, dilation, ceil_mode, ties (the first maximum of a window receives its gradient, as in torch)."""
    _, idx = F.max_pool2d(case["x"], **case["kwargs"], return_indices=True)
    assume((idx < case["x"].shape[-2] * case["x"].shape[-1]).all())  # a window wholly in the padding aborts torch
    check_grads("max_pool2d", F.max_pool2d, seed, case["x"], **case["kwargs"])


@settings(max_examples=60, deadline=None)
@given(case=pool_cases(dilation=False), include=st.booleans(), divisor=st.one_of(st.none(), ints(1, 5)),
       seed=ints(0, 2**31))  # fmt: skip
def test_avg_pool2d_backward_matches_torch(case, include, divisor, seed):
    check_grads("avg_pool2d", F.avg_pool2d, seed, case["x"], **case["kwargs"], count_include_pad=include,
                divisor_override=divisor)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES), n=ints(1, 2), c=ints(1, 3), h=ints(1, 9), w=ints(1, 9), oh=ints(1, 6),
       ow=ints(1, 6), mode=st.sampled_from(["avg", "max"]), batched=st.booleans(), seed=ints(0, 2**31))  # fmt: skip
def test_adaptive_pool2d_backward_matches_torch(dtype, n, c, h, w, oh, ow, mode, batched, seed):
    x = make_array(seed, (n, c, h, w) if batched else (c, h, w), dtype, values="ties" if mode == "max" else "normal")
    name = f"adaptive_{mode}_pool2d"
    check_grads(name, getattr(F, name), seed + 1, x, (oh, ow))


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES), shape=st.lists(ints(1, 5), min_size=1, max_size=4), seed=ints(0, 2**31),
       op=st.sampled_from(["relu", "relu6"]))  # fmt: skip
def test_relu_backward_matches_torch_at_the_kinks(dtype, shape, seed, op):
    """Values include exact 0 and 6, where the gradient is 0 in torch."""
    x = (make_array(seed, shape, dtype, values="ties") * 3).astype(dtype)  # -6, -3, 0, 3, 6
    check_grads(op, getattr(F, op), seed + 1, x, kind="exact")


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES), shape=st.lists(ints(1, 5), min_size=1, max_size=4), seed=ints(0, 2**31),
       op=st.sampled_from(["softmax", "log_softmax"]), data=st.data())  # fmt: skip
def test_softmax_backward_matches_torch(dtype, shape, seed, op, data):
    dim = data.draw(ints(-len(shape), len(shape) - 1))
    check_grads(op, getattr(F, op), seed + 1, make_array(seed, shape, dtype), dim=dim)


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES), batch=st.lists(ints(1, 4), max_size=2), fin=ints(1, 6), fout=ints(1, 6),
       vector=st.booleans(), bias=st.booleans(), seed=ints(0, 2**31))  # fmt: skip
def test_linear_backward_matches_torch(dtype, batch, fin, fout, vector, bias, seed):
    x = make_array(seed, (*batch, fin), dtype)
    w = make_array(seed + 1, (fin,) if vector else (fout, fin), dtype)
    b = make_array(seed + 2, () if vector else (fout,), dtype) if bias and not (vector and batch) else None
    check_grads("linear", F.linear, seed + 3, x, w, b)


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES), n=ints(2, 4), c=ints(1, 4), spatial=st.lists(ints(1, 4), max_size=2),
       training=st.booleans(), affine=st.booleans(), seed=ints(0, 2**31))  # fmt: skip
def test_batch_norm_backward_matches_torch_and_updates_running_stats(dtype, n, c, spatial, training, affine, seed):
    x = make_array(seed, (n, c, *spatial), dtype)
    mean, var = make_array(seed + 1, (c,), dtype), (np.abs(make_array(seed + 2, (c,), dtype)) + 0.5).astype(dtype)
    w, b = (make_array(seed + 3, (c,), dtype), make_array(seed + 4, (c,), dtype)) if affine else (None, None)
    ours_mean, ours_var = mean.copy(), var.copy()
    g = make_array(seed + 5, x.shape, dtype)
    leaves = [None if a is None else leaf(a) for a in (x, w, b)]
    F.batch_norm(leaves[0], ours_mean, ours_var, leaves[1], leaves[2], training, 0.1, 1e-5).backward(g)
    tm, tv = torch.tensor(mean, dtype=torch.float64), torch.tensor(var, dtype=torch.float64)
    tx = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if a is not None else None for a in (x, w, b)]
    torch.nn.functional.batch_norm(tx[0], tm, tv, tx[1], tx[2], training, 0.1, 1e-5).backward(torch.tensor(g).double())
    # In training the input's gradient cancels by construction (it sums to zero per channel): normalize by the
    # size of its terms, |G| * |gamma| / sqrt(var + eps), not by its own largest value.
    std = np.sqrt((x.astype(np.float64).var(axis=(0, *range(2, x.ndim))) if training else var) + 1e-5)
    scale = np.abs(g).max() * (1.0 if w is None else np.abs(w).max()) / std.min()
    scales = (scale, None, None)
    for ours_leaf, t, s in zip(leaves, tx, scales):
        if t is not None:
            assert normalized_max_error(ours_leaf.grad, t.grad.numpy(), s) <= tolerance(dtype, "gradient")
    assert normalized_max_error(ours_mean, tm.numpy()) <= tolerance(dtype, "reduction")
    assert normalized_max_error(ours_var, tv.numpy()) <= tolerance(dtype, "reduction")


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES), shape=st.lists(ints(1, 5), min_size=2, max_size=4), seed=ints(0, 2**31),
       mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]), data=st.data())  # fmt: skip
def test_pad_backward_matches_torch(dtype, shape, seed, mode, data):
    k = 1 if mode != "constant" else data.draw(ints(1, min(2, len(shape))))
    shape = shape if mode == "constant" else [*shape[:1], *shape[1:2], max(2, shape[-1])][-(k + 2) :]
    limit = shape[-1] - 1 if mode == "reflect" else shape[-1]
    pads = [data.draw(ints(-1 if mode == "constant" else 0, limit)) for _ in range(2 * k)]
    if mode == "constant":
        pads = [max(p, -1) for p in pads]
        assume(all(shape[-1 - i] + pads[2 * i] + pads[2 * i + 1] >= 0 for i in range(k)))  # torch refuses the others
    check_grads("pad", F.pad, seed, make_array(seed, shape, dtype), tuple(pads), mode=mode, kind="reduction")


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from(DTYPES), n=ints(1, 5), c=ints(2, 6), spatial=st.lists(ints(1, 3), max_size=2),
       smoothing=st.sampled_from([0.0, 0.1, 0.5]), reduction=st.sampled_from(["mean", "sum", "none"]),
       weighted=st.booleans(), ignore=st.booleans(), probabilities=st.booleans(), seed=ints(0, 2**31))  # fmt: skip
def test_cross_entropy_and_its_backward_match_torch(dtype, n, c, spatial, smoothing, reduction, weighted, ignore,
                                                   probabilities, seed):  # fmt: skip
    rng = np.random.default_rng(seed)
    x = make_array(seed, (n, c, *spatial), dtype)
    if probabilities:
        target = rng.dirichlet(np.ones(c), size=(n, *spatial)).astype(dtype)
        target = np.moveaxis(target, -1, 1)
        ignore = False
    else:
        target = rng.integers(0, c, size=(n, *spatial))
        if ignore:
            target[rng.random(target.shape) < 0.3] = 1  # class 1 is ignored below
    weight = (rng.random(c) + 0.5).astype(dtype) if weighted else None
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=smoothing, ignore_index=1 if ignore else -100)
    ours = F.cross_entropy(x, target, **kwargs)
    ref = torch.nn.functional.cross_entropy(torch.tensor(x).double(), torch.tensor(target).double()
                                            if probabilities else torch.tensor(target),
                                            **{k: (torch.tensor(v).double() if isinstance(v, np.ndarray) else v)
                                               for k, v in kwargs.items()})  # fmt: skip
    assert np.asarray(ours).dtype == dtype
    assert normalized_max_error(ours, ref.numpy()) <= tolerance(dtype, "gradient")
    g = make_array(seed + 1, np.shape(ours), dtype)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tkw = {k: (torch.tensor(v).double() if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    ttarget = torch.tensor(target).double() if probabilities else torch.tensor(target)
    torch.nn.functional.cross_entropy(tx, ttarget, **tkw).backward(torch.tensor(g).double())
    (ours_grad,) = minicnn_grads(lambda a: F.cross_entropy(a, target, **kwargs), g, x)
    # The input's gradient is G w (softmax - target) / count: a difference of terms of size G w / count, which can
    # cancel to almost nothing; it is normalized by the size of those terms, not by its own largest value.
    count = target.size // (c if probabilities else 1) if reduction == "mean" else 1
    terms = float(np.abs(g).max()) * (float(weight.max()) if weighted else 1.0) / count
    scale = max(float(np.abs(tx.grad.numpy()).max()), terms)
    assert normalized_max_error(ours_grad, tx.grad.numpy(), scale) <= tolerance(dtype, "gradient")


def test_cross_entropy_refuses_bad_targets_as_torch():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, np.array([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)


def test_dropout_backward_uses_the_forward_mask():
    minicnn.manual_seed(0)
    x = leaf(np.random.default_rng(0).random((64, 32)) + 0.5)
    out = F.dropout(x, p=0.3)
    out.backward(np.ones(out.shape))
    kept = np.asarray(out) != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_array_equal(x.grad, np.where(kept, 1 / 0.7, 0.0))


# ------------------------------------------------------------------- readable backwards, numerically


def numerical_grad(f, x, eps=1e-6):
    """Central differences of the scalar f at x (float64), one coordinate at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def test_conv2d_backward_by_col2im_agrees_with_finite_differences():
    """The readable conv2d_backward (im2col, col2im) against the definition of a derivative, strided and padded."""
    from minicnn import specs
    from minicnn.functional.conv import conv2d_backward

    rng = np.random.default_rng(0)
    x, w, g = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), None
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    g = rng.standard_normal(F.conv2d(x, w, **kw).shape)
    gx, gw, gb = conv2d_backward(g, x, w, specs.conv2d(x, w, None, kw["stride"], kw["padding"], kw["dilation"], 2))
    np.testing.assert_allclose(gx, numerical_grad(lambda v: (F.conv2d(v, w, **kw) * g).sum(), x.copy()), atol=1e-7)
    np.testing.assert_allclose(gw, numerical_grad(lambda v: (F.conv2d(x, v, **kw) * g).sum(), w.copy()), atol=1e-7)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)))


def test_input_gradient_is_a_convolution_with_the_flipped_kernel():
    """docs/training.md, stride 1: dL/dx = conv2d(G padded by K-1-p, the kernel flipped, channels swapped)."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 3, 8, 8)), rng.standard_normal((5, 3, 3, 3))
    g = rng.standard_normal(F.conv2d(x, w, padding=1).shape)
    (gx, _) = minicnn_grads(lambda a, b: F.conv2d(a, b, padding=1), g, x, w)
    flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_in, C_out, KH, KW)
    np.testing.assert_allclose(gx, F.conv2d(g, np.ascontiguousarray(flipped), padding=1), atol=1e-12)


@pytest.mark.parametrize(
    "op",
    [
        lambda v: F.max_pool2d(v, 3, 2, padding=1, ceil_mode=True),
        lambda v: F.avg_pool2d(v, 3, 2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda v: F.adaptive_avg_pool2d(v, (3, 2)),
        lambda v: F.batch_norm(v, np.zeros(2), np.ones(2), np.array([1.5, -0.5]), np.array([0.1, 0.2]), True),
        lambda v: F.log_softmax(v, 1),
        lambda v: F.softmax(v, -1),
        lambda v: F.linear(v.reshape(2, -1), np.random.default_rng(2).standard_normal((3, v[0].size))),
    ],
    ids=["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm_training", "log_softmax", "softmax", "linear"],
)
def test_backward_agrees_with_finite_differences(op):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 7, 5))
    g = rng.standard_normal(np.shape(op(x.copy())))
    (ours,) = minicnn_grads(op, g, x)
    expected = numerical_grad(lambda v: float((np.asarray(op(v)) * g).sum()), x.copy())
    np.testing.assert_allclose(ours, expected, atol=1e-6)


# ------------------------------------------------------------------------------------------ the tape's rules


def small_net(dtype=np.float64):
    minicnn.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16, 3)).to(dtype)  # fmt: skip


def test_no_grad_and_eval_mode_give_plain_arrays_and_record_nothing():
    model, x = small_net(), np.random.default_rng(0).random((2, 1, 4, 4))
    assert type(model(x)) is Tensor and model(x).grad_fn is not None  # training mode records
    with minicnn.no_grad():
        assert type(model(x)) is np.ndarray
    assert type(model.eval()(x)) is np.ndarray  # a model in eval mode, called on plain arrays
    with minicnn.enable_grad():  # unless asked (Grad-CAM)
        assert model(x).grad_fn is not None
    assert type(F.conv2d(x, np.ones((1, 1, 3, 3)))) is np.ndarray  # constants in, plain array out


def test_backward_fills_every_parameter_grad_and_accumulates():
    model, x = small_net(), np.random.default_rng(0).random((2, 1, 4, 4))
    F.cross_entropy(model(x), np.array([0, 2])).backward()
    first = {n: p.grad.copy() for n, p in model.named_parameters()}
    assert all(first[n].shape == p.shape for n, p in model.named_parameters())
    F.cross_entropy(model(x), np.array([0, 2])).backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * first[n])
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_in_place_edit_of_a_saved_array_is_refused_not_used():
    model, x = small_net(), np.random.default_rng(0).random((2, 1, 4, 4))
    loss = F.cross_entropy(model(x), np.array([0, 2]))
    model[0].weight[0, 0, 0, 0] += 1.0  # the conv's backward needs the weight it used
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    loss = F.cross_entropy(model(x), np.array([0, 2]))
    model[4].weight *= 2  # a NumPy in-place ufunc counts too
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_backward_twice_needs_retain_graph():
    model, x = small_net(), np.random.default_rng(0).random((2, 1, 4, 4))
    loss = F.cross_entropy(model(x), np.array([0, 2]))
    loss.backward(retain_graph=True)
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor.backward(np.ones(1).view(Tensor))


def test_residual_add_in_place_and_retain_grad_match_torch():
    """ResNet's ``out += identity`` then an in-place ReLU; the gradient of an activation via retain_grad and hooks."""
    import torchvision

    from minicnn.models.resnet import Bottleneck

    minicnn.manual_seed(0)
    ours = Bottleneck(8, 2).double()
    ref = torchvision.models.resnet.Bottleneck(8, 2).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 8, 5, 5))
    seen = []
    handle = ours.conv2.register_forward_hook(lambda m, i, o: seen.append(o.retain_grad()))
    tseen = []
    ref.conv2.register_forward_hook(lambda m, i, o: tseen.append(o) or o.retain_grad())
    xs, tx = leaf(x), torch.tensor(x, requires_grad=True)
    ours(xs).sum().backward()
    ref(tx).sum().backward()
    handle.remove()
    assert normalized_max_error(xs.grad, tx.grad.numpy()) <= tolerance(np.float64, "gradient")
    assert normalized_max_error(seen[0].grad, tseen[0].grad.numpy()) <= tolerance(np.float64, "gradient")
    for (name, p), (_, tp) in zip(ours.named_parameters(), ref.named_parameters()):
        assert normalized_max_error(p.grad, tp.grad.numpy()) <= tolerance(np.float64, "gradient"), name


def test_tensor_hooks_see_and_replace_the_gradient():
    x = leaf(np.arange(3.0))
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [20.0, 20.0, 20.0])


def test_parameters_are_arrays_that_share_the_assigned_memory():
    conv = nn.Conv2d(1, 1, 3)
    w = np.ones((1, 1, 3, 3), np.float32)
    conv.weight = w
    assert isinstance(conv.weight, nn.Parameter) and np.shares_memory(conv.weight, w)
    w[0, 0, 0, 0] = 5.0
    assert conv.weight[0, 0, 0, 0] == 5.0
    opt_target = conv.weight
    conv.load_state_dict({"weight": np.zeros((1, 1, 3, 3)), "bias": np.zeros(1)})
    assert conv.weight is opt_target and not conv.weight.any()  # copied in place: an optimizer keeps its array


def test_a_network_of_every_layer_matches_torch_loss_and_every_gradient():
    """Strided, padded, dilated and grouped convs, batch norm in training mode, ReLU6, pooling with ceil_mode and
    padding, count_include_pad=False, adaptive pooling, dropout (p=0), label smoothing; float64, loss and every
    gradient (input, weights, biases) and the running statistics."""
    T = torch.nn
    ref = T.Sequential(T.Conv2d(3, 8, 3, stride=2, padding=2, dilation=2), T.BatchNorm2d(8), T.ReLU6(inplace=True),
                       T.Conv2d(8, 8, 3, padding=1, groups=4), T.ReLU(inplace=True),
                       T.MaxPool2d(3, 2, padding=1, ceil_mode=True),
                       T.AvgPool2d(2, ceil_mode=True, count_include_pad=False, padding=1), T.AdaptiveAvgPool2d((3, 2)),
                       T.Flatten(), T.Dropout(0.0), T.Linear(48, 5)).double()  # fmt: skip
    ours = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=2, dilation=2), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
                         nn.Conv2d(8, 8, 3, padding=1, groups=4), nn.ReLU(inplace=True),
                         nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
                         nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False, padding=1),
                         nn.AdaptiveAvgPool2d((3, 2)), nn.Flatten(), nn.Dropout(0.0),
                         nn.Linear(48, 5)).double()  # fmt: skip
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x, y = np.random.default_rng(0).standard_normal((4, 3, 23, 21)), np.array([0, 4, 2, 1])
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(ref(tx), torch.tensor(y), label_smoothing=0.1)
    tloss.backward()
    xs = leaf(x)
    loss = F.cross_entropy(ours(xs), y, label_smoothing=0.1)
    loss.backward()
    tol = tolerance(np.float64, "gradient")
    assert abs(float(loss) - tloss.item()) <= tol * abs(tloss.item())
    assert normalized_max_error(xs.grad, tx.grad.numpy()) <= tol
    for (name, p), (_, tp) in zip(ours.named_parameters(), ref.named_parameters()):
        # (the first conv's bias feeds a training-mode batch norm: its gradient is 0, rounding noise of 1e-17 in both)
        scale = max(float(np.abs(tp.grad.numpy()).max()), 1e-3)
        assert normalized_max_error(p.grad, tp.grad.numpy(), scale) <= tol, name
    for (name, b), (_, tb) in zip(ours.named_buffers(), ref.named_buffers()):
        assert normalized_max_error(b, tb.numpy()) <= tol, name


# ---------------------------------------------------------------- a second reading's findings, kept fixed


def test_writes_into_an_array_of_the_tape_are_recorded_or_refused():
    """Never a silently wrong gradient: t[i] = v is recorded (torch's CopySlices); an in-place edit through a view,
    or a NumPy function writing into the array (out=), is refused with a message."""
    x, v = leaf([1.0, 2.0, 3.0]), leaf([5.0, 6.0])
    y = x * 2
    y[0] = 0
    y[1:] = v
    (y * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])  # every value of y was overwritten
    np.testing.assert_array_equal(v.grad, [2.0, 3.0])
    y = leaf([1.0, 2.0, 3.0]) * 2
    with pytest.raises(RuntimeError, match="view of an array of the tape"):
        y[0:2] *= 3
    with pytest.raises(RuntimeError, match="cannot write into an array of the tape"):
        np.tanh(y, out=y)  # no gradient rule for tanh in minicnn: refused, not detached
    x = leaf([0.5, 1.0])
    y = x * 2
    np.exp(y, out=y)  # a function with a rule: recorded in place
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([1.0, 2.0]))


def test_matmul_checks_its_operands_and_takes_vectors():
    w, x = nn.Parameter(np.eye(2)), leaf([[1.0, 1.0]])
    out = (x @ w).sum()
    w.grad = np.ones((2, 2))
    minicnn.optim.SGD([w], lr=1).step()  # between the forward and the backward: the saved w changed
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()
    a, b = np.random.default_rng(0).standard_normal((3, 4)), np.random.default_rng(1).standard_normal(4)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (ta @ tb).sum().backward()
    la, lb = leaf(a), leaf(b)
    (la @ lb).sum().backward()
    np.testing.assert_allclose(la.grad, ta.grad.numpy())
    np.testing.assert_allclose(lb.grad, tb.grad.numpy())


def test_retain_grad_follows_an_in_place_op_once():
    x = leaf([[-1.0, 2.0]])
    y = x * 1
    y.retain_grad()
    F.relu(y, inplace=True)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(y.grad, [[3.0, 3.0]])  # torch's value: the gradient of y as it is now, once


def test_a_graph_is_freed_without_the_cycle_collector():
    import gc
    import weakref

    model, x = small_net(), np.random.default_rng(0).random((2, 1, 4, 4))
    gc.disable()
    try:
        out = model(x)
        loss = F.cross_entropy(out, np.array([0, 1]))
        refs = [weakref.ref(out), weakref.ref(loss)]
        del out, loss  # a forward whose loss is dropped: nothing may keep it alive
        assert all(r() is None for r in refs)
        out = model(x)
        F.cross_entropy(out, np.array([0, 1])).backward()
        ref = weakref.ref(out)
        del out
        assert ref() is None
    finally:
        gc.enable()


def test_module_conversions_keep_what_a_user_set():
    conv = nn.Conv2d(2, 3, 3)
    conv.weight.requires_grad_(False)
    conv.double()
    assert not conv.weight.requires_grad and conv.bias.requires_grad and conv.weight.dtype == np.float64
    conv.to(memory_format=minicnn.channels_last)
    import copy

    assert copy.deepcopy(conv).weight.strides == conv.weight.strides  # a channels-last weight stays channels-last


def test_grad_mode_switches_and_optimizer_rules_as_torch():
    minicnn.set_grad_enabled(False)  # a plain call takes effect at once
    try:
        assert not minicnn.is_grad_enabled()
    finally:
        minicnn.set_grad_enabled(True)
    assert minicnn.is_grad_enabled()
    with minicnn.set_grad_enabled(False):
        assert not minicnn.is_grad_enabled()
    assert minicnn.is_grad_enabled()
    p = nn.Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="more than one parameter group"):
        minicnn.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    t = leaf(np.arange(6.0))
    t.reshape(3, 2, order="F").sum(axis=0)[0].backward()
    ref = torch.arange(6.0, dtype=torch.float64, requires_grad=True)
    ref.reshape(2, 3).T.sum(dim=0)[0].backward()  # order="F" is the transpose of the C-order reshape
    np.testing.assert_array_equal(t.grad, ref.grad.numpy())


def test_elementwise_math_on_tensors_is_recorded_and_numpy_reductions_still_work():
    x = leaf([1.0, 2.0, 0.5])
    (np.exp(x) + np.log(x) + np.sqrt(x) + np.abs(x - 1) + x**3 + 2.0**x + np.square(x)).sum().backward()
    tx = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
    (torch.exp(tx) + torch.log(tx) + torch.sqrt(tx) + torch.abs(tx - 1) + tx**3 + 2.0**tx + tx**2).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-13)
    w = nn.Conv2d(2, 3, 3).weight  # NumPy's own std squares in place: it must keep working on a Parameter
    assert np.isclose(float(w.std()), float(np.asarray(w).std()))
