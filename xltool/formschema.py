"""The schema of a form file (templates/*.yaml, `--form FILE.yaml`, plugin forms), checked before anything is built.

A broken form file is reported like broken data: each problem names the file, the path inside it and what was
expected, in Chinese (`gov-info-2026.yaml: rules[3].severity 缺失`). Unknown keys and misspelt values are errors, so a
typo such as `blank: zeros` can never load silently with a default meaning.
"""

from __future__ import annotations

import re
import string
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

KEY = r"^[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*$"  # a cell key segment path, as the rule language reads it
GUIDE_FIELDS = {"name", "notice", "years"}  # placeholders the 填报须知 text may use
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CellTypeName = Literal["count", "signed_count", "amount"]


class _CellSpec(_Strict):
    key: Annotated[str, Field(pattern=KEY)]
    type: CellTypeName = "count"
    places: Annotated[int, Field(ge=0, le=6)] = 0
    unit: str | None = None
    note: str | None = None  # printed under the table, e.g. the unit of an amount whose official label names none


class BlockColumn(_CellSpec):
    label: str


class BlockRow(_Strict):
    key: Annotated[str, Field(pattern=KEY)]
    label: str


class Block(_Strict):
    id: Annotated[str, Field(pattern=KEY)]
    caption: str
    columns: Annotated[list[BlockColumn], Field(min_length=1)]
    rows: Annotated[list[BlockRow], Field(min_length=1)]


class MatrixColumn(_CellSpec):
    path: Annotated[list[str], Field(min_length=1)]


class MatrixRow(_Strict):
    key: Annotated[str, Field(pattern=r"^([a-z_][a-z0-9_]*(\.[a-z0-9_]+)*)?$")]  # "" for Table 四's one data row
    path: list[str]


class _TableSpec(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]
    number: str
    sheet: Annotated[str, Field(min_length=1, max_length=31)]
    title: str

    @field_validator("sheet")
    @classmethod
    def _sheet_name(cls, v: str) -> str:
        if _BAD_SHEET_CHARS.search(v):
            raise ValueError("工作表名不能含有 [ ] : * ? / \\")
        return v


class BlocksTable(_TableSpec):
    layout: Literal["blocks"]
    value_columns: Annotated[int, Field(ge=1, le=12)]
    blocks: Annotated[list[Block], Field(min_length=1)]

    @model_validator(mode="after")
    def _fits(self) -> BlocksTable:
        for i, block in enumerate(self.blocks):
            if len(block.columns) > self.value_columns:
                raise ValueError(f"blocks[{i}] 有 {len(block.columns)} 列，超过 value_columns（{self.value_columns}）")
        return self


class MatrixTable(_TableSpec):
    layout: Literal["matrix"]
    label_columns: Annotated[int, Field(ge=0, le=3)]
    corner: str | None = None
    columns: Annotated[list[MatrixColumn], Field(min_length=1)]
    rows: Annotated[list[MatrixRow], Field(min_length=1)]

    @model_validator(mode="after")
    def _paths(self) -> MatrixTable:
        for i, row in enumerate(self.rows):
            if len(row.path) > self.label_columns:
                raise ValueError(f"rows[{i}].path 有 {len(row.path)} 级，超过 label_columns（{self.label_columns}）")
        if self.label_columns + len(self.columns) < 2:
            raise ValueError("表格至少要有 2 列（本年度无此类事项的选择格与其说明需要位置）")
        if self.label_columns and not self.corner:
            raise ValueError("有行标签列（label_columns > 0）的表必须写 corner（左上角的说明文字）")
        return self


TableSpec = Annotated[BlocksTable | MatrixTable, Field(discriminator="layout")]


class RuleSpec(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Z0-9{}_-]+$")]
    title: str
    expr: str
    severity: Literal["error", "warning"]
    level: Literal["逻辑性", "合理性"]
    tolerance: Annotated[Decimal, Field(ge=0)]
    blank: Literal["zero", "undetermined"]
    basis: str = ""
    defines: str | None = None
    scope: Literal["local", "cross_year"] = "local"
    for_each: dict[str, Any] | list[dict[str, str]] | None = None

    @field_validator("for_each")
    @classmethod
    def _for_each(cls, v: Any) -> Any:
        if isinstance(v, dict):
            names = [k for k in v if k != "except"]
            if len(names) != 1 or not re.fullmatch(r"[a-z_]+\.(rows|columns)", str(v[names[0]])):
                raise ValueError("for_each 应写成 {变量: 表.rows} 或 {变量: 表.columns}（可加 except: [键…]）")
            if not isinstance(v.get("except", []), list):
                raise ValueError("for_each.except 应为键的列表")
        return v


class Years(_Strict):
    first: Annotated[int, Field(ge=2000, le=2100)]
    last: Annotated[int | None, Field(ge=2000, le=2100)]


class ReportFigure(_Strict):
    what: Annotated[str, Field(min_length=1)]  # how a warning names the figure: 收到政府信息公开申请
    pattern: Annotated[str, Field(min_length=1)]  # a regular expression; group 1 is the number
    keys: Annotated[list[str], Field(min_length=1)]  # cells whose sum it must equal (`*` for one key segment)
    unit: str = "件"


class ReportSubsection(_Strict):
    name: Annotated[str, Field(min_length=1)]  # the narrative file's key: 主动公开
    heading: Annotated[str, Field(min_length=1)]  # （一）主动公开
    sentences: list[str] = []  # {cell.key}, {a+b}, {a.*.b}, {key|yoy}
    prompt: str = ""


class ReportOtherItem(_Strict):
    title: Annotated[str, Field(min_length=1)]
    fields: list[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]] = []
    text: str = ""
    none: str = ""
    none_when_zero: list[str] = []
    fixed: str = ""
    prompt: str = ""


class ReportUnitField(_Strict):
    key: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]
    label: Annotated[str, Field(min_length=1, max_length=60)]
    contact: bool = False
    hint: str = ""


_AreaKind = Annotated[str, Field(min_length=1, max_length=4)]
_Word = Annotated[str, Field(min_length=1, max_length=10)]


class ReportRegional(_Strict):
    """How a report speaking for a region (a roll-up, or 统计范围 本行政区域汇总) rewords the report section's texts."""

    region: _Word = "本地区"  # when the unit's name names no area
    areas: dict[_AreaKind, _Word] = {}  # 县 → 全县
    words: dict[Annotated[str, Field(min_length=1)], str] = {}  # phrase → its regional text, {region} for the word

    @field_validator("words")
    @classmethod
    def _only_region(cls, words: dict[str, str]) -> dict[str, str]:
        for phrase, text in words.items():
            left = text.replace("{region}", "")
            if "{" in left or "}" in left:
                raise ValueError(f"“{phrase}”的替换文字只能用 {{region}} 占位")
        return words


class ReportSpec(_Strict):
    """What the annual report (xltool report) says for this form version; every part has a default."""

    notice_title: str = ""
    overview_heading: str = ""
    overview_prompt: str = ""
    sections: list[ReportSubsection] = []
    problems_heading: str = ""
    problems_prompt: str = ""
    other_heading: str = ""
    other: list[ReportOtherItem] = []
    unit_fields: Annotated[list[ReportUnitField], Field(max_length=12)] = []
    figures: list[ReportFigure] = []
    regional: ReportRegional | None = None

    @model_validator(mode="after")
    def _unique(self) -> ReportSpec:
        for what, names in (
            ("sections", [s.name for s in self.sections]),
            ("unit_fields", [f.key for f in self.unit_fields]),
        ):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"report.{what} 中 {dup} 重复")
        return self


class FormSpec(_Strict):
    form: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    version: str
    name: str
    notice: str
    years: Years
    guide: Annotated[list[str], Field(min_length=1)]  # 填报须知, one numbered paragraph per item
    aliases: dict[str, str] = {}  # printed variants and known typos of labels -> the official label
    tables: Annotated[list[TableSpec], Field(min_length=1)]
    rules: list[RuleSpec]
    report: ReportSpec | None = None  # the annual report's sentences, 六 items, extra 填报说明 fields, prose figures

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("guide")
    @classmethod
    def _placeholders(cls, lines: list[str]) -> list[str]:
        for i, line in enumerate(lines):
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(line) if name is not None}
            except ValueError as exc:
                raise ValueError(f"guide[{i}] 的花括号写法有误（{exc}）") from None
            unknown = names - GUIDE_FIELDS
            if unknown:
                allowed = "、".join("{" + n + "}" for n in sorted(GUIDE_FIELDS))
                raise ValueError(f"guide[{i}] 含有未知占位符 {sorted(unknown)}（可用：{allowed}）")
        return lines

    @model_validator(mode="after")
    def _years(self) -> FormSpec:
        if self.years.last is not None and self.years.last < self.years.first:
            raise ValueError("years.last 早于 years.first")
        return self


# --- Chinese error reports -----------------------------------------------------------------------------------------


def validate(data: Any, file: str) -> FormSpec:
    """The validated form, or ValueError whose message lists every problem as `file: path 问题`."""
    if not isinstance(data, dict):
        raise ValueError(f"{file}: 表单文件的顶层应为映射（form、version、tables、rules …）")
    try:
        return FormSpec.model_validate(data)
    except ValidationError as exc:
        lines = [f"{file}: {_path(e['loc'], data)} {_text(e)}".replace(":  ", ": ") for e in exc.errors()]
        raise ValueError("\n".join(dict.fromkeys(lines))) from None


_TAGS = {"blocks", "matrix", "dict[str,any]", "list[dict[str,str]]"}


def _path(loc: tuple[Any, ...], data: dict) -> str:
    """`rules[3].severity`; a table or rule is also named by its id when it has one: `tables[2]（appeal）.layout`."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            items = data.get(loc[0]) if i == 1 else None
            if isinstance(items, list) and part < len(items) and isinstance(items[part], dict):
                named = items[part].get("id")
                out += f"（{named}）" if isinstance(named, str) else ""
        elif str(part).replace(" ", "").lower() in _TAGS and i and isinstance(loc[i - 1], int):
            continue  # the union member pydantic adds after a list index: not a place in the file
        elif str(part).startswith(("function-", "union[")):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _text(e: dict[str, Any]) -> str:
    kind, ctx, got = e["type"], e.get("ctx", {}), e.get("input")
    shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
    texts = {
        "missing": "缺失",
        "extra_forbidden": "是不认识的字段（拼写错误？）",
        "literal_error": f"取值 {shown} 无效，应为 {ctx.get('expected', '')}",
        "union_tag_invalid": f"取值 {ctx.get('tag', shown)!r} 无效，应为 {ctx.get('expected_tags', '')}",
        "union_tag_not_found": f"缺少 {ctx.get('discriminator', '')}".replace("'", ""),
        "string_type": f"应为文字，实际为 {shown}",
        "string_pattern_mismatch": f"取值 {shown} 的写法不符合要求（{ctx.get('pattern', '')}）",
        "string_too_long": f"过长（最多 {ctx.get('max_length')} 个字符）",
        "string_too_short": "不能为空",
        "too_short": f"至少应有 {ctx.get('min_length')} 项",
        "int_type": f"应为整数，实际为 {shown}",
        "int_parsing": f"应为整数，实际为 {shown}",
        "int_from_float": f"应为整数，实际为 {shown}",
        "decimal_parsing": f"应为数字，实际为 {shown}",
        "decimal_type": f"应为数字，实际为 {shown}",
        "greater_than_equal": f"应不小于 {ctx.get('ge')}，实际为 {shown}",
        "less_than_equal": f"应不大于 {ctx.get('le')}，实际为 {shown}",
        "list_type": f"应为列表，实际为 {shown}",
        "dict_type": f"应为映射（键: 值），实际为 {shown}",
        "model_type": f"应为映射（键: 值），实际为 {shown}",
        "model_attributes_type": f"应为映射（键: 值），实际为 {shown}",
    }
    if kind == "value_error":
        return str(ctx.get("error", e["msg"]))
    return texts.get(kind, e["msg"])
