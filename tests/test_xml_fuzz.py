"""The xlsx reader against an oracle (issue 22, point 6): the same cells — numbers, text, booleans, formulas with
their cached results, blanks and error values — written with many legal XML spellings (quotes, attribute order,
prefixes, the Strict namespaces, character references, CDATA, comments, whitespace, inline and shared strings with
runs and phonetic guides, UTF-16, declarations) read exactly as openpyxl reads them (openpyxl parses with a real XML
parser).

Where openpyxl and Excel differ, xltool follows Excel, which follows XML: openpyxl does not read the ISO Strict
namespaces at all, and with lxml it keeps only the text before a comment inside an element (<v>1<!---->2</v> is "1"
to it, "12" to XML and Excel). For those spellings the oracle is openpyxl reading the same cells written plainly.
"""

from __future__ import annotations

import io
import random
import zipfile

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltool.formats import xlsx
from xltool.forms import a1

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_RELS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
ERRORS = ["#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"]

# Text XML 1.0 can carry (no C0 controls but tab, line feed and carriage return; no surrogates, U+FFFE, U+FFFF),
# without "_x" (Excel's own escape for control characters, which openpyxl does not undo).
_TEXT = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs",),
        exclude_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17"
        "\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff",
    ),
    min_size=1,
    max_size=12,
).filter(lambda t: "_x" not in t.lower())
_NUMBER = st.one_of(
    st.integers(-(10**9), 10**9).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.tuples(st.integers(0, 999), st.integers(-5, 5)).map(lambda p: f"{p[0]}E{p[1]}"),
    st.integers(0, 999).map(lambda n: f"00{n}"),
    st.integers(0, 999).map(lambda n: f"+{n}.5"),
)
_VALUE = st.one_of(
    st.tuples(st.just("n"), _NUMBER),
    st.tuples(st.just("text"), _TEXT),
    st.tuples(st.just("b"), st.sampled_from(["0", "1"])),
    st.tuples(st.just("e"), st.sampled_from(ERRORS)),
    st.tuples(st.just("blank"), st.just("")),
    st.tuples(st.just("fn"), _NUMBER),  # a formula caching a number
    st.tuples(st.just("fs"), _TEXT),  # a formula caching text
)
_CELLS = st.dictionaries(st.tuples(st.integers(0, 12), st.integers(0, 8)), _VALUE, min_size=1, max_size=20)


class Spelling:
    """The choices of one document's spelling, drawn from a seeded random source."""

    def __init__(self, seed: int, strict: bool, utf16: bool, comments_in_text: bool) -> None:
        self.rnd = random.Random(seed)
        self.strict, self.utf16, self.comments_in_text = strict, utf16, comments_in_text
        self.prefix = self.rnd.choice(["", "", "x:", "mixed"])
        self.shared = self.rnd.random() < 0.5

    @property
    def ns(self) -> str:
        return STRICT if self.strict else MAIN

    def tag(self, local: str) -> str:
        """An element's name as written (call once per element: its end tag takes the same name)."""
        if self.prefix == "mixed":
            return self.rnd.choice(["", "x:"]) + local
        return self.prefix + local

    def el(self, local: str, body: str | None = None, attrs: list[tuple[str, str]] | None = None) -> str:
        """One element: empty (maybe as <x/>) when `body` is None."""
        name, spelled = self.tag(local), self.attrs(attrs or [])
        if body is None:
            return self.rnd.choice([f"<{name}{spelled}/>", f"<{name}{spelled}></{name}>"])
        return f"<{name}{spelled}>{body}</{name}>"

    def attrs(self, pairs: list[tuple[str, str]]) -> str:
        pairs = list(pairs)
        self.rnd.shuffle(pairs)
        out = []
        for name, value in pairs:
            q = self.rnd.choice(['"', "'"])
            value = value.replace("&", "&amp;").replace("<", "&lt;").replace(q, "&quot;" if q == '"' else "&apos;")
            out.append(
                f"{self.rnd.choice([' ', '  ', chr(10), chr(9) + ' '])}{name}{self.rnd.choice(['=', ' = '])}{q}{value}{q}"
            )
        return "".join(out)

    def gap(self) -> str:
        """What may stand between two elements: nothing, whitespace, a comment."""
        return self.rnd.choice(["", "", " ", "\n  ", "<!-- x -->", "<!--<c r='A1'><v>9</v></c>-->"])

    def text(self, text: str, in_number: bool = False) -> str:
        """Character data spelled in pieces: escaped, character references, CDATA, comments between pieces."""
        out = []
        i = 0
        while i < len(text):
            n = self.rnd.randint(1, 4)
            piece, i = text[i : i + n], i + n
            how = self.rnd.choice(["plain", "plain", "refs", "cdata"])
            if how == "cdata" and "]]>" not in piece and "\r" not in piece and not piece.endswith("]"):
                out.append(f"<![CDATA[{piece}]]>")
            elif how == "refs":
                out.append("".join(self.rnd.choice([f"&#{ord(ch)};", f"&#x{ord(ch):X};"]) for ch in piece))
            else:
                out.append(_escape(piece))
            if self.comments_in_text and i < len(text):
                out.append("<!--c-->")
        body = "".join(out)
        if in_number and self.rnd.random() < 0.3:
            body = self.rnd.choice([" ", "\n", "\t"]) + body + self.rnd.choice([" ", "\n"])
        return body


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _runs(sp: Spelling, text: str) -> str:
    """Text as the content of <is> or <si>: one <t>, or rich runs, maybe with a phonetic guide (not part of the text)."""
    space = [("xml:space", "preserve")] if sp.rnd.random() < 0.4 else []
    if len(text) > 1 and sp.rnd.random() < 0.5:
        cut = sp.rnd.randint(1, len(text) - 1)
        rpr = sp.el("rPr", sp.el("b")) if sp.rnd.random() < 0.5 else ""
        body = (
            sp.el("r", rpr + sp.el("t", sp.text(text[:cut]), space))
            + sp.gap()
            + sp.el("r", sp.el("t", sp.text(text[cut:]), space))
        )
    else:
        body = sp.el("t", sp.text(text), space)
    if sp.rnd.random() < 0.3:
        body += sp.el("rPh", sp.el("t", "ふりがな"), [("sb", "0"), ("eb", "1")])
    return body


def _sheet(sp: Spelling, cells: dict, strings: list[str]) -> str:
    rows: dict[int, list[str]] = {}
    for (r, c), (kind, value) in sorted(cells.items()):
        attrs = [("r", a1(r, c))]
        if sp.rnd.random() < 0.3:
            attrs.append(("s", "0"))
        if kind == "blank":
            rows.setdefault(r, []).append(sp.el("c", None, attrs))
            continue
        inner = ""
        if kind in ("fn", "fs"):
            inner = sp.el("f", sp.text("1+" + str(r))) + sp.gap()
        if kind in ("n", "fn"):
            if sp.rnd.random() < 0.3:
                attrs.append(("t", "n"))
            inner += sp.el("v", sp.text(value, in_number=True))
        elif kind == "b":
            attrs.append(("t", "b"))
            inner += sp.el("v", value)
        elif kind == "e":
            attrs.append(("t", "e"))
            inner += sp.el("v", sp.text(value))
        elif kind == "fs":
            attrs.append(("t", "str"))
            inner += sp.el("v", sp.text(value))
        elif sp.shared:
            attrs.append(("t", "s"))
            strings.append(value)
            inner += sp.el("v", str(len(strings) - 1))
        else:
            attrs.append(("t", "inlineStr"))
            inner += sp.el("is", _runs(sp, value))
        rows.setdefault(r, []).append(sp.el("c", inner, attrs))
    body = "".join(sp.el("row", sp.gap().join(cs), [("r", str(r + 1))]) + sp.gap() for r, cs in sorted(rows.items()))
    return _root(sp, "worksheet", sp.el("sheetData", body))


def _root(sp: Spelling, local: str, body: str, extra: str = "") -> str:
    if sp.prefix:
        decl = f' xmlns:x="{sp.ns}"' + (f' xmlns="{sp.ns}"' if sp.prefix == "mixed" else "")
        name = "x:" + local
    else:
        decl, name = f' xmlns="{sp.ns}"', local
    head = sp.rnd.choice(["", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', "<?xml version='1.0'?>"])
    return f"{head}{sp.gap()}<{name}{decl}{extra}>{body}</{name}>{sp.gap()}"


def _package(sp: Spelling, cells: dict) -> bytes:
    strings: list[str] = []
    sheet = _sheet(sp, cells, strings)
    rels = STRICT_RELS if sp.strict else RELS
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="r1" Type="{rels}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": _root(
            sp,
            "workbook",
            sp.el("sheets", sp.el("sheet", None, [("name", "S"), ("sheetId", "1"), ("r:id", "rId1")])),
            f' xmlns:r="{rels}"',
        ),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rels}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": _root(sp, "sst", sp.gap().join(sp.el("si", _runs(sp, text)) for text in strings)),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            if sp.utf16 and name.startswith("xl/") and not name.endswith(".rels"):
                data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
            else:
                data = text.encode("utf-8")
            z.writestr(name, data)
    return out.getvalue()


def _openpyxl(data: bytes, data_only: bool) -> dict[str, object]:
    ws = openpyxl.load_workbook(io.BytesIO(data), data_only=data_only)["S"]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value not in (None, "")}


def _number(text: str) -> float:
    return float(text.strip())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=_CELLS,
    seed=st.integers(0, 2**32),
    strict=st.booleans(),
    utf16=st.booleans(),
    comments_in_text=st.booleans(),
)
def test_xltool_reads_what_openpyxl_reads_however_spelled(cells, seed, strict, utf16, comments_in_text):
    """The same cells in many legal spellings: values, formulas and error values as openpyxl reads them (from the
    plain twin where openpyxl departs from XML: Strict namespaces, comments inside text)."""
    sp = Spelling(seed, strict, utf16, comments_in_text)
    data = _package(sp, cells)
    oracle_data = data
    if strict or comments_in_text:
        oracle_data = _package(Spelling(seed, False, utf16, False), cells)
    values, formulas = _openpyxl(oracle_data, True), _openpyxl(oracle_data, False)

    page = xlsx.parse(data)
    grid, facts = page.sheet("S"), page.structure["S"]
    assert facts.malformed == [] and facts.stray == 0 and facts.duplicates == []
    for (r, c), (kind, value) in cells.items():
        where = a1(r, c)
        got = grid[r][c] if r < len(grid) and c < len(grid[r]) else ""
        expected = values.get(where)
        if kind == "e":
            assert got == "" and facts.errors.get(where) == expected == value, where
            continue
        if kind in ("fn", "fs"):
            assert "=" + facts.formulas[where] == formulas[where], where
        else:
            assert where not in facts.formulas
        if kind in ("n", "fn"):
            assert isinstance(got, float) and got == float(expected) == _number(value), where
        elif kind == "b":
            assert got is expected is (value == "1"), where
        elif kind == "blank":
            assert got == "" and expected is None, where
        else:
            assert got == expected == value, where
