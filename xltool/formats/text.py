"""Published reports as plain text (.txt): tables flattened one cell per line, as copied from a portal.

Flattened text has lost the table geometry, so its rows are rebuilt first:
- tab layout: a cell is a line starting with a tab, a blank line ends a row, and a short untabbed line continues the
  cell before it (a label broken over lines, even across a blank line);
- paragraph layout: every cell is a paragraph of its own; a row starts at a caption, a row label or text after a
  number;
Markdown pipe tables (in .md files, or pasted into text) keep their geometry and are read like HTML tables.
In a rebuilt row the labels stay on the left and the values are right-aligned, so they line up under their column
headers. The merged headers of Tables 三 and 四, whose shape text cannot show, are checked label by label and replaced
by the official header (the same in both versions, spec §4.1 and §5).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xltool.formats import Reader, Writer, text_result
from xltool.formats._report import official_label, read_report, stacked, text_parse
from xltool.formats.page import Grid, Page, report_page
from xltool.forms import TABLE_ROW, Table, all_forms
from xltool.labels import norm
from xltool.locate import known_labels
from xltool.outcomes import NO_ITEMS_TEXT
from xltool.values import is_blank, is_filled, value_like

if TYPE_CHECKING:
    from xltool.annual import AnnualReport

_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+|\d+)\s*、")


@dataclass
class _TextCell:
    text: str
    line: int  # 1-based line number in the report
    new_row: bool = False  # starts a row
    alone: bool = False  # prose or a heading: a row of its own


@dataclass
class _TextRow:
    cells: list[_TextCell]
    header: Table | None = None  # a recognised merged header of Table 三/四, painted in its official shape
    line: int = 0
    supplied: bool = False  # the report printed no header (or a generic one): the official one is put in


NO_HEADER = "（报告没有表头，按官方表头的列数和顺序读取）"  # marks the cells of a supplied header (xltool.reading)
_GENERIC_HEADER = re.compile(r"(?:数据|数值|第|列)\d+列?|\d+列|[A-Z]")  # 数据1 … 数据6, 第1列, 列1, A B C


def text_page(text: str) -> Page:
    from xltool.formats import _scraped

    if _scraped.is_scraped(text):  # a portal's text extraction: the body on one line, digits run together
        return _scraped.page(text)
    lines = text.splitlines()
    if sum(1 for line in lines if line.lstrip().startswith("|")) >= 10:
        return pipe_page(lines)
    tabbed = sum(1 for line in lines if line.startswith("\t")) >= 10
    if not tabbed and sum(1 for line in lines if _is_row_line(line)) >= MIN_ROW_LINES:
        return row_page(lines)
    cells = _tab_cells(lines) if tabbed else _paragraph_cells(lines)
    return _text_grid(_text_rows(cells), lines)


# --- one table row per line: `label n n n n n n n` ----------------------------------------------------------------

MIN_ROW_LINES = 5  # lines of `label n n …` that make a text a row-per-line layout


def _is_row_line(line: str) -> bool:
    """`一、本年新收政府信息公开申请数量 1520 31 0 0 12 2 1565`: a label, then at least two numbers."""
    tokens = line.split()
    k = _tail_start(tokens)
    return 0 < k <= len(tokens) - 2


def _tail_start(tokens: list[str]) -> int:
    k = len(tokens)
    while k and value_like(tokens[k - 1]):
        k -= 1
    return k


def row_page(lines: list[str], fmt: str = "text") -> Page:
    """Text with one table row per line (cells separated by spaces), as typed or as a PDF's text layer gives it."""
    page = _text_grid(_text_rows(_row_cells(lines)), lines)
    page.format = fmt
    return page


def _row_cells(lines: list[str]) -> list[_TextCell]:
    """Each line a row: its numbers at the end are value cells; the words before them are split into the known
    labels they spell (a label broken by spaces, `1. 属于国家秘密`, is joined), other words kept together. A line
    wrapped by a narrow page is joined back: a line of numbers only continues the row above it, and a label cut at
    the line end is joined with the start of the next line when together they spell a known label."""
    known = known_labels()
    cells: list[_TextCell] = []
    carry: list[str] = []  # the cut end of a label, for the next line
    prev_values = False
    for i, line in enumerate(lines):
        tokens = line.split()
        if not tokens:
            prev_values = False
            continue
        k = _tail_start(tokens)
        if k == 0 and prev_values and cells and not carry:  # the numbers of the row above, wrapped
            cells += [_TextCell(t, i + 1) for t in tokens]
            continue
        if carry:
            tokens = [*carry[:-1], carry[-1] + tokens[0], *tokens[1:]]
            k += len(carry) - 1
            carry = []
        words = _split_labels(tokens[:k], known.labels)
        if k == len(tokens) and i + 1 < len(lines) and _cut_label(words, lines[i + 1], known.labels):
            carry = tokens
            continue
        if k == len(tokens) and not any(_known(w, known.labels) for w in words):  # prose, a heading, a title
            cells.append(_TextCell(line.strip(), i + 1, new_row=True, alone=True))
            prev_values = False
            continue
        for j, text in enumerate(words + tokens[k:]):
            cells.append(_TextCell(text, i + 1, new_row=j == 0))
        prev_values = k < len(tokens)
    return cells


def _known(text: str, labels: set[str]) -> bool:
    return norm(text) in labels or official_label(text) is not None


def _cut_label(words: list[str], following: str, labels: set[str]) -> bool:
    """Whether the last words of a line and the first words of the next spell a known label only together."""
    nxt = following.split()
    nxt = nxt[: _tail_start(nxt)]
    if not words or not nxt or _known(words[-1], labels):
        return False
    return any(_known(words[-1] + "".join(nxt[:j]), labels) for j in range(1, len(nxt) + 1))


def _split_labels(tokens: list[str], labels: set[str]) -> list[str]:
    out: list[str] = []
    pending: list[str] = []
    i = 0
    while i < len(tokens):
        j = next((j for j in range(len(tokens), i, -1) if _known("".join(tokens[i:j]), labels)), 0)
        if j:
            if pending:
                out.append(" ".join(pending))
                pending = []
            out.append(" ".join(tokens[i:j]))
            i = j
        elif glued := _glued_labels(tokens[i], labels):
            if pending:
                out.append(" ".join(pending))
                pending = []
            out += glued
            i += 1
        else:
            pending.append(tokens[i])
            i += 1
    if pending:
        out.append(" ".join(pending))
    return out


def _glued_labels(token: str, labels: set[str]) -> list[str] | None:
    """A run-together header (行政复议行政诉讼结果维持结果纠正…总计, as a page's text layer glues it): the known labels
    that spell the whole token, each as long as possible; None when the token is not made of labels alone."""
    n = len(token)
    if n < 6 or n > 300:
        return None
    # ends[i]: a split of token[i:] into labels exists (filled from the right)
    ends: list[int | None] = [None] * n + [n]
    for i in range(n - 1, -1, -1):
        ends[i] = next((j for j in range(n, i, -1) if ends[j] is not None and norm(token[i:j]) in labels), None)
    if ends[0] is None:
        return None
    out, i = [], 0
    while i < n:
        j = ends[i]
        assert j is not None
        out.append(token[i:j])
        i = j
    return out if len(out) > 1 else None


def _tab_cells(lines: list[str]) -> list[_TextCell]:
    cells: list[_TextCell] = []
    row_break = True
    for i, line in enumerate(lines):
        if line.startswith("\t"):
            for j, part in enumerate(line.split("\t")[1:]):
                cells.append(_TextCell(part, i + 1, new_row=row_break and j == 0))
            row_break = False
        elif is_blank(line):
            row_break = True
        elif cells and not cells[-1].alone and _continues(lines, i, cells[-1]):
            prev = cells[-1]
            prev.text = line if is_blank(prev.text) else f"{prev.text}\n{line}"
            row_break = False
        else:
            cells.append(_TextCell(line, i + 1, new_row=True, alone=True))
            row_break = True
    return cells


def _continues(lines: list[str], i: int, prev: _TextCell) -> bool:
    """Whether untabbed line i is the rest of the cell before it (e.g. 结/果/维/持, or （三）不予 / 公开)."""

    def short(line: str) -> bool:
        return not line[0].isspace() and len(line.strip()) <= 20 and not _HEADING.match(line)

    if not short(lines[i]) or value_like(prev.text):
        return False
    following = next((line for line in lines[i + 1 :] if not is_blank(line)), "")
    return following.startswith("\t") or (bool(following) and short(following))


def _paragraph_cells(lines: list[str]) -> list[_TextCell]:
    known = known_labels()
    cells: list[_TextCell] = []
    for i, line in enumerate(lines):
        if is_blank(line):
            continue
        n = norm(line)
        cell = _TextCell(line, i + 1)
        cell.alone = n not in known.labels and (len(n) > 40 or bool(_HEADING.match(line)) or n in known.titles)
        prev = cells[-1] if cells else None
        cell.new_row = prev is None or prev.alone or cell.alone or _starts_row(cell.text, prev.text)
        cells.append(cell)
    return cells


def _starts_row(text: str, prev: str) -> bool:
    """Paragraph layout: whether a cell begins a new table row."""
    known, n, p = known_labels(), norm(text), norm(prev)
    if value_like(text):
        return False
    if value_like(prev) or p in known.captions:
        return True
    if n in known.captions or n in known.row_starts or n in known.anchors:
        return True
    return n in known.row_labels and p not in known.row_labels


def _text_rows(cells: list[_TextCell]) -> list[_TextRow]:
    rows: list[_TextRow] = []
    i = 0
    while i < len(cells):
        cell = cells[i]
        table = known_labels().anchors.get(norm(cell.text))
        end = _header_run(cells, i, table) if table is not None else 0
        if end:
            rows.append(_TextRow([], table, cell.line))
            i = end
            if i < len(cells):
                cells[i].new_row = True
            continue
        if cell.new_row or cell.alone or not rows or rows[-1].header is not None:
            rows.append(_TextRow([], None, cell.line))
        rows[-1].cells.append(cell)
        i += 1
    return rows


def _headers_supplied(rows: list[_TextRow]) -> list[_TextRow]:
    """Tables 三 and 四 without a header band, or with a generic one (数据1 … 数据6): the official header is put in
    front of the table's first row — Table 三's first row label, or Table 四's one row of numbers under its heading —
    so its columns are known by their count and order. Nothing is supplied when the report prints its header."""
    matrix = {t.id: t for f in reversed(all_forms()) for t in f.tables if t.layout == "matrix"}
    titles = {norm(t.title): t for t in matrix.values()}
    known = known_labels()
    out: list[_TextRow] = []
    expect: Table | None = None  # the matrix table whose heading was seen, header not yet
    done: set[str] = set()
    for row in rows:
        texts = [c.text for c in row.cells]
        if row.header is not None:
            done.add(row.header.id)
            expect = None
        elif len(texts) == 1 and norm(texts[0]) in titles:
            expect = titles[norm(texts[0])] if titles[norm(texts[0])].id not in done else None
        elif expect is not None and texts and all(_GENERIC_HEADER.fullmatch(norm(t)) for t in texts):
            continue  # a generic header line: replaced by the official one
        elif expect is not None and texts:
            first_label = next((norm(t) for t in texts if not value_like(t)), "")
            values = sum(1 for t in texts if value_like(t))
            apply_start = {
                norm(lb.text)
                for lb in expect.labels
                if lb.kind == "row" and lb.first_row == min(x.first_row for x in expect.labels if x.kind == "row")
            }
            if (first_label and first_label in apply_start) or (not first_label and values == len(expect.cells)):
                out.append(_TextRow([], expect, row.line, supplied=True))
                done.add(expect.id)
                expect = None
            elif first_label in known.labels:
                expect = None  # a header of the report's own, read as printed
        out.append(row)
    return out


def _header_run(cells: list[_TextCell], i: int, table: Table) -> int:
    """End of the merged header of `table` starting at cell i, if every column label is there; else 0."""
    allowed = {norm(lb.text) for lb in table.labels if lb.kind in ("header", "corner")}
    j = i
    while j < len(cells) and (is_blank(cells[j].text) or norm(cells[j].text) in allowed):
        j += 1
    while j > i and is_blank(cells[j - 1].text):
        j -= 1
    seen = Counter(norm(c.text) for c in cells[i:j])
    needed = Counter(norm(t) for t in table.col_labels.values())
    return j if not needed - seen else 0


def _text_grid(rows: list[_TextRow], lines: list[str]) -> Page:
    known = known_labels()
    width = max([t.width for f in all_forms() for t in f.tables] + [len(r.cells) for r in rows])
    page = report_page("text", [], lines, tails={})
    rows = _headers_supplied(rows)
    for row in rows:
        if row.header is not None and row.supplied:
            for painted in _painted_header(row.header, width):
                page.where.update(
                    {(len(page.grid), c): f"第 {row.line} 行前{NO_HEADER}" for c, v in enumerate(painted) if v}
                )
                page.grid.append(painted)
            continue
        if row.header is not None:
            for painted in _painted_header(row.header, width):
                page.where.update(
                    {(len(page.grid), c): f"第 {row.line} 行起的表头" for c, v in enumerate(painted) if v}
                )
                page.grid.append(painted)
            continue
        # Labels on the left, then the run of values (and Table 二 column headers) right-aligned.
        k = len(row.cells)
        while k and (is_blank(t := row.cells[k - 1].text) or value_like(t) or norm(t) in known.value_headers):
            k -= 1
        tail = row.cells[k:]
        placed = list(enumerate(row.cells[:k])) + [(width - len(tail) + j, c) for j, c in enumerate(tail)]
        r = len(page.grid)
        out: list[object] = [""] * width
        for col, cell in placed:
            out[col] = official_label(cell.text) or cell.text
            page.where[(r, col)] = f"第 {cell.line} 行"
        page.grid.append(out)
        page.tails[r] = len(tail)
    return page


def _painted_header(table: Table, width: int) -> list[list[object]]:
    shift = width - table.width
    rows: list[list[object]] = [[""] * width for _ in range(table.header_rows)]
    for lb in table.labels:
        if lb.kind in ("header", "corner"):
            rows[lb.first_row - TABLE_ROW][lb.first_col + shift] = lb.text
    return rows


# --- HTML ------------------------------------------------------------------------------------------------------------


def pipe_page(lines: list[str]) -> Page:
    """Markdown pipe tables keep their geometry, one line per row with covered cells empty: read like HTML tables.

    Tables whose merged headers and row labels were flattened into paths joined by " / " (xltool's own Markdown
    render, and other tools that flatten) are unfolded back into header bands and label columns; a bold caption line
    just above a table (`**第二十条第（一）项**`) becomes its first row."""
    tables = _pipe_tables(lines)
    page = stacked("text", [(grid, set()) for grid, _ in tables], lines)
    top = 0
    for grid, supplied in tables:  # a header put in by _pipe_header: said so where its cells are named
        for r in range(top, top + supplied):
            page.where.update(
                {(r, c): f"第 {r - top + 1} 行{NO_HEADER}" for c in range(len(grid[0])) if (r, c) in page.where}
            )
        top += len(grid) + 1
    return page


_RULE = re.compile(r"\s*:?-{3,}:?\s*")
_PATH_SEP = " / "
_UNESCAPE = re.compile(r"\\([\\`*_\[\]<>|#])")


def _pipe_cells(line: str) -> list[str]:
    """The cells of one |…| line: `\\|` is a pipe inside a cell; Markdown escapes and <br> are undone."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [_UNESCAPE.sub(r"\1", c.strip(" \t")).replace("<br>", "\n") for c in cells]


def _pipe_tables(lines: list[str]) -> list[tuple[Grid, int]]:
    """Markdown tables: consecutive |…| lines, the |---| rule under the header noted and skipped."""
    tables: list[Grid] = []
    heads: list[int] = []  # rows above the rule (the header), per table
    in_table = False
    caption = ""
    for line in lines:
        if not line.lstrip().startswith("|"):
            in_table = False
            if line.strip():
                m = re.fullmatch(r"\s*(\*\*|__)(.+?)\1\s*", line)
                caption = _UNESCAPE.sub(r"\1", m.group(2)) if m else ""
            continue
        cells: list[object] = list(_pipe_cells(line))
        if all(_RULE.fullmatch(str(c)) for c in cells):
            if in_table:
                heads[-1] = len(tables[-1])
            continue
        if not in_table:
            tables.append([])
            heads.append(0)
            if caption and norm(caption) in known_labels().captions:
                tables[-1].append([caption])
            caption = ""
            in_table = True
        tables[-1].append(cells)
    return [_pipe_header(_unfolded(t, h), h) for t, h in zip(tables, heads, strict=True)]


def _pipe_header(grid: Grid, head: int) -> tuple[Grid, int]:
    """A pipe table of Table 三 or 四 whose header line is missing or generic (项目 | 数据1 | … ): the official header
    is put in its place, so the columns are known by their count and order."""
    body = grid[head:] if head else grid
    if not body:
        return grid, 0
    if head and not all(
        _GENERIC_HEADER.fullmatch(norm(v)) or not is_filled(v) or i == 0 for r in grid[:head] for i, v in enumerate(r)
    ):
        return grid, 0  # the report's own header, read as printed
    for table in {t.id: t for f in reversed(all_forms()) for t in f.tables if t.layout == "matrix"}.values():
        first = body[0]
        labels = [norm(v) for v in first if is_filled(v) and not value_like(str(v))]
        values = sum(1 for v in first if is_filled(v) and value_like(str(v)))
        first_row = (
            min(lb.first_row for lb in table.labels if lb.kind == "row")
            if any(lb.kind == "row" for lb in table.labels)
            else None
        )
        starts = {norm(lb.text) for lb in table.labels if lb.kind == "row" and lb.first_row == first_row}
        if (labels and labels[0] in starts) or (not labels and values == len(table.cells)):
            width = max(len(r) for r in body)
            full = max(width, table.width)
            header = _painted_header(table, full)
            return header + [_right_aligned(r, full) for r in body], len(header)
    return grid, 0


def _unfolded(grid: Grid, head: int) -> Grid:
    """Undo " / " paths: a header cell `a / b / c` becomes a, b, c in header bands one below the other, a row label
    `a / b / c` becomes a, b, c in label columns side by side; a repeated part is shown once, as a merge shows it."""
    if not any(_PATH_SEP in str(v) for row in grid for v in row):
        return grid
    first = 1 if grid and len(grid[0]) == 1 and head != 1 else 0  # a caption row
    head = max(head, first)  # no rule: no header, the rows are all body
    header, body = grid[first:head], grid[head:]
    width = max(len(r) for r in grid[first:])
    depth = [
        max([len(_parts(r[c])) if c < len(r) and not value_like(str(r[c])) else 1 for r in body] or [1])
        for c in range(width)
    ]
    out: Grid = [list(r) for r in grid[:first]]
    bands = max((len(_parts(v)) for r in header for v in r), default=0)
    for row in header:
        rows: list[list[object]] = [[] for _ in range(bands)]
        for c in range(width):
            parts = _parts(row[c]) if c < len(row) else [""]
            for b in range(bands):
                text = parts[b] if b < len(parts) else ""
                rows[b] += [text] + [""] * (depth[c] - 1)
        out += [_merged_left(r) for r in rows]
    previous: list[object] = []
    for row in body:
        flat: list[object] = []
        for c in range(width):
            v = row[c] if c < len(row) else ""
            parts = _parts(v) if depth[c] > 1 and not value_like(str(v)) else [v]
            flat += parts + [""] * (depth[c] - len(parts))
        shown = [
            "" if c < len(previous) and v == previous[c] and not value_like(str(v)) and is_filled(v) else v
            for c, v in enumerate(flat)
        ]
        # A label repeated from the row above is merged with it, but only while the labels left of it are too.
        for c, v in enumerate(flat):
            if shown[c] == "" and is_filled(v) and any(shown[x] != "" for x in range(c) if is_filled(flat[x])):
                shown[c] = v
        out.append(shown)
        previous = flat
    return out


def _right_aligned(row: list[object], width: int) -> list[object]:
    """A row widened to `width` with its run of values kept at the right edge, under the official columns."""
    k = len(row)
    while k and (not is_filled(row[k - 1]) or value_like(str(row[k - 1]))):
        k -= 1
    return list(row[:k]) + [""] * (width - len(row)) + list(row[k:])


def _parts(v: object) -> list[str]:
    return [p.strip() for p in str(v).split(_PATH_SEP)]


def _merged_left(row: list[object]) -> list[object]:
    """A header band: a text repeated in the cells right of it is one merged cell."""
    return ["" if c and v and v == row[c - 1] else v for c, v in enumerate(row)]


def _read(path: Path) -> Page:
    return read_report(path, "text")


# --- writing: the annual report as plain text ------------------------------------------------------------------


def _plain(text: str) -> str:
    """One line of text: control characters dropped, tabs and line breaks as spaces (tabs separate table cells)."""
    from xltool.formats.html import clean_text

    return re.sub(r"[\t\r\n\v\f\u2028\u2029\x85]+", " ", clean_text(text)).strip()


def render_annual_text(report: AnnualReport) -> str:
    """The annual report as plain text: one paragraph per line, and each official table one row per line (the
    labels starting the row, then its numbers, separated by tabs), the way `xltool import` reads row-per-line text."""
    from xltool.render import table_grid, table_notes

    ret, out = report.ret, []
    for block in report.blocks:
        if block.kind != "table":
            out += [_plain(block.text), ""]
            continue
        table = ret.form.table(block.table_id or "")
        if table.id in ret.no_items:
            out += [NO_ITEMS_TEXT, ""]
        for row in table_grid(table, ret).rows:
            cells = [_plain(c.text) for c in row if c is not None and (c.text or c.kind == "value")]
            if any(cells):
                out.append("\t".join(cells))
        out.append("")
        out += [line for note in table_notes(table) for line in (_plain(note), "")]
    return "\n".join(out).rstrip("\n") + "\n"


def write_annual_text(report: AnnualReport, path: Path | None = None, **_: object) -> str | Path:
    return text_result(render_annual_text(report), path)


WRITERS = [Writer("annual", "txt", ".txt", write_annual_text, description="纯文本（年度报告全文，表格每行一行）")]

READERS = [
    Reader(
        "text",
        (".txt", ".text"),
        "report",
        _read,
        parse=text_parse(text_page),
        description="年度报告纯文本（从网站复制）",
    )
]
