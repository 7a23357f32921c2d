"""The roll-up's review sheets: what a county reviewer reads (汇总说明, 概览 with its charts) and the lists behind the
figures (明细, 来源, 未汇总, 说明汇总, 名册核对), legible on screen and on paper.

Each sheet is an object with `name`, `front` (written before the official tables; the first front sheet opens) and
`write_to(writer)`, which draws with the template writer's workbook (xltool.template.xlsx._Writer: `wb`, `form`,
`ret` — the roll-up's totals — `password`, `protect`). The roll-up workflow (xltool.merge) gives them plain rows;
every Chinese word a reviewer reads here is chosen here.

Print: A4 landscape, 10.5 pt text (宋体, 五号), header rows (and unit columns) repeated on every page. A sheet is
shrunk to one page wide only when that keeps the scale at MIN_SCALE or more (88 %: nothing prints below 9.24 pt); a
wider sheet prints at 100 % over several pages. Widths are judged with the widest character unit seen (LibreOffice
without Calibri's metric twin draws a unit about 1.34 times as wide as Excel does), so a sheet judged to fit does fit
everywhere. XlsxWriter cannot autofit, so wrapped rows get heights computed from the text.

明细 keeps a machine-readable key per column in a hidden row above the Chinese header (`[apply.new.natural_person]`):
xltool.discover reads last year's figures back from it.
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from xlsxwriter.utility import xl_rowcol_to_cell

from xltool import layout
from xltool._version import __version__
from xltool.forms import Cell, Form, Table
from xltool.model import Invalid, Return
from xltool.template import stream
from xltool.template.cells import TemplateError
from xltool.template.xlsx import FONT

BODY_PT = 10.5  # every text on these sheets (五号); titles are larger
LINE_PT = 14.5  # height of one line of 10.5 pt CJK text in a row
MIN_PRINT_PT = 9  # nothing printed smaller (tests measure it in LibreOffice's PDF)
MIN_SCALE = 88  # % print scale used to fit one page wide: 10.5 pt text stays at 9.24 pt
PAGE_PX = (297 / 25.4 - 1.0) * 96 * 0.97  # printable width of A4 landscape (0.5-inch margins), pixels, 3 % spare
UNIT_PX = 9.4  # pixels of one character unit of column width, the widest seen (LibreOffice with DejaVu Sans)
PAGE_ROWS_PX = 560  # chart height that fits a landscape page below the repeated header row
CELL_LIMIT = 32_000  # a cell holds 32,767 characters; longer text is cut with an ellipsis
CHART_UNITS = 30  # bars in the by-unit chart: all units up to this many, else the 30 with most new applications
STREAM_ROWS = True  # per-unit rows streamed into the zip (xltool.template.stream); False: held by XlsxWriter
_WHOLE = frozenset((int, type(None)))  # a figure's inputs all of these are summed in C (_linear_function)
KEY_ROW_TEXT = re.compile(r"\[([A-Za-z0-9_.\-]+)\]$")
HEADER_FILL = "#DDEBF7"
BAND_FILL = "#BDD7EE"
TOTAL_FILL = "#EDEDED"
BAR_COLOUR = "#4472C4"
MARKS = (("未汇总", "#FFC7CE"), ("缺报", "#FFC7CE"), ("含错误", "#FFEB9C"), ("名册外", "#FFEB9C"))  # status words


def _ok(code: int | None, what: str) -> None:
    """XlsxWriter reports failures as return codes: -1 out of range, -2 string too long, …"""
    if code not in (0, None):
        raise TemplateError(f"写入{what}失败（XlsxWriter 返回 {code}）")


_WIDE_FROM = 0x2E80  # code points above this (CJK, full-width forms) take two character units


def text_width(text: str) -> int:
    """Display width in Excel character units: a CJK (or full-width) character is about two."""
    if text.isascii():
        return len(text)
    return len(text) + sum(map(_WIDE_FROM.__lt__, map(ord, text)))


def lines_needed(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide."""
    room = max(width - 1.5, 1.0)
    text = str(text)
    if "\n" not in text:
        if len(text) * 2 <= room:  # a character is at most two units wide
            return 1
        return max(1, math.ceil(text_width(text) / room))
    return sum(max(1, math.ceil(text_width(part) / room)) for part in text.split("\n"))


def column_px(width: float) -> float:
    """Pixels of a column `width` characters wide, at the widest character unit seen (UNIT_PX)."""
    return width * UNIT_PX + 5


def _clip(text: object) -> str:
    s = str(text)
    return s if len(s) <= CELL_LIMIT else s[: CELL_LIMIT - 1] + "…"


class _Formats:
    """The formats of one sheet (XlsxWriter shares identical formats across the workbook)."""

    def __init__(self, wb) -> None:
        base = {"font_name": FONT, "font_size": BODY_PT, "valign": "top"}

        def f(**kw):
            return wb.add_format({**base, **kw})

        self.title = f(bold=True, font_size=14, valign="vcenter")
        self.line = f(bold=True, font_size=12, text_wrap=True, valign="vcenter")
        self.heading = f(bold=True, font_size=11, valign="vcenter")
        self.header = f(bold=True, text_wrap=True, align="center", valign="vcenter", border=1, bg_color=HEADER_FILL)
        self.band = f(bold=True, text_wrap=True, align="left", valign="vcenter", border=1, bg_color=BAND_FILL)
        self.label = f(bold=True, text_wrap=True, border=1, bg_color=HEADER_FILL)
        self.text = f(text_wrap=True)
        self.boxed = f(text_wrap=True, border=1)
        self.boxed_code = f(text_wrap=True, border=1, num_format="@")
        self.code = f(text_wrap=True, font_size=BODY_PT, num_format="@")
        self.count = f(num_format="0", align="right")
        self.amount = f(num_format="0.0000", align="right")
        self.number = f(num_format="General", align="right")
        self.total_text = f(bold=True, text_wrap=True, bg_color=TOTAL_FILL)
        self.total_count = f(bold=True, num_format="0", align="right", bg_color=TOTAL_FILL)
        self.total_amount = f(bold=True, num_format="0.0000", align="right", bg_color=TOTAL_FILL)
        self.hidden_key = f(font_size=BODY_PT, num_format="@")
        self._wb, self._base, self._marked = wb, base, {}
        self._mark_of: dict[str, object] = {}  # text -> its format (a status column holds a few words)

    def marks(self) -> list:
        """Every format `mark` can give (streamed rows need their styles fixed before the workbook closes)."""
        return [self.text] + [self.mark(word) for word, _ in MARKS]

    def mark(self, text: object):
        """Wrapped text, tinted when it says something went wrong (未汇总, 缺报) or needs a look (含错误, 名册外)."""
        if type(text) is str and text in self._mark_of:
            return self._mark_of[text]
        colour = next((c for word, c in MARKS if isinstance(text, str) and word in text), None)
        if colour is None:
            found = self.text
        else:
            if colour not in self._marked:
                self._marked[colour] = self._wb.add_format({**self._base, "text_wrap": True, "bg_color": colour})
            found = self._marked[colour]
        if type(text) is str and len(self._mark_of) < 64:
            self._mark_of[text] = found
        return found


def _write(ws, row: int, col: int, value: object, fmt, what: str) -> None:
    """A value as what it is: numbers as numbers, everything else as text (never a formula or a link)."""
    value = stream.cell_value(value)
    if value is None or value == "":
        return
    if isinstance(value, (int, float)):
        _ok(ws.write_number(row, col, value, fmt), what)
    else:
        _ok(ws.write_string(row, col, _clip(value), fmt), what)


def _height_pt(lines: int) -> float | None:
    """The height _height gives a row of `lines` lines (None: the default height)."""
    return LINE_PT * lines + 4 if lines > 1 else None


def _rows(writer, ws, first: int, count: int, last_col: int, produce, formats) -> None:
    """Rows first .. first+count-1 of `ws` from `produce()` ((height, cells) per row, see xltool.template.stream):
    streamed into the zip after the workbook closes (a roll-up's lists are never held), or written here when the
    writer cannot stream."""
    if STREAM_ROWS and hasattr(writer, "streams"):
        stream.register(writer, ws, first, count, last_col, produce, formats)
        return
    for r, (height, cells, *dense) in enumerate(produce(), start=first):  # the held path (tests compare the two)
        for col, value, fmt in cells:
            _write(ws, r, col, value, fmt, ws.name)
        for run in dense:
            for k, value in enumerate(run.values):
                fmt = run.other if isinstance(value, Invalid) else run.formats[k]
                _write(ws, r, run.first + k, value, fmt, ws.name)
        if height is not None:
            _ok(ws.set_row(r, height), ws.name)


def _merge(ws, first_row: int, first_col: int, last_row: int, last_col: int, text: str, fmt, what: str) -> None:
    if (first_row, first_col) == (last_row, last_col):
        _write(ws, first_row, first_col, text, fmt, what)
        if not text:
            _ok(ws.write_blank(first_row, first_col, None, fmt), what)
        return
    _ok(ws.merge_range(first_row, first_col, last_row, last_col, _clip(text), fmt), what)


def _widths(ws, widths: Sequence[float], what: str) -> None:
    for col, width in enumerate(widths):
        _ok(ws.set_column(col, col, width), what)


def _height(ws, row: int, lines: int, what: str, hidden: bool = False) -> None:
    if hidden:
        _ok(ws.set_row(row, None, None, {"hidden": True}), what)
    elif lines > 1:
        _ok(ws.set_row(row, LINE_PT * lines + 4), what)


def print_scale(widths: Sequence[float]) -> int:
    """The print scale in percent: 100 when the sheet fits one page wide, the shrink that fits it when that keeps
    text at MIN_SCALE or more, else 100 (the sheet prints over several pages, legibly)."""
    total = sum(column_px(w) for w in widths)
    if total <= PAGE_PX:
        return 100
    scale = math.floor(100 * PAGE_PX / total)
    return scale if scale >= MIN_SCALE else 100


def _print(ws, name: str, widths: Sequence[float], rows: tuple[int, int] | None, cols: tuple[int, int] | None) -> None:
    """A4 landscape, legible (see print_scale), the sheet's name and page number in the footer, headers repeated."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.set_footer(f"&L&11{name}&R&11第 &P 页，共 &N 页")
    scale = print_scale(widths)
    if scale != 100:
        ws.set_print_scale(scale)
    if rows is not None:
        ws.repeat_rows(*rows)
    if cols is not None:
        ws.repeat_columns(*cols)


def _protect(writer, ws, lists: bool) -> None:
    """Read-only; list sheets keep their filters usable."""
    if not lists:
        writer.protect(ws)
        return
    ws.protect(
        writer.password,
        {
            "select_locked_cells": True,
            "select_unlocked_cells": True,
            "autofilter": True,
            "sort": True,
            "format_columns": True,
            "format_rows": True,
        },
    )


# --- plain lists: 来源, 未汇总, 说明汇总, 名册核对 ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    kind: str = "text"  # text (wrapped) | status (wrapped, tinted by MARKS) | code (narrow, wrapped) | number


@dataclass
class ListSheet:
    """A read-only list: one bold wrapped header row (repeated when printed), rows with computed heights, filters."""

    name: str
    columns: list[Column]
    rows: Sequence[list[object]]  # a list, or rows made on demand (len and iter)
    repeat_cols: int = 0  # leading columns repeated on every printed page and frozen on screen
    empty: str = ""  # said under the header when there are no rows ("" leaves the sheet with its header only)
    front: bool = False

    def write_to(self, writer) -> None:
        wb, name = writer.wb, self.name
        ws = wb.add_worksheet(name)
        fmt = _Formats(wb)
        widths = [c.width for c in self.columns]
        _widths(ws, widths, name)
        lines = 1
        for col, column in enumerate(self.columns):
            _ok(ws.write_string(0, col, column.title, fmt.header), name)
            lines = max(lines, lines_needed(column.title, column.width))
        _height(ws, 0, lines, name)
        styles = [
            fmt.code if c.kind == "code" else fmt.number if c.kind == "number" else fmt.text for c in self.columns
        ]
        width = len(self.columns)
        rooms = [max(w - 1.5, 1.0) for w in widths]  # as lines_needed: a shorter text on one line takes one

        def produce():
            for row in self.rows:
                row = row[:width]
                lines = 1
                for c, value in enumerate(row):
                    if isinstance(value, str) and (len(value) * 2 > rooms[c] or "\n" in value):
                        lines = max(lines, lines_needed(_clip(value), widths[c]))
                yield _height_pt(lines), list(zip(range(width), row, styles, strict=False))

        _rows(writer, ws, 1, len(self.rows), width - 1, produce, styles)
        if not self.rows and self.empty:
            _merge(ws, 1, 0, 1, len(self.columns) - 1, self.empty, fmt.text, name)
        ws.freeze_panes(1, self.repeat_cols)
        if self.rows:
            _ok(ws.autofilter(0, 0, len(self.rows), len(self.columns) - 1), name)
        ws.hide_gridlines(0)  # gridlines printed too
        _print(ws, name, widths, (0, 0), (0, self.repeat_cols - 1) if self.repeat_cols else None)
        _protect(writer, ws, lists=True)


# The roll-up's lists, column by column (title, width in character units, kind); rows in this order come from the
# roll-up (xltool.merge.rollup).
SOURCE_COLUMNS = [
    Column("层级", 5, "number"),
    Column("所属汇总", 12),
    Column("文件", 16),
    Column("单位", 16),
    Column("代码", 20, "code"),
    Column("格式", 12, "code"),
    Column("年度", 6, "number"),
    Column("填报日期", 11),
    Column("状态", 9, "status"),
    Column("原因", 26),
    Column("SHA-256", 34, "code"),
]
REJECTED_COLUMNS = [
    Column("文件", 18),
    Column("单位", 16),
    Column("原因", 36),
    Column("原因代码", 11, "code"),
    Column("SHA-256", 34, "code"),
]
NOTES_COLUMNS = [
    Column("单位", 18),
    Column("代码", 20, "code"),
    Column("规则编号", 12, "code"),
    Column("检查内容", 30),
    Column("说明", 30),
]
ROSTER_COLUMNS = [
    Column("单位", 20),
    Column("代码", 20, "code"),
    Column("类型", 8),
    Column("状态", 10, "status"),
    Column("文件", 16),
    Column("原因", 30),
    Column("原因代码", 11, "code"),
]


def source_sheet(rows: Sequence[list[object]]) -> ListSheet:
    """来源: every file (a roll-up's own sources one level deeper), with its status, reason and SHA-256."""
    return ListSheet(layout.SOURCE_SHEET, SOURCE_COLUMNS, rows, repeat_cols=3)


def rejected_sheet(rows: Sequence[list[object]]) -> ListSheet:
    """未汇总: the files left out or ignored, with the reason and its code."""
    return ListSheet(layout.REJECTED_SHEET, REJECTED_COLUMNS, rows, repeat_cols=1)


def notes_sheet(rows: Sequence[list[object]]) -> ListSheet:
    """说明汇总: the explanations units wrote for warnings, then the notices (e.g. copied returns)."""
    empty = "无：各单位没有为警告填写说明，也没有数据雷同等提醒"
    return ListSheet(layout.NOTES_SHEET, NOTES_COLUMNS, rows, repeat_cols=1, empty=empty)


def roster_sheet(rows: Sequence[list[object]]) -> ListSheet:
    """名册核对: each roster unit's status, file and reason, then the units outside the roster."""
    return ListSheet(layout.ROSTER_SHEET, ROSTER_COLUMNS, rows, repeat_cols=1)


# --- 明细 ----------------------------------------------------------------------------------------------------------


@dataclass
class DetailRow:
    unit: str
    code: str
    file: str
    status: str
    inputs: tuple  # one value per input cell of the form, in form order (int, Decimal, Invalid or None)


DETAIL_UNIT_COLUMNS = [Column("单位", 18), Column("代码", 20, "code"), Column("来源文件", 18), Column("状态", 9)]
DETAIL_VALUE_WIDTH = 12.0
# rows: table titles, row groups (一、本年新收… / （一）予以公开 …), hidden keys, Chinese headers, then one per unit
DETAIL_BAND, DETAIL_GROUP, DETAIL_KEYS, DETAIL_HEADER, DETAIL_FIRST = 0, 1, 2, 3, 4


def table_number(table: Table) -> str:
    """二 for 二、主动公开政府信息情况: the short name a column header starts with."""
    head = table.title.split("、", 1)[0]
    return head if "、" in table.title and 0 < len(head) <= 3 else table.sheet


def detail_header(form: Form, cell: Cell) -> str:
    """A 明细 column's Chinese name: table / row / column labels, e.g. 三 · 一、本年新收政府信息公开申请数量 · 自然人
    (a label shared by every input of the table, such as 申请人情况, says nothing and is left out)."""
    table = form.table(cell.table)
    shared = set.intersection(*(set(c.label_path) for c in table.cells if c.is_input))
    parts = [p for p in cell.label_path if p not in shared] or list(cell.label_path)
    return " · ".join([table_number(table), *parts])


def detail_group(form: Form, cell: Cell) -> str:
    """The row of the official table a cell is in, by its printed row labels (and the item caption of Table 二's
    blocks), e.g. 三 · 三、本年度办理结果 · （一）予以公开; a table without row labels (四) is one group."""
    table = form.table(cell.table)
    parts = []
    captions = [lb for lb in table.labels if lb.kind == "caption" and lb.first_row < cell.row]
    if captions:
        parts.append(max(captions, key=lambda lb: lb.first_row).text)
    rows = [lb for lb in table.labels if lb.kind == "row" and lb.first_row <= cell.row <= lb.last_row]
    parts += [lb.text for lb in sorted(rows, key=lambda lb: lb.first_col) if lb.last_col < cell.col]
    return " · ".join([table_number(table), *parts]) if parts else table.title


def _runs(texts: list[str]) -> list[tuple[str, int, int]]:
    """(text, first, last) of each run of equal neighbours."""
    out: list[tuple[str, int, int]] = []
    for i, text in enumerate(texts):
        if out and out[-1][0] == text:
            out[-1] = (text, out[-1][1], i)
        else:
            out.append((text, i, i))
    return out


@dataclass
class DetailSheet:
    """One row per merged unit, one column per input cell, under two bands: the official table, then its row."""

    rows: list[DetailRow]
    name: str = layout.DETAIL_SHEET
    front: bool = False

    def write_to(self, writer) -> None:
        wb, form, name = writer.wb, writer.form, self.name
        ws = wb.add_worksheet(name)
        fmt = _Formats(wb)
        inputs = form.inputs
        lead = len(DETAIL_UNIT_COLUMNS)
        widths = [c.width for c in DETAIL_UNIT_COLUMNS] + [DETAIL_VALUE_WIDTH] * len(inputs)
        _widths(ws, widths, name)
        _merge(ws, DETAIL_BAND, 0, DETAIL_GROUP, lead - 1, "报送单位", fmt.band, name)
        for band, texts in (
            (DETAIL_BAND, [form.table(c.table).title for c in inputs]),
            (DETAIL_GROUP, [detail_group(form, c) for c in inputs]),
        ):
            lines = 1
            for text, first, last in _runs(texts):
                _merge(ws, band, lead + first, band, lead + last, text, fmt.band, name)
                lines = max(lines, lines_needed(text, DETAIL_VALUE_WIDTH * (last - first + 1)))
            _height(ws, band, lines, name)
        # Hidden keys (for xltool.discover), then the Chinese headers.
        for col, cell in enumerate(inputs, start=lead):
            _ok(ws.write_string(DETAIL_KEYS, col, f"[{cell.key}]", fmt.hidden_key), name)
        _height(ws, DETAIL_KEYS, 1, name, hidden=True)
        lines = 1
        for col, column in enumerate(DETAIL_UNIT_COLUMNS):
            _ok(ws.write_string(DETAIL_HEADER, col, column.title, fmt.header), name)
        for col, cell in enumerate(inputs, start=lead):
            text = detail_header(form, cell)
            _ok(ws.write_string(DETAIL_HEADER, col, text, fmt.header), name)
            lines = max(lines, lines_needed(text, DETAIL_VALUE_WIDTH))
        _height(ws, DETAIL_HEADER, lines, name)
        value_fmt = [fmt.amount if c.type.name == "amount" else fmt.count for c in inputs]

        def produce():
            for row in self.rows:
                status = row.status
                mark = fmt.mark(status)
                lines = 1
                for c, value in enumerate((row.unit, row.code, row.file, status)):
                    if value:
                        lines = max(lines, lines_needed(value, widths[c]))
                cells = [(0, row.unit, fmt.text), (1, row.code, fmt.code), (2, row.file, fmt.text), (3, status, mark)]
                yield _height_pt(lines), cells, dense(row.inputs)  # the bulk of a big roll-up

        def dense(values: tuple) -> stream.Dense:
            return stream.Dense(lead, values, value_fmt, fmt.text)

        _rows(writer, ws, DETAIL_FIRST, len(self.rows), len(widths) - 1, produce, [fmt.code, *fmt.marks(), *value_fmt])
        ws.freeze_panes(DETAIL_FIRST, 1)
        if self.rows:
            _ok(ws.autofilter(DETAIL_HEADER, 0, DETAIL_HEADER + len(self.rows), len(widths) - 1), name)
        ws.hide_gridlines(0)  # gridlines printed too
        _print(ws, name, widths, (DETAIL_BAND, DETAIL_HEADER), (0, 0))
        _protect(writer, ws, lists=True)


# --- 概览 ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A column of 概览: the sum of `keys` that the form has; `title` None takes the cell's own labels."""

    keys: tuple[str, ...]
    title: str | None = None


# The figures a reviewer looks at first; a key the form lacks is left out (the 2019 form has no 收费金额 and other
# 规范性文件 columns than the 2021 form), so both forms work.
FIGURES = (
    Figure(("apply.new.total",), "本年新收申请"),
    Figure(("apply.carried_in.total",), "上年结转申请"),
    Figure(("apply.result_total.total",), "办理结果（七）总计"),
    Figure(("apply.carried_over.total",), "结转下年度"),
    Figure(("appeal.review.total",), "行政复议总计"),
    Figure(("appeal.direct.total", "appeal.after_review.total"), "行政诉讼总计"),
    Figure(("active.rules.normative.issued",), "规范性文件本年制发"),
    Figure(("active.rules.normative.in_force",), "规范性文件现行有效"),
    Figure(("active.rules.normative.made",), "规范性文件本年新制作"),
    Figure(("active.rules.normative.published_total",), "规范性文件对外公开总数"),
    Figure(("active.fees.admin_fee.amount",), "收费金额（万元）"),
)
NEW_APPLICATIONS = "apply.new.total"  # the by-unit chart
RESULT_PREFIX, RESULT_TOTAL = "apply.result.", "apply.result_total."  # the 办理结果 composition chart
_NUMBERED = re.compile(r"^(（[一二三四五六七八九十]+）[^（]*)")


def overview_figures(form: Form) -> list[tuple[str, list[str], bool]]:
    """(title, keys, is_amount) of each 概览 figure the form has."""
    out = []
    for figure in FIGURES:
        keys = [k for k in figure.keys if k in form.cell]
        if not keys:
            continue
        cell = form.cell[keys[0]]
        title = figure.title or " · ".join(cell.label_path[1:] or cell.label_path)
        out.append((title, keys, any(form.cell[k].type.name == "amount" for k in keys)))
    return out


def result_groups(form: Form) -> list[tuple[str, list[str]]]:
    """The rows of 三、本年度办理结果 as (short label, their 总计 cells): （一）予以公开, （二）部分公开 …"""
    groups: dict[str, tuple[str, list[str]]] = {}
    for cell in form.cells:
        key = cell.key
        if cell.is_input or not key.startswith(RESULT_PREFIX) or not key.endswith(".total"):
            continue
        group = key[len(RESULT_PREFIX) :].split(".", 1)[0]
        label = cell.label_path[1] if len(cell.label_path) > 1 else group
        match = _NUMBERED.match(label)
        groups.setdefault(group, (match.group(1) if match else label, []))[1].append(key)
    return list(groups.values())


def _sum(ret: Return, keys: list[str]) -> Decimal | None:
    """The figure of a return, None when a key cannot be computed (a value that is not a number)."""
    total = Decimal(0)
    for key in keys:
        v = ret.safe_value(key)
        if v is None:
            return None
        total += v
    return total


@dataclass
class OverviewRow:
    unit: str
    code: str
    status: str
    inputs: tuple  # as DetailRow.inputs
    errors: int
    warnings: int
    explained: int


@dataclass
class OverviewSheet:
    """One row per merged unit with the figures looked at first and its check counts, then a total row; after it,
    each on a page of its own, a chart of new applications by unit, a chart of the roll-up's 办理结果, and the two
    small tables they are drawn from."""

    rows: list[OverviewRow]
    name: str = layout.OVERVIEW_SHEET
    front: bool = True
    units_with_new: int = 0  # units with a number of new applications (counted when the chart is drawn)

    def write_to(self, writer) -> None:
        wb, form, name = writer.wb, writer.form, self.name
        ws = wb.add_worksheet(name)
        fmt = _Formats(wb)
        figures = overview_figures(form)
        head = [Column("单位", 16), Column("状态", 8)]
        counts = [Column("错误", 5, "number"), Column("警告", 5, "number"), Column("已说明", 6, "number")]
        columns = head + [Column(t, 7.5, "number") for t, _, _ in figures] + counts
        widths = [c.width for c in columns]
        last = len(columns) - 1
        _widths(ws, widths, name)
        _merge(ws, 0, 0, 0, last, f"{writer.ret.year}年度各单位主要数据（{len(self.rows)} 个单位）", fmt.title, name)
        _height(ws, 0, 2, name)
        lines = 1
        for col, column in enumerate(columns):
            _ok(ws.write_string(1, col, column.title, fmt.header), name)
            lines = max(lines, lines_needed(column.title, column.width))
        _height(ws, 1, lines, name)
        inputs, first, n = form.inputs, 2, len(head)
        year = writer.ret.year

        index = {c.key: i for i, c in enumerate(inputs)}
        linear = {tuple(keys): linear_figure(form, keys) for _, keys, _ in figures}
        fast = [
            _linear_function(linear[tuple(keys)]) if linear[tuple(keys)] is not None else None for _, keys, _ in figures
        ]
        columns_of = [(n + i, fmt.amount if amount else fmt.count) for i, (_, _, amount) in enumerate(figures)]
        columns_of += [(n + len(figures) + i, fmt.count) for i in range(len(counts))]

        def figures_of(row: OverviewRow) -> tuple[str, list[Decimal | int | None]]:
            values: list[Decimal | int | None] = []
            ret = None
            for (_, keys, _), value in zip(figures, fast, strict=True):
                if value is not None:
                    values.append(value(row.inputs))
                    continue
                ret = ret or Return(form, year, values=_RowValues(index, row.inputs))
                values.append(_sum(ret, keys))
            return row.unit or row.code or "（未署名单位）", values

        def produce():
            for row in self.rows:
                unit, values = figures_of(row)
                values += (row.errors, row.warnings, row.explained)
                cells = [(0, unit, fmt.text), (1, row.status, fmt.mark(row.status))]
                cells += [(col, v, style) for (col, style), v in zip(columns_of, values, strict=True)]
                yield _height_pt(max(lines_needed(unit, widths[0]), lines_needed(row.status, widths[1]))), cells

        _rows(writer, ws, first, len(self.rows), last, produce, [fmt.count, fmt.amount, *fmt.marks()])
        new_values = self._chart_units(form, year, linear.get((NEW_APPLICATIONS,), False))
        total_row = first + len(self.rows)
        _merge(ws, total_row, 0, total_row, n - 1, "合计（本汇总表）", fmt.total_text, name)
        for i, (_, keys, amount) in enumerate(figures):
            value = _sum(writer.ret, keys)
            _write(ws, total_row, n + i, value, fmt.total_amount if amount else fmt.total_count, name)
        for i in range(len(counts)):
            _ok(ws.write_blank(total_row, n + len(figures) + i, None, fmt.total_text), name)
        ws.freeze_panes(first, 1)
        if self.rows:
            _ok(ws.autofilter(1, 0, total_row - 1, last), name)
        self._charts(writer, ws, fmt, total_row + 2, new_values)
        _print(ws, name, widths, (1, 1), (0, 0))
        _protect(writer, ws, lists=True)

    def _chart_units(self, form: Form, year: int, linear=False) -> list[tuple[str, Decimal]]:
        """(unit, new applications) for the by-unit chart: every unit up to CHART_UNITS, else the CHART_UNITS with
        the most (ties in the roll-up's unit order); one pass over the rows holding at most CHART_UNITS of them.
        `linear`: linear_figure(form, [NEW_APPLICATIONS]) when already worked out."""
        if NEW_APPLICATIONS not in form.cell:
            return []
        picked: list[tuple[Decimal, int, str]] = []  # a heap of (value, -order, unit): the smallest kept goes first
        self.units_with_new = 0
        index = {c.key: i for i, c in enumerate(form.inputs)}
        if linear is False:
            linear = linear_figure(form, [NEW_APPLICATIONS])
        fast = _linear_function(linear) if linear is not None else None
        for order, row in enumerate(self.rows):
            if fast is not None:
                value = fast(row.inputs)
            else:
                value = Return(form, year, values=_RowValues(index, row.inputs)).safe_value(NEW_APPLICATIONS)
            if value is None:
                continue
            self.units_with_new += 1
            entry = (value, -order, row.unit or row.code or "（未署名单位）")
            if len(picked) < CHART_UNITS:
                heapq.heappush(picked, entry)
            else:
                heapq.heappushpop(picked, entry)
        if self.units_with_new <= CHART_UNITS:
            return [(unit, value) for value, _, unit in sorted(picked, key=lambda e: -e[1])]
        return [(unit, value) for value, _, unit in sorted(picked, reverse=True)]

    def _charts(self, writer, ws, fmt, top: int, new_values: list[tuple[str, Decimal]]) -> None:
        """Each chart on a page of its own (rows of a fixed 15 pt under it, so it keeps its size in every
        spreadsheet), then the tables they are drawn from on the next page."""
        wb, form, name = writer.wb, writer.form, self.name
        groups = result_groups(form)
        charts: list[tuple[str, str, list, int]] = []  # title, what the bars are, (label, value), pixels a bar
        if new_values:
            title = "各单位本年新收政府信息公开申请数量（件）"
            if self.units_with_new > CHART_UNITS:  # the most first; ties in the roll-up's unit order
                title = f"本年新收申请最多的 {CHART_UNITS} 个单位（件）"
            charts.append((title, "单位", new_values, 24))
        if groups:
            composition = [(label, _sum(writer.ret, keys)) for label, keys in groups]
            charts.append(("汇总：本年度办理结果构成（件）", "办理结果", composition, 40))
        if not charts:
            return
        quoted = "'" + name.replace("'", "''") + "'"
        rows_per_chart = math.ceil(PAGE_ROWS_PX / 20)  # rows of 15 pt (20 pixels)
        tables = top + rows_per_chart * len(charts)
        breaks = [top + rows_per_chart * i for i in range(len(charts))] + [tables]
        ws.set_h_pagebreaks(breaks)
        for r in range(top, tables):
            _ok(ws.set_row(r, 15), name)
        row = tables
        for i, (title, what, items, bar_px) in enumerate(charts):
            _merge(ws, row, 0, row, 2, title, fmt.heading, name)
            _height(ws, row, lines_needed(title, 16 + 8 + 7.5), name)
            _ok(ws.write_string(row + 1, 0, what, fmt.header), name)
            _ok(ws.write_string(row + 1, 1, "件数", fmt.header), name)
            for r, (label, value) in enumerate(items, start=row + 2):
                _write(ws, r, 0, label, fmt.boxed, name)
                _write(ws, r, 1, value, fmt.count, name)
                _height(ws, r, lines_needed(label, 16), name)
            end = row + 1 + len(items)
            chart = _bar_chart(
                wb,
                title,
                f"={quoted}!{_abs(row + 2, 0)}:{_abs(end, 0)}",
                f"={quoted}!{_abs(row + 2, 1)}:{_abs(end, 1)}",
            )
            chart.set_size({"width": 600, "height": min(PAGE_ROWS_PX, 120 + bar_px * len(items))})
            _ok(ws.insert_chart(breaks[i], 0, chart, {"y_offset": 6, "object_position": 1}), name)
            row = end + 2


def _abs(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)


def _values(inputs: Sequence[Cell], row: tuple) -> dict:
    return {c.key: Decimal(v) if isinstance(v, int) else v for c, v in zip(inputs, row, strict=False) if v is not None}


class _Probe(Mapping):
    """Return.values for working out a figure's formula: the given cells, recording every input the formula reads."""

    def __init__(self, values: dict[str, Decimal]) -> None:
        self.values, self.read = values, set()

    def __getitem__(self, key: str) -> Decimal:
        self.read.add(key)
        return self.values[key]

    def __contains__(self, key: object) -> bool:
        self.read.add(key)
        return key in self.values

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def linear_figure(form: Form, keys: list[str]) -> tuple[Decimal, list[tuple[int, int | Decimal]]] | None:
    """A 概览 figure (the sum of `keys`, totals by their formulas) as constant + Σ coefficient × input, so a row of a
    large roll-up costs a few additions; None when the formulas are not of that shape (the figure is then computed
    through Return, as for the roll-up's own total). The rule language adds and subtracts only, so the check on
    random values holds for every formula the forms have."""
    import random

    def figure(values: dict[str, Decimal]) -> tuple[Decimal | None, set]:
        probe = _Probe(values)
        return _sum(Return(form, 0, values=probe), keys), probe.read

    base, read = figure({})
    if base is None:
        return None
    index = {c.key: i for i, c in enumerate(form.inputs)}
    inputs = sorted(k for k in read if k in index and form.cell[k].is_input)
    terms = []
    for key in inputs:
        value, _ = figure({key: Decimal(1)})
        if value is None:
            return None
        coefficient = value - base
        terms.append((index[key], int(coefficient) if coefficient == coefficient.to_integral_value() else coefficient))
    rng = random.Random(len(inputs))
    trial = {k: Decimal(rng.randint(-999, 999)) for k in inputs}
    expected = base + sum((trial[form.inputs[i].key] * c for i, c in terms), Decimal(0))
    if figure(trial)[0] != expected:
        return None
    return base, terms


def _linear_value(figure: tuple[Decimal, list[tuple[int, int | Decimal]]], row: tuple) -> int | Decimal | None:
    """A linear figure of one compact row: None when an input it reads is unusable (as Return.safe_value)."""
    base, terms = figure
    total = 0
    for i, c in terms:
        v = row[i] if i < len(row) else None
        if v is None:
            continue
        if isinstance(v, Invalid):
            return None
        total += v * c
    return base + total if base else total


def _linear_function(
    figure: tuple[Decimal, list[tuple[int, int | Decimal]]],
) -> Callable[[tuple], int | Decimal | None]:
    """_linear_value(figure, row) as a function of the row, quicker for the usual figure, the plain sum of some inputs:
    when every input it reads is a whole number or blank, their sum in C; else (an amount, an unusable entry, a short
    row) _linear_value itself."""
    base, terms = figure
    if base or not terms or any(type(c) is not int or c != 1 for _, c in terms):
        return functools.partial(_linear_value, figure)
    need = max(i for i, _ in terms) + 1
    if len(terms) == 1:
        at = terms[0][0]

        def one(row: tuple) -> int | Decimal | None:
            v = row[at] if len(row) >= need else False
            if v is None:
                return 0
            if type(v) is int:
                return v
            return _linear_value(figure, row)

        return one
    get = itemgetter(*(i for i, _ in terms))

    def total(row: tuple) -> int | Decimal | None:
        if len(row) >= need:
            values = get(row)
            if _WHOLE.issuperset(map(type, values)):
                return sum(filter(None, values))
        return _linear_value(figure, row)

    return total


class _RowValues(Mapping):
    """A compact value row seen as Return.values, converting only the cells a figure reads (a 概览 row of a large
    roll-up reads a few dozen of its 170 cells)."""

    __slots__ = ("index", "row")

    def __init__(self, index: dict[str, int], row: tuple) -> None:
        self.index, self.row = index, row

    def __getitem__(self, key: str):
        i = self.index[key]
        v = self.row[i] if i < len(self.row) else None
        if v is None:
            raise KeyError(key)
        return Decimal(v) if type(v) is int else v

    def __contains__(self, key: object) -> bool:
        i = self.index.get(key)
        return i is not None and i < len(self.row) and self.row[i] is not None

    def __iter__(self):
        return (key for key, i in self.index.items() if i < len(self.row) and self.row[i] is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _bar_chart(wb, title: str, categories: str, values: str):
    """Horizontal bars, first category on top, values printed at the bars, every text 10 pt or more."""
    font = {"name": FONT, "size": BODY_PT}
    chart = wb.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": title,
            "categories": categories,
            "values": values,
            "fill": {"color": BAR_COLOUR},
            "gap": 60,
            "data_labels": {"value": True, "font": font},
        }
    )
    chart.set_title({"name": title, "name_font": {"name": FONT, "size": 12, "bold": True}})
    chart.set_legend({"none": True})
    # XlsxWriter's bar charts: x is the value axis (horizontal), y the category axis, reversed to read downwards.
    chart.set_x_axis({"num_font": font, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_y_axis({"reverse": True, "num_font": font})
    return chart


# --- 汇总说明 ------------------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """What the roll-up contains, in words: the unit, year, form, the date of the data, the counts line
    (layout.rollup_line), missing roster units and refused files with their reasons, the sheets, the version."""

    meta: dict[str, str]  # the roll-up's _meta counts: members, not_merged, expected, missing
    data_date: str = ""  # the latest 填报日期 of the members, as 2026年1月20日 ("" when none was given)
    with_errors: int = 0
    ignored: int = 0
    unexpected: int = 0
    notices: int = 0
    roster: bool = False
    missing: list[list[str]] = field(default_factory=list)  # unit, code, type
    refused: list[list[str]] = field(default_factory=list)  # file, unit, reason (Chinese), code
    limit: int = 200  # rows listed per list; the rest are counted (the full lists are on their own sheets)
    name: str = layout.SUMMARY_SHEET
    front: bool = True

    def write_to(self, writer) -> None:
        wb, form, ret, name = writer.wb, writer.form, writer.ret, self.name
        ws = wb.add_worksheet(name)
        fmt = _Formats(wb)
        widths = [5, 20, 20, 44, 13]
        _widths(ws, widths, name)
        last = len(widths) - 1
        _merge(ws, 0, 0, 0, last, f"{ret.year}年度政府信息公开工作年度报告统计表　汇总说明", fmt.title, name)
        _height(ws, 0, 2, name)
        line = layout.rollup_line(self.meta)
        _merge(ws, 1, 0, 1, last, line, fmt.line, name)
        _height(ws, 1, 2, name)
        unit = ret.unit
        label = f"{unit.name}（代码 {unit.code}）" if unit.name and unit.code else unit.name or unit.code
        members = int(self.meta.get("members", "0") or 0)
        parts = [f"已汇总 {members} 个单位（其中含错误汇总 {self.with_errors} 个）"]
        parts.append(f"未汇总 {self.meta.get('not_merged', '0')} 个文件")
        if self.ignored:
            parts.append(f"另有 {self.ignored} 个文件不是报表，已忽略")
        if self.roster:
            parts.append(f"名册外单位 {self.unexpected} 个")
        if self.notices:
            parts.append(f"数据雷同等提醒 {self.notices} 条（见“{layout.NOTES_SHEET}”）")
        facts = [
            ("汇总单位", label or "（未填写；汇总时可用 --unit、--code 指定）"),
            ("报告年度", f"{ret.year} 年度"),
            ("报表格式", f"《{form.name}》（{form.notice}）"),
            (
                "数据截至",
                f"{self.data_date}（各单位填报日期中最晚的一天）" if self.data_date else "各单位均未填写填报日期",
            ),
            ("汇总情况", line),
            ("其中", "；".join(parts)),
            (
                "应报单位名册",
                f"已按名册核对，应报 {self.meta.get('expected', '0')} 个单位（见“{layout.ROSTER_SHEET}”）"
                if self.roster
                else "汇总时未提供名册（--roster），无法核对缺报单位",
            ),
            ("生成工具", f"xltool {__version__}（同样的输入总是生成完全相同的汇总表）"),
        ]
        row = 3
        for key, value in facts:
            _merge(ws, row, 0, row, 1, key, fmt.label, name)
            _merge(ws, row, 2, row, last, value, fmt.boxed, name)
            _height(ws, row, lines_needed(value, sum(widths[2:])), name)
            row += 1
        row += 1
        rows = [[str(i), *entry] for i, entry in enumerate(self.missing, start=1)]
        fields = [("序号", 0, 0), ("单位", 1, 1), ("代码", 2, 2), ("类型", 3, 4)]
        empty = "无" if self.roster else "未提供名册，无法核对"
        row = self._list(ws, fmt, row, "缺报单位（名册中应报而没有报送的单位）", fields, rows, empty, widths)
        row += 1
        rows = [[str(i), *entry] for i, entry in enumerate(self.refused, start=1)]
        fields = [("序号", 0, 0), ("文件", 1, 1), ("单位", 2, 2), ("原因", 3, 3), ("原因代码", 4, 4)]
        row = self._list(ws, fmt, row, "未汇总的文件（已读取但没有计入汇总数的文件）", fields, rows, "无", widths)
        row += 1
        fields = [("工作表", 0, 1), ("内容", 2, 4)]
        row = self._list(ws, fmt, row, "本工作簿中的各表", fields, self._sheets(form), "", widths)
        _print(ws, name, widths, None, None)
        _protect(writer, ws, lists=False)

    def _list(self, ws, fmt, row, heading, fields, rows, empty, widths) -> int:
        """A heading, a header row and the rows (at most `limit`), each field over its columns (first, last)."""
        name, last = self.name, len(widths) - 1
        _merge(ws, row, 0, row, last, heading, fmt.heading, name)
        _height(ws, row, 2, name)
        row += 1
        for text, first, end in fields:
            _merge(ws, row, first, row, end, text, fmt.header, name)
        row += 1
        if not rows:
            _merge(ws, row, 0, row, last, empty, fmt.boxed, name)
            return row + 1
        for values in rows[: self.limit]:
            lines = 1
            for (title, first, end), value in zip(fields, values, strict=True):
                style = fmt.boxed_code if title == "原因代码" else fmt.boxed
                _merge(ws, row, first, row, end, value, style, name)
                lines = max(lines, lines_needed(value, sum(widths[first : end + 1])) if value else 1)
            _height(ws, row, lines, name)
            row += 1
        if len(rows) > self.limit:
            more = f"另有 {len(rows) - self.limit} 个未列出，完整名单见“{layout.REJECTED_SHEET}”和“{layout.ROSTER_SHEET}”表"
            _merge(ws, row, 0, row, last, more, fmt.boxed, name)
            row += 1
        return row

    def _sheets(self, form: Form) -> list[list[str]]:
        described = [
            (layout.SUMMARY_SHEET, "本页：汇总了哪些单位、缺报和未汇总的情况"),
            (layout.OVERVIEW_SHEET, "每个单位一行的主要数字和校验结果，以及图表"),
            (layout.GUIDE_SHEET, "汇总单位信息和填报须知"),
            *((t.sheet, f"{t.title}（各单位之和，合计为公式）") for t in form.tables),
            (layout.CHECK_SHEET, "汇总数的勾稽关系校验"),
            (layout.DETAIL_SHEET, "每个单位每个填报格的数字，按表分组"),
            (layout.SOURCE_SHEET, "每个文件的来源、状态和 SHA-256；下级汇总表的来源逐级保留"),
            (layout.REJECTED_SHEET, "未汇总和已忽略的文件及原因"),
            (layout.NOTES_SHEET, "各单位对警告所写的说明，以及数据雷同等提醒"),
        ]
        if self.roster:
            described.append((layout.ROSTER_SHEET, "名册中每个单位的报送情况，以及名册外的单位"))
        return [[sheet, text] for sheet, text in described]


__all__ = [
    "Column",
    "DetailRow",
    "DetailSheet",
    "ListSheet",
    "OverviewRow",
    "OverviewSheet",
    "Summary",
    "detail_group",
    "detail_header",
    "overview_figures",
    "print_scale",
    "result_groups",
]
