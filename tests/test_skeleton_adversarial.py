"""An adversarial review of the xlsx sheet reader's short ways: a sheet read through a learnt skeleton
(xltool.formats._bounded) or the plain way (xltool.formats._plaindata) gives exactly what the XML parse gives — the
same facts, cells and texts — or the same refusal, whatever bytes it holds.

Each case learns a sheet A (three reads), then reads a sheet B that differs from A only inside the texts the
skeleton cuts out (values, page headers and footers) — or differs where the cuts are not what they seem (comments,
CDATA, processing instructions, other namespaces, nesting) — and compares with a fresh parse. A property test does
the same over sheets generated from a small grammar. The short ways have no public switch, so these tests call the
private parts directly."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sheet_facts import MAIN, facts_of, sheet
from xltool.formats import _bounded, _plaindata, _sheetxml, _xlsxcells, _xmlparts
from xltool.formats.page import SheetFacts
from xltool.memo import Memo
from xltool.sources import ReadError

W = _bounded.WINDOW
HEADERS = [name.encode() for name in _sheetxml.HEADER_TEXTS]
UNIT = "&amp;L填报单位：甲镇&amp;R报告年度：2025".encode()  # what an ordinary return prints at the top


STRINGS, DATES = ["甲", "乙"], frozenset({1})  # a shared-string table and the date styles the values are read with


def _read(facts: SheetFacts) -> tuple:
    """The facts, then the values made of them (which also note malformed cells in the facts)."""
    found = facts_of(facts, ordered=False)
    values = _xlsxcells.convert(facts, STRINGS, DATES)
    in_place = sorted(values.values, key=lambda v: (v[0], v[1]))  # the learnt way groups them by kind
    return found, (in_place, values.dated, list(facts.malformed))


def _parsed(xml: bytes) -> tuple | str:
    """The parse's facts and values, or the code it refuses the sheet with."""
    try:
        return _read(_sheetxml.parse_sheet(xml, W))
    except ReadError as exc:
        return exc.code


def _scanned(xml: bytes) -> tuple | str:
    try:
        return _read(_bounded.scan_sheet(xml, W))
    except ReadError as exc:
        return exc.code


def _agrees(xml: bytes, times: int = 1) -> None:
    """scan_sheet (read `times` times: met once, learnt, then through the skeleton) and read_plain, where it
    applies, give what the parse gives: facts, cells and texts, and the values made of them."""
    expected = _parsed(xml)
    for _ in range(times):
        assert _scanned(xml) == expected
    try:
        plain = _plaindata.read_plain(xml, W)
    except ReadError as exc:
        plain = exc.code
    assert plain is None or (plain if isinstance(plain, str) else _read(plain)) == expected


def _id(text: bytes) -> str:
    return repr(text[:24]) + (f"…({len(text)} bytes)" if len(text) > 24 else "")


def _forget() -> None:
    _bounded._KNOWN = {}
    _bounded._SEEN = Memo(_bounded.MAX_SKELETONS * 8)
    _bounded._TRIED = Memo(_bounded.MAX_SKELETONS * 8)


@pytest.fixture
def empty_memory(monkeypatch):
    """No skeleton learnt (the module's memory is put back afterwards)."""
    monkeypatch.setattr(_bounded, "_KNOWN", {})
    monkeypatch.setattr(_bounded, "_SEEN", Memo(_bounded.MAX_SKELETONS * 8))
    monkeypatch.setattr(_bounded, "_TRIED", Memo(_bounded.MAX_SKELETONS * 8))


def _learnt(xml: bytes) -> bool:
    skeleton = _bounded._skeleton(xml, W)[0]
    return skeleton is not None and skeleton in _bounded._KNOWN


_V = re.compile(rb"<v>[^<]*</v>")
_H = re.compile(rb"(<(?:" + b"|".join(HEADERS) + rb")>)[^<]*(?=</)")


def _mutated(xml: bytes, value: bytes | None = None, header: bytes | None = None) -> bytes:
    """The sheet with the text of every `<v>…</v>` and of every header-like element (wherever it stands) replaced."""
    if value is not None:
        xml = _V.sub(lambda _: b"<v>" + value + b"</v>", xml)
    if header is not None:
        xml = _H.sub(lambda m: m.group(1) + header, xml)
    return xml


_sheet = sheet


CELLS = b'<row r="1"><c r="A1"><v>1</v></c><c r="B1" t="s"><v>0</v></c><c r="C1" t="str"><f>"x"</f><v>x</v></c></row>'
HF = (
    b'<headerFooter differentFirst="1"><oddHeader>' + UNIT + b"</oddHeader><oddFooter>&amp;P</oddFooter>"
    b"<evenHeader>e</evenHeader><firstFooter></firstFooter></headerFooter>"
)
A = _sheet(CELLS, HF)

# Texts put where A's header and footer texts were: anything XML allows in content, and much it does not.
HEADER_TEXTS = [
    UNIT.replace("甲镇".encode(), "乙街道办事处 &lt;二&gt;".encode()),
    b"",
    b"-->",
    b"<!--",
    b"]]>",
    b"]]&gt;",
    b"]&amp;]>",
    b"]]",
    b"?>",
    b">",
    b"\"'",
    b"&amp",
    b"&amp;amp",
    b"&#38;",
    b"&#x26;",
    b"&#0;",
    b"&#xFFFE;",
    b"&undefined;",
    b"&lt;v&gt;1&lt;/v&gt;",
    b"<v>9</v>",
    b"</oddHeader><oddHeader>",
    b"&lt;headerFooter&gt;",
    b"a\rb",
    b"a\r\nb",
    b"\t\n ",
    b"\x00",
    b"\x01",
    b"\x7f",
    "\x85\x80".encode(),  # C1 controls: allowed
    "\ufdd0\U0001fffe\U0010ffff".encode(),  # noncharacters XML allows
    b"\xef\xbf\xbe",
    b"\xef\xbf\xbf",
    b"\xed\xa0\x80",  # a surrogate
    b"\xc0\xaf",  # an overlong "/"
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xff",
    b"\xe7&amp;\x94\xb2",  # not UTF-8 (甲 cut in two), though it is once the reference is taken out
    b"\xe7\x94&lt;\xb2",
    b"\xf0&gt;\x9f\x98\x80",
    b"\xed&quot;\xa0\x80",
    b"\xef&apos;\xbf\xbe",
    b"&amp;L" + "长".encode() * 20_000,
]


@pytest.mark.parametrize("text", HEADER_TEXTS, ids=_id)
def test_any_header_text_through_a_learnt_skeleton_reads_as_the_parse(text, empty_memory):
    """Any header or footer text of a sheet with A's skeleton reads as the parse reads it, or is refused alike."""
    _agrees(A, 3)
    assert _learnt(A)
    b = _mutated(A, header=text)
    _agrees(b, 3)


def test_a_header_broken_only_by_splitting_a_character_is_refused(empty_memory):
    """A header that is UTF-8 only once `&amp;` is taken out (甲 cut in two) is CORRUPT on the short way too."""
    _agrees(A, 3)
    b = _mutated(A, header=b"\xe7&amp;\x94\xb2")
    assert _parsed(b) == "CORRUPT"
    assert _scanned(b) == "CORRUPT"


def test_ordinary_unit_headers_still_take_the_learnt_skeleton(empty_memory):
    """The short way still serves ordinary returns: another unit's header and other values read through A's skeleton."""
    _agrees(A, 3)
    b = _mutated(A.replace(b"<v>1</v>", b"<v>42</v>"), header=UNIT.replace("甲镇".encode(), "丙乡".encode()))
    facts = _bounded.scan_sheet(b, W)
    assert _bounded.is_learnt(facts.cells.slots)
    assert _read(facts) == _parsed(b)


VALUE_TEXTS = [
    b"",
    b" ",
    b"1e5",
    b" 1 ",
    b"0x1",
    b"1_0",
    b"-0",
    b"INF",
    b"1",
    b"-->",
    b"]]",
    b"]]>",
    b">",
    b"&amp;",
    b"&#49;",
    b"\r",
    b"\t\n",
    b"\x00",
    b"\x1f",
    "\x85".encode(),
    "\ufdd0".encode(),
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xef\xbf\xbf",
    b"7" * (_xmlparts.MAX_TEXT + 1),
    "长".encode() * (_xmlparts.MAX_TEXT + 5),
]


@pytest.mark.parametrize("text", VALUE_TEXTS, ids=_id)
def test_any_value_text_through_a_learnt_skeleton_reads_as_the_parse(text, empty_memory):
    """Any value text of a sheet with A's skeleton reads as parsed (cut at Excel's limit), or is refused alike."""
    _agrees(A, 3)
    _agrees(_mutated(A, value=text), 3)


def test_a_value_past_excels_limit_is_cut_as_the_parse_cuts_it(empty_memory):
    """A value of 40,000 characters in a sheet with a learnt skeleton keeps Excel's 32,767, as the parse keeps."""
    _agrees(A, 3)
    b = A.replace(b'<c r="C1" t="str"><f>"x"</f><v>x</v>', b'<c r="C1" t="str"><f>"x"</f><v>' + b"y" * 40_000 + b"</v>")
    assert _bounded._skeleton(b, W)[0] in _bounded._KNOWN
    facts = _bounded.scan_sheet(b, W)
    assert len(facts.cells.texts[2]) == _xmlparts.MAX_TEXT
    assert _read(facts) == _parsed(b)


def test_a_long_value_among_empty_headers_is_cut_as_the_parse_cuts_it(empty_memory):
    """Empty header texts (each cut to a NUL, one byte more than was there) do not hide a value past Excel's limit."""
    a = _sheet(CELLS, _hf(b"<oddHeader></oddHeader>" * 12))
    _agrees(a, 3)
    assert _learnt(a)
    b = a.replace(b"<v>x</v>", b"<v>" + b"y" * (_xmlparts.MAX_TEXT + 1) + b"</v>")
    assert _learnt(b)
    assert len(_bounded.scan_sheet(b, W).cells.texts[2]) == _xmlparts.MAX_TEXT
    _agrees(b)


@pytest.mark.parametrize("declared", [b"utf8", b"UTF8"])
def test_a_sheet_declared_utf8_without_the_hyphen_reads_as_the_parse(declared, empty_memory):
    """A sheet declared "utf8" (expat finds its Chinese CORRUPT) is read as UTF-8 by no short way."""
    a = _sheet(CELLS, HF.replace(UNIT, b"a"), prolog=b'<?xml version="1.0" encoding="' + declared + b'"?>')
    _agrees(a, 3)
    b = a.replace(b"<v>x</v>", "<v>乙</v>".encode())
    assert _parsed(b) == "CORRUPT"
    _agrees(b, 3)
    assert _plaindata.read_plain(b, W) is None


def _hf(body: bytes, attrs: bytes = b"") -> bytes:
    return b"<headerFooter" + attrs + b">" + body + b"</headerFooter>"


# Sheets whose cuts stand in odd places: each is read three times (learnt where the parse proves the cuts), then
# with every cut text replaced by each of a few hostile texts.
SHAPES = {
    "two headerFooter elements": _sheet(CELLS, _hf(b"<oddHeader>a</oddHeader>") + _hf(b"<oddFooter>b</oddFooter>")),
    "headerFooter nested in headerFooter": _sheet(CELLS, _hf(_hf(b"<oddHeader>a</oddHeader>"))),
    "headerFooter in a comment after the sheet's own": _sheet(
        CELLS, HF + b"<!--" + _hf(b"<oddHeader>a</oddHeader>") + b"-->"
    ),
    "headers in a comment inside the sheet's own": _sheet(
        CELLS, _hf(b"<!--<oddHeader>a</oddHeader>--><oddFooter>b</oddFooter>")
    ),
    "headers in CDATA after the sheet's own": _sheet(
        CELLS, HF + b"<extLst><ext><![CDATA[<oddHeader>a</oddHeader>]]></ext></extLst>"
    ),
    "headerFooter in CDATA after the sheet's own": _sheet(
        CELLS, HF + b"<extLst><ext><![CDATA[<headerFooter><oddHeader>a</oddHeader>]]></ext></extLst>"
    ),
    "headerFooter in a processing instruction": _sheet(CELLS, HF + b"<?x <headerFooter><oddHeader>a</oddHeader> ?>"),
    "headerFooter in another namespace": _sheet(
        CELLS, b'<headerFooter xmlns="urn:o"><oddHeader>a</oddHeader></headerFooter>'
    ),
    "headers in another namespace": _sheet(
        CELLS, _hf(b'<oddHeader xmlns="urn:o">a</oddHeader><w xmlns="urn:o"><oddFooter>b</oddFooter></w>')
    ),
    "prefixed headerFooter, unprefixed headers": _sheet(
        CELLS, b"<x:headerFooter><oddHeader>a</oddHeader></x:headerFooter>", root=b' xmlns:x="' + MAIN + b'"'
    ),
    "prefixed headerFooter after a decoy": _sheet(
        CELLS,
        b"<!--<headerFooter>--><x:headerFooter><oddHeader>a</oddHeader></x:headerFooter>",
        root=b' xmlns:x="' + MAIN + b'"',
    ),
    "prefixed headers": _sheet(CELLS, _hf(b"<x:oddHeader>a</x:oddHeader>"), root=b' xmlns:x="' + MAIN + b'"'),
    "a header element inside sheetData": _sheet(b"<oddHeader>z</oddHeader>" + CELLS, b"", head=b"<!--<headerFooter-->"),
    "a header element inside a cell": _sheet(
        CELLS.replace(b'<c r="A1">', b'<c r="A1"><oddHeader>z</oddHeader>'), b"", head=b"<!--<headerFooter-->"
    ),
    "a header element inside a value": _sheet(
        CELLS.replace(b"<v>x</v>", b"<v>x<oddHeader>z</oddHeader></v>"), b"", head=b"<!--<headerFooter-->"
    ),
    "a header element inside a formula": _sheet(
        CELLS.replace(b'<f>"x"</f>', b"<f><oddHeader>1</oddHeader></f>"), b"", head=b"<!--<headerFooter-->"
    ),
    "a header element inside a rule's formula": _sheet(
        CELLS,
        HF + b'<conditionalFormatting sqref="A1"><cfRule type="expression"><formula><oddHeader>1</oddHeader>'
        b"</formula></cfRule></conditionalFormatting>",
    ),
    "a value inside a header element": _sheet(CELLS, _hf(b"<oddHeader><v>1</v></oddHeader>")),
    "values after headerFooter": b'<worksheet xmlns="'
    + MAIN
    + b'">'
    + HF
    + b"<sheetData>"
    + CELLS
    + b"</sheetData></worksheet>",
    "headerFooter twice around the data": b'<worksheet xmlns="'
    + MAIN
    + b'">'
    + HF
    + b"<sheetData>"
    + CELLS
    + b"</sheetData>"
    + HF
    + b"</worksheet>",
    "the words headerFooter in a header text": _sheet(CELLS, _hf(b"<oddHeader>&lt;headerFooter&gt;</oddHeader>")),
    "a header with attributes": _sheet(CELLS, _hf(b'<oddHeader a="1">a</oddHeader><oddFooter>b</oddFooter>')),
    "an empty and a self-closed header": _sheet(CELLS, _hf(b"<oddHeader></oddHeader><oddFooter/>")),
    "a header with CDATA": _sheet(CELLS, _hf(b"<oddHeader>a<![CDATA[b]]></oddHeader>")),
    "a header split by a comment": _sheet(CELLS, _hf(b"<oddHeader>a<!--c-->b</oddHeader>")),
    "mismatched header tags": _sheet(CELLS, _hf(b"<oddHeader>a</oddFooter>")),
    "BOM and declaration": _sheet(CELLS, HF, prolog=b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n'),
    "declared Latin-1": _sheet(CELLS, HF, prolog=b'<?xml version="1.0" encoding="ISO-8859-1"?>'),
    "declared utf8": _sheet(CELLS, HF, prolog=b'<?xml version="1.0" encoding="utf8"?>'),
    "declared US-ASCII": _sheet(CELLS, HF, prolog=b'<?xml version="1.0" encoding="US-ASCII"?>'),
    "XML 1.1": _sheet(CELLS, HF, prolog=b'<?xml version="1.1" encoding="UTF-8"?>'),
    "UTF-16": ('<?xml version="1.0" encoding="UTF-16"?>' + _sheet(CELLS, HF).decode()).encode("utf-16"),
    "a DTD": _sheet(CELLS, HF, prolog=b"<!DOCTYPE worksheet>"),
    "a value in a comment": _sheet(CELLS + b"<!--<v>5</v>-->", HF),
    "a value in CDATA": _sheet(CELLS.replace(b'<f>"x"</f>', b"<f><![CDATA[<v>5</v>]]></f>"), HF),
    "a value inside a header's CDATA": _sheet(CELLS, _hf(b"<oddHeader><![CDATA[<v>5</v>]]></oddHeader>")),
}
MUTANTS = [b"]]>", b"-->", b"?>", b"&amp", b"\xe7&amp;\x94\xb2", b"a\rb", b"&#0;", b"\x00", "乙".encode()]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_cuts_in_odd_places_read_as_the_parse(name, empty_memory):
    """Cuts in comments, CDATA, PIs, other namespaces, nested or prefixed elements, encodings: read as parsed."""
    a = SHAPES[name]
    _agrees(a, 3)
    for text in MUTANTS:
        _agrees(_mutated(a, header=text), 2)
        _agrees(_mutated(a, value=text), 2)
        _agrees(_mutated(a, value=text, header=text), 1)


@pytest.mark.parametrize(
    "name",
    [
        "headerFooter in a comment after the sheet's own",
        "headers in a comment inside the sheet's own",
        "headers in CDATA after the sheet's own",
        "headerFooter in CDATA after the sheet's own",
        "headerFooter in a processing instruction",
        "headerFooter in another namespace",
        "headers in another namespace",
        "headerFooter nested in headerFooter",
        "a header element inside sheetData",
        "a header element inside a cell",
        "a header element inside a value",
        "a header element inside a formula",
        "a header element inside a rule's formula",
        "a value inside a header element",
        "declared Latin-1",
        "UTF-16",
        "a value in a comment",
        "a value in CDATA",
    ],
)
def test_cuts_the_parse_does_not_prove_are_never_learnt(name, empty_memory):
    """A cut that is not the sheet's own header text or a kept cell's value is never learnt."""
    a = SHAPES[name]
    for _ in range(3):
        with contextlib.suppress(ReadError):
            _bounded.scan_sheet(a, W)
    assert _bounded._KNOWN == {}


@pytest.mark.parametrize(
    "name",
    [
        "two headerFooter elements",
        "prefixed headerFooter, unprefixed headers",
        "values after headerFooter",
        "headerFooter twice around the data",
        "BOM and declaration",
        "an empty and a self-closed header",
    ],
)
def test_odd_but_proved_cuts_are_learnt(name, empty_memory):
    """Cuts the parse proves in odd sheets are learnt, so the cases above also exercise the short way."""
    a = SHAPES[name]
    _agrees(a, 3)
    assert _learnt(a)
    at = a.rfind(b"<headerFooter") % (len(a) + 1)  # headers are cut after the last one only (none: nowhere)
    b = _mutated(a[:at], value=b"3") + _mutated(a[at:], value=b"3", header="乙".encode())
    facts = _bounded.scan_sheet(b, W)
    assert _bounded.is_learnt(facts.cells.slots)
    assert _read(facts) == _parsed(b)


# --- the plain way ------------------------------------------------------------------------------------------------

PLAIN_CASES = {
    "a second sheetData with a value-less cell written again": _sheet(
        b'<row r="1"><c r="A1"><v>1</v></c></row>', b'<sheetData><row r="1"><c r="A1"/></row></sheetData>'
    ),
    "a second sheetData with a formula for a cell written again": _sheet(
        b'<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>',
        b'<sheetData><row r="1"><c r="A1"><f>WEBSERVICE("u")</f></c></row></sheetData>',
    ),
    "a second sheetData with an unsafe formula": _sheet(
        b'<row r="1"><c r="A1"><f>1+1</f><v>2</v></c></row>',
        b'<sheetData><row r="2"><c r="A2"><f>WEBSERVICE("u")</f></c></row></sheetData>',
    ),
    "a prefixed second sheetData": _sheet(
        b'<row r="1"><c r="A1"><v>1</v></c></row>',
        b'<x:sheetData><x:row r="1"><x:c r="A1"/></x:row></x:sheetData>',
        root=b' xmlns:x="' + MAIN + b'"',
    ),
    "a second sheetData before the first": _sheet(b'<row r="1"><c r="A1"><v>1</v></c></row>').replace(
        b"<sheetData>",
        b'<x:sheetData xmlns:x="' + MAIN + b'"><x:row r="1"><x:c r="A1"/></x:row></x:sheetData><sheetData>',
        1,
    ),
    "a formula attribute written twice": _sheet(b'<row r="1"><c r="A1"><f t="shared" t="x">1</f><v>1</v></c></row>'),
    "a formula attribute written twice, self-closed": _sheet(
        b'<row r="1"><c r="A1"><f t="shared" ref="A1:A2" si="0"/><v>1</v></c><c r="A2"><f si="0" si="0"/><v>1</v>'
        b"</c></row>"
    ),
    "a formula attribute whose name starts with a digit": _sheet(
        b'<row r="1"><c r="A1"><f 1="x">1</f><v>1</v></c></row>'
    ),
    "shared formulas as Excel writes them": _sheet(
        b'<row r="1"><c r="A1"><f t="shared" ref="A1:A2" si="0">B1</f><v>1</v></c><c r="A2"><f t="shared" si="0"/>'
        b"<v>1</v></c></row>"
    ),
}


@pytest.mark.parametrize("name", sorted(PLAIN_CASES))
def test_the_plain_way_reads_as_the_parse(name, empty_memory):
    """A second sheetData or a formula tag XML refuses: read_plain and scan_sheet give what the parse gives."""
    _agrees(PLAIN_CASES[name], 3)


def test_the_plain_way_still_reads_shared_formulas():
    """Excel's shared formulas (t, ref, si on <f>) stay on the plain way."""
    assert _plaindata.read_plain(PLAIN_CASES["shared formulas as Excel writes them"], W) is not None


# --- a property over generated sheets -----------------------------------------------------------------------------

# A sheet is a list of pieces: bytes, or "V" / "H" where a value's or a header's text goes.
_SAFE_VALUE = st.sampled_from([b"1", b"0", b"2.5", "甲".encode(), b"", b"x y"])
_SAFE_HEADER = st.sampled_from([b"", b"x", UNIT, b"&amp;P", b"&lt;&gt;"])
_HOSTILE = st.lists(
    st.sampled_from(
        [
            b"a",
            "乙".encode(),
            b"&amp;",
            b"&amp",
            b"&",
            b"&#38;",
            b"&#0;",
            b"&lt;",
            b";",
            b"]]",
            b"]",
            b">",
            b"-->",
            b"<",
            b"<!--",
            b"?>",
            b"\r",
            b"\n",
            b"\x00",
            b"\x01",
            b"\xe7",
            b"\x94\xb2",
            b"\xff",
            b"\xef\xbf\xbe",
            b"'",
            b'"',
            b"</v>",
            b"<v>",
            b"</oddHeader>",
        ]
    ),
    max_size=6,
).map(b"".join)
_TYPES = [b"", b' t="s"', b' t="str"', b' t="b"', b' t="n"']  # types whose facts do not depend on the value
_FORMULAS = [[b'<f t="shared" ref="A1:A2" si="0">B1</f>'], [b'<f t="shared" si="0"/>'], [b"<f>", "V", b"</f>"]]


@st.composite
def _cell(draw, ref: bytes, clean: bool) -> list:
    """A cell: in a clean sheet one that can be learnt, otherwise anything the grammar has."""
    odd_kinds = [] if clean else [b' t="e"', b' t="inlineStr"']
    out: list = [b'<c r="' + ref + b'"' + draw(st.sampled_from(_TYPES + odd_kinds)) + b">"]
    odd = [] if clean else ["cdata", "header", "comment", "inline", "none", "two", "bad formula"]
    inner = draw(st.sampled_from(["plain"] * 3 + ["formula"] + odd))
    if inner == "formula":
        out += draw(st.sampled_from(_FORMULAS))
    elif inner == "bad formula":
        out += draw(st.sampled_from([[b'<f t="shared" t="x">1</f>'], [b'<f 1="x">1</f>']]))
    elif inner == "cdata":
        out += [b"<f><![CDATA[<v>", "V", b"</v>]]></f>"]
    elif inner == "header":
        out += [b"<oddHeader>", "H", b"</oddHeader>"]
    elif inner == "comment":
        out += [b"<!--<v>", "V", b"</v>-->"]
    elif inner == "inline":
        out += [b"<is><t>", "V", b"</t></is>"]
    if inner == "none":
        return [*out, b"</c>"]
    out += [b"<v>", "V", b"</v>"]
    if inner == "two":
        out += [b"<v>", "V", b"</v>"]
    return [*out, b"</c>"]


@st.composite
def _header_footer(draw) -> list:
    out: list = [draw(st.sampled_from([b"<headerFooter>", b'<headerFooter differentFirst="1">', b"<x:headerFooter>"]))]
    closing = b"</x:headerFooter>" if out[0].startswith(b"<x:") else b"</headerFooter>"
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(HEADERS))
        shape = draw(st.sampled_from(["text"] * 8 + ["empty", "cdata", "comment", "nested", "other ns", "prefixed"]))
        if shape == "text":
            out += [b"<" + name + b">", "H", b"</" + name + b">"]
        elif shape == "empty":
            out += [b"<" + name + b"/>"]
        elif shape == "cdata":
            out += [b"<" + name + b"><![CDATA[", "H", b"]]></" + name + b">"]
        elif shape == "comment":
            out += [b"<!--<" + name + b">", "H", b"</" + name + b">-->"]
        elif shape == "nested":
            out += [b'<w xmlns="urn:o"><' + name + b">", "H", b"</" + name + b"></w>"]
        elif shape == "other ns":
            out += [b"<" + name + b' xmlns="urn:o">', "H", b"</" + name + b">"]
        else:
            out += [b"<x:" + name + b">", "H", b"</x:" + name + b">"]
    return [*out, closing]


@st.composite
def _sheets(draw) -> list:
    prolog = draw(
        st.sampled_from(
            [
                b"",
                b"",
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
                b"\xef\xbb\xbf",
                b'<?xml version="1.0" encoding="ISO-8859-1"?>',
                b'<?xml version="1.0" encoding="utf8"?>',
            ]
        )
    )
    out: list = [prolog, b'<worksheet xmlns="' + MAIN + b'" xmlns:x="' + MAIN + b'">']
    decoys = [b"<!--<headerFooter>-->", b"<?pi <headerFooter><oddHeader>t</oddHeader>?>", b"<!--<v>1</v>-->", b""]
    clean = draw(st.booleans())  # half the sheets can be learnt (each odd thing would keep them from it)
    out.append(draw(st.sampled_from(decoys + [b""] * 6)))
    out.append(b"<sheetData>")
    refs = [b"A1", b"B1", b"C2", b"ZZ9999"]  # written again, or far
    for r in range(1, draw(st.integers(1, 3)) + 1):
        out.append(b'<row r="%d">' % r)
        places = draw(st.lists(st.sampled_from(b"ABCDE"), unique=True, max_size=4))
        places = [b"%c%d" % (col, r) for col in places]
        if not clean and draw(st.booleans()):
            places.append(draw(st.sampled_from(refs)))
        for ref in places:
            out += draw(_cell(ref, clean))
        out.append(b"</row>")
    out.append(b"</sheetData>")
    if not clean and draw(st.booleans()):
        inner = draw(st.sampled_from([b"/>", b'><f>WEBSERVICE("u")</f></c>', b"><f>1</f></c>"]))
        out += [b'<sheetData><row r="1"><c r="', draw(st.sampled_from(refs)), b'"' + inner + b"</row></sheetData>"]
    for _ in range(draw(st.integers(0, 2))):
        out += draw(_header_footer())
    rule = [b'<conditionalFormatting sqref="A1"><cfRule><formula><oddHeader>', "H", b"</oddHeader></formula></cfRule>"]
    out += draw(st.sampled_from([[d] for d in decoys + [b""] * 6] + [[*rule, b"</conditionalFormatting>"]]))
    return [*out, b"</worksheet>"]


def _render(pieces: list, texts: st.DataObject, values, headers) -> bytes:
    return b"".join(p if isinstance(p, bytes) else texts.draw(values if p == "V" else headers) for p in pieces)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(pieces=_sheets(), data=st.data())
def test_generated_sheets_and_their_mutants_read_as_the_parse(pieces, data, empty_memory):
    """Generated sheets, learnt, then with hostile bytes in their cut texts, read as the parse reads them."""
    _forget()  # each example starts with nothing learnt (empty_memory puts the module's memory back at the end)
    _agrees(_render(pieces, data, _SAFE_VALUE, _SAFE_HEADER), 3)
    for _ in range(2):
        _agrees(_render(pieces, data, _HOSTILE, _HOSTILE), 2)
