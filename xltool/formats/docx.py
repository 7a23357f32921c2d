"""Word documents (.docx): read published reports; write the report tables (landscape pages for the wide ones)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from xltool.codes import Code
from xltool.formats import Reader, Writer
from xltool.formats._report import MAX_GRID_CELLS, MAX_SPAN, is_word_zip, read_report, stacked
from xltool.formats.html import clean_text
from xltool.formats.page import Grid as CellGrid
from xltool.formats.page import Page
from xltool.model import Return
from xltool.outcomes import NO_ITEMS_TEXT as TABLE_NONE
from xltool.render import (
    DOCX_FONT,
    DOCX_HEADING_FONT,
    WIDE,
    Grid,
    column_widths,
    page_subtitle,
    page_title,
    rollup_summary,
    table_grid,
    table_notes,
)
from xltool.sources import ReadError, check_zip, zip_kind

# --- reading ------------------------------------------------------------------------------------------------------


def docx_page(data: bytes) -> Page:
    """A Word report: every table of the document, one below the other; paragraphs give the text lines."""
    _check_docx(data)
    import docx
    from docx.table import _Cell

    try:
        document = docx.Document(io.BytesIO(data))
        grids, cells = [], 0
        for table in document.tables:
            grid: CellGrid = []
            covered: set[tuple[int, int]] = set()
            for tr in table._tbl.tr_lst:
                row: list[object] = [""] * min(tr.grid_before, MAX_SPAN)
                for tc in tr.tc_lst:
                    # A vertically merged continuation cell is covered: "" like a spreadsheet's merged area.
                    text = "" if tc.vMerge == "continue" else _Cell(tc, table).text
                    span = min(tc.grid_span, MAX_SPAN)
                    covered.update((len(grid), len(row) + i) for i in range(1, span))
                    row += [text] + [""] * (span - 1)
                grid.append(row)
                cells += len(row)
                if cells > MAX_GRID_CELLS:
                    raise ReadError(Code.TOO_LARGE, "Word 文档中的表格大得不合常理，已拒绝读取")
            grids.append((grid, covered))
        lines = [p.text for p in document.paragraphs]
    except ReadError:
        raise
    except Exception as exc:  # python-docx raises many kinds (KeyError, ValueError, lxml errors) on broken files
        raise ReadError(Code.CORRUPT, f"Word 文档已损坏，无法读取（{str(exc)[:80]}）") from None
    return stacked("docx", grids, lines)


def _check_docx(data: bytes) -> None:
    """The spreadsheet reader's zip checks (zip bomb, DTD/entities, encryption) run on the .docx too."""
    kind = zip_kind(check_zip(data))
    if kind in ("xlsx", "ods"):
        raise ReadError(Code.NOT_A_REPORT, f"这是电子表格（{kind}），不是报告原文；统计表请用 xltool check 检查")
    if not is_word_zip(data):
        raise ReadError(Code.NOT_A_REPORT, "是压缩包，但不是 Word（.docx）文档")


def _read(path: Path) -> Page:
    return read_report(path, "docx")


def _sniff(path: Path, head: bytes) -> bool:
    """A Word file under another name (the spreadsheet suffixes excepted: their readers explain what they got)."""
    if path.suffix.lower() in (".xlsx", ".xlsm", ".ods", ".xls") or not head.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


# --- writing ------------------------------------------------------------------------------------------------------

CORE_PROPERTY_CHARS = 255  # python-docx (and Word) refuse a longer title, author or comment


def _xml(text: object) -> str:
    """Text as Word's XML may carry it: control characters, U+FFFE/U+FFFF and lone surrogates removed (python-docx
    raises ValueError on them), as are bidi overrides (see formats.html.clean_text)."""
    return clean_text(text)


def _property(text: str) -> str:
    """A document property (title, author): legal XML and at most 255 characters, cut with "…"."""
    text = " ".join(_xml(text).split())
    return text if len(text) <= CORE_PROPERTY_CHARS else text[: CORE_PROPERTY_CHARS - 1] + "…"


def _east_asia(target, font: str) -> None:
    """Set the Latin and East Asian font of a style or run (python-docx sets only the Latin one)."""
    from docx.oxml.ns import qn

    target.font.name = font
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), font)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):  # a theme font would win
        fonts.attrib.pop(qn(attr), None)


def _page(section, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(20 if landscape else 25)


def _docx_table(doc, grid: Grid, usable_mm: float) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    table = grid.table
    size = Pt(9) if table.width > 10 else Pt(10.5)
    t = doc.add_table(rows=len(grid.rows), cols=table.width)
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    widths = [Mm(w) for w in column_widths(table, usable_mm)]
    for col, width in zip(t.columns, widths, strict=True):
        col.width = width
    # Cells looked up once before merging (Table.cell() rescans the whole table on every call). The merged areas do
    # not overlap, so each area's corner cells are still unmerged when its turn comes.
    cells = [list(row.cells) for row in t.rows]
    for row in cells:
        for cell, width in zip(row, widths, strict=True):
            cell.width = width
    for g in grid.cells():
        cell = cells[g.row][g.col]
        if g.rowspan > 1 or g.colspan > 1:
            cell = cell.merge(cells[g.row + g.rowspan - 1][g.col + g.colspan - 1])
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        para = cell.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.LEFT if g.kind == "row" else WD_ALIGN_PARAGRAPH.CENTER
        para.paragraph_format.space_before = para.paragraph_format.space_after = Pt(0)
        if g.text:
            run = para.add_run(_xml(g.text))
            run.font.size = size
            run.bold = g.kind == "caption"
    if table.layout == "matrix":  # repeat the column headers when the table breaks across pages
        for row in t.rows[: table.header_rows]:
            trpr = row._tr.get_or_add_trPr()
            trpr.append(trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def render_docx(ret: Return, path: str | Path) -> Path:
    """A Word document with the three headings and tables (merged cells, 宋体, borders; wide tables on landscape A4)."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    path = Path(path)
    doc = Document()
    normal = doc.styles["Normal"]
    _east_asia(normal, DOCX_FONT)
    normal.font.size = Pt(10.5)
    for name, size in (("Title", 18), ("Heading 2", 16)):
        style = doc.styles[name]
        _east_asia(style, DOCX_HEADING_FONT)
        style.font.size = Pt(size)
        style.font.bold = name == "Heading 2"
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
    doc.core_properties.title = _property(page_title(ret))
    doc.core_properties.author = _property(ret.unit.name) or "xltool"
    doc.core_properties.comments = "xltool render"

    section = doc.sections[0]
    landscape = ret.form.tables[0].width > WIDE if ret.form.tables else False
    _page(section, landscape)
    title = doc.add_paragraph(_xml(page_title(ret)), style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta = doc.add_paragraph(_xml(page_subtitle(ret)))
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if line := rollup_summary(ret):  # a roll-up: how many units it holds, and who is missing
        counts = doc.add_paragraph(_xml(line))
        counts.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for table in ret.form.tables:
        wide = table.width > WIDE
        if wide != landscape:
            section = doc.add_section(WD_SECTION.NEW_PAGE)
            _page(section, wide)
            landscape = wide
        doc.add_paragraph(_xml(table.title), style="Heading 2")
        if table.id in ret.no_items:
            doc.add_paragraph(TABLE_NONE)
        usable = (section.page_width - section.left_margin - section.right_margin) / Mm(1)
        _docx_table(doc, table_grid(table, ret), usable)
        for note in table_notes(table):
            doc.add_paragraph(_xml(note))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def write_docx(ret: Return, path: Path, **_: object) -> Path:
    return render_docx(ret, path)


READERS = [Reader("docx", (".docx",), "report", _read, sniff=_sniff, parse=docx_page, description="年度报告 Word 文档")]
WRITERS = [Writer("render", "docx", ".docx", write_docx, description="Word 文档（宋体，宽表横排）")]
