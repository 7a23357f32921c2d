"""`xltool report`: the whole annual report of a return or roll-up, written in every registered format and read back.

The closed loop: for each example return (both form versions) and a roll-up of the example county, every annual
writer (md, html, txt, and docx) writes the report, `xltool.reading.read` imports it, and every cell of every table
must come back exactly as the return shows it, with the unit and the year. The generated sentences are checked
against the tables cell by cell, placeholders must be unmistakable and warned about, a narrative file's wrong figure
is a warning naming both numbers, and hostile narrative text is escaped in every medium.
"""

from __future__ import annotations

import dataclasses
import random
import re
import shutil
from decimal import Decimal
from pathlib import Path

import lxml.html
import pytest
import yaml
from click.testing import CliRunner

from xltool import annual, formats, layout, prose
from xltool.annual import (
    PLACEHOLDER_CLOSE,
    PLACEHOLDER_OPEN,
    NarrativeError,
    build_report,
    parse_narrative,
    section_names,
)
from xltool.cli import app
from xltool.forms import FormError, expand_keys, form_for_year, load_form
from xltool.model import Return, Unit
from xltool.reading import read
from xltool.render import format_value
from xltool.rollup import merge

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ANNUAL = [w.name for w in formats.writers("annual")]
CASES = ["sample-2025", "sample-2020", "rollup-2025"]
runner = CliRunner()


@pytest.fixture(scope="module")
def rollup_path(tmp_path_factory) -> Path:
    """The example county merged by the library (in this process), as `xltool merge` writes it."""
    files = sorted((EXAMPLES / "county-2025").glob("*.xlsx"))
    out = tmp_path_factory.mktemp("rollup") / "示例县汇总.xlsx"
    return merge(files, unit=Unit(name="示例县人民政府办公室"), workers=0).write(out)


def _source(name: str, rollup_path: Path) -> Path:
    return rollup_path if name.startswith("rollup") else EXAMPLES / f"sample-return-{name[-4:]}.xlsx"


@pytest.fixture(params=CASES)
def case(request, rollup_path) -> tuple[Path, Return]:
    path = _source(request.param, rollup_path)
    return path, read(path)


def shown(ret: Return, key: str) -> Decimal | None:
    """A cell as the published tables show it: None when blank or unusable."""
    return prose.table_figure(ret, [key])


def _written(report: annual.AnnualReport, fmt: str, folder: Path) -> Path:
    w = formats.writer("annual", fmt)
    path = folder / f"report{w.suffix}"
    w.write(report, path)
    return path


# --- the closed loop -----------------------------------------------------------------------------------------------


def test_every_format_is_registered():
    """md, html and txt are annual writers (docx comes from the Word helper), and the CLI offers exactly them."""
    from xltool.cli import AnnualFormat

    assert {"md", "html", "txt"} <= set(ANNUAL)
    assert {m.value for m in AnnualFormat} == set(ANNUAL)


@pytest.mark.parametrize("fmt", ANNUAL)
def test_generated_report_imports_back_to_the_same_return(case, fmt, tmp_path):
    """Every cell of every table, the unit and the year read back from the written report equal the source return."""
    _, ret = case
    back = read(_written(build_report(ret), fmt, tmp_path))
    assert (back.form.id, back.year, back.unit.name) == (ret.form.id, ret.year, ret.unit.name)
    differ = [(c.key, shown(ret, c.key), shown(back, c.key)) for c in ret.form.cells]
    differ = [d for d in differ if d[1] != d[2]]
    assert not differ, differ[:5]
    assert all(shown(ret, c.key) is not None for c in ret.form.cells)  # the examples are complete returns
    assert not [p for p in back.read_problems if p.code == "IMPORT-PROSE-MISMATCH"]


@pytest.mark.parametrize("fmt", ANNUAL)
def test_report_with_narrative_imports_back(case, fmt, tmp_path):
    """With the clerk's text in every section the report still reads back to the same values and no prose warning."""
    _, ret = case
    narrative = annual.Narrative(
        {name: f"{name}方面，本机关认真落实《条例》要求。" for name in section_names(ret.form)}
    )
    back = read(_written(build_report(ret, narrative=narrative), fmt, tmp_path))
    assert [c.key for c in ret.form.cells if shown(ret, c.key) != shown(back, c.key)] == []
    assert back.unit.name == ret.unit.name and back.year == ret.year


def test_cli_report_then_import_round_trip(tmp_path, monkeypatch):
    """`xltool report` writes <单位><年度>年政府信息公开工作年度报告.<fmt> in the current folder (format from --format
    or from -o), and `xltool import -f json` of it gives back every cell of the return."""
    import json

    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", str(EXAMPLES / "sample-return-2025.xlsx"), "-f", "md"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "示例县城关镇人民政府2025年政府信息公开工作年度报告.md"
    assert path.exists() and "待填写" in result.output  # the placeholder warning reaches the terminal
    for name in ("by-suffix.html", "by-suffix.txt"):
        result = runner.invoke(app, ["report", str(EXAMPLES / "sample-return-2025.xlsx"), "-o", name])
        assert result.exit_code == 0 and (tmp_path / name).exists()
    assert (tmp_path / "by-suffix.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    for report in (path, tmp_path / "by-suffix.html", tmp_path / "by-suffix.txt"):
        imported = runner.invoke(app, ["import", str(report), "--format", "json"])
        cells = {c["key"]: c["value"] for c in json.loads(imported.stdout)["files"][0]["cells"]}
        for c in ret.form.cells:
            assert Decimal(str(cells[c.key])) == shown(ret, c.key), (report.name, c.key)


def test_fragment_and_standard_output(tmp_path):
    """`-f html --fragment -o -` prints only the report's body with inline styles, no page around it."""
    result = runner.invoke(
        app, ["report", str(EXAMPLES / "sample-return-2020.xlsx"), "-f", "html", "--fragment", "-o", "-"]
    )
    assert result.exit_code == 0
    body = result.stdout
    assert body.startswith('<div class="xltool-annual-report">') and "<html" not in body and "<style" not in body
    assert 'style="border:1px solid #000' in body and "示例县城关镇人民政府2020年政府信息公开工作年度报告" in body


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_tables_exactly_as_render_lays_them_out(case, fmt):
    """Sections 二、三、四 of the report are `xltool render`'s output verbatim (headings, tables, notes)."""
    _, ret = case
    report = build_report(ret)
    if fmt == "md":
        rendered = formats.render(ret, "md")
        tables = rendered[rendered.index("## " + ret.form.tables[0].title) :]
        whole = formats.writer("annual", "md").write(report, None)
    else:
        rendered = formats.render(ret, "html")
        whole = formats.writer("annual", "html").write(report, None)
        blocks = re.findall(r"<table.*?</table>|<p class=\"note\">.*?</p>", rendered, re.S)
        assert len(blocks) >= len(ret.form.tables)
        assert all(b in whole for b in blocks)
        return
    assert tables.strip() in whole


# --- generated sentences ---------------------------------------------------------------------------------------------


def test_every_generated_figure_equals_its_table(case):
    """Each figure in a generated sentence is the table's value (or sum of values) as printed, and nothing else."""
    _, ret = case
    report = build_report(ret)
    generated = [b for b in report.blocks if b.figures]
    assert len(generated) >= 4
    for block in generated:
        for spec, text in block.figures:
            keys = expand_keys(ret.form, spec)
            value = prose.table_figure(ret, keys)
            t = ret.form.cell[keys[0]].type
            assert text == format_value(value, t.name, t.places), (spec, text, value)
        quoted = re.findall(r"(-?\d+(?:\.\d+)?)(?=件|项|个|万元)", block.text)
        assert quoted == [t for _, t in block.figures], block.text  # every number of the sentence is a figure
        assert prose.quoted_figures(ret, [block.text]) == []  # and the import audit agrees with it


def test_sentences_cover_applications_results_appeals_and_documents(case):
    """The sentences state applications by applicant type, results, carry-over, 复议/诉讼 outcomes, documents, fees."""
    _, ret = case
    text = "".join(b.text for b in build_report(ret).blocks if b.figures)
    for phrase in ("新收政府信息公开申请", "自然人申请", "予以公开", "部分公开", "不予公开", "结转下年度继续办理"):
        assert phrase in text
    for phrase in ("行政复议", "行政诉讼", "结果维持", "结果纠正", "规范性文件", "行政事业性收费"):
        assert phrase in text
    total = prose.table_figure(ret, ["apply.new.total"])
    assert f"新收政府信息公开申请{format_value(total, 'count')}件" in text


def test_year_over_year_changes():
    """With last year's return: 比上年增加 N 件 / 减少 N 件 / 与上年持平, from the same cells of both years."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    last = dataclasses.replace(ret, year=2024, values=dict(ret.values))
    last.values["apply.new.natural_person"] = ret.values["apply.new.natural_person"] - 2
    last.values["appeal.review.upheld"] = ret.values["appeal.review.upheld"] + 1
    text = "".join(b.text for b in build_report(ret, previous=last).blocks if b.figures)
    assert "新收政府信息公开申请6件，比上年增加2件" in text
    assert "行政复议0件，比上年减少1件" in text
    assert "被提起行政诉讼0件，与上年持平" in text
    plain = "".join(b.text for b in build_report(ret).blocks if b.figures)
    assert "比上年" not in plain and "与上年" not in plain


def test_year_over_year_across_form_versions():
    """A 2021-format report with last year's 2019-format return compares the cells both versions share."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    last = read(EXAMPLES / "sample-return-2020.xlsx")
    text = "".join(b.text for b in build_report(ret, previous=last).blocks if b.figures)
    assert "新收政府信息公开申请6件，比上年增加1件" in text
    assert "行政规范性文件6件，" in text  # 制发 has no 2019 counterpart: no comparison


def test_previous_found_by_unit_in_a_folder(tmp_path):
    """`--previous FOLDER` picks this unit's file among others (by code, then name) and adds the cross-year rules to
    the check; a folder without the unit is exit 2."""
    import shutil

    folder = tmp_path / "2024"
    folder.mkdir()
    shutil.copy(EXAMPLES / "sample-return-2020.xlsx", folder / "a.xlsx")
    shutil.copy(EXAMPLES / "county-2025" / "03-西河乡.xlsx", folder / "b.xlsx")
    shutil.copy(EXAMPLES / "county-2025" / "04-南山镇.xlsx", folder / "c.xlsx")
    out = tmp_path / "r.md"
    args = ["report", str(EXAMPLES / "sample-return-2025.xlsx"), "-o", str(out), "--previous"]
    result = runner.invoke(app, [*args, str(folder)])
    assert "新收政府信息公开申请6件，比上年增加1件" in out.read_text(encoding="utf-8")
    # the examples' 上年结转 does not follow last year's 结转下年度: the cross-year rule is an error, exit 1
    assert result.exit_code == 1 and "跨年度" in result.output, result.output
    (folder / "a.xlsx").unlink()
    result = runner.invoke(app, [*args, str(folder)])
    assert result.exit_code == 2 and "没有找到" in result.output


def test_blank_figure_is_never_quoted():
    """A blank or unusable cell gives a note naming it instead of a sentence with a made-up number."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    ret.values.pop("apply.new.business")
    blocks = build_report(ret).blocks
    notes = [b.text for b in blocks if b.kind == "note"]
    assert any("商业企业" in n and "未填写或数值无效" in n for n in notes), notes
    assert not any("新收政府信息公开申请" in b.text for b in blocks if b.kind == "paragraph")


@pytest.mark.parametrize("fmt", ANNUAL)
def test_blank_cell_is_never_read_back_as_a_number(fmt, tmp_path):
    """A blank cell stays blank (md, html, docx) or makes its row unknown (txt, which cannot show a blank); no other
    cell changes and no blank turns into 0 or into its neighbour's number."""
    from xltool.render import cell_text

    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    ret.values.pop("apply.new.business")
    back = read(_written(build_report(ret), fmt, tmp_path))
    row = {c.key for c in ret.form.table("apply").cells if c.key.startswith("apply.new.")}
    for c in ret.form.cells:
        printed = cell_text(ret, c)  # as the published table shows it (a total of partly blank inputs is shown)
        got = back.values.get(c.key)
        if c.key in row and fmt == "txt":
            assert got is None or not isinstance(got, Decimal) or str(got) == printed, c.key
        else:
            assert (format_value(got, c.type.name, c.type.places) if isinstance(got, Decimal) else "") == printed, c.key
    assert not isinstance(back.values.get("apply.new.business"), Decimal)
    # said: unknown, or (its row's printed 总计 already the sum of the others) kept blank and counted 0, noted
    assert any(
        p.code == "IMPORT-INCOMPLETE" or "apply.new.business" in (p.values or {}).get("zero", ())
        for p in back.read_problems
    )


# --- placeholders ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ANNUAL)
def test_placeholders_are_unmistakable_and_warned(fmt, tmp_path):
    """Without a narrative every section the clerk must write is a 【待填写：…】 block in the output, and a warning
    lists the sections."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    report = build_report(ret)
    holders = report.placeholders
    expected = {
        "总体情况",
        "主动公开",
        "依申请公开",
        "政府信息管理",
        "平台建设",
        "监督保障",
        "存在的主要问题及改进情况",
    }
    assert expected <= {b.section for b in holders}
    for b in holders:
        assert b.text.startswith(PLACEHOLDER_OPEN) and b.text.endswith(PLACEHOLDER_CLOSE)
    (warning,) = [w for w in report.warnings if w.code == "REPORT-PLACEHOLDER"]
    assert all(name in warning.message for name in expected)
    assert f"还有 {len(holders)} 处" in warning.message
    assert len(warning.values["placeholders"]) == len(holders)  # one name per placeholder counted
    assert all(name in warning.message for name in warning.values["placeholders"])
    if fmt == "docx":
        from docx import Document

        text = "\n".join(p.text for p in Document(_written(report, fmt, tmp_path)).paragraphs)
    else:
        text = _written(report, fmt, tmp_path).read_text(encoding="utf-8")
        if fmt == "html":
            root = lxml.html.fromstring(text)
            assert len(root.find_class("placeholder")) == len(holders)
            text = root.text_content()
    assert text.count(PLACEHOLDER_OPEN) == len(holders)


def test_full_narrative_leaves_no_placeholder():
    """A narrative naming every section replaces every placeholder; the generated sentences stay."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    narrative = annual.Narrative({name: "已按要求开展工作。" for name in section_names(ret.form)})
    report = build_report(ret, narrative=narrative)
    assert report.placeholders == []
    assert not [w for w in report.warnings if w.code == "REPORT-PLACEHOLDER"]
    assert any(b.figures for b in report.blocks)
    assert sum(1 for b in report.blocks if b.text == "已按要求开展工作。") == len(section_names(ret.form))


# --- the narrative file ------------------------------------------------------------------------------------------


def test_narrative_yaml_and_markdown():
    """YAML maps section names to text; Markdown uses headings, printed headings such as （一）主动公开 included."""
    form = form_for_year(2025)
    y = parse_narrative(
        "主动公开: 通过网站公开信息。\n存在的主要问题及改进情况: |\n  一是……\n\n  二是……\n", form, "a.yaml"
    )
    assert y.sections == {"主动公开": "通过网站公开信息。", "存在的主要问题及改进情况": "一是……\n\n二是……"}
    m = parse_narrative(
        "# 总体情况\n全年工作有序。\n\n## （一）主动公开\n通过网站公开。\n\n# 五、存在的主要问题及改进情况\n无。\n",
        form,
        "a.md",
    )
    assert m.sections == {
        "总体情况": "全年工作有序。",
        "主动公开": "通过网站公开。",
        "存在的主要问题及改进情况": "无。",
    }
    report = build_report(read(EXAMPLES / "sample-return-2025.xlsx"), narrative=m)
    assert [b.text for b in report.blocks if b.section == "主动公开" and b.kind == "paragraph"][-1] == "通过网站公开。"


def test_example_narrative_makes_a_finished_report(tmp_path):
    """examples/narrative-2025.yaml with the 2025 example: every section written, no warning, folded YAML lines
    joined without stray spaces between Chinese characters; `xltool report` exits 0 with nothing on stderr but done."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    narrative = annual.read_narrative(EXAMPLES / "narrative-2025.yaml", ret.form)
    report = build_report(ret, narrative=narrative)
    assert report.placeholders == [] and report.warnings == []
    assert any(
        b.text.startswith("2025年，示例县城关镇人民政府认真贯彻") and "重点领域，不断" in b.text for b in report.blocks
    )
    other = [b.text for b in report.blocks if b.section == "其他需要报告的事项" and b.kind == "paragraph"]
    assert other[0].endswith("收取信息处理费情况：无。") and "工作要点" in other[1]
    out = tmp_path / "r.md"
    result = runner.invoke(
        app,
        [
            "report",
            str(EXAMPLES / "sample-return-2025.xlsx"),
            "--text",
            str(EXAMPLES / "narrative-2025.yaml"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0 and "警告" not in result.output and "待填写" not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("text,name", [("总结: 全年顺利。\n", "x.yaml"), ("# 工作亮点\n很多。\n", "x.md")])
def test_unknown_section_is_refused(text, name):
    """An unknown section name is an error naming it and every valid name (text is never dropped silently)."""
    form = form_for_year(2025)
    with pytest.raises(NarrativeError) as exc:
        parse_narrative(text, form, name)
    message = str(exc.value)
    assert ("总结" in message or "工作亮点" in message) and all(n in message for n in section_names(form))


def test_unknown_section_on_the_command_line(tmp_path):
    """`xltool report --text` with an unknown section: exit 2, the reason on stderr, nothing written."""
    text = tmp_path / "正文.yaml"
    text.write_text("亮点: 很多。\n", encoding="utf-8")
    out = tmp_path / "r.md"
    result = runner.invoke(
        app, ["report", str(EXAMPLES / "sample-return-2025.xlsx"), "-o", str(out), "--text", str(text)]
    )
    assert result.exit_code == 2 and "亮点" in result.output and not out.exists()


def test_wrong_figure_in_narrative_is_a_warning_naming_both(tmp_path):
    """A narrative quoting 99 applications where the table has 6 warns with the section, the text and both numbers;
    correct figures give no warning."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    good = parse_narrative("依申请公开: 本年度共收到政府信息公开申请6件，予以公开3件。\n", ret.form, "a.yaml")
    assert not [w for w in build_report(ret, narrative=good).warnings if w.code == "REPORT-TEXT-MISMATCH"]
    last_year = parse_narrative("依申请公开: 上年收到政府信息公开申请5件，本年度收到申请6件。\n", ret.form, "a.yaml")
    assert not [w for w in build_report(ret, narrative=last_year).warnings if w.code == "REPORT-TEXT-MISMATCH"]
    bad = parse_narrative(
        "依申请公开: 本年度共收到政府信息公开申请 99 件，其中部分公开 7 件。\n"
        "监督保障: 全年发生行政复议2起。\n"
        "主动公开: 本年度制发行政规范性文件5件，行政事业性收费金额3.5万元。\n",
        ret.form,
        "a.yaml",
    )
    warnings = [w for w in build_report(ret, narrative=bad).warnings if w.code == "REPORT-TEXT-MISMATCH"]
    messages = [w.message for w in warnings]
    assert len(warnings) == 5, messages
    first = next(m for m in messages if "99" in m)
    assert "依申请公开" in first and "收到政府信息公开申请99件" in first and "为 6 件" in first
    assert any("部分公开7件" in m and "为 1 件" in m for m in messages)
    assert any("行政复议2起" in m and "监督保障" in m for m in messages)
    assert any("规范性文件5件" in m and "为 6 件" in m for m in messages)
    assert any("3.5万元" in m and "4.6037 万元" in m for m in messages)
    # on the command line: a warning on stderr, exit 0 (the return itself has no error)
    path = tmp_path / "正文.yaml"
    path.write_text("依申请公开: 本年度共收到政府信息公开申请99件。\n", encoding="utf-8")
    result = runner.invoke(
        app, ["report", str(EXAMPLES / "sample-return-2025.xlsx"), "-o", str(tmp_path / "r.html"), "--text", str(path)]
    )
    assert result.exit_code == 0 and "收到政府信息公开申请99件" in result.output and "6 件" in result.output


HOSTILE = (
    "<script>alert('x')</script> | 列1 | 列2 |\n\n"
    "=cmd|' /C calc'!A0\n\n"
    "# 伪造的标题\n\n"
    "- 列表项 **加粗** `代码` [链接](http://x)\n\n"
    "二、主动公开政府信息情况\n\n"
    "规章 9 9 9"
)


@pytest.mark.parametrize("fmt", ANNUAL)
def test_hostile_narrative_is_escaped_and_harmless(fmt, tmp_path):
    """Script tags, pipes, formula-like text, Markdown headings and a fake table heading in the narrative are shown
    as text in every medium, and the report still imports back to the same values."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    narrative = annual.Narrative({"平台建设": HOSTILE, "存在的主要问题及改进情况": "<b>粗</b>&amp;"})
    report = build_report(ret, narrative=narrative)
    path = _written(report, fmt, tmp_path)
    back = read(path)
    assert [c.key for c in ret.form.cells if shown(ret, c.key) != shown(back, c.key)] == []
    assert back.unit.name == ret.unit.name
    if fmt == "html":
        root = lxml.html.fromstring(path.read_text(encoding="utf-8"))
        assert list(root.iter("script")) == [] and list(root.iter("b")) == []
        assert "<script>alert('x')</script>" in root.text_content()
    elif fmt == "md":
        lines = path.read_text(encoding="utf-8").splitlines()
        assert not any(line.startswith("# 伪造") or line.startswith("- 列表项") for line in lines)
        assert not any("<script>" in line for line in lines)
        assert not any(line.startswith("| 列1") for line in lines)
    elif fmt == "txt":
        text = path.read_text(encoding="utf-8")
        assert "<script>alert('x')</script> | 列1 | 列2 |" in text


# --- roll-ups, extra fields, other forms ---------------------------------------------------------------------------


def _prose(report: annual.AnnualReport) -> str:
    """Every text of the report but its tables (whose official labels say 本机关不掌握相关政府信息)."""
    return "\n".join(b.text for b in report.blocks if b.kind != "table")


def test_rollup_report_speaks_for_the_region(rollup_path):
    """A roll-up's report keeps the county's title, says its figures are the region's totals, speaks of 全县 where a
    unit's report says 本机关, and keeps 汇总 N 个单位（…） out of its text."""
    ret = read(rollup_path)
    report = build_report(ret)
    assert report.title == "示例县人民政府办公室2025年政府信息公开工作年度报告"
    preface = "".join(b.text for b in report.blocks if b.section == "前言")
    assert "本行政区域汇总数据" in preface
    prose_text = _prose(report)
    assert "本机关" not in prose_text and layout.rollup_line(ret.meta) not in prose_text
    assert not re.search(r"汇总 \d+ 个单位", prose_text)
    generated = [b.text for b in report.blocks if b.figures]
    assert generated and all("全县" in text for text in generated)
    assert "全县" in "".join(b.text for b in report.placeholders)


def test_unit_return_keeps_the_office_wording_unless_filled_as_regional():
    """A township's own return speaks as 本机关 with no 汇总 in its preface; the same return filled as 统计范围
    本行政区域汇总 speaks for its area (示例县城关镇人民政府 → 全镇)."""
    own = read(EXAMPLES / "sample-return-2025.xlsx")
    report = build_report(own)
    assert "汇总" not in "".join(b.text for b in report.blocks if b.section == "前言")
    assert "本年度本机关制发规章" in _prose(report)
    own.unit.scope = layout.SCOPES[1]
    regional = build_report(own)
    assert "本行政区域汇总数据" in "".join(b.text for b in regional.blocks if b.section == "前言")
    assert "本机关" not in _prose(regional) and "本年度全镇制发规章" in _prose(regional)


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("某某县人民政府办公室", "全县"),
        ("某某市某某区人民政府", "全区"),
        ("某某市人民政府办公室", "全市"),
        ("某某自治州人民政府", "全州"),
        ("某某县政府办公室", "全县"),
        ("某 某 县", "全县"),
        ("县人民政府", "本地区"),
        ("某某政务服务管理局", "本地区"),
        ("", "本地区"),
    ],
)
def test_region_word_from_the_unit_name(name, word):
    """The region's word comes from the kind of area before 人民政府 in the unit's name, else 本地区."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    ret.unit.name = name
    assert annual.region_word(ret) == word


def test_form_without_regional_wording_loads_and_still_speaks_for_a_region(tmp_path):
    """A form file without `report.regional` loads; a regional report made with it says 本地区/全县 instead of
    本机关 (the default wording). A wording with a placeholder other than {region} is refused on loading."""
    data = yaml.safe_load((ROOT / "templates" / "gov-info-2021.yaml").read_text(encoding="utf-8"))
    data["version"] = "2098"
    del data["report"]["regional"]
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    form = load_form(path)
    own = read(EXAMPLES / "sample-return-2025.xlsx")
    ret = Return(form, 2025, Unit(name="某某县人民政府办公室", scope=layout.SCOPES[1]), values=dict(own.values))
    text = _prose(build_report(ret))
    assert "本机关" not in text and "本年度全县制发规章" in text
    data["report"]["regional"] = {"words": {"本机关": "{area}"}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FormError, match="region"):
        load_form(path)


def _roll(folder: Path, files: list[str], out: Path, roster: bool) -> Path:
    """The example county's returns `files` merged by `xltool merge` (with the example roster when asked)."""
    folder.mkdir()
    for name in files:
        shutil.copy(EXAMPLES / "county-2025" / name, folder / name)
    args = ["merge", str(folder), "-o", str(out), "--unit", "示例县人民政府办公室", "--workers", "0"]
    if roster:
        args += ["--roster", str(EXAMPLES / "county-2025" / "units.csv")]
    runner.invoke(app, args)
    assert out.exists()
    return out


def _with_meta(path: Path, key: str, value: str) -> Path:
    """The roll-up with one more _meta entry (what xltool merge writes of the units it lacks)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    wb[layout.META_SHEET].append([key, value])
    out = path.with_name(f"meta-{path.name}")
    wb.save(out)
    return out


def _body(path: Path) -> str:
    """The text a reader sees in a written report, without its statistics tables."""
    if path.suffix == ".docx":
        from docx import Document

        return "\n".join(p.text for p in Document(str(path)).paragraphs)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        root = lxml.html.fromstring(text)
        for table in root.iter("table"):
            table.drop_tree()
        return root.text_content()
    cell = "|" if path.suffix == ".md" else "\t"
    return "\n".join(line for line in text.splitlines() if cell not in line)


COUNTY_GOOD = ["01-城关镇.xlsx", "02-东坝镇.xlsx", "03-西河乡.xlsx", "05-北塘街道.xlsx", "06-柳营乡.xlsx"]


def test_incomplete_rollup_report_warns_naming_the_units(tmp_path):
    """A roll-up lacking a roster unit gets its report in every format with exit 1 and the warning naming the unit
    (汇总不完整); the text speaks for 全县, never as 本机关, and 汇总 N 个单位（…） is only in the warnings."""
    import json

    # 示例县红星街道办事处 has no return; 南山镇's return has errors and is refused
    everyone = [*COUNTY_GOOD, "04-南山镇.xlsx", "07-石桥镇.xlsx"]
    county = _roll(tmp_path / "in", everyone, tmp_path / "county.xlsx", roster=True)
    ret = read(county)
    assert (ret.meta.get("missing"), ret.meta.get("not_merged")) == ("1", "1")
    named = _with_meta(county, layout.MISSING_UNITS, json.dumps(["示例县红星街道办事处"], ensure_ascii=False))
    for source in (county, named):
        gaps = layout.rollup_gaps(read(source).meta)
        assert gaps and "缺报 1 个单位" in gaps and "未汇总 1 个单位" in gaps
        for fmt in ANNUAL:
            out = tmp_path / f"{source.stem}.{formats.writer('annual', fmt).suffix.lstrip('.')}"
            result = runner.invoke(app, ["report", str(source), "-o", str(out)])
            assert result.exit_code == 1, result.output
            assert gaps in result.output and layout.rollup_line(ret.meta) in result.output
            body = _body(out)
            assert "本机关" not in body and not re.search(r"汇总 ?\d+ ?个单位（", body), fmt
            assert "全县" in body and "本行政区域汇总数据" in body
    assert "示例县红星街道办事处" in result.output  # the name merge records is the name the warning gives


def test_complete_rollup_report_exits_zero_and_speaks_for_the_region(tmp_path):
    """A roll-up with nothing missing or refused: its report exits 0 (placeholders are only warnings), speaks of 全县
    and says 汇总 N 个单位 to the county only as a note on the terminal."""
    county = _roll(tmp_path / "in", COUNTY_GOOD, tmp_path / "county.xlsx", roster=False)
    assert layout.rollup_gaps(read(county).meta) is None
    out = tmp_path / "county.md"
    result = runner.invoke(app, ["report", str(county), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "汇总不完整" not in result.output and "汇总 5 个单位" in result.output
    body = _body(out)
    assert "全县" in body and "本机关" not in body and "汇总 5 个单位" not in body


def test_extra_fields_fill_contact_and_fees():
    """通讯地址/邮政编码 appear in the preface's contact; 信息处理费 fields fill 六, zero fields say 无."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    ret.unit.extra = {"address": "某县某路1号", "postcode": "750000", "fee_cases": "2", "fee_amount": "30"}
    blocks = build_report(ret).blocks
    preface = "".join(b.text for b in blocks if b.section == "前言")
    assert "通讯地址：某县某路1号" in preface and "邮政编码：750000" in preface
    other = [b.text for b in blocks if b.section == "其他需要报告的事项" and b.kind == "paragraph"]
    assert any("收取信息处理费2件，金额30元" in t and "国办函〔2020〕109号" in t for t in other)
    ret.unit.extra = {"fee_cases": "0", "fee_amount": "0"}
    other = [b.text for b in build_report(ret).blocks if b.section == "其他需要报告的事项" and b.kind == "paragraph"]
    assert any(t.endswith("收取信息处理费情况：无。") for t in other)
    ret.unit.extra = {}
    holders = [b for b in build_report(ret).blocks if b.kind == "placeholder" and b.section == "其他需要报告的事项"]
    assert any("信息处理费" in b.text for b in holders)  # applications were received: only the clerk knows the fees


def test_extra_fields_round_trip_through_the_workbook(tmp_path):
    """The template writes the optional fields unlocked on 填报说明; what the clerk types is read into Unit.extra."""
    import openpyxl

    from xltool.template.xlsx import write_xlsx

    form = form_for_year(2025)
    path = write_xlsx(Return(form, 2025, Unit(name="某镇人民政府")), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[layout.GUIDE_SHEET]
    fields = layout.extra_fields(form)
    assert [k for k, *_ in fields] == ["address", "postcode", "fee_cases", "fee_amount"]
    for key, label, row, _ in fields:
        assert ws.cell(row + 1, 1).value == label and not ws.cell(row + 1, 2).protection.locked
        ws.cell(row + 1, 2).value = {"fee_cases": 3, "fee_amount": "45.5"}.get(key, f"{label}值")
    wb.save(tmp_path / "filled.xlsx")
    ret = read(tmp_path / "filled.xlsx")
    assert ret.unit.extra == {"address": "通讯地址值", "postcode": "邮政编码值", "fee_cases": "3", "fee_amount": "45.5"}
    for key, label, row, _ in fields:  # a workbook made before the form declared a field: its row is not read
        ws.cell(row + 1, 1).value = None if key == "address" else label
    wb.save(tmp_path / "older.xlsx")
    assert "address" not in read(tmp_path / "older.xlsx").unit.extra
    assert read(EXAMPLES / "sample-return-2025.xlsx").unit.extra["fee_amount"] == "0"  # the example fills them
    assert layout.extra_fields(form_for_year(2020)) == []  # the 2019 format asks for none


def test_form_without_report_section(tmp_path):
    """A form file without `report:` (docs/example-form.yaml) still gets a report: default sub-sections, placeholders,
    六 无, its tables — in every text format."""
    form = load_form(ROOT / "docs" / "example-form.yaml")
    rng = random.Random(3)
    ret = Return(form, 2025, Unit(name="某省某厅"), {c.key: Decimal(rng.randint(0, 9)) for c in form.inputs})
    report = build_report(ret)
    assert [b.text for b in report.blocks if b.kind == "heading" and b.level == 2][:5] == [
        "（一）主动公开",
        "（二）依申请公开",
        "（三）政府信息管理",
        "（四）政府信息公开平台建设",
        "（五）监督保障",
    ]
    assert [b.table_id for b in report.blocks if b.kind == "table"] == [t.id for t in form.tables]
    assert any(b.text == "无。" for b in report.blocks)
    for fmt in ("md", "html", "txt"):
        assert _written(report, fmt, tmp_path).stat().st_size > 0


def test_report_section_of_a_form_file_is_checked(tmp_path):
    """A sentence naming a cell the form lacks, or a misspelt field of `report:`, is refused at load in Chinese."""
    data = yaml.safe_load((ROOT / "templates" / "gov-info-2021.yaml").read_text(encoding="utf-8"))
    data["version"] = "2099"
    data["report"]["sections"][0]["sentences"] = ["制发{active.rules.nothing.issued}件。"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FormError, match="不是本表单的单元格键"):
        load_form(bad)
    data["report"]["sections"][0] = {"name": "主动公开", "heading": "（一）主动公开", "sentense": []}
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FormError, match="sentense 是不认识的字段"):
        load_form(bad)


# --- checks on the way ---------------------------------------------------------------------------------------------


def test_return_with_errors_is_written_but_warned(tmp_path):
    """A return whose tables do not add up still gets its report (exit 1) and a warning naming the errors."""
    broken = next(
        p
        for p in sorted((EXAMPLES / "county-2025").glob("*.xlsx"))
        if read(p).check() and any(x.severity == "error" for x in read(p).check())
    )
    out = tmp_path / "r.md"
    result = runner.invoke(app, ["report", str(broken), "-o", str(out)])
    assert result.exit_code == 1 and out.exists()
    assert "统计表有" in result.output and "项错误" in result.output


def test_unreadable_input_and_previous(tmp_path):
    """An input that is not a return, or an unreadable --previous, ends with exit 2 and a Chinese reason."""
    junk = tmp_path / "x.xlsx"
    junk.write_bytes(b"not a workbook")
    result = runner.invoke(app, ["report", str(junk), "-o", str(tmp_path / "r.md")])
    assert result.exit_code == 2 and "错误" in result.output
    result = runner.invoke(
        app,
        ["report", str(EXAMPLES / "sample-return-2025.xlsx"), "-o", str(tmp_path / "r.md"), "--previous", str(junk)],
    )
    assert result.exit_code == 2 and "上年度文件" in result.output


def test_import_audit_reads_the_form_figures(tmp_path):
    """A published report whose sentence was edited to contradict its table (予以公开) is flagged on import."""
    ret = read(EXAMPLES / "sample-return-2025.xlsx")
    path = _written(build_report(ret), "md", tmp_path)
    text = path.read_text(encoding="utf-8").replace("其中予以公开3件", "其中予以公开30件")
    path.write_text(text, encoding="utf-8")
    found = [p for p in read(path).read_problems if p.code == "IMPORT-PROSE-MISMATCH"]
    assert len(found) == 1 and "予以公开30件" in found[0].message and "为 3 件" in found[0].message


# --- printing the web page -----------------------------------------------------------------------------------------


@pytest.mark.chromium
@pytest.mark.parametrize("name", ["sample-return-2025", "sample-return-2020"])
def test_html_prints_text_portrait_and_wide_tables_landscape(name, tmp_path):
    """Chromium prints the page on A4: the text portrait, Tables 三 and 四 on landscape pages (三 on one page, opening
    with its heading), no glyph under 9 pt."""
    import os
    import shutil
    import subprocess

    binary = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if binary is None:
        msg = "chromium not installed (apt-get install -y --no-install-recommends chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI=true: Chromium tests must run)")
        pytest.skip(msg)
    pdfplumber = pytest.importorskip("pdfplumber")
    page = tmp_path / "report.html"
    page.write_text(formats.writer("annual", "html").write(build_report(read(EXAMPLES / f"{name}.xlsx")), None))
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with pdfplumber.open(pdf) as doc:
        pages = [(round(p.width), p.extract_text() or "", min(c["size"] for c in p.chars)) for p in doc.pages]
    assert pages[0][0] == 595 and pages[0][1].startswith(f"示例县城关镇人民政府{name[-4:]}年政府信息公开工作年度报告")
    for heading in ("三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况"):
        (wide,) = [p for p in pages if heading in p[1]]
        assert wide[0] == 842  # 四 follows 三 on its page when both fit (the 2019 Table 三 is shorter)
    assert next(p for p in pages if p[0] == 842)[1].startswith("三、收到和处理政府信息公开申请情况")
    assert pages[-1][0] == 595 and "六、其他需要报告的事项" in pages[-1][1]
    assert min(size for *_, size in pages) >= 8.99
    (apply,) = [p for p in pages if "三、收到和处理政府信息公开申请情况" in p[1]]
    assert "四、结转下年度继续办理" in apply[1]  # Table 三 fits one page, last row included
