"""Rows written straight into the xlsx zip: a roll-up's per-unit sheets without holding them in memory.

XlsxWriter (in its normal mode) keeps every cell of a workbook until it closes, so a roll-up of 100,000 units would
hold 明细's 17 million cells; its constant_memory mode writes inline strings, which some older WPS versions reject.
So a review sheet (xltool.template.review) draws everything but its per-unit rows with XlsxWriter (header rows,
widths, frozen panes, filters over the final range, print setup, protection, and rows after the list such as
概览's total and charts) and registers a `Stream`: the first row of the list, how many rows, and a function yielding
each row as (height in points or None, cells as (column, value, format)). After XlsxWriter has closed the workbook,
`finish` rewrites the zip once:

- each streamed sheet's XML is copied with the rows inserted at their place inside <sheetData>, one row at a time,
  straight into the compressed zip entry;
- text goes to the shared-string table like XlsxWriter's own (never inline strings): a string already in XlsxWriter's
  table or among the last STRINGS_KEPT new ones reuses its index, any other is appended (a repeat beyond that window is
  stored twice, which the format allows), new <si> items are spooled to a temporary file and copied in last;
- the workbook-structure lock (xltool.template.protection.lock_workbook_xml) is applied on the way.

The zip is written without zip64 extensions (allowZip64=False: a part over 4 GB is an error, not a silently different
file), entries keep XlsxWriter's names, dates and attributes, and nothing depends on the clock or on memory
addresses, so the same inputs give the same bytes.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import compress, repeat
from operator import is_not
from pathlib import Path

from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from xltool import safewrite
from xltool.model import Invalid

STRINGS_KEPT = 20_000  # new distinct strings remembered for reuse (memory stays flat whatever the number of rows)
CELL_LIMIT = 32_000  # as review.CELL_LIMIT: a cell holds 32,767 characters
STREAM_LEVEL = 1  # deflate level of streamed sheets (large, repetitive XML: level 1 is 3× faster and nearly as small)
SST_PART = "xl/sharedStrings.xml"
ROW_LIMIT = 1_048_576  # rows in a worksheet

Row = tuple[float | None, Iterable[tuple[int, object, object]]]  # (height in points or None, (col, value, format))

_EXACT = 10**15  # ints below this print the same with str() as with XlsxWriter's "%.16G"
_NONE = type(None)
_WHOLE = {int, _NONE}  # a Dense run of only these is written by one %-format
TEMPLATES_KEPT = 256  # Dense templates remembered per sheet (rows with the same blanks share one)
_CONTROL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_SPECIAL = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x")  # what _escape changes
_ROW_START = re.compile(rb'<row r="(\d+)"')
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>')
_SST_COUNTS = re.compile(rb'<sst ([^>]*?)count="\d+" uniqueCount="\d+"')


class StreamError(RuntimeError):
    """A streamed sheet could not be written (a value XlsxWriter would also refuse)."""


@dataclass
class Stream:
    """Rows `first` .. `first + count - 1` (0-based) of worksheet `ws`, produced by `rows()` when the zip is
    rewritten (so the caller holds none of them); `last_col` is the widest column (for the sheet's dimension)."""

    ws: object
    first: int
    count: int
    last_col: int
    rows: Callable[[], Iterator[Row]]


def style_index(fmt) -> int:
    """The style index XlsxWriter gives `fmt` (the `s` of its cells), fixed by the first call so that XlsxWriter's
    styles part lists the format.

    XlsxWriter numbers a format when it writes the first cell that uses it and has no public call for the number.
    Streamed rows are written after it closes the workbook, so `register` numbers their formats beforehand, in the
    order the sheets register them; that order is part of the output (tests/test_golden.py: numbering them any
    other way, e.g. through cells XlsxWriter writes, changes xl/styles.xml). This is the one private XlsxWriter
    call of the module; xlsxwriter is pinned to the tested range in pyproject.toml."""
    return fmt._get_xf_index()


def register(writer, ws, first: int, count: int, last_col: int, rows: Callable[[], Iterator[Row]], formats) -> None:
    """Leave rows first .. first+count-1 of `ws` to `finish`; `formats` are every format those rows use (their style
    indexes are fixed now). The sheet's dimension covers the rows, so readers see the whole range."""
    for fmt in formats:
        style_index(fmt)
    if first + count > ROW_LIMIT:
        raise StreamError(f"“{ws.name}”表的行数超过工作表上限（{first + count} 行）")
    # The sheet's <dimension> is widened when the rows are written (telling XlsxWriter would make it walk, and
    # keep an empty dict for, every row of the range).
    writer.streams.append(Stream(ws, first, count, last_col, rows))


def _escape(text: str) -> str:
    """As XlsxWriter writes a shared string: control characters as _xHHHH_ (and a literal _xHHHH_ escaped), then XML."""
    if not _SPECIAL.search(text):
        return text
    if "_x" in text:
        text = _CONTROL_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Strings:
    """The shared-string table: XlsxWriter's strings, then the new ones, deduplicated within a bounded window."""

    def __init__(self, table, spool) -> None:
        self.base: dict[str, int] = table.string_table
        self.unique = table.unique_count
        self.count = table.count
        self.recent: dict[str, int] = {}
        self.spool = spool

    def index(self, text: str) -> int:
        self.count += 1
        found = self.base.get(text)
        if found is None:
            found = self.recent.get(text)
        if found is not None:
            return found
        if len(self.recent) >= STRINGS_KEPT:
            self.recent.clear()
        found = self.recent[text] = self.unique
        self.unique += 1
        space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""  # as XlsxWriter
        self.spool.write(f"<si><t{space}>{_escape(text)}</t></si>".encode())
        return found


def _number(value: float | int) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise StreamError(f"无法写入数值 {value}")
    return f"{value:.16G}"


def _plain(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


def cell_value(value: object) -> object:
    """What a review-sheet cell shows: an unusable entry as typed, 是/否 for a flag, an exact amount as a number;
    None or "" for nothing. Numbers stay numbers; anything else is written as text (never a formula or a link)."""
    if isinstance(value, Invalid):
        value = value.raw
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return _plain(value)
    return value


def _clip(text: str) -> str:
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


class _Letters(dict):
    def __missing__(self, col: int) -> str:
        self[col] = name = xl_col_to_name(col)
        return name


@dataclass(frozen=True)
class Dense:
    """A run of value cells from column `first`, one format per column (`other` for a value that is not a number,
    e.g. unusable text): 明细's 170 figures per unit, written on a fast path."""

    first: int
    values: tuple
    formats: list
    other: object


def _others(values: tuple) -> list[int]:
    """Where a run holds something other than a whole number or a blank (found by type, in C, not cell by cell)."""
    kinds = list(map(type, values))
    out = []
    for kind in set(kinds) - _WHOLE:
        k = kinds.index(kind)
        while True:
            out.append(k)
            try:
                k = kinds.index(kind, k + 1)
            except ValueError:
                break
    return sorted(out)


def rows_xml(stream: Stream, strings: Strings) -> Iterator[str]:
    """The <row> elements of a stream, as XlsxWriter would write the same cells (numbers as numbers, text as shared
    strings, never a formula). A row is (height, cells) or (height, cells, Dense).

    Each cell's text around its row number is made once per column and format; a Dense run of whole numbers (and
    blanks) is one %-format of the columns that have a value."""
    letters = _Letters()
    styles: dict[int, int] = {}  # id(format) -> style index (a format equal to an earlier one shares its index)
    # (column, id(format)) -> ('<c r="B', '" s="3"><v>', '" s="3" t="s"><v>')
    heads: dict[tuple[int, int], tuple[str, str, str]] = {}

    def head(col: int, fmt) -> tuple[str, str, str]:
        xf = styles.get(id(fmt))
        if xf is None:
            xf = styles[id(fmt)] = style_index(fmt)
        out = heads[col, id(fmt)] = (f'<c r="{letters[col]}', f'" s="{xf}"><v>', f'" s="{xf}" t="s"><v>')
        return out

    def cell(parts: list, col: int, r: str, value, fmt) -> None:
        kind = type(value)
        if kind is not int and kind is not str:
            value = cell_value(value)
            if value is None or value == "":
                return
            kind = type(value)
        try:
            start, number, text = heads[col, id(fmt)]
        except KeyError:
            start, number, text = head(col, fmt)
        if kind is int and -_EXACT < value < _EXACT:
            parts.append(f"{start}{r}{number}{value}</v></c>")
        elif kind is str:
            if value:
                index = strings.index(value if len(value) <= CELL_LIMIT else _clip(value))
                parts.append(f"{start}{r}{text}{index}</v></c>")
        elif isinstance(value, (int, float)):
            parts.append(f"{start}{r}{number}{_number(value)}</v></c>")
        else:
            parts.append(f"{start}{r}{text}{strings.index(_clip(str(value)))}</v></c>")

    # '<c r="E\x01" s="5"><v>%s</v></c>' per column of the run (\x01: the row number)
    dense_cells: list[str] = []
    # (cells made by `cell`, which columns have a value or how many) -> the run's template, "%s" for a made cell
    templates: dict[tuple[tuple[int, ...], bytes | int], str] = {}

    def dense_xml(dense: Dense, r: str) -> str:
        """A run's cells: one %-format of a template of the columns that have a value (the same few templates
        serve most rows); a cell that is not a whole number below _EXACT is made by `cell` and put in as it is."""
        values = dense.values
        if len(values) > len(dense_cells):
            raise StreamError(f"一行有 {len(values)} 个数值，多于 {len(dense_cells)} 列")
        kinds = set(map(type, values))
        made = [] if kinds <= _WHOLE else _others(values)
        if made:
            values = list(values)
            for k in made:
                values[k] = 0  # a stand-in until the cell is made
        keep = list(map(is_not, values, repeat(None))) if _NONE in kinds else None
        numbers = values if keep is None else list(compress(values, keep))
        if numbers and (max(numbers) >= _EXACT or min(numbers) <= -_EXACT):  # rare: as XlsxWriter's "%.16G"
            values = list(values)
            made = sorted({*made, *(k for k, v in enumerate(values) if v is not None and not -_EXACT < v < _EXACT)})
            for k in made:
                values[k] = 0
        key = (tuple(made), len(values) if keep is None else bytes(keep))
        template = templates.get(key)
        if template is None:
            pieces = dense_cells[: len(values)]
            for k in made:
                pieces[k] = "%s"
            template = "".join(pieces if keep is None else compress(pieces, keep))
            if len(templates) < TEMPLATES_KEPT:
                templates[key] = template
        for k in made:
            value, parts = dense.values[k], []
            cell(parts, dense.first + k, r, value, dense.other if isinstance(value, Invalid) else dense.formats[k])
            values[k] = "".join(parts)  # "" for a cell that shows nothing
        return template.replace("\x01", r) % tuple(values if keep is None else compress(values, keep))

    index = strings.index
    heights: dict[float, str] = {}  # height in points -> the <row> attributes XlsxWriter writes for it
    r = stream.first
    for row in stream.rows():
        r += 1
        rs = str(r)
        parts: list[str] = []
        for col, value, fmt in row[1]:
            kind = type(value)
            if kind is int and -_EXACT < value < _EXACT:  # as `cell`, without the call: most cells are these two
                found = heads.get((col, id(fmt))) or head(col, fmt)
                parts.append(f"{found[0]}{rs}{found[1]}{value}</v></c>")
            elif kind is str and value and len(value) <= CELL_LIMIT:
                found = heads.get((col, id(fmt))) or head(col, fmt)
                parts.append(f"{found[0]}{rs}{found[2]}{index(value)}</v></c>")
            else:
                cell(parts, col, rs, value, fmt)
        if len(row) > 2:
            dense: Dense = row[2]
            if not dense_cells:  # the same columns and formats in every row of a sheet
                for k, fmt in enumerate(dense.formats):
                    start, number, _ = head(dense.first + k, fmt)
                    dense_cells.append(f"{start}\x01{number}%s</v></c>")
            parts.append(dense_xml(dense, rs))
        height = row[0]
        if height is not None:
            attrs = heights.get(height)
            if attrs is None:
                pixels = int(height * 4.0 / 3.0 + 0.5)  # XlsxWriter's set_row: points to whole pixels and back
                attrs = heights[height] = f'" ht="{pixels * 0.75:.16g}" customHeight="1">'
            yield f'<row r="{rs}{attrs}{"".join(parts)}</row>'
        else:
            yield f'<row r="{rs}">{"".join(parts)}</row>'
    if r != stream.first + stream.count:
        raise StreamError(f"应写 {stream.count} 行，实际 {r - stream.first} 行")


def _sheet_part(wb, ws) -> str:
    index = [s for s in wb.worksheets() if not s.is_chartsheet].index(ws)
    return f"xl/worksheets/sheet{index + 1}.xml"


def _widened(found: re.Match, stream: Stream) -> bytes:
    """The sheet's <dimension> covering the streamed rows too (they start in column A)."""
    if not stream.count:
        return found.group(0)
    first_row = int(found.group(2))
    last_col = xl_cell_to_rowcol((found.group(3) or found.group(1)).decode() + "1")[1]
    last_row = int(found.group(4) or found.group(2))
    top, bottom = min(first_row, stream.first + 1), max(last_row, stream.first + stream.count)
    return f'<dimension ref="A{top}:{xl_col_to_name(max(last_col, stream.last_col))}{bottom}"/>'.encode()


def _write_sheet(dst: zipfile.ZipFile, item: zipfile.ZipInfo, skeleton: bytes, stream: Stream, strings) -> None:
    """The skeleton's XML with the streamed rows inserted in row order inside <sheetData>."""
    skeleton = _DIMENSION.sub(lambda m: _widened(m, stream), skeleton, count=1)
    if b"<sheetData/>" in skeleton:
        skeleton = skeleton.replace(b"<sheetData/>", b"<sheetData></sheetData>", 1)
    start = skeleton.index(b"<sheetData>") + len(b"<sheetData>")
    end = skeleton.index(b"</sheetData>")
    at = end
    for found in _ROW_START.finditer(skeleton, start, end):
        if int(found.group(1)) > stream.first:  # 1-based row numbers: the first row after the list's place
            at = found.start()
            break
    item.compress_type = zipfile.ZIP_DEFLATED
    item._compresslevel = STREAM_LEVEL
    with dst.open(item, "w") as out:
        out.write(skeleton[:at])
        buffer: list[str] = []
        size = 0
        for xml in rows_xml(stream, strings):
            buffer.append(xml)
            size += len(xml)
            if size > 1 << 20:
                out.write("".join(buffer).encode())
                buffer, size = [], 0
        out.write("".join(buffer).encode())
        out.write(skeleton[at:])


def finish(path: Path, wb, streams: list[Stream], lock: Callable[[bytes], bytes]) -> None:
    """Rewrite the closed workbook at `path`: streamed rows in place, new shared strings appended, `lock` applied to
    xl/workbook.xml."""
    parts = {_sheet_part(wb, s.ws): s for s in streams}
    with (
        safewrite.replacing(path) as tmp,
        tempfile.TemporaryFile() as spool,
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=False) as dst,
    ):
        strings = Strings(wb.str_table, spool)
        sst_item = None
        for item in src.infolist():
            if item.filename == SST_PART:
                sst_item = item
                continue
            data = src.read(item.filename)
            if item.filename in parts:
                _write_sheet(dst, item, data, parts[item.filename], strings)
                continue
            if item.filename == "xl/workbook.xml":
                data = lock(data)
            dst.writestr(item, data)
        if sst_item is None:
            raise StreamError("工作簿缺少共享字符串表")
        sst = src.read(SST_PART)
        counts = f'count="{strings.count}" uniqueCount="{strings.unique}"'.encode()
        sst = _SST_COUNTS.sub(lambda m: b"<sst " + m.group(1) + counts, sst, count=1)
        end = sst.rindex(b"</sst>")
        with dst.open(sst_item, "w") as out:
            out.write(sst[:end])
            spool.seek(0)
            shutil.copyfileobj(spool, out, 1 << 20)
            out.write(sst[end:])


__all__ = ["Dense", "Stream", "StreamError", "finish", "register"]
