"""Numbers read from a return's input cells: each raw cell value becomes the Decimal (or Invalid, with its note) that
`values.normalize` gives, and the short way through an untouched template table (numbers already read remembered per
cell type) gives exactly what the general per-cell loop gives — the same values in the same order, the same
problems, for every form, however the cells are filled or the sheet is cut short.

The general loop is forced by answering no at its one decision point, `formdata.Shape.untouched` (is the table as
our template wrote it?)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fillings import form_years, random_return
from tests.reading_workbooks import EDITS, edit, exact, problems, scratch, snapshot, template
from xltool import formdata
from xltool.evaluation import check_return
from xltool.forms import CellType, form_for_year
from xltool.reading import assemble, read_page
from xltool.template import write_xlsx
from xltool.values import _normalize, normalize

TYPES = [CellType("count"), CellType("signed_count"), CellType("amount", 4, "万元")]


@contextlib.contextmanager
def general_path():
    """Every table read by the general per-cell loop, as for a table that is not as our template wrote it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(formdata.Shape, "untouched", lambda self, formulas, errors: False)
        yield


@contextlib.contextmanager
def short_way_counted():
    """Counts the tables read the short way (so a comparison is known to compare two different paths)."""
    taken = []
    untouched = formdata.Shape.untouched
    with pytest.MonkeyPatch.context() as mp:

        def spy(self, formulas, errors):
            answer = untouched(self, formulas, errors)
            taken.append(answer)
            return answer

        mp.setattr(formdata.Shape, "untouched", spy)
        yield taken


# --- one raw value ---------------------------------------------------------------------------------------------------


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
def test_a_number_cell_reads_as_the_general_path_reads_it(raw, cell_type):
    """A float or int (the common, numeric case `normalize` shortens) gives the value and note of the general path."""
    _same_value(normalize(raw, cell_type), _normalize(raw, cell_type))


@given(n=st.integers(0, 10**9 - 1), as_float=st.booleans(), cell_type=st.sampled_from(TYPES[:2]))
def test_a_whole_count_reads_as_its_integer_without_a_note(n, as_float, cell_type):
    """A whole number below a billion in a count cell reads as that integer (5.0 -> 5, never 5.0), with no note."""
    value, note = normalize(float(n) if as_float else n, cell_type)
    assert (type(value), str(value), note) == (Decimal, str(n), None)


def test_zero_keeps_its_sign():
    """0.0 reads as 0 and -0.0 as -0 (equal, and hashed alike, but shown differently)."""
    for cell_type in TYPES[:2]:
        assert str(normalize(0.0, cell_type)[0]) == "0"
        assert str(normalize(-0.0, cell_type)[0]) == "-0"
    assert math.copysign(1, float(normalize(0.0, CellType("count"))[0])) == 1


# --- a table's input cells, any raw values ---------------------------------------------------------------------------

RAWS = [
    0.0,
    -0.0,
    1.0,
    5.0,
    17.0,
    999.0,
    1000.0,
    123456.0,
    999999999.0,
    1e9,
    5e10,
    2.5,
    0.0001,
    12.3456,
    12.34567,
    -3.0,
    -0.5,
    math.nan,
    math.inf,
    -math.inf,
    0,
    7,
    -2,
    10**12,
    True,
    False,
    "",
    None,
    " 0",
    "１２",
    "1,234",
    "无",
    "-",
    ".0",
    "5",
    "5.0",
    "  ",
    "abc",
    Decimal("3"),
    Decimal("-0"),
    dt.date(2025, 1, 1),
]


def _page_with_raws(year: int, rng: random.Random):
    """The blank template's page with each table's input cells holding raw values (mostly whole floats, some of
    RAWS), some rows cut short and maybe the last rows gone (cells past the end of the sheet are blank)."""
    form = form_for_year(year)
    page = read_page(template(year))
    for table in form.tables:
        grid = [list(row) for row in page.sheet(table.sheet)]
        height = max(len(grid), max(c.row for c in table.cells) + 2)
        width = max(c.col for c in table.cells) + 2
        grid += [[] for _ in range(height - len(grid))]
        grid = [row + [""] * (width - len(row)) for row in grid]
        for cell in table.cells:
            if cell.is_input:
                grid[cell.row][cell.col] = (
                    rng.choice(RAWS) if rng.random() < 0.3 else float(rng.choice([0, 0, 0, 1, 2, 3, 10, 250, 1001]))
                )
        for _ in range(rng.randint(0, 3)):
            r = rng.randrange(height)
            grid[r] = grid[r][: rng.randrange(width)]
        if rng.random() < 0.2:
            grid = grid[: rng.randrange(height)]
        page.grids[table.sheet] = grid
    return page


def _read_values(page) -> tuple:
    ret = assemble(page)
    return [(k, exact(v)) for k, v in ret.values.items()], problems(ret.read_problems), sorted(ret.no_items)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32), year=st.sampled_from(form_years()))
def test_input_cells_read_the_same_by_the_short_way_and_the_general_loop(seed, year):
    """Any raw values (negative zero, NaN, infinities, huge, fractional, texts, booleans, dates, Decimals) in an
    untouched table, rows cut short, far rows past the sheet's end: the short way (twice, the second time through its
    remembered numbers) reads the values and problems the general loop reads."""
    page = _page_with_raws(year, random.Random(seed))
    with short_way_counted() as taken:
        short = [_read_values(page) for _ in range(2)]
    with general_path():
        general = _read_values(page)
    assert short[0] == general and short[1] == general
    assert any(taken)  # the template's tables were read the short way


def test_negative_zero_is_not_remembered_as_zero():
    """0.0 and -0.0 alternating in the cells of one row keep their own signs through the remembered numbers."""
    form = form_for_year(2025)
    table = form.tables[1]
    row = next(
        r for r in sorted({c.row for c in table.cells}) if sum(c.row == r and c.is_input for c in table.cells) > 3
    )
    cells = [c for c in table.cells if c.row == row and c.is_input and not c.type.signed][:4]
    assert len(cells) == 4
    page = read_page(template(2025))
    grid = [list(line) for line in page.sheet(table.sheet)]
    for cell, raw in zip(cells, (0.0, -0.0, 0.0, -0.0), strict=True):
        grid[cell.row][cell.col] = raw
    page.grids[table.sheet] = grid
    with short_way_counted() as taken:
        for _ in range(2):
            values = assemble(page).values
            assert [str(values[c.key]) for c in cells] == ["0", "-0", "0", "-0"]
    assert all(taken)


# --- whole workbooks -------------------------------------------------------------------------------------------------

# The edits (written for the 2025 form), and unedited returns of every form.
CASES = [(kind, 2025, seed) for seed, kind in enumerate(EDITS)] + [
    ("none", year, seed) for year in form_years() for seed in range(100, 103)
]


@pytest.mark.parametrize(("kind", "year", "seed"), CASES)
def test_workbooks_read_the_same_by_the_short_way_and_the_general_loop(kind, year, seed):
    """A filled return, edited the ways townships edit (texts, formulas, error values, typed totals, edited labels,
    inserted rows, merged or hidden cells, negative zeros, fractions, ticks, removed protection, blank tables), reads
    and checks the same by the short way (twice) as by the general loop; and its checks are those of the rules' tree
    walk."""
    rng = random.Random(seed)
    form = form_for_year(year)
    ret = random_return(
        form,
        year,
        rng,
        broken=rng.choice([0, 0, 1, 4]),
        blanks=rng.choice([0, 0, 3, 40]),
        texts=rng.choice([0, 0, 2]),
        explain=rng.random() < 0.5,
    )
    path = write_xlsx(ret, scratch(f"values-{kind}-{year}-{seed}.xlsx"))
    if kind != "none":
        wb = openpyxl.load_workbook(path)
        edit(wb, form, kind, rng)
        wb.save(path)
    with short_way_counted() as taken:
        short = [snapshot(assemble(read_page(path))) for _ in range(2)]
    with general_path():
        ret = assemble(read_page(path))
        general = snapshot(ret)
    assert short[0] == general and short[1] == general
    # what was read checks the same by the compiled rules (in the snapshot) as by walking each rule's tree
    assert problems(check_return(ret, reference=True)) == general[4]
    if kind in ("none", "negative_zero", "fractions", "texts", "no_items", "blank_table"):
        assert all(taken), kind  # edits that leave every table as the template wrote it
