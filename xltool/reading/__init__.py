"""Reading, one pipeline of named stages: any file → a reader from xltool.formats → a Page → a Return.

`read(path)` picks the reader (by content where it can tell, else by name); `assemble(page)` runs the stages:
- `identify`: which form and year (our workbook metadata, else the tables' labels and the titles);
- `sheets`: a spreadsheet's tables, 填报说明 and 说明 (values from the input cells only);
- `reports`: a published report's tables, numbers as printed, figures quoted in its text;
- `integrity`: what a file carries besides values (outside references, macros, far cells) and what was changed in
  our own workbook where a township should not change it.
Totals and checks are recomputed by the checker, never taken from cached results — except that a published report's
printed totals are kept, so its own arithmetic is checked.
"""

from __future__ import annotations

from pathlib import Path

from xltool import formats
from xltool.formats.page import Page
from xltool.model import Return
from xltool.reading.reports import from_report
from xltool.reading.sheets import from_workbook
from xltool.sources import ReadError, sniff

__all__ = ["ReadError", "assemble", "is_report", "read", "read_page"]


def read(path: str | Path) -> Return:
    """Read one file (a filled return or a published report) into a Return; ReadError when it cannot be used."""
    return assemble(read_page(Path(path)))


def read_page(path: str | Path) -> Page:
    path = Path(path)
    reader = formats.reader_for(path)
    if reader is None:  # no reader by name or content: let the byte sniffer say what it is (or refuse it)
        kind = sniff(path).kind
        reader = next(r for r in formats.readers("spreadsheet") if r.name == kind)
    return reader.read(path)


def assemble(page: Page) -> Return:
    return from_workbook(page) if page.kind == "spreadsheet" else from_report(page)


def is_report(path: str | Path) -> bool:
    """True for a file the published-report readers take (by name, or by content under another name)."""
    reader = formats.reader_for(Path(path))
    return reader is not None and reader.kind == "report"
