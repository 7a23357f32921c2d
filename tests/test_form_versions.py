"""Forms are data: a new version, a local supplement form and plugin forms run end to end without any Python change.

- A synthetic third version (a copy of templates/gov-info-2021.yaml as version 2026, with one extra row in Table 三
  and one extra rule) goes through every command with `--form`: template → fill → check → merge → render → import.
- The example form of docs/forms.md (docs/example-form.yaml) goes through the same pipeline.
- `xltool forms` lists forms with their origin; a plugin form arrives through the entry-point group `xltool.forms`,
  and a broken plugin is reported without breaking anything else.

Where Python still knows the official form (its table numbers 二 to 四, its three tables), the test is marked
xfail(strict=True) with the file and line in the reason.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

import xltool
from xltool import forms, labels, layout
from xltool import rules as expr
from xltool.cli import app
from xltool.forms import registry

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_2021 = ROOT / "templates" / "gov-info-2021.yaml"
EXAMPLE = ROOT / "docs" / "example-form.yaml"
FORMS_DOC = ROOT / "docs" / "forms.md"

V2026 = "gov-info-disclosure-2026"
NEW_ROW = "result.withheld.new_reason"  # Table 三 （三）不予公开 9.… in the synthetic version
NEW_LABEL = "9.属于新增的不予公开情形"
NEW_RULE = "T3-NEW-REASON"
EXAMPLE_ID = "example-supplement-2025"

runner = CliRunner()


# --- global state: `--form` registrations, registry caches, label aliases --------------------------------------------


def _reset() -> None:
    registry._extra.clear()
    registry._builtin_and_plugins.cache_clear()
    registry.all_forms.cache_clear()


@pytest.fixture(autouse=True)
def clean_registry():
    """Every test starts and ends with only the built-in forms known (as other test modules expect)."""
    aliases = dict(labels._ALIASES)
    _reset()
    yield
    _reset()
    labels._ALIASES.clear()
    labels._ALIASES.update(aliases)


# --- helpers ---------------------------------------------------------------------------------------------------------


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def write_2026(folder: Path) -> Path:
    """The 2021 form as version 2026 (years from 2026), one more 不予公开 row and one more (warning) rule."""
    data = yaml.safe_load(OFFICIAL_2021.read_text(encoding="utf-8"))
    data["version"] = "2026"
    data["years"] = {"first": 2026, "last": None}
    (apply,) = [t for t in data["tables"] if t["id"] == "apply"]
    at = next(i for i, r in enumerate(apply["rows"]) if r["key"] == "result.withheld.inquiry") + 1
    apply["rows"].insert(at, {"key": NEW_ROW, "path": ["三、本年度办理结果", "（三）不予公开", NEW_LABEL]})
    data["rules"].append(
        {
            "id": NEW_RULE,
            "title": "三、依申请公开：新增不予公开情形的件数通常不超过本年新收申请数",
            "expr": f"apply.{NEW_ROW}.total <= apply.new.total",
            "severity": "warning",
            "level": "合理性",
            "tolerance": 0,
            "blank": "zero",
            "basis": "合成的第三版（测试用）",
        }
    )
    path = folder / "gov-info-2026.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def fill(template: Path, out: Path, form: forms.Form, unit: str, code: str, values: dict[str, object]) -> Path:
    """A filled copy of a template: every input 0 except `values`, plus the unit's name and code on 填报说明."""
    unknown = set(values) - {c.key for c in form.inputs}
    assert not unknown, f"not input cells of {form.id}: {unknown}"
    wb = openpyxl.load_workbook(template)
    for cell in form.inputs:
        wb[cell.sheet].cell(cell.row + 1, cell.col + 1).value = values.get(cell.key, 0)
    rows = {name: row for name, _, row in layout.UNIT_FIELDS}
    guide = wb[layout.GUIDE_SHEET]
    guide.cell(rows["name"] + 1, 2).value = unit
    guide.cell(rows["code"] + 1, 2).value = code
    wb.save(out)
    return out


def by_file(doc: dict) -> dict[str, dict]:
    return {Path(f["file"]).name: f for f in doc["files"]}


def rule_outcomes(report: dict) -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in report["rules"]}


def errors(report: dict) -> set[str]:
    return {p["code"] for p in report["problems"] if p["severity"] == "error"}


def md_row(text: str, label: str) -> list[str]:
    """The cells of the Markdown table row whose label ends with `label`."""
    (line,) = [ln for ln in text.splitlines() if ln.startswith("|") and ln.split("|")[1].strip().endswith(label)]
    return [c.strip() for c in line.strip().strip("|").split("|")][1:]


# --- a synthetic third version ---------------------------------------------------------------------------------------

# Two consistent units and one whose new row does not balance. Columns: natural_person, business.
UNIT_A = {
    "apply.new.natural_person": 5,
    "apply.result.public.natural_person": 2,
    f"apply.{NEW_ROW}.natural_person": 3,
    "active.rules.regulation.issued": 1,
    "active.rules.regulation.in_force": 4,
    "active.fees.admin_fee.amount": 1.25,
}
UNIT_B = {
    "apply.new.natural_person": 4,
    "apply.new.business": 3,
    "apply.carried_in.business": 1,
    "apply.result.public.business": 4,
    f"apply.{NEW_ROW}.natural_person": 4,
    "active.fees.admin_fee.amount": 2.5,
}
UNIT_C = {  # 一 3 + 二 0 ≠ 三（七）4 + 四 0: the 4 is in the new row, which the （七）总计 glob must count
    "apply.new.natural_person": 3,
    f"apply.{NEW_ROW}.natural_person": 4,
}


@pytest.fixture(scope="module")
def v2026(tmp_path_factory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("v2026")
    form_file = write_2026(d)
    form = forms.load_form(form_file, origin="文件")
    made = cli("template", "--form", form_file, "--year", 2026, "-o", d / "t.xlsx")
    assert made.exit_code == 0, made.output
    files = {
        "a": fill(d / "t.xlsx", d / "甲镇.xlsx", form, "甲镇人民政府", "111111111111111111", UNIT_A),
        "b": fill(d / "t.xlsx", d / "乙镇.xlsx", form, "乙镇人民政府", "222222222222222222", UNIT_B),
        "c": fill(d / "t.xlsx", d / "丙镇.xlsx", form, "丙镇人民政府", "333333333333333333", UNIT_C),
    }
    merged = cli("merge", "--form", form_file, files["a"], files["b"], "-o", d / "县.xlsx", "--unit", "某某县")
    return SimpleNamespace(dir=d, file=form_file, form=form, template=d / "t.xlsx", merged=merged, **files)


def test_2026_form_is_the_2021_form_plus_one_row_and_one_rule(v2026):
    """The copy loads with the new row's cells and rules; existing globs and for_each pick the row up by themselves."""
    f, official = v2026.form, forms.form_by_id("2021")
    assert (f.id, f.origin, f.first_year, f.last_year) == (V2026, "文件", 2026, None)
    new_cells = {c.key: c.defined_by for c in f.cells if c.key.startswith(f"apply.{NEW_ROW}.")}
    expected = {f"apply.{NEW_ROW}.{col}": None for col in f.table("apply").col_keys}
    expected[f"apply.{NEW_ROW}.total"] = "T3-ROWSUM-RESULT-WITHHELD-NEW_REASON"
    assert new_cells == expected
    assert {r.id for r in f.rules} - {r.id for r in official.rules} == {
        "T3-ROWSUM-RESULT-WITHHELD-NEW_REASON",
        NEW_RULE,
    }
    result_total = expr.refs(forms.formula_of(f, f.cell["apply.result_total.natural_person"]))
    assert f"apply.{NEW_ROW}.natural_person" in result_total
    assert (
        len(result_total)
        == len(expr.refs(forms.formula_of(official, official.cell["apply.result_total.natural_person"]))) + 1
    )
    # Rows below the new one moved down by one; the cells above did not move.
    assert f.cell["apply.result_total.total"].row == official.cell["apply.result_total.total"].row + 1
    assert (
        f.cell["apply.result.withheld.inquiry.total"].where
        == official.cell["apply.result.withheld.inquiry.total"].where
    )


def test_2026_is_chosen_for_2026_only_once_registered(v2026):
    """Without --form the year 2026 uses the 2021 form; registered, the new version takes over from 2026 on."""
    assert forms.form_for_year(2026).id == "gov-info-disclosure-2021"
    forms.register_form_file(v2026.file)
    assert forms.form_for_year(2026).id == V2026
    assert forms.form_for_year(2025).id == "gov-info-disclosure-2021"


def test_2026_template_has_the_new_row_and_its_formula(v2026):
    """The template prints the new row label, sums the new row in its 总计 cell and is stamped as the 2026 form."""
    f = v2026.form
    wb = openpyxl.load_workbook(v2026.template)
    cell, total = f.cell[f"apply.{NEW_ROW}.natural_person"], f.cell[f"apply.{NEW_ROW}.total"]
    ws = wb[cell.sheet]
    assert ws.cell(cell.row + 1, 3).value == NEW_LABEL  # the third label column (row path level 3)
    first, last = f.cell[f"apply.{NEW_ROW}.natural_person"].a1, f.cell[f"apply.{NEW_ROW}.other"].a1
    assert str(ws[total.a1].value).replace("$", "") == f"=SUM({first}:{last})"
    # （七）总计 sums （一） to the last （六） row: one row longer than in 2021, the new row inside the range.
    results = [k for k in f.table("apply").row_keys if k.startswith("result.")]
    top, bottom = (f.cell[f"apply.{results[i]}.natural_person"].a1 for i in (0, -1))
    assert str(ws[f.cell["apply.result_total.natural_person"].a1].value).replace("$", "") == f"=SUM({top}:{bottom})"
    assert (
        f.cell[f"apply.{results[0]}.natural_person"].row < cell.row < f.cell[f"apply.{results[-1]}.natural_person"].row
    )
    assert (
        len(results)
        == len([k for k in forms.form_by_id("2021").table("apply").row_keys if k.startswith("result.")]) + 1
    )
    meta = {row[0].value: row[1].value for row in wb[layout.META_SHEET].iter_rows() if row[0].value}
    assert meta["form_id"] == V2026
    assert str(meta["year"]) == "2026"


def test_2026_check_passes_consistent_returns_and_runs_the_new_rule(v2026):
    """check --form: the two consistent units pass (exit 0) and the new warning rule is evaluated for both."""
    result = cli("check", "--form", v2026.file, "--format", "json", v2026.a, v2026.b)
    assert result.exit_code == 0, result.output
    reports = by_file(json.loads(result.stdout))
    assert set(reports) == {"甲镇.xlsx", "乙镇.xlsx"}
    for report in reports.values():
        assert report["form"] == V2026
        assert errors(report) == set()
        outcomes = rule_outcomes(report)
        assert outcomes[NEW_RULE] == "pass"
        assert outcomes["T3-ROWSUM-RESULT-WITHHELD-NEW_REASON"] == "pass"
        assert len(outcomes) == len(v2026.form.local_rules)
    new_rule = {r["id"]: r for r in reports["乙镇.xlsx"]["rules"]}[NEW_RULE]
    assert (new_rule["left"], new_rule["right"]) == (4, 7)  # 新增情形 4 ≤ 本年新收 4 + 3


def test_2026_check_names_the_imbalance_and_the_new_row(v2026):
    """check --form: the broken unit fails the balance rule (exit 1); the new row is counted and its cell named."""
    f = v2026.form
    result = cli("check", "--form", v2026.file, "--format", "json", v2026.c)
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.stdout)["files"]
    assert errors(report) == {"T3-BAL-NATURAL_PERSON", "T3-BAL-TOTAL"}
    rules = {r["id"]: r for r in report["rules"]}
    balance = rules["T3-BAL-NATURAL_PERSON"]
    assert (balance["outcome"], balance["left"], balance["right"], balance["difference"]) == ("fail", 3, 4, -1)
    # The （七）总计 that feeds the balance is the glob over the results, the new row's cell included.
    assert f.cell[f"apply.{NEW_ROW}.natural_person"].where in rules["T3-RESULT-TOTAL-NATURAL_PERSON"]["cells"]
    # The new rule fails too and points at the new row's 总计 cell.
    (warning,) = [p for p in report["problems"] if p["code"] == NEW_RULE]
    assert warning["severity"] == "warning"
    assert warning["where"] == f.cell[f"apply.{NEW_ROW}.total"].where
    assert (warning["values"]["left"], warning["values"]["right"]) == (4, 3)


def test_2026_merge_sums_the_new_row(v2026):
    """merge --form: both units are merged and the roll-up holds the sum of the new row."""
    assert v2026.merged.exit_code == 0, v2026.merged.output
    forms.register_form_file(v2026.file)
    roll = xltool.read(v2026.dir / "县.xlsx")
    assert roll.form.id == V2026 and roll.year == 2026 and roll.unit.name == "某某县"
    assert roll.values[f"apply.{NEW_ROW}.natural_person"] == Decimal(7)
    assert roll.values[f"apply.{NEW_ROW}.business"] == Decimal(0)
    assert roll.value(f"apply.{NEW_ROW}.total") == Decimal(7)
    assert roll.value("apply.result_total.natural_person") == Decimal(2 + 3 + 4)
    assert roll.values["active.fees.admin_fee.amount"] == Decimal("3.75")
    assert not [p for p in roll.check() if p.severity == "error"]


@pytest.fixture(scope="module")
def rendered_2026(v2026) -> SimpleNamespace:
    """The roll-up rendered as Markdown and as HTML (files beside it, for the import tests)."""
    roll = v2026.dir / "县.xlsx"
    md = cli("render", "--form", v2026.file, "-f", "md", roll)
    html = cli("render", "--form", v2026.file, "-f", "html", roll)
    (v2026.dir / "县.md").write_text(md.stdout, encoding="utf-8")
    (v2026.dir / "县.html").write_text(html.stdout, encoding="utf-8")
    return SimpleNamespace(md=md, html=html, md_file=v2026.dir / "县.md", html_file=v2026.dir / "县.html")


def test_2026_render_shows_the_new_row(v2026, rendered_2026):
    """render --form -f md / html: the roll-up's tables include the new row with its summed values."""
    md, html = rendered_2026.md, rendered_2026.html
    assert md.exit_code == 0, md.output
    assert md_row(md.stdout, NEW_LABEL) == ["7", "0", "0", "0", "0", "0", "7"]
    assert md_row(md.stdout, "（七）总计") == ["9", "4", "0", "0", "0", "0", "13"]
    assert html.exit_code == 0, html.output
    assert html.stdout.count(NEW_LABEL) == 1
    row = html.stdout[html.stdout.index(NEW_LABEL) :].split("</tr>", 1)[0]
    assert re.findall(r">\s*(\d+)\s*</td>", row) == ["7", "0", "0", "0", "0", "0", "7"]


def _imported(v2026, rendered: Path, tmp_path: Path) -> xltool.Return:
    result = cli("import", "--form", v2026.file, "--format", "json", rendered, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["files"]
    assert report["form"] == V2026
    (written,) = tmp_path.glob("*.xlsx")
    return xltool.read(written)


def _same_inputs(v2026, imported: xltool.Return) -> None:
    roll = xltool.read(v2026.dir / "县.xlsx")
    keys = [c.key for c in v2026.form.inputs]
    assert {k: imported.values.get(k) for k in keys} == {k: roll.values.get(k) for k in keys}
    assert imported.values[f"apply.{NEW_ROW}.natural_person"] == Decimal(7)


def test_2026_import_reads_the_html_render_back(v2026, rendered_2026, tmp_path):
    """import --form of the HTML render finds the 2026 form and reads back every input of the roll-up."""
    imported = _imported(v2026, rendered_2026.html_file, tmp_path)
    forms.register_form_file(v2026.file)
    _same_inputs(v2026, imported)


def test_2026_import_reads_the_markdown_render_back(v2026, rendered_2026, tmp_path):
    """import --form of the Markdown render reads back every input of the roll-up."""
    imported = _imported(v2026, rendered_2026.md_file, tmp_path)
    forms.register_form_file(v2026.file)
    _same_inputs(v2026, imported)


def test_broken_form_file_is_refused_with_file_path_and_field(tmp_path):
    """A --form file with a missing field ends the command with exit 2 and `file: rules[i]（ID）.field 缺失`."""
    data = yaml.safe_load(write_2026(tmp_path).read_text(encoding="utf-8"))
    index = next(i for i, r in enumerate(data["rules"]) if r["id"] == "T3-BAL-{COL}")
    del data["rules"][index]["severity"]
    broken = tmp_path / "gov-info-2026.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = cli("template", "--form", broken, "--year", 2026, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 2
    assert f"gov-info-2026.yaml: rules[{index}]（T3-BAL-{{COL}}）.severity 缺失" in result.stderr
    assert not (tmp_path / "t.xlsx").exists()
    assert V2026 not in {f.id for f in forms.all_forms()}


# --- the example form of docs/forms.md -------------------------------------------------------------------------------


def test_example_form_loads_as_documented():
    """docs/example-form.yaml loads: two tables, the widened one-column block, rule-defined row and column totals."""
    f = forms.load_form(EXAMPLE)
    assert f.id == EXAMPLE_ID and [t.id for t in f.tables] == ["column", "hotline"]
    assert (
        f.guide_lines()[0]
        == "1. 本工作簿按《某省政务公开工作补充统计表（示例）》（某省政务公开办〔2025〕1号（示例））制作，适用于2025 年度起的报告。"
    )
    # blocks: caption, header, data rows from row 3 (0-based 2); the one-column block widens to the last column.
    sessions = f.cell["column.events.open_day.sessions"]
    assert (sessions.a1, sessions.col, sessions.right) == ("B9", 1, 3)
    spending = f.cell["column.updates.portal.spending"]
    assert (spending.a1, spending.type.name, spending.type.places, spending.type.unit) == ("D5", "amount", 2, "万元")
    # matrix: two header rows, one label column; totals are formula cells defined by the rules.
    hotline = f.table("hotline")
    assert (hotline.header_rows, hotline.width, hotline.first_data_row) == (2, 4, 4)
    totals = {c.key: c.defined_by for c in hotline.cells if not c.is_input}
    assert totals == {
        "hotline.phone.total": "H-ROW-PHONE",
        "hotline.online.total": "H-ROW-ONLINE",
        "hotline.visit.total": "H-ROW-VISIT",
        "hotline.all.total": "H-ROW-ALL",
        "hotline.all.answered": "H-COL-ANSWERED",
        "hotline.all.pending": "H-COL-PENDING",
    }
    assert expr.refs(forms.formula_of(f, f.cell["hotline.all.answered"])) == (
        "hotline.phone.answered",
        "hotline.online.answered",
        "hotline.visit.answered",
    )
    warnings = {r.id for r in f.rules if r.severity == "warning"}
    assert warnings == {"C-INTERPRET-PORTAL", "C-INTERPRET-MEDIA"}
    assert len(f.inputs) == 7 + 6


def test_docs_inline_example_is_the_example_file():
    """The example printed in docs/forms.md is exactly docs/example-form.yaml (they cannot drift apart)."""
    text = FORMS_DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    full = [b for b in blocks if b.lstrip().startswith("# 示例") or "form: example-supplement" in b]
    assert full, "docs/forms.md has no inline copy of the example form"
    assert yaml.safe_load(full[0]) == yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


EX_A = {
    "column.updates.portal.items": 10,
    "column.updates.portal.interpretations": 2,
    "column.updates.portal.spending": 1.5,
    "column.updates.media.items": 6,
    "column.updates.media.interpretations": 1,
    "column.events.open_day.sessions": 2,
    "hotline.phone.answered": 7,
    "hotline.online.pending": 1,
}
EX_B = {
    "column.updates.portal.items": 3,
    "column.updates.portal.interpretations": 5,  # more 解读 than updates: the warning rule
    "column.updates.portal.spending": 0.25,
    "column.events.open_day.sessions": 1,
    "hotline.phone.answered": 1,
    "hotline.visit.answered": 4,
    "hotline.visit.pending": 2,
}


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("example")
    form = forms.load_form(EXAMPLE, origin="文件")
    made = cli("template", "--form", EXAMPLE, "--year", 2025, "-o", d / "t.xlsx")
    assert made.exit_code == 0, made.output
    a = fill(d / "t.xlsx", d / "甲局.xlsx", form, "甲局", "A1", EX_A)
    b = fill(d / "t.xlsx", d / "乙局.xlsx", form, "乙局", "B2", EX_B)
    return SimpleNamespace(dir=d, form=form, template=d / "t.xlsx", a=a, b=b)


def test_example_template_is_stamped_and_prints_the_guide(example):
    """The example's template carries its sheets, its 填报须知 and its form id."""
    wb = openpyxl.load_workbook(example.template)
    assert {"一、专栏建设", "二、咨询答复", layout.GUIDE_SHEET, layout.CHECK_SHEET} <= set(wb.sheetnames)
    guide_text = {str(c.value) for row in wb[layout.GUIDE_SHEET].iter_rows() for c in row if c.value}
    assert example.form.guide_lines()[2] in guide_text
    meta = {row[0].value: row[1].value for row in wb[layout.META_SHEET].iter_rows() if row[0].value}
    assert meta["form_id"] == EXAMPLE_ID


def test_example_pipeline_check_merge_render(example):
    """The example form runs template → fill → check → merge → render with --form and no Python change."""
    f = EXAMPLE
    checked = cli("check", "--form", f, "--format", "json", example.a, example.b)
    assert checked.exit_code == 0, checked.output  # a warning alone does not fail a return
    reports = by_file(json.loads(checked.stdout))
    assert {name: r["form"] for name, r in reports.items()} == {"甲局.xlsx": EXAMPLE_ID, "乙局.xlsx": EXAMPLE_ID}
    assert [p["code"] for p in reports["甲局.xlsx"]["problems"] if p["severity"] in ("error", "warning")] == []
    (warning,) = [p for p in reports["乙局.xlsx"]["problems"] if p["severity"] == "warning"]
    assert (warning["code"], warning["where"]) == ("C-INTERPRET-PORTAL", "一、专栏建设!C5")
    assert rule_outcomes(reports["乙局.xlsx"])["H-COL-ANSWERED"] == "pass"
    assert rule_outcomes(reports["乙局.xlsx"])["C-INTERPRET-MEDIA"] == "pass"

    merged = cli("merge", "--form", f, example.a, example.b, "-o", example.dir / "省.xlsx", "--unit", "某省")
    assert merged.exit_code == 0, merged.output
    forms.register_form_file(f)
    roll = xltool.read(example.dir / "省.xlsx")
    assert roll.form.id == EXAMPLE_ID
    assert roll.values["column.updates.portal.items"] == Decimal(13)
    assert roll.values["column.updates.portal.spending"] == Decimal("1.75")
    assert roll.values["column.events.open_day.sessions"] == Decimal(3)
    assert [roll.value(f"hotline.all.{c}") for c in ("answered", "pending", "total")] == [
        Decimal(12),
        Decimal(3),
        Decimal(15),
    ]
    assert roll.value("hotline.visit.total") == Decimal(6)

    md = cli("render", "--form", f, "-f", "md", example.dir / "省.xlsx")
    assert md.exit_code == 0, md.output
    assert md_row(md.stdout, "政务公开专栏更新") == ["13", "7", "1.75"]
    assert md_row(md.stdout, "政府开放日") == ["3"]
    assert md_row(md.stdout, "合计") == ["12", "3", "15"]
    assert "注：“维护经费”单位为万元，最多保留 2 位小数。" in md.stdout
    html = cli("render", "--form", f, "-f", "html", example.dir / "省.xlsx")
    assert html.exit_code == 0, html.output
    for text in ("一、政务公开专栏建设情况", "二、政务公开咨询答复情况", "咨询渠道", "政府开放日"):
        assert text in html.stdout


def test_example_render_heading_names_its_own_tables(example, tmp_path):
    """The rendered heading line does not claim the official tables 二 to 四 for a form whose tables are 一 and 二."""
    out = tmp_path / "甲局.md"
    result = cli("render", "--form", EXAMPLE, "-f", "md", example.a, "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "格式：《某省政务公开工作补充统计表（示例）》" in text
    assert "二至四" not in text


def test_example_not_filled_message_fits_a_two_table_form(example):
    """An untouched example template is 未填报, and the message does not speak of three tables."""
    result = cli("check", "--form", EXAMPLE, "--format", "json", example.template)
    assert result.exit_code == 1, result.output
    (report,) = json.loads(result.stdout)["files"]
    (problem,) = [p for p in report["problems"] if p["code"] == "NOT-FILLED"]
    assert "三张表" not in problem["message"]


def test_a_three_column_table_keeps_its_unit_line_and_flag(tmp_path):
    """A form whose table is 3 columns wide still shows 填报单位/报告年度 and 本年度无此类事项 on row 2."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    (column,) = [t for t in data["tables"] if t["id"] == "column"]
    column["value_columns"] = 2
    column["blocks"] = [b for b in column["blocks"] if b["id"] == "events"]
    data["rules"] = [r for r in data["rules"] if not r["id"].startswith("C-")]
    narrow = tmp_path / "narrow.yaml"
    narrow.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert forms.load_form(narrow).table("column").width == 3
    result = cli("template", "--form", narrow, "--year", 2025, "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 0, result.output
    row2 = [c.value for c in openpyxl.load_workbook(tmp_path / "t.xlsx")["一、专栏建设"][2]]
    assert any("本年度无此类事项" in str(v) for v in row2)
    assert any("填报单位" in str(v) for v in row2)


def test_a_two_column_table_keeps_its_flag_and_prints_the_unit_line(tmp_path):
    """In a 2-column table the 本年度无此类事项 label and flag fill row 2; the unit line goes to the page header."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    (column,) = [t for t in data["tables"] if t["id"] == "column"]
    column["value_columns"] = 1
    column["blocks"] = [dict(b, columns=b["columns"][:1]) for b in column["blocks"] if b["id"] == "events"]
    data["rules"] = [r for r in data["rules"] if not r["id"].startswith("C-")]
    narrow = tmp_path / "narrow2.yaml"
    narrow.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert forms.load_form(narrow).table("column").width == 2
    result = cli("template", "--form", narrow, "--year", 2025, "--unit", "甲&乙局", "-o", tmp_path / "t.xlsx")
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["一、专栏建设"]
    assert [c.value or None for c in ws[2]][:2] == ["本年度无此类事项：", None]
    assert "填报单位：甲&&乙局" in ws.oddHeader.left.text


# --- listing forms and their origins ---------------------------------------------------------------------------------


def listed(stdout: str) -> dict[str, str]:
    """`xltool forms` output: form id -> origin (the text before the full-width colon in the last column)."""
    out = {}
    for line in stdout.splitlines():
        fields = line.split("\t")
        out[fields[0]] = fields[-1].split("：", 1)[0]
    return out


def test_forms_lists_a_form_file_and_the_built_in_forms():
    """`xltool forms --form docs/example-form.yaml` lists the example as 文件 and the two official forms as 内置."""
    result = cli("forms", "--form", EXAMPLE)
    assert result.exit_code == 0, result.output
    origins = listed(result.stdout)
    assert origins[EXAMPLE_ID] == "文件"
    assert origins["gov-info-disclosure-2019"] == "内置"
    assert origins["gov-info-disclosure-2021"] == "内置"
    assert [k for k, v in origins.items() if v == "文件"] == [EXAMPLE_ID]
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith(EXAMPLE_ID)]
    assert str(EXAMPLE) in line and "13 个填报格，8 条校验规则" in line


# --- plugin forms (entry-point group xltool.forms) -------------------------------------------------------------------


def _entry_points(monkeypatch, *targets: tuple[str, str]) -> None:
    """Pretend installed packages declare these (name, "module:attr") entry points in group xltool.forms."""
    original = importlib.metadata.entry_points
    eps = [importlib.metadata.EntryPoint(name=n, value=v, group=forms.ENTRY_POINT_GROUP) for n, v in targets]

    def fake(**params):
        if params.get("group") == forms.ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints(eps)
        return original(**params)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    _reset()


def test_plugin_form_is_listed_and_usable(monkeypatch):
    """A plugin's form is known with origin 插件 …, listed by `xltool forms`, and found by its id."""
    _entry_points(monkeypatch, ("example", "tests.plugin_demo:example_forms"))
    form = forms.form_by_id(EXAMPLE_ID)
    assert form.origin.startswith("插件")
    assert form.path == EXAMPLE
    assert forms.plugin_errors() == []
    result = cli("forms")
    assert result.exit_code == 0, result.output
    origins = listed(result.stdout)
    assert origins[EXAMPLE_ID].startswith("插件")
    assert origins["gov-info-disclosure-2021"] == "内置"


def test_broken_plugin_is_reported_and_does_not_break_the_others(monkeypatch):
    """A plugin whose provider raises is listed in plugin_errors(); built-in and working plugin forms still load."""
    _entry_points(
        monkeypatch,
        ("broken", "tests.plugin_demo:broken_forms"),
        ("example", "tests.plugin_demo:example_forms"),
    )
    ids = {f.id: f.origin for f in forms.all_forms()}
    assert ids["gov-info-disclosure-2019"] == ids["gov-info-disclosure-2021"] == "内置"
    assert ids[EXAMPLE_ID].startswith("插件")
    (problem,) = forms.plugin_errors()
    assert "broken" in problem and "插件演示：表单目录不存在" in problem
    result = cli("forms")
    assert result.exit_code == 0
    assert "插件表单无法加载" in result.stderr and "插件演示：表单目录不存在" in result.stderr


def test_plugin_registry_is_restored_after_the_plugin_tests():
    """Outside the monkeypatched tests only the built-in forms are known (no plugin, no --form file leaks)."""
    assert {f.id: f.origin for f in forms.all_forms()} == {
        "gov-info-disclosure-2019": "内置",
        "gov-info-disclosure-2021": "内置",
    }
