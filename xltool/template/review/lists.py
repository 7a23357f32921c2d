"""The plain lists of a roll-up: 来源 (every file), 未汇总 (what was left out and why), 说明汇总 (the units' 说明 for
warnings) and 名册核对 (the roster against what came in), each a ListSheet of declared columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xltool import layout
from xltool.template.cells import ok
from xltool.template.review.sheet import (
    _clip,
    _Formats,
    _height,
    _height_pt,
    _merge,
    _print,
    _protect,
    _rows,
    _widths,
    lines_needed,
)


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
    hide_empty: bool = False  # with no rows the sheet is hidden: nothing to read, and no page that says only 无

    def write_to(self, writer) -> None:
        wb, name = writer.wb, self.name
        ws = wb.add_worksheet(name)
        fmt = _Formats(wb)
        widths = [c.width for c in self.columns]
        _widths(ws, widths, name)
        lines = 1
        for col, column in enumerate(self.columns):
            ok(ws.write_string(0, col, column.title, fmt.header), name)
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
            ok(ws.autofilter(0, 0, len(self.rows), len(self.columns) - 1), name)
        ws.hide_gridlines(0)  # gridlines printed too
        _print(ws, name, widths, (0, 0), (0, self.repeat_cols - 1) if self.repeat_cols else None)
        _protect(writer, ws, lists=True)
        if self.hide_empty and not self.rows:
            ws.hide()


# The roll-up's lists, column by column (title, width in character units, kind); rows in this order come from the
# roll-up (xltool.rollup.outputs).
SOURCE_COLUMNS = [  # one page wide at MIN_SCALE: codes and SHA-256 wrap
    Column("层级", 4, "number"),
    Column("所属汇总", 8),
    Column("文件", 12),
    Column("单位", 12),
    Column("代码", 11, "code"),
    Column("格式", 8, "code"),
    Column("年度", 5, "number"),
    Column("填报日期", 10),
    Column("状态", 7, "status"),
    Column("原因", 18),
    Column("SHA-256", 16, "code"),
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
    return ListSheet(layout.REJECTED_SHEET, REJECTED_COLUMNS, rows, repeat_cols=1, hide_empty=True)


def notes_sheet(rows: Sequence[list[object]]) -> ListSheet:
    """说明汇总: the explanations units wrote for warnings, then the notices (e.g. copied returns)."""
    empty = "无：各单位没有为警告填写说明，也没有数据雷同等提醒"
    return ListSheet(layout.NOTES_SHEET, NOTES_COLUMNS, rows, repeat_cols=1, empty=empty, hide_empty=True)


def roster_sheet(rows: Sequence[list[object]]) -> ListSheet:
    """名册核对: each roster unit's status, file and reason, then the units outside the roster."""
    return ListSheet(layout.ROSTER_SHEET, ROSTER_COLUMNS, rows, repeat_cols=1)
