"""What a county reviewer sees in a roll-up: 汇总说明 and 概览 in front, 明细 with Chinese headers (keys kept for the
machine), Chinese reasons in 未汇总 / 名册核对 / 来源, the counts line wherever a roll-up is shown (xlsx, html, md,
docx, the merge message), charts that are native spreadsheet charts, and print settings that stay legible."""

from __future__ import annotations

import random
import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.fillings import random_return
from tests.test_merge import sheet_rows, unit_file
from xltool import layout
from xltool.cli import app
from xltool.codes import Code
from xltool.discover import _detail_rows, load_previous
from xltool.forms import form_for_year
from xltool.model import Return, Unit
from xltool.reading import read
from xltool.render import rollup_summary
from xltool.rollup import SOURCE_HEADER, merge
from xltool.roster import read_roster
from xltool.template import ExtraSheet, review, write_xlsx
from xltool.template.review import detail

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "examples" / "county-2025"
LINE = "汇总 5 个单位（应报 8，缺报 1，未汇总 3）"  # examples/county-2025 with its roster (see the README)
HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """The example county merged with its roster: 5 merged, 南山镇 with errors, 石桥镇 sent twice, 红星街道 missing."""
    out = tmp_path_factory.mktemp("county") / "示例县.xlsx"
    roll = merge([COUNTY], Unit(name="示例县人民政府办公室", code="915100000000000000"), roster=roster(), workers=0)
    roll.write(out)
    return roll, out


def roster():
    return read_roster(COUNTY / "units.csv")


def texts(path: Path, sheet: str) -> list[str]:
    """Every non-empty cell of a sheet as text, row by row."""
    return [str(v) for row in sheet_rows(path, sheet) for v in row if v not in (None, "")]


# --- order, 汇总说明, _meta ----------------------------------------------------------------------------------------


def test_review_sheets_come_first_and_the_summary_opens(county):
    """汇总说明 and 概览 come before the official tables, the list sheets after 校验, _meta last; 汇总说明 is the
    sheet the workbook opens on."""
    _, out = county
    wb = openpyxl.load_workbook(out)
    form = form_for_year(2025)
    assert wb.sheetnames == [
        layout.SUMMARY_SHEET,
        layout.OVERVIEW_SHEET,
        layout.GUIDE_SHEET,
        *(t.sheet for t in form.tables),
        layout.CHECK_SHEET,
        layout.DETAIL_SHEET,
        layout.SOURCE_SHEET,
        layout.REJECTED_SHEET,
        layout.NOTES_SHEET,
        layout.ROSTER_SHEET,
        layout.META_SHEET,
    ]
    assert wb.active.title == layout.SUMMARY_SHEET
    assert wb[layout.META_SHEET].sheet_state == "hidden"


def test_meta_holds_the_counts_and_reads_back(county):
    """_meta carries members, not_merged (read but left out; ignored files are not counted), expected and missing,
    so the roll-up read back says the same line."""
    roll, out = county
    back = read(out)
    assert {k: back.meta[k] for k in ("kind", "members", "not_merged", "expected", "missing")} == {
        "kind": layout.ROLLUP_KIND,
        "members": "5",
        "not_merged": "3",
        "expected": "8",
        "missing": "1",
    }
    assert layout.rollup_line(back.meta) == roll.line == LINE
    assert not [p for p in back.check() if p.severity == "error"]  # still a valid return


def test_summary_sheet_says_what_the_rollup_contains(county):
    """汇总说明: the counts line first, the unit, year, form and notice, the latest 填报日期 of the members, the
    missing roster unit, each refused file with its Chinese reason and code, and the xltool version."""
    _, out = county
    from xltool._version import __version__

    rows = sheet_rows(out, layout.SUMMARY_SHEET)
    assert rows[1][0] == LINE
    facts = {row[0]: row[2] for row in rows[2:11]}
    form = form_for_year(2025)
    assert facts["汇总单位"] == "示例县人民政府办公室（代码 915100000000000000）"
    assert facts["报告年度"] == "2025 年度"
    assert facts["报表格式"] == f"《{form.name}》（{form.notice}）"
    assert facts["数据截至"].startswith("2026年1月16日")  # 柳营乡's 2026-01-16, the latest; never the clock
    assert facts["汇总情况"] == LINE
    assert facts["是否完整"].startswith("汇总不完整：缺报 1 个单位（示例县红星街道办事处）、未汇总 3 个单位")
    assert facts["生成工具"].startswith(f"xltool {__version__}")
    cells = texts(out, layout.SUMMARY_SHEET)
    assert "示例县红星街道办事处" in cells and "915100000000000008" in cells  # 缺报
    refused = {row[1]: (row[3], row[4]) for row in rows if row and row[4] in {c.value for c in Code}}
    assert set(refused) == {"04-南山镇.xlsx", "07-石桥镇.xlsx", "07-石桥镇（修改版）.xlsx"}
    reason, code = refused["04-南山镇.xlsx"]
    assert code == Code.HAS_ERRORS and reason.startswith(Code.HAS_ERRORS.info.zh + "：有 2 个错误")
    assert refused["07-石桥镇.xlsx"][0].startswith(Code.DUPLICATE.info.zh + "：")
    assert "units.csv" not in cells  # ignored files are counted, not listed as refusals


@pytest.mark.parametrize(
    ("dates", "shown"),
    [
        (["2026年1月20日", "2026/1/3", "2026.01.15"], "2026年1月20日"),
        (["2026-2-1", "", "二〇二六年"], "2026年2月1日"),
        (["", "不详", ""], ""),
    ],
)
def test_the_date_comes_from_the_data(tmp_path, dates, shown):
    """数据截至 is the latest 填报日期 the clerks typed, in any usual way; none readable means none shown."""
    files = []
    for i, date in enumerate(dates):
        ret = random_return(form_for_year(2025), 2025, random.Random(i))
        ret.unit = Unit(name=f"日期镇{i}", code=f"3{i:017d}", date=date)
        files.append(write_xlsx(ret, tmp_path / f"{i}.xlsx"))
    roll = merge(files, workers=0)
    assert roll.data_date == shown
    facts = {row[0]: row[2] for row in sheet_rows(roll.write(tmp_path / "c.xlsx"), layout.SUMMARY_SHEET)[3:11]}
    assert facts["数据截至"] == (f"{shown}（各单位填报日期中最晚的一天）" if shown else "各单位均未填写填报日期")


def test_summary_without_a_roster_says_so(tmp_path):
    """Without --roster the line has no 应报/缺报, and 汇总说明 says the missing units could not be checked."""
    files = [unit_file(tmp_path, i) for i in range(2)]
    roll = merge(files, workers=0)
    assert roll.line == "汇总 2 个单位（未汇总 0）"
    cells = texts(roll.write(tmp_path / "c.xlsx"), layout.SUMMARY_SHEET)
    assert "汇总时未提供名册（--roster），无法核对缺报单位" in cells and "未提供名册，无法核对" in cells
    assert layout.ROSTER_SHEET not in openpyxl.load_workbook(tmp_path / "c.xlsx").sheetnames


# --- 明细 ----------------------------------------------------------------------------------------------------------


def test_detail_of_a_few_units_lists_cells_down_and_units_across(county):
    """明细 of a few units: a row per input cell in form order (its [key] in a hidden first column) under its table's
    band, with its row group and own label; a column per unit under unit / code / status rows repeated on every
    printed page with the label columns."""
    roll, out = county
    form = form_for_year(2025)
    rows = sheet_rows(out, layout.DETAIL_SHEET)
    names, codes, status = rows[:3]
    assert [names[0], codes[0], status[0]] == ["[unit]", "[code]", "[status]"]
    assert names[3:] == [m.info.unit_name for m in roll.members]
    assert codes[3:] == [m.info.unit_code for m in roll.members] and status[3:] == [m.status.zh for m in roll.members]
    keyed = [r for r in rows[3:] if str(r[0]).startswith("[")]
    assert [r[0] for r in keyed] == [f"[{c.key}]" for c in form.inputs]
    by_key = {r[0].strip("[]"): r for r in keyed}
    assert by_key["apply.new.natural_person"][2] == "自然人"
    assert by_key["apply.new.natural_person"][3] == roll.members[0].info.values["apply.new.natural_person"]
    assert by_key["active.rules.regulation.issued"][2] == "本年制发件数"
    bands = [r[1] for r in rows[3:] if not str(r[0]).startswith("[") and r[1]]
    assert bands == [t.title for t in form.tables]
    assert detail.across_labels(form, form.cell["apply.result.partial.natural_person"])[0].startswith("三、本年度")
    assert detail.across_labels(form, form.cell["appeal.direct.upheld"]) == ("行政诉讼 未经复议直接起诉", "结果维持")
    ws = openpyxl.load_workbook(out)[layout.DETAIL_SHEET]
    assert ws.column_dimensions["A"].hidden and ws.freeze_panes == "D4"
    assert (ws.print_title_rows, ws.print_title_cols) == ("$1:$3", "$A:$C")


def test_detail_of_many_units_keeps_a_row_per_unit(tmp_path):
    """明细 of more units than fit across: table bands, row-group bands, a hidden row of [keys] and short Chinese
    headers (the cell's own label); header rows and the unit column frozen, headers wrapped, a filter on them."""
    from tests.test_streamed_rollup import many_units

    roll = many_units(detail.ACROSS_UNITS + 1)
    out = roll.write(tmp_path / "many.xlsx")
    form = form_for_year(2025)
    rows = sheet_rows(out, layout.DETAIL_SHEET)
    band, group, keys, header = rows[:4]
    assert header[:4] == ["单位", "代码", "来源文件", "状态"]
    assert keys[4:] == [f"[{c.key}]" for c in form.inputs]
    by_key = dict(zip((k.strip("[]") for k in keys[4:]), header[4:], strict=True))
    assert by_key["apply.new.natural_person"] == "自然人"  # short: the bands above say the table and the row
    assert by_key["apply.new.business"] == "商业企业"
    assert by_key["active.rules.regulation.issued"] == "本年制发件数"
    assert by_key["appeal.direct.upheld"] == "未经复议直接起诉 · 结果维持"
    assert by_key["appeal.review.upheld"] == "行政复议 · 结果维持"
    assert not any("[" in h for h in header)
    titles = [t for t in band if t]  # a band is named again on each printed page it continues on
    assert titles[0] == "报送单位" and list(dict.fromkeys(titles[1:])) == [t.title for t in form.tables]
    assert "三 · 三、本年度办理结果 · （一）予以公开" in group
    assert [r[0] for r in rows[4:]] == [m.info.unit_name for m in roll.members]
    wb = openpyxl.load_workbook(out)
    breaks = [b.id for b in wb[layout.DETAIL_SHEET].col_breaks.brk]
    assert breaks  # a break's id is the first (0-based) column of the next printed page
    assert all(band[col] and group[col] for col in breaks), "each printed page names its bands"
    ws = wb[layout.DETAIL_SHEET]
    assert ws.row_dimensions[3].hidden and not ws.row_dimensions[4].hidden
    assert ws.freeze_panes == "B5"
    assert ws.auto_filter.ref.startswith("A4:")
    assert ws["E4"].alignment.wrap_text and ws["E4"].font.b
    assert (ws.print_title_rows, ws.print_title_cols) == ("$1:$4", "$A:$A")
    back = _detail_rows(sheet_rows(out, layout.DETAIL_SHEET))
    assert [u.name for u, _ in back] == [m.info.unit_name for m in roll.members]


def test_detail_rows_are_read_back_in_both_layouts(county):
    """Last year's figures come back from 明细 of a few units (a column per unit) and from an earlier roll-up's 明细
    (the key at the end of each header), unit by unit (a row per unit: test_detail_of_many_units_keeps_a_row_per_unit)."""
    roll, out = county
    new = _detail_rows(sheet_rows(out, layout.DETAIL_SHEET))
    assert [u.code for u, _ in new] == [m.info.unit_code for m in roll.members]
    first = roll.members[0].info
    assert new[0][1] == {k: v for k, v in first.values.items() if isinstance(v, Decimal)}
    form = form_for_year(2025)
    old = [
        ["单位", "代码", "来源文件", "状态", *(f"{c.label}\n[{c.key}]" for c in form.inputs)],
        ["甲镇", 12345.0, "a.xlsx", "已汇总", *[float(i) for i in range(len(form.inputs))]],
    ]
    ((unit, values),) = _detail_rows(old)
    assert (unit.name, unit.code) == ("甲镇", "12345")
    assert values[form.inputs[3].key] == Decimal("3.0")
    previous = load_previous(out)
    assert previous["code:" + first.unit_code].source.endswith("（明细）")


# --- 概览 ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2025, 2020])
def test_overview_has_the_first_figures_of_each_unit(tmp_path, year):
    """概览: one row per unit with the figures a reviewer looks at first (keys the form has; the 2019 form has no
    收费金额 and other 规范性文件 columns), status and check counts, then the roll-up's totals."""
    files = [unit_file(tmp_path, i, year=year) for i in range(3)]
    roll = merge(files, Unit(name="概览县"), workers=0)
    out = roll.write(tmp_path / "c.xlsx")
    rows = sheet_rows(out, layout.OVERVIEW_SHEET)
    header = [h.replace("\n", "") for h in rows[1] if h]  # titles broken at their parts: 办理结果/（七）/总计
    common = ["单位", "状态", "本年新收申请", "上年结转申请", "办理结果（七）总计", "结转下年度", "行政复议总计"]
    assert header[:7] == common and header[-3:] == ["错误", "警告", "已说明"]
    if year >= 2021:
        assert header[7:-3] == ["行政诉讼总计", "规范性文件本年制发", "规范性文件现行有效", "收费金额（万元）"]
    else:
        assert header[7:-3] == ["行政诉讼总计", "规范性文件本年新制作", "规范性文件对外公开总数"]
    for row, member in zip(rows[2:5], roll.members, strict=True):
        ret = read(Path(member.info.path))
        assert row[0] == ret.unit.name and row[1] == "已汇总"
        assert row[2] == ret.value("apply.new.total") and row[4] == ret.value("apply.result_total.total")
        assert row[7] == ret.value("appeal.direct.total") + ret.value("appeal.after_review.total")
        assert row[len(header) - 3 : len(header)] == [0, member.info.warnings, member.info.explained]
    total = rows[5]
    assert total[0] == "合计（本汇总表）" and total[2] == roll.total.value("apply.new.total")


def chart_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [z.read(n).decode() for n in sorted(z.namelist()) if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]


def test_overview_charts_are_native_bar_charts(county):
    """Two native charts on 概览 (new applications by unit; the roll-up's 办理结果), drawn from cells of the sheet,
    every text at 10.5 pt or more."""
    roll, out = county
    charts = chart_xml(out)
    assert len(charts) == 2
    assert all('<c:barChart><c:barDir val="bar"/>' in xml for xml in charts)
    by_unit, results = charts
    assert "各单位本年新收政府信息公开申请数量（件）" in by_unit and "本年度办理结果构成" in results
    assert f"<c:f>'{layout.OVERVIEW_SHEET}'!$" in by_unit
    sizes = [int(s) for xml in charts for s in re.findall(r'sz="(\d+)"', xml)]
    assert sizes and min(sizes) >= 1050
    wb = openpyxl.load_workbook(out)
    assert len(wb[layout.OVERVIEW_SHEET]._charts) == 2
    rows = sheet_rows(out, layout.OVERVIEW_SHEET)
    col = next(c for r in rows for c, v in enumerate(r) if v == "办理结果")  # the charts' numbers, right of the table
    labels = [r[col] for r in rows]
    groups = labels[labels.index("办理结果") + 1 :][:6]
    assert groups == [
        "（一）予以公开",
        "（二）部分公开",
        "（三）不予公开",
        "（四）无法提供",
        "（五）不予处理",
        "（六）其他处理",
    ]
    total = sum(r[col + 1] for r in rows[labels.index("办理结果") + 1 :][:6])
    assert total == roll.total.value("apply.result_total.total")


def test_many_units_chart_the_thirty_with_most_applications(tmp_path):
    """With more units than fit a printed chart, the by-unit chart shows the 30 with most new applications (ties in
    roll-up order), named so in its title."""
    form = form_for_year(2025)
    rows = []
    for i in range(40):
        values = {c.key: 0 for c in form.inputs}
        values["apply.new.natural_person"] = (i * 7) % 40
        rows.append(review.OverviewRow(f"单位{i:02d}", "", "已汇总", tuple(values.values()), 0, 0, 0))
    ret = Return(form, 2025, Unit(name="大县"))
    out = write_xlsx(ret, tmp_path / "c.xlsx", extra=[review.OverviewSheet(rows)], meta={"kind": layout.ROLLUP_KIND})
    sheet = sheet_rows(out, layout.OVERVIEW_SHEET)
    labels = [r[0] for r in sheet]
    start = labels.index("单位", 2) + 1
    picked = sheet[start : start + 31]
    assert len([r for r in picked if str(r[0]).startswith("单位")]) == 30
    values = [r[1] for r in picked[:30]]
    assert values == sorted(values, reverse=True) and values[0] == 39
    assert "本年新收申请最多的 30 个单位（件）" in chart_xml(out)[0]


# --- 未汇总, 名册核对, 来源 -------------------------------------------------------------------------------------------


def test_rejected_sheet_gives_chinese_reasons_and_the_hash_last(county):
    """未汇总: file, unit, the reason in Chinese (the code's meaning, then the particulars), the code in a narrow
    column, the SHA-256 last; text wrapped."""
    _roll, out = county
    rows = sheet_rows(out, layout.REJECTED_SHEET)
    assert rows[0] == ["文件", "单位", "原因", "原因代码", "SHA-256"]
    for row in rows[1:]:
        code = Code(row[3])
        assert row[2].startswith(code.info.zh + "：")
        assert HEX64.fullmatch(row[4]) or code is Code.IGNORED
    nanshan = next(r for r in rows if r[0] == "04-南山镇.xlsx")
    assert "“三、依申请公开”表 D6 格" in nanshan[2] and "「自然人」列" in nanshan[2]
    ws = openpyxl.load_workbook(out)[layout.REJECTED_SHEET]
    widths = {c: ws.column_dimensions[c].width for c in "CD"}
    assert widths["D"] < widths["C"] / 2
    assert ws["C2"].alignment.wrap_text


def test_roster_sheet_gives_each_unit_its_status_and_reason(county):
    """名册核对: status per roster unit, the file merged or refused, the Chinese reason of a refusal and its code."""
    _, out = county
    rows = sheet_rows(out, layout.ROSTER_SHEET)
    assert rows[0] == ["单位", "代码", "类型", "状态", "文件", "原因", "原因代码"]
    by_unit = {r[0]: r for r in rows[1:]}
    assert by_unit["示例县城关镇人民政府"][3:5] == ["已汇总", "01-城关镇.xlsx"]
    nanshan = by_unit["示例县南山镇人民政府"]
    assert nanshan[3:5] == ["未汇总", "04-南山镇.xlsx"] and nanshan[6] == Code.HAS_ERRORS
    assert nanshan[5].startswith("有错误：有 2 个错误，例如“三、依申请公开”表")
    assert by_unit["示例县红星街道办事处"][3:] == ["缺报", "", "", ""]


def test_source_sheet_lists_every_file_with_the_hash_last(county):
    """来源: every file with level, unit, form, year, 填报日期, status and reason, the SHA-256 last."""
    _roll, out = county
    rows = sheet_rows(out, layout.SOURCE_SHEET)
    assert rows[0] == SOURCE_HEADER and SOURCE_HEADER[-1] == "SHA-256"
    status = {r[2]: r[8] for r in rows[1:]}
    assert status["01-城关镇.xlsx"] == "已汇总" and status["04-南山镇.xlsx"] == "未汇总"
    assert status["units.csv"] == "已忽略"
    assert all(HEX64.fullmatch(r[10]) for r in rows[1:] if r[8] != "已忽略")
    assert next(r for r in rows if r[2] == "01-城关镇.xlsx")[7] == "2026-01-11"


def test_an_empty_notes_sheet_says_there_is_nothing(county):
    """说明汇总 of a roll-up without explanations or notices says so under its header instead of printing blank."""
    _, out = county
    rows = sheet_rows(out, layout.NOTES_SHEET)
    assert rows[0] == ["单位", "代码", "规则编号", "检查内容", "说明"]
    assert rows[1][0].startswith("无：各单位没有为警告填写说明") and len(rows) == 2


def test_provenance_of_an_earlier_rollup_is_read_by_its_header(tmp_path):
    """A roll-up written before the SHA-256 moved last (SHA-256 fourth, no 填报日期) still tells which files it
    summed: merged together with one of them, that file is DOUBLE-COUNTED."""
    files = [unit_file(tmp_path, i) for i in range(3)]
    roll = merge(files[:2], Unit(name="旧县", code="130000000000000009"), workers=0)
    old_header = ["层级", "所属汇总", "文件", "SHA-256", "单位", "代码", "格式", "年度", "状态", "原因"]
    old_rows = [
        [1, "", m.info.name, m.info.sha256, m.info.unit_name, m.info.unit_code, m.info.form_id, 2025, "已汇总", ""]
        for m in roll.members
    ]
    extra = [ExtraSheet(layout.SOURCE_SHEET, old_header, old_rows)]
    meta = {"kind": layout.ROLLUP_KIND, "members": "2", "rejected": "0"}
    old = write_xlsx(roll.total, tmp_path / "旧县.xlsx", extra=extra, meta=meta)
    again = merge([old, files[1], files[2]], workers=0)
    assert {r.info.name: r.code for r in again.rejected} == {files[1].name: Code.DOUBLE_COUNTED}


# --- the line in every output, and the terminal -------------------------------------------------------------------


def test_html_markdown_and_word_state_the_line(county, tmp_path):
    """`xltool render` of a roll-up with a roster or refusals states the counts line in HTML, Markdown and Word."""
    from docx import Document

    from xltool.formats.docx import render_docx
    from xltool.formats.html import render_html
    from xltool.formats.md import render_markdown

    _, out = county
    back = read(out)
    assert rollup_summary(back) == LINE
    assert f'<span class="rollup">{LINE}</span>' in render_html(back)
    assert f"\n{LINE}\n" in render_markdown(back)
    paragraphs = [p.text for p in Document(str(render_docx(back, tmp_path / "r.docx"))).paragraphs]
    assert LINE in paragraphs[:4]
    result = CliRunner().invoke(app, ["render", str(out), "--format", "md", "-o", str(tmp_path / "r.md")])
    assert result.exit_code == 0, result.output
    assert LINE in (tmp_path / "r.md").read_text(encoding="utf-8")


def test_the_line_is_left_out_when_nothing_is_missing(tmp_path):
    """A complete roll-up without a roster, a plain return, and a roll-up whose counts are not plain numbers (an
    untrusted file) render without the line."""
    from xltool.formats.html import render_html

    files = [unit_file(tmp_path, i) for i in range(2)]
    complete = read(merge(files, workers=0).write(tmp_path / "c.xlsx"))
    assert rollup_summary(complete) is None and "rollup" not in render_html(complete)
    assert rollup_summary(read(files[0])) is None
    forged = Return(complete.form, 2025, meta={"kind": layout.ROLLUP_KIND, "members": "9" * 20, "not_merged": "1"})
    assert rollup_summary(forged) is None
    forged.meta["members"] = "2"
    assert rollup_summary(forged) == "汇总 2 个单位（未汇总 1）"


def test_merge_message_states_the_line_and_errors_in_chinese(tmp_path):
    """`xltool merge` ends with the roll-up's counts line; a unit with errors is named by sheet, cell and rule title,
    never by a bare rule id like T3-BAL-…@三、依申请公开!D6."""
    folder = tmp_path / "in"
    shutil.copytree(COUNTY, folder)
    (folder / "units.csv").unlink()
    out = tmp_path / "县.xlsx"
    result = CliRunner().invoke(
        app, ["merge", str(folder), "-o", str(out), "--roster", str(COUNTY / "units.csv"), "--workers", "0"]
    )
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[-1] == f"已写出 {out}：{LINE}"
    nanshan = next(line for line in lines if line.startswith("未汇总：04-南山镇.xlsx："))
    assert "“三、依申请公开”表 D6 格：不平衡（差额 -1）：三、依申请公开「自然人」列" in nanshan
    assert not re.search(r"T\d-[A-Z]|@|!D\d", result.stderr)
    result = CliRunner().invoke(app, ["merge", str(folder / "01-城关镇.xlsx"), "-o", str(tmp_path / "b.xlsx")])
    assert result.exit_code == 0 and result.stderr.splitlines()[-1] == f"已写出 {tmp_path / 'b.xlsx'}：汇总 1 个单位"
    result = CliRunner().invoke(app, ["merge", str(folder), "-o", str(tmp_path / "s.xlsx"), "--strict"])
    assert result.exit_code == 1 and "“三、依申请公开”表 D6 格" in result.stderr and "@" not in result.stderr


# --- print --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("widths", "shrunk"),
    [([20, 30, 40], False), ([50, 50, 12], True), ([60, 60, 60], False)],
)
def test_print_scale_never_shrinks_text_below_nine_points(widths, shrunk):
    """A sheet that fits prints at 100 %; one a little too wide is shrunk to fit, never below MIN_SCALE (10.5 pt
    text stays at 9.24 pt); a wide one prints at 100 % over several pages."""
    scale = review.print_scale(widths)
    assert review.MIN_SCALE <= scale < 100 if shrunk else scale == 100
    assert review.BODY_PT * review.MIN_SCALE / 100 >= review.MIN_PRINT_PT


def test_review_sheets_print_on_a4_with_repeated_headers(county):
    """Every review sheet: A4, a print scale of at least MIN_SCALE (or, for a sheet judged to fit one page, fit to
    it), header rows repeated (and the unit column where rows are units), the sheet's name in the footer; all
    protected. 概览 of a few units and 汇总说明 are one page each; 明细 of a few units is portrait or landscape."""
    _, out = county
    wb = openpyxl.load_workbook(out)
    titles = {
        layout.OVERVIEW_SHEET: (None, None),
        layout.DETAIL_SHEET: ("$1:$3", "$A:$C"),
        layout.SOURCE_SHEET: ("$1:$1", "$A:$C"),
        layout.REJECTED_SHEET: ("$1:$1", "$A:$A"),
        layout.NOTES_SHEET: ("$1:$1", "$A:$A"),
        layout.ROSTER_SHEET: ("$1:$1", "$A:$A"),
    }
    one_page = {layout.OVERVIEW_SHEET}
    for name in (layout.SUMMARY_SHEET, *titles):
        ws = wb[name]
        assert ws.page_setup.paperSize in (9, "9"), name
        assert ws.page_setup.orientation == "landscape" or name == layout.DETAIL_SHEET, name
        fit = bool(ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage)
        assert fit == (name in one_page) or name == layout.SUMMARY_SHEET, name
        if fit:
            assert ws.page_setup.fitToHeight in (None, 1, "1"), name  # 1 is the default
        assert int(ws.page_setup.scale or 100) >= review.MIN_SCALE, name
        assert (ws.print_title_rows, ws.print_title_cols) == titles.get(name, (None, None)), name
        assert name in ws.oddFooter.left.text and ws.protection.sheet, name
        fonts = {c.font.sz for row in ws.iter_rows() for c in row if c.value not in (None, "")}
        assert min(fonts) >= review.BODY_PT, name


# --- validity -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [2025, 2020])
def test_rollup_with_every_review_sheet_passes_the_ooxml_validator(tmp_path, year):
    """A roll-up with refusals, a roster (名册核对), charts and a unit with errors merged anyway passes the OOXML
    schema validator (openxml-audit), in both forms."""
    audit = pytest.importorskip("openxml_audit")
    files = [unit_file(tmp_path, i, year=year) for i in range(3)] + [unit_file(tmp_path, 9, year=year, broken=1)]
    (tmp_path / "junk.xlsx").write_text("x")
    entries = roster()[:2]
    roll = merge([*files, tmp_path / "junk.xlsx"], Unit(name="校验县"), roster=entries, include_invalid=True, workers=0)
    out = roll.write(tmp_path / "c.xlsx")
    assert layout.ROSTER_SHEET in openpyxl.load_workbook(out).sheetnames and len(chart_xml(out)) == 2
    result = audit.OpenXmlValidator().validate(str(out))
    assert result.is_valid, [str(e) for e in list(result.errors)[:10]]


def test_a_rollup_of_more_than_a_thousand_units_reads_back_without_stray_cells(tmp_path):
    """概览 has a row per unit: a roll-up of 1,050 units read back (as a city would) reports no cell outside the
    window."""
    import copy

    from xltool.outcomes import MemberStatus
    from xltool.rollup import Member

    roll = merge([COUNTY / "01-城关镇.xlsx"], Unit(name="大市"), workers=0)
    base = roll.members[0].info
    members = []
    for i in range(1050):
        info = copy.copy(base)
        info.unit, info.path = dict(base.unit, name=f"单位{i}", code=f"9{i:017d}"), f"u{i}.xlsx"
        members.append(Member(info, MemberStatus.MERGED))
    roll.members = members
    back = read(roll.write(tmp_path / "大市.xlsx"))
    assert not [p for p in back.read_problems if p.code == Code.STRAY_CELLS]


def test_rollup_gaps_names_missing_and_refused_units():
    """One line says why a roll-up is incomplete, naming the units; a complete roll-up has none."""
    from xltool import layout

    meta = {
        "missing": "1",
        "not_merged": "2",
        layout.MISSING_UNITS: '["红星街道"]',
        layout.NOT_MERGED_UNITS: '["甲", "乙"]',
    }
    assert layout.rollup_gaps(meta) == "汇总不完整：缺报 1 个单位（红星街道）、未汇总 2 个单位（甲、乙）"
    assert layout.rollup_gaps({"missing": "0", "not_merged": "0"}) is None
    assert layout.rollup_gaps({"missing": "x"}) is None


def test_rollup_contact_fields_are_the_countys_to_fill(county):
    """A roll-up's 填报人, 联系电话 and 填报日期 are unlocked for the county to enter; the unit, code and scope set when
    merging stay locked, and the tables carry no 本年度无此类事项 box."""
    _, out = county
    wb = openpyxl.load_workbook(out)
    guide = wb[layout.GUIDE_SHEET]
    locked = {name: guide.cell(row + 1, 2).protection.locked for name, _, row in layout.UNIT_FIELDS}
    assert locked == {"name": True, "code": True, "scope": True, "filled_by": False, "phone": False, "date": False}
    form = form_for_year(2025)
    for table in form.tables:
        row, _ = layout.no_items_cell(table)
        ws = wb[table.sheet]
        assert layout.NO_ITEMS_TEXT not in "".join(str(c.value or "") for c in ws[row + 1]), table.sheet
