"""Bounded reading of untrusted workbooks: only the cells inside a window are ever materialised.

A spreadsheet parser builds one dense grid from the first to the last cell of a sheet, so a single cell at XFD1048576
makes it allocate for 17 billion cells. Before any parser sees an xlsx, each sheet's XML is scanned as bytes (a linear
pass, no grid): every cell outside the window is cut out of a private in-memory copy and only counted (STRAY-CELLS),
and the same pass collects what the file says about itself — which cells hold formulas and what those formulas are,
unsafe formulas anywhere (other workbooks, DDE, web services), hidden rows and columns, merged ranges, sheet
protection. ODS content is streamed the same way (xltool.formats.ods).
"""

from __future__ import annotations

import html
import re
import zipfile

from xltool.codes import Code
from xltool.formats.page import MAX_FORMULA_TEXT, SheetFacts, xml_text
from xltool.forms import col_letter
from xltool.memo import Memo
from xltool.sources import ReadError, member_bytes

WINDOW = (1000, 64)  # rows, columns read from a sheet: a return's sheets use under 100 x 16
LIST_WINDOW = (100_000, 256)  # a roll-up's list sheets (明细, 来源 …): one row per unit, one column per cell
MAX_SHEET_BYTES = 20 * 1024 * 1024  # unzipped XML of one sheet of a return (a real one is under 100 KB)
MAX_LIST_SHEET_BYTES = 200 * 1024 * 1024  # a roll-up's 明细 for 100,000 units is about 150 MB
MAX_FINDINGS = 50  # stray cells, unsafe formulas, merges … kept per sheet (counted beyond)

UNSAFE_FUNCTIONS = re.compile(
    r"\b(?:_xlfn\.|_xludf\.)?(WEBSERVICE|FILTERXML|HYPERLINK|CALL|REGISTER(?:\.ID)?|INDIRECT|RTD|EXEC|DDE|DDEAUTO|"
    r"IMAGE|FOPEN|FWRITE|FREAD|URLDECODE|SHELL)\s*\(",
    re.IGNORECASE,
)
EXTERNAL_REFERENCE = re.compile(r"\[[^\]]+\][^!]*!|\[\d+\]")  # [1]Sheet1!A1, '[book.xlsx]Sheet'!A1
DDE = re.compile(r"[A-Za-z0-9_.\-]+\|")  # cmd|' /C calc'!A0


_UNSAFE = re.compile(f"{UNSAFE_FUNCTIONS.pattern}|{EXTERNAL_REFERENCE.pattern}|{DDE.pattern}", re.IGNORECASE)


_TRIGGERS = (
    "|",
    "[",
    "webservice",
    "filterxml",
    "hyperlink",
    "call",
    "register",
    "indirect",
    "rtd",
    "exec",
    "dde",
    "image",
    "fopen",
    "fwrite",
    "fread",
    "urldecode",
    "shell",
)  # nothing unsafe can match without one


def unsafe_formula(text: str) -> bool:
    """A formula that reaches outside the workbook or runs something: never trusted, whatever it caches."""
    low = text.lower()
    return any(t in low for t in _TRIGGERS) and bool(_UNSAFE.search(text))


# --- xlsx sheet XML, as bytes --------------------------------------------------------------------------------------

_TOKEN = re.compile(rb"<row\b[^>]*>|<c\b[^>]*?/>|<c\b[^>]*>.*?</c>", re.DOTALL)
_ATTR = re.compile(rb'([A-Za-z:]+)\s*=\s*"([^"]*)"')
_REF = re.compile(rb"^([A-Z]{1,3})([0-9]{1,7})$")
_FORMULA = re.compile(rb"<f\b[^>]*?(?:/>|>(.*?)</f>)", re.DOTALL)
_VALUE = re.compile(rb"<v>(.*?)</v>", re.DOTALL)
_COL = re.compile(rb"<col\b[^>]*/?>")
_MERGE = re.compile(rb'<mergeCell\b[^>]*\bref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')
_PROTECTION = re.compile(rb"<sheetProtection\b[^>]*\bsheet=\"(?:1|true)\"")
_EMBEDDED = re.compile(rb"<(?:oleObjects|controls)\b")
_SHEET_DATA_END = re.compile(rb"</sheetData>")


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR.findall(tag))


def col_index(letters: bytes | str) -> int:
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode("ascii"):
        n = n * 26 + ord(ch) - 64
    return n - 1


def _position(ref: bytes) -> tuple[int, int] | None:
    m = _REF.match(ref)
    if not m:
        return None
    return int(m.group(2)) - 1, col_index(m.group(1))


_CELL_COLS = re.compile(rb'<c r="([A-Z]{1,3})[0-9]{1,7}"')
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"')
_CELL_ROWS = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"')
_FIRST_FORMULA = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*(?<!/)>\s*<f\b[^>]*?(?:/>|>(.*?)</f>)', re.DOTALL)
_FORMULA_OPEN = re.compile(rb"<f[\s>/]")
_CELL_OPEN = re.compile(rb"<c[\s>/]")
_FORMULA_CELL = re.compile(
    rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*(?<!/)>(?:(?!</c>).)*?<f\b[^>]*?(?:/>|>(.*?)</f>)', re.DOTALL
)
_ERROR_CELL = re.compile(
    rb'<c r="([A-Z]{1,3}[0-9]{1,7})"[^>]*\bt="e"[^>]*(?<!/)>(?:(?!</c>).)*?<v>(.*?)</v>', re.DOTALL
)


# A cell as Excel, WPS, XlsxWriter and LibreOffice write it: r, then s, then t; an optional formula (the schema puts
# it first); an optional value. Groups: reference, column, row, style, type, the formula element, its text, the value.
SIMPLE_CELL = re.compile(
    rb'<c r="(([A-Z]{1,3})([0-9]{1,7}))"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    rb"(?:/>|>(<f\b[^>]*?(?:/>|>([^<]*)</f>))?(?:<v>([^<]*)</v>|<v/>)?</c>)"
)
_CELL_START = re.compile(rb"<c[\s>/]")
# The function names UNSAFE_FUNCTIONS can match are whole words: a formula text's words (letters, digits, "_",
# lower-cased by one translate) that include none of them, and no "|" or "[", cannot be unsafe.
_WORD_TABLE = bytes(
    (b + 32 if 65 <= b <= 90 else b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b == 95) else 32
    for b in range(256)
)
_TRIGGER_WORDS = frozenset(t.encode() for t in _TRIGGERS if t.isalpha())


_KNOWN_SAFE = Memo(64)  # formula texts of whole sheets already found harmless in this process


def _maybe_unsafe_cached(raw: bytes) -> bool:
    """Returns made from one template share every formula: a sheet's formulas, byte for byte the same as a sheet
    already found harmless, need no second look (the set compares whole texts, not hashes; it is kept small)."""
    if raw in _KNOWN_SAFE:
        return False
    if _maybe_unsafe(raw):
        return True
    _KNOWN_SAFE.keep(raw, True)
    return False


def _maybe_unsafe(raw: bytes) -> bool:
    return b"|" in raw or b"[" in raw or not _TRIGGER_WORDS.isdisjoint(raw.translate(_WORD_TABLE).split())


def _note_duplicates(places: list[bytes], facts: SheetFacts) -> None:
    """Cells written twice: every reader we know (LibreOffice, calamine, openpyxl) keeps the last; Excel calls the
    file damaged. Noted so the return says so (DUPLICATE-CELLS)."""
    seen: set[bytes] = set()
    for place in places:
        if place in seen and len(facts.duplicates) < MAX_FINDINGS:
            facts.duplicates.append(place.decode("ascii"))
        seen.add(place)


def scan_sheet(xml: bytes, window: tuple[int, int]) -> tuple[bytes, SheetFacts]:
    """The sheet XML with every cell outside the window cut out, and the facts of the whole sheet."""
    skeleton, raws = _skeleton(xml, window)
    known = _KNOWN.get(skeleton) if skeleton is not None else None
    if known is not None:
        return xml, known.facts(raws)
    bounded, facts = _scan(xml, window)
    if isinstance(facts.cells, list):
        if skeleton is not None:
            if hash(skeleton) in _SEEN:  # met twice: worth learning (returns of one template and writer share it)
                _learn(skeleton, raws, facts)
            else:
                _SEEN.keep(hash(skeleton), True)
        facts.cells = ScannedCells.of(facts.cells)
    return bounded, facts


# --- sheets met before ---------------------------------------------------------------------------------------------
# Returns filled in one template and saved by one program differ, sheet by sheet, only inside their <v> elements: the
# cells, their styles and types, the formulas, merges, hidden rows and protection are the same bytes. A sheet's
# skeleton (its XML with every <v> element's text cut out) therefore settles all of its facts; once a skeleton has
# been scanned in full twice, a later sheet with the same skeleton takes those facts and only reads its values.

MAX_SKELETONS = 96  # skeletons learnt: 6 sheets a return, so the returns of 16 writers (each tens of KB)
MAX_SKELETON_SHEET = 1024 * 1024  # larger sheets (a roll-up's lists) are always scanned
_VALUE_SPLIT = re.compile(rb"<v>([^<]*)</v>")
_CELL_HEAD = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?')


class ScannedCells:
    """The cells holding a value, as the scan found them: (row, column, style or -1, type) of each, and the raw text
    of its <v> element (xltool.formats._xlsxcells turns these into values)."""

    __slots__ = ("raws", "slots")

    def __init__(self, slots: list[tuple[int, int, int, bytes]], raws: list[bytes]) -> None:
        self.slots, self.raws = slots, raws

    @classmethod
    def of(cls, cells: list[tuple[bytes, ...]]) -> ScannedCells:
        """From `SIMPLE_CELL` matches."""
        slots: list[tuple[int, int, int, bytes]] = []
        raws: list[bytes] = []
        columns, rows = _COLUMNS, _ROWS
        for _ref, letters, row, style, kind, _formula, _text, raw in cells:
            if raw:
                col = columns.get(letters)
                r = rows.get(row)
                slots.append(
                    (
                        _row(row) if r is None else r,
                        _column(letters) if col is None else col,
                        int(style) if style else -1,
                        kind,
                    )
                )
                raws.append(raw)
        return cls(slots, raws)


class _Known:
    """What a learnt skeleton says: the facts of every sheet that has it, and which cell each <v> belongs to."""

    __slots__ = (
        "duplicates",
        "embedded",
        "formulas",
        "hidden_cols",
        "hidden_rows",
        "merges",
        "protected",
        "slots",
        "unsafe",
    )

    def __init__(self, facts: SheetFacts, slots: list[tuple[int, int, int, bytes]]) -> None:
        self.formulas = {k: dict.__getitem__(facts.formulas, k) for k in facts.formulas}  # raw, still undecoded
        self.unsafe, self.merges = tuple(facts.unsafe), tuple(facts.merges)
        self.protected, self.embedded = facts.protected, facts.embedded
        self.hidden_rows, self.hidden_cols = frozenset(facts.hidden_rows), frozenset(facts.hidden_cols)
        self.duplicates = tuple(facts.duplicates)  # cells written twice are in the skeleton too
        self.slots = slots

    def facts(self, raws: list[bytes]) -> SheetFacts:
        facts = SheetFacts(
            protected=self.protected,
            embedded=self.embedded,
            hidden_rows=set(self.hidden_rows),
            hidden_cols=set(self.hidden_cols),
            merges=list(self.merges),
            unsafe=list(self.unsafe),
            duplicates=list(self.duplicates),
            plain=True,
        )
        facts.formulas.update(self.formulas)
        facts.cells = ScannedCells(self.slots, raws)
        return facts


_KNOWN: dict[bytes, _Known] = {}
_LEARNT_SLOTS: set[int] = set()  # ids of the learnt skeletons' slot lists (kept alive by _KNOWN)


def is_learnt(slots: list) -> bool:
    """True for the slot list of a learnt skeleton (shared by every sheet read through it)."""
    return id(slots) in _LEARNT_SLOTS and any(k.slots is slots for k in _KNOWN.values())


_SEEN = Memo(MAX_SKELETONS * 8)  # hashes of skeletons met once


def _skeleton(xml: bytes, window: tuple[int, int]) -> tuple[bytes | None, list[bytes]]:
    """The sheet's skeleton (prefixed by the window) and the raw text of each <v>, in order; (None, []) when the
    sheet is not one to learn (a NUL byte would make two skeletons alike; a list sheet is too large to keep)."""
    if len(xml) > MAX_SKELETON_SHEET or window != WINDOW or b"\x00" in xml:
        return None, []
    pieces = _VALUE_SPLIT.split(xml)
    return b"\x00".join(pieces[0::2]), pieces[1::2]


def _learn(skeleton: bytes, raws: list[bytes], facts: SheetFacts) -> None:
    """Keep a fully scanned sheet's facts under its skeleton, with the cell each <v> belongs to: the cell that opens
    last before it (a cell holds one <v>). Learnt only when that agrees with the full scan cell for cell."""
    if facts.errors or facts.stray or not isinstance(facts.cells, list) or len(_KNOWN) >= MAX_SKELETONS:
        return
    slots = []
    for piece in skeleton.split(b"\x00")[:-1]:
        start = piece.rfind(b"<c ")
        head = _CELL_HEAD.match(piece, start) if start >= 0 else None
        tag_end = piece.find(b">", start)
        if head is None or tag_end < 0 or piece[tag_end - 1] == 47 or b"</c>" in piece[tag_end:]:
            return  # a <v> that is not inside an open cell
        letters, row, style, kind = head.groups()
        slots.append((int(row) - 1, _column(letters), int(style) if style else -1, kind or b""))
    if len(slots) != len(raws):
        return
    scanned = ScannedCells.of(facts.cells)
    mine = [(slot, raw) for slot, raw in zip(slots, raws, strict=True) if raw]
    if [m[0] for m in mine] != scanned.slots or [m[1] for m in mine] != scanned.raws:
        return
    _KNOWN[skeleton] = _Known(facts, slots)
    _LEARNT_SLOTS.add(id(slots))


def _scan(xml: bytes, window: tuple[int, int]) -> tuple[bytes, SheetFacts]:
    facts = SheetFacts(
        protected=_PROTECTION.match(xml, max(xml.find(b"<sheetProtection"), 0)) is not None,
        embedded=(b"<oleObjects" in xml or b"<controls" in xml) and bool(_EMBEDDED.search(xml)),
    )
    facts.cells = _scan_simple(xml, window, facts)
    facts.plain = facts.cells is not None or _scan_inside(xml, window, facts)
    if not facts.plain:
        xml = _scan_cells(xml, window, facts)
    _scan_layout(xml, window, facts)
    return xml, facts


def _scan_simple(xml: bytes, window: tuple[int, int], facts: SheetFacts) -> list[tuple[bytes, ...]] | None:
    """The commonest case in one regex pass: every cell written the simple way and inside the window. Returns the
    cells (for their values, xltool.formats._xlsxcells) with the formulas and error values noted; None otherwise."""
    cells = SIMPLE_CELL.findall(xml)
    if len(cells) != len(_CELL_START.findall(xml)):
        return None
    if len({c[0] for c in cells}) != len(cells):
        _note_duplicates([c[0] for c in cells], facts)
    max_rows, max_cols = window
    if cells and (
        max(map(int, {c[2] for c in cells})) > max_rows  # a few dozen distinct rows
        or max(col_index(letters) for letters in {c[1] for c in cells}) >= max_cols
    ):
        return None
    formulas = {c[0].decode("ascii"): c[6] for c in cells if c[5]}  # raw bytes, decoded when looked at
    if formulas:
        facts.formulas.update(formulas)
        if _maybe_unsafe_cached(b"\n".join(formulas.values())):  # rare: then each formula is looked at
            found = [(where, facts.formulas[where]) for where in formulas]
            facts.unsafe = [(where, text) for where, text in found if unsafe_formula(text)][:MAX_FINDINGS]
    if b't="e"' in xml:  # parsers read an error value as blank; it is not
        for c in cells:
            if c[4] == b"e":
                facts.errors[c[0].decode("ascii")] = xml_text(c[7])[:40]
    return cells


def _scan_inside(xml: bytes, window: tuple[int, int], facts: SheetFacts) -> bool:
    """The common case, at regex speed: every cell names its place first (as Excel, WPS and LibreOffice write) and
    lies inside the window. False when a cell lacks its reference or lies outside (then every cell is walked)."""
    refs = _CELL_COLS.findall(xml)
    if len(refs) != len(_CELL_OPEN.findall(xml)):
        return False
    places = _CELL_REF.findall(xml)
    if len(set(places)) != len(places):
        _note_duplicates(places, facts)
    max_rows, max_cols = window
    if refs and (max(map(int, _CELL_ROWS.findall(xml))) > max_rows or max(col_index(c) for c in set(refs)) >= max_cols):
        return False
    if b"<f" in xml:
        found = _FIRST_FORMULA.findall(xml)
        if len(found) == len(_FORMULA_OPEN.findall(xml)):  # the schema puts <f> first in its cell: one match each
            for where, raw in found:
                text = raw[: MAX_FORMULA_TEXT * 4].decode("utf-8", "replace")
                facts.formulas[where.decode("ascii")] = (html.unescape(text) if "&" in text else text)[
                    :MAX_FORMULA_TEXT
                ]
        else:  # a writer that puts the value first: the slower pattern that looks anywhere in the cell
            for m in _FORMULA_CELL.finditer(xml):
                raw = (m.group(2) or b"")[: MAX_FORMULA_TEXT * 4].decode("utf-8", "replace")
                facts.formulas[m.group(1).decode("ascii")] = (html.unescape(raw) if "&" in raw else raw)[
                    :MAX_FORMULA_TEXT
                ]
    if unsafe_formula("\n".join(facts.formulas.values())):  # one pass over all formulas; the rare hit is located
        facts.unsafe = [(where, text) for where, text in facts.formulas.items() if unsafe_formula(text)][:MAX_FINDINGS]
    if b't="e"' in xml:
        for m in _ERROR_CELL.finditer(xml):  # parsers read an error value as blank; it is not
            facts.errors[m.group(1).decode("ascii")] = html.unescape(m.group(2).decode("utf-8", "replace"))[:40]
    return True


def _scan_cells(xml: bytes, window: tuple[int, int], facts: SheetFacts) -> bytes:
    """Every cell walked in order (a cell may lack its reference): those outside the window cut out and counted."""
    max_rows, max_cols = window
    kept: list[bytes] = []
    last = 0
    row, col = -1, -1
    seen: set[tuple[int, int]] = set()
    for m in _TOKEN.finditer(xml):
        token = m.group(0)
        if token.startswith(b"<row"):
            attrs = _attrs(token[: token.index(b">") + 1])
            r = attrs.get(b"r")
            row = int(r) - 1 if r and r.isdigit() else row + 1
            col = -1
            continue
        head = token[: token.index(b">") + 1]
        attrs = _attrs(head)
        pos = _position(attrs.get(b"r", b""))
        r, c = pos if pos else (row, col + 1)
        row, col = r, c
        formula = _FORMULA.search(token) if b"<f" in token else None
        text = ""
        if formula is not None:
            text = html.unescape((formula.group(1) or b"").decode("utf-8", "replace"))[:MAX_FORMULA_TEXT]
            if unsafe_formula(text) and len(facts.unsafe) < MAX_FINDINGS:
                facts.unsafe.append((f"{col_letter(c)}{r + 1}", text))
        if 0 <= r < max_rows and 0 <= c < max_cols:
            if (r, c) in seen and len(facts.duplicates) < MAX_FINDINGS:
                facts.duplicates.append(f"{col_letter(c)}{r + 1}")
            seen.add((r, c))
            if formula is not None:
                facts.formulas[f"{col_letter(c)}{r + 1}"] = text
            if attrs.get(b"t") == b"e":  # parsers read an error value as blank; it is not
                value = _VALUE.search(token)
                error = html.unescape(value.group(1).decode("utf-8", "replace")) if value else "#N/A"
                facts.errors[f"{col_letter(c)}{r + 1}"] = error[:40]
            continue
        facts.stray += 1
        if len(facts.stray_examples) < 5:
            facts.stray_examples.append(f"{col_letter(max(c, 0))}{r + 1}")
        kept.append(xml[last : m.start()])
        last = m.end()
    if not facts.stray:
        return xml
    kept.append(xml[last:])
    return b"".join(kept)


_HIDDEN_ROW = re.compile(rb'<row\b[^>]*\bhidden="(?:1|true)"[^>]*>')


def _scan_layout(xml: bytes, window: tuple[int, int], facts: SheetFacts) -> None:
    """Hidden rows and columns inside the window, and merged ranges."""
    max_rows, max_cols = window
    data = xml.find(b"<sheetData")
    for tag in _HIDDEN_ROW.findall(xml, max(data, 0)) if xml.find(b"hidden=", max(data, 0)) >= 0 else ():
        r = _attrs(tag).get(b"r")
        if r and r.isdigit() and int(r) <= max_rows:
            facts.hidden_rows.add(int(r) - 1)
    cols = xml.find(b"<cols")
    for tag in _COL.findall(xml, cols, xml.find(b"</cols>", cols) + 7) if cols >= 0 else ():
        attrs = _attrs(tag)
        if attrs.get(b"hidden") in (b"1", b"true"):
            first, end = int(attrs.get(b"min", b"1") or 1) - 1, int(attrs.get(b"max", b"1") or 1)
            facts.hidden_cols.update(range(max(first, 0), min(end, max_cols)))
    merges = xml.find(b"<mergeCells")
    if merges >= 0:
        end = xml.find(b"</mergeCells>", merges)
        facts.merges.extend(_merged_ranges(xml[merges : len(xml) if end < 0 else end + 13]))


_MERGES_SEEN = Memo(64)  # a <mergeCells> element -> its ranges (returns of one template share it byte for byte)


def _merged_ranges(element: bytes) -> list[tuple[int, int, int, int]]:
    known = _MERGES_SEEN.get(element)
    if known is not None:
        return known
    out = []
    for c0, r0, c1, r1 in _MERGE_PARTS.findall(element)[: MAX_FINDINGS * 20]:
        first = (int(r0) - 1, _column(c0))
        last = (int(r1) - 1, _column(c1)) if r1 else first
        out.append((*first, *last))
    return _MERGES_SEEN.keep(element, out)


_MERGE_PARTS = re.compile(rb'<mergeCell\b[^>]*\bref="([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?"')
_COLUMNS: dict[bytes, int] = {}  # column letters -> 0-based index, filled as met (at most 16,384 entries)


_ROWS: dict[bytes, int] = {}  # row numbers as written -> 0-based index, filled as met (a window's worth at most)


def _row(digits: bytes) -> int:
    row = int(digits) - 1
    if len(_ROWS) < 100_000:
        _ROWS[digits] = row
    return row


def _column(letters: bytes) -> int:
    col = _COLUMNS.get(letters)
    return col if col is not None else _COLUMNS.setdefault(letters, col_index(letters))


def bounded_copy(
    z: zipfile.ZipFile,
    sheets: dict[str, str],
    windows: dict[str, tuple[int, int]],
    plain: dict[str, bytes | ScannedCells] | None = None,
) -> tuple[bytes | None, dict[str, SheetFacts]]:
    """Scan every sheet part (sheet name -> part name); a new xlsx with stray cells cut out, or None when none were.

    `plain` collects the XML of each sheet whose cells all name their place inside the window (nothing was cut), so
    its values can be read from these bytes without a second unzip (xltool.formats._xlsxcells)."""
    facts: dict[str, SheetFacts] = {}
    replaced: dict[str, bytes] = {}
    for name, part in sheets.items():
        size = z.getinfo(part).file_size  # declared, and checked against the data by the zip checks
        limit = MAX_LIST_SHEET_BYTES if windows.get(name) == LIST_WINDOW else MAX_SHEET_BYTES
        if size > limit:
            raise ReadError(
                Code.TOO_LARGE,
                f"工作表“{name}”解压后有 {size / 1048576:.0f} MB，远超统计表的正常大小，已拒绝读取；请用原模板重新填报",
            )
        xml = member_bytes(z, part, size)
        bounded, facts[name] = scan_sheet(xml, windows.get(name, WINDOW))
        if bounded is not xml:
            replaced[part] = bounded
        elif plain is not None and facts[name].plain:
            plain[name] = facts[name].cells if facts[name].cells is not None else xml
            facts[name].cells = None
    if not replaced:
        return None, facts
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in z.infolist():
            copy.writestr(info.filename, replaced.get(info.filename) or z.read(info.filename))
    return out.getvalue(), facts
