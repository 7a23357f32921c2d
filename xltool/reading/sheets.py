"""Reading, the spreadsheet stage: a workbook's page into a Return — each table located (by position in an
untouched template, by its labels otherwise), its input cells normalised with notes, totals left to the checker
(never a cached result), the 填报说明 fields, the clerk's 说明 for warnings, and the structure facts that are not as the
template left them (edited labels, moved rows, overwritten formulas, removed protection)."""

from __future__ import annotations

from decimal import Decimal
from math import copysign

from xltool import formdata, layout
from xltool.codes import Code
from xltool.formats.page import Grid, Page, SheetFacts, at
from xltool.formdata import Shape
from xltool.forms import Cell, FormError, Table, a1, col_letter, form_by_id
from xltool.labels import norm
from xltool.locate import Located, locate
from xltool.model import Invalid, Return, Unit
from xltool.problems import Problem
from xltool.reading import identify, integrity
from xltool.sources import ReadError
from xltool.values import normalize


def from_workbook(page: Page) -> Return:
    problems: list[Problem] = []
    meta = identify.workbook_meta(page)
    if meta is not None:
        try:
            form = form_by_id(meta.get("form_id", ""))
        except FormError:
            raise ReadError(
                Code.WRONG_FORM, f"不是政府信息公开年报统计表（模板标识为 {meta.get('form_id')!r}）"
            ) from None
        year = identify.year_of(meta.get("year"))
        if year is None:
            problems.append(
                Problem.of(Code.YEAR_UNKNOWN, "元数据中的报告年度无法识别，请用 xltool template 重新生成模板")
            )
    else:
        form, year = identify.by_labels(page)
        problems.append(
            Problem.of(
                Code.LOCATED_BY_LABELS,
                f"此文件不是 xltool 模板（没有模板元数据），已按表格标签定位{form.table_names}；请核对读取结果",
            )
        )
    if year is not None and not form.covers(year):
        problems.append(
            identify.form_year_mismatch(
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
    problems += integrity.untrusted_content(page)
    if meta is not None:
        problems += integrity.tampering(page, form, meta, problems)
    ret.read_problems = problems
    return ret


def _read_sheet_table(page: Page, ret: Return, table: Table, templated: bool, problems: list[Problem]) -> None:
    """One official table of a workbook: found where the template put it (or by its labels), then read."""
    found = _in_template(page, table, problems) if templated and table.sheet in page.sheet_names else None
    if found is None:
        found = _by_labels(page, table, templated, problems)
        if found is None:
            return
    sheet, positions = found
    grid = page.sheet(sheet)
    facts = (page.structure or {}).get(sheet)
    if templated and facts is not None and facts.protected is False:
        problems.append(
            Problem.of(
                Code.PROTECTION_REMOVED,
                f"{table.sheet} 的工作表保护被取消，表格可能被改动；已逐格复核",
                sheet=sheet,
            )
        )
    if templated:
        flag_row, flag_col = layout.no_items_cell(table)
        if norm(at(grid, flag_row, flag_col)) == layout.NO_ITEMS_YES:
            ret.no_items.add(table.id)
    shape = formdata.shape(table)
    if (
        templated
        and facts is not None
        and positions is shape.positions
        and shape.untouched(facts.formulas, facts.errors)
    ):
        _read_inputs(grid, ret, shape, problems)
    else:
        _read_cells(grid, ret, table, sheet, positions, facts, templated, problems)


def _in_template(page: Page, table: Table, problems: list[Problem]) -> tuple[str, dict[str, tuple[int, int]]]:
    """Our own workbook's table on its own sheet: where the template put it, or where its labels moved (ROWS-MOVED),
    noting the labels that were edited (LABEL-CHANGED)."""
    sheet = table.sheet
    grid = page.sheet(sheet)
    shape = formdata.shape(table)
    if _labels_intact(grid, shape.labels):
        return sheet, shape.positions
    changed = [lb for lb in table.labels if at(grid, lb.first_row, lb.first_col) != lb.text]
    located = locate(grid, table)
    moved = _moved(table, located)
    if located.positions and moved:
        problems.append(
            Problem.of(
                Code.ROWS_MOVED,
                f"{table.title} 的行或列被插入、删除或移动（{moved}），已按标签重新定位；请使用未改动的模板填报",
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
                f"表格标签被修改：应为“{lb.text}”，实际为“{at(grid, lb.first_row, lb.first_col) or '（空白）'}”",
                sheet=sheet,
                cell=a1(lb.first_row, lb.first_col),
            )
        )
    return sheet, positions


def _by_labels(
    page: Page, table: Table, templated: bool, problems: list[Problem]
) -> tuple[str, dict[str, tuple[int, int]]] | None:
    """The first sheet (its own sheet first) where every cell of the table is found by its labels; None with
    TABLE-NOT-FOUND when there is none. Our own workbook found so was renamed (SHEET-RENAMED)."""
    own = [table.sheet] if table.sheet in page.sheet_names else []
    for name in own + [n for n in page.sheet_names if n != table.sheet]:
        located = locate(page.sheet(name), table)
        if len(located.positions) == len(table.cells):
            break
    else:
        problems.append(Problem.of(Code.TABLE_NOT_FOUND, f"没有找到{table.title}（或表格不完整），此表按未填报处理"))
        return None
    if templated:  # LibreOffice does not keep xlsx structure protection, so sheets can be renamed there
        problems.append(
            Problem.of(
                Code.SHEET_RENAMED,
                f"工作表“{table.sheet}”被改名为“{name}”，已按表格标签找到并读取",
                sheet=name,
            )
        )
    return name, located.positions


def _read_cells(
    grid: Grid,
    ret: Return,
    table: Table,
    sheet: str,
    positions: dict[str, tuple[int, int]],
    facts: SheetFacts | None,
    templated: bool,
    problems: list[Problem],
) -> None:
    """Every cell of a table, one by one: inputs normalised (a formula or an error value is never a number), totals
    left to the checker unless typed over (FORMULA-OVERWRITTEN) or typed in a copy of one's own."""
    formulas = facts.formulas if facts else None
    malformed: frozenset[str] | None = None  # made when an error value is met
    for cell in table.cells:
        r, c = positions[cell.key]
        raw = at(grid, r, c)
        where = a1(r, c)
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
            if malformed is None:
                malformed = frozenset(facts.malformed)
            if where in malformed:  # reported once, as MALFORMED-CELL (xltool.reading.integrity), not as a value
                ret.values[cell.key] = Invalid(facts.errors[where], integrity.MALFORMED_REASON, Code.MALFORMED_CELL)
            else:
                ret.values[cell.key] = Invalid(facts.errors[where], "是错误值（公式或外部数据出错），不是数字")
            continue
        value, note = normalize(raw, cell.type)
        if value is None:
            continue
        ret.values[cell.key] = value
        if note and not isinstance(value, Invalid):
            problems.append(_normalised(cell, note, sheet, where, raw))


def _read_inputs(grid: Grid, ret: Return, shape: Shape, problems: list[Problem]) -> None:
    """The input cells of an untouched template table: what the general loop (`_read_cells`) does for them
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
    """Every label of the table where the template put it, unchanged (the same test as `at(...) != lb.text`)."""
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
        v = line[1] if len(line) > 1 else None  # at(grid, row, 1)
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
        head = line[0] if line else None  # at(grid, row, 0), whose "" is None: `or ""` makes both ""
        if norm(head if head.__class__ is str else str(head or "")) != norm(label) or where in formulas:
            continue
        v = line[1] if len(line) > 1 else None  # at(grid, row, 1)
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
        where = f"{letter}{r + 1}"  # a1(r, note_col)
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


def _printed_totals(page: Page, ret: Return, problems: list[Problem]) -> None:
    """A workbook xltool wrote from a report: its printed totals come back from 原文数值, so the report's own
    arithmetic is checked again (the tables' total cells are formulas over the inputs)."""
    if ret.meta.get("printed_sheet") != layout.PRINTED_SHEET or layout.PRINTED_SHEET not in page.sheet_names:
        return
    grid = page.sheet(layout.PRINTED_SHEET)
    header = [str(v) for v in (grid[0] if grid else [])]
    if "编号" not in header or "原文数值" not in header:
        return
    k, t = header.index("编号"), header.index("原文数值")
    kept = 0
    for r in range(1, len(grid)):
        key = str(at(grid, r, k) or "")
        cell = ret.form.cell.get(key)
        if cell is None or cell.is_input:
            continue
        value, _ = normalize(str(at(grid, r, t) or ""), cell.type)
        if value is not None:
            ret.values[key] = value
            kept += 1
    if kept:
        problems.append(
            Problem.of(
                Code.LOCATED_BY_LABELS,
                f"此工作簿由报告原文导入（{layout.KIND_TEXT.get(ret.meta.get('imported_from', ''), '报告')}）：{kept} 个合计按报告原文印的数值"
                f"（“{layout.PRINTED_SHEET}”工作表）核对，不按公式重算",
            )
        )
