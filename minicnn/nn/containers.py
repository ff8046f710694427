"""``Sequential``: children called one after the other, indexable like a list (``model.features[10]``)."""

from __future__ import annotations

from collections import OrderedDict

from minicnn.nn.module import Module


class Sequential(Module):
    """Sequential(m0, m1, ...) or Sequential(OrderedDict(name=module)): forward is m_k(...m1(m0(x)))."""

    def __init__(self, *modules):
        super().__init__()
        items = modules[0].items() if len(modules) == 1 and isinstance(modules[0], OrderedDict) else (
            (str(i), m) for i, m in enumerate(modules))  # fmt: skip
        for name, m in items:
            self.add_module(name, m)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
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
