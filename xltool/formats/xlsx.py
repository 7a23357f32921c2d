"""Office Open XML workbooks (.xlsx, .xlsm; Excel and WPS): read returns, write templates/roll-ups, annotate copies."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from xltool.formats import Reader, Writer
from xltool.formats._workbook import read_workbook
from xltool.formats.page import SheetFacts

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_WITH_FORMULA = re.compile(rb'<c r="([A-Z]+[0-9]+)"[^>]*>\s*<f[ >/]')
_SHEET_PROTECTION = re.compile(rb"<sheetProtection\b[^>]*\bsheet=\"(?:1|true)\"")


def structure(z: zipfile.ZipFile) -> dict[str, SheetFacts]:
    """Which cells hold formulas and whether each sheet is protected (the DTD check ran first, so regex is safe)."""
    from defusedxml import ElementTree as SafeET

    out: dict[str, SheetFacts] = {}
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
        with z.open(part) as fh:  # bounded by the declared size, which the zip checks have accepted
            xml = fh.read(z.getinfo(part).file_size + 1)
        formulas = {m.decode() for m in _CELL_WITH_FORMULA.findall(xml)}
        out[sheet.get("name")] = SheetFacts(formulas, bool(_SHEET_PROTECTION.search(xml)))
    return out


def write_workbook(ret, path: Path, **kw) -> Path:
    from xltool.template import write_xlsx

    return write_xlsx(ret, path, **kw)


FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}


def write_annotated(source: Path, problems: list, target: Path) -> Path | None:
    """A copy of `source` with each located problem's cell coloured and commented; the original is never written."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    located = [p for p in problems if p.sheet and p.cell]
    if not located:
        return None
    if target.resolve() == source.resolve():
        raise ValueError("标注副本不能覆盖原文件")
    wb = openpyxl.load_workbook(source, keep_vba=source.suffix.lower() == ".xlsm")
    notes: dict[tuple[str, str], list] = {}
    for p in located:
        if p.sheet in wb.sheetnames:
            notes.setdefault((p.sheet, p.cell), []).append(p)
    for (sheet, cell), items in notes.items():
        worst = min(items, key=lambda p: p.severity.rank)
        spot = wb[sheet][cell]
        spot.fill = PatternFill("solid", fgColor=FILLS[worst.severity])
        text = "\n".join(f"【{p.severity.zh}】{p.message}" for p in items)
        spot.comment = Comment(text, "xltool", width=360, height=40 + 18 * text.count("\n") + 18 * (len(text) // 24))
    wb.calculation.fullCalcOnLoad = True  # openpyxl drops cached results; make every viewer recalculate on open
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


READERS = [
    Reader(
        "xlsx", (".xlsx", ".xlsm"), "spreadsheet", read_workbook, structure=structure, description="Excel / WPS 工作簿"
    )
]
WRITERS = [
    Writer("workbook", "xlsx", ".xlsx", write_workbook, description="锁定的 Excel 工作簿（Excel、WPS、LibreOffice）"),
    Writer("annotated", "xlsx", ".xlsx", write_annotated, description="标注了问题的副本"),
]
