"""The demo's report: what each step adds is printed to the terminal and kept for one HTML page.

The page is self-contained (figures embedded as PNG data) and the PNG files are also written beside it.
Code cells are run, not just shown: ``Report.run`` shows a cell, runs it in the report's namespace (as a
notebook's kernel would) and shows what it printed, so the page holds exactly what ran.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from minicnn._files import write_file
from minicnn.demo.figures import localize, pyplot
from minicnn.demo.text import scientific, t

CONSOLE_LINES = 8  # a longer printout shows its first lines in the terminal (all of it is in the page)


@dataclass
class Report:
    out_dir: Path
    lang: str = "en"
    items: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    cells: int = 0

    def section(self, title: str) -> None:
        print(f"\n{'=' * 8} {title}", flush=True)
        self.items.append(("h2", title))

    def step(self, title: str):
        """A timed step: prints its title, then how long it took (the progress display)."""
        return _Step(self, title)

    def text(self, words: str) -> None:
        self.items.append(("p", words))

    def formula(self, formula: str) -> None:
        """A displayed formula, plain text; ``_{...}`` and ``^{...}`` become subscripts and superscripts."""
        self.items.append(("formula", formula))

    def run(self, source: str, namespace: dict, fold=None) -> dict:
        """Show the code cell ``source``, run it in ``namespace`` and show what it printed. ``fold(lines)``, if given,
        is the summary under which the printout is folded. Returns the namespace, where the cell left its variables."""
        plt = pyplot()
        self.cells += 1
        self.items.append(("code", (self.cells, source)))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, f"<report cell {self.cells}>", "exec"), namespace)
        plt.close("all")  # the cell's own plots: the report draws its figures itself (figures.py)
        text = printed.getvalue().rstrip("\n")
        if text:
            self.items.append(("out", (self.cells, text, fold(len(text.splitlines())) if fold else None)))
            _echo(text, self.lang)
        return namespace

    def output(self, text: str, fold: str | None = None) -> None:
        """A block of text the demo wrote (a table, a list of results), not printed by a code cell."""
        _echo(text, self.lang)
        self.items.append(("result", (text, fold)))

    def answer(self, words: str) -> None:
        print(f"   -> {words}", flush=True)
        self.items.append(("answer", words))

    def figure(self, fig, name: str, caption: str, weights: str | None = None) -> Path:
        """Save a matplotlib figure as out_dir/name and keep it, with its caption and the weights that produced it
        (None for a figure that no network produced), for the page."""
        plt = pyplot()
        path = self.out_dir / name
        buffer = io.BytesIO()
        localize(fig, self.lang)
        fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        write_file(path, buffer.getvalue())
        self.figures.append(path)
        self.items.append(("figure", (name, caption, weights, buffer.getvalue())))
        words = t(self.lang, "console.figure", name=path.name, caption=caption)
        print(f"   {words}" + (f" [{weights}]" if weights else ""), flush=True)
        return path

    def check(self, what: str, error: float, tolerance: float) -> None:
        ok = error <= tolerance
        self.checks.append((what, error, tolerance, ok))
        self.items.append(("check", (what, error, ok)))
        verdict = t(self.lang, "check.ok" if ok else "check.bad")
        print("   " + t(self.lang, "check.console", what=what, error=f"{error:.2e}", verdict=verdict), flush=True)

    def write_html(self, title: str) -> Path:
        head = "<meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"  # (phones)
        parts = [f"<!DOCTYPE html><html lang='{self.lang}'><head>{head}<title>{_e(title)}</title>",
                 f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1>"]  # fmt: skip
        for kind, value in self.items:
            if kind in ("h2", "h3"):
                parts.append(f"<{kind}>{_e(value)}</{kind}>")
            elif kind == "p":
                parts.append(f"<p>{_prose(value)}</p>")
            elif kind == "formula":
                parts.append(f"<p class='formula'>{_prose(value)}</p>")
            elif kind == "code":
                cell, source = value
                parts.append(f"<pre class='code' id='cell-{cell}'>{_e(source)}</pre>")
            elif kind == "out":
                cell, text, fold = value
                parts.append(_folded(f"<pre class='out' data-cell='{cell}'>{_e(text)}</pre>", fold))
            elif kind == "result":
                text, fold = value
                parts.append(_folded(f"<pre class='result'>{_e(text)}</pre>", fold))
            elif kind == "answer":
                parts.append(f"<p class='answer'>{_prose(value)}</p>")
            elif kind == "check":
                what, err, ok = value
                words = t(self.lang, "check.html", what=what, error=scientific(self.lang, err))
                parts.append(f"<p class='check {'ok' if ok else 'bad'}'>{_e(words)}</p>")
            elif kind == "figure":
                name, caption, weights, png = value
                data = base64.b64encode(png).decode("ascii")
                parts.append(
                    f"<figure><img src='data:image/png;base64,{data}' alt='{_e(caption)}' title='{_e(name)}'>"
                    f"<figcaption>{_e(caption)}"
                    + (f"<br><span class='weights'>{_e(weights)}</span>" if weights else "")
                    + "</figcaption></figure>"
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


def _prose(text) -> str:
    """Escaped text with its web addresses as links and ``_{...}``, ``^{...}`` as subscripts and superscripts."""
    s = _e(text)
    s = re.sub(r"(https?://[^\s<]*[^\s<.,;:)])", r"<a href='\1'>\1</a>", s)
    s = re.sub(r"_\{([^{}]*)\}", r"<sub>\1</sub>", s)
    return re.sub(r"\^\{([^{}]*)\}", r"<sup>\1</sup>", s)


def _folded(block: str, summary: str | None) -> str:
    return block if summary is None else f"<details><summary>{_e(summary)}</summary>{block}</details>"


def _echo(text: str, lang: str) -> None:
    """Print a block in the terminal, indented; only its first lines when it is long."""
    lines = str(text).splitlines()
    shown = lines if len(lines) <= CONSOLE_LINES + 2 else lines[:CONSOLE_LINES]
    print("\n".join("   " + line for line in shown), flush=True)
    if len(shown) < len(lines):
        print("   " + t(lang, "console.more", lines=len(lines)), flush=True)


CSS = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; line-height: 1.45; color: #222; }
h2 { border-bottom: 2px solid #446; margin-top: 2em; } pre { background: #f4f4f4; padding: .6em; overflow-x: auto; }
pre.code { background: #eef3ff; margin-bottom: 0; } pre.out { margin-top: 0; border-top: 1px solid #ccd; }
.formula { font-family: serif; font-size: 1.15em; text-align: center; } summary { cursor: pointer; color: #335; }
.answer { background: #fff6d5; padding: .5em; font-weight: bold; }
.check.ok { color: #176117; } .check.bad { color: #a00; font-weight: bold; } figure { margin: 1em 0; }
img { max-width: 100%; box-sizing: border-box; border: 1px solid #ddd; } figcaption { font-size: .95em; }
.weights { color: #555; } p, figcaption, li { overflow-wrap: anywhere; }
"""
