"""The report's tables as one layout (grid of labelled, merged cells) that the HTML, Word and Markdown writers share.

Each statistics section of the report (二、三、四 in the official form) is a heading and one table. All three
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

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from xltool import layout
from xltool.evaluation import format_number
from xltool.forms import TABLE_ROW, Cell, Table
from xltool.model import Invalid, Return

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


def column_widths(table: Table, usable_mm: float) -> list[float]:
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


def page_title(ret: Return) -> str:
    return f"{ret.unit.name}{ret.year}年政府信息公开工作年度报告"


def page_subtitle(ret: Return) -> str:
    text = f"统计表（{ret.form.tables_span}）　格式：《{ret.form.name}》（{ret.form.notice}）"
    if ret.unit.scope:
        text += f"　数据范围：{ret.unit.scope}"
    return text


_COUNT_KEYS = ("members", "not_merged", "rejected", "expected", "missing")


def rollup_summary(ret: Return) -> str | None:
    """For a roll-up (its _meta says kind: rollup) merged with a roster or with files left out, what it contains:
    汇总 N 个单位（应报 M，缺报 K，未汇总 J）, the line its 汇总说明 sheet and `xltool merge` print. None for a plain
    return, a complete roll-up without a roster, or counts that are not plain numbers (the file is untrusted)."""
    meta = ret.meta
    if meta.get("kind") != layout.ROLLUP_KIND:
        return None
    if any(not (meta[k].isascii() and meta[k].isdigit() and len(meta[k]) <= 9) for k in _COUNT_KEYS if k in meta):
        return None
    not_merged = meta.get("not_merged", meta.get("rejected", "0"))
    if not meta.get("expected") and int(not_merged or "0") == 0:
        return None
    return layout.rollup_line(meta)
