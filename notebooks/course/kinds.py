"""The kinds of cells the course is written in, and the words the check cells print."""

from __future__ import annotations

from dataclasses import dataclass

NOT_DONE = {"fr": "Pas encore fait", "en": "Not done yet"}  # a check cell's first words, exercise blank
SUCCESS = {"fr": "Bravo", "en": "Correct"}  # a check cell's first word, exercise done right


@dataclass(frozen=True)
class Markdown:
    fr: str
    en: str
    name: str = ""  # the cell's id in the notebooks (one is made up from its position when empty)


@dataclass(frozen=True)
class Code:
    fr: str
    en: str | None = None  # None: the same cell in both languages
    name: str = ""
    tags: tuple = ()
    localized: bool = False  # the code differs between languages, not only its comments and strings


@dataclass(frozen=True)
class Exercise:
    """A blank for the student (in the exercise notebooks) or its solution (in the solution notebooks)."""

    blank: Code
    solution: Code


def check(name: str, fr: str, en: str) -> Code:
    return Code(fr, en, name=name, tags=("check",))
