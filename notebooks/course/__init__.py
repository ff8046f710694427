"""The course notebook's cells, in French and in English: the one source of the notebooks in this folder.

Part II of the course (*couches de convolution*), cell by cell, with minicnn in place of torch. ``build.py`` turns
this list into four notebooks: French and English, each with its exercises blank (a value left at ``None``, or a
line marked TO COMPLETE) and with their solutions. A cell is written once per language; the code of the two is the
same apart from comments and strings (tests/test_notebooks.py checks it), unless the cell says ``localized``.

Exercises follow one pattern: the blank cell, then a check cell (tagged ``check``) that prints NOT_DONE while the
blank is untouched, and otherwise asserts the answer with a clear message and prints SUCCESS.
"""

from .intro import INTRO
from .kinds import NOT_DONE, SUCCESS, Code, Exercise, Markdown
from .section_a import SECTION_A
from .section_b import SECTION_B
from .section_c import SECTION_C

CELLS = INTRO + SECTION_A + SECTION_B + SECTION_C

__all__ = ["CELLS", "NOT_DONE", "SUCCESS", "Code", "Exercise", "Markdown"]
