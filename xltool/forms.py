"""Official form definitions: loaded from templates/*.yaml into one model that every other module compiles from.

A Form knows every input and total cell (key, label path, type, sheet position), every printed label with its merge
range, and every rule. Positions are computed here, once, from the declared layout, so the template writer and the
reader cannot disagree about where a cell is.
"""

from __future__ import annotations

import os
import re
import stat
import string
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

from xltool import labels
from xltool import rules as expr

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
class ReportSpec:
    notice_title: str = ""  # the notice's full title, 《…》; the preface names it with the notice number
    overview_heading: str = "一、总体情况"
    sections: tuple[ReportSection, ...] = DEFAULT_SECTIONS
    problems_heading: str = "五、存在的主要问题及改进情况"
    problems_prompt: str = "本年度政府信息公开工作存在的主要问题，以及上一年度报告所列问题的改进情况"
    other_heading: str = "六、其他需要报告的事项"
    other: tuple[ReportItem, ...] = ()
    unit_fields: tuple[UnitField, ...] = ()
    figures: tuple[Figure, ...] = DEFAULT_FIGURES


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


def col_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = string.ascii_uppercase[rem] + letters
    return letters


# --- loading and the registry ----------------------------------------------------------------------------------------

MAX_FORM_BYTES = 5 * 1024 * 1024  # a form file is a few tens of KB
ENTRY_POINT_GROUP = "xltool.forms"  # packages ship forms (e.g. a province's 地方补充表) through this group
OFFICIAL_FAMILY = "gov-info-disclosure"


def templates_dir() -> Path:
    """templates/ ships inside the package as data (see pyproject), with a fallback to the source checkout."""
    packaged = resources.files("xltool") / "forms_data"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "templates"


_extra: dict[Path, Form] = {}  # forms added at run time (`--form FILE.yaml`)
_plugin_errors: list[str] = []


def register_form_file(path: str | Path) -> Form:
    """Load a form file given by the user (`--form`) and make it known to every reader and writer."""
    path = Path(path).resolve()
    if path not in _extra:
        _extra[path] = load_form(path, origin="文件")
        all_forms.cache_clear()
    return _extra[path]


def registered_files() -> list[Path]:
    """The form files given with `--form` in this process (worker processes register them again)."""
    return list(_extra)


class WorkerForms(list):
    """What a worker process needs to know the forms of this one: the `--form` files (the list itself, what worker
    initializers register) and the plugin forms found here. Unpickled in a worker, it makes those plugin forms known
    there, so no worker scans the installed packages for entry points again (~30 ms each)."""

    def __init__(self, files: list[Path], plugins: tuple[tuple[Path, str, str], ...], errors: tuple[str, ...]):
        super().__init__(files)
        self.plugins, self.errors = plugins, errors

    def __reduce__(self):
        return (_unpickled_worker_forms, (list(self), self.plugins, self.errors))


def _unpickled_worker_forms(files: list[Path], plugins: tuple, errors: tuple) -> WorkerForms:
    known = WorkerForms(files, plugins, errors)
    _use_plugins(known)
    return known


def worker_forms() -> WorkerForms:
    """The forms a worker process should know (worker initializers get it: `register_worker_forms`, or as the list of
    `--form` files to register). Finds the plugin forms here, once, if not done yet."""
    _builtin_and_plugins()
    return WorkerForms(list(_extra), tuple(_plugin_files), tuple(_plugin_errors))


def register_worker_forms(known: WorkerForms | list[Path]) -> None:
    """Worker initializer: the parent's plugin forms and `--form` files (see WorkerForms; a plain list of files is
    taken too, and then the worker looks for plugins itself)."""
    if isinstance(known, WorkerForms):
        _use_plugins(known)
    for f in known:
        register_form_file(f)


_given_plugins: WorkerForms | None = None  # the parent's plugin forms, in a worker process
_plugin_files: list[tuple[Path, str, str]] = []  # (file, origin, entry point) of each plugin form loaded


def _use_plugins(known: WorkerForms) -> None:
    """Take the plugin forms the parent found (unless this process has looked for plugins itself already)."""
    global _given_plugins
    if _given_plugins is None and _builtin_and_plugins.cache_info().currsize == 0:
        _given_plugins = known


@cache
def _builtin_and_plugins() -> tuple[Form, ...]:
    forms = [load_form(p) for p in sorted(templates_dir().glob("*.yaml"))]
    forms += _plugin_forms()
    return tuple(forms)


def _plugin_forms() -> list[Form]:
    """Forms from installed packages: an entry point names a YAML file, a folder of them, or a callable giving those.

    A broken plugin does not stop xltool: its problem is kept for `xltool forms` to show. In a worker process, the
    plugin forms its parent found (WorkerForms) are loaded from their files instead.
    """
    _plugin_errors.clear()
    _plugin_files.clear()
    out: list[Form] = []
    if _given_plugins is not None:
        for f, origin, name in _given_plugins.plugins:
            try:
                out.append(load_form(f, origin=origin))
            except Exception as exc:  # changed since the parent read it: reported as the parent would have
                _plugin_errors.append(f"{origin}（{name}）：{exc}")
                continue
            _plugin_files.append((f, origin, name))
        _plugin_errors.extend(e for e in _given_plugins.errors if e not in _plugin_errors)
        return out
    if not _may_have_plugins():
        return out
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"插件 {ep.dist.name if ep.dist else ep.value}"
        try:
            target = ep.load()
            target = target() if callable(target) else target
            items = [target] if isinstance(target, (str, Path)) else list(target)
            for item in items:
                item = Path(str(item))
                files = sorted(item.glob("*.yaml")) if item.is_dir() else [item]
                for f in files:
                    out.append(load_form(f, origin=origin))
                    _plugin_files.append((f, origin, ep.name))
        except Exception as exc:  # any failure of third-party code is reported, never fatal
            _plugin_errors.append(f"{origin}（{ep.name}）：{exc}")
    return out


def _may_have_plugins() -> bool:
    """False when no installed package can declare an entry point in ENTRY_POINT_GROUP: every folder on sys.path that
    importlib.metadata would search was searched here (the `entry_points.txt` of each `*.dist-info` / `*.egg-info`),
    and none names the group. That is most installations, and it spares importing importlib.metadata and its scan of
    every installed package (~30 ms). True whenever in doubt (a zip on sys.path, another distribution finder), and
    when importlib.metadata is loaded already (a program, or a test, may have replaced `entry_points`): then it is
    asked, as always."""
    import sys
    from importlib.machinery import PathFinder

    if "importlib.metadata" in sys.modules:
        return True
    if any(f is not PathFinder and hasattr(f, "find_distributions") for f in sys.meta_path):
        return True
    group = ENTRY_POINT_GROUP.encode()
    for entry in sys.path:
        if not isinstance(entry, str):
            return True
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:  # a zip file: importlib.metadata looks inside
            return True
        except OSError:  # a missing folder (python311.zip) has no packages
            continue
        for name in names:
            if not name.lower().endswith(("dist-info", "egg-info")):
                continue
            try:
                with open(os.path.join(entry or ".", name, "entry_points.txt"), "rb") as fh:
                    if group in fh.read():
                        return True
            except (FileNotFoundError, NotADirectoryError):  # no entry points, or a PKG-INFO file
                continue
            except OSError:
                return True
    return False


def plugin_errors() -> list[str]:
    _builtin_and_plugins()
    return list(_plugin_errors)


@cache
def all_forms() -> tuple[Form, ...]:
    """Built-in forms, plugin forms and forms given with `--form`, oldest first; one form per id (later wins)."""
    by_id: dict[str, Form] = {}
    for f in (*_builtin_and_plugins(), *_extra.values()):
        by_id[f.id] = f
    return tuple(sorted(by_id.values(), key=lambda f: (f.first_year, f.id)))


def form_for_year(year: int, family: str = OFFICIAL_FAMILY) -> Form:
    """The newest version of `family` whose years cover `year`."""
    covering = [f for f in all_forms() if f.form == family and f.covers(year)]
    if covering:
        return max(covering, key=lambda f: f.first_year)
    raise FormError(f"没有适用于 {year} 年度的报告格式（2019 年起才有统一格式）")


def form_by_id(form_id: str) -> Form:
    for f in all_forms():
        if f.id == form_id:
            return f
    for f in all_forms():  # a bare version ("2021") names the official form of that version
        if f.version == form_id and f.form == OFFICIAL_FAMILY:
            return f
    raise FormError(f"未知的报告格式 {form_id!r}")


def load_form(path: Path, origin: str = "内置") -> Form:
    """Load and validate one form file; FormError names the file and the place of every problem."""
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FORM_BYTES:  # never a pipe, device or huge file
            raise FormError(f"{path.name}: 不是普通的表单文件（或大于 {MAX_FORM_BYTES // 1048576} MB）")
        raw = path.read_bytes()
    except OSError as exc:
        raise FormError(f"{path.name}: 无法读取表单文件（{exc.strerror or exc}）") from None
    cached = _cached_form(raw, path, origin)
    if cached is not None:
        labels.add_aliases(cached.aliases)  # what building the form registers beside it
        return cached
    import yaml  # imported here: a cached form needs neither YAML nor pydantic

    from xltool import formschema

    try:
        data = yaml.safe_load(raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"))  # as read_text gives
    except UnicodeDecodeError:
        raise FormError(f"{path.name}: 表单文件应为 UTF-8 编码") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise FormError(f"{path.name}: {where} YAML 语法错误（{getattr(exc, 'problem', None) or exc}）") from None
    try:
        spec = formschema.validate(data, path.name).model_dump(mode="python")
    except ValueError as exc:
        raise FormError(str(exc)) from None
    try:
        form = _build_form(spec, path, origin)
    except (KeyError, IndexError) as exc:
        raise FormError(f"{path.name}: 表单定义不一致（{exc}）") from None
    _cache_form(form, raw, origin)
    return form


# A validated built-in form is kept in the user's cache folder (xltool.system.cache_dir), so a command that reads one
# return does not parse YAML and validate it with pydantic every time (~0.2 s): keyed by the file's bytes and name,
# its origin, the Python and xltool versions, and the state of the modules that build forms (a changed module is a new
# key). Forms from plugins and --form files are built each time (they come and go; the cache would only grow).
# Anything wrong with the cache (unwritable, corrupt, another class) is ignored and the form built as usual.
_BUILDERS = ("forms.py", "formschema.py", "rules.py", "labels.py")


def _cache_file(raw: bytes, path: Path, origin: str) -> Path | None:
    import hashlib
    import sys

    from xltool._version import __version__
    from xltool.system import cache_dir

    folder = cache_dir()
    if folder is None or path.parent != templates_dir():
        return None
    key = hashlib.sha256(raw)
    here = Path(__file__).parent
    for part in (str(path), origin, sys.version, __version__):
        key.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    for name in _BUILDERS:
        info = os.stat(here / name)
        key.update(f"\0{name}:{info.st_mtime_ns}:{info.st_size}".encode())
    return Path(folder) / "forms" / f"{key.hexdigest()}.pickle"


def _cached_form(raw: bytes, path: Path, origin: str) -> Form | None:
    import pickle

    try:
        file = _cache_file(raw, path, origin)
        if file is None:
            return None
        with open(file, "rb") as fh:
            form = pickle.load(fh)
    except Exception:  # no cache yet, or one that cannot be used: build the form
        return None
    return form if isinstance(form, Form) else None


def _cache_form(form: Form, raw: bytes, origin: str) -> None:
    import pickle
    import tempfile

    try:
        file = _cache_file(raw, form.path, origin)
        if file is None:
            return
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(form, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, file)  # whole or not at all, even with several processes writing at once
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
    except Exception:  # a cache that cannot be written (read-only home, disk full) only costs time
        return


def _build_form(data: dict, path: Path, origin: str) -> Form:
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
        sections=tuple(sections) or defaults.sections,
        problems_heading=data.get("problems_heading") or defaults.problems_heading,
        problems_prompt=data.get("problems_prompt") or defaults.problems_prompt,
        other_heading=data.get("other_heading") or defaults.other_heading,
        other=tuple(items),
        unit_fields=fields,
        figures=tuple(figures) or defaults.figures,
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


PREV = "prev."  # prefix of last year's cells in cross-year rules


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
