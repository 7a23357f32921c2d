"""Build the corpus of bad inputs that xltool.read must refuse cleanly (or read with a problem).

Every builder takes a directory, writes one file into it and returns its path; the same call writes the same bytes
(zip timestamps and document dates are pinned, random bytes come from fixed seeds).

    python tests/corpus/build.py                # (re)write the small files into tests/corpus/files/
    python tests/corpus/build.py OUT_DIR        # ... or somewhere else
    python tests/corpus/build.py --external     # also rebuild encrypted.xlsx and filled-2025.xls

Three kinds of builders:
  SMALL     commit-sized (< 50 KB), written by __main__ and committed in files/; tests also rebuild them fresh.
  LARGE     written by the tests into tmp_path only (100 MB sparse file, a 320 MB zip bomb, a lying-size bomb).
  EXTERNAL  need a tool the tests must not depend on (msoffcrypto-tool for real encryption, LibreOffice for .xls);
            __main__ writes them when missing (or with --external) and the tool is there; otherwise it keeps
            the committed file. encrypted.xlsx is byte-reproducible (seeded salts, pinned OLE dates); the .xls
            is not (LibreOffice stamps the save time).
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"

FIXED_TIME = (2025, 1, 1, 0, 0, 0)
FIXED_ISO = "2025-01-01T00:00:00Z"
MB = 1024 * 1024

# What the committed .xls was filled with (keys of the 2021 form) — the test reads these numbers back.
XLS_VALUES = {
    "active.rules.regulation.issued": 3,
    "active.rules.normative.issued": 5,
    "apply.new.natural_person": 11,
    "apply.new.business": 2,
    "appeal.review.upheld": 4,
}
ENCRYPTION_PASSWORD = "xltool-1234"
UNIT_NAME = "测试镇"


# --- helpers ----------------------------------------------------------------------------------------------------------


def _zip_bytes(parts: list[tuple[str, bytes]]) -> bytes:
    """A deflated zip with pinned timestamps and attributes, entries in the given order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _normalise(data: bytes, edit: Callable[[str, bytes], tuple[str, bytes]] | None = None) -> bytes:
    """Re-zip an xlsx with pinned dates (docProps/core.xml carries 'now'); `edit` may rename or change a part."""
    parts = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            name, body = info.filename, z.read(info.filename)
            if name == "docProps/core.xml":
                body = _CORE_DATES.sub(rb"\g<1>" + FIXED_ISO.encode() + rb"\g<2>", body)
            if edit is not None:
                name, body = edit(name, body)
            parts.append((name, body))
    return _zip_bytes(parts)


def template_bytes(year: int = 2025, form_year: int | None = None) -> bytes:
    """A blank xltool template (form of `form_year`, default the report year), deterministic bytes."""
    from xltool.forms import form_for_year
    from xltool.model import Return, Unit
    from xltool.template import write_xlsx

    form = form_for_year(form_year if form_year is not None else year)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.xlsx"
        write_xlsx(Return(form, year, Unit(name=UNIT_NAME)), path)
        return _normalise(path.read_bytes())


def _replace_once(body: bytes, old: bytes, new: bytes, what: str) -> bytes:
    n = body.count(old)
    if n != 1:
        raise RuntimeError(f"corpus: expected {old!r} exactly once in {what}, found {n} (template changed?)")
    return body.replace(old, new)


def _patch_shared_string(data: bytes, old: str, new: str) -> bytes:
    """Change one _meta value in place: XlsxWriter keeps every string once in xl/sharedStrings.xml."""

    def edit(name: str, body: bytes) -> tuple[str, bytes]:
        if name == "xl/sharedStrings.xml":
            body = _replace_once(body, f"<t>{old}</t>".encode(), f"<t>{new}</t>".encode(), name)
        return name, body

    return _normalise(data, edit)


def _write(out_dir: Path, name: str, data: bytes) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_bytes(data)
    return path


# --- not a spreadsheet ------------------------------------------------------------------------------------------------


def build_text_file(out_dir: Path) -> Path:
    """Plain UTF-8 text saved with an .xlsx name."""
    text = "2025年政府信息公开工作年度报告\n一、总体情况\n本年度主动公开政府信息 120 条。\n"
    return _write(out_dir, "text-file.xlsx", text.encode("utf-8"))


def _pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        None,  # content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    content = b"BT /F1 18 Tf 72 760 Td (Annual report 2025) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def build_pdf(out_dir: Path) -> Path:
    """A small valid one-page PDF renamed .xlsx (the report exported to PDF by mistake)."""
    return _write(out_dir, "pdf-document.xlsx", _pdf())


def build_docx(out_dir: Path) -> Path:
    """A minimal valid Word document (word/document.xml) renamed .xlsx."""
    ct = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>'
    )
    doc = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        "<w:p><w:r><w:t>测试镇2025年政府信息公开工作年度报告</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>一、总体情况</w:t></w:r></w:p>"
        "</w:body></w:document>"
    )
    parts = [("[Content_Types].xml", ct.encode()), ("_rels/.rels", rels.encode()), ("word/document.xml", doc.encode())]
    return _write(out_dir, "word-document.xlsx", _zip_bytes(parts))


def build_random_binary(out_dir: Path) -> Path:
    """4 KB of seeded random bytes named .xlsx."""
    data = random.Random(20250101).randbytes(4096)
    assert not data.startswith((b"PK", b"\xd0\xcf", b"%PDF", b"{\\rtf", b"<")), "seed gives a recognisable header"
    return _write(out_dir, "random-binary.xlsx", data)


def build_csv_bom(out_dir: Path) -> Path:
    """CSV text with a UTF-8 BOM (what 'save as CSV' gives) under an .xlsx name."""
    rows = [
        "项目,本年制发件数,本年废止件数,现行有效件数",
        "规章,3,0,12",
        "行政规范性文件,5,1,40",
    ]
    return _write(out_dir, "csv-with-bom.xlsx", ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))


def build_html_xls(out_dir: Path) -> Path:
    """An HTML table saved as .xls (what many web systems' 'export to Excel' produce)."""
    html = (
        '<html><head><meta charset="utf-8"><title>统计表</title></head><body><table>'
        "<tr><td>项目</td><td>本年制发件数</td></tr><tr><td>规章</td><td>3</td></tr>"
        "</table></body></html>"
    )
    return _write(out_dir, "html-table.xls", html.encode("utf-8"))


def build_empty_zip(out_dir: Path) -> Path:
    """A valid zip archive with no entries (only the end-of-central-directory record)."""
    return _write(out_dir, "empty-zip.xlsx", b"PK\x05\x06" + b"\0" * 18)


# --- empty, truncated, corrupt ----------------------------------------------------------------------------------------


def build_empty(out_dir: Path) -> Path:
    """A 0-byte .xlsx."""
    return _write(out_dir, "empty.xlsx", b"")


def build_truncated(out_dir: Path) -> Path:
    """A real template cut in half (an interrupted download or copy): no central directory."""
    data = template_bytes()
    return _write(out_dir, "truncated.xlsx", data[: len(data) // 2])


def _central_directory(data: bytes) -> tuple[int, int]:
    eocd = data.rfind(b"PK\x05\x06")
    size, offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    return offset, size


def build_corrupt_central_directory(out_dir: Path) -> Path:
    """A real template with the first 16 bytes of its central directory inverted."""
    data = bytearray(template_bytes())
    offset, _ = _central_directory(bytes(data))
    for i in range(offset, offset + 16):
        data[i] ^= 0xFF
    return _write(out_dir, "corrupt-central-directory.xlsx", bytes(data))


def build_corrupt_member_data(out_dir: Path) -> Path:
    """A real template whose xl/workbook.xml deflate stream starts with an invalid block type (headers intact)."""
    data = bytearray(template_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("xl/workbook.xml")
    start = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[start + 26 : start + 30])
    first = start + 30 + name_len + extra_len
    data[first] |= 0b110  # BTYPE = 11: reserved, every inflater rejects it on the first byte
    return _write(out_dir, "corrupt-member-data.xlsx", bytes(data))


# --- other workbooks, other forms -------------------------------------------------------------------------------------


def build_salary_table(out_dir: Path) -> Path:
    """An ordinary workbook (a salary table), no xltool metadata and none of the form's labels."""
    import xlsxwriter

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "salary-table.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": datetime(2025, 1, 1, tzinfo=UTC), "author": "财务科"})
    ws = wb.add_worksheet("2025年1月工资表")
    rows = [
        ["序号", "姓名", "部门", "基本工资", "绩效工资", "扣款", "实发工资"],
        [1, "张三", "办公室", 5200, 1800, 320, None],
        [2, "李四", "财务科", 4800, 1500, 290, None],
        [3, "王五", "信息公开科", 5000, 1650, 305, None],
    ]
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
        if r:
            ws.write_formula(r, 6, f"=D{r + 1}+E{r + 1}-F{r + 1}")
    wb.close()
    path.write_bytes(_normalise(path.read_bytes()))
    return path


def build_unknown_form(out_dir: Path) -> Path:
    """A real 2025 template whose _meta form_id was changed to a form xltool does not know."""
    from xltool.forms import form_for_year

    data = _patch_shared_string(template_bytes(), form_for_year(2025).id, "gov-budget-disclosure-2099")
    return _write(out_dir, "unknown-form-id.xlsx", data)


def build_form2019_year2025(out_dir: Path) -> Path:
    """A 2019-format template (made for 2020) whose _meta year was patched to 2025."""
    return _write(out_dir, "form2019-declared-2025.xlsx", _patch_shared_string(template_bytes(2020), "2020", "2025"))


# --- bombs ------------------------------------------------------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    """The classic entity bomb: &lol9; expands to 10**9 'lol' (3 GB) in a parser that expands entities."""
    decls = ['<!ENTITY lol "lol">']
    for i in range(1, levels + 1):
        ref = "&lol;" if i == 1 else f"&lol{i - 1};"
        decls.append(f'<!ENTITY lol{i} "{ref * 10}">')
    return "<!DOCTYPE lolz [" + "".join(decls) + "]>"


_ROOT_START = re.compile(r"<[A-Za-z_][^>]*>")


def _with_bomb(xml: bytes, encoding: str = "utf-8") -> bytes:
    """The part with a billion-laughs DTD before its root element and &lolN; just inside the root."""
    text = xml.decode("utf-8")
    decl_end = text.index("?>") + 2 if text.startswith("<?xml") else 0
    root = _ROOT_START.search(text, decl_end)
    assert root is not None
    levels = 9
    text = (
        text[:decl_end] + billion_laughs(levels) + text[decl_end : root.end()] + f"&lol{levels};" + text[root.end() :]
    )
    if encoding != "utf-8":
        text = re.sub(r'encoding="[^"]*"', f'encoding="{encoding.upper()}"', text, count=1)
    return text.encode(encoding)


SHEET_PART = "xl/worksheets/sheet2.xml"  # the first official table (二、主动公开); sheet1 is 填报说明


def _bomb_in(part: str, *, encoding: str = "utf-8", rename: str | None = None) -> bytes:
    def edit(name: str, body: bytes) -> tuple[str, bytes]:
        if name == part:
            body = _with_bomb(body, encoding)
            name = rename or name
        elif rename and name in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
            old, new = part.removeprefix("xl/"), rename.removeprefix("xl/")
            body = _replace_once(body, old.encode(), new.encode(), name)
        return name, body

    data = template_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        if part not in z.namelist():
            raise RuntimeError(f"corpus: template has no {part}")
    return _normalise(data, edit)


def build_xml_bomb_workbook(out_dir: Path) -> Path:
    """Billion laughs in xl/workbook.xml of an otherwise valid template."""
    return _write(out_dir, "xml-bomb-workbook.xlsx", _bomb_in("xl/workbook.xml"))


def build_xml_bomb_sheet(out_dir: Path) -> Path:
    """Billion laughs in a worksheet part of an otherwise valid template."""
    return _write(out_dir, "xml-bomb-sheet.xlsx", _bomb_in(SHEET_PART))


def build_xml_bomb_sheet_utf16(out_dir: Path) -> Path:
    """Billion laughs in a worksheet part saved as UTF-16 (legal XML; the DTD bytes are not ASCII)."""
    return _write(out_dir, "xml-bomb-sheet-utf16.xlsx", _bomb_in(SHEET_PART, encoding="utf-16"))


def build_xml_bomb_sheet_upper_ext(out_dir: Path) -> Path:
    """Billion laughs in a worksheet part named sheet2.XML (part names are free; rels and content types agree)."""
    return _write(out_dir, "xml-bomb-sheet-upper-ext.xlsx", _bomb_in(SHEET_PART, rename="xl/worksheets/sheet2.XML"))


def _zeros(total: int, chunk: int = MB) -> Iterator[bytes]:
    block = b"\0" * chunk
    while total > 0:
        yield block[: min(chunk, total)]
        total -= chunk


def _template_with_big_part(out: Path, size: int) -> zipfile.ZipInfo:
    """Write a template whose sheet part is its XML followed by `size` zero bytes (streamed, never in memory)."""
    src = zipfile.ZipFile(io.BytesIO(template_bytes()))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            target = zipfile.ZipInfo(info.filename, FIXED_TIME)
            target.compress_type = zipfile.ZIP_DEFLATED
            target.external_attr = 0o644 << 16
            if info.filename != SHEET_PART:
                z.writestr(target, body)
                continue
            with z.open(target, "w", force_zip64=size > 2**31) as fh:
                fh.write(body)
                for block in _zeros(size):
                    fh.write(block)
    with zipfile.ZipFile(out) as z:
        return z.getinfo(SHEET_PART)


def build_zip_bomb(out_dir: Path, size: int = 320 * MB) -> Path:
    """A template whose sheet part inflates to `size` (default 320 MB > the 300 MB cap); about 0.35 MB on disk."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "zip-bomb.xlsx"
    _template_with_big_part(path, size)
    return path


def build_zip_bomb_ratio(out_dir: Path) -> Path:
    """A template with a 12 MB sheet part of zeros: under the total cap, but compressed ~1000:1 (cap 200:1)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "zip-bomb-ratio.xlsx"
    _template_with_big_part(path, 12 * MB)
    return path


def build_zip_bomb_lying(out_dir: Path, size: int = 320 * MB) -> Path:
    """Like build_zip_bomb, but both headers understate the part's size (and give the CRC of its XML alone)."""
    import zlib

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "zip-bomb-lying-size.xlsx"
    info = _template_with_big_part(path, size)
    xml = zipfile.ZipFile(io.BytesIO(template_bytes())).read(SHEET_PART)
    crc, declared = zlib.crc32(xml), len(xml)
    data = path.read_bytes()[-64 * 1024 :]  # the central directory is small and at the end
    base = path.stat().st_size - len(data)
    cd_offset, cd_size = _central_directory(data)
    with path.open("r+b") as fh:
        fh.seek(info.header_offset)
        assert fh.read(4) == b"PK\x03\x04"
        fh.seek(info.header_offset + 14)
        fh.write(struct.pack("<I", crc))
        fh.seek(info.header_offset + 22)
        fh.write(struct.pack("<I", declared))
        pos = cd_offset - base
        while pos < cd_offset - base + cd_size:
            n, e, c = struct.unpack("<HHH", data[pos + 28 : pos + 34])
            if data[pos + 46 : pos + 46 + n] == SHEET_PART.encode():
                fh.seek(base + pos + 16)
                fh.write(struct.pack("<I", crc))
                fh.seek(base + pos + 24)
                fh.write(struct.pack("<I", declared))
                break
            pos += 46 + n + e + c
        else:
            raise RuntimeError("corpus: sheet part not found in the central directory")
    return path


def build_too_large(out_dir: Path, size: int = 100 * MB) -> Path:
    """A 100 MB file (sparse: a zip signature, then a hole) — larger than any return could be."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "too-large.xlsx"
    with path.open("wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.truncate(size)
    return path


# --- need outside tools -----------------------------------------------------------------------------------------------


def build_encrypted(out_dir: Path) -> Path:
    """A real template encrypted with a password (ECMA-376 Agile, as Excel does) by msoffcrypto-tool.

    Salts and keys come from a seeded generator so the bytes repeat; msoffcrypto is needed only here.
    """
    from msoffcrypto.format.ooxml import OOXMLFile
    from msoffcrypto.method import ecma376_agile
    from msoffcrypto.method.container import ecma376_encrypted

    class _PinnedDatetime(datetime):  # the OLE directory entries carry 'now'
        @classmethod
        def now(cls, tz=None):
            return datetime(*FIXED_TIME)

    rng = random.Random(1234)
    saved = ecma376_agile._random_buffer, ecma376_encrypted.datetime
    ecma376_agile._random_buffer, ecma376_encrypted.datetime = rng.randbytes, _PinnedDatetime
    try:
        out = io.BytesIO()
        OOXMLFile(io.BytesIO(template_bytes())).encrypt(ENCRYPTION_PASSWORD, out)
    finally:
        ecma376_agile._random_buffer, ecma376_encrypted.datetime = saved
    return _write(out_dir, "encrypted.xlsx", out.getvalue())


def filled_template(path: Path, values: dict[str, int], drop_check_sheet: bool = False) -> Path:
    """A 2025 template with `values` typed into its input cells by openpyxl (as a clerk would fill it)."""
    import openpyxl

    from xltool import layout
    from xltool.forms import form_for_year

    form = form_for_year(2025)
    src = path.with_suffix(".blank.xlsx")
    src.write_bytes(template_bytes())
    wb = openpyxl.load_workbook(src)
    for key, value in values.items():
        cell = form.cell[key]
        wb[form.table(cell.table).sheet].cell(row=cell.row + 1, column=cell.col + 1, value=value)
    if drop_check_sheet:
        del wb[layout.CHECK_SHEET]
    wb.save(path)
    src.unlink()
    return path


def soffice_convert(src: Path, out_dir: Path, fmt: str = "xls") -> Path:
    """Convert with LibreOffice headless; soffice exits 0 even when it fails, so the output is checked."""
    soffice = shutil.which("soffice")
    if soffice is None:
        raise FileNotFoundError("soffice (LibreOffice) is not on PATH")
    with tempfile.TemporaryDirectory(prefix="lo-corpus-") as profile:
        proc = subprocess.run(
            [
                soffice,
                "--headless",
                f"-env:UserInstallation=file://{profile}",
                "--convert-to",
                fmt,
                "--outdir",
                str(out_dir),
                str(src),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    out = out_dir / f"{src.stem}.{fmt}"
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"soffice did not write {out.name}: {proc.stdout.strip()} {proc.stderr.strip()}")
    return out


def build_legacy_xls(out_dir: Path) -> Path:
    """A filled 2025 template saved as Excel 97-2003 .xls by LibreOffice.

    The 校验 sheet (rule texts and formulas only) is removed first to keep the file under 50 KB; the reader
    does not need it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        filled = filled_template(Path(tmp) / "filled-2025.xlsx", XLS_VALUES, drop_check_sheet=True)
        xls = soffice_convert(filled, Path(tmp))
        return _write(out_dir, "filled-2025.xls", xls.read_bytes())


XLS_FORMULA_KEY = "apply.new.natural_person"  # the input that holds =2+3 (cached result patched to 7)
XLS_FAR_CELL = "IV65536"  # the last cell an .xls sheet has: calamine alone builds a 65,536 x 256 grid for it
XLS_UNSAFE = {"Z4": '=HYPERLINK("http://x.example/","x")', "Z5": '=INDIRECT("A1")'}


def _legacy_xls(out_dir: Path, name: str, edit: Callable) -> Path:
    """The filled 2025 template (no 校验 sheet, to stay small) edited by openpyxl, then saved as .xls by LibreOffice."""
    import openpyxl

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        filled = filled_template(Path(tmp) / f"{Path(name).stem}.xlsx", XLS_VALUES, drop_check_sheet=True)
        wb = openpyxl.load_workbook(filled)
        edit(wb)
        wb.save(filled)
        return _write(out_dir, name, soffice_convert(filled, Path(tmp)).read_bytes())


def _xls_input(key: str) -> tuple[str, int, int]:
    from xltool.forms import form_for_year

    form = form_for_year(2025)
    cell = form.cell[key]
    return form.table(cell.table).sheet, cell.row, cell.col


def build_xls_formula_in_input(out_dir: Path) -> Path:
    """=2+3 typed in an input cell, its cached result then patched to 7 in the FORMULA record (what a hand-edited
    file can say): the reader must flag the formula and never take 7 (nor 5)."""
    import olefile

    from xltool.formats import _biff

    sheet, row, col = _xls_input(XLS_FORMULA_KEY)

    def edit(wb):
        wb[sheet].cell(row=row + 1, column=col + 1, value="=2+3")

    path = _legacy_xls(out_dir, "xls-formula-in-input.xls", edit)
    book = _biff.read(path.read_bytes(), {})
    ole = olefile.OleFileIO(str(path))
    stream = bytearray(ole.openstream(book.stream_name).read())
    ole.close()
    offset = next(o for (n, o, _, _) in _sheets(stream) if n == sheet)
    for typ, pos, body in _biff.records(stream, offset):
        if typ == _biff.FORMULA and struct.unpack_from("<HH", body) == (row, col):
            struct.pack_into("<d", stream, pos + 4 + 6, 7.0)
            break
    else:
        raise RuntimeError("the =2+3 FORMULA record was not written")
    ole = olefile.OleFileIO(str(path), write_mode=True)
    ole.write_stream(book.stream_name, bytes(stream))
    ole.close()
    return path


def _sheets(stream: bytes) -> list[tuple[str, int, str, int]]:
    """(name, offset, state, type) of each BOUNDSHEET record (BIFF8)."""
    from xltool.formats import _biff

    out = []
    for typ, _, body in _biff.records(stream, 0):
        if typ == 0x0085:
            offset, state, kind, cch = struct.unpack_from("<IBBB", body)
            out.append((_biff._unicode(body, 7, cch)[0], offset, state, kind))
    return out


def build_xls_far_cell(out_dir: Path) -> Path:
    """A filled return with one value at IV65536 of the Table 三 sheet."""
    sheet = _xls_input(XLS_FORMULA_KEY)[0]

    def edit(wb):
        wb[sheet][XLS_FAR_CELL] = 42

    return _legacy_xls(out_dir, "xls-far-cell.xls", edit)


def build_xls_unsafe_formulas(out_dir: Path) -> Path:
    """HYPERLINK and INDIRECT formulas beside the Table 三 (LibreOffice cannot write WEBSERVICE to .xls, and reads
    no DDE from an openpyxl formula: xls-links.xls has those)."""
    sheet = _xls_input(XLS_FORMULA_KEY)[0]

    def edit(wb):
        for where, formula in XLS_UNSAFE.items():
            wb[sheet][where] = formula

    return _legacy_xls(out_dir, "xls-unsafe-formulas.xls", edit)


_LINKS_FODS = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2"
 office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body><office:spreadsheet>
<table:table table:name="S"><table:table-row>
<table:table-cell table:formula="of:=['file:///tmp/other.ods'#$Sheet1.A1]" office:value-type="float" office:value="9"/>
<table:table-cell table:formula="of:=DDE(&quot;cmd&quot;;&quot;/C calc&quot;;&quot;A0&quot;)" office:value-type="float"
 office:value="1"/><table:table-cell office:value-type="float" office:value="3"/>
</table:table-row></table:table></office:spreadsheet></office:body></office:document>
"""


def build_xls_links(out_dir: Path) -> Path:
    """A one-sheet .xls whose A1 reads another file and B1 is a DDE call (C1 a plain 3), saved by LibreOffice."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "xls-links.fods"
        src.write_text(_LINKS_FODS, encoding="utf-8")
        return _write(out_dir, "xls-links.xls", soffice_convert(src, Path(tmp)).read_bytes())


SMALL: dict[str, Callable[[Path], Path]] = {
    "text-file.xlsx": build_text_file,
    "pdf-document.xlsx": build_pdf,
    "word-document.xlsx": build_docx,
    "random-binary.xlsx": build_random_binary,
    "csv-with-bom.xlsx": build_csv_bom,
    "html-table.xls": build_html_xls,
    "empty-zip.xlsx": build_empty_zip,
    "empty.xlsx": build_empty,
    "truncated.xlsx": build_truncated,
    "corrupt-central-directory.xlsx": build_corrupt_central_directory,
    "corrupt-member-data.xlsx": build_corrupt_member_data,
    "salary-table.xlsx": build_salary_table,
    "unknown-form-id.xlsx": build_unknown_form,
    "form2019-declared-2025.xlsx": build_form2019_year2025,
    "xml-bomb-workbook.xlsx": build_xml_bomb_workbook,
    "xml-bomb-sheet.xlsx": build_xml_bomb_sheet,
    "xml-bomb-sheet-utf16.xlsx": build_xml_bomb_sheet_utf16,
    "xml-bomb-sheet-upper-ext.xlsx": build_xml_bomb_sheet_upper_ext,
    "zip-bomb-ratio.xlsx": build_zip_bomb_ratio,
}
LARGE: dict[str, Callable[[Path], Path]] = {
    "zip-bomb.xlsx": build_zip_bomb,
    "zip-bomb-lying-size.xlsx": build_zip_bomb_lying,
    "too-large.xlsx": build_too_large,
}
EXTERNAL: dict[str, Callable[[Path], Path]] = {
    "encrypted.xlsx": build_encrypted,
    "filled-2025.xls": build_legacy_xls,
    "xls-formula-in-input.xls": build_xls_formula_in_input,
    "xls-far-cell.xls": build_xls_far_cell,
    "xls-unsafe-formulas.xls": build_xls_unsafe_formulas,
    "xls-links.xls": build_xls_links,
}


def main(argv: list[str]) -> int:
    external = "--external" in argv
    args = [a for a in argv if a != "--external"]
    out_dir = Path(args[0]) if args else FILES
    for name, build in SMALL.items():
        path = build(out_dir)
        assert path.name == name, (name, path)
        print(f"{path.stat().st_size:>8}  {path.name}")
    for name, build in EXTERNAL.items():
        if (out_dir / name).exists() and not external:
            print(f"{'-':>8}  {name}: kept (rebuild with --external; the .xls is not byte-reproducible)")
            continue
        try:
            path = build(out_dir)
        except (ImportError, FileNotFoundError, RuntimeError, subprocess.SubprocessError) as exc:
            kept = "kept the existing file" if (out_dir / name).exists() else "NOT written"
            print(f"{'-':>8}  {name}: {type(exc).__name__}: {exc} ({kept})", file=sys.stderr)
            continue
        print(f"{path.stat().st_size:>8}  {path.name}")
    big = [p for p in out_dir.iterdir() if p.stat().st_size >= 50 * 1024]
    if big:
        print(f"warning: not commit-sized: {[p.name for p in big]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
