"""Every xlsx xltool writes passes an OOXML schema validator (openxml-audit), so Excel never offers to “repair” it:
templates of each form, a filled and a broken return, a personalised workbook, an annotated copy, a roll-up and an
imported report."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fillings import form_years
from xltool.forms import form_for_year
from xltool.model import Return, Unit
from xltool.reading import read
from xltool.template import Personal, write_xlsx

ROOT = Path(__file__).resolve().parent.parent
audit = pytest.importorskip("openxml_audit")


def assert_valid(path: Path) -> None:
    result = audit.OpenXmlValidator().validate(str(path))
    assert result.is_valid, [str(e) for e in list(result.errors)[:10]]


@pytest.mark.parametrize("year", form_years())
def test_templates_and_returns_are_valid(tmp_path, year):
    """Blank template, personalised pre-filled workbook, and a broken filled return."""
    form = form_for_year(year)
    assert_valid(write_xlsx(Return(form, year, Unit(name="某镇")), tmp_path / "blank.xlsx"))
    personal = Personal(lock_unit=True, prefilled={"apply.carried_in.natural_person": "上年结转"})
    prefilled = Return(form, year, Unit(name="某镇", code="123456"))
    from decimal import Decimal

    prefilled.values["apply.carried_in.natural_person"] = Decimal(3)
    assert_valid(write_xlsx(prefilled, tmp_path / "personal.xlsx", personal=personal))
    sample = "sample-return-2025.xlsx" if year >= 2021 else "sample-return-2020.xlsx"
    ret = read(ROOT / "examples" / sample)
    ret.values["apply.new.natural_person"] += 1
    assert_valid(write_xlsx(ret, tmp_path / "broken.xlsx"))


def test_annotated_copy_rollup_and_import_are_valid(tmp_path):
    """An annotated copy, a county roll-up and a report imported into a workbook."""
    from xltool.checking import annotate, check_file
    from xltool.importing import save_workbook
    from xltool.rollup import merge

    ret = read(ROOT / "examples" / "sample-return-2025.xlsx")
    ret.values["apply.new.natural_person"] += 1
    broken = write_xlsx(ret, tmp_path / "broken.xlsx")
    ((_, written, _),) = list(annotate([check_file(broken)], tmp_path / "annotated"))
    assert_valid(written)
    roll = merge([ROOT / "examples" / "county-2025"], Unit(name="示例县"), workers=0)
    assert_valid(roll.write(tmp_path / "county.xlsx"))
    report = ROOT / "tests" / "fixtures" / "seeds" / "000_f7ae2b9bd63a851c.txt"
    assert_valid(save_workbook(read(report), tmp_path / "imported"))
