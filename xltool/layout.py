"""Where the workbook keeps what is not an official table cell: unit fields, flags, the 校验 sheet, metadata.

The template writer and the reader both use these positions (0-based rows and columns).
"""

from __future__ import annotations

import json

from xltool.forms import INFO_ROW, Form, Table
from xltool.outcomes import NO_ITEMS_TEXT, NO_ITEMS_YES  # noqa: F401  the flag's label and value, used via layout

GUIDE_SHEET = "填报说明"
CHECK_SHEET = "校验"
META_SHEET = "_meta"

# A roll-up (xltool merge) is a workbook of the same form plus these sheets; its _meta says kind: rollup.
ROLLUP_KIND = "rollup"
SOURCE_SHEET, DETAIL_SHEET, REJECTED_SHEET, NOTES_SHEET, ROSTER_SHEET = "来源", "明细", "未汇总", "说明汇总", "名册核对"
SUMMARY_SHEET, OVERVIEW_SHEET = "汇总说明", "概览"
ROLLUP_SHEETS = (SUMMARY_SHEET, OVERVIEW_SHEET, DETAIL_SHEET, SOURCE_SHEET, REJECTED_SHEET, NOTES_SHEET, ROSTER_SHEET)

# A workbook imported from a published report (xltool import) carries these sheets, and its Return these metadata.
IMPORT_NOTES_SHEET = "导入说明"  # what the import noted
PRINTED_SHEET = "原文数值"  # every number as the report printed it, totals included
CELLS_META = "cells"  # every cell read, as JSON (table, row, column, key, value, printed, where)
KIND_TEXT = {"text": "纯文本", "md": "Markdown", "html": "网页", "docx": "Word 文档", "pdf": "PDF"}  # a report's format


def rollup_line(meta: dict[str, str]) -> str:
    """What a roll-up contains, in one line: 汇总 N 个单位（应报 M，缺报 K，未汇总 J）; the counts come from its _meta
    (written by xltool merge). Expected and missing are named only when a roster was given."""
    members, not_merged = meta.get("members", "0"), meta.get("not_merged", meta.get("rejected", "0"))
    parts = []
    if meta.get("expected"):
        parts += [f"应报 {meta['expected']}", f"缺报 {meta.get('missing', '0')}"]
    parts.append(f"未汇总 {not_merged}")
    return f"汇总 {members} 个单位（{'，'.join(parts)}）"


MISSING_UNITS, NOT_MERGED_UNITS = "missing_units", "not_merged_units"  # _meta: JSON lists of unit names (or files)


def rollup_gaps(meta: dict[str, str]) -> str | None:
    """Why a roll-up is incomplete, in one line naming the units — 汇总不完整：缺报 1 个单位（某某镇）、未汇总 1 个
    单位（某某乡） — or None when nothing on its roster is missing and no input was refused. Every view of a roll-up
    (校验 banner, status lines, `check`, `report`, merge's summary) says this same line."""
    parts = []
    for count_key, names_key, word in (("missing", MISSING_UNITS, "缺报"), ("not_merged", NOT_MERGED_UNITS, "未汇总")):
        try:
            count = int(meta.get(count_key, "0") or 0)
        except ValueError:
            count = 0
        if count <= 0:
            continue
        try:
            names = [str(n) for n in json.loads(meta.get(names_key) or "[]")]
        except (ValueError, TypeError):
            names = []
        shown = "、".join(names[:10]) + (f"等 {len(names)} 个" if len(names) > 10 else "")
        parts.append(f"{word} {count} 个单位" + (f"（{shown}）" if shown else ""))
    return "汇总不完整：" + "、".join(parts) if parts else None


# 填报说明: (field, label, 0-based row); the value is in column B.
UNIT_FIELDS = [
    ("name", "填报单位（全称）", 3),
    ("code", "统一社会信用代码或行政区划代码", 4),
    ("scope", "统计范围", 5),
    ("filled_by", "填报人", 6),
    ("phone", "联系电话", 7),
    ("date", "填报日期", 8),
]
YEAR_ROW = 2  # 填报说明!B3 holds the report year (locked)


def extra_fields(form: Form) -> list[tuple[str, str, int, str]]:
    """Optional 填报说明 inputs the form's report declares (通讯地址, 收取信息处理费金额 …): (key, label, 0-based row,
    input message), in rows right below the unit fields; the value is in column B, the label in A (the reader finds
    a field by its label, so a workbook made before the form declared it is read without it)."""
    first = UNIT_FIELDS[-1][2] + 1
    return [(f.key, f.label, first + i, f.hint) for i, f in enumerate(form.report.unit_fields)]


def guide_text_row(form: Form) -> int:
    """The row of the 填报须知 heading: one empty row after the unit fields and the extra fields."""
    fields = extra_fields(form)
    return (fields[-1][2] if fields else UNIT_FIELDS[-1][2]) + 2


SCOPES = ["本机关", "本行政区域汇总"]


def no_items_cell(table: Table) -> tuple[int, int]:
    """The 本年度无此类事项 flag: last column of the info row above the table."""
    return INFO_ROW, table.width - 1


# 校验 sheet: a verdict first, then the problems only, the table statuses, and the full rule list. The printed
# columns come first; the rule id and basis follow outside the print area; hidden helper columns after them let every
# spreadsheet count without array formulas (Gnumeric evaluates those differently).
CHECK_COLUMNS = ["检查内容", "结果", "说明（警告可填写原因）", "级别", "规则编号", "依据"]
COL_TITLE, COL_RESULT, COL_NOTE, COL_SEVERITY, COL_ID, COL_BASIS = range(6)
COL_LEFT, COL_RIGHT, COL_ERROR, COL_WARNING = range(6, 10)  # hidden helpers of each rule row
# Hidden helpers of the problems list, one row per line it can show (from the list's first row down): a blank row's
# count of blank cells, the running count of lines shown (MATCH finds the n-th), and the line's texts.
COL_ITEM_N, COL_ITEM_RUNNING, COL_ITEM_WHAT, COL_ITEM_RESULT, COL_ITEM_VALUES = range(10, 15)
CHECK_PRINTED = COL_SEVERITY  # last printed column
CHECK_VERDICT_ROW, CHECK_SUMMARY_ROW, CHECK_PROBLEMS_HEADER_ROW = 1, 2, 4
CHECK_LIST_ROWS = 20  # lines of the printed problems list (the last one says how many more when they do not fit)
FIXED_HEADING = "以下各项为合计公式，模板未被改动时总是通过"


def check_rule_order(form: Form) -> list:
    """Rules as the 校验 sheet lists them: those a clerk's entries can break first, then the total formulas."""
    rules = form.local_rules
    return [r for r in rules if not r.defines] + [r for r in rules if r.defines]


def _breakable_rules(form: Form) -> int:
    """Rules a clerk's entries can break (the others are the total formulas)."""
    return sum(1 for r in form.local_rules if not r.defines)


def check_problem_rows(form: Form) -> int:
    """Rows of the problems list: a page's worth, and at least one per rule that can fail in an untouched template."""
    return max(CHECK_LIST_ROWS, _breakable_rules(form))


def check_status_header_row(form: Form) -> int:
    return CHECK_PROBLEMS_HEADER_ROW + check_problem_rows(form) + 2


def check_status_row(form: Form, table_id: str) -> int:
    return check_status_header_row(form) + 1 + [t.id for t in form.tables].index(table_id)


def check_rule_header_row(form: Form) -> int:
    return check_status_header_row(form) + len(form.tables) + 2


def check_rule_row(form: Form, rule) -> int:
    """The row of a rule (a Rule or its id); the total-formula rules come after a heading row of their own."""
    rule_id = rule if isinstance(rule, str) else rule.id
    order = [r.id for r in check_rule_order(form)]
    index = order.index(rule_id)
    return check_rule_header_row(form) + 1 + index + (1 if index >= _breakable_rules(form) else 0)


def helper_offset(table: Table) -> int:
    """Columns between an input cell and its hidden validity flag on the same sheet (past the printed table and the
    reference column of personalised workbooks)."""
    return table.width + 2
