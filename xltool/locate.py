"""Find an official table in a grid of cell values by its labels, wherever it sits.

Used when a file is not our template (a township's own copy), when rows were inserted or deleted, and for tables
flattened out of published reports. Each table kind is located by the order of its labels, as a person reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from xltool.forms import TABLE_ROW, Table, all_forms
from xltool.labels import norm

Grid = list[list[object]]


@dataclass
class Located:
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (row, col), 0-based
    missing: list[str] = field(default_factory=list)  # labels that were not found

    @property
    def found(self) -> bool:
        return bool(self.positions)


class _Index:
    def __init__(self, grid: Grid):
        self.grid = grid
        self.cells: dict[str, list[tuple[int, int]]] = {}
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if isinstance(v, str) and v.strip():
                    self.cells.setdefault(norm(v), []).append((r, c))

    def find(
        self, text: str, after: tuple[int, int] = (-1, -1), rows: range | None = None, cols: range | None = None
    ) -> tuple[int, int] | None:
        for r, c in self.cells.get(norm(text), []):
            if (r, c) <= after:
                continue
            if (rows is None or r in rows) and (cols is None or c in cols):
                return r, c
        return None


def locate(grid: Grid, table: Table) -> Located:
    index = _Index(grid)
    if table.layout == "blocks":
        return _locate_blocks(index, table)
    return _locate_matrix(index, table)


def _data_columns_below(index: _Index, table: Table, band: range, first_col: int) -> list[int] | None:
    """Columns of the table's value headers, read left to right in the header band (merged headers included)."""
    expected = [table.col_labels[k] for k in table.col_keys]
    candidates = sorted(
        (c, r) for text in set(expected) for r, c in index.cells.get(norm(text), []) if r in band and c >= first_col
    )
    cols: list[int] = []
    i = 0
    for c, r in candidates:
        if i < len(expected) and norm(index.grid[r][c]) == norm(expected[i]) and (not cols or c > cols[-1]):
            cols.append(c)
            i += 1
    return cols if len(cols) == len(expected) else None


def _locate_matrix(index: _Index, table: Table) -> Located:
    out = Located()
    label_cols = table.width - len(table.col_keys)
    col_keys = table.col_keys
    if label_cols:
        # Rows first: each row label, in order, below the previous one.
        rows: dict[str, int] = {}
        last = (-1, 10**9)
        for row_key in table.row_keys:
            text = _row_text(table, row_key)
            hit = next(((r, c) for r, c in index.cells.get(norm(text), []) if r > last[0]), None)
            if hit is None:
                out.missing.append(text)
                continue
            rows[row_key] = hit[0]
            last = hit
        if not rows:
            return out
        first_row = min(rows.values())
        band = range(max(0, first_row - table.header_rows - 3), first_row)
        cols = _data_columns_below(index, table, band, 1)
        if cols is None:
            out.missing.append("申请人情况表头")
            return out
        for row_key, r in rows.items():
            for col_key, c in zip(col_keys, cols, strict=True):
                out.positions[_key(table, row_key, col_key)] = (r, c)
        return out
    # No row labels (Table 四): the top-left group label anchors the header band; the data row follows it.
    first_path_label = table.labels[0].text
    anchor = index.find(first_path_label)
    if anchor is None:
        out.missing.append(first_path_label)
        return out
    band = range(anchor[0], anchor[0] + table.header_rows)
    cols = _data_columns_below(index, table, band, anchor[1])
    if cols is None:
        out.missing.append(f"{first_path_label}表头")
        return out
    data_row = anchor[0] + table.header_rows
    while data_row < len(index.grid) and all(
        _empty(index.grid[data_row][c]) for c in cols if c < len(index.grid[data_row])
    ):
        data_row += 1
        if data_row > anchor[0] + table.header_rows + 3:
            data_row = anchor[0] + table.header_rows
            break
    (row_key,) = table.row_keys
    for col_key, c in zip(col_keys, cols, strict=True):
        out.positions[_key(table, row_key, col_key)] = (data_row, c)
    return out


def _locate_blocks(index: _Index, table: Table) -> Located:
    out = Located()
    captions = [lb for lb in table.labels if lb.kind == "caption"]
    caption_hits = []
    after = (-1, -1)
    for caption in captions:
        hit = index.find(caption.text, after=after)
        caption_hits.append(hit)
        if hit is None:
            out.missing.append(caption.text)
        else:
            after = (hit[0], 10**9)
    for b, caption in enumerate(captions):
        hit = caption_hits[b]
        if hit is None:
            continue
        following = [h[0] for h in caption_hits[b + 1 :] if h is not None]
        end = following[0] if following else len(index.grid)
        block_cells = [c for c in table.cells if c.label_path[0] == caption.text]
        headers = list(dict.fromkeys(c.label_path[2] for c in block_cells))
        cols = {}
        for text in headers:
            found = index.find(text, rows=range(hit[0] + 1, min(end, hit[0] + 4)))
            if found is None:
                out.missing.append(text)
            else:
                cols[text] = found
        if len(cols) != len(headers):
            continue
        header_row = max(r for r, _ in cols.values())
        for row_label in dict.fromkeys(c.label_path[1] for c in block_cells):
            found = index.find(row_label, rows=range(header_row + 1, end))
            if found is None:
                out.missing.append(row_label)
                continue
            for cell in block_cells:
                if cell.label_path[1] == row_label:
                    out.positions[cell.key] = (found[0], cols[cell.label_path[2]][1])
    return out


def _row_text(table: Table, row_key: str) -> str:
    """The innermost label of a matrix row (the text in its own label cell)."""
    return table.row_paths[row_key][-1]


def _key(table: Table, row_key: str, col_key: str) -> str:
    return ".".join(p for p in (table.id, row_key, col_key) if p)


def _empty(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


# --- labels of every known form, by role ------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    labels: set[str]  # every printed label of either version
    captions: set[str]
    row_labels: set[str]
    row_starts: set[str]  # labels that always open a row
    value_headers: set[str]  # Table 二 column headers (right-aligned with the values below them)
    titles: set[str]
    anchors: dict[str, Table]  # first header labels of Tables 三 and 四


def known_labels() -> Known:
    """Every printed label of every known form, by role: what the report readers rebuild flattened text with."""
    return _known(tuple(f.id for f in all_forms()))


@cache
def _known(ids: tuple[str, ...]) -> Known:  # keyed by the forms' ids: a --form file adds labels
    forms = [f for f in all_forms() if f.id in ids]
    tables = [t for f in forms for t in f.tables]
    labels = {norm(lb.text) for t in tables for lb in t.labels}
    captions = {norm(lb.text) for t in tables for lb in t.labels if lb.kind == "caption"}
    row_labels = {norm(lb.text) for t in tables for lb in t.labels if lb.kind == "row"}
    value_headers = {
        norm(lb.text)
        for t in tables
        if t.layout == "blocks"
        for lb in t.labels
        if lb.kind == "header" and lb.first_col > 0
    }
    anchors: dict[str, Table] = {}  # the first header band labels of matrix tables (the oldest form's, on a tie)
    for t in tables:
        if t.layout == "matrix":
            for lb in t.labels:
                if lb.kind in ("header", "corner") and lb.first_row == TABLE_ROW:
                    anchors.setdefault(norm(lb.text), t)
    return Known(
        labels, captions, row_labels, {norm("信息内容")}, value_headers, {norm(t.title) for t in tables}, anchors
    )
