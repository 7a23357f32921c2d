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

from xltool.formats import _bounded
from xltool.formats._sheetxml import Cells
from xltool.formats._xmlparts import unescape
from xltool.formats.page import Grid, SheetFacts
from xltool.forms import col_letter
from xltool.memo import Memo

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
    """A sheet's values as (row, column, value), in the order written (a cell written twice: the later wins), and the
    cells that calamine converts (dates): (row, column, style, type, text). A learnt sheet whose texts were checked
    converts on first use, and only the columns asked for when that is all a reader wants (a return's 校验 sheet)."""

    __slots__ = ("_lazy", "_values", "dated")

    def __init__(self, values: list | None, dated: list, lazy: tuple | None = None) -> None:
        self._values, self.dated, self._lazy = values, dated, lazy

    @property
    def values(self) -> list[tuple[int, int, object]]:
        if self._values is None:
            self._values = _checked_values(*self._lazy)
        return self._values

    def columns(self, wanted: set[int]) -> list[tuple[int, int, object]]:
        if self._values is None:
            plan, raw, strings = self._lazy
            return _checked_values(_columns_plan(plan, frozenset(wanted)), raw, strings)
        return [cell for cell in self._values if cell[1] in wanted]


_COLUMN_PLANS = Memo(256)  # (a learnt plan, columns) -> the plan of those columns' cells


def _columns_plan(plan: tuple, wanted: frozenset[int]) -> tuple:
    key = (id(plan), wanted)
    known = _COLUMN_PLANS.get(key)
    if known is not None and known[0] is plan:
        return known[1]
    numbers, shared, texts, booleans, _, _ = plan
    picked = tuple([cell for cell in cells if cell[2] in wanted] for cells in (numbers, shared, texts, booleans))
    found = (*picked, None, None)
    _COLUMN_PLANS.keep(key, (plan, found))
    return found


def convert(facts: SheetFacts, strings: list[str], dates: frozenset[int]) -> SheetValues:
    """The values of the cells the parse kept (`facts.cells`); malformed ones noted in the facts now.

    A learnt skeleton's cells are read kind by kind through a plan made once (sheets of one template share it): its
    number texts are checked against XML Schema's doubles in one match over them all (remembered: returns of one
    template cache the same check results), its shared-string indexes as one run of ASCII digits within the table;
    the values themselves are made when first asked for. A sheet where a check fails, and any sheet not learnt, is
    read cell by cell at once."""
    cells = facts.cells
    assert isinstance(cells, Cells), type(cells)
    plan = _plan(cells.slots, dates)
    if plan is None or not _all_valid(plan, cells.texts, strings):
        return _in_order(facts, cells, strings, dates)
    return SheetValues(None, [], (plan, cells.texts, strings))


# A character no double of XML Schema holds (INF and NaN aside: never a count). Over the others, float() takes
# exactly the doubles of XML Schema (no "_", no "inf" or "nan", no space inside), and refuses "1e", "+-", "5 0", " ".
_NOT_NUMERIC = re.compile(r"[^0-9.eE+\-\x00 \t\n\r]")


def _all_valid(plan: tuple, raw: list[str], strings: list[str]) -> bool:
    numbers, shared, _texts, booleans, pick_numbers, pick_shared = plan
    if numbers:
        found = pick_numbers(raw)
        if _NOT_NUMERIC.search("\x00".join(found)):
            return False
        try:
            sum(map(float, filter(None, found)))  # in C: every non-empty text a number
        except ValueError:
            return False
    if shared:
        indexes = pick_shared(raw)
        joined = "".join(indexes)
        if not (
            joined.isascii()
            and joined.isdigit()
            and "" not in indexes
            and max(map(len, indexes)) <= 10  # int() refuses thousands of digits; no table is that long
            and max(map(int, indexes)) < len(strings)
        ):
            return False
    return all(raw[i].strip(" \t\n\r") in _BOOLEANS for i, _, _ in booleans)


def _checked_values(plan: tuple, raw: list[str], strings: list[str]) -> list:
    """The values of a learnt sheet whose texts `_all_valid` passed (so nothing here can fail)."""
    numbers, shared, texts, booleans, _, _ = plan
    values: list[tuple[int, int, object]] = []
    append = values.append
    for i, row, col in numbers:
        text = raw[i]
        if text:  # empty: a formula's empty result
            append((row, col, float(text)))
    for i, row, col in shared:
        value = strings[int(raw[i])]
        if value:
            append((row, col, value))
    for i, row, col in texts:
        text = raw[i]
        if text:
            append((row, col, unescape(text) if "_x" in text else text))
    for i, row, col in booleans:
        append((row, col, _BOOLEANS[raw[i].strip(" \t\n\r")]))
    return values


_PLANS = Memo(64)  # learnt skeletons' slot lists (by identity) -> their plan


def _plan(slots: list[tuple[int, int, int, str]], dates: frozenset[int]) -> tuple | None:
    """A learnt skeleton's cells sorted by how their text is read: numbers, shared strings, strings, booleans. None
    for cells not of a learnt skeleton, or holding a number styled as a date, a date, an error value or an unknown
    type (read cell by cell)."""
    if not _bounded.is_learnt(slots):
        return None
    key = (id(slots), dates)
    known = _PLANS.get(key)
    if known is not None and known[0] is slots:
        return known[1]
    numbers: list = []
    shared: list = []
    texts: list = []
    booleans: list = []
    plan: tuple | None = ()
    for i, (row, col, style, kind) in enumerate(slots):
        if kind == "n" and style not in dates:
            numbers.append((i, row, col))
        elif kind == "s":
            shared.append((i, row, col))
        elif kind in ("str", "inlineStr"):
            texts.append((i, row, col))
        elif kind == "b":
            booleans.append((i, row, col))
        else:
            plan = None
            break
    if plan is not None:
        plan = (
            numbers,
            shared,
            texts,
            booleans,
            _picker([i for i, _, _ in numbers]),
            _picker([i for i, _, _ in shared]),
        )
    _PLANS.keep(key, (slots, plan))
    return plan


def _picker(indices: list[int]):
    """The texts at `indices` of a list, as a tuple, in one C call."""
    if len(indices) == 1:
        only = indices[0]
        return lambda raw: (raw[only],)
    return itemgetter(*indices) if indices else (lambda raw: ())


def _in_order(facts: SheetFacts, cells: Cells, strings: list[str], dates: frozenset[int]) -> SheetValues:
    """Cell by cell, in the order written (the later of a cell written twice wins), each text checked."""
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
            index = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else _index(text)
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


MAX_MALFORMED = 64_000  # a return's whole window: every malformed cell a table reads is known as one


def _malformed(facts: SheetFacts, row: int, col: int, text: str) -> None:
    where = f"{col_letter(col)}{row + 1}"
    if where in facts.errors:  # already noted (a cell written twice), or an error value
        return
    facts.errors[where] = text.strip()[:40] or "（空）"
    if len(facts.malformed) < MAX_MALFORMED:
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
    out: dict[int, dict[int, object]] = {}
    for r, c, value in values.columns(set(cols)):
        out.setdefault(r, {})[c] = value
    return out
