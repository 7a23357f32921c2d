"""Tests of the LibreOffice headless harness itself (tests/lo)."""

import os
import signal

import pytest
import xlsxwriter

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """Unlocked inputs A1:A2, SUM in A3 with a stale cached 999, IF in B1, on a protected
    sheet whose unlocked C1 has whole-number >= 0 validation."""
    path = tmp_path_factory.mktemp("lo") / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("数据")  # non-ASCII sheet name on purpose
    unlocked = wb.add_format({"locked": False})
    ws.write_number("A1", 1, unlocked)
    ws.write_number("A2", 2, unlocked)
    ws.write_formula("A3", "=SUM(A1:A2)", None, 999)  # deliberately wrong cached value
    ws.write_formula("B1", '=IF(A3>10,"大","small")', None, "stale")
    ws.write_blank("C1", None, unlocked)
    assert (
        ws.data_validation(
            "C1",
            {
                "validate": "integer",
                "criteria": ">=",
                "value": 0,
                "input_title": "数量",
                "error_message": "请输入非负整数",
            },
        )
        == 0
    )
    ws.protect()
    wb.define_name("Total", "=数据!$A$3")
    wb.close()
    return path


def cell(ref):
    return {"sheet": "数据", "cell": ref}


def test_recalc_ignores_stale_cached_value(lo, book):
    """Formula results come from LibreOffice's recalculation, not the file's cached value."""
    (on_open,) = lo.recalc(book, read=[cell("A3")], calculate=False)  # profile forces recalc on load
    assert on_open["value"] == 3
    (a3,) = lo.recalc(book, set=[{**cell("A1"), "value": 10}, {**cell("A2"), "value": 5.5}], read=[cell("A3")])
    assert a3["value"] == 15.5 and a3["type"] == "FORMULA" and a3["result"] == "VALUE" and a3["error"] == 0


def test_string_results_ranges_and_clearing(lo, book):
    """IF formulas return their strings, ranges come back as rows, and None empties a cell."""
    b1, rows = lo.recalc(
        book,
        set=[{**cell("A1"), "value": 20}, {**cell("A2"), "value": None}],
        read=[cell("B1"), {"sheet": "数据", "range": "A1:B2"}],
    )
    assert b1["string"] == "大" and b1["result"] == "TEXT"
    assert [[c["type"] for c in row] for row in rows] == [["VALUE", "FORMULA"], ["EMPTY", "EMPTY"]]
    (b1,) = lo.recalc(book, read=[cell("B1")])
    assert b1["string"] == "small"


def test_inspect_reports_protection_and_validation(lo, book):
    """inspect shows sheet protection, the unlocked input cell and its validation rule."""
    info = lo.inspect(book, cells=[cell("C1"), cell("A3")])
    assert info["sheet_names"] == ["数据"]
    assert info["sheets"][0]["protected"] is True and info["sheets"][0]["visible"] is True
    assert info["named_ranges"] == {"Total": "$数据.$A$3"}
    c1, a3 = info["cells"]
    assert c1["locked"] is False and a3["locked"] is True  # xlsxwriter: locked unless told
    assert a3["validation"] is None
    v = c1["validation"]
    assert (v["type"], v["operator"], v["formula1"], v["error_style"]) == ("WHOLE", "GREATER_EQUAL", "0", "STOP")
    assert v["input_title"] == "数量" and v["error_message"] == "请输入非负整数"


@pytest.mark.parametrize("value, accepted", [(3, True), (0, True), (-1, False), (1.5, False), ("abc", False)])
def test_validate_whole_number_rule(lo, book, value, accepted):
    """validate applies LibreOffice's own check of the whole-number >= 0 rule."""
    result = lo.validate(book, "数据", "C1", value)
    assert result["accepted"] is accepted and result["method"] == "api"


def test_save_as_ods_then_recalc(lo, book, tmp_path):
    """A document saved as .ods keeps the inputs and formulas and recalculates again."""
    ods = tmp_path / "book.ods"
    lo.recalc(book, set=[{**cell("A1"), "value": 7}], save_as=ods)
    a1, a3 = lo.recalc(ods, set=[{**cell("A2"), "value": 1}], read=[cell("A1"), cell("A3")])
    assert (a1["value"], a3["value"]) == (7, 8)
    assert lo.inspect(ods)["sheets"][0]["protected"] is True


def test_corrupt_file_is_an_error_and_worker_survives(lo, book, tmp_path):
    """A corrupt or missing file raises promptly, and the same worker keeps serving."""
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(book.read_bytes()[:300])  # truncated zip
    pid = lo.hello["soffice_pid"]
    with pytest.raises(RuntimeError, match="could not load"):
        lo.recalc(bad, read=[cell("A3")])
    with pytest.raises(RuntimeError, match="FileNotFoundError"):
        lo.recalc(tmp_path / "missing.xlsx")
    with pytest.raises(RuntimeError, match="no sheet"):
        lo.recalc(book, read=[{"sheet": "nope", "cell": "A1"}])
    with pytest.raises(RuntimeError, match="refused to clear"):  # API cannot clear locked cells
        lo.recalc(book, set=[{**cell("A3"), "value": None}])
    assert lo.recalc(book, read=[cell("A3")])[0]["value"] == 3
    assert lo.hello["soffice_pid"] == pid  # no restart was needed


def test_restarts_after_soffice_crash_or_hang(lo, book):
    """A crashed soffice is restarted transparently; a hung one times out, then restarts."""
    office = type(lo)(timeout=5)  # own instance: do not disturb the session one
    try:
        office.start()
        os.killpg(office.hello["soffice_pid"], signal.SIGKILL)  # crash
        assert office.recalc(book, read=[cell("A3")])[0]["value"] == 3
        os.killpg(office.hello["soffice_pid"], signal.SIGSTOP)  # hang
        with pytest.raises(RuntimeError, match="timed out"):
            office.recalc(book)
        assert office.recalc(book, read=[cell("A3")])[0]["value"] == 3
    finally:
        office.close()
