"""Building a form from its validated file: positions computed once from the declared layout (so the template writer
and the reader cannot disagree about where a cell is), rules parsed and expanded, totals made formula cells, and the
report section checked against the cells."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from xltool import labels
from xltool import rules as expr
from xltool.forms.model import (
    PREV,
    TABLE_ROW,
    Cell,
    CellType,
    Figure,
    Form,
    FormError,
    Label,
    RegionalWording,
    ReportItem,
    ReportSection,
    ReportSpec,
    Rule,
    Table,
    UnitField,
)  # fmt: skip


def build_form(data: dict, path: Path, origin: str) -> Form:
    """The frozen form of a validated form file's data."""
    tables = tuple(_build_table(t) for t in data["tables"])
    _no_duplicates(path.name, "表格编号", [t.id for t in tables])
    _no_duplicates(path.name, "工作表名", [t.sheet for t in tables])
    draft = Form(
        form=data["form"],
        version=str(data["version"]),
        name=data["name"],
        notice=data["notice"],
        first_year=data["years"]["first"],
        last_year=data["years"]["last"],
        tables=tables,
        rules=(),
        path=path,
        guide=tuple(data["guide"]),
        aliases={labels.norm(k, aliases=False): labels.norm(v, aliases=False) for k, v in data["aliases"].items()},
        origin=origin,
    )
    labels.add_aliases(draft.aliases)
    _no_duplicates(path.name, "单元格键", [c.key for c in draft.cells])
    form = _with_rules(draft, data["rules"])
    return replace(form, report=_build_report(form, data.get("report"), path.name))


_REPORT_PLACE = re.compile(r"\{([^{}|]*)(?:\|([^{}]*))?\}")


def expand_keys(form: Form, spec: str) -> list[str]:
    """The cells a report figure names: `a.b.c`, sums `a+b`, and `*` standing for one key segment."""
    out: list[str] = []
    for part in spec.split("+"):
        if "*" in part:
            pattern = re.compile("^" + re.escape(part).replace(r"\*", "[a-z0-9_]+") + "$")
            out += [c.key for c in form.cells if pattern.match(c.key)]
        else:
            out.append(part)
    return out


def _build_report(form: Form, data: dict | None, file: str) -> ReportSpec:
    """The report section as a ReportSpec; every cell a sentence or figure names must exist (FormError otherwise)."""
    if not data:
        return ReportSpec()
    keys = set(form.cell)
    fields = tuple(UnitField(**f) for f in data.get("unit_fields") or ())
    field_keys = {f.key for f in fields}

    def known(spec: str, where: str) -> None:
        if spec.startswith("unit."):
            if spec[5:] not in field_keys:
                raise FormError(f"{file}: {where} 中的 {{{spec}}} 不是 report.unit_fields 中的字段")
            return
        expanded = expand_keys(form, spec)
        bad = [k for k in expanded if k not in keys]
        if bad or not expanded:
            raise FormError(f"{file}: {where} 中的 {{{spec}}} 不是本表单的单元格键")

    sections = []
    for i, s in enumerate(data.get("sections") or ()):
        for j, sentence in enumerate(s.get("sentences") or ()):
            for m in _REPORT_PLACE.finditer(sentence):
                if m.group(2) not in (None, "yoy"):
                    raise FormError(
                        f"{file}: report.sections[{i}].sentences[{j}] 中的 |{m.group(2)} 不认识（只有 |yoy）"
                    )
                known(m.group(1), f"report.sections[{i}].sentences[{j}]")
        sections.append(ReportSection(s["name"], s["heading"], tuple(s.get("sentences") or ()), s.get("prompt") or ""))
    items = []
    for i, item in enumerate(data.get("other") or ()):
        for k in item.get("fields") or ():
            if k not in field_keys:
                raise FormError(f"{file}: report.other[{i}].fields 中的 {k} 不是 report.unit_fields 中的字段")
        for k in item.get("none_when_zero") or ():
            known(k, f"report.other[{i}].none_when_zero")
        items.append(
            ReportItem(
                **{
                    **item,
                    "fields": tuple(item.get("fields") or ()),
                    "none_when_zero": tuple(item.get("none_when_zero") or ()),
                }
            )
        )
    figures = []
    for i, f in enumerate(data.get("figures") or ()):
        for k in f["keys"]:
            known(k, f"report.figures[{i}].keys")
        try:
            regex = re.compile(f["pattern"])
        except re.error as exc:
            raise FormError(f"{file}: report.figures[{i}].pattern 不是有效的正则表达式（{exc}）") from None
        if regex.groups < 1:
            raise FormError(f"{file}: report.figures[{i}].pattern 应有一个括号分组（数字）")
        expanded = tuple(k for spec in f["keys"] for k in expand_keys(form, spec))
        figures.append(Figure(f["what"], f["pattern"], expanded, f.get("unit") or "件"))
    defaults = ReportSpec()
    return ReportSpec(
        notice_title=data.get("notice_title") or "",
        overview_heading=data.get("overview_heading") or defaults.overview_heading,
        overview_prompt=data.get("overview_prompt") or defaults.overview_prompt,
        sections=tuple(sections) or defaults.sections,
        problems_heading=data.get("problems_heading") or defaults.problems_heading,
        problems_prompt=data.get("problems_prompt") or defaults.problems_prompt,
        other_heading=data.get("other_heading") or defaults.other_heading,
        other=tuple(items),
        unit_fields=fields,
        figures=tuple(figures) or defaults.figures,
        regional=_build_regional(data.get("regional"), defaults.regional),
    )


def _build_regional(data: dict | None, defaults: RegionalWording) -> RegionalWording:
    """The regional wording; each part the file leaves out keeps its default (本地区, 县 → 全县 …, 本机关 → {region})."""
    if not data:
        return defaults
    return RegionalWording(
        region=data.get("region") or defaults.region,
        areas=tuple((data.get("areas") or dict(defaults.areas)).items()),
        words=tuple((data.get("words") or dict(defaults.words)).items()),
    )


_TYPES = {"count", "signed_count", "amount"}


def _cell_type(spec: dict) -> CellType:
    name = spec.get("type") or "count"
    if name not in _TYPES:
        raise FormError(f"未知的单元格类型 {name!r}")
    return CellType(name, int(spec.get("places") or 0), spec.get("unit"), spec.get("note"))


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _build_table(spec: dict) -> Table:
    """The table with every label and cell placed (the layouts fill a draft's lists; the table is frozen after)."""
    draft = SimpleNamespace(
        id=spec["id"], number=spec["number"], sheet=spec["sheet"], title=spec["title"], layout=spec["layout"],
        width=0, header_rows=0, cells=[], labels=[], row_keys=[], col_keys=[], row_labels={}, col_labels={},
        row_paths={},
    )  # fmt: skip
    if spec["layout"] == "blocks":
        _layout_blocks(draft, spec)
    elif spec["layout"] == "matrix":
        _layout_matrix(draft, spec)
    else:
        raise FormError(f"{spec['id']}: 未知的版式 {spec['layout']!r}")
    fields = vars(draft)
    return Table(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def _spans(n: int, width: int) -> list[tuple[int, int]]:
    """Sheet columns of a block's n value cells in a value area `width` wide: the last one widens to fill it."""
    return [(i + 1, i + 1) for i in range(n - 1)] + [(n, width)]


def _layout_blocks(table: SimpleNamespace, spec: dict) -> None:
    width = int(spec["value_columns"])
    table.width = 1 + width
    table.header_rows = 0
    row = TABLE_ROW
    for block in spec["blocks"]:
        table.labels.append(Label(table.sheet, row, 0, row, width, block["caption"], "caption"))
        row += 1
        spans = _spans(len(block["columns"]), width)
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


def _layout_matrix(table: SimpleNamespace, spec: dict) -> None:
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


def _expansions(form: Form, spec: dict, where: str) -> list[dict[str, str]]:
    """The variable bindings of a rule's `for_each` (one empty binding when it has none)."""
    each = spec.get("for_each")
    if each is None:
        return [{}]
    if isinstance(each, list):
        return [{**b, **{k.upper(): str(v).upper().replace(".", "-") for k, v in b.items()}} for b in each]
    ((name, ref),) = ((k, v) for k, v in each.items() if k != "except")
    table_id, what = ref.split(".")
    if table_id not in [t.id for t in form.tables]:
        raise FormError(f"{where}.for_each: 没有编号为 {table_id!r} 的表格")
    table = form.table(table_id)
    keys, labels = (table.row_keys, table.row_labels) if what == "rows" else (table.col_keys, table.col_labels)
    skip = set(each.get("except", []))
    unknown = skip - set(keys)
    if unknown:
        raise FormError(f"{where}.for_each.except: {sorted(unknown)} 不是 {ref} 中的键")
    return [
        {name: k, name.upper(): k.upper().replace(".", "-"), f"{name}_label": labels[k]} for k in keys if k not in skip
    ]


def _with_rules(form: Form, specs: list[dict]) -> Form:
    """The form with its rules: totals become formula cells, and each rule learns which tables its inputs live in."""
    rules: list[Rule] = []
    keys = [c.key for c in form.cells]
    keys += [PREV + k for k in keys]
    defining: dict[str, str] = {}
    for index, spec in enumerate(specs):
        where = f"{form.path.name}: rules[{index}]"
        for binding in _expansions(form, spec, where):

            def fill(field_name: str, binding: dict[str, str] = binding, spec: dict = spec, where: str = where) -> str:
                try:
                    return spec[field_name].format(**binding)
                except (KeyError, IndexError, ValueError) as exc:
                    raise FormError(f"{where}.{field_name}: 占位符 {exc} 没有定义（见 for_each）") from None

            rule_id, source = fill("id"), fill("expr")
            defines = fill("defines") if spec.get("defines") else None
            try:
                node = expr.parse(source, keys, exclude=defines)
            except expr.ExprError as exc:
                raise FormError(f"{where}.expr（规则 {rule_id}）: {exc}") from None
            if defines:
                if not (isinstance(node, expr.Compare) and node.op == "==" and node.left == expr.Ref(defines)):
                    raise FormError(f"{where}.defines（规则 {rule_id}）: 定义合计的规则必须写成 “{defines} == 公式”")
                if defines in defining:
                    raise FormError(f"{where}.defines（规则 {rule_id}）: {defines} 已由 {defining[defines]} 定义")
                defining[defines] = rule_id
            cross_year = spec.get("scope") == "cross_year"
            if cross_year != any(k.startswith(PREV) for k in expr.refs(node)):
                raise FormError(
                    f"{where}.scope（规则 {rule_id}）: 引用上年数（prev.）的规则必须写 scope: cross_year，反之亦然"
                )
            rules.append(
                Rule(
                    id=rule_id,
                    title=fill("title"),
                    source=source,
                    node=node,
                    severity=spec["severity"],
                    level=spec["level"],
                    basis=fill("basis"),
                    tolerance=Decimal(str(spec["tolerance"])),
                    blank=spec["blank"],
                    defines=defines,
                    tables=(),
                    cross_year=cross_year,
                )
            )
    tables = tuple(
        replace(t, cells=tuple(replace(c, defined_by=defining.get(c.key)) for c in t.cells)) for t in form.tables
    )
    form = replace(form, tables=tables, rules=tuple(rules))
    by_key = form.cell
    placed = []
    for rule in rules:
        own = [k for k in expr.refs(rule.node) if not k.startswith(PREV)]
        used = {by_key[k].table for k in form.input_closure(own)}
        placed.append(replace(rule, tables=tuple(t.id for t in tables if t.id in used)))
    _no_duplicates(form.path.name, "规则编号", [r.id for r in placed])
    return replace(form, rules=tuple(placed))


def _no_duplicates(file: str, what: str, items: list[str]) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise FormError(f"{file}: {what} {item} 重复")
        seen.add(item)
