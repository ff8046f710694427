"""Write the course notebooks from their one source, the cells in ``course/`` (French and English side by side).

    python notebooks/build.py              # (re)write the four notebooks below
    python notebooks/build.py --check      # exit 1, naming them, if the committed notebooks differ from the source
    python notebooks/build.py --out DIR    # write them under DIR instead (same layout)

Four notebooks, stored without outputs (as Jupyter and Colab open them, ready to run):

    partie2_convolutions_fr.ipynb                    French, exercises blank
    part2_convolutions_en.ipynb                      English, exercises blank
    solutions/partie2_convolutions_fr_corrige.ipynb  French, exercises solved
    solutions/part2_convolutions_en_solutions.ipynb  English, exercises solved

Edit ``course/``, never the notebooks: tests/test_notebooks.py checks that this script writes exactly the
committed files. The output is deterministic (cell ids come from the cells' names or positions), and French prose
gets French typography here (a narrow no-break space in "9 408" and "37,89 %", a no-break space before ":").
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
from course import CELLS, Code, Exercise, Markdown

HERE = Path(__file__).resolve().parent
NOTEBOOKS = {  # (language, solutions) -> path under the notebooks folder
    ("fr", False): "partie2_convolutions_fr.ipynb",
    ("en", False): "part2_convolutions_en.ipynb",
    ("fr", True): "solutions/partie2_convolutions_fr_corrige.ipynb",
    ("en", True): "solutions/part2_convolutions_en_solutions.ipynb",
}
SOLUTIONS_NOTE = {
    "fr": "**Ce notebook est le corrigé** : les cellules à compléter y sont remplies, et chaque vérification passe.",
    "en": "**This notebook holds the solutions**: the cells to complete are filled in, and every check passes.",
}
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}

NARROW_NBSP, NBSP = "\u202f", "\u00a0"
# in French prose: code spans, fenced code and formulas are left as they are
VERBATIM = re.compile(r"(```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\))", re.DOTALL)


def french_typography(text: str) -> str:
    """French spacing in Markdown prose: "9 408" and "37,89 %" with a narrow no-break space, a no-break space before
    ":" and inside « », a narrow one before ";", "?" and "!". Code spans, formulas and link targets are untouched."""
    parts = VERBATIM.split(text)
    for i in range(0, len(parts), 2):  # even parts are prose, odd ones verbatim
        s = parts[i]
        s = re.sub(r"(?<=\d) (?=\d{3}(?!\d))", NARROW_NBSP, s)  # 9 408, 1 797
        s = re.sub(r"(?<=\d) %", NARROW_NBSP + "%", s)
        s = re.sub(r" :(?=\s|$)", NBSP + ":", s)
        s = re.sub(r" ([;?!])", NARROW_NBSP + r"\1", s)
        s = s.replace("« ", "«" + NBSP).replace(" »", NBSP + "»")
        parts[i] = s
    return "".join(parts)


def cell_source(cell, lang: str) -> str:
    if isinstance(cell, Markdown):
        text = cell.fr if lang == "fr" else cell.en
        return french_typography(text) if lang == "fr" else text
    return cell.fr if lang == "fr" or cell.en is None else cell.en


def notebook(lang: str, solutions: bool) -> nbformat.NotebookNode:
    """One notebook: the course's cells in ``lang``, with each exercise's blank or its solution."""
    nb = nbformat.v4.new_notebook(metadata=METADATA, nbformat_minor=5)  # 4.5: cell ids; fixed, whatever nbformat's
    for index, cell in enumerate(CELLS):
        if isinstance(cell, Exercise):
            cell = cell.solution if solutions else cell.blank
        source = cell_source(cell, lang)
        if isinstance(cell, Markdown):
            if index == 0 and solutions:
                title, rest = source.split("\n", 1)
                note = french_typography(SOLUTIONS_NOTE[lang]) if lang == "fr" else SOLUTIONS_NOTE[lang]
                source = f"{title}\n\n{note}\n{rest}"
            new = nbformat.v4.new_markdown_cell(source)
        else:
            assert isinstance(cell, Code)
            new = nbformat.v4.new_code_cell(source)
            if cell.tags:
                new.metadata["tags"] = list(cell.tags)
        new.id = cell.name or f"cell-{index:02d}"
        nb.cells.append(new)
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids), f"two cells share a name: {sorted(i for i in ids if ids.count(i) > 1)}"
    nbformat.validate(nb)
    return nb


def render(lang: str, solutions: bool) -> str:
    """The notebook's file contents: nbformat's JSON (one-space indent, sorted keys) and a final newline."""
    return nbformat.writes(notebook(lang, solutions)) + "\n"


def write_all(out_dir: Path) -> list[Path]:
    paths = []
    for (lang, solutions), name in NOTEBOOKS.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(lang, solutions), encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def stale(out_dir: Path) -> list[str]:
    """The notebooks under ``out_dir`` that are missing or differ from what the source gives."""
    return [name for (lang, solutions), name in NOTEBOOKS.items()
            if not (out_dir / name).is_file()
            or (out_dir / name).read_text(encoding="utf-8") != render(lang, solutions)]  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=HERE, help="the folder to write into (default: this one)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    if args.check:
        names = stale(args.out)
        for name in names:
            print(f"{args.out / name} is out of date: run python notebooks/build.py", file=sys.stderr)
        return 1 if names else 0
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
