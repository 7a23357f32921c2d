"""The shared vocabulary: a Return is one unit's filled tables (metadata + values by key) for one Form."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from xltool import formdata
from xltool import rules as expr
from xltool.forms import Cell, Form, formula_of
from xltool.outcomes import TableState, TableStatus, table_state
from xltool.values import Invalid, Undetermined, Value

__all__ = ["Invalid", "Return", "Undetermined", "Unit", "Value"]  # Invalid and Value live with the values


@dataclass
class Unit:
    name: str = ""
    code: str = ""  # 统一社会信用代码 or 行政区划代码
    scope: str = ""  # 本机关 | 本行政区域汇总
    filled_by: str = ""
    phone: str = ""
    date: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # optional 填报说明 fields the form's report declares


@dataclass
class Return:
    form: Form
    year: int
    unit: Unit = field(default_factory=Unit)
    values: dict[str, Value] = field(default_factory=dict)
    no_items: set[str] = field(default_factory=set)  # tables ticked 本年度无此类事项
    explanations: dict[str, str] = field(default_factory=dict)  # rule id -> the clerk's 说明
    source: str | None = None
    read_problems: list = field(default_factory=list)  # Problems found while reading the file (xltool.reading)
    meta: dict[str, str] = field(default_factory=dict)  # the workbook's _meta items (kind: template | rollup)
    prefilled: set[str] = field(default_factory=set)  # inputs the county filled in (last year's carry-over), locked
    unread: set[str] = field(default_factory=set)  # tables the source did not show (a report without Table 四)

    def _own_inputs(self, table_id: str) -> list[Cell]:
        """The inputs the unit itself fills: pre-filled cells say nothing about whether the unit has reported."""
        inputs = formdata.shape(self.form.table(table_id)).input_cells
        return [c for c in inputs if c.key not in self.prefilled] if self.prefilled else inputs

    # --- values ---------------------------------------------------------------------------------------------------
    def value(self, key: str) -> Decimal:
        """A cell's number for the rules: typed or read value, else a total computed from its formula, else 0.

        A total of a table the source did not show (a report without it) is unknown, never 0."""
        cell = self.form.cell[key]
        if key in self.values:
            v = self.values[key]
            if isinstance(v, Invalid):
                raise Undetermined(key, v)
            return v
        if not cell.is_input:
            if cell.table in self.unread:
                raise Undetermined(key, Invalid("", "报告中没有找到此表，合计无法计算"))
            return expr.evaluate(formula_of(self.form, cell), self.value)  # type: ignore[return-value]
        return Decimal(0)

    def known_value(self, key: str) -> Decimal | None:
        """A cell's number when it is known: a total is None when any cell it adds up is blank or unusable (a blank
        is not a 0), unless its table is ticked 本年度无此类事项 (then its blanks are zeros)."""
        cell = self.form.cell[key]
        if key not in self.values and not cell.is_input and cell.table not in self.no_items:
            for ref in expr.refs(formula_of(self.form, cell)):
                if ref != key and ref in self.form.cell and self.known_value(ref) is None:
                    return None
        if key not in self.values and cell.is_input:
            return Decimal(0) if cell.table in self.no_items else None
        return self.safe_value(key)

    def safe_value(self, key: str) -> Decimal | None:
        try:
            return self.value(key)
        except Undetermined:
            return None

    def blank_inputs(self, table_id: str) -> list[Cell]:
        values = self.values
        return [c for c in self._own_inputs(table_id) if c.key not in values]

    def table_state(self, table_id: str) -> TableState:
        """未填报 / 本年度无此类事项 / 部分空白（N 格） / 已填报, by the ladder the template's 校验 sheet also uses."""
        keys = formdata.shape(self.form.table(table_id)).input_keys
        if self.prefilled:
            keys = [k for k in keys if k not in self.prefilled]
        filled = sum(map(self.values.__contains__, keys))
        return table_state(table_id in self.no_items, filled, len(keys))

    def table_states(self) -> dict[str, TableState]:
        """Every table's state by table id, in form order: what `table_state` gives for each (the form's table ids
        are unique), without looking each table up by its id."""
        values, prefilled, no_items = self.values, self.prefilled, self.no_items
        out: dict[str, TableState] = {}
        for table in self.form.tables:
            keys = formdata.shape(table).input_keys
            if prefilled:
                keys = [k for k in keys if k not in prefilled]
            out[table.id] = table_state(table.id in no_items, sum(map(values.__contains__, keys)), len(keys))
        return out

    def table_status(self, table_id: str) -> str:
        """The table status as the 校验 sheet shows it."""
        return self.table_state(table_id).zh

    @property
    def not_filled(self) -> bool:
        """True when every table is blank: 未填报, not a return of zeros."""
        values, prefilled, no_items = self.values, self.prefilled, self.no_items
        for table in self.form.tables:  # table_state(table.id), without looking the table up by its id
            keys = formdata.shape(table).input_keys
            if prefilled:
                keys = [k for k in keys if k not in prefilled]
            filled = sum(map(values.__contains__, keys))
            if table_state(table.id in no_items, filled, len(keys)).status is not TableStatus.NOT_FILLED:
                return False
        return True

    # --- checks (implemented in xltool.evaluation; here for a short public surface) -------------------------------------
    def rule_results(self, previous: Return | None = None):  # -> list[RuleResult]
        """Every rule's outcome; pass last year's return to include the cross-year rules."""
        from xltool.evaluation import evaluate_rules

        return evaluate_rules(self, previous)

    def check(self, previous: Return | None = None):  # -> list[Problem]
        """Every problem: reading notes, 未填报, unusable values, blank cells, rules not passed."""
        from xltool.evaluation import check_return

        return check_return(self, previous)

    def to_frame(self):
        """Tidy pandas table: one row per cell (key, label, value), totals included and computed; a total of blank
        or unusable cells is None (unknown), not 0."""
        import pandas as pd

        rows = []
        for c in self.form.cells:
            raw = self.values.get(c.key)
            rows.append(
                {
                    "key": c.key,
                    "table": c.table,
                    "label": c.label,
                    "cell": c.where,
                    "is_input": c.is_input,
                    "value": self.known_value(c.key),
                    "raw": raw.raw if isinstance(raw, Invalid) else None,
                }
            )
        return pd.DataFrame(rows)
