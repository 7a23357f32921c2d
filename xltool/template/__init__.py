"""Template writers: the official tables as a locked workbook (xlsx written directly; ods converted from it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(ods), str(path))
        shutil.rmtree(ods.parent, ignore_errors=True)
    return path


def write_workbook(ret: Return, path: str | os.PathLike, password: str | None = None, **kw) -> Path:
    """Pick the writer from the file name: .ods → write_ods, anything else → write_xlsx."""
    writer = write_ods if str(path).lower().endswith(".ods") else write_xlsx
    return writer(ret, path, password=password, **kw)


__all__ = ["ExtraSheet", "Personal", "write_ods", "write_workbook", "write_xlsx"]
