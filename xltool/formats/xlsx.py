"""Office Open XML workbooks (.xlsx, .xlsm; Excel and WPS): read returns, write templates/roll-ups, annotate copies."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from xltool import layout, safewrite
from xltool.codes import Code
from xltool.formats import Reader, Writer
from xltool.formats._bounded import LIST_WINDOW, ScannedCells, bounded_copy
from xltool.formats._workbook import calamine_page, read_workbook, refuse_duplicate_sheets
from xltool.formats.page import Page
from xltool.memo import Memo
from xltool.sources import member_bytes, open_zip

LIST_SHEETS = layout.ROLLUP_SHEETS  # a roll-up's review sheets: one row per unit or file

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def parse(data: bytes) -> Page:
    """An xlsx/xlsm return, bounded: stray cells cut out before calamine sees the file, facts gathered on the way."""
    z = open_zip(data)  # the one the zip checks opened
    names = set(z.namelist())
    sheets: dict[str, str] = {}
    states: dict[str, str] = {}
    if "xl/workbook.xml" in names:
        rels_name = "xl/_rels/workbook.xml.rels"
        rels = member_bytes(z, rels_name) if rels_name in names else None
        listed = _sheet_list(member_bytes(z, "xl/workbook.xml"), rels)
        refuse_duplicate_sheets([name for name, _, _ in listed])
        for name, state, part in listed:
            states[name] = state
            if part in names:
                sheets[name] = part
    windows = {name: LIST_WINDOW for name in LIST_SHEETS}
    plain: dict[str, bytes | ScannedCells] = {}
    bounded, facts = bounded_copy(z, sheets, windows, plain)
    if bounded is None and plain:  # values from the bytes already scanned; calamine only for what they cannot give
        strings_xml = member_bytes(z, "xl/sharedStrings.xml") if "xl/sharedStrings.xml" in names else None
        styles_xml = member_bytes(z, "xl/styles.xml") if "xl/styles.xml" in names else None
        page = _direct_page(data, list(states), plain, strings_xml, styles_xml)
    else:
        page = calamine_page("xlsx", bounded or data)
    page.structure, page.parts, page.sheet_states = facts, names, states
    return page


_SHEET_LISTS = Memo(16)  # returns of one template share workbook.xml and its rels byte for byte: parsed once


def _sheet_list(workbook_xml: bytes, rels_xml: bytes | None) -> tuple[tuple[str, str, str], ...]:
    """(name, state, part) of each sheet the workbook lists, in order, from workbook.xml and its relationships."""
    key = (workbook_xml, rels_xml)
    known = _SHEET_LISTS.get(key)
    if known is not None:
        return known
    from defusedxml import ElementTree as SafeET

    workbook = SafeET.fromstring(workbook_xml)
    rels = SafeET.fromstring(rels_xml) if rels_xml is not None else None
    targets = {r.get("Id"): r.get("Target", "") for r in (rels if rels is not None else [])}
    out = []
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        out.append((sheet.get("name") or "", sheet.get("state") or "visible", part))
    found = tuple(out)
    return _SHEET_LISTS.keep(key, found) if len(workbook_xml) < 256 * 1024 else found


def _direct_page(
    data: bytes,
    sheet_names: list[str],
    plain: dict[str, bytes | ScannedCells],
    strings_xml: bytes | None,
    styles_xml: bytes | None,
) -> Page:
    """A page whose sheets are read from their scanned XML (xltool.formats._xlsxcells); a sheet that module cannot
    reproduce exactly (dates, unknown cell types) and any sheet not scanned plainly are read by calamine."""
    from xltool.formats import _xlsxcells

    strings = _xlsxcells.shared_strings(strings_xml)
    dates = _xlsxcells.date_styles(styles_xml)
    fallback: list[Page] = []

    def load(name: str):
        grid = _xlsxcells.sheet_grid(plain[name], strings, dates) if name in plain else None
        if grid is not None:
            return grid
        if not fallback:
            fallback.append(calamine_page("xlsx", data))
        return fallback[0].sheet(name)

    def columns(name: str, cols: tuple[int, ...]):
        found = plain.get(name)
        return _xlsxcells.column_cells(found, cols, strings, dates) if isinstance(found, ScannedCells) else None

    return Page(Path(), "xlsx", "spreadsheet", sheet_names, loader=load, column_loader=columns)


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

    from xltool.formats._bounded import unsafe_formula

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
