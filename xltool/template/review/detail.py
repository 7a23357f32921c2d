"""明细: one row per unit and one column per input cell, under table bands, row-group bands and short headers (the
cell's own label), with a hidden row of cell keys that xltool.discover reads back as last year's figures; a few
units are laid out across instead (write_across), to be read on A4."""

from __future__ import annotations

from dataclasses import dataclass

from xltool import layout
from xltool.forms import Cell, Form, Table
from xltool.model import Invalid
from xltool.template import stream
from xltool.template.cells import ok
from xltool.template.review.lists import Column
from xltool.template.review.sheet import (
    MIN_SCALE,
    PAGE_PX,
    _Formats,
    _height,
    _height_pt,
    _merge,
    _print,
    _protect,
    _rows,
    _widths,
    _write,
    column_px,
    lines_needed,
    print_scale,
)


@dataclass
class DetailRow:
    unit: str
    code: str
    file: str
    status: str
    inputs: tuple  # one value per input cell of the form, in form order (int, Decimal, Invalid or None)


DETAIL_UNIT_COLUMNS = [Column("单位", 18), Column("代码", 20, "code"), Column("来源文件", 18), Column("状态", 9)]
DETAIL_VALUE_WIDTH = 9.0  # short headers (the cell's own label) need no more: nine figures a page
# rows: table titles, row groups (一、本年新收… / （一）予以公开 …), hidden keys, Chinese headers, then one per unit
DETAIL_BAND, DETAIL_GROUP, DETAIL_KEYS, DETAIL_HEADER, DETAIL_FIRST = 0, 1, 2, 3, 4
# A few units (up to ACROSS_UNITS) are laid out to be read on A4 instead: the form's cells down the page, the units
# across (ACROSS_LABELS: a hidden key column, the row group, the cell's own label), under three header rows (unit,
# code, status; their key cells say [unit], [code], [status]) repeated on every page.
ACROSS_UNITS = 16
ACROSS_LABELS = [0.0, 16.0, 13.0]
ACROSS_UNIT_WIDTH = 9.0
ACROSS_HEADER = (("单位", "[unit]"), ("代码", "[code]"), ("状态", "[status]"))


def table_number(table: Table) -> str:
    """二 for 二、主动公开政府信息情况: the short name a column header starts with."""
    head = table.title.split("、", 1)[0]
    return head if "、" in table.title and 0 < len(head) <= 3 else table.sheet


def short_headers(form: Form) -> dict[str, str]:
    """Each input's header under its row-group band: its own label (自然人, 本年制发件数), with the label above it
    where the group has that label twice (行政复议 · 结果维持, 未经复议直接起诉 · 结果维持) — not the whole path,
    which the bands above already say."""
    groups: dict[str, list[Cell]] = {}
    for cell in form.inputs:
        groups.setdefault(detail_group(form, cell), []).append(cell)
    out: dict[str, str] = {}
    for cells in groups.values():
        last = [c.label_path[-1] for c in cells]
        for cell in cells:
            path = cell.label_path
            twice = last.count(path[-1]) > 1 and len(path) > 1
            out[cell.key] = " · ".join(path[-2:]) if twice else path[-1]
    return out


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


def page_starts(widths: list[float], lead: int) -> list[int]:
    """The columns where a printed page of 明细 (row layout) starts: each page filled beside the repeated unit
    column (the bands are named again on every page they continue on)."""
    page, unit = PAGE_PX * 100 / print_scale(widths), column_px(widths[0])
    used, out = sum(column_px(w) for w in widths[:lead]), []
    for col in range(lead, len(widths)):
        w = column_px(widths[col])
        if used > unit and used + w > page:
            out.append(col)
            used = unit
        used += w
    return out


def _page_of(count: int, lead: int, starts: list[int]) -> list[int]:
    """The printed page (0, 1 …) of each of `count` value columns from column `lead` on."""
    out, page = [], 0
    for col in range(lead, lead + count):
        while page < len(starts) and col >= starts[page]:
            page += 1
        out.append(page)
    return out


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
        if len(self.rows) <= ACROSS_UNITS:
            write_across(writer, self.name, list(self.rows))
            return
        wb, form, name = writer.wb, writer.form, self.name
        ws = wb.add_worksheet(name)
        fmt = _Formats(wb)
        inputs = form.inputs
        lead = len(DETAIL_UNIT_COLUMNS)
        widths = [c.width for c in DETAIL_UNIT_COLUMNS] + [DETAIL_VALUE_WIDTH] * len(inputs)
        _widths(ws, widths, name)
        _merge(ws, DETAIL_BAND, 0, DETAIL_GROUP, lead - 1, "报送单位", fmt.band, name)
        groups = [detail_group(form, c) for c in inputs]
        pages = page_starts(widths, lead)
        for band, texts in ((DETAIL_BAND, [form.table(c.table).title for c in inputs]), (DETAIL_GROUP, groups)):
            lines = 1
            # each band merged within a printed page and named again on the next: no page of nameless fill
            cut = [f"{text}\x00{page}" for text, page in zip(texts, _page_of(len(inputs), lead, pages), strict=True)]
            for tagged, first, last in _runs(cut):
                text = tagged.split("\x00", 1)[0]
                _merge(ws, band, lead + first, band, lead + last, text, fmt.band, name)
                lines = max(lines, lines_needed(text, DETAIL_VALUE_WIDTH * (last - first + 1)))
            _height(ws, band, lines, name)
        if pages:
            ws.set_v_pagebreaks(pages[:1000])
        # Hidden keys (for xltool.discover), then the Chinese headers.
        for col, cell in enumerate(inputs, start=lead):
            ok(ws.write_string(DETAIL_KEYS, col, f"[{cell.key}]", fmt.hidden_key), name)
        _height(ws, DETAIL_KEYS, 1, name, hidden=True)
        lines = 1
        for col, column in enumerate(DETAIL_UNIT_COLUMNS):
            ok(ws.write_string(DETAIL_HEADER, col, column.title, fmt.header), name)
        short = short_headers(form)
        for col, cell in enumerate(inputs, start=lead):
            text = short[cell.key]
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


def across_labels(form: Form, cell: Cell) -> tuple[str, str]:
    """The row group and the cell's own label of an input in the across layout: 规章 · 本年制发件数 for Table 二's
    blocks, （三）不予公开 1.属于国家秘密 · 自然人 for 三, 行政诉讼 未经复议直接起诉 · 结果维持 for 四 (the table
    title is the band above its rows; a label every input of the table shares is left out)."""
    table = form.table(cell.table)
    shared = set.intersection(*(set(c.label_path) for c in table.cells if c.is_input))
    rows = [lb for lb in table.labels if lb.kind == "row" and lb.first_row <= cell.row <= lb.last_row]
    row_texts = [lb.text for lb in sorted(rows, key=lambda lb: lb.first_col) if lb.last_col < cell.col]
    if table.layout == "blocks":
        captions = [lb for lb in table.labels if lb.kind == "caption" and lb.first_row < cell.row]
        caption = max(captions, key=lambda lb: lb.first_row).text if captions else ""
        return " ".join([caption, *row_texts]).strip(), cell.label_path[-1]
    own = [p for p in cell.label_path if p not in shared and p not in row_texts]
    group = " ".join(row_texts[-2:]) if row_texts else " ".join(own[:-1])
    return group, own[-1] if own else cell.label_path[-1]


def across_layout(units: int) -> tuple[bool, int]:
    """(portrait, units a page) of the across layout: the orientation that prints the fewest pages at MIN_SCALE."""
    label_px = sum(column_px(w) for w in ACROSS_LABELS if w)
    best = None
    for portrait, page_mm, rows in ((True, 210, 50), (False, 297, 32)):
        page_px = (page_mm / 25.4 - 1.0) * 96 * 0.97 * 100 / MIN_SCALE
        per_page = max(1, int((page_px - label_px) // column_px(ACROSS_UNIT_WIDTH)))
        pages = -(-units // per_page) * -(-180 // rows)
        if best is None or pages < best[0]:
            best = (pages, portrait, per_page)
    return best[1], best[2]


def write_across(writer, name: str, rows: list[DetailRow]) -> None:
    """明细 of a few units: a row per input cell, a column per unit, in page-wide groups of units."""
    wb, form = writer.wb, writer.form
    ws = wb.add_worksheet(name)
    fmt = _Formats(wb)
    lead = len(ACROSS_LABELS)
    widths = [*ACROSS_LABELS, *([ACROSS_UNIT_WIDTH] * len(rows))]
    _widths(ws, widths, name)
    ok(ws.set_column(0, 0, 6, None, {"hidden": True}), name)
    last = len(widths) - 1
    for r, (title, key) in enumerate(ACROSS_HEADER):
        ok(ws.write_string(r, 0, key, fmt.hidden_key), name)
        _merge(ws, r, 1, r, 2, title, fmt.header, name)
        lines = 1
        for c, row in enumerate(rows, start=lead):
            value = {"[unit]": row.unit, "[code]": row.code, "[status]": row.status}[key]
            style = fmt.header if key == "[unit]" else fmt.boxed_code if key == "[code]" else fmt.mark(value)
            _merge(ws, r, c, r, c, value, style, name)
            lines = max(lines, lines_needed(value, ACROSS_UNIT_WIDTH) if value else 1)
        _height(ws, r, lines, name)
    r = len(ACROSS_HEADER)
    value_fmt = {"amount": fmt.amount, "count": fmt.count, "signed_count": fmt.count}
    by_table: dict[str, list[tuple[int, Cell]]] = {}
    for i, cell in enumerate(form.inputs):
        by_table.setdefault(cell.table, []).append((i, cell))
    for table_id, cells in by_table.items():
        table = form.table(table_id)
        _merge(ws, r, 1, r, 2, table.title, fmt.band, name)
        for c in range(lead, last + 1):
            ok(ws.write_blank(r, c, None, fmt.band), name)
        _height(ws, r, lines_needed(table.title, sum(ACROSS_LABELS)), name)
        r += 1
        labels = [across_labels(form, cell) for _, cell in cells]
        for group, first, end in _runs([g for g, _ in labels]):
            _merge(ws, r + first, 1, r + end, 1, group, fmt.label, name)
            need = lines_needed(group, ACROSS_LABELS[1])
            if need > end - first + 1:  # a long row label over few cells: its rows share the extra lines
                for k in range(first, end + 1):
                    _height(ws, r + k, -(-need // (end - first + 1)), name)
        for k, ((i, cell), (_, own)) in enumerate(zip(cells, labels, strict=True)):
            ok(ws.write_string(r + k, 0, f"[{cell.key}]", fmt.hidden_key), name)
            _merge(ws, r + k, 2, r + k, 2, own, fmt.boxed, name)
            style = value_fmt.get(cell.type.name, fmt.count)
            for c, row in enumerate(rows, start=lead):
                value = row.inputs[i] if i < len(row.inputs) else None
                _write(ws, r + k, c, value, fmt.text if isinstance(value, Invalid) else style, name)
                if value is None:
                    ok(ws.write_blank(r + k, c, None, style), name)
        r += len(cells)
    ws.freeze_panes(len(ACROSS_HEADER), lead)
    ws.hide_gridlines(0)  # gridlines printed too
    portrait, per_page = across_layout(len(rows))
    _print(ws, name, widths, (0, len(ACROSS_HEADER) - 1), (0, lead - 1), scale=MIN_SCALE)
    if portrait:
        ws.set_portrait()
    ws.set_v_pagebreaks(list(range(lead + per_page, lead + len(rows), per_page)))
    ws.print_area(0, 0, r - 1, last)
    _protect(writer, ws, lists=True)
