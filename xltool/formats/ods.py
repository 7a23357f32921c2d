"""OpenDocument spreadsheets (.ods; LibreOffice): read returns; write templates/roll-ups via LibreOffice."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from xltool import layout
from xltool.codes import Code
from xltool.formats import Reader, Writer, _bounded
from xltool.formats._bounded import LIST_WINDOW, WINDOW
from xltool.formats._workbook import read_workbook
from xltool.formats.page import Grid, Page, SheetFacts
from xltool.forms import col_letter
from xltool.sources import ReadError

_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_S = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_X = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
MAX_TEXT = 32767  # a spreadsheet cell holds at most this many characters
LIST_SHEETS = layout.ROLLUP_SHEETS  # a roll-up's review sheets: one row per unit or file


def parse(data: bytes) -> Page:
    """An ods return, streamed: only the cells inside each sheet's window are kept; repeats are counted, not built."""
    from defusedxml import ElementTree as SafeET

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        if "content.xml" not in names:
            raise ReadError(Code.CORRUPT, "OpenDocument 文件缺少 content.xml，已损坏")
        size = z.getinfo("content.xml").file_size
        if size > _bounded.MAX_LIST_SHEET_BYTES:
            raise ReadError(
                Code.TOO_LARGE, f"表格内容解压后有 {size / 1048576:.0f} MB，远超统计表的正常大小，已拒绝读取"
            )
        grids: dict[str, Grid] = {}
        facts: dict[str, SheetFacts] = {}
        states: dict[str, str] = {}
        hidden_styles: set[str] = set()
        with z.open("content.xml") as fh:
            sheet: _Sheet | None = None
            for event, elem in SafeET.iterparse(fh, events=("start", "end")):
                tag = elem.tag
                if event == "start":
                    if tag == f"{_T}table":
                        name = elem.get(f"{_T}name") or f"Sheet{len(grids) + 1}"
                        window = LIST_WINDOW if name in LIST_SHEETS else WINDOW
                        sheet = _Sheet(name, window, SheetFacts(protected=elem.get(f"{_T}protected") == "true"))
                        style = elem.get(f"{_T}style-name")
                        states[name] = "hidden" if style in hidden_styles else "visible"
                    elif tag == f"{_T}table-row" and sheet is not None:
                        sheet.start_row(elem)
                    continue
                if tag == f"{_S}style" and elem.get(f"{_S}family") == "table":
                    props = elem.find(f"{_S}table-properties")
                    if props is not None and props.get(f"{_T}display") == "false":
                        hidden_styles.add(elem.get(f"{_S}name") or "")
                if sheet is None:
                    continue
                if tag in (f"{_T}table-cell", f"{_T}covered-table-cell"):
                    sheet.cell(elem, covered=tag == f"{_T}covered-table-cell")
                    elem.clear()
                elif tag == f"{_T}table-column":
                    sheet.column(elem)
                elif tag == f"{_T}table-row":
                    sheet.end_row(elem)
                    elem.clear()
                elif tag == f"{_T}table":
                    grids[sheet.name], facts[sheet.name] = sheet.grid(), sheet.facts
                    sheet = None
                    elem.clear()
    page = Page(Path(), "ods", "spreadsheet", list(grids), grids=grids, structure=facts, parts=names)
    page.sheet_states = states
    return page


class _Sheet:
    """One table being streamed: a sparse grid inside the window, facts for all of it."""

    def __init__(self, name: str, window: tuple[int, int], facts: SheetFacts):
        self.name, self.window, self.facts = name, window, facts
        self.cells: dict[tuple[int, int], object] = {}
        self.row, self.col, self.defined_cols = 0, 0, 0
        self.row_cells: list[tuple[int, object, int]] = []  # (col, value, repeat) of the row being read

    def column(self, elem) -> None:
        repeat = _count(elem, "number-columns-repeated")
        if elem.get(f"{_T}visibility") in ("collapse", "filter"):
            self.facts.hidden_cols.update(range(self.defined_cols, min(self.defined_cols + repeat, self.window[1])))
        self.defined_cols += repeat

    def start_row(self, elem) -> None:
        self.col, self.row_cells = 0, []

    def cell(self, elem, covered: bool) -> None:
        repeat = _count(elem, "number-columns-repeated")
        spans = (_count(elem, "number-rows-spanned"), _count(elem, "number-columns-spanned"))
        if spans != (1, 1) and len(self.facts.merges) < 1000:
            self.facts.merges.append((self.row, self.col, self.row + spans[0] - 1, self.col + spans[1] - 1))
        formula = elem.get(f"{_T}formula")
        if formula is not None:
            text = formula.split(":", 1)[1] if formula.startswith(("of:", "oooc:", "msoxl:")) else formula
            text = text[: _bounded.MAX_FORMULA_TEXT]
            if _bounded.unsafe_formula(text) and len(self.facts.unsafe) < _bounded.MAX_FINDINGS:
                self.facts.unsafe.append((f"{col_letter(self.col)}{self.row + 1}", text))
            if self.row < self.window[0]:
                for c in range(self.col, min(self.col + repeat, self.window[1])):
                    self.facts.formulas[f"{col_letter(c)}{self.row + 1}"] = text
        value = None if covered else _value(elem)
        if value is not None:
            self.row_cells.append((self.col, value, repeat))
        self.col += repeat

    def end_row(self, elem) -> None:
        repeat = _count(elem, "number-rows-repeated")
        if elem.get(f"{_T}visibility") in ("collapse", "filter"):
            self.facts.hidden_rows.update(range(self.row, min(self.row + repeat, self.window[0])))
        max_rows, max_cols = self.window
        for col, value, col_repeat in self.row_cells:
            inside_cols = max(0, min(col + col_repeat, max_cols) - col)
            inside_rows = max(0, min(self.row + repeat, max_rows) - self.row)
            for r in range(self.row, self.row + inside_rows):
                for c in range(col, col + inside_cols):
                    self.cells[(r, c)] = value
            outside = col_repeat * repeat - inside_cols * inside_rows
            if outside:
                self.facts.stray += outside
                if len(self.facts.stray_examples) < 5:
                    far_row = self.row if inside_cols < col_repeat else self.row + inside_rows
                    far_col = col + inside_cols if inside_cols < col_repeat else col
                    self.facts.stray_examples.append(f"{col_letter(far_col)}{far_row + 1}")
        self.row += repeat

    def grid(self) -> Grid:
        if not self.cells:
            return []
        height = max(r for r, _ in self.cells) + 1
        width = max(c for _, c in self.cells) + 1
        out: Grid = [[""] * width for _ in range(height)]
        for (r, c), v in self.cells.items():
            out[r][c] = v
        return out


def _count(elem, attr: str) -> int:
    text = elem.get(f"{_T}{attr}", "1")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) <= 1 << 24 else 1


def _value(elem) -> object:
    """A cell's value as calamine would give it: float, bool, datetime, str; None when empty."""
    kind = elem.get(f"{_O}value-type")
    try:
        if kind in ("float", "percentage", "currency"):
            return float(elem.get(f"{_O}value", "nan"))
        if kind == "boolean":
            return elem.get(f"{_O}boolean-value") == "true"
        if kind == "date":
            return dt.datetime.fromisoformat(elem.get(f"{_O}date-value", ""))
    except ValueError:
        pass
    texts = ["".join(p.itertext()) for p in elem.iter(f"{_X}p")]
    text = "\n".join(texts)[:MAX_TEXT]
    if kind is None and not text:
        return None
    return text


def write_workbook(ret, path: Path, **kw) -> Path:
    from xltool.template import write_ods

    return write_ods(ret, path, **kw)


READERS = [Reader("ods", (".ods",), "spreadsheet", read_workbook, parse=parse, description="LibreOffice 电子表格")]
WRITERS = [Writer("workbook", "ods", ".ods", write_workbook, description="OpenDocument 工作簿（需要 LibreOffice）")]
