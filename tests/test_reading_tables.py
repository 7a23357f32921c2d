"""Where a return's tables are found: in place when every label is where our template put it, by the labels
otherwise. The in-place check (every label compared in one go) gives exactly what locating the table by its labels
gives for a workbook whose labels are in place, and the same edited-label and moved-row problems for one whose labels
are not.

The locating path is forced by answering no at its one decision point, `reading.sheets._labels_intact` (a private
function: there is no public switch for it)."""

from __future__ import annotations

import random

import openpyxl
import pytest

from tests.fillings import random_return
from tests.reading_workbooks import EDITS, edit, scratch, snapshot
from xltool.forms import form_for_year
from xltool.labels import norm
from xltool.reading import assemble, read_page, sheets
from xltool.template import write_xlsx


@pytest.mark.parametrize("kind", EDITS)
def test_tables_in_place_read_as_when_located_by_their_labels(kind, monkeypatch):
    """A filled 2025 return, edited one way (labels edited or blanked and rows inserted among them), reads and checks
    the same whether its labels are compared in one go or the table is located by them."""
    rng = random.Random(EDITS.index(kind))
    form = form_for_year(2025)
    path = write_xlsx(random_return(form, 2025, rng, broken=1, blanks=3), scratch(f"tables-{kind}.xlsx"))
    if kind != "none":
        wb = openpyxl.load_workbook(path)
        edit(wb, form, kind, rng)
        wb.save(path)
    in_place = snapshot(assemble(read_page(path)))
    monkeypatch.setattr(sheets, "_labels_intact", lambda grid, labels: False)
    assert snapshot(assemble(read_page(path))) == in_place
    codes = {p[1] for p in in_place[3]}
    assert ("LABEL-CHANGED" in codes) is (kind in ("label", "label_blank"))
    assert ("ROWS-MOVED" in codes) is (kind == "row_inserted")


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
