"""The demo's report in a real browser: headless Chromium opens report.html (English and French) after it has been
moved alone to another folder, and every figure must decode there; the page must not be blank, must be
self-contained (nothing read from beside it) and must fit a phone's screen (a viewport meta, no sideways scrolling).

Chromium is Debian's ``chromium`` package (``apt-get install chromium``); ``$CHROMIUM`` names another binary. Without
one, these tests are skipped, saying so. Each runs ``minicnn demo --quick`` once per language (about 10 s each).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
PHONE = (412, 915)  # a phone screen, portrait (headless Chromium keeps its window at least about 500 px wide)


def chromium_binary() -> str | None:
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((path for path in map(shutil.which, NAMES) if path), None)


CHROMIUM = chromium_binary()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason=f"no Chromium binary ({', '.join(NAMES)} on PATH, or $CHROMIUM): apt-get install chromium",
    ),
]

# Appended to the moved copy of the page: once everything has loaded, it writes what the browser made of the page
# into a <pre> that --dump-dom prints.
PROBE = """
<script>
window.addEventListener("load", () => {
  const width = document.documentElement.clientWidth;
  const report = {
    images: Array.from(document.images).map((img) => ({
      src: img.getAttribute("src").slice(0, 40), complete: img.complete,
      width: img.naturalWidth, height: img.naturalHeight})),
    text: document.body.innerText.length,
    width: width,
    scrollWidth: document.documentElement.scrollWidth,
    tooWide: Array.from(document.body.querySelectorAll("*"))
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .map((el) => `<${el.tagName.toLowerCase()}> ${Math.round(el.getBoundingClientRect().right)} px: `
                   + (el.textContent || el.getAttribute("alt") || "").trim().slice(0, 60)),
  };
  const pre = document.createElement("pre");
  pre.id = "minicnn-probe";
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
});
</script>
"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with a throw-away profile (--no-sandbox: CI runs as root)."""
    with tempfile.TemporaryDirectory(prefix="minicnn-chromium-") as profile:
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                   f"--user-data-dir={profile}", *args]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module", params=["en", "fr"])
def report(request, tmp_path_factory):
    """(the demo's folder, a folder holding only a copy of its report.html) for one language."""
    lang = request.param
    out = tmp_path_factory.mktemp(f"demo-{lang}") / "out"
    env = dict(os.environ, MINICNN_OFFLINE="1")
    done = subprocess.run([sys.executable, "-m", "minicnn", "demo", "--quick", "--out", str(out), "--lang", lang],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, f"minicnn demo --lang {lang} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    moved = tmp_path_factory.mktemp(f"moved-{lang}")
    shutil.copy(out / "report.html", moved / "report.html")  # alone: no PNG file beside it
    return out, moved


def probe(page: Path, window=(1100, 900)) -> dict:
    """What Chromium made of ``page``, measured by PROBE in a copy of it."""
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text(encoding="utf-8") + PROBE, encoding="utf-8")
    dom = chromium(f"--window-size={window[0]},{window[1]}", "--dump-dom", probed.as_uri()).stdout
    found = re.search(r'<pre id="minicnn-probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, f"the probe did not run: Chromium printed {len(dom)} characters of DOM without its result"
    return json.loads(html.unescape(found.group(1)))


def test_every_figure_decodes_after_the_page_is_moved(report):
    out, moved = report
    result = probe(moved / "report.html")
    figures = sorted(p.name for p in out.glob("*.png"))
    images = result["images"]
    assert figures, f"the demo wrote no figure into {out}"
    assert len(images) == len(figures), f"the page shows {len(images)} images, the demo wrote {len(figures)} figures"
    broken = [img for img in images if not (img["complete"] and img["width"] > 0 and img["height"] > 0)]
    assert not broken, f"{len(broken)} of {len(images)} images do not decode once the page is moved alone: {broken}"
    assert result["text"] > 2000, f"the page holds only {result['text']} characters of text"


def test_the_page_is_not_blank(report):
    _, moved = report
    shot = moved / "screenshot.png"
    chromium("--window-size=1100,3000", f"--screenshot={shot}", (moved / "report.html").as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB"))  # (H, W, 3)
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    inked = float((pixels.min(axis=2) < 200).mean())  # the fraction of pixels clearly darker than the background
    assert pixels.shape[:2] == (3000, 1100), f"the screenshot is {pixels.shape[1]}x{pixels.shape[0]}"
    assert colours > 500 and inked > 0.02, f"the page looks blank: {colours} colours, {inked:.1%} of pixels inked"


def test_the_page_is_self_contained(report):
    """Everything the page shows is inside it, and no link leads to a file that stayed behind."""
    _, moved = report
    page = (moved / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r"""\ssrc=["']([^"']*)""", page)
    assert sources and all(s.startswith("data:image/") for s in sources), (
        f"images read from files, not embedded: {[s for s in sources if not s.startswith('data:')][:5]}"
    )
    assert not re.search(r"""<link\b[^>]*rel=["']?stylesheet""", page), "a stylesheet read from a file"
    targets = re.findall(r"""\shref=["']([^"']*)""", page)
    local = sorted({t for t in targets if not re.match(r"(https?:|mailto:|#|data:)", t)})
    assert not local, f"links to files beside the page, broken once it is moved: {local[:5]} ({len(local)} in all)"


def test_the_page_fits_a_phone_screen(report):
    _, moved = report
    page = (moved / "report.html").read_text(encoding="utf-8")
    viewport = re.search(r"""<meta\s[^>]*name=["']viewport["'][^>]*>""", page)
    assert viewport and "width=device-width" in viewport.group(0), (
        "no <meta name='viewport' content='width=device-width, initial-scale=1'> in <head>: a phone lays the page "
        "out 980 px wide and shrinks it"
    )
    result = probe(moved / "report.html", PHONE)
    wide, screen = result["scrollWidth"], result["width"]
    assert wide <= screen, f"the page is {wide} px wide on a {screen} px screen; too wide: {result['tooWide'][:5]}"
