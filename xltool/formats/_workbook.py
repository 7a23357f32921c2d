"""What the three spreadsheet readers share: the file's bytes read once, classified by content, values by calamine.

The bytes serve everything: the size cap (from stat, before reading), the zip-bomb and XML-bomb checks, the structure
facts (formulas, protection) and the cell values, and the hash a merge records.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from xltool.codes import Code
from xltool.formats import reader_named
from xltool.formats.page import Page, SheetFacts
from xltool.sources import ReadError, sniff


def read_workbook(path: Path) -> Page:
    """Any spreadsheet (xlsx, xlsm, ods, xls), whatever its name says; ReadError when it is unusable."""
    from python_calamine import CalamineError, CalamineWorkbook

    source = sniff(path)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(source.data))
    except (CalamineError, ValueError, OSError) as exc:
        text = str(exc)
        if "password" in text.lower() or "encrypt" in text.lower():
            raise ReadError(
                Code.ENCRYPTED, "文件设置了打开密码（已加密），无法读取；请取消打开密码后重新报送"
            ) from None
        raise ReadError(Code.CORRUPT, f"文件已损坏，无法读取（{text[:80]}）") from None

    def load(name: str):
        try:
            return workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except CalamineError as exc:
            raise ReadError(Code.CORRUPT, f"文件内容损坏，无法读取（{str(exc)[:80]}）") from None

    return Page(
        path,
        source.kind,
        "spreadsheet",
        list(workbook.sheet_names),
        loader=load,
        structure=_structure(source.kind, source.data),
        data=source.data,
    )


def _structure(kind: str, data: bytes) -> dict[str, SheetFacts] | None:
    """The structure facts, from the scanner the reader of this kind registers (None: the format cannot tell)."""
    scan = reader_named(kind).structure
    if scan is None:
        return None
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return scan(z)
