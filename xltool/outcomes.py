"""What a rule outcome, a table status and a file status mean — declared once, for Python and for the spreadsheet.

Statuses are enums (stable English values); the Chinese words people see are their `.zh`. Nothing compares display
text. The rule-outcome ladder and the table-status ladder below are each written once and rendered two ways: evaluated
in Python by `xltool.evaluation` / `xltool.model`, and compiled to the template's formulas by `xltool.template`, so the
校验 sheet and `xltool check` cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def zh(self) -> str:
        return {"error": "错误", "warning": "警告", "info": "提示"}[self.value]

    @property
    def en(self) -> str:
        return {"error": "error", "warning": "warning", "info": "note"}[self.value]

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    @property
    def rank(self) -> int:
        return ["error", "warning", "info"].index(self.value)


LEVEL = {Severity.ERROR: "逻辑性", Severity.WARNING: "合理性"}  # the official names of the two kinds of rule


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    EXPLAINED = "explained"
    UNDETERMINED = "undetermined"

    @property
    def zh(self) -> str:
        return {"pass": "通过", "fail": "不通过", "explained": "已说明", "undetermined": "无法判断"}[self.value]

    @property
    def en(self) -> str:
        return {
            "pass": "passed",
            "fail": "failed",
            "explained": "failed but explained",
            "undetermined": "cannot be judged",
        }[self.value]


class Cause(StrEnum):
    """Why a rule is 无法判断 (kept as data, so no code reads it back out of the Chinese reason)."""

    TABLE_NOT_FILLED = "table_not_filled"
    INVALID_INPUT = "invalid_input"
    BLANK_INPUT = "blank_input"
    NO_PREVIOUS_CELL = "no_previous_cell"
    PREVIOUS_NOT_FILLED = "previous_not_filled"


class TableStatus(StrEnum):
    NO_ITEMS = "no_items"
    NOT_FILLED = "not_filled"
    PARTIAL = "partial"
    FILLED = "filled"


class FileStatus(StrEnum):
    PASSED = "passed"
    WARNINGS = "warnings"
    ERRORS = "errors"
    NOT_FILLED = "not_filled"
    UNREADABLE = "unreadable"

    @property
    def zh(self) -> str:
        return {
            "passed": "通过",
            "warnings": "有警告",
            "errors": "有错误",
            "not_filled": "未填报",
            "unreadable": "无法读取",
        }[self.value]

    @property
    def en(self) -> str:
        return {
            "passed": "passed",
            "warnings": "warnings",
            "errors": "errors",
            "not_filled": "not filled",
            "unreadable": "unreadable",
        }[self.value]

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


class MemberStatus(StrEnum):
    """How a return entered a roll-up."""

    MERGED = "merged"
    MERGED_WITH_ERRORS = "merged_with_errors"  # --include-invalid

    @property
    def zh(self) -> str:
        return {"merged": "已汇总", "merged_with_errors": "已汇总（含错误）"}[self.value]


class RosterStatus(StrEnum):
    """What became of a unit on the roster."""

    MISSING = "missing"
    MERGED = "merged"
    MERGED_WITH_ERRORS = "merged_with_errors"
    REJECTED = "rejected"

    @property
    def zh(self) -> str:
        return {"missing": "缺报", "merged": "已汇总", "merged_with_errors": "已汇总（含错误）", "rejected": "未汇总"}[
            self.value
        ]


# --- table status ------------------------------------------------------------------------------------------------

NO_ITEMS_TEXT = "本年度无此类事项"  # the flag's label above each table and the status it gives
NO_ITEMS_YES = "是"
_TABLE_WORDS = {TableStatus.NO_ITEMS: NO_ITEMS_TEXT, TableStatus.NOT_FILLED: "未填报", TableStatus.FILLED: "已填报"}
_PARTIAL = ("部分空白（", " 格）")


@dataclass(frozen=True)
class TableState:
    status: TableStatus
    blank: int = 0  # blank input cells of a partly filled table

    @property
    def zh(self) -> str:
        if self.status is TableStatus.PARTIAL:
            return f"{_PARTIAL[0]}{self.blank}{_PARTIAL[1]}"
        return _TABLE_WORDS[self.status]

    def __str__(self) -> str:
        return self.zh


@lru_cache(maxsize=4096)  # a form has few tables and sizes; TableState is frozen, so one object serves every return
def table_state(no_items: bool, filled: int, inputs: int) -> TableState:
    """The table-status ladder in Python (the same ladder as `table_status_formula`)."""
    if no_items:
        return TableState(TableStatus.NO_ITEMS)
    if filled == 0:
        return TableState(TableStatus.NOT_FILLED)
    if filled < inputs:
        return TableState(TableStatus.PARTIAL, inputs - filled)
    return TableState(TableStatus.FILLED)


def table_status_formula(flag_ref: str, filled: str, inputs: int) -> str:
    """The table-status ladder as a formula: `flag_ref` is the 本年度无此类事项 cell, `filled` counts typed inputs."""
    partial = f'"{_PARTIAL[0]}"&({inputs}-{filled})&"{_PARTIAL[1]}"'
    return (
        f'IF({flag_ref}="{NO_ITEMS_YES}","{NO_ITEMS_TEXT}",IF({filled}=0,"{_TABLE_WORDS[TableStatus.NOT_FILLED]}",'
        f'IF({filled}<{inputs},{partial},"{_TABLE_WORDS[TableStatus.FILLED]}")))'
    )


def not_filled_test(status_ref: str) -> str:
    """A formula test that a table-status cell says 未填报."""
    return f'{status_ref}="{_TABLE_WORDS[TableStatus.NOT_FILLED]}"'


# --- rule outcome ------------------------------------------------------------------------------------------------
# The ladder: the first condition that holds decides. It is written once and followed two ways: in Python, where
# xltool.evaluation pairs each step with a test of a rule (`steps`) and `decide` walks them, and in the template, where
# each step gets a formula test and `outcome_formula` nests them.


@dataclass(frozen=True)
class Step:
    condition: str  # a name the callers supply a test or a formula for
    outcome: Outcome
    cause: Cause | None = None
    text: str | None = None  # what the 校验 sheet shows, when it is not the outcome's own word

    @property
    def display(self) -> str:
        return self.text or self.outcome.zh


INVALID_TEXT = "数值无效"  # an input the rule reads is not a usable number: shown as such, never as an imbalance

LADDER: tuple[Step, ...] = (
    Step("table_not_filled", Outcome.UNDETERMINED, Cause.TABLE_NOT_FILLED),  # a table the rule reads is wholly blank
    Step("no_previous_cell", Outcome.UNDETERMINED, Cause.NO_PREVIOUS_CELL),  # cross-year: last year's form lacks it
    Step("previous_not_filled", Outcome.UNDETERMINED, Cause.PREVIOUS_NOT_FILLED),  # cross-year: last year blank
    Step("invalid_input", Outcome.UNDETERMINED, Cause.INVALID_INPUT, INVALID_TEXT),  # text, negative, fractional …
    Step("blank_input", Outcome.UNDETERMINED, Cause.BLANK_INPUT),  # only for rules with `blank: undetermined`
    Step("holds", Outcome.PASS),
    Step("explained", Outcome.EXPLAINED),  # only warnings can be explained
)
FALLBACK = Outcome.FAIL
T = TypeVar("T")


def steps(tests: Mapping[str, T]) -> tuple[tuple[Step, T], ...]:
    """Each step of the ladder, in order, with the caller's test for its condition: a step without one is an error,
    never passed over."""
    missing = [step.condition for step in LADDER if step.condition not in tests]
    if missing:
        raise LookupError(f"no test for the outcome ladder's conditions {missing}")
    return tuple((step, tests[step.condition]) for step in LADDER)


def decide(ladder: Iterable[tuple[Step, Callable[..., str | None]]], *args: Any) -> tuple[Outcome, Cause | None, str]:
    """Walk the ladder in Python: the first step whose test, given `args`, returns a reason (None: its condition does
    not hold) decides the outcome, its cause and the reason; the fallback when none does."""
    for step, test in ladder:
        reason = test(*args)
        if reason is not None:
            return step.outcome, step.cause, reason
    return FALLBACK, None, ""


def outcome_formula(conditions: Mapping[str, str], fail_text: str) -> str:
    """Walk the same ladder as nested IFs; `fail_text` is the formula of the 不平衡/不通过 display."""
    formula = fail_text
    for step in reversed(LADDER):
        test = conditions.get(step.condition)
        if test is not None:
            formula = f'IF({test},"{step.display}",{formula})'
    return formula


def display(outcome: Outcome, cause: Cause | None) -> str | None:
    """The 校验 text of a non-failing outcome (None for a failure, whose text carries its difference)."""
    if outcome is Outcome.FAIL:
        return None
    step = next((s for s in LADDER if s.outcome is outcome and s.cause is cause), None)
    return step.display if step else outcome.zh


def fail_word(comparison: str | None) -> str:
    """不平衡 for an equation, 不通过 for an inequality or a compound rule."""
    return "不平衡" if comparison == "==" else "不通过"


def fail_display(comparison: str | None, difference: Decimal | None, number: Callable[[Decimal], str]) -> str:
    """The text of a failed rule in Python: 不平衡（差额 N） or 不通过."""
    if comparison is None or difference is None:
        return fail_word(comparison)
    return f"{fail_word(comparison)}（差额 {number(difference)}）"


def fail_display_formula(comparison: str | None, difference_ref: str | None) -> str:
    """The same text as a formula, from the cell holding the difference."""
    if comparison is None or difference_ref is None:
        return f'"{fail_word(comparison)}"'
    return f'"{fail_word(comparison)}（差额 "&{difference_ref}&"）"'
