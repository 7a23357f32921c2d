"""Office Open XML workbooks (.xlsx, .xlsm; Excel and WPS): read returns, write templates/roll-ups, annotate copies."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from xltool import layout
from xltool.codes import Code
from xltool.formats import Reader, Writer, _xlsxcells, _xmlparts
from xltool.formats._bounded import (
    LIST_WINDOW,
    MAX_FINDINGS,
    MAX_LIST_SHEET_BYTES,
    MAX_SHEET_BYTES,
    WINDOW,
    scan_sheet,
    unsafe_formula,
)
from xltool.formats._workbook import calamine_page, read_workbook, refuse_duplicate_sheets
from xltool.formats.page import Grid, Page, SheetFacts, at
from xltool.forms import col_letter
from xltool.memo import Memo
from xltool.sources import ReadError, member_bytes, open_zip

LIST_SHEETS = layout.ROLLUP_SHEETS  # a roll-up's review sheets: one row per unit or file


def parse(data: bytes) -> Page:
    """An xlsx/xlsm return, read as XML: the package resolved as OPC says, each sheet parsed once for its facts and
    its values (bounded: far cells only counted), calamine only for the conversion of date cells."""
    z = open_zip(data)  # the one the zip checks opened
    names = set(z.namelist())
    pkg = _xmlparts.package(z)
    if pkg is None:  # no XML workbook part: a binary workbook (.xlsb), which no guard here can bound
        raise ReadError(
            Code.NOT_SPREADSHEET,
            "这是二进制格式的 Excel 工作簿（.xlsb），无法安全读取；请在 Excel 中另存为 .xlsx 后报送",
        )
    refuse_duplicate_sheets([name for name, _, _ in pkg.sheets])
    strings = _xmlparts.shared_strings(_member(z, pkg.strings, _xmlparts.MAX_STRINGS_BYTES), pkg.strings or "")
    styles = _member(z, pkg.styles, _xmlparts.MAX_PART_BYTES)
    dates = _xmlparts.date_styles(styles, pkg.styles or "")
    facts: dict[str, SheetFacts] = {}
    values: dict[str, _xlsxcells.SheetValues] = {}
    states: dict[str, str] = {}
    for name, state, part in pkg.sheets:
        states[name] = state
        if part is None:
            raise ReadError(Code.CORRUPT, f"工作表“{name}”的内容部件缺失，文件已损坏；请重新保存后报送")
        window = LIST_WINDOW if name in LIST_SHEETS else WINDOW
        limit = MAX_LIST_SHEET_BYTES if window == LIST_WINDOW else MAX_SHEET_BYTES
        size = z.getinfo(part).file_size  # declared, and checked against the data by the zip checks
        if size > limit:
            raise ReadError(
                Code.TOO_LARGE,
                f"工作表“{name}”解压后有 {size / 1048576:.0f} MB，远超统计表的正常大小，已拒绝读取；请用原模板重新填报",
            )
        facts[name] = scan_sheet(member_bytes(z, part, size), window, part)
        values[name] = _xlsxcells.convert(facts[name], strings, dates)
        facts[name].cells = None
    dated: dict[str, dict[tuple[int, int], object]] = {}

    def load(name: str) -> Grid:
        found = values[name]
        cells = found.values
        if found.dated:
            if name not in dated:
                dated[name] = _calamine_dates(found.dated, styles, pkg.date1904)
            cells = cells + [(r, c, v) for (r, c), v in dated[name].items()]
        return _xlsxcells.dense(cells)

    def columns(name: str, cols: tuple[int, ...]):
        return _xlsxcells.column_cells(values[name], cols)

    page = Page(Path(), "xlsx", "spreadsheet", list(states), loader=load, column_loader=columns)
    page.structure, page.parts, page.sheet_states = facts, names, states
    page.unsafe_names = [(n, text) for n, text in pkg.defined_names if unsafe_formula(text)][:MAX_FINDINGS]
    return page


def _member(z: zipfile.ZipFile, part: str | None, limit: int) -> bytes | None:
    if part is None:
        return None
    size = z.getinfo(part).file_size
    if size > limit:
        raise ReadError(Code.TOO_LARGE, f"{part} 解压后有 {size / 1048576:.0f} MB，远超统计表的正常大小，已拒绝读取")
    return member_bytes(z, part, size)


_DATED = Memo(256)  # (cells, styles, 1904) -> calamine's values: a template's date cells recur


def _calamine_dates(
    cells: list[tuple[int, int, int, str, str]], styles: bytes | None, date1904: bool
) -> dict[tuple[int, int], object]:
    """Date and time cells as calamine converts them, from a workbook written here holding only those cells (as this
    reader read them) and the cell formats' number formats: calamine never parses the untrusted file."""
    key = (tuple(cells), styles, date1904)
    known = _DATED.get(key)
    if known is not None:
        return known
    from xml.sax.saxutils import escape, quoteattr

    formats, xfs = _xmlparts.number_formats(styles) if styles else ([], [])
    rows: dict[int, list[str]] = {}
    for row, col, style, kind, text in cells:
        s = f' s="{style}"' if 0 <= style < len(xfs) else ""
        rows.setdefault(row, []).append(f'<c r="{col_letter(col)}{row + 1}"{s} t="{kind}"><v>{escape(text)}</v></c>')
    sheet = "".join(f'<row r="{r + 1}">{"".join(c)}</row>' for r, c in sorted(rows.items()))
    numfmts = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>' for i, code in formats)
    xf = "".join(f'<xf numFmtId="{i}" applyNumberFormat="1"/>' for i in xfs) or '<xf numFmtId="0"/>'
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="r1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {main} xmlns:r="{rel}"><workbookPr date1904="{int(date1904)}"/>'
        '<sheets><sheet name="d" sheetId="1" r:id="r1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="r1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="r2" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f"<styleSheet {main}><numFmts>{numfmts}</numFmts><cellXfs>{xf}</cellXfs></styleSheet>",
        "xl/worksheets/sheet1.xml": f"<worksheet {main}><sheetData>{sheet}</sheetData></worksheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for name, text in parts.items():
            book.writestr(name, text.encode("utf-8"))
    grid = calamine_page("xlsx", out.getvalue()).sheet("d")
    found = {(row, col): at(grid, row, col) for row, col, *_ in cells}
    found = {where: value for where, value in found.items() if value is not None}
    return _DATED.keep(key, found) if len(cells) < 1000 else found


def write_workbook(ret, path: Path, **kw) -> Path:
    from xltool.template import write_xlsx

    return write_xlsx(ret, path, **kw)


READERS = [
    Reader("xlsx", (".xlsx", ".xlsm"), "spreadsheet", read_workbook, parse=parse, description="Excel / WPS 工作簿")
]
WRITERS = [
    Writer("workbook", "xlsx", ".xlsx", write_workbook, description="锁定的 Excel 工作簿（Excel、WPS、LibreOffice）"),
]
