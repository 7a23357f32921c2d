"""OpenDocument spreadsheets (.ods; LibreOffice): read returns; write templates/roll-ups via LibreOffice."""

from __future__ import annotations

import zipfile
from pathlib import Path

from xltool.formats import Reader, Writer
from xltool.formats._workbook import read_workbook
from xltool.formats.page import SheetFacts
from xltool.forms import col_letter

_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_MAX_REPEAT = 1024  # rows and columns past the used area come as one huge repeat; they hold no formulas


def structure(z: zipfile.ZipFile) -> dict[str, SheetFacts]:
    """Which cells hold formulas (expanding row/column repeats) and whether each sheet is protected."""
    from defusedxml import ElementTree as SafeET

    out: dict[str, SheetFacts] = {}
    with z.open("content.xml") as fh:
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
                out[name] = SheetFacts(formulas, protected)
    return out


def write_workbook(ret, path: Path, **kw) -> Path:
    from xltool.template import write_ods

    return write_ods(ret, path, **kw)


READERS = [
    Reader("ods", (".ods",), "spreadsheet", read_workbook, structure=structure, description="LibreOffice 电子表格")
]
WRITERS = [Writer("workbook", "ods", ".ods", write_workbook, description="OpenDocument 工作簿（需要 LibreOffice）")]
