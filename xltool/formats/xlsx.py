"""Office Open XML workbooks (.xlsx, .xlsm; Excel and WPS): read returns, write templates/roll-ups, annotate copies."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from xltool import layout
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


READERS = [
    Reader("xlsx", (".xlsx", ".xlsm"), "spreadsheet", read_workbook, parse=parse, description="Excel / WPS 工作簿")
]
WRITERS = [
    Writer("workbook", "xlsx", ".xlsx", write_workbook, description="锁定的 Excel 工作簿（Excel、WPS、LibreOffice）"),
]
