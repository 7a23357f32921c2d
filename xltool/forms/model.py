"""The form model: a form version's tables (every label and every input and total cell with its sheet position), its
rules, and what its annual report says. Built once from a form file (xltool.forms.build) and frozen."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from xltool import rules as expr

PREV = "prev."  # prefix of last year's cells in cross-year rules
TITLE_ROW = 0  # sheet title
INFO_ROW = 1  # unit / year line and the 本年度无此类事项 flag
TABLE_ROW = 2  # first row of the official table


class FormError(ValueError):
    """A form definition file that is inconsistent; the message says where."""


@dataclass(frozen=True)
class CellType:
    name: str  # count | signed_count | amount
    places: int = 0
    unit: str | None = None
    note: str | None = None  # printed under the table (e.g. the unit of an amount whose official label names none)

    @property
    def whole(self) -> bool:
        return self.name != "amount"

    @property
    def signed(self) -> bool:
        return self.name == "signed_count"


@dataclass(frozen=True)
class Cell:
    """One number cell of an official table: an input, or a total computed by its defining rule."""

    key: str
    table: str
    sheet: str
    row: int  # 0-based
    col: int  # 0-based
    label_path: tuple[str, ...]
    type: CellType
    defined_by: str | None = None  # id of the rule whose right side is this cell's formula
    last_col: int | None = None  # a value cell merged across to this column (Table 二 blocks with fewer columns)

    @property
    def right(self) -> int:
        """The last sheet column the cell covers (itself unless merged across)."""
        return self.col if self.last_col is None else self.last_col

    @property
    def is_input(self) -> bool:
        return self.defined_by is None

    @property
    def a1(self) -> str:
        return a1(self.row, self.col)

    @property
    def where(self) -> str:
        """Location as a clerk reads it, e.g. 三、依申请公开!D6."""
        return f"{self.sheet}!{self.a1}"

    @property
    def label(self) -> str:
        return " / ".join(self.label_path)


@dataclass(frozen=True)
class Label:
    """A printed label cell (possibly merged) that the reader must find unchanged."""

    sheet: str
    first_row: int
    first_col: int
    last_row: int
    last_col: int
    text: str
    kind: str  # title | caption | header | row | corner


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str  # the expression text after expansion
    node: expr.Node
    severity: str  # error | warning
    level: str  # 逻辑性 | 合理性
    basis: str
    tolerance: Decimal
    blank: str  # zero: a blank input counts as 0 (and is listed as a warning) | undetermined
    defines: str | None
    tables: tuple[str, ...]  # tables whose inputs the rule depends on
    cross_year: bool = False  # reads last year's return through `prev.` keys; checked only with --previous


@dataclass(frozen=True)
class CarryOver:
    """A cell this year takes from last year's return (derived from a cross-year rule)."""

    target: str  # this year's cell key
    source: str  # last year's cell key (in last year's form)
    rule: str  # the cross-year rule it comes from
    kind: str  # prefill: locked input filled from last year | reference: last year's figure shown beside the table


@dataclass(frozen=True, eq=False)
class Table:
    """One official table as laid out on its sheet; built once with its form and never changed (`eq=False`: a table
    is itself, so what is derived from it can be kept by identity, see xltool.formdata)."""

    id: str
    number: str
    sheet: str
    title: str
    layout: str
    width: int  # number of sheet columns the table spans
    header_rows: int
    cells: tuple[Cell, ...] = ()
    labels: tuple[Label, ...] = ()
    row_keys: tuple[str, ...] = ()
    col_keys: tuple[str, ...] = ()
    row_labels: dict[str, str] = field(default_factory=dict)
    col_labels: dict[str, str] = field(default_factory=dict)
    row_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # matrix tables: label path of each row

    @property
    def first_data_row(self) -> int:
        return TABLE_ROW + self.header_rows

    @property
    def last_row(self) -> int:
        return max(c.row for c in self.cells)


# --- what the annual report says for a form (the form file's `report:` section) -------------------------------------


@dataclass(frozen=True)
class Figure:
    """A figure a report's sentence may quote, and the cells it must equal (their sum): the prose audit's mapping."""

    what: str  # 收到政府信息公开申请 — how the warning names it
    pattern: str  # a regular expression whose group 1 is the number
    keys: tuple[str, ...]
    unit: str = "件"

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


@dataclass(frozen=True)
class ReportSection:
    """A sub-section of 一、总体情况: its heading, the sentences generated from the return, the clerk's prompt."""

    name: str  # 主动公开 — the key of the narrative file
    heading: str  # （一）主动公开
    sentences: tuple[str, ...] = ()  # with {cell.key}, {a+b}, {a.*.total} sums and {key|yoy} (比上年增加 N 件)
    prompt: str = ""


@dataclass(frozen=True)
class ReportItem:
    """An item of 六、其他需要报告的事项 the form version requires."""

    title: str
    fields: tuple[str, ...] = ()  # extra 填报说明 fields the item is written from
    text: str = ""  # with {unit.KEY}; used when every field is filled
    none: str = ""  # when every field is 0, or when the cells in `none_when_zero` are all 0
    none_when_zero: tuple[str, ...] = ()  # e.g. no applications at all: no fee can have been charged
    fixed: str = ""  # a text that needs no field
    prompt: str = ""  # what the clerk must write when nothing above applies


@dataclass(frozen=True)
class UnitField:
    """An optional input on the 填报说明 sheet that the report needs and the tables lack (address, fees charged)."""

    key: str
    label: str
    contact: bool = False  # shown with the contact in the preface
    hint: str = ""  # the input message in the workbook


DEFAULT_FIGURES = (
    Figure(
        "收到政府信息公开申请",
        r"(?:收到|受理|新收)[^，。；、\d]{0,10}?申请\D{0,4}?(\d[\d,]*)\s*(?:件|份|个|宗)",
        ("apply.new.total",),
    ),
    Figure("行政复议", r"行政复议[^，。；、\d]{0,6}?(\d[\d,]*)\s*(?:件|起|宗|个)", ("appeal.review.total",)),
    Figure(
        "行政诉讼",
        r"行政诉讼[^，。；、\d]{0,6}?(\d[\d,]*)\s*(?:件|起|宗|个)",
        ("appeal.direct.total", "appeal.after_review.total"),
    ),
)
DEFAULT_SECTIONS = (
    ReportSection("主动公开", "（一）主动公开"),
    ReportSection("依申请公开", "（二）依申请公开"),
    ReportSection("政府信息管理", "（三）政府信息管理"),
    ReportSection("平台建设", "（四）政府信息公开平台建设"),
    ReportSection("监督保障", "（五）监督保障"),
)


@dataclass(frozen=True)
class RegionalWording:
    """How a report that speaks for a region (a roll-up, or a return filled as 本行政区域汇总) rewords the report
    section's texts, which are written for one office (本机关): each phrase of `words` is replaced by its text, where
    {region} is the region's word — `areas` maps the kind of area ending the unit's name (某某县人民政府办公室 → 县)
    to it (全县), else `region`."""

    region: str = "本地区"
    areas: tuple[tuple[str, str], ...] = (("县", "全县"), ("区", "全区"), ("市", "全市"), ("旗", "全旗"))
    words: tuple[tuple[str, str], ...] = (("本机关", "{region}"),)


@dataclass(frozen=True)
class ReportSpec:
    notice_title: str = ""  # the notice's full title, 《…》; the preface names it with the notice number
    overview_heading: str = "一、总体情况"
    overview_prompt: str = "本机关本年度政府信息公开工作的总体情况概述"
    sections: tuple[ReportSection, ...] = DEFAULT_SECTIONS
    problems_heading: str = "五、存在的主要问题及改进情况"
    problems_prompt: str = "本年度政府信息公开工作存在的主要问题，以及上一年度报告所列问题的改进情况"
    other_heading: str = "六、其他需要报告的事项"
    other: tuple[ReportItem, ...] = ()
    unit_fields: tuple[UnitField, ...] = ()
    figures: tuple[Figure, ...] = DEFAULT_FIGURES
    regional: RegionalWording = RegionalWording()


@dataclass(frozen=True, eq=False)
class Form:
    """A form version: its tables and rules, frozen once built. What other modules derive from a form (reading
    shapes, compiled rules …) is kept with it by xltool.formdata; the indexes below are cached on the form itself."""

    form: str
    version: str
    name: str
    notice: str
    first_year: int
    last_year: int | None
    tables: tuple[Table, ...]
    rules: tuple[Rule, ...]
    path: Path
    guide: tuple[str, ...] = ()  # 填报须知 paragraphs, placeholders filled by guide_lines()
    aliases: dict[str, str] = field(default_factory=dict)  # printed variant -> official label (both normalised)
    origin: str = "内置"  # 内置 | 插件 <distribution> | 文件
    report: ReportSpec = field(default_factory=ReportSpec)  # what the annual report says (`report:` in the file)

    @property
    def id(self) -> str:
        return f"{self.form}-{self.version}"

    @property
    def table_names(self) -> str:
        """The tables as a clerk names them, e.g. 表二、表三、表四."""
        return "、".join(f"表{t.number}" for t in self.tables)

    @property
    def tables_span(self) -> str:
        """The table numbers as a range, e.g. 二至四 (or 一 for a one-table form)."""
        first, last = self.tables[0].number, self.tables[-1].number
        return first if first == last else f"{first}至{last}"

    @property
    def years_text(self) -> str:
        if self.last_year is None:
            return f"{self.first_year} 年度起"
        return f"{self.first_year}—{self.last_year} 年度"

    def guide_lines(self) -> list[str]:
        """The 填报须知 text of this form, with its name, notice and years filled in."""
        fields = {"name": self.name, "notice": self.notice, "years": self.years_text}
        return [line.format(**fields) for line in self.guide]

    @cached_property
    def carry_overs(self) -> list[CarryOver]:
        """What last year's return gives this year's, derived from the cross-year rules.

        `this == prev.that` pre-fills `this` from last year's `that`; any other cross-year rule (e.g. 现行有效件数 =
        上年现行有效件数 + 制发 − 废止) shows last year's cells beside the rule's first cell, for reference.
        """
        out: list[CarryOver] = []
        for rule in self.rules:
            if not rule.cross_year:
                continue
            node = rule.node
            if (
                isinstance(node, expr.Compare)
                and node.op == "=="
                and isinstance(node.left, expr.Ref)
                and isinstance(node.right, expr.Ref)
                and node.right.key.startswith(PREV)
                and not node.left.key.startswith(PREV)
            ):
                out.append(CarryOver(node.left.key, node.right.key[len(PREV) :], rule.id, "prefill"))
                continue
            own = [k for k in expr.refs(node) if not k.startswith(PREV)]
            for key in expr.refs(node):
                if key.startswith(PREV) and own:
                    out.append(CarryOver(own[0], key[len(PREV) :], rule.id, "reference"))
        return out

    # Indexes are cached: the checker looks cells up thousands of times per return.
    @cached_property
    def cells(self) -> list[Cell]:
        return [c for t in self.tables for c in t.cells]

    @cached_property
    def cell(self) -> dict[str, Cell]:
        return {c.key: c for c in self.cells}

    @cached_property
    def rule(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    @cached_property
    def local_rules(self) -> list[Rule]:
        """Rules that need only this return (the template's 校验 sheet shows exactly these)."""
        return [r for r in self.rules if not r.cross_year]

    @cached_property
    def inputs(self) -> list[Cell]:
        return [c for c in self.cells if c.is_input]

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)

    def covers(self, year: int) -> bool:
        return year >= self.first_year and (self.last_year is None or year <= self.last_year)

    def input_closure(self, keys: list[str]) -> list[str]:
        """Input keys that `keys` depend on, following total cells' formulas."""
        by_key, rule_by_id = self.cell, self.rule
        out: list[str] = []

        def walk(key: str) -> None:
            c = by_key[key]
            if c.is_input:
                if key not in out:
                    out.append(key)
            else:
                for k in expr.refs(_formula(rule_by_id[c.defined_by])):
                    walk(k)

        for k in keys:
            walk(k)
        return out


def _formula(rule: Rule) -> expr.Node:
    """The right side of a defining rule (`total == formula`)."""
    assert isinstance(rule.node, expr.Compare)
    return rule.node.right


def formula_of(form: Form, cell: Cell) -> expr.Node:
    return _formula(form.rule[cell.defined_by])


def a1(row: int, col: int) -> str:
    """A 0-based position as a cell reference, e.g. (5, 3) -> D6."""
    return f"{col_letter(col)}{row + 1}"


def col_number(letters: str) -> int:
    """Column letters as their 1-based number, e.g. D -> 4 (either case)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def col_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = string.ascii_uppercase[rem] + letters
    return letters
