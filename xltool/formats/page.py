"""The page model every reader produces: grids of cell values with positions, plus what the container says.

A spreadsheet page has one grid per sheet (loaded on demand) and structure facts (which cells hold formulas, which
sheets are protected). A published report's page has one grid — its tables stacked one below the other, merged cells
as in a spreadsheet (text in the top-left cell, covered cells "") — plus the report's text lines and, for each grid
cell, where in the report it came from. `xltool.reading` turns either into a Return.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Grid = list[list[object]]
REPORT_SHEET = "报告"  # the one grid of a published report


def at(grid: Grid, r: int, c: int, blank_as_none: bool = True) -> object:
    """A cell's value, or None outside the grid (and, for spreadsheets, when it is empty)."""
    if r < len(grid) and c < len(grid[r]):
        v = grid[r][c]
        return None if (blank_as_none and v == "") else v
    return None


class Formulas(dict):
    """A1 -> formula text. The fast xlsx scan stores each formula's raw XML bytes and decodes one only when it is
    looked at (a return's 校验 sheet has hundreds of formulas; only a few cells are ever asked about)."""

    def __getitem__(self, key: str) -> str:
        value = dict.__getitem__(self, key)
        return _decoded(value) if isinstance(value, bytes) else value

    def get(self, key: str, default=None):  # type: ignore[override]
        return self[key] if key in self else default  # noqa: SIM401  (self.get is this method)

    def values(self):  # type: ignore[override]
        return [self[k] for k in self]

    def items(self):  # type: ignore[override]
        return [(k, self[k]) for k in self]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


MAX_FORMULA_TEXT = 2000  # characters of a formula kept for messages


def xml_text(raw: bytes) -> str:
    """Element text as bytes -> str: the five XML entities replaced at C speed, numeric references by html."""
    if b"&" in raw:
        if b"&#" in raw:
            return html.unescape(raw.decode("utf-8", "replace"))
        raw = raw.replace(b"&lt;", b"<").replace(b"&gt;", b">").replace(b"&quot;", b'"').replace(b"&apos;", b"'")
        raw = raw.replace(b"&amp;", b"&")
    return raw.decode("utf-8", "replace")


def _decoded(raw: bytes) -> str:
    return xml_text(raw[: MAX_FORMULA_TEXT * 4])[:MAX_FORMULA_TEXT]


@dataclass
class SheetFacts:
    """What one sheet's XML says, apart from its values."""

    formulas: dict[str, str] = field(default_factory=Formulas)  # A1 -> formula text, for cells inside the window
    errors: dict[str, str] = field(default_factory=dict)  # A1 -> error value (#DIV/0!, #REF! …) inside the window
    protected: bool = False
    hidden_rows: set[int] = field(default_factory=set)  # 0-based, inside the window
    hidden_cols: set[int] = field(default_factory=set)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row0, col0, row1, col1), 0-based
    stray: int = 0  # cells outside the window (not read)
    stray_examples: list[str] = field(default_factory=list)
    unsafe: list[tuple[str, str]] = field(default_factory=list)  # (A1, formula) anywhere in the sheet
    duplicates: list[str] = field(default_factory=list)  # A1 of cells written twice (the last one is read)
    embedded: bool = False  # OLE objects or ActiveX controls placed on the sheet
    # A1 of cells whose value no reader may take: a number that is not one as XML Schema spells doubles ("5_0"), a
    # shared-string index past the table, an unknown type, two values in one cell. Also in `errors` (never blank).
    malformed: list[str] = field(default_factory=list)
    # Formulas of conditional-format rules and data validations that reach outside or run something:
    # (kind, sqref, formula), kind "conditionalFormatting" or "dataValidation" (what an annotated copy must drop).
    unsafe_rules: list[tuple[str, str, str]] = field(default_factory=list)
    cells: object | None = None  # while reading: the cells as the parse found them (xltool.formats._sheetxml.Cells)


def stray_cells_text(sheet: str, count: int, examples: list[str], cut: bool = False) -> str:
    """STRAY-CELLS in words (SheetFacts.stray): as the reading says it, or, with `cut`, as an annotated copy that has
    already cut those cells says it (the original untouched)."""
    done = "已从标注副本中删除；原文件未改动，请在原文件中同样删除" if cut else "请删除"
    return f"{sheet} 有 {count} 个单元格在表格区域以外或位置写法无效（如 {'、'.join(examples)}），未读取；{done}"


@dataclass
class Page:
    path: Path
    format: str  # the reader's name: xlsx | ods | xls | text | md | html | docx
    kind: str  # spreadsheet | report
    sheet_names: list[str]
    loader: Callable[[str], Grid] | None = None  # loads one sheet's grid on demand
    column_loader: Callable[[str, tuple[int, ...]], dict[int, dict[int, object]] | None] | None = None  # see columns
    grids: dict[str, Grid] = field(default_factory=dict)
    structure: dict[str, SheetFacts] | None = None  # spreadsheets: None when the container cannot tell
    data: bytes = b""  # the file's bytes as read (hashing uses them; no second read)
    parts: set[str] = field(default_factory=set)  # zip containers: the member names (macros, links, objects …)
    sheet_states: dict[str, str] = field(default_factory=dict)  # sheet -> visible | hidden | veryHidden
    unsafe_names: list[tuple[str, str]] = field(default_factory=list)  # defined names reaching outside: (name, formula)
    # Published reports only:
    lines: list[str] = field(default_factory=list)  # the text, for the title
    where: dict[tuple[int, int], str] = field(default_factory=dict)  # grid cell -> place, e.g. 第 131 行
    tails: dict[int, int] | None = None  # text layouts: number of value cells each rebuilt row had
    covered: set[tuple[int, int]] = field(default_factory=set)  # cells hidden by a merge from their left
    notes: list[str] = field(default_factory=list)  # what the reader had to interpret (near-miss labels, splits …)

    def columns(self, name: str, cols: tuple[int, ...]) -> dict[int, dict[int, object]]:
        """Only some columns of a sheet, as row -> column -> value (non-empty cells): what a reader that needs two
        columns of a large sheet asks for. A reader may answer without building the sheet's whole grid."""
        if self.column_loader is not None and name not in self.grids:
            found = self.column_loader(name, cols)
            if found is not None:
                return found
        out: dict[int, dict[int, object]] = {}
        for r, row in enumerate(self.sheet(name)):
            got = {c: row[c] for c in cols if c < len(row) and row[c] != ""}
            if got:
                out[r] = got
        return out

    def sheet(self, name: str) -> Grid:
        if name not in self.grids:
            assert self.loader is not None, name
            self.grids[name] = self.loader(name)
        return self.grids[name]

    @property
    def grid(self) -> Grid:
        """A report's one grid."""
        return self.sheet(self.sheet_names[0])

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.data else ""


def report_page(fmt: str, grid: Grid, lines: list[str], **facts) -> Page:
    return Page(Path(), fmt, "report", [REPORT_SHEET], grids={REPORT_SHEET: grid}, lines=lines, **facts)
