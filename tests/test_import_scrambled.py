"""Published reports as converters, OCR and scrapers leave them (issue 25): never a wrong number, never a made-up 0."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.row_fixtures import row_text
from tests.seed_data import SEEDS
from xltool.reading import read
from xltool.values import Invalid

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


def test_table_printing_zero_as_blank_is_read_as_zero_and_said(tmp_path):
    """A table with no 0 printed anywhere whose arithmetic holds only with its blanks as 0 is read that way, with a
    VALUE-NORMALISED note, and judged: its rules pass instead of staying undetermined."""
    from tests.report_fixtures import write_html

    seed = SEEDS[SEED]
    ret = read(write_html(SEED, _zeros_blank(seed), tmp_path / "r.html"))
    notes = [p for p in ret.read_problems if p.code == "VALUE-NORMALISED" and p.values.get("table") in ("三", "四")]
    assert notes
    for key, v in seed["values"].items():
        if key.startswith(("apply.", "appeal.")):
            assert ret.values[key] == v, key
    outcomes = {r.rule.id: r.outcome for r in ret.rule_results() if r.rule.id.startswith(("T3", "T4"))}
    assert outcomes and set(outcomes.values()) == {"pass"}


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
