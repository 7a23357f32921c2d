"""Legacy Excel 97–2003 workbooks (.xls): read only (values; no structure facts)."""

from __future__ import annotations

from xltool.formats import Reader
from xltool.formats._workbook import calamine_page, read_workbook


def parse(data: bytes):
    """Values only: an xls cannot hold more than 65,536 x 256 cells, and carries no structure facts we read."""
    return calamine_page("xls", data)


READERS = [
    Reader("xls", (".xls",), "spreadsheet", read_workbook, parse=parse, description="Excel 97–2003 工作簿（只读）")
]
