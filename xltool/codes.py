"""Every problem code xltool raises, declared once: its severity, what it means in Chinese and English, what to do.

Rule ids (T3-BAL-TOTAL …) are codes too; they come from the form files. Everything else a reader, checker or merge
can say is listed here, and modules name codes as `Code.X`, never as string literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from xltool.outcomes import Severity


class Code(StrEnum):
    # the file cannot be used at all (file unreadable, exit 2)
    EMPTY_FILE = "EMPTY-FILE"
    TOO_LARGE = "TOO-LARGE"
    CORRUPT = "CORRUPT"
    ENCRYPTED = "ENCRYPTED"
    ZIP_BOMB = "ZIP-BOMB"
    XML_BOMB = "XML-BOMB"
    NOT_SPREADSHEET = "NOT-SPREADSHEET"
    NOT_A_RETURN = "NOT-A-RETURN"
    NOT_A_REPORT = "NOT-A-REPORT"
    WRONG_FORM = "WRONG-FORM"
    UNREADABLE = "UNREADABLE"
    # reading
    YEAR_UNKNOWN = "YEAR-UNKNOWN"
    LOCATED_BY_LABELS = "LOCATED-BY-LABELS"
    FORM_YEAR_MISMATCH = "FORM-YEAR-MISMATCH"
    ROWS_MOVED = "ROWS-MOVED"
    LABEL_CHANGED = "LABEL-CHANGED"
    SHEET_RENAMED = "SHEET-RENAMED"
    TABLE_NOT_FOUND = "TABLE-NOT-FOUND"
    PROTECTION_REMOVED = "PROTECTION-REMOVED"
    FORMULA_OVERWRITTEN = "FORMULA-OVERWRITTEN"
    VALUE_NORMALISED = "VALUE-NORMALISED"
    GUIDE_MISSING = "GUIDE-MISSING"
    UNIT_MISSING = "UNIT-MISSING"
    IMPORT_UNPLACED = "IMPORT-UNPLACED"
    IMPORT_INCOMPLETE = "IMPORT-INCOMPLETE"
    IMPORT_EXTRA_ROWS = "IMPORT-EXTRA-ROWS"
    NO_PREVIOUS = "NO-PREVIOUS"
    # checking
    NOT_FILLED = "NOT-FILLED"
    TABLE_NOT_FILLED = "TABLE-NOT-FILLED"
    NO_ITEMS_CONFLICT = "NO-ITEMS-CONFLICT"
    BLANK_CELL = "BLANK-CELL"
    INVALID_VALUE = "INVALID-VALUE"
    # merging: why a file was left out of a roll-up
    IGNORED = "IGNORED"
    HAS_ERRORS = "HAS-ERRORS"
    MIXED_YEARS = "MIXED-YEARS"
    MIXED_FORMS = "MIXED-FORMS"
    DOUBLE_COUNTED = "DOUBLE-COUNTED"
    DUPLICATE = "DUPLICATE"

    @property
    def info(self) -> CodeInfo:
        return CATALOGUE[self]

    @property
    def severity(self) -> Severity:
        return CATALOGUE[self].severity


@dataclass(frozen=True)
class CodeInfo:
    severity: Severity
    zh: str  # what it means, as a short Chinese phrase (review sheets, the 未汇总 list)
    en: str  # the same fact for `--lang en`
    action: str  # what the clerk or the county should do


E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO  # N: a note (提示)

CATALOGUE: dict[Code, CodeInfo] = {
    Code.EMPTY_FILE: CodeInfo(E, "空文件", "The file is empty (0 bytes).", "重新导出后报送"),
    Code.TOO_LARGE: CodeInfo(E, "文件过大", "The file is too large to be a return.", "检查是否误报了其他文件"),
    Code.CORRUPT: CodeInfo(E, "文件已损坏", "The file is damaged or truncated.", "重新保存后报送"),
    Code.ENCRYPTED: CodeInfo(
        E,
        "文件已加密",
        "The file is password-encrypted; remove the opening password and send it again.",
        "取消打开密码后重新报送",
    ),
    Code.ZIP_BOMB: CodeInfo(
        E, "疑似 zip 炸弹", "The file decompresses to an absurd size (zip bomb); refused.", "用原模板重新填报"
    ),
    Code.XML_BOMB: CodeInfo(
        E, "疑似 XML 炸弹", "The file contains a DTD/entity declaration (XML bomb); refused.", "用原模板重新填报"
    ),
    Code.NOT_SPREADSHEET: CodeInfo(E, "不是电子表格", "Not a spreadsheet file.", "报送填好的 Excel/WPS 统计表"),
    Code.NOT_A_RETURN: CodeInfo(
        E,
        "不是年报统计表",
        "No government-information-disclosure tables were found in this workbook.",
        "用 xltool template 生成的模板填报",
    ),
    Code.NOT_A_REPORT: CodeInfo(
        E,
        "不是年度报告",
        "No annual-report statistical tables were found (or the file is not a text, HTML or .docx report).",
        "确认这是年度报告原文",
    ),
    Code.WRONG_FORM: CodeInfo(
        E, "未知模板", "The workbook was made from an unknown template.", "用 xltool template 重新生成模板"
    ),
    Code.UNREADABLE: CodeInfo(E, "无法打开", "The file cannot be opened.", "检查文件是否存在、是否有读取权限"),
    Code.YEAR_UNKNOWN: CodeInfo(E, "年度无法识别", "The report year cannot be determined.", "写明报告年度"),
    Code.LOCATED_BY_LABELS: CodeInfo(
        N,
        "按标签定位",
        "Not an xltool template (no metadata); the tables were located by their labels.",
        "核对读取结果",
    ),
    Code.FORM_YEAR_MISMATCH: CodeInfo(
        E,
        "格式与年度不符",
        "The file uses a form version that does not apply to its report year.",
        "用该年度的模板重新填报",
    ),
    Code.ROWS_MOVED: CodeInfo(
        E,
        "行列被移动",
        "Rows or columns were inserted, deleted or moved; values were re-located by their labels.",
        "使用未改动的模板填报",
    ),
    Code.LABEL_CHANGED: CodeInfo(E, "标签被修改", "An official label was edited.", "使用未改动的模板填报"),
    Code.SHEET_RENAMED: CodeInfo(
        W, "工作表被改名", "A table's sheet was renamed; the table was found by its labels.", "恢复原工作表名"
    ),
    Code.TABLE_NOT_FOUND: CodeInfo(
        E, "找不到表格", "A table was not found or is incomplete; it is treated as not filled.", "使用原模板填报"
    ),
    Code.PROTECTION_REMOVED: CodeInfo(W, "保护被取消", "Sheet protection was removed.", "使用原模板填报"),
    Code.FORMULA_OVERWRITTEN: CodeInfo(
        E,
        "合计公式被覆盖",
        "A total formula was overwritten with a typed number; the typed number is checked.",
        "恢复公式或使用原模板",
    ),
    Code.VALUE_NORMALISED: CodeInfo(
        N,
        "数值已整理",
        "A value had to be tidied (spaces, full-width digits, separators) before reading.",
        "核对读取的数值",
    ),
    Code.GUIDE_MISSING: CodeInfo(
        W, "缺少填报说明表", "The 填报说明 sheet is missing; unit details cannot be read.", "使用原模板填报"
    ),
    Code.UNIT_MISSING: CodeInfo(W, "未填写单位", "The reporting unit's name is not filled in.", "填写填报单位全称"),
    Code.IMPORT_UNPLACED: CodeInfo(
        W,
        "无法对应的内容",
        "Text inside a table could not be matched to a row and column; it was not read.",
        "核对原报告",
    ),
    Code.IMPORT_INCOMPLETE: CodeInfo(
        E,
        "表格不完整",
        "A table is missing or cut short, or a row has the wrong number of values; those cells are unknown, not zero.",
        "核对原报告是否被截断",
    ),
    Code.IMPORT_EXTRA_ROWS: CodeInfo(
        N,
        "细分行已相加",
        "A row was split into local sub-rows; they were added into the official row and are listed here.",
        "核对细分行",
    ),
    Code.NO_PREVIOUS: CodeInfo(
        W,
        "没有上年数据",
        "Last year's figures for this unit were not found; cross-year rules were not checked.",
        "提供该单位的上年报表",
    ),
    Code.NOT_FILLED: CodeInfo(
        E,
        "未填报",
        "Not filled: all three tables are blank. Enter 0 where nothing happened.",
        "逐格填写（没有的填 0）",
    ),
    Code.TABLE_NOT_FILLED: CodeInfo(
        W, "整表空白", "A whole table is blank; rules on it cannot be judged.", "填 0 或选择“本年度无此类事项”"
    ),
    Code.NO_ITEMS_CONFLICT: CodeInfo(
        W,
        "无此类事项但有数",
        "“No such items this year” was chosen, but the table has non-zero values.",
        "核实后取消选择或改为 0",
    ),
    Code.BLANK_CELL: CodeInfo(
        W, "空白单元格", "Blank cell, counted as 0; enter 0 where nothing happened.", "没有数据请填 0"
    ),
    Code.INVALID_VALUE: CodeInfo(
        E,
        "数值无效",
        "Not a usable number (text, negative, fraction in a count, or absurd size).",
        "填写数字",
    ),
    Code.IGNORED: CodeInfo(
        N, "已忽略（不是报表）", "Not a return (lock file, other format); listed, not read.", "需要时另存为 .xlsx"
    ),
    Code.HAS_ERRORS: CodeInfo(
        E, "有错误", "The return has errors; it was not merged.", "退回修改，或用 --include-invalid 汇总"
    ),
    Code.MIXED_YEARS: CodeInfo(E, "年度不一致", "The report year differs from the roll-up's year.", "分别汇总不同年度"),
    Code.MIXED_FORMS: CodeInfo(
        E, "格式不一致", "The form version differs from the roll-up's.", "用同一格式的模板重新填报"
    ),
    Code.DOUBLE_COUNTED: CodeInfo(
        E,
        "重复计算",
        "Already inside a roll-up being merged; merging it again would count it twice.",
        "删去重复的文件",
    ),
    Code.DUPLICATE: CodeInfo(
        E, "同一单位多份", "The same unit was sent more than once.", "删除多余的一份，或用 --prefer-newest"
    ),
}


def describe(code: str, lang: str = "zh") -> str:
    """The meaning of a code for people (a rule id is shown as it is)."""
    try:
        info = Code(code).info
    except ValueError:
        return code
    return info.en if lang == "en" else info.zh
