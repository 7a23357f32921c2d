"""Annotated copies of returns (`xltool check --annotate`): each problem's cell coloured and commented, a printed
问题清单 first, and nothing unsafe kept.

The copy is made from a bounded copy of the file, never from every cell of a sheet's range: each sheet part is parsed
(lxml, no DTDs or entities) and the cells, rows and merged ranges outside the reading window (xltool.formats._bounded:
what the reader reads; a stray far cell is already reported as STRAY-CELLS) are cut before openpyxl sees the file, so
a value at XFD1048576 or a merge over the whole sheet costs nothing. Then everything that runs or reaches outside on
open is dropped: macros, external links, formulas in input cells or with unsafe references (kept as text), and
conditional formats, data validations and defined names whose formulas are unsafe; sheets hidden by the township
(not the template's own `_meta`) are removed, and a table sheet that was hidden is shown again. The writer runs in
an isolated worker like every read (xltool.checking.annotate).
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

from xltool import layout, safewrite
from xltool.codes import Code
from xltool.formats import Writer, _xmlparts
from xltool.formats._bounded import LIST_WINDOW, WINDOW, unsafe_formula
from xltool.formats._sheetxml import LOST, MAX_COLS, place, row_of, span
from xltool.formats.page import stray_cells_text
from xltool.forms import col_letter
from xltool.sources import member_bytes, open_zip, sniff

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

    Nothing that runs on open survives (see the module docstring); only the template's own totals and checks
    recalculate. ReadError when the file cannot be opened as a workbook.
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
    wb = openpyxl.load_workbook(io.BytesIO(bounded_workbook(sniff(source).data)), keep_vba=False, keep_links=False)
    wb._external_links = []
    defused = {(p.sheet, p.cell) for p in problems if p.code in (Code.FORMULA_IN_INPUT, Code.UNSAFE_FORMULA)}
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):  # the cells the file holds: never every cell of the sheet's range
            text = cell.value if isinstance(cell.value, str) and cell.data_type == "f" else None
            if text is not None and ((ws.title, cell.coordinate) in defused or unsafe_formula(text)):
                cell.value = "（公式已移除）" + text.lstrip("=")
    drop_unsafe(wb, tuple(t.sheet for t in ret.form.tables) if ret is not None else ())
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
    windows = {ws.title: LIST_WINDOW if ws.title in layout.ROLLUP_SHEETS else WINDOW for ws in wb.worksheets}
    for (sheet, cell), items in notes.items():
        if not _inside(cell, windows[sheet]):  # a stray cell was cut from the copy: 问题清单 names it
            continue
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
    _problem_list(wb, [_as_left(p) for p in problems], ret)
    wb.calculation.fullCalcOnLoad = True  # openpyxl drops cached results; the template's own formulas recalculate
    with safewrite.replacing(target) as tmp:  # a link planted at the copy's name is replaced, never written through
        wb.save(tmp)
        shared_strings(tmp)
    return target


def _as_left(problem):
    """A problem as this copy leaves it: its stray cells are cut already, so 问题清单 says so instead of asking for
    them to be deleted (the original keeps them)."""
    if problem.code == Code.STRAY_CELLS and problem.sheet and "count" in problem.values:
        examples = problem.values.get("examples") or []
        text = stray_cells_text(problem.sheet, problem.values["count"], examples, cut=True)
        return dataclasses.replace(problem, message=text)
    return problem


# --- what is dropped ---------------------------------------------------------------------------------------------------

OUR_HIDDEN = (layout.META_SHEET,)  # the template's own hidden sheets, kept as they are


def drop_unsafe(wb, tables: tuple[str, ...] = ()) -> None:
    """Remove from a loaded workbook what may run or reach outside on open, and what a township hid: conditional
    formats, data validations and defined names with unsafe formulas, hidden sheets that are not the template's own
    (a table sheet that was hidden is shown again instead: the reader reads it, so the clerk must see it). `tables`:
    the form's table sheets (without them, sheets named like the official tables)."""
    from openpyxl.formatting.formatting import ConditionalFormattingList

    for name in [n for n, d in wb.defined_names.items() if unsafe_formula(d.attr_text or "")]:
        del wb.defined_names[name]
    ours = {layout.GUIDE_SHEET, layout.CHECK_SHEET, *layout.ROLLUP_SHEETS, *tables}
    for ws in list(wb.worksheets):
        for name in [n for n, d in ws.defined_names.items() if unsafe_formula(d.attr_text or "")]:
            del ws.defined_names[name]
        if any(unsafe_formula(str(f)) for cf in ws.conditional_formatting for r in cf.rules for f in r.formula or ()):
            kept = ConditionalFormattingList()  # rebuilt only when something goes: the rest keeps its order
            for cf in ws.conditional_formatting:
                for rule in cf.rules:
                    if not any(unsafe_formula(str(f)) for f in rule.formula or ()):
                        kept.add(str(cf.sqref), rule)
            ws.conditional_formatting = kept
        validations = ws.data_validations.dataValidation
        validations[:] = [v for v in validations if not unsafe_formula(f"{v.formula1 or ''}\n{v.formula2 or ''}")]
        if ws.sheet_state != "visible" and ws.title not in OUR_HIDDEN:
            if ws.title in ours or (not tables and ws.title.startswith(_TABLE_SHEET_PREFIXES)):
                ws.sheet_state = "visible"
            else:
                wb.remove(ws)
    if (wb.worksheets and wb.active is None) or (wb.active is not None and wb.active.sheet_state != "visible"):
        wb.active = next((i for i, ws in enumerate(wb.worksheets) if ws.sheet_state == "visible"), 0)


_TABLE_SHEET_PREFIXES = ("一、", "二、", "三、", "四、", "五、", "六、")  # the official tables' sheet names


# --- the bounded copy ------------------------------------------------------------------------------------------------


def bounded_workbook(data: bytes) -> bytes:
    """The workbook with every cell, row and merged range outside its sheet's reading window cut out (see the module
    docstring); each sheet part parsed as XML, so however its cells are spelled they are seen."""
    z = open_zip(data)  # the zip checks: sizes, ratios, DTDs
    windows = {part: window for part, window in _sheet_parts(z).items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in z.infolist():
            body = member_bytes(z, info.filename)
            window = windows.get(info.filename.lower())
            if window is not None:
                body = _bounded_sheet(body, window)
            copy.writestr(info.filename, body)
    return out.getvalue()


def _parser():
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """Each sheet part (lower-case name, as OPC compares part names) and its window, found as the reader finds them
    (xltool.formats._xmlparts): a roll-up's list sheets are wider than a return's; a sheet part the workbook does not
    list gets the return's window."""
    out = {n.lower(): WINDOW for n in z.namelist() if n.lower().startswith("xl/worksheets/") and n.endswith(".xml")}
    found = _xmlparts.package(z)
    for name, _state, part in found.sheets if found is not None else ():
        if part is not None:
            out[part.lower()] = LIST_WINDOW if name in layout.ROLLUP_SHEETS else WINDOW
    return out


def _bounded_sheet(xml: bytes, window: tuple[int, int]) -> bytes:
    """A sheet part holding only the cells the reader reads (xltool.formats._sheetxml: `place` and `row_of` are its
    one definition of where a cell is), each under its plain reference, so that openpyxl puts every value where the
    reader read it: cells outside the window, cells whose place is unknown, rows outside the window and anything else
    openpyxl would take for a row or a cell (a <row> elsewhere in the part, a row's child that is no <c>) are
    removed, and so are merges and dimensions reaching outside."""
    from lxml import etree

    root = etree.fromstring(xml, _parser())
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    row_tag, cell_tag = f"{ns}row", f"{ns}c"
    max_rows, max_cols = window
    changed = False
    kept_rows = []
    row = -1
    for data in root.findall(f"{ns}sheetData"):  # the worksheet's own, as the reader reads it
        for element in list(data):
            if element.tag != row_tag:
                continue
            row = row_of(element.get("r"), row)
            col = -1
            for cell in list(element):
                ref = cell.get("r") if cell.tag == cell_tag else None
                found = place(ref) if ref is not None else None
                if found is not None:
                    col = found[1]
                elif ref is None and cell.tag == cell_tag and row != LOST and col != LOST:
                    col += 1
                    found = (row, col, f"{col_letter(col)}{row + 1}") if col < MAX_COLS else None
                else:
                    col = LOST if cell.tag == cell_tag else col
                if found is None or found[0] >= max_rows or found[1] >= max_cols:
                    element.remove(cell)
                    changed = True
                elif ref != found[2]:
                    cell.set("r", found[2])
                    changed = True
            if 0 <= row < max_rows:
                if element.get("r") != str(row + 1):
                    element.set("r", str(row + 1))
                    changed = True
            elif len(element):  # a far or unnumbered row holding cells placed by their own references (D6 in row
                element.attrib.clear()  # 5000): kept without its number or attributes, which openpyxl would put on
                changed = True  # the row after the one before (hidden="1" hiding a table row)
            else:
                data.remove(element)
                changed = True
                continue
            kept_rows.append(element)
    kept = set(kept_rows)
    for stray in [r for r in root.iter(row_tag) if r not in kept]:  # openpyxl reads a <row> anywhere
        stray.getparent().remove(stray)
        changed = True
    for merges in list(root.iter(f"{ns}mergeCells")):
        for merge in list(merges):
            if not _inside(merge.get("ref") or "", window):
                merges.remove(merge)
                changed = True
        if len(merges) == 0:
            merges.getparent().remove(merges)
        else:
            merges.set("count", str(len(merges)))
    for dimension in root.iter(f"{ns}dimension"):
        if not _inside(dimension.get("ref") or "", window):
            dimension.getparent().remove(dimension)  # openpyxl works it out from the cells
            changed = True
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True) if changed else xml


def _inside(ref: str, window: tuple[int, int]) -> bool:
    """A range (or cell) wholly inside the window."""
    found = span(ref)
    return found is not None and max(found[0], found[2]) < window[0] and max(found[1], found[3]) < window[1]


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


WRITERS = [Writer("annotated", "xlsx", ".xlsx", write_annotated, description="标注了问题的副本")]
