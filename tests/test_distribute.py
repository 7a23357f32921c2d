"""Personalised workbooks per roster unit, with safe file names and pre-fill from last year."""

from __future__ import annotations

import csv
import random
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner

from tests.fillings import random_return
from xltool import layout
from xltool.cli import app
from xltool.discover import load_previous
from xltool.distribute import personalise
from xltool.forms import form_for_year
from xltool.model import Unit
from xltool.reading import read
from xltool.rollup import merge
from xltool.roster import RosterEntry, inspect_roster
from xltool.template import write_xlsx

HOSTILE = ["../x", "a/b", "c:\\d", 'e*f?"g<h>i|j', "CON", "  .hidden. ", "同名镇", "同名镇"]


def roster_file(tmp_path, entries):
    path = tmp_path / "units.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "code", "type"])
        w.writerows(entries)
    return path


def test_thirty_units_thirty_safe_files(tmp_path):
    """A 30-unit roster gives 30 workbooks in the folder, none escaping it, names legal on Windows, plus an index."""
    names = HOSTILE + [f"第{i}镇人民政府" for i in range(30 - len(HOSTILE))]
    entries = [[n, f"51{i:016d}", "乡镇"] for i, n in enumerate(names)]
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["template", "--year", "2025", "--roster", str(roster_file(tmp_path, entries)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    files = sorted(p for p in out.iterdir() if p.suffix == ".xlsx")
    assert len(files) == 30
    assert all(p.parent == out for p in files)
    assert not any(set(p.name) & set('\\/:*?"<>|') or p.stem.upper() == "CON" for p in files)
    assert not list(tmp_path.glob("*.xlsx")) and not (tmp_path / "x.xlsx").exists()
    index = list(csv.DictReader((out / "索引.csv").open(encoding="utf-8-sig")))
    assert [r["单位"] for r in index] == [n.strip() for n in names] and len({r["文件"] for r in index}) == 30
    for row in index:  # each file is that unit's, with name and code locked
        wb = openpyxl.load_workbook(out / row["文件"])
        guide = wb[layout.GUIDE_SHEET]
        name_cell = guide[f"B{layout.UNIT_FIELDS[0][2] + 1}"]
        code_cell = guide[f"B{layout.UNIT_FIELDS[1][2] + 1}"]
        assert (name_cell.value or "") == row["单位"] and code_cell.value == row["代码"]
        assert name_cell.protection.locked and code_cell.protection.locked


def test_prefill_from_last_years_rollup(tmp_path):
    """上年结转 is pre-filled from each unit's own 结转下年度 in last year's roll-up, locked, with a note."""
    form_2024 = form_for_year(2024)
    files, last = [], {}
    for i in range(3):
        ret = random_return(form_2024, 2024, random.Random(60 + i))
        ret.unit = Unit(name=f"预填镇{i}", code=f"61{i:016d}")
        last[ret.unit.code] = ret
        files.append(write_xlsx(ret, tmp_path / f"{i}.xlsx"))
    rollup = merge(files, Unit(name="预填县"), workers=1).write(tmp_path / "2024县.xlsx")
    previous = load_previous(rollup)
    entries = [RosterEntry(f"预填镇{i}", f"61{i:016d}", "乡镇") for i in range(3)] + [RosterEntry("新设镇", "", "乡镇")]
    index = personalise(entries, 2025, tmp_path / "out", previous)
    assert [bool(r["上年数据"]) for r in index] == [True, True, True, False]
    form = form_for_year(2025)
    for i in range(3):
        path = tmp_path / "out" / index[i]["文件"]
        ret = read(path)
        wb = openpyxl.load_workbook(path)
        for col in ("natural_person", "business", "other"):
            key = f"apply.carried_in.{col}"
            cell = form.cell[key]
            assert ret.values[key] == last[f"61{i:016d}"].values.get(f"apply.carried_over.{col}")
            target = wb[cell.sheet][cell.a1]
            assert target.protection.locked and "结转下年度继续办理" in target.comment.text
        # 现行有效件数 of last year is shown beside Table 二 for reference
        in_force = form.cell["active.rules.regulation.in_force"]
        shown = wb[in_force.sheet].cell(in_force.row + 1, form.table("active").width + 1).value
        assert Decimal(str(shown)) == last[f"61{i:016d}"].values["active.rules.regulation.in_force"]
    fresh = read(tmp_path / "out" / index[3]["文件"])
    assert not fresh.values


def personalised_from_last_year(tmp_path, name: str, code: str, seed: int):
    """Last year's return of one unit, and this year's personalised workbook pre-filled from it (read back)."""
    last = random_return(form_for_year(2024), 2024, random.Random(seed))
    last.unit = Unit(name=name, code=code)
    folder = tmp_path / "last"
    write_xlsx(last, folder / f"{name}.xlsx")
    index = personalise([RosterEntry(name, code, "乡镇")], 2025, tmp_path / "out", load_previous(folder))
    return last, tmp_path / "out" / index[0]["文件"]


def test_prefilled_carry_forward_passes_the_cross_year_check(tmp_path):
    """A unit that keeps the pre-filled 上年结转 passes the X-CARRY rules against last year's return."""
    last, path = personalised_from_last_year(tmp_path, "滚动镇", "620000000000000001", 70)
    this = read(path)
    for cell in form_for_year(2025).table("apply").cells:  # the clerk fills the rest of Table 三
        if cell.is_input and cell.key not in this.values:
            this.values[cell.key] = Decimal(0)
    results = {r.rule.id: r.outcome for r in this.rule_results(last) if r.rule.id.startswith("X-CARRY")}
    assert results and set(results.values()) == {"pass"}


def test_untouched_prefilled_workbook_is_still_not_filled(tmp_path):
    """Pre-filled 上年结转 cells do not make a workbook count as filled: untouched, it is 未填报 (Python and sheet)."""
    import openpyxl as _openpyxl

    _, path = personalised_from_last_year(tmp_path, "未动镇", "630000000000000001", 71)
    ret = read(path)
    assert ret.prefilled and ret.not_filled
    assert [p.code for p in ret.check()] == ["NOT-FILLED"]
    status = _openpyxl.load_workbook(path, data_only=True)[layout.CHECK_SHEET]
    assert status.cell(layout.check_status_row(ret.form, "apply") + 1, 2).value == "未填报"


def _template(*args):
    return CliRunner().invoke(app, ["template", "--year", "2025", *map(str, args)])


def test_file_names_carry_the_unit_and_the_year(tmp_path):
    """A roster's workbooks and a single template are named by unit and report year, the same way."""
    out = tmp_path / "out"
    assert _template("--roster", roster_file(tmp_path, [["甲镇", "1", "乡镇"]]), "--out", out).exit_code == 0
    assert (out / "甲镇2025年度政府信息公开工作年度报告统计表.xlsx").is_file()
    assert _template("--unit", "乙镇", "--out", tmp_path / "single").exit_code == 0
    assert [p.name for p in (tmp_path / "single").iterdir()] == ["乙镇2025年度政府信息公开工作年度报告统计表.xlsx"]


def test_output_option_with_a_roster_means_a_folder_or_is_refused(tmp_path):
    """With --roster, `-o 文件夹` is where the workbooks go; `-o 文件.xlsx`, -o beside --out, --unit or --code beside
    the roster, and --previous without a roster are refused (exit 2) before anything is written."""
    roster = roster_file(tmp_path, [["甲镇", "1", "乡镇"], ["乙镇", "2", "乡镇"]])
    result = _template("--roster", roster, "-o", tmp_path / "分发")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "分发").glob("*.xlsx"))) == 2
    for args in (
        ["--roster", roster, "-o", tmp_path / "县.xlsx"],
        ["--roster", roster, "-o", tmp_path / "a", "--out", tmp_path / "b"],
        ["--roster", roster, "--unit", "丙镇", "--out", tmp_path / "c"],
        ["--roster", roster, "--code", "3", "--out", tmp_path / "d"],
        ["--unit", "丙镇", "--previous", tmp_path, "-o", tmp_path / "e.xlsx"],
        ["--unit", "丙镇", "-o", tmp_path / "f.xlsx", "--out", tmp_path / "g"],
    ):
        result = _template(*args)
        assert result.exit_code == 2 and result.stderr.startswith("错误："), (args, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["units.csv", "分发"]


@pytest.mark.parametrize(
    ("name", "code", "kind"),
    [
        ("name", "code", "type"),
        ("单位", "代码", "类型"),
        ("单位名称", "统一社会信用代码", "单位类型"),
        ("名称", "编码", "类别"),
        ("单位名称（全称）", "行政区划代码", "类型"),
        ("填报单位*", "单位编码", "层级"),
        ("ＮＡＭＥ", "信用代码", "TYPE"),
    ],
)
def test_roster_headings_in_their_common_spellings(tmp_path, name, code, kind):
    """A roster's heading row is read in the spellings offices use (Chinese or English, width, a note in brackets or
    a star): every unit keeps its name, code and type, and nothing is reported as left out."""
    path = tmp_path / "名册.csv"
    path.write_text(f"序号,{name},{code},{kind}\n1,甲镇,915100,乡镇\n2,乙街道,915200,街道\n", encoding="gbk")
    read = inspect_roster(path)
    assert [(e.name, e.code, e.type) for e in read.entries] == [
        ("甲镇", "915100", "乡镇"),
        ("乙街道", "915200", "街道"),
    ]
    assert read.notes == []


def test_roster_columns_left_out_and_names_given_twice_are_reported(tmp_path):
    """Columns that are not used and a name or code given twice are reported as 警告 (with line numbers) by
    template and merge; the roster is used all the same, each unit getting its own file."""
    path = tmp_path / "名册.csv"
    path.write_text("单位名称,编码,联系人\n甲镇,1,张\n乙镇,2,李\n甲镇,3,王\n丙镇,2,赵\n", encoding="utf-8")
    read = inspect_roster(path)
    assert len(read.entries) == 4 and len(read.notes) == 3
    result = _template("--roster", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("警告：")]
    assert len(warned) == 3
    assert "“联系人”" in warned[0] and "“甲镇”（第 2、4 行）" in warned[1] and "“2”（第 3、5 行）" in warned[2]
    assert len(list((tmp_path / "out").glob("*.xlsx"))) == 4
    merged = CliRunner().invoke(
        app, ["merge", str(tmp_path / "out"), "-o", str(tmp_path / "县.xlsx"), "--roster", str(path)]
    )
    assert [line for line in merged.stderr.splitlines() if line.startswith("警告：")] == warned


def test_a_workbook_given_as_roster_is_refused_saying_what_to_do(tmp_path):
    """An Excel workbook given as the roster is refused (exit 2) with 另存为 CSV, not read as garbled text."""
    book = write_xlsx(random_return(form_for_year(2025), 2025, random.Random(1)), tmp_path / "名册.xlsx")
    result = _template("--roster", book, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "另存为" in result.stderr
