"""The template workbook: locked, validated, identifiable, printable, and safe with hostile text."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from xlsxwriter.utility import xl_rowcol_to_cell

from tests.fillings import form_years
from xltool import layout
from xltool.cli import app
from xltool.filenames import safe_filename
from xltool.forms import form_for_year
from xltool.model import Return, Unit
from xltool.template import write_xlsx

YEARS = form_years()  # every form in all_forms()


@pytest.fixture(scope="module", params=YEARS)
def book(request, tmp_path_factory):
    year = request.param
    path = write_xlsx(
        Return(form_for_year(year), year, Unit(name="某某镇人民政府")), tmp_path_factory.mktemp("t") / f"{year}.xlsx"
    )
    return year, path, openpyxl.load_workbook(path)


def expected_unlocked(form) -> set[tuple[str, str]]:
    cells = {(c.sheet, c.a1) for c in form.inputs}
    cells |= {(layout.GUIDE_SHEET, f"B{row + 1}") for _, _, row in layout.UNIT_FIELDS}
    cells |= {(layout.GUIDE_SHEET, f"B{row + 1}") for _, _, row, _ in layout.extra_fields(form)}
    cells |= {(t.sheet, xl_rowcol_to_cell(*layout.no_items_cell(t))) for t in form.tables}
    cells |= {
        (layout.CHECK_SHEET, xl_rowcol_to_cell(layout.check_rule_row(form, r), layout.COL_NOTE))
        for r in form.local_rules
        if r.severity == "warning"
    }
    return cells


def test_every_sheet_protected_and_structure_locked(book):
    """Sheet protection is on everywhere and the workbook structure is locked (sheets cannot be added or renamed)."""
    _, path, wb = book
    assert all(ws.protection.sheet for ws in wb.worksheets)
    assert wb.security is not None and wb.security.lockStructure
    with zipfile.ZipFile(path) as z:
        assert b"<workbookProtection" in z.read("xl/workbook.xml")


def test_only_input_cells_are_unlocked(book):
    """Unlocked cells are exactly the table inputs, unit fields, 无此类事项 flags and warning 说明 cells."""
    year, _, wb = book
    form = form_for_year(year)
    unlocked = set()
    for ws in wb.worksheets:
        covered = {c for r in ws.merged_cells.ranges for c in _cells(r)[1:]}  # merged-away parts of one input
        for row in ws.iter_rows():
            for cell in row:
                if cell.protection and cell.protection.locked is False and cell.coordinate not in covered:
                    unlocked.add((ws.title, cell.coordinate))
    assert unlocked == expected_unlocked(form)


def _cells(merged) -> list[str]:
    return [
        xl_rowcol_to_cell(r - 1, c - 1)
        for r in range(merged.min_row, merged.max_row + 1)
        for c in range(merged.min_col, merged.max_col + 1)
    ]


def test_every_input_cell_is_validated(book):
    """Each input cell has a stop-style validation of its type: whole ≥ 0, signed whole, or decimal ≥ 0."""
    year, _, wb = book
    form = form_for_year(year)
    for cell in form.inputs:
        rules = [dv for dv in wb[cell.sheet].data_validations.dataValidation if cell.a1 in dv.sqref]
        assert len(rules) == 1, cell.key
        dv = rules[0]
        assert dv.errorStyle in (None, "stop") and dv.showErrorMessage and dv.prompt and dv.error
        expected = {
            "count": ("whole", "greaterThanOrEqual", "0"),
            "signed_count": ("whole", "between", "-999999999"),
            "amount": ("decimal", "greaterThanOrEqual", "0"),
        }[cell.type.name]
        assert (dv.type, dv.operator or "between", dv.formula1) == expected, cell.key


def test_totals_are_formulas_and_inputs_are_empty(book):
    """Totals are formulas; inputs start blank (blank is not 0)."""
    year, _, wb = book
    form = form_for_year(year)
    for cell in form.cells:
        value = wb[cell.sheet][cell.a1].value
        if cell.is_input:
            assert value is None, cell.key
        else:
            assert isinstance(value, str) and value.startswith("=SUM("), cell.key


def test_labels_are_the_official_ones(book):
    """Every official label is written at its position, merged as declared."""
    year, _, wb = book
    form = form_for_year(year)
    for table in form.tables:
        ws = wb[table.sheet]
        merged = {str(r) for r in ws.merged_cells.ranges}
        for label in table.labels:
            assert ws.cell(label.first_row + 1, label.first_col + 1).value == label.text
            if (label.first_row, label.first_col) != (label.last_row, label.last_col):
                rng = (
                    f"{xl_rowcol_to_cell(label.first_row, label.first_col)}:"
                    f"{xl_rowcol_to_cell(label.last_row, label.last_col)}"
                )
                assert rng in merged, (label.text, rng)


def test_metadata_identifies_form_and_year(book):
    """The hidden _meta sheet and the custom properties name the form, version and year."""
    year, _path, wb = book
    form = form_for_year(year)
    meta = wb[layout.META_SHEET]
    assert meta.sheet_state == "hidden"
    items = {row[0].value: row[1].value for row in meta.iter_rows()}
    assert items["form_id"] == form.id and items["year"] == str(year) and items["generator"] == "xltool"
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["xltool_form"] == form.id and props["xltool_year"] == str(year)


def test_print_setup_is_a4_landscape_one_page(book):
    """Table sheets print on A4 landscape, each on one page (its status line and key totals with it)."""
    year, _, wb = book
    form = form_for_year(year)
    for table in form.tables:
        ws = wb[table.sheet]
        assert ws.page_setup.paperSize in (9, "9") and ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (
            None,
            1,
            "1",
        )  # 1 is the default
        assert ws.page_setup.fitToHeight in (None, 1, "1")  # 1 is the default


def test_hostile_unit_name_is_written_as_text(tmp_path):
    """A unit name that looks like a formula stays text: nothing runs when the clerk opens the file."""
    name = '=HYPERLINK("http://x","点我")'
    path = write_xlsx(Return(form_for_year(2025), 2025, Unit(name=name)), tmp_path / "x.xlsx")
    wb = openpyxl.load_workbook(path)
    cell = wb[layout.GUIDE_SHEET][f"B{layout.UNIT_FIELDS[0][2] + 1}"]
    assert cell.value == name and cell.data_type == "s"


def test_password_is_applied(tmp_path):
    """--password protects every sheet and the structure with that password's hash."""
    path = write_xlsx(Return(form_for_year(2025), 2025), tmp_path / "p.xlsx", password="secret")
    wb = openpyxl.load_workbook(path)
    assert all(ws.protection.password == "DAA7" for ws in wb.worksheets)
    assert wb.security.workbookPassword == "DAA7"


@pytest.mark.parametrize("password", ["secret", "x", "密码2025", "a" * 40, "P@ss w0rd!"])
def test_structure_password_is_the_sheets_password(tmp_path, password):
    """The workbook-structure hash (written by xltool) equals the sheet hash XlsxWriter writes, for any password."""
    path = write_xlsx(Return(form_for_year(2025), 2025), tmp_path / "p.xlsx", password=password)
    wb = openpyxl.load_workbook(path)
    hashes = {ws.protection.password for ws in wb.worksheets}
    assert len(hashes) == 1 and wb.security.workbookPassword in hashes


def test_cli_writes_both_layouts(tmp_path):
    """`xltool template --year 2025` and `--year 2020` give the 2021 and 2019 layouts; 2018 is refused."""
    runner = CliRunner()
    for year, version in ((2025, "2021"), (2020, "2019")):
        out = tmp_path / f"{year}.xlsx"
        result = runner.invoke(app, ["template", "--year", str(year), "--unit", "某某镇人民政府", "-o", str(out)])
        assert result.exit_code == 0, result.output
        meta = {r[0].value: r[1].value for r in openpyxl.load_workbook(out)[layout.META_SHEET].iter_rows()}
        assert meta["form_version"] == version
    assert runner.invoke(app, ["template", "--year", "2018", "-o", str(tmp_path / "x.xlsx")]).exit_code == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../x", "_x"),
        ('a/b:c*d?"e<f>g|h', "a_b_c_d__e_f_g_h"),
        ("", "未命名"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("..", "未命名"),
    ],
)
def test_safe_filename(name, expected):
    """Unit names cannot escape the output folder or break on Windows."""
    assert safe_filename(name) == expected


def test_guide_explains_the_rules(book):
    """填报说明 explains each table, the 部分公开 rule, the 勾稽 relation, the 第四十九条 deadline and the 校验 area."""
    _, _, wb = book
    text = "".join(str(c.value) for row in wb[layout.GUIDE_SHEET].iter_rows() for c in row if c.value)
    for phrase in (
        "表二",
        "表三",
        "表四",
        "只计入“（二）部分公开”",
        "第一项加第二项之和，等于第三项加第四项之和",
        "第四十九条",
        "1 月 31 日",
        "“校验”表",
        "已说明",
        "本年度无此类事项",
    ):
        assert phrase in text, phrase


def test_rollup_tables_have_no_unlocked_cell(tmp_path):
    """A roll-up's official tables and 校验 are read-only: not one unlocked cell, no input tint; on 填报说明 only the
    county's own contact (填报人, 联系电话, 填报日期) and the report's extra fields are open."""
    import openpyxl

    from xltool.rollup import merge

    root = Path(__file__).resolve().parent.parent
    roll = merge([root / "examples" / "county-2025"], Unit(name="示例县"), workers=0)
    wb = openpyxl.load_workbook(roll.write(tmp_path / "county.xlsx"))
    form = roll.form
    for name in [layout.GUIDE_SHEET, layout.CHECK_SHEET, *(t.sheet for t in form.tables)]:
        ws = wb[name]
        unlocked = [c.coordinate for row in ws.iter_rows() for c in row if c.protection and not c.protection.locked]
        contact = [r for key, _, r in layout.UNIT_FIELDS if key not in ("name", "code", "scope")]
        open_rows = [*contact, *(r for _, _, r, _ in layout.extra_fields(form))] if name == layout.GUIDE_SHEET else []
        assert unlocked == [f"B{r + 1}" for r in open_rows], (name, unlocked[:5])
    tints = {wb[c.sheet][c.a1].fill.fgColor.rgb for c in form.inputs}
    assert not any(str(t).upper().endswith("FFF2CC") for t in tints)


def test_a_long_table_of_a_local_form_runs_on_with_its_header_repeated(tmp_path):
    """A table longer than a page (a local form's) is not shrunk onto one page: one page wide, as many long as it
    needs, its header rows repeated; the official tables each fit one page."""
    import openpyxl
    import yaml

    from xltool.forms import load_form

    spec = yaml.safe_load((Path(__file__).resolve().parent.parent / "docs" / "example-form.yaml").read_text("utf-8"))
    hotline = next(t for t in spec["tables"] if t["id"] == "hotline")
    hotline["rows"] = [{"key": f"r{i}", "path": [f"渠道{i}"]} for i in range(60)] + [{"key": "all", "path": ["合计"]}]
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
    form = load_form(path)
    wb = openpyxl.load_workbook(write_xlsx(Return(form, 2025, Unit(name="某镇")), tmp_path / "long.xlsx"))
    table = form.table("hotline")
    ws = wb[table.sheet]
    assert ws.page_setup.fitToHeight in (0, "0")
    assert ws.print_title_rows == f"${table.first_data_row - table.header_rows + 1}:${table.first_data_row}"
    short = wb[form.table("column").sheet]
    assert short.page_setup.fitToHeight in (None, 1, "1") and short.print_title_rows is None
