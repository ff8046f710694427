"""The demo's report: what each step adds is printed to the terminal and kept for one HTML page.

The page is self-contained (figures embedded as PNG data) and the PNG files are also written beside it.
"""

from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Report:
    out_dir: Path
    lang: str = "en"
    items: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    checks: list = field(default_factory=list)

    def section(self, title: str) -> None:
        print(f"\n{'=' * 8} {title}", flush=True)
        self.items.append(("h2", title))

    def step(self, title: str):
        """A timed step: prints its title, then how long it took (the progress display)."""
        return _Step(self, title)

    def text(self, words: str) -> None:
        self.items.append(("p", words))

    def code(self, source: str) -> None:
        self.items.append(("code", source.strip("\n")))

    def output(self, text: str, echo: bool = True) -> None:
        if echo:
            print("\n".join("   " + line for line in str(text).splitlines()), flush=True)
        self.items.append(("pre", str(text)))

    def answer(self, words: str) -> None:
        print(f"   -> {words}", flush=True)
        self.items.append(("answer", words))

    def figure(self, fig, name: str, caption: str, weights: str) -> Path:
        """Save a matplotlib figure as out_dir/name and keep it, with its caption and weights, for the page."""
        import matplotlib.pyplot as plt

        path = self.out_dir / name
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        write_file(path, buffer.getvalue())
        self.figures.append(path)
        self.items.append(("figure", (name, caption, weights, buffer.getvalue())))
        print(f"   figure {path.name}: {caption} [{weights}]", flush=True)
        return path

    def check(self, what: str, error: float, tolerance: float) -> None:
        ok = error <= tolerance
        self.checks.append((what, error, tolerance, ok))
        self.items.append(("check", (what, error, ok)))
        print(f"   check vs torch: {what}: {error:.2e} {'OK' if ok else 'TOO LARGE'}", flush=True)

    def write_html(self, title: str) -> Path:
        parts = [f"<!DOCTYPE html><html lang='{self.lang}'><head><meta charset='utf-8'><title>{_e(title)}</title>",
                 f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1>"]  # fmt: skip
        for kind, value in self.items:
            if kind in ("h2", "h3"):
                parts.append(f"<{kind}>{_e(value)}</{kind}>")
            elif kind == "p":
                parts.append(f"<p>{_e(value)}</p>")
            elif kind == "code":
                parts.append(f"<pre class='code'>{_e(value)}</pre>")
            elif kind == "pre":
                parts.append(f"<pre>{_e(value)}</pre>")
            elif kind == "answer":
                parts.append(f"<p class='answer'>{_e(value)}</p>")
            elif kind == "check":
                what, err, ok = value
                parts.append(f"<p class='check {'ok' if ok else 'bad'}'>torch: {_e(what)}: {err:.2e}</p>")
            elif kind == "figure":
                name, caption, weights, png = value
                data = base64.b64encode(png).decode("ascii")
                parts.append(
                    f"<figure><a href='{_e(name)}'><img src='data:image/png;base64,{data}' alt='{_e(caption)}'></a>"
                    f"<figcaption>{_e(caption)}<br><span class='weights'>{_e(weights)}</span></figcaption></figure>"
                )
        parts.append(f"<footer>minicnn, {time.strftime('%Y-%m-%d %H:%M')}</footer></body></html>")
        path = self.out_dir / "report.html"
        write_file(path, "\n".join(parts).encode("utf-8"))
        return path


MARKER = ".minicnn-demo"  # in an output folder: the demo wrote it, and may write there again


def prepare_folder(out: Path, overwrite: bool = False) -> None:
    """Make ``out`` the demo's folder: new, empty, or one the demo wrote before (its marker file). A folder holding
    files the demo did not write is refused unless ``overwrite`` (so a mistyped --out cannot clobber anything)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    if (out / MARKER).is_file() or overwrite:
        write_file(out / MARKER, b"written by minicnn demo\n")
        return
    others = sorted(p.name for p in out.iterdir())
    if others:
        raise FileExistsError(
            f"{out} holds files the demo did not write ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
            "choose another --out, or pass --overwrite"
        )
    write_file(out / MARKER, b"written by minicnn demo\n")


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` through a temporary file and a rename: a symbolic link at ``path`` is replaced,
    never followed (nothing outside the folder is written), and no half-written file is ever left."""
    import os
    import tempfile

    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as f:
        f.write(data)
    os.replace(f.name, path)


class _Step:
    def __init__(self, report, title):
        self.report, self.title = report, title

    def __enter__(self):
        print(f"\n== {self.title}", flush=True)
        self.report.items.append(("h3", self.title))
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        print(f"   ({time.perf_counter() - self.t0:.1f} s)", flush=True)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; line-height: 1.45; color: #222; }
h2 { border-bottom: 2px solid #446; margin-top: 2em; } pre { background: #f4f4f4; padding: .6em; overflow-x: auto; }
pre.code { background: #eef3ff; } .answer { background: #fff6d5; padding: .5em; font-weight: bold; }
.check.ok { color: #176117; } .check.bad { color: #a00; font-weight: bold; } figure { margin: 1em 0; }
img { max-width: 100%; border: 1px solid #ddd; } figcaption { font-size: .95em; } .weights { color: #555; }
"""
