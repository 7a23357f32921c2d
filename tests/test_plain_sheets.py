"""The plain-sheet reading (xltool.formats._plaindata) gives exactly what the XML parse gives, or steps aside.

A sheet whose cells are written the plain way is read without a parser event per cell; it must never read anything
the parse would read differently: every hostile spelling below either gives the parse's facts or goes to the parse.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest

from tests.fillings import random_return
from tests.sheet_facts import MAIN, facts_of, sheet
from xltool.formats import _plaindata, _sheetxml
from xltool.formats._bounded import LIST_WINDOW, WINDOW
from xltool.forms import form_for_year
from xltool.sources import ReadError
from xltool.template import write_xlsx

ROOT = Path(__file__).resolve().parent.parent


def _sheets(tmp_path: Path) -> list[bytes]:
    files = sorted((ROOT / "examples").rglob("*.xlsx")) + sorted((ROOT / "tests" / "fixtures").rglob("*.xlsx"))
    for year in (2025, 2020):
        for seed in range(2):
            files.append(
                write_xlsx(
                    random_return(form_for_year(year), year, random.Random(seed)), tmp_path / f"{year}{seed}.xlsx"
                )
            )
    out = []
    for path in files:
        try:
            with zipfile.ZipFile(path) as z:
                out += [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        except (zipfile.BadZipFile, OSError):
            continue
    return out


def test_every_sheet_we_have_reads_as_the_parse_reads_it(tmp_path):
    """Every sheet of every workbook we keep or write, in a return's and a roll-up list's window: the plain reading,
    where it applies, equals the parse fact for fact and value for value; most of them are plain."""
    plain = total = 0
    for xml in _sheets(tmp_path):
        for window in (WINDOW, LIST_WINDOW):
            try:
                parsed = _sheetxml.parse_sheet(xml, window)
            except ReadError:
                assert _plaindata.read_plain(xml, window) is None
                continue
            total += 1
            quick = _plaindata.read_plain(xml, window)
            if quick is not None:
                plain += 1
                assert facts_of(quick) == facts_of(parsed)
    assert plain >= total // 2 and plain >= 20


def _sheet(data: bytes, head: bytes = b"", tail: bytes = b"", root: bytes = b"") -> bytes:
    return sheet(data, tail, head, b'<?xml version="1.0" encoding="UTF-8"?>', root)


ROW = b'<row r="1"><c r="A1"><v>3</v></c><c r="B1"><f>A1*2</f><v>6</v></c></row>'
HOSTILE = {
    "comment between cells": _sheet(b'<row r="1"><c r="A1"><v>3</v></c><!--<c r="B1"><v>9</v></c>--></row>'),
    "sheetData inside a comment first": _sheet(
        ROW, head=b"<!--<sheetData>" + ROW.replace(b">3<", b">999<") + b"</sheetData>-->"
    ),
    "cdata value": _sheet(b'<row r="1"><c r="A1"><v><![CDATA[5]]></v></c></row>'),
    "prefixed cell": _sheet(b'<row r="1"><x:c r="A1"><x:v>5</x:v></x:c></row>', root=b' xmlns:x="' + MAIN + b'"'),
    "row in another namespace": _sheet(b'<row r="1" xmlns="urn:other"><c r="A1"><v>5</v></c></row>'),
    "undeclared prefix on a row": _sheet(b'<row r="1" x14ac:dyDescent="0.2"><c r="A1"><v>5</v></c></row>'),
    "unknown entity": _sheet(b'<row r="1"><c r="A1"><f>&foo;</f><v>5</v></c></row>'),
    "bare ampersand": _sheet(b'<row r="1"><c r="A1" t="str"><v>a & b</v></c></row>'),
    "character reference to a forbidden character": _sheet(b'<row r="1"><c r="A1" t="str"><v>&#1;</v></c></row>'),
    "carriage return": _sheet(b'<row r="1"><c r="A1" t="str"><v>a\r\nb</v></c></row>'),
    "far cell": _sheet(b'<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576"><v>2</v></c></row>'),
    "cell written twice": _sheet(b'<row r="1"><c r="A1"><v>1</v></c><c r="A01"><v>2</v></c></row>'),
    "two value elements": _sheet(b'<row r="1"><c r="A1"><v>1</v><v>2</v></c></row>'),
    "character references": _sheet(b'<row r="1"><c r="A1"><f>&#87;EBSERVICE("http://x")</f><v>&#53;</v></c></row>'),
    "latin-1 declared": _sheet(b'<row r="1"><c r="A1" t="str"><v>\xe9</v></c></row>').replace(
        b'"UTF-8"', b'"ISO-8859-1"'
    ),
    "cell outside a row": _sheet(b'<c r="A1"><v>1</v></c>'),
    "error value": _sheet(b'<row r="1"><c r="A1" t="e"><v>#DIV/0!</v></c><c r="B1" t="e"/></row>'),
    "hidden row": _sheet(b'<row r="2" hidden="1"><c r="A2"><v>1</v></c></row>'),
    "a second sheetData": _sheet(ROW, tail=b"<sheetData>" + ROW.replace(b"A1", b"C1") + b"</sheetData>"),
    "unsafe formula": _sheet(b'<row r="1"><c r="A1"><f>WEBSERVICE("http://x")</f><v>5</v></c></row>'),
    "empty value": _sheet(b'<row r="1"><c r="A1" t="str"><v></v></c><c r="B1"><f/></c></row>'),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_or_unusual_spelling_reads_as_the_parse_or_goes_to_it(name):
    """Comments, CDATA, prefixes, namespaces, entities, forbidden characters, far or repeated cells, other encodings:
    the plain reading gives what the parse gives, or nothing (and the parse decides)."""
    xml = HOSTILE[name]
    try:
        parsed = _sheetxml.parse_sheet(xml, WINDOW)
    except ReadError:
        assert _plaindata.read_plain(xml, WINDOW) is None
        return
    quick = _plaindata.read_plain(xml, WINDOW)
    assert quick is None or facts_of(quick) == facts_of(parsed)


def test_the_plain_way_is_taken_where_it_is_plain():
    """The spellings every writer uses (error values, hidden rows, unsafe formulas noted, references decoded) are
    read the plain way, so the fast reading is not a dead branch."""
    for name in ("error value", "hidden row", "unsafe formula", "character references", "empty value"):
        assert _plaindata.read_plain(HOSTILE[name], WINDOW) is not None, name
    for name in (
        "comment between cells",
        "sheetData inside a comment first",
        "cdata value",
        "prefixed cell",
        "far cell",
    ):
        assert _plaindata.read_plain(HOSTILE[name], WINDOW) is None, name
