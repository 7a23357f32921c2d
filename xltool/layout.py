"""Where the workbook keeps what is not an official table cell: unit fields, flags, the 校验 sheet, metadata.

The template writer and the reader both use these positions (0-based rows and columns).
"""

from __future__ import annotations

from xltool.forms import INFO_ROW, Form, Table
from xltool.outcomes import NO_ITEMS_TEXT, NO_ITEMS_YES  # noqa: F401  the flag's label and value, used via layout

GUIDE_SHEET = "填报说明"
CHECK_SHEET = "校验"
META_SHEET = "_meta"

# A roll-up (xltool merge) is a workbook of the same form plus these sheets; its _meta says kind: rollup.
ROLLUP_KIND = "rollup"
SOURCE_SHEET, DETAIL_SHEET, REJECTED_SHEET, NOTES_SHEET, ROSTER_SHEET = "来源", "明细", "未汇总", "说明汇总", "名册核对"
ROLLUP_SHEETS = (DETAIL_SHEET, SOURCE_SHEET, REJECTED_SHEET, NOTES_SHEET, ROSTER_SHEET)

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
SCOPES = ["本机关", "本行政区域汇总"]


def no_items_cell(table: Table) -> tuple[int, int]:
    """The 本年度无此类事项 flag: last column of the info row above the table."""
    return INFO_ROW, table.width - 1


# 校验 sheet
CHECK_COLUMNS = [
    "规则编号",
    "检查内容",
    "类别",
    "级别",
    "左边",
    "右边",
    "差额",
    "结果",
    "说明（警告可填写原因）",
    "依据",
]
COL_ID, COL_TITLE, COL_LEVEL, COL_SEVERITY, COL_LEFT, COL_RIGHT, COL_DIFF, COL_RESULT, COL_NOTE, COL_BASIS = range(10)
CHECK_SUMMARY_ROW = 1
CHECK_STATUS_HEADER_ROW = 3  # then one row per table


def check_rule_header_row(form: Form) -> int:
    return CHECK_STATUS_HEADER_ROW + len(form.tables) + 2


def check_rule_row(form: Form, index: int) -> int:
    return check_rule_header_row(form) + 1 + index


def check_status_row(form: Form, table_id: str) -> int:
    return CHECK_STATUS_HEADER_ROW + 1 + [t.id for t in form.tables].index(table_id)
