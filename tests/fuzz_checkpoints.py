"""Mutation fuzzing of the checkpoint reader: valid files, damaged at random, must load or raise CheckpointError.

    .venv/bin/python -m tests.fuzz_checkpoints [--iterations 20000] [--seed 0]

The test suite runs the same mutations through Hypothesis (tests/test_hostile.py); this command runs many
more. Any outcome other than a state dict or a CheckpointError (another exception, a crash, a hang past
--timeout seconds for one file) is reported with the seed that reproduces it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path


def base_checkpoints(folder: Path) -> dict[str, bytes]:
    """Small valid checkpoints of both formats: several dtypes, shared storages, views, a parameter."""
    import collections

    import torch

    base = torch.arange(40, dtype=torch.float32)
    state = collections.OrderedDict(
        weight=base[:24].view(4, 6), view=base[8:20].view(3, 4).t(), bias=torch.nn.Parameter(torch.ones(3)),
        half=torch.ones(5, dtype=torch.float16), bf16=torch.ones(2, dtype=torch.bfloat16),
        count=torch.tensor(7), mask=torch.tensor([True, False]),
    )  # fmt: skip
    out = {}
    for fmt in ("zip", "legacy"):
        path = folder / f"base_{fmt}.pth"
        torch.save(state, path, _use_new_zipfile_serialization=(fmt == "zip"))
        out[fmt] = path.read_bytes()
    return out


def mutate(data: bytes, ops) -> bytes:
    """Apply ("flip", position, xor) / ("cut", length) / ("insert", position, bytes) operations."""
    buf = bytearray(data)
    for op in ops:
        if not buf:
            break
        if op[0] == "flip":
            buf[op[1] % len(buf)] ^= op[2] or 1
        elif op[0] == "cut":
            del buf[op[1] % len(buf) :]
        elif op[0] == "insert":
            pos = op[1] % (len(buf) + 1)
            buf[pos:pos] = op[2]
    return bytes(buf)


def check_one(path) -> str:
    """Load a file; return "loaded" or "refused"; anything else propagates."""
    import numpy as np

    from minicnn.checkpoint import CheckpointError, load_checkpoint

    try:
        state = load_checkpoint(path)
    except CheckpointError:
        return "refused"
    for value in state.values():  # touch every value: memory-mapped reads must work too
        np.asarray(value).sum()
    return "loaded"


def random_ops(rng: random.Random, size: int):
    ops = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["flip", "flip", "flip", "cut", "insert"])
        if kind == "flip":
            ops.append(("flip", rng.randrange(size), rng.randrange(256)))
        elif kind == "cut":
            ops.append(("cut", rng.randrange(size)))
        else:
            ops.append(("insert", rng.randrange(size), bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))))
    return ops


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=20000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds one file may take")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bases = base_checkpoints(folder)
        counts = {"loaded": 0, "refused": 0}
        start = time.time()
        for i in range(args.iterations):
            seed = args.seed + i
            rng = random.Random(seed)
            fmt = rng.choice(sorted(bases))
            data = mutate(bases[fmt], random_ops(rng, len(bases[fmt])))
            path = folder / "mutant.pth"
            path.write_bytes(data)
            t0 = time.time()
            try:
                counts[check_one(path)] += 1
            except Exception as e:
                print(f"FAILED at seed {seed} ({fmt}): {type(e).__name__}: {e}", file=sys.stderr)
                return 1
            if time.time() - t0 > args.timeout:
                print(f"TOO SLOW at seed {seed} ({fmt}): {time.time() - t0:.1f} s", file=sys.stderr)
                return 1
            if (i + 1) % 1000 == 0:
                print(f"{i + 1}/{args.iterations} mutants: {counts['loaded']} loaded, {counts['refused']} refused "
                      f"({time.time() - start:.0f} s)", flush=True)  # fmt: skip
        print(f"done: {counts['loaded']} loaded, {counts['refused']} refused, no other outcome")
    return 0


if __name__ == "__main__":
    sys.exit(main())
