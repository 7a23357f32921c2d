"""Reading filled returns back: values from inputs only, lenient where intent is clear, loud about tampering."""

from __future__ import annotations

import random
from decimal import Decimal

import openpyxl
import pytest

from tests.fillings import random_return
from tests.seed_data import SEEDS
from xltool import layout
from xltool.forms import form_for_year
from xltool.model import Invalid, Return, Unit
from xltool.reading import read
from xltool.template import write_xlsx


def codes(problems) -> set[str]:
    return {p.code for p in problems}


def outcomes(ret, previous=None) -> dict[str, str]:
    return {r.rule.id: r.outcome for r in ret.rule_results(previous)}


@pytest.fixture(scope="module")
def blank_2025(tmp_path_factory):
    return write_xlsx(Return(form_for_year(2025), 2025), tmp_path_factory.mktemp("b") / "blank.xlsx")


def type_into(template, values: dict, out, unit="测试镇人民政府", raw: dict | None = None, edit=None, year=2025):
    """Fill a template with openpyxl (as a script or another tool would): no cached formula results at all."""
    wb = openpyxl.load_workbook(template)
    form_cells = form_for_year(year).cell
    for key, v in values.items():
        cell = form_cells[key]
        if cell.is_input:
            wb[cell.sheet][cell.a1] = v.raw if isinstance(v, Invalid) else float(v)
    for key, text in (raw or {}).items():
        cell = form_cells[key]
        wb[cell.sheet][cell.a1] = text
    wb[layout.GUIDE_SHEET][f"B{layout.UNIT_FIELDS[0][2] + 1}"] = unit
    if edit:
        edit(wb)
    wb.save(out)
    return out


def test_openpyxl_filled_return_without_cached_values(blank_2025, tmp_path):
    """A file with no cached formula results checks exactly like the Python model of the same values."""
    expected = random_return(form_for_year(2025), 2025, random.Random(2), broken=2, blanks=1)
    path = type_into(blank_2025, expected.values, tmp_path / "f.xlsx")
    got = read(path)
    assert got.values == expected.values and got.unit.name == "测试镇人民政府" and got.year == 2025
    assert outcomes(got) == outcomes(expected)


@pytest.mark.parametrize(
    ("raw", "value", "code"),
    [
        (" 0", Decimal(0), "VALUE-NORMALISED"),
        ("0 ", Decimal(0), "VALUE-NORMALISED"),
        (".0", Decimal(0), "VALUE-NORMALISED"),
        ("１２", Decimal(12), "VALUE-NORMALISED"),
        ("1,234", Decimal(1234), "VALUE-NORMALISED"),
        ("无", None, "INVALID-VALUE"),
        ("-", None, "INVALID-VALUE"),
        (-3, None, "INVALID-VALUE"),
        (2.5, None, "INVALID-VALUE"),
        (5e10, None, "INVALID-VALUE"),
    ],
)
def test_value_normalisation_is_reported(blank_2025, tmp_path, raw, value, code):
    """Tidy-able text is read with a note; text, negatives, fractions and absurd sizes are errors at their cell."""
    cell = form_for_year(2025).cell["apply.new.natural_person"]
    path = type_into(blank_2025, {}, tmp_path / "v.xlsx", raw={cell.key: raw})
    ret = read(path)
    problems = [p for p in ret.check() if p.cell == cell.a1 and p.sheet == cell.sheet]
    assert code in codes(problems)
    if value is not None:
        assert ret.values[cell.key] == value
    else:
        assert isinstance(ret.values[cell.key], Invalid)
        assert next(p for p in problems if p.code == code).severity == "error"


def test_blank_cells_are_listed_and_blank_tables_warned(blank_2025, tmp_path):
    """Blank cells in a filled table are warnings with their cells; a wholly blank table is one warning."""
    values = random_return(form_for_year(2025), 2025, random.Random(4)).values
    values = {k: v for k, v in values.items() if not k.startswith("appeal.")}
    values.pop("apply.new.research")
    ret = read(type_into(blank_2025, values, tmp_path / "b.xlsx"))
    problems = ret.check()
    blank = [p for p in problems if p.code == "BLANK-CELL"]
    assert [(p.sheet, p.cell) for p in blank] == [("三、依申请公开", form_for_year(2025).cell["apply.new.research"].a1)]
    assert [p.sheet for p in problems if p.code == "TABLE-NOT-FILLED"] == ["四、复议诉讼"]
    assert outcomes(ret)["T4-SUM-REVIEW"] == "undetermined"


def test_all_blank_return_is_not_filled(blank_2025):
    """An untouched template is 未填报 (an error), not a return of zeros."""
    ret = read(blank_2025)
    assert ret.not_filled and "NOT-FILLED" in codes(ret.check())


def test_overwritten_total_and_edited_label_and_removed_protection(blank_2025, tmp_path):
    """A typed number over a total formula, an edited label and removed protection are each reported."""
    form = form_for_year(2025)
    total = form.cell["apply.new.total"]
    label = next(lb for lb in form.table("apply").labels if lb.text == "（一）予以公开")

    def tamper(wb):
        ws = wb[total.sheet]
        ws[total.a1] = 999
        ws.cell(label.first_row + 1, label.first_col + 1).value = "（一）全部公开"
        ws.protection.sheet = False

    values = random_return(form, 2025, random.Random(8)).values
    ret = read(type_into(blank_2025, values, tmp_path / "t.xlsx", edit=tamper))
    problems = {p.code: p for p in ret.check()}
    assert problems["FORMULA-OVERWRITTEN"].cell == total.a1
    assert problems["LABEL-CHANGED"].sheet == "三、依申请公开"
    assert "PROTECTION-REMOVED" in problems
    assert ret.values["apply.new.total"] == 999  # the typed total is what gets checked
    assert outcomes(ret)["T3-ROWSUM-NEW"] == "fail"


def test_inserted_row_is_reported_and_relocated(blank_2025, tmp_path):
    """A row inserted into a table is reported as ROWS-MOVED and the values are still read from the right cells."""
    form = form_for_year(2025)
    values = random_return(form, 2025, random.Random(9)).values
    first_data = form.table("apply").first_data_row + 1

    def insert(wb):
        ws = wb["三、依申请公开"]
        ws.protection.sheet = False
        ws.insert_rows(first_data + 3)

    ret = read(type_into(blank_2025, values, tmp_path / "i.xlsx", edit=insert))
    assert "ROWS-MOVED" in codes(ret.check())
    apply_keys = [c.key for c in form.table("apply").cells if c.is_input]
    assert {k: ret.values.get(k) for k in apply_keys} == {k: values.get(k) for k in apply_keys}


def test_own_copy_without_metadata_is_located_by_labels(tmp_path):
    """A township's own workbook (no _meta) is found by its labels, with line breaks and ASCII punctuation."""
    form = form_for_year(2022)
    expected = random_return(form, 2022, random.Random(10))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "年报"
    ws["A1"] = "某某镇2022年政府信息公开工作年度报告统计表"
    offset = 3  # the tables start lower than in our template, all on one sheet, one below the other
    for table in form.tables:
        for lb in table.labels:
            text = lb.text.replace("（", "(").replace("）", ")")
            if len(text) > 6:
                text = text[:3] + "\n" + text[3:]
            ws.cell(lb.first_row + 1 + offset, lb.first_col + 1).value = text
        for c in table.cells:
            ws.cell(c.row + 1 + offset, c.col + 1).value = float(expected.value(c.key))
        offset += table.last_row + 2
    path = tmp_path / "own.xlsx"
    wb.save(path)
    ret = read(path)
    assert ret.form.version == "2021" and ret.year == 2022
    assert "LOCATED-BY-LABELS" in codes(ret.check())
    for c in form.cells:
        assert ret.value(c.key) == expected.value(c.key), c.key


def test_explanations_and_flags_are_read(blank_2025, tmp_path):
    """A 说明 in the 校验 sheet and the 本年度无此类事项 choice come back into the Return."""
    form = form_for_year(2025)
    values = random_return(form, 2025, random.Random(12)).values
    values = {k: v for k, v in values.items() if not k.startswith("appeal.")}
    values["active.rules.normative.issued"] = Decimal(9)
    values["active.rules.normative.in_force"] = Decimal(1)

    def explain(wb):
        wb[layout.CHECK_SHEET].cell(
            layout.check_rule_row(form, "T2-INFORCE-NORMATIVE") + 1, layout.COL_NOTE + 1
        ).value = "8 件已废止"
        table = form.table("appeal")
        r, c = layout.no_items_cell(table)
        wb[table.sheet].cell(r + 1, c + 1).value = "是"

    ret = read(type_into(blank_2025, values, tmp_path / "e.xlsx", edit=explain))
    assert ret.explanations == {"T2-INFORCE-NORMATIVE": "8 件已废止"} and ret.no_items == {"appeal"}
    results = outcomes(ret)
    assert results["T2-INFORCE-NORMATIVE"] == "explained" and results["T4-SUM-REVIEW"] == "pass"
    assert not [p for p in ret.check() if p.severity == "error"]


def test_cross_year_carry_forward(blank_2025, tmp_path):
    """--previous: 上年结转 must equal last year's 结转下年度 (error); 现行有效件数 rolls forward (warning)."""
    last = random_return(form_for_year(2024), 2024, random.Random(13))
    this = random_return(form_for_year(2025), 2025, random.Random(14))
    results = {r.rule.id: r for r in this.rule_results(last)}
    for col in ("natural_person", "total"):
        same = this.value(f"apply.carried_in.{col}") == last.value(f"apply.carried_over.{col}")
        assert results[f"X-CARRY-{col.upper()}"].outcome == ("pass" if same else "fail")
    assert results["X-CARRY-NATURAL_PERSON"].rule.severity == "error"
    assert results["X-INFORCE-REGULATION"].rule.severity == "warning"
    assert "X-CARRY-TOTAL" not in outcomes(this)  # cross-year rules need last year's return
    older = random_return(form_for_year(2020), 2020, random.Random(15))
    assert {r.rule.id: r.outcome for r in this.rule_results(older)}["X-INFORCE-REGULATION"] == "undetermined"


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_tables_typed_into_templates(tmp_path, seed):
    """Each published seed report, typed into our template, gets exactly the verdict its printed numbers deserve."""
    data = SEEDS[seed]
    form = form_for_year(data["year"])
    template = write_xlsx(Return(form, data["year"], Unit(name=data["unit"])), tmp_path / f"{data['year']}.xlsx")
    wb = openpyxl.load_workbook(template)
    for key, v in {**data["values"], **data["odd"]}.items():
        cell = form.cell[key]
        if cell.is_input:
            wb[cell.sheet][cell.a1] = v if isinstance(v, str) else float(v)
    wb.save(tmp_path / "seed.xlsx")
    ret = read(tmp_path / "seed.xlsx")
    failed = {r.rule.id for r in ret.rule_results() if r.outcome == "fail"}
    assert failed == set(data["expected_failures"])
    assert not [p for p in ret.check() if p.severity == "error"]


def test_to_frame_is_tidy(blank_2025, tmp_path):
    """Return.to_frame() has one row per cell with key, label and value; totals are computed, blanks stay empty and a
    total over a blank cell is unknown (None), not computed as if the blank were 0."""
    values = random_return(form_for_year(2025), 2025, random.Random(17)).values
    values.pop("apply.new.research")
    ret = read(type_into(blank_2025, values, tmp_path / "f.xlsx"))
    frame = ret.to_frame().set_index("key")
    assert {"label", "value", "cell", "is_input"} <= set(frame.columns)
    assert len(frame) == len(form_for_year(2025).cells)
    assert frame.loc["apply.new.research", "value"] is None
    assert frame.loc["apply.new.total", "value"] is None
    assert frame.loc["apply.carried_in.total", "value"] == ret.value("apply.carried_in.total")
    assert frame.loc["apply.new.natural_person", "label"].endswith("自然人")


def test_renamed_sheet_is_found_and_reported(blank_2025, tmp_path):
    """A table sheet renamed (possible in LibreOffice) is still read, by its labels, and the rename is reported."""
    values = random_return(form_for_year(2025), 2025, random.Random(18)).values

    def rename(wb):
        wb["三、依申请公开"].title = "表三"

    ret = read(type_into(blank_2025, values, tmp_path / "r.xlsx", edit=rename))
    assert "SHEET-RENAMED" in codes(ret.check())
    assert all(ret.values.get(k) == v for k, v in values.items())
