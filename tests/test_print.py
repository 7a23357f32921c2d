"""What a clerk prints: every page of the template and of a broken return on A4 with no glyph under 9 pt, and the
broken return's problems on the first page of 校验 (LibreOffice headless → PDF → pdfplumber)."""

from __future__ import annotations

import re
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
    check = next(text for _, _, text in printed if "校验结果（随填随算）" in text)
    assert "项错误，请修改后报送" in check and "不平衡（差额 1）" in check.split("检查内容")[0]
    assert any("本表有" in text and "项错误" in text for _, _, text in printed if text.startswith("三、"))


@pytest.mark.parametrize("sample", ["sample-return-2025.xlsx", "sample-return-2020.xlsx", None])
@pytest.mark.parametrize("year", [2025, 2020])
def test_each_table_prints_on_one_page_and_check_pages_carry_unit_and_year(tmp_path, sample, year):
    """Template and returns in both formats: 填报说明 one page (or fields and 填报须知 a page each, no tail), 表二,
    表三 and 表四 one page each with their status
    line whole (unit and year) and 表三's key totals (（七）总计, 四、结转) on it, 校验 3 pages each headed by the unit
    and year, its rule pages by the column header; 级别 shows only beside a rule that does not pass."""
    from xltool.forms import form_for_year
    from xltool.model import Return, Unit

    if sample is None:
        ret = Return(form_for_year(year), year, Unit(name="某某镇人民政府"))
    elif (year >= 2021) != sample.endswith("2025.xlsx"):
        pytest.skip("one sample per format")
    else:
        ret = read(ROOT / "examples" / sample)
    printed = pages(write_xlsx(ret, tmp_path / "t.xlsx"))
    texts = [text for _, _, text in printed]
    unit_year = f"填报单位：{ret.unit.name}"
    guide = [
        t for t in texts if t.startswith(f"{ret.year}年度政府信息公开工作年度报告统计表") or t.startswith("填报须知")
    ]
    assert len(guide) == 1 or (len(guide) == 2 and guide[1].startswith("填报须知"))  # never a page of a tail
    tables = [t for t in texts if t.startswith(tuple(table.title for table in ret.form.tables))]
    assert [t.splitlines()[0] for t in tables] == [table.title for table in ret.form.tables]
    for text in tables:
        assert unit_year in text.replace(" ", "") and f"报告年度：{ret.year}" in text.replace(" ", "")
    assert "（七）总计" in tables[1] and "四、结转下年度继续办理" in tables[1]
    checks = texts[len(guide) + 3 :]
    assert len(checks) == 3 and len(printed) == len(guide) + 6
    assert all(t.replace(" ", "").startswith(f"{unit_year}报告年度：{ret.year}") for t in checks)
    assert "校验结果（随填随算）" in checks[0]
    assert all(t.splitlines()[1].replace(" ", "").startswith("检查内容结果") for t in checks[1:])
    rule_lines = [line for t in checks[1:] for line in t.splitlines()[2:-1]]
    assert not [line for line in rule_lines if "通过" in line and line.endswith(("错误", "警告"))]
    assert not any("Python" in t for t in texts)
    if sample is None:  # nothing filled: every rule 无法判断, and no level beside it
        assert not [line for line in rule_lines if line.endswith("错误")]


def printed_chars(path: Path) -> list[list[dict]]:
    """The glyphs of every page of the workbook printed to PDF by LibreOffice."""
    pdfplumber = pytest.importorskip("pdfplumber")
    from xltool.office import convert

    with pdfplumber.open(convert(path, "pdf")) as doc:
        return [[dict(c) for c in p.chars if c["text"].strip()] for p in doc.pages]


def overprinted(chars: list[dict]) -> list[str]:
    """Glyphs drawn over one another (text of one row running into the next), as pairs of characters."""
    found = []
    cells: dict[tuple[int, int], list[dict]] = {}
    for c in chars:
        cells.setdefault((int(c["x0"] // 20), int(c["top"] // 20)), []).append(c)
    for c in chars:
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for o in cells.get((int(c["x0"] // 20) + dx, int(c["top"] // 20) + dy), []):
                    if o is c or (o["x0"], o["top"]) <= (c["x0"], c["top"]):
                        continue
                    w = min(c["x1"], o["x1"]) - max(c["x0"], o["x0"])
                    h = min(c["bottom"], o["bottom"]) - max(c["top"], o["top"])
                    if w > 0.3 * (c["x1"] - c["x0"]) and h > 0.3 * (c["bottom"] - c["top"]):
                        found.append(c["text"] + o["text"])
    return found


def test_check_sheet_lists_invalid_entries_and_blank_rows_legibly(tmp_path):
    """The issue's return: the first 校验 page lists `5件` with its cell and each blank row, at 9 pt or more."""
    from tests.test_problem_list import issue_return

    printed = pages(write_xlsx(issue_return(), tmp_path / "issue.xlsx"))
    size, _, text = next(p for p in printed if "校验结果（随填随算）" in p[2])
    assert size >= 9.0
    listed = text.split("需要处理的问题")[1]
    assert "B5：“5件”" in listed and "2 格空白" in listed and "E9、F9" in listed and "1 格空白" in listed


def test_problem_sheet_prints_legibly(tmp_path):
    """问题清单 of an annotated copy with many problems: glyphs of 9 pt or more, no text over other text, the header
    on every page, the unit, year and verdict on the first."""
    import random

    from tests.fillings import random_return
    from xltool.checking import annotate, check_files
    from xltool.forms import form_for_year

    ret = random_return(form_for_year(2025), 2025, random.Random(6), broken=2, blanks=30, texts=12)
    (report,) = check_files([write_xlsx(ret, tmp_path / "many.xlsx")], workers=0)
    ((_, copy, _),) = list(annotate([report], tmp_path / "out"))
    listing = []
    for chars in printed_chars(copy):
        text = re.sub(r"^第\d+页，共\d+页", "", "".join(c["text"] for c in chars))  # the footer comes first
        if "问题及处理" not in text:
            break  # the copy's own sheets follow 问题清单
        listing.append((chars, text))
    assert len(listing) >= 2, "a long list runs on to further pages"
    assert ret.unit.name in listing[0][1] and "2025" in listing[0][1] and "项错误" in listing[0][1]
    assert listing[0][1].startswith("问题清单")
    for i, (chars, text) in enumerate(listing):
        assert min(c["size"] for c in chars) >= 9.0
        assert i == 0 or text.startswith("位置级别问题及处理"), "the header opens every page"
        assert not overprinted(chars)


@pytest.mark.parametrize("sample", ["sample-return-2025.xlsx", "sample-return-2020.xlsx"])
def test_report_prints_table_three_whole_on_one_page(tmp_path, sample):
    """The drafted report (Word, printed by LibreOffice): 表三 on one page from its heading to 四、结转, 商业企业
    and 三、本年度 not broken inside a word, no glyph under 9 pt."""
    pdfplumber = pytest.importorskip("pdfplumber")
    from xltool.office import convert
    from xltool.publish import write_annual_report

    ret_path = ROOT / "examples" / sample
    out = write_annual_report(ret_path, tmp_path / "report.docx", "docx").path
    with pdfplumber.open(convert(Path(out), "pdf")) as doc:
        texts = [(p.extract_text() or "", min((c["size"] for c in p.chars), default=99.0)) for p in doc.pages]
    assert min(size for _, size in texts) >= 9.0
    (page,) = [t for t, _ in texts if "三、收到和处理政府信息公开申请情况" in t]
    assert "四、结转下年度继续办理" in page and "（七）总计" in page
    lines = page.splitlines()
    assert any("商业企业" in line for line in lines) and any("三、本年度" in line for line in lines)
