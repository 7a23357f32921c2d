"""The small conversions every sheet of the template writer uses: XlsxWriter's error codes as exceptions, quoted
sheet names, display widths of Chinese text, and numbers as a cell holds them."""

from __future__ import annotations

import math
import re
from decimal import Decimal


class TemplateError(RuntimeError):
    """XlsxWriter refused part of the template (it returns error codes instead of raising)."""


def ok(code: int | None, what: str) -> None:
    if code not in (0, None):
        raise TemplateError(f"写入{what}失败（XlsxWriter 返回 {code}）")


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


_WIDE_FROM = 0x2E80  # code points above this (CJK, full-width forms) take two character units


def text_width(text: str) -> int:
    """Display width in Excel character units: a CJK (or full-width) character is about two."""
    if text.isascii():
        return len(text)
    return len(text) + sum(map(_WIDE_FROM.__lt__, map(ord, text)))


# Printed width of text in a column, in both engines a county uses: Excel/WPS (and LibreOffice with Calibri) measure a
# column unit as 7 px, LibreOffice without Calibri's metrics about 9.7 px; a 10 pt CJK character is 13.3 px in both.
_UNIT_PX = {"excel": 7.0, "libreoffice": 9.7}
_WIDE_PX, _NARROW_PX, _PAD_PX = 13.4, 7.0, 7.0  # a 10 pt CJK glyph, a digit or Latin letter, the cell's own padding


def text_px(text: str) -> float:
    """Printed width of one line of 10 pt text, in pixels at 96 dpi."""
    return sum(_WIDE_PX if ord(ch) > _WIDE_FROM else _NARROW_PX for ch in text)


def room_px(width: float, engine: str) -> float:
    """Pixels of text a column (or merged columns) `width` character units wide holds on one line (LibreOffice
    pads less: measured, 5 CJK characters fit 7 units)."""
    return width * _UNIT_PX[engine] + 5 - (_PAD_PX if engine == "excel" else 4)


def print_lines(text: str, width: float, engine: str = "excel") -> int:
    """Lines a wrapped 10 pt text takes in `width` character units in `engine` (explicit line breaks kept)."""
    room = max(room_px(width, engine), _WIDE_PX)
    return sum(max(1, math.ceil(text_px(part) / room)) for part in str(text).split("\n"))


LINE_PT, ROW_PT = 14.5, 15.0  # one more line of 10 pt text; a row of one line
PAGE_PT = 595 - (0.5 + 0.55) * 72  # printable height of A4 landscape with the margins the writer's print_setup sets


def line_height(lines: int) -> float:
    """The height of a row of `lines` lines of 10 pt text, in points."""
    return ROW_PT + LINE_PT * (lines - 1)


_TOKEN = re.compile(r"（[^（）]*）|[^（]*?、|[^（、]+")


def break_lines(text: str, width: float, glyph_px: float = _WIDE_PX) -> list[str]:
    """A short label in lines that both engines keep as given: （三） and 三、 and a bracketed part kept whole where
    they fit, a longer run cut into lines of equal length (社会公/益组织, not 社会公益组/织), each line fitting the
    narrower engine (Excel) at glyphs `glyph_px` wide."""
    per_line = max(1, int(room_px(width, "excel") // glyph_px))
    if any(ch.isspace() for ch in text):
        return [text]
    pieces: list[str] = []
    for token in _TOKEN.findall(text):
        n = math.ceil(len(token) / per_line)
        sizes = [len(token) // n + (1 if i < len(token) % n else 0) for i in range(n)]
        at = 0
        for size in sizes:
            pieces.append(token[at : at + size])
            at += size
    lines: list[str] = []
    for piece in pieces:
        if lines and len(lines[-1]) + len(piece) <= per_line:
            lines[-1] += piece
        else:
            lines.append(piece)
    return lines


SHRINK_LIMIT = 1.18  # how much wider than Excel's line a text may be and still be shrunk to it (to 8.5 pt at worst)


def fit_line(text: str, width: float) -> tuple[int, bool]:
    """(lines, shrunk) of a label in a cell `width` units wide: one line, shrunk to fit in Excel, when it fits one
    line in LibreOffice and nearly in Excel (so a table keeps single-height rows on paper); else the lines it wraps
    to in Excel, the narrower metric."""
    lines = print_lines(text, width)
    if (
        lines > 1
        and "\n" not in text
        and print_lines(text, width, "libreoffice") == 1
        and text_px(text) <= room_px(width, "excel") * SHRINK_LIMIT
    ):
        return 1, True
    return lines, False


def page_text(text: str) -> str:
    """Text for a page header or footer: & starts a header code, so it is doubled."""
    return text.replace("&", "&&")[:200]


def plain(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


def cached_value(v: Decimal | None) -> int | float | str:
    return "" if v is None else plain(v)
