"""A third spreadsheet engine: Gnumeric (ssconvert --recalc) agrees with Python on every rule, status and verdict.

The filled workbook is saved by openpyxl, which drops every cached formula result, so Gnumeric must compute each one.
"""

from __future__ import annotations

import csv
import random
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fillings import form_years, random_return
from tests.test_libreoffice_roundtrip import assert_same_checks, list_cells
from xltool import layout
from xltool.forms import form_for_year
from xltool.model import Invalid, Return, Unit
from xltool.template import write_xlsx

pytestmark = [
    pytest.mark.gnumeric,
    pytest.mark.skipif(shutil.which("ssconvert") is None, reason="Gnumeric (ssconvert) is not installed"),
]


def filled_without_cache(ret: Return, path: Path) -> Path:
    """A blank template typed into with openpyxl (no cached results survive), as a clerk's entries."""
    import openpyxl
    from xlsxwriter.utility import xl_rowcol_to_cell

    blank = write_xlsx(Return(ret.form, ret.year, Unit(name="测试镇")), path)
    wb = openpyxl.load_workbook(blank)
    for cell in ret.form.inputs:
        v = ret.values.get(cell.key)
        if v is not None:
            wb[cell.sheet][cell.a1].value = v.raw if isinstance(v, Invalid) else float(v)
    for table_id in ret.no_items:
        table = ret.form.table(table_id)
        wb[table.sheet][xl_rowcol_to_cell(*layout.no_items_cell(table))].value = layout.NO_ITEMS_YES
    for rule in ret.form.local_rules:
        if rule.id in ret.explanations:
            row = layout.check_rule_row(ret.form, rule)
            wb[layout.CHECK_SHEET][xl_rowcol_to_cell(row, layout.COL_NOTE)].value = ret.explanations[rule.id]
    wb.save(path)
    return path


def recalculated(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet as text after Gnumeric recalculates the workbook."""
    out = path.parent / "gnumeric"
    out.mkdir(exist_ok=True)
    run = subprocess.run(
        ["ssconvert", "--recalc", "-S", str(path), str(out / "%s.csv")], capture_output=True, text=True, timeout=120
    )
    assert any(out.iterdir()), run.stderr[-2000:]
    return {p.stem: list(csv.reader(p.open(encoding="utf-8"))) for p in out.glob("*.csv")}


def cell_text(sheets, sheet: str, row: int, col: int) -> str:
    rows = sheets[sheet]
    return rows[row][col] if row < len(rows) and col < len(rows[row]) else ""


def gnumeric_checks(sheets, form) -> list[str]:
    """The same cells as the LibreOffice agreement tests read, in the same order."""
    got = [
        cell_text(sheets, layout.CHECK_SHEET, layout.check_rule_row(form, r), layout.COL_RESULT)
        for r in form.local_rules
    ]
    got += [cell_text(sheets, layout.CHECK_SHEET, layout.check_status_row(form, t.id), 1) for t in form.tables]
    got += [cell_text(sheets, layout.CHECK_SHEET, layout.CHECK_SUMMARY_ROW, 0)]
    got += [cell_text(sheets, layout.CHECK_SHEET, layout.CHECK_VERDICT_ROW, 0)]
    got += [cell_text(sheets, t.sheet, 1, 0) for t in form.tables]
    got += [cell_text(sheets, layout.CHECK_SHEET, row, col) for row, col in list_cells(form)]
    return got


CASES = {
    "consistent": {},
    "broken": {"broken": 2},
    "blanks": {"blanks": 3},
    "text": {"texts": 2},
    "explained": {"broken": 1, "explain": True},
    "mixed": {"broken": 1, "blanks": 4, "texts": 2, "explain": True},
    "overflow": {"broken": 2, "blanks": 30, "texts": 25},  # more lines than the printed list holds
}


@pytest.mark.parametrize("year", form_years())
@pytest.mark.parametrize("case", sorted(CASES))
def test_gnumeric_agrees_with_python(tmp_path, year, case):
    """Every rule result, table status, the summary, the verdict, each table's status line and every row of the
    problems list (invalid entries, failed rules, blank rows) match Python."""
    ret = random_return(form_for_year(year), year, random.Random(hash((year, case)) % 1000), **CASES[case])
    sheets = recalculated(filled_without_cache(ret, tmp_path / "filled.xlsx"))
    assert "#VALUE!" not in str(sheets[layout.CHECK_SHEET])
    assert_same_checks(gnumeric_checks(sheets, ret.form), ret)


def test_gnumeric_sees_invalid_entries_as_invalid(tmp_path):
    """−3 and 2.5 in count cells are 数值无效 in Gnumeric as in Python, never an imbalance."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(3))
    ret.values["apply.new.natural_person"] = Decimal(-3)
    ret.values["apply.new.business"] = Decimal("2.5")
    from xltool.values import normalize

    for key in ("apply.new.natural_person", "apply.new.business"):
        ret.values[key] = normalize(float(ret.values[key]), form.cell[key].type)[0]
    assert all(isinstance(ret.values[k], Invalid) for k in ("apply.new.natural_person", "apply.new.business"))
    path = filled_without_cache(ret, tmp_path / "invalid.xlsx")
    import openpyxl

    wb = openpyxl.load_workbook(path)
    wb[form.cell["apply.new.natural_person"].sheet][form.cell["apply.new.natural_person"].a1].value = -3
    wb[form.cell["apply.new.business"].sheet][form.cell["apply.new.business"].a1].value = 2.5
    wb.save(path)
    sheets = recalculated(path)
    row = layout.check_rule_row(form, "T3-BAL-NATURAL_PERSON")
    assert cell_text(sheets, layout.CHECK_SHEET, row, layout.COL_RESULT) == "数值无效"
    assert "项错误" in cell_text(sheets, form.table("apply").sheet, 1, 0)
    listed = [cell_text(sheets, layout.CHECK_SHEET, r, 2) for r, c in list_cells(form) if c == 0]
    assert {"D6：“-3”", "E6：“2.5”"} <= set(listed), listed
    assert_same_checks(gnumeric_checks(sheets, form), ret)
