"""Where a cell of a sheet part is, one definition for the reader and the annotated copies (issue 22's leftovers):
references in either letter case and with leading zeros read as LibreOffice and openpyxl read them; a reference that
names no cell ("$D$6", "D0"), and a cell without a reference counted from one, are read by nobody and counted as
STRAY-CELLS; rows are counted from row elements; an annotated copy shows exactly the cells the reader read. Also: a
malformed cell is one finding (MALFORMED-CELL) in the right words, and the copy's 问题清单 says that the stray cells it
cut are cut."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from tests.test_xml_spellings import KEY, _codes, _place, _replace_cell, _return
from xltool import checking
from xltool.codes import Code
from xltool.formats import _sheetxml
from xltool.formats._sheetxml import parse_sheet, place, row_of
from xltool.formats.annotated import bounded_workbook
from xltool.forms import col_letter
from xltool.reading import read
from xltool.values import Invalid

WINDOW = (1000, 64)


def _sheet(rows: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        f'main"><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


def _cells(rows: str) -> tuple[dict[str, str], int]:
    """What the reader reads from a sheet of `rows`: {A1: value text}, and how many cells it counted as stray."""
    facts = parse_sheet(_sheet(rows), WINDOW)
    found = {f"{col_letter(c)}{r + 1}": t for (r, c, _, _), t in zip(facts.cells.slots, facts.cells.texts, strict=True)}
    return found, facts.stray


# What LibreOffice 7 does with each (tests/test_cell_places.py::test_libreoffice_reads_no_cell_where_xltool_reads_another
# checks it against soffice): the cells it places, and the values it leaves out or places where openpyxl does not.
CASES = {
    "lower": ('<row r="6"><c r="d6"><v>11</v></c></row>', {"D6": "11"}, 0),
    "mixed_case": ('<row r="6"><c r="aB6"><v>14</v></c></row>', {"AB6": "14"}, 0),
    "leading_zero": ('<row r="6"><c r="D06"><v>15</v></c></row>', {"D6": "15"}, 0),
    "lower_then_next": ('<row r="6"><c r="e6"><v>37</v></c><c><v>38</v></c></row>', {"E6": "37", "F6": "38"}, 0),
    "dollar": ('<row r="6"><c r="$D$6"><v>12</v></c></row>', {}, 1),
    "dollar_col": ('<row r="6"><c r="$D6"><v>13</v></c></row>', {}, 1),
    "space": ('<row r="6"><c r=" D6"><v>16</v></c></row>', {}, 1),
    "row_zero_ref": ('<row r="6"><c r="D0"><v>27</v></c></row>', {}, 1),
    "full_width": ('<row r="6"><c r="Ｄ6"><v>24</v></c></row>', {}, 1),
    # after a reference that names no cell, LibreOffice puts the next cell in B (over what B holds), openpyxl refuses
    # the file
    "after_bad_ref": (
        '<row r="6"><c r="E6"><v>1</v></c><c r="$D$6"><v>19</v></c><c><v>20</v></c></row>',
        {"E6": "1"},
        2,
    ),
    "row_leading_zero": (
        '<row r="3"><c><v>1</v></c></row><row r="06"><c><v>32</v></c></row>',
        {"A3": "1", "A6": "32"},
        0,
    ),
    "row_space": ('<row r=" 6"><c><v>51</v></c></row>', {"A6": "51"}, 0),
    # a cell's own reference never moves the row count: the next row is 7, not 10
    "rows_counted_by_rows": (
        '<row r="6"><c r="D9"><v>1</v></c></row><row><c><v>43</v></c></row>',
        {"D9": "1", "A7": "43"},
        0,
    ),
    # LibreOffice drops a row numbered "x" (openpyxl refuses the file), and counts the next from nowhere
    "bad_row": (
        '<row r="2"><c><v>1</v></c></row><row r="x"><c><v>2</v></c></row><row><c><v>42</v></c></row>',
        {"A2": "1"},
        2,
    ),
    "bad_row_own_refs": ('<row r="x"><c r="C3"><v>41</v></c></row>', {"C3": "41"}, 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_reader_places_cells_as_libreoffice_does_or_reads_none(case):
    """Letter case and leading zeros are one cell; "$", spaces, row 0 and cells counted from a place nobody knows are
    not read but counted as stray; rows are counted from row elements."""
    rows, expected, stray = CASES[case]
    assert _cells(rows) == (expected, stray)


def test_one_definition_of_a_reference():
    """place() is the reader's and the annotated copy's: either case, leading zeros, nothing else."""
    assert place("d6") == place("D6") == place("D06") == (5, 3, "D6")
    assert place("xfd1048576") == (1_048_575, 16_383, "XFD1048576")
    assert [place(r) for r in ("$D$6", "D0", "D6 ", "XFE1", "D1048577", "Ｄ6", "6", "D" + "9" * 5000)] == [None] * 8
    assert row_of("06", 0) == 5 and row_of(None, 5) == 6 and row_of("x", 5) < 0 and row_of(None, row_of("0", 1)) < 0


def test_far_cells_do_not_fill_the_memo_of_places():
    """A sheet of 300,000 distinct far cells leaves the memo of places as it was: the cells of later returns are
    still remembered (the memo holds places near A1 only)."""
    rows = "".join(f'<row r="{r}"><c r="XFD{r}"/></row>' for r in range(2000, 302_000))
    before = len(_sheetxml._PLACES)
    assert _cells(rows) == ({}, 300_000)
    assert len(_sheetxml._PLACES) == before
    place("C7")
    assert "C7" in _sheetxml._PLACES


@pytest.mark.libreoffice
def test_libreoffice_reads_no_cell_where_xltool_reads_another(tmp_path):
    """The oracle: every case converted by soffice to CSV; each value xltool reads is where LibreOffice shows it,
    and each value LibreOffice shows that xltool does not read is counted as stray."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    books = [_book(tmp_path / f"{name}.xlsx", rows) for name, (rows, _, _) in CASES.items()]
    profile = f"-env:UserInstallation=file://{tmp_path}/profile"
    subprocess.run(
        [soffice, profile, "--headless", "--convert-to", "csv", "--outdir", str(tmp_path / "csv"), *map(str, books)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for name, (rows, _, _) in CASES.items():
        with open(tmp_path / "csv" / f"{name}.csv", encoding="utf-8") as fh:
            shown = {
                f"{col_letter(c)}{r + 1}": v for r, line in enumerate(csv.reader(fh)) for c, v in enumerate(line) if v
            }
        read_here, stray = _cells(rows)
        assert read_here.items() <= shown.items(), name
        assert len(shown.items() - read_here.items()) <= stray, name


def _book(path: Path, rows: str) -> Path:
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            f'2006/main" xmlns:r="{rels}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        z.writestr("xl/worksheets/sheet1.xml", _sheet(rows))
    return path


# --- a return read and annotated ---------------------------------------------------------------------------------------


def test_a_lowercase_reference_in_a_return_is_the_cell(tmp_path):
    """<c r="d6"> in a table sheet is D6: its value read, no STRAY-CELLS."""
    ret = read(_return(tmp_path, _replace_cell(b'<c r="d6" s="13"><v>11</v></c>')))
    assert ret.values[KEY] == Decimal(11)
    assert Code.STRAY_CELLS not in _codes(ret)


def _annotated(tmp_path: Path, path: Path) -> tuple[openpyxl.Workbook, checking.FileReport]:
    report = checking.check_files([path], workers=0)[0]
    ((_, written, reason),) = list(checking.annotate([report], tmp_path / "out", workers=0))
    assert written is not None, reason
    return openpyxl.load_workbook(written), report


@pytest.mark.parametrize(
    "cell",
    [
        b'<c r="d6" s="13"><v>11</v></c>',  # the cell, as the reader reads it
        b'<c r="$D$6" s="13"><v>999</v></c>',  # no cell: openpyxl would refuse the whole copy
        b'<c r="C6" s="13"/><c r="$Z$9" s="13"><v>998</v></c><c s="13"><v>997</v></c>',  # and one counted from it
        b'<c r="D6" s="13"><v>3</v></c></row><row r="6"><c r="E0"/><c s="13"><v>996</v></c>',
        b'</row><row r="5000" hidden="1"><c r="D6" s="13"><v>4</v></c>',  # D6 held by a far row
        b'</row><row r="x" hidden="1"><c r="D6" s="13"><v>4</v></c>',  # by a row of no number
    ],
)
def test_the_annotated_copy_shows_the_value_the_reader_read(tmp_path, cell):
    """However D6 is spelled, the copy's D6 holds what the reader read (blank where it read nothing), and no value
    the reader left out appears anywhere in the copy."""
    path = _return(tmp_path, _replace_cell(cell))
    ret = read(path)
    wb, _ = _annotated(tmp_path, path)
    sheet = _place()[0]
    shown = wb[sheet]["D6"].value
    assert (Decimal(shown) if shown is not None else None) == ret.values.get(KEY)
    values = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    assert not {996, 997, 998, 999} & values
    assert not any(wb[sheet].row_dimensions[r].hidden for r in range(1, 40))  # no far row's attributes moved up


def test_a_row_of_no_number_hides_nothing_in_the_annotated_copy(tmp_path):
    """A row numbered "x" with hidden="1" holding D7 by its own reference: the copy has D7 (the reader reads it) and
    no hidden row, where openpyxl would have put the attribute on the row after row 6."""
    rows = '<row r="6"><c r="D6"><v>1</v></c></row><row r="x" hidden="1"><c r="D7"><v>2</v></c></row><row r="8"/>'
    assert _cells(rows) == ({"D6": "1", "D7": "2"}, 0)
    copy = bounded_workbook(_book(tmp_path / "x.xlsx", rows).read_bytes())
    ws = openpyxl.load_workbook(io.BytesIO(copy)).active
    assert (ws["D6"].value, ws["D7"].value) == (1, 2)
    assert not any(d.hidden for d in ws.row_dimensions.values())


def test_a_row_outside_sheet_data_is_not_in_the_annotated_copy(tmp_path):
    """openpyxl reads a <row> wherever it stands; one hidden in extLst is not read by the reader, so the copy cuts
    it rather than show its value in D6."""

    def edit(parts, part):
        hidden = b'<extLst><ext uri="x"><row r="6"><c r="D6"><v>999</v></c></row></ext></extLst>'
        parts[part] = parts[part].replace(b"</worksheet>", hidden + b"</worksheet>")

    path = _return(tmp_path, edit)
    ret = read(path)
    wb, _ = _annotated(tmp_path, path)
    assert wb[_place()[0]]["D6"].value == int(ret.values[KEY]) != 999


def test_the_problem_list_says_stray_cells_were_cut_from_the_copy(tmp_path):
    """The reading asks for stray cells to be deleted; the annotated copy, which has cut them, says so in its
    问题清单 (and that the original still holds them) instead of asking."""
    path = _return(tmp_path, _replace_cell(b'<c r="{where}" s="13"><v>3</v></c><c r="$Z$9"><v>9</v></c>'))
    wb, report = _annotated(tmp_path, path)
    (stray,) = [p for p in report.problems if p.code == Code.STRAY_CELLS]
    assert stray.message.endswith("请删除") and stray.cell is None  # "$Z$9" is no cell to point at
    listed = [row[2] for row in wb["问题清单"].iter_rows(values_only=True) if row[3] and "STRAY-CELLS" in str(row[3])]
    assert len(listed) == 1 and "已从标注副本中删除" in listed[0] and "原文件未改动" in listed[0]


# --- malformed cells ---------------------------------------------------------------------------------------------------


def test_a_malformed_cell_is_one_finding(tmp_path):
    """<v>5_0</v> in an input cell: MALFORMED-CELL once, no INVALID-VALUE calling it an error value; the rules that
    read it cannot be judged."""
    path = _return(tmp_path, _replace_cell(b'<c r="{where}" s="13"><v>5_0</v></c>'))
    report = checking.check_files([path], workers=0)[0]
    at_cell = [
        p for p in report.problems if p.cell == _place()[1] and p.code in (Code.MALFORMED_CELL, Code.INVALID_VALUE)
    ]
    assert [p.code for p in at_cell] == [Code.MALFORMED_CELL]
    assert not any("错误值" in p.message for p in report.problems)
    assert isinstance(read(path).values[KEY], Invalid)


def test_many_malformed_cells_each_stay_malformed(tmp_path):
    """Sixty malformed cells before the input cell (a careless writer's every number): the input cell is still a
    malformed cell, not an error value, and the finding counts them all."""
    junk = b"".join(
        b'<c r="%s%d"><v>1,0</v></c>' % (col_letter(c).encode(), r) for r in (1, 2, 3) for c in range(30, 50)
    )

    def edit(parts, part):
        _replace_cell(b'<c r="{where}" s="13"><v>5_0</v></c>')(parts, part)
        parts[part] = parts[part].replace(b"</row>", junk + b"</row>", 1)  # within the first row, before D6

    ret = read(_return(tmp_path, edit))
    assert ret.values[KEY].code == Code.MALFORMED_CELL
    (found,) = [p for p in ret.read_problems if p.code == Code.MALFORMED_CELL]
    assert found.values["count"] == 61
