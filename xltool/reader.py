"""Read a filled return (xlsx, xlsm, ods, xls) into a Return, noting everything that is not as the template left it.

Values come from the input cells only; totals and checks are recomputed by the checker, never taken from cached
formula results. Problems found while reading (edited labels, moved rows, overwritten formulas, removed protection,
values that needed tidying) are attached to the Return and reported with the rule problems.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree as SafeET
from python_calamine import CalamineError, CalamineWorkbook

from xltool import layout
from xltool.codes import Code
from xltool.forms import Form, FormError, Table, all_forms, col_letter, form_by_id
from xltool.labels import norm
from xltool.locate import Grid, Located, locate
from xltool.model import Invalid, Return, Unit
from xltool.problems import Problem
from xltool.sources import ReadError, Source, sniff
from xltool.values import normalize

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


@dataclass
class Book:
    """Cell values of every sheet (loaded on demand) plus what the container says about formulas and protection."""

    source: Source
    workbook: CalamineWorkbook
    grids: dict[str, Grid] = field(default_factory=dict)
    structure: dict[str, tuple[set[str], bool]] | None = None  # sheet -> (cells holding formulas, protected)

    @property
    def sheet_names(self) -> list[str]:
        return list(self.workbook.sheet_names)

    def grid(self, name: str) -> Grid:
        if name not in self.grids:
            self.grids[name] = self.workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return self.grids[name]


def open_book(path: Path) -> Book:
    source = sniff(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, ValueError, OSError) as exc:
        text = str(exc)
        if "password" in text.lower() or "encrypt" in text.lower():
            raise ReadError(
                Code.ENCRYPTED, "文件设置了打开密码（已加密），无法读取；请取消打开密码后重新报送"
            ) from None
        raise ReadError(Code.CORRUPT, f"文件已损坏，无法读取（{text[:80]}）") from None
    book = Book(source, workbook)
    if source.kind == "xlsx":
        book.structure = _xlsx_structure(path)
    elif source.kind == "ods":
        book.structure = _ods_structure(path)
    return book


def read(path: str | Path) -> Return:
    """Read one file into a Return; raises ReadError when it cannot be used at all.

    Spreadsheets are read here; published reports (.txt/.md/.html/.docx) go to xltool.importer.
    """
    from xltool.importer import import_report, is_report

    path = Path(path)
    if is_report(path):
        return import_report(path)
    book = open_book(path)
    try:
        return _read_book(book, path)
    except CalamineError as exc:
        raise ReadError(Code.CORRUPT, f"文件内容损坏，无法读取（{str(exc)[:80]}）") from None


def _read_book(book: Book, path: Path) -> Return:
    problems: list[Problem] = []
    meta = _meta(book)
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
        form, year = _identify(book)
        problems.append(
            Problem.of(
                Code.LOCATED_BY_LABELS,
                "此文件不是 xltool 模板（没有模板元数据），已按表格标签定位三张表；请核对读取结果",
            )
        )
    if year is not None and not form.covers(year):
        right = next((f for f in all_forms() if f.covers(year)), None)
        problems.append(
            Problem.of(
                Code.FORM_YEAR_MISMATCH,
                f"{year} 年度应使用{'《' + right.name + '》（' + right.notice + '）' if right else '其他格式'}，"
                f"此文件是 {form.notice} 格式；请用 xltool template --year {year} 生成的模板重新填报",
            )
        )
    ret = Return(form, year if year is not None else 0, source=str(path), meta=meta or {})
    ret.prefilled = {k for k in (meta or {}).get("prefilled", "").split(",") if k in form.cell}
    for table in form.tables:
        _read_table(book, ret, table, templated=meta is not None, problems=problems)
    if meta is not None:
        _read_guide(book, ret, problems)
        _read_explanations(book, ret)
    ret.read_problems = problems
    return ret


# --- identification ---------------------------------------------------------------------------------------------


def _meta(book: Book) -> dict[str, str] | None:
    if layout.META_SHEET not in book.sheet_names:
        return None
    items = {}
    for row in book.grid(layout.META_SHEET):
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


def _identify(book: Book) -> tuple[Form, int | None]:
    """Which form a file without metadata is: the one whose labels are found best; the year from titles or name."""
    best: tuple[int, Form] | None = None
    texts: list[str] = []
    for name in book.sheet_names:
        grid = book.grid(name)
        texts.extend(str(v) for row in grid[:3] for v in row if isinstance(v, str))
    for form in all_forms():
        # Score: cells located, counting each table in the sheet where most of it is found.
        score = sum(max(len(locate(book.grid(n), t).positions) for n in book.sheet_names) for t in form.tables)
        if best is None or score > best[0]:
            best = (score, form)
    if best is None or best[0] < 20:
        raise ReadError(Code.NOT_A_RETURN, "找不到政府信息公开年报统计表（表二、表三、表四的标签都没有找到）")
    years = [int(m) for t in [*texts, book.source.path.stem] for m in _YEAR_TEXT.findall(t)]
    years += [int(m) for m in re.findall(r"(20\d\d)", book.source.path.stem)]
    return best[1], (years[0] if years else None)


# --- tables -------------------------------------------------------------------------------------------------------


def _read_table(book: Book, ret: Return, table: Table, templated: bool, problems: list[Problem]) -> None:
    sheet = table.sheet if table.sheet in book.sheet_names else None
    positions: dict[str, tuple[int, int]] | None = None
    if templated and sheet is not None:
        grid = book.grid(sheet)
        changed = [lb for lb in table.labels if _at(grid, lb.first_row, lb.first_col) != lb.text]
        if not changed:
            positions = {c.key: (c.row, c.col) for c in table.cells}
        else:
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
                positions = {c.key: (c.row, c.col) for c in table.cells}
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
        for name in ([sheet] if sheet else []) + [n for n in book.sheet_names if n != sheet]:
            located = locate(book.grid(name), table)
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
    grid = book.grid(sheet)
    formulas, protected = (book.structure or {}).get(sheet, (None, None))
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
    for cell in table.cells:
        r, c = positions[cell.key]
        raw = _at(grid, r, c)
        where = _a1(r, c)
        if not cell.is_input:
            if not templated:
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
        value, note = normalize(raw, cell.type)
        if value is None:
            continue
        ret.values[cell.key] = value
        if note and not isinstance(value, Invalid):
            problems.append(
                Problem.of(
                    Code.VALUE_NORMALISED,
                    f"{cell.label}：{note}",
                    sheet=sheet,
                    cell=where,
                    values={"raw": str(raw)},
                )
            )


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


def _at(grid: Grid, r: int, c: int) -> object:
    if r < len(grid) and c < len(grid[r]):
        v = grid[r][c]
        return None if v == "" else v
    return None


def _a1(r: int, c: int) -> str:
    return f"{col_letter(c)}{r + 1}"


def _read_guide(book: Book, ret: Return, problems: list[Problem]) -> None:
    if layout.GUIDE_SHEET not in book.sheet_names:
        problems.append(Problem.of(Code.GUIDE_MISSING, "没有“填报说明”表，无法读取填报单位等信息"))
        return
    grid = book.grid(layout.GUIDE_SHEET)
    fields = {}
    for name, _, row in layout.UNIT_FIELDS:
        v = _at(grid, row, 1)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        fields[name] = "" if v is None else str(v).strip()
    ret.unit = Unit(**fields)
    if not ret.unit.name:
        problems.append(
            Problem.of(
                Code.UNIT_MISSING,
                "“填报说明”中未填写填报单位",
                sheet=layout.GUIDE_SHEET,
                cell=f"B{layout.UNIT_FIELDS[0][2] + 1}",
            )
        )


def _read_explanations(book: Book, ret: Return) -> None:
    if layout.CHECK_SHEET not in book.sheet_names:
        return
    warnings = {r.id for r in ret.form.rules if r.severity == "warning"}
    for row in book.grid(layout.CHECK_SHEET):
        if len(row) > layout.COL_NOTE and row[layout.COL_ID] in warnings:
            note = row[layout.COL_NOTE]
            if isinstance(note, str) and note.strip():
                ret.explanations[row[layout.COL_ID]] = note.strip()


# --- container structure: which cells hold formulas, which sheets are protected ------------------------------------


_CELL_WITH_FORMULA = re.compile(rb'<c r="([A-Z]+[0-9]+)"[^>]*>\s*<f[ >/]')
_SHEET_PROTECTION = re.compile(rb"<sheetProtection\b[^>]*\bsheet=\"(?:1|true)\"")


def _xlsx_structure(path: Path) -> dict[str, tuple[set[str], bool]]:
    """Which cells hold formulas and whether each sheet is protected (the DTD check ran first, so regex is safe)."""
    out: dict[str, tuple[set[str], bool]] = {}
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if "xl/workbook.xml" not in names:
            return out
        workbook = SafeET.fromstring(z.read("xl/workbook.xml"))
        rels_name = "xl/_rels/workbook.xml.rels"
        rels = SafeET.fromstring(z.read(rels_name)) if rels_name in names else None
        targets = {r.get("Id"): r.get("Target", "") for r in (rels if rels is not None else [])}
        for sheet in workbook.iter(f"{_MAIN}sheet"):
            target = targets.get(sheet.get(f"{_REL}id"), "")
            part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            if part not in names:
                continue
            with z.open(part) as fh:  # bounded by the declared size, which sniff() has checked
                xml = fh.read(z.getinfo(part).file_size + 1)
            formulas = {m.decode() for m in _CELL_WITH_FORMULA.findall(xml)}
            out[sheet.get("name")] = (formulas, bool(_SHEET_PROTECTION.search(xml)))
    return out


_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_MAX_REPEAT = 1024  # rows and columns past the used area come as one huge repeat; they hold no formulas


def _ods_structure(path: Path) -> dict[str, tuple[set[str], bool]]:
    """ODS: which cells hold formulas (expanding row/column repeats) and whether each sheet is protected."""
    out: dict[str, tuple[set[str], bool]] = {}
    with zipfile.ZipFile(path) as z, z.open("content.xml") as fh:
        name, formulas, protected, row, col = None, set(), False, 0, 0
        for event, elem in SafeET.iterparse(fh, events=("start", "end")):
            tag = elem.tag
            if event == "start":
                if tag == f"{_T}table":
                    name, formulas, row = elem.get(f"{_T}name"), set(), 0
                    protected = elem.get(f"{_T}protected") == "true"
                elif tag == f"{_T}table-row":
                    col = 0
                continue
            if tag in (f"{_T}table-cell", f"{_T}covered-table-cell"):
                repeat = min(int(elem.get(f"{_T}number-columns-repeated", "1")), _MAX_REPEAT)
                if elem.get(f"{_T}formula"):
                    formulas.update(f"{col_letter(col + i)}{row + 1}" for i in range(repeat))
                col += repeat
                elem.clear()
            elif tag == f"{_T}table-row":
                row += min(int(elem.get(f"{_T}number-rows-repeated", "1")), _MAX_REPEAT)
                elem.clear()
            elif tag == f"{_T}table" and name is not None:
                out[name] = (formulas, protected)
    return out


__all__ = ["ReadError", "read"]
