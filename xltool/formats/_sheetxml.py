"""One xlsx worksheet part read as XML: its facts and its cell values from the same parse, bounded as it goes.

The parser (xltool.formats._xmlparts.new_parser: expat, namespace-aware, no DTD) walks the sheet once. Cells inside
the window are kept — place, style, type and the text of their value as XML defines it (character references
decoded, CDATA and comments as XML says, line ends normalised) — and every cell outside it is only counted
(STRAY-CELLS), never materialised. The same walk collects what the sheet says about itself: formulas and their text,
unsafe formulas anywhere (cells, conditional formats, data validations), error values, cells written twice, hidden
rows and columns, merged ranges, protection, embedded objects. Texts are cut at Excel's limits.
"""

from __future__ import annotations

from xltool.codes import Code
from xltool.formats._unsafe import unsafe_formula
from xltool.formats._xmlparts import MAIN, MAX_TEXT, new_parser, run
from xltool.formats.page import MAX_FORMULA_TEXT, SheetFacts
from xltool.forms import col_letter
from xltool.sources import ReadError

MAX_FINDINGS = 50  # stray cells, unsafe formulas, merges … kept per sheet (counted beyond)
MAX_ROWS, MAX_COLS = 1_048_576, 16_384  # a worksheet's own bounds
SHEET_ROOTS = ("worksheet", "chartsheet", "dialogsheet", "macrosheet")
X14_FORMULA = "http://schemas.microsoft.com/office/excel/2006/main f"  # xm:f in the 2010 extensions
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"  # x14:conditionalFormatting, x14:dataValidation
HEADER_TEXTS = ("oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter")  # printed only

# A cell reference as Excel's file format holds it (ST_CellRef): column letters, then the row number. LibreOffice and
# openpyxl read letters in either case and leading zeros in the row ("d06" is D6); a "$", a space or a full-width
# character names no cell (LibreOffice drops such a cell, openpyxl refuses the workbook). The one definition: the
# reader, the annotated copies' cut and every range of a sheet part use `place`.
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PLACES: dict[str, tuple[int, int, str]] = {}  # "b07" -> (6, 1, "B7"): cells near A1 met before
_REMEMBERED = (1000, 256)  # places remembered: a return's rows, a list sheet's columns (far cells are met once)
LOST = -2  # a row or column number that cannot be known: a cell counted from it has no place (see row_of)


def place(ref: str) -> tuple[int, int, str] | None:
    """A cell reference as (row, column, the reference as written plainly), 0-based; None when it names no cell of
    a worksheet."""
    known = _PLACES.get(ref)
    if known is not None:
        return known
    digits = ref.lstrip(_LETTERS)  # split with str methods: twice as fast as a regular expression on far cells
    k = len(ref) - len(digits)
    number = digits.lstrip("0")
    if not (0 < k <= 3 and 0 < len(number) <= 7 and number.isdigit() and number.isascii()):
        return None
    letters = ref[:k].upper()
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    row = int(number)
    if row > MAX_ROWS or col > MAX_COLS:
        return None
    plain = ref if k + len(number) == len(ref) and letters == ref[:k] else f"{letters}{row}"
    found = (row - 1, col - 1, plain)
    if row <= _REMEMBERED[0] and col <= _REMEMBERED[1] and len(ref) <= 16 and len(_PLACES) < 200_000:
        _PLACES[ref] = found
    return found


def span(ref: str) -> tuple[int, int, int, int] | None:
    """A range ("A1:B2") or one cell as (first row, first column, last row, last column), 0-based; None when either
    corner names no cell."""
    first, _, last = ref.strip().partition(":")
    a, b = place(first), place(last) if last else place(first)
    return (a[0], a[1], b[0], b[1]) if a is not None and b is not None else None


def row_of(attr: str | None, previous: int) -> int:
    """The 0-based row of a <row> element: its r, an unsigned integer as XML Schema spells one (whitespace and leading
    zeros allowed), else the row after `previous`; LOST when r is no row number ("0", "x") or the row before was lost.
    Rows are counted from row elements only, never from a cell's own reference (as LibreOffice and openpyxl count).

    A cell without a reference sits in the next column of its row; where its row or the cell before it is LOST (a
    reference that names no cell), LibreOffice and openpyxl put it in different places or refuse the file, so it is
    read by nobody here: counted with the stray cells, and cut from annotated copies."""
    if attr is None:
        return LOST if previous == LOST else previous + 1
    digits = attr.strip(" \t\r\n").lstrip("0")
    if 0 < len(digits) <= 8 and digits.isascii() and digits.isdigit():
        return int(digits) - 1
    return LOST


NO_PLACE = "位置不明的单元格"  # a stray cell's example when it has no reference and none can be counted


class Cells:
    """The cells inside the window that hold a value, in the order written: (row, column, style or -1, type) of
    each, and its value's text as XML reads it (an inline string's runs joined). xltool.formats._xlsxcells turns
    these into values."""

    __slots__ = ("encoding", "slots", "texts")

    def __init__(self, slots: list[tuple[int, int, int, str]], texts: list[str], encoding: str | None = None) -> None:
        self.slots, self.texts, self.encoding = slots, texts, encoding


class _Walk:
    """The handlers of one sheet's parse."""

    def __init__(self, window: tuple[int, int], offsets: list[int] | None, header_at: list[int] | None = None) -> None:
        self.window = window
        self.header_at = header_at  # byte offsets of the page header/footer texts' elements (the skeleton check)
        self.header_depth = -9
        self.data_at = -1  # byte offset of the worksheet's own <sheetData> start tag
        self.facts = SheetFacts()
        self.slots: list[tuple[int, int, int, str]] = []
        self.texts: list[str] = []
        self.offsets = offsets  # byte offsets of the <v> start tags kept (the skeleton check needs them)
        self.row, self.col = -1, -1
        self.cell: tuple[int, int, int, str] | None = None  # the open cell: row, column, style, type
        self.inside = False  # the open cell lies inside the window
        self.where = ""
        self.values: list[str] | None = None  # text of the open <v>
        self.value: str | None = None  # the open cell's value text
        self.values_seen = 0
        self.formula: list[str] | None = None  # text of the open <f>
        self.formula_text: str | None = None
        self.inline: list[str] | None = None  # runs of the open <is>
        self.in_is = False
        self.phonetic = 0
        self.rule: tuple[str, str] | None = None  # the conditional format or validation open: (kind, sqref)
        self.rule_text: list[str] | None = None
        self.seen: set[tuple[int, int]] = set()
        self.parser = None
        self.unsafe = unsafe_formula
        self.size = 0  # characters of the text being collected
        self.encoding: str | None = None  # as the XML declaration names it
        # Element depths: the schema's children count, not elements nested deeper (<c><foo><v> is no value).
        self.depth = 0
        self.cell_depth = self.is_depth = self.run_depth = self.row_depth = self.data_depth = -9

    # --- events ---------------------------------------------------------------------------------------------------

    def handlers(self) -> tuple[dict, dict]:
        """Start and end handlers by the parser's name of an element (either namespace spelling)."""
        starts = {
            "c": self._open_cell,
            "v": self._open_v,
            "f": self._open_f,
            "row": self._open_row,
            "sheetData": self._open_data,
            "is": self._open_is,
            "t": self._open_t,
            "r": self._open_run,
            "rPh": self._open_rph,
            "col": self._open_col,
            "mergeCell": self._open_merge,
            "sheetProtection": self._open_protection,
            "oleObjects": self._open_embedded,
            "controls": self._open_embedded,
            "conditionalFormatting": self._open_format,
            "dataValidation": self._open_validation,
            "formula": self._open_rule_formula,
            "formula1": self._open_rule_formula,
            "formula2": self._open_rule_formula,
            "headerFooter": self._open_header_footer,
            **dict.fromkeys(HEADER_TEXTS, self._open_header_text),
        }
        ends = {
            "c": self._close_cell,
            "row": self._close_row,
            "sheetData": self._close_data,
            "v": self._close_v,
            "f": self._close_f,
            "t": self._close_t,
            "r": self._close_run,
            "is": self._close_is,
            "rPh": self._close_rph,
            "formula": self._rule_formula,
            "formula1": self._rule_formula,
            "formula2": self._rule_formula,
            "conditionalFormatting": self._close_rule,
            "dataValidation": self._close_rule,
            "headerFooter": self._close_header_footer,
        }
        named_starts = {f"{ns} {local}": h for ns in MAIN for local, h in starts.items()}
        named_ends = {f"{ns} {local}": h for ns in MAIN for local, h in ends.items()}
        named_starts[X14_FORMULA] = self._open_rule_formula
        named_ends[X14_FORMULA] = self._rule_formula
        for local, opened in (("conditionalFormatting", self._open_format), ("dataValidation", self._open_validation)):
            named_starts[f"{X14} {local}"] = opened
            named_ends[f"{X14} {local}"] = self._close_rule
        return named_starts, named_ends

    def _open_v(self, _attrs: dict[str, str]) -> None:
        if self.cell is not None and self.depth == self.cell_depth + 1:
            self.values, self.size = [], 0
            self.values_seen += 1
            if self.offsets is not None and self.inside:
                self.offsets.append(self.parser.CurrentByteIndex)

    def _open_f(self, _attrs: dict[str, str]) -> None:
        if self.cell is not None and self.depth == self.cell_depth + 1:
            self.formula, self.size = [], 0

    def _open_data(self, _attrs: dict[str, str]) -> None:
        if self.depth == 2:  # the worksheet's own <sheetData>
            self.data_depth = self.depth
            if self.data_at < 0:
                self.data_at = self.parser.CurrentByteIndex

    def _close_data(self) -> None:
        if self.depth == self.data_depth:
            self.data_depth = -9

    def _close_row(self) -> None:
        if self.depth == self.row_depth:
            self.row_depth = -9

    def _open_row(self, attrs: dict[str, str]) -> None:
        if self.depth != self.data_depth + 1:
            return
        self.row_depth = self.depth
        self.row = row_of(attrs.get("r"), self.row)
        self.col = -1
        if attrs.get("hidden") in ("1", "true") and 0 <= self.row < self.window[0]:
            self.facts.hidden_rows.add(self.row)

    def _open_is(self, _attrs: dict[str, str]) -> None:
        if self.cell is not None and self.depth == self.cell_depth + 1:
            self.in_is, self.is_depth = True, self.depth
            self.inline = self.inline if self.inline is not None else []

    def _open_t(self, _attrs: dict[str, str]) -> None:
        if self.in_is and (self.depth == self.is_depth + 1 or self.depth == self.run_depth + 1 == self.is_depth + 2):
            self.values, self.size = [], 0

    def _open_run(self, _attrs: dict[str, str]) -> None:
        if self.in_is and self.depth == self.is_depth + 1:
            self.run_depth = self.depth

    def _close_run(self) -> None:
        if self.depth == self.run_depth:
            self.run_depth = -9

    def _open_rph(self, _attrs: dict[str, str]) -> None:
        self.phonetic += 1

    def _open_col(self, attrs: dict[str, str]) -> None:
        if attrs.get("hidden") in ("1", "true"):
            first, last = _int(attrs.get("min"), 1), _int(attrs.get("max"), 1)
            self.facts.hidden_cols.update(range(max(first - 1, 0), min(last, self.window[1])))

    def _open_merge(self, attrs: dict[str, str]) -> None:
        if len(self.facts.merges) < MAX_FINDINGS * 20:
            merged = span(attrs.get("ref", ""))
            if merged is not None:
                self.facts.merges.append(merged)

    def _open_protection(self, attrs: dict[str, str]) -> None:
        if self.depth == 2:
            self.facts.protected = attrs.get("sheet") in ("1", "true")

    def _open_header_footer(self, _attrs: dict[str, str]) -> None:
        if self.depth == 2:  # the worksheet's own
            self.header_depth = self.depth

    def _close_header_footer(self) -> None:
        if self.depth == self.header_depth:
            self.header_depth = -9

    def _open_header_text(self, _attrs: dict[str, str]) -> None:
        if self.header_at is not None and self.depth == self.header_depth + 1:
            self.header_at.append(self.parser.CurrentByteIndex)

    def _open_embedded(self, _attrs: dict[str, str]) -> None:
        self.facts.embedded = True

    def _open_format(self, attrs: dict[str, str]) -> None:
        self.rule = ("conditionalFormatting", attrs.get("sqref", "")[:200])

    def _open_validation(self, attrs: dict[str, str]) -> None:
        self.rule = ("dataValidation", attrs.get("sqref", "")[:200])

    def _open_rule_formula(self, _attrs: dict[str, str]) -> None:
        self.rule_text, self.size = [], 0

    def _close_v(self) -> None:
        if self.values is not None and not self.in_is and self.depth == self.cell_depth + 1:
            self.value = "".join(self.values)
        self.values = None

    def _close_f(self) -> None:
        if self.formula is not None and self.depth == self.cell_depth + 1:
            self.formula_text = "".join(self.formula)[:MAX_FORMULA_TEXT]
        self.formula = None

    def _close_t(self) -> None:
        if self.in_is and self.values is not None and self.inline is not None and self.depth > self.is_depth:
            self.inline.append("".join(self.values))
        self.values = None

    def _close_is(self) -> None:
        if self.depth == self.is_depth:
            self.in_is, self.is_depth = False, -9

    def _close_rph(self) -> None:
        self.phonetic -= 1

    def _close_rule(self) -> None:
        self.rule = None

    def chars(self, data: str) -> None:
        if self.values is not None:
            target, limit = self.values, MAX_TEXT
        elif self.formula is not None:
            target, limit = self.formula, MAX_FORMULA_TEXT
        elif self.rule_text is not None:
            target, limit = self.rule_text, MAX_FORMULA_TEXT
        else:
            return
        room = limit - self.size  # what is past the limit is not kept
        self.size += len(data)
        if room > 0:
            target.append(data if len(data) <= room else data[:room])

    def declared(self, _version: str | None, encoding: str | None, _standalone: int) -> None:
        self.encoding = encoding

    # --- cells ----------------------------------------------------------------------------------------------------

    def _open_cell(self, attrs: dict[str, str]) -> None:
        if self.depth != self.row_depth + 1 or self.cell is not None:
            return  # a cell only as a row's child (a <c> nested anywhere else is no cell)
        ref = attrs.get("r")
        if ref is not None:
            pos = place(ref)
            if pos is None:  # a reference that names no cell: never read, counted with the strays
                self.col = LOST  # and a cell after it without a reference has no place either (row_of)
                self._placeless(ref[:20])
                return
            row, col, where = pos
        elif self.row == LOST or self.col == LOST:  # no reference, and none can be counted (row_of)
            self._placeless(NO_PLACE)
            return
        else:  # no reference: the next column of the row (as Excel reads it)
            row, col = self.row, self.col + 1
            where = f"{col_letter(col)}{row + 1}" if col < MAX_COLS else f"列{col + 1}行{row + 1}"
        self.col, self.where = col, where
        self.cell_depth = self.depth
        style = attrs.get("s")
        self.cell = (row, col, _int(style, -1) if style is not None else -1, attrs.get("t", "n"))
        self.inside = row < self.window[0] and col < self.window[1]
        if not self.inside:
            self._stray(where)

    def _placeless(self, where: str) -> None:
        """A cell that names no place: never read, counted with the strays (its formula still looked at)."""
        self.where = where
        self._stray(where)
        self.cell, self.inside = (-1, -1, -1, ""), False
        self.cell_depth = self.depth

    def _stray(self, where: str) -> None:
        self.facts.stray += 1
        if len(self.facts.stray_examples) < 5:
            self.facts.stray_examples.append(where)

    def _close_cell(self) -> None:
        if self.depth != self.cell_depth:
            return
        self.cell_depth = -9
        cell, value, formula = self.cell, self.value, self.formula_text
        inline = self.inline
        self.cell = self.value = self.formula_text = self.inline = None
        values_seen, self.values_seen = self.values_seen, 0
        if cell is None:
            return
        facts = self.facts
        if not self.inside:
            if formula is not None and self.unsafe(formula) and len(facts.unsafe) < MAX_FINDINGS:
                facts.unsafe.append((self.where, formula))
            return
        row, col, style, kind = cell
        where = self.where
        if (row, col) in self.seen:
            if len(facts.duplicates) < MAX_FINDINGS:
                facts.duplicates.append(where)
        else:
            self.seen.add((row, col))
        if formula is not None:
            facts.formulas[where] = formula
        if values_seen > 1:  # two <v> in one cell: which one a reader takes is anyone's guess
            facts.errors[where] = (value or "")[:40]
            facts.malformed.append(where)
            value = None
        if kind == "inlineStr":
            if inline is not None:
                self.slots.append((row, col, style, kind))
                self.texts.append("".join(inline)[:MAX_TEXT])
            return
        if kind == "e":
            facts.errors[where] = (value if value is not None else "#N/A").strip()[:40]
        if value is not None:
            self.slots.append((row, col, style, kind))
            self.texts.append(value)

    def _rule_formula(self) -> None:
        text, self.rule_text = "".join(self.rule_text or ()), None
        if text and self.unsafe(text) and len(self.facts.unsafe_rules) < MAX_FINDINGS:
            kind, sqref = self.rule or ("dataValidation", "")
            self.facts.unsafe_rules.append((kind, sqref, text[:MAX_FORMULA_TEXT]))


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def parse_sheet(
    xml: bytes,
    window: tuple[int, int],
    part: str = "sheet",
    offsets: list[int] | None = None,
    data_at: list[int] | None = None,
    header_at: list[int] | None = None,
) -> SheetFacts:
    """The facts of one worksheet part, with its cells (`facts.cells`, a Cells) inside the window.

    `offsets`, when given, receives the byte offset of each kept cell's <v> start tag, in order (one per slot whose
    text came from a <v>); `data_at` the byte offset of the worksheet's own <sheetData> start tag (-1: none);
    `header_at` the byte offsets of the start tags of its page header and footer texts (children of its own
    <headerFooter>), which nothing read depends on."""
    walk = _Walk(window, offsets, header_at)
    p = new_parser()
    walk.parser = p
    starts, ends = walk.handlers()
    starts_get, ends_get = starts.get, ends.get

    def start(name: str, attrs: dict[str, str]) -> None:
        walk.depth += 1
        handler = starts_get(name)
        if handler is not None:
            handler(attrs)

    def root(name: str, attrs: dict[str, str]) -> None:  # the first element: a sheet of SpreadsheetML, or no sheet
        ns, _, local = name.rpartition(" ")
        if ns not in MAIN or local not in SHEET_ROOTS:
            raise ReadError(Code.CORRUPT, f"{part} 不是 SpreadsheetML 工作表（根元素为 {local[:40]}），文件已损坏")
        walk.depth = 1
        p.StartElementHandler = start

    def end(name: str) -> None:
        handler = ends_get(name)
        if handler is not None:
            handler()
        walk.depth -= 1

    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = root, end, walk.chars
    p.XmlDeclHandler = walk.declared
    run(p, xml, part)
    facts = walk.facts
    if facts.formulas and unsafe_formula("\n".join(facts.formulas.values())):  # one look at all; hits located
        found = [(where, text) for where, text in facts.formulas.items() if unsafe_formula(text)]
        facts.unsafe = (found + facts.unsafe)[:MAX_FINDINGS]
    facts.cells = Cells(walk.slots, walk.texts, walk.encoding)
    if data_at is not None:
        data_at.append(walk.data_at)
    return facts
