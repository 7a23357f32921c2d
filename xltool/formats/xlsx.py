"""Office Open XML workbooks (.xlsx, .xlsm; Excel and WPS): read returns, write templates/roll-ups, annotate copies."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from xltool import layout, safewrite
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


FILLS = {"error": "FF7C80", "warning": "F4B084", "info": "BDD7EE"}  # far from the input tint (FFF2CC)
LIST_SHEET = "问题清单"


def write_annotated(
    source: Path,
    problems: list,
    target: Path,
    rule_cells: dict[str, list[str]] | None = None,
    ret=None,
) -> Path | None:
    """A copy of `source` with each located problem's cell coloured and commented; the original is never written.

    A cell that a failing rule reads (`rule_cells`: rule id -> 表!A1 …) is marked as part of that problem even when it
    is also blank or invalid: its colour is the worst problem it takes part in and its comment names each, errors
    first. With the Return (`ret`), 问题清单 names places in Chinese and opens with the unit, year and verdict.

    Nothing that runs on open survives: macros are dropped (the copy is always .xlsx), external links and data
    connections removed, and every formula a township put in an input cell or that reaches outside the workbook is
    replaced by its text, so only the template's own totals and checks recalculate.
    """
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    located = [p for p in problems if p.sheet and p.cell]
    if not located:
        return None
    target = target.with_suffix(".xlsx")
    if target.resolve() == source.resolve():
        raise ValueError("标注副本不能覆盖原文件")
    wb = openpyxl.load_workbook(source, keep_vba=False, keep_links=False)
    wb._external_links = []
    defused = {(p.sheet, p.cell) for p in problems if p.code in (Code.FORMULA_IN_INPUT, Code.UNSAFE_FORMULA)}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text = cell.value if isinstance(cell.value, str) and cell.data_type == "f" else None
                if text is not None and ((ws.title, cell.coordinate) in defused or unsafe_formula(text)):
                    cell.value = "（公式已移除）" + text.lstrip("=")
    notes: dict[tuple[str, str], list] = {}
    for p in located:
        if p.sheet in wb.sheetnames:
            notes.setdefault((p.sheet, p.cell), []).append(p)
    for p in problems:  # every cell a failing rule reads, not only the first, whatever else is wrong with it
        for where in (rule_cells or {}).get(p.code, []):
            sheet, _, cell = where.rpartition("!")
            items = notes.setdefault((sheet, cell), []) if sheet in wb.sheetnames else None
            if items is not None and p not in items:
                items.append(p)
    for (sheet, cell), items in notes.items():
        items.sort(key=lambda p: p.severity.rank)  # the error first
        worst = items[0]
        spot = wb[sheet][cell]
        if type(spot).__name__ == "MergedCell":  # a cell covered by a merge: mark the merge's own cell
            spot = next(
                (wb[sheet].cell(m.min_row, m.min_col) for m in wb[sheet].merged_cells.ranges if spot.coordinate in m),
                None,
            )
            if spot is None:
                continue
        spot.fill = PatternFill("solid", fgColor=FILLS[worst.severity])
        text = "\n".join(f"【{p.severity.zh}】{p.message}" for p in items)
        spot.comment = Comment(text, "xltool", width=360, height=40 + 18 * text.count("\n") + 18 * (len(text) // 24))
    _problem_list(wb, problems, ret)
    wb.calculation.fullCalcOnLoad = True  # openpyxl drops cached results; the template's own formulas recalculate
    with safewrite.replacing(target) as tmp:  # a link planted at the copy's name is replaced, never written through
        wb.save(tmp)
        shared_strings(tmp)
    return target


_INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is><t(?: xml:space="preserve")?>(.*?)</t></is></c>', re.DOTALL)
_SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


_FONT = re.compile(rb"<font>((?:<[A-Za-z]+(?: [^>]*)?/>)*)</font>")
_FONT_ORDER = [
    b"b",
    b"i",
    b"strike",
    b"condense",
    b"extend",
    b"outline",
    b"shadow",
    b"u",
    b"vertAlign",
    b"sz",
    b"color",
    b"name",
    b"family",
    b"charset",
    b"scheme",
]


def _ordered_font(m: re.Match[bytes]) -> bytes:
    children = re.findall(rb"<([A-Za-z]+)(?: [^>]*)?/>", m.group(1))
    items = re.findall(rb"<[A-Za-z]+(?: [^>]*)?/>", m.group(1))
    rank = {name: i for i, name in enumerate(_FONT_ORDER)}
    ordered = [item for _, item in sorted(zip(children, items, strict=True), key=lambda p: rank.get(p[0], 99))]
    return b"<font>" + b"".join(ordered) + b"</font>"


def shared_strings(path: Path) -> None:
    """openpyxl writes text as inline strings, which older WPS versions reject and Excel silently rewrites: move them
    into a shared-string table, as Excel itself writes workbooks."""
    strings: dict[bytes, int] = {}

    def shared(m: re.Match[bytes]) -> bytes:
        index = strings.setdefault(m.group(3), len(strings))
        return b"<c " + m.group(1) + b't="s"' + m.group(2) + b"><v>" + str(index).encode() + b"</v></c>"

    with (
        safewrite.replacing(path) as tmp,
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        names = src.namelist()
        parts = {n: src.read(n) for n in names}
        for name in names if "xl/sharedStrings.xml" not in names else []:
            if name.startswith("xl/worksheets/sheet") and name.endswith(".xml"):
                parts[name] = _INLINE.sub(shared, parts[name])
        if "xl/styles.xml" in parts:  # openpyxl writes font properties out of the schema's order
            parts["xl/styles.xml"] = _FONT.sub(_ordered_font, parts["xl/styles.xml"])
        if strings:
            items = b"".join(b'<si><t xml:space="preserve">' + s + b"</t></si>" for s in strings)
            parts["xl/sharedStrings.xml"] = (
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
                % (len(strings), len(strings))
                + items
                + b"</sst>"
            )
            parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
                b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="' + _SST_TYPE + b'"/></Types>'
            )
            parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
                b"</Relationships>",
                b'<Relationship Id="rIdXltoolSst" Type="'
                + _SST_REL
                + b'" Target="sharedStrings.xml"/></Relationships>',
            )
        for name in [*names, *(["xl/sharedStrings.xml"] if strings else [])]:
            dst.writestr(name, parts[name])


LIST_WIDTHS = (30, 6, 46, 22)  # 104 character units: A4 landscape at full size, so 10 pt prints at 9 pt or more


def _problem_list(wb, problems: list, ret=None) -> None:
    """A first sheet that prints: a title with the unit, year and verdict, then every problem, errors first, its place
    in Chinese first and the cell reference and code last; rows tall enough for their text, header on every page."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    from xltool.template.cells import text_width
    from xltool.template.verdicts import SheetRow, problem_sheet

    if ret is not None:
        heading, rows = problem_sheet(ret, problems)
    else:  # no Return: places as the problems give them
        heading = ""
        rows = [
            SheetRow(p.where or "整个文件", p.severity.zh, p.message, p.where, str(p.code), p.severity)
            for p in sorted(problems, key=lambda p: p.severity.rank)
        ]
    ws = wb.create_sheet(LIST_SHEET, 0)
    font = {"name": "宋体", "size": 10}
    side = Side(style="thin")
    box = Border(left=side, right=side, top=side, bottom=side)
    ws.append(["问题清单"])
    ws.append([heading])
    ws.append(["位置", "级别", "问题及处理", "单元格 / 编号"])
    for row in rows:
        ws.append([row.place, row.level, row.message, f"{row.cells}\n{row.code}" if row.cells else row.code])
        fill = PatternFill("solid", fgColor=FILLS[row.severity.value])
        ws.cell(ws.max_row, 2).fill = fill
    last = "D"
    ws.merge_cells(f"A1:{last}1")
    ws.merge_cells(f"A2:{last}2")
    ws["A1"].font = Font(**font | {"size": 14}, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws["A2"].font = Font(**font, bold=True)
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[1].height = 24
    ws.row_dimensions[2].height = 14.5 * max(1, -(-text_width(heading) // (sum(LIST_WIDTHS) - 1))) + 4
    for col, width in zip("ABCD", LIST_WIDTHS, strict=True):
        ws.column_dimensions[col].width = width
    for r, line in enumerate(ws.iter_rows(min_row=3), start=3):
        lines = 1
        for cell, width in zip(line, LIST_WIDTHS, strict=False):
            cell.font = Font(**font, bold=r == 3)
            cell.border = box
            cell.alignment = Alignment(wrap_text=True, vertical="top" if r > 3 else "center", horizontal=None)
            text = str(cell.value or "")
            lines = max(lines, sum(max(1, -(-text_width(part) // (width - 1))) for part in text.split("\n")))
        ws.row_dimensions[r].height = 14.5 * lines + 3
    ws.freeze_panes = "A4"
    ws.page_setup.paperSize, ws.page_setup.orientation = ws.PAPERSIZE_A4, "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.print_title_rows = "3:3"
    wb.active = 0


READERS = [
    Reader("xlsx", (".xlsx", ".xlsm"), "spreadsheet", read_workbook, parse=parse, description="Excel / WPS 工作簿")
]
WRITERS = [
    Writer("workbook", "xlsx", ".xlsx", write_workbook, description="锁定的 Excel 工作簿（Excel、WPS、LibreOffice）"),
    Writer("annotated", "xlsx", ".xlsx", write_annotated, description="标注了问题的副本"),
]
