"""A worksheet whose cells are written the plain way, read without an XML event per cell — proved by the parse.

Excel, WPS, LibreOffice and XlsxWriter write `<sheetData>` as rows of cells, each cell `<c r="B7" s="3" t="s">` with
an optional `<f>` and an optional `<v>`: nothing else. For such a sheet a per-cell walk of the XML parser costs more
than everything else in reading a return. So:

1. the bytes between `<sheetData>` and `</sheetData>` must match, in full, a grammar that admits only those tokens
   (row tags holding neither `<` nor `>` nor a namespace declaration; cells with a plain reference, a numeric style,
   a known type; a formula's attributes with XML names, none written twice; their formula and value texts holding
   no `<`);
2. the rest of the document — the same bytes with every cell cut out, rows kept — is parsed by the real parser
   (xltool.formats._sheetxml), which must find the worksheet's own `<sheetData>` exactly where the bytes say it is
   (not in a comment, CDATA or another element) and no cell left; no other element of that name may be there at all
   (its value-less cells would meet the ones cut out: a cell written twice, a formula replaced);
3. every text is decoded as XML decodes it (the five entities and character references; anything else — a carriage
   return, `]]>`, a character XML forbids, bad UTF-8, a declared encoding other than "UTF-8" — sends the sheet to the
   full parse), and a cell outside the window or written twice does too.

Then the grammar's tokens are exactly the elements the parser would have met, in the default namespace of the
worksheet, and the cells' facts are computed as xltool.formats._sheetxml computes them (tests compare both on every
workbook we have and on generated spellings).
"""

from __future__ import annotations

import re

from xltool.formats._sheetxml import MAX_FINDINGS, Cells, parse_sheet, place
from xltool.formats._unsafe import unsafe_formula
from xltool.formats._xmlparts import MAX_TEXT
from xltool.formats.page import MAX_FORMULA_TEXT, SheetFacts
from xltool.memo import Memo
from xltool.sources import ReadError

_OPEN, _CLOSE = b"<sheetData>", b"</sheetData>"
_ROW_START = rb'<row(?:\s+[A-Za-z_][\w.:-]*="[^"<>&]*")*\s*'
# Groups: reference, style, type, the formula element, its text, the value's text.
_CELL = (
    rb'<c r="([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]{1,9})")?(?: t="(n|s|str|b|e|d)")?'
    rb'(?:/>|>(<f(?: [a-zA-Z][a-zA-Z0-9]*="[^"<>&]*")*(?:/>|>([^<]*)</f>))?(<v>[^<]*</v>)?</c>)'
)
_ATTRIBUTE_NAMES = re.compile(rb' ([a-zA-Z0-9]+)="')  # of a formula's start tag (its values hold no ">")
_CELL_TOKEN = re.sub(rb"\((?!\?)", b"(?:", _CELL)  # the same grammar without its groups
_CONTENT = re.compile(rb"(?:" + _ROW_START + rb"(?:/>|>(?:" + _CELL_TOKEN + rb")*</row>))*")
# In content the grammar matches in full, every "<" starts one of its tokens (no attribute value or text holds one),
# so these find exactly the grammar's cells and row tags.
_CELLS = re.compile(_CELL)
_ROW_TAGS = re.compile(_ROW_START + rb"/?>|</row>")
_REFERENCE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9A-Fa-f]{1,6}));")
_REFERENCE_BYTES = re.compile(_REFERENCE.pattern.encode())
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class _NotPlain(Exception):
    pass


def _legal(code: int) -> bool:
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _reference(m: re.Match[str]) -> str:
    named, decimal, hexadecimal = m.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not _legal(code):
        raise _NotPlain
    return chr(code)


def _text(raw: bytes) -> str:
    """An element's text as XML reads it (the whole content was checked for forbidden bytes and UTF-8 already);
    _NotPlain where the parser should decide."""
    text = raw.decode("utf-8")
    if "&" not in text:
        return text
    if "&#" in text:
        if b"&" in _REFERENCE_BYTES.sub(b"", raw):
            raise _NotPlain  # an entity XML does not know, or a bare ampersand: the parser says what is wrong
        return _REFERENCE.sub(_reference, text)
    # Every "&" of well-formed text starts a reference, so each "&lt;" found is one; "&amp;" goes last (via NUL,
    # which the content holds none of) so that "&amp;lt;" stays "&lt;".
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
    text = text.replace("&amp;", "\x00")
    if "&" in text:
        raise _NotPlain
    return text.replace("\x00", "&")


_MARK_CONTROLS = bytes(0 if (b < 32 and b not in (9, 10)) else 1 for b in range(256))


def _forbidden(content: bytes) -> bool:
    """Bytes XML forbids or reads otherwise: C0 controls but tab and line feed, a carriage return (normalised),
    U+FFFE and U+FFFF, "]]>" in text."""
    return (
        b"\x00" in content.translate(_MARK_CONTROLS)
        or b"]]>" in content
        or b"\xef\xbf\xbe" in content
        or b"\xef\xbf\xbf" in content
    )


def read_plain(xml: bytes, window: tuple[int, int], part: str = "sheet") -> SheetFacts | None:
    """The facts of a sheet written the plain way (see the module docstring); None when it is not (then parse)."""
    start = xml.find(_OPEN)
    if start < 0:
        return None
    first = start + len(_OPEN)
    end = xml.find(_CLOSE, first)
    if end < 0:
        return None
    content = xml[first:end]
    if b"xmlns" in content or _forbidden(content):
        return None
    # Another sheetData may hold cells (value-less, or a formula alone) for places written here too: the parse
    # reads them with these; the rest of the document, parsed below, would read them alone.
    if xml.find(b"sheetData", 0, start) >= 0 or xml.find(b"sheetData", end + len(_CLOSE)) >= 0:
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _CONTENT.fullmatch(content) is None:
        return None
    rows = _ROW_TAGS.findall(content)
    cells = _CELLS.findall(content)
    data_at: list[int] = []
    try:
        facts = parse_sheet(xml[:first] + b"".join(rows) + xml[end:], window, part, data_at=data_at)
    except ReadError:
        return None  # malformed around the cells: the full parse says so in its own words
    kept = facts.cells
    if (
        data_at != [start]
        or not isinstance(kept, Cells)
        or kept.slots
        or facts.stray
        or (kept.encoding or "utf-8").lower() != "utf-8"  # expat reads a document declared "utf8" otherwise
    ):
        return None
    try:
        return _with_cells(facts, cells, window)
    except _NotPlain:
        return None


_KINDS = {b"": "n", b"n": "n", b"s": "s", b"str": "str", b"b": "b", b"e": "e", b"d": "d"}
_PLACES: dict[bytes, tuple[int, int, str] | None] = {}  # b"B7" -> place("B7"), filled as met
_STYLES: dict[bytes, int] = {b"": -1}
_FORMULAS = Memo(50_000)  # a formula's raw text -> as XML reads it (returns of one template share their formulas)
_SAFE = Memo(64)  # all formulas of a sheet, joined, already found harmless (compared whole, not by hash)


def _with_cells(facts: SheetFacts, cells: list[tuple[bytes, ...]], window: tuple[int, int]) -> SheetFacts | None:
    """The cells' facts as xltool.formats._sheetxml._Walk._close_cell records them."""
    max_rows, max_cols = window
    slots: list[tuple[int, int, int, str]] = []
    texts: list[str] = []
    seen: set[tuple[int, int]] = set()
    formulas, errors = facts.formulas, facts.errors
    places, styles, kinds, known_formula = _PLACES, _STYLES, _KINDS, _FORMULAS.get
    for ref, style, kind, formula_element, formula, value in cells:
        pos = places.get(ref)
        if pos is None:
            pos = place(ref.decode("ascii"))
            if pos is None:
                return None  # no cell at all: the parse counts it
            if len(places) < 200_000:
                places[ref] = pos
        row, col, where = pos
        if row >= max_rows or col >= max_cols or (row, col) in seen:
            return None  # outside the window (the parse counts it) or written twice (the parse says so)
        seen.add((row, col))
        if formula_element:
            tag = formula_element[: formula_element.find(b">") + 1]
            if tag.count(b'="') > 1:  # an attribute written twice is an error the parse reports
                names = _ATTRIBUTE_NAMES.findall(tag)
                if len(set(names)) != len(names):
                    return None
            if not formula:
                formulas[where] = ""
            else:
                text = known_formula(formula)
                if text is None:
                    text = _FORMULAS.keep(formula, _text(formula)[:MAX_FORMULA_TEXT])
                formulas[where] = text
        if value:
            value = value[3:-4]  # the <v> element's text
            text = value.decode("utf-8") if b"&" not in value else _text(value)
            if len(text) > MAX_TEXT:
                text = text[:MAX_TEXT]
            s = styles.get(style)
            if s is None:
                s = styles.setdefault(style, int(style)) if len(styles) < 100_000 else int(style)
            k = kinds[kind]
            slots.append((row, col, s, k))
            texts.append(text)
            if k == "e":
                errors[where] = text.strip()[:40]
        elif kind == b"e":
            errors[where] = "#N/A"
    if formulas:
        joined = "\n".join(formulas.values())
        if joined not in _SAFE:
            if unsafe_formula(joined):  # one look at all; the rare hit is located
                found = [(where, text) for where, text in formulas.items() if unsafe_formula(text)]
                facts.unsafe = (found + facts.unsafe)[:MAX_FINDINGS]
            else:
                _SAFE.keep(joined, True)
    facts.cells = Cells(slots, texts, facts.cells.encoding)
    return facts
