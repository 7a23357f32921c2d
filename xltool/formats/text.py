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

from xltool.formats import Reader, _scraped
from xltool.formats._report import decode, read_report, stacked
from xltool.formats.page import Grid, Page, report_page
from xltool.forms import TABLE_ROW, Table, all_forms
from xltool.labels import norm
from xltool.locate import known_labels
from xltool.values import is_blank, value_like

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


def text_page(text: str) -> Page:
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
        if k == len(tokens) and not any(norm(w) in known.labels for w in words):  # prose, a heading, a title
            cells.append(_TextCell(line.strip(), i + 1, new_row=True, alone=True))
            prev_values = False
            continue
        for j, text in enumerate(words + tokens[k:]):
            cells.append(_TextCell(text, i + 1, new_row=j == 0))
        prev_values = k < len(tokens)
    return cells


def _cut_label(words: list[str], following: str, labels: set[str]) -> bool:
    """Whether the last words of a line and the first words of the next spell a known label only together."""
    nxt = following.split()
    nxt = nxt[: _tail_start(nxt)]
    if not words or not nxt or norm(words[-1]) in labels:
        return False
    return any(norm(words[-1] + "".join(nxt[:j])) in labels for j in range(1, len(nxt) + 1))


def _split_labels(tokens: list[str], labels: set[str]) -> list[str]:
    out: list[str] = []
    pending: list[str] = []
    i = 0
    while i < len(tokens):
        j = next((j for j in range(len(tokens), i, -1) if norm("".join(tokens[i:j])) in labels), 0)
        if j:
            if pending:
                out.append(" ".join(pending))
                pending = []
            out.append(" ".join(tokens[i:j]))
            i = j
        else:
            pending.append(tokens[i])
            i += 1
    if pending:
        out.append(" ".join(pending))
    return out


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
    for row in rows:
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
            out[col] = cell.text
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
    """Markdown pipe tables keep their geometry, one line per row with covered cells empty: read like HTML tables."""
    return stacked("text", [(grid, set()) for grid in _pipe_tables(lines)], lines)


def _pipe_tables(lines: list[str]) -> list[Grid]:
    """Markdown tables: consecutive |…| lines, the |---| rule under the header skipped."""
    tables: list[Grid] = []
    in_table = False
    for line in lines:
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        cells: list[object] = [c.strip(" \t").replace("<br>", "\n") for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r"\s*:?-{3,}:?\s*", str(c)) for c in cells):
            continue
        if not in_table:
            tables.append([])
            in_table = True
        tables[-1].append(cells)
    return tables


def _read(path: Path) -> Page:
    return read_report(path, "text")


READERS = [
    Reader(
        "text",
        (".txt", ".text"),
        "report",
        _read,
        parse=lambda data: text_page(decode(data)),
        description="年度报告纯文本（从网站复制）",
    )
]
