"""The annual report as Word (`xltool report … -o x.docx`): GB/T 9704 page, fonts and sizes, the wide tables on
landscape sections, page numbers on every page, placeholders that cannot be missed, hostile text kept as text, a
valid package, and an import of the document that reads back exactly the return it was made from."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml.ns import qn
from lxml import etree

from xltool import formats
from xltool.annual import Narrative, build_report
from xltool.codes import Code
from xltool.formats.docx import TABLE_STYLE, write_annual_docx
from xltool.model import Unit
from xltool.reading import read
from xltool.render import WIDE
from xltool.rollup import merge

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HOSTILE = "<script>alert(1)</script> & \x07\x1b =cmd|' /C calc'!A0 ]]>"
TITLE_FONT, BODY_FONT, HEADING1_FONT, HEADING2_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312"
# Each font with what Word/WPS may use instead: (w:altName, w:family)
FALLBACKS = {
    TITLE_FONT: ("华文中宋,宋体", "roman"),
    BODY_FONT: ("仿宋", "roman"),
    HEADING1_FONT: ("SimHei", "swiss"),
    HEADING2_FONT: ("楷体", "roman"),
    "宋体": ("SimSun", "roman"),
}
HOSTILE_SHOWN = "<script>alert(1)</script> &  =cmd|' /C calc'!A0 ]]>"  # control characters removed


@pytest.fixture(scope="module")
def rollup(tmp_path_factory):
    """The county roll-up of examples/county-2025, written and read back as a return."""
    folder = tmp_path_factory.mktemp("rollup")
    roll = merge([EXAMPLES / "county-2025"], Unit(name="示例县人民政府"), workers=0)
    return read(roll.write(folder / "county.xlsx"))


def returns(rollup):
    return {
        "2025": read(EXAMPLES / "sample-return-2025.xlsx"),
        "2020": read(EXAMPLES / "sample-return-2020.xlsx"),
        "rollup": rollup,
    }


def make(ret, path: Path, narrative: Narrative | None = None) -> Path:
    return write_annual_docx(build_report(ret, narrative=narrative), path)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    return ret, make(ret, tmp_path_factory.mktemp("docx") / "report.docx")


def style_fonts(style) -> dict[str, str]:
    fonts = style.element.rPr.find(qn("w:rFonts"))
    return {k.split("}")[1]: v for k, v in fonts.attrib.items()}


def body_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("word/document.xml").decode("utf-8")


# --- the page and the fonts ---------------------------------------------------------------------------------------


def test_gbt_9704_page_fonts_and_sizes(sample):
    """A4 with 37/35/28/26 mm margins; 正文 仿宋_GB2312 16 pt, fixed 28.95 pt lines, indented two characters."""
    _, path = sample
    doc = Document(str(path))
    first = doc.sections[0]
    assert (round(first.page_width.mm), round(first.page_height.mm)) == (210, 297)
    margins = (first.top_margin, first.bottom_margin, first.left_margin, first.right_margin)
    assert tuple(round(m.mm) for m in margins) == (37, 35, 28, 26)
    normal = doc.styles["Normal"]
    assert style_fonts(normal) == {
        "ascii": "Times New Roman",
        "hAnsi": "Times New Roman",
        "eastAsia": BODY_FONT,
        "cs": "Times New Roman",
    }
    assert normal.font.size.pt == 16
    pf = normal.paragraph_format
    assert pf.line_spacing_rule == WD_LINE_SPACING.EXACTLY and 28 <= pf.line_spacing.pt <= 29
    assert pf.first_line_indent.pt == 32 and pf._element.pPr.ind.get(qn("w:firstLineChars")) == "200"


def test_title_and_heading_styles(sample):
    """Title 方正小标宋简体 22 pt centred; 一级标题 黑体 16 pt; 二级标题 楷体_GB2312 16 pt; none bold, all black."""
    _, path = sample
    doc = Document(str(path))
    for name, font, size in (
        ("Title", TITLE_FONT, 22),
        ("Heading 1", HEADING1_FONT, 16),
        ("Heading 2", HEADING2_FONT, 16),
    ):
        style = doc.styles[name]
        assert style_fonts(style)["eastAsia"] == font and style_fonts(style)["ascii"] == "Times New Roman"
        assert style.font.size.pt == size and style.font.bold is False and str(style.font.color.rgb) == "000000"
    assert doc.styles["Title"].paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    headings = {p.style.name: [] for p in doc.paragraphs}
    for p in doc.paragraphs:
        headings[p.style.name].append(p.text)
    assert headings["Heading 1"][:4] == [
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
    ]
    assert "（一）主动公开" in headings["Heading 2"]


def test_font_table_declares_fallbacks(sample):
    """word/fontTable.xml names each Chinese font with its alternative, family and the GB2312 charset (86)."""
    _, path = sample
    with zipfile.ZipFile(path) as z:
        root = etree.fromstring(z.read("word/fontTable.xml"))
    fonts = {f.get(qn("w:name")): f for f in root.findall(qn("w:font"))}
    for name, (alt, family) in FALLBACKS.items():
        font = fonts[name]
        assert font.find(qn("w:altName")).get(qn("w:val")) == alt
        assert font.find(qn("w:charset")).get(qn("w:val")) == "86"
        assert font.find(qn("w:family")).get(qn("w:val")) == family


def test_tables_use_table_text_and_no_glyph_under_9pt(sample):
    """Table cells: 宋体, no first-line indent, single spacing; every size in the document is at least 9 pt."""
    _, path = sample
    doc = Document(str(path))
    style = doc.styles[TABLE_STYLE]
    assert style_fonts(style)["eastAsia"] == "宋体" and style.paragraph_format.first_line_indent == 0
    assert len(doc.tables) == 3
    for t in doc.tables:
        paras = [p for row in t.rows for cell in row.cells for p in cell.paragraphs]
        assert {p.style.name for p in paras} == {TABLE_STYLE}
    sizes = [int(v) / 2 for v in re.findall(r'<w:sz w:val="(\d+)"/>', body_xml(path))]
    assert min(s for s in sizes if s > 1) >= 9  # the section-break paragraph's 1 pt mark holds no text


def test_table_two_kept_together_with_its_note(tmp_path):
    """Table 二 is kept on one page with the 2019 万元 note right under it (no row split, no lone note); 三 is kept
    on one landscape page too, 四 runs on."""
    doc = Document(str(make(read(EXAMPLES / "sample-return-2020.xlsx"), tmp_path / "r.docx")))
    body = list(doc.element.body)
    table = doc.tables[0]._tbl
    note = body[body.index(table) + 1]
    assert "".join(t.text for t in note.iter(qn("w:t"))).startswith("注：“采购总金额”单位为万元")
    for tr in table.tr_lst:
        assert tr.trPr.find(qn("w:cantSplit")) is not None
        assert all(p.pPr.keepNext_val for p in tr.iter(qn("w:p")))
    assert all(p.pPr.keepNext_val for p in doc.tables[1]._tbl.tr_lst[0].iter(qn("w:p")))  # 三 in 9 pt fits a page
    assert not any(p.pPr.keepNext_val for p in doc.tables[2]._tbl.tr_lst[0].iter(qn("w:p")))


def test_wide_tables_on_landscape_sections(sample):
    """三 and 四 (wider than render.WIDE) with their headings on landscape A4; portrait again for 五、六."""
    ret, path = sample
    doc = Document(str(path))
    orient = [s.orientation for s in doc.sections]
    assert orient == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    land = doc.sections[1]
    assert (round(land.page_width.mm), round(land.page_height.mm)) == (297, 210)
    # Which section each table and heading is in: count the section breaks before it.
    tables, headings, section = [], {}, 0
    for el in doc.element.body:
        if el.tag == qn("w:tbl"):
            tables.append(section)
        elif el.tag == qn("w:p"):
            text = "".join(t.text or "" for t in el.iter(qn("w:t")))
            if text.startswith(("二、", "三、", "四、", "五、")):
                headings[text[:2]] = section
            if el.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None:
                section += 1
    assert [t.width > WIDE for t in ret.form.tables] == [False, True, True]
    assert tables == [0, 1, 1]
    assert headings == {"二、": 0, "三、": 1, "四、": 1, "五、": 2}
    for t in doc.tables[1:]:  # the column headers repeat on every page
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_page_numbers_on_every_page(sample):
    """Odd pages “— N —” at the right, even at the left (宋体 14 pt); later sections inherit and keep counting."""
    _, path = sample
    doc = Document(str(path))
    assert doc.settings.odd_and_even_pages_header_footer
    first = doc.sections[0]
    for footer, align in ((first.footer, WD_ALIGN_PARAGRAPH.RIGHT), (first.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        (para,) = footer.paragraphs
        assert para.alignment == align
        xml = para._p.xml
        assert "<w:instrText" in xml and " PAGE " in xml and para.text.startswith("— ") and para.text.endswith(" —")
    footer_style = doc.styles["Footer"]
    assert footer_style.font.size.pt == 14 and style_fonts(footer_style)["ascii"] == "宋体"
    for section in doc.sections[1:]:
        assert section.footer.is_linked_to_previous and section.even_page_footer.is_linked_to_previous
        assert section._sectPr.find(qn("w:pgNumType")) is None  # numbering continues


def test_placeholders_are_highlighted_and_bracketed(sample):
    """Every 【待填写：…】 of the report is one yellow-highlighted run in brackets."""
    ret, path = sample
    report = build_report(ret)
    doc = Document(str(path))
    marked = [r.text for p in doc.paragraphs for r in p.runs if r.font.highlight_color == WD_COLOR_INDEX.YELLOW]
    assert marked == [b.text for b in report.placeholders] and marked
    assert all(t.startswith("【") and t.endswith("】") for t in marked)


def test_title_on_two_lines_and_in_properties(sample):
    """A title longer than a line breaks before the year; the document's title property is the report title."""
    ret, path = sample
    doc = Document(str(path))
    title = doc.paragraphs[0]
    assert title.style.name == "Title" and title.text == f"{ret.unit.name}\n{ret.year}年政府信息公开工作年度报告"
    assert doc.core_properties.title == f"{ret.unit.name}{ret.year}年政府信息公开工作年度报告"


def test_registered_as_the_annual_docx_writer():
    """`xltool report -o x.docx` finds this writer in the formats registry."""
    assert formats.writer_for("annual", "r.docx").write is write_annual_docx


# --- reading it back ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["2025", "2020", "rollup"])
def test_import_reads_back_exactly(rollup, tmp_path, which):
    """`xltool import` of the report gives the same unit, year, form and every value (totals as computed)."""
    ret = returns(rollup)[which]
    back = read(make(ret, tmp_path / "report.docx"))
    assert (back.unit.name, back.year, back.form.id) == (ret.unit.name, ret.year, ret.form.id)
    inputs = {c.key for c in ret.form.inputs}
    assert {k: v for k, v in back.values.items() if k in inputs} == ret.values
    totals = {k: v for k, v in back.values.items() if k not in inputs}
    assert totals and totals == {k: ret.safe_value(k) for k in totals}
    assert not [p for p in back.read_problems if p.code != Code.LOCATED_BY_LABELS], back.read_problems


def test_hostile_text_is_kept_as_plain_text(tmp_path):
    """Markup, ampersands, control characters and spreadsheet formulas are only text: escaped, no field but PAGE."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    ret.unit = Unit(name="某镇" + HOSTILE[:30])
    path = make(ret, tmp_path / "r.docx", Narrative({"总体情况": HOSTILE, "存在的主要问题及改进情况": HOSTILE}))
    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    assert texts.count(HOSTILE_SHOWN) == 2
    assert doc.core_properties.title.startswith("某镇<script>")
    xml = body_xml(path)
    assert "<script" not in xml and "&lt;script&gt;" in xml and "&amp;" in xml
    assert "\x07" not in xml and "\x1b" not in xml
    with zipfile.ZipFile(path) as z:
        package = {name: z.read(name).decode("utf-8", "replace") for name in z.namelist()}
    instructions = [t for text in package.values() for t in re.findall(r"<w:instrText[^>]*>([^<]*)<", text)]
    assert {t.strip() for t in instructions} == {"PAGE"} and not any("fldSimple" in t for t in package.values())
    assert not any('TargetMode="External"' in t for t in package.values())
    assert not any(name.endswith(("vbaProject.bin", ".bin")) for name in package)


def test_package_passes_the_ooxml_validator(rollup, tmp_path):
    """openxml-audit (schema and Word compatibility checks) finds nothing in the 2025, 2020 and roll-up reports."""
    audit = pytest.importorskip("openxml_audit")
    for which, ret in returns(rollup).items():
        result = audit.OpenXmlValidator().validate(str(make(ret, tmp_path / f"{which}.docx")))
        assert result.is_valid, (which, [str(e) for e in list(result.errors)[:10]])


def test_render_docx_passes_the_ooxml_validator(tmp_path):
    """`xltool render -f docx` shares the table code: its document is valid too (header rows as a plain w:tblHeader)."""
    audit = pytest.importorskip("openxml_audit")
    from xltool.formats.docx import render_docx

    for sample in ("sample-return-2025.xlsx", "sample-return-2020.xlsx"):
        result = audit.OpenXmlValidator().validate(str(render_docx(read(EXAMPLES / sample), tmp_path / "r.docx")))
        assert result.is_valid, [str(e) for e in list(result.errors)[:10]]


def test_title_lines():
    """One line when it fits (20 characters of 2号 in 156 mm); else broken before the year; a given break is kept."""
    from xltool.formats.docx import _title_lines

    assert _title_lines("某镇2025年政府信息公开工作年度报告") == ["某镇2025年政府信息公开工作年度报告"]
    assert _title_lines("示例县城关镇人民政府2025年政府信息公开工作年度报告") == [
        "示例县城关镇人民政府",
        "2025年政府信息公开工作年度报告",
    ]
    long_unit = "某某省某某市某某县某某乡镇人民政府办公室综合科"  # too long for one line: Word wraps it
    assert _title_lines(f"{long_unit}2025年政府信息公开工作年度报告") == [f"{long_unit}2025年政府信息公开工作年度报告"]
    assert _title_lines("某镇\n2025年报告\x07") == ["某镇", "2025年报告"]


# --- what is printed (LibreOffice → PDF) ------------------------------------------------------------------------------


@pytest.mark.libreoffice
@pytest.mark.parametrize("which", ["2025", "2020", "rollup"])
def test_printed_pages(rollup, tmp_path, which):
    """Printed through LibreOffice: title ≥ 20 pt, body 16 pt, no glyph under 9 pt, 三 and 四 on landscape pages
    with their tables inside the 版心, and “— N —” at the foot of every page (odd right, even left)."""
    pdfplumber = pytest.importorskip("pdfplumber")
    from xltool.office import convert, soffice

    if soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    ret = returns(rollup)[which]
    pdf = convert(make(ret, tmp_path / "report.docx"), "pdf")
    with pdfplumber.open(pdf) as doc:
        pages = doc.pages
        assert 4 <= len(pages) <= 12
        sizes = [round(c["size"], 1) for p in pages for c in p.chars]
        assert min(sizes) >= 9.0
        first = pages[0]
        title = "".join(c["text"] for c in first.chars if c["size"] >= 20)
        assert title == f"{ret.unit.name}{ret.year}年政府信息公开工作年度报告"
        portrait_sizes = [round(c["size"]) for p in pages if p.width < p.height for c in p.chars]
        assert max(set(portrait_sizes), key=portrait_sizes.count) == 16  # the body
        texts = [page.extract_text() or "" for page in pages]
        if which == "2020":  # the 万元 note on the page of the table's last row
            assert any("政府集中采购" in t and "单位为万元" in t for t in texts)
        for n, page in enumerate(pages, 1):
            text = texts[n - 1]
            assert re.search(rf"—\s*{n}\s*—\s*$", text), (n, text[-40:])
            number = [c for c in page.chars if c["text"] == str(n)[-1] and c["top"] > page.height - 100]
            assert number and ((number[-1]["x0"] > page.width / 2) == (n % 2 == 1)), n
            landscape = page.width > page.height
            holds_wide = any(
                h in text
                for h in (
                    "三、收到和处理政府信息公开申请情况",
                    "本年新收政府信息公开申请数量",
                    "四、政府信息公开行政复议、行政诉讼情况",
                    "未经复议直接起诉",
                )
            )
            assert landscape == holds_wide, (n, text[:60])
            if landscape:  # the table's rules inside the 225 mm wide 版心 (37 mm from the left edge)
                rules = [e for e in page.edges if e["object_type"] == "line"]
                assert rules and min(e["x0"] for e in rules) >= 104 and max(e["x1"] for e in rules) <= 842 - 98
                assert all(c["size"] >= 9 for c in page.chars)
