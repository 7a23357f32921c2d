"""What the published-report readers share: reading the file once, telling its content, stacking its tables.

A report is read whatever its name says: a .txt holding HTML is read as HTML, a Word file under another name as Word.
A PDF is read by the PDF reader; old binary Office files are refused with advice.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from xltool.codes import Code
from xltool.formats import reader_named
from xltool.formats.page import Grid, Page, report_page
from xltool.forms import all_forms
from xltool.labels import norm
from xltool.locate import known_labels
from xltool.sources import ReadError, read_bytes
from xltool.values import is_filled

MAX_REPORT_BYTES = 20 * 1024 * 1024  # a report with pictures is a few MB; a text or HTML report is well under 1 MB
MAX_TEXT_BYTES = 4 * 1024 * 1024  # text, Markdown and HTML: refused before they are decoded or parsed
MAX_LINES = 100_000  # text lines (a report has a few hundred)
MAX_ROW_CELLS = 2_000  # cells in one table row, or `|` on one Markdown line (a statistics table row has under 20)
MAX_SPAN = 200  # rowspan/colspan beyond this is not a statistics table
MAX_GRID_CELLS = 500_000


def read_report(path: Path, prefer: str = "text") -> Page:
    """Any published report; `prefer` is what the file's name suggests (text, md, html, pdf), the content decides."""
    data = read_bytes(path, MAX_REPORT_BYTES, "请检查是否选错了文件")
    if data.startswith(b"PK\x03\x04"):
        kind = "docx"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(
            Code.NOT_A_REPORT,
            "这是旧版 Word（.doc）或 Excel（.xls）文件；报告请另存为 .docx 后导入，统计表请用 xltool check",
        )
    elif data.lstrip()[:5].lower() == b"%pdf-":
        kind = "pdf"
    else:
        kind = "html" if looks_html(data[:512]) or prefer == "html" else "text"
        if len(data) > MAX_TEXT_BYTES:  # before decoding: a text report is well under 1 MB
            raise too_large(
                f"文件有 {len(data) / 1048576:.1f} MB，远超文本或网页报告的正常大小（上限 {MAX_TEXT_BYTES >> 20} MB）"
            )
    parse = reader_named(kind).parse
    assert parse is not None, kind
    page = parse(data)
    page.path, page.data = path, data
    return page


def too_large(what: str) -> ReadError:
    """TOO-LARGE for a report: what is too large, and what to do."""
    return ReadError(Code.TOO_LARGE, f"{what}，已拒绝读取；请检查是否选错了文件，或只导入年度报告本身")


ENCODINGS = ("utf-8", "gb18030")  # a report from a Chinese site is UTF-8 or GBK/GB18030 (GB18030 contains GBK)


def decode_noted(data: bytes) -> tuple[str, str | None]:
    """The text, and a note when bytes had to be replaced. UTF-16 with its BOM; otherwise UTF-8 or GB18030, whichever
    decodes with fewer errors (UTF-8 on a tie): a GBK report with three bad bytes is still GBK, not mojibake. Each
    byte that decodes in neither becomes U+FFFD, and the note says how many and in which encoding."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, errors = _decoded(data, "utf-16")
        return text, _replaced_note(errors, "UTF-16")
    if b"\x00" in data[:4096]:
        raise ReadError(Code.NOT_A_REPORT, "不是文本文件（含二进制内容）；请导入报告的文本、网页或 Word（.docx）文件")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), None  # the common case, in one step
    except UnicodeDecodeError:
        pass
    tried = [(*_decoded(data, name), name) for name in ENCODINGS]
    text, errors, name = min(tried, key=lambda t: t[1])  # min keeps the first (UTF-8) on a tie
    return text, _replaced_note(errors, name.upper())


def _decoded(data: bytes, encoding: str) -> tuple[str, int]:
    """The text with each undecodable byte sequence replaced by U+FFFD, and how many there are (a U+FFFD the file
    already held counts too: it marks an earlier loss all the same)."""
    text = data.decode(encoding, "replace")
    return text, text.count("\ufffd")


def _replaced_note(errors: int, encoding: str) -> str | None:
    if not errors:
        return None
    return f"文件按 {encoding} 编码读取，其中 {errors} 处字节无法识别，已替换为“\ufffd”；请核对这些位置附近的文字和数字"


def text_parse(build: Callable[[str], Page]) -> Callable[[bytes], Page]:
    """A report reader's parse: decode (noting replaced bytes on the page), check the line count, build the page."""

    def parse(data: bytes) -> Page:
        text, note = decode_noted(data)
        lines = text.count("\n") + 1
        if lines > MAX_LINES:
            raise too_large(f"文件有 {lines} 行，远超年度报告的正常篇幅（上限 {MAX_LINES} 行）")
        cells = text.count("|")  # Markdown and text tables: every cell costs a `|`
        if cells > MAX_GRID_CELLS:
            raise too_large(f"文件中的表格有约 {cells} 个单元格，远超统计表的正常大小（上限 {MAX_GRID_CELLS} 个）")
        if cells > MAX_ROW_CELLS:
            for number, line in enumerate(text.splitlines(), 1):
                if line.count("|") > MAX_ROW_CELLS:
                    raise too_large(f"第 {number} 行的表格行有 {line.count('|')} 个单元格（上限 {MAX_ROW_CELLS} 个）")
        page = build(text)
        if note:
            page.notes.insert(0, note)
        return page

    return parse


def looks_html(head: bytes) -> bool:
    start = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html")) or (start.startswith(b"<?xml") and b"<html" in start)


def is_word_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def stacked(kind: str, grids: list[tuple[Grid, set[tuple[int, int]]]], lines: list[str]) -> Page:
    """All tables of a document one below the other, an empty row between them."""
    page = report_page(kind, [], lines)
    for t, (grid, covered) in enumerate(grids, 1):
        width = max((len(row) for row in grid), default=0)
        page.covered.update((len(page.grid) + r, c) for r, c in covered)
        for r, row in enumerate(grid):
            page.where.update(
                {
                    (len(page.grid), c): f"第 {t} 个表格第 {r + 1} 行第 {c + 1} 列"
                    for c, v in enumerate(row)
                    if is_filled(v)
                }
            )
            page.grid.append([official_label(v) or v for v in row] + [""] * (width - len(row)))
        page.grid.append([])
    return page


# --- what the report is: year, unit, form version ------------------------------------------------------------------


# --- label numbering variants ----------------------------------------------------------------------------------------

_CN = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}
_NUMBERING = re.compile(
    r"^\s*(?:[（(]\s*(?P<a>[一二三四五六七八九十]+|\d+)\s*[)）]|(?P<b>[一二三四五六七八九十]+|\d+)\s*[、.．,，]"
    r"|(?P<c>[⑴-⒇])|(?P<d>[①-⑳]))\s*(?P<body>\S.*)$",
    re.S,
)


def _number(text: str) -> tuple[int, str] | None:
    m = _NUMBERING.match(text)
    if not m:
        return None
    if m["c"]:
        n = ord(m["c"]) - ord("⑴") + 1
    elif m["d"]:
        n = ord(m["d"]) - ord("①") + 1
    else:
        s = m["a"] or m["b"]
        if s.isdigit():
            n = int(s)
        elif len(s) == 1:
            n = _CN[s]
        else:  # 十一 … 十九, 二十
            n = (_CN[s[0]] if s[0] != "十" else 1) * 10 + (_CN[s[-1]] if s[-1] != "十" else 0)
    return n, norm(m["body"])


@cache
def _numbered_labels() -> dict[tuple[int, str], str | None]:
    """Every numbered label of every known form by (number, text after the number); None where two differ."""
    out: dict[tuple[int, str], str | None] = {}
    for f in all_forms():
        for t in f.tables:
            for lb in t.labels:
                key = _number(lb.text)
                if key is not None:
                    out[key] = lb.text if out.get(key, lb.text) == lb.text else None
    return out


def official_label(text: object) -> str | None:
    """The official label a differently numbered one stands for (`1、属于国家秘密`, `(1)属于国家秘密`, `⑴…`,
    `一、予以公开` → `1.属于国家秘密`, `（一）予以公开`); None when it is already official, not numbered or unknown."""
    if not isinstance(text, str) or len(text) > 80 or norm(text) in known_labels().labels:
        return None
    key = _number(text)
    return _numbered_labels().get(key) if key is not None else None
