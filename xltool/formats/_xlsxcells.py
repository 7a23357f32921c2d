"""Cell values straight from a sheet's XML bytes, for the sheets the bounded scan has already walked.

The bounded scan (xltool.formats._bounded) decompresses and scans every sheet anyway; for a sheet written the way
Excel, WPS, LibreOffice and XlsxWriter write (every cell names its place, all inside the window) the values can be
taken in the same pass, so calamine need not unzip and parse the file a second time. The grid is exactly what
python-calamine's `to_python(skip_empty_area=False)` returns (tests compare the two on every workbook we have): rows
and columns from A1 to the last cell holding a value, "" for empty cells, numbers as float, booleans as bool, text as
str (shared, inline and formula strings), error values as "". A sheet this module cannot reproduce exactly —
a number styled as a date or time (calamine converts those), a `t="d"` cell, an unknown cell type — returns None and
the caller asks calamine.
"""

from __future__ import annotations

import html
import re
from operator import itemgetter

from xltool.formats import _bounded
from xltool.formats._bounded import ScannedCells
from xltool.formats.page import Grid
from xltool.memo import Memo

_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"([^>]*?)(?:/>|>(.*?)</c>)', re.DOTALL)
_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_STYLE = re.compile(rb'\bs="([0-9]+)"')
_V = re.compile(rb"<v>(.*?)</v>|<v/>", re.DOTALL)
_IS_TEXT = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.DOTALL)
_PLAIN_SI = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
_SI = re.compile(rb"<si>(.*?)</si>|<si/>", re.DOTALL)
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.DOTALL)
_XF = re.compile(rb"<xf\b([^>]*?)(?:/>|>)")
_NUMFMT = re.compile(rb'<numFmt\b[^>]*?numFmtId="([0-9]+)"[^>]*?formatCode="([^"]*)"')
_CELL_XFS = re.compile(rb"<cellXfs\b.*?</cellXfs>", re.DOTALL)
_NUMFMT_ID = re.compile(rb'\bnumFmtId="([0-9]+)"')
_DATE_CODES = re.compile(r"[dmyhsDMYHS]")
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # literal text, escaped characters, colours and conditions
BUILTIN_DATES = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}  # incl. the CJK date formats


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return html.unescape(text) if "&" in text else text


_TEXTS = Memo(50_000)  # shared strings met before: a template's labels recur in every return


def shared_strings(xml: bytes | None) -> list[str]:
    """The shared-string table: each item's text runs joined, phonetic guides (rPh) left out, as calamine does."""
    if not xml:
        return []
    plain = _PLAIN_SI.findall(xml)  # the common case: each item one run of text
    if len(plain) == xml.count(b"<si>") + xml.count(b"<si/>"):
        known, keep = _TEXTS.get, _TEXTS.keep
        return [known(t) or keep(t, _text(t)) for t in plain]
    out = []
    for m in _SI.finditer(xml):
        body = m.group(1) or b""
        if b"<rPh" in body:
            body = _PHONETIC.sub(b"", body)
        out.append("".join(_text(t.group(1) or b"") for t in _IS_TEXT.finditer(body)))
    return out


def date_styles(styles_xml: bytes | None) -> frozenset[int]:
    """Indices of the cell formats (cellXfs) whose number format shows a date or time: calamine turns such numbers
    into dates, so a sheet that uses one is left to calamine."""
    if not styles_xml:
        return frozenset()
    known = _DATE_STYLES.get(styles_xml)
    if known is not None:
        return known
    found = _date_styles(styles_xml)
    return _DATE_STYLES.keep(styles_xml, found) if len(styles_xml) < 1024 * 1024 else found


_DATE_STYLES = Memo(16)  # styles.xml -> its date styles (returns of one template share it)


def _date_styles(styles_xml: bytes) -> frozenset[int]:
    custom = {}
    for fid, code in _NUMFMT.findall(styles_xml):
        plain = _QUOTED.sub("", html.unescape(code.decode("utf-8", "replace")))
        custom[int(fid)] = bool(_DATE_CODES.search(plain.replace("General", "")))
    xfs = _CELL_XFS.search(styles_xml)
    out = set()
    for i, m in enumerate(_XF.finditer(xfs.group(0) if xfs else b"")):
        fid = _NUMFMT_ID.search(m.group(1))
        n = int(fid.group(1)) if fid else 0
        if custom.get(n, n in BUILTIN_DATES):
            out.add(i)
    return frozenset(out)


def col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def sheet_grid(cells_or_xml: ScannedCells | list | bytes, strings: list[str], dates: frozenset[int]) -> Grid | None:
    """The sheet's values as calamine's dense grid, or None when only calamine can say (see the module docstring).

    Takes the cells the bounded scan found (`_bounded.ScannedCells`, or its one-pass regex's `SIMPLE_CELL` tuples),
    or the XML of a sheet whose cells all carry their reference (the scan's slower path has checked that)."""
    if isinstance(cells_or_xml, bytes):
        return _general_grid(cells_or_xml, strings, dates)
    if isinstance(cells_or_xml, list):
        cells_or_xml = ScannedCells.of(cells_or_xml)
    values = _values(cells_or_xml.slots, cells_or_xml.raws, strings, dates)
    return None if values is None else _dense(values)


def _values(
    slots: list[tuple[int, int, int, bytes]], raws: list[bytes], strings: list[str], dates: frozenset[int]
) -> list[tuple[int, int, object]] | None:
    """(row, column, value) of the cells holding a value, as calamine reads them; None when calamine must read."""
    plan = _plan(slots, dates)
    if plan is None:
        return _values_in_order(slots, raws, strings, dates)
    numbers, shared, texts, booleans, refused = plan
    if any(raws[i] for i in refused):
        return None
    values: list[tuple[int, int, object]] = []
    append = values.append
    for i, row, col in numbers:
        raw = raws[i]
        if raw:
            try:
                append((row, col, float(raw)))
            except ValueError:
                if raw.strip():
                    return None  # a formula's empty result is blank; other text is not a number
    for i, row, col in shared:
        raw = raws[i]
        if raw:
            try:
                text = strings[int(raw)]
            except (ValueError, IndexError):
                return None
            if text:
                append((row, col, text))
    for i, row, col in texts:
        raw = raws[i]
        if raw:
            append((row, col, _text(raw)))
    for i, row, col in booleans:
        raw = raws[i]
        if raw:
            append((row, col, raw.strip() in (b"1", b"true")))
    return values


_Plan = tuple[list, list, list, list, list]
_PLANS = Memo(64)  # by the id of a learnt skeleton's slots


def _plan(slots: list[tuple[int, int, int, bytes]], dates: frozenset[int]) -> _Plan | None:
    """A learnt skeleton's cells sorted by how their text is read: numbers, shared strings, formula strings, booleans,
    and those calamine must read (a number styled as a date, an unknown type). None when the cells are not a learnt
    skeleton's (then read in order), or when a cell is listed twice (the later one wins, as in order)."""
    key = (id(slots), dates)
    known = _PLANS.get(key)
    if known is not None and known[0] is slots:
        return known[1]
    if not _bounded.is_learnt(slots):
        return None
    numbers: list = []
    shared: list = []
    texts: list = []
    booleans: list = []
    refused: list = []
    for i, (row, col, style, kind) in enumerate(slots):
        if (not kind or kind == b"n") and style in dates:
            refused.append(i)
        elif not kind or kind == b"n":
            numbers.append((i, row, col))
        elif kind == b"s":
            shared.append((i, row, col))
        elif kind == b"str":
            texts.append((i, row, col))
        elif kind == b"b":
            booleans.append((i, row, col))
        elif kind != b"e":
            refused.append(i)
    plan = (numbers, shared, texts, booleans, refused)
    if len({(row, col) for row, col, _, _ in slots}) != len(slots):
        plan = None
    _PLANS.keep(key, (slots, plan))
    return plan


def _values_in_order(
    slots: list[tuple[int, int, int, bytes]], raws: list[bytes], strings: list[str], dates: frozenset[int]
) -> list[tuple[int, int, object]] | None:
    values: list[tuple[int, int, object]] = []
    for (row, col, style, kind), raw in zip(slots, raws, strict=True):
        if not raw:
            continue
        if not kind or kind == b"n":
            if style in dates:
                return None
            try:
                value: object = float(raw)
            except ValueError:
                if not raw.strip():
                    continue  # a formula's empty result
                return None
        elif kind == b"s":
            try:
                value = strings[int(raw)]
            except (ValueError, IndexError):
                return None
        elif kind == b"str":
            value = _text(raw)
        elif kind == b"b":
            value = raw.strip() in (b"1", b"true")
        elif kind == b"e":
            continue
        else:
            return None
        if value != "":
            values.append((row, col, value))
    return values


def column_cells(
    cells: ScannedCells, cols: tuple[int, ...], strings: list[str], dates: frozenset[int]
) -> dict[int, dict[int, object]] | None:
    """Only the cells of some columns, as row -> column -> value, from the scan's cell tuples (None: ask calamine)."""
    wanted = set(cols)
    picked = [i for i, slot in enumerate(cells.slots) if slot[1] in wanted]
    grid = sheet_grid(ScannedCells([cells.slots[i] for i in picked], [cells.raws[i] for i in picked]), strings, dates)
    if grid is None:
        return None
    out = {r: {c: row[c] for c in cols if c < len(row) and row[c] != ""} for r, row in enumerate(grid)}
    return {r: got for r, got in out.items() if got}


_ROW, _COL = itemgetter(0), itemgetter(1)


def _dense(cells: list[tuple[int, int, object]]) -> Grid:
    if not cells:
        return []
    width = max(map(_COL, cells)) + 1
    grid: Grid = [[""] * width for _ in range(max(map(_ROW, cells)) + 1)]
    for r, c, value in cells:
        grid[r][c] = value
    return grid


def _general_grid(xml: bytes, strings: list[str], dates: frozenset[int]) -> Grid | None:
    """Cells written any way (attributes in another order, inline strings): put in the one-pass scan's tuple shape
    and converted by the same code."""
    inline: list[tuple[int, int, object]] = []
    cells: list[tuple[bytes, ...]] = []
    for letters, row, attrs, body in _CELL.findall(xml):
        if not body:
            continue  # a styled empty cell
        t = _TYPE.search(attrs)
        kind = t.group(1) if t else b""
        if kind == b"inlineStr":
            if b"<is" not in body or _IS_TEXT.search(body.split(b"</is>")[0]) is None:
                continue
            runs = body[body.index(b"<is") : body.rindex(b"</is>")] if b"</is>" in body else body
            if b"<rPh" in runs:
                runs = _PHONETIC.sub(b"", runs)
            value = "".join(_text(x.group(1) or b"") for x in _IS_TEXT.finditer(runs))
            if value != "":
                inline.append((int(row) - 1, col_number(letters), value))
            continue
        v = _V.search(body)
        if v is None or v.group(1) is None:
            continue
        style = _STYLE.search(attrs)
        cells.append((b"", letters, row, style.group(1) if style else b"", kind, b"", b"", v.group(1)))
    scanned = ScannedCells.of(cells)
    values = _values(scanned.slots, scanned.raws, strings, dates)
    return None if values is None else _dense(values + inline)
