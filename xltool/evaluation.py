"""Run a Form's rules over a Return in Python (never trusting cached spreadsheet results) and list the problems."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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

    The form's rules are compiled once (xltool.formdata); `reference=True` walks each rule's tree instead, which the
    tests compare with the compiled path. Both take each outcome from one walk of the ladder (`CONDITIONS`).
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
        plan = formdata.of(ret.form).plan
        out = _compiled(ret, plan, previous, statuses, skip_pass, numbers) if plan is not None else None
        if out is not None:
            return out
    ev = _TreeWalk(ret, previous, statuses)
    results = [ev.result(r) for r in ret.form.rules if previous is not None or not r.cross_year]
    return [r for r in results if not (skip_pass and r.outcome is Outcome.PASS)]


# --- the outcome ladder in Python: each step's condition judged once, for both evaluators ---------------------------


class _Evaluator:
    """One return as the ladder's conditions read it. The evaluators differ only in how a rule's test is judged and
    which inputs it reads: `_Compiled` takes them from the form's compiled function, `_TreeWalk` walks the rule."""

    def __init__(self, ret: Return, previous: Return | None, statuses: dict[str, TableStatus]):
        self.ret, self.previous, self.form, self.values = ret, previous, ret.form, ret.values
        self.statuses = statuses
        self.last_year_unusable = ""  # why a test could not be judged, when no input of this year's is to blame

    def holds(self, rule: Rule, rp: RulePlan | None) -> bool | None:
        """Whether the rule's test holds; None when an unusable value reaches it."""
        raise NotImplementedError

    def inputs(self, rule: Rule, rp: RulePlan | None) -> Sequence[str]:
        """This year's cells the rule depends on: a total the return gives is one of them, else its inputs."""
        raise NotImplementedError

    def explanation(self, rule: Rule) -> str:
        return self.ret.explanations.get(rule.id, "").strip() if rule.severity == Severity.WARNING else ""


@dataclass(frozen=True)
class Condition:
    """How one step of the outcome ladder (outcomes.LADDER) is judged in Python: `test` gives the reason text when the
    condition holds for a rule ("" when there is none) and None when it does not; `possible` is False when it holds
    for no rule of the return (the compiled path then leaves the step out of its walk)."""

    test: Callable[[_Evaluator, Rule, RulePlan | None], str | None]
    possible: Callable[[_Compiled], bool] = lambda ev: True


def _table_not_filled(ev: _Evaluator, rule: Rule, rp: RulePlan | None) -> str | None:
    blank = [t for t in rule.tables if ev.statuses[t] is TableStatus.NOT_FILLED]
    return _tables_text(ev.form, blank) if blank else None


def _no_previous_cell(ev: _Evaluator, rule: Rule, rp: RulePlan | None) -> str | None:
    if rule.cross_year and _previous_missing(rule, ev.previous):
        return f"上年报表（{ev.previous.form.notice}格式）没有此项"  # type: ignore[union-attr]
    return None


def _previous_not_filled(ev: _Evaluator, rule: Rule, rp: RulePlan | None) -> str | None:
    return "上年报表未填报" if rule.cross_year and ev.previous is not None and ev.previous.not_filled else None


def _invalid_input(ev: _Evaluator, rule: Rule, rp: RulePlan | None) -> str | None:
    if ev.holds(rule, rp) is not None:
        return None
    values = ev.values
    bad = next((k for k in ev.inputs(rule, rp) if isinstance(values.get(k), Invalid)), None)
    if bad is None:
        return ev.last_year_unusable
    return _invalid_text(ev.form.cell[bad].where, values[bad])  # type: ignore[arg-type]


def _blank_input(ev: _Evaluator, rule: Rule, rp: RulePlan | None) -> str | None:
    if rule.blank != "undetermined":
        return None
    empty = _blank(ev.ret, ev.inputs(rule, rp))
    return _blank_text(ev.form.cell[empty].where) if empty is not None else None


def _holds(ev: _Evaluator, rule: Rule, rp: RulePlan | None) -> str | None:
    return "" if ev.holds(rule, rp) else None


def _explained(ev: _Evaluator, rule: Rule, rp: RulePlan | None) -> str | None:
    return "" if ev.explanation(rule) else None


CONDITIONS: dict[str, Condition] = {
    "table_not_filled": Condition(_table_not_filled, lambda ev: ev.some_table_not_filled),
    "no_previous_cell": Condition(_no_previous_cell, lambda ev: ev.previous is not None),
    "previous_not_filled": Condition(_previous_not_filled, lambda ev: ev.previous is not None),
    "invalid_input": Condition(_invalid_input, lambda ev: ev.some_invalid),
    "blank_input": Condition(_blank_input, lambda ev: ev.some_blank),
    "holds": Condition(_holds),
    "explained": Condition(_explained, lambda ev: bool(ev.ret.explanations)),
}


class _TreeWalk(_Evaluator):
    """The reference: each rule's tree evaluated over the return's values, every step of the ladder asked in turn."""

    def __init__(self, ret: Return, previous: Return | None, statuses: dict[str, TableStatus]):
        super().__init__(ret, previous, statuses)
        self.value = _lookup(ret, previous)
        self.ladder = [(step, c.test) for step, c in outcomes.steps(CONDITIONS)]
        self._judged: tuple[Rule | None, bool | None] = (None, None)

    def inputs(self, rule: Rule, rp: RulePlan | None) -> list[str]:
        return _closure(self.ret, tuple(k for k in expr.refs(rule.node) if not k.startswith(PREV)))

    def holds(self, rule: Rule, rp: RulePlan | None) -> bool | None:
        if self._judged[0] is not rule:
            values, holds = self.values, None
            self.last_year_unusable = ""
            if not any(isinstance(values.get(k), Invalid) for k in self.inputs(rule, rp)):
                try:
                    holds = bool(expr.evaluate(rule.node, self.value, rule.tolerance))
                except Undetermined as exc:  # last year's cell is unusable
                    self.last_year_unusable = _invalid_text(_where(self.ret, self.previous, exc.key), exc.value)
            self._judged = (rule, holds)
        return self._judged[1]

    def result(self, rule: Rule) -> RuleResult:
        ret, previous = self.ret, self.previous
        outcome, cause, reason = outcomes.decide(self.ladder, self, rule, None)
        left = right = None
        if (
            isinstance(rule.node, expr.Compare)
            and cause not in (Cause.NO_PREVIOUS_CELL, Cause.PREVIOUS_NOT_FILLED)
            and not (rule.cross_year and _previous_missing(rule, previous))  # e.g. a blank table and an older form
        ):
            left, right = _try(self.value, rule.node.left), _try(self.value, rule.node.right)
        cells = tuple(_where(ret, previous, k) for k in expr.refs(rule.node))
        return RuleResult(rule, outcome, left, right, cells, self.explanation(rule), reason, cause)


class _Compiled(_Evaluator):
    """Every local rule's test judged by one call of the form's compiled function (xltool.formdata); the ladder's
    steps that hold for no rule of the return are left out of its walk."""

    def __init__(
        self,
        ret: Return,
        previous: Return | None,
        statuses: dict[str, TableStatus],
        tested: list,
        totals_given: bool,
        some_blank: bool,
        some_invalid: bool,
    ):
        super().__init__(ret, previous, statuses)
        self.tested, self.totals_given = tested, totals_given
        self.some_blank, self.some_invalid = some_blank, some_invalid
        self.some_table_not_filled = TableStatus.NOT_FILLED in statuses.values()
        self.ladder = [(step, c.test) for step, c in outcomes.steps(CONDITIONS) if c.possible(self)]

    def holds(self, rule: Rule, rp: RulePlan | None) -> bool | None:
        return self.tested[rp.at][2]  # type: ignore[union-attr]

    def inputs(self, rule: Rule, rp: RulePlan | None) -> Sequence[str]:
        return _closure(self.ret, rp.own) if self.totals_given else rp.closure  # type: ignore[union-attr]


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
    """The same results as the tree walk for every rule, from one call of the form's compiled function; None when
    the return holds something the compiled path does not take (a key the form lacks, a value of another type)."""
    values = ret.values
    slotted = plan.blank.copy()  # every slot's blank value, in slot order …
    slotted.update(values)  # … the return's values put in their places
    if len(slotted) != len(plan.blank):
        return None  # a key the form lacks
    v = list(slotted.values())
    some_invalid = not (_numbers(values) if numbers is None else numbers) and any(
        isinstance(x, Invalid) for x in values.values()
    )
    if some_invalid:
        v = [expr.UNUSABLE if isinstance(x, Invalid) else x for x in v]
    totals_given = not values.keys().isdisjoint(plan.totals)  # looks up the (few) totals, not every value
    given = len(values) - (sum(map(values.__contains__, plan.totals)) if totals_given else 0)  # inputs given
    try:
        tested = plan.run(v)
    except TypeError:  # a value that is neither a number nor Invalid: the tree walk says what becomes of it
        return None
    ev = _Compiled(ret, previous, statuses, tested, totals_given, given < plan.inputs, some_invalid)
    ladder, decide, explanations = ev.ladder, outcomes.decide, ret.explanations
    rules: Iterable[tuple[Rule, RulePlan | None]] = zip(ret.form.rules, plan.plans, strict=True)
    if skip_pass and previous is None and ladder and ladder[0][1] is _holds and ladder[0][0].outcome is Outcome.PASS:
        # The walk starts at the test itself (no earlier step can hold for this return): a rule whose test holds
        # passes, and only the others are walked.
        rules = [plan.tested[i] for i, t in enumerate(tested) if t[2] is not True]
    reference: _TreeWalk | None = None
    out: list[RuleResult] = []
    for rule, rp in rules:
        if rp is None:  # a cross-year rule: its tree is walked
            if previous is not None:
                reference = reference or _TreeWalk(ret, previous, statuses)
                result = reference.result(rule)
                if not (skip_pass and result.outcome is Outcome.PASS):
                    out.append(result)
            continue
        outcome, cause, reason = decide(ladder, ev, rule, rp)
        if skip_pass and outcome is Outcome.PASS:
            continue
        left = right = None
        if rp.compare:
            left, right, _ = tested[rp.at]
            left = left if isinstance(left, Decimal) else None
            right = right if isinstance(right, Decimal) else None
        explanation = ev.explanation(rule) if explanations else ""
        out.append(RuleResult(rule, outcome, left, right, rp.cells, explanation, reason, cause))
    return out


def _blank(ret: Return, inputs: Sequence[str]) -> str | None:
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
            if v.code == Code.MALFORMED_CELL:
                continue  # the reading reported it (MALFORMED-CELL names the sheet's malformed cells): one finding
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
