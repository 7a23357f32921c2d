"""PDF (.pdf) published reports with a text layer, read with pdfplumber.

- Tables drawn with ruling lines are read as tables (`page.extract_tables()`): merged cells as in a spreadsheet (text
  in the top-left cell, covered cells ""), a table cut by a page break joined back to the part before it when both
  have the same number of columns.
- Without ruling lines (or when the ruled boxes hold none of the tables' labels) the text is read line by line, one table row per line with cells separated by spaces
  (`一、本年新收政府信息公开申请数量 1520 31 0 0 12 2 1565`), by the plain-text reader's row layout.
- A scan (pages without any text) is read by OCR when the optional `ocr` extra is installed (xltool.formats.ocr),
  its numbers placed by the alignment to the form and flagged where the arithmetic does not confirm them; without
  the extra it is refused: “扫描件，没有文字层，无法读取”; nothing is guessed.
"""

from __future__ import annotations

import io
from pathlib import Path

from xltool.codes import Code
from xltool.formats import Reader
from xltool.formats._report import MAX_GRID_CELLS, read_report, stacked
from xltool.formats.page import Grid, Page
from xltool.labels import norm
from xltool.locate import known_labels
from xltool.sources import ReadError

MAX_PAGES = 200  # an annual report is 5–30 pages


def pdf_page(data: bytes) -> Page:
    """A PDF report: its ruled tables one below the other, else its text lines as rows; its text lines for the title."""
    import logging

    try:
        import pdfplumber
        from pdfminer.pdfdocument import PDFPasswordIncorrect
    except ImportError:  # pragma: no cover - a dependency
        raise ReadError(Code.NOT_A_REPORT, "读取 PDF 需要安装 pdfplumber（pip install pdfplumber）") from None
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise ReadError(
                    Code.TOO_LARGE, f"PDF 有 {len(pdf.pages)} 页，超过 {MAX_PAGES} 页上限；请只导入年度报告"
                )
            lines: list[str] = []
            tables: list[tuple[Grid, set[tuple[int, int]]]] = []
            chars = cells = 0
            last_bottom = 0.0  # where the last table of the page before ended (fraction of the page height)
            for page in pdf.pages:
                chars += len(page.chars)
                text = page.extract_text() or ""
                lines += text.splitlines()
                found = sorted(page.find_tables(), key=lambda t: t.bbox[1])
                for n, table in enumerate(found):
                    grid, covered = _grid(table.extract())
                    cells += sum(len(row) for row in grid)
                    if cells > MAX_GRID_CELLS:
                        raise ReadError(Code.TOO_LARGE, "PDF 中的表格大得不合常理，已拒绝读取")
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
    except ReadError:
        raise
    except PDFPasswordIncorrect:
        raise ReadError(Code.ENCRYPTED, "PDF 设置了打开密码（已加密），无法读取；请取消密码后导入") from None
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
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
        f"扫描件：已用文字识别（OCR）读取 {len(seconds)} 页（每页约 {sum(seconds) / len(seconds):.1f} 秒），"
        "识别出的数字请与原件核对"
    )
    return page


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
