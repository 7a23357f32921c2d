"""The short ways through assembling and checking a return give exactly what the straightforward code gives.

Each short way (numbers read through a memo of floats already read, merges and hidden columns known to be harmless
remembered, a container's member names looked at once, table states counted in one pass, the compiled rules' sums
over slices, passing rules not looked at) is compared with a plain reference: the code as it was before the short way
(kept here), or the general path of the reader and the tree walk of the checker.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fillings import form_years, random_return
from tests.test_fast_reading import KINDS
from tests.test_fast_reading import _edit as edit_of
from xltool import formdata, layout
from xltool import rules as expr
from xltool.check import check_return
from xltool.codes import Code
from xltool.formats.page import Page, SheetFacts
from xltool.formats.page import at as _at
from xltool.formdata import shape as _shape
from xltool.forms import Table, form_for_year
from xltool.forms import a1 as _a1
from xltool.model import Invalid, Return
from xltool.problems import Problem
from xltool.reading import assemble, integrity, read_page, sheets
from xltool.template import write_xlsx
from xltool.values import normalize

# --- the reference code: each function as it was before its short way ------------------------------------------


def _reference_read_inputs(grid, ret: Return, table: Table, problems: list[Problem]) -> None:
    values, rows = ret.values, len(grid)
    for cell in (c for c in table.cells if c.is_input):
        r, c = cell.row, cell.col
        line = grid[r] if r < rows else ()
        raw = line[c] if c < len(line) else None
        if raw is None or raw == "":
            continue
        value, note = normalize(raw, cell.type)
        if value is None:
            continue
        values[cell.key] = value
        if note and not isinstance(value, Invalid):
            problems.append(
                Problem.of(
                    Code.VALUE_NORMALISED,
                    f"{cell.label}：{note}",
                    sheet=table.sheet,
                    cell=cell.a1,
                    values={"raw": str(raw)},
                )
            )


def _reference_tampering(page: Page, form, meta: dict[str, str], found: list[Problem]) -> list[Problem]:
    out: list[Problem] = []
    facts = page.structure or {}
    moved = {p.sheet for p in found if p.code in (Code.ROWS_MOVED, Code.SHEET_RENAMED)}
    for table in form.tables:
        f = facts.get(table.sheet)
        if f is None or table.sheet in moved:
            continue
        shape = _shape(table)
        inputs = shape.input_cells
        hidden = (
            [c for c in inputs if c.row in f.hidden_rows or c.col in f.hidden_cols]
            if f.hidden_rows or f.hidden_cols
            else []
        )
        if hidden:
            out.append(
                Problem.of(
                    Code.HIDDEN_CELLS,
                    f"{table.sheet} 有 {len(hidden)} 个填报格所在的行或列被隐藏（如 {hidden[0].a1}）；请取消隐藏并核对数字",
                    sheet=table.sheet,
                    cell=hidden[0].a1,
                )
            )
        own, (top, left, bottom, right) = shape.own_merges, shape.input_box
        merged = [
            (m, c)
            for m in f.merges
            if m not in own and m[0] <= bottom and m[2] >= top and m[1] <= right and m[3] >= left
            for c in inputs
            if m[0] <= c.row <= m[2] and m[1] <= c.col <= m[3] and (m[0], m[1]) != (m[2], m[3])
        ]
        if merged:
            (r0, c0, r1, c1), cell = merged[0]
            out.append(
                Problem.of(
                    Code.MERGED_INPUT,
                    f"{table.sheet} 的填报格被合并（{_a1(r0, c0)}:{_a1(r1, c1)}，含 {cell.a1}），合并区域中的数字可能被遮住；"
                    "请取消合并，使用原模板填报",
                    sheet=table.sheet,
                    cell=cell.a1,
                )
            )
    expected = {layout.GUIDE_SHEET, layout.CHECK_SHEET, layout.META_SHEET, *(t.sheet for t in form.tables)}
    if meta.get("kind") == layout.ROLLUP_KIND:
        expected |= set(layout.ROLLUP_SHEETS)
    if meta.get("printed_sheet") == layout.PRINTED_SHEET:
        expected |= {layout.IMPORT_NOTES_SHEET, layout.PRINTED_SHEET}
    renamed = {p.sheet for p in found if p.code == Code.SHEET_RENAMED}
    added = [n for n in page.sheet_names if n not in expected and n not in renamed]
    if added:
        out.append(
            Problem.of(Code.SHEET_ADDED, f"增加了模板中没有的工作表：{'、'.join(added[:5])}；请删除", sheet=added[0])
        )
    if layout.CHECK_SHEET not in page.sheet_names:
        out.append(Problem.of(Code.SHEET_MISSING, f"“{layout.CHECK_SHEET}”工作表被删除；请使用原模板填报"))
    if page.sheet_states.get(layout.META_SHEET, "hidden") == "visible":
        out.append(
            Problem.of(
                Code.META_VISIBLE,
                f"隐藏的“{layout.META_SHEET}”工作表被取消隐藏；请使用原模板填报",
                sheet=layout.META_SHEET,
            )
        )
    return out


def _reference_parts(parts: set[str]) -> list[Problem]:
    """The part of `untrusted_content` that looks at the container's member names."""
    out = []
    links = sorted(p for p in parts if p.startswith("xl/externalLinks/") and p.endswith(".xml"))
    if links or "xl/connections.xml" in parts:
        what = "、".join(
            filter(
                None, [f"{len(links)} 个外部链接" if links else "", "数据连接" if "xl/connections.xml" in parts else ""]
            )
        )
        out.append(
            Problem.of(
                Code.EXTERNAL_LINK, f"工作簿含有{what}（指向其他文件或网络），其内容一律不采用；请断开链接后重新保存"
            )
        )
    if any(p.lower().endswith("vbaproject.bin") or p.startswith(("Basic/", "Scripts/")) for p in parts):
        out.append(
            Problem.of(Code.MACROS, "工作簿含有宏（VBA/脚本），xltool 不会运行它；请另存为不含宏的 .xlsx 后报送")
        )
    if any(p.startswith(("xl/activeX/", "xl/embeddings/", "Object ")) for p in parts):
        out.append(Problem.of(Code.EMBEDDED_OBJECTS, "工作簿含有控件或嵌入对象，已忽略；请删除后重新保存"))
    return out


def _reference_guide(page: Page, ret: Return, problems: list[Problem]) -> None:
    """`_read_guide` before its short way, reading each field with `_at`."""
    from xltool.model import Unit

    if layout.GUIDE_SHEET not in page.sheet_names:
        problems.append(Problem.of(Code.GUIDE_MISSING, "没有“填报说明”表，无法读取填报单位等信息"))
        return
    grid = page.sheet(layout.GUIDE_SHEET)
    formulas = sheets._facts(page, layout.GUIDE_SHEET).formulas
    fields = {}
    for name, label, row in layout.UNIT_FIELDS:
        where = f"B{row + 1}"
        if where in formulas:
            problems.append(
                Problem.of(
                    Code.FORMULA_IN_INPUT,
                    f"“{label}”栏是公式“={formulas[where][:200]}”，不是填写的文字，未读取；请直接填写",
                    sheet=layout.GUIDE_SHEET,
                    cell=where,
                )
            )
            fields[name] = ""
            continue
        v = _at(grid, row, 1)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = "" if v is None else str(v).strip()
        if len(text) > sheets.MAX_FIELD:
            problems.append(
                Problem.of(
                    Code.TEXT_TRUNCATED,
                    f"“{label}”栏有 {len(text)} 个字符，远超正常长度，只读取前 {sheets.MAX_FIELD} 个；请核对",
                    sheet=layout.GUIDE_SHEET,
                    cell=where,
                )
            )
            text = text[: sheets.MAX_FIELD]
        fields[name] = text
    extra: dict[str, str] = {}
    for key, label, row, _ in layout.extra_fields(ret.form):
        if sheets.norm(str(_at(grid, row, 0) or "")) != sheets.norm(label) or f"B{row + 1}" in formulas:
            continue
        v = _at(grid, row, 1)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = "" if v is None else str(v).strip()[: sheets.MAX_FIELD]
        if text:
            extra[key] = text
    ret.unit = Unit(**fields, extra=extra)
    if not ret.unit.name:
        problems.append(
            Problem.of(
                Code.UNIT_MISSING,
                "“填报说明”中未填写填报单位",
                sheet=layout.GUIDE_SHEET,
                cell=f"B{layout.UNIT_FIELDS[0][2] + 1}",
            )
        )


def _reference_explanations(page: Page, ret: Return, problems: list[Problem]) -> None:
    if layout.CHECK_SHEET not in page.sheet_names:
        return
    warnings = {r.id for r in ret.form.rules if r.severity == "warning"}
    formulas = sheets._facts(page, layout.CHECK_SHEET).formulas
    for r, row in page.columns(layout.CHECK_SHEET, (layout.COL_NOTE, layout.COL_ID)).items():
        if row.get(layout.COL_ID) in warnings:
            where = _a1(r, layout.COL_NOTE)
            if where in formulas:
                problems.append(
                    Problem.of(
                        Code.FORMULA_IN_INPUT,
                        f"说明栏是公式“={formulas[where][:200]}”，不是填写的说明，未采用；请直接填写文字",
                        sheet=layout.CHECK_SHEET,
                        cell=where,
                    )
                )
                continue
            note = row.get(layout.COL_NOTE)
            if isinstance(note, str) and note.strip():
                ret.explanations[row[layout.COL_ID]] = note.strip()[:2000]


# --- comparing -----------------------------------------------------------------------------------------------------


def _exact(v: object) -> object:
    """Decimals by their text (1 and 1.0, 0 and -0 differ), anything else as it is."""
    return (type(v).__name__, str(v)) if isinstance(v, Decimal) else (type(v).__name__, repr(v))


def _problems(problems: list[Problem]) -> list[tuple]:
    return [(p.severity, p.code, p.message, p.sheet, p.cell, repr(p.values), p.outcome) for p in problems]


def _snapshot(ret: Return) -> tuple:
    return (
        ret.form.id,
        ret.year,
        [(k, _exact(v)) for k, v in ret.values.items()],
        _problems(ret.read_problems),
        _problems(ret.check()),
        sorted(ret.no_items),
        vars(ret.unit),
        list(ret.explanations.items()),
        sorted(ret.prefilled),
        ret.meta,
        ret.not_filled,
        [(t.id, ret.table_state(t.id)) for t in ret.form.tables],
    )


def _reference_snapshot(ret: Return) -> tuple:
    snap = list(_snapshot(ret))
    snap[4] = _problems(check_return(ret, reference=True))
    return tuple(snap)


# --- numbers read from a table's input cells ------------------------------------------------------------------------

RAWS = [
    0.0,
    -0.0,
    1.0,
    5.0,
    17.0,
    999.0,
    1000.0,
    123456.0,
    999999999.0,
    1e9,
    5e10,
    2.5,
    0.0001,
    12.3456,
    12.34567,
    -3.0,
    -0.5,
    math.nan,
    math.inf,
    -math.inf,
    0,
    7,
    -2,
    10**12,
    True,
    False,
    "",
    None,
    " 0",
    "１２",
    "1,234",
    "无",
    "-",
    ".0",
    "5",
    "5.0",
    "  ",
    "abc",
    Decimal("3"),
    Decimal("-0"),
    dt.date(2025, 1, 1),
]


def _grid_for(table: Table, rng: random.Random) -> list[list[object]]:
    """A grid with the table's cells filled from RAWS (floats mostly), some rows cut short, maybe the last rows gone."""
    height = max(c.row for c in table.cells) + 2
    width = max(c.col for c in table.cells) + 2
    grid: list[list[object]] = [["" for _ in range(width)] for _ in range(height)]
    for cell in table.cells:
        grid[cell.row][cell.col] = (
            rng.choice(RAWS) if rng.random() < 0.3 else float(rng.choice([0, 0, 0, 1, 2, 3, 10, 250, 1001]))
        )
    for _ in range(rng.randint(0, 3)):
        r = rng.randrange(height)
        grid[r] = grid[r][: rng.randrange(width)]
    if rng.random() < 0.2:
        grid = grid[: rng.randrange(height)]
    return grid


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), year=st.sampled_from(form_years()))
def test_input_cells_read_as_the_reference_reads_them(seed, year):
    rng = random.Random(seed)
    form = form_for_year(year)
    for table in form.tables:
        grid = _grid_for(table, rng)
        for _ in range(2):  # the second time through the floats' memo
            fast, slow = Return(form, year), Return(form, year)
            fast_problems: list[Problem] = []
            slow_problems: list[Problem] = []
            sheets._read_inputs(grid, fast, _shape(table), fast_problems)
            _reference_read_inputs(grid, slow, table, slow_problems)
            assert [(k, _exact(v)) for k, v in fast.values.items()] == [(k, _exact(v)) for k, v in slow.values.items()]
            assert _problems(fast_problems) == _problems(slow_problems)


def test_negative_zero_is_not_read_as_zero():
    """-0.0 == 0.0 and they hash alike, but `normalize` keeps the sign: the memo of floats must not mix them."""
    form = form_for_year(2025)
    table = form.tables[1]
    cell = next(c for c in table.cells if c.is_input and c.type.name == "count")
    for raw in (0.0, -0.0, 0.0, -0.0):
        grid = [["" for _ in range(cell.col + 1)] for _ in range(cell.row + 1)]
        grid[cell.row][cell.col] = raw
        ret = Return(form, 2025)
        sheets._read_inputs(grid, ret, _shape(table), [])
        assert str(ret.values[cell.key]) == str(normalize(raw, cell.type)[0])


# --- merged and hidden cells, a container's members -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), year=st.sampled_from(form_years()))
def test_merged_and_hidden_inputs_found_as_the_reference_finds_them(seed, year):
    rng = random.Random(seed)
    form = form_for_year(year)
    names = [layout.GUIDE_SHEET, *(t.sheet for t in form.tables), layout.CHECK_SHEET, layout.META_SHEET]
    if rng.random() < 0.2:
        names.append("另加的表")
    if rng.random() < 0.1:
        names.remove(layout.CHECK_SHEET)
    structure = {}
    for table in form.tables:
        shape = _shape(table)
        own = sorted(shape.own_merges)
        merges = rng.sample(own, rng.randint(0, len(own)))
        for _ in range(rng.choice([0, 0, 1, 3])):
            r, c = rng.randrange(30), rng.randrange(12)
            merges.append((r, c, r + rng.choice([0, 0, 1, 2]), c + rng.choice([0, 1, 3])))
        rng.shuffle(merges)
        structure[table.sheet] = SheetFacts(
            hidden_rows={rng.randrange(40) for _ in range(rng.choice([0, 0, 1, 3]))},
            hidden_cols={rng.randrange(20) for _ in range(rng.choice([0, 0, 2, 6]))},
            merges=merges,
        )
    page = Page(
        Path("x.xlsx"),
        "xlsx",
        "spreadsheet",
        names,
        structure=structure,
        sheet_states={layout.META_SHEET: rng.choice(["hidden", "visible"])},
    )
    found = [Problem.of(Code.ROWS_MOVED, "", sheet=form.tables[0].sheet)] if rng.random() < 0.2 else []
    meta = {"kind": rng.choice(["template", layout.ROLLUP_KIND])}
    for _ in range(2):  # the second time with the merges found harmless remembered
        assert _problems(integrity.tampering(page, form, meta, found)) == _problems(
            _reference_tampering(page, form, meta, found)
        )


MEMBERS = [
    "xl/workbook.xml",
    "xl/worksheets/sheet1.xml",
    "xl/externalLinks/externalLink1.xml",
    "xl/externalLinks/externalLink2.xml",
    "xl/externalLinks/_rels/externalLink1.xml.rels",
    "xl/connections.xml",
    "xl/vbaProject.bin",
    "xl/VBAPROJECT.BIN",
    "Basic/Standard/Module1.xml",
    "Scripts/python/x.py",
    "xl/activeX/activeX1.xml",
    "xl/embeddings/oleObject1.bin",
    "Object 1/content.xml",
]


@settings(max_examples=200, deadline=None)
@given(parts=st.sets(st.sampled_from(MEMBERS)))
def test_container_members_judged_as_the_reference_judges_them(parts):
    page = Page(Path("x.xlsx"), "xlsx", "spreadsheet", [], structure={}, parts=parts)
    for _ in range(2):
        assert _problems(integrity.untrusted_content(page)) == _problems(_reference_parts(parts))


def test_many_container_members_judged_and_not_remembered():
    parts = {f"xl/media/image{i}.png" for i in range(300)} | {"xl/externalLinks/externalLink1.xml", "xl/vbaProject.bin"}
    page = Page(Path("x.xlsx"), "xlsx", "spreadsheet", [], structure={}, parts=parts)
    for _ in range(2):
        assert _problems(integrity.untrusted_content(page)) == _problems(_reference_parts(parts))
    assert frozenset(parts) not in integrity._PARTS


# --- table states ---------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), year=st.sampled_from(form_years()))
def test_table_states_in_one_pass_as_one_by_one(seed, year):
    rng = random.Random(seed)
    form = form_for_year(year)
    ret = random_return(form, year, rng, blanks=rng.choice([0, 3, 40]))
    for table in form.tables:
        if rng.random() < 0.4:
            for c in table.cells:
                ret.values.pop(c.key, None)
        if rng.random() < 0.2:
            ret.no_items.add(table.id)
    if rng.random() < 0.3:
        ret.prefilled = {c.key for c in rng.sample(form.inputs, 5)}
    states = ret.table_states()
    assert list(states) == [t.id for t in form.tables]
    assert states == {t.id: ret.table_state(t.id) for t in form.tables}
    assert ret.not_filled == all(s.status.value == "not_filled" for s in states.values())


# --- the compiled rules' sums ---------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.sampled_from(
            [Decimal(0), Decimal("-0"), Decimal(1), Decimal("2.50"), Decimal("1E+1"), Decimal(7), expr.UNUSABLE]
        ),
        min_size=9,
        max_size=9,
    ),
    given_total=st.booleans(),
)
def test_sums_over_slices_and_totals_computed_once_are_exact(values, given_total):
    """sum() over a row or a column of slots, and a total compared with its own formula, give the Decimals (text
    included: 0 and -0, 1E+1 and 10) that walking the rule trees gives."""
    keys = [f"t.r{r}.c{c}" for r in range(3) for c in range(3)] + ["t.total.c0", "t.total.all"]
    slots = {k: i for i, k in enumerate(keys)}
    column = expr.parse("sum(t.r0.c0, t.r1.c0, t.r2.c0)", keys)
    everything = expr.parse("sum(t.r0.*, t.r1.*, t.r2.*)", keys)
    tests = [
        (expr.Compare("==", expr.Ref("t.total.c0"), column), Decimal(0)),
        (expr.Compare("<=", expr.Ref("t.total.all"), everything), Decimal(0)),
        (expr.parse("t.r0.c0 - t.r0.c1 >= t.r0.c2", keys), Decimal("0.5")),
    ]
    run = expr.compile_evaluator(slots, [("t.total.c0", column), ("t.total.all", everything)], tests)
    typed = Decimal(3) if given_total else None
    got = run([*values, typed, None])
    memo = dict(zip(keys, [*values, typed, None], strict=True))

    def value(key: str):
        if memo.get(key) is None:
            memo[key] = expr.evaluate(column if key == "t.total.c0" else everything, value)
        return memo[key]

    for (node, tol), (left, right, holds) in zip(tests, got, strict=True):
        want_left, want_right = expr.evaluate(node.left, value), expr.evaluate(node.right, value)
        assert _exact(left) == _exact(want_left) and _exact(right) == _exact(want_right)
        if expr.UNUSABLE in (want_left, want_right):
            assert holds is None
        else:
            assert holds == expr.evaluate(node, value, tol)


# --- whole workbooks ----------------------------------------------------------------------------------------------


def _reference_reading(monkeypatch) -> None:
    """The general reader and the reference code in place of every short way."""
    monkeypatch.setattr(formdata.Shape, "untouched", lambda self, formulas, errors: False)
    monkeypatch.setattr(sheets, "_labels_intact", lambda grid, labels: False)
    monkeypatch.setattr(integrity, "tampering", _reference_tampering)
    monkeypatch.setattr(sheets, "_read_guide", _reference_guide)
    monkeypatch.setattr(sheets, "_read_explanations", _reference_explanations)


# the reading test's edits (one more unedited return of any form), and two of the fields only assemble reads
EDITS = ["none", *KINDS, "guide", "note_formula"]


def _edit(wb, form, kind: str, rng: random.Random) -> None:
    if kind == "guide":
        guide = wb[layout.GUIDE_SHEET]
        guide["B5"] = 12345.0
        guide["B6"] = "  本机关  "
        guide["B7"] = "=A1"
        guide["B8"] = "x" * 300
        guide["B10"] = "  某路 1 号 "  # the optional fields below the unit's: one read, one under an edited label
        guide["A11"] = "邮政编码（改）"
        guide["B11"] = "100000"
        guide["B12"] = 3.0
        guide["B13"] = "=1+1"
    elif kind == "note_formula":
        check = wb[layout.CHECK_SHEET]
        for row in check.iter_rows(min_col=layout.COL_ID + 1, max_col=layout.COL_ID + 1):
            if row[0].value in {r.id for r in form.rules if r.severity == "warning"}:
                check.cell(row[0].row, layout.COL_NOTE + 1).value = "=B2"
                break
    elif kind == "label":
        lb = rng.choice([lb for t in form.tables for lb in t.labels if lb.kind == "row"])
        wb[lb.sheet].cell(lb.first_row + 1, lb.first_col + 1).value = lb.text + "（改）"
    elif kind != "none":
        edit_of(kind, rng)(wb)


@pytest.mark.parametrize("seed", range(34))
def test_workbooks_read_and_checked_as_the_reference_does(seed, tmp_path, monkeypatch):
    rng = random.Random(seed)
    kind = EDITS[seed % len(EDITS)]  # the edits are written for the 2025 form; unedited returns of every form
    year = 2025 if kind != "none" else rng.choice(form_years())
    form = form_for_year(year)
    ret = random_return(
        form,
        year,
        rng,
        broken=rng.choice([0, 0, 1, 4]),
        blanks=rng.choice([0, 0, 3, 40]),
        texts=rng.choice([0, 0, 2]),
        explain=rng.random() < 0.5,
    )
    if seed % 5 == 4:  # a wholly blank table
        for c in rng.choice(form.tables).cells:
            ret.values.pop(c.key, None)
    if seed == len(EDITS) + 1:  # nothing filled: 未填报
        ret.values.clear()
    path = write_xlsx(ret, tmp_path / "r.xlsx")
    if kind != "none":
        wb = openpyxl.load_workbook(path)
        _edit(wb, form, kind, rng)
        wb.save(path)
    fast = [_snapshot(assemble(read_page(path))) for _ in range(2)]
    _reference_reading(monkeypatch)
    slow = _reference_snapshot(assemble(read_page(path)))
    assert fast[0] == slow and fast[1] == slow
