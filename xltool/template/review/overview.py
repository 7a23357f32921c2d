"""概览: the roll-up's key figures per unit and in total, with its charts (results by kind, new applications by unit),
computed as linear sums of the cells so a large roll-up costs a few additions per unit."""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter

from xlsxwriter.utility import xl_rowcol_to_cell

from xltool import layout
from xltool.forms import Cell, Form
from xltool.model import Invalid, Return
from xltool.template.cells import break_lines, ok
from xltool.template.review.lists import Column
from xltool.template.review.sheet import (
    _WHOLE,
    BAR_COLOUR,
    BODY_PT,
    CHART_UNITS,
    PAGE_ROWS_PX,
    _Formats,
    _height,
    _height_pt,
    _merge,
    _print,
    _protect,
    _rows,
    _widths,
    _write,
    lines_needed,
)
from xltool.template.xlsx import FONT


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
FIGURE_WIDTH = 8.5  # a figure's column: four characters of its title a line in Excel (办理结果/（七）/总计)
HEADER_GLYPH_PX = 14.0  # a 10.5 pt CJK glyph
COMPACT_UNITS = 8  # up to this many units 概览 prints on one page: the table, then both charts side by side
COMPACT_CHART_PX = 330  # the charts' height on the one page
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
        head = [Column("单位", 13), Column("状态", 6.5)]
        counts = [Column("错误", 5, "number"), Column("警告", 5, "number"), Column("已说明", 6, "number")]
        columns = head + [Column(t, FIGURE_WIDTH, "number") for t, _, _ in figures] + counts
        widths = [c.width for c in columns]
        last = len(columns) - 1
        _widths(ws, widths, name)
        _merge(ws, 0, 0, 0, last, f"{writer.ret.year}年度各单位主要数据（{len(self.rows)} 个单位）", fmt.title, name)
        _height(ws, 0, 2, name)
        lines = 1
        for col, column in enumerate(columns):
            title = "\n".join(break_lines(column.title, column.width, HEADER_GLYPH_PX))  # 办理结果/（七）/总计
            ok(ws.write_string(1, col, title, fmt.header), name)
            lines = max(lines, title.count("\n") + 1)
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
            ok(ws.write_blank(total_row, n + len(figures) + i, None, fmt.total_text), name)
        ws.freeze_panes(first, 1)
        if self.rows:
            ok(ws.autofilter(1, 0, total_row - 1, last), name)
        if len(self.rows) <= COMPACT_UNITS:  # a few units: table and both charts on one page
            self._compact_charts(writer, ws, fmt, total_row + 2, last + 2, new_values, widths)
            ws.print_area(0, 0, total_row + 2 + math.ceil(COMPACT_CHART_PX / 20), last)
            _print(ws, name, widths, None, None, one_page=True)
        else:
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

    def _chart_list(self, writer, new_values: list[tuple[str, Decimal]]) -> list[tuple[str, str, list, int]]:
        """(title, what the bars are, (label, value) per bar, pixels a bar) of each chart."""
        charts: list[tuple[str, str, list, int]] = []
        if new_values:
            title = "各单位本年新收政府信息公开申请数量（件）"
            if self.units_with_new > CHART_UNITS:  # the most first; ties in the roll-up's unit order
                title = f"本年新收申请最多的 {CHART_UNITS} 个单位（件）"
            charts.append((title, "单位", new_values, 24))
        groups = result_groups(writer.form)
        if groups:
            composition = [(label, _sum(writer.ret, keys)) for label, keys in groups]
            charts.append(("汇总：本年度办理结果构成（件）", "办理结果", composition, 40))
        return charts

    def _compact_charts(self, writer, ws, fmt, top: int, data_col: int, new_values, widths) -> None:
        """The charts side by side under the table, their numbers right of the printed columns (on screen only:
        the bars carry their values on paper)."""
        name = self.name
        quoted = "'" + name.replace("'", "''") + "'"
        # two charts across the printed columns as Excel draws them (7 px a unit; LibreOffice's columns are wider)
        chart_width = int(sum(w * 7 + 5 for w in widths) / 2 - 12)
        for r in range(top, top + math.ceil(COMPACT_CHART_PX / 20)):
            ok(ws.set_row(r, 15), name)  # fixed rows under the charts: they keep their size everywhere
        ok(ws.set_column(data_col, data_col, 16), name)
        ok(ws.set_column(data_col + 1, data_col + 1, 8), name)
        row = top
        for i, (title, what, items, _) in enumerate(self._chart_list(writer, new_values)):
            _merge(ws, row, data_col, row, data_col + 1, title, fmt.heading, name)
            ok(ws.write_string(row + 1, data_col, what, fmt.header), name)
            ok(ws.write_string(row + 1, data_col + 1, "件数", fmt.header), name)
            for r, (label, value) in enumerate(items, start=row + 2):
                _write(ws, r, data_col, label, fmt.boxed, name)
                _write(ws, r, data_col + 1, value, fmt.count, name)
            end = row + 1 + len(items)
            chart = _bar_chart(
                writer.wb,
                title,
                f"={quoted}!{_abs(row + 2, data_col)}:{_abs(end, data_col)}",
                f"={quoted}!{_abs(row + 2, data_col + 1)}:{_abs(end, data_col + 1)}",
            )
            chart.set_size({"width": chart_width, "height": COMPACT_CHART_PX})
            options = {"y_offset": 6, "x_offset": 4 + i * (chart_width + 16), "object_position": 3}
            ok(ws.insert_chart(top, 0, chart, options), name)
            row = end + 2

    def _charts(self, writer, ws, fmt, top: int, new_values: list[tuple[str, Decimal]]) -> None:
        """Each chart on a page of its own (rows of a fixed 15 pt under it, so it keeps its size in every
        spreadsheet), then the tables they are drawn from on the next page."""
        wb, name = writer.wb, self.name
        charts = self._chart_list(writer, new_values)
        if not charts:
            return
        quoted = "'" + name.replace("'", "''") + "'"
        rows_per_chart = math.ceil(PAGE_ROWS_PX / 20)  # rows of 15 pt (20 pixels)
        tables = top + rows_per_chart * len(charts)
        breaks = [top + rows_per_chart * i for i in range(len(charts))] + [tables]
        ws.set_h_pagebreaks(breaks)
        for r in range(top, tables):
            ok(ws.set_row(r, 15), name)
        row = tables
        for i, (title, what, items, bar_px) in enumerate(charts):
            _merge(ws, row, 0, row, 2, title, fmt.heading, name)
            _height(ws, row, lines_needed(title, 16 + 8 + 7.5), name)
            ok(ws.write_string(row + 1, 0, what, fmt.header), name)
            ok(ws.write_string(row + 1, 1, "件数", fmt.header), name)
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
            ok(ws.insert_chart(breaks[i], 0, chart, {"y_offset": 6, "object_position": 1}), name)
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
