"""PDF (.pdf) published reports with a text layer, read with pdfplumber.

- Tables drawn with ruling lines are read as tables (`page.extract_tables()`): merged cells as in a spreadsheet (text
  in the top-left cell, covered cells ""), a table cut by a page break joined back to the part before it when both
  have the same number of columns.
- Without ruling lines (or when the ruled boxes hold none of the tables' labels) the text is read line by line, one table row per line with cells separated by spaces
  (`一、本年新收政府信息公开申请数量 1520 31 0 0 12 2 1565`), by the plain-text reader's row layout.
- A scan (pages without any text) is read by OCR when the optional `ocr` extra is installed (xltool.formats.ocr),
  its numbers placed by the alignment to the form and flagged where the arithmetic does not confirm them; without
  the extra it is refused: “扫描件，没有文字层，无法读取”; nothing is guessed.
- Bounded before the work is done, each refused as TOO-LARGE: pages (MAX_PAGES); each page's content as inflated
  (MAX_PAGE_CONTENT, MAX_CONTENT in all) and the path operators in it (MAX_PAGE_PATHS), both found by inflating with
  a cap before pdfminer decodes and parses the page; drawn lines and boxes per page (MAX_PAGE_GRAPHICS: finding
  ruled tables grows with them); characters per page; and time (MAX_SECONDS, checked between pages, well inside the
  worker's time limit). Memory stays about one page's worth.
- An encrypted PDF is ENCRYPTED, as an encrypted workbook is.
"""

from __future__ import annotations

import io
import re
import time
import zlib
from pathlib import Path

from xltool.codes import Code
from xltool.formats import Reader
from xltool.formats._report import MAX_GRID_CELLS, read_report, stacked, too_large
from xltool.formats.page import Grid, Page
from xltool.labels import norm
from xltool.locate import known_labels
from xltool.sources import ReadError

MAX_PAGES = 200  # an annual report is 5–30 pages
MAX_PAGE_CONTENT = 1024 * 1024  # a page's content streams and forms inflated (a page of a report: under 200 KB)
MAX_CONTENT = 32 * 1024 * 1024  # all pages' content inflated
MAX_PAGE_GRAPHICS = 10_000  # lines, boxes and curves drawn on one page (a ruled statistics table: hundreds)
MAX_PAGE_PATHS = 40_000  # path operators (m l c v y re) in a page's content, counted before pdfminer parses it
MAX_PAGE_CHARS = 50_000  # characters on one page (a dense A4 page: about 3,000)
MAX_SECONDS = 30.0  # reading the whole PDF (a report takes a second or two)


def pdf_page(data: bytes) -> Page:
    """A PDF report: its ruled tables one below the other, else its text lines as rows; its text lines for the title."""
    import logging

    try:
        import pdfplumber
    except ImportError:  # pragma: no cover - a dependency
        raise ReadError(Code.NOT_A_REPORT, "读取 PDF 需要安装 pdfplumber（pip install pdfplumber）") from None
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    deadline = time.monotonic() + MAX_SECONDS
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise too_large(f"PDF 有 {len(pdf.pages)} 页，超过 {MAX_PAGES} 页上限")
            lines: list[str] = []
            tables: list[tuple[Grid, set[tuple[int, int]]]] = []
            chars = cells = content = 0
            last_bottom = 0.0  # where the last table of the page before ended (fraction of the page height)
            for number, page in enumerate(pdf.pages, 1):
                content += _content_size(page.page_obj, number, MAX_CONTENT - content)
                _in_time(deadline)
                page_chars = len(page.chars)
                if page_chars > MAX_PAGE_CHARS:
                    raise too_large(f"PDF 第 {number} 页有 {page_chars} 个字符（上限 {MAX_PAGE_CHARS} 个）")
                graphics = len(page.lines) + len(page.rects) + len(page.curves)
                if graphics > MAX_PAGE_GRAPHICS:
                    raise too_large(
                        f"PDF 第 {number} 页画有 {graphics} 条线和框（上限 {MAX_PAGE_GRAPHICS} 个），不像统计表"
                    )
                chars += page_chars
                text = page.extract_text() or ""
                lines += text.splitlines()
                found = sorted(page.find_tables(), key=lambda t: t.bbox[1])
                for n, table in enumerate(found):
                    grid, covered = _grid(table.extract())
                    cells += sum(len(row) for row in grid)
                    if cells > MAX_GRID_CELLS:
                        raise too_large("PDF 中的表格大得不合常理")
                    if (
                        n == 0
                        and tables
                        and last_bottom > 0.75
                        and _continues(tables[-1][0], grid, table.bbox[1] / page.height)
                    ):
                        prev, prev_covered = tables[-1]
                        prev_covered.update((r + len(prev), c) for r, c in covered)
                        prev.extend(grid)
                    else:
                        tables.append((grid, covered))
                last_bottom = max((t.bbox[3] for t in found), default=0.0) / page.height
                page.close()  # what pdfplumber kept of the page (its objects) is freed: memory stays one page's
                _in_time(deadline)
    except ReadError:
        raise
    except MemoryError:
        raise  # the worker's MEMORY-LIMIT, not CORRUPT
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        if _encrypted(exc):
            raise ReadError(Code.ENCRYPTED, "PDF 设置了打开密码（已加密），无法读取；请取消密码后导入") from None
        raise ReadError(Code.CORRUPT, f"PDF 文件已损坏或无法解析（{type(exc).__name__}）") from None
    if chars == 0:
        return _scanned(data)
    known = known_labels().labels
    if any(norm(v) in known for grid, _ in tables for row in grid for v in row if v):  # ruled statistics tables
        page_ = stacked("pdf", tables, lines)
    else:
        from xltool.formats.text import row_page

        page_ = row_page(lines, "pdf")
    return page_


def _scanned(data: bytes) -> Page:
    """A scan: read by OCR when the `ocr` extra is installed (xltool.formats.ocr), refused otherwise."""
    from xltool.formats import ocr

    if not ocr.available():
        raise ReadError(
            Code.NOT_A_REPORT,
            "扫描件，没有文字层，无法读取；请安装文字识别组件（pip install xltool[ocr]）后重试，"
            "或向发布单位索取带文字的 PDF、网页或 Word 版本",
        )
    from xltool.formats.text import text_page

    lines, seconds = ocr.pdf_lines(data)
    if not any(line.strip() for line in lines):
        raise ReadError(Code.NOT_A_REPORT, "扫描件，文字识别（OCR）没有识别出文字，无法读取；请核对文件")
    page = text_page("\n".join(lines))
    page.format = "pdf"
    page.ocr = True  # type: ignore[attr-defined]
    page.notes.append(
        f"扫描件：已用文字识别（OCR）读取前 {len(seconds)} 页（每页约 {sum(seconds) / len(seconds):.1f} 秒），"
        "识别出的数字请与原件核对"
    )
    return page


def _encrypted(exc: BaseException) -> bool:
    """The error says the PDF needs a password: pdfminer's own error, or pdfplumber's wrapping of it."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if type(item).__name__ in ("PDFPasswordIncorrect", "PDFEncryptionError", "PDFEncryptionWarning"):
            return True
        todo += [item.__cause__, item.__context__, *item.args]
    return False


def _in_time(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise too_large(f"PDF 内容过于复杂，{MAX_SECONDS:g} 秒内未能读完")


_PATH_OPERATOR = re.compile(rb"(?<![^\s\]>)])(?:m|l|c|v|y|re)(?=[\s\[</(%]|$)")


def _content_size(page_obj, number: int, room: int) -> int:
    """The inflated size of a page's content streams and of the forms it draws, found by inflating each with a cap
    (pdfminer would inflate them whole), and their path operators counted: TOO-LARGE past MAX_PAGE_CONTENT (or past
    `room` left of MAX_CONTENT) or MAX_PAGE_PATHS. Images are not counted: pdfminer does not decode them."""
    from pdfminer.pdftypes import resolve1

    limit = min(MAX_PAGE_CONTENT, room)
    contents = page_obj.contents
    streams = [resolve1(c) for c in contents] if isinstance(contents, list) else [resolve1(contents)]
    xobjects = resolve1((resolve1(page_obj.resources) or {}).get("XObject")) or {}
    for x in xobjects.values() if isinstance(xobjects, dict) else []:
        x = resolve1(x)
        if str(getattr(getattr(x, "get", lambda _: None)("Subtype"), "name", "")) == "Form":
            streams.append(x)
    total = paths = 0
    for stream in streams:
        data = _inflated(stream, limit - total)
        total += len(data)
        if total > limit:
            raise too_large(f"PDF 第 {number} 页的内容解压后超过 {limit / 1048576:.0f} MB，远超年度报告的正常大小")
        paths += sum(1 for _ in zip(_PATH_OPERATOR.finditer(data), range(MAX_PAGE_PATHS + 1), strict=False))
        if paths > MAX_PAGE_PATHS:
            raise too_large(f"PDF 第 {number} 页画有超过 {MAX_PAGE_PATHS} 段线条，不像统计表")
    return total


def _inflated(stream, room: int) -> bytes:
    """A stream's bytes once its filters are undone, inflated at most `room` + 1 bytes (so a bomb stops early); a
    stream pdfminer has already decoded, or one with other filters, as its bytes."""
    raw = getattr(stream, "rawdata", None)
    if raw is None:
        data = getattr(stream, "data", None)
        return bytes(data) if isinstance(data, (bytes, bytearray)) else b""
    filters = [str(getattr(f, "name", f)) for f, _ in stream.get_filters()]
    if filters not in (["FlateDecode"], ["Fl"]):
        return raw
    try:
        return zlib.decompressobj().decompress(raw, max(room, 0) + 1)
    except zlib.error:
        return raw  # damaged: pdfminer decides what it makes of it


def _continues(prev: Grid, grid: Grid, top: float) -> bool:
    """A table at the top of a page (`top` as a fraction of its height) with as many columns as the one before."""
    return top < 0.2 and max((len(r) for r in prev), default=0) == max((len(r) for r in grid), default=-1)


def _grid(rows: list[list[str | None]]) -> tuple[Grid, set[tuple[int, int]]]:
    """pdfplumber's table: None for a cell covered by a merge; text with line breaks where it wrapped."""
    grid: Grid = []
    covered: set[tuple[int, int]] = set()
    for r, row in enumerate(rows):
        out: list[object] = []
        for c, v in enumerate(row):
            if v is None:
                covered.add((r, c))
                out.append("")
            else:
                out.append(v)
        grid.append(out)
    return grid, covered


def _sniff(_: Path, head: bytes) -> bool:
    return head.lstrip()[:5].lower() == b"%pdf-"


def _read(path: Path) -> Page:
    return read_report(path, "pdf")


# No suffix: a .pdf named on the command line is taken by its content (sniff), while PDFs lying in a folder of returns
# (notices, instructions) stay listed as ignored by xltool.discover instead of being read as reports.
READERS = [Reader("pdf", (), "report", _read, sniff=_sniff, parse=pdf_page, description="年度报告 PDF（带文字层）")]
