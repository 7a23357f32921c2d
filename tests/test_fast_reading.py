"""The short ways through reading (a number cell already numeric, an untouched template table, labels compared in one
go) give exactly what the general path gives: the same values in the same order, the same problems."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fillings import random_return
from xltool import formdata, layout
from xltool.forms import CellType, form_for_year
from xltool.labels import norm
from xltool.model import Invalid, Return, Unit
from xltool.reading import assemble, read_page, sheets
from xltool.template import write_xlsx
from xltool.values import _normalize, normalize

TYPES = [CellType("count"), CellType("signed_count"), CellType("amount", 4, "万元")]


def _same_value(a, b) -> None:
    assert type(a) is type(b)
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same_value(x, y)
    elif isinstance(a, Decimal):
        assert str(a) == str(b)
    else:
        assert a == b


@given(
    raw=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=-2e9, max_value=2e9).map(round).map(float),
        st.integers(-(2**40), 2**40),
        st.integers(-5, 2000),
        st.sampled_from([0.0, -0.0, 1e9, 1e9 - 1, 999999999.0, 5.0, 12.5, 0.0001, 1e-7, True, False]),
    ),
    cell_type=st.sampled_from(TYPES),
)
def test_numeric_fast_path_equals_the_general_path(raw, cell_type):
    _same_value(normalize(raw, cell_type), _normalize(raw, cell_type))


def test_zero_keeps_its_sign_like_the_general_path():
    assert str(normalize(-0.0, CellType("signed_count"))[0]) == str(_normalize(-0.0, CellType("signed_count"))[0])
    assert math.copysign(1, float(normalize(0.0, CellType("count"))[0])) == 1


# --- whole workbooks ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_xlsx(Return(form_for_year(2025), 2025), tmp_path_factory.mktemp("t") / "blank.xlsx")


def _edit(kind: str, rng: random.Random):
    form = form_for_year(2025)
    inputs, totals = form.inputs, [c for c in form.cells if not c.is_input]

    def edit(wb) -> None:
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
            table = rng.choice(form.tables)
            lb = rng.choice([lb for lb in table.labels if lb.kind == "row"])
            wb[lb.sheet].cell(lb.first_row + 1, lb.first_col + 1).value = lb.text + "（改）"
        elif kind == "label_blank":
            lb = form.tables[1].labels[3]
            wb[lb.sheet].cell(lb.first_row + 1, lb.first_col + 1).value = None
        elif kind == "row_inserted":
            wb[form.tables[1].sheet].insert_rows(form.tables[1].first_data_row + 2)
        elif kind == "merged":
            a = rng.choice([c for c in inputs if c.table == "apply"])
            wb[a.sheet].merge_cells(
                start_row=a.row + 1, start_column=a.col + 1, end_row=a.row + 1, end_column=a.col + 2
            )
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

    return edit


KINDS = [
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
]


def _snapshot(ret: Return) -> tuple:
    values = [(k, str(v) if isinstance(v, Decimal) else v) for k, v in ret.values.items()]
    problems = [(p.severity, p.code, p.message, p.sheet, p.cell, repr(p.values)) for p in ret.read_problems]
    checked = [(p.severity, p.code, p.message, p.sheet, p.cell, repr(p.values)) for p in ret.check()]
    return values, problems, checked, sorted(ret.no_items), vars(ret.unit), ret.explanations, ret.prefilled


@pytest.mark.parametrize("kind", KINDS)
def test_untouched_table_path_equals_the_general_path(template, tmp_path, monkeypatch, kind):
    rng = random.Random(KINDS.index(kind))
    form = form_for_year(2025)
    ret = random_return(form, 2025, rng, broken=1, blanks=3)
    wb = openpyxl.load_workbook(template)
    for key, v in ret.values.items():
        cell = form.cell[key]
        wb[cell.sheet][cell.a1] = float(v)
    wb[layout.GUIDE_SHEET][f"B{layout.UNIT_FIELDS[0][2] + 1}"] = "测试镇人民政府"
    _edit(kind, rng)(wb)
    wb.save(tmp_path / "r.xlsx")
    fast = _snapshot(assemble(read_page(tmp_path / "r.xlsx")))
    monkeypatch.setattr(formdata.Shape, "untouched", lambda self, formulas, errors: False)
    monkeypatch.setattr(sheets, "_labels_intact", lambda grid, labels: False)
    general = _snapshot(assemble(read_page(tmp_path / "r.xlsx")))
    assert fast == general


def test_label_norm_remembers_texts_exactly():
    """norm() remembers what it computed; the result is the same the first and the second time, aliases applied."""
    texts = [
        "（一）本年新收政府信息公开申请数量",
        " 一、本年新收\n政府信息公开申请数量",
        "ＡＢＣ　１２",
        "“引号”【括号】",
    ]
    first = [norm(t) for t in texts]
    assert [norm(t) for t in texts] == first
    assert norm("ＡＢＣ　１２", aliases=False) == "ABC12"


def test_unit_is_read(template, tmp_path):
    """The fast path leaves the 填报说明 fields to the general reader."""
    path = tmp_path / "u.xlsx"
    wb = openpyxl.load_workbook(template)
    wb[layout.GUIDE_SHEET][f"B{layout.UNIT_FIELDS[0][2] + 1}"] = "某某镇"
    wb.save(path)
    ret = assemble(read_page(path))
    assert isinstance(ret.unit, Unit) and ret.unit.name == "某某镇"
    assert not any(isinstance(v, Invalid) for v in ret.values.values())
