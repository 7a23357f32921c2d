"""Legacy Excel 97–2003 workbooks (.xls): read only, bounded and with their facts, like an xlsx."""

from __future__ import annotations

from xltool.formats import Reader
from xltool.formats._bounded import LIST_WINDOW
from xltool.formats._workbook import calamine_page, read_workbook, refuse_duplicate_sheets
from xltool.formats.page import Page
from xltool.formats.xlsx import LIST_SHEETS


def parse(data: bytes) -> Page:
    """The records walked first (xltool.formats._biff): formulas, unsafe formulas, protection, hidden and merged
    cells, sheet states; cells outside the window neutralised before calamine reads the values."""
    from xltool.formats import _biff

    book = _biff.read(data, {name: LIST_WINDOW for name in LIST_SHEETS})
    refuse_duplicate_sheets(book.names)
    page = calamine_page("xls", data if book.stream is None else _biff.neutralised_file(data, book))
    page.structure, page.sheet_states, page.parts = book.facts, book.states, book.parts
    return page


READERS = [
    Reader("xls", (".xls",), "spreadsheet", read_workbook, parse=parse, description="Excel 97–2003 工作簿（只读）")
]
