"""minicnn.nn: Module mechanics (hooks, state dicts, modes), layers against torch.nn, and the layer summary."""

import numpy as np
import pytest
import torch

from minicnn import models, nn
from minicnn.summary import summarize
from minicnn.testing import assert_close
from tests.strategies import make_array


def small_net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Sequential(nn.MaxPool2d(2), nn.Flatten()))


def test_hooks_see_and_may_replace_inputs_and_outputs():
    net = small_net()
    x = make_array(0, (1, 3, 4, 4), np.float32)
    calls = []
    h1 = net[0].register_forward_pre_hook(lambda m, inputs: calls.append(("pre", inputs[0].shape)))
    h2 = net[0].register_forward_hook(lambda m, inputs, out: calls.append(("post", out.shape)))
    net(x)
    assert calls == [("pre", (1, 3, 4, 4)), ("post", (1, 4, 4, 4))]
    h1.remove()
    h2.remove()
    net(x)
    assert len(calls) == 2  # removed hooks are not called
    with net[1].register_forward_hook(lambda m, i, out: out * 0 - 1):  # a returned value replaces the output
        assert (net(x) == -1).all()
    with net[0].register_forward_pre_hook(lambda m, inputs: inputs[0] * 0):  # ... or the input
        # a zero image: the conv gives its bias everywhere, then ReLU, pooling of a constant, flatten
        np.testing.assert_allclose(net(x)[0], np.repeat(np.maximum(net[0].bias, 0), 4))
    assert net(x).min() >= 0  # both hooks gone again


def test_hook_with_the_wrong_signature_is_refused_at_registration():
    with pytest.raises(TypeError, match=r"forward hook must accept \(module, inputs, output\)"):
        nn.ReLU().register_forward_hook(lambda module, output: None)
    with pytest.raises(TypeError, match="must be callable"):
        nn.ReLU().register_forward_hook("not a function")


def test_state_dict_and_load_state_dict_report_every_problem_at_once():
    net = small_net()
    state = {k: v.copy() for k, v in net.state_dict().items()}
    assert list(state) == ["0.weight", "0.bias"]
    bad = dict(state)
    del bad["0.bias"]
    bad["0.weight"] = np.zeros((5, 3, 3, 3), np.float32)
    bad["extra.weight"] = np.zeros(1, np.float32)
    before = net[0].weight.copy()
    with pytest.raises(ValueError) as err:
        net.load_state_dict(bad)
    message = str(err.value)
    assert message.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "0.bias"' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in message
    assert "size mismatch for 0.weight: copying a param with shape (5, 3, 3, 3)" in message
    np.testing.assert_array_equal(net[0].weight, before)  # nothing was changed
    result = net.load_state_dict({"0.weight": state["0.weight"].astype(np.float64)}, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == []
    assert net[0].weight.dtype == np.float32  # converted to the model's dtype


def test_sequential_indexing_slicing_and_traversal():
    net = small_net()
    assert len(net) == 3 and isinstance(net[-1], nn.Sequential) and isinstance(net[1], nn.ReLU)
    head = net[:2]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["0", "1"]
    assert [name for name, _ in net.named_modules()] == ["", "0", "1", "2", "2.0", "2.1"]
    assert [type(m).__name__ for m in net.children()] == ["Conv2d", "ReLU", "Sequential"]
    with pytest.raises(IndexError, match="out of range"):
        net[3]
    assert net.get_submodule("2.1") is net[2][1]


def test_train_and_eval_reach_every_module():
    net = small_net()
    assert all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())


def test_parameters_are_plain_arrays_and_assignments_are_checked():
    conv = nn.Conv2d(2, 3, 1)
    assert isinstance(conv.weight, np.ndarray) and conv.weight.shape == (3, 2, 1, 1)
    conv.weight = np.ones((3, 2, 1, 1), np.float32)
    assert "weight" in conv.state_dict() and conv.state_dict()["weight"].sum() == 6
    with pytest.raises(TypeError, match="numpy.ndarray or None expected"):
        conv.weight = [1, 2]
    with pytest.raises(AttributeError, match="has no attribute 'wieght'"):
        conv.wieght  # noqa: B018


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_layer_with_padding_modes_matches_torch(padding_mode):
    ours = nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2, padding_mode=padding_mode)
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2,
                             padding_mode=padding_mode).double()  # fmt: skip
    theirs.load_state_dict({k: torch.from_numpy(v.astype(np.float64)) for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x = make_array(1, (2, 4, 7, 6), np.float32)
    with torch.no_grad():
        ref = theirs(torch.from_numpy(x.astype(np.float64))).numpy()
    assert_close(ours(x), ref, kind="direct", dtype=np.float32, scale=np.abs(ref).max() * 10)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm2d_layer_matches_torch_over_several_batches(momentum):
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum).double(), torch.nn.BatchNorm2d(3, momentum=momentum).double()
    for step in range(3):
        x = make_array(step, (4, 3, 5, 5), np.float64) * (step + 1) + step
        with torch.no_grad():
            ref = theirs(torch.from_numpy(x)).numpy()
        assert_close(ours(x), ref, kind="reduction")
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value.numpy(), kind="reduction", name=key)
    ours.eval(), theirs.eval()
    x = make_array(9, (2, 3, 4, 4), np.float64)
    with torch.no_grad():
        assert_close(ours(x), theirs(torch.from_numpy(x)).numpy(), kind="reduction")


def test_summary_of_vgg16_answers_the_notebooks_question():
    rows = summarize(models.vgg16(), (3, 256, 256))
    by_name = {r.name: r for r in rows}
    assert rows[0].name == "" and rows[0].output_shape == (1, 1000)
    assert sum(r.params for r in rows) == 138_357_544
    assert by_name["features.30"].type == "MaxPool2d" and by_name["features.30"].output_shape == (1, 512, 8, 8)
    conv = by_name["features.0"]  # 64 * 256 * 256 outputs, each 3 * 3 * 3 multiply-adds
    assert conv.macs == 64 * 256 * 256 * 27 and conv.im2col_bytes == 27 * 256 * 256 * 4
    assert by_name["classifier.0"].macs == 25088 * 4096
    assert [r.name for r in rows[:4]] == ["", "features", "features.0", "features.1"]  # call order
