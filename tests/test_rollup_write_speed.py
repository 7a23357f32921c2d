"""The quicker ways the roll-up is written give exactly what the plain ways give: a Dense run as one %-format against
cell-by-cell XML, a figure summed in C against _linear_value, lines_needed's shortcut against its formula, spooled
records read by size, file names without pathlib. (Correctness only: no timings here.)"""

from __future__ import annotations

import io
import math
import pickle
import random
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter

from xltool import batch
from xltool.model import Invalid
from xltool.rollup import Inspected
from xltool.rollup.outputs import file_name
from xltool.template import review, stream

_EXACT = 10**15


class _Table:
    """An XlsxWriter shared-string table as stream.Strings reads it."""

    def __init__(self) -> None:
        self.string_table: dict[str, int] = {"已汇总": 0}
        self.unique_count = 1
        self.count = 1


def _reference_rows(s: stream.Stream, strings: stream.Strings) -> list[str]:
    """rows_xml as it was written before the %-format: every cell on its own."""
    letters: dict[int, str] = {}

    def letter(col: int) -> str:
        if col not in letters:
            letters[col] = stream.xl_col_to_name(col)
        return letters[col]

    def cell(parts: list, col: int, r: int, value, fmt) -> None:
        xf = fmt._get_xf_index()
        if type(value) is int and -_EXACT < value < _EXACT:
            parts.append(f'<c r="{letter(col)}{r}" s="{xf}"><v>{value}</v></c>')
            return
        if type(value) is str and value:
            index = strings.index(value if len(value) <= stream.CELL_LIMIT else stream._clip(value))
            parts.append(f'<c r="{letter(col)}{r}" s="{xf}" t="s"><v>{index}</v></c>')
            return
        value = stream.cell_value(value)
        if value is None or value == "":
            return
        if isinstance(value, (int, float)):
            parts.append(f'<c r="{letter(col)}{r}" s="{xf}"><v>{stream._number(value)}</v></c>')
        else:
            index = strings.index(stream._clip(str(value)))
            parts.append(f'<c r="{letter(col)}{r}" s="{xf}" t="s"><v>{index}</v></c>')

    out = []
    r = s.first
    for row in s.rows():
        r += 1
        parts: list[str] = []
        for col, value, fmt in row[1]:
            cell(parts, col, r, value, fmt)
        for dense in row[2:]:
            for k, value in enumerate(dense.values):
                if value is None:
                    continue
                fmt = dense.other if isinstance(value, Invalid) else dense.formats[k]
                cell(parts, dense.first + k, r, value, fmt)
        height = row[0]
        if height is not None:
            pixels = int(height * 4.0 / 3.0 + 0.5)
            out.append(f'<row r="{r}" ht="{pixels * 0.75:.16g}" customHeight="1">{"".join(parts)}</row>')
        else:
            out.append(f'<row r="{r}">{"".join(parts)}</row>')
    return out


ODD_VALUES = [
    None,
    0,
    7,
    -3,
    _EXACT - 1,
    -_EXACT + 1,
    _EXACT,
    -_EXACT,
    10**20,
    Decimal("2.5000"),
    Decimal("12"),
    Decimal("-0.0001"),
    Invalid("十二", "文字"),
    Invalid("", "空"),
    Invalid("  a&b<c>_x0041_ ", "文字"),
    True,
    False,
    1.5,
    "文字",
    "",
]


def _rows(n: int, width: int, rng: random.Random) -> list[tuple]:
    rows = []
    for i in range(n):
        kind = i % 4
        if kind == 0:  # counts only
            values = tuple(rng.randint(0, 30) for _ in range(width))
        elif kind == 1:  # counts and blanks
            values = tuple(rng.choice([None, None, rng.randint(-5, 999)]) for _ in range(width))
        elif kind == 2:  # anything
            values = tuple(rng.choice(ODD_VALUES) for _ in range(width))
        else:  # a short row, mostly blank
            values = tuple(rng.choice([None, 1, Decimal("0.5")]) for _ in range(rng.randint(0, width)))
        rows.append(values)
    rows.append((None,) * width)
    rows.append(tuple(range(width)))
    return rows


def test_dense_runs_are_written_as_cell_by_cell(tmp_path):
    """rows_xml's %-format of a Dense run gives the XML and shared strings of writing each cell on its own, for
    counts, blanks, amounts, huge numbers, flags, unusable entries, text and short rows."""
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    count, amount = wb.add_format({"num_format": "0"}), wb.add_format({"num_format": "0.0000"})
    text, code = wb.add_format({"text_wrap": True}), wb.add_format({"num_format": "@"})
    width = 40
    formats = [amount if k % 7 == 3 else count for k in range(width)]
    rows = _rows(200, width, random.Random(5))

    def produce():
        for i, values in enumerate(rows):
            lead = [(0, f"单位{i % 9}", text), (1, i if i % 3 else Decimal(i) / 4, code), (2, "", text)]
            yield (None if i % 5 else 14.5 * (1 + i % 3) + 4), lead, stream.Dense(3, values, formats, text)

    results = []
    for make in (stream.rows_xml, _reference_rows):
        spool = io.BytesIO()
        strings = stream.Strings(_Table(), spool)
        xml = list(make(stream.Stream(None, 4, len(rows), 2 + width, produce), strings))
        results.append((xml, spool.getvalue(), strings.count, strings.unique))
    assert results[0] == results[1]
    wb.close()


def test_a_dense_run_longer_than_its_formats_is_refused(tmp_path):
    """A run with more values than formats is an error, not cells silently dropped."""
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    fmt = wb.add_format({"num_format": "0"})
    rows = [
        (None, [], stream.Dense(0, (1, 2), [fmt, fmt], fmt)),
        (None, [], stream.Dense(0, (1, 2, 3), [fmt, fmt], fmt)),
    ]
    s = stream.Stream(None, 0, 2, 2, lambda: iter(rows))
    with pytest.raises(stream.StreamError):
        list(stream.rows_xml(s, stream.Strings(_Table(), io.BytesIO())))
    wb.close()


def test_figures_summed_in_c_equal_linear_value():
    """_linear_function gives _linear_value's number and type (int, Decimal, None) for every kind of row."""
    rng = random.Random(11)
    figures = [
        (Decimal(0), [(2, 1)]),
        (Decimal(0), [(0, 1), (3, 1), (5, 1), (9, 1)]),
        (Decimal(0), [(1, 1), (4, -1)]),
        (Decimal(3), [(1, 1), (2, 1)]),
        (Decimal(0), [(6, Decimal("0.5")), (7, 1)]),
        (Decimal(0), []),
    ]
    choices = [None, 0, 1, 17, -4, 10**18, Decimal("1.25"), Decimal("3"), Invalid("x", "文字"), True]
    rows = [tuple(rng.choice(choices) for _ in range(rng.choice([10, 10, 10, 4, 0]))) for _ in range(3000)]
    for figure in figures:
        fast = review.overview._linear_function(figure)
        for row in rows:
            expected = review.overview._linear_value(figure, row)
            got = fast(row)
            assert (got, type(got)) == (expected, type(expected)), (figure, row)


@pytest.mark.parametrize("width", [1, 2.5, 8, 9, 12, 16, 18, 34])
def test_lines_needed_shortcut_matches_its_formula(width):
    """lines_needed's shortcut for short one-line text counts what the formula counts."""

    def formula(text, width):
        room = max(width - 1.5, 1.0)
        return sum(max(1, math.ceil(review.text_width(part) / room)) for part in str(text).split("\n"))

    texts = [
        "",
        "a",
        "ab",
        "已汇总",
        "含错误汇总",
        "unit000001.xlsx",
        "a\nb",
        "\n",
        "某某县人民政府办公室（代码 9）",
        12,
        None,
    ]
    texts += ["x" * n for n in range(40)] + ["汉" * n for n in range(20)] + ["ａ" * n for n in range(20)]
    for text in texts:
        assert review.lines_needed(text, width) == formula(text, width), (text, width)


@pytest.mark.parametrize("pread", [True, False])
def test_spooled_records_read_back_by_size_between_writes(pread, monkeypatch):
    """Each record comes back whole, whatever its size and however reads and writes alternate (with os.pread, and
    with seek and read as on Windows)."""
    if not pread:
        monkeypatch.setattr(batch, "_PREAD", None)
    spool = batch.Spool()
    records = [{"row": tuple(range(n)), "path": "p" * (n % 50), "big": b"x" * (n * 997)} for n in range(60)]
    numbers = []
    for i, record in enumerate(records):
        numbers.append(spool.add(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)))
        if i % 7 == 0:
            assert spool.load(numbers[i // 2]) == records[i // 2]
    for i in [59, 0, 30, 30, 1, 58, 2]:
        assert spool.load(numbers[i]) == records[i]
    assert len(spool) == len(records)
    spool.file.close()


@pytest.mark.parametrize(
    "path", ["a.xlsx", "folder/单位 1.xlsx", "/abs/dir/x.y.xlsx", "dir/", "dir/.", ".", "./a.xlsx", "a//b.xlsx", ""]
)
def test_file_names_are_pathlib_names(path):
    """The roll-up's file names are Path(path).name for any path string."""
    assert file_name(Inspected(path)) == Path(path).name


def _reference_sum(form, members):
    """The roll-up's sums as they were written before columns were summed in C: row by row, value by value."""
    whole = [0] * len(form.inputs)
    exact = [Decimal(0)] * len(form.inputs)
    no_items = {t.id for t in form.tables} if members else set()
    for m in members:
        no_items &= set(m.info.no_items)
        for i, v in enumerate(m.info.row):
            if type(v) is int:
                whole[i] += v
            elif isinstance(v, Decimal):
                exact[i] += v
    return {c.key: exact[i] + whole[i] for i, c in enumerate(form.inputs)}, no_items


def test_sums_by_column_equal_sums_row_by_row():
    """sum_members gives the exact totals (and 本年度无此类事项 tables) of adding every row value by value, with blanks,
    amounts, unusable entries, flags, huge numbers and rows of another length among the members."""
    from xltool.forms import form_by_id
    from xltool.outcomes import MemberStatus
    from xltool.rollup import Member
    from xltool.rollup.summing import sum_members

    form = form_by_id("gov-info-disclosure-2021")
    n = len(form.inputs)
    rng = random.Random(3)
    choices = [None, 0, 3, 250, -2, 10**30, Decimal("0.0001"), Decimal("12.5"), Invalid("无", "文字"), True]
    members = []
    for k in range(700):
        info = Inspected(f"u{k}.xlsx")
        if k % 5 == 0:
            info.row = tuple(rng.choice(choices) for _ in range(n))
        elif k % 97 == 1:
            info.row = tuple(rng.choice(choices) for _ in range(rng.randint(0, n - 1)))
        else:
            info.row = tuple(rng.choice([None, 0, 1, 2, 40]) for _ in range(n))
        info.no_items = sorted(rng.sample(["active", "apply", "appeal"], k=rng.randint(2, 3)))
        members.append(Member(info, MemberStatus.MERGED))
    for group in (members, members[:1], members[1:3], []):
        got, expected = sum_members(form, group), _reference_sum(form, group)
        assert got == expected
        assert [(type(v), str(v)) for v in got[0].values()] == [(type(v), str(v)) for v in expected[0].values()]
