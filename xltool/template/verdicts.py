"""The words of a return's verdict and of each table's status line, in Python and as the formulas that give the
same text in the workbook (so the sheet, the terminal and the annotated copy say the same)."""

from __future__ import annotations

from decimal import Decimal

from xltool import outcomes
from xltool import rules as expr
from xltool.evaluation import RuleResult
from xltool.layout import rollup_gaps
from xltool.outcomes import Outcome

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


def listed_problem(result: RuleResult) -> bool:
    """A rule shown in the 校验 problems list: failed, or reading an unusable entry."""
    return result.outcome is Outcome.FAIL or result.display == outcomes.INVALID_TEXT


def listed_text(listed: list[RuleResult], n: int, col: int) -> str:
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
