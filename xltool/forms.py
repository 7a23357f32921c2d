"""Official form definitions: loaded from templates/*.yaml into one model that every other module compiles from.

A Form knows every input and total cell (key, label path, type, sheet position), every printed label with its merge
range, and every rule. Positions are computed here, once, from the declared layout, so the template writer and the
reader cannot disagree about where a cell is.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

import yaml

from xltool import rules as expr

TITLE_ROW = 0  # sheet title
INFO_ROW = 1  # unit / year line and the 本年度无此类事项 flag
TABLE_ROW = 2  # first row of the official table

SEVERITY_TEXT = {"error": "错误", "warning": "警告"}
LEVEL_TEXT = {"error": "逻辑性", "warning": "合理性"}


class FormError(ValueError):
    """A form definition file that is inconsistent; the message says where."""


@dataclass(frozen=True)
class CellType:
    name: str  # count | signed_count | amount
    places: int = 0
    unit: str | None = None

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
        return f"{col_letter(self.col)}{self.row + 1}"

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


@dataclass
class Table:
    id: str
    number: str
    sheet: str
    title: str
    layout: str
    width: int  # number of sheet columns the table spans
    header_rows: int
    cells: list[Cell] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    row_keys: list[str] = field(default_factory=list)
    col_keys: list[str] = field(default_factory=list)
    row_labels: dict[str, str] = field(default_factory=dict)
    col_labels: dict[str, str] = field(default_factory=dict)
    row_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # matrix tables: label path of each row

    @property
    def first_data_row(self) -> int:
        return TABLE_ROW + self.header_rows

    @property
    def last_row(self) -> int:
        return max(c.row for c in self.cells)


@dataclass
class Form:
    form: str
    version: str
    name: str
    notice: str
    first_year: int
    last_year: int | None
    tables: list[Table]
    rules: list[Rule]
    path: Path

    @property
    def id(self) -> str:
        return f"{self.form}-{self.version}"

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

    def _reindex(self) -> None:
        for name in ("cells", "cell", "rule", "local_rules", "inputs"):
            self.__dict__.pop(name, None)

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


def col_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = string.ascii_uppercase[rem] + letters
    return letters


# --- loading ---------------------------------------------------------------------------------------------------------


def templates_dir() -> Path:
    """templates/ ships inside the package as data (see pyproject), with a fallback to the source checkout."""
    packaged = resources.files("xltool") / "forms_data"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "templates"


@cache
def all_forms() -> tuple[Form, ...]:
    forms = [load_form(p) for p in sorted(templates_dir().glob("*.yaml"))]
    return tuple(sorted(forms, key=lambda f: f.first_year))


def form_for_year(year: int) -> Form:
    for f in all_forms():
        if f.covers(year):
            return f
    raise FormError(f"没有适用于 {year} 年度的报告格式（2019 年起才有统一格式）")


def form_by_id(form_id: str) -> Form:
    for f in all_forms():
        if f.id == form_id or f.version == form_id:
            return f
    raise FormError(f"未知的报告格式 {form_id!r}")


def load_form(path: Path) -> Form:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables = [_build_table(t) for t in data["tables"]]
    form = Form(
        form=data["form"],
        version=str(data["version"]),
        name=data["name"],
        notice=data["notice"],
        first_year=data["years"]["first"],
        last_year=data["years"]["last"],
        tables=tables,
        rules=[],
        path=path,
    )
    _no_duplicates(path.name, "单元格键", [c.key for c in form.cells])
    _build_rules(form, data["rules"])
    return form


_TYPES = {"count", "signed_count", "amount"}


def _cell_type(spec: dict) -> CellType:
    name = spec.get("type", "count")
    if name not in _TYPES:
        raise FormError(f"未知的单元格类型 {name!r}")
    return CellType(name, int(spec.get("places", 0)), spec.get("unit"))


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _build_table(spec: dict) -> Table:
    table = Table(
        id=spec["id"],
        number=spec["number"],
        sheet=spec["sheet"],
        title=spec["title"],
        layout=spec["layout"],
        width=0,
        header_rows=0,
    )
    if spec["layout"] == "blocks":
        _layout_blocks(table, spec)
    elif spec["layout"] == "matrix":
        _layout_matrix(table, spec)
    else:
        raise FormError(f"{spec['id']}: 未知的版式 {spec['layout']!r}")
    return table


# In Table 二 the value area is `value_columns` wide; a block with fewer columns widens its cells to fill it.
_SPANS = {3: [(1, 1), (2, 2), (3, 3)], 2: [(1, 1), (2, 3)], 1: [(1, 3)]}


def _layout_blocks(table: Table, spec: dict) -> None:
    width = int(spec["value_columns"])
    table.width = 1 + width
    table.header_rows = 0
    row = TABLE_ROW
    for block in spec["blocks"]:
        table.labels.append(Label(table.sheet, row, 0, row, width, block["caption"], "caption"))
        row += 1
        spans = _SPANS[len(block["columns"])]
        table.labels.append(Label(table.sheet, row, 0, row, 0, "信息内容", "header"))
        for column, (c0, c1) in zip(block["columns"], spans, strict=True):
            table.labels.append(Label(table.sheet, row, c0, row, c1, column["label"], "header"))
        row += 1
        for r in block["rows"]:
            table.labels.append(Label(table.sheet, row, 0, row, 0, r["label"], "row"))
            for column, (c0, c1) in zip(block["columns"], spans, strict=True):
                key = _join(table.id, block["id"], r["key"], column["key"])
                path = (block["caption"], r["label"], column["label"])
                cell = Cell(
                    key, table.id, table.sheet, row, c0, path, _cell_type(column), last_col=c1 if c1 > c0 else None
                )
                table.cells.append(cell)
            table.row_keys.append(_join(block["id"], r["key"]))
            table.row_labels[_join(block["id"], r["key"])] = r["label"]
            row += 1


def _layout_matrix(table: Table, spec: dict) -> None:
    ncols, columns, rows = int(spec["label_columns"]), spec["columns"], spec["rows"]
    depth = max(len(c["path"]) for c in columns)
    table.width, table.header_rows = ncols + len(columns), depth
    top = TABLE_ROW
    if ncols:
        table.labels.append(Label(table.sheet, top, 0, top + depth - 1, ncols - 1, spec["corner"], "corner"))
    # Header: consecutive columns sharing a path prefix merge across; a path that ends early spans down.
    col_paths = [c["path"] for c in columns]
    for level in range(depth):
        for i, j, path in _runs(col_paths, level):
            last_row = top + depth - 1 if len(path) == level + 1 else top + level
            table.labels.append(Label(table.sheet, top + level, ncols + i, last_row, ncols + j, path[level], "header"))
    # Row labels: the same rule turned sideways.
    first = top + depth
    row_paths = [r["path"] for r in rows]
    for level in range(ncols):
        for i, j, path in _runs(row_paths, level):
            last_col = ncols - 1 if len(path) == level + 1 else level
            table.labels.append(Label(table.sheet, first + i, level, first + j, last_col, path[level], "row"))
    for r_index, r in enumerate(rows):
        table.row_keys.append(r["key"])
        table.row_labels[r["key"]] = " ".join(r["path"][1:]) or (r["path"][0] if r["path"] else "")
        table.row_paths[r["key"]] = tuple(r["path"])
        for c_index, c in enumerate(columns):
            key = _join(table.id, r["key"], c["key"])
            path = tuple(r["path"]) + tuple(c["path"])
            table.cells.append(Cell(key, table.id, table.sheet, first + r_index, ncols + c_index, path, _cell_type(c)))
    for c in columns:
        table.col_keys.append(c["key"])
        table.col_labels[c["key"]] = c["path"][-1]


def _runs(paths: list[list[str]], level: int):
    """Runs (first, last, path) of consecutive paths sharing their prefix up to `level`; shorter paths are skipped."""
    i = 0
    while i < len(paths):
        path = paths[i]
        if len(path) <= level:
            i += 1
            continue
        j = i
        while j + 1 < len(paths) and paths[j + 1][: level + 1] == path[: level + 1]:
            j += 1
        yield i, j, path
        i = j + 1


def _expansions(form: Form, spec: dict) -> list[dict[str, str]]:
    """The variable bindings of a rule's `for_each` (one empty binding when it has none)."""
    each = spec.get("for_each")
    if each is None:
        return [{}]
    if isinstance(each, list):
        return [{**b, **{k.upper(): str(v).upper().replace(".", "-") for k, v in b.items()}} for b in each]
    ((name, ref),) = ((k, v) for k, v in each.items() if k != "except")
    table_id, what = ref.split(".")
    table = form.table(table_id)
    keys, labels = (table.row_keys, table.row_labels) if what == "rows" else (table.col_keys, table.col_labels)
    skip = set(each.get("except", []))
    return [
        {name: k, name.upper(): k.upper().replace(".", "-"), f"{name}_label": labels[k]} for k in keys if k not in skip
    ]


PREV = "prev."  # prefix of last year's cells in cross-year rules


def _build_rules(form: Form, specs: list[dict]) -> None:
    keys = [c.key for c in form.cells]
    keys += [PREV + k for k in keys]
    defining: dict[str, str] = {}
    for spec in specs:
        for binding in _expansions(form, spec):
            rule_id = spec["id"].format(**binding)
            source = spec["expr"].format(**binding)
            defines = spec["defines"].format(**binding) if "defines" in spec else None
            try:
                node = expr.parse(source, keys, exclude=defines)
            except expr.ExprError as exc:
                raise FormError(f"{form.path.name} 规则 {rule_id}: {exc}") from None
            if defines:
                if not (isinstance(node, expr.Compare) and node.op == "==" and node.left == expr.Ref(defines)):
                    raise FormError(f"{rule_id}: 定义合计的规则必须写成 “{defines} == 公式”")
                if defines in defining:
                    raise FormError(f"{rule_id}: {defines} 已由 {defining[defines]} 定义")
                defining[defines] = rule_id
            severity = spec["severity"]
            form.rules.append(
                Rule(
                    id=rule_id,
                    title=spec["title"].format(**binding),
                    source=source,
                    node=node,
                    severity=severity,
                    level=spec.get("level", LEVEL_TEXT[severity]),
                    basis=spec.get("basis", ""),
                    tolerance=Decimal(str(spec.get("tolerance", 0))),
                    blank=spec.get("blank", "zero"),
                    defines=defines,
                    tables=(),
                    cross_year=spec.get("scope") == "cross_year",
                )
            )
    # Totals become formula cells; each rule learns which tables its inputs live in.
    for table in form.tables:
        table.cells = [replace(c, defined_by=defining.get(c.key)) for c in table.cells]
    form._reindex()
    by_key = form.cell
    for i, rule in enumerate(form.rules):
        own = [k for k in expr.refs(rule.node) if not k.startswith(PREV)]
        tables = {by_key[k].table for k in form.input_closure(own)}
        order = [t.id for t in form.tables if t.id in tables]
        form.rules[i] = Rule(**{**rule.__dict__, "tables": tuple(order)})
    form._reindex()
    _no_duplicates(form.path.name, "规则编号", [r.id for r in form.rules])


def _no_duplicates(file: str, what: str, items: list[str]) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise FormError(f"{file}: {what} {item} 重复")
        seen.add(item)
