"""The parts of an xlsx package other than sheets, read as XML: package and workbook relationships (resolved as OPC
says), workbook.xml (sheets, their states, defined names), the shared-string table and the date styles.

Every part goes through one kind of parser (`new_parser`): expat, streaming and namespace-aware, refusing DTDs and
entity declarations (an entity it does not know is an error), so a prefix, the ISO Strict namespaces, single quotes,
character references, CDATA and comments read as Excel reads them. Elements are matched by namespace and local name,
never by how they are spelled.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.parsers import expat

from xltool.codes import Code
from xltool.memo import Memo
from xltool.sources import ReadError, member_bytes

# The transitional (ECMA) and the ISO Strict spellings of each namespace name: both are read alike.
MAIN = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
OFFICE_RELS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"

MAX_TEXT = 32767  # characters of one cell's text (Excel's own limit); more is cut
MAX_STRINGS = 2_000_000  # items of a shared-string table
MAX_STRINGS_BYTES = 64 * 1024 * 1024  # unzipped shared-string table (a roll-up of 100,000 units holds about 10 MB)
MAX_PART_BYTES = 8 * 1024 * 1024  # workbook.xml, relationships, styles


class XmlRefused(Exception):
    """A DTD or an entity declaration: never expanded, the file is refused (XML-BOMB)."""


def _refuse(*_args) -> None:
    raise XmlRefused


def new_parser() -> expat.XMLParserType:
    """An expat parser that reports namespaced names as 'uri local' and refuses any DTD or entity declaration."""
    p = expat.ParserCreate(namespace_separator=" ")
    p.StartDoctypeDeclHandler = _refuse
    p.EntityDeclHandler = _refuse
    p.UnparsedEntityDeclHandler = _refuse
    p.ExternalEntityRefHandler = _refuse
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    return p


def run(p: expat.XMLParserType, data: bytes, part: str) -> None:
    """Feed a part to a parser; a DTD is XML-BOMB, malformed XML is CORRUPT, both naming the part."""
    try:
        p.Parse(data, True)
    except XmlRefused:
        raise ReadError(Code.XML_BOMB, f"{part} 含有 DTD/实体声明（可能是 XML 炸弹），已拒绝读取") from None
    except expat.ExpatError as exc:
        raise ReadError(
            Code.CORRUPT, f"{part} 不是合格的 XML（{expat.errors.messages[exc.code]}，第 {exc.lineno} 行），文件已损坏"
        ) from None


def names(local: str, spaces: tuple[str, ...] = MAIN) -> frozenset[str]:
    """The parser's names of an element in any of the namespaces."""
    return frozenset(f"{ns} {local}" for ns in spaces)


def local_name(name: str) -> str:
    """The local part of a parser name ('uri local' or 'local')."""
    return name.rpartition(" ")[2]


def in_main(name: str) -> str | None:
    """The local name of an element of the SpreadsheetML main namespace (either spelling), else None."""
    ns, _, local = name.rpartition(" ")
    return local if ns in MAIN else None


# --- the package: where the workbook and its parts are ------------------------------------------------------------


@dataclass
class Package:
    """What the workbook part and its relationships say."""

    workbook: str  # the workbook part's name as in the zip
    sheets: list[tuple[str, str, str | None]]  # (name, state, part or None when the target is not in the zip)
    strings: str | None = None  # the shared-string part
    styles: str | None = None
    date1904: bool = False
    defined_names: list[tuple[str, str]] = field(default_factory=list)  # (name, formula text), all of them


def _part_index(z: zipfile.ZipFile) -> dict[str, str]:
    """Part names as OPC compares them (ASCII case-insensitive) -> the member's name."""
    return {n.lower(): n for n in z.namelist()}


def resolve(source: str, target: str) -> str:
    """A relationship target as a part name (no leading slash), relative to the source part's folder or absolute,
    percent-escapes decoded, as OPC resolves it."""
    target = unquote(target.split("#", 1)[0])
    path = target if target.startswith("/") else posixpath.join("/" + posixpath.dirname(source), target)
    return posixpath.normpath(path).lstrip("/")


def rels_name(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


_RELATIONSHIP = names("Relationship", (PACKAGE_RELS,))


def relationships(data: bytes, part: str) -> list[tuple[str, str, str, bool]]:
    """(Id, type, target, external) of each relationship in a .rels part."""
    out: list[tuple[str, str, str, bool]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if name in _RELATIONSHIP and len(out) < 10_000:
            external = attrs.get("TargetMode", "Internal") == "External"
            out.append((attrs.get("Id", ""), attrs.get("Type", ""), attrs.get("Target", ""), external))

    p = new_parser()
    p.StartElementHandler = start
    run(p, data, part)
    return out


def _kind(rel_type: str) -> str:
    """The last word of a relationship type (transitional and Strict types end alike)."""
    return rel_type.rstrip("/").rpartition("/")[2]


_PACKAGES = Memo(16)  # returns of one template share workbook.xml and the relationships byte for byte: parsed once


def package(z: zipfile.ZipFile) -> Package | None:
    """The workbook part, found through the package relationships (xl/workbook.xml when they are missing), its
    sheets, shared strings, styles and defined names; None when there is no workbook part."""
    index = _part_index(z)

    def read(part: str) -> bytes | None:
        name = index.get(part.lower())
        if name is None:
            return None
        if z.getinfo(name).file_size > MAX_PART_BYTES:
            raise ReadError(Code.TOO_LARGE, f"{name} 解压后过大，远超统计表的正常大小，已拒绝读取")
        return member_bytes(z, name)

    root_rels = read("_rels/.rels")
    workbook = None
    if root_rels is not None:
        for _id, kind, target, external in relationships(root_rels, "_rels/.rels"):
            if not external and _kind(kind) == "officeDocument":
                workbook = resolve("", target)
                break
    if workbook is None or workbook.lower() not in index:
        workbook = "xl/workbook.xml"
    if workbook.lower() not in index:
        return None
    workbook = index[workbook.lower()]
    wb_xml = read(workbook)
    rels_xml = read(rels_name(workbook))
    key = (workbook, wb_xml, rels_xml)
    known = _PACKAGES.get(key)
    if known is None:
        known = _package(workbook, wb_xml or b"", rels_xml)
        if len(wb_xml or b"") < 256 * 1024:
            _PACKAGES.keep(key, known)
    sheets = [(name, state, index.get(part.lower()) if part else None) for name, state, part in known.sheets]
    found = Package(
        workbook,
        sheets,
        index.get((known.strings or "").lower()),
        index.get((known.styles or "").lower()),
        known.date1904,
        known.defined_names,
    )
    return found


_WORKBOOK, _SHEETS, _SHEET = names("workbook"), names("sheets"), names("sheet")
_DEFINED_NAMES = names("definedNames")
_WORKBOOK_PR = names("workbookPr")
_DEFINED_NAME = names("definedName")
_REL_ID = frozenset(f"{ns} id" for ns in OFFICE_RELS)


def _package(workbook: str, wb_xml: bytes, rels_xml: bytes | None) -> Package:
    targets: dict[str, str] = {}
    strings = styles = None
    for rid, kind, target, external in relationships(rels_xml, rels_name(workbook)) if rels_xml else []:
        if external:
            continue
        part = resolve(workbook, target)
        targets.setdefault(rid, part)
        if _kind(kind) == "sharedStrings" and strings is None:
            strings = part
        elif _kind(kind) == "styles" and styles is None:
            styles = part
    listed: list[tuple[str, str, str | None]] = []
    defined: list[tuple[str, str]] = []
    date1904 = [False]
    text: list[str] | None = None
    current: list[str] = []

    stack: list[str] = []  # the open elements: only workbook/sheets/sheet is a sheet (not one in an extension)

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal text
        stack.append(name)
        depth = len(stack)
        if depth == 1 and name not in _WORKBOOK:
            raise ReadError(
                Code.CORRUPT, f"{workbook} 不是 SpreadsheetML 工作簿（根元素为 {local_name(name)[:40]}），文件已损坏"
            )
        if depth == 3 and name in _SHEET and stack[1] in _SHEETS:
            rid = next((v for k, v in attrs.items() if k in _REL_ID), "")
            listed.append((attrs.get("name", ""), attrs.get("state", "visible"), targets.get(rid)))
        elif depth == 2 and name in _WORKBOOK_PR:
            date1904[0] = attrs.get("date1904", "false") in ("1", "true")
        elif depth == 3 and name in _DEFINED_NAME and stack[1] in _DEFINED_NAMES and len(defined) < 10_000:
            text = []
            current[:] = [attrs.get("name", "")]

    def chars(data: str) -> None:
        if text is not None and len(text) < 64:
            text.append(data)

    def end(name: str) -> None:
        nonlocal text
        if len(stack) == 3 and name in _DEFINED_NAME and text is not None:
            defined.append((current[0], "".join(text)[:MAX_TEXT]))
            text = None
        stack.pop()

    p = new_parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    run(p, wb_xml, workbook)
    return Package(workbook, listed, strings, styles, date1904[0], defined)


# --- shared strings -----------------------------------------------------------------------------------------------

_SI, _T, _R = names("si"), names("t"), names("r")
_STRINGS = Memo(8)  # shared-string tables met before (a template's labels; the same return read twice)
# A table written the one way Excel, WPS and XlsxWriter write a plain one: the UTF-8 declaration, the root with the
# default namespace and its counts, then items of one run each, nothing else (no comment, CDATA, prefix, rich run or
# phonetic guide). A document that matches this in full has exactly these elements, so its items' texts, where XML
# reads them unchanged (`plain_texts`), are what the parser would give; anything else goes to the parser.
_PLAIN_SST = re.compile(
    rb'(?:<\?xml version="1\.0" encoding="UTF-8"(?: standalone="yes")?\?>[ \t\r\n]*)?'
    rb'<sst xmlns="http://schemas\.openxmlformats\.org/spreadsheetml/2006/main"'
    rb'(?: count="[0-9]{1,10}")?(?: uniqueCount="[0-9]{1,10}")?>'
    rb'(?:<si><t(?: xml:space="preserve")?>[^<]*</t></si>)*</sst>[ \t\r\n]*'
)
_PLAIN_ITEM = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
# Bytes of an element's text that XML would not read as themselves: references ("&"), carriage returns (normalised),
# characters XML forbids (the C0 controls but tab and line feed, U+FFFE, U+FFFF), and "]]>" (an error in content).
# Each byte to 0 where it is such a control (NUL aside: it separates the texts joined here), else to 1; one
# translate and one search for NUL take a twentieth of the time of a regular expression over the same bytes.
_CONTROL_MARKS = bytes(0 if (0 < b < 32 and b not in (9, 10)) else 1 for b in range(256))


def plain_texts(raws: list[bytes]) -> list[str] | None:
    """Element texts, taken from a UTF-8 document as bytes, as an XML parser reads them, when that is the bytes
    decoded as UTF-8 (strictly); None otherwise (the caller parses). The caller has made sure the document holds no
    NUL byte, so joining on NUL and splitting again gives each text back."""
    if not raws:
        return []
    joined = b"\x00".join(raws)
    if (
        b"&" in joined
        or b"]]>" in joined
        or b"\xef\xbf\xbe" in joined
        or b"\xef\xbf\xbf" in joined
        or b"\x00" in joined.translate(_CONTROL_MARKS)
    ):
        return None
    try:
        return joined.decode("utf-8").split("\x00")
    except UnicodeDecodeError:
        return None


_PREDEFINED = re.compile(rb"&(?:amp|lt|gt|quot|apos);")


def character_data(raws: list[bytes]) -> bool:
    """True when every text, taken from a UTF-8 document as bytes between a start and an end tag, is character data
    an XML parser accepts whatever its value: plain UTF-8 and the five predefined references (a page header holds
    `&amp;L`). Anything else (another reference, `]]>`, a character XML forbids, bytes that are not UTF-8) is for the
    parser to judge. Each reference stands in as a space, not nothing: taken out, it would join the bytes of a
    character cut in two around it (甲's first byte, `&amp;`, its other two) into valid UTF-8."""
    return plain_texts([_PREDEFINED.sub(b" ", raw) for raw in raws]) is not None


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescaped(m: re.Match[str]) -> str:
    code = int(m.group(1), 16)
    return m.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


def unescape(text: str) -> str:
    """A string as Excel shows it: its own escapes _xHHHH_ (a character by its code; _x005F_ an underscore) undone."""
    return _ESCAPED.sub(_unescaped, text) if "_x" in text else text


def shared_strings(data: bytes | None, part: str = "sharedStrings.xml") -> list[str]:
    """The shared-string table: each item's text runs joined, phonetic guides (rPh) left out, as Excel shows it."""
    if not data:
        return []
    if len(data) > MAX_STRINGS_BYTES:
        raise ReadError(
            Code.TOO_LARGE, f"共享字符串表解压后有 {len(data) / 1048576:.0f} MB，远超统计表的正常大小，已拒绝读取"
        )
    known = _STRINGS.get(data)
    if known is not None:
        return known
    if b"\x00" not in data and _PLAIN_SST.fullmatch(data):
        found = plain_texts(_PLAIN_ITEM.findall(data))
        if found is not None:
            return [unescape(text) for text in found] if b"_x" in data else found
    out: list[str] = []
    item: list[str] = []
    size = [0]
    # depth now, of the open <si> (2: the root's child), of its open <r>, and whether a <t> of the text is open:
    # only si/t and si/r/t are the item's text (not rPh/t, nor a <t> nested anywhere else)
    state = {"depth": 0, "si": -9, "r": -9, "t": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        state["depth"] += 1
        depth = state["depth"]
        if name in _SI and depth == 2:
            if len(out) >= MAX_STRINGS:
                raise ReadError(Code.TOO_LARGE, f"共享字符串表超过 {MAX_STRINGS} 项，已拒绝读取")
            state["si"] = depth
            item.clear()
            size[0] = 0
        elif name in _R and depth == state["si"] + 1:
            state["r"] = depth
        elif name in _T and (depth == state["si"] + 1 or depth == state["r"] + 1 == state["si"] + 2):
            state["t"] = True

    def end(name: str) -> None:
        depth = state["depth"]
        state["depth"] -= 1
        if name in _SI and depth == state["si"]:
            out.append(unescape("".join(item)))
            state["si"] = -9
        elif name in _R and depth == state["r"]:
            state["r"] = -9
        elif name in _T:
            state["t"] = False

    def chars(data: str) -> None:
        if state["t"] and size[0] < MAX_TEXT:
            item.append(data[: MAX_TEXT - size[0]])
            size[0] += len(data)

    p = new_parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    run(p, data, part)
    if len(data) < 1024 * 1024:
        _STRINGS.keep(data, out)
    return out


# --- date styles --------------------------------------------------------------------------------------------------

_NUMFMT, _CELL_XFS, _XF = names("numFmt"), names("cellXfs"), names("xf")
_DATE_CODES = re.compile(r"[dmyhsDMYHS]")
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # literal text, escaped characters, colours and conditions
BUILTIN_DATES = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}  # incl. the CJK date formats
_DATE_STYLES = Memo(16)  # styles.xml -> its date styles (returns of one template share it)


def date_styles(data: bytes | None, part: str = "styles.xml") -> frozenset[int]:
    """Indices of the cell formats (cellXfs) whose number format shows a date or time: calamine turns such numbers
    into dates (xltool.formats._xlsxcells asks it for those cells only)."""
    if not data:
        return frozenset()
    known = _DATE_STYLES.get(data)
    if known is not None:
        return known
    formats, xfs = number_formats(data, part)
    custom = {fid: bool(_DATE_CODES.search(_QUOTED.sub("", code).replace("General", ""))) for fid, code in formats}
    found = frozenset(i for i, fid in enumerate(xfs) if custom.get(fid, fid in BUILTIN_DATES))
    return _DATE_STYLES.keep(data, found) if len(data) < 1024 * 1024 else found


def number_formats(data: bytes, part: str = "styles.xml") -> tuple[list[tuple[int, str]], list[int]]:
    """The custom number formats (id, code) and the number format id of each cell format (cellXfs), in order."""
    formats: list[tuple[int, str]] = []
    xfs: list[int] = []
    inside = [False]

    def number(text: str | None) -> int:
        try:
            return int((text or "0").strip())
        except ValueError:
            return 0

    def start(name: str, attrs: dict[str, str]) -> None:
        if name in _NUMFMT and len(formats) < 10_000:
            formats.append((number(attrs.get("numFmtId")), attrs.get("formatCode", "")[:1000]))
        elif name in _CELL_XFS:
            inside[0] = True
        elif name in _XF and inside[0] and len(xfs) < 100_000:
            xfs.append(number(attrs.get("numFmtId")))

    def end(name: str) -> None:
        if name in _CELL_XFS:
            inside[0] = False

    p = new_parser()
    p.StartElementHandler, p.EndElementHandler = start, end
    run(p, data, part)
    return formats, xfs
