"""Which weights the demo uses: the user's choice, else whatever pretrained file is already on this machine.

The demo never downloads unless asked (``--download``), so it never hangs offline; when pretrained
weights are missing it says where they would be, and the figures say what was used instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from minicnn.models import WEIGHTS, WeightsEnum, resolve_weights


@dataclass
class Found:
    source: object  # a WeightsEnum member, a Path, or None (not found)
    expected: Path | None  # where the DEFAULT file would be
    name: str  # "IMAGENET1K_V1", the file name, or ""

    @property
    def path(self):
        return self.source.get_path() if isinstance(self.source, WeightsEnum) else self.source


def find(model_name: str, choice=None, download=False) -> Found:
    """The weights to use for ``model_name``: ``choice`` (a name or a path) if given, else the first
    pretrained file present (DEFAULT first), else, with ``download``, the DEFAULT weights downloaded."""
    enum_cls = WEIGHTS[model_name]
    try:
        expected = enum_cls.DEFAULT.path()
    except FileNotFoundError:
        expected = None
    if choice is not None:
        source = resolve_weights(model_name, choice)
        name = source.name if isinstance(source, WeightsEnum) else Path(source).name
        if isinstance(source, WeightsEnum):
            source.get_path(download=download)  # present, or a clear error now
        return Found(source, expected, name)
    for member in [enum_cls.DEFAULT] + [m for m in enum_cls if m is not enum_cls.DEFAULT]:
        try:
            if member.path().is_file():
                return Found(member, expected, member.name)
        except FileNotFoundError:
            continue
    if download:
        enum_cls.DEFAULT.get_path(download=True)
        return Found(enum_cls.DEFAULT, expected, enum_cls.DEFAULT.name)
    return Found(None, expected, "")


def argument(found: Found) -> str:
    """What a code cell passes as ``weights=`` to load what was found: the weights' name, or the file's path."""
    return repr(found.source.name if isinstance(found.source, WeightsEnum) else str(found.source))


def label(lang: str, model_name: str, found: Found) -> str:
    """The weights found, in words, for a figure's caption."""
    from minicnn.demo.text import t

    if found.source is None:
        return t(lang, "weights.random")
    if model_name == "efficientnet_lite0" and isinstance(found.source, WeightsEnum):
        return t(lang, "weights.effnet")
    return t(lang, "weights.file", name=found.name, path=found.path)
