"""Issue 21, points 1-3: a roll-up never counts a unit twice, says what it merged, and never says 可以报送 while
incomplete — the same units counted by the roster, 汇总说明, the status lines, `check` and the terminal."""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from tests.fillings import random_return
from xltool import layout
from xltool.cli import app
from xltool.codes import Code
from xltool.forms import form_for_year
from xltool.model import Unit
from xltool.reading import read
from xltool.rollup import merge
from xltool.rollup.identity import code_key, name_key, same_unit
from xltool.roster import read_roster
from xltool.template import write_xlsx

FORM = form_for_year(2025)
TOWN, TOWN_CODE = "东岭镇人民政府", "11330000000000001D"
runner = CliRunner()


def unit_return(folder: Path, name: str, code: str, seed: int, file: str | None = None, **kw) -> Path:
    ret = random_return(FORM, 2025, random.Random(seed), **kw)
    ret.unit = Unit(name=name, code=code)
    return write_xlsx(ret, folder / (file or f"{name}.xlsx"))


def rows(path: Path, sheet: str) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def cells(path: Path, sheet: str) -> list[str]:
    return [str(v) for row in rows(path, sheet) for v in row if v not in (None, "")]


def write_roster(path: Path, units: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["name", "code", "type"], *[[n, c, "乡镇"] for n, c in units]])
    return path


@pytest.fixture(scope="module")
def town_folder(tmp_path_factory) -> Path:
    """东岭镇's coded return, its published report (made with `xltool report`, no code) and 西山乡's return."""
    folder = tmp_path_factory.mktemp("returns")
    town = unit_return(folder, TOWN, TOWN_CODE, 1)
    unit_return(folder, "西山乡人民政府", "11330000000000002X", 2)
    report = folder / f"{TOWN}2025年政府信息公开工作年度报告.docx"
    result = runner.invoke(app, ["report", str(town), "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert read(report).unit.code == "" and name_key(read(report).unit.name) == name_key(TOWN)
    return folder


def test_identity_folds_width_spaces_and_zero_width_characters():
    """Codes compare with full-width digits/letters folded and every space (NBSP, ideographic) removed, upper case;
    names with NFKC and every space and zero-width character removed; code wins when both sides have one."""
    wide = "".join(chr(ord(c) + 0xFEE0) for c in TOWN_CODE.lower())  # full-width digits and lower-case letters
    assert code_key(wide[:4] + "\u00a0" + wide[4:9] + " " + wide[9:] + "\u3000") == TOWN_CODE
    assert name_key("东岭\u200b镇\u00a0人民\ufeff政府\u3000") == name_key("东岭镇人民政府")
    assert name_key("ＡＢ镇") == name_key("AB镇")
    assert same_unit("东岭镇", "９１３３０００", "另一个名字", "9133 000")
    assert same_unit("东岭镇", "91330000", "东岭\u200b镇", "")  # one side without a code: by name
    assert not same_unit("东岭镇", "91330000", "东岭镇", "91330001")  # two codes: two units of one name


def test_full_width_code_and_nbsp_are_one_unit(tmp_path):
    """Two returns whose codes differ only by full-width digits and NBSP are one unit: neither is summed."""
    unit_return(tmp_path, TOWN, TOWN_CODE, 1, file="a.xlsx")
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in TOWN_CODE)  # full-width digits and letters
    unit_return(tmp_path, "东岭镇政府", wide[:6] + "\u00a0" + wide[6:], 2, file="b.xlsx")
    unit_return(tmp_path, "西山乡人民政府", "11330000000000002X", 3)
    roll = merge([tmp_path], workers=0)
    assert {r.info.name: r.code for r in roll.rejected} == {"a.xlsx": Code.DUPLICATE, "b.xlsx": Code.DUPLICATE}
    assert [m.info.unit_name for m in roll.members] == ["西山乡人民政府"]


def test_zero_width_spaces_in_a_name_are_one_unit(tmp_path):
    """Two uncoded returns whose names differ by zero-width and ideographic spaces are one unit."""
    unit_return(tmp_path, TOWN, "", 1, file="a.xlsx")
    unit_return(tmp_path, "东岭\u200b镇\u3000人民政府", "", 2, file="b.xlsx")
    roll = merge([tmp_path], workers=0, prefer_newest=True)
    assert len(roll.members) == 1 and [r.code for r in roll.rejected] == [Code.DUPLICATE]
    assert roll.rejected[0].superseded and not roll.not_merged and roll.gaps is None


def test_coded_return_and_uncoded_file_of_the_same_name_meet(tmp_path):
    """A coded return and an uncoded one of the same name are one unit; an uncoded file named like two units of
    different codes cannot be placed: all three are refused as a conflict, none summed."""
    unit_return(tmp_path, TOWN, TOWN_CODE, 1, file="coded.xlsx")
    unit_return(tmp_path, TOWN, "", 2, file="uncoded.xlsx")
    unit_return(tmp_path, "西山乡人民政府", "11330000000000002X", 3)
    roll = merge([tmp_path], workers=0)
    assert {r.info.name: r.code for r in roll.rejected} == {"coded.xlsx": "DUPLICATE", "uncoded.xlsx": "DUPLICATE"}
    unit_return(tmp_path, TOWN, "11330000000000009Z", 4, file="other-code.xlsx")
    roll = merge([tmp_path], workers=0, prefer_newest=True)
    refused = {r.info.name: r.code for r in roll.rejected}
    assert refused == {"coded.xlsx": "CONFLICT", "uncoded.xlsx": "CONFLICT", "other-code.xlsx": "CONFLICT"}
    assert [m.info.unit_name for m in roll.members] == ["西山乡人民政府"]


def test_published_report_beside_its_return_is_not_counted_twice(town_folder, tmp_path):
    """A town's return and its published report in one folder: one unit summed, the report listed as not merged
    (PUBLISHED-REPORT) with its reason, exit 0; the terminal, 汇总说明 and _meta count 2 units."""
    roll = merge([town_folder], workers=0)
    assert sorted(m.info.unit_name for m in roll.members) == sorted([TOWN, "西山乡人民政府"])
    assert [(r.code, r.reason) for r in roll.rejected] == [
        (Code.PUBLISHED_REPORT, "这是已发布的年度报告，不作为报表汇总")
    ]
    assert not roll.not_merged and roll.gaps is None
    town = read(town_folder / f"{TOWN}.xlsx").values
    west = read(town_folder / "西山乡人民政府.xlsx").values
    key = "apply.new.natural_person"  # 三 本年新收 自然人: the report would have added the town's figure again
    assert roll.total.values[key] == town[key] + west[key]
    out = tmp_path / "county.xlsx"
    result = runner.invoke(app, ["merge", str(town_folder), "-o", str(out), "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "汇总 2 个单位；另有 1 份已发布的年度报告未汇总" in result.output
    assert f"未汇总（已发布的报告）：{TOWN}2025年政府信息公开工作年度报告.docx" in result.output
    meta = read(out).meta
    assert meta["members"] == "2" and meta["not_merged"] == "0"
    assert any(str(row[0]).endswith(".docx") for row in rows(out, layout.REJECTED_SHEET)[1:])
    assert "汇总 2 个单位（未汇总 0）" in cells(out, layout.SUMMARY_SHEET)


def test_published_report_with_roster_counts_the_unit_once(town_folder, tmp_path):
    """With --roster, the header, 名册核对 and the terminal all count 2 units merged, no 名册外 unit, no gap."""
    roster = write_roster(tmp_path / "units.csv", [(TOWN, TOWN_CODE), ("西山乡人民政府", "11330000000000002X")])
    out = tmp_path / "county.xlsx"
    result = runner.invoke(app, ["merge", str(town_folder), "-o", str(out), "--roster", str(roster), "--workers", "0"])
    assert result.exit_code == 0, result.output
    assert "汇总 2 个单位（应报 2，缺报 0，未汇总 0）" in result.output
    statuses = [row[3] for row in rows(out, layout.ROSTER_SHEET)[1:] if row and row[0]]
    assert statuses.count("已汇总") == 2 and "名册外单位" not in statuses
    assert "汇总不完整" not in " ".join(cells(out, layout.CHECK_SHEET))


def test_include_reports_makes_the_report_a_duplicate_of_the_return(town_folder):
    """--include-reports reads the report, which is then the same unit as the coded return: not summed twice."""
    roll = merge([town_folder], workers=0, include_reports=True)
    assert sorted(r.code for r in roll.rejected) == [Code.DUPLICATE, Code.DUPLICATE]
    assert [m.info.unit_name for m in roll.members] == ["西山乡人民政府"]
    roll = merge([town_folder], workers=0, include_reports=True, prefer_newest=True)
    assert len(roll.members) == 2 and len(roll.superseded) == 1


def test_check_notes_a_published_report_in_a_folder(town_folder):
    """`xltool check` of a folder checks the report's tables but notes (PUBLISHED-REPORT, not an error) that it is
    not a return; the returns are unaffected."""
    result = runner.invoke(app, ["check", str(town_folder), "-f", "json", "--workers", "0"])
    doc = json.loads(result.stdout)
    notes = {Path(f["file"]).suffix: [p["code"] for p in f.get("problems", [])] for f in doc["files"]}
    assert Code.PUBLISHED_REPORT in notes[".docx"]
    assert all(Code.PUBLISHED_REPORT not in codes for suffix, codes in notes.items() if suffix == ".xlsx")


@pytest.fixture(scope="module")
def incomplete(tmp_path_factory) -> tuple[Path, Path, object]:
    """A roster of 5 towns: 3 merged, 乙镇 missing, 丁镇 refused (errors)."""
    folder = tmp_path_factory.mktemp("five")
    names = [("甲镇", "11330000000000011A"), ("乙镇", "11330000000000012B"), ("丙镇", "11330000000000013C")]
    names += [("丁镇", "11330000000000014D"), ("戊镇", "11330000000000015E")]
    for i, (name, code) in enumerate(names):
        if name == "乙镇":
            continue
        unit_return(folder, name, code, 10 + i, broken=1 if name == "丁镇" else 0)
    roster = write_roster(folder.parent / f"{folder.name}-units.csv", names)
    out = folder.parent / f"{folder.name}-county.xlsx"
    result = runner.invoke(app, ["merge", str(folder), "-o", str(out), "--roster", str(roster), "--workers", "0"])
    return out, roster, result


GAPS = "汇总不完整：缺报 1 个单位（乙镇）、未汇总 1 个单位（丁镇）"


def test_incomplete_rollup_never_says_ready(incomplete):
    """With 1 roster unit missing and 1 refused, the terminal, the 校验 banner, each table's status line, 汇总说明
    and `xltool check` of the roll-up all say the same gaps line naming them; check's status is a warning."""
    out, _roster, result = incomplete
    assert result.exit_code == 1 and GAPS in result.output
    meta = read(out).meta
    assert json.loads(meta[layout.MISSING_UNITS]) == ["乙镇"] and json.loads(meta[layout.NOT_MERGED_UNITS]) == ["丁镇"]
    banner = rows(out, layout.CHECK_SHEET)[layout.CHECK_VERDICT_ROW][0]
    assert banner == GAPS
    for table in FORM.tables:
        assert any(str(v).startswith(GAPS) for row in rows(out, table.sheet)[:4] for v in row)
    assert GAPS in cells(out, layout.SUMMARY_SHEET)
    checked = runner.invoke(app, ["check", str(out), "-f", "json"])
    (doc,) = json.loads(checked.stdout)["files"]
    incomplete_problems = [p for p in doc["problems"] if p["code"] == Code.ROLLUP_INCOMPLETE]
    assert len(incomplete_problems) == 1 and GAPS in incomplete_problems[0]["message"]
    assert doc["status"] == "有警告"


def test_complete_rollup_still_says_ready(tmp_path):
    """A roll-up with every roster unit merged keeps 可以报送 and its counts line; check has no ROLLUP-INCOMPLETE."""
    names = [("甲镇", "11330000000000011A"), ("丙镇", "11330000000000013C")]
    for i, (name, code) in enumerate(names):
        unit_return(tmp_path, name, code, 10 + i)
    roster = write_roster(tmp_path / "units.csv", names)
    roll = merge([tmp_path], roster=read_roster(roster), workers=0)
    out = roll.write(tmp_path / "c.xlsx")
    assert rows(out, layout.CHECK_SHEET)[layout.CHECK_VERDICT_ROW][0] == "可以报送"
    checked = runner.invoke(app, ["check", str(out), "-f", "json"])
    assert Code.ROLLUP_INCOMPLETE not in checked.stdout


def _with_stray_cell(path: Path) -> Path:
    wb = openpyxl.load_workbook(path)
    wb[FORM.tables[1].sheet]["A5000"] = "备注：见附件"  # far below the tables
    wb.save(path)
    return path


def test_merged_unit_with_stray_cells_is_named(tmp_path):
    """A merged return with a cell far outside the tables (STRAY-CELLS) is named, with its reason, in the terminal
    summary and in 汇总说明; a clean one is not."""
    _with_stray_cell(unit_return(tmp_path, "甲镇", "11330000000000011A", 1))
    unit_return(tmp_path, "丙镇", "11330000000000013C", 2)
    roll = merge([tmp_path], workers=0)
    assert len(roll.members) == 2
    stray = [f for f in roll.flagged if Code.STRAY_CELLS in f.reason]
    assert [f.unit for f in stray] == ["甲镇"] and all(f.unit != "丙镇" for f in roll.flagged)
    out = tmp_path.parent / f"{tmp_path.name}-c.xlsx"
    result = runner.invoke(app, ["merge", str(tmp_path), "-o", str(out), "--workers", "0"])
    assert "表格以外有内容" in result.output and "甲镇（甲镇.xlsx）" in result.output
    summary = cells(out, layout.SUMMARY_SHEET)
    assert any(Code.STRAY_CELLS in c for c in summary) and "甲镇（甲镇.xlsx）" in summary


def _banner_and_lines(out: Path) -> list[str]:
    """The cached 校验 verdict and the status line of each table, as the writer computed them."""
    return [str(rows(out, layout.CHECK_SHEET)[layout.CHECK_VERDICT_ROW][0])] + [
        str(rows(out, t.sheet)[1][0]) for t in FORM.tables if rows(out, t.sheet)[1][0]
    ]


@pytest.mark.libreoffice
def test_incomplete_banner_formula_agrees_in_libreoffice(lo, incomplete):
    """LibreOffice recalculating the incomplete roll-up gives the same gaps banner and status lines as cached."""
    out, _roster, _result = incomplete
    cached = _banner_and_lines(out)
    reads = [{"sheet": layout.CHECK_SHEET, "cell": "A2"}]
    reads += [{"sheet": t.sheet, "cell": "A2"} for t in FORM.tables if rows(out, t.sheet)[1][0]]
    got = [c["string"] for c in lo.recalc(out, set=[], read=reads)]
    assert got == cached and got[0] == GAPS


@pytest.mark.gnumeric
@pytest.mark.skipif(shutil.which("ssconvert") is None, reason="Gnumeric (ssconvert) is not installed")
def test_incomplete_banner_formula_agrees_in_gnumeric(incomplete, tmp_path):
    """Gnumeric recalculating the incomplete roll-up gives the same gaps banner as cached."""
    from tests.test_gnumeric import recalculated

    out, _roster, _result = incomplete
    copy = tmp_path / "county.xlsx"
    shutil.copy(out, copy)
    sheets = recalculated(copy)
    check = next(v for k, v in sheets.items() if k.endswith(layout.CHECK_SHEET))
    assert check[layout.CHECK_VERDICT_ROW][0] == GAPS == _banner_and_lines(out)[0]
