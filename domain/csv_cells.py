"""Cells of the CSV files we write and read back. A spreadsheet runs a cell that starts like a formula,
so text that does is written with a leading apostrophe, which spreadsheets take as "this is text"
(OWASP's advice against CSV injection). Our import takes that apostrophe off again, so an export
imports back exactly as it was written.
"""

from __future__ import annotations

# What spreadsheets evaluate at the start of a cell (OWASP's list, plus a line feed, which some do),
# and the full-width forms that spreadsheets in Chinese and Japanese locales evaluate too.
FORMULA_STARTS = frozenset("=+-@\t\r\n＝＋－＠")
TEXT_MARK = "'"


def as_text(value: str) -> str:
    """The cell a spreadsheet shows as text and never runs. Phone numbers in E.164 (+84...) get the mark
    too: a spreadsheet would evaluate them as well."""
    return TEXT_MARK + value if value[:1] in FORMULA_STARTS or _marked(value) else value


def from_text(cell: str) -> str:
    """What ``as_text`` was given. A hand-written apostrophe before anything else stays as written."""
    return cell[1:] if _marked(cell) else cell


def _marked(text: str) -> bool:
    # Text that already starts with the mark before a formula start (or another mark) gets one more on
    # the way out, so that taking one off on the way in gives back exactly what was stored.
    return text[:1] == TEXT_MARK and (text[1:2] in FORMULA_STARTS or text[1:2] == TEXT_MARK)
