"""Cell values from the cells the sheet parse kept (xltool.formats._sheetxml.Cells), as Excel reads them.

The grid is what python-calamine's `to_python(skip_empty_area=False)` returns for a well-formed sheet (tests compare
the two on every workbook we have): rows and columns from A1 to the last cell holding a value, "" for empty cells,
numbers as float, booleans as bool, text as str (shared, inline and formula strings), error values as "". Where the
two differ, this module follows the file format: a number is what XML Schema calls a double ("5_0", "٥" or "1e"
are not numbers, though Python's float() takes some of them), a shared-string index is a non-negative integer within
the table, a boolean is 0, 1, true or false. Such a cell is *malformed*: blank in the grid, its text among the
sheet's error values, and named in `facts.malformed` (Excel calls such a file damaged).

Numbers styled as dates or times and `t="d"` cells are converted by calamine, from a small workbook that holds only
those cells as this module read them (xltool.formats.xlsx), so calamine never reads the untrusted file itself.
"""

from __future__ import annotations

import re
from operator import itemgetter

from xltool.formats._sheetxml import Cells
from xltool.formats._xmlparts import unescape
from xltool.formats.page import Grid, SheetFacts
from xltool.forms import col_letter

_DOUBLE = re.compile(r"[ \t\n\r]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r]*")
_INDEX = re.compile(r"[ \t\n\r]*[0-9]{1,10}[ \t\n\r]*")
_BOOLEANS = {"1": True, "0": False, "true": True, "false": False}
_NUMBERS: dict[str, float | None] = {}  # texts met before -> their number (None: not a number)
_BLANK = frozenset(" \t\n\r")


def number(text: str) -> float | None:
    """A <v> text as XML Schema reads a double, or None. INF and NaN are doubles there but never a count: None."""
    known = _NUMBERS.get(text, _NUMBERS)
    if known is not _NUMBERS:
        return known  # type: ignore[return-value]
    found = float(text) if _DOUBLE.fullmatch(text) else None
    if len(_NUMBERS) < 200_000:
        _NUMBERS[text] = found
    return found


class SheetValues:
    """A sheet's values as (row, column, value), in the order written (a cell written twice: the last one counts),
    and the cells that calamine converts (dates): (row, column, style, type, text)."""

    __slots__ = ("dated", "values")

    def __init__(self, values: list[tuple[int, int, object]], dated: list[tuple[int, int, int, str, str]]) -> None:
        self.values, self.dated = values, dated


def convert(facts: SheetFacts, strings: list[str], dates: frozenset[int]) -> SheetValues:
    """The values of the cells the parse kept (`facts.cells`); malformed ones noted in the facts."""
    cells = facts.cells
    assert isinstance(cells, Cells), type(cells)
    values: list[tuple[int, int, object]] = []
    dated: list[tuple[int, int, int, str, str]] = []
    append = values.append
    nstrings = len(strings)
    numbers = _NUMBERS
    for (row, col, style, kind), text in zip(cells.slots, cells.texts, strict=True):
        if kind == "n":
            value = numbers.get(text, numbers)
            if value is numbers:
                value = number(text)
            if value is None:
                if not text or _BLANK.issuperset(text):
                    continue  # a formula's empty result
                _malformed(facts, row, col, text)
                continue
            if style in dates:
                dated.append((row, col, style, kind, text))
                continue
            append((row, col, value))
        elif kind == "s":
            index = int(text) if text.isascii() and text.isdigit() else _index(text)
            if 0 <= index < nstrings:
                value = strings[index]
                if value != "":
                    append((row, col, value))
            elif text and not _BLANK.issuperset(text):
                _malformed(facts, row, col, text)
        elif kind in ("str", "inlineStr"):
            if text != "":
                append((row, col, unescape(text) if "_x" in text else text))
        elif kind == "b":
            flag = _BOOLEANS.get(text.strip(" \t\n\r"))
            if flag is None:
                if text and not _BLANK.issuperset(text):
                    _malformed(facts, row, col, text)
                continue
            append((row, col, flag))
        elif kind == "e":
            continue
        elif kind == "d":
            if text.strip():
                dated.append((row, col, style, kind, text.strip()))
        else:  # a type the format does not have
            _malformed(facts, row, col, text)
    return SheetValues(values, dated)


def _index(text: str) -> int:
    """A shared-string index as XML Schema reads an unsignedInt (whitespace around it allowed); -1 if none."""
    return int(text) if _INDEX.fullmatch(text) else -1


def _malformed(facts: SheetFacts, row: int, col: int, text: str) -> None:
    where = f"{col_letter(col)}{row + 1}"
    facts.errors[where] = text.strip()[:40] or "（空）"
    if len(facts.malformed) < 50:
        facts.malformed.append(where)


_ROW, _COL = itemgetter(0), itemgetter(1)


def dense(cells: list[tuple[int, int, object]]) -> Grid:
    """calamine's grid: A1 to the last cell holding a value, "" elsewhere."""
    if not cells:
        return []
    width = max(map(_COL, cells)) + 1
    grid: Grid = [[""] * width for _ in range(max(map(_ROW, cells)) + 1)]
    for r, c, value in cells:
        grid[r][c] = value
    return grid


def column_cells(values: SheetValues, cols: tuple[int, ...]) -> dict[int, dict[int, object]] | None:
    """Only the cells of some columns, as row -> column -> value (None when dates need calamine: build the grid)."""
    if values.dated:
        return None
    wanted = set(cols)
    out: dict[int, dict[int, object]] = {}
    for r, c, value in values.values:
        if c in wanted:
            out.setdefault(r, {})[c] = value
    return out
