"""Word documents (.docx): read published reports; write the report tables (landscape pages for the wide ones)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from xltool import safewrite
from xltool.codes import Code
from xltool.formats import Reader, Writer
from xltool.formats._report import MAX_GRID_CELLS, MAX_SPAN, is_word_zip, read_report, stacked
from xltool.formats.html import clean_text
from xltool.formats.page import Grid as CellGrid
from xltool.formats.page import Page
from xltool.outcomes import NO_ITEMS_TEXT as TABLE_NONE
from xltool.sources import ReadError, check_zip, zip_kind

if TYPE_CHECKING:
    from xltool.annual import AnnualReport
    from xltool.model import Return
    from xltool.render import Grid

# The writers' tools (python-docx, xltool.render) are imported when a document is written: reading a report, or
# listing the formats, does not load them.

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


WIDE_TABLE_COLUMNS = 9  # 三 (10 columns) and 四 (15) in 9 pt: 三 then fits one landscape page with its heading
CELL_MARGINS_MM = 3.8  # Word's default left and right cell margins (0.19 cm each)


def _widths(table, usable_mm: float, size_pt: float) -> list[float] | None:
    """Table 三's columns in mm: a count's column holds four characters (商业企业, 社会公益/组织), the first label
    column five (三、本年度/办理结果), the second seven ((三）不予公开), the row labels the rest; None for the others
    (xltool.render.column_widths)."""
    values = {c.col for c in table.cells}
    labels = [c for c in range(table.width) if c not in values]
    if table.layout != "matrix" or len(labels) != 3:
        return None
    char_mm = size_pt * 25.4 / 72
    value, first, second = (n * char_mm + CELL_MARGINS_MM + 0.6 for n in (4, 5, 7))
    rest = usable_mm - value * len(values) - first - second
    if rest < 2 * second:
        return None
    fixed = dict(zip(labels, (first, second, rest), strict=True))
    return [fixed.get(c, value) for c in range(table.width)]


def _docx_table(doc, grid: Grid, usable_mm: float):
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    from xltool.render import column_widths

    table = grid.table
    size = Pt(9) if table.width > WIDE_TABLE_COLUMNS else Pt(10.5)
    t = doc.add_table(rows=len(grid.rows), cols=table.width)
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    widths = [Mm(w) for w in _widths(table, usable_mm, size.pt) or column_widths(table, usable_mm)]
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
            trpr.append(trpr.makeelement(qn("w:tblHeader"), {}))  # on by default (w:val="true" fails the schema)
    return t


def render_docx(ret: Return, path: str | Path) -> Path:
    """A Word document with the three headings and tables (merged cells, 宋体, borders; wide tables on landscape A4)."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    from xltool.render import (
        DOCX_FONT,
        DOCX_HEADING_FONT,
        WIDE,
        page_subtitle,
        page_title,
        rollup_summary,
        table_grid,
        table_notes,
    )

    path = Path(path)
    doc = Document()
    _drop_styles_with_effects(doc)
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
    with safewrite.replacing(path) as tmp:
        doc.save(str(tmp))
    return path


def write_docx(ret: Return, path: Path, **_: object) -> Path:
    return render_docx(ret, path)


# --- the annual report (xltool report): GB/T 9704 layout ---------------------------------------------------------

# GB/T 9704-2012 on A4: margins top 37, bottom 35, left 28, right 26 mm give the 156 × 225 mm 版心; 22 lines of 3号
# (16 pt) text per page, so a line pitch of 225 mm / 22 ≈ 28.95 pt. The wide tables (三, 四) go on landscape A4
# sections with the same 版心 turned (225 × 156 mm).
GBT_PORTRAIT_MM = (37.0, 35.0, 28.0, 26.0)  # top, bottom, left, right
GBT_LANDSCAPE_MM = (28.0, 26.0, 37.0, 35.0)
LINE_PT = 28.95
TITLE_LINE_PT = 36.0
BODY_PT, TITLE_PT, PAGE_NUMBER_PT, NOTE_PT = 16.0, 22.0, 14.0, 14.0
TITLE_CHARS = 20  # 2号 characters on one line of the 156 mm 版心 (442 pt / 22 pt)
LATIN_FONT = "Times New Roman"  # digits and Latin letters in the body
TITLE_FONT, BODY_FONT, HEADING1_FONT, HEADING2_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312"
TABLE_FONT = PAGE_NUMBER_FONT = "宋体"
# The font table tells Word and WPS what to use on a machine without the font: alternative names, then the family
# and character set (86 = GB2312). w:altName may hold a comma-separated list (ECMA-376 §17.8.3.1).
FONT_FALLBACKS = {
    TITLE_FONT: ("华文中宋,宋体", "roman"),
    BODY_FONT: ("仿宋", "roman"),
    HEADING1_FONT: ("SimHei", "swiss"),
    HEADING2_FONT: ("楷体", "roman"),
    "宋体": ("SimSun", "roman"),
}
PLACEHOLDER_BRACKETS = ("【", "】")
TABLE_STYLE, TABLE_NOTE_STYLE = "表格文字", "表注"


def _rfonts(target, east: str, latin: str = LATIN_FONT) -> None:
    """A style's or run's fonts: `east` for Chinese (w:eastAsia), `latin` for digits and letters; no theme fonts."""
    _east_asia(target, east)
    fonts = target.element.get_or_add_rPr().find(_qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(_qn(attr), latin)


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _indent_chars(pf, chars: int, size_pt: float) -> None:
    """First-line indent in characters (w:firstLineChars, what Word's 首行缩进 2 字符 writes), with the same
    indent in points for readers that ignore the character unit."""
    from docx.shared import Pt

    pf.first_line_indent = Pt(chars * size_pt)
    ind = pf._element.get_or_add_pPr().find(_qn("w:ind"))
    ind.set(_qn("w:firstLineChars"), str(chars * 100))


def _exact_lines(pf, points: float) -> None:
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Pt

    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(points)
    pf.space_before = pf.space_after = Pt(0)


def _style(doc, name: str, east: str, size: float, *, base: str = "Normal", latin: str = LATIN_FONT):
    """A paragraph style (the built-in one of that name, else a new one based on `base`) with its fonts and size,
    black, neither bold nor italic."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    try:
        style = doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles[base]
        style.quick_style = True
    _rfonts(style, east, latin)
    style.font.size = Pt(size)
    style.font.bold = style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    return style


def _annual_styles(doc) -> None:
    """正文 仿宋_GB2312 3号, fixed 28.95 pt lines, indented two characters; 标题 小标宋 2号; 一级标题 黑体 3号; 二级标题
    楷体 3号; tables 宋体; page numbers 宋体 4号. Chinese is the documents' East Asian language."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    defaults = doc.styles.element.find(f"{_qn('w:docDefaults')}/{_qn('w:rPrDefault')}/{_qn('w:rPr')}")
    lang = defaults.find(_qn("w:lang"))
    if lang is not None:
        lang.set(_qn("w:eastAsia"), "zh-CN")
    normal = _style(doc, "Normal", BODY_FONT, BODY_PT)
    normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    normal.paragraph_format.widow_control = True
    _exact_lines(normal.paragraph_format, LINE_PT)
    _indent_chars(normal.paragraph_format, 2, BODY_PT)

    title = _style(doc, "Title", TITLE_FONT, TITLE_PT)
    ppr = title.element.get_or_add_pPr()
    for el in ppr.findall(_qn("w:pBdr")) + ppr.findall(_qn("w:contextualSpacing")):
        ppr.remove(el)
    rpr = title.element.get_or_add_rPr()
    for el in rpr.findall(_qn("w:spacing")) + rpr.findall(_qn("w:kern")):
        rpr.remove(el)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _exact_lines(title.paragraph_format, TITLE_LINE_PT)
    _indent_chars(title.paragraph_format, 0, TITLE_PT)
    title.paragraph_format.space_after = Pt(LINE_PT)  # 标题下空一行
    title.paragraph_format.keep_with_next = True

    for name, font in (("Heading 1", HEADING1_FONT), ("Heading 2", HEADING2_FONT)):
        heading = _style(doc, name, font, BODY_PT)
        _exact_lines(heading.paragraph_format, LINE_PT)
        heading.paragraph_format.keep_with_next = True

    table = _style(doc, TABLE_STYLE, TABLE_FONT, 10.5)
    table.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table.paragraph_format.line_spacing = 1.0
    table.paragraph_format.space_before = table.paragraph_format.space_after = Pt(0)
    _indent_chars(table.paragraph_format, 0, 10.5)

    note = _style(doc, TABLE_NOTE_STYLE, BODY_FONT, NOTE_PT)
    note.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    _exact_lines(note.paragraph_format, 22)
    _indent_chars(note.paragraph_format, 0, NOTE_PT)

    footer = _style(doc, "Footer", PAGE_NUMBER_FONT, PAGE_NUMBER_PT, latin=PAGE_NUMBER_FONT)  # 半角宋体数字
    footer.paragraph_format.line_spacing = 1.0
    _indent_chars(footer.paragraph_format, 0, PAGE_NUMBER_PT)
    header = _style(doc, "Header", BODY_FONT, BODY_PT)
    header.paragraph_format.line_spacing = 1.0
    _indent_chars(header.paragraph_format, 0, BODY_PT)


def _declare_fonts(doc) -> None:
    """word/fontTable.xml: each Chinese font with its alternative names, family, pitch and the GB2312 charset, so a
    machine without 方正小标宋简体 or 仿宋_GB2312 substitutes a font of the same kind."""
    from lxml import etree

    part = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    root = etree.fromstring(part.blob)
    for el in root.findall(_qn("w:font")):
        if el.get(_qn("w:name")) in FONT_FALLBACKS:
            root.remove(el)
    for name, (alt, family) in FONT_FALLBACKS.items():
        font = etree.SubElement(root, _qn("w:font"), {_qn("w:name"): name})
        etree.SubElement(font, _qn("w:altName"), {_qn("w:val"): alt})
        etree.SubElement(font, _qn("w:charset"), {_qn("w:val"): "86"})
        etree.SubElement(font, _qn("w:family"), {_qn("w:val"): family})
        etree.SubElement(font, _qn("w:pitch"), {_qn("w:val"): "variable"})
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _drop_styles_with_effects(doc) -> None:
    """python-docx's template carries Word 2010's stylesWithEffects.xml; once styles.xml is changed the two disagree
    (the validator warns Word may call that unreadable content), and Word rebuilds the part when it needs it."""
    for rid, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            del doc.part.rels[rid]


def _gbt_page(section, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    top, bottom, left, right = GBT_LANDSCAPE_MM if landscape else GBT_PORTRAIT_MM
    section.top_margin, section.bottom_margin = Mm(top), Mm(bottom)
    section.left_margin, section.right_margin = Mm(left), Mm(right)
    section.header_distance = Mm(15)
    # The page number's top 7 mm below the 版心 (GB/T 9704 §7.5): a 4号 line is about 6 mm high.
    section.footer_distance = Mm(bottom - 7 - 6)


def _page_number(footer, odd: bool) -> None:
    """“— 1 —” in 宋体 4号: odd pages at the right, even pages at the left, one character in from the edge."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.shared import Pt

    footer.is_linked_to_previous = False
    para = footer.paragraphs[0]
    para.style = "Footer"
    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    if odd:
        para.paragraph_format.right_indent = Pt(PAGE_NUMBER_PT)
    else:
        para.paragraph_format.left_indent = Pt(PAGE_NUMBER_PT)
    para.add_run("— ")
    for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None), (None, None), ("end", None)):
        run = para.add_run()
        if kind is not None:
            run._r.append(OxmlElement("w:fldChar", {_qn("w:fldCharType"): kind}))
        elif instr is not None:
            el = OxmlElement("w:instrText")
            el.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            el.text = instr
            run._r.append(el)
        else:
            run.text = "1"
    para.add_run(" —")


def _title_lines(title: str) -> list[str]:
    """The title on one line, or on two when it is longer than a line: broken before the year, so the unit stands
    on the first line and “2025年政府信息公开工作年度报告” on the second (a line break the title carries is kept)."""
    lines = [line.strip() for line in _xml(title).split("\n") if line.strip()]
    if len(lines) != 1 or len(lines[0]) <= TITLE_CHARS:
        return lines
    text = lines[0]
    m = re.search(r"(?:19|20)\d\d\s*年", text)
    if m and 0 < m.start() <= TITLE_CHARS and len(text) - m.start() <= TITLE_CHARS:
        return [text[: m.start()], text[m.start() :]]
    return lines


def _title(doc, text: str) -> None:
    """The title, centred, on as many lines as `_title_lines` gives (one paragraph, lines broken by w:br)."""
    lines = _title_lines(text)
    title = doc.add_paragraph(style="Title")
    for n, line in enumerate(lines):
        run = title.add_run(line)
        if n < len(lines) - 1:
            run.add_break()


def _placeholder_run(para, text: str) -> None:
    """A part the author must write: in 【】, highlighted yellow (prints as light grey, still legible)."""
    from docx.enum.text import WD_COLOR_INDEX

    text = _xml(text).strip()
    left, right = PLACEHOLDER_BRACKETS
    if not text.startswith(left):
        text = left + text
    if not text.endswith(right):
        text += right
    run = para.add_run(text)
    run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _landscape_blocks(blocks, tables: dict) -> set[int]:
    """Indices of the blocks on landscape pages: each wide table, with its notes after it and its own level-1
    heading before it (with up to two blocks between heading and table)."""
    from xltool.render import WIDE

    out: set[int] = set()
    for i, block in enumerate(blocks):
        table = tables.get(block.table_id) if block.kind == "table" else None
        if table is None or table.width <= WIDE:
            continue
        start = i
        for j in range(i - 1, max(i - 4, -1), -1):
            if blocks[j].kind == "table":
                break
            if blocks[j].kind == "heading" and blocks[j].level <= 1:
                start = j
                break
        end = i
        while end + 1 < len(blocks) and blocks[end + 1].kind == "note":
            end += 1
        out.update(range(start, end + 1))
    return out


def _keep_table(t, together: bool, with_next: bool) -> None:
    """No row split across pages; a table shorter than a page (二) kept on one page, and the last row kept with the
    note under the table, so a note never stands alone at the top of a page."""
    rows = t._tbl.tr_lst
    for n, tr in enumerate(rows):
        trpr = tr.get_or_add_trPr()
        trpr.insert(0, trpr.makeelement(_qn("w:cantSplit"), {}))
        if (together and n < len(rows) - 1) or (with_next and n == len(rows) - 1):
            for p in tr.iter(_qn("w:p")):
                p.get_or_add_pPr().keepNext_val = True


def _section_break_paragraph(doc) -> None:
    """The paragraph that carries a section break takes no room (it would otherwise push a page-long table on)."""
    para = doc.paragraphs[-1]
    _exact_lines(para.paragraph_format, 1)
    _indent_chars(para.paragraph_format, 0, 1)
    ppr = para._p.get_or_add_pPr()
    rpr = ppr.makeelement(_qn("w:rPr"), {})
    rpr.append(rpr.makeelement(_qn("w:sz"), {_qn("w:val"): "2"}))
    ppr.sectPr.addprevious(rpr)


def write_annual_docx(report: AnnualReport, path: Path, **_: object) -> Path:
    """The annual report as a Word document laid out by GB/T 9704: title, headings, prose, placeholders to fill
    in, and the statistics tables as `xltool render` lays them out (三 and 四 on landscape pages)."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.shared import Mm, Pt

    from xltool.render import WIDE, table_grid, table_notes

    path = Path(path)
    ret = report.ret
    doc = Document()
    _drop_styles_with_effects(doc)
    _annual_styles(doc)
    _declare_fonts(doc)
    lang = doc.settings.element.find(_qn("w:themeFontLang"))
    if lang is not None:
        lang.set(_qn("w:eastAsia"), "zh-CN")
    doc.settings.odd_and_even_pages_header_footer = True
    title_text = "".join(_title_lines(report.title))
    doc.core_properties.title = _property(title_text)
    doc.core_properties.subject = "政府信息公开工作年度报告"
    doc.core_properties.author = _property(ret.unit.name) or "xltool"
    doc.core_properties.comments = "xltool report"

    section = doc.sections[0]
    _gbt_page(section, False)
    _page_number(section.footer, odd=True)
    _page_number(section.even_page_footer, odd=False)

    if not any(b.kind == "heading" and b.level == 0 for b in report.blocks):
        _title(doc, report.title)

    tables = {t.id: t for t in ret.form.tables}
    landscape_at = _landscape_blocks(report.blocks, tables)
    landscape = False
    after_table = False
    for i, block in enumerate(report.blocks):
        if (i in landscape_at) != landscape:
            landscape = not landscape
            section = doc.add_section(WD_SECTION.NEW_PAGE)
            _section_break_paragraph(doc)
            _gbt_page(section, landscape)
            for footer in (section.footer, section.even_page_footer):  # same page numbers, counting on
                footer.is_linked_to_previous = True
        if block.kind == "heading" and block.level <= 0:
            _title(doc, block.text)
        elif block.kind == "heading":
            heading = doc.add_paragraph(_xml(block.text), style=f"Heading {min(block.level, 2)}")
            if after_table:  # half a line between a table (or its note) and the next heading
                heading.paragraph_format.space_before = Pt(LINE_PT / 2)
        elif block.kind == "paragraph":
            for line in _xml(block.text).split("\n"):
                if line.strip():
                    doc.add_paragraph(line.strip())
        elif block.kind == "placeholder":
            _placeholder_run(doc.add_paragraph(), block.text)
        elif block.kind == "note":
            doc.add_paragraph(_xml(block.text), style=TABLE_NOTE_STYLE if after_table else None)
        elif block.kind == "table" and block.table_id in tables:
            table = tables[block.table_id]
            if table.id in ret.no_items:
                doc.add_paragraph(TABLE_NONE)
            usable = (section.page_width - section.left_margin - section.right_margin) / Mm(1)
            t = _docx_table(doc, table_grid(table, ret), usable)
            style_id = doc.styles[TABLE_STYLE].style_id
            for p in t._tbl.iter(_qn("w:p")):
                p.style = style_id
            printed = {b.text for b in report.blocks[i + 1 :] if b.kind == "note"}
            notes = [note for note in table_notes(table) if note not in printed]
            noted = bool(notes) or (i + 1 < len(report.blocks) and report.blocks[i + 1].kind == "note")
            _keep_table(t, together=table.width <= WIDE or _widths(table, usable, 9) is not None, with_next=noted)
            for note in notes:
                doc.add_paragraph(_xml(note), style=TABLE_NOTE_STYLE)
        after_table = block.kind == "table" or (block.kind == "note" and after_table)
    path.parent.mkdir(parents=True, exist_ok=True)
    with safewrite.replacing(path) as tmp:
        doc.save(str(tmp))
    return path


READERS = [Reader("docx", (".docx",), "report", _read, sniff=_sniff, parse=docx_page, description="年度报告 Word 文档")]
WRITERS = [
    Writer("render", "docx", ".docx", write_docx, description="Word 文档（宋体，宽表横排）"),
    Writer("annual", "docx", ".docx", write_annual_docx, description="Word 文档（GB/T 9704 公文格式，宽表横排）"),
]
