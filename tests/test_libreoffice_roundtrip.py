"""Templates recalculated in real LibreOffice agree with the Python checker, rule by rule."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xlsxwriter.utility import xl_rowcol_to_cell

from tests.fillings import form_years, random_return
from xltool import layout
from xltool.forms import form_for_year
from xltool.model import Invalid, Return, Unit
from xltool.template import write_xlsx

pytestmark = pytest.mark.libreoffice

YEARS = form_years()  # every form in all_forms()


@pytest.fixture(scope="module", params=["xlsx", "ods"])
def templates(request, tmp_path_factory):
    """Blank templates per year, as xlsx and as ods (every agreement test runs on both)."""
    from xltool.formats import writer_for

    folder = tmp_path_factory.mktemp("templates")
    return {
        y: writer_for("workbook", folder / f"t{y}.{request.param}").write(
            Return(form_for_year(y), y, Unit(name="测试镇")), folder / f"t{y}.{request.param}"
        )
        for y in YEARS
    }


def fill_requests(ret: Return) -> list[dict]:
    """UNO cell writes that type `ret` into a blank template, as a clerk would."""
    sets = []
    for cell in ret.form.inputs:
        v = ret.values.get(cell.key)
        if v is not None:
            sets.append({"sheet": cell.sheet, "cell": cell.a1, "value": v.raw if isinstance(v, Invalid) else float(v)})
    for table_id in ret.no_items:
        table = ret.form.table(table_id)
        sets.append({"sheet": table.sheet, "cell": xl_rowcol_to_cell(*layout.no_items_cell(table)), "value": "是"})
    for rule in ret.form.local_rules:
        if rule.id in ret.explanations:
            cell = xl_rowcol_to_cell(layout.check_rule_row(ret.form, rule), layout.COL_NOTE)
            sets.append({"sheet": layout.CHECK_SHEET, "cell": cell, "value": ret.explanations[rule.id]})
    return sets


def check_cells(form) -> list[dict]:
    reads = []
    for rule in form.local_rules:
        row = layout.check_rule_row(form, rule)
        reads.append({"sheet": layout.CHECK_SHEET, "cell": xl_rowcol_to_cell(row, layout.COL_RESULT)})
    for table in form.tables:
        reads.append(
            {"sheet": layout.CHECK_SHEET, "cell": xl_rowcol_to_cell(layout.check_status_row(form, table.id), 1)}
        )
    reads.append({"sheet": layout.CHECK_SHEET, "cell": xl_rowcol_to_cell(layout.CHECK_SUMMARY_ROW, 0)})
    reads.append({"sheet": layout.CHECK_SHEET, "cell": xl_rowcol_to_cell(layout.CHECK_VERDICT_ROW, 0)})
    for table in form.tables:  # the status line above each table
        reads.append({"sheet": table.sheet, "cell": "A2"})
    for row, col in list_cells(form):  # every printed row of the problems list
        reads.append({"sheet": layout.CHECK_SHEET, "cell": xl_rowcol_to_cell(row, col)})
    return reads


def list_cells(form) -> list[tuple[int, int]]:
    """(row, column) of every cell of the printed problems list, row by row."""
    top = layout.CHECK_PROBLEMS_HEADER_ROW
    return [(top + n, col) for n in range(1, layout.check_problem_rows(form) + 1) for col in range(4)]


def assert_agree(lo, path, ret: Return) -> None:
    got = [c["string"] for c in lo.recalc(path, set=fill_requests(ret), read=check_cells(ret.form))]
    assert_same_checks(got, ret)


def expected_checks(ret: Return) -> tuple[list[str], list[str]]:
    """What the 校验 sheet and the table status lines must show, computed in Python, with labels."""
    from xltool.template.verdicts import problem_lines, shown_lines
    from xltool.template.xlsx import status_lines, summary_text, verdict_for

    results = ret.rule_results()
    expected = [r.display for r in results]
    expected += [ret.table_status(t.id) for t in ret.form.tables] + [summary_text(ret), verdict_for(ret)]
    expected += status_lines(ret)
    labels = [r.rule.id for r in results] + [f"status:{t.id}" for t in ret.form.tables] + ["summary", "verdict"]
    labels += [f"line:{t.id}" for t in ret.form.tables]
    rows = layout.check_problem_rows(ret.form)
    expected += [text for line in shown_lines(problem_lines(ret), rows) for text in line]
    labels += [f"list:{row}:{col}" for row, col in list_cells(ret.form)]
    return expected, labels


def assert_same_checks(got: list[str], ret: Return) -> None:
    expected, labels = expected_checks(ret)
    got = [g.split("　　填报单位")[0] if lbl.startswith("line:") else g for lbl, g in zip(labels, got, strict=True)]
    mismatches = [(lbl, g, e) for lbl, g, e in zip(labels, got, expected, strict=True) if g != e]
    assert not mismatches, mismatches


@pytest.mark.parametrize("year", YEARS)
def test_blank_template_shows_not_filled(lo, templates, year):
    """An untouched template: every table 未填报 and every rule 无法判断, in LibreOffice as in Python."""
    ret = Return(form_for_year(year), year)
    assert_agree(lo, templates[year], ret)
    assert all(r.outcome == "undetermined" for r in ret.rule_results())


@pytest.mark.parametrize("year", YEARS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    broken=st.integers(0, 3),
    blanks=st.integers(0, 4),
    texts=st.integers(0, 1),
    explain=st.booleans(),
)
def test_random_fillings_agree(lo, templates, year, seed, broken, blanks, texts, explain):
    """Random consistent and broken fillings: LibreOffice's check cells equal the Python checks, rule by rule."""
    ret = random_return(
        form_for_year(year), year, random.Random(seed), broken=broken, blanks=blanks, texts=texts, explain=explain
    )
    assert_agree(lo, templates[year], ret)


@pytest.mark.parametrize(
    "kind",
    [
        {"broken": 1, "blanks": 4, "texts": 2, "explain": True},  # every kind of line at once
        {"broken": 2, "blanks": 30, "texts": 25},  # more lines than the printed list holds
    ],
)
def test_problem_list_agrees_for_mixed_returns(lo, templates, kind):
    """Invalid entries, failed rules and blank rows together: LibreOffice's problems list, counts and verdict equal
    Python's, row by row (and the overflow line when the list is full)."""
    ret = random_return(form_for_year(2025), 2025, random.Random(17), **kind)
    assert_agree(lo, templates[2025], ret)


@pytest.mark.parametrize("year", YEARS)
def test_consistent_filling_passes_everywhere(lo, templates, year):
    """A balanced return passes every 逻辑性 rule in LibreOffice."""
    ret = random_return(form_for_year(year), year, random.Random(7))
    assert_agree(lo, templates[year], ret)
    assert all(r.outcome == "pass" for r in ret.rule_results() if r.rule.severity == "error")


def test_unbalanced_column_reports_the_difference(lo, templates):
    """One extra 予以公开 for 自然人 shows 不平衡（差额 -1） in the 勾稽 rule of that column and of 总计."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(3))
    ret.values["apply.result.public.natural_person"] += 1
    assert_agree(lo, templates[2025], ret)
    by_id = {r.rule.id: r for r in ret.rule_results()}
    assert by_id["T3-BAL-NATURAL_PERSON"].display == "不平衡（差额 -1）"
    assert by_id["T3-BAL-TOTAL"].display == "不平衡（差额 -1）"


def test_no_items_flag_and_explanations(lo, templates):
    """“本年度无此类事项” turns a blank table into zeros; a 说明 turns a failed warning into 已说明."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(11))
    for cell in form.table("appeal").cells:
        ret.values.pop(cell.key, None)
    ret.no_items.add("appeal")
    ret.values["active.rules.regulation.issued"] = Decimal(5)
    ret.values["active.rules.regulation.in_force"] = Decimal(2)
    ret.explanations["T2-INFORCE-REGULATION"] = "本年制发的 3 件规章已于年内废止"
    assert_agree(lo, templates[2025], ret)
    by_id = {r.rule.id: r for r in ret.rule_results()}
    assert by_id["T2-INFORCE-REGULATION"].outcome == "explained"
    assert by_id["T4-SUM-REVIEW"].outcome == "pass"


def test_cached_values_of_a_prefilled_workbook_match_libreoffice(lo, tmp_path):
    """A workbook written with values carries cached totals and checks equal to LibreOffice's recalculation."""
    import openpyxl

    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(5), broken=2, blanks=2, explain=True)
    path = write_xlsx(ret, tmp_path / "filled.xlsx")
    wb = openpyxl.load_workbook(path, data_only=True)
    reads = check_cells(form) + [{"sheet": c.sheet, "cell": c.a1} for c in form.cells if not c.is_input]
    recalculated = lo.recalc(path, read=reads)
    for request, cell in zip(reads, recalculated, strict=True):
        cached = wb[request["sheet"]][request["cell"]].value
        if isinstance(cached, (int, float)):
            assert cached == pytest.approx(cell["value"]), request
        else:
            assert (cached or "") == cell["string"], request


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_return_filled_and_saved_in_libreoffice_checks_correctly(lo, templates, tmp_path, suffix):
    """A return typed and saved by LibreOffice (as xlsx and as ods) reads back to the same values and verdicts."""
    from xltool.reading import read

    ret = random_return(form_for_year(2025), 2025, random.Random(21), broken=1, blanks=2, explain=True)
    ret.explanations = {"T2-INFORCE-REGULATION": "年内废止"}
    saved = tmp_path / f"filled{suffix}"
    lo.recalc(templates[2025], set=fill_requests(ret), save_as=saved)
    got = read(saved)
    assert got.values == ret.values
    assert got.explanations == ret.explanations
    assert {r.rule.id: r.outcome for r in got.rule_results()} == {r.rule.id: r.outcome for r in ret.rule_results()}
    assert not {p.code for p in got.check()} & {
        "FORMULA-OVERWRITTEN",
        "LABEL-CHANGED",
        "PROTECTION-REMOVED",
        "ROWS-MOVED",
    }


def test_blank_input_of_a_blank_sensitive_rule(lo, templates):
    """A blank 现行有效件数 makes T2-INFORCE 无法判断 in LibreOffice as in Python; ticking 无此类事项 makes it pass."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(31))
    ret.values.pop("active.rules.regulation.in_force")
    assert_agree(lo, templates[2025], ret)
    assert {r.rule.id: r.outcome for r in ret.rule_results()}["T2-INFORCE-REGULATION"] == "undetermined"


def test_personalised_prefilled_workbook_agrees(lo, tmp_path):
    """A personalised workbook with pre-filled 上年结转: LibreOffice's statuses and checks equal Python's."""
    from xltool.template import Personal

    form = form_for_year(2025)
    ret = Return(form, 2025, Unit(name="预填镇", code="640000000000000001"))
    personal = Personal(lock_unit=True)
    for col in ("natural_person", "business"):
        ret.values[f"apply.carried_in.{col}"] = Decimal(2)
        personal.prefilled[f"apply.carried_in.{col}"] = "上年结转"
    ret.prefilled = set(personal.prefilled)
    path = write_xlsx(ret, tmp_path / "p.xlsx", personal=personal)
    blank = Return(form, 2025, ret.unit, prefilled=set(ret.prefilled))
    assert_agree(lo, path, Return(form, 2025, ret.unit, dict(ret.values), prefilled=set(ret.prefilled)))
    assert blank.not_filled
    filled = random_return(form, 2025, random.Random(41))
    filled.values.update(ret.values)  # the clerk fills the rest; the pre-filled cells keep their values
    filled.prefilled = set(ret.prefilled)
    filled.unit = ret.unit
    filled.explanations = {}
    assert_agree(lo, path, filled)


@pytest.mark.parametrize("suffix", [".ods", ".xlsx"])
def test_total_overwritten_in_libreoffice_is_reported(lo, templates, tmp_path, suffix):
    """A total formula replaced by a typed number and saved by LibreOffice (ods or xlsx) is FORMULA-OVERWRITTEN."""
    from xltool.reading import read

    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(51))
    total = form.cell["apply.new.total"]
    sets = [*fill_requests(ret), {"sheet": total.sheet, "cell": total.a1, "value": 12345}]
    saved = tmp_path / f"tampered{suffix}"
    lo.recalc(templates[2025], set=sets, save_as=saved)
    problems = {p.code: p for p in read(saved).check()}
    assert problems["FORMULA-OVERWRITTEN"].cell == total.a1
    assert "T3-ROWSUM-NEW" in problems
