"""``Sequential``: children called one after the other, indexable like a list (``model.features[10]``)."""

from __future__ import annotations

from collections import OrderedDict

from minicnn.nn.layers import BatchNorm2d, Conv2d, ReLU, conv_bn
from minicnn.nn.module import Module, watched


class Sequential(Module):
    """Sequential(m0, m1, ...) or Sequential(OrderedDict(name=module)): forward is m_k(...m1(m0(x)))."""

    def __init__(self, *modules):
        super().__init__()
        items = modules[0].items() if len(modules) == 1 and isinstance(modules[0], OrderedDict) else (
            (str(i), m) for i, m in enumerate(modules))  # fmt: skip
        for name, m in items:
            self.add_module(name, m)

    def forward(self, x):
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            m = modules[i]
            nxt = modules[i + 1] if i + 1 < len(modules) else None
            after = modules[i + 2] if i + 2 < len(modules) else None
            if _fusable(m, nxt):  # Conv2d then ReLU, and no hook needs the conv's own output
                x = m.forward_relu(x)
                i += 2
            elif _conv_then_bn(m, nxt):  # Conv2d, BatchNorm2d (and ReLU): folded when evaluating
                relu = after if type(after) is ReLU else None
                x = conv_bn(m, nxt, x, relu)
                i += 3 if relu is not None else 2
            else:
                x = m(x)
                i += 1
        return x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if not -len(items) <= idx < len(items):
            raise IndexError(f"index {idx} is out of range for a Sequential of {len(items)} modules")
        return items[idx][1]

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


def _conv_then_bn(conv, bn) -> bool:
    return isinstance(conv, Conv2d) and type(bn) is BatchNorm2d  # conv_bn decides whether folding is allowed


def _fusable(conv, relu) -> bool:
    """Conv2d followed by ReLU can run as one fused call (``F.conv2d_relu``) when nobody can observe the
    difference: no hook on either module (a hook on the conv would see its output before the ReLU)."""
    return (
        type(conv).forward is Conv2d.forward
        and type(relu) is ReLU
        and conv.padding_mode == "zeros"
        and not watched(conv, relu)
    )
