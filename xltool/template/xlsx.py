"""Write a Return (empty for a blank template) as a locked xlsx workbook in the official layout.

Every total and check cell is a formula compiled from the form's rules, and carries the result that Python computes
for the same values, so viewers that do not recalculate still show the right numbers.
"""

from __future__ import annotations

import datetime
import math
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from xltool import layout, outcomes
from xltool import rules as expr
from xltool._version import __version__
from xltool.check import RuleResult
from xltool.forms import INFO_ROW, TABLE_ROW, TITLE_ROW, Cell, Table, col_letter, formula_of
from xltool.model import Invalid, Return
from xltool.outcomes import Outcome

FONT = "宋体"  # present on Windows (Excel, WPS); LibreOffice substitutes a CJK font of the same metrics
INPUT_FILL = "#FFF2CC"
TOTAL_FILL = "#EDEDED"
PREFILL_FILL = "#DDEBF7"  # locked, pre-filled by the county from last year's return


class TemplateError(RuntimeError):
    """XlsxWriter refused part of the template (it returns error codes instead of raising)."""


def _ok(code: int | None, what: str) -> None:
    if code not in (0, None):
        raise TemplateError(f"写入{what}失败（XlsxWriter 返回 {code}）")


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


@dataclass
class ExtraSheet:
    """A plain read-only list sheet after the official tables (roll-up 明细, 来源, 未汇总 …).

    Any object with `name`, `front` (placed before the official tables) and `write_to(writer)` can stand in its place:
    the roll-up's review sheets (xltool.template.review) draw themselves with the writer's workbook and formats.
    """

    name: str
    header: list[str]
    rows: list[list[object]]
    widths: list[float] = field(default_factory=list)
    front: bool = False

    def write_to(self, writer: _Writer) -> None:
        writer.write_extra(self)


@dataclass
class Personal:
    """A workbook made for one named unit (xltool template --roster)."""

    lock_unit: bool = False  # name and code filled in by the county and locked
    prefilled: dict[str, str] = field(default_factory=dict)  # input key -> note; value from Return.values, locked
    references: dict[str, Decimal] = field(default_factory=dict)  # key -> last year's figure shown beside the table
    reference_title: str = "上年数（参考）"


def _document_date(year: int) -> datetime.datetime:
    """The workbook's created/modified date, derived from the data: 1 January after the report year."""
    return datetime.datetime(year + 1 if 1900 <= year < 9999 else 2000, 1, 1, tzinfo=datetime.UTC)


class _Writer:
    def __init__(
        self,
        ret: Return,
        path: Path,
        password: str | None,
        extra: list[ExtraSheet] | None = None,
        meta: dict[str, str] | None = None,
        personal: Personal | None = None,
    ):
        # Only input cells are written; totals become formulas. Cached results are computed from the inputs alone,
        # so a return imported with wrong printed totals still gets the values its formulas will show.
        self.personal = personal or Personal()
        inputs_only = {k: v for k, v in ret.values.items() if ret.form.cell[k].is_input}
        ret = Return(
            ret.form,
            ret.year,
            ret.unit,
            inputs_only,
            set(ret.no_items),
            dict(ret.explanations),
            prefilled=set(self.personal.prefilled) | ret.prefilled,
        )
        self.ret, self.form, self.password = ret, ret.form, password or ""
        self.extra, self.meta = extra or [], dict(meta or {})
        self.streams: list = []  # rows a review sheet leaves to xltool.template.stream (written after close)
        self.rollup = self.meta.get("kind") == layout.ROLLUP_KIND  # a roll-up: read-only tables, no clerk guidance
        if ret.prefilled:
            self.meta["prefilled"] = ",".join(sorted(ret.prefilled))
        self.wb = xlsxwriter.Workbook(
            str(path),
            # Text is always written as text: a unit name like "=cmd|..." must never become a formula.
            {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
        )
        self.results: dict[str, RuleResult] = {r.rule.id: r for r in ret.rule_results()}
        self.fmt = self._formats()

    # --- formats ---------------------------------------------------------------------------------------------------
    def _formats(self) -> dict[str, xlsxwriter.format.Format]:
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
        box = {**base, "border": 1, "text_wrap": True}

        def f(start: dict, **kw):
            return self.wb.add_format({**start, **kw})

        fmts = {
            "title": f(base, bold=True, font_size=14, align="center"),
            "info": f(base, align="left"),
            "info_label": f(base, align="right"),
            "flag": f(box, locked=False, bg_color=INPUT_FILL, align="center"),
            "caption": f(box, bold=True, align="left"),
            "header": f(box, bold=True, align="center"),
            "corner": f(box, align="left"),
            "row": f(box, align="left"),
            "text": f(base, text_wrap=True),
            "text_bold": f(base, bold=True),
            "field": f(box, locked=False, bg_color=INPUT_FILL, num_format="@"),
            "field_label": f(box, bold=True),
            "locked_value": f(box, align="left"),
            "check": f(box),
            "check_num": f(box, num_format="General"),
            "note": f(box, locked=False, bg_color=INPUT_FILL),
            "check_small": f(box, font_size=9, font_color="#595959"),
            "section": f(box, bold=True, bg_color="#F2F2F2", align="left"),
            "verdict": f(base, bold=True, font_size=14, align="center", border=1),
            "status": f(base, bold=True, align="left"),
            "unit_note": f(base, font_color="#C00000", bold=True),
            "helper": f(base, font_color="#808080"),
            "cf_invalid": self.wb.add_format({"bg_color": "#FF7C80", "font_color": "#7F0000", "bold": True}),
            "cf_failing": self.wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "cf_blank": self.wb.add_format({"bg_color": "#E4DFEC"}),
            "cf_status_bad": self.wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "cf_status_warn": self.wb.add_format({"bg_color": "#FCE4D6", "font_color": "#833C0B"}),
            "cf_status_good": self.wb.add_format({"bg_color": "#C6EFCE", "font_color": "#006100"}),
        }
        for type_name, num in (("count", "0"), ("signed_count", "0"), ("amount", "0.0000")):
            number = {"num_format": num, "align": "right", "indent": 1}  # a little air against the right border
            fmts[f"input_{type_name}"] = f(box, locked=False, bg_color=INPUT_FILL, **number)
            fmts[f"total_{type_name}"] = f(box, bg_color=TOTAL_FILL, bold=True, **number)
            fmts[f"prefilled_{type_name}"] = f(box, bg_color=PREFILL_FILL, **number)
            fmts[f"rollup_{type_name}"] = f(box, **number)
        return fmts

    # --- cell references -------------------------------------------------------------------------------------------
    def ref(self, key: str, from_sheet: str) -> str:
        cell = self.form.cell[key]
        a1 = xl_rowcol_to_cell(cell.row, cell.col, row_abs=True, col_abs=True)
        return a1 if cell.sheet == from_sheet else f"{quote_sheet(cell.sheet)}!{a1}"

    def input_ranges(self, keys: list[str], from_sheet: str) -> str:
        return ",".join(expr._ranges([self.ref(k, from_sheet) for k in keys]))

    # --- the whole workbook ----------------------------------------------------------------------------------------
    def write(self) -> None:
        front = [s for s in self.extra if getattr(s, "front", False)]
        for sheet in front:
            sheet.write_to(self)
        self.write_guide()
        for table in self.form.tables:
            self.write_table(table)
        self.write_checks()
        for sheet in self.extra:
            if sheet not in front:
                sheet.write_to(self)
        if front:
            self.wb.worksheets()[0].activate()
        self.write_meta()
        self.wb.set_properties(
            {
                # Never the clock: the same inputs give the same bytes (XlsxWriter's zip entries are dated 1980).
                "created": _document_date(self.ret.year),
                "title": f"{self.ret.year}年度政府信息公开工作年度报告统计表",
                "subject": f"{self.form.name}（{self.form.notice}）",
                "author": "xltool",
                "company": self.ret.unit.name,
                "comments": "由 xltool 生成的政府信息公开工作年度报告统计表",
            }
        )
        _ok(self.wb.set_custom_property("xltool_form", self.form.id), "自定义属性")
        _ok(self.wb.set_custom_property("xltool_year", str(self.ret.year)), "自定义属性")
        self.wb.close()

    def protect(self, ws) -> None:
        ws.protect(
            self.password,
            {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True, "format_rows": True},
        )

    def print_setup(self, ws, last_col: int, last_row: int, repeat: tuple[int, int] | None) -> None:
        """A4 landscape, one page wide: column widths are chosen so that fitting shrinks the 10 pt text by at most a
        few percent (glyphs stay at 9 pt or more); long sheets run on to further pages with their headers repeated."""
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.center_horizontally()
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.print_area(0, 0, last_row, last_col)
        if repeat:
            ws.repeat_rows(*repeat)

    # --- 填报说明 ---------------------------------------------------------------------------------------------------
    def write_guide(self) -> None:
        ret, form, fmt = self.ret, self.form, self.fmt
        ws = self.wb.add_worksheet(layout.GUIDE_SHEET)
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 46)
        ws.set_column(2, 3, 14)
        ws.merge_range(TITLE_ROW, 0, TITLE_ROW, 3, f"{ret.year}年度政府信息公开工作年度报告统计表", fmt["title"])
        ws.merge_range(1, 0, 1, 3, f"报告格式：《{form.name}》（{form.notice}）", fmt["info"])
        ws.write_string(layout.YEAR_ROW, 0, "报告年度", fmt["field_label"])
        ws.write_number(layout.YEAR_ROW, 1, ret.year, fmt["locked_value"])
        for name, label, row in layout.UNIT_FIELDS:
            ws.write_string(row, 0, label, fmt["field_label"])
            locked = (self.personal.lock_unit and name in ("name", "code")) or self.rollup
            ws.write_string(row, 1, getattr(ret.unit, name), fmt["locked_value" if locked else "field"])
        _, _, scope_row = next(f for f in layout.UNIT_FIELDS if f[0] == "scope")
        _ok(
            ws.data_validation(
                scope_row,
                1,
                scope_row,
                1,
                {
                    "validate": "list",
                    "source": layout.SCOPES,
                    "input_title": "统计范围",
                    "input_message": "本单位自身数据选“本机关”；汇总下级单位的选“本行政区域汇总”。",
                },
            ),
            "统计范围下拉",
        )
        _, _, code_row = next(f for f in layout.UNIT_FIELDS if f[0] == "code")
        _ok(
            ws.data_validation(
                code_row,
                1,
                code_row,
                1,
                {
                    "validate": "length",
                    "criteria": "between",
                    "minimum": 6,
                    "maximum": 18,
                    "input_title": "单位代码",
                    "input_message": "18 位统一社会信用代码，或 6～12 位行政区划代码。",
                    "error_title": "代码长度不对",
                    "error_message": "请填写 18 位统一社会信用代码或 6～12 位行政区划代码。",
                },
            ),
            "单位代码校验",
        )
        for key, label, row, hint in layout.extra_fields(form):  # optional fields the report needs
            ws.write_string(row, 0, label, fmt["field_label"])
            ws.write_string(row, 1, ret.unit.extra.get(key, ""), fmt["locked_value" if self.rollup else "field"])
            if hint and not self.rollup:
                _ok(
                    ws.data_validation(
                        row, 1, row, 1, {"validate": "any", "input_title": label[:32], "input_message": hint[:255]}
                    ),
                    f"{label}提示",
                )
        row = layout.guide_text_row(form)
        if self.rollup:  # a roll-up is read, not filled in: what it is instead of the clerk's instructions
            heading = "汇总表说明"
            lines = [
                f"本工作簿是 xltool merge 生成的汇总表：{layout.rollup_line(self.meta)}。",
                "各表数字为已汇总单位的精确合计，全部单元格已锁定；各单位数字见“明细”，文件来源见“来源”，"
                "未汇总的文件及原因见“未汇总”。",
            ]
        else:
            heading, lines = "填报须知", form.guide_lines()
        ws.write_string(row, 0, heading, fmt["text_bold"])
        for line in lines:
            row += 1
            ws.merge_range(row, 0, row, 3, line, fmt["text"])
            ws.set_row(row, 15 * max(1, math.ceil(_text_width(line) / 100)))  # A:D is ~104 character units wide
        self.protect(ws)
        self.print_setup(ws, 3, row, None)
        if not any(getattr(s, "front", False) for s in self.extra):  # else the front sheet opens (one tab selected)
            ws.activate()

    # --- the official tables ---------------------------------------------------------------------------------------
    def write_table(self, table: Table) -> None:
        ret, fmt = self.ret, self.fmt
        ws = self.wb.add_worksheet(table.sheet)
        widths = column_widths(table)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        last = table.width - 1
        ws.merge_range(TITLE_ROW, 0, TITLE_ROW, last, table.title, fmt["title"])
        ws.set_row(TITLE_ROW, 26)
        # Info row: this table's status (校验 at a glance) with unit and year, and the 本年度无此类事项 flag.
        flag_row, flag_col = layout.no_items_cell(table)
        label_first = max(flag_col - 2, 1) if flag_col > 1 else 0  # the flag's label: two columns where there is room
        formula, cached = self.table_line(table)
        if label_first > 0:
            if label_first - 1 > 0:
                ws.merge_range(INFO_ROW, 0, INFO_ROW, label_first - 1, "", fmt["status"])
            ws.write_formula(INFO_ROW, 0, formula, fmt["status"], cached)
            self.colour_status(ws, INFO_ROW, 0)
        else:  # a two-column table has no room for the status beside the flag: the unit line goes to the page header
            ws.set_header(f"&L{_header_text(f'填报单位：{ret.unit.name}　　报告年度：{ret.year}')}")
        if label_first < flag_col - 1:
            ws.merge_range(
                INFO_ROW, label_first, INFO_ROW, flag_col - 1, layout.NO_ITEMS_TEXT + "：", fmt["info_label"]
            )
        else:
            ws.write_string(INFO_ROW, label_first, layout.NO_ITEMS_TEXT + "：", fmt["info_label"])
        flag_text = layout.NO_ITEMS_YES if table.id in ret.no_items else ""
        ws.write_string(flag_row, flag_col, flag_text, fmt["locked_value" if self.rollup else "flag"])
        if not self.rollup:
            _ok(
                ws.data_validation(
                    flag_row,
                    flag_col,
                    flag_row,
                    flag_col,
                    {
                        "validate": "list",
                        "source": ["是", "否"],
                        "input_title": layout.NO_ITEMS_TEXT,
                        "input_message": "本表全年确无任何数据时选“是”（按全部为 0 处理）；否则留空，逐格填写。",
                    },
                ),
                "无此类事项下拉",
            )
        for label in table.labels:
            style = fmt[{"caption": "caption", "header": "header", "corner": "corner"}.get(label.kind, "row")]
            if (label.first_row, label.first_col) == (label.last_row, label.last_col):
                ws.write_string(label.first_row, label.first_col, label.text, style)
            else:
                ws.merge_range(label.first_row, label.first_col, label.last_row, label.last_col, label.text, style)
        for cell in table.cells:
            if cell.right > cell.col:  # a value cell merged across (Table 二 blocks with fewer columns)
                ws.merge_range(cell.row, cell.col, cell.row, cell.right, "", self.input_format(cell))
            self.write_cell(ws, cell)
        self.write_unit_notes(ws, table)
        if not self.rollup:
            self.validate_inputs(ws, table)
            self.write_validity(ws, table)
            self.mark_problems(ws, table)
        self.write_references(ws, table)
        for row, height in row_heights(table, widths).items():
            ws.set_row(row, height)
        if table.header_rows:
            ws.freeze_panes(table.first_data_row, 0)
        self.protect(ws)
        repeat = (TABLE_ROW, table.first_data_row - 1) if table.header_rows else None
        self.print_setup(ws, last, table.last_row, repeat)

    def input_format(self, cell: Cell):
        """Inputs are tinted and unlocked for the clerk; in a roll-up they are plain locked numbers."""
        return self.fmt[f"{'rollup' if self.rollup else 'input'}_{cell.type.name}"]

    def write_unit_notes(self, ws, table: Table) -> None:
        """An amount whose official label names no unit (2019 采购总金额) says its unit beside the table."""
        for cell in table.cells:
            if cell.type.unit and cell.type.unit not in cell.label_path[-1]:
                ws.write_string(cell.row, table.width, f"单位：{cell.type.unit}", self.fmt["unit_note"])

    # --- live checks on the table sheets --------------------------------------------------------------------------
    def validity_ref(self, cell: Cell, from_sheet: str) -> str:
        """The hidden cell that is 1 when `cell` holds no usable number (text, negative, fraction, absurd size)."""
        a1 = xl_rowcol_to_cell(cell.row, cell.col + layout.helper_offset(self.form.table(cell.table)), True, True)
        return a1 if cell.sheet == from_sheet else f"{quote_sheet(cell.sheet)}!{a1}"

    def write_validity(self, ws, table: Table) -> None:
        """One hidden validity flag per input cell, right of the table: the same test as Python's value reading, so
        that rules and marks say 数值无效 instead of computing with a bad entry (no array formulas needed)."""
        offset = layout.helper_offset(table)
        inputs = [c for c in table.cells if c.is_input]
        for cell in inputs:
            ws.write_formula(
                cell.row,
                cell.col + offset,
                "=" + validity_formula(cell, xl_rowcol_to_cell(cell.row, cell.col)),
                self.fmt["helper"],
                1 if isinstance(self.ret.values.get(cell.key), Invalid) else 0,
            )
        first = min(c.col for c in inputs) + offset
        ws.set_column(first, max(c.col for c in inputs) + offset, 4, None, {"hidden": True})

    def mark_problems(self, ws, table: Table) -> None:
        """Conditional formats (plain formulas, no extension lists): invalid entries in red with the entry visible,
        the cells of a failing error rule in rose, blank cells of a partly filled table in lavender."""
        inputs = [c for c in table.cells if c.is_input]
        first = inputs[0]
        where = " ".join(c.a1 for c in inputs)
        helper = xl_rowcol_to_cell(first.row, first.col + layout.helper_offset(table))  # relative: moves per cell
        self.conditional(ws, first, where, f"={helper}>0", "invalid")
        for rule in self.form.local_rules:
            refs = [self.form.cell[k] for k in expr.refs(rule.node)]
            if rule.defines or rule.severity != "error" or any(c.sheet != table.sheet for c in refs):
                continue
            test = expr.render(rule.node, lambda k: self.ref(k, table.sheet), rule.tolerance)
            self.conditional(ws, refs[0], " ".join(c.a1 for c in refs), f"=NOT({test})", "failing")
        own = [c.key for c in inputs if c.key not in self.ret.prefilled]
        if own:
            flag = xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)
            filled = f"COUNTA({self.input_ranges(own, table.sheet)})"
            test = f'=AND(LEN({first.a1})=0,{filled}>0,{flag}<>"{layout.NO_ITEMS_YES}")'
            self.conditional(ws, first, where, test, "blank")

    def conditional(self, ws, anchor: Cell, where: str, formula: str, kind: str) -> None:
        _ok(
            ws.conditional_format(
                anchor.row,
                anchor.col,
                anchor.row,
                anchor.col,
                {"type": "formula", "criteria": formula, "format": self.fmt[f"cf_{kind}"], "multi_range": where},
            ),
            f"{ws.name} 条件格式",
        )

    def table_line(self, table: Table) -> tuple[str, str]:
        """The status line above a table: formula and the text Python computes for the same entries."""
        unit = f"　　填报单位：{self.ret.unit.name}　　报告年度：{self.ret.year}"
        name_ref = f"{quote_sheet(layout.GUIDE_SHEET)}!$B${layout.UNIT_FIELDS[0][2] + 1}"
        unit_formula = f'"　　填报单位："&{name_ref}&"　　报告年度：{self.ret.year}"'
        if self.rollup:
            line = layout.rollup_line(self.meta)
            return f'="{line}"&{unit_formula}', line + unit
        counts = self.table_counts(table)
        return "=" + status_line_formula(self.table_count_formulas(table)) + "&" + unit_formula, (
            status_line_text(counts) + unit
        )

    def colour_status(self, ws, row: int, col: int) -> None:
        for text, kind in (
            ("项错误", "status_bad"),
            ("项警告", "status_warn"),
            ("格空白", "status_warn"),
            ("校验通过", "status_good"),
        ):
            options = {"type": "text", "criteria": "containing", "value": text, "format": self.fmt[f"cf_{kind}"]}
            _ok(ws.conditional_format(row, col, row, col, options), "状态行颜色")

    def write_cell(self, ws, cell: Cell) -> None:
        if cell.is_input:
            style = self.input_format(cell)
            note = self.personal.prefilled.get(cell.key)
            if note:
                style = self.fmt[f"prefilled_{cell.type.name}"]
                ws.write_comment(cell.row, cell.col, note, {"author": "xltool", "x_scale": 2, "y_scale": 1.5})
            v = self.ret.values.get(cell.key)
            if v is None:
                ws.write_blank(cell.row, cell.col, None, style)
            elif isinstance(v, Invalid):
                ws.write_string(cell.row, cell.col, v.raw, style)
            else:
                ws.write_number(cell.row, cell.col, _plain(v), style)
            return
        formula = expr.render(formula_of(self.form, cell), lambda k: self.ref(k, cell.sheet))
        cached = self.ret.safe_value(cell.key)
        ws.write_formula(
            cell.row,
            cell.col,
            "=" + formula,
            self.fmt[f"total_{cell.type.name}"],
            _plain(cached) if cached is not None else "#VALUE!",
        )

    def write_references(self, ws, table: Table) -> None:
        """Last year's figures in a column right of the table, outside the print area (for the clerk's eyes only)."""
        refs = {c.key: c for c in table.cells if c.key in self.personal.references}
        if not refs:
            return
        col = table.width
        ws.set_column(col, col, 16)
        for key, cell in refs.items():
            caption = (
                next(lb for lb in table.labels if lb.kind == "caption" and lb.text == cell.label_path[0])
                if table.layout == "blocks"
                else None
            )
            if caption is not None:
                ws.write_string(caption.first_row + 1, col, self.personal.reference_title, self.fmt["header"])
            ws.write_number(cell.row, col, _plain(self.personal.references[key]), self.fmt[f"total_{cell.type.name}"])

    def validate_inputs(self, ws, table: Table) -> None:
        by_type: dict[str, list[Cell]] = {}
        for cell in table.cells:
            if cell.is_input:
                by_type.setdefault(cell.type.name, []).append(cell)
        for _type_name, cells in by_type.items():
            options = validation_options(cells[0])
            first = cells[0]
            options["multi_range"] = " ".join(c.a1 for c in cells)
            _ok(ws.data_validation(first.row, first.col, first.row, first.col, options), f"{table.sheet} 数据有效性")

    # --- counts behind the status lines and the verdict (Python and formula side by side) ---------------------------
    def table_counts(self, table: Table) -> dict[str, int | bool]:
        rules = [self.results[r.id] for r in self.form.local_rules if table.id in r.tables]
        own = [c for c in table.cells if c.is_input and c.key not in self.ret.prefilled]
        state = self.ret.table_state(table.id)
        return {
            "not_filled": state.status is outcomes.TableStatus.NOT_FILLED,
            "errors": sum(r.outcome is Outcome.FAIL and r.rule.severity == "error" for r in rules),
            "invalid": sum(isinstance(self.ret.values.get(c.key), Invalid) for c in table.cells if c.is_input),
            "warnings": sum(r.outcome is Outcome.FAIL and r.rule.severity == "warning" for r in rules),
            "blank": state.blank if state.status is outcomes.TableStatus.PARTIAL else 0,
            "inputs": len(own),
        }

    def table_count_formulas(self, table: Table) -> dict[str, str]:
        check = quote_sheet(layout.CHECK_SHEET)
        rows = [layout.check_rule_row(self.form, r) for r in self.form.local_rules if table.id in r.tables]

        def flags(col: int) -> str:
            cells = [f"{check}!{xl_rowcol_to_cell(r, col, True, True)}" for r in rows]
            return f"SUM({','.join(expr._ranges(cells))})" if cells else "0"

        own = [c.key for c in table.cells if c.is_input and c.key not in self.ret.prefilled]
        filled = f"COUNTA({self.input_ranges(own, layout.CHECK_SHEET)})" if own else "0"
        flag = f"{quote_sheet(table.sheet)}!{xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)}"
        helpers = [self.validity_ref(c, layout.CHECK_SHEET) for c in table.cells if c.is_input]
        not_filled = f'AND({filled}=0,{flag}<>"{layout.NO_ITEMS_YES}")'
        return {
            "not_filled": not_filled,
            "errors": flags(layout.COL_ERROR),
            "invalid": f"SUM({','.join(expr._ranges(helpers))})",
            "warnings": flags(layout.COL_WARNING),
            "blank": f'IF(OR({flag}="{layout.NO_ITEMS_YES}",{filled}=0),0,{len(own)}-{filled})',
        }

    # --- 校验 -------------------------------------------------------------------------------------------------------
    def write_checks(self) -> None:
        form, ret, fmt = self.form, self.ret, self.fmt
        ws = self.wb.add_worksheet(layout.CHECK_SHEET)
        sheet = layout.CHECK_SHEET
        for col, width in enumerate([54, 22, 24, 6, 24, 44]):
            ws.set_column(col, col, width)
        ws.set_column(layout.COL_LEFT, layout.COL_RANK, 6, None, {"hidden": True})
        last_printed = layout.CHECK_PRINTED
        ws.merge_range(TITLE_ROW, 0, TITLE_ROW, last_printed, "校验结果（随填随算）", fmt["title"])
        order = layout.check_rule_order(form)
        first, last = layout.check_rule_row(form, order[0]), layout.check_rule_row(form, order[-1])
        # Table status
        status_header = layout.check_status_header_row(form)
        ws.write_string(status_header, 0, "表", fmt["header"])
        ws.write_string(status_header, 1, "填报状态", fmt["header"])
        status_ref: dict[str, str] = {}
        for table in form.tables:
            row = layout.check_status_row(form, table.id)
            inputs = [c.key for c in table.cells if c.is_input and c.key not in ret.prefilled]
            filled = f"COUNTA({self.input_ranges(inputs, sheet)})"
            flag = f"{quote_sheet(table.sheet)}!{xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)}"
            formula = "=" + outcomes.table_status_formula(flag, filled, len(inputs))
            ws.write_string(row, 0, table.sheet, fmt["check"])
            ws.write_formula(row, 1, formula, fmt["check"], ret.table_status(table.id))
            status_ref[table.id] = xl_rowcol_to_cell(row, 1, True, True)
        # Every rule, those a clerk's entries can break first
        header = layout.check_rule_header_row(form)
        for col, text in enumerate(layout.CHECK_COLUMNS):
            ws.write_string(header, col, text, fmt["header"])
        for col, text in zip(
            range(layout.COL_LEFT, layout.COL_RANK + 1), ["左边", "右边", "错误", "警告", "序号"], strict=True
        ):
            ws.write_string(header, col, text, fmt["header"])
        fixed = next((r for r in order if r.defines), None)
        if fixed is not None:
            heading = layout.check_rule_row(form, fixed) - 1
            ws.merge_range(heading, 0, heading, last_printed, layout.FIXED_HEADING, fmt["section"])
        for rule in order:
            self.write_rule_row(ws, layout.check_rule_row(form, rule), rule, status_ref, first)
        rank = f"${xl_col_to_name(layout.COL_RANK)}${first + 1}:${xl_col_to_name(layout.COL_RANK)}${last + 1}"
        # The problems only, in rule order: the n-th listed rule found by its rank (INDEX/MATCH, no arrays)
        top = layout.CHECK_PROBLEMS_HEADER_ROW
        for col, text in enumerate(["需要处理的问题", "结果", "数值", "级别"]):
            ws.write_string(top, col, text, fmt["header"])
        listed = [r for r in (self.results[x.id] for x in order) if listed_problem(r)]
        for n in range(1, layout.check_problem_rows(form) + 1):
            row = top + n
            found = f"MATCH({n},{rank},0)"
            for col, source in ((0, layout.COL_TITLE), (1, layout.COL_RESULT), (3, layout.COL_SEVERITY)):
                column = xl_col_to_name(source)
                pick = f"INDEX(${column}${first + 1}:${column}${last + 1},{found})"
                empty = '"（无）"' if (n, col) == (1, 0) else '""'
                ws.write_formula(row, col, f"=IFERROR({pick},{empty})", fmt["check"], _listed_text(listed, n, col))
            left, right = (xl_col_to_name(c) for c in (layout.COL_LEFT, layout.COL_RIGHT))
            values = (
                f'=IFERROR(IF(INDEX(${left}${first + 1}:${left}${last + 1},{found})="","",'
                f'"左边 "&INDEX(${left}${first + 1}:${left}${last + 1},{found})&"，右边 "'
                f'&INDEX(${right}${first + 1}:${right}${last + 1},{found})),"")'
            )
            ws.write_formula(row, 2, values, fmt["check"], _listed_text(listed, n, 2))
        # Verdict and counts
        counts = {t.id: self.table_count_formulas(t) for t in form.tables}
        col_error, col_warning = (xl_col_to_name(c) for c in (layout.COL_ERROR, layout.COL_WARNING))
        res = f"$B${first + 1}:$B${last + 1}"
        errors = (
            f"(SUM(${col_error}${first + 1}:${col_error}${last + 1})+{'+'.join(c['invalid'] for c in counts.values())})"
        )
        warnings = f"(SUM(${col_warning}${first + 1}:${col_warning}${last + 1})+{'+'.join(c['blank'] for c in counts.values())})"
        nothing = "AND(" + ",".join(outcomes.not_filled_test(status_ref[t.id]) for t in form.tables) + ")"
        verdict = (
            f'=IF({nothing},"{VERDICTS["empty"]}",IF({errors}>0,"有 "&{errors}&" 项错误，请修改后报送",'
            f'IF({warnings}>0,"有 "&{warnings}&" 项警告，请填写说明或核实","{VERDICTS["ok"]}")))'
        )
        python = self.sheet_counts()
        ws.merge_range(layout.CHECK_VERDICT_ROW, 0, layout.CHECK_VERDICT_ROW, last_printed, "", fmt["verdict"])
        ws.write_formula(layout.CHECK_VERDICT_ROW, 0, verdict, fmt["verdict"], verdict_text(python))
        ws.set_row(layout.CHECK_VERDICT_ROW, 30)
        for text, kind in (("错误", "status_bad"), ("警告", "status_warn"), ("可以报送", "status_good")):
            options = {"type": "text", "criteria": "containing", "value": text, "format": fmt[f"cf_{kind}"]}
            _ok(ws.conditional_format(layout.CHECK_VERDICT_ROW, 0, layout.CHECK_VERDICT_ROW, 0, options), "结论颜色")
        summary = (
            f'="错误 "&{errors}&" 项；警告 "&{warnings}&" 项；已说明 "&COUNTIF({res},"已说明")'
            f'&" 项；无法判断 "&COUNTIF({res},"无法判断")&" 项"'
        )
        ws.merge_range(layout.CHECK_SUMMARY_ROW, 0, layout.CHECK_SUMMARY_ROW, last_printed, "", fmt["text_bold"])
        ws.write_formula(layout.CHECK_SUMMARY_ROW, 0, summary, fmt["text_bold"], summary_line(python))
        # Colours of results: red for 不平衡/不通过/数值无效, green for 通过, amber for 已说明, grey for 无法判断
        for text, colour, criteria in (
            ("不", "#FFC7CE", "begins with"),
            (outcomes.INVALID_TEXT, "#FFC7CE", "begins with"),
            ("通过", "#C6EFCE", "begins with"),
            ("已说明", "#FFEB9C", "begins with"),
            ("无法判断", "#D9D9D9", "begins with"),
        ):
            options = {
                "type": "text",
                "criteria": criteria,
                "value": text,
                "format": self.wb.add_format({"bg_color": colour}),
            }
            for r0, r1 in ((first, last), (top + 1, top + layout.check_problem_rows(form))):
                _ok(ws.conditional_format(r0, layout.COL_RESULT, r1, layout.COL_RESULT, options), "结果颜色")
        ws.freeze_panes(layout.CHECK_PROBLEMS_HEADER_ROW, 0)
        self.protect(ws)
        self.print_setup(ws, last_printed, last, None)

    @staticmethod
    def counts_for(ret: Return) -> dict[str, int]:
        """sheet_counts for a return, without writing anything (tests compare it with a recalculated workbook)."""
        writer = _Writer.__new__(_Writer)
        writer.ret, writer.form = ret, ret.form
        writer.results = {r.rule.id: r for r in ret.rule_results()}
        return writer.sheet_counts()

    def sheet_counts(self) -> dict[str, int]:
        """The 校验 verdict's numbers in Python (the same arithmetic as its formulas)."""
        results = [self.results[r.id] for r in self.form.local_rules]
        tables = [self.table_counts(t) for t in self.form.tables]
        return {
            "empty": all(c["not_filled"] for c in tables),
            "errors": sum(r.outcome is Outcome.FAIL and r.rule.severity == "error" for r in results)
            + sum(c["invalid"] for c in tables),
            "warnings": sum(r.outcome is Outcome.FAIL and r.rule.severity == "warning" for r in results)
            + sum(c["blank"] for c in tables),
            "explained": sum(r.outcome is Outcome.EXPLAINED for r in results),
            "undetermined": sum(r.display == Outcome.UNDETERMINED.zh for r in results),
        }

    def write_rule_row(self, ws, row: int, rule, status_ref: dict[str, str], first: int) -> None:
        fmt, result, sheet = self.fmt, self.results[rule.id], layout.CHECK_SHEET
        r1 = lambda col: xl_rowcol_to_cell(row, col)  # noqa: E731 - a short local alias reads better here
        ws.write_string(row, layout.COL_ID, rule.id, fmt["check_small"])
        ws.write_string(row, layout.COL_TITLE, rule.title, fmt["check"])
        ws.write_string(row, layout.COL_SEVERITY, outcomes.Severity(rule.severity).zh, fmt["check"])
        ws.write_string(row, layout.COL_BASIS, rule.basis, fmt["check_small"])
        ws.set_row(row, 14 * max(math.ceil(_text_width(rule.title) / 52), 1) + 3)
        ref = lambda k: self.ref(k, sheet)  # noqa: E731
        node = rule.node
        if isinstance(node, expr.Compare):
            for col, side, cached in (
                (layout.COL_LEFT, node.left, result.left),
                (layout.COL_RIGHT, node.right, result.right),
            ):
                ws.write_formula(row, col, f'=IFERROR({expr.render(side, ref)},"")', fmt["check_num"], _cached(cached))
            difference = f"ROUND({r1(layout.COL_LEFT)}-{r1(layout.COL_RIGHT)},4)"
            failed = outcomes.fail_display_formula(node.op, difference)
        else:
            for col in (layout.COL_LEFT, layout.COL_RIGHT):
                ws.write_string(row, col, "", fmt["check"])
            failed = outcomes.fail_display_formula(None, None)
        conditions: dict[str, str] = {}
        if rule.severity == "warning":
            conditions["explained"] = f"LEN(TRIM({r1(layout.COL_NOTE)}))>0"
            note_format = fmt["check"] if self.rollup else fmt["note"]  # a roll-up has nothing to fill in
            ws.write_string(row, layout.COL_NOTE, self.ret.explanations.get(rule.id, ""), note_format)
        else:
            ws.write_blank(row, layout.COL_NOTE, None, fmt["check"])
        closure = self.form.input_closure(expr.refs(node))
        if rule.tables:
            tests = ",".join(outcomes.not_filled_test(status_ref[t]) for t in rule.tables)
            conditions["table_not_filled"] = f"OR({tests})"
        helpers = expr._ranges([self.validity_ref(self.form.cell[k], sheet) for k in closure])
        conditions["invalid_input"] = f"SUM({','.join(helpers)})>0"
        if rule.blank == "undetermined":  # any blank input (outside a table marked 无此类事项) makes it 无法判断
            complete = []
            for table_id in rule.tables:
                table = self.form.table(table_id)
                keys = [k for k in closure if self.form.cell[k].table == table_id]
                flag = f"{quote_sheet(table.sheet)}!{xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)}"
                complete.append(
                    f'OR({flag}="{layout.NO_ITEMS_YES}",COUNTA({self.input_ranges(keys, sheet)})={len(keys)})'
                )
            conditions["blank_input"] = f"NOT(AND({','.join(complete)}))"
        conditions["holds"] = expr.render(node, ref, rule.tolerance)
        formula = "=" + outcomes.outcome_formula(conditions, failed)
        ws.write_formula(row, layout.COL_RESULT, formula, fmt["check"], result.display)
        # Hidden flags: failed error, failed warning, and the rank of this rule in the problems list
        error = f'IF(LEFT({r1(layout.COL_RESULT)},1)="不",1,0)' if rule.severity == "error" else "0"
        warning = f'IF(LEFT({r1(layout.COL_RESULT)},1)="不",1,0)' if rule.severity == "warning" else "0"
        ws.write_formula(
            row,
            layout.COL_ERROR,
            "=" + error,
            fmt["helper"],
            int(result.outcome is Outcome.FAIL and rule.severity == "error"),
        )
        ws.write_formula(
            row,
            layout.COL_WARNING,
            "=" + warning,
            fmt["helper"],
            int(result.outcome is Outcome.FAIL and rule.severity == "warning"),
        )
        listed = f'OR(LEFT({r1(layout.COL_RESULT)},1)="不",{r1(layout.COL_RESULT)}="{outcomes.INVALID_TEXT}")'
        rank_col = xl_col_to_name(layout.COL_RANK)
        before = f"MAX(${rank_col}${first + 1}:{rank_col}{row})" if row > first else "0"
        ws.write_formula(row, layout.COL_RANK, f"=IF({listed},{before}+1,0)", fmt["helper"], self.rank(rule))

    def rank(self, rule) -> int:
        """The position of `rule` in the problems list (0 when it is not a problem), as the rank formulas compute."""
        order = [self.results[r.id] for r in layout.check_rule_order(self.form)]
        listed = [r.rule.id for r in order if listed_problem(r)]
        return listed.index(rule.id) + 1 if rule.id in listed else 0

    # --- _meta ------------------------------------------------------------------------------------------------------
    def write_extra(self, sheet: ExtraSheet) -> None:
        ws = self.wb.add_worksheet(sheet.name)
        fmt = self.fmt
        for col, text in enumerate(sheet.header):
            ws.write_string(0, col, text, fmt["header"])
            ws.set_column(col, col, sheet.widths[col] if col < len(sheet.widths) else 12)
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    ws.write_number(r, c, _plain(Decimal(value)) if isinstance(value, Decimal) else value)
                else:
                    ws.write_string(r, c, str(value))
        ws.freeze_panes(1, 0)
        ws.set_paper(9)
        ws.set_landscape()
        ws.repeat_rows(0, 0)
        if len(sheet.header) <= 12:  # list sheets print one page wide; the wide 明细 is for screens and filters
            ws.fit_to_pages(1, 0)
        if sheet.rows:
            ws.autofilter(0, 0, len(sheet.rows), max(len(sheet.header) - 1, 0))
        ws.protect(
            self.password,
            {
                "select_locked_cells": True,
                "select_unlocked_cells": True,
                "autofilter": True,
                "sort": True,
                "format_columns": True,
            },
        )

    def write_meta(self) -> None:
        ws = self.wb.add_worksheet(layout.META_SHEET)
        items = dict(meta_items(self.ret)) | self.meta
        for row, (key, value) in enumerate(items.items()):
            ws.write_string(row, 0, key)
            ws.write_string(row, 1, value)
        ws.hide()
        self.protect(ws)


def meta_items(ret: Return) -> list[tuple[str, str]]:
    form = ret.form
    return [
        ("generator", "xltool"),
        ("xltool_version", __version__),
        ("form", form.form),
        ("form_id", form.id),
        ("form_version", form.version),
        ("form_name", form.name),
        ("notice", form.notice),
        ("year", str(ret.year)),
        ("kind", "template"),
    ]


VERDICTS = {"empty": "尚未填报：请在各表中填写数字（没有的填 0）", "ok": "可以报送"}


def verdict_text(counts: dict[str, int]) -> str:
    """The 校验 sheet's verdict, as its formula gives it."""
    if counts["empty"]:
        return VERDICTS["empty"]
    if counts["errors"]:
        return f"有 {counts['errors']} 项错误，请修改后报送"
    if counts["warnings"]:
        return f"有 {counts['warnings']} 项警告，请填写说明或核实"
    return VERDICTS["ok"]


def summary_line(counts: dict[str, int]) -> str:
    return (
        f"错误 {counts['errors']} 项；警告 {counts['warnings']} 项；已说明 {counts['explained']} 项；"
        f"无法判断 {counts['undetermined']} 项"
    )


def summary_text(ret: Return) -> str:
    """The 校验 summary line for a return (the sheet computes the same)."""
    return summary_line(_Writer.counts_for(ret))


def verdict_for(ret: Return) -> str:
    return verdict_text(_Writer.counts_for(ret))


def status_lines(ret: Return) -> list[str]:
    """The status part of the line above each table (before the unit and year), as its formula gives it."""
    writer = _Writer.__new__(_Writer)
    writer.ret, writer.form = ret, ret.form
    writer.results = {r.rule.id: r for r in ret.rule_results()}
    return [status_line_text(writer.table_counts(t)) for t in ret.form.tables]


STATUS_LINES = {
    "not_filled": "本表尚未填报",
    "errors": "本表有 {n} 项错误，红色单元格需核对",
    "warnings": "本表有 {n} 项警告，请在“校验”表填写说明或核实",
    "blank": "本表有 {n} 格空白，没有数据请填 0",
    "ok": "本表校验通过",
}


def status_line_text(counts: dict) -> str:
    if counts["not_filled"]:
        return STATUS_LINES["not_filled"]
    if counts["errors"] + counts["invalid"]:
        return STATUS_LINES["errors"].format(n=counts["errors"] + counts["invalid"])
    if counts["warnings"]:
        return STATUS_LINES["warnings"].format(n=counts["warnings"])
    if counts["blank"]:
        return STATUS_LINES["blank"].format(n=counts["blank"])
    return STATUS_LINES["ok"]


def status_line_formula(f: dict[str, str]) -> str:
    def line(kind: str, n: str) -> str:
        before, after = STATUS_LINES[kind].split("{n}")
        return f'"{before}"&{n}&"{after}"'

    errors = f"({f['errors']}+{f['invalid']})"
    return (
        f'IF({f["not_filled"]},"{STATUS_LINES["not_filled"]}",IF({errors}>0,{line("errors", errors)},'
        f"IF({f['warnings']}>0,{line('warnings', f['warnings'])},IF({f['blank']}>0,{line('blank', f['blank'])},"
        f'"{STATUS_LINES["ok"]}"))))'
    )


def listed_problem(result: RuleResult) -> bool:
    """A rule shown in the 校验 problems list: failed, or reading an unusable entry."""
    return result.outcome is Outcome.FAIL or result.display == outcomes.INVALID_TEXT


def _listed_text(listed: list[RuleResult], n: int, col: int) -> str:
    """The cached text of the n-th row of the problems list (what its INDEX/MATCH formulas give)."""
    if n > len(listed):
        return "（无）" if (n, col) == (1, 0) else ""
    r = listed[n - 1]
    if col == 0:
        return r.rule.title
    if col == 1:
        return r.display
    if col == 3:
        return outcomes.Severity(r.rule.severity).zh
    if r.left is None or r.right is None or not isinstance(r.rule.node, expr.Compare):
        return ""
    return f"左边 {_general(r.left)}，右边 {_general(r.right)}"


def _general(v: Decimal) -> str:
    """A number as a spreadsheet's General format turns it into text."""
    return format(v.normalize(), "f") if v != v.to_integral_value() else str(int(v))


def validity_formula(cell: Cell, a1: str) -> str:
    """1 when the entry is no usable number, as Python's value reading decides (xltool.values.normalize)."""
    checks = [f"ABS({a1})>=1E9"]
    if not cell.type.signed:
        checks.append(f"{a1}<0")
    if cell.type.whole:
        checks.append(f"ABS({a1}-ROUND({a1},0))>1E-9")
    else:
        checks.append(f"ABS(ROUND({a1},{cell.type.places})-{a1})>1E-9")  # engines' binary rounding differs a hair
    return f"IF(ISNUMBER({a1}),IF(OR({','.join(checks)}),1,0),IF(LEN({a1})=0,0,1))"


def validation_options(cell: Cell) -> dict:
    if cell.type.name == "amount":
        unit = cell.type.unit or ""
        return {
            "validate": "decimal",
            "criteria": ">=",
            "value": 0,
            "input_title": f"金额（{unit}）",
            "error_type": "stop",
            "error_title": "金额有误",
            "input_message": f"单位：{unit}，填写大于等于 0 的数，最多 {cell.type.places} 位小数。没有请填 0。",
            "error_message": f"只能填写大于等于 0 的数字（单位：{unit}），不能填负数或文字。",
        }
    if cell.type.signed:
        return {
            "validate": "integer",
            "criteria": "between",
            "minimum": -999999999,
            "maximum": 999999999,
            "input_title": "增减数量",
            "error_type": "stop",
            "error_title": "数量有误",
            "input_message": "填写整数；减少的用负数表示，如 -8。没有变化请填 0。",
            "error_message": "只能填写整数（减少用负数），不能填小数或文字。",
        }
    return {
        "validate": "integer",
        "criteria": ">=",
        "value": 0,
        "input_title": "件数",
        "error_type": "stop",
        "error_title": "件数有误",
        "input_message": "填写大于等于 0 的整数。没有请填 0。",
        "error_message": "只能填写大于等于 0 的整数，不能填小数、负数或“无”“-”等文字。",
    }


def column_widths(table: Table) -> list[float]:
    """Widths that fit A4 landscape at (nearly) full size: about 104 character units in all, so 10 pt text prints at
    9 pt or more (LibreOffice measured: one unit is 7.6 pt; the printable width is 790 pt)."""
    if table.layout == "blocks":
        return [30.0] + [18.0] * (table.width - 1)
    label_cols = table.width - len(table.col_keys)
    labels = {0: [], 1: [10.0], 2: [10.0, 16.0], 3: [8.0, 12.0, 30.0]}[label_cols]
    value = max(6.0, min(9.0, (104 - sum(labels)) / len(table.col_keys)))
    return labels + [value] * len(table.col_keys)


def _text_width(text: str) -> int:
    """Display width in Excel character units: a CJK character is about two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def row_heights(table: Table, widths: list[float]) -> dict[int, float]:
    """Tall enough for wrapped labels: XlsxWriter cannot autofit, and LibreOffice/WPS/Excel differ if left unset."""
    heights: dict[int, float] = {}
    for label in table.labels:
        if label.kind == "corner":
            continue
        width = sum(widths[label.first_col : label.last_col + 1])
        lines = math.ceil(_text_width(label.text) / max(width - 1, 1))
        rows = label.last_row - label.first_row + 1
        need = 14.5 * lines / rows + 3
        for r in range(label.first_row, label.last_row + 1):
            heights[r] = max(heights.get(r, 16.0), need)
    return heights


def _header_text(text: str) -> str:
    """Text for a page header: & starts a header code, so it is doubled."""
    return text.replace("&", "&&")[:200]


def _plain(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


def _cached(v: Decimal | None) -> int | float | str:
    return "" if v is None else _plain(v)


_BOOK_VIEWS = re.compile(rb"<bookViews>")


def lock_workbook_xml(data: bytes, password_hash: str | None) -> bytes:
    """xl/workbook.xml with <workbookProtection lockStructure="1"> (and the password hash) before <bookViews>."""
    attrs = b'lockStructure="1"' + (f' workbookPassword="{password_hash}"'.encode() if password_hash else b"")
    return _BOOK_VIEWS.sub(b"<workbookProtection " + attrs + b"/><bookViews>", data, count=1)


def lock_structure(path: Path, password_hash: str | None) -> None:
    """XlsxWriter has no workbook-structure protection: add <workbookProtection> to xl/workbook.xml."""
    tmp = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = lock_workbook_xml(data, password_hash)
            dst.writestr(item, data)
    os.replace(tmp, path)


def write_xlsx(
    ret: Return,
    path: str | os.PathLike,
    password: str | None = None,
    extra: list[ExtraSheet] | None = None,
    meta: dict[str, str] | None = None,
    personal: Personal | None = None,
) -> Path:
    """Write `ret` (an empty Return gives the blank template) to `path` atomically; `extra` sheets follow 校验."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer = _Writer(ret, tmp, password, extra, meta, personal)
        writer.write()
        from xlsxwriter.worksheet import Worksheet

        password_hash = Worksheet()._encode_password(password) if password else None
        if writer.streams:  # per-unit rows of a roll-up's review sheets, written in the same pass as the lock
            from xltool.template import stream

            stream.finish(tmp, writer.wb, writer.streams, lambda xml: lock_workbook_xml(xml, password_hash))
        else:
            lock_structure(tmp, password_hash)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["col_letter", "quote_sheet", "write_xlsx"]
