"""One reading pipeline: any file → a reader from xltool.formats → a Page → this module → a Return.

`read(path)` picks the reader (by content where it can tell, else by name), and `assemble(page)` turns the page into
a Return for a form: identifying the form and year (our workbook metadata, else the labels and the title), locating
each table (by position in an untouched template, by its labels otherwise), normalising values with notes, and
noting every structure fact that is not as the template left it (edited labels, moved rows, overwritten formulas,
removed protection). Values come from the input cells only; totals and checks are recomputed by the checker, never
taken from cached results — except that a published report's printed totals are kept, so its own arithmetic is checked.
"""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal
from math import copysign
from pathlib import Path

from xltool import formats, formdata, layout, prose
from xltool.codes import Code
from xltool.formats.page import Grid, Page, SheetFacts
from xltool.formats.text import NO_HEADER
from xltool.formdata import Shape
from xltool.forms import Cell, Form, FormError, Table, all_forms, col_letter, form_by_id, form_for_year
from xltool.labels import norm
from xltool.locate import Located, known_labels, locate
from xltool.memo import Memo
from xltool.model import Invalid, Return, Unit, Value
from xltool.problems import Problem
from xltool.sources import ReadError, sniff
from xltool.values import BLANKS, is_filled, normalize, value_like


def read(path: str | Path) -> Return:
    """Read one file (a filled return or a published report) into a Return; ReadError when it cannot be used."""
    return assemble(read_page(Path(path)))


def read_page(path: str | Path) -> Page:
    path = Path(path)
    reader = formats.reader_for(path)
    if reader is None:  # no reader by name or content: let the byte sniffer say what it is (or refuse it)
        kind = sniff(path).kind
        reader = next(r for r in formats.readers("spreadsheet") if r.name == kind)
    return reader.read(path)


def assemble(page: Page) -> Return:
    return _from_workbook(page) if page.kind == "spreadsheet" else _from_report(page)


def is_report(path: str | Path) -> bool:
    """True for a file the published-report readers take (by name, or by content under another name)."""
    reader = formats.reader_for(Path(path))
    return reader is not None and reader.kind == "report"


def form_year_mismatch(form: Form, year: int, what: str) -> Problem:
    """FORM-YEAR-MISMATCH: the form version does not apply to the year; `what` says what the file is and what to do."""
    right = next((f for f in all_forms() if f.form == form.form and f.covers(year)), None)
    expected = f"《{right.name}》（{right.notice}）" if right else "其他格式"
    return Problem.of(Code.FORM_YEAR_MISMATCH, f"{year} 年度应使用{expected}，{what}")


def _at(grid: Grid, r: int, c: int, blank_as_none: bool = True) -> object:
    """A cell's value, or None outside the grid (and, for spreadsheets, when it is empty)."""
    if r < len(grid) and c < len(grid[r]):
        v = grid[r][c]
        return None if (blank_as_none and v == "") else v
    return None


# --- spreadsheets ------------------------------------------------------------------------------------------------


def _from_workbook(page: Page) -> Return:
    problems: list[Problem] = []
    meta = _meta(page)
    if meta is not None:
        try:
            form = form_by_id(meta.get("form_id", ""))
        except FormError:
            raise ReadError(
                Code.WRONG_FORM, f"不是政府信息公开年报统计表（模板标识为 {meta.get('form_id')!r}）"
            ) from None
        year = _year(meta.get("year"))
        if year is None:
            problems.append(
                Problem.of(Code.YEAR_UNKNOWN, "元数据中的报告年度无法识别，请用 xltool template 重新生成模板")
            )
    else:
        form, year = _identify(page)
        problems.append(
            Problem.of(
                Code.LOCATED_BY_LABELS,
                f"此文件不是 xltool 模板（没有模板元数据），已按表格标签定位{form.table_names}；请核对读取结果",
            )
        )
    if year is not None and not form.covers(year):
        problems.append(
            form_year_mismatch(
                form, year, f"此文件是 {form.notice} 格式；请用 xltool template --year {year} 生成的模板重新填报"
            )
        )
    ret = Return(form, year if year is not None else 0, source=str(page.path), meta=meta or {})
    ret.prefilled = {k for k in (meta or {}).get("prefilled", "").split(",") if k in form.cell}
    for table in form.tables:
        _read_sheet_table(page, ret, table, templated=meta is not None, problems=problems)
    if meta is not None:
        _read_guide(page, ret, problems)
        _read_explanations(page, ret, problems)
        _printed_totals(page, ret, problems)
    problems += untrusted_content(page)
    if meta is not None:
        problems += tampering(page, form, meta, problems)
    ret.read_problems = problems
    return ret


# --- what the file carries besides values: untrusted content, tampering -------------------------------------------

MAX_LISTED = 10  # findings of one kind listed one by one; the rest are counted


def untrusted_content(page: Page) -> list[Problem]:
    """Formulas that reach outside, links, connections, macros, controls, objects, and cells far outside the tables."""
    out: list[Problem] = []
    facts = page.structure or {}
    unsafe = [(name, a1, text) for name, f in facts.items() for a1, text in f.unsafe]
    for name, a1, text in unsafe[:MAX_LISTED]:
        out.append(
            Problem.of(
                Code.UNSAFE_FORMULA,
                f"公式“={text[:200]}”引用其他文件或调用外部程序/网络（DDE、WEBSERVICE 等），不予信任；请删除该公式，直接填写数字",
                sheet=name,
                cell=a1,
                values={"formula": text[:200]},
            )
        )
    if len(unsafe) > MAX_LISTED:
        out.append(Problem.of(Code.UNSAFE_FORMULA, f"另有 {len(unsafe) - MAX_LISTED} 处不安全的公式未逐一列出"))
    links, connections, macros, objects = _container_parts(page.parts)
    if links or connections:
        what = "、".join(filter(None, [f"{links} 个外部链接" if links else "", "数据连接" if connections else ""]))
        out.append(
            Problem.of(
                Code.EXTERNAL_LINK, f"工作簿含有{what}（指向其他文件或网络），其内容一律不采用；请断开链接后重新保存"
            )
        )
    if macros:
        out.append(
            Problem.of(Code.MACROS, "工作簿含有宏（VBA/脚本），xltool 不会运行它；请另存为不含宏的 .xlsx 后报送")
        )
    embedded = [name for name, f in facts.items() if f.embedded]
    if embedded or objects:
        where = f"（{'、'.join(embedded)}）" if embedded else ""
        out.append(Problem.of(Code.EMBEDDED_OBJECTS, f"工作簿含有控件或嵌入对象{where}，已忽略；请删除后重新保存"))
    for name, f in facts.items():
        if f.stray:
            out.append(
                Problem.of(
                    Code.STRAY_CELLS,
                    f"{name} 在远离表格的位置有 {f.stray} 个单元格有内容（如 {'、'.join(f.stray_examples)}），未读取；请删除",
                    sheet=name,
                    cell=f.stray_examples[0] if f.stray_examples else None,
                    values={"count": f.stray, "examples": f.stray_examples},
                )
            )
    return out


_PARTS = Memo(256)  # a container's member names -> what they hold
_PARTS_NAMES = 100  # sets of at most this many names are remembered (a template has about 20; a hostile file not)


def _container_parts(parts: set[str]) -> tuple[int, bool, bool, bool]:
    """External links (how many), a data connection, macros, controls or embedded objects among a container's member
    names; remembered by the set of names (the files of one template have the same members)."""
    key = frozenset(parts)
    hit = _PARTS.get(key)
    if hit is None:
        hit = (
            sum(1 for p in key if p.startswith("xl/externalLinks/") and p.endswith(".xml")),
            "xl/connections.xml" in key,
            any(p.lower().endswith("vbaproject.bin") or p.startswith(("Basic/", "Scripts/")) for p in key),
            any(p.startswith(("xl/activeX/", "xl/embeddings/", "Object ")) for p in key),
        )
        if len(key) <= _PARTS_NAMES:
            _PARTS.keep(key, hit)
    return hit


def tampering(page: Page, form: Form, meta: dict[str, str], found: list[Problem]) -> list[Problem]:
    """Our own workbook changed where a township should not change it (hidden or merged input cells, sheets)."""
    out: list[Problem] = []
    facts = page.structure or {}
    moved = {p.sheet for p in found if p.code in (Code.ROWS_MOVED, Code.SHEET_RENAMED)}
    for table in form.tables:
        f = facts.get(table.sheet)
        if f is None or table.sheet in moved:
            continue
        shape = formdata.shape(table)
        inputs = shape.input_cells
        hidden = (
            [c for c in inputs if c.row in f.hidden_rows or c.col in f.hidden_cols]
            if (f.hidden_rows or f.hidden_cols)  # our template hides helper columns, next to no input
            and not (shape.input_rows.isdisjoint(f.hidden_rows) and shape.input_cols.isdisjoint(f.hidden_cols))
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
        merged = shape.merged_input(f.merges)
        if merged is not None:
            (r0, c0, r1, c1), cell = merged
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
        expected |= set(layout.ROLLUP_SHEETS)  # a roll-up's review sheets
    if meta.get("printed_sheet") == PRINTED_SHEET:
        expected |= {IMPORT_NOTES_SHEET, PRINTED_SHEET}  # a workbook imported from a report
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


# --- identification ---------------------------------------------------------------------------------------------


def _meta(page: Page) -> dict[str, str] | None:
    if layout.META_SHEET not in page.sheet_names:
        return None
    items = {}
    for row in page.sheet(layout.META_SHEET):
        if len(row) >= 2 and isinstance(row[0], str):
            value = row[1]
            # LibreOffice may turn "2025" into 2025.0 on save (engineering notes 6.10).
            items[row[0]] = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return items if items.get("generator") == "xltool" else None


def _year(value: object) -> int | None:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return year if 2000 <= year <= 2100 else None


_YEAR_TEXT = re.compile(r"(20\d\d)\s*年")


def _identify(page: Page) -> tuple[Form, int | None]:
    """Which form a file without metadata is: the one whose labels are found best; the year from titles or name."""
    best: tuple[int, Form] | None = None
    texts: list[str] = []
    for name in page.sheet_names:
        grid = page.sheet(name)
        texts.extend(str(v) for row in grid[:3] for v in row if isinstance(v, str))
    for form in all_forms():
        # Score: cells located, counting each table in the sheet where most of it is found.
        score = sum(max(len(locate(page.sheet(n), t).positions) for n in page.sheet_names) for t in form.tables)
        if best is None or score > best[0]:
            best = (score, form)
    if best is None or best[0] < 20:
        raise ReadError(Code.NOT_A_RETURN, "找不到年报统计表（任何一种已知表单的表格标签都没有找到）")
    years = [int(m) for t in [*texts, page.path.stem] for m in _YEAR_TEXT.findall(t)]
    years += [int(m) for m in re.findall(r"(20\d\d)", page.path.stem)]
    return best[1], (years[0] if years else None)


# --- tables -------------------------------------------------------------------------------------------------------


def _read_sheet_table(page: Page, ret: Return, table: Table, templated: bool, problems: list[Problem]) -> None:
    sheet = table.sheet if table.sheet in page.sheet_names else None
    positions: dict[str, tuple[int, int]] | None = None
    if templated and sheet is not None:
        grid = page.sheet(sheet)
        shape = formdata.shape(table)
        if _labels_intact(grid, shape.labels):
            positions, changed = shape.positions, []
        else:
            changed = [lb for lb in table.labels if _at(grid, lb.first_row, lb.first_col) != lb.text]
            located = locate(grid, table)
            moved = _moved(table, located)
            if located.positions and moved:
                problems.append(
                    Problem.of(
                        Code.ROWS_MOVED,
                        f"{table.title} 的行或列被插入、删除或移动（{moved}），已按标签重新定位；"
                        "请使用未改动的模板填报",
                        sheet=sheet,
                    )
                )
                positions = located.positions
                changed = [lb for lb in changed if norm(lb.text) not in {norm(v) for v in _texts(grid)}]
            else:
                positions = shape.positions
            for lb in changed[:10]:
                problems.append(
                    Problem.of(
                        Code.LABEL_CHANGED,
                        f"表格标签被修改：应为“{lb.text}”，实际为“{_at(grid, lb.first_row, lb.first_col) or '（空白）'}”",
                        sheet=sheet,
                        cell=_a1(lb.first_row, lb.first_col),
                    )
                )
    else:
        for name in ([sheet] if sheet else []) + [n for n in page.sheet_names if n != sheet]:
            located = locate(page.sheet(name), table)
            if len(located.positions) == len(table.cells):
                sheet, positions = name, located.positions
                break
        if positions is None:
            problems.append(
                Problem.of(Code.TABLE_NOT_FOUND, f"没有找到{table.title}（或表格不完整），此表按未填报处理")
            )
            return
        if templated:  # LibreOffice does not keep xlsx structure protection, so sheets can be renamed there
            problems.append(
                Problem.of(
                    Code.SHEET_RENAMED,
                    f"工作表“{table.sheet}”被改名为“{sheet}”，已按表格标签找到并读取",
                    sheet=sheet,
                )
            )
    grid = page.sheet(sheet)
    facts = (page.structure or {}).get(sheet)
    formulas, protected = (facts.formulas, facts.protected) if facts else (None, None)
    if templated and protected is False:
        problems.append(
            Problem.of(
                Code.PROTECTION_REMOVED,
                f"{table.sheet} 的工作表保护被取消，表格可能被改动；已逐格复核",
                sheet=sheet,
            )
        )
    if templated:
        flag_row, flag_col = layout.no_items_cell(table)
        if norm(_at(grid, flag_row, flag_col)) == layout.NO_ITEMS_YES:
            ret.no_items.add(table.id)
    shape = formdata.shape(table)
    if (
        templated
        and facts is not None
        and positions is shape.positions
        and shape.untouched(facts.formulas, facts.errors)
    ):
        _read_inputs(grid, ret, shape, problems)
        return
    for cell in table.cells:
        r, c = positions[cell.key]
        raw = _at(grid, r, c)
        where = _a1(r, c)
        if not cell.is_input:
            if not templated:
                if formulas is not None and where in formulas:
                    continue  # a total computed by the township's own formula: Python recomputes it
                value, _ = normalize(raw, cell.type)  # a typed total in an own copy: the rules check it
                if value is not None:
                    ret.values[cell.key] = value
            elif formulas is not None and where not in formulas:
                problems.append(
                    Problem.of(
                        Code.FORMULA_OVERWRITTEN,
                        f"{cell.label} 的合计公式被改成了数字（{raw!s}），已按填写的数字校验；请恢复公式或使用原模板",
                        sheet=sheet,
                        cell=where,
                    )
                )
                value, _ = normalize(raw, cell.type)
                if value is not None:
                    ret.values[cell.key] = value
            continue
        if facts is not None and where in facts.formulas:  # a formula where a number belongs: never its cached result
            ret.values[cell.key] = Invalid(f"={facts.formulas[where]}", "是公式", Code.FORMULA_IN_INPUT)
            continue
        if facts is not None and where in facts.errors:  # #DIV/0!, #REF!: parsers read these as blank
            ret.values[cell.key] = Invalid(facts.errors[where], "是错误值（公式或外部数据出错），不是数字")
            continue
        value, note = normalize(raw, cell.type)
        if value is None:
            continue
        ret.values[cell.key] = value
        if note and not isinstance(value, Invalid):
            problems.append(_normalised(cell, note, sheet, where, raw))


def _read_inputs(grid: Grid, ret: Return, shape: Shape, problems: list[Problem]) -> None:
    """The input cells of an untouched template table: what the general loop in `_read_sheet_table` does for them
    when no formula, error value or overwritten total is involved (totals are left to the checker).

    A number the sheet holds as a float is looked up in its cell type's memo of floats already read (the shape's memo): the
    same Decimal `normalize` gives, without calling it. Zero is looked up only with a plus sign (-0.0 == 0.0, but
    `normalize` keeps the sign), NaN never matches a key, and only floats are looked up (True == 1.0 is not a count).
    """
    values, rows = ret.values, len(grid)
    sheet = shape.table.sheet
    for r, last, memo, run in shape.input_runs:
        if r >= rows:
            continue  # every cell of the run is blank
        line = grid[r]
        if len(line) > last:  # the usual case: the row reaches every cell of the run
            get = memo.get
            for c, key, cell in run:
                raw = line[c]
                if raw.__class__ is float and (raw or copysign(1.0, raw) > 0.0):
                    value = get(raw)
                    if value is not None:
                        values[key] = value
                        continue
                _read_input(raw, key, cell, memo, values, sheet, problems)
        else:
            for c, key, cell in run:
                if c < len(line):
                    _read_input(line[c], key, cell, memo, values, sheet, problems)


def _read_input(
    raw: object, key: str, cell: Cell, memo: dict[float, Decimal], values: dict, sheet: str, problems: list[Problem]
) -> None:
    """One input cell of `_read_inputs` (its value not in the memo): normalised, the memo told, a note kept."""
    if raw.__class__ is float and (raw or copysign(1.0, raw) > 0.0):
        value = memo.get(raw)
        if value is not None:
            values[key] = value
            return
        value, note = normalize(raw, cell.type)
        if value.__class__ is Decimal and note is None and len(memo) < formdata.MEMO_MAX:
            memo[raw] = value
    elif raw is None or raw == "":
        return
    else:
        value, note = normalize(raw, cell.type)
    if value is None:
        return
    values[key] = value
    if note and not isinstance(value, Invalid):
        problems.append(_normalised(cell, note, sheet, cell.a1, raw))


def _normalised(cell: Cell, note: str, sheet: str, where: str, raw: object) -> Problem:
    """VALUE_NORMALISED: an entry read as a number after a change the township should see (全角, 千分位 …)."""
    return Problem.of(Code.VALUE_NORMALISED, f"{cell.label}：{note}", sheet=sheet, cell=where, values={"raw": str(raw)})


def _labels_intact(grid: Grid, labels: list[tuple[int, int, str]]) -> bool:
    """Every label of the table where the template put it, unchanged (the same test as `_at(...) != lb.text`)."""
    rows = len(grid)
    for r, c, text in labels:
        if r >= rows:
            return False
        line = grid[r]
        if c >= len(line) or line[c] != text or text == "":
            return False
    return True


def _moved(table: Table, located: Located) -> str:
    shifts = {
        (r - c.row, col - c.col) for c in table.cells if (pos := located.positions.get(c.key)) for r, col in [pos]
    }
    shifts.discard((0, 0))
    if not shifts:
        return ""
    rows = sorted({dr for dr, _ in shifts if dr})
    return f"行偏移 {', '.join(f'{d:+d}' for d in rows)}" if rows else "列被移动"


def _texts(grid: Grid) -> list[str]:
    return [v for row in grid for v in row if isinstance(v, str)]


def _a1(r: int, c: int) -> str:
    return f"{col_letter(c)}{r + 1}"


MAX_FIELD = 200  # characters of a 填报说明 field: the longest real unit name is under 60


def _read_guide(page: Page, ret: Return, problems: list[Problem]) -> None:
    if layout.GUIDE_SHEET not in page.sheet_names:
        problems.append(Problem.of(Code.GUIDE_MISSING, "没有“填报说明”表，无法读取填报单位等信息"))
        return
    grid = page.sheet(layout.GUIDE_SHEET)
    formulas = _facts(page, layout.GUIDE_SHEET).formulas
    fields = {}
    rows = len(grid)
    for name, label, row, where in _UNIT_CELLS:
        if where in formulas:  # a formula in a text field is never read (its cached text could be anything)
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
        line = grid[row] if row < rows else ()
        v = line[1] if len(line) > 1 else None  # _at(grid, row, 1)
        if v == "" or v is None:
            fields[name] = ""
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = v.strip() if v.__class__ is str else str(v).strip()
        if len(text) > MAX_FIELD:
            problems.append(
                Problem.of(
                    Code.TEXT_TRUNCATED,
                    f"“{label}”栏有 {len(text)} 个字符，远超正常长度，只读取前 {MAX_FIELD} 个；请核对",
                    sheet=layout.GUIDE_SHEET,
                    cell=where,
                )
            )
            text = text[:MAX_FIELD]
        fields[name] = text
    ret.unit = Unit(**fields, extra=_extra_fields(grid, formulas, ret))
    if not ret.unit.name:
        problems.append(
            Problem.of(
                Code.UNIT_MISSING,
                "“填报说明”中未填写填报单位",
                sheet=layout.GUIDE_SHEET,
                cell=f"B{layout.UNIT_FIELDS[0][2] + 1}",
            )
        )


_UNIT_CELLS = [(n, label, row, f"B{row + 1}") for n, label, row in layout.UNIT_FIELDS]  # with each value's cell


def _extra_fields(grid: Grid, formulas: dict[str, str], ret: Return) -> dict[str, str]:
    """The optional 填报说明 fields the form's report declares, found by their label in column A (a workbook made
    before the form declared them has none); formulas are never read."""
    out: dict[str, str] = {}
    rows = len(grid)
    for key, label, row, where in formdata.of(ret.form).extra_cells:
        line = grid[row] if row < rows else ()
        head = line[0] if line else None  # _at(grid, row, 0), whose "" is None: `or ""` makes both ""
        if norm(head if head.__class__ is str else str(head or "")) != norm(label) or where in formulas:
            continue
        v = line[1] if len(line) > 1 else None  # _at(grid, row, 1)
        if v is None or v == "":
            continue  # no text
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = str(v).strip()[:MAX_FIELD]
        if text:
            out[key] = text
    return out


def _read_explanations(page: Page, ret: Return, problems: list[Problem]) -> None:
    if layout.CHECK_SHEET not in page.sheet_names:
        return
    warnings = formdata.of(ret.form).warning_ids
    formulas = _facts(page, layout.CHECK_SHEET).formulas
    note_col, id_col = layout.COL_NOTE, layout.COL_ID
    letter = col_letter(note_col)
    for r, row in page.columns(layout.CHECK_SHEET, (note_col, id_col)).items():
        if row.get(id_col) not in warnings:
            continue
        where = f"{letter}{r + 1}"  # _a1(r, note_col)
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
        note = row.get(note_col)
        if isinstance(note, str) and note.strip():
            ret.explanations[row[id_col]] = note.strip()[:2000]


def _facts(page: Page, sheet: str) -> SheetFacts:
    return (page.structure or {}).get(sheet) or SheetFacts()


# --- published reports ---------------------------------------------------------------------------------------------

CELLS_META = "cells"  # a report's Return: every cell read, as JSON (table, row, column, key, value, printed, where)
IMPORT_NOTES_SHEET = "导入说明"  # an imported report's workbook (xltool.importing): what the import noted
PRINTED_SHEET = "原文数值"  # … and every number as the report printed it, totals included


def printed_rows(ret: Return) -> list[list[object]]:
    """The 原文数值 sheet: table, row, column, key, the number as printed (text, exact), 填报/合计."""
    rows: list[list[object]] = []
    for table in ret.form.tables:
        for cell in table.cells:
            if cell.key not in ret.values:
                continue
            v = ret.values[cell.key]
            text = v.raw if isinstance(v, Invalid) else format(v, "f")
            kind = "填报" if cell.is_input else "合计"
            rows.append([table.title, _row_name(table, cell.key), cell.label_path[-1], cell.key, text, kind])
    return rows


def _printed_totals(page: Page, ret: Return, problems: list[Problem]) -> None:
    """A workbook xltool wrote from a report: its printed totals come back from 原文数值, so the report's own
    arithmetic is checked again (the tables' total cells are formulas over the inputs)."""
    if ret.meta.get("printed_sheet") != PRINTED_SHEET or PRINTED_SHEET not in page.sheet_names:
        return
    grid = page.sheet(PRINTED_SHEET)
    header = [str(v) for v in (grid[0] if grid else [])]
    if "编号" not in header or "原文数值" not in header:
        return
    k, t = header.index("编号"), header.index("原文数值")
    kept = 0
    for r in range(1, len(grid)):
        key = str(_at(grid, r, k) or "")
        cell = ret.form.cell.get(key)
        if cell is None or cell.is_input:
            continue
        value, _ = normalize(str(_at(grid, r, t) or ""), cell.type)
        if value is not None:
            ret.values[key] = value
            kept += 1
    if kept:
        problems.append(
            Problem.of(
                Code.LOCATED_BY_LABELS,
                f"此工作簿由报告原文导入（{_KIND_TEXT.get(ret.meta.get('imported_from', ''), '报告')}）：{kept} 个合计按报告原文印的数值"
                f"（“{PRINTED_SHEET}”工作表）核对，不按公式重算",
            )
        )


_KIND_TEXT = {"text": "纯文本", "md": "Markdown", "html": "网页", "docx": "Word 文档", "pdf": "PDF"}
_TITLE = re.compile(r"(20\d\d)年度?(?:政府信息公开|政务公开)")
_TITLE_LATE_YEAR = re.compile(r"(?:政府信息公开|政务公开).*?(20\d\d)年")  # 政府信息公开工作年度报告（2022年度）


def _from_report(page: Page) -> Return:
    """A published report's tables; ReadError when none of them is there."""
    year, unit = _title(page.lines, page.path.stem)
    form = _choose_form(page.grid, year)
    problems = [
        Problem.of(
            Code.LOCATED_BY_LABELS,
            f"此文件是报告原文（{_KIND_TEXT.get(page.format, page.format)}），已按表格标签找到统计表并读取；请核对读取结果",
        )
    ]
    if year is None:
        problems.append(Problem.of(Code.YEAR_UNKNOWN, "无法从报告标题中识别报告年度；请核对标题是否写明“XXXX年”"))
    elif not form.covers(year):
        problems.append(
            form_year_mismatch(form, year, f"此报告的统计表是 {form.notice} 格式；请核对报告年度和表格格式")
        )
    if not unit:
        problems.append(Problem.of(Code.UNIT_MISSING, "无法从报告标题中识别报告单位；请核对标题"))
    ret = Return(form, year or 0, Unit(name=unit), source=str(page.path), meta={"source_format": page.format})
    found = [_read_report_table(page, table, ret, problems) for table in form.tables]
    supplied = sorted({w.split("（", 1)[0] for w in page.where.values() if w.endswith(NO_HEADER)})
    if supplied:
        problems.append(
            Problem.of(
                Code.LOCATED_BY_LABELS,
                f"{'、'.join(supplied)}：表格没有表头（或只有“数据1…”这样的通用表头），已按官方表头的列数和顺序读取；"
                "请核对各列是否与官方表格一致",
            )
        )
    if not any(found):
        raise ReadError(
            Code.NOT_A_REPORT,
            "没有找到年报统计表（任何一种已知表单的表格标签都没有找到）；请确认这是年度报告原文",
        )
    problems += _prose_figures(page, ret)
    problems += [Problem.of(Code.LOCATED_BY_LABELS, f"读取说明：{note}") for note in page.notes]
    ret.read_problems = problems
    return ret


def _prose_figures(page: Page, ret: Return) -> list[Problem]:
    """Figures quoted in the report's sentences compared with its tables (the form's `report.figures`, xltool.prose):
    a difference is a warning quoting both."""
    return [
        Problem.of(
            Code.IMPORT_PROSE_MISMATCH,
            f"第 {hit.line + 1} 行正文“{hit.quoted}”，统计表中{hit.what}为 {hit.table_text} {hit.unit}；请核对正文与统计表",
            values={
                "text": hit.quoted,
                "prose": _plain(hit.prose),
                "table": _plain(hit.table),
                "keys": list(hit.figure.keys),
            },
        )
        for hit in prose.quoted_figures(ret, page.lines)
    ]


_SENTENCE = re.compile(r"根据|按照|依据|依照|《|》|。|，|,|；|;|：|:|本年度|本报告|现将|特此|编制")
_TITLE_LABEL = re.compile(r"^(?:标题|题目|名称)[:：]")


def _title(lines: list[str], name: str = "") -> tuple[int | None, str]:
    """Year and unit from the title, e.g. 贺兰县立岗镇2022年政府信息公开工作年度报告 (the unit may be on the line before):
    a 标题： line, the page title or first heading, a title line; else the file name. A sentence that names the
    report (本年度报告根据《中华人民共和国政府信息公开条例》…编制) is never a title: its words are not the unit."""
    texts = [t for t in (re.sub(r"\s+", "", line).lstrip("#>*") for line in lines[:300]) if t][:40]
    texts = [_TITLE_LABEL.sub("", t) for t in texts]
    year, unit = _title_in(texts)
    if (year is None or not unit) and name:
        by_name = _title_in([re.sub(r"\s+", "", name)], need_report=False)
        year, unit = year if year is not None else by_name[0], unit or by_name[1]
    return year, unit


def _title_in(texts: list[str], need_report: bool = True) -> tuple[int | None, str]:
    for pattern in (_TITLE, _TITLE_LATE_YEAR):
        for i, t in enumerate(texts):
            m = pattern.search(t)
            if not m or (need_report and not re.search("报告|年报", "".join(texts[i : i + 2]))):
                continue
            unit = t[: min(m.start(), m.start(1))].strip("《》“”\"'")
            if _SENTENCE.search(unit) or len(unit) > 40:
                continue  # a sentence naming the report, not its title
            if not unit and i and len(texts[i - 1]) <= 30 and not re.search(r"\d", texts[i - 1]):
                unit = "" if _SENTENCE.search(texts[i - 1]) else texts[i - 1]
            return int(m.group(1)), unit
    return None, ""


def _choose_form(grid: Grid, year: int | None) -> Form:
    """The version whose own labels (those the other version lacks) appear most; ties go to the year's version."""
    texts = {norm(v) for row in grid for v in row if isinstance(v, str) and v.strip()}
    forms = all_forms()
    scores = {f.id: len((_labels(f) - set().union(*(_labels(g) for g in forms if g is not f))) & texts) for f in forms}
    best = max(scores.values())
    tied = [f for f in forms if scores[f.id] == best]
    if len(tied) > 1 and year is not None:
        try:
            by_year = form_for_year(year)
        except FormError:
            by_year = None
        if by_year in tied:
            return by_year
    return tied[-1]


def _labels(form: Form) -> set[str]:
    return {norm(lb.text) for t in form.tables for lb in t.labels}


def _read_report_table(page: Page, table: Table, ret: Return, problems: list[Problem]) -> bool:
    """Locate `table` in the page and put its values into `ret`; False when none of it is there."""
    name = f"表{table.number}（{table.title}）"
    located = locate(page.grid, table)
    if not located.positions:
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{name}：报告中没有找到此表（缺少{_quoted(located.missing)}），此表按未填报处理；请核对原报告",
                values={"table": table.number, "missing": located.missing},
            )
        )
        return False
    positions = _realigned(page, located.positions)
    used = set(positions.values())
    values: dict[str, Value | None] = {}
    for cell in table.cells:
        if cell.key in positions:
            values[cell.key] = _value(page, cell, positions[cell.key], name, problems)
    if table.layout == "blocks":
        used |= _sub_rows(page, table, positions, values, problems)
    if page.tails is not None:
        used |= _miscounted_rows(page, table, positions, values, name, problems)
    blank = [c for c in table.cells if c.key in positions and values.get(c.key) is None]
    if blank:
        where = _where(page, positions[blank[0].key])
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{where}：{name}有 {len(blank)} 格印为空白（如「{_row_name(table, blank[0].key)}」"
                f"{blank[0].label_path[-1]}），按空白处理，不按 0 计算，相关校验无法判断；请核对原报告",
                values={"table": table.number, "blank": [c.key for c in blank]},
            )
        )
        for c in blank:
            values[c.key] = Invalid("", "报告中此格为空白（没有印数字）")
    missing = [c for c in table.cells if c.key not in positions]
    if missing:
        labels = located.missing or sorted({" / ".join(c.label_path[:-1]) for c in missing})
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{name}不完整：没有找到{_quoted(labels)}（共 {len(missing)} 格），这些格按无法判断处理，"
                "不按 0 计算；请核对原报告是否被截断",
                values={"table": table.number, "missing": labels},
            )
        )
        for c in missing:
            values[c.key] = Invalid("", "报告中没有这一项（表格不完整）")
    ret.values.update({k: v for k, v in values.items() if v is not None})
    cells = json.loads(ret.meta.get(CELLS_META, "[]"))
    for cell in table.cells:
        if cell.key in positions:
            pos = positions[cell.key]
            raw = _at(page.grid, *pos, blank_as_none=False)
            cells.append(
                {
                    "table": table.title,
                    "row": _row_name(table, cell.key),
                    "column": cell.label_path[-1],
                    "key": cell.key,
                    "value": _plain(ret.values.get(cell.key))
                    if not isinstance(ret.values.get(cell.key), Invalid)
                    else None,
                    "printed": "" if raw is None else str(raw).strip(BLANKS),
                    "where": page.where.get(pos) or _where(page, pos),
                }
            )
    ret.meta[CELLS_META] = json.dumps(cells, ensure_ascii=False)
    _unplaced(page, table, used, name, problems)
    return True


def _realigned(page: Page, positions: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Word tables sometimes merge a data row differently from its header (spec §3.1: header 2 | 3–4 | 5, data
    2–3 | 4 | 5), hiding a column's position under the merge from its left: the value is then the one filled cell
    between that position and the table's next column."""
    out = dict(positions)
    columns: dict[int, list[int]] = {}
    for r, c in positions.values():
        columns.setdefault(r, []).append(c)
    for key, (r, c) in positions.items():
        if (r, c) not in page.covered:
            continue
        after = min((x for x in columns[r] if x > c), default=len(page.grid[r]))
        filled = [x for x in range(c + 1, after) if is_filled(page.grid[r][x])]
        if len(filled) == 1:
            out[key] = (r, filled[0])
    return out


def _value(page: Page, cell: Cell, pos: tuple[int, int], name: str, problems: list[Problem]) -> Value | None:
    raw = _at(page.grid, *pos, blank_as_none=False)
    text = raw.strip(BLANKS) if isinstance(raw, str) else raw  # padding around a number is layout
    text, unit_note = _unit(text, cell)
    value, note = normalize(text, cell.type)
    note = "；".join(filter(None, [unit_note, note])) or None
    if note and not isinstance(value, Invalid):
        problems.append(
            Problem.of(
                Code.VALUE_NORMALISED,
                f"{_where(page, pos)}：{name} {cell.label}：{note}",
                values={"raw": raw, "key": cell.key},
            )
        )
    return value


_WITH_UNIT = re.compile(r"^([+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+))\s*(万元|元|件|个|项|条)$")


def _unit(text: object, cell: Cell) -> tuple[object, str | None]:
    """A number printed with its unit: 万元 and 件/个/项/条 dropped, an amount in 元 turned into 万元 (the form's unit),
    each with a note; anything else unchanged (and read, or refused, as it is)."""
    if not isinstance(text, str):
        return text, None
    m = _WITH_UNIT.match(unicodedata.normalize("NFKC", text))
    if m is None:
        return text, None
    number, unit = m.group(1).replace(",", ""), m.group(2)
    amount = cell.type.name == "amount" and cell.type.unit == "万元"
    if unit == "元" and amount:
        wan = (Decimal(number) / 10000).normalize()
        return format(wan, "f"), f"“{text}”按 {format(wan, 'f')} 万元读取（原文单位为元，已换算为万元）"
    if (unit == "万元") == amount:
        return number, f"“{text}”去掉单位“{unit}”后读取"
    return text, None  # a unit the cell does not take: read as printed (and refused)


def _sub_rows(page: Page, table: Table, positions: dict, values: dict, problems: list[Problem]) -> set:
    """Table 二 rows split into local sub-rows (北京: 行政检查, 行政确认 under 其他对外管理服务事项): sum them, keep them."""
    grid, known, used = page.grid, known_labels(), set()
    rows: dict[str, list[Cell]] = {}
    for cell in table.cells:
        if cell.key in positions:
            rows.setdefault(cell.key.rsplit(".", 1)[0], []).append(cell)
    for cells in rows.values():
        label = cells[0].label_path[1]
        r = positions[cells[0].key][0]
        cols = [positions[c.key][1] for c in cells]
        first = min(cols)
        subs = [v for v in grid[r][:first] if is_filled(v) and norm(v) != norm(label) and not value_like(str(v))]
        if len(subs) != 1:
            continue
        parts = [(r, subs[0])]
        for rr in range(r + 1, len(grid)):
            left = [v for v in grid[rr][:first] if is_filled(v)]
            if (
                len(left) != 1
                or norm(left[0]) in known.labels
                or not any(is_filled(_at(grid, rr, c, blank_as_none=False)) for c in cols)
            ):
                break
            parts.append((rr, left[0]))
        extra: dict[str, list] = {}
        for rr, sub in parts:
            read = [
                normalize(_strip(_at(grid, rr, c, blank_as_none=False)), c_.type)[0]
                for c, c_ in zip(cols, cells, strict=True)
            ]
            extra[label + "/" + re.sub(r"\s+", "", sub)] = [_plain(v) for v in read]
            used.update((rr, c) for c in range(len(grid[rr])) if is_filled(grid[rr][c]))
            for c_, v in zip(cells, read, strict=True):
                values[c_.key] = _add(values.get(c_.key) if rr != r else None, v)
        names = "、".join(k.split("/", 1)[1] for k in extra)
        problems.append(
            Problem.of(
                Code.IMPORT_EXTRA_ROWS,
                f"{_where(page, (r, first))}：表{table.number}「{label}」分为 {len(extra)} 个细分行（{names}），"
                "已相加计入该行；细分行的数字见本条提示",
                values={"row": label, "columns": [c.label_path[-1] for c in cells], "rows": extra},
            )
        )
    return used


def _add(total: Value | None, v: Value | None) -> Value | None:
    if v is None:
        return total
    if total is None:
        return v
    if isinstance(total, Invalid) or isinstance(v, Invalid):
        raws = [x.raw if isinstance(x, Invalid) else _plain(x) for x in (total, v)]
        return Invalid(" + ".join(map(str, raws)), "细分行中有不是数字的内容，无法相加")
    return total + v


def _miscounted_rows(
    page: Page, table: Table, positions: dict, values: dict, name: str, problems: list[Problem]
) -> set:
    """Text rows with more or fewer numbers than columns: which number belongs where is unknown, so none is read."""
    assert page.tails is not None
    used: set = set()
    by_row: dict[int, list[str]] = {}
    for key, (r, _) in positions.items():
        by_row.setdefault(r, []).append(key)
    for r, keys in sorted(by_row.items()):
        got = page.tails.get(r, 0)
        if got == len(keys):
            continue
        texts = [str(v).strip(BLANKS) for v in page.grid[r] if is_filled(v)]
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{_where(page, (r, 0))}：{name}「{_row_name(table, keys[0])}」有 {got} 个数，"
                f"应有 {len(keys)} 个，无法确定各数所在的列，此行按无法判断处理；请核对原报告",
                values={"table": table.number, "texts": texts},
            )
        )
        for key in keys:
            values[key] = Invalid(" ".join(texts), "此行数字个数不对，无法确定所在的列")
        used.update((r, c) for c, v in enumerate(page.grid[r]) if is_filled(v))
    return used


def _row_name(table: Table, key: str) -> str:
    """The printed row label of a cell key, e.g. （四）无法提供 1.本机关不掌握相关政府信息."""
    if table.layout == "blocks":
        return next(c.label_path[1] for c in table.cells if c.key == key)
    paths = [p for rk, p in table.row_paths.items() if rk and key.startswith(f"{table.id}.{rk}.")]
    path = max(paths, key=len, default=())
    return " ".join(path[1:] or path) or "数据行"


def _unplaced(page: Page, table: Table, used: set, name: str, problems: list[Problem]) -> None:
    """Report every other non-empty cell between the table's first and last located rows, with its text."""
    rows = [r for r, _ in used]
    labels = {norm(lb.text) for lb in table.labels} | {norm(table.title)}
    for r in range(min(rows), min(max(rows) + 1, len(page.grid))):
        stray = [
            (c, v) for c, v in enumerate(page.grid[r]) if is_filled(v) and (r, c) not in used and norm(v) not in labels
        ]
        if stray:
            texts = [str(v).strip(BLANKS) for _, v in stray]
            problems.append(
                Problem.of(
                    Code.IMPORT_UNPLACED,
                    f"{_where(page, (r, stray[0][0]))}：{name}中的{_quoted(texts)}无法对应到表格的行和列，"
                    "未读入；请核对原报告",
                    values={"table": table.number, "texts": texts},
                )
            )


# --- small helpers --------------------------------------------------------------------------------------------------


def _strip(v: object) -> object:
    return v.strip(BLANKS) if isinstance(v, str) else v


def _where(page: Page, pos: tuple[int, int]) -> str:
    """Where a grid cell came from; for an empty cell, where the first filled cell of its row came from."""
    r = pos[0]
    width = len(page.grid[r]) if r < len(page.grid) else 0
    return page.where.get(pos) or next((page.where[(r, c)] for c in range(width) if (r, c) in page.where), "报告中")


def _plain(v: Value | None) -> object:
    """A value as plain JSON data: whole numbers as int, other decimals as text, unusable text as printed."""
    if v is None:
        return None
    if isinstance(v, Invalid):
        return v.raw
    return int(v) if v == v.to_integral_value() else format(v, "f")


def _quoted(texts: list[str], limit: int = 6) -> str:
    shown = "".join("“" + re.sub(r"\s+", "", t) + "”" for t in texts[:limit])
    return shown + (f"等 {len(texts)} 项" if len(texts) > limit else "")


__all__ = ["ReadError", "assemble", "is_report", "read", "read_page"]
