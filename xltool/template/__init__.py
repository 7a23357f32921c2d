"""Template writers: the official tables as a locked workbook (xlsx written directly; ods converted from it).

Which one a file name asks for is decided by the `workbook` writers in xltool.formats."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from xltool import safewrite
from xltool.model import Return
from xltool.template.xlsx import ExtraSheet, Personal, write_xlsx


def write_ods(ret: Return, path: str | os.PathLike, password: str | None = None, **kw) -> Path:
    """The same workbook as OpenDocument: written as xlsx, converted by LibreOffice (recalculated), structure locked."""
    from xltool.office import convert, lock_ods_structure

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="xltool-") as tmp:
        xlsx = write_xlsx(ret, Path(tmp) / (path.stem + ".xlsx"), password=password, **kw)
        ods = convert(xlsx, "ods")
        lock_ods_structure(ods)
        try:
            with safewrite.replacing(path) as out:  # copied in: the temporary folder may be on another disk
                shutil.copyfile(ods, out)
        finally:
            shutil.rmtree(ods.parent, ignore_errors=True)
    return path


__all__ = ["ExtraSheet", "Personal", "write_ods", "write_xlsx"]
