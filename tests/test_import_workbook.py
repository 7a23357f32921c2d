"""The workbook `xltool import -o` writes: what a clerk sees when the report lacked a table or printed cells that could
not be read — blank totals (never 0, a part sum or #VALUE!), cached values equal to LibreOffice's, and notes naming
the table not found."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from xltool import formats, layout
from xltool.importing import save_workbook
from xltool.layout import IMPORT_NOTES_SHEET
from xltool.reading import read
from xltool.template.verdicts import VERDICTS, verdict_text

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parent.parent / "examples"


def without_table_four(tmp_path: Path) -> Path:
    """Seed 001's table part cut before Table 四: a report that does not show it."""
    text = (FIXTURES / "seeds" / "001_5f44b5de1c5f047b.txt").read_text(encoding="utf-8")
    cut = text.index("四、政府信息公开行政复议、行政诉讼情况")
    path = tmp_path / "no-table-four.txt"
    path.write_text(text[:cut], encoding="utf-8")
    return path


def blank_and_text_cells(tmp_path: Path) -> Path:
    """The 2025 example rendered as Markdown with one cell printed blank and one printed as a character, not a digit."""
    path = tmp_path / "odd.md"
    text = formats.render(read(EXAMPLES / "sample-return-2025.xlsx"), "md")
    row = "| 一、本年新收政府信息公开申请数量 | 3 | 3 |"
    partial = "（二）部分公开（区分处理的，只计这一情形，不计其他情形） | 0 | 1 |"
    assert row in text and partial in text
    text = text.replace(row, "| 一、本年新收政府信息公开申请数量 |  | 3 |").replace(partial, partial[:-4] + "一 |")
    path.write_text(text, encoding="utf-8")
    return path


def written(src: Path, tmp_path: Path) -> Path:
    return save_workbook(read(src), tmp_path / "out", src, set())


def formula_cells(book: Path) -> tuple[list[dict], list[object]]:
    """Every formula cell of the workbook and its cached value."""
    formulas, cached = openpyxl.load_workbook(book), openpyxl.load_workbook(book, data_only=True)
    reads, values = [], []
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    reads.append({"sheet": ws.title, "cell": c.coordinate})
                    values.append(cached[ws.title][c.coordinate].value)
    return reads, values


def test_totals_of_a_table_not_in_the_report_are_blank_and_the_notes_name_it(tmp_path):
    """A report without Table 四: its 总计 cells show blank (not 0, not #VALUE!) and 导入说明 says 表四 was not found."""
    book = written(without_table_four(tmp_path), tmp_path)
    wb = openpyxl.load_workbook(book, data_only=True)
    appeal = wb["四、复议诉讼"]
    totals = [appeal[a].value for a in ("E6", "J6", "O6")]
    assert totals == [None, None, None]
    assert all(not (isinstance(v, str) and v.startswith("#")) for ws in wb for row in ws.values for v in row)
    notes = [row[2] for row in wb[IMPORT_NOTES_SHEET].iter_rows(min_row=2, values_only=True)]
    assert any(n.startswith("表四") and "没有找到此表" in n for n in notes)


def test_check_sheet_of_a_report_without_a_table_is_not_ready_as_check_says(tmp_path):
    """A report without Table 四: the imported workbook's 校验 does not say 可以报送 — it counts and lists 表四 as a
    table left blank, as many warnings and errors as `xltool check` finds in the same workbook."""
    from xltool.checking import check_files
    from xltool.codes import Code

    book = written(without_table_four(tmp_path), tmp_path)
    ws = openpyxl.load_workbook(book, data_only=True)[layout.CHECK_SHEET]
    verdict = ws.cell(layout.CHECK_VERDICT_ROW + 1, 1).value
    assert verdict != VERDICTS["ok"] and verdict == verdict_text({"empty": False, "errors": 0, "warnings": 1})
    top = layout.CHECK_PROBLEMS_HEADER_ROW + 1
    listed = [r for r in ws.iter_rows(min_row=top + 1, max_row=top + 20, max_col=4, values_only=True) if r[0]]
    assert [(r[0].split("：")[0], r[1]) for r in listed] == [("表四（四、复议诉讼）", "整表空白")]
    (report,) = check_files([book], light=True)
    problems = [p for p in report.problems if p.severity.zh in ("错误", "警告")]
    assert [p.code for p in problems] == [Code.TABLE_NOT_FILLED]


def test_unreadable_cells_give_blank_totals_not_errors(tmp_path):
    """A total over a cell printed as a character is cached blank, never #VALUE!; over a cell printed blank it is the
    sum a spreadsheet computes (the blank counted as 0, as in any return with a blank cell)."""
    book = written(blank_and_text_cells(tmp_path), tmp_path)
    _, cached = formula_cells(book)
    assert not [v for v in cached if isinstance(v, str) and v.startswith("#")]
    sheet = openpyxl.load_workbook(book, data_only=True)["三、依申请公开"]
    (partial,) = [r for r in sheet.iter_rows() if any(str(c.value or "").startswith("（二）部分公开") for c in r)]
    assert partial[9].value is None  # J: 总计 of the row holding the character


@pytest.mark.libreoffice
@pytest.mark.parametrize(
    "make",
    [
        without_table_four,
        blank_and_text_cells,
        lambda tmp_path: FIXTURES / "converted" / "shichangjianduguanliju.pymupdf4llm.md",
    ],
    ids=["table-not-found", "blank-and-text", "aligned-with-unknown-cells"],
)
def test_imported_workbook_caches_what_libreoffice_computes(lo, make, tmp_path):
    """Every formula cell of an imported workbook (totals, 校验, statuses) caches what LibreOffice computes on
    recalculation, for a table not found, cells printed blank or as text, and cells the alignment left unknown."""
    book = written(make(tmp_path), tmp_path)
    reads, cached = formula_cells(book)
    recalculated = lo.recalc(book, read=reads)
    differ = []
    for request, want, got in zip(reads, cached, recalculated, strict=True):
        same = (
            want == pytest.approx(got["value"])
            if isinstance(want, (int, float)) and not isinstance(want, bool)
            else (want or "") == got["string"]
        )
        if not same:
            differ.append((request["sheet"], request["cell"], want, got["string"]))
    assert differ == []
