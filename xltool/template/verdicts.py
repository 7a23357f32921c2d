"""The words of a return's verdict and of each table's status line, in Python and as the formulas that give the
same text in the workbook (so the sheet, the terminal and the annotated copy say the same)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from xltool import layout, outcomes
from xltool import rules as expr
from xltool.codes import CATALOGUE, Code
from xltool.evaluation import RuleResult
from xltool.forms import Cell, Rule, Table
from xltool.layout import rollup_gaps
from xltool.model import Invalid, Return
from xltool.outcomes import Outcome, Severity

VERDICTS = {"empty": "尚未填报：请在各表中填写数字（没有的填 0）", "ok": "可以报送"}


def verdict_text(counts: dict[str, int], ok: str = VERDICTS["ok"]) -> str:
    """The 校验 sheet's verdict, as its formula gives it; `ok` is what it says when nothing is wrong (for an
    incomplete roll-up, rollup_verdict's line instead of 可以报送)."""
    if counts["empty"]:
        return VERDICTS["empty"]
    if counts["errors"]:
        return f"有 {counts['errors']} 项错误，请修改后报送"
    if counts["warnings"]:
        return f"有 {counts['warnings']} 项警告，请填写说明或核实"
    return ok


FORMULA_TEXT_LIMIT = 250  # a string constant in a spreadsheet formula holds at most 255 characters


def rollup_verdict(meta: dict[str, str]) -> str | None:
    """What a roll-up's verdict and status lines say instead of 可以报送 / its counts line while roster units are
    missing or inputs were refused (layout.rollup_gaps), short enough to be a formula's string constant."""
    gaps = rollup_gaps(meta)
    if gaps is None or len(gaps) <= FORMULA_TEXT_LIMIT:
        return gaps
    return gaps[: FORMULA_TEXT_LIMIT - 1] + "…"


def formula_string(text: str) -> str:
    """`text` as a string constant in a formula (quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'


def summary_line(counts: dict[str, int]) -> str:
    return (
        f"错误 {counts['errors']} 项；警告 {counts['warnings']} 项；已说明 {counts['explained']} 项；"
        f"无法判断 {counts['undetermined']} 项"
    )


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


def rule_values(r: RuleResult) -> str:
    """A failed comparison's two sides, as the problems list shows them (左边 5，右边 4)."""
    if r.left is None or r.right is None or not isinstance(r.rule.node, expr.Compare):
        return ""
    return f"左边 {_general(r.left)}，右边 {_general(r.right)}"


def _general(v: Decimal) -> str:
    """A number as a spreadsheet's General format turns it into text."""
    return format(v.normalize(), "f") if v != v.to_integral_value() else str(int(v))


# --- places: where a cell is, in the words of the printed table -------------------------------------------------------

_REMARK = re.compile(r"(?<=[^\s（])（[^）]*）$")  # a trailing remark: （二）部分公开（区分处理的，…）


def short_label(text: str, limit: int = 18) -> str:
    """A row label short enough for one line of a list: no trailing remark, no repeated 政府信息公开申请数量."""
    text = _REMARK.sub("", text).replace("政府信息公开申请数量", "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row_key(table: Table, key: str) -> str | None:
    keys = [rk for rk in table.row_keys if rk and key.startswith(f"{table.id}.{rk}.")]
    return max(keys, key=len) if keys else None


def row_place(table: Table, cell: Cell) -> str:
    """The table row of `cell` as a clerk finds it on paper: 表三 第6行「一、本年新收」."""
    where = f"表{table.number} 第{cell.row + 1}行"
    if table.layout == "blocks":
        return f"{where}「{cell.label_path[-2]}」"
    rk = _row_key(table, cell.key)
    return f"{where}「{short_label(table.row_labels[rk])}」" if rk else where


def cell_place(table: Table, cell: Cell) -> str:
    """A cell as a clerk names it, Chinese first: 表三 第6行「一、本年新收」自然人 (the A1 reference is said apart)."""
    if table.layout == "blocks":
        column = cell.label_path[-1]
    else:
        rk = _row_key(table, cell.key)
        if not rk:  # a table of one unnamed row (四): the column's whole heading
            return f"{row_place(table, cell)} {' '.join(cell.label_path)}"
        column = table.col_labels.get(cell.key[len(f"{table.id}.{rk}.") :], "")
    return f"{row_place(table, cell)}{column}"


# --- the problems list of the 校验 sheet: one line per counted problem, blank cells one line per row ------------------

LIST_WORDS = {
    "invalid": outcomes.INVALID_TEXT,
    "blank": "{n} 格空白",
    "typed": "{a1}：“{raw}”",
    "overflow": "……另有 {n} 项未列出：请先改正以上各项，或查看各表中标色的单元格",
    "none": "（无）",
}
TYPED_CHARS = 20  # what was typed, cut to one line


# A table left wholly blank while another is filled: the finding `check` reports (TABLE-NOT-FILLED), with its level,
# words and action from the code catalogue, so the 校验 sheet counts and lists what every other view says.
TABLE_BLANK = CATALOGUE[Code.TABLE_NOT_FILLED]


@dataclass(frozen=True)
class Slot:
    """One possible line of the problems list, in list order: an invalid entry (one cell), a failed rule, a table
    left wholly blank (TABLE_BLANK) or the blank cells of one table row (`cells`: the row's own inputs)."""

    kind: str  # invalid | rule | table | blank
    severity: Severity
    table: Table | None = None
    cells: tuple[Cell, ...] = ()
    rule: Rule | None = None

    @property
    def what(self) -> str:
        if self.kind == "invalid":
            return cell_place(self.table, self.cells[0])
        if self.kind == "blank":
            return row_place(self.table, self.cells[0])
        if self.kind == "table":
            return f"表{self.table.number}（{self.table.sheet}）：{TABLE_BLANK.action}"
        return self.rule.title

    @property
    def span(self) -> str:
        """A blank row's input cells as one range (when every one of them is blank)."""
        return f"{self.cells[0].a1}:{self.cells[-1].a1}" if len(self.cells) > 1 else self.cells[0].a1


@dataclass(frozen=True)
class Line:
    """A line of the problems list as it shows (what, result, values, 级别) and how many counted problems it holds."""

    what: str
    result: str
    values: str
    level: str
    n: int = 1

    def cells(self) -> tuple[str, str, str, str]:
        return (self.what, self.result, self.values, self.level)


def problem_slots(ret: Return) -> list[Slot]:
    """Every line the list can show, in its order: errors (invalid entries, then failed error rules), then warnings
    (tables left wholly blank, failed warnings, then blank cells row by row). Roll-ups and templates alike."""
    form = ret.form
    order = layout.check_rule_order(form)
    tables = [Slot("table", TABLE_BLANK.severity, t) for t in form.tables]
    slots = [Slot("invalid", Severity.ERROR, t, (c,)) for t in form.tables for c in t.cells if c.is_input]
    slots += [Slot("rule", Severity.ERROR, rule=r) for r in order if r.severity == "error"]
    slots += tables  # between the errors and the warnings: counted with either, by the catalogue's level
    slots += [Slot("rule", Severity.WARNING, rule=r) for r in order if r.severity == "warning"]
    for table in form.tables:
        rows: dict[int, list[Cell]] = {}
        for c in table.cells:
            if c.is_input and c.key not in ret.prefilled:
                rows.setdefault(c.row, []).append(c)
        slots += [Slot("blank", Severity.WARNING, table, tuple(cells)) for cells in rows.values()]
    return slots


def slot_line(slot: Slot, ret: Return, results: dict[str, RuleResult]) -> Line | None:
    """The line `slot` shows for `ret` (None when it shows nothing), as the sheet's formulas give it."""
    level = slot.severity.zh
    if slot.kind == "invalid":
        v = ret.values.get(slot.cells[0].key)
        if not isinstance(v, Invalid):
            return None
        typed = LIST_WORDS["typed"].format(a1=slot.cells[0].a1, raw=v.raw[:TYPED_CHARS])
        return Line(slot.what, LIST_WORDS["invalid"], typed, level)
    if slot.kind == "rule":
        r = results[slot.rule.id]
        if r.outcome is not Outcome.FAIL:
            return None
        return Line(slot.what, r.display, rule_values(r), level)
    state = ret.table_state(slot.table.id)
    if slot.kind == "table":
        if state.status is not outcomes.TableStatus.NOT_FILLED or ret.not_filled:
            return None  # a return with every table blank is 未填报, said by the verdict alone
        return Line(slot.what, TABLE_BLANK.zh, "", level)
    if state.status is not outcomes.TableStatus.PARTIAL:
        return None
    blank = [c for c in slot.cells if c.key not in ret.values]
    if not blank:
        return None
    cells = slot.span if len(blank) == len(slot.cells) else "、".join(c.a1 for c in blank)
    return Line(slot.what, LIST_WORDS["blank"].format(n=len(blank)), cells, level, len(blank))


def problem_lines(ret: Return, results: dict[str, RuleResult] | None = None) -> list[Line]:
    """The problems list of the 校验 sheet for `ret`, in order, uncut."""
    if results is None:
        results = {r.rule.id: r for r in ret.rule_results()}
    lines = (slot_line(s, ret, results) for s in problem_slots(ret))
    return [line for line in lines if line is not None]


def shown_lines(lines: list[Line], rows: int) -> list[tuple[str, str, str, str]]:
    """What the `rows` rows of the list show: the lines, the last row saying how many more when they do not fit."""
    if not lines:
        return [(LIST_WORDS["none"], "", "", "")] + [("", "", "", "")] * (rows - 1)
    shown = [line.cells() for line in lines[:rows]]
    if len(lines) > rows:
        shown[-1] = (LIST_WORDS["overflow"].format(n=len(lines) - rows + 1), "", "", "")
    return shown + [("", "", "", "")] * (rows - len(shown))


# --- the 问题清单 of an annotated copy: the same problems, Chinese place first, blank cells one line per row ----------


@dataclass(frozen=True)
class SheetRow:
    """One row of 问题清单: where (Chinese), 级别, what is wrong, cell reference(s), code; `severity` for colour."""

    place: str
    level: str
    message: str
    cells: str
    code: str
    severity: Severity


def problem_sheet(ret: Return, problems: list) -> tuple[str, list[SheetRow]]:
    """The heading (unit, year, verdict) and rows of 问题清单 for `problems` of `ret` (xltool.problems.Problem):
    errors first; the blank cells of one table row grouped as one line; the verdict counts every problem as listed."""
    cells = {(c.sheet, c.a1): c for c in ret.form.cells}
    tables = {t.id: t for t in ret.form.tables}
    rows: list[SheetRow] = []
    blank_rows: dict[tuple[str, int], list] = {}
    for p in sorted(problems, key=lambda p: Severity(p.severity).rank):
        cell = cells.get((p.sheet, p.cell))
        if p.code == Code.BLANK_CELL and cell is not None:
            group = blank_rows.setdefault((cell.sheet, cell.row), [])
            if not group:  # the row's line takes the place of its first blank cell
                rows.append(SheetRow("", "", "", "", Code.BLANK_CELL, Severity(p.severity)))
                group.append(len(rows) - 1)
            group.append(cell)
            continue
        place = cell_place(tables[cell.table], cell) if cell is not None else (p.sheet or "整个文件")
        rows.append(SheetRow(place, Severity(p.severity).zh, p.message, p.where, str(p.code), Severity(p.severity)))
    for (sheet, _), (index, *blank) in blank_rows.items():
        first = blank[0]
        where = f"{sheet}!" + "、".join(c.a1 for c in blank)
        message = f"{len(blank)} 格空白，按 0 计算。没有数据请填 0。"
        row = rows[index]
        rows[index] = SheetRow(
            row_place(tables[first.table], first), row.severity.zh, message, where, Code.BLANK_CELL, row.severity
        )
    counts = {
        "empty": ret.not_filled,
        "errors": sum(Severity(p.severity) is Severity.ERROR for p in problems),
        "warnings": sum(Severity(p.severity) is Severity.WARNING for p in problems),
    }
    heading = f"填报单位：{ret.unit.name or '（未填写）'}　　报告年度：{ret.year or '（未知）'}　　结论：{verdict_text(counts)}"
    return heading, rows
