"""明细: one row per unit and one column per input cell, under a two-level header of table bands and row groups, with
a hidden row of cell keys that xltool.discover reads back as last year's figures."""

from __future__ import annotations

from dataclasses import dataclass

from xltool import layout
from xltool.forms import Cell, Form, Table
from xltool.template import stream
from xltool.template.cells import ok
from xltool.template.review.lists import Column
from xltool.template.review.sheet import (
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
            ok(ws.write_string(DETAIL_KEYS, col, f"[{cell.key}]", fmt.hidden_key), name)
        _height(ws, DETAIL_KEYS, 1, name, hidden=True)
        lines = 1
        for col, column in enumerate(DETAIL_UNIT_COLUMNS):
            ok(ws.write_string(DETAIL_HEADER, col, column.title, fmt.header), name)
        for col, cell in enumerate(inputs, start=lead):
            text = detail_header(form, cell)
            ok(ws.write_string(DETAIL_HEADER, col, text, fmt.header), name)
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
            ok(ws.autofilter(DETAIL_HEADER, 0, DETAIL_HEADER + len(self.rows), len(widths) - 1), name)
        ws.hide_gridlines(0)  # gridlines printed too
        _print(ws, name, widths, (DETAIL_BAND, DETAIL_HEADER), (0, 0))
        _protect(writer, ws, lists=True)
