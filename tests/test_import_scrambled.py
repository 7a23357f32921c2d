"""Published reports as converters, OCR and scrapers leave them (issue 25): never a wrong number, never a made-up 0."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.row_fixtures import row_text
from tests.seed_data import SEEDS
from xltool import formats
from xltool.reading import read
from xltool.values import Invalid

EXAMPLES = Path(__file__).parent.parent / "examples"

SEED = sorted(SEEDS)[1]  # its Table 四 has a 1 in 行政复议 结果纠正
APPEAL = [f"appeal.{g}.{c}" for g in ("review", "direct", "after_review") for c in ("upheld", "corrected", "other", "pending", "total")]  # fmt: skip
GLUED_HEAD = (
    "行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计未经复议直接起诉复议后起诉"
    "结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计"
)


def _with_table_four(tmp_path: Path, head_and_numbers: str) -> Path:
    text = row_text(SEED, SEEDS[SEED])
    start = text.index("行政复议 行政诉讼")
    end = text.index("\n", text.index("0 1 0 0 1 0 0 0 0 0 0 0 0 0 0", start))
    path = tmp_path / "report.txt"
    path.write_text(text[:start] + head_and_numbers + text[end:], encoding="utf-8")
    return path


def test_glued_table_four_header_then_one_run_of_numbers(tmp_path):
    """Table 四 printed as its run-together header, a space, then its 15 numbers on one line is read cell by cell."""
    ret = read(_with_table_four(tmp_path, GLUED_HEAD + " 0 1 0 0 1 0 0 0 0 0 0 0 0 0 0"))
    assert [ret.values.get(k) for k in APPEAL] == [0, 1, 0, 0, 1] + [0] * 10


def test_total_of_a_table_not_read_is_unknown_not_zero(tmp_path):
    """A table the import could not read leaves its 总计 unknown: not 0 in the rules' values nor in to_frame()."""
    ret = read(_with_table_four(tmp_path, "行政复议情况见附件。"))
    assert not any(k in ret.values for k in APPEAL)
    assert ret.safe_value("appeal.review.total") is None
    frame = ret.to_frame().set_index("key")["value"]
    assert frame["appeal.review.total"] is None and frame["appeal.after_review.total"] is None
    assert frame["apply.result_total.total"] == ret.safe_value("apply.result_total.total")


def test_to_frame_total_of_a_blank_cell_is_unknown():
    """to_frame(): a total whose inputs include a blank cell is None (unknown), a total of filled cells is computed."""
    from xltool.forms import form_for_year
    from xltool.model import Return

    form = form_for_year(2022)
    ret = Return(form, 2022)
    keys = [c.key for c in form.cells if c.is_input and c.key.startswith("appeal.review.")]
    ret.values.update({k: Decimal(1) for k in keys})
    frame = ret.to_frame().set_index("key")["value"]
    assert frame["appeal.review.total"] == len(keys)
    del ret.values[keys[0]]
    assert ret.to_frame().set_index("key")["value"]["appeal.review.total"] is None


# --- what converters make of a report's PDF (tests/fixtures/converted: the table parts, made by
# benchmarks/import_variants.py from the corpus readings and the seeds; 002.per-row-tables.md as an AI conversion
# lays a report out: each row its own table under generic headers 数据1…数据6/总计, header bands as headings over
# empty placeholder tables; expected.json = the human reading) -------------------------------------------------------

CONVERTED = Path(__file__).parent / "fixtures" / "converted"
EXPECTED = json.loads((CONVERTED / "expected.json").read_text(encoding="utf-8"))


def _score(ret, expected: dict) -> tuple[list[str], int]:
    wrong, right = [], 0
    for key, want in expected.items():
        got = ret.values.get(key)
        if isinstance(got, Invalid) or got is None:
            continue
        if want is not None and Decimal(str(got)) == Decimal(str(want)):
            right += 1
        else:
            wrong.append(f"{key}: {got} != {want}")
    return wrong, right


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_converted_tables_never_a_wrong_number(name):
    """pdftotext (-layout, -raw), pymupdf4llm and markitdown output of a report's tables: every number read is the
    human reading's, none is guessed."""
    ret = read(CONVERTED / name)
    wrong, right = _score(ret, EXPECTED[name])
    assert wrong == []
    assert right > 0


def test_converted_tables_mostly_read():
    """Across the converters' outputs nearly every cell of Tables 三/四 is read (alignment to the form's rows)."""
    total = right = 0
    for name, expected in EXPECTED.items():
        total += sum(v is not None for v in expected.values())
        right += _score(read(CONVERTED / name), expected)[1]
    assert right / total >= 0.95


def test_raw_text_rows_placed_by_position_are_said():
    """pdftotext -raw prints labels apart from their numbers: the rows placed by the form's order are named in a
    note, with the text printed before them."""
    ret = read(CONVERTED / "gonganju.pymupdf4llm.md")
    notes = [p.message for p in ret.read_problems if p.code == "LOCATED-BY-LABELS"]
    assert any("按官方表格的行序" in n for n in notes)
    assert ret.values["apply.new.natural_person"] == 1 and ret.values["apply.result.partial.total"] == 1


def _zeros_blank(seed: dict, blank_totals: bool = False) -> dict:
    """The seed with every zero of Tables 三/四 printed blank (and, with `blank_totals`, every 总计 of the detail rows
    too, as some portals print them)."""
    values = {
        k: v
        for k, v in seed["values"].items()
        if not (k.startswith(("apply.", "appeal.")) and (v == 0 or (blank_totals and k.endswith(".total"))))
    }
    return {**seed, "values": values, "odd": {}}


def test_table_printing_zero_as_blank_keeps_the_blanks_counted_as_zero_and_said(tmp_path):
    """A table with no 0 printed anywhere whose arithmetic holds only with its blanks as 0 is judged (its rules pass
    instead of staying undetermined) and its printed blanks stay blank cells (never a stored 0), counted as 0 by the
    rules, every one of them named in a VALUE-NORMALISED note."""
    from tests.report_fixtures import write_html

    seed = SEEDS[SEED]
    ret = read(write_html(SEED, _zeros_blank(seed), tmp_path / "r.html"))
    notes = [p for p in ret.read_problems if p.code == "VALUE-NORMALISED" and p.values.get("table") in ("三", "四")]
    named = {k for p in notes for k in p.values["zero"]}
    printed_blank = {k for k, v in seed["values"].items() if k.startswith(("apply.", "appeal.")) and v == 0}
    assert printed_blank and named == printed_blank
    for key, v in seed["values"].items():
        if key in printed_blank:
            assert ret.values.get(key) is None and ret.safe_value(key) == 0, key
        elif key.startswith(("apply.", "appeal.")):
            assert ret.values[key] == v, key
    outcomes = {r.rule.id: r.outcome for r in ret.rule_results() if r.rule.id.startswith(("T3", "T4"))}
    assert outcomes and set(outcomes.values()) == {"pass"}


def _counted_as_zero_views(ret, src, tmp_path) -> list[tuple]:
    """Each blank a VALUE-NORMALISED note counts as 0, as every view shows it: (in the Return's values, the rules'
    number, the imported workbook's cell, the JSON cell's value, the benchmark's score as a printed blank)."""
    import openpyxl

    from benchmarks.import_accuracy import score_cells
    from xltool.importing import save_workbook
    from xltool.layout import CELLS_META

    zero = [k for p in ret.read_problems if p.code == "VALUE-NORMALISED" for k in (p.values or {}).get("zero", [])]
    book = openpyxl.load_workbook(save_workbook(ret, tmp_path / src.stem, src, set()))
    cells = {c["key"]: c for c in json.loads(ret.meta[CELLS_META])}
    out = []
    for key in zero:
        cell = ret.form.cell[key]
        shown = book[cell.sheet][cell.a1].value if cell.is_input else None
        right = score_cells(ret, {key: None})[0]
        out.append((key in ret.values, ret.safe_value(key), shown, cells[key]["value"], right))
    return out


def test_both_blank_as_zero_decisions_give_one_representation(tmp_path):
    """A table that prints no 0 and blanks its own arithmetic fixes at 0 are shown alike everywhere: a blank cell in
    the Return, the imported workbook and the JSON cells, counted 0 by the rules, scored right by the benchmark."""
    from tests.report_fixtures import write_html

    no_zero = write_html(SEED, _zeros_blank(SEEDS[SEED]), tmp_path / "no-zero.html")
    for src in (no_zero, SHICHANG):
        views = _counted_as_zero_views(read(src), src, tmp_path)
        assert views and set(views) == {(False, 0, None, None, 1)}, src.name


def test_blank_that_is_not_forced_to_zero_stays_unknown(tmp_path):
    """Blanks in a table whose arithmetic does not close with them as 0 (a row's printed 总计 larger than its cells)
    stay blank: unknown, not 0."""
    from tests.report_fixtures import write_html

    seed = _zeros_blank(SEEDS[SEED])
    key = next(k for k, v in seed["values"].items() if k.startswith("appeal.") and k.endswith(".total"))
    seed["values"][key] = seed["values"][key] + 1
    ret = read(write_html(SEED, seed, tmp_path / "r.html"))
    assert isinstance(ret.values["appeal.review.upheld"], Invalid)


# --- scanned reports (the `ocr` extra) -------------------------------------------------------------------------------

SCAN = Path(__file__).parent / "fixtures" / "pdf" / "scan-table4.pdf"  # an image-only page: title and Table 四


def test_scan_without_the_ocr_extra_is_refused_with_advice(monkeypatch):
    """A scan read where the `ocr` extra is not installed is refused (NOT-A-REPORT), saying how to install it."""
    from xltool.formats import ocr
    from xltool.sources import ReadError

    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(ReadError) as exc:
        read(SCAN)
    assert exc.value.code == "NOT-A-REPORT" and "xltool[ocr]" in str(exc.value)


def test_scanned_table_read_by_ocr_and_aligned():
    """A scanned Table 四 (slightly rotated, JPEG) is read by OCR and placed by the form's column order: the numbers
    of the original, the note saying it was a scan and how long a page took."""
    from xltool.formats import ocr

    if not ocr.available():
        pytest.skip("the ocr extra (rapidocr-onnxruntime) is not installed")
    ret = read(SCAN)
    assert [ret.values.get(k) for k in APPEAL] == [0, 1, 0, 0, 1] + [0] * 10
    assert ret.year == 2020 and ret.meta["source_format"] == "pdf"
    assert any("扫描件" in p.message and "秒" in p.message for p in ret.read_problems)
    assert not [p for p in ret.read_problems if p.code == "IMPORT-UNCONFIRMED" and p.values["table"] == "四"]


def test_ocr_number_the_arithmetic_does_not_confirm_is_flagged(monkeypatch):
    """A recognised number whose sum does not close (a misread digit) is flagged IMPORT-UNCONFIRMED for checking
    against the scan; the numbers whose sums close are not."""
    from xltool.formats import ocr

    lines = [
        "北京市密云区穆家峪镇2020年政府信息公开工作年度报告",
        "四、政府信息公开行政复议、行政诉讼情况",
        "行政复议  行政诉讼",
        "0  1  0  0  7  0  0  0  0  0  0  0  0  0  0",  # 结果纠正 1, its 总计 misread as 7
        "五、存在的主要问题及改进情况",
    ]
    monkeypatch.setattr(ocr, "available", lambda: True)
    monkeypatch.setattr(ocr, "pdf_lines", lambda data: (lines, [1.0]))
    ret = read(SCAN)
    (flag,) = [p for p in ret.read_problems if p.code == "IMPORT-UNCONFIRMED"]
    assert "appeal.review.total" in flag.values["cells"] and "appeal.review.corrected" in flag.values["cells"]
    assert "appeal.direct.total" not in flag.values["cells"]


def test_ocr_row_of_single_numbers_taken_as_one_text_is_split_per_cell():
    """A row of spaced single numbers the detector took for one text ("000": characters far apart) comes back as one
    number per cell at its own place; the digits of one number (close together) and spaced words stay whole."""
    from xltool.formats.ocr import _apart

    def boxes(lefts, width):
        return [[[x, 0], [x + width, 0], [x + width, 30], [x, 30]] for x in lefts]

    assert _apart("000", 10, 30, boxes([10, 90, 170], 20), list("000")) == [(10, "0"), (90, "0"), (170, "0")]
    assert _apart("120", 10, 30, boxes([10, 27, 44], 17), list("120")) == [(10, "120")]
    assert _apart("总计", 10, 30, boxes([10, 120], 30), list("总计")) == [(10, "总计")]
    assert _apart("0", 10, 30) == [(10, "0")]  # no character boxes: the text as recognised


def test_label_with_one_slip_anchors_its_row_and_is_noted(tmp_path):
    """An OCR slip in a row label (a look-alike character) still anchors that row when it is the only label within one
    edit of what was printed, and the note says the label was matched approximately."""
    text = (CONVERTED / "gonganju.pdftotext-raw.txt").read_text(encoding="utf-8")
    assert text.count("\n家秘\n") == 1
    path = tmp_path / "r.txt"
    path.write_text(text.replace("\n家秘\n", "\n家泌\n"), encoding="utf-8")  # 秘 read as 泌
    ret = read(path)
    assert [ret.values[f"apply.result.withheld.state_secret.{c}"] for c in ("natural_person", "total")] == [0, 0]
    assert any("近似标签" in p.message and "1.属于国家秘密" in p.message for p in ret.read_problems)


def test_table_two_read_by_labels_is_kept_when_table_three_aligns_to_the_other_version(tmp_path):
    """A report whose Table 二 is the 2021 format (read by its labels) and whose scrambled Table 三 has the 2019 rows:
    Table 二 is kept (the report stays 2021), Tables 三/四 are aligned to the 2021 rows where that is unique, no
    number wrong, and the notes say the tables differ in version."""
    two = formats.render(read(EXAMPLES / "sample-return-2025.xlsx"), "md").split("## 三、")[0].split("\n", 4)[-1]
    three = (CONVERTED / "haitanpianqu.markitdown.md").read_text(encoding="utf-8").split("\n", 1)[1]
    path = tmp_path / "mixed.md"
    path.write_text("# 某单位2022年政府信息公开工作年度报告\n\n" + two + "\n" + three, encoding="utf-8")
    ret = read(path)
    example = read(EXAMPLES / "sample-return-2025.xlsx")
    assert ret.form.id == example.form.id
    assert {k: v for k, v in ret.values.items() if k.startswith("active.")} == {
        k: v for k, v in example.values.items() if k.startswith("active.")
    }
    expected = EXPECTED["haitanpianqu.markitdown.md"]
    wrong, right = _score(ret, {k: v for k, v in expected.items() if k in ret.form.cell})
    assert wrong == [] and right >= 15
    known = {k for k, v in ret.values.items() if not isinstance(v, Invalid)}
    assert not {k for k in known if k.startswith("apply.result.other.")}  # 2019's one 其他处理 row: not guessed
    assert any("表三的行与" in p.message for p in ret.read_problems)


def test_rows_printed_blank_among_a_batch_of_labels_are_placed_by_label_order():
    """pymupdf4llm prints a band of labels, then a band of number rows; two rows printed blank leave 23 groups for 25
    rows. A row's numbers never come before its own label, and （七）总计 printed on its numbers' line anchors them, so
    the only placement left is the true one: every cell read, the two blank rows blank."""
    name = "shichangjianduguanliju.pymupdf4llm.md"
    ret = read(CONVERTED / name)
    wrong, right = _score(ret, EXPECTED[name])
    assert wrong == [] and right == sum(v is not None for v in EXPECTED[name].values())
    blank = [k for k, v in EXPECTED[name].items() if v is None]
    assert blank and all(not isinstance(ret.values.get(k), Decimal) for k in blank)  # blank, never a number


SHICHANG = Path(__file__).parent / "fixtures" / "corpus" / "pingtan_shichangjianduguanliju_2024_scrapedtxt.txt"


def test_blank_rows_the_arithmetic_fixes_at_zero_are_judged_and_stay_blank(tmp_path):
    """A table that prints 0 elsewhere but leaves two rows blank, whose 办理结果 rows already add up to （七）总计 in
    every column: counts cannot be negative, so the blanks can only be 0 — they stay blank cells (never a printed
    0), the rules are judged (all pass), and a VALUE-NORMALISED note names the 14 cells."""
    ret = read(SHICHANG)
    outcomes = {r.outcome for r in ret.rule_results() if r.rule.id.startswith(("T3", "T4"))}
    assert outcomes == {"pass"}
    (note,) = [p for p in ret.read_problems if p.code == "VALUE-NORMALISED" and "zero" in (p.values or {})]
    assert len(note.values["zero"]) == 14
    assert all(ret.values.get(k) is None and ret.known_value(k) is None for k in note.values["zero"])
    assert not [p for p in ret.read_problems if p.code == "IMPORT-INCOMPLETE" and p.values.get("table") == "三"]


def test_blank_rows_the_arithmetic_does_not_fix_stay_unknown(tmp_path):
    """The same report with （七）总计 自然人 and 总计 printed one higher than its rows: the blanks of those two columns
    would have to hold that 1 in one of two rows, so they stay unknown (IMPORT-INCOMPLETE); only the other columns'
    blanks, which still balance, are fixed at 0."""
    path = tmp_path / "report.txt"
    text = SHICHANG.read_text(encoding="utf-8")
    assert text.count("3.其他（七）总计4000004") == 1
    path.write_text(text.replace("3.其他（七）总计4000004", "3.其他（七）总计5000005"), encoding="utf-8")
    ret = read(path)
    (blank,) = [p for p in ret.read_problems if p.code == "IMPORT-INCOMPLETE" and p.values.get("table") == "三"]
    rows = ("apply.result.other.unpaid_fee", "apply.result.other.other")
    assert sorted(blank.values["blank"]) == sorted(f"{r}.{c}" for r in rows for c in ("natural_person", "total"))
    assert all(isinstance(ret.values[k], Invalid) for k in blank.values["blank"])
    (note,) = [p for p in ret.read_problems if p.code == "VALUE-NORMALISED" and "zero" in (p.values or {})]
    assert len(note.values["zero"]) == 10
