"""What is derived from a form once and kept with it: the reading shape of each table (with its input cells and
keys), the warning rules, the optional 填报说明 fields, and the form's rules compiled into one Python function.

A Form and its Tables are frozen once built (xltool.forms), so nothing derived from them can go stale: it is computed
on first use and kept in a weak-keyed map beside the form (`of(form)`, `shape(table)`), and goes when the form goes.
No other module keeps a memo about forms.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from xltool import layout
from xltool import rules as expr
from xltool.forms import Cell, CellType, Form, Rule, Table, formula_of

MEMO_MAX = 4096  # floats remembered per cell type, merges remembered per table: a hostile file cannot grow them


class Shape:
    """A table as our template lays it out: where its labels and cells are, and what reading an untouched table
    needs, listed once."""

    def __init__(self, table: Table):
        memos: dict[CellType, dict[float, Decimal]] = {}
        self.table, self.cells = table, table.cells
        self.labels = [(lb.first_row, lb.first_col, lb.text) for lb in table.labels]
        self.positions = {c.key: (c.row, c.col) for c in table.cells}
        self.input_cells = [c for c in table.cells if c.is_input]
        self.input_keys = [c.key for c in self.input_cells]
        inputs = self.input_cells
        self.input_a1 = frozenset(c.a1 for c in inputs)
        self.input_box = (  # a merge outside this box covers no input (an empty box when there is none)
            min((c.row for c in inputs), default=0),
            min((c.col for c in inputs), default=0),
            max((c.row for c in inputs), default=-1),
            max((c.col for c in inputs), default=-1),
        )
        self.own_merges = {(lb.first_row, lb.first_col, lb.last_row, lb.last_col) for lb in table.labels}
        self.own_merges |= {(c.row, c.col, c.row, c.right) for c in table.cells if c.right > c.col}
        self.total_a1 = frozenset(c.a1 for c in table.cells if not c.is_input)
        self.harmless = set(self.own_merges)  # merges that cover no input, learnt as files are read (merged_input)
        self.input_rows = frozenset(c.row for c in inputs)
        self.input_cols = frozenset(c.col for c in inputs)
        # The inputs in runs of one row and one cell type each (in the table's cell order): the row, the run's last
        # column, the type's memo of numbers read (float -> the Decimal `values.normalize` gives), and each cell's
        # column, key and itself.
        self.input_runs: list[tuple[int, int, dict[float, Decimal], list[tuple[int, str, Cell]]]] = []
        for cell in inputs:
            r, c = cell.row, cell.col
            memo = memos.setdefault(cell.type, {})
            if not self.input_runs or self.input_runs[-1][0] != r or self.input_runs[-1][2] is not memo:
                self.input_runs.append((r, c, memo, []))
            last = self.input_runs[-1]
            self.input_runs[-1] = (r, max(last[1], c), memo, last[3])
            last[3].append((c, cell.key, cell))

    def merged_input(self, merges: list[tuple[int, int, int, int]]) -> tuple[tuple[int, int, int, int], Cell] | None:
        """The first merge (in sheet order) that covers an input cell which is not its top-left cell alone, with the
        first such input; merges found harmless (our own, or over no input) are remembered for the next file."""
        harmless = self.harmless
        if harmless.issuperset(merges):  # the usual case: every merge is the template's own or was seen before
            return None
        top, left, bottom, right = self.input_box
        for m in merges:
            if m in harmless:
                continue
            if m[0] <= bottom and m[2] >= top and m[1] <= right and m[3] >= left:
                for c in self.input_cells:
                    if m[0] <= c.row <= m[2] and m[1] <= c.col <= m[3] and (m[0], m[1]) != (m[2], m[3]):
                        return m, c
            if len(harmless) < MEMO_MAX:
                harmless.add(m)
        return None

    def untouched(self, formulas: dict[str, str], errors: dict[str, str]) -> bool:
        """No formula or error value over an input, and every total still a formula (the sheet as we wrote it)."""
        return (
            self.input_a1.isdisjoint(formulas)
            and self.input_a1.isdisjoint(errors)
            and dict.keys(formulas) >= self.total_a1
        )


# --- the compiled rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulePlan:
    at: int  # the rule's place in the evaluator's results
    compare: bool
    cells: tuple[str, ...]  # where the rule's cells are (RuleResult.cells)
    own: tuple[str, ...]  # keys the rule reads directly
    closure: tuple[str, ...]  # the inputs it depends on when the return gives no total of its own (the usual case)


@dataclass(frozen=True)
class Plan:
    """A form's local rules compiled into one function over a list of values in slot (cell) order."""

    slots: dict[str, int]
    defaults: list[tuple[str, Decimal | None]]  # each slot's key and its blank value: 0 for an input, None for a total
    totals: frozenset[str]
    inputs: int
    run: expr.Evaluator
    plans: tuple[RulePlan | None, ...]  # one per form rule; None for a cross-year rule (checked by the tree walk)
    blank: dict[str, Decimal | None] = field(default_factory=dict)  # `defaults` as a dict, in slot order
    tested: tuple[tuple[Rule, RulePlan], ...] = ()  # the rules with a test, by their place in the results


def _build_plan(form: Form) -> Plan:
    slots = {c.key: i for i, c in enumerate(form.cells)}
    totals: list[tuple[str, expr.Node]] = []
    state: dict[str, bool] = {}  # False while a total's formula is being visited, True once placed

    def place(key: str) -> None:
        if state.get(key) is True:
            return
        if key in state:
            raise ValueError(f"{key}: circular totals")
        state[key] = False
        formula = formula_of(form, form.cell[key])
        for k in expr.refs(formula):
            if not form.cell[k].is_input:
                place(k)
        state[key] = True
        totals.append((key, formula))

    for cell in form.cells:
        if not cell.is_input:
            place(cell.key)
    tests: list[tuple[expr.Node, Decimal]] = []
    plans: list[RulePlan | None] = []
    for rule in form.rules:
        if rule.cross_year:
            plans.append(None)
            continue
        own = expr.refs(rule.node)
        plans.append(
            RulePlan(
                at=len(tests),
                compare=isinstance(rule.node, expr.Compare),
                cells=tuple(form.cell[k].where for k in own),
                own=own,
                closure=tuple(input_closure(form, own)),
            )
        )
        tests.append((rule.node, rule.tolerance))
    defaults = [(c.key, Decimal(0) if c.is_input else None) for c in form.cells]
    run = expr.compile_evaluator(slots, totals, tests)
    totals_keys = frozenset(c.key for c in form.cells if not c.is_input)
    tested = tuple((rule, rp) for rule, rp in zip(form.rules, plans, strict=True) if rp is not None)  # rp.at = place
    return Plan(
        slots,
        defaults,
        totals_keys,
        len(slots) - len(totals_keys),
        run,
        tuple(plans),
        dict(defaults),
        tested,
    )


def input_closure(form: Form, keys: tuple[str, ...]) -> list[str]:
    """The inputs `keys` depend on when a return gives no total of its own: in order, repeated as the formulas
    repeat them (a rule's evidence lists them so)."""
    out: list[str] = []
    for key in keys:
        cell = form.cell[key]
        out.extend([key] if cell.is_input else input_closure(form, expr.refs(formula_of(form, cell))))
    return out


# --- per form --------------------------------------------------------------------------------------------------------


class FormData:
    """Everything derived from one form, each part computed on first use."""

    def __init__(self, form: Form):
        self.form = form

    @cached_property
    def warning_ids(self) -> frozenset[str]:
        """The ids of the warning rules: the rows of 校验 whose 说明 is read."""
        return frozenset(r.id for r in self.form.rules if r.severity == "warning")

    @cached_property
    def extra_cells(self) -> list[tuple[str, str, int, str]]:
        """`layout.extra_fields(form)` as (key, label, 0-based row, the value cell)."""
        return [(key, label, row, f"B{row + 1}") for key, label, row, _ in layout.extra_fields(self.form)]

    @cached_property
    def plan(self) -> Plan | None:
        """The local rules compiled (None when they cannot be: the tree walk then checks the form)."""
        try:
            return _build_plan(self.form)
        except (TypeError, KeyError, ValueError, RecursionError):
            return None


_DATA: weakref.WeakKeyDictionary[Form, FormData] = weakref.WeakKeyDictionary()
_TABLES: weakref.WeakKeyDictionary[Table, Shape] = weakref.WeakKeyDictionary()


def of(form: Form) -> FormData:
    data = _DATA.get(form)
    if data is None:
        data = _DATA[form] = FormData(form)
    return data


def shape(table: Table) -> Shape:
    hit = _TABLES.get(table)
    if hit is None:
        hit = _TABLES[table] = Shape(table)
    return hit
