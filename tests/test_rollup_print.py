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


def test_every_page_of_a_rollup_is_legible_a4(pages):
    """All pages are A4 (842 × 595 pt) landscape, 明细 of a few units portrait or landscape, and no glyph on any of
    them is smaller than 9 pt; every review sheet with something to say prints (its name in the footer); 说明汇总
    with nothing in it is hidden, so no page says only 无."""
    _, printed_pages = pages
    for sheet, w, h, _, _ in printed_pages:
        assert (round(w), round(h)) == (842, 595) or (
            sheet == layout.DETAIL_SHEET and (round(w), round(h)) == (595, 842)
        )
    smallest: dict[str, float] = defaultdict(lambda: 99.0)
    for sheet, _, _, size, _ in printed_pages:
        smallest[sheet or "官方表与校验"] = min(smallest[sheet or "官方表与校验"], size)
    assert set(REVIEW) - {layout.NOTES_SHEET} <= set(smallest), sorted(smallest)
    assert layout.NOTES_SHEET not in smallest  # the example county's units wrote no 说明
    assert min(smallest.values()) >= 9.0, {k: round(v, 2) for k, v in smallest.items()}


def test_the_summary_page_opens_the_print_with_the_counts_line(pages):
    """The first printed page is 汇总说明 and states 汇总 5 个单位（应报 8，缺报 1，未汇总 3） and the missing unit."""
    roll, printed_pages = pages
    sheet, _, _, _, text = printed_pages[0]
    assert sheet == layout.SUMMARY_SHEET
    assert roll.line in text and "示例县红星街道办事处" in text.replace("\n", "")


def test_overview_prints_on_one_page_with_its_charts(pages):
    """概览 of a few units is one page: the unit table with its total, then both charts side by side (their titles
    and bar labels drawn), no header row repeated above them."""
    _, printed_pages = pages
    overview = [text for sheet, _, _, _, text in printed_pages if sheet == layout.OVERVIEW_SHEET]
    assert len(overview) == 1
    (page,) = overview
    assert "合计（本汇总表）" in page and "示例县城关镇人民政府" in page
    assert "各单位本年新收政府信息公开申请数量（件）" in page and "汇总：本年度办理结果构成（件）" in page
    assert "（三）不予公开" in page


def test_a_rollup_of_three_units_prints_in_about_a_third_of_the_pages(tmp_path):
    """Three units: 汇总说明 1 page, 概览 1, 填报说明 1, each table 1, 校验 3, 明细 4 (cells down, units across),
    来源 1 — 14 pages where 45 were printed; the table pages each hold their whole table."""
    files = [COUNTY / n for n in ("01-城关镇.xlsx", "02-东坝镇.xlsx", "03-西河乡.xlsx")]
    roll = merge(files, Unit(name="示例县人民政府办公室"), workers=0)
    out = printed(roll.write(tmp_path / "三个单位.xlsx"))
    count = defaultdict(int)
    for sheet, _, _, _, text in out:
        count[sheet or ("校验" if "报告年度：2025" in text.splitlines()[0] else "表")] += 1
    assert len(out) <= 15, dict(count)
    assert count[layout.SUMMARY_SHEET] == 1 and count[layout.OVERVIEW_SHEET] == 1
    assert count[layout.DETAIL_SHEET] <= 4 and count["校验"] <= 3 and count[layout.SOURCE_SHEET] == 1
    assert not any(text.splitlines()[1:-1] == ["无"] for _, _, _, _, text in out)
    table_pages = [text for sheet, _, _, _, text in out if not sheet and text.startswith("三、收到和处理")]
    assert len(table_pages) == 1 and "（七）总计" in table_pages[0] and "四、结转下年度继续办理" in table_pages[0]
