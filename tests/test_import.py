"""Importing published reports (plain text as in the seed reports, HTML, Word .docx) into a Return."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.report_fixtures import write_docx, write_html, write_markdown
from tests.seed_data import SEEDS
from xltool.formats._report import MAX_REPORT_BYTES
from xltool.forms import form_for_year
from xltool.model import Invalid, Return
from xltool.reading import is_report, read
from xltool.reading import read as import_report
from xltool.sources import ReadError
from xltool.template import write_xlsx
from xltool.values import normalize

# The table parts of the five seed reports (shared/seeds), derived by tests/fixtures/make_seed_fixtures.py.
SEED_DIR = Path(__file__).parent / "fixtures" / "seeds"
CORPUS = Path(__file__).parent / "corpus" / "files"
IDS = sorted(SEEDS)


def seed_text(seed_id: str) -> str:
    return (SEED_DIR / f"{seed_id}.txt").read_text(encoding="utf-8")


def codes(ret: Return, severity: str | None = None) -> list[str]:
    return [p.code for p in ret.read_problems if severity is None or p.severity == severity]


def problems(ret: Return, code: str) -> list:
    return [p for p in ret.read_problems if p.code == code]


def assert_same_as_seed(ret: Return, seed_id: str) -> None:
    """Version, year, unit, every printed number (inputs and totals), the odd cells and the split rows."""
    seed = SEEDS[seed_id]
    assert (ret.form.version, ret.year, ret.unit.name) == (seed["form_version"], seed["year"], seed["unit"])
    expected = {k: Decimal(str(v)) for k, v in seed["values"].items()}
    for key, raw in seed["odd"].items():
        expected[key] = normalize(raw, ret.form.cell[key].type)[0]  # " .0" is read as xltool reads any cell
    assert ret.values == expected
    for key, raw in seed["odd"].items():
        if not isinstance(expected[key], Invalid):  # tidied into a number: the tidying is noted, with the printed text
            assert [p.values["raw"] for p in problems(ret, "VALUE-NORMALISED") if p.values["key"] == key] == [raw]
    extra = [p.values["rows"] for p in problems(ret, "IMPORT-EXTRA-ROWS")]
    assert extra == ([seed["extra"]] if seed["extra"] else [])
    assert all(p.severity == "info" for p in problems(ret, "IMPORT-EXTRA-ROWS"))


# --- the five real reports ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed_id", IDS)
def test_seed_text_imports_every_number(seed_id):
    """Each seed report imports with the right version, year and unit and every number as hand-transcribed."""
    ret = import_report(SEED_DIR / f"{seed_id}.txt")
    assert_same_as_seed(ret, seed_id)
    assert ret.source == str(SEED_DIR / f"{seed_id}.txt")
    assert "LOCATED-BY-LABELS" in codes(ret)


@pytest.mark.parametrize("seed_id", IDS)
def test_seed_text_reads_cleanly(seed_id):
    """Nothing in the seed tables is left unplaced, incomplete or in error."""
    ret = import_report(SEED_DIR / f"{seed_id}.txt")
    assert codes(ret, "error") == [] and codes(ret, "warning") == []


@pytest.mark.parametrize("seed_id", IDS)
def test_seed_rule_outcomes_match_hand_arithmetic(seed_id):
    """The checker fails no rule of a seed; only an odd cell that stays unusable could leave a rule undetermined."""
    seed = SEEDS[seed_id]
    ret = import_report(SEED_DIR / f"{seed_id}.txt")
    results = ret.rule_results()
    failed = {r.rule.id: r.difference for r in results if r.outcome == "fail"}
    assert failed == {k: Decimal(str(v)) for k, v in seed["expected_failures"].items()}
    undetermined = {r.rule.id for r in results if r.outcome == "undetermined"}
    unusable = [k for k, raw in seed["odd"].items() if isinstance(normalize(raw, ret.form.cell[k].type)[0], Invalid)]
    assert undetermined <= set(seed["expected_undetermined"]) if unusable else undetermined == set()


def test_printed_totals_are_checked_not_recomputed(tmp_path):
    """A printed total is kept as printed, so a report whose own arithmetic is wrong fails the rule."""
    text = seed_text("001_5f44b5de1c5f047b")
    # 行政复议 printed as 维持 0, 纠正 1, …, 总计 1: make the printed 总计 2.
    head, appeal = text.split("四、政府信息公开行政复议、行政诉讼情况")
    appeal = appeal.replace("\t0\n\t1\n\t0\n\t0\n\t1\n", "\t0\n\t1\n\t0\n\t0\n\t2\n", 1)
    path = tmp_path / "report.txt"
    path.write_text(head + "四、政府信息公开行政复议、行政诉讼情况" + appeal, encoding="utf-8")
    ret = import_report(path)
    assert ret.values["appeal.review.total"] == 2
    failed = {r.rule.id: r.difference for r in ret.rule_results() if r.outcome == "fail"}
    assert failed == {"T4-SUM-REVIEW": Decimal(1)}


def test_gb18030_text(tmp_path):
    """A report saved in GB18030 (Chinese Windows) reads the same as its UTF-8 copy."""
    path = tmp_path / "report.txt"
    path.write_bytes(seed_text("003_d6f47a2b38dcf6cb").encode("gb18030"))
    assert_same_as_seed(import_report(path), "003_d6f47a2b38dcf6cb")


def test_filled_template_round_trip(tmp_path):
    """An imported report can be written as a filled template that the reader reads back with the same inputs."""
    ret = import_report(SEED_DIR / "001_5f44b5de1c5f047b.txt")
    back = read(write_xlsx(ret, tmp_path / "filled.xlsx"))
    inputs = [c.key for c in ret.form.inputs]
    assert {k: back.values.get(k) for k in inputs} == {k: ret.values.get(k) for k in inputs}
    assert (back.year, back.unit.name) == (2020, "北京市密云区穆家峪镇")


# --- HTML and Word ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed_id", IDS)
def test_html_with_merged_cells(seed_id, tmp_path):
    """An HTML report with rowspan/colspan, ASCII punctuation and <br> inside labels imports to the seed's numbers."""
    path = write_html(seed_id, SEEDS[seed_id], tmp_path / "report.html")
    ret = import_report(path)
    assert_same_as_seed(ret, seed_id)
    assert codes(ret, "error") == [] and codes(ret, "warning") == []


def test_html_in_gb2312_page(tmp_path):
    """An HTML page encoded in GB18030/GB2312 is decoded correctly."""
    seed_id = "004_afd3ce171a558573"
    path = write_html(seed_id, SEEDS[seed_id], tmp_path / "report.htm", encoding="gb18030")
    assert_same_as_seed(import_report(path), seed_id)


def test_data_row_merged_unlike_its_header(tmp_path):
    """A data row merged 2–3 | 4 | 5 under a header merged 2 | 3–4 | 5 (spec §3.1, Shanghai 2019) still reads right."""
    seed_id = "004_afd3ce171a558573"  # 行政许可 23 / 23 / 0
    path = write_html(seed_id, SEEDS[seed_id], tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    row = '<td>行政许可</td><td colspan="2">23</td><td colspan="2">23</td><td colspan="2">0</td>'
    assert row in page
    path.write_text(
        page.replace(row, '<td>行政许可</td><td colspan="3">23</td><td>23</td><td colspan="2">0</td>'), encoding="utf-8"
    )
    ret = import_report(path)
    assert_same_as_seed(ret, seed_id)
    assert codes(ret, "warning") == []


@pytest.mark.parametrize("seed_id", IDS)
def test_docx_with_merged_cells(seed_id, tmp_path):
    """A Word report with merged cells and line breaks inside labels (unit above the title) imports the same."""
    path = write_docx(seed_id, SEEDS[seed_id], tmp_path / "report.docx")
    ret = import_report(path)
    assert_same_as_seed(ret, seed_id)
    assert codes(ret, "error") == [] and codes(ret, "warning") == []


@pytest.mark.parametrize("seed_id", IDS)
def test_markdown_pipe_tables(seed_id, tmp_path):
    """A Markdown report with pipe tables (merged cells left empty) and the year after the title imports the same."""
    ret = import_report(write_markdown(seed_id, SEEDS[seed_id], tmp_path / "report.md"))
    assert_same_as_seed(ret, seed_id)
    assert codes(ret, "error") == [] and codes(ret, "warning") == []


# --- damaged and odd reports --------------------------------------------------------------------------------------


def test_table_cut_short_is_incomplete_not_zero(tmp_path):
    """A report cut after Table 三 row （四） names the table and the missing labels; missing cells are not zeros."""
    lines = seed_text("000_f7ae2b9bd63a851c").split("\n")
    cut = lines.index("\t3.补正后申请内容仍不明确") + 8  # the label and its seven numbers
    path = tmp_path / "cut.txt"
    path.write_text("\n".join(lines[:cut]), encoding="utf-8")
    ret = import_report(path)
    incomplete = {p.values["table"]: p for p in problems(ret, "IMPORT-INCOMPLETE")}
    assert set(incomplete) == {"三", "四"} and all(p.severity == "error" for p in incomplete.values())
    assert "1.信访举报投诉类申请" in incomplete["三"].values["missing"]
    assert "1.信访举报投诉类申请" in incomplete["三"].message
    assert ret.values["apply.result.unavailable.unclear.total"] == 0  # rows before the cut are read
    missing = ("apply.result.rejected.petition.natural_person", "apply.result_total.total", "apply.carried_over.total")
    assert all(isinstance(ret.values[key], Invalid) for key in missing)
    assert not any(k.startswith("appeal.") for k in ret.values)  # Table 四 absent: blank, reported, not zeros
    outcomes = {r.rule.id: r.outcome for r in ret.rule_results()}
    assert outcomes["T3-BAL-TOTAL"] == "undetermined" and outcomes["T4-SUM-REVIEW"] == "undetermined"


def test_unknown_row_is_placed_by_position_and_said(tmp_path):
    """A row whose label matches nothing, between rows found by their labels, is placed by the form's row order
    (the only order-keeping place, confirmed by the arithmetic), and the note names the text printed before it."""
    text = seed_text("001_5f44b5de1c5f047b").replace("\t（六）其他处理\n", "\t（六）其它处理事项\n")
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    ret = import_report(path)
    assert [ret.values[f"apply.result.other.{c}"] for c in ("natural_person", "total")] == [0, 0]
    assert not problems(ret, "IMPORT-UNPLACED")
    (note,) = [p for p in problems(ret, "LOCATED-BY-LABELS") if "按官方表格的行序" in p.message]
    assert "（六）其它处理事项" in note.message
    assert (
        ret.values["active.rules.regulation.made"]
        == import_report(SEED_DIR / "001_5f44b5de1c5f047b.txt").values["active.rules.regulation.made"]
    )  # Table 二, read by its labels, is kept


def test_row_with_wrong_count_of_numbers_is_not_guessed(tmp_path):
    """A text row with one number too many or too few is reported with its text; none of its numbers is placed."""
    text = seed_text("001_5f44b5de1c5f047b")
    text = text.replace("\t二、上年结转政府信息公开申请数量\n\t1\n", "\t二、上年结转政府信息公开申请数量\n\t1\n\t9\n")
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    ret = import_report(path)
    (p,) = problems(ret, "IMPORT-INCOMPLETE")
    assert p.severity == "error" and "9" in p.values["texts"] and "有 8 个数" in p.message
    assert all(isinstance(ret.values[f"apply.carried_in.{c}"], Invalid) for c in ("natural_person", "total"))


def test_stray_value_outside_the_columns_is_reported(tmp_path):
    """A number printed outside the table's columns (an extra cell after 规章) is reported with its text, not dropped."""
    seed_id = "004_afd3ce171a558573"
    path = write_html(seed_id, SEEDS[seed_id], tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    row_end = page.index("</tr>", page.index("<td>规章</td>"))
    path.write_text(page[:row_end] + "<td>5</td>" + page[row_end:], encoding="utf-8")
    ret = import_report(path)
    (p,) = problems(ret, "IMPORT-UNPLACED")
    assert p.values["texts"] == ["5"] and p.severity == "warning"
    assert ret.values["active.rules.regulation.published_total"] == 0


def test_text_without_tables_raises(tmp_path):
    """A text file that holds none of the three tables is refused with NOT-A-REPORT."""
    path = tmp_path / "letter.txt"
    path.write_text("关于做好政府信息公开工作的通知\n\n各单位：请按时报送年度报告。\n", encoding="utf-8")
    with pytest.raises(ReadError) as exc:
        import_report(path)
    assert exc.value.code == "NOT-A-REPORT"


def test_unusable_inputs_are_refused(tmp_path):
    """Empty, oversized, binary and spreadsheet-in-disguise files get a ReadError, not a crash."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(MAX_REPORT_BYTES + 1)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    sheet = tmp_path / "sheet.docx"
    shutil.copy(CORPUS / "salary-table.xlsx", sheet)
    bomb = tmp_path / "bomb.docx"
    shutil.copy(CORPUS / "xml-bomb-sheet.xlsx", bomb)
    expected = {empty: "EMPTY-FILE", big: "TOO-LARGE", binary: "NOT-A-REPORT", sheet: "NOT-A-REPORT", bomb: "XML-BOMB"}
    for path, code in expected.items():
        with pytest.raises(ReadError) as exc:
            import_report(path)
        assert exc.value.code == code, path.name


def test_paragraph_layout_short_row(tmp_path):
    """In the one-cell-per-paragraph layout (seed 002) a row that lost a number is reported, not shifted."""
    text = seed_text("002_ddf1fad75dcf317a")
    text = text.replace("2.重复申请\n\n0\n\n", "2.重复申请\n\n", 1)
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    ret = import_report(path)
    (p,) = problems(ret, "IMPORT-INCOMPLETE")
    assert "2.重复申请" in p.message and "有 6 个数" in p.message
    assert ret.values["apply.result.rejected.mass.total"] == 0  # the next row is read normally


def test_is_report_routes_by_extension_and_content(tmp_path):
    """Reports (.txt/.md/.html/.docx, or HTML/Word content under another name) route to the importer; sheets do not."""
    page = tmp_path / "report"
    page.write_bytes(b"<!DOCTYPE html><html><body></body></html>")
    word = write_docx("002_ddf1fad75dcf317a", SEEDS["002_ddf1fad75dcf317a"], tmp_path / "report.docx")
    renamed = tmp_path / "report.bin"
    shutil.copy(word, renamed)
    assert all(is_report(p) for p in (SEED_DIR / f"{IDS[0]}.txt", page, word, renamed, Path("a.md"), Path("b.HTM")))
    assert not any(is_report(p) for p in (CORPUS / "salary-table.xlsx", CORPUS / "html-table.xls", tmp_path))


def test_year_and_form_disagree(tmp_path):
    """A 2021 report printed on the 2019 tables is flagged FORM-YEAR-MISMATCH and read with the tables it uses."""
    text = seed_text("004_afd3ce171a558573").replace("2020年度政府信息公开年度报告", "2021年度政府信息公开年度报告")
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    ret = import_report(path)
    assert ret.year == 2021 and ret.form.version == "2019" and "FORM-YEAR-MISMATCH" in codes(ret, "error")
    assert form_for_year(2021).version == "2021"


def test_reports_of_one_unit_for_two_years_are_checked_across_years(tmp_path):
    """A folder with two years of one unit's reports: the later one is checked against the earlier (X-CARRY rules);
    --previous does the same with last year's report given explicitly."""
    import re as _re

    from xltool.importing import import_reports

    text = (Path(__file__).parent / "fixtures" / "seeds" / "000_f7ae2b9bd63a851c.txt").read_text(encoding="utf-8")
    year = int(_re.search(r"(20\d\d)年", text).group(1))
    folder = tmp_path / "历年报告"
    folder.mkdir()
    (folder / f"{year}.txt").write_text(text, encoding="utf-8")
    (folder / f"{year + 1}.txt").write_text(text.replace(f"{year}年", f"{year + 1}年"), encoding="utf-8")
    by_year = {r.ret.year: r for r in import_reports([folder])}
    later = {x.rule.id for x in by_year[year + 1].rules if x.rule.cross_year}
    earlier = {x.rule.id for x in by_year[year].rules if x.rule.cross_year}
    assert later and all(i.startswith("X-") for i in later) and not earlier
    explicit = import_reports([folder / f"{year + 1}.txt"], previous=folder / f"{year}.txt")
    assert {x.rule.id for x in explicit[0].rules if x.rule.cross_year} == later


def _with_lines(seed_id: str, tmp_path: Path, head: str | None, tail: list[str], name: str = "report") -> Path:
    """A seed's table part with its first line replaced by `head` (None: dropped) and `tail` lines appended."""
    lines = seed_text(seed_id).splitlines()
    lines = ([head] if head is not None else []) + lines[1:] + tail
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_signature_naming_another_unit_is_noted_and_the_title_kept(tmp_path):
    """A signature that differs from the title's unit by one character (an OCR or conversion slip) keeps the title's
    name as printed and adds UNIT-NAME-DIFFERS quoting both; a signature that is a part of the title's name does not."""
    title = "方正县大罗密镇2020年政府信息公开工作年度报告"
    slip = import_report(_with_lines(IDS[0], tmp_path, title, ["", "方正县大罗蜜镇", "2021年1月20日"], "slip"))
    assert slip.unit.name == "方正县大罗密镇"
    (p,) = problems(slip, "UNIT-NAME-DIFFERS")
    assert (p.values["printed"], p.values["title"]) == ("方正县大罗蜜镇", "方正县大罗密镇")
    same = import_report(_with_lines(IDS[0], tmp_path, title, ["", "大罗密镇人民政府", "2021年1月20日"], "same"))
    assert same.unit.name == "方正县大罗密镇" and not problems(same, "UNIT-NAME-DIFFERS")


def test_unit_printed_in_the_report_beats_the_file_name(tmp_path):
    """A report without a title line whose 填报单位 line names the unit: that printed name is the unit (not the file
    name's), noted with both."""
    path = _with_lines(IDS[0], tmp_path, "填报单位：方正县大罗密镇人民政府", [], "某镇2020年政府信息公开工作年度报告")
    ret = import_report(path)
    assert (ret.unit.name, ret.year) == ("方正县大罗密镇人民政府", 2020)
    (p,) = problems(ret, "UNIT-NAME-DIFFERS")
    assert (p.values["printed"], p.values["title"]) == ("方正县大罗密镇人民政府", "某镇")
