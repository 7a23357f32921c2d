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
    NOT_REGULAR_FILE = "NOT-REGULAR-FILE"
    DUPLICATE_PARTS = "DUPLICATE-PARTS"
    TIME_LIMIT = "TIME-LIMIT"
    MEMORY_LIMIT = "MEMORY-LIMIT"
    WORKER_CRASHED = "WORKER-CRASHED"
    DUPLICATE_SHEETS = "DUPLICATE-SHEETS"
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
    UNIT_NAME_DIFFERS = "UNIT-NAME-DIFFERS"
    IMPORT_UNPLACED = "IMPORT-UNPLACED"
    IMPORT_INCOMPLETE = "IMPORT-INCOMPLETE"
    IMPORT_EXTRA_ROWS = "IMPORT-EXTRA-ROWS"
    IMPORT_UNCONFIRMED = "IMPORT-UNCONFIRMED"
    IMPORT_PROSE_MISMATCH = "IMPORT-PROSE-MISMATCH"
    NO_PREVIOUS = "NO-PREVIOUS"
    PREVIOUS_OTHER_UNIT = "PREVIOUS-OTHER-UNIT"
    # the annual report (xltool report)
    REPORT_TEXT_MISMATCH = "REPORT-TEXT-MISMATCH"
    REPORT_PLACEHOLDER = "REPORT-PLACEHOLDER"
    REPORT_RETURN_PROBLEMS = "REPORT-RETURN-PROBLEMS"
    REPORT_ROLLUP_INCOMPLETE = "REPORT-ROLLUP-INCOMPLETE"
    REPORT_ROLLUP_MEMBERS = "REPORT-ROLLUP-MEMBERS"
    # untrusted content and tampering
    STRAY_CELLS = "STRAY-CELLS"
    FORMULA_IN_INPUT = "FORMULA-IN-INPUT"
    UNSAFE_FORMULA = "UNSAFE-FORMULA"
    EXTERNAL_LINK = "EXTERNAL-LINK"
    MACROS = "MACROS"
    EMBEDDED_OBJECTS = "EMBEDDED-OBJECTS"
    HIDDEN_CELLS = "HIDDEN-CELLS"
    MERGED_INPUT = "MERGED-INPUT"
    SHEET_ADDED = "SHEET-ADDED"
    SHEET_MISSING = "SHEET-MISSING"
    META_VISIBLE = "META-VISIBLE"
    TEXT_TRUNCATED = "TEXT-TRUNCATED"
    TABLE_SHEET_HIDDEN = "TABLE-SHEET-HIDDEN"
    SHEET_COPY = "SHEET-COPY"
    DUPLICATE_CELLS = "DUPLICATE-CELLS"
    MALFORMED_CELL = "MALFORMED-CELL"
    # checking
    NOT_FILLED = "NOT-FILLED"
    TABLE_NOT_FILLED = "TABLE-NOT-FILLED"
    NO_ITEMS_CONFLICT = "NO-ITEMS-CONFLICT"
    BLANK_CELL = "BLANK-CELL"
    INVALID_VALUE = "INVALID-VALUE"
    # merging: why a file was left out of a roll-up
    IGNORED = "IGNORED"
    PUBLISHED_REPORT = "PUBLISHED-REPORT"
    HAS_ERRORS = "HAS-ERRORS"
    MIXED_YEARS = "MIXED-YEARS"
    MIXED_FORMS = "MIXED-FORMS"
    DOUBLE_COUNTED = "DOUBLE-COUNTED"
    DUPLICATE = "DUPLICATE"
    CONFLICT = "CONFLICT"
    ROLLUP_NOT_ALLOWED = "ROLLUP-NOT-ALLOWED"
    COPIED_RETURN = "COPIED-RETURN"
    ROLLUP_INCOMPLETE = "ROLLUP-INCOMPLETE"

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
    en: str  # the same fact in English, for library callers (lang="en"); the command line speaks Chinese only
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
    Code.NOT_REGULAR_FILE: CodeInfo(
        E,
        "不是普通文件",
        "Not a regular file (a link, pipe, device or socket); not opened.",
        "报送文件本身，不要报送快捷方式或设备",
    ),
    Code.DUPLICATE_PARTS: CodeInfo(
        E,
        "压缩包内有重名部件",
        "The workbook holds two parts with the same name; which one counts is ambiguous, so it is refused.",
        "用 Excel/WPS 重新保存后报送",
    ),
    Code.DUPLICATE_SHEETS: CodeInfo(
        E,
        "工作表重名",
        "Two sheets have the same name (Excel compares names without letter case); which one counts is ambiguous, "
        "so it is refused.",
        "删除重名的工作表后重新保存报送",
    ),
    Code.TIME_LIMIT: CodeInfo(
        E, "读取超时", "Reading the file took longer than the time limit; refused.", "用原模板重新填报后报送"
    ),
    Code.MEMORY_LIMIT: CodeInfo(
        E, "超出内存上限", "Reading the file needed more memory than the limit; refused.", "用原模板重新填报后报送"
    ),
    Code.WORKER_CRASHED: CodeInfo(
        E,
        "读取进程崩溃",
        "The process reading this file crashed; the file was refused and the other files were still read.",
        "用原模板重新填报后报送",
    ),
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
    Code.UNIT_NAME_DIFFERS: CodeInfo(
        W,
        "单位名称不一致",
        "The unit name printed in the report (a 填报单位 line, the signature) differs from the one in its title or file "
        "name; the name as printed is kept and both are quoted.",
        "核对报告单位的全称",
    ),
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
    Code.IMPORT_PROSE_MISMATCH: CodeInfo(
        W,
        "正文与统计表不一致",
        "A figure quoted in the report's text (applications received, reviews, lawsuits) differs from its table.",
        "核对报告正文和统计表",
    ),
    Code.IMPORT_UNCONFIRMED: CodeInfo(
        W,
        "识别的数字未经核实",
        "A number read from a scan (OCR) that the table's arithmetic does not confirm; check it against the original.",
        "与原件核对这些数字",
    ),
    Code.IMPORT_EXTRA_ROWS: CodeInfo(
        N,
        "细分行已相加",
        "A row was split into local sub-rows; they were added into the official row and are listed here.",
        "核对细分行",
    ),
    Code.REPORT_TEXT_MISMATCH: CodeInfo(
        W,
        "正文数字与统计表不一致",
        "A figure in the clerk's text of the annual report differs from the tables it is generated with.",
        "改正正文文件（--text）或统计表后重新生成",
    ),
    Code.REPORT_PLACEHOLDER: CodeInfo(
        W,
        "报告尚有待填写的部分",
        "The generated report still holds placeholders that only the unit can write; it is not ready to publish.",
        "在正文文件（--text）中写好这些章节后重新生成",
    ),
    Code.REPORT_RETURN_PROBLEMS: CodeInfo(
        W,
        "统计表有错误",
        "The return the report was made from has errors; the report repeats them.",
        "先用 xltool check 核对并改正统计表，再生成报告",
    ),
    Code.REPORT_ROLLUP_INCOMPLETE: CodeInfo(
        W,
        "汇总不完整",
        "The roll-up the report was made from lacks units on its roster or refused inputs; its totals are partial.",
        "补齐缺报、未汇总的单位后重新汇总，再生成报告",
    ),
    Code.REPORT_ROLLUP_MEMBERS: CodeInfo(
        N,
        "汇总的单位数",
        "How many units the roll-up holds; said to the county, kept out of the published text.",
        "核对汇总的单位数；此行不写入报告正文",
    ),
    Code.NO_PREVIOUS: CodeInfo(
        W,
        "没有上年数据",
        "Last year's figures for this unit were not found; cross-year rules were not checked.",
        "提供该单位的上年报表",
    ),
    Code.PREVIOUS_OTHER_UNIT: CodeInfo(
        W,
        "上年报表是另一个单位的",
        "Last year's file names another unit; the cross-year rules compared this return with its figures.",
        "用本单位上年的报表做跨年度核对",
    ),
    Code.STRAY_CELLS: CodeInfo(
        W, "表格外有内容", "Cells outside the table area hold content; they were not read.", "删除表格以外的内容"
    ),
    Code.FORMULA_IN_INPUT: CodeInfo(
        E,
        "填报格含公式",
        "An input cell holds a formula; its cached result is not used.",
        "在该格直接填写数字",
    ),
    Code.UNSAFE_FORMULA: CodeInfo(
        E,
        "不安全的公式",
        "A formula refers to another workbook or calls DDE, a web service or similar; it is not trusted.",
        "删除该公式，直接填写数字",
    ),
    Code.EXTERNAL_LINK: CodeInfo(
        E,
        "外部链接或数据连接",
        "The workbook links to other files or data connections; nothing from them is used.",
        "断开外部链接后重新保存",
    ),
    Code.MACROS: CodeInfo(W, "含有宏", "The workbook carries macros (VBA); they are never run.", "另存为 .xlsx 后报送"),
    Code.EMBEDDED_OBJECTS: CodeInfo(
        W,
        "含有控件或嵌入对象",
        "The workbook carries ActiveX controls or embedded OLE objects; ignored.",
        "删除后重新保存",
    ),
    Code.HIDDEN_CELLS: CodeInfo(
        W, "填报格被隐藏", "Rows or columns holding input cells are hidden.", "取消隐藏并核对数字"
    ),
    Code.MERGED_INPUT: CodeInfo(
        E,
        "填报格被合并",
        "Input cells were merged; values under the merge may be hidden.",
        "取消合并，使用原模板填报",
    ),
    Code.SHEET_ADDED: CodeInfo(W, "增加了工作表", "A sheet that is not in the template was added.", "删除多余的工作表"),
    Code.SHEET_MISSING: CodeInfo(W, "缺少工作表", "A sheet of the template was deleted.", "使用原模板填报"),
    Code.META_VISIBLE: CodeInfo(
        W, "隐藏的元数据表被显示", "The hidden _meta sheet was made visible.", "使用原模板填报"
    ),
    Code.TEXT_TRUNCATED: CodeInfo(
        W, "文字过长已截断", "A text field was longer than any real one; it was cut.", "核对该栏文字"
    ),
    Code.TABLE_SHEET_HIDDEN: CodeInfo(
        E,
        "表格所在工作表被隐藏",
        "A sheet holding an official table (or 填报说明/校验) is hidden or very hidden: what was read is not what is seen.",
        "取消隐藏并核对，或使用原模板重新填报",
    ),
    Code.SHEET_COPY: CodeInfo(
        E,
        "表格工作表有同名副本",
        "Another sheet has a table sheet's name up to spaces, width or letter case: two versions of one table.",
        "删除副本，只保留原模板的工作表",
    ),
    Code.MALFORMED_CELL: CodeInfo(
        E,
        "单元格内容不合格式",
        "A cell's stored value is not valid as the file format defines it (a number such as 5_0, a shared-string index "
        "past the table, an unknown cell type, two values in one cell); it is not read, Excel calls the file damaged.",
        "在 Excel 中重新填写该格后另存，或用原模板重新填报",
    ),
    Code.DUPLICATE_CELLS: CodeInfo(
        E,
        "同一单元格出现两次",
        "A cell is written twice in the sheet's XML; the last one is read (as LibreOffice does), Excel calls the file "
        "damaged.",
        "用原模板重新填报，或在 Excel 中打开修复后另存",
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
    Code.PUBLISHED_REPORT: CodeInfo(
        N,
        "已发布的年度报告",
        "A published annual report (Word, PDF, web page, text) found among the returns; it is not a return and was "
        "neither merged nor checked.",
        "报表请报送 .xlsx；如需从已发布的报告汇总，请加 --include-reports；核对报告中的统计表请用 xltool import",
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
    Code.CONFLICT: CodeInfo(
        E,
        "单位重复出现",
        "A unit appears both as its own return and inside a roll-up of this merge; neither was merged.",
        "由县级主管部门决定采用哪一份，删去另一份",
    ),
    Code.ROLLUP_NOT_ALLOWED: CodeInfo(
        E,
        "无权报送汇总表",
        "A roll-up came from a unit whose roster type is not 汇总.",
        "核对名册中的单位类型",
    ),
    Code.COPIED_RETURN: CodeInfo(
        W,
        "数据雷同",
        "Two returns of different units hold identical figures (not all zero); one may be a copy.",
        "核实两单位的数据",
    ),
    Code.ROLLUP_INCOMPLETE: CodeInfo(
        W,
        "汇总不完整",
        "Roster units are missing from the roll-up, or inputs were refused; its totals are not the whole region's.",
        "催报缺报单位、处理未汇总的文件后重新汇总",
    ),
}


def describe(code: str, lang: str = "zh") -> str:
    """The meaning of a code for people (a rule id is shown as it is)."""
    try:
        info = Code(code).info
    except ValueError:
        return code
    return info.en if lang == "en" else info.zh
