"""Run a Form's rules over a Return in Python (never trusting cached spreadsheet results) and list the problems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from xltool import formdata, outcomes
from xltool import rules as expr
from xltool.codes import Code
from xltool.formdata import Plan, RulePlan
from xltool.forms import PREV, Form, Rule, formula_of
from xltool.outcomes import Cause, Outcome, Severity, TableStatus
from xltool.problems import Problem
from xltool.values import Invalid, Undetermined

if TYPE_CHECKING:
    from xltool.model import Return


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    outcome: Outcome
    left: Decimal | None = None
    right: Decimal | None = None
    cells: tuple[str, ...] = ()  # locations of the cells the rule reads, e.g. 三、依申请公开!D6
    explanation: str = ""
    reason: str = ""  # why a rule is undetermined, for people
    cause: Cause | None = None  # why a rule is undetermined, for code

    @property
    def difference(self) -> Decimal | None:
        if self.left is None or self.right is None:
            return None
        return (self.left - self.right).quantize(Decimal("0.0001"), ROUND_HALF_UP).normalize()

    @property
    def comparison(self) -> str | None:
        return self.rule.node.op if isinstance(self.rule.node, expr.Compare) else None

    @property
    def display(self) -> str:
        """The text of the template's 校验 result cell (the spreadsheet formula produces the same)."""
        shown = outcomes.display(self.outcome, self.cause)
        return shown if shown is not None else outcomes.fail_display(self.comparison, self.difference, format_number)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule.id,
            "title": self.rule.title,
            "severity": self.rule.severity,
            "level": self.rule.level,
            "expression": self.rule.source,
            "outcome": self.outcome.value,
            "outcome_text": self.outcome.zh,
            "display": self.display,
            "left": _json_number(self.left),
            "right": _json_number(self.right),
            "difference": _json_number(self.difference),
            "cells": list(self.cells),
            "explanation": self.explanation,
            "reason": self.reason,
            "basis": self.rule.basis,
        }


def format_number(v: Decimal | None) -> str:
    """Plain decimal text as a spreadsheet's "General" format shows it: 5, -3, 0.5 (no exponent, no trailing 0)."""
    if v is None:
        return ""
    v = v.normalize()
    return format(v, "f") if v != 0 else "0"


def _json_number(v: Decimal | None) -> int | float | None:
    if v is None:
        return None
    return int(v) if v == v.to_integral_value() else float(v)


def evaluate_rule(
    ret: Return, rule: Rule, previous: Return | None = None, statuses: dict[str, TableStatus] | None = None, value=None
) -> RuleResult:
    """One rule's outcome, by walking the outcome ladder declared in xltool.outcomes."""
    form = ret.form
    cells = tuple(_where(ret, previous, k) for k in expr.refs(rule.node))
    value = value or _lookup(ret, previous)
    warning = rule.severity == Severity.WARNING
    explanation = ret.explanations.get(rule.id, "").strip() if warning else ""
    statuses = statuses or {t.id: ret.table_state(t.id).status for t in form.tables}
    reasons: dict[Cause, str] = {}
    inputs = _closure(ret, tuple(k for k in expr.refs(rule.node) if not k.startswith(PREV)))

    def tables_blank() -> bool:
        blank = [t for t in rule.tables if statuses[t] is TableStatus.NOT_FILLED]
        reasons[Cause.TABLE_NOT_FILLED] = _tables_text(form, blank)
        return bool(blank)

    def previous_cell_missing() -> bool:
        reasons[Cause.NO_PREVIOUS_CELL] = f"上年报表（{previous.form.notice}格式）没有此项"
        return _previous_missing(rule, previous)

    def previous_blank() -> bool:
        reasons[Cause.PREVIOUS_NOT_FILLED] = "上年报表未填报"
        return previous.not_filled

    def invalid() -> bool:
        bad = next((k for k in inputs if isinstance(ret.values.get(k), Invalid)), None)
        if bad is not None:
            reasons[Cause.INVALID_INPUT] = _invalid_text(form.cell[bad].where, ret.values[bad])
            return True
        try:
            holds["value"] = bool(expr.evaluate(rule.node, value, rule.tolerance))
        except Undetermined as exc:  # last year's cell, or a printed total, is unusable
            reasons[Cause.INVALID_INPUT] = _invalid_text(_where(ret, previous, exc.key), exc.value)
            return True
        return False

    def blank() -> bool:
        empty = [k for k in inputs if k not in ret.values and form.cell[k].table not in ret.no_items]
        if empty:
            reasons[Cause.BLANK_INPUT] = _blank_text(form.cell[empty[0]].where)
        return bool(empty)

    holds: dict[str, bool] = {}
    conditions = {
        "table_not_filled": tables_blank,
        "invalid_input": invalid,
        "holds": lambda: holds["value"],
    }
    if rule.cross_year:
        conditions |= {"no_previous_cell": previous_cell_missing, "previous_not_filled": previous_blank}
    if rule.blank == "undetermined":
        conditions["blank_input"] = blank
    if warning:
        conditions["explained"] = lambda: bool(explanation)
    outcome, cause = outcomes.decide(conditions)
    left = right = None
    if (
        isinstance(rule.node, expr.Compare)
        and cause not in (Cause.NO_PREVIOUS_CELL, Cause.PREVIOUS_NOT_FILLED)
        and not (rule.cross_year and _previous_missing(rule, previous))  # e.g. a blank table and an older form
    ):
        left, right = _try(value, rule.node.left), _try(value, rule.node.right)
    return RuleResult(rule, outcome, left, right, cells, explanation, reasons.get(cause, "") if cause else "", cause)


def _tables_text(form: Form, blank: list[str]) -> str:
    return "、".join(form.table(t).sheet for t in blank) + " 未填报"


def _invalid_text(where: str, value: Invalid) -> str:
    return f"{where} 不是有效数字（{value.raw}）"


def _blank_text(where: str) -> str:
    return f"{where} 为空白"


def _previous_missing(rule: Rule, previous: Return | None) -> bool:
    """A cross-year rule reads a cell last year's form does not have."""
    return previous is not None and any(
        k.startswith(PREV) and k[len(PREV) :] not in previous.form.cell for k in expr.refs(rule.node)
    )


def _closure(ret: Return, keys: tuple[str, ...]) -> list[str]:
    """Cells a rule depends on: a total present in the return (typed or printed) is a leaf, else follow its formula."""
    out: list[str] = []
    for key in keys:
        cell = ret.form.cell[key]
        if cell.is_input or key in ret.values:
            out.append(key)
        else:
            out.extend(_closure(ret, expr.refs(formula_of(ret.form, cell))))
    return out


def _lookup(ret: Return, previous: Return | None):
    """Cell values for the rules: this year's, and last year's behind the `prev.` prefix; totals computed once."""
    memo: dict[str, Decimal] = {}
    form = ret.form

    def value(key: str) -> Decimal:
        if key in memo:
            return memo[key]
        if key.startswith(PREV):
            try:
                v = previous.value(key[len(PREV) :])
            except Undetermined as exc:
                raise Undetermined(key, exc.value) from None
        elif key in ret.values or form.cell[key].is_input:
            v = ret.value(key)
        else:
            v = expr.evaluate(formula_of(form, form.cell[key]), value)
        memo[key] = v
        return v

    return value


def _where(ret: Return, previous: Return | None, key: str) -> str:
    if key.startswith(PREV):
        where = (
            previous.form.cell[key[len(PREV) :]].where if previous and key[len(PREV) :] in previous.form.cell else key
        )
        return f"上年 {where}"
    return ret.form.cell[key].where


def _try(value, node: expr.Node) -> Decimal | None:
    try:
        v = expr.evaluate(node, value)
    except Undetermined:
        return None
    return v if isinstance(v, Decimal) else None


def evaluate_rules(ret: Return, previous: Return | None = None, *, reference: bool = False) -> list[RuleResult]:
    """Every rule of the form; cross-year rules only when last year's return is given.

    The form's rules are compiled once (`_plan`); `reference=True` walks each rule's tree instead (`evaluate_rule`),
    which the tests compare with the compiled path.
    """
    return _results(ret, previous, _statuses(ret), reference, skip_pass=False)


def _statuses(ret: Return) -> dict[str, TableStatus]:
    return {table_id: state.status for table_id, state in ret.table_states().items()}


def _results(
    ret: Return,
    previous: Return | None,
    statuses: dict[str, TableStatus],
    reference: bool,
    skip_pass: bool,
    numbers: bool | None = None,
) -> list[RuleResult]:
    """The rules' results in form order (without the passed ones when `skip_pass`); `numbers`: whether every value
    is a Decimal (`_numbers`), when the caller knows."""
    if not reference:
        plan = _plan(ret.form)
        out = _compiled(ret, plan, previous, statuses, skip_pass, numbers) if plan is not None else None
        if out is not None:
            return out
    value = _lookup(ret, previous)
    results = [
        evaluate_rule(ret, r, previous, statuses, value)
        for r in ret.form.rules
        if previous is not None or not r.cross_year
    ]
    return [r for r in results if not (skip_pass and r.outcome is Outcome.PASS)]


# --- the compiled path: each form's rules turned into one Python function, evidence built only for what is reported


# `_compiled` walks the outcome ladder in this order, taking each step's outcome and cause from outcomes.LADDER;
# should the ladder change, the forms are checked by `evaluate_rule` (through outcomes.decide) until it follows.
_LADDER_ORDER = (
    "table_not_filled",
    "no_previous_cell",
    "previous_not_filled",
    "invalid_input",
    "blank_input",
    "holds",
    "explained",
)
_STEP = {step.condition: (step.outcome, step.cause) for step in outcomes.LADDER}


def _plan(form: Form) -> Plan | None:
    """The form's compiled rules (xltool.formdata), or None when the compiled path does not follow the ladder."""
    return formdata.of(form).plan if _ladder_followed() else None


_LADDER_SEEN: list = [None, False]  # the ladder last looked at (a tuple, so unchanged while it is the same object)


def _ladder_followed() -> bool:
    """The outcome ladder's steps are in the order `_compiled` walks."""
    ladder = outcomes.LADDER
    if ladder is not _LADDER_SEEN[0]:
        _LADDER_SEEN[:] = [ladder, tuple(step.condition for step in ladder) == _LADDER_ORDER]
    return _LADDER_SEEN[1]


def _numbers(values: dict) -> bool:
    """Every value is a Decimal (no Invalid, nothing else): one pass in C over the values' types."""
    return set(map(type, values.values())) <= _DECIMAL


_DECIMAL = frozenset({Decimal})


def _compiled(
    ret: Return,
    plan: Plan,
    previous: Return | None,
    statuses: dict[str, TableStatus],
    skip_pass: bool,
    numbers: bool | None = None,
) -> list[RuleResult] | None:
    """The same results as `evaluate_rule` for every rule, from one call of the form's compiled function; None when
    the return holds something the compiled path does not take (a key the form lacks, a value of another type)."""
    form, values = ret.form, ret.values
    slotted = plan.blank.copy()  # every slot's blank value, in slot order …
    slotted.update(values)  # … the return's values put in their places
    if len(slotted) != len(plan.blank):
        return None  # a key the form lacks
    v = list(slotted.values())
    if not (_numbers(values) if numbers is None else numbers) and any(isinstance(x, Invalid) for x in values.values()):
        v = [expr.UNUSABLE if isinstance(x, Invalid) else x for x in v]
    totals_given = not values.keys().isdisjoint(plan.totals)  # looks up the (few) totals, not every value
    given = len(values) - (sum(map(values.__contains__, plan.totals)) if totals_given else 0)  # inputs given
    any_blank = given < plan.inputs
    try:
        tested = plan.run(v)
    except TypeError:  # a value that is neither a number nor Invalid: the tree walk says what becomes of it
        return None
    not_filled = [t for t, s in statuses.items() if s is TableStatus.NOT_FILLED]
    explanations = ret.explanations
    value = None
    out: list[RuleResult] = []
    rules: Iterable[tuple[Rule, RulePlan | None]]
    if skip_pass and previous is None and not not_filled:
        # Only what is reported: a rule whose test holds is passed over below unless a blank input may make it
        # undetermined (and the cross-year rules are not checked without last year's return).
        blank_tests = plan.blank_tests if any_blank else frozenset()
        tested_rules = plan.tested
        rules = [tested_rules[i] for i, t in enumerate(tested) if t[2] is not True or i in blank_tests]
    else:
        rules = zip(form.rules, plan.plans, strict=True)
    for rule, rp in rules:
        if rp is None:
            if previous is not None:
                value = value or _lookup(ret, previous)
                result = evaluate_rule(ret, rule, previous, statuses, value)
                if not (skip_pass and result.outcome is Outcome.PASS):
                    out.append(result)
            continue
        left, right, holds = tested[rp.at]
        explanation = explanations.get(rule.id, "").strip() if rp.warning else ""
        cause, reason = None, ""
        if not_filled and (blank := [t for t in rule.tables if statuses[t] is TableStatus.NOT_FILLED]):
            outcome, cause = _STEP["table_not_filled"]
            reason = _tables_text(form, blank)
        elif holds is None:
            inputs = _closure(ret, rp.own) if totals_given else rp.closure
            bad = next((k for k in inputs if isinstance(values.get(k), Invalid)), None)
            if bad is None:
                return None  # cannot happen: an unusable value reached the rule through its closure
            outcome, cause = _STEP["invalid_input"]
            reason = _invalid_text(form.cell[bad].where, values[bad])  # type: ignore[arg-type]
        elif (
            rp.blank_undetermined
            and any_blank
            and (empty := _blank(ret, _closure(ret, rp.own) if totals_given else rp.closure))
        ):
            outcome, cause = _STEP["blank_input"]
            reason = _blank_text(form.cell[empty].where)
        elif holds:
            if skip_pass:
                continue
            outcome = _STEP["holds"][0]
        elif explanation:
            outcome = _STEP["explained"][0]
        else:
            outcome = outcomes.FALLBACK
        if rp.compare:
            left = left if isinstance(left, Decimal) else None
            right = right if isinstance(right, Decimal) else None
        else:
            left = right = None
        out.append(RuleResult(rule, outcome, left, right, rp.cells, explanation, reason, cause))
    return out


def _blank(ret: Return, inputs: tuple[str, ...] | list[str]) -> str | None:
    """The first input a rule reads that is blank (a table ticked 本年度无此类事项 counts as zeros)."""
    values, cell = ret.values, ret.form.cell
    return next((k for k in inputs if k not in values and cell[k].table not in ret.no_items), None)


def check_return(ret: Return, previous: Return | None = None, *, reference: bool = False) -> list[Problem]:
    """Every problem of a return: 未填报, unusable values, blank cells, and each rule that did not pass."""
    form, out = ret.form, list(ret.read_problems)
    statuses = _statuses(ret)
    if all(s is TableStatus.NOT_FILLED for s in statuses.values()):
        return [
            *out,
            Problem.of(
                Code.NOT_FILLED,
                f"未填报：{form.table_names}全部为空白。请逐格填写（没有的填 0），"
                "或在无数据的表上选择“本年度无此类事项”。",
            ),
        ]
    for table in form.tables:
        if statuses[table.id] is TableStatus.NOT_FILLED:
            out.append(
                Problem.of(
                    Code.TABLE_NOT_FILLED,
                    f"{table.title} 整表空白，涉及此表的校验无法判断。没有数据请填 0 或选择“本年度无此类事项”。",
                    sheet=table.sheet,
                )
            )
            continue
        if table.id in ret.no_items:
            nonzero = [c for c in table.cells if c.is_input and ret.safe_value(c.key)]
            if nonzero:
                out.append(
                    Problem.of(
                        Code.NO_ITEMS_CONFLICT,
                        f"{table.title} 选择了“本年度无此类事项”，但有 {len(nonzero)} 格不为 0。请核实。",
                        sheet=table.sheet,
                        cell=nonzero[0].a1,
                    )
                )
            continue
        if statuses[table.id] is TableStatus.FILLED:
            continue  # no blank cell
        for cell in ret.blank_inputs(table.id):
            out.append(
                Problem.of(
                    Code.BLANK_CELL,
                    f"{cell.label} 为空白，按 0 计算。没有数据请填 0。",
                    sheet=cell.sheet,
                    cell=cell.a1,
                )
            )
    numbers = _numbers(ret.values)
    for key, v in () if numbers else ret.values.items():
        if isinstance(v, Invalid) and v.raw:  # an empty raw is a cell missing from a cut-short report, reported once
            cell = form.cell[key]
            if v.code == Code.FORMULA_IN_INPUT:
                text = (
                    f"{cell.label}：该格是公式“{v.raw}”，不是填写的数字；文件中缓存的计算结果不予采用。请直接填写数字。"
                )
            else:
                text = f"{cell.label}：“{v.raw}” {v.reason}。请填写数字。"
            out.append(Problem.of(v.code, text, sheet=cell.sheet, cell=cell.a1, values={"raw": v.raw}))
    for r in _results(ret, previous, statuses, reference, skip_pass=True, numbers=numbers):
        if r.outcome is Outcome.PASS or r.cause is Cause.TABLE_NOT_FILLED:
            continue  # a blank table is reported once above, not once per rule
        first = form.cell[r.rule.defines or expr.refs(r.rule.node)[0]]
        values = {
            "left": _json_number(r.left),
            "right": _json_number(r.right),
            "difference": _json_number(r.difference),
        }
        if r.outcome is Outcome.UNDETERMINED:
            severity, text = Severity.WARNING, f"{r.outcome.zh}：{r.rule.title}（{r.reason}）"
        elif r.outcome is Outcome.EXPLAINED:
            severity, text = Severity.INFO, f"{r.outcome.zh}：{r.rule.title}。说明：{r.explanation}"
        else:
            severity = Severity(r.rule.severity)
            text = f"{r.display}：{r.rule.title}（左边 {format_number(r.left)}，右边 {format_number(r.right)}）"
            if severity is Severity.WARNING:
                text += "。如属实，请在“校验”表该行的“说明”栏写明原因。"
        out.append(
            Problem(severity, r.rule.id, text, sheet=first.sheet, cell=first.a1, values=values, outcome=r.outcome)
        )
    return out
