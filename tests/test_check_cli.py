"""`xltool check`: exit codes, JSON/CSV output, annotated copies, folders, --previous, Chinese only."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.fillings import random_return
from xltool.cli import app
from xltool.formats.csv import escape_formula
from xltool.forms import form_for_year
from xltool.model import Return, Unit
from xltool.template import write_xlsx

runner = CliRunner()


def filled(tmp_path, name, seed, year=2025, **kw):
    """A filled return written by xltool itself (cached values included), as a clerk's saved file would be."""
    ret = random_return(form_for_year(year), year, random.Random(seed), **kw)
    return write_xlsx(ret, tmp_path / name)


def run(*args):
    return runner.invoke(app, ["check", *map(str, args)])


def test_exit_codes(tmp_path):
    """0 when nothing is wrong, 1 with an error, 2 when a file cannot be read (the other files are still checked)."""
    good = filled(tmp_path, "good.xlsx", 1)
    bad = filled(tmp_path, "bad.xlsx", 2, broken=1)
    junk = tmp_path / "junk.xlsx"
    junk.write_text("hello")
    assert run(good).exit_code == 0
    assert run(good, bad).exit_code == 1
    result = run(good, bad, junk, "--format", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert [f["status"] for f in doc["files"]] == ["通过", "有错误", "无法读取"]
    assert doc["files"][2]["error"]["code"] == "NOT-SPREADSHEET"


def test_json_report_schema(tmp_path):
    """Each file lists, per rule, id, title, outcome, left, right, difference and cells; problems have locations."""
    path = filled(tmp_path, "bad.xlsx", 3, broken=1)
    doc = json.loads(run(path, "-f", "json").stdout)
    assert set(doc) == {"xltool_version", "summary", "files"}
    file = doc["files"][0]
    assert {"file", "status", "readable", "form", "year", "unit", "tables", "summary", "rules", "problems"} <= set(file)
    rule_keys = {
        "id",
        "title",
        "severity",
        "level",
        "expression",
        "outcome",
        "outcome_text",
        "display",
        "left",
        "right",
        "difference",
        "cells",
        "explanation",
        "reason",
        "basis",
    }
    assert all(set(r) == rule_keys for r in file["rules"])
    failed = [r for r in file["rules"] if r["outcome"] == "fail"]
    assert failed and all(r["difference"] == r["left"] - r["right"] for r in failed if r["left"] is not None)
    problem_keys = {"severity", "severity_text", "code", "message", "sheet", "cell", "where", "values", "file"}
    assert all(set(p) == problem_keys for p in file["problems"])
    assert "三、依申请公开!" in json.dumps(file["problems"], ensure_ascii=False)  # Chinese kept unescaped


def test_csv_has_bom_and_escapes_formulas(tmp_path):
    """CSV opens in Excel/WPS (UTF-8 BOM) and text that looks like a formula is neutralised."""
    path = filled(tmp_path, "=cmd.xlsx", 4, broken=1)
    out = run(path, "-f", "csv").stdout
    assert out.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))
    assert rows[0] == ["文件", "状态", "级别", "编号", "位置", "说明", "数值"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert escape_formula("=1+1") == "'=1+1" and escape_formula("-3") == "'-3" and escape_formula("三") == "三"


@pytest.mark.parametrize("workers", [0, 1])
def test_an_unreadable_file_is_one_problem_placed_at_the_file(tmp_path, workers):
    """A file that cannot be read is reported as a Problem (catalogued code and severity, the file as its place) that
    survives the trip from a worker; its code and message stay readable on the error itself."""
    import pickle

    from xltool.checking import check_files
    from xltool.outcomes import Severity
    from xltool.sources import ReadError

    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    (report,) = check_files([junk], workers=workers)
    error = report.error
    assert isinstance(error, ReadError) and error.code == "NOT-SPREADSHEET" and error.message
    assert error.problem.severity is Severity.ERROR and error.problem.file == str(junk)
    assert (error.problem.code, error.problem.message) == (error.code, error.message)
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, ReadError) and again.problem == error.problem and str(again) == error.message


def test_annotate_writes_a_marked_copy_and_leaves_the_original(tmp_path):
    """--annotate colours problem cells and adds comments in a copy; the original file's bytes do not change."""
    path = filled(tmp_path, "bad.xlsx", 5, broken=1)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = run(path, "--annotate", tmp_path / "back")
    assert result.exit_code == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    copy = tmp_path / "back" / "bad（已标注）.xlsx"
    wb = openpyxl.load_workbook(copy)
    comments = [c.comment.text for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    assert any("不平衡" in t for t in comments)


def test_folder_is_searched_recursively(tmp_path):
    """A folder argument finds returns in subfolders, skipping Office lock files."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    filled(tmp_path / "a", "one.xlsx", 6)
    filled(tmp_path / "a" / "b", "two.xlsx", 7)
    (tmp_path / "a" / "~$one.xlsx").write_bytes(b"lock")
    doc = json.loads(run(tmp_path / "a", "-f", "json").stdout)
    assert [f["file"][len(str(tmp_path)) + 1 :] for f in doc["files"]] == ["a/b/two.xlsx", "a/one.xlsx"]


def test_previous_year_carry_over(tmp_path):
    """--previous reports 上年结转 that differs from last year's 结转下年度 as an error with both numbers."""
    last = random_return(form_for_year(2024), 2024, random.Random(8))
    this = random_return(form_for_year(2025), 2025, random.Random(9))
    for col in form_for_year(2025).table("apply").col_keys:  # make the carry-forward right ...
        key = f"apply.carried_in.{col}"
        if form_for_year(2025).cell[key].is_input:
            diff = last.value(f"apply.carried_over.{col}") - this.values[key]
            this.values[key] += diff
            this.values[f"apply.new.{col}"] -= diff
    ok = {k: v for k, v in this.values.items()}
    this.values = {k: v for k, v in ok.items() if v >= 0} | {k: abs(v) for k, v in ok.items() if v < 0}
    previous = write_xlsx(last, tmp_path / "2024.xlsx")
    current = write_xlsx(this, tmp_path / "2025.xlsx")
    doc = json.loads(run(current, "--previous", previous, "-f", "json").stdout)
    carry = {r["id"]: r for r in doc["files"][0]["rules"] if r["id"].startswith("X-CARRY")}
    assert carry and all(r["outcome"] == "pass" for r in carry.values())
    # ... then break one column
    this.values["apply.carried_in.natural_person"] += 1
    this.values["apply.new.natural_person"] = this.values["apply.new.natural_person"] + 5
    current = write_xlsx(this, tmp_path / "2025b.xlsx")
    doc = json.loads(run(current, "--previous", previous, "-f", "json").stdout)
    rule = next(r for r in doc["files"][0]["rules"] if r["id"] == "X-CARRY-NATURAL_PERSON")
    assert rule["outcome"] == "fail" and rule["difference"] == 1
    assert any(p["code"] == "X-CARRY-NATURAL_PERSON" and p["severity"] == "error" for p in doc["files"][0]["problems"])


def test_no_english_mode(tmp_path):
    """Output is Chinese only: --lang is not an option (an English mode could not be complete without English rule
    titles and labels for every form); programs read codes, ids and structured values from the JSON."""
    path = filled(tmp_path, "bad.xlsx", 10, broken=1)
    refused = run(path, "-f", "json", "--lang", "en")
    assert refused.exit_code == 2 and "没有这个选项：--lang" in refused.stderr
    doc = json.loads(run(path, "-f", "json").stdout)
    problem = doc["files"][0]["problems"][0]
    assert problem["code"] and isinstance(problem["values"], dict) and problem["values"]["difference"]


def _units_of(tmp_path, *names):
    """One return per unit name, last year's and this year's."""
    out = []
    for i, name in enumerate(names):
        last = random_return(form_for_year(2024), 2024, random.Random(20 + i))
        last.unit = Unit(name=name, code=f"9151{i:014d}")
        this = random_return(form_for_year(2025), 2025, random.Random(30 + i))
        this.unit = Unit(name=name, code=f"9151{i:014d}")
        out.append((write_xlsx(last, tmp_path / f"{i}-2024.xlsx"), write_xlsx(this, tmp_path / f"{i}-2025.xlsx")))
    return out


def test_previous_of_another_unit_is_warned(tmp_path):
    """check --previous with another unit's file warns PREVIOUS-OTHER-UNIT (naming both units); with the unit's own
    file there is no such warning."""
    (own_last, own), (other_last, _) = _units_of(tmp_path, "甲镇人民政府", "乙镇人民政府")
    doc = json.loads(run(own, "--previous", other_last, "-f", "json").stdout)
    warned = [p for p in doc["files"][0]["problems"] if p["code"] == "PREVIOUS-OTHER-UNIT"]
    assert len(warned) == 1 and warned[0]["severity"] == "warning"
    assert "乙镇人民政府" in warned[0]["message"] and "甲镇人民政府" in warned[0]["message"]
    assert any(r["id"].startswith("X-CARRY") for r in doc["files"][0]["rules"])  # still compared, as before
    doc = json.loads(run(own, "--previous", own_last, "-f", "json").stdout)
    assert not [p for p in doc["files"][0]["problems"] if p["code"] == "PREVIOUS-OTHER-UNIT"]


@pytest.mark.parametrize("explained", [False, True])
def test_explained_warning_does_not_fail(tmp_path, explained):
    """A warning with a 说明 is reported as 已说明 (a note) and the file still passes."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(11))
    ret.values["active.rules.regulation.issued"] = ret.values["active.rules.regulation.in_force"] + 3
    if explained:
        ret.explanations["T2-INFORCE-REGULATION"] = "3 件已于年内废止"
    path = write_xlsx(ret, tmp_path / "w.xlsx")
    result = run(path, "-f", "json")
    assert result.exit_code == 0
    file = json.loads(result.stdout)["files"][0]
    rule = next(r for r in file["rules"] if r["id"] == "T2-INFORCE-REGULATION")
    assert rule["outcome"] == ("explained" if explained else "fail")
    assert file["status"] == ("通过" if explained else "有警告")


def test_unfilled_return_fails(tmp_path):
    """An untouched template is 未填报 and exits 1."""
    path = write_xlsx(Return(form_for_year(2025), 2025, Unit(name="空白镇")), tmp_path / "blank.xlsx")
    result = run(path, "-f", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["files"][0]["status"] == "未填报"


def test_previous_rollup_is_matched_per_unit(tmp_path):
    """--previous with last year's county roll-up checks each township against its own row of 明细."""
    from xltool.rollup import merge

    lasts, files = [], []
    for i in range(3):
        last = random_return(form_for_year(2024), 2024, random.Random(90 + i))
        last.unit = Unit(name=f"跨年镇{i}", code=f"33{i:016d}")
        lasts.append(write_xlsx(last, tmp_path / f"last{i}.xlsx"))
        this = random_return(form_for_year(2025), 2025, random.Random(95 + i))
        this.unit = last.unit
        for col in ("natural_person", "business"):  # carry forward correctly for units 0 and 1 only
            if i < 2:
                diff = last.value(f"apply.carried_over.{col}") - this.values[f"apply.carried_in.{col}"]
                this.values[f"apply.carried_in.{col}"] += diff
                this.values[f"apply.new.{col}"] -= diff
        files.append(write_xlsx(this, tmp_path / f"this{i}.xlsx"))
    rollup = merge(lasts, Unit(name="跨年县"), workers=1).write(tmp_path / "2024县.xlsx")
    doc = json.loads(run(*files, "--previous", rollup, "-f", "json").stdout)
    outcome = [{r["id"]: r["outcome"] for r in f["rules"]}["X-CARRY-NATURAL_PERSON"] for f in doc["files"]]
    assert outcome[:2] == ["pass", "pass"]
    stranger = write_xlsx(random_return(form_for_year(2025), 2025, random.Random(99)), tmp_path / "other.xlsx")
    doc = json.loads(run(stranger, "--previous", rollup, "-f", "json").stdout)
    assert "NO-PREVIOUS" in {p["code"] for p in doc["files"][0]["problems"]}


# The table parts of the five seed reports (shared/seeds), derived by tests/fixtures/make_seed_fixtures.py.
SEEDS_DIR = Path(__file__).parent / "fixtures" / "seeds"


def test_check_audits_a_folder_of_published_reports(tmp_path):
    """`xltool check` reads published report texts directly and lists their arithmetic; the seeds all balance."""
    result = run(SEEDS_DIR, "-f", "json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and len(doc["files"]) == 5
    assert {f["status"] for f in doc["files"]} == {"通过"}
    broken = tmp_path / "broken.txt"  # the same report with one more 自然人 application than it accounts for
    text = (SEEDS_DIR / "002_ddf1fad75dcf317a.txt").read_text(encoding="utf-8")
    broken.write_text(
        text.replace("一、本年新收政府信息公开申请数量\n\n0\n", "一、本年新收政府信息公开申请数量\n\n1\n", 1),
        encoding="utf-8",
    )
    doc = json.loads(run(broken, "-f", "json").stdout)
    failed = {r["id"] for r in doc["files"][0]["rules"] if r["outcome"] == "fail"}
    assert {"T3-ROWSUM-NEW", "T3-BAL-NATURAL_PERSON"} <= failed


def test_import_command_writes_filled_workbooks(tmp_path):
    """`xltool import` writes each report as a filled template that reads back to the same numbers."""
    result = runner.invoke(app, ["import", str(SEEDS_DIR / "002_ddf1fad75dcf317a.txt"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (written,) = tmp_path.glob("*.xlsx")
    from xltool.reading import read

    back = read(written)
    assert back.year == 2022 and back.unit.name == "贺兰县立岗镇"
    assert back.values["active.enforcement.penalty.decisions"] == 6


def partly_filled(tmp_path, name="part.xlsx"):
    """A return with one imbalance in 表三 and the 办理结果 rows of 表三 left blank (a clerk who stopped halfway)."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(1))
    for key in [k for k in ret.values if k.startswith("apply.") and k.split(".")[1] not in ("new", "carried_in")]:
        del ret.values[key]
    ret.values["apply.new.natural_person"] += 1
    return write_xlsx(ret, tmp_path / name)


def test_terminal_lists_errors_first_and_blank_cells_by_row(tmp_path):
    """The table output lists every error before any warning, and the blank cells of a partly filled 表三 as one
    line per table row with its range (`表三 第 8 行 … D8:I8 共 6 格空白`), not one block per cell."""
    path = partly_filled(tmp_path)
    doc = json.loads(run(path, "-f", "json").stdout)
    problems = doc["files"][0]["problems"]
    blanks = [p for p in problems if p["code"] == "BLANK-CELL"]
    rows = {(p["sheet"], p["cell"][1:]) for p in blanks}  # columns D..I are one letter
    assert len(blanks) > 100 and len(rows) * 6 == len(blanks)  # JSON keeps every cell
    result = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    out = result.stdout
    lines = [line for line in out.splitlines() if "BLANK-CELL" in line]
    assert len(lines) == len(rows)  # one line per row
    assert "三、依申请公开!D8:I8" in out and "表三 第 8 行「（一）予以公开」D8:I8 共 6 格空白" in out
    errors = [i for i, line in enumerate(out.splitlines()) if "│ 错误" in line]
    warnings = [i for i, line in enumerate(out.splitlines()) if "│ 警告" in line]
    assert errors and warnings and max(errors) < min(warnings)
    assert len(out.splitlines()) < 80
    narrow = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "80"}).stdout
    assert sum("格空白" in line for line in narrow.splitlines()) == len(rows)
    assert narrow.index("错误") < narrow.index("格空白")


def test_verbose_lists_every_blank_cell(tmp_path):
    """--verbose lists each blank cell on its own (in the table and the CSV), as JSON always does."""
    path = partly_filled(tmp_path)
    blanks = sum(p["code"] == "BLANK-CELL" for p in json.loads(run(path, "-f", "json").stdout)["files"][0]["problems"])
    wide = {"COLUMNS": "200"}
    out = runner.invoke(app, ["check", str(path), "--verbose"], env=wide).stdout
    assert sum("BLANK-CELL" in line for line in out.splitlines()) == blanks
    assert "三、依申请公开!D8 " in out and "D8:I8" not in out
    rows = list(csv.reader(io.StringIO(run(path, "-f", "csv", "-v").stdout.lstrip("\ufeff"))))
    assert sum(r[3] == "BLANK-CELL" for r in rows[1:]) == blanks


def test_csv_lists_errors_first_and_blank_rows(tmp_path):
    """The CSV has the terminal's lines: errors first, then each blank table row once with its range and count."""
    path = partly_filled(tmp_path)
    rows = list(csv.reader(io.StringIO(run(path, "-f", "csv").stdout.lstrip("\ufeff"))))[1:]
    severities = [r[2] for r in rows]
    assert severities == sorted(severities, key=["错误", "警告", "提示"].index)
    blank = [r for r in rows if r[3] == "BLANK-CELL"]
    assert blank and all(json.loads(r[6]) == {"blank_cells": 6} for r in blank)
    assert [r[4] for r in blank if r[4].endswith("8:I8")] == ["三、依申请公开!D8:I8"]


def test_blank_rows_name_gaps_and_single_cells():
    """A row with a filled cell between blanks lists both ranges; a lone blank cell keeps its own message."""
    from xltool.codes import Code
    from xltool.formats._listing import BlankRow, listed
    from xltool.problems import Problem

    form = form_for_year(2025)

    def blank(cell):
        return Problem.of(Code.BLANK_CELL, f"{cell} 为空白", sheet="三、依申请公开", cell=cell)

    error = Problem("error", "T3-BAL-TOTAL", "不平衡", sheet="三、依申请公开", cell="J6")
    lines = listed([blank("D8"), blank("F8"), blank("G8"), blank("D10"), error], form)
    assert lines[0] is error
    assert isinstance(lines[1], BlankRow) and lines[1].cell == "D8、F8:G8" and lines[1].table == "三"
    assert lines[1].text().startswith("表三 第 8 行「（一）予以公开」D8、F8:G8 共 3 格空白")
    assert lines[2].message == "D10 为空白"
    assert len(listed([blank("D8"), blank("F8")], form, verbose=True)) == 2
