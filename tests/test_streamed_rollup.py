"""Large roll-ups with flat memory: merge spools each file's record (only a small index stays in memory), the
per-unit review rows are streamed into the xlsx zip after XlsxWriter closes (shared strings, no zip64), and the
worker pool sends files in chunks without weakening the per-file limits."""

from __future__ import annotations

import copy
import hashlib
import pickle
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests.fake_tasks import behave
from tests.test_merge import sheet_rows
from xltool import layout, workers
from xltool.codes import Code
from xltool.model import Unit
from xltool.outcomes import MemberStatus
from xltool.reading import read
from xltool.rollup import Inspected, Member, inspect_all, merge
from xltool.template import review, stream

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "examples" / "county-2025"
STREAMED = [
    layout.OVERVIEW_SHEET,
    layout.DETAIL_SHEET,
    layout.SOURCE_SHEET,
    layout.REJECTED_SHEET,
    layout.NOTES_SHEET,
    layout.ROSTER_SHEET,
]


def county_rollup():
    from xltool.roster import read_roster

    return merge([COUNTY], Unit(name="示例县人民政府办公室"), roster=read_roster(COUNTY / "units.csv"), workers=0)


def many_units(n: int):
    """The example county's first return as n distinct units (copies of its index entry; rows stay in the spool)."""
    roll = merge([COUNTY / "01-城关镇.xlsx"], Unit(name="大市"), workers=0)
    base = roll.members[0].info
    members = []
    for i in range(n):
        info = copy.copy(base)
        info.unit, info.path = dict(base.unit, name=f"单位{i} ", code=f"9{i:017d}"), f"u{i}.xlsx"
        members.append(Member(info, MemberStatus.MERGED))
    roll.members = members
    return roll


def cell_facts(path: Path) -> dict:
    """Every sheet as openpyxl sees it: values, styles that matter, row heights, widths, merges, panes, filters."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None or c.has_style:
                    cells[c.coordinate] = (
                        c.value,
                        c.number_format,
                        c.font.b,
                        c.font.sz,
                        c.fill.fgColor.rgb if c.fill and c.fill.fill_type else None,
                        c.alignment.wrap_text,
                        c.border.left.style,
                        c.protection.locked,
                    )
        heights = {r: d.height for r, d in ws.row_dimensions.items() if d.height is not None}
        hidden = {r for r, d in ws.row_dimensions.items() if d.hidden}
        widths = {k: d.width for k, d in ws.column_dimensions.items()}
        out[ws.title] = (
            cells,
            heights,
            hidden,
            widths,
            sorted(map(str, ws.merged_cells.ranges)),
            ws.freeze_panes,
            ws.auto_filter.ref,
            ws.print_title_rows,
            ws.print_title_cols,
            ws.page_setup.orientation,
            ws.protection.sheet,
        )
    return out


def test_streamed_rollup_has_the_same_content_as_the_held_one(tmp_path, monkeypatch):
    """Streamed and XlsxWriter-held rows give the same cells, styles, heights, widths, merges, panes and print setup."""
    roll = county_rollup()
    streamed = roll.write(tmp_path / "streamed.xlsx")
    monkeypatch.setattr(review.sheet, "STREAM_ROWS", False)
    held = roll.write(tmp_path / "held.xlsx")
    a, b = cell_facts(streamed), cell_facts(held)
    assert list(a) == list(b)
    for name in a:
        assert a[name] == b[name], name


def test_streamed_rollup_is_byte_identical_on_rerun(tmp_path):
    """Writing the same roll-up twice gives the same bytes (nothing from the clock or from memory addresses)."""
    roll = county_rollup()
    one = roll.write(tmp_path / "1.xlsx").read_bytes()
    two = county_rollup().write(tmp_path / "2.xlsx").read_bytes()
    assert hashlib.sha256(one).digest() == hashlib.sha256(two).digest()


def test_streamed_sheets_use_shared_strings_and_no_zip64(tmp_path, monkeypatch):
    """Streamed text is in the shared-string table (never inline, counts right, beyond the reuse window too); no zip64."""
    monkeypatch.setattr(stream, "STRINGS_KEPT", 3)
    roll = many_units(40)
    out = roll.write(tmp_path / "c.xlsx")
    with zipfile.ZipFile(out) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        sst = z.read("xl/sharedStrings.xml").decode()
    assert not any(b"inlineStr" in s for s in sheets)
    unique = int(re.search(r'uniqueCount="(\d+)"', sst).group(1))
    assert unique == sst.count("<si>")
    assert int(re.search(r' count="(\d+)"', sst).group(1)) >= unique
    data = out.read_bytes()
    assert b"PK\x06\x06" not in data and b"PK\x06\x07" not in data  # zip64 end record / locator
    detail = sheet_rows(out, layout.DETAIL_SHEET)
    assert [r[0] for r in detail[review.DETAIL_FIRST :]] == [f"单位{i} " for i in range(40)]


def test_streamed_rollup_of_many_units_passes_the_ooxml_validator(tmp_path):
    """A streamed roll-up of 300 units is valid OOXML (openxml-audit)."""
    audit = pytest.importorskip("openxml_audit")
    out = many_units(300).write(tmp_path / "c.xlsx")
    result = audit.OpenXmlValidator().validate(str(out))
    assert result.is_valid, [str(e) for e in list(result.errors)[:10]]


def test_a_streamed_rollup_of_many_units_reads_back_in_calamine_and_openpyxl(tmp_path):
    """1,500 units read back by calamine and openpyxl, and a city merge finds a member in 来源 (DOUBLE-COUNTED)."""
    roll = many_units(1500)
    out = roll.write(tmp_path / "大市.xlsx")
    back = read(out)
    assert not [p for p in back.read_problems if p.code == Code.STRAY_CELLS]
    assert back.values == {k: v for k, v in roll.total.values.items()}
    wb = openpyxl.load_workbook(out, read_only=True)
    detail = list(wb[layout.DETAIL_SHEET].iter_rows(values_only=True))
    assert len(detail) == review.DETAIL_FIRST + 1500
    assert detail[-1][0] == "单位1499 "
    overview = sheet_rows(out, layout.OVERVIEW_SHEET)
    assert overview[2][0] == "单位0 " and overview[1501][0] == "单位1499 " and overview[1502][0] == "合计（本汇总表）"
    sources = sheet_rows(out, layout.SOURCE_SHEET)
    assert len([r for r in sources[1:] if r[2]]) == 1500
    again = merge([out, COUNTY / "01-城关镇.xlsx"], workers=0)
    assert {r.info.name: r.code for r in again.rejected} == {"01-城关镇.xlsx": Code.DOUBLE_COUNTED}


def test_merge_keeps_only_the_index_in_memory():
    """Members hold only the small index; rows come from the spool, and an entry pickles with its record."""
    roll = county_rollup()
    info = roll.members[0].info
    assert info._heavy is None and info._spool is not None
    assert len(info.row) == len(roll.form.inputs)
    again = pickle.loads(pickle.dumps(info))
    assert again.row == info.row and again.unit == info.unit and again._spool is None


def test_inspect_all_returns_every_file_in_order(tmp_path):
    """inspect_all in workers gives one entry per file in input order, the unreadable ones with their code."""
    junk = tmp_path / "junk.xlsx"
    junk.write_text("x")
    files = [*sorted(COUNTY.glob("*.xlsx")), junk]
    infos = inspect_all(files, workers=2)
    assert [i.path for i in infos] == [str(f) for f in files]
    assert infos[-1].error and all(isinstance(i, Inspected) for i in infos)
    assert [i.row for i in infos[:-1]] == [i.row for i in inspect_all(files[:-1], workers=0)]


def outcome(item, failure: workers.Failure):
    return ("failed", item, failure.code)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="POSIX signals")
def test_a_hang_or_crash_inside_a_chunk_costs_only_that_item():
    """A hang and an abort inside chunks cost only their own items; the rest is read by a new worker, in order."""
    items = [f"ok:{i}" for i in range(40)]
    items[3], items[17] = "hang:3", "abort:17"
    results = list(workers.run(behave, items, outcome, workers=1, time_limit=2))
    assert [r[2] if isinstance(r, tuple) else "ok" for r in results] == [
        Code.TIME_LIMIT if i == 3 else Code.WORKER_CRASHED if i == 17 else "ok" for i in range(40)
    ]
    assert [r for r in results if not isinstance(r, tuple)] == [i.upper() for i in items if i.startswith("ok")]


def test_check_reports_are_spooled_and_json_streams_the_same_text(tmp_path):
    """check_files spools its reports (read back one at a time); JSON written file by file is the same text."""
    import io

    from xltool.checking import Reports, check_files, exit_code, summary, write_report

    files = sorted(COUNTY.glob("*.xlsx"))
    reports = check_files(files, workers=0)
    assert isinstance(reports, Reports) and len(reports) == len(files)
    assert [r.path for r in reports] == files and reports[-1].path == files[-1]
    as_list = list(reports)
    assert summary(reports) == summary(as_list) and exit_code(reports) == exit_code(as_list)
    whole = write_report(reports, "json")
    out = io.StringIO()
    assert write_report(reports, "json", out=out) is None
    assert out.getvalue() == whole + "\n"
    empty = io.StringIO()
    write_report([], "json", out=empty)
    assert empty.getvalue() == write_report([], "json") + "\n"
