"""Workbooks for the reading tests: blank templates, filled copies edited the ways townships edit them (openpyxl), and
a snapshot of everything reading gives, for comparing two ways of reading one file."""

from __future__ import annotations

import atexit
import functools
import random
import re
import shutil
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl

from xltool import layout
from xltool.forms import Form, form_for_year
from xltool.model import Return
from xltool.problems import Problem
from xltool.template import write_xlsx

_FOLDER = Path(tempfile.mkdtemp(prefix="xltool-reading-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)


@functools.cache
def template(year: int) -> Path:
    """The blank template of the form of `year` (written once per test session)."""
    return write_xlsx(Return(form_for_year(year), year), _FOLDER / f"blank-{year}.xlsx")


def scratch(name: str) -> Path:
    """A path for a workbook a test writes (overwritten by the next test that asks for the same name)."""
    return _FOLDER / name


CACHED = "公式的缓存结果"


def cache_formula_results(path: Path) -> None:
    """Give every formula openpyxl wrote (it writes none of their results) the cached text result CACHED, as
    Excel would: a reader that took a formula's cached result would read it."""
    cell = re.compile(rb"<c ([^>]*)><f>(.*?)</f><v></v></c>")
    with zipfile.ZipFile(path) as z:
        parts = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            if info.filename.startswith("xl/worksheets/"):
                data = cell.sub(rb'<c \1 t="str"><f>\2</f><v>' + CACHED.encode() + rb"</v></c>", data)
            z.writestr(info.filename, data)


def edit(wb: openpyxl.Workbook, form: Form, kind: str, rng: random.Random) -> None:
    """Change a filled 2025 workbook one way (a kind of EDITS)."""
    inputs, totals = form.inputs, [c for c in form.cells if not c.is_input]
    if kind == "texts":
        for cell, text in zip(rng.sample(inputs, 6), [" 0", "１２", "1,234", "无", "-", ".0"], strict=True):
            wb[cell.sheet][cell.a1] = text
    elif kind == "formula":
        cell = rng.choice(inputs)
        wb[cell.sheet][cell.a1] = "=1+1"
    elif kind == "error":
        cell = rng.choice(inputs)
        wb[cell.sheet][cell.a1] = "#DIV/0!"
    elif kind == "total":
        cell = rng.choice(totals)
        wb[cell.sheet][cell.a1] = 7
    elif kind == "label":
        lb = rng.choice([lb for t in form.tables for lb in t.labels if lb.kind == "row"])
        wb[lb.sheet].cell(lb.first_row + 1, lb.first_col + 1).value = lb.text + "（改）"
    elif kind == "label_blank":
        lb = form.tables[1].labels[3]
        wb[lb.sheet].cell(lb.first_row + 1, lb.first_col + 1).value = None
    elif kind == "row_inserted":
        wb[form.tables[1].sheet].insert_rows(form.tables[1].first_data_row + 2)
    elif kind == "merged":
        a = rng.choice([c for c in inputs if c.table == "apply"])
        wb[a.sheet].merge_cells(start_row=a.row + 1, start_column=a.col + 1, end_row=a.row + 1, end_column=a.col + 2)
    elif kind == "hidden":
        cell = rng.choice(inputs)
        wb[cell.sheet].row_dimensions[cell.row + 1].hidden = True
    elif kind == "negative_zero":
        for cell in rng.sample(inputs, 3):
            wb[cell.sheet][cell.a1] = -0.0
    elif kind == "fractions":
        for cell in rng.sample(inputs, 3):
            wb[cell.sheet][cell.a1] = rng.choice([2.5, -3.0, 5e10, 1e9])
    elif kind == "no_items":
        table = form.tables[2]
        row, col = layout.no_items_cell(table)
        wb[table.sheet].cell(row + 1, col + 1).value = layout.NO_ITEMS_YES
    elif kind == "unprotected":
        wb[form.tables[0].sheet].protection.sheet = False
    elif kind == "blank_table":
        for cell in rng.choice(form.tables).cells:
            if cell.is_input:
                wb[cell.sheet][cell.a1] = None
    elif kind == "nothing_filled":
        for cell in inputs:
            wb[cell.sheet][cell.a1] = None
    else:
        assert kind == "none", kind


EDITS = [
    "none",
    "texts",
    "formula",
    "error",
    "total",
    "label",
    "label_blank",
    "row_inserted",
    "merged",
    "hidden",
    "negative_zero",
    "fractions",
    "no_items",
    "unprotected",
    "blank_table",
    "nothing_filled",
]


def exact(v: object) -> object:
    """A value with its type, Decimals by their text (1 and 1.0, 0 and -0 differ)."""
    return (type(v).__name__, str(v) if isinstance(v, Decimal) else repr(v))


def problems(found: list[Problem]) -> list[tuple]:
    return [(p.severity, p.code, p.message, p.sheet, p.cell, repr(p.values), p.outcome) for p in found]


def snapshot(ret: Return) -> tuple:
    """Everything reading gives (and what checking the return then says), in order."""
    return (
        ret.form.id,
        ret.year,
        [(k, exact(v)) for k, v in ret.values.items()],
        problems(ret.read_problems),
        problems(ret.check()),
        sorted(ret.no_items),
        vars(ret.unit),
        list(ret.explanations.items()),
        sorted(ret.prefilled),
        ret.meta,
        ret.not_filled,
        [(t.id, ret.table_state(t.id)) for t in ret.form.tables],
    )
