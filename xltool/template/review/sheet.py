"""What every review sheet is drawn with: one set of formats per sheet, text widths and row heights computed from
the text (XlsxWriter cannot autofit), A4 printing that never goes below 9 pt, protection that keeps filters usable."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from xltool.model import Invalid
from xltool.template import stream
from xltool.template.cells import ok, text_width
from xltool.template.xlsx import FONT

BODY_PT = 10.5  # every text on these sheets (五号); titles are larger
LINE_PT = 14.5  # height of one line of 10.5 pt CJK text in a row
MIN_PRINT_PT = 9  # nothing printed smaller (tests measure it in LibreOffice's PDF)
MIN_SCALE = 88  # % print scale used to fit one page wide: 10.5 pt text stays at 9.24 pt
PAGE_PX = (297 / 25.4 - 1.0) * 96 * 0.97  # printable width of A4 landscape (0.5-inch margins), pixels, 3 % spare
UNIT_PX = 9.4  # pixels of one character unit of column width, the widest seen (LibreOffice with DejaVu Sans)
PAGE_HEIGHT_PT = 595 - (0.6 + 0.7) * 72  # printable height of A4 landscape with the margins _print sets
PAGE_ROWS_PX = 560  # chart height that fits a landscape page below the repeated header row
CELL_LIMIT = 32_000  # a cell holds 32,767 characters; longer text is cut with an ellipsis
CHART_UNITS = 30  # bars in the by-unit chart: all units up to this many, else the 30 with most new applications
STREAM_ROWS = True  # per-unit rows streamed into the zip (xltool.template.stream); False: held by XlsxWriter
_WHOLE = frozenset((int, type(None)))  # a figure's inputs all of these are summed in C (_linear_function)
KEY_ROW_TEXT = re.compile(r"\[([A-Za-z0-9_.\-]+)\]$")
HEADER_FILL = "#DDEBF7"
BAND_FILL = "#BDD7EE"
TOTAL_FILL = "#EDEDED"
BAR_COLOUR = "#4472C4"
MARKS = (("未汇总", "#FFC7CE"), ("缺报", "#FFC7CE"), ("含错误", "#FFEB9C"), ("名册外", "#FFEB9C"))  # status words


def lines_needed(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide."""
    room = max(width - 1.5, 1.0)
    text = str(text)
    if "\n" not in text:
        if len(text) * 2 <= room:  # a character is at most two units wide
            return 1
        return max(1, math.ceil(text_width(text) / room))
    return sum(max(1, math.ceil(text_width(part) / room)) for part in text.split("\n"))


def column_px(width: float) -> float:
    """Pixels of a column `width` characters wide, at the widest character unit seen (UNIT_PX)."""
    return width * UNIT_PX + 5


def _clip(text: object) -> str:
    s = str(text)
    return s if len(s) <= CELL_LIMIT else s[: CELL_LIMIT - 1] + "…"


class _Formats:
    """The formats of one sheet (XlsxWriter shares identical formats across the workbook)."""

    def __init__(self, wb) -> None:
        base = {"font_name": FONT, "font_size": BODY_PT, "valign": "top"}

        def f(**kw):
            return wb.add_format({**base, **kw})

        self.title = f(bold=True, font_size=14, valign="vcenter")
        self.line = f(bold=True, font_size=12, text_wrap=True, valign="vcenter")
        self.heading = f(bold=True, font_size=11, valign="vcenter")
        self.header = f(bold=True, text_wrap=True, align="center", valign="vcenter", border=1, bg_color=HEADER_FILL)
        self.band = f(bold=True, text_wrap=True, align="left", valign="vcenter", border=1, bg_color=BAND_FILL)
        self.label = f(bold=True, text_wrap=True, border=1, bg_color=HEADER_FILL)
        self.text = f(text_wrap=True)
        self.boxed = f(text_wrap=True, border=1)
        self.boxed_code = f(text_wrap=True, border=1, num_format="@")
        self.code = f(text_wrap=True, font_size=BODY_PT, num_format="@")
        self.count = f(num_format="0", align="right")
        self.amount = f(num_format="0.0000", align="right")
        self.number = f(num_format="General", align="right")
        self.total_text = f(bold=True, text_wrap=True, bg_color=TOTAL_FILL)
        self.total_count = f(bold=True, num_format="0", align="right", bg_color=TOTAL_FILL)
        self.total_amount = f(bold=True, num_format="0.0000", align="right", bg_color=TOTAL_FILL)
        self.hidden_key = f(font_size=BODY_PT, num_format="@")
        self._wb, self._base, self._marked = wb, base, {}
        self._mark_of: dict[str, object] = {}  # text -> its format (a status column holds a few words)

    def marks(self) -> list:
        """Every format `mark` can give (streamed rows need their styles fixed before the workbook closes)."""
        return [self.text] + [self.mark(word) for word, _ in MARKS]

    def mark(self, text: object):
        """Wrapped text, tinted when it says something went wrong (未汇总, 缺报) or needs a look (含错误, 名册外)."""
        if type(text) is str and text in self._mark_of:
            return self._mark_of[text]
        colour = next((c for word, c in MARKS if isinstance(text, str) and word in text), None)
        if colour is None:
            found = self.text
        else:
            if colour not in self._marked:
                self._marked[colour] = self._wb.add_format({**self._base, "text_wrap": True, "bg_color": colour})
            found = self._marked[colour]
        if type(text) is str and len(self._mark_of) < 64:
            self._mark_of[text] = found
        return found


def _write(ws, row: int, col: int, value: object, fmt, what: str) -> None:
    """A value as what it is: numbers as numbers, everything else as text (never a formula or a link)."""
    value = stream.cell_value(value)
    if value is None or value == "":
        return
    if isinstance(value, (int, float)):
        ok(ws.write_number(row, col, value, fmt), what)
    else:
        ok(ws.write_string(row, col, _clip(value), fmt), what)


def _height_pt(lines: int) -> float | None:
    """The height _height gives a row of `lines` lines (None: the default height)."""
    return LINE_PT * lines + 4 if lines > 1 else None


def _rows(writer, ws, first: int, count: int, last_col: int, produce, formats) -> None:
    """Rows first .. first+count-1 of `ws` from `produce()` ((height, cells) per row, see xltool.template.stream):
    streamed into the zip after the workbook closes (a roll-up's lists are never held), or written here when the
    writer cannot stream."""
    if STREAM_ROWS and hasattr(writer, "streams"):
        stream.register(writer, ws, first, count, last_col, produce, formats)
        return
    for r, (height, cells, *dense) in enumerate(produce(), start=first):  # the held path (tests compare the two)
        for col, value, fmt in cells:
            _write(ws, r, col, value, fmt, ws.name)
        for run in dense:
            for k, value in enumerate(run.values):
                fmt = run.other if isinstance(value, Invalid) else run.formats[k]
                _write(ws, r, run.first + k, value, fmt, ws.name)
        if height is not None:
            ok(ws.set_row(r, height), ws.name)


def _merge(ws, first_row: int, first_col: int, last_row: int, last_col: int, text: str, fmt, what: str) -> None:
    if (first_row, first_col) == (last_row, last_col):
        _write(ws, first_row, first_col, text, fmt, what)
        if not text:
            ok(ws.write_blank(first_row, first_col, None, fmt), what)
        return
    ok(ws.merge_range(first_row, first_col, last_row, last_col, _clip(text), fmt), what)


def _widths(ws, widths: Sequence[float], what: str) -> None:
    for col, width in enumerate(widths):
        ok(ws.set_column(col, col, width), what)


def _height(ws, row: int, lines: int, what: str, hidden: bool = False) -> None:
    if hidden:
        ok(ws.set_row(row, None, None, {"hidden": True}), what)
    elif lines > 1:
        ok(ws.set_row(row, LINE_PT * lines + 4), what)


def sheet_height(ws, rows: int) -> float:
    """Points that rows 0 .. rows-1 of `ws` take on paper (the heights set so far; others one line of body text)."""
    sizes = ws.row_sizes  # XlsxWriter keeps them in pixels
    return sum(sizes[r][0] * 0.75 if r in sizes and sizes[r][0] is not None else LINE_PT + 1 for r in range(rows))


def print_scale(widths: Sequence[float]) -> int:
    """The print scale in percent: 100 when the sheet fits one page wide, the shrink that fits it when that keeps
    text at MIN_SCALE or more, else 100 (the sheet prints over several pages, legibly)."""
    total = sum(column_px(w) for w in widths)
    if total <= PAGE_PX:
        return 100
    scale = math.floor(100 * PAGE_PX / total)
    return scale if scale >= MIN_SCALE else 100


def _print(
    ws,
    name: str,
    widths: Sequence[float],
    rows: tuple[int, int] | None,
    cols: tuple[int, int] | None,
    one_page: bool = False,
    scale: int | None = None,
) -> None:
    """A4 landscape, legible (see print_scale), the sheet's name and page number in the footer, headers repeated.
    `one_page`: the caller has judged that the sheet fits one page at MIN_SCALE or more (a page that would otherwise
    spill a few rows on to a second); `scale`: a print scale of the caller's choice (MIN_SCALE or more)."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.set_footer(f"&L&11{name}&R&11第 &P 页，共 &N 页")
    scale = scale or print_scale(widths)
    if one_page:
        ws.fit_to_pages(1, 1)
    elif scale != 100:
        ws.set_print_scale(scale)
    if rows is not None:
        ws.repeat_rows(*rows)
    if cols is not None:
        ws.repeat_columns(*cols)


def _protect(writer, ws, lists: bool) -> None:
    """Read-only; list sheets keep their filters usable."""
    if not lists:
        writer.protect(ws)
        return
    ws.protect(
        writer.password,
        {
            "select_locked_cells": True,
            "select_unlocked_cells": True,
            "autofilter": True,
            "sort": True,
            "format_columns": True,
            "format_rows": True,
        },
    )
