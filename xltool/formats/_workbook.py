"""What the three spreadsheet readers share: the file's bytes read once and classified by content, then parsed by the
reader of that kind (whatever the file's name says), and calamine for the cell values of xlsx and xls.

The bytes serve everything: the size cap (from stat, before reading), the zip-bomb and XML-bomb checks, the structure
facts (formulas, protection, hidden and merged cells), the cell values, and the hash a merge records.
"""

from __future__ import annotations

import io
from pathlib import Path

from xltool.codes import Code
from xltool.formats import native_reader, reader_named
from xltool.formats.page import Grid, Page
from xltool.sources import ReadError, sniff


def read_workbook(path: Path) -> Page:
    """Any spreadsheet (xlsx, xlsm, ods, xls), whatever its name says; ReadError when it is unusable."""
    source = sniff(path)
    parse = reader_named(source.kind).parse
    assert parse is not None, source.kind
    try:
        page = parse(source.data)
    except (ReadError, MemoryError):
        raise  # a file too large for the memory limit is the pool's MEMORY-LIMIT, not CORRUPT
    except Exception as exc:  # XML and zip parsers raise many kinds on a damaged file: it is CORRUPT, not a crash
        raise ReadError(Code.CORRUPT, f"文件已损坏，无法读取（{type(exc).__name__}: {str(exc)[:80]}）") from None
    page.path, page.data = path, source.data
    return page


def calamine_page(fmt: str, data: bytes, window: dict[str, tuple[int, int]] | None = None) -> Page:
    """Values by calamine; `window` bounds the grid returned per sheet (xls cannot be cut before parsing)."""
    native_reader("calamine")
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        text = str(exc)
        if "password" in text.lower() or "encrypt" in text.lower():
            raise ReadError(
                Code.ENCRYPTED, "文件设置了打开密码（已加密），无法读取；请取消打开密码后重新报送"
            ) from None
        raise ReadError(Code.CORRUPT, f"文件已损坏，无法读取（{text[:80]}）") from None

    def load(name: str) -> Grid:
        try:
            return workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except MemoryError:
            raise
        except Exception as exc:  # calamine's own errors, and whatever a damaged part makes it raise
            raise ReadError(Code.CORRUPT, f"文件内容损坏，无法读取（{str(exc)[:80] or type(exc).__name__}）") from None

    return Page(Path(), fmt, "spreadsheet", list(workbook.sheet_names), loader=load)


def refuse_duplicate_sheets(names: list[str]) -> None:
    """Two sheets of one name (Excel compares names without letter case and would repair the file): which one a
    reader takes is anyone's guess, so the file is refused."""
    seen: set[str] = set()
    twice = []
    for name in names:
        key = name.casefold()
        if key in seen:
            twice.append(name)
        seen.add(key)
    if twice:
        raise ReadError(
            Code.DUPLICATE_SHEETS,
            f"工作簿中有重名的工作表（{'、'.join(twice[:3])}），无法确定哪一张是报表，已拒绝读取；请删除重名的工作表后重新报送",
        )
