"""Published reports as PDF (ruled tables and row-per-line text) and as row-per-line plain text."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.row_fixtures import row_text, write_row_text
from tests.seed_data import SEEDS
from xltool import formats, office
from xltool.reading import is_report, read, read_page
from xltool.sources import ReadError

SEED_DIR = Path(__file__).parent / "fixtures" / "seeds"
PDF_DIR = Path(__file__).parent / "fixtures" / "pdf"
CORPUS = Path(__file__).parent / "corpus" / "files"
EXAMPLES = Path(__file__).parent.parent / "examples"
IDS = sorted(SEEDS)
SEED0 = "000_f7ae2b9bd63a851c"


def seed_values(seed_id: str) -> dict[str, Decimal]:
    seed = SEEDS[seed_id]
    out = {k: Decimal(str(v)) for k, v in seed["values"].items()}
    out.update({k: Decimal(0) for k in seed["odd"]})  # the seeds' odd cells are all printed zeros (“ .0”)
    return out


def not_info(ret) -> list[str]:
    return [p.code for p in ret.read_problems if p.severity != "info"]


def minimal_pdf(content: bytes = b"0 0 0 rg 72 72 200 100 re f") -> bytes:
    """A one-page PDF whose page only paints a rectangle: what a scan looks like to a text extractor (no text)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- row-per-line text ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed_id", IDS)
def test_row_per_line_text_imports_every_number(seed_id, tmp_path):
    """`label n n n n n n n` rows (headers one band per line, split rows of 北京 included) read every printed number,
    the version, the year and the unit, with no error or warning; the prose sentence never becomes the unit."""
    ret = read(write_row_text(seed_id, SEEDS[seed_id], tmp_path / "report.txt"))
    seed = SEEDS[seed_id]
    assert (ret.form.version, ret.year, ret.unit.name) == (seed["form_version"], seed["year"], seed["unit"])
    assert ret.values == seed_values(seed_id)
    assert not_info(ret) == []


def test_row_per_line_with_a_number_missing_is_not_guessed(tmp_path):
    """A row that lost one of its seven numbers is reported by its label and left unknown, not shifted."""
    path = write_row_text(SEED0, SEEDS[SEED0], tmp_path / "report.txt")
    text = path.read_text(encoding="utf-8").replace(
        "一、本年新收政府信息公开申请数量 0 0 0 0 0 0 0", "一、本年新收政府信息公开申请数量 0 0 0 0 0 0"
    )
    path.write_text(text, encoding="utf-8")
    ret = read(path)
    (p,) = [p for p in ret.read_problems if p.code == "IMPORT-INCOMPLETE"]
    assert "一、本年新收政府信息公开申请数量" in p.message and "有 6 个数" in p.message
    assert type(ret.values["apply.new.natural_person"]).__name__ == "Invalid"


def test_row_per_line_labels_broken_by_spaces(tmp_path):
    """`1. 属于国家秘密` and `（三） 不予公开` (a space inside the label) are still the known labels."""
    path = write_row_text(SEED0, SEEDS[SEED0], tmp_path / "report.txt")
    text = (
        path.read_text(encoding="utf-8")
        .replace("1.属于国家秘密", "1. 属于国家秘密")
        .replace("（三）不予公开", "（三） 不予公开")
    )
    path.write_text(text, encoding="utf-8")
    ret = read(path)
    assert ret.values == seed_values(SEED0) and not_info(ret) == []


# --- PDF -----------------------------------------------------------------------------------------------------------


def test_committed_ruled_pdf_imports_every_number():
    """A PDF of xltool's Word render (ruled tables, converted by LibreOffice) reads every number, year and unit."""
    ret = read(PDF_DIR / "ruled-000.pdf")
    seed = SEEDS[SEED0]
    assert (ret.form.version, ret.year, ret.unit.name) == (seed["form_version"], seed["year"], seed["unit"])
    assert ret.values == seed_values(SEED0)
    assert ret.meta["source_format"] == "pdf" and not_info(ret) == []


def test_committed_text_pdf_reads_one_row_per_line():
    """A PDF without ruling lines (a .txt printed by LibreOffice) is read one table row per text line."""
    page = read_page(PDF_DIR / "rows-000.pdf")
    assert page.format == "pdf" and page.tails is not None  # the row path, not the ruled tables
    ret = read(PDF_DIR / "rows-000.pdf")
    assert (ret.year, ret.unit.name) == (2020, "方正县大罗密镇")
    assert ret.values == seed_values(SEED0) and not_info(ret) == []


def test_scanned_pdf_is_refused_without_a_guess(tmp_path):
    """A PDF whose pages carry no text and show none (a scan of nothing readable) is refused as 扫描件 with
    NOT-A-REPORT, under any name, with or without the OCR extra."""
    for name in ("scan.pdf", "scan.bin"):
        path = tmp_path / name
        path.write_bytes(minimal_pdf())
        with pytest.raises(ReadError) as exc:
            read(path)
        assert exc.value.code == "NOT-A-REPORT" and "扫描件" in str(exc.value) and "无法读取" in str(exc.value)


def test_damaged_pdf_is_refused(tmp_path):
    """A truncated PDF is a ReadError (CORRUPT or NOT-A-REPORT), never a crash."""
    path = tmp_path / "cut.pdf"
    path.write_bytes((PDF_DIR / "ruled-000.pdf").read_bytes()[:3000])
    with pytest.raises(ReadError) as exc:
        read(path)
    assert exc.value.code in ("CORRUPT", "NOT-A-REPORT")


def test_pdf_routes_to_the_report_reader_and_sheets_never_do(tmp_path):
    """A .pdf, or PDF bytes under another name, is a report; a spreadsheet return is never one."""
    renamed = tmp_path / "report.dat"
    shutil.copy(PDF_DIR / "ruled-000.pdf", renamed)
    assert is_report(PDF_DIR / "ruled-000.pdf") and is_report(renamed)
    assert read(renamed).values == seed_values(SEED0)
    assert not any(is_report(p) for p in (CORPUS / "salary-table.xlsx", EXAMPLES / "sample-return-2025.xlsx"))


def _pdf_of_render(src: Path, tmp_path: Path):
    ret = read(src)
    docx = formats.render(ret, "docx", tmp_path / f"{src.stem}.docx")
    pdf = tmp_path / f"{src.stem}.pdf"
    shutil.copy(office.convert(Path(docx), "pdf"), pdf)
    return ret, read(pdf)


@pytest.mark.libreoffice
@pytest.mark.parametrize(
    "src",
    [SEED_DIR / f"{s}.txt" for s in IDS] + [EXAMPLES / "sample-return-2025.xlsx", EXAMPLES / "sample-return-2020.xlsx"],
    ids=lambda p: p.stem,
)
def test_pdf_of_the_word_render_reads_back(src, tmp_path):
    """Each seed report and example return, rendered to Word by xltool and printed to PDF by LibreOffice, imports
    back with the same version, year, unit and every value (tables split across pages joined back)."""
    ret, back = _pdf_of_render(src, tmp_path)
    assert (back.form.id, back.year, back.unit.name) == (ret.form.id, ret.year, ret.unit.name)
    assert {k: v for k, v in back.values.items() if k in ret.values} == ret.values  # a workbook has no totals
    assert not_info(back) == []  # the printed totals agree with the values


@pytest.mark.libreoffice
@pytest.mark.parametrize("seed_id", IDS)
def test_pdf_of_row_per_line_text_reads_back(seed_id, tmp_path):
    """Row-per-line text printed to PDF by LibreOffice (no ruling lines) imports every number of the seed."""
    txt = write_row_text(seed_id, SEEDS[seed_id], tmp_path / f"{seed_id}.txt")
    pdf = tmp_path / "report.pdf"
    shutil.copy(office.convert(txt, "pdf"), pdf)
    ret = read(pdf)
    seed = SEEDS[seed_id]
    assert (ret.form.version, ret.year, ret.unit.name) == (seed["form_version"], seed["year"], seed["unit"])
    assert ret.values == seed_values(seed_id)


def test_row_per_line_wrapped_lines_are_joined(tmp_path):
    """A row whose last number wrapped to the next line, and a label cut at the line end, are joined back."""
    path = write_row_text(SEED0, SEEDS[SEED0], tmp_path / "report.txt")
    text = path.read_text(encoding="utf-8")
    text = text.replace("2.重复申请 0 0 0 0 0 0 0", "2.重复申请 0 0 0 0 0 0\n0")
    text = text.replace("二、上年结转政府信息公开申请数量 0", "二、上年结转政府信息\n公开申请数量 0")
    path.write_text(text, encoding="utf-8")
    ret = read(path)
    assert ret.values == seed_values(SEED0) and not_info(ret) == []


# --- Markdown: xltool's own render, missing or generic headers ----------------------------------------------------


def _render_md(src: Path, tmp_path: Path):
    ret = read(src)
    path = tmp_path / f"{src.stem}.md"
    path.write_text(formats.render(ret, "md"), encoding="utf-8")
    return ret, path


@pytest.mark.parametrize(
    "src", [SEED_DIR / f"{s}.txt" for s in IDS] + [EXAMPLES / "sample-return-2025.xlsx"], ids=lambda p: p.stem
)
def test_markdown_render_reads_back(src, tmp_path):
    """xltool's own Markdown render (headers and row labels flattened into “a / b / c”, captions in bold above the
    Table 二 blocks) imports back: same form, year, unit and values, no error or warning."""
    ret, path = _render_md(src, tmp_path)
    back = read(path)
    assert (back.form.id, back.year, back.unit.name) == (ret.form.id, ret.year, ret.unit.name)
    assert {k: v for k, v in back.values.items() if k in ret.values} == ret.values
    assert not_info(back) == []


def test_markdown_without_header_rows_reads_by_column_order(tmp_path):
    """Table 三 with its header line and rule deleted and Table 四 under a generic 数据1…数据15 header are read by
    the official column count and order, and the import says so (LOCATED-BY-LABELS naming the lines)."""
    ret, path = _render_md(EXAMPLES / "sample-return-2025.xlsx", tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    three = next(i for i, line in enumerate(lines) if line.startswith("| （本列数据的勾稽关系"))
    del lines[three : three + 2]
    four = next(i for i, line in enumerate(lines) if line.startswith("| 行政复议 / 结果维持"))
    lines[four] = "| " + " | ".join(f"数据{i}" for i in range(1, 16)) + " |"
    path.write_text("\n".join(lines), encoding="utf-8")
    back = read(path)
    assert {k: v for k, v in back.values.items() if k in ret.values} == ret.values
    assert not_info(back) == []
    (note,) = [p for p in back.read_problems if "没有表头" in p.message]
    assert note.severity == "info"


def test_row_per_line_without_headers_reads_by_column_order(tmp_path):
    """Row-per-line text without the header lines of Tables 三 and 四 reads every number by the official order."""
    lines = write_row_text(SEED0, SEEDS[SEED0], tmp_path / "r.txt").read_text(encoding="utf-8").splitlines()
    three = lines.index("三、收到和处理政府信息公开申请情况")
    del lines[three + 1 : three + 4]
    four = lines.index("四、政府信息公开行政复议、行政诉讼情况")
    del lines[four + 1 : four + 4]
    (tmp_path / "r.txt").write_text("\n".join(lines), encoding="utf-8")
    back = read(tmp_path / "r.txt")
    assert back.values == seed_values(SEED0) and not_info(back) == []
    (note,) = [p for p in back.read_problems if "没有表头" in p.message]
    assert note.message.startswith(f"第 {three + 2} 行前、第 {four + 2} 行前：")  # the tables' first rows


@pytest.mark.parametrize(
    ("official", "printed"),
    [
        ("1.属于国家秘密", "1、属于国家秘密"),
        ("1.属于国家秘密", "(1)属于国家秘密"),
        ("1.属于国家秘密", "⑴属于国家秘密"),
        ("（一）予以公开", "一、予以公开"),
        ("一、本年新收政府信息公开申请数量", "1.本年新收政府信息公开申请数量"),
    ],
)
def test_row_labels_with_other_numbering(official, printed, tmp_path):
    """A row label numbered another way (1、 (1) ⑴ 一、) is its official row; every number stays in place."""
    path = write_row_text(SEED0, SEEDS[SEED0], tmp_path / "r.txt")
    path.write_text(path.read_text(encoding="utf-8").replace(official, printed), encoding="utf-8")
    back = read(path)
    assert back.values == seed_values(SEED0) and not_info(back) == []


# --- metadata: unit and year from the title, never from a sentence ---------------------------------------------------

SENTENCE = "本年度报告根据《中华人民共和国政府信息公开条例》和方正县2020年政府信息公开工作年度报告格式要求编制。"


def test_a_sentence_is_never_the_unit_the_file_name_is(tmp_path):
    """Without a title line, a first sentence naming the report does not give the unit; the file name does."""
    text = row_text(SEED0, SEEDS[SEED0], title=SENTENCE)
    path = tmp_path / "方正县大罗密镇2020年政府信息公开工作年度报告.txt"
    path.write_text(text, encoding="utf-8")
    ret = read(path)
    assert (ret.year, ret.unit.name) == (2020, "方正县大罗密镇")
    unnamed = tmp_path / "report.txt"
    unnamed.write_text(text, encoding="utf-8")
    ret = read(unnamed)
    assert ret.unit.name == "" and "UNIT-MISSING" in [p.code for p in ret.read_problems]


def test_title_label_line_gives_unit_and_year(tmp_path):
    """A `标题：…` line names the unit and the year; the format version comes from the labels (2019 tables)."""
    text = row_text(SEED0, SEEDS[SEED0], title="标题：方正县大罗密镇2020年度政府信息公开工作年度报告")
    path = tmp_path / "r.txt"
    path.write_text(SENTENCE + "\n" + text, encoding="utf-8")
    ret = read(path)
    assert (ret.year, ret.unit.name, ret.form.version) == (2020, "方正县大罗密镇", "2019")


# --- printed versus computed -----------------------------------------------------------------------------------------

SEED1 = "001_5f44b5de1c5f047b"


def _wrong_total(tmp_path: Path) -> Path:
    """Seed 001 as row-per-line text with 行政复议 总计 printed 2 where its parts add up to 1."""
    path = write_row_text(SEED1, SEEDS[SEED1], tmp_path / "report.txt")
    text = path.read_text(encoding="utf-8")
    assert "\n0 1 0 0 1 0 0 0 0 0 0 0 0 0 0\n" in text
    path.write_text(text.replace("\n0 1 0 0 1 0 0", "\n0 1 0 0 2 0 0", 1), encoding="utf-8")
    return path


def test_wrong_printed_total_survives_the_written_workbook(tmp_path):
    """A wrong printed 总计 fails its rule on import; `import -o` keeps every printed number on 原文数值, so checking
    the written workbook fails the same rule with the same difference, without a SHEET-ADDED complaint."""
    from xltool.importing import PRINTED_SHEET, save_workbook

    ret = read(_wrong_total(tmp_path))
    assert ret.values["appeal.review.total"] == 2
    failed = {r.rule.id: r.difference for r in ret.rule_results() if r.outcome == "fail"}
    assert failed == {"T4-SUM-REVIEW": Decimal(1)}
    out = tmp_path / "out"
    book = save_workbook(ret, out, tmp_path / "report.txt", set())
    back = read(book)
    assert PRINTED_SHEET in read_page(book).sheet_names
    assert back.values["appeal.review.total"] == 2
    assert {r.rule.id: r.difference for r in back.rule_results() if r.outcome == "fail"} == failed
    assert "SHEET-ADDED" not in [p.code for p in back.read_problems]


def test_printed_blank_is_blank_not_zero(tmp_path):
    """A cell printed blank is reported (IMPORT-INCOMPLETE naming its row) and its rules are 无法判断, never 0."""
    _, path = _render_md(EXAMPLES / "sample-return-2025.xlsx", tmp_path)
    text = path.read_text(encoding="utf-8")
    row = "| 一、本年新收政府信息公开申请数量 | 3 | 3 |"
    assert row in text
    path.write_text(text.replace(row, "| 一、本年新收政府信息公开申请数量 |  | 3 |"), encoding="utf-8")
    back = read(path)
    assert type(back.values["apply.new.natural_person"]).__name__ == "Invalid"
    (p,) = [p for p in back.read_problems if p.code == "IMPORT-INCOMPLETE"]
    assert "1 格印为空白" in p.message and "一、本年新收政府信息公开申请数量" in p.message
    outcomes = {r.rule.id: r.outcome for r in back.rule_results()}
    assert outcomes["T3-ROWSUM-NEW"] == "undetermined"


def test_amount_in_yuan_becomes_wan_yuan_with_a_note(tmp_path):
    """`46037元` in the 万元 fee column is read as 4.6037 with a VALUE-NORMALISED note quoting it; `19件` as 19."""
    _, path = _render_md(EXAMPLES / "sample-return-2025.xlsx", tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "| 行政事业性收费 | 4.6037 |" in text and "| 行政许可 | 19 |" in text
    text = text.replace("| 行政事业性收费 | 4.6037 |", "| 行政事业性收费 | 46037元 |")
    path.write_text(text.replace("| 行政许可 | 19 |", "| 行政许可 | 19件 |"), encoding="utf-8")
    back = read(path)
    assert back.values["active.fees.admin_fee.amount"] == Decimal("4.6037")
    assert back.values["active.licensing.permit.decisions"] == 19
    notes = [p.message for p in back.read_problems if p.code == "VALUE-NORMALISED"]
    assert any("“46037元”按 4.6037 万元读取" in n for n in notes) and any("“19件”" in n for n in notes)


# --- prose figures and every cell in the JSON -----------------------------------------------------------------------


def test_prose_figures_differing_from_the_tables_are_warnings(tmp_path):
    """“收到政府信息公开申请5件” and “行政诉讼3件” against tables that print 0 are warnings quoting both; the
    “行政复议1件” that agrees with its table is not reported."""
    prose = "本年度共收到政府信息公开申请5件，办结5件。发生政府信息公开行政复议1件、行政诉讼3件。"
    text = row_text(SEED1, SEEDS[SEED1]).replace("本年度报告根据《中华人民共和国政府信息公开条例》编制。", prose)
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    ret = read(path)
    found = [
        (p.severity, p.values["text"], p.values["prose"], p.values["table"])
        for p in ret.read_problems
        if p.code == "IMPORT-PROSE-MISMATCH"
    ]
    assert found == [("warning", "收到政府信息公开申请5件", 5, 0), ("warning", "行政诉讼3件", 3, 0)]


def test_import_json_lists_every_cell_read(tmp_path):
    """`import --format json` gives each report's cells: table, row, column, key, value, printed text, where."""
    import json

    from click.testing import CliRunner

    from xltool.cli import app

    result = CliRunner().invoke(app, ["import", "--format", "json", str(PDF_DIR / "ruled-000.pdf")])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["files"]
    cells = {c["key"]: c for c in entry["cells"]}
    assert {k: Decimal(str(c["value"])) for k, c in cells.items()} == seed_values(SEED0)
    review = cells["appeal.review.total"]
    assert (review["table"], review["column"], review["printed"]) == (
        "四、政府信息公开行政复议、行政诉讼情况",
        "总计",
        "0",
    )
    assert all(c["where"].startswith("第 ") for c in entry["cells"])
