"""A return's problems in the order a clerk reads them (the terminal, CSV): errors first, then warnings, then blank
cells grouped by table and row (`表三 第 8 行「（一）予以公开」D8:I8 共 6 格空白`), then notes. A partly filled table
is a few lines, and nothing comes before the errors. `verbose` keeps one line per blank cell. JSON keeps every
problem as it is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from xltool.codes import Code
from xltool.forms import col_number
from xltool.outcomes import Severity
from xltool.problems import Problem

BLANK_ADVICE = "按 0 计算，没有数据请填 0"
BLANK_ADVICE_EN = "blank cells count as 0; enter 0 where nothing happened"
_A1 = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass(frozen=True)
class BlankRow:
    """The blank cells of one row of one table, as one line; reads like a Problem (severity, code, where, text)."""

    sheet: str
    table: str  # the table's number (三) or, for a sheet no table of the form has, the sheet's name
    row: int  # the sheet row (1-based)
    label: str  # the row's label (（一）予以公开); "" when the table has none
    columns: tuple[int, ...]  # 1-based, ascending

    severity = Severity.WARNING
    code = Code.BLANK_CELL

    @property
    def cell(self) -> str:
        """The cells as ranges of neighbours: `D8:I8`, or `D8、F8:G8` when a filled cell lies between."""
        runs: list[list[int]] = []
        for c in self.columns:
            if runs and c == runs[-1][-1] + 1:
                runs[-1].append(c)
            else:
                runs.append([c])
        return "、".join(
            f"{_letters(r[0])}{self.row}" + (f":{_letters(r[-1])}{self.row}" if len(r) > 1 else "") for r in runs
        )

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.cell}"

    @property
    def values(self) -> dict[str, Any]:
        return {"blank_cells": len(self.columns)}

    def text(self, lang: str = "zh", advice: bool = True) -> str:
        """`表三 第 8 行「（一）予以公开」D8:I8 共 6 格空白`, and what that means unless `advice` is off (the terminal
        says it once under the file's problems)."""
        n = len(self.columns)
        if lang == "en":
            text = f"Table {self.table} row {self.row}: {n} blank cells ({self.cell})"
            return text + (f": {BLANK_ADVICE_EN}." if advice else "")
        table = f"表{self.table}" if len(self.table) <= 2 else f"“{self.table}”表"
        label = f"「{self.label}」" if self.label else " "
        return f"{table} 第 {self.row} 行{label}{self.cell} 共 {n} 格空白" + (f"，{BLANK_ADVICE}" if advice else "")


@lru_cache(maxsize=64)
def _rows_of(table: Any) -> dict[tuple[str, int], str]:
    """(sheet, row) → the row's label, for every row of the table holding a number cell (tables hash by identity)."""
    keys = sorted(table.row_labels, key=len, reverse=True)  # the longest row key a cell key starts with is its row
    out: dict[tuple[str, int], str] = {}
    for cell in table.cells:
        rest = cell.key[len(table.id) + 1 :]
        row_key = next((k for k in keys if k and rest.startswith(k + ".")), "")
        out[(cell.sheet, cell.row + 1)] = table.row_labels.get(row_key, "")
    return out


def _grouped(blanks: list[Problem], form: Any) -> list[Problem | BlankRow]:
    tables = list(form.tables) if form is not None else []
    by_sheet = {t.sheet: (i, t) for i, t in enumerate(tables)}
    rows: dict[tuple[str, int], list[int]] = {}
    single: list[Problem] = []  # a blank without a cell reference is listed as it is
    first: dict[tuple[str, int], Problem] = {}
    for p in blanks:
        m = _A1.match(p.cell or "")
        if not p.sheet or m is None:
            single.append(p)
            continue
        key = (p.sheet, int(m.group(2)))
        rows.setdefault(key, []).append(col_number(m.group(1)))
        first.setdefault(key, p)
    out: list[Problem | BlankRow] = []
    for sheet, row in sorted(rows, key=lambda k: (by_sheet.get(k[0], (len(tables), None))[0], k[0], k[1])):
        columns = tuple(sorted(set(rows[(sheet, row)])))
        if len(columns) == 1:  # one cell: its own message, which names the cell's labels in full
            out.append(first[(sheet, row)])
            continue
        table = by_sheet.get(sheet, (0, None))[1]
        label = _rows_of(table).get((sheet, row), "") if table is not None else ""
        out.append(BlankRow(sheet, table.number if table is not None else sheet, row, label, columns))
    return out + single


def listed(problems: Sequence[Problem], form: Any = None, verbose: bool = False) -> list[Problem | BlankRow]:
    """`problems` as lines: errors, warnings, blank cells (grouped by table and row unless `verbose`), notes; each
    group in its original order. `form` names the tables and rows (without it a row is named by its sheet)."""
    ordered = sorted(problems, key=lambda p: (p.severity.rank, p.code == Code.BLANK_CELL))
    blanks = [p for p in ordered if p.code == Code.BLANK_CELL]
    if verbose or not blanks:
        return ordered
    at = ordered.index(blanks[0])
    rest = [p for p in ordered if p.code != Code.BLANK_CELL]
    return rest[:at] + _grouped(blanks, form) + rest[at:]


def blank_count(problems: Sequence[Problem]) -> int:
    return sum(p.code == Code.BLANK_CELL for p in problems)
