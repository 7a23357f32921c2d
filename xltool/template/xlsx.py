"""Write a Return (empty for a blank template) as a locked xlsx workbook in the official layout.

Every total and check cell is a formula compiled from the form's rules, and carries the result that Python computes
for the same values, so viewers that do not recalculate still show the right numbers.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.utility import xl_rowcol_to_cell

from xltool import layout, safewrite
from xltool import rules as expr
from xltool._version import __version__
from xltool.evaluation import RuleResult
from xltool.forms import col_letter
from xltool.model import Invalid, Return
from xltool.template.cells import ok, plain, quote_sheet
from xltool.template.checks import CheckSheet
from xltool.template.guide import GuideSheet
from xltool.template.protection import lock_structure, lock_workbook_xml, password_hash
from xltool.template.tables import TableSheets
from xltool.template.verdicts import status_line_text, summary_line, verdict_text

FONT = "宋体"  # present on Windows (Excel, WPS); LibreOffice substitutes a CJK font of the same metrics
INPUT_FILL = "#FFF2CC"
TOTAL_FILL = "#EDEDED"
PREFILL_FILL = "#DDEBF7"  # locked, pre-filled by the county from last year's return
# Numbers end a space's width from the right border; an amount shows its places only when it has them (0, not 0.0000;
# 4.6037 as 4.6037): General keeps what was entered, up to the 4 places the form allows.
NUMBER_FORMATS = {"count": "0_ ", "signed_count": "0_ ;-0_ ", "amount": "General_ "}


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


class _Writer(GuideSheet, TableSheets, CheckSheet):
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
        # A cell a report printed blank is a blank cell here, computed as Excel and LibreOffice compute a blank.
        inputs_only = {
            k: v
            for k, v in ret.values.items()
            if ret.form.cell[k].is_input and not (isinstance(v, Invalid) and not v.raw.strip())
        }
        ret = Return(
            ret.form,
            ret.year,
            ret.unit,
            inputs_only,
            set(ret.no_items),
            dict(ret.explanations),
            prefilled=set(self.personal.prefilled) | ret.prefilled,
            unread=set(ret.unread),  # a table the report did not show: its totals are unknown, never 0
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
            "check_shrink": f(box, text_wrap=False, shrink=True),
            "check_num": f(box, num_format="General"),
            "note": f(box, locked=False, bg_color=INPUT_FILL),
            "check_small": f(box, font_size=9, font_color="#595959"),
            "section": f(box, bold=True, bg_color="#F2F2F2", align="left"),
            "verdict": f(base, bold=True, font_size=14, align="center", border=1),
            "verdict_wrap": f(
                base, bold=True, font_size=14, align="center", border=1, text_wrap=True
            ),  # a roll-up's gaps
            "status_wrap": f(base, bold=True, align="left", text_wrap=True),  # an incomplete roll-up's status line
            "unit_note": f(base, font_color="#C00000", bold=True),
            "helper": f(base, font_color="#808080"),
            "cf_invalid": self.wb.add_format({"bg_color": "#FF7C80", "font_color": "#7F0000", "bold": True}),
            "cf_failing": self.wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "cf_blank": self.wb.add_format({"bg_color": "#E4DFEC"}),
            "cf_status_bad": self.wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "cf_status_warn": self.wb.add_format({"bg_color": "#FCE4D6", "font_color": "#833C0B"}),
            "cf_status_good": self.wb.add_format({"bg_color": "#C6EFCE", "font_color": "#006100"}),
        }
        fmts["row_shrink"] = f(base, border=1, align="left", shrink=True)  # one line in every engine (label_fits)
        fmts["header_shrink"] = f(base, border=1, bold=True, align="center", shrink=True)
        for type_name in NUMBER_FORMATS:
            # The air against the right border is a space's width in the number format, not an indent: LibreOffice
            # indents only merged cells, so digits sat flush in some columns and indented in others.
            number = {"num_format": NUMBER_FORMATS[type_name], "align": "right"}
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
        ok(self.wb.set_custom_property("xltool_form", self.form.id), "自定义属性")
        ok(self.wb.set_custom_property("xltool_year", str(self.ret.year)), "自定义属性")
        self.wb.close()

    def protect(self, ws) -> None:
        ws.protect(
            self.password,
            {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True, "format_rows": True},
        )

    def print_setup(
        self, ws, last_col: int, last_row: int, repeat: tuple[int, int] | None, one_page: bool = False
    ) -> None:
        """A4 landscape, one page wide: column widths are chosen so that fitting shrinks the 10 pt text by at most a
        few percent (glyphs stay at 9 pt or more); long sheets run on to further pages with their headers repeated.
        An official table prints on one page (its row heights keep that within a tenth of full size)."""
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 1 if one_page else 0)
        ws.center_horizontally()
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.55)
        ws.set_footer("&C第 &P 页，共 &N 页")
        ws.print_area(0, 0, last_row, last_col)
        if repeat:
            ws.repeat_rows(*repeat)

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
                    ws.write_number(r, c, plain(Decimal(value)) if isinstance(value, Decimal) else value)
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
    with safewrite.replacing(path) as tmp:
        writer = _Writer(ret, tmp, password, extra, meta, personal)
        try:
            writer.write()
        except (
            FileCreateError
        ) as exc:  # XlsxWriter wraps the OSError (a full disk): give it back, to be said in Chinese
            if isinstance(exc.args[0] if exc.args else None, OSError):
                raise exc.args[0] from None
            raise
        hashed = password_hash(password) if password else None
        if writer.streams:  # per-unit rows of a roll-up's review sheets, written in the same pass as the lock
            from xltool.template import stream

            stream.finish(tmp, writer.wb, writer.streams, lambda xml: lock_workbook_xml(xml, hashed))
        else:
            lock_structure(tmp, hashed)
    return path


__all__ = ["col_letter", "quote_sheet", "write_xlsx"]
