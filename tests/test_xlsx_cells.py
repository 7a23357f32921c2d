"""The xlsx sheet reader: the one parse of a sheet's XML (facts and values together) gives the grids calamine gives,
and the short way for sheets met before (a learnt skeleton) gives exactly what the parse gives — it is learnt only
where the parse proves the byte split, and any value text XML would read differently goes back to the parser. The
memory of skeletons is bounded and never stands in for what a sheet's values decide.

The reader's short ways and its memory have no public switch: these tests call the private parts of
xltool.formats._bounded, _sheetxml, _xmlparts and _xlsxcells directly."""

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
from xltool.codes import Code
from xltool.formats import _bounded, _sheetxml, _xlsxcells, _xmlparts, xlsx
from xltool.formats.page import SheetFacts
from xltool.forms import form_for_year
from xltool.memo import Memo
from xltool.sources import ReadError
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


def _grid(xml: bytes, strings: list[str] | None = None, dates: frozenset[int] = frozenset()) -> list:
    facts = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    return _xlsxcells.dense(_xlsxcells.convert(facts, strings or [], dates).values)


def _sheet(cells: bytes) -> bytes:
    return b'<worksheet xmlns="' + MAIN + b'"><sheetData><row r="1">' + cells + b"</row></sheetData></worksheet>"


MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def test_a_date_cell_is_converted_by_calamine_from_what_was_parsed(tmp_path):
    """A number styled as a date comes back as calamine's date, from a workbook holding only the cells as parsed."""
    p = tmp_path / "d.xlsx"
    wb = xlsxwriter.Workbook(p)
    ws = wb.add_worksheet("表")
    ws.write_datetime("A1", datetime.datetime(2026, 1, 20), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_datetime("B2", datetime.datetime(2026, 1, 20, 13, 5), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    ws.write("C3", 5)
    wb.close()
    data = p.read_bytes()
    assert _our_grids(data) == _calamine_grids(data)
    assert _our_grids(data)["表"][0][0] == datetime.date(2026, 1, 20)


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


def _same(a: SheetFacts, b: SheetFacts) -> None:
    assert dict(a.formulas.items()) == dict(b.formulas.items())
    for name in (
        "errors",
        "protected",
        "hidden_rows",
        "hidden_cols",
        "merges",
        "stray",
        "unsafe",
        "embedded",
        "duplicates",
        "malformed",
        "unsafe_rules",
    ):
        assert getattr(a, name) == getattr(b, name), name
    assert (a.cells.slots, a.cells.texts) == (b.cells.slots, b.cells.texts)


@pytest.fixture
def empty_memory(monkeypatch):
    monkeypatch.setattr(_bounded, "_KNOWN", {})
    monkeypatch.setattr(_bounded, "_SEEN", Memo(_bounded.MAX_SKELETONS * 8))
    monkeypatch.setattr(_bounded, "_TRIED", Memo(_bounded.MAX_SKELETONS * 8))


def test_a_learnt_skeleton_gives_what_the_parse_gives(tmp_path, empty_memory):
    """Every sheet of every workbook read three times (the third read takes the learnt skeleton) gives the facts and
    values of the parse; other returns of the same template, with other values, read right from the learnt one."""
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
            try:
                expected = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
            except ReadError:
                continue  # the parts the suite keeps because they are refused
            for _ in range(3):
                _same(_bounded.scan_sheet(xml, _bounded.WINDOW), expected)
            learnt += _bounded._skeleton(xml, _bounded.WINDOW)[0] in _bounded._KNOWN
    assert learnt >= 10
    for year in (2025, 2020):  # the random returns above taught the skeletons; new values go through them
        for seed in range(10, 14):
            p = write_xlsx(random_return(form_for_year(year), year, random.Random(seed)), tmp_path / f"n{seed}.xlsx")
            data = p.read_bytes()
            assert _our_grids(data) == _calamine_grids(data)


def _learn(xml: bytes) -> SheetFacts:
    for _ in range(3):
        facts = _bounded.scan_sheet(xml, _bounded.WINDOW)
    return facts


PLAIN = _sheet(b'<c r="A1"><v>1</v></c><c r="B1" t="s"><v>0</v></c><c r="C1" t="str"><f>"x"</f><v>x</v></c>')


@pytest.mark.parametrize(
    "text",
    [
        b"&#53;",  # a character reference: 5
        b"5&amp;",  # a predefined entity
        b"1\r\n2",  # a carriage return: normalised to a line feed
        b"\xff",  # not UTF-8
        b"]]>",  # not allowed in content
        b"&undefined;",  # an entity nobody declared
        b"\x01",  # a character XML forbids
        b"\xef\xbf\xbe",  # U+FFFE
    ],
)
def test_a_value_text_xml_reads_otherwise_goes_to_the_parser(text, empty_memory):
    """Through a learnt skeleton, a <v> text that XML does not read as its bytes (references, carriage returns, bad
    UTF-8, "]]>", undeclared entities, forbidden characters) is read by the parser: the same facts and values as a
    fresh parse, or the same refusal."""
    _learn(PLAIN)
    assert _bounded._skeleton(PLAIN, _bounded.WINDOW)[0] in _bounded._KNOWN
    _as_parsed(PLAIN.replace(b"<v>1</v>", b"<v>" + text + b"</v>"))


def _as_parsed(xml: bytes) -> SheetFacts | None:
    """scan_sheet gives what a fresh parse gives, or refuses with the parse's code (then None)."""
    try:
        expected = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    except ReadError as exc:
        with pytest.raises(ReadError) as caught:
            _bounded.scan_sheet(xml, _bounded.WINDOW)
        assert caught.value.code == exc.code
        return None
    facts = _bounded.scan_sheet(xml, _bounded.WINDOW)
    _same(facts, expected)
    return facts


@pytest.mark.parametrize(
    "xml",
    [
        _sheet(b'<c r="A1"><v>1</v></c><!--<c r="B1"><v>2</v></c>-->'),  # a value in a comment
        _sheet(b'<c r="A1"><v>1</v></c><c r="B1" t="str"><f><![CDATA[<v>2</v>]]></f><v>x</v></c>'),  # in CDATA
        _sheet(b'<c r="A1"><v>1</v></c>') + b"<!-- <v>9</v> -->",  # after the root
        _sheet(b'<c r="A1"><v>1</v></c><c r="B1"><w xmlns="urn:other"><v>2</v></w><v>3</v></c>'),  # other namespace
        _sheet(b'<c r="A1"><v>1</v></c><c r="B1"><v xml:space="preserve">2</v></c>'),  # a value spelled otherwise
        _sheet(b'<c r="A1"><v>1</v></c><c r="B1"><x:v xmlns:x="' + MAIN + b'">2</x:v></c>'),  # a prefixed value
        _sheet(b'<c r="A1"><v>1</v></c>').replace(b"<sheetData>", b"<sheetData><v>8</v>"),  # outside a cell
        _sheet(b'<c r="A1"><v>1</v></c><c r="A1"><v>2</v></c>'),  # a cell written twice
        _sheet(b'<c r="A1" t="e"><v>#REF!</v></c>'),  # an error value (a fact that depends on the value)
        _sheet(b'<c r="A1"><v>1</v></c><c r="ZZ5000"><v>2</v></c>'),  # a far cell
        _sheet(b'<c r="A1" t="inlineStr"><is><t>x</t></is></c><c r="B1"><v>2</v></c>'),  # an inline string
        b'<?xml version="1.0" encoding="ISO-8859-1"?>' + _sheet(b'<c r="A1" t="str"><v>a</v></c>'),  # not UTF-8
    ],
)
def test_a_skeleton_the_parse_does_not_prove_is_never_learnt(xml, empty_memory):
    """A <v> the byte split finds that is not the value element of a kept cell (in a comment, CDATA, another
    namespace, outside a cell), a value element it does not find, a document not in UTF-8, or a sheet whose facts
    depend on its values: parsed every time, never learnt."""
    expected = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    for _ in range(3):
        _same(_bounded.scan_sheet(xml, _bounded.WINDOW), expected)
    assert _bounded._KNOWN == {}


def _headed(header: bytes, extra: bytes = b"") -> bytes:
    return _sheet(b'<c r="A1"><v>1</v></c><c r="B1" t="s"><v>0</v></c>').replace(
        b"</worksheet>",
        extra + b"<headerFooter><oddHeader>" + header + b"</oddHeader><oddFooter>&amp;P</oddFooter></headerFooter>"
        b"</worksheet>",
    )


def test_sheets_printed_with_other_headers_share_a_learnt_skeleton(empty_memory):
    """A unit's name in the page header (each return's own) does not keep a sheet from a skeleton learnt from
    another unit's: read through it, with the parse's facts and values."""
    _learn(_headed("&amp;L填报单位：甲镇&amp;R2025".encode()))
    other = _headed("&amp;L填报单位：乙街道办事处 &lt;二&gt;&amp;R2025".encode()).replace(b"<v>1</v>", b"<v>7</v>")
    assert _bounded._skeleton(other, _bounded.WINDOW)[0] in _bounded._KNOWN
    facts = _bounded.scan_sheet(other, _bounded.WINDOW)
    assert _bounded.is_learnt(facts.cells.slots)
    _same(facts, _sheetxml.parse_sheet(other, _bounded.WINDOW))


@pytest.mark.parametrize("text", [b"&undefined;", b"&#0;", b"&#53;", b"]]>", b"\x01", b"\xff", b"a\rb", b"&amp"])
def test_a_header_text_xml_would_not_take_as_it_is_goes_to_the_parser(text, empty_memory):
    """Through a learnt skeleton, a page header that is not plain character data (an undeclared or numeric
    reference, "]]>", a forbidden character, bad UTF-8) is judged by the parser: the same facts or the same refusal."""
    _learn(_headed("&amp;L甲".encode()))
    other = _headed(text)
    assert _bounded._skeleton(other, _bounded.WINDOW)[0] in _bounded._KNOWN
    facts = _as_parsed(other)
    assert facts is None or not _bounded.is_learnt(facts.cells.slots)


@pytest.mark.parametrize(
    "xml",
    [
        _headed(b"x", b"<!--").replace(b"</headerFooter>", b"</headerFooter>-->"),  # headers in a comment
        _headed(b"x")
        .replace(b"<headerFooter>", b'<headerFooter><w xmlns="urn:o">')
        .replace(b"</headerFooter>", b"</w></headerFooter>"),  # one level deeper: not the sheet's own header
        _headed(b"x").replace(b"<oddHeader>x", b"<oddHeader><![CDATA[x]]>"),  # CDATA: not cut
    ],
)
def test_a_header_cut_the_parse_does_not_prove_is_never_learnt(xml, empty_memory):
    """A page header cut that is not the text of the sheet's own header element (in a comment, one element deeper)
    is never learnt; a header the split cannot cut (CDATA) stays in the skeleton: either way, what the parse gives."""
    expected = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    for _ in range(3):
        _same(_bounded.scan_sheet(xml, _bounded.WINDOW), expected)
    if b"CDATA" in xml:
        assert b"CDATA[x]" in next(iter(_bounded._KNOWN))
    else:
        assert _bounded._KNOWN == {}


def test_a_learnt_latin1_lookalike_never_reads_utf8(empty_memory):
    """Only UTF-8 documents are learnt: a Latin-1 sheet's values are read by the parser (é is two characters there)."""
    xml = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + _sheet(b'<c r="A1" t="str"><v>a</v></c>')
    _learn(xml)
    other = xml.replace(b"<v>a</v>", b"<v>\xc3\xa9</v>")
    assert _bounded.scan_sheet(other, _bounded.WINDOW).cells.texts == ["\u00c3\u00a9"]


def test_memory_of_skeletons_is_bounded(empty_memory):
    """However many distinct sheets pass, only MAX_SKELETONS are learnt and the once-seen set is capped."""
    for i in range(_bounded.MAX_SKELETONS * 20):
        xml = _sheet(b'<c r="A1" s="%d"><v>1</v></c>' % i)
        for _ in range(2):
            _bounded.scan_sheet(xml, _bounded.WINDOW)
    assert len(_bounded._KNOWN) == _bounded.MAX_SKELETONS
    assert len(_bounded._SEEN) <= _bounded.MAX_SKELETONS * 8


@pytest.mark.parametrize(
    "cells",
    [
        b'<c r="A1" s="1"><v>46000</v></c><c r="B1"><v>2</v></c>',  # a date: set aside for calamine
        b'<c r="A1" t="b"><v>1</v></c><c r="B1" t="str"><f>"x"</f><v>x y</v></c><c r="C1" t="d"><v>2026-01-01</v></c>',
        b'<c r="A1" t="str"><f>""</f><v></v></c><c r="B2"><v> </v></c><c r="C3" t="s"><v>9</v></c>',
        b'<c r="A1"><v> 1.5e2 </v></c><c r="B1" t="s"><v>0</v></c><c r="C1" t="b"><v>true</v></c>',
        b'<c r="A1"><v>5_0</v></c><c r="B1" t="s"><v>3</v></c><c r="C1" t="b"><v>2</v></c><c r="D1" t="x"><v>1</v></c>',
        b'<c r="A1" t="s"><v>' + b"0" * 5000 + b'1</v></c><c r="B1" t="s"><v>0</v></c>',  # more digits than int() takes
    ],
)
def test_a_learnt_skeleton_reads_values_as_the_parse(cells, empty_memory):
    """Through a learnt skeleton, values convert as after a fresh parse (dates set aside alike, bad indexes alike)."""
    xml = _sheet(cells)
    facts = _learn(xml)
    assert _bounded.is_learnt(facts.cells.slots)
    fresh = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    got = _xlsxcells.convert(facts, ["甲"], frozenset({1}))
    want = _xlsxcells.convert(fresh, ["甲"], frozenset({1}))
    assert (got.values, got.dated, facts.malformed) == (want.values, want.dated, fresh.malformed)


@pytest.mark.parametrize(
    "sst",
    [
        b'<sst xmlns="MAIN"><si><t>a</t></si><si><t xml:space="preserve"> b </t></si></sst>',
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="MAIN" count="2" uniqueCount="2">'
        b"<si><t>\xe7\x94\xb2</t></si><si><t>x&amp;y</t></si></sst>",
        b'<sst xmlns="MAIN"><!--<si><t>hidden</t></si>--><si><t>a</t></si></sst>',
        b'<sst xmlns="MAIN"><si><r><t>a</t></r><r><rPr/><t>b</t></r><rPh><t>p</t></rPh></si><si/></sst>',
        b'<x:sst xmlns:x="MAIN"><x:si><x:t>a</x:t></x:si></x:sst>',
        b'<sst xmlns="MAIN"><si><t>1\r\n2</t></si><si><t><![CDATA[<b>]]></t></si></sst>',
    ],
)
def test_shared_strings_plain_way_equals_the_parse(sst, monkeypatch):
    """The shared-string table read the plain way (a table in the one spelling Excel writes) and by the parser give
    the same texts, whatever the spelling."""
    sst = sst.replace(b"MAIN", MAIN)
    fast = _xmlparts.shared_strings(sst)
    monkeypatch.setattr(_xmlparts, "_PLAIN_SST", type("Never", (), {"fullmatch": staticmethod(lambda _: None)}))
    monkeypatch.setattr(_xmlparts, "_STRINGS", Memo(8))
    assert fast == _xmlparts.shared_strings(sst)


def test_a_bad_shared_string_index_is_malformed():
    """A shared-string index past the table, or not an integer, is a malformed cell, not a blank or another text."""
    xml = _sheet(b'<c r="A1" t="s"><v>7</v></c><c r="B1" t="s"><v>0x1</v></c><c r="C1" t="s"><v>0</v></c>')
    facts = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    found = _xlsxcells.convert(facts, ["甲"], frozenset())
    assert facts.malformed == ["A1", "B1"] and found.values == [(0, 2, "甲")]


def test_a_far_cell_is_counted_without_being_kept():
    """A cell at XFD1048576 (written any way) is counted, never kept; a reference naming no cell is counted too."""
    xml = _sheet(b"<c r='A1'><v>1</v></c><c r='XFD1048576'><v>2</v></c><c r=\"XFE1\"><v>3</v></c>")
    facts = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    assert facts.stray == 2 and facts.cells.slots == [(0, 0, -1, "n")]


def test_texts_are_cut_at_excels_limit():
    """A 100,000-character value keeps Excel's 32,767 characters; memory does not follow the file."""
    xml = _sheet(b'<c r="A1" t="str"><v>' + b"x" * 100_000 + b"</v></c>")
    facts = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    assert len(facts.cells.texts[0]) == _xmlparts.MAX_TEXT


def test_a_dtd_is_refused_by_the_sheet_parser():
    """A sheet part carrying a DTD is XML-BOMB (even where the zip check was not asked)."""
    with pytest.raises(ReadError) as caught:
        _sheetxml.parse_sheet(b'<!DOCTYPE x [<!ENTITY a "b">]><worksheet/>', _bounded.WINDOW)
    assert caught.value.code == Code.XML_BOMB


def test_excels_own_escapes_are_undone_as_excel_and_calamine_do():
    """_x0041_ in a shared, inline or formula string is "A" (Excel's escape for any character; _x005F_ is "_"), as
    Excel and calamine read it (openpyxl undoes only some)."""
    import tests.test_xml_fuzz as fuzz

    for shared in (True, False):
        sp = fuzz.Spelling(1, False, False, False)
        sp.prefix, sp.shared = "", shared
        cells = {(0, 0): ("text", "a_x0041_b"), (1, 0): ("text", "c_x005F_x0041_d"), (2, 0): ("fs", "e_x0042_")}
        data = fuzz._package(sp, cells)
        assert _our_grids(data)["S"] == _calamine_grids(data)["S"] == [["aAb"], ["c_x0041_d"], ["eB"]]


@pytest.mark.parametrize(
    ("cells", "grid"),
    [
        (b'<c r="A1"><x><v>1</v></x></c><c r="B1"><v>2</v></c>', [["", 2.0]]),  # a value nested too deep
        (b'<c r="A1"><c r="B1"><v>1</v></c></c>', []),  # a cell inside a cell
        (b'<c r="A1"><x><f>WEBSERVICE("u")</f></x><v>1</v></c>', [[1.0]]),  # a formula nested too deep
        (b'<c r="A1" t="inlineStr"><is><x><t>no</t></x><r><t>y</t></r><t>es</t></is></c>', [["yes"]]),
    ],
)
def test_only_the_schemas_children_are_read(cells, grid):
    """A value, formula, cell or text run is read only where the schema puts it (<c><v>, <row><c>, <is><r><t>), as
    openpyxl and Excel read it: one nested elsewhere is not."""
    xml = _sheet(cells)
    facts = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
    assert _xlsxcells.dense(_xlsxcells.convert(facts, [], frozenset()).values) == grid
    assert not facts.formulas


def test_only_the_items_own_runs_are_shared_text():
    """A shared string's text is its <t> and its runs' <t>: not a phonetic guide's, not one nested elsewhere."""
    sst = b'<sst xmlns="' + MAIN + b'"><si><x><t>no</t></x><t>a</t><r><t>b</t></r><rPh><t>p</t></rPh></si></sst>'
    assert _xmlparts.shared_strings(sst) == ["ab"]
