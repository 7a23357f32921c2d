"""Legacy Excel 97–2003 workbooks (.xls): read only (values; no structure facts)."""

from __future__ import annotations

from xltool.formats import Reader
from xltool.formats._workbook import read_workbook

READERS = [Reader("xls", (".xls",), "spreadsheet", read_workbook, description="Excel 97–2003 工作簿（只读）")]
