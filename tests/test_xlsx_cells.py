"""The xlsx cell scanner: the one-pass reading of a sheet's XML (values taken from the scanned cells, skeletons of
sheets met before learnt) gives the grids calamine gives and the facts (formulas, error values, merges, hidden rows
…) the slow cell-by-cell scan gives, and its memory of skeletons is bounded and never stands in for what a sheet's
values decide.

The scanner's short ways and its memory have no public switch: these tests call the private scans of
xltool.formats._bounded and xltool.formats._xlsxcells directly."""

from __future__ import annotations

import datetime
import io
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from tests.fillings import random_return
from xltool.formats import _bounded, _xlsxcells, xlsx
from xltool.formats.page import SheetFacts
from xltool.forms import form_for_year
from xltool.memo import Memo
from xltool.template import write_xlsx

ROOT = Path(__file__).resolve().parent.parent


def _calamine_grids(data: bytes) -> dict[str, list]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


def _our_grids(data: bytes) -> dict[str, list]:
    page = xlsx.parse(data)
    return {n: page.sheet(n) for n in page.sheet_names}


def _workbooks(tmp_path: Path) -> list[Path]:
    files = sorted((ROOT / "examples").rglob("*.xlsx")) + sorted((ROOT / "tests" / "fixtures").rglob("*.xlsx"))
    for year in (2025, 2020):
        for seed in range(3):
            p = tmp_path / f"r{year}-{seed}.xlsx"
            write_xlsx(random_return(form_for_year(year), year, random.Random(seed)), p)
            files.append(p)
    return files


def test_direct_grids_equal_calamine(tmp_path):
    """Every sheet of every workbook we have reads the same by the one-pass path as by calamine."""
    checked = 0
    for path in _workbooks(tmp_path):
        data = path.read_bytes()
        try:
            ours = _our_grids(data)
        except Exception:  # files the suite keeps because they are refused (corrupt, bombs …)
            continue
        assert ours == _calamine_grids(data), path.name
        checked += 1
    assert checked >= 10


def test_other_writers_and_cell_types(tmp_path):
    """Text, numbers, booleans, formulas, rich text, dates (left to calamine) and openpyxl's inline strings agree."""
    p = tmp_path / "xw.xlsx"
    wb = xlsxwriter.Workbook(p)
    ws = wb.add_worksheet("表")
    bold = wb.add_format({"bold": True})
    ws.write("A1", "文字 & <b>")
    ws.write("B2", 12)
    ws.write("C3", 1.25)
    ws.write("D4", True)
    ws.write_formula("E5", "=B2*2", None, 24)
    ws.write_formula("F6", '="x"&"y"', None, "xy")
    ws.write_rich_string("G7", "富", bold, "文本")
    ws.write("H8", "")
    ws.write("A20", " 0")
    wb.close()
    q = tmp_path / "opx.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["B1"], sheet["C1"] = "inline", 3, datetime.date(2026, 1, 20)
    book.save(q)
    for f in (p, q):
        data = f.read_bytes()
        assert _our_grids(data) == _calamine_grids(data), f.name


def test_one_pass_scan_matches_the_slow_scan():
    """The one-regex scan finds the same formulas and error values as the cell-by-cell walk."""
    data = (ROOT / "examples" / "sample-return-2025.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    hostile = (
        b'<worksheet><sheetData><row r="1"><c r="A1" t="e"><v>#DIV/0!</v></c>'
        b'<c r="B1"><f>WEBSERVICE("http://x")</f><v>1</v></c><c r="C1"><f>A1&amp;"&lt;"</f><v>0</v></c>'
        b"</row></sheetData></worksheet>"
    )
    for xml in [*sheets, hostile]:
        fast = SheetFacts()
        assert _bounded._scan_simple(xml, _bounded.WINDOW, fast) is not None
        slow = SheetFacts()
        _bounded._scan_cells(xml, _bounded.WINDOW, slow)
        assert dict(fast.formulas.items()) == slow.formulas
        assert fast.errors == slow.errors
        assert [w for w, _ in fast.unsafe] == [w for w, _ in slow.unsafe]


@pytest.mark.parametrize(
    ("cell", "plain"),
    [
        (b'<c s="1" r="A1"><v>1</v></c>', False),  # the reference not first: walked cell by cell, calamine reads
        (b'<c r="A1" t="n" cm="1"><v>1</v></c>', True),  # an attribute the simple pattern does not know
        (b'<c r="A1"><v>1</v><f>SUM(B1)</f></c>', True),  # value before formula
    ],
)
def test_unusual_cells_take_the_general_path(cell, plain):
    """A cell written another way is not read by the one-regex pass; the general scan still finds its formula."""
    xml = b'<worksheet><sheetData><row r="1">' + cell + b"</row></sheetData></worksheet>"
    assert _bounded._scan_simple(xml, _bounded.WINDOW, SheetFacts()) is None
    _, facts = _bounded.scan_sheet(xml, _bounded.WINDOW)
    assert facts.plain is plain
    assert ("A1" in facts.formulas) is (b"<f>" in cell)
    if plain:
        assert _xlsxcells.sheet_grid(xml, [], frozenset()) == [[1.0]]


def test_a_date_cell_is_left_to_calamine():
    """A number styled as a date makes the direct reader step aside (calamine converts it)."""
    styles = (
        b'<styleSheet><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
        b"</styleSheet>"
    )
    dates = _xlsxcells.date_styles(styles)
    assert dates == {1}
    cells = _bounded.SIMPLE_CELL.findall(b'<c r="A1" s="1"><v>46000</v></c>')
    assert _xlsxcells.sheet_grid(cells, [], dates) is None
    assert _xlsxcells.sheet_grid(_bounded.SIMPLE_CELL.findall(b'<c r="A1" s="0"><v>4</v></c>'), [], dates) == [[4.0]]


def test_column_view_equals_the_grid(tmp_path):
    """Two columns read without the whole grid equal those columns of the grid, for every sheet of a filled return."""
    data = (ROOT / "examples" / "sample-return-2025.xlsx").read_bytes()
    fast, full = xlsx.parse(data), xlsx.parse(data)
    for name in fast.sheet_names:
        for cols in ((2, 4), (0,), (1, 3, 5)):
            quick = fast.columns(name, cols)
            grid = full.sheet(name)
            expected = {
                r: {c: row[c] for c in cols if c < len(row) and row[c] != ""}
                for r, row in enumerate(grid)
                if any(c < len(row) and row[c] != "" for c in cols)
            }
            assert quick == expected, (name, cols)


def test_remembered_safe_formulas_never_hide_an_unsafe_one():
    """A sheet whose formulas were found harmless is skipped next time only if its formula text is the same."""
    safe = b'<worksheet><sheetData><row r="1"><c r="A1"><f>SUM(B1:B2)</f><v>0</v></c></row></sheetData></worksheet>'
    bad = safe.replace(b"SUM(B1:B2)", b"WEBSERVICE(&quot;http://x&quot;)")
    for xml, unsafe in ((safe, []), (safe, []), (bad, ["A1"]), (safe, [])):
        _, facts = _bounded.scan_sheet(xml, _bounded.WINDOW)
        assert [where for where, _ in facts.unsafe] == unsafe


def _fresh_facts(xml: bytes) -> tuple[bytes, SheetFacts]:
    """The full scan, as for a sheet never met before."""
    bounded, facts = _bounded._scan(xml, _bounded.WINDOW)
    if isinstance(facts.cells, list):
        facts.cells = _bounded.ScannedCells.of(facts.cells)
    return bounded, facts


def _same(a: SheetFacts, b: SheetFacts) -> None:
    assert dict(a.formulas.items()) == dict(b.formulas.items())
    for name in ("errors", "protected", "hidden_rows", "hidden_cols", "merges", "stray", "unsafe", "embedded", "plain"):
        assert getattr(a, name) == getattr(b, name), name
    assert (a.cells is None) == (b.cells is None)
    if a.cells is not None:  # a learnt skeleton also lists the <v> elements left empty here
        held = [(slot, raw) for slot, raw in zip(a.cells.slots, a.cells.raws, strict=True) if raw]
        assert held == list(zip(b.cells.slots, b.cells.raws, strict=True))


@pytest.fixture
def empty_memory(monkeypatch):
    monkeypatch.setattr(_bounded, "_KNOWN", {})
    monkeypatch.setattr(_bounded, "_SEEN", Memo(_bounded.MAX_SKELETONS * 8))


def test_a_learnt_skeleton_gives_what_the_full_scan_gives(tmp_path, empty_memory):
    """Every sheet of every workbook read three times (the third read takes the learnt skeleton) gives the facts and
    values of a full scan; other returns of the same template, with other values, read right from the learnt one."""
    learnt = 0
    for path in _workbooks(tmp_path):
        try:
            with zipfile.ZipFile(path) as z:
                sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        except zipfile.BadZipFile:
            continue
        for xml in sheets:
            if len(xml) > _bounded.MAX_SHEET_BYTES:
                continue
            expected = _fresh_facts(xml)
            for _ in range(3):
                got = _bounded.scan_sheet(xml, _bounded.WINDOW)
                assert got[0] == expected[0]
                _same(got[1], expected[1])
            learnt += _bounded._skeleton(xml, _bounded.WINDOW)[0] in _bounded._KNOWN
    assert learnt >= 10
    for year in (2025, 2020):  # the random returns above taught the skeletons; new values go through them
        for seed in range(10, 14):
            p = write_xlsx(random_return(form_for_year(year), year, random.Random(seed)), tmp_path / f"n{seed}.xlsx")
            data = p.read_bytes()
            assert _our_grids(data) == _calamine_grids(data)


def test_a_value_outside_a_cell_is_never_learnt(empty_memory):
    """A <v> that no open cell holds cannot be mapped to a cell: the sheet is scanned in full every time."""
    body = b'<row r="1"><c r="A1"><v>1</v></c><c r="B1"/></row>'
    for xml in (
        b"<worksheet><sheetData>" + body + b"</sheetData><extLst><v>9</v></extLst></worksheet>",
        b'<worksheet><sheetData><row r="1"><c r="A1"/></row></sheetData><v>9</v></worksheet>',
    ):
        for _ in range(3):
            _, facts = _bounded.scan_sheet(xml, _bounded.WINDOW)
        assert _bounded._KNOWN == {}
        assert facts.cells.slots == _fresh_facts(xml)[1].cells.slots


def test_error_values_and_stray_cells_are_never_taken_from_memory(empty_memory):
    """Sheets whose facts depend on their values (error values) or that were cut are always scanned in full."""
    error = b'<worksheet><sheetData><row r="1"><c r="A1" t="e"><v>#REF!</v></c></row></sheetData></worksheet>'
    stray = b'<worksheet><sheetData><row r="5000"><c r="A5000"><v>1</v></c></row></sheetData></worksheet>'
    for _ in range(3):
        _, facts = _bounded.scan_sheet(error, _bounded.WINDOW)
        assert facts.errors == {"A1": "#REF!"}
        bounded, cut = _bounded.scan_sheet(stray, _bounded.WINDOW)
        assert cut.stray == 1 and bounded != stray
    assert _bounded._KNOWN == {}


def test_memory_of_skeletons_is_bounded(empty_memory):
    """However many distinct sheets pass, only MAX_SKELETONS are learnt and the once-seen set is capped."""
    for i in range(_bounded.MAX_SKELETONS * 20):
        xml = b'<worksheet><sheetData><row r="1"><c r="A1" s="%d"><v>1</v></c></row></sheetData></worksheet>' % i
        for _ in range(2):
            _bounded.scan_sheet(xml, _bounded.WINDOW)
    assert len(_bounded._KNOWN) == _bounded.MAX_SKELETONS
    assert len(_bounded._SEEN) <= _bounded.MAX_SKELETONS * 8


@pytest.mark.parametrize(
    "cells",
    [
        b'<c r="A1"><v>1</v></c><c r="A1" t="s"><v>0</v></c>',  # listed twice: the later one wins, as in order
        b'<c r="A1" s="1"><v>46000</v></c><c r="B1"><v>2</v></c>',  # a date: calamine reads the sheet
        b'<c r="A1" t="b"><v>1</v></c><c r="B1" t="str"><f>"x"</f><v>x&amp;y</v></c><c r="C1" t="d"><v>1</v></c>',
        b'<c r="A1" t="str"><f>""</f><v></v></c><c r="B2"><v> </v></c><c r="C3" t="s"><v>9</v></c>',
    ],
)
def test_a_learnt_skeleton_reads_values_as_in_order(cells, empty_memory):
    """Through a learnt skeleton, values are read kind by kind; the grid is the same as reading cell by cell."""
    xml = b'<worksheet><sheetData><row r="1">' + cells + b"</row></sheetData></worksheet>"
    dates = frozenset({1})
    for _ in range(3):
        _, facts = _bounded.scan_sheet(xml, _bounded.WINDOW)
    assert _bounded.is_learnt(facts.cells.slots)
    in_order = _xlsxcells._values_in_order(facts.cells.slots, facts.cells.raws, ["甲"], dates)
    expected = None if in_order is None else _xlsxcells._dense(in_order)
    assert _xlsxcells.sheet_grid(facts.cells, ["甲"], dates) == expected
