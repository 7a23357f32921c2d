"""What a clerk prints: every page of the template and of a broken return on A4 with no glyph under 9 pt, and the
broken return's problems on the first page of 校验 (LibreOffice headless → PDF → pdfplumber)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xltool.reading import read
from xltool.template import write_xlsx

pytestmark = pytest.mark.libreoffice
ROOT = Path(__file__).resolve().parent.parent


def pages(path: Path) -> list[tuple[float, float, str]]:
    """(smallest glyph size, page width, text) of every page of the workbook printed to PDF by LibreOffice."""
    pdfplumber = pytest.importorskip("pdfplumber")
    from xltool.office import convert

    pdf = convert(path, "pdf")
    with pdfplumber.open(pdf) as doc:
        return [
            (min((c["size"] for c in p.chars), default=99.0), float(p.width), p.extract_text() or "") for p in doc.pages
        ]


@pytest.mark.parametrize("sample", ["sample-return-2025.xlsx", "sample-return-2020.xlsx"])
def test_every_printed_page_is_legible(tmp_path, sample):
    """A4 landscape pages (842 pt wide) with glyphs of at least 9 pt; the broken return's verdict and its problems
    are on the first page of 校验, and each table's status line is printed above it."""
    ret = read(ROOT / "examples" / sample)
    ret.values["apply.new.natural_person"] += 1
    printed = pages(write_xlsx(ret, tmp_path / "broken.xlsx"))
    assert all(round(width) == 842 for _, width, _ in printed)
    assert min(size for size, _, _ in printed) >= 9.0, [round(s, 1) for s, _, _ in printed]
    check = next(text for _, _, text in printed if text.startswith("校验结果"))
    assert "项错误，请修改后报送" in check and "不平衡（差额 1）" in check.split("检查内容")[0]
    assert any("本表有" in text and "项错误" in text for _, _, text in printed if text.startswith("三、"))
