"""`xltool merge`: exact sums, nothing dropped silently, duplicates and double counting caught, nests upward."""

from __future__ import annotations

import csv
import random
import shutil
from decimal import Decimal

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from tests.fillings import random_return
from xltool.cli import app
from xltool.discover import _detail_rows
from xltool.forms import form_for_year
from xltool.layout import DETAIL_SHEET, REJECTED_SHEET, SOURCE_SHEET
from xltool.model import Return, Unit
from xltool.reading import read
from xltool.rollup import MergeError, merge
from xltool.roster import read_roster
from xltool.template import write_xlsx

FORM = form_for_year(2025)


def unit_file(folder, i, year=2025, **kw):
    ret = random_return(form_for_year(year), year, random.Random(1000 + i), **kw)
    ret.unit = Unit(name=f"第{i}镇人民政府", code=f"11{i:016d}")
    return write_xlsx(ret, folder / f"unit{i:03d}.xlsx")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """Twelve valid township returns."""
    folder = tmp_path_factory.mktemp("county")
    return [unit_file(folder, i) for i in range(12)]


def sheet_rows(path, name):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 11), min_size=1, max_size=12, unique=True))
def test_conservation(county, tmp_path_factory, picks):
    """For any set of units, every cell of the roll-up equals the sum of the units' values and of the 明细 column."""
    files = [county[i] for i in picks]
    roll = merge(files, Unit(name="测试县"), workers=1)
    assert len(roll.members) == len(files) and not roll.rejected
    out = roll.write(tmp_path_factory.mktemp("out") / "county.xlsx")
    back = read(out)
    detail = _detail_rows(sheet_rows(out, DETAIL_SHEET))  # either layout: a row or a column per unit
    assert len(detail) == len(files)
    units = [read(f).values for f in files]
    for key in (c.key for c in FORM.inputs):
        expected = sum((values.get(key, Decimal(0)) for values in units), Decimal(0))
        column = sum((Decimal(str(values[key])) for _, values in detail if key in values), Decimal(0))
        assert back.value(key) == expected == column, key
    assert not [p for p in back.check() if p.severity == "error"]  # a roll-up is itself a valid return


def test_amounts_are_summed_exactly(tmp_path):
    """万元 amounts add up exactly (0.1 + 0.2 = 0.3), not in floating point."""
    files = []
    for i, amount in enumerate(["0.1", "0.2", "0.0001"]):
        ret = random_return(FORM, 2025, random.Random(i))
        ret.values["active.fees.admin_fee.amount"] = Decimal(amount)
        ret.unit = Unit(name=f"镇{i}", code=f"9{i:017d}")
        files.append(write_xlsx(ret, tmp_path / f"{i}.xlsx"))
    roll = merge(files, workers=1)
    assert roll.total.values["active.fees.admin_fee.amount"] == Decimal("0.3001")


def test_every_rejection_is_listed_with_its_reason(county, tmp_path):
    """Unreadable, 未填报, invalid, other-year and other-form files are listed in 未汇总; nothing vanishes."""
    folder = tmp_path / "in"
    folder.mkdir()
    for f in county[:3]:
        shutil.copy(f, folder)
    (folder / "junk.xlsx").write_text("not a workbook")
    write_xlsx(Return(FORM, 2025, Unit(name="空白镇", code="88" + "0" * 16)), folder / "blank.xlsx")
    unit_file(folder, 50, broken=1)
    unit_file(folder, 51, year=2024)
    unit_file(folder, 52, year=2020)
    roll = merge([folder], workers=1)
    reasons = {r.info.name: r.code for r in roll.rejected}
    assert reasons == {
        "junk.xlsx": "NOT-SPREADSHEET",
        "blank.xlsx": "NOT-FILLED",
        "unit050.xlsx": "HAS-ERRORS",
        "unit051.xlsx": "MIXED-YEARS",
        "unit052.xlsx": "MIXED-YEARS",
    }
    assert len(roll.members) + len(roll.rejected) == 8
    out = roll.write(tmp_path / "c.xlsx")
    listed = {row[0] for row in sheet_rows(out, REJECTED_SHEET)[1:]}
    assert listed == set(reasons)
    statuses = [row[8] for row in sheet_rows(out, SOURCE_SHEET)[1:]]
    assert statuses.count("已汇总") == 3 and statuses.count("未汇总") == 5


def test_every_refusal_is_a_problem_placed_at_its_file(county, tmp_path):
    """A refusal is a Problem like any other (catalogued severity, the file as its place, the values it is about),
    its text is derived from it, and the read failure or error behind it comes with it, placed in its sheet and cell."""
    from xltool.codes import CATALOGUE, describe
    from xltool.problems import Problem

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(county[0], folder)
    (folder / "junk.xlsx").write_text("not a workbook")
    unit_file(folder, 50, broken=1)
    unit_file(folder, 51, year=2024)
    roll = merge([folder], workers=0)
    by_name = {r.info.name: r for r in roll.rejected}
    for r in roll.rejected:
        assert isinstance(r.problem, Problem) and r.problem.file == r.info.path
        assert r.problem.severity is CATALOGUE[r.code].severity
        assert r.text == f"{describe(r.code)}：{r.problem.message}" == f"{describe(r.code)}：{r.reason}"
    (read_failure,) = by_name["junk.xlsx"].causes
    assert read_failure.code == "NOT-SPREADSHEET" and read_failure.file == str(folder / "junk.xlsx")
    assert by_name["junk.xlsx"].reason == f"无法读取：{read_failure.message}"
    invalid = by_name["unit050.xlsx"]
    (first,) = invalid.causes
    assert first.severity == "error" and first.sheet and invalid.problem.values["errors"] >= 1
    assert invalid.reason.endswith(f"例如{first.located}") and f"“{first.sheet}”表" in first.located
    assert by_name["unit051.xlsx"].problem.values == {"year": 2024, "rollup_year": 2025}
    assert roll.problems == [r.problem for r in roll.rejected] + [n.problem for n in roll.notices]


def test_include_invalid_and_strict(county, tmp_path):
    """--include-invalid merges a unit with errors and marks it; --strict refuses the whole merge."""
    bad = unit_file(tmp_path, 60, broken=1)
    roll = merge([county[0], bad], include_invalid=True, workers=1)
    assert sorted(m.status.zh for m in roll.members) == ["已汇总", "已汇总（含错误）"]
    with pytest.raises(MergeError, match="strict"):
        merge([county[0], bad], strict=True, workers=1)


def test_same_unit_twice_is_not_kept_silently(county, tmp_path):
    """Two returns of one unit: both rejected, unless --prefer-newest keeps the newer one."""
    twin = random_return(FORM, 2025, random.Random(77))
    twin.unit = read(county[0]).unit
    twin.unit.date = "2026-01-20"
    second = write_xlsx(twin, tmp_path / "again.xlsx")
    roll = merge([county[0], second, county[1]], workers=1)
    assert {r.info.name: r.code for r in roll.rejected} == {"unit000.xlsx": "DUPLICATE", "again.xlsx": "DUPLICATE"}
    roll = merge([county[0], second, county[1]], prefer_newest=True, workers=1)
    assert [m.info.name for m in roll.members] == ["again.xlsx", "unit001.xlsx"] or {
        m.info.name for m in roll.members
    } == {"again.xlsx", "unit001.xlsx"}
    assert [r.code for r in roll.rejected] == ["DUPLICATE"]
    # same name, no codes: still the same unit
    a = random_return(FORM, 2025, random.Random(1))
    a.unit = Unit(name="无代码镇")
    b = random_return(FORM, 2025, random.Random(2))
    b.unit = Unit(name="无代码 镇")
    roll = merge([write_xlsx(a, tmp_path / "a.xlsx"), write_xlsx(b, tmp_path / "b.xlsx")], workers=1)
    assert [r.code for r in roll.rejected] == ["DUPLICATE", "DUPLICATE"]


def test_rollup_with_one_of_its_own_units_is_double_counting(county, tmp_path):
    """Merging a county roll-up together with one of its townships is caught through the roll-up's provenance."""
    sub = merge(county[:4], Unit(name="甲县", code="130000000000000001"), workers=1).write(tmp_path / "甲县.xlsx")
    roll = merge([sub, county[2], county[5]], workers=1)
    assert {r.info.name: r.code for r in roll.rejected} == {"unit002.xlsx": "DOUBLE-COUNTED"}


def test_order_independence(county, tmp_path):
    """The same inputs in any order give the same values and the same detail row order."""
    one = merge(county[:6], workers=1)
    shuffled = county[:6][::-1]
    two = merge(shuffled, workers=1)
    assert one.total.values == two.total.values
    assert [m.info.unit_code for m in one.members] == [m.info.unit_code for m in two.members]
    a = one.write(tmp_path / "a.xlsx")
    b = two.write(tmp_path / "b.xlsx")
    assert sheet_rows(a, DETAIL_SHEET) == sheet_rows(b, DETAIL_SHEET)


def test_rollup_of_rollups_equals_flat_merge(county, tmp_path):
    """A city merging two county roll-ups gets exactly the flat merge, and the provenance nests."""
    c1 = merge(county[:5], Unit(name="甲县", code="130000000000000001"), workers=1).write(tmp_path / "甲县.xlsx")
    c2 = merge(county[5:], Unit(name="乙县", code="130000000000000002"), workers=1).write(tmp_path / "乙县.xlsx")
    city = merge([c1, c2], Unit(name="某市"), workers=1)
    flat = merge(county, workers=1)
    assert city.total.values == flat.total.values
    out = city.write(tmp_path / "city.xlsx")
    levels = [row[0] for row in sheet_rows(out, SOURCE_SHEET)[1:]]
    assert levels.count(1) == 2 and levels.count(2) == len(county)
    province = merge([out], workers=1).write(tmp_path / "province.xlsx")
    assert sorted(row[0] for row in sheet_rows(province, SOURCE_SHEET)[1:]).count(3) == len(county)


def test_roster_lists_missing_and_unexpected_units(county, tmp_path):
    """--roster: units that did not report are 缺报; a unit not on the roster is listed as 名册外."""
    roster = tmp_path / "units.csv"
    rows = [["name", "code", "type"]] + [[f"第{i}镇人民政府", f"11{i:016d}", "乡镇"] for i in range(4)]
    rows.append(["第99镇人民政府", "", "乡镇"])
    with roster.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    roll = merge([*county[:3], county[7]], roster=read_roster(roster), workers=1)
    assert [e.name for e in roll.missing] == ["第3镇人民政府", "第99镇人民政府"]
    assert [m.info.unit_name for m in roll.unexpected] == ["第7镇人民政府"]


def test_export_escapes_formula_text(tmp_path):
    """The long CSV export (Chinese headings, for Excel) neutralises unit names such as =HYPERLINK(...) so a
    spreadsheet runs nothing."""
    ret = random_return(FORM, 2025, random.Random(3))
    ret.unit = Unit(name='=HYPERLINK("http://x","y")', code="+123")
    roll = merge([write_xlsx(ret, tmp_path / "evil.xlsx")], workers=1)
    out = roll.export(tmp_path / "long.csv")
    text = out.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["单位", "代码", "年度", "项目编号", "项目", "数值", "来源文件"]
    assert rows[1][0].startswith("'=") and rows[1][1] == "'+123"
    assert len(rows) == 1 + len(FORM.inputs)


def test_export_formats_hold_the_same_long_table(tmp_path):
    """The long table exported as CSV (Chinese headings), JSON and Parquet (the `parquet` extra) holds the same rows:
    one per unit and input cell, amounts exact."""
    import pandas as pd

    pytest.importorskip("pyarrow", reason="the parquet extra (pip install '.[parquet]')")
    ret = random_return(FORM, 2025, random.Random(4))
    roll = merge([write_xlsx(ret, tmp_path / "甲镇.xlsx")], workers=0)
    frame = roll.to_frame()
    csv_rows = pd.read_csv(roll.export(tmp_path / "long.csv"), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    json_rows = pd.read_json(roll.export(tmp_path / "long.json"), dtype=False)
    parquet_rows = pd.read_parquet(roll.export(tmp_path / "long.parquet"))
    assert len(frame) == len(csv_rows) == len(json_rows) == len(parquet_rows) == len(FORM.inputs)
    assert list(csv_rows["项目编号"]) == list(json_rows["key"]) == list(parquet_rows["key"]) == list(frame["key"])
    wanted = [None if v is None else float(v) for v in frame["value"]]
    assert [None if pd.isna(v) else float(v) for v in parquet_rows["value"]] == wanted
    assert [None if v == "" else float(v) for v in csv_rows["数值"]] == wanted


def test_cli_merge(county, tmp_path):
    """The CLI writes the roll-up, reports rejections on stderr and exits 1 when something was not merged."""
    runner = CliRunner()
    out = tmp_path / "county.xlsx"
    result = runner.invoke(app, ["merge", *map(str, county[:3]), "-o", str(out), "--unit", "测试县"])
    assert result.exit_code == 0, result.output
    assert read(out).unit.name == "测试县"
    junk = tmp_path / "junk.xlsx"
    junk.write_text("x")
    result = runner.invoke(app, ["merge", str(county[0]), str(junk), "-o", str(tmp_path / "c2.xlsx")])
    assert result.exit_code == 1 and "junk.xlsx" in result.output


def test_process_pool_gives_the_same_result(county):
    """Parallel inspection gives exactly the sequential result."""
    files = county * 4  # 48 inputs: enough to use the pool; duplicates are all rejected the same way
    assert merge(files, workers=2).total.values == merge(files, workers=1).total.values


def test_explanations_are_listed_per_unit(tmp_path):
    """Every unit's 说明 for a warning appears in the roll-up's 说明汇总 sheet for the county to review."""
    from xltool.layout import NOTES_SHEET

    files = []
    for i in range(3):
        ret = random_return(FORM, 2025, random.Random(40 + i))
        ret.unit = Unit(name=f"说明镇{i}", code=f"7{i:017d}")
        if i != 1:
            ret.values["active.rules.regulation.issued"] = ret.values["active.rules.regulation.in_force"] + 2
            ret.explanations["T2-INFORCE-REGULATION"] = f"第{i}镇：2 件规章年内废止"
        files.append(write_xlsx(ret, tmp_path / f"{i}.xlsx"))
    out = merge(files, workers=1).write(tmp_path / "c.xlsx")
    rows = sheet_rows(out, NOTES_SHEET)
    assert rows[0] == ["单位", "代码", "规则编号", "检查内容", "说明"]
    assert [(r[0], r[2], r[4]) for r in rows[1:]] == [
        ("说明镇0", "T2-INFORCE-REGULATION", "第0镇：2 件规章年内废止"),
        ("说明镇2", "T2-INFORCE-REGULATION", "第2镇：2 件规章年内废止"),
    ]


@pytest.mark.libreoffice
def test_rollup_as_ods_reads_back(county, tmp_path):
    """`-o county.ods` writes the roll-up as OpenDocument (via LibreOffice) that reads back to the same sums."""
    from xltool.office import soffice

    if soffice() is None:
        pytest.skip("LibreOffice not installed")
    roll = merge(county[:3], Unit(name="ODS县"), workers=1)
    back = read(roll.write(tmp_path / "county.ods"))
    assert back.meta["kind"] == "rollup" and back.unit.name == "ODS县"
    assert {k: back.values[k] for k in roll.total.values} == roll.total.values


def test_other_files_in_the_folder_are_listed_not_dropped(county, tmp_path):
    """Lock files, WPS .et files, PDFs and a roster CSV in the folder are listed as ignored, with reasons."""
    folder = tmp_path / "in"
    folder.mkdir()
    for f in county[:2]:
        shutil.copy(f, folder)
    (folder / "~$unit000.xlsx").write_bytes(b"lock")
    (folder / "西河乡.et").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "说明.pdf").write_bytes(b"%PDF-1.4")
    (folder / "units.csv").write_text("name,code\n", encoding="utf-8")
    roll = merge([folder], workers=1)
    ignored = {r.info.name: r.reason for r in roll.rejected if r.code == "IGNORED"}
    assert set(ignored) == {"~$unit000.xlsx", "西河乡.et", "units.csv"}
    assert [r.info.name for r in roll.reports] == ["说明.pdf"]  # a published report: listed, not a return
    assert "另存为 .xlsx" in ignored["西河乡.et"]
    assert len(roll.members) == 2 and not roll.not_merged
    out = roll.write(tmp_path / "c.xlsx")
    assert {row[0] for row in sheet_rows(out, REJECTED_SHEET)[1:]} == {*ignored, "说明.pdf"}
    result = CliRunner().invoke(app, ["merge", str(folder), "-o", str(tmp_path / "c2.xlsx")])
    assert result.exit_code == 0 and "已忽略：西河乡.et" in result.output
