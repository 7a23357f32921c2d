"""Hidden content in a return is reported: a table's sheet hidden behind a visible copy, copies named like a table's
sheet, two sheets of one name, a cell written twice (read as LibreOffice reads it)."""

from __future__ import annotations

import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from tests.corpus import build
from xltool.codes import Code
from xltool.forms import a1, form_for_year
from xltool.reading import read
from xltool.sources import ReadError

KEY = "apply.new.natural_person"  # typed 11 by build.XLS_VALUES


def _place(key: str = KEY) -> tuple[str, int, int]:
    form = form_for_year(2025)
    cell = form.cell[key]
    return form.table(cell.table).sheet, cell.row, cell.col


def _codes(ret) -> list[tuple[str, str | None]]:
    return [(str(p.code), p.sheet) for p in ret.read_problems]


def _hidden_behind_copy(tmp_path: Path, copy_name: str, state: str = "veryHidden") -> Path:
    """The real Table 三 sheet hidden (`state`) behind a visible copy named `copy_name` holding another number."""
    sheet, row, col = _place()
    path = build.filled_template(tmp_path / "hidden.xlsx", build.XLS_VALUES)
    wb = openpyxl.load_workbook(path)
    real = wb[sheet]
    copy = wb.copy_worksheet(real)
    copy.title = copy_name
    copy.cell(row=row + 1, column=col + 1, value=99)
    wb.move_sheet(copy, offset=wb.index(real) - wb.index(copy))
    real.sheet_state = state
    wb.save(path)
    return path


@pytest.mark.parametrize("state", ["veryHidden", "hidden"])
def test_real_sheet_hidden_behind_a_copy_named_alike_is_reported(tmp_path, state):
    """The real 三、依申请公开 hidden behind a visible copy whose name differs only by a space: TABLE-SHEET-HIDDEN for
    the real one, SHEET-COPY for the copy (not a mere SHEET-ADDED), both errors."""
    sheet = _place()[0]
    ret = read(_hidden_behind_copy(tmp_path, sheet + " ", state))
    codes = _codes(ret)
    assert ("TABLE-SHEET-HIDDEN", sheet) in codes
    assert ("SHEET-COPY", sheet + " ") in codes
    assert not [c for c in codes if c[0] == "SHEET-ADDED"]
    assert Code.TABLE_SHEET_HIDDEN.severity == "error" and Code.SHEET_COPY.severity == "error"


def test_copy_named_with_full_width_and_invisible_characters_is_a_copy(tmp_path):
    """A copy whose name differs by a zero-width space and letter width is still a copy of the table's sheet."""
    sheet = _place()[0]
    name = sheet.replace("三", "三\u200b").replace("、", "、 ")
    codes = _codes(read(_hidden_behind_copy(tmp_path, name)))
    assert ("SHEET-COPY", name) in codes and ("TABLE-SHEET-HIDDEN", sheet) in codes


def test_a_visible_template_gives_no_hidden_sheet_finding(tmp_path):
    """A filled template as written (only _meta hidden) gives neither TABLE-SHEET-HIDDEN nor SHEET-COPY."""
    ret = read(build.filled_template(tmp_path / "plain.xlsx", build.XLS_VALUES))
    assert not {c for c, _ in _codes(ret)} & {"TABLE-SHEET-HIDDEN", "SHEET-COPY", "DUPLICATE-CELLS"}


def _rezip(path: Path, edit) -> Path:
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    edit(parts)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_two_sheets_of_one_name_are_refused(tmp_path):
    """The copy renamed exactly as the real (veryHidden) sheet in workbook.xml: DUPLICATE-SHEETS, not a silent pick."""
    sheet = _place()[0]
    path = _hidden_behind_copy(tmp_path, "副本")

    def rename(parts):
        parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace("副本".encode(), sheet.encode())

    with pytest.raises(ReadError) as caught:
        read(_rezip(path, rename))
    assert caught.value.code == Code.DUPLICATE_SHEETS


def _sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    names = re.findall(rb'<sheet [^>]*name="([^"]+)"[^>]*r:id="(rId\d+)"', parts["xl/workbook.xml"])
    rid = next(r for n, r in names if n.decode() == sheet)
    target = re.search(
        rb'Id="' + rid + rb'"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="' + rid + rb'"',
        parts["xl/_rels/workbook.xml.rels"],
    )
    return "xl/" + (target.group(1) or target.group(2)).decode().lstrip("/").removeprefix("xl/")


def _duplicate_cell(tmp_path: Path, second: bytes, first_wins: bool = False) -> tuple[Path, str]:
    """The input cell of KEY written twice in the sheet XML: its own cell (11), then a copy holding `second`."""
    sheet, row, col = _place()
    where = a1(row, col)
    path = build.filled_template(tmp_path / "dup.xlsx", build.XLS_VALUES)

    def twice(parts):
        part = _sheet_part(parts, sheet)
        xml = parts[part]
        cell = re.search(rb'<c r="' + where.encode() + rb'"[^>]*>.*?</c>', xml).group(0)
        other = re.sub(rb"<v>[^<]*</v>", b"<v>" + second + b"</v>", cell)
        parts[part] = xml.replace(cell, other + cell if first_wins else cell + other)

    return _rezip(path, twice), where


@pytest.mark.parametrize("first_wins", [False, True])
def test_a_cell_written_twice_is_reported_and_the_last_one_read(tmp_path, first_wins):
    """<c r="D6"> twice: DUPLICATE-CELLS at D6, and the value read is the last one written (as LibreOffice,
    Gnumeric, openpyxl and calamine read it)."""
    path, where = _duplicate_cell(tmp_path, b"999", first_wins)
    ret = read(path)
    assert ("DUPLICATE-CELLS", _place()[0]) in _codes(ret)
    assert next(p.cell for p in ret.read_problems if p.code == Code.DUPLICATE_CELLS) == where
    expected = Decimal(999) if not first_wins else Decimal(11)
    assert ret.values[KEY] == expected


@pytest.mark.libreoffice
def test_libreoffice_reads_the_last_of_a_cell_written_twice(tmp_path):
    """What LibreOffice shows for a cell written twice is what xltool reads (the last one)."""
    if shutil.which("soffice") is None:
        pytest.skip("soffice (LibreOffice) not on PATH")
    path, where = _duplicate_cell(tmp_path, b"999")
    ods = build.soffice_convert(path, tmp_path, "ods")
    sheet = _place()[0]
    ret = read(ods)
    assert ret.values[KEY] == read(path).values[KEY] == Decimal(999), (sheet, where)


def test_a_sheet_with_cells_written_twice_is_parsed_every_time(monkeypatch):
    """A sheet with a cell written twice is never taken from a learnt skeleton: however often its layout is met, the
    parse names the duplicate cell and the last value is read."""
    from xltool.formats import _bounded
    from xltool.memo import Memo

    # skeletons learnt by earlier tests in this process may fill the table: start from empty memories
    monkeypatch.setattr(_bounded, "_KNOWN", {})
    monkeypatch.setattr(_bounded, "_SEEN", Memo(_bounded.MAX_SKELETONS * 8))
    monkeypatch.setattr(_bounded, "_TRIED", Memo(_bounded.MAX_SKELETONS * 8))

    xml = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        b'<c r="A1"><v>1</v></c><c r="A1"><v>2</v></c></row></sheetData></worksheet>'
    )
    found = [_bounded.scan_sheet(xml.replace(b">2<", b">%d<" % i), _bounded.WINDOW) for i in range(2, 6)]
    assert not any(_bounded.is_learnt(f.cells.slots) for f in found)
    assert [f.duplicates for f in found] == [["A1"]] * 4
    assert [f.cells.texts[-1] for f in found] == ["2", "3", "4", "5"]
