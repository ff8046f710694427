"""Writing files so that an interrupted program never leaves a half-written one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` through a temporary file and a rename: a symbolic link at ``path`` is replaced,
    never followed (nothing outside the folder is written), and no half-written file is ever left."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as f:
        f.write(data)
    os.replace(f.name, path)
