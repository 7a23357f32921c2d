"""The roll-up's review sheets: what a county reviewer reads (汇总说明, 概览 with its charts) and the lists behind the
figures (明细, 来源, 未汇总, 说明汇总, 名册核对), legible on screen and on paper.

Each sheet is an object with `name`, `front` (written before the official tables; the first front sheet opens) and
`write_to(writer)`, which draws with the template writer's workbook (xltool.template.xlsx._Writer: `wb`, `form`,
`ret` — the roll-up's totals — `password`, `protect`). The roll-up workflow (xltool.rollup) gives them plain rows;
every Chinese word a reviewer reads here is chosen here. One module per sheet (summary, overview, detail; lists for
the plain ones), drawn with what `sheet` provides.

Print: A4 landscape (明细 of a few units portrait when that prints fewer pages), 10.5 pt text (宋体, 五号), header
rows (and unit columns) repeated on every page; 汇总说明 and 概览 of a few units on one page each, an empty list
hidden rather than printed as a page saying 无. A sheet is
shrunk to one page wide only when that keeps the scale at MIN_SCALE or more (88 %: nothing prints below 9.24 pt); a
wider sheet prints at 100 % over several pages. Widths are judged with the widest character unit seen (LibreOffice
without Calibri's metric twin draws a unit about 1.34 times as wide as Excel does), so a sheet judged to fit does fit
everywhere. XlsxWriter cannot autofit, so wrapped rows get heights computed from the text.

明细 keeps a machine-readable key per column in a hidden row above the Chinese header (`[apply.new.natural_person]`):
xltool.discover reads last year's figures back from it.
"""

from xltool.template.cells import text_width
from xltool.template.review.detail import DETAIL_FIRST, DetailRow, DetailSheet, detail_group, short_headers
from xltool.template.review.lists import Column, ListSheet, notes_sheet, rejected_sheet, roster_sheet, source_sheet
from xltool.template.review.overview import OverviewRow, OverviewSheet, overview_figures, result_groups
from xltool.template.review.sheet import BODY_PT, CELL_LIMIT, MIN_PRINT_PT, MIN_SCALE, lines_needed, print_scale
from xltool.template.review.summary import Summary

__all__ = [
    "BODY_PT", "CELL_LIMIT", "DETAIL_FIRST", "MIN_PRINT_PT", "MIN_SCALE", "Column", "DetailRow", "DetailSheet",
    "ListSheet", "OverviewRow", "OverviewSheet", "Summary", "detail_group", "lines_needed",
    "notes_sheet", "overview_figures", "print_scale", "rejected_sheet", "result_groups", "roster_sheet", "short_headers",
    "source_sheet", "text_width",
]  # fmt: skip
