"""The course notebooks (notebooks/): written by build.py from one source, stored without outputs, the French and
English code in step, French typography in the French prose, and every notebook run top to bottom, offline, in a
fresh kernel, with no cell edited: the exercise notebooks' checks say "not done yet", the solution notebooks' checks
pass, and the outputs hold the course's answers.

Running them needs nbformat, nbclient and ipykernel (the test extra); without them these tests are skipped.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from unittest import mock

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebooks need nbformat (pip install nbformat)")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CAT_CLASSES = ("tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat")  # ImageNet 281-285


def load_source():
    """notebooks/build.py as a module (its NOTEBOOKS table) and the course's cells, notebooks/course/."""
    if str(NOTEBOOKS) not in sys.path:
        sys.path.insert(0, str(NOTEBOOKS))
    spec = importlib.util.spec_from_file_location("minicnn_notebooks_build", NOTEBOOKS / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    import course

    return build, course


build, course = load_source()
KINDS = {name: key for key, name in build.NOTEBOOKS.items()}  # path -> (language, solutions)


def code_skeleton(source: str) -> list:
    """The code's tokens without its comments, with every string literal (f-strings whole) as one STRING token."""
    skeleton, depth = [], 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        name = tokenize.tok_name[tok.type]
        if name == "FSTRING_START":  # Python 3.12+: an f-string is a run of tokens
            depth += 1
        elif name == "FSTRING_END":
            depth -= 1
            if not depth:
                skeleton.append("STRING")
        elif depth:
            continue
        elif name == "STRING":
            skeleton.append("STRING")
        elif name not in ("COMMENT", "NL", "NEWLINE", "INDENT", "DEDENT", "ENDMARKER"):
            skeleton.append(tok.string)
    return skeleton


def code_cells():
    for cell in course.CELLS:
        if isinstance(cell, course.Exercise):
            yield cell.blank
            yield cell.solution
        elif isinstance(cell, course.Code):
            yield cell


def test_build_writes_exactly_the_committed_notebooks(tmp_path):
    done = subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for name in build.NOTEBOOKS.values():
        fresh, committed = (tmp_path / name).read_bytes(), (NOTEBOOKS / name).read_bytes()
        assert fresh == committed, f"notebooks/{name} differs from its source: run python notebooks/build.py"
    name = build.NOTEBOOKS["fr", True]
    (tmp_path / name).write_text("{}")  # --check notices a stale notebook, and names it
    done = subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), "--check", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1 and name in done.stderr, done.stderr


@pytest.mark.parametrize("name", build.NOTEBOOKS.values())
def test_notebooks_are_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} of {name} has outputs"
    stored = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    assert set(stored["metadata"]) == {"kernelspec", "language_info"}, "metadata beyond the kernel's"


def test_french_and_english_code_are_the_same():
    """Each code cell's French and English versions differ only in comments and strings (unless marked localized),
    and each check cell prints the agreed words in its language."""
    for cell in code_cells():
        if cell.en is not None and not cell.localized:
            assert code_skeleton(cell.fr) == code_skeleton(cell.en), f"cell {cell.name!r}: the code differs"
        if "check" in cell.tags:
            for lang in ("fr", "en"):
                source = cell.fr if lang == "fr" else cell.en
                assert course.NOT_DONE[lang] in source and course.SUCCESS[lang] in source, (cell.name, lang)


def french_prose(name):
    """The French notebook's Markdown, without code spans, formulas, link targets and italics (English terms)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    return re.sub(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)|\*[^*\s][^*]*\*", " ", text, flags=re.DOTALL)


@pytest.mark.parametrize("name", [n for n, (lang, _) in KINDS.items() if lang == "fr"])
def test_french_prose_is_written_the_french_way(name):
    prose = french_prose(name)
    assert not re.findall(r"\d,\d{3}(?!\d)", prose), "thousands written the English way (9,408): write 9 408"
    assert not re.findall(r"\d\.\d", prose), "a decimal point in French prose (37.89): write 37,89"
    assert not re.findall(r"\d ?%", prose), "a percentage without its narrow no-break space (37,89 %)"
    assert "1\u202f797" in prose and "1\u202f438" in prose, "thousands grouped with a narrow no-break space"
    spaced = re.findall(r".{0,30} [:;?!»]|« ", prose)
    assert not spaced, f"a breaking space before : ; ? ! » or after «, where French puts a no-break one: {spaced}"
    english = re.findall(r"\b(the|and|with|which|weights|layer|kernel|output|training)\b", prose)
    assert not english, f"English words in the French prose: {sorted(set(english))}"


def run_install_cell(python: str, minicnn_installed: bool) -> tuple:
    """Run the install cell's Python (as IPython translates it) with minicnn installed or not, from notebooks/;
    return the magics run and the cell's variables."""
    calls, namespace = [], {}

    class Shell:  # the one method of IPython's shell the cell calls
        def run_line_magic(self, magic, line):
            calls.append((magic, line))

    namespace["get_ipython"] = Shell
    with mock.patch("importlib.util.find_spec", lambda name: object() if minicnn_installed else None):
        exec(compile(python, "<install cell>", "exec"), namespace)
    return calls, namespace


def test_the_install_cell_installs_only_when_minicnn_is_missing(monkeypatch):
    """The first code cell: %pip install from the repository when minicnn is missing, nothing when it imports."""
    pytest.importorskip("IPython", reason="the notebooks run in IPython (pip install ipykernel)")
    monkeypatch.chdir(NOTEBOOKS)  # where Jupyter runs a notebook of this folder
    from IPython.core.inputtransformer2 import TransformerManager

    for name in build.NOTEBOOKS.values():
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "code")
        assert cell.id == "install"
        python = TransformerManager().transform_cell(cell.source)  # %pip -> get_ipython().run_line_magic(...)
        assert run_install_cell(python, minicnn_installed=True)[0] == [], f"{name}: installs although minicnn is here"
        calls, namespace = run_install_cell(python, minicnn_installed=False)
        assert len(calls) == 1 and calls[0][0] == "pip", (name, calls)
        assert calls[0][1] == 'install --quiet "{source.resolve()}[efficientnet]"', calls  # IPython expands {...}
        assert namespace["source"].resolve() == ROOT  # the repository above notebooks/


# -- the notebooks run -------------------------------------------------------------------------------------------


def execute(name, tmp_path, monkeypatch):
    """Run a copy of notebooks/name top to bottom in a fresh kernel, offline, in an empty folder; return it."""
    pytest.importorskip("ipykernel", reason="running the notebooks needs ipykernel (pip install ipykernel)")
    nbclient = pytest.importorskip("nbclient", reason="running the notebooks needs nbclient (pip install nbclient)")
    monkeypatch.setenv("MINICNN_OFFLINE", "1")  # never download: what is not here is reported, not fetched
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own inline backend, so figures are drawn
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's minicnn, installed or not
    # a kernel on this very interpreter, whatever other "python3" kernels the machine declares
    spec = tmp_path / "jupyter" / "kernels" / "minicnn-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "minicnn test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    run_in = tmp_path / "cwd"
    run_in.mkdir()
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="minicnn-test", resources={"metadata": {"path": str(run_in)}},
                            allow_errors=False).execute()  # fmt: skip
    return nb


def text(cell) -> str:
    """What a cell printed (streams and plain-text results)."""
    return "".join(o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
                   for o in cell.outputs)  # fmt: skip


def figures(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.outputs)


@pytest.mark.slow
@pytest.mark.parametrize("name", build.NOTEBOOKS.values())
def test_notebook_runs_offline_and_holds_the_answers(name, tmp_path, monkeypatch):
    lang, solutions = KINDS[name]
    nb = execute(name, tmp_path, monkeypatch)
    cells = {cell.id: cell for cell in nb.cells}
    assert not any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert cells["install"].outputs == [], f"the install cell did something: {text(cells['install'])}"

    # the exercises: each check says "not done yet" in the exercise notebooks, and passes in the solutions
    checks = [cell for cell in nb.cells if "check" in cell.metadata.get("tags", [])]
    assert len(checks) == 6
    expected = course.SUCCESS[lang] if solutions else course.NOT_DONE[lang]
    for cell in checks:
        assert text(cell).startswith(expected), f"{cell.id} printed {text(cell)!r}, not {expected!r}..."
    if solutions:
        assert "{'a': 237, 'b': 119, 'c': 247, 'd': 218, 'e': 68}" in text(cells["sizes"])
        assert "-> (1, 512, 8, 8)" in text(cells["layer30"]) and "(512, 8, 8) 6.0" in text(cells["layer30"])
        assert re.search(r"\b64\b.*\b147\b.*\b9408\b", text(cells["conv1-check"]))
        assert figures(cells["prewitt-check"]) == 1 and figures(cells["maps"]) == 4

    # the course's numbers, computed by minicnn
    assert "(1, 3, 20, 20)" in text(cells["tile"]) and "(1, 1, 237, 237)" in text(cells["blur"])
    assert "(64, 3, 7, 7)" in text(cells["kernels-before"])
    epochs = re.findall(r"(?:recognised|reconnus)\W*(\d+[.,]\d)", text(cells["training"]))  # one line per epoch
    assert len(epochs) == 5, text(cells["training"])
    accuracy = float(epochs[-1].replace(",", "."))
    assert accuracy > 80, f"the digits network reached only {accuracy}% in 5 epochs"

    # part C on trained weights: the cat recognised, dropout varying in training mode only, four feature maps
    assert any(cat in text(cells["classify"]).splitlines()[0] for cat in CAT_CLASSES), text(cells["classify"])
    lines = text(cells["dropout"]).splitlines()[1:]
    training, evaluation = lines[:3], lines[3:]
    assert len(set(training)) > 1 and len(set(evaluation)) == 1 and len(evaluation) == 2, lines
    assert len(text(cells["hooks"]).splitlines()) == 4
    assert figures(cells["gradcam"]) == 1 and figures(cells["training"]) == 1
    assert sum(figures(c) for c in nb.cells if c.cell_type == "code") >= (14 if solutions else 9)
