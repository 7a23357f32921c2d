"""Web pages (.html, .htm): read published reports (tables with rowspan/colspan, or text); write the report tables."""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from xltool.codes import Code
from xltool.formats import Reader, Writer, text_result
from xltool.formats._report import (
    MAX_GRID_CELLS,
    MAX_ROW_CELLS,
    MAX_SPAN,
    looks_html,
    read_report,
    stacked,
    text_parse,
    too_large,
)
from xltool.formats.page import Grid as CellGrid
from xltool.formats.page import Page
from xltool.outcomes import NO_ITEMS_TEXT as TABLE_NONE
from xltool.sources import ReadError

if TYPE_CHECKING:
    from xltool.annual import AnnualReport
    from xltool.forms import Table
    from xltool.model import Return
    from xltool.render import Grid, GridCell

# The writers' tools (xltool.render) are imported when a page is written: reading a report, or listing the formats,
# does not load them.

# --- reading ------------------------------------------------------------------------------------------------------

_SKIP_TAGS = ("script", "style", "noscript", "template")
_BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "title", "li", "tr", "section", "article", "center")


# How the table cells look, on the rendered page and in the annual report alike.
TABLE_CELL_CSS = """table.xltool th, table.xltool td { border: 1px solid #000; padding: 3px 4px; vertical-align: middle; }
table.xltool th { font-weight: normal; text-align: center; }
table.xltool th.row { text-align: left; }
table.xltool th.caption { font-weight: bold; }
table.xltool td { text-align: center; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.xltool thead { display: table-header-group; }
table.xltool tr { break-inside: avoid; }"""


_CELL_TAG = re.compile(r"<t[dh][\s>/]", re.IGNORECASE)


def html_page(text: str) -> Page:
    import lxml.html
    from lxml import etree

    cells = len(_CELL_TAG.findall(text))  # before parsing: a page of a million cells is refused with little memory
    if cells > MAX_GRID_CELLS:
        raise too_large(f"网页中的表格有 {cells} 个单元格，远超统计表的正常大小（上限 {MAX_GRID_CELLS} 个）")

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str input that declares an encoding
    parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ReadError(Code.CORRUPT, f"网页文件无法解析（{str(exc)[:80]}）") from None
    for el in list(root.iter(*_SKIP_TAGS)):
        el.drop_tree()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    # Innermost tables only: an outer layout table's text is its inner tables' text again.
    grids = [_grid_of(t) for t in root.iter("table") if t.find(".//table") is None]  # (grid, covered) pairs
    for table in list(root.iter("table")):
        if table.getparent() is not None:
            table.drop_tree()
    for el in root.iter(*_BLOCK_TAGS):
        el.tail = "\n" + (el.tail or "")
    lines = root.text_content().splitlines()
    return stacked("html", grids, lines)


def _grid_of(table) -> tuple[CellGrid, set[tuple[int, int]]]:
    trs = list(table.iter("tr"))
    texts: dict[tuple[int, int], str] = {}
    taken: set[tuple[int, int]] = set()
    covered: set[tuple[int, int]] = set()
    spanned = False
    for r, tr in enumerate(trs):
        c = 0
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            while (r, c) in taken:
                c += 1
            rows, cols = min(_span(td.get("rowspan")), len(trs) - r), _span(td.get("colspan"))
            spanned = spanned or rows > 1 or cols > 1
            if cols > MAX_ROW_CELLS or c + cols > MAX_ROW_CELLS:
                raise too_large(f"网页中的表格一行有超过 {MAX_ROW_CELLS} 个单元格，远超统计表的正常大小")
            taken.update((r + dr, c + dc) for dr in range(rows) for dc in range(cols))
            covered.update((r + dr, c + dc) for dr in range(rows) for dc in range(1, cols))
            if len(taken) > MAX_GRID_CELLS:  # a span bomb only when spans made it so
                why = "合并单元格跨度异常" if spanned else f"超过 {MAX_GRID_CELLS} 个单元格"
                raise too_large(f"网页中的表格大得不合常理（{why}）")
            texts[(r, c)] = td.text_content()
            c += cols
    width = max((c for _, c in taken), default=-1) + 1
    return [[texts.get((r, c), "") for c in range(width)] for r in range(len(trs))], covered


def _span(value: str | None) -> int:
    m = re.match(r"\s*(\d+)", value or "")
    return min(max(int(m.group(1)), 1), MAX_SPAN) if m else 1


# --- Word (.docx) ----------------------------------------------------------------------------------------------------


def _read(path: Path) -> Page:
    return read_report(path, "html")


def _sniff(path: Path, head: bytes) -> bool:
    return looks_html(head)


# --- writing ------------------------------------------------------------------------------------------------------


@cache
def _css() -> str:
    from xltool.render import SANS_FONTS, SERIF_FONTS

    return f"""
@page {{ size: A4 landscape; margin: 15mm; }}
body {{ font-family: {SERIF_FONTS}; font-size: 10.5pt; color: #000; background: #fff; margin: 1.5em; }}
h1 {{ font-family: {SANS_FONTS}; font-size: 16pt; text-align: center; margin: 0 0 .3em; }}
p.meta {{ text-align: center; margin: 0 0 1.5em; }}
h2 {{ font-family: {SANS_FONTS}; font-size: 14pt; font-weight: bold; margin: 1.4em 0 .6em; break-after: avoid; }}
p.note {{ margin: 0 0 .8em; }}
table.xltool {{ border-collapse: collapse; width: 100%; margin: 0 0 1em; break-inside: auto; }}
{TABLE_CELL_CSS}
@media print {{ body {{ margin: 0; }} h2 {{ break-after: avoid; }} table.xltool {{ font-size: 9pt; }} }}
"""


# Inline styles for the fragment: content-management systems often drop <style> but keep style attributes.
_CELL_STYLE = "border:1px solid #000;padding:3px 4px;vertical-align:middle;text-align:center"
_TABLE_STYLE = "border-collapse:collapse;width:100%"


# What no report should carry: control characters (C0 but tab, newline and CR; DEL; C1), bidi embeddings, overrides
# and isolates (they reverse the text around them), the noncharacters U+FFFE/U+FFFF and lone surrogates (not valid
# in XML or HTML, and not encodable). Unit names and cell text come from the townships' files.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")


def clean_text(text: object) -> str:
    """Text as any written report may carry it (HTML, Markdown, Word XML): the characters above removed."""
    return _NOT_TEXT.sub("", str(text))


def _esc(text: str) -> str:
    return html.escape(clean_text(text), quote=True)


def _html_cell(cell: GridCell, inline: bool) -> str:
    tag = "th" if cell.is_label else "td"
    attrs = [f'class="{cell.kind}"']
    if cell.rowspan > 1:
        attrs.append(f'rowspan="{cell.rowspan}"')
    if cell.colspan > 1:
        attrs.append(f'colspan="{cell.colspan}"')
    if cell.kind in ("header", "corner"):
        attrs.append('scope="colgroup"' if cell.colspan > 1 else 'scope="col"')
    elif cell.kind == "row":
        attrs.append('scope="rowgroup"' if cell.rowspan > 1 else 'scope="row"')
    if inline:
        style = _CELL_STYLE
        if cell.kind == "row":
            style += ";text-align:left"
        if cell.kind == "caption":
            style += ";font-weight:bold"
        elif cell.is_label:
            style += ";font-weight:normal"
        attrs.append(f'style="{style}"')
    return f"<{tag} {' '.join(attrs)}>{_esc(cell.text)}</{tag}>"


def _html_table(grid: Grid, inline: bool) -> str:
    from xltool.render import column_widths

    table = grid.table
    style = f' style="{_TABLE_STYLE}"' if inline else ""
    out = [f'<table class="xltool" id="table-{_esc(table.id)}" data-table="{_esc(table.number)}"{style}>', "<colgroup>"]
    out += [f'<col style="width:{w:.2f}%">' for w in column_widths(table, 100)]
    out.append("</colgroup>")
    head = table.header_rows if table.layout == "matrix" else 0
    for r, row in enumerate(grid.rows):
        if r == 0 and head:
            out.append("<thead>")
        if r == head:
            out.append("<tbody>")
        out.append("<tr>" + "".join(_html_cell(c, inline) for c in row if c is not None) + "</tr>")
        if r == head - 1:
            out.append("</thead>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _html_sections(ret: Return, inline: bool) -> str:
    parts = []
    for table in ret.form.tables:
        parts.append(f'<h2 id="section-{_esc(table.id)}">{_esc(table.title)}</h2>')
        parts += _html_table_parts(ret, table, inline)
    return "\n".join(parts)


def _html_table_parts(ret: Return, table: Table, inline: bool) -> list[str]:
    """One official table as `render` lays it out: the 本年度无此类事项 note, the table, the notes under it."""
    from xltool.render import table_grid, table_notes

    parts = []
    if table.id in ret.no_items:
        parts.append(f'<p class="note">{_esc(TABLE_NONE)}</p>')
    parts.append(_html_table(table_grid(table, ret), inline))
    parts += [f'<p class="note">{_esc(note)}</p>' for note in table_notes(table)]
    return parts


def render_html_fragment(ret: Return) -> str:
    """The three sections (heading + table) only, with inline borders, for pasting into a CMS or a report editor."""
    return f'<div class="xltool-report">\n{_html_sections(ret, inline=True)}\n</div>\n'


def render_html(ret: Return) -> str:
    """A complete, self-contained HTML page (UTF-8, print CSS for A4 landscape) with the three sections."""
    from xltool.render import page_subtitle, page_title

    title = page_title(ret)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="xltool">\n<title>{_esc(title)}</title>\n'
        f"<style>{_css()}</style>\n</head>\n<body>\n"
        f"<h1>{_esc(title)}</h1>\n"
        f'<p class="meta">{_esc(page_subtitle(ret))}{_rollup_html(ret)}</p>\n'
        f"{_html_sections(ret, inline=False)}\n"
        "</body>\n</html>\n"
    )


def _rollup_html(ret: Return) -> str:
    """A roll-up's 汇总 N 个单位（…） on a line of its own under the subtitle."""
    from xltool.render import rollup_summary

    line = rollup_summary(ret)
    return f'<br>\n<span class="rollup">{_esc(line)}</span>' if line else ""


def write_html(ret: Return, path: Path | None = None, fragment: bool = False) -> str | Path:
    return text_result(render_html_fragment(ret) if fragment else render_html(ret), path)


# --- the annual report -------------------------------------------------------------------------------------------


# Portrait A4 for the text; the wide Tables 三 and 四 on landscape pages of their own (named pages).
@cache
def _annual_css() -> str:
    from xltool.render import SANS_FONTS, SERIF_FONTS

    return f"""
@page {{ size: A4; margin: 25mm 20mm; }}
@page wide {{ size: A4 landscape; margin: 15mm; }}
body {{ font-family: {SERIF_FONTS}; font-size: 12pt; line-height: 1.7; color: #000; background: #fff;
       max-width: 60em; margin: 1.5em auto; padding: 0 1em; }}
h1 {{ font-family: {SANS_FONTS}; font-size: 18pt; text-align: center; margin: 0 0 1em; line-height: 1.4; }}
h2 {{ font-family: {SANS_FONTS}; font-size: 14pt; font-weight: bold; margin: 1.4em 0 .5em; break-after: avoid; }}
h3 {{ font-size: 12pt; font-weight: bold; margin: 1em 0 .3em; break-after: avoid; }}
p {{ text-indent: 2em; margin: 0 0 .5em; text-align: justify; }}
p.note {{ text-indent: 0; font-size: 10.5pt; }}
p.placeholder {{ text-indent: 0; border: 2px dashed #c00; background: #fff3cd; color: #900; font-weight: bold;
                 padding: .4em .6em; }}
section.table {{ margin: 0 0 1em; }}
section.table.wide {{ page: wide; }}
table.xltool {{ border-collapse: collapse; width: 100%; margin: 0 0 .6em; font-size: 10.5pt; line-height: 1.3; }}
{TABLE_CELL_CSS}
@media print {{ body {{ margin: 0; max-width: none; padding: 0; }} p.placeholder {{ border-color: #c00; }}
               table.xltool {{ font-size: 9pt; line-height: 1.15; }}
               table.xltool th, table.xltool td {{ padding: 1px 3px; }} }}
"""


_P_STYLE = "text-indent:2em;margin:0 0 .5em"
_PLACEHOLDER_STYLE = "border:2px dashed #c00;background:#fff3cd;color:#900;font-weight:bold;padding:.4em .6em"


def _annual_body(report: AnnualReport, inline: bool) -> str:
    from xltool.render import WIDE

    ret, parts, anchors = report.ret, [], set()
    blocks = report.blocks
    for i, block in enumerate(blocks):
        text = _esc(block.text)
        table_next = i + 1 < len(blocks) and blocks[i + 1].kind == "table"
        if block.kind == "heading" and table_next:  # a table's heading goes on the table's (landscape) page
            table = ret.form.table(blocks[i + 1].table_id or "")
            wide = " wide" if table.width > WIDE else ""
            parts.append(f'<section class="table{wide}" data-table="{_esc(table.id)}">')
            parts.append(f"<h2>{text}</h2>")
            parts += _html_table_parts(ret, table, inline)
            parts.append("</section>")
        elif block.kind == "table" and i and blocks[i - 1].kind == "heading":
            continue  # written with its heading
        elif block.kind == "heading":
            tag = ("h1", "h2", "h3")[min(block.level, 2)]
            anchor = ""
            if block.section and block.level and block.section not in anchors:
                anchors.add(block.section)
                anchor = f' id="section-{_esc(block.section)}"'
            parts.append(f"<{tag}{anchor}>{text}</{tag}>")
        elif block.kind == "table":
            table = ret.form.table(block.table_id or "")
            wide = " wide" if table.width > WIDE else ""
            parts.append(f'<section class="table{wide}" data-table="{_esc(table.id)}">')
            parts += _html_table_parts(ret, table, inline)
            parts.append("</section>")
        elif block.kind == "placeholder":
            style = f' style="{_PLACEHOLDER_STYLE}"' if inline else ""
            parts.append(f'<p class="placeholder" role="note"{style}>{text}</p>')
        elif block.kind == "note":
            parts.append(f'<p class="note">{text}</p>')
        else:
            style = f' style="{_P_STYLE}"' if inline else ""
            parts.append(f"<p{style}>{text}</p>")
    return "\n".join(parts)


def render_annual_html(report: AnnualReport, fragment: bool = False) -> str:
    """The whole annual report as a self-contained page (print CSS: A4 portrait, wide tables on landscape pages),
    or with `fragment` only the body with inline styles, for a portal's editor."""
    if fragment:
        return f'<div class="xltool-annual-report">\n{_annual_body(report, inline=True)}\n</div>\n'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="xltool">\n<title>{_esc(report.title)}</title>\n'
        f"<style>{_annual_css()}</style>\n</head>\n<body>\n"
        f"{_annual_body(report, inline=False)}\n"
        "</body>\n</html>\n"
    )


def write_annual_html(report: AnnualReport, path: Path | None = None, fragment: bool = False) -> str | Path:
    return text_result(render_annual_html(report, fragment=fragment), path)


READERS = [
    Reader(
        "html",
        (".html", ".htm"),
        "report",
        _read,
        sniff=_sniff,
        parse=text_parse(html_page),
        description="年度报告网页",
    )
]
WRITERS = [
    Writer("render", "html", ".html", write_html, description="网页（可加 --fragment 只输出表格）"),
    Writer("annual", "html", ".html", write_annual_html, description="网页（年度报告全文；可加 --fragment）"),
]
