"""Legal XML spelled another way reads as Excel reads it, and the guards see exactly what is read (issue 22, point 1):
single quotes, prefixes, the ISO Strict namespaces, relationship targets in another letter case or relative,
character references, CDATA, comments, xml:space, UTF-16 parts; malformed numbers and cells written twice are
reported, never read as something else. Each case is a filled return with one part rewritten."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from xltool.codes import Code
from xltool.forms import a1, form_for_year
from xltool.reading import read
from xltool.values import Invalid

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample-return-2025.xlsx"
KEY = "apply.new.natural_person"  # 三、依申请公开!D6, 3 in the sample
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
RELS = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_RELS = b"http://purl.oclc.org/ooxml/officeDocument/relationships"


def _place(key: str = KEY) -> tuple[str, str]:
    form = form_for_year(2025)
    cell = form.cell[key]
    return form.table(cell.table).sheet, a1(cell.row, cell.col)


def _parts(path: Path = SAMPLE) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _save(parts: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def _sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    names = re.findall(rb'<sheet [^>]*name="([^"]+)"[^>]*r:id="(rId\d+)"', parts["xl/workbook.xml"])
    rid = next(r for n, r in names if n.decode() == sheet)
    target = re.search(rb'Id="' + rid + rb'"[^>]*Target="([^"]+)"', parts["xl/_rels/workbook.xml.rels"]).group(1)
    return "xl/" + target.decode().lstrip("/").removeprefix("xl/")


def _cell(xml: bytes, where: str) -> bytes:
    return re.search(rb'<c r="' + where.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', xml).group(0)


def _return(tmp_path: Path, edit, name: str = "r.xlsx") -> Path:
    """The sample return with `edit(parts, table_sheet_part)` applied."""
    parts = _parts()
    edit(parts, _sheet_part(parts, _place()[0]))
    return _save(parts, tmp_path / name)


def _replace_cell(new: bytes):
    """An edit that writes the input cell of KEY as `new` (with {where} for its reference)."""

    def edit(parts, part):
        where = _place()[1]
        parts[part] = parts[part].replace(_cell(parts[part], where), new.replace(b"{where}", where.encode()))

    return edit


def _codes(ret) -> set[str]:
    return {str(p.code) for p in ret.read_problems}


def _problem(ret, code: str):
    return next(p for p in ret.read_problems if p.code == code)


def _assert_formula(ret) -> None:
    """KEY's input cell read as a formula (FORMULA-IN-INPUT), not as the result cached beside it."""
    value = ret.values[KEY]
    assert isinstance(value, Invalid) and value.code == Code.FORMULA_IN_INPUT and value.raw == "=1+1"


def _read_in_child(path: Path) -> subprocess.CompletedProcess:
    """Read in a child process (a reader that allocates for a far cell aborts the process it runs in)."""
    code = (
        "import sys; from pathlib import Path; from xltool.reading import read; "
        "r = read(Path(sys.argv[1])); print(' '.join(sorted({str(p.code) for p in r.read_problems})))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )


# --- far cells, however quoted ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["XFD1048576", "CV5000"])
def test_single_quoted_far_cell_is_counted_not_built(tmp_path, ref):
    """<c r='XFD1048576'> in single quotes is a far cell like any other: STRAY-CELLS, read without building it."""

    def edit(parts, part):
        row = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        far = f"<row r='{row}'><c r='{ref}'><v>7</v></c></row>".encode()
        parts[part] = parts[part].replace(b"</sheetData>", far + b"</sheetData>")

    done = _read_in_child(_return(tmp_path, edit))
    assert done.returncode == 0, done.stderr[-500:]
    assert "STRAY-CELLS" in done.stdout.split()


# --- ISO Strict, relationship targets -----------------------------------------------------------------------------


def _strict(parts: dict[str, bytes]) -> None:
    """Every part in the ISO Strict namespaces (as Excel's "Strict Open XML" save writes them)."""
    for name, data in parts.items():
        if name.endswith((".xml", ".rels")):
            parts[name] = data.replace(MAIN, STRICT).replace(RELS, STRICT_RELS)


def test_strict_workbook_far_cell_and_formula_in_input_are_seen(tmp_path):
    """A Strict workbook: the far cell is counted (no crash) and =1+1 caching 5 in an input cell is FORMULA-IN-INPUT,
    never 5."""

    def edit(parts, part):
        _replace_cell(b'<c r="{where}" s="13"><f>1+1</f><v>5</v></c>')(parts, part)
        parts[part] = parts[part].replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        )
        _strict(parts)

    path = _return(tmp_path, edit)
    done = _read_in_child(path)
    assert done.returncode == 0, done.stderr[-500:]
    assert "STRAY-CELLS" in done.stdout.split()
    _assert_formula(read(path))


@pytest.mark.parametrize("target", ["/XL/Worksheets/{base}", "../xl/worksheets/{base}"])
def test_relationship_targets_resolve_as_opc_says(tmp_path, target):
    """A sheet's relationship target in another letter case, or relative with "..", names the same part:
    the formula in its input cell is seen (FORMULA-IN-INPUT), not read as its cached value."""

    def edit(parts, part):
        _replace_cell(b'<c r="{where}" s="13"><f>1+1</f><v>5</v></c>')(parts, part)
        base = part.rpartition("/")[2]
        rels = parts["xl/_rels/workbook.xml.rels"]
        parts["xl/_rels/workbook.xml.rels"] = re.sub(
            rb'Target="[^"]*/' + base.encode() + b'"', f'Target="{target.format(base=base)}"'.encode(), rels
        )

    _assert_formula(read(_return(tmp_path, edit)))


# --- prefixes, character references ---------------------------------------------------------------------------------


def test_prefixed_formula_in_input_cell_is_a_formula(tmp_path):
    """<x:f>1+1</x:f> (the main namespace under a prefix) in an input cell is a formula, not its cached 3."""

    def edit(parts, part):
        _replace_cell(b'<c r="{where}" s="13"><x:f xmlns:x="' + MAIN + b'">1+1</x:f><v>3</v></c>')(parts, part)

    _assert_formula(read(_return(tmp_path, edit)))


@pytest.mark.parametrize(
    "formula",
    [
        b"&#87;EBSERVICE(&quot;http://example.invalid/x&quot;)",
        b"cmd&#124;' /C calc'!A0",
        b"&#91;1&#93;Sheet1!A1",
    ],
)
def test_unsafe_formula_spelled_with_references_is_unsafe(tmp_path, formula):
    """A web-service, DDE or other-workbook formula beside the tables, spelled with character references, is
    UNSAFE-FORMULA like the plain spelling."""

    def edit(parts, part):
        cell = b'<c r="U2"><f>' + formula + b"</f><v>0</v></c>"
        parts[part] = re.sub(rb'(<row r="2"[^>]*>)', lambda m: m.group(1), parts[part], count=1)
        parts[part] = parts[part].replace(b"</row>", cell + b"</row>", 1)

    ret = read(_return(tmp_path, edit))
    assert Code.UNSAFE_FORMULA in _codes(ret)


# --- comments, shared strings ---------------------------------------------------------------------------------------


def test_a_commented_out_cell_is_not_read(tmp_path):
    """<!--<c r="D6"><v>999</v></c>--> before the real D6: the real value is read (as Excel shows it), nothing twice."""

    def edit(parts, part):
        where = _place()[1]
        real = _cell(parts[part], where)
        parts[part] = parts[part].replace(real, b'<!--<c r="' + where.encode() + b'"><v>999</v></c>-->' + real)

    ret = read(_return(tmp_path, edit))
    assert ret.values[KEY] == Decimal(3)
    assert Code.DUPLICATE_CELLS not in _codes(ret)


def test_a_shared_string_in_a_comment_does_not_shift_the_table(tmp_path):
    """A shared string hidden in a comment right before the unit name's item changes no text read: the unit is the
    unit."""
    unit = read(SAMPLE).unit.name
    parts = _parts()
    sst = parts["xl/sharedStrings.xml"]
    at = sst.index(f"<si><t>{unit}</t></si>".encode())  # hidden right before the unit's own item
    sst = sst[:at] + "<!--<si><t>假单位</t></si>-->".encode() + sst[at:]
    parts["xl/sharedStrings.xml"] = sst
    ret = read(_save(parts, tmp_path / "sst.xlsx"))
    assert ret.unit.name == unit
    assert ret.values[KEY] == Decimal(3)


def test_a_commented_out_unit_name_is_not_read(tmp_path):
    """The unit name cell followed by a commented-out copy naming another unit: the real name is read."""
    unit = read(SAMPLE).unit.name
    parts = _parts()
    part = _sheet_part(parts, "填报说明")
    xml = parts[part]
    index = parts["xl/sharedStrings.xml"].decode().split("<si>").index(f"<t>{unit}</t></si>") - 1
    cell = re.search(rb'<c r="B\d+"[^>]*t="s"[^>]*><v>' + str(index).encode() + b"</v></c>", xml).group(0)
    fake = re.sub(rb"<v>\d+</v>", b"<v>0</v>", cell)
    parts[part] = xml.replace(cell, cell + b"<!--" + fake + b"-->")
    assert read(_save(parts, tmp_path / "unit.xlsx")).unit.name == unit


# --- hidden sheets ------------------------------------------------------------------------------------------------


def test_a_very_hidden_table_sheet_in_a_strict_workbook_is_reported(tmp_path):
    """The table's own sheet made veryHidden (state in single quotes, the workbook in Strict namespaces) behind a
    visible copy: TABLE-SHEET-HIDDEN and SHEET-COPY, never read silently."""
    sheet = _place()[0]
    parts = _parts()
    wb = parts["xl/workbook.xml"]
    tag = re.search(rb'<sheet [^>]*name="' + sheet.encode() + rb'"[^>]*/>', wb).group(0)
    hidden = tag.replace(b"<sheet ", b"<sheet state='veryHidden' ", 1)
    copy = re.sub(rb'name="[^"]+"', ("name='" + sheet + " '").encode(), tag)
    copy = re.sub(rb'sheetId="\d+"', b'sheetId="99"', copy)
    parts["xl/workbook.xml"] = wb.replace(tag, copy + hidden)
    _strict(parts)
    codes = {(str(p.code), p.sheet) for p in read(_save(parts, tmp_path / "h.xlsx")).read_problems}
    assert ("TABLE-SHEET-HIDDEN", sheet) in codes
    assert ("SHEET-COPY", sheet + " ") in codes


# --- values -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        b'<c r="{where}" s="13"><v xml:space="preserve">11</v></c>',
        b'<c r="{where}" s="13"><v>&#49;&#x31;</v></c>',
        b'<c r="{where}" s="13"><v><![CDATA[11]]></v></c>',
        b'<c r="{where}" s="13"><v>1<!-- a comment -->1</v></c>',
    ],
)
def test_legal_spellings_of_a_number_read_as_the_number(tmp_path, cell):
    """xml:space, character references, CDATA, a comment inside the text: 11 each time."""
    ret = read(_return(tmp_path, _replace_cell(cell)))
    assert ret.values[KEY] == Decimal(11)
    assert not {Code.MALFORMED_CELL, Code.CORRUPT} & _codes(ret)


@pytest.mark.parametrize(
    "cell",
    [
        b'<c r="{where}" s="13"><v>\n 11 \t</v></c>',
        b"<c s='13' r='{where}' t='n'><v>11</v></c>",
        b'<c r="{where}" s="13" t="inlineStr"><is><t>11</t></is></c>',
        b'<c r="{where}" s="13"><v>1.1E1</v></c>',
    ],
)
def test_spellings_read_before_still_read(tmp_path, cell):
    """Whitespace around a number, attributes in single quotes in another order, an inline string, an exponent: still
    11 (controls: these read right before the parser too)."""
    ret = read(_return(tmp_path, _replace_cell(cell)))
    assert ret.values[KEY] == Decimal(11)
    assert not {Code.MALFORMED_CELL, Code.CORRUPT} & _codes(ret)


@pytest.mark.parametrize("text", [b"5_0", b"\xef\xbc\x95", b"1e", b"INF", b"0x10", b"5 0"])
def test_a_value_that_is_no_xml_number_is_malformed_not_read(tmp_path, text):
    """<v>5_0</v> (or a full-width digit, a bare exponent, INF, hex, two numbers) is no double of XML Schema: the cell
    is MALFORMED-CELL and its value invalid, never 50."""
    ret = read(_return(tmp_path, _replace_cell(b'<c r="{where}" s="13"><v>' + text + b"</v></c>")))
    assert Code.MALFORMED_CELL in _codes(ret)
    assert _problem(ret, Code.MALFORMED_CELL).cell == _place()[1]
    assert isinstance(ret.values[KEY], Invalid)


def test_a_cell_written_twice_in_single_quotes_is_reported(tmp_path):
    """<c r='D6'> twice (single quotes): DUPLICATE-CELLS, and the value read is the last one, as every reader does."""
    ret = read(
        _return(tmp_path, _replace_cell(b"<c r='{where}' s='13'><v>999</v></c><c r='{where}' s='13'><v>3</v></c>"))
    )
    assert _problem(ret, Code.DUPLICATE_CELLS).cell == _place()[1]
    assert ret.values[KEY] == Decimal(3)


def _prefixed(xml: bytes) -> bytes:
    """Every element of the main namespace written with the prefix x: (the default namespace gone)."""
    xml = xml.replace(b'xmlns="' + MAIN + b'"', b'xmlns:x="' + MAIN + b'"', 1)
    return re.sub(rb"<(/?)(?![?!])(?![a-zA-Z0-9]+:)([A-Za-z])", rb"<\1x:\2", xml)


def test_a_fully_prefixed_sheet_reads_the_same(tmp_path):
    """A table sheet whose every element carries a namespace prefix reads the same values and formulas."""

    def edit(parts, part):
        parts[part] = _prefixed(parts[part])

    ret, plain = read(_return(tmp_path, edit)), read(SAMPLE)
    assert ret.values == plain.values
    assert _codes(ret) == _codes(plain)


def test_utf16_parts_read_the_same(tmp_path):
    """The workbook, the shared strings and a table sheet encoded as UTF-16 read the same as UTF-8."""

    def edit(parts, part):
        for name in (part, "xl/workbook.xml", "xl/sharedStrings.xml"):
            text = parts[name].decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
            parts[name] = text.encode("utf-16")

    ret, plain = read(_return(tmp_path, edit)), read(SAMPLE)
    assert ret.values == plain.values and ret.unit.name == plain.unit.name
    assert _codes(ret) == _codes(plain)


# --- unsafe rules and names ---------------------------------------------------------------------------------------


def test_unsafe_conditional_formats_validations_and_names_are_reported(tmp_path):
    """A conditional format calling WEBSERVICE, a list validation reading another workbook and a defined name holding
    a DDE call are each UNSAFE-FORMULA, and the sheet facts name the rules (for the annotated copy to drop them)."""
    from xltool.formats.xlsx import parse

    def edit(parts, part):
        rule = (
            b'<conditionalFormatting sqref="D6"><cfRule type="expression" priority="1">'
            b'<formula>WEBSERVICE("http://example.invalid/")&lt;&gt;""</formula></cfRule></conditionalFormatting>'
        )
        xml = parts[part].replace(b"<dataValidations", rule + b"<dataValidations", 1)
        xml = xml.replace(
            b"</dataValidations>",
            b'<dataValidation type="list" sqref="E6"><formula1>[1]Sheet1!$A$1:$A$3</formula1></dataValidation>'
            b"</dataValidations>",
            1,
        )
        parts[part] = xml
        wb = parts["xl/workbook.xml"]
        name = b"<definedName name=\"evil\">cmd|' /C calc'!A0</definedName>"
        parts["xl/workbook.xml"] = (
            wb.replace(b"<definedNames>", b"<definedNames>" + name, 1)
            if b"<definedNames>" in wb
            else wb.replace(b"</sheets>", b"</sheets><definedNames>" + name + b"</definedNames>", 1)
        )

    path = _return(tmp_path, edit)
    found = [p for p in read(path).read_problems if p.code == Code.UNSAFE_FORMULA]
    kinds = {(p.values or {}).get("kind") or ("name" if (p.values or {}).get("name") else None) for p in found}
    assert {"conditionalFormatting", "dataValidation", "name"} <= kinds
    page = parse(path.read_bytes())
    rules = page.structure[_place()[0]].unsafe_rules
    assert {(kind, sqref) for kind, sqref, _ in rules} == {("conditionalFormatting", "D6"), ("dataValidation", "E6")}
    assert [n for n, _ in page.unsafe_names] == ["evil"]


def test_a_dtd_in_any_part_is_refused(tmp_path):
    """A DTD declared after a comment in the prolog of the shared strings is XML-BOMB (the parser refuses it too)."""
    from xltool.formats._xmlparts import shared_strings
    from xltool.sources import ReadError

    with pytest.raises(ReadError) as caught:
        shared_strings(b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "b">]><sst><si><t>&a;</t></si></sst>')
    assert caught.value.code == Code.XML_BOMB


def test_a_binary_workbook_is_refused_unread(tmp_path):
    """A package whose workbook is binary (xl/workbook.bin, .xlsb) has no XML to bound: NOT-SPREADSHEET with a
    reason, never handed to a reader that would build its far cells."""
    from xltool.sources import ReadError

    parts = {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>", "xl/workbook.bin": b"\x83\x01"}
    with pytest.raises(ReadError) as caught:
        read(_save(parts, tmp_path / "b.xlsx"))
    assert caught.value.code == Code.NOT_SPREADSHEET


def test_a_sheet_listed_outside_sheets_is_no_sheet(tmp_path):
    """A <sheet> element hidden in an extension of workbook.xml (where Excel lists none) names no sheet: the workbook
    reads as without it."""
    sheet = _place()[0]
    parts = _parts()
    wb = parts["xl/workbook.xml"]
    tag = re.search(rb'<sheet [^>]*name="' + sheet.encode() + rb'"[^>]*/>', wb).group(0)
    ghost = re.sub(rb'name="[^"]+"', b'name="ghost"', tag)
    parts["xl/workbook.xml"] = wb.replace(
        b"</workbook>", b"<extLst><ext uri='x'>" + ghost + b"</ext></extLst></workbook>"
    )
    ret = read(_save(parts, tmp_path / "g.xlsx"))
    assert Code.SHEET_ADDED not in _codes(ret)
    assert ret.values[KEY] == Decimal(3)
