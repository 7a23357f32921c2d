"""What a county prints: every page of a roll-up (the example county merged with its roster) on A4 landscape with no
glyph under 9 pt, the review sheets included — 汇总说明 opening with the counts line, 概览 with its two charts drawn
(LibreOffice headless → PDF → pdfplumber)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from xltool import layout
from xltool.model import Unit
from xltool.rollup import merge
from xltool.roster import read_roster

pytestmark = pytest.mark.libreoffice
ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "examples" / "county-2025"
REVIEW = (
    layout.SUMMARY_SHEET,
    layout.OVERVIEW_SHEET,
    layout.DETAIL_SHEET,
    layout.SOURCE_SHEET,
    layout.REJECTED_SHEET,
    layout.NOTES_SHEET,
    layout.ROSTER_SHEET,
)


def printed(path: Path) -> list[tuple[str, float, float, float, str]]:
    """(review sheet named in the page footer or "", page width, page height, smallest glyph, text) per page."""
    pdfplumber = pytest.importorskip("pdfplumber")
    from xltool.office import convert, soffice

    if soffice() is None:
        pytest.skip("LibreOffice not installed")
    pdf = convert(path, "pdf")
    out = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            text = page.extract_text() or ""
            footer = text.splitlines()[-1] if text else ""
            sheet = next((s for s in REVIEW if footer.startswith(s + " 第")), "")
            size = min((c["size"] for c in page.chars), default=99.0)
            out.append((sheet, float(page.width), float(page.height), size, text))
    return out


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    roll = merge([COUNTY], Unit(name="示例县人民政府办公室"), roster=read_roster(COUNTY / "units.csv"), workers=0)
    return roll, printed(roll.write(tmp_path_factory.mktemp("print") / "示例县.xlsx"))


def test_every_page_of_a_rollup_is_legible_a4_landscape(pages):
    """All pages are A4 landscape (842 × 595 pt) and no glyph on any of them is smaller than 9 pt; every review
    sheet prints (its name in the footer)."""
    _, printed_pages = pages
    assert all(round(w) == 842 and round(h) == 595 for _, w, h, _, _ in printed_pages)
    smallest: dict[str, float] = defaultdict(lambda: 99.0)
    for sheet, _, _, size, _ in printed_pages:
        smallest[sheet or "官方表与校验"] = min(smallest[sheet or "官方表与校验"], size)
    assert set(REVIEW) <= set(smallest), sorted(smallest)
    assert min(smallest.values()) >= 9.0, {k: round(v, 2) for k, v in smallest.items()}


def test_the_summary_page_opens_the_print_with_the_counts_line(pages):
    """The first printed page is 汇总说明 and states 汇总 5 个单位（应报 8，缺报 1，未汇总 3） and the missing unit."""
    roll, printed_pages = pages
    sheet, _, _, _, text = printed_pages[0]
    assert sheet == layout.SUMMARY_SHEET
    assert roll.line in text and "示例县红星街道办事处" in text.replace("\n", "")


def test_overview_prints_its_charts_each_on_a_page(pages):
    """概览 prints the unit table, then each chart on a page of its own (chart titles and bar labels are drawn), then
    the tables behind the charts."""
    _, printed_pages = pages
    overview = [text for sheet, _, _, _, text in printed_pages if sheet == layout.OVERVIEW_SHEET]
    assert len(overview) >= 4
    assert "合计（本汇总表）" in overview[0]
    assert "各单位本年新收政府信息公开申请数量（件）" in overview[1] and "示例县城关镇人民政府" in overview[1]
    assert "汇总：本年度办理结果构成（件）" in overview[2] and "（三）不予公开" in overview[2]
