"""Render a Return (a unit's filled return or a roll-up) as the report's table section: HTML, Word (docx) or Markdown.

Sections 二、三、四 of the 政府信息公开工作年度报告 consist of a heading and one official table each. All three
renderers work from one layout, `table_grid(table, ret)`: a grid of (text, rowspan, colspan) cells built from the
form's printed labels and cell positions (xltool.forms), so the merges are exactly those of our xlsx template and
of the official tables (spec: official-format.md §3–§5). Only the presentation differs per output format.

How cells are shown:

- Counts (`count`, `signed_count`) as whole numbers: 12, 0, -3 (本年增/减 may be negative; no "+" sign).
- Amounts (`amount`, the 万元 cells) rounded half-up to the form's `places` (4) and then trimmed of trailing zeros:
  4.6037, 12.5, 3, 0. Spreadsheets do not keep what was typed ("12.50" is stored as 12.5), so "as entered" cannot be
  reproduced; trimming shows every significant digit and never invents precision. No thousands separators.
- A blank input cell stays empty (blank is not zero). A total is empty when every input it adds up is blank;
  otherwise it is computed from the inputs (blank inputs count as 0), as the template's formulas do.
- The 2019 `采购总金额` label states no unit; the form fixes 万元, so a note “注：“采购总金额”单位为万元。” is printed
  under Table 二 (labels themselves are never changed).
- A cell holding text that is not a number (“无”, “-”) is shown as typed; totals depending on it are left empty.
  Run `xltool check` before publishing.

Outputs: `render_html` is a complete page (title, a line naming the format and the data scope, A4-landscape print
CSS); `render_html_fragment` is only the three headings and tables, styled inline because content-management systems
often drop <style>; `render_docx` writes Word with Table 二 on portrait A4 and the wide Tables 三 and 四 on a landscape
A4 section; `render_markdown` returns GitHub-flavoured Markdown. All text is escaped for its format.

Markdown has no merged cells. Each table becomes GitHub-flavoured pipe tables: a column's header is its header path
joined with " / " (e.g. `申请人情况 / 法人或其他组织 / 商业企业`), a row's label is its row path joined the same way
(e.g. `三、本年度办理结果 / （三）不予公开 / 1.属于国家秘密`) and repeated on every row; Table 二 becomes one pipe
table per 第二十条 item, each preceded by the item caption in bold. Cells merged across columns in the official table
(e.g. the value of a one-column block in Table 二) appear once.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from xltool.check import format_number
from xltool.forms import TABLE_ROW, Cell, Table
from xltool.model import Invalid, Return
from xltool.outcomes import NO_ITEMS_TEXT as TABLE_NONE

SERIF_FONTS = (
    '"SimSun", "宋体", "Songti SC", "STSong", "Noto Serif CJK SC", "Source Han Serif SC", '
    '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", serif'
)
SANS_FONTS = (
    '"SimHei", "黑体", "Heiti SC", "STHeiti", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif'
)
DOCX_FONT = "宋体"  # table and body text (w:eastAsia); Word and WPS on Windows have it
DOCX_HEADING_FONT = "黑体"
WIDE = 6  # tables with more sheet columns than this get a landscape page (三 has 10, 四 has 15)

LABEL_KINDS = frozenset({"caption", "header", "corner", "row"})


# --- the shared layout -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    """One visible cell of a rendered table: its text and how far it spans (0-based grid coordinates)."""

    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1
    kind: str = "empty"  # caption | header | corner | row (printed labels) | value | empty
    key: str | None = None  # value cells: the form's cell key
    type: str | None = None  # value cells: count | signed_count | amount

    @property
    def is_label(self) -> bool:
        return self.kind in LABEL_KINDS


@dataclass
class Grid:
    """A table as rows of cells; `None` marks a position covered by a merged cell above or to the left."""

    table: Table
    rows: list[list[GridCell | None]]

    @property
    def width(self) -> int:
        return self.table.width

    def cells(self) -> list[GridCell]:
        return [c for row in self.rows for c in row if c is not None]

    def owner(self, row: int, col: int) -> GridCell:
        """The visible cell that covers a position (itself, or the merged cell spanning over it)."""
        for c in self.cells():
            if c.row <= row < c.row + c.rowspan and c.col <= col < c.col + c.colspan:
                return c
        raise IndexError((row, col))

    def segments(self) -> list[Segment]:
        """Parts of the table that each have one header: a caption row starts a new part (Table 二's blocks)."""
        out: list[Segment] = []
        start, caption = 0, None
        for r, row in enumerate(self.rows):
            first = row[0]
            if first is not None and first.kind == "caption" and first.colspan == self.width:
                if r > start:
                    out.append(self._segment(caption, start, r))
                start, caption = r + 1, first
        out.append(self._segment(caption, start, len(self.rows)))
        return out

    def _segment(self, caption: GridCell | None, first: int, end: int) -> Segment:
        header = 0
        while first + header < end and all(
            self.owner(first + header, c).kind in ("header", "corner") for c in range(self.width)
        ):
            header += 1
        return Segment(self, caption, first, first + header, end)


@dataclass
class Segment:
    grid: Grid
    caption: GridCell | None
    first: int  # first header row
    body: int  # first data row
    end: int  # one past the last data row

    def column_groups(self) -> list[tuple[int, int]]:
        """Sheet-column ranges shown as one column once merges are flattened (leaf headers, value spans)."""
        groups: list[tuple[int, int]] = []
        c = 0
        while c < self.grid.width:
            if self.body > self.first:
                cell = self.grid.owner(self.body - 1, c)
                last = cell.col + cell.colspan - 1
            else:
                last = c
            for r in range(self.body, self.end):  # a value merged wider than its header keeps the group together
                cell = self.grid.owner(r, c)
                last = max(last, cell.col + cell.colspan - 1)
            groups.append((c, last))
            c = last + 1
        return groups

    def path(self, rows: range, cols: range) -> list[str]:
        """Texts of the distinct cells covering an area, in reading order (a merged cell counts once)."""
        seen: list[GridCell] = []
        for r in rows:
            for c in cols:
                cell = self.grid.owner(r, c)
                if cell not in seen:
                    seen.append(cell)
        return [c.text for c in seen if c.text]


def table_grid(table: Table, ret: Return) -> Grid:
    """The one layout every renderer uses: labels with their merges from the form, numbers from the return."""
    top, height = TABLE_ROW, table.last_row - TABLE_ROW + 1
    slots: list[list[GridCell | bool | None]] = [[False] * table.width for _ in range(height)]

    def place(cell: GridCell) -> None:
        for r in range(cell.row, cell.row + cell.rowspan):
            for c in range(cell.col, cell.col + cell.colspan):
                if slots[r][c] is not False:
                    raise ValueError(f"{table.id}: 单元格 ({r + top}, {c}) 被重复占用")
                slots[r][c] = None
        slots[cell.row][cell.col] = cell

    for lab in table.labels:
        place(
            GridCell(
                lab.first_row - top,
                lab.first_col,
                lab.text,
                lab.last_row - lab.first_row + 1,
                lab.last_col - lab.first_col + 1,
                lab.kind,
            )
        )
    for cell in table.cells:
        place(
            GridCell(
                cell.row - top,
                cell.col,
                cell_text(ret, cell),
                1,
                cell.right - cell.col + 1,
                "value",
                cell.key,
                cell.type.name,
            )
        )
    rows: list[list[GridCell | None]] = []
    for r, row in enumerate(slots):
        rows.append([GridCell(r, c, "") if s is False else s for c, s in enumerate(row)])
    return Grid(table, rows)


def table_notes(table: Table) -> list[str]:
    """Notes printed under a table: the unit of amount cells whose official label states none (2019 采购总金额)."""
    notes: list[str] = []
    for cell in table.cells:
        label = cell.label_path[-1]
        note = cell.type.note
        if note is None and cell.type.unit and cell.type.unit not in label:
            note = f"注：“{label}”单位为{cell.type.unit}。"
        if note and note not in notes:
            notes.append(note)
    return notes


def _column_widths(table: Table, usable_mm: float) -> list[float]:
    """Label columns wider than number columns; Table 三's long row labels get most of the room."""
    value_cols = {c.col for c in table.cells}
    label_cols = [c for c in range(table.width) if c not in value_cols]
    if not label_cols:
        return [usable_mm / table.width] * table.width
    label_share = 0.45 if len(label_cols) > 1 else 0.3
    per_value = usable_mm * (1 - label_share) / len(value_cols)
    if table.layout == "blocks":
        return [usable_mm * label_share] + [per_value] * (table.width - 1)
    shares = {0: 0.2, 1: 0.35, 2: 0.45} if len(label_cols) == 3 else {c: 1 / len(label_cols) for c in label_cols}
    return [usable_mm * label_share * shares[c] if c in shares else per_value for c in range(table.width)]


def format_value(v: Decimal, type_name: str, places: int = 0) -> str:
    """Counts as whole numbers; amounts rounded to `places` decimals, trailing zeros trimmed (4.6037, 12.5, 3)."""
    if type_name == "amount":
        v = v.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    else:
        v = v.to_integral_value(rounding=ROUND_HALF_UP)
    return format_number(v)


def cell_text(ret: Return, cell: Cell) -> str:
    """What a number cell shows: blank stays blank, unusable text as typed, totals only when something feeds them."""
    if cell.is_input:
        v = ret.values.get(cell.key)
        if v is None:
            return ""
        if isinstance(v, Invalid):
            return v.raw
        return format_value(v, cell.type.name, cell.type.places)
    if all(k not in ret.values for k in ret.form.input_closure([cell.key])):
        return ""
    v = ret.safe_value(cell.key)
    return "" if v is None else format_value(v, cell.type.name, cell.type.places)


def _title(ret: Return) -> str:
    return f"{ret.unit.name}{ret.year}年政府信息公开工作年度报告"


def _subtitle(ret: Return) -> str:
    text = f"统计表（二至四）　格式：《{ret.form.name}》（{ret.form.notice}）"
    if ret.unit.scope:
        text += f"　数据范围：{ret.unit.scope}"
    return text


# --- HTML ------------------------------------------------------------------------------------------------------------

_CSS = f"""
@page {{ size: A4 landscape; margin: 15mm; }}
body {{ font-family: {SERIF_FONTS}; font-size: 10.5pt; color: #000; background: #fff; margin: 1.5em; }}
h1 {{ font-family: {SANS_FONTS}; font-size: 16pt; text-align: center; margin: 0 0 .3em; }}
p.meta {{ text-align: center; margin: 0 0 1.5em; }}
h2 {{ font-family: {SANS_FONTS}; font-size: 14pt; font-weight: bold; margin: 1.4em 0 .6em; break-after: avoid; }}
p.note {{ margin: 0 0 .8em; }}
table.xltool {{ border-collapse: collapse; width: 100%; margin: 0 0 1em; break-inside: auto; }}
table.xltool th, table.xltool td {{ border: 1px solid #000; padding: 3px 4px; vertical-align: middle; }}
table.xltool th {{ font-weight: normal; text-align: center; }}
table.xltool th.row {{ text-align: left; }}
table.xltool th.caption {{ font-weight: bold; }}
table.xltool td {{ text-align: center; font-variant-numeric: tabular-nums; white-space: nowrap; }}
table.xltool thead {{ display: table-header-group; }}
table.xltool tr {{ break-inside: avoid; }}
@media print {{ body {{ margin: 0; }} h2 {{ break-after: avoid; }} table.xltool {{ font-size: 9pt; }} }}
"""

# Inline styles for the fragment: content-management systems often drop <style> but keep style attributes.
_CELL_STYLE = "border:1px solid #000;padding:3px 4px;vertical-align:middle;text-align:center"
_TABLE_STYLE = "border-collapse:collapse;width:100%"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


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
    table = grid.table
    style = f' style="{_TABLE_STYLE}"' if inline else ""
    out = [f'<table class="xltool" id="table-{_esc(table.id)}" data-table="{_esc(table.number)}"{style}>', "<colgroup>"]
    out += [f'<col style="width:{w:.2f}%">' for w in _column_widths(table, 100)]
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
        if table.id in ret.no_items:
            parts.append(f'<p class="note">{_esc(TABLE_NONE)}</p>')
        parts.append(_html_table(table_grid(table, ret), inline))
        parts += [f'<p class="note">{_esc(note)}</p>' for note in table_notes(table)]
    return "\n".join(parts)


def render_html_fragment(ret: Return) -> str:
    """The three sections (heading + table) only, with inline borders, for pasting into a CMS or a report editor."""
    return f'<div class="xltool-report">\n{_html_sections(ret, inline=True)}\n</div>\n'


def render_html(ret: Return) -> str:
    """A complete, self-contained HTML page (UTF-8, print CSS for A4 landscape) with the three sections."""
    title = _title(ret)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="xltool">\n<title>{_esc(title)}</title>\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_esc(title)}</h1>\n"
        f'<p class="meta">{_esc(_subtitle(ret))}</p>\n'
        f"{_html_sections(ret, inline=False)}\n"
        "</body>\n</html>\n"
    )


# --- Markdown --------------------------------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]<>|#"})


def _md(text: str) -> str:
    """Escape text for a GFM table cell (pipes, HTML brackets, emphasis); newlines become spaces."""
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").translate(_MD_SPECIAL)


def _md_segment(seg: Segment) -> list[str]:
    groups = seg.column_groups()
    heads, aligns = [], []
    for c0, c1 in groups:
        heads.append(" / ".join(seg.path(range(seg.first, seg.body), range(c0, c1 + 1))))
        is_label = any(seg.grid.owner(r, c0).is_label for r in range(seg.body, seg.end))
        aligns.append("---" if is_label else "---:")
    lines = ["| " + " | ".join(_md(h) for h in heads) + " |", "| " + " | ".join(aligns) + " |"]
    for r in range(seg.body, seg.end):
        row = []
        for c0, c1 in groups:
            owner = seg.grid.owner(r, c0)
            if owner.is_label:
                row.append(_md(" / ".join(seg.path(range(r, r + 1), range(c0, c1 + 1)))))
            else:
                row.append(_md(owner.text))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def render_markdown(ret: Return) -> str:
    """GitHub-flavoured Markdown: merged headers flattened to paths joined by " / ", row label paths repeated."""
    out = [f"# {_md(_title(ret))}", "", _md(_subtitle(ret)), ""]
    for table in ret.form.tables:
        out += [f"## {_md(table.title)}", ""]
        if table.id in ret.no_items:
            out += [TABLE_NONE, ""]
        for seg in table_grid(table, ret).segments():
            if seg.caption is not None:
                out += [f"**{_md(seg.caption.text)}**", ""]
            out += [*_md_segment(seg), ""]
        for note in table_notes(table):
            out += [_md(note), ""]
    return "\n".join(out)


# --- Word ------------------------------------------------------------------------------------------------------------


def _east_asia(target, font: str) -> None:
    """Set the Latin and East Asian font of a style or run (python-docx sets only the Latin one)."""
    from docx.oxml.ns import qn

    target.font.name = font
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), font)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):  # a theme font would win
        fonts.attrib.pop(qn(attr), None)


def _page(section, landscape: bool) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(20 if landscape else 25)


def _docx_table(doc, grid: Grid, usable_mm: float) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    table = grid.table
    size = Pt(9) if table.width > 10 else Pt(10.5)
    t = doc.add_table(rows=len(grid.rows), cols=table.width)
    t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    widths = [Mm(w) for w in _column_widths(table, usable_mm)]
    for col, width in zip(t.columns, widths, strict=True):
        col.width = width
    # Cells looked up once before merging (Table.cell() rescans the whole table on every call). The merged areas do
    # not overlap, so each area's corner cells are still unmerged when its turn comes.
    cells = [list(row.cells) for row in t.rows]
    for row in cells:
        for cell, width in zip(row, widths, strict=True):
            cell.width = width
    for g in grid.cells():
        cell = cells[g.row][g.col]
        if g.rowspan > 1 or g.colspan > 1:
            cell = cell.merge(cells[g.row + g.rowspan - 1][g.col + g.colspan - 1])
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        para = cell.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.LEFT if g.kind == "row" else WD_ALIGN_PARAGRAPH.CENTER
        para.paragraph_format.space_before = para.paragraph_format.space_after = Pt(0)
        if g.text:
            run = para.add_run(g.text)
            run.font.size = size
            run.bold = g.kind == "caption"
    if table.layout == "matrix":  # repeat the column headers when the table breaks across pages
        for row in t.rows[: table.header_rows]:
            trpr = row._tr.get_or_add_trPr()
            trpr.append(trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def render_docx(ret: Return, path: str | Path) -> Path:
    """A Word document with the three headings and tables (merged cells, 宋体, borders; wide tables on landscape A4)."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    path = Path(path)
    doc = Document()
    normal = doc.styles["Normal"]
    _east_asia(normal, DOCX_FONT)
    normal.font.size = Pt(10.5)
    for name, size in (("Title", 18), ("Heading 2", 16)):
        style = doc.styles[name]
        _east_asia(style, DOCX_HEADING_FONT)
        style.font.size = Pt(size)
        style.font.bold = name == "Heading 2"
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
    doc.core_properties.title = _title(ret)
    doc.core_properties.author = ret.unit.name or "xltool"
    doc.core_properties.comments = "xltool render"

    section = doc.sections[0]
    landscape = ret.form.tables[0].width > WIDE if ret.form.tables else False
    _page(section, landscape)
    title = doc.add_paragraph(_title(ret), style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta = doc.add_paragraph(_subtitle(ret))
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for table in ret.form.tables:
        wide = table.width > WIDE
        if wide != landscape:
            section = doc.add_section(WD_SECTION.NEW_PAGE)
            _page(section, wide)
            landscape = wide
        doc.add_paragraph(table.title, style="Heading 2")
        if table.id in ret.no_items:
            doc.add_paragraph(TABLE_NONE)
        usable = (section.page_width - section.left_margin - section.right_margin) / Mm(1)
        _docx_table(doc, table_grid(table, ret), usable)
        for note in table_notes(table):
            doc.add_paragraph(note)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


FORMATS = ("html", "docx", "md")


def render(ret: Return, fmt: str, path: str | Path | None = None) -> str | Path:
    """Dispatch for the CLI: html and md return text (written to `path` when given); docx needs `path`."""
    if fmt == "docx":
        if path is None:
            raise ValueError("docx 输出需要指定文件路径")
        return render_docx(ret, path)
    if fmt == "html":
        text = render_html(ret)
    elif fmt == "md":
        text = render_markdown(ret)
    else:
        raise ValueError(f"未知的输出格式 {fmt!r}（可用：{'、'.join(FORMATS)}）")
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
        return Path(path)
    return text
