"""minicnn.optimize against the eager model and torchvision; weights edited every way a user can; hooks; modes.

And the eager path's promise: whatever is done to a weight between two calls, the next call computes from the
arrays as they are (there is no cache to go stale).
"""

import warnings

import numpy as np
import pytest
import torch
import torchvision

import minicnn
import minicnn.functional as F
from minicnn import models, nn
from minicnn.kernels.registry import ALGORITHMS, NAMES
from minicnn.testing import assert_close
from reference.models import randomize_batchnorm
from tests.strategies import make_array

EDITS = {  # five ways of changing an array in place, each a function of the array
    "index +=": lambda w: w.__setitem__((0, 0, 0, 1) if w.ndim == 4 else 3, w[(0, 0, 0, 1) if w.ndim == 4 else 3] + 9),
    "np.copyto": lambda w: np.copyto(w, w[::-1].copy()),
    "reshaped view": lambda w: w.reshape(-1).__setitem__(slice(0, 5), 2.5),
    "*=": lambda w: w.__imul__(w.dtype.type(1.5)),
    "flat": lambda w: w.flat.__setitem__(5, -3.0),
}


def torchvision_pair(name, seed=0):
    torch.manual_seed(seed)
    tv = randomize_batchnorm(getattr(torchvision.models, name)().eval())
    ours = getattr(models, name)()
    ours.load_state_dict({k: v.numpy().copy() for k, v in tv.state_dict().items()})
    return tv, ours.eval()


def torch_logits(tv, x):
    with torch.no_grad():
        return tv.double()(torch.from_numpy(x.astype(np.float64))).numpy()


@pytest.mark.parametrize("algorithm", NAMES)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_every_algorithm_sees_in_place_edits(algorithm, layout):
    """The issue that started the redesign: edit a weight in place between two calls, five ways; every algorithm,
    both layouts, equals the naive loops on the edited weight."""
    x = make_array(1, (1, 8, 10, 9), np.float32, layout)
    w, b = make_array(2, (6, 8, 3, 3), np.float32), make_array(3, (6,), np.float32)
    F.conv2d(x, w, b, padding=1, algorithm=algorithm)  # a first call, as a notebook would
    for edit in EDITS.values():
        edit(w)
        edit(b.reshape(1, 1, 2, 3))  # the bias through a 4-D view of it
        got = F.conv2d(x, w, b, padding=1, algorithm=algorithm)
        ref = F.conv2d(x, w, b, padding=1, algorithm="naive")
        kind = "winograd4" if algorithm in ("auto",) or "winograd" in algorithm else "direct"
        assert_close(got, ref.astype(np.float64), kind=kind, dtype=np.float32, scale=np.abs(ref).max() + 1)


def test_resnet50_follows_its_arrays_edited_five_ways():
    """ResNet50 in eval mode against torchvision holding the same arrays, after single-element edits of convolution
    weights and batch-norm statistics made five ways (eager: nothing is derived, nothing can go stale)."""
    tv, model = torchvision_pair("resnet50", 3)
    x = make_array(4, (1, 3, 64, 64), np.float32)
    model(x)
    targets = [("conv1.weight", "layer1.0.bn2.running_var"), ("layer2.0.conv2.weight", "layer3.1.bn1.running_mean"),
               ("layer4.2.conv3.weight", "bn1.weight"), ("layer1.0.downsample.0.weight", "layer4.0.bn3.bias"),
               ("fc.weight", "layer2.1.bn3.running_var")]  # fmt: skip
    ours = model.state_dict()
    for (edit_name, edit), keys in zip(EDITS.items(), targets):
        theirs = tv.state_dict()  # (torch_logits converted the model to float64: new tensors)
        for key in keys:
            edit(ours[key])
            theirs[key].copy_(torch.from_numpy(ours[key]))
        assert_close(model(x), torch_logits(tv, x), kind="model", dtype=np.float32, name=edit_name)


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_optimized_models_match_torchvision(name):
    tv, model = torchvision_pair(name, 5)
    x = make_array(6, (2, 3, 64, 64), np.float32)
    ref = torch_logits(tv, x)
    text, keys = repr(model), list(model.state_dict())
    assert minicnn.optimize(model, example_input=x) is model
    assert repr(model) == text and list(model.state_dict()) == keys  # the same model, as print shows it
    assert_close(model(x), ref, kind="auto", dtype=np.float32, scale=np.abs(ref).max())
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert list(minicnn.optimize.algorithms(model)) == convs  # every one ran fused (none fell back to eager code)


def test_optimized_efficientnet_matches_its_eager_self():
    model = models.efficientnet_lite0(generator=1).eval()
    rng = np.random.default_rng(2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean[:] = rng.standard_normal(m.num_features) * 0.2
            m.running_var[:] = rng.random(m.num_features) + 0.5
    x = make_array(7, (2, 3, 64, 64), np.float32)
    eager = model(x)
    minicnn.optimize(model)
    assert_close(model(x), eager.astype(np.float64), kind="auto", dtype=np.float32, scale=np.abs(eager).max())


def test_after_optimize_an_edit_takes_effect_or_raises():
    """Editing an optimized model's arrays in place raises an error naming minicnn.optimize (NumPy's read-only
    error for np.copyto and .flat); assigning a new array or loading a state dict takes effect at the next call."""
    tv, model = torchvision_pair("resnet50", 8)
    x = make_array(9, (1, 3, 48, 48), np.float32)
    minicnn.optimize(model, example_input=x)
    for array in (model.layer1[0].conv2.weight, model.layer2[0].bn1.running_var, model.fc.weight):
        for name, edit in EDITS.items():
            match = "read-only" if name in ("np.copyto", "flat") else "frozen by minicnn.optimize"
            with pytest.raises(ValueError, match=match):
                edit(array)
    new = model.layer1[0].conv2.weight * 0.5  # attribute assignment: taken
    model.layer1[0].conv2.weight = new
    tv.layer1[0].conv2.weight.data = torch.from_numpy(np.array(new))
    state = {k: np.array(v) for k, v in model.state_dict().items()}
    state["layer3.0.bn2.running_mean"] += 0.5  # load_state_dict: taken
    model.load_state_dict(state)
    tv.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    ref = torch_logits(tv, x)
    assert_close(model(x), ref, kind="auto", dtype=np.float32, scale=np.abs(ref).max())
    with pytest.raises(ValueError, match="frozen by minicnn.optimize"):  # and the new arrays are frozen too
        model.layer1[0].conv2.weight[0] += 1


def test_hooks_and_optimize():
    """A hook registered before optimize keeps its module unfused: it sees the conv's own output, as in torch. On a
    fused module a new hook is refused, saying what to do; elsewhere hooks work."""
    tv, model = torchvision_pair("vgg16", 10)
    x = make_array(11, (1, 3, 32, 32), np.float32)
    seen, seen_torch = [], []
    model.features[2].register_forward_hook(lambda m, i, o: seen.append(np.array(o)))
    tv.features[2].register_forward_hook(lambda m, i, o: seen_torch.append(o.detach().clone().double().numpy()))
    minicnn.optimize(model)
    model(x)
    torch_logits(tv, x)
    assert seen[0].min() < 0  # before the ReLU: the conv's own output
    assert_close(seen[0], seen_torch[0], kind="model", dtype=np.float32)
    with pytest.raises(RuntimeError, match="fused with its neighbours by minicnn.optimize.*unfreeze"):
        model.features[0].register_forward_hook(lambda m, i, o: None)
    pooled = []
    model.features[4].register_forward_hook(lambda m, i, o: pooled.append(o.shape))  # a pooling: not fused
    model(x)
    assert pooled == [(1, 64, 16, 16)]


def test_training_mode_and_unfreeze():
    """Training an optimized model would update frozen statistics: refused with the way out; after unfreeze the
    model is the eager one again, trainable, its arrays writable."""
    _, model = torchvision_pair("resnet50", 12)
    x = make_array(13, (2, 3, 32, 32), np.float32)
    eager = model(x)
    minicnn.optimize(model)
    with pytest.raises(ValueError, match="minicnn.optimize.unfreeze"):
        model.train()(x)
    minicnn.optimize.unfreeze(model)
    model.layer1[0].conv1.weight[0] += 0  # writable again
    np.testing.assert_array_equal(model.eval()(x), eager)
    assert type(model.conv1.weight) is minicnn.Parameter and "forward" not in model.conv1.__dict__
    model.train()(x)  # batch statistics, running ones updated


def test_optimize_algorithms_names_each_layers_kernel_per_input_shape():
    """minicnn.optimize.algorithms(model): which kernel each convolution runs, by layer name, input shape and dtype,
    in the model's order; nothing before the first call; the rule's choice under a fixed rule; nothing after
    unfreeze; a part optimized again on its own is listed with its new kernels, in it and in the whole."""
    model = models.resnet50().eval()
    assert minicnn.optimize.algorithms(model) == {}
    minicnn.optimize(model, algorithm="default")
    assert minicnn.optimize.algorithms(model) == {}  # no input met yet
    x = make_array(14, (1, 3, 32, 32), np.float32)
    model(x)
    chosen = minicnn.optimize.algorithms(model)
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert list(chosen) == convs  # every convolution, in order (ResNet50's 53)
    assert chosen["conv1"] == {((1, 3, 32, 32), "float32"): "im2col_cl"}
    assert chosen["layer1.0.conv1"] == {((1, 64, 8, 8), "float32"): "pointwise_cl"}
    model(make_array(15, (2, 3, 32, 32), np.float32))
    assert set(minicnn.optimize.algorithms(model)["conv1"]) == {
        ((1, 3, 32, 32), "float32"),
        ((2, 3, 32, 32), "float32"),
    }
    minicnn.optimize(model.layer4, algorithm="im2col_cl")  # a part again, alone: its kernels are the new ones
    model(x)
    for name, plans in minicnn.optimize.algorithms(model).items():
        if name.startswith("layer4."):  # the new FusedConvs: the one input met since, the algorithm asked for
            assert plans == {next(iter(plans)): "im2col_cl"} and len(plans) == 1, name
        else:
            assert len(plans) == 2, name
    assert list(minicnn.optimize.algorithms(model.layer4)) == [n[len("layer4.") :] for n in convs if "layer4." in n]
    minicnn.optimize.unfreeze(model)
    assert minicnn.optimize.algorithms(model) == {} and minicnn.optimize.algorithms(model.layer4) == {}


def test_an_instance_forward_is_honoured_eager_and_left_alone_by_optimize():
    """torch calls a module's own instance ``forward`` if one is set; so does minicnn, inside Sequential too."""
    seq = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()).eval()
    x = make_array(14, (1, 3, 8, 8), np.float32)
    seq[0].forward = lambda inp: np.full((1, 4, 8, 8), -1.0, np.float32)
    assert (seq(x) == 0).all()
    minicnn.optimize(seq)
    assert (seq(x) == 0).all()


def test_optimize_pools_channels_last_activations_with_the_compiled_kernel_reading_the_settings_live(monkeypatch):
    """A MaxPool2d of an optimized model runs ``max_pool2d_cl`` on channels-last activations (not under the default
    rule, which compiles nothing): the eager model's values exactly; a setting edited afterwards is used; indices
    asked for, or training mode, run the module's own code; unfreeze gives the eager forward back."""
    from minicnn.kernels import pooling_numba

    def model():  # (optimize stores the input channels-last at the model's entry)
        return nn.Sequential(nn.ReLU(), nn.Identity(), nn.MaxPool2d(2)).eval()

    eager, fast, default = model(), minicnn.optimize(model()), minicnn.optimize(model(), algorithm="default")
    calls = []
    real = pooling_numba.max_pool2d_cl
    monkeypatch.setattr(pooling_numba, "max_pool2d_cl", lambda x, spec: calls.append(spec) or real(x, spec))
    x = make_array(5, (2, 3, 9, 11), np.float32)
    assert np.array_equal(fast(x), eager(x)) and len(calls) == 1
    assert np.array_equal(default(x), eager(x)) and len(calls) == 1  # the default rule: NumPy's pooling
    for m in (eager, fast):
        m[2].kernel_size, m[2].stride, m[2].padding, m[2].ceil_mode = 3, 2, 1, True
    assert np.array_equal(fast(x), eager(x)) and calls[-1].kernel_size == (3, 3) and calls[-1].out_size == (5, 6)
    for m in (eager, fast):
        m[2].return_indices = True
    assert all(np.array_equal(a, b) for a, b in zip(fast(x), eager(x))) and len(calls) == 2
    fast[2].return_indices = False
    fast.train()
    fast(x)
    assert len(calls) == 2
    minicnn.optimize.unfreeze(fast.eval())
    fast(x)
    assert len(calls) == 2 and "forward" not in fast[2].__dict__


@pytest.mark.parametrize("algorithm", ["winograd4_cl", "winograd2_cl", "im2col_cl"])
def test_optimize_fuses_a_2x2_max_pooling_into_the_winograd_layer_before_it(monkeypatch, algorithm):
    """Conv (+ ReLU) + MaxPool2d(2, 2) in a Sequential, as in VGG16: with a Winograd kernel the output transform pools
    (exactly the values of the layer, then the pooling: odd sizes drop the last row and column, as torch); with another
    kernel, once the pooling's settings change, or under the default rule, the pooling runs apart; an infinite input
    is computed by direct summation; too small an output gets the pooling's own error."""
    import copy

    from minicnn import optimization
    from minicnn.kernels import winograd_cl

    calls = []
    for name, kernel in list(winograd_cl.MAX_POOLED.items()):
        monkeypatch.setitem(winograd_cl.MAX_POOLED, name, lambda *a, k=kernel: calls.append(1) or k(*a))
    eager = nn.Sequential(nn.Conv2d(5, 8, 3, padding=1, generator=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 6, 3, padding=1, generator=2), nn.MaxPool2d(2, 2)).eval()  # fmt: skip
    fast = minicnn.optimize(copy.deepcopy(eager), algorithm=algorithm)
    default = minicnn.optimize(copy.deepcopy(eager), algorithm="default")
    x = make_array(3, (2, 5, 13, 11), np.float32)
    ref, got = eager(x), fast(x)
    kind = "direct" if algorithm == "im2col_cl" else algorithm.replace("_cl", "")
    assert got.shape == ref.shape == (2, 6, 3, 2)
    assert_close(got, ref.astype(np.float64), kind=kind, dtype=np.float32, scale=np.abs(ref).max())
    assert len(calls) == (0 if algorithm == "im2col_cl" else 2)
    monkeypatch.setattr(optimization, "_max_pool_2x2", lambda m: False)  # the same layers, the pooling apart
    assert np.array_equal(fast(x), got) and len(calls) == (0 if algorithm == "im2col_cl" else 2)
    monkeypatch.undo()
    assert optimization._fused_convs[default[0]].pool is None
    assert_close(default(x), ref.astype(np.float64), kind="direct", dtype=np.float32, scale=np.abs(ref).max())
    x[1, 2, 6, 4] = np.inf  # Winograd turns it into NaN (inf - inf): that layer is computed again by direct summation
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # silently, as the eager model and torch
        ref, got = eager(x), fast(x)
    for special in (np.isinf, np.isnan):  # (the second layer meets +inf and -inf: NaN where they add up, as in torch)
        assert np.array_equal(special(got), special(ref)) and not special(got[0]).any()
    assert not np.isfinite(got[1]).all()
    assert_close(got[0], ref[0].astype(np.float64), kind=kind, dtype=np.float32, scale=np.abs(ref[0]).max())
    for m in (eager, fast):
        m[2].kernel_size, m[2].stride, m[2].padding = 3, 2, 1  # no longer a 2x2 pooling: it runs apart
    x, plans = make_array(4, (1, 5, 12, 12), np.float32), optimization._fused_convs[fast[0]].plans
    ref, got = eager(x), fast(x)
    assert_close(got, ref.astype(np.float64), kind=kind, dtype=np.float32, scale=np.abs(ref).max())
    assert len(plans) == 2  # a plan for the new shape: the layer still ran fused, the pooling after it
    seen = []  # a hook on the pooling, after optimize: it sees what torch's would (the layer's output, its own)
    for m in (eager, fast):
        m[2].kernel_size, m[2].stride, m[2].padding = 2, 2, 0
        m[2].register_forward_hook(lambda module, inputs, output: seen.append((inputs[0].copy(), output.copy())))
    ref, got = eager(x), fast(x)
    assert_close(got, ref.astype(np.float64), kind=kind, dtype=np.float32, scale=np.abs(ref).max())
    assert len(seen) == 2
    for a, b in zip(seen[0], seen[1]):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-4)
    single = nn.Sequential(nn.Conv2d(5, 8, 3, padding=1, generator=1), nn.ReLU(), nn.MaxPool2d(2)).eval()
    single_fast = minicnn.optimize(copy.deepcopy(single), algorithm=algorithm)
    single_fast(x)
    for m in (single, single_fast):
        m[2].return_indices = True  # an unbatched input: the values and the indices, each without the batch axis
    ref, got = single(x[0]), single_fast(x[0])
    assert isinstance(got, tuple) and [a.shape for a in got] == [b.shape for b in ref] == [(8, 6, 6)] * 2
    assert_close(got[0], ref[0].astype(np.float64), kind=kind, dtype=np.float32, scale=np.abs(ref[0]).max())
    with pytest.raises(ValueError) as eager_error:
        eager(make_array(5, (1, 5, 3, 1), np.float32))
    with pytest.raises(ValueError) as fast_error:
        fast(make_array(5, (1, 5, 3, 1), np.float32))
    assert str(fast_error.value) == str(eager_error.value)


def test_optimize_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="minicnn.optimize expects a minicnn.nn.Module"):
        minicnn.optimize(torchvision.models.resnet18())
    with pytest.raises(TypeError, match="minicnn.optimize.algorithms expects a minicnn.nn.Module, got ResNet"):
        minicnn.optimize.algorithms(torchvision.models.resnet18())


def test_registry_names_every_algorithm_once():
    assert len(set(NAMES)) == len(NAMES) and set(ALGORITHMS) < set(NAMES)


def resnet_with_statistics(seed=1):
    model = models.resnet50(generator=0).eval()
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean[:] = rng.standard_normal(m.num_features) * 0.2
            m.running_var[:] = rng.random(m.num_features) + 0.5
    return model


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: setattr(m.layer1[0], "conv1", nn.Conv2d(64, 64, 1, bias=False, generator=3)),  # a child replaced
        lambda m: setattr(m, "bn1", nn.BatchNorm2d(64).eval()),
        lambda m: setattr(m.layer1[0], "relu", nn.Identity()),
        lambda m: (setattr(m.layer3[0].conv2, "padding", (2, 2)), setattr(m.layer3[0].conv2, "dilation", (2, 2))),
        lambda m: setattr(m.layer4[0].conv1, "forward", lambda inp: np.ones((1, 512, 6, 6), np.float32)),
        lambda m: setattr(m.layer2[1], "bn3", nn.Identity()),
    ],
    ids=["child conv", "stem bn", "relu", "padding and dilation", "instance forward", "bn replaced"],
)
def test_after_optimize_every_structural_edit_is_seen(edit):
    """Beyond its arrays, a fused path depends on which modules sit where, their settings, modes and forwards:
    after any change the model's own code runs (found by a review: each of these gave the old result)."""
    import copy

    eager = resnet_with_statistics()
    fast = minicnn.optimize(copy.deepcopy(eager))
    x = make_array(2, (1, 3, 96, 96), np.float32)
    fast(x)
    for m in (eager, fast):
        edit(m)
    ref = eager(x)
    assert_close(fast(x), ref.astype(np.float64), kind="auto", dtype=np.float32, scale=np.abs(ref).max())


def test_copies_of_an_optimized_model_and_of_its_arrays():
    """deepcopy and pickle give the eager model with plain arrays; a weight's .copy() is a plain, editable array;
    an edit through the memory a weight views is refused; unfreeze gives back the very arrays, writable; a weight
    tied under two names stays one array."""
    import copy
    import pickle

    seq = nn.Sequential(nn.Conv2d(3, 3, 3), nn.ReLU(), nn.Conv2d(3, 3, 3)).eval()
    big = make_array(3, (8, 3, 3, 3), np.float32)
    seq[0].weight = big[:3]  # filed as a Parameter viewing big's memory
    original = seq[0].weight
    seq[2].weight = seq[0].weight  # one array under two names
    x = make_array(4, (1, 3, 8, 8), np.float32)
    minicnn.optimize(seq)
    before = seq(x)
    twin = copy.deepcopy(seq)
    assert "forward" not in twin.__dict__ and type(twin[0].weight) is minicnn.Parameter
    assert twin[0].weight.flags.writeable
    twin[0].weight[...] = 0
    assert not np.array_equal(twin(x), before)  # the copy runs its own (eager) code on its own arrays
    copied = pickle.loads(pickle.dumps(seq))  # the eager model: the same numbers, to rounding
    assert_close(copied(x), before.astype(np.float64), kind="auto", dtype=np.float32, scale=np.abs(before).max())
    new = seq[0].weight.copy()
    new[0] = 1  # the idiom the error message recommends
    with pytest.raises(ValueError, match="read-only"):
        big[0] = 0  # the memory under the weight
    assert len(list(seq.parameters())) == 3  # the tied weight listed once
    minicnn.optimize.unfreeze(seq)
    assert seq[0].weight is original and original.flags.writeable and big.flags.writeable


def test_modules_that_only_look_foldable_are_left_alone():
    """A batch norm replaced by Identity, without running statistics, or a subclass with its own forward: not folded
    (no raw AttributeError, no silently wrong fold)."""

    class Shifted(nn.BatchNorm2d):
        def forward(self, x):
            return super().forward(x) + 1

    x = make_array(5, (1, 3, 64, 64), np.float32)
    for replace in (nn.Identity(), nn.BatchNorm2d(64, track_running_stats=False), Shifted(64)):
        model = resnet_with_statistics()
        model.layer1[0].bn1 = replace
        model.eval()
        ref = model(x)
        minicnn.optimize(model)
        assert_close(model(x), ref.astype(np.float64), kind="auto", dtype=np.float32, scale=np.abs(ref).max())


def test_load_state_dict_keeps_tied_weights_tied_and_setattr_keeps_the_order():
    seq = nn.Sequential(nn.Conv2d(2, 2, 1), nn.ReLU(), nn.Conv2d(2, 2, 1))
    seq[2].weight = seq[0].weight
    seq.load_state_dict({k: np.ones_like(v) for k, v in seq.state_dict().items()})
    assert seq[2].weight is seq[0].weight
    setattr(seq, "0", nn.Conv2d(2, 2, 1))
    assert list(seq._modules) == ["0", "1", "2"]  # replaced in place, as torch does
