"""What LibreOffice itself enforces in our template: protection, locks, validation, print setup."""

from __future__ import annotations

import pytest

from xltool import layout
from xltool.forms import form_for_year
from xltool.model import Return, Unit

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module", params=["xlsx", "ods"])
def template(request, tmp_path_factory):
    from xltool.formats import writer_for

    path = tmp_path_factory.mktemp("s") / f"t.{request.param}"
    return writer_for("workbook", path).write(Return(form_for_year(2025), 2025, Unit(name="测试镇")), path)


def test_sheets_protected_and_meta_hidden(lo, template):
    """LibreOffice opens every sheet protected, with _meta hidden, in the official order."""
    info = lo.inspect(template)
    form = form_for_year(2025)
    assert info["sheet_names"] == [
        layout.GUIDE_SHEET,
        *[t.sheet for t in form.tables],
        layout.CHECK_SHEET,
        layout.META_SHEET,
    ]
    assert all(s["protected"] for s in info["sheets"])
    assert [s["name"] for s in info["sheets"] if not s["visible"]] == [layout.META_SHEET]


def test_inputs_unlocked_labels_and_totals_locked(lo, template):
    """Input cells are unlocked; labels and total formulas are locked."""
    form = form_for_year(2025)
    table = form.table("apply")
    probe = [c for c in table.cells if c.is_input][:3] + [c for c in table.cells if not c.is_input][:3]
    cells = [{"sheet": c.sheet, "cell": c.a1} for c in probe] + [{"sheet": table.sheet, "cell": "A6"}]
    got = lo.inspect(template, cells=cells)["cells"]
    assert [g["locked"] for g in got] == [False] * 3 + [True] * 4


@pytest.mark.parametrize(("value", "accepted"), [(3, True), (0, True), (-1, False), (1.5, False), ("abc", False)])
def test_count_validation_rejects_negative_fraction_and_text(lo, template, value, accepted):
    """A count cell accepts whole numbers ≥ 0 and rejects −1, 1.5 and text with a stop alert."""
    cell = form_for_year(2025).cell["apply.new.natural_person"]
    got = lo.validate(template, cell.sheet, cell.a1, value)
    assert got["accepted"] is accepted
    assert got["error_style"] == "STOP"


@pytest.mark.parametrize(("value", "accepted"), [(1.2345, True), (0, True), (-0.5, False), ("十万", False)])
def test_amount_validation_accepts_decimals(lo, template, value, accepted):
    """The 万元 amount cell accepts decimals ≥ 0 and rejects negatives and text."""
    cell = form_for_year(2025).cell["active.fees.admin_fee.amount"]
    assert lo.validate(template, cell.sheet, cell.a1, value)["accepted"] is accepted


def test_print_setup_seen_by_libreoffice(lo, template):
    """LibreOffice prints table sheets landscape, each on one page (one wide, one tall)."""
    form = form_for_year(2025)
    table = form.table("apply")
    info = lo.inspect(template, sheets=[table.sheet])
    page = info["sheets"][0]["page"]
    assert page["landscape"] is True and page["scale_to_pages_x"] == 1 and page.get("scale_to_pages_y") == 1


def test_ods_structure_is_locked(template):
    """The ODS template has workbook structure protection (LibreOffice drops xlsx's, so it is set directly)."""
    import zipfile

    if template.suffix != ".ods":
        pytest.skip("xlsx structure protection is covered in test_template.py")
    with zipfile.ZipFile(template) as z:
        assert b'table:structure-protected="true"' in z.read("content.xml")


@pytest.mark.libreoffice
def test_ods_keeps_the_password(tmp_path):
    """--password survives the conversion to ODS: every sheet carries the legacy Excel password hash."""
    import re
    import zipfile

    from xltool.template import write_ods

    path = write_ods(Return(form_for_year(2025), 2025), tmp_path / "pw.ods", password="secret")
    content = zipfile.ZipFile(path).read("content.xml")
    tables = re.findall(rb"<table:table [^>]*>", content)
    assert tables and all(b"legacy-hash-excel" in t for t in tables)
