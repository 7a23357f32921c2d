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
from xlsxwriter.utility import xl_rowcol_to_cell

from xltool import layout, outcomes
from xltool import rules as expr
from xltool._version import __version__
from xltool.check import RuleResult
from xltool.forms import INFO_ROW, TABLE_ROW, TITLE_ROW, Cell, Table, col_letter, formula_of
from xltool.model import Invalid, Return

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
    """A plain read-only list sheet after the official tables (roll-up 明细, 来源, 未汇总 …)."""

    name: str
    header: list[str]
    rows: list[list[object]]
    widths: list[float] = field(default_factory=list)


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
            "corner": f(box, font_size=9, align="left"),
            "row": f(box, align="left"),
            "text": f(base, text_wrap=True),
            "text_bold": f(base, bold=True),
            "field": f(box, locked=False, bg_color=INPUT_FILL, num_format="@"),
            "field_label": f(box, bold=True),
            "locked_value": f(box, align="left"),
            "check": f(box),
            "check_num": f(box, num_format="General"),
            "note": f(box, locked=False, bg_color=INPUT_FILL),
        }
        for type_name, num in (("count", "0"), ("signed_count", "0"), ("amount", "0.0000")):
            fmts[f"input_{type_name}"] = f(box, locked=False, bg_color=INPUT_FILL, num_format=num, align="right")
            fmts[f"total_{type_name}"] = f(box, bg_color=TOTAL_FILL, num_format=num, align="right", bold=True)
            fmts[f"prefilled_{type_name}"] = f(box, bg_color=PREFILL_FILL, num_format=num, align="right")
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
        self.write_guide()
        for table in self.form.tables:
            self.write_table(table)
        self.write_checks()
        for sheet in self.extra:
            self.write_extra(sheet)
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
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
        ws.center_horizontally()
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
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
            locked = self.personal.lock_unit and name in ("name", "code")
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
        row = layout.UNIT_FIELDS[-1][2] + 2
        ws.write_string(row, 0, "填报须知", fmt["text_bold"])
        for line in form.guide_lines():
            row += 1
            ws.merge_range(row, 0, row, 3, line, fmt["text"])
            ws.set_row(row, 15 * max(1, math.ceil(_text_width(line) / 96)))  # A:D is ~100 character units wide
        self.protect(ws)
        self.print_setup(ws, 3, row, None)
        ws.set_portrait()
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
        # Info row: unit and year (from 填报说明), and the 本年度无此类事项 flag.
        name_ref = f"{quote_sheet(layout.GUIDE_SHEET)}!$B${layout.UNIT_FIELDS[0][2] + 1}"
        info = f'"填报单位："&{name_ref}&"　　报告年度：{ret.year}"'
        cached = f"填报单位：{ret.unit.name}　　报告年度：{ret.year}"
        flag_row, flag_col = layout.no_items_cell(table)
        label_first = max(flag_col - 2, 1) if flag_col > 1 else 0  # the flag's label: two columns where there is room
        if label_first > 0:
            if label_first - 1 > 0:
                ws.merge_range(INFO_ROW, 0, INFO_ROW, label_first - 1, "", fmt["info"])
            ws.write_formula(INFO_ROW, 0, "=" + info, fmt["info"], cached)
        else:  # a two-column table has no room for the unit line beside the flag: it is printed in the page header
            ws.set_header(f"&L{_header_text(cached)}")
        if label_first < flag_col - 1:
            ws.merge_range(
                INFO_ROW, label_first, INFO_ROW, flag_col - 1, layout.NO_ITEMS_TEXT + "：", fmt["info_label"]
            )
        else:
            ws.write_string(INFO_ROW, label_first, layout.NO_ITEMS_TEXT + "：", fmt["info_label"])
        ws.write_string(flag_row, flag_col, layout.NO_ITEMS_YES if table.id in ret.no_items else "", fmt["flag"])
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
                ws.merge_range(cell.row, cell.col, cell.row, cell.right, "", fmt[f"input_{cell.type.name}"])
            self.write_cell(ws, cell)
        self.validate_inputs(ws, table)
        self.write_references(ws, table)
        for row, height in row_heights(table, widths).items():
            ws.set_row(row, height)
        if table.header_rows:
            ws.freeze_panes(table.first_data_row, 0)
        self.protect(ws)
        repeat = (TABLE_ROW, table.first_data_row - 1) if table.header_rows else None
        self.print_setup(ws, last, table.last_row, repeat)

    def write_cell(self, ws, cell: Cell) -> None:
        if cell.is_input:
            style = self.fmt[f"input_{cell.type.name}"]
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

    # --- 校验 -------------------------------------------------------------------------------------------------------
    def write_checks(self) -> None:
        form, ret, fmt = self.form, self.ret, self.fmt
        ws = self.wb.add_worksheet(layout.CHECK_SHEET)
        sheet = layout.CHECK_SHEET
        for col, width in enumerate([26, 56, 8, 6, 10, 10, 10, 18, 30, 44]):
            ws.set_column(col, col, width)
        ncol = len(layout.CHECK_COLUMNS) - 1
        ws.merge_range(TITLE_ROW, 0, TITLE_ROW, ncol, "校验结果（随填随算；报送前请确保没有“错误”）", fmt["title"])
        # Table status
        ws.write_string(layout.CHECK_STATUS_HEADER_ROW, 0, "表", fmt["header"])
        ws.write_string(layout.CHECK_STATUS_HEADER_ROW, 1, "填报状态", fmt["header"])
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
        # Rules
        header = layout.check_rule_header_row(form)
        for col, text in enumerate(layout.CHECK_COLUMNS):
            ws.write_string(header, col, text, fmt["header"])
        first = layout.check_rule_row(form, 0)
        last = layout.check_rule_row(form, len(form.local_rules) - 1)
        for index, rule in enumerate(form.local_rules):
            self.write_rule_row(ws, layout.check_rule_row(form, index), rule, status_ref)
        # Summary
        sev = f"$D${first + 1}:$D${last + 1}"
        res = f"$H${first + 1}:$H${last + 1}"
        summary = (
            f'="错误 "&SUMPRODUCT(({sev}="错误")*(LEFT({res},1)="不"))&" 项；警告 "'
            f'&SUMPRODUCT(({sev}="警告")*(LEFT({res},1)="不"))&" 项；已说明 "&COUNTIF({res},"已说明")'
            f'&" 项；无法判断 "&COUNTIF({res},"无法判断")&" 项"'
        )
        ws.merge_range(layout.CHECK_SUMMARY_ROW, 0, layout.CHECK_SUMMARY_ROW, ncol, "", fmt["text_bold"])
        ws.write_formula(layout.CHECK_SUMMARY_ROW, 0, summary, fmt["text_bold"], summary_text(self.results.values()))
        # Colours: red for 不平衡/不通过, green for 通过, amber for 已说明, grey for 无法判断
        for text, colour, criteria in (
            ("不", "#FFC7CE", "begins with"),
            ("通过", "#C6EFCE", "begins with"),
            ("已说明", "#FFEB9C", "begins with"),
            ("无法判断", "#D9D9D9", "begins with"),
        ):
            ws.conditional_format(
                first,
                layout.COL_RESULT,
                last,
                layout.COL_RESULT,
                {
                    "type": "text",
                    "criteria": criteria,
                    "value": text,
                    "format": self.wb.add_format({"bg_color": colour}),
                },
            )
        ws.freeze_panes(header + 1, 2)
        self.protect(ws)
        self.print_setup(ws, ncol, last, (header, header))

    def write_rule_row(self, ws, row: int, rule, status_ref: dict[str, str]) -> None:
        fmt, result, sheet = self.fmt, self.results[rule.id], layout.CHECK_SHEET
        r1 = lambda col: xl_rowcol_to_cell(row, col)  # noqa: E731 - a short local alias reads better here
        ws.write_string(row, layout.COL_ID, rule.id, fmt["check"])
        ws.write_string(row, layout.COL_TITLE, rule.title, fmt["check"])
        ws.write_string(row, layout.COL_LEVEL, rule.level, fmt["check"])
        ws.write_string(row, layout.COL_SEVERITY, outcomes.Severity(rule.severity).zh, fmt["check"])
        ws.write_string(row, layout.COL_BASIS, rule.basis, fmt["check"])
        lines = max(
            math.ceil(_text_width(rule.title) / 54),
            math.ceil(_text_width(rule.basis) / 42),
            math.ceil(_text_width(rule.id) / 24),
            1,
        )
        ws.set_row(row, 14 * lines + 2)
        ref = lambda k: self.ref(k, sheet)  # noqa: E731
        node = rule.node
        if isinstance(node, expr.Compare):
            for col, side, cached in (
                (layout.COL_LEFT, node.left, result.left),
                (layout.COL_RIGHT, node.right, result.right),
            ):
                ws.write_formula(row, col, f'=IFERROR({expr.render(side, ref)},"")', fmt["check_num"], _cached(cached))
            ws.write_formula(
                row,
                layout.COL_DIFF,
                f'=IFERROR(ROUND({r1(layout.COL_LEFT)}-{r1(layout.COL_RIGHT)},4),"")',
                fmt["check_num"],
                _cached(result.difference),
            )
            failed = outcomes.fail_display_formula(node.op, r1(layout.COL_DIFF))
        else:
            for col in (layout.COL_LEFT, layout.COL_RIGHT, layout.COL_DIFF):
                ws.write_blank(row, col, None, fmt["check"])
            failed = outcomes.fail_display_formula(None, None)
        conditions: dict[str, str] = {}
        if rule.severity == "warning":
            conditions["explained"] = f"LEN(TRIM({r1(layout.COL_NOTE)}))>0"
            ws.write_string(row, layout.COL_NOTE, self.ret.explanations.get(rule.id, ""), fmt["note"])
        else:
            ws.write_blank(row, layout.COL_NOTE, None, fmt["check"])
        closure = self.form.input_closure(expr.refs(node))
        counted = self.input_ranges(closure, sheet)
        if rule.tables:
            tests = ",".join(outcomes.not_filled_test(status_ref[t]) for t in rule.tables)
            conditions["table_not_filled"] = f"OR({tests})"
        conditions["invalid_input"] = f"COUNTA({counted})<>COUNT({counted})"
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


def summary_text(results) -> str:
    results = list(results)
    errors = sum(1 for r in results if r.rule.severity == "error" and r.outcome == "fail")
    warnings = sum(1 for r in results if r.rule.severity == "warning" and r.outcome == "fail")
    explained = sum(1 for r in results if r.outcome == "explained")
    unknown = sum(1 for r in results if r.outcome == "undetermined")
    return f"错误 {errors} 项；警告 {warnings} 项；已说明 {explained} 项；无法判断 {unknown} 项"


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
    if table.layout == "blocks":
        return [30.0] + [18.0] * (table.width - 1)
    label_cols = table.width - len(table.col_keys)
    labels = {0: [10.0], 1: [10.0], 2: [12.0, 16.0], 3: [10.0, 16.0, 38.0]}[label_cols] if label_cols else []
    return labels + [9.0] * len(table.col_keys)


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


def lock_structure(path: Path, password_hash: str | None) -> None:
    """XlsxWriter has no workbook-structure protection: add <workbookProtection> to xl/workbook.xml."""
    attrs = b'lockStructure="1"' + (f' workbookPassword="{password_hash}"'.encode() if password_hash else b"")
    tmp = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = _BOOK_VIEWS.sub(b"<workbookProtection " + attrs + b"/><bookViews>", data, count=1)
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
        _Writer(ret, tmp, password, extra, meta, personal).write()
        from xlsxwriter.worksheet import Worksheet

        lock_structure(tmp, Worksheet()._encode_password(password) if password else None)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


__all__ = ["col_letter", "quote_sheet", "write_xlsx"]
