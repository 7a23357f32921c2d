"""Merging roll-ups together with returns, copied returns, byte-identical output, and files that break their reader.

A unit inside a roll-up and also sent on its own is a CONFLICT for both files (neither is preferred); the same file
inside a roll-up is DOUBLE-COUNTED as before; with a roster only 汇总 units may send roll-ups; identical figures from
two units are flagged; the same inputs give the same bytes; a file that crashes or hangs its worker costs only itself,
in merge and in check.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import random
import shutil
import zipfile
from decimal import Decimal

import pytest

from tests import fake_tasks
from tests.fillings import random_return
from tests.test_merge import sheet_rows, unit_file
from xltool.checking import check_file, check_files, exit_code
from xltool.codes import Code
from xltool.discover import load_previous
from xltool.forms import form_for_year
from xltool.layout import NOTES_SHEET, SOURCE_SHEET
from xltool.model import Return, Unit
from xltool.outcomes import RosterStatus
from xltool.reading import read
from xltool.rollup import merge
from xltool.roster import read_roster
from xltool.template import write_xlsx

FORM = form_for_year(2025)
inspected_module = importlib.import_module("xltool.rollup.inspected")  # where inspect_all finds inspect_file
checking_module = importlib.import_module("xltool.checking")


@pytest.fixture(scope="module")
def towns(tmp_path_factory):
    """Ten valid township returns (units 第0镇 … 第9镇)."""
    folder = tmp_path_factory.mktemp("towns")
    return [unit_file(folder, i) for i in range(10)]


def county_rollup(files, folder, name, code):
    return merge(files, Unit(name=name, code=code), workers=0).write(folder / f"{name}.xlsx")


def other_version(path, folder, seed=99):
    """Another return of the same unit as `path`, with other figures (a different file)."""
    ret = random_return(FORM, 2025, random.Random(seed))
    ret.unit = read(path).unit
    return write_xlsx(ret, folder / f"again-{path.name}")


def rejected(roll) -> dict[str, str]:
    return {r.info.name: r.code for r in roll.rejected}


def reasons(roll) -> dict[str, str]:
    return {r.info.name: r.reason for r in roll.rejected}


def test_unit_in_a_rollup_and_sent_alone_rejects_both(towns, tmp_path):
    """A township's own return and a county roll-up holding another version of it: both CONFLICT, each naming the
    other, nothing of either is summed; the other inputs are merged."""
    county = county_rollup(towns[:4], tmp_path, "甲县", "130000000000000001")
    again = other_version(towns[2], tmp_path)
    roll = merge([county, again, towns[5]], workers=0)
    assert rejected(roll) == {"甲县.xlsx": Code.CONFLICT, "again-unit002.xlsx": Code.CONFLICT}
    assert "甲县.xlsx" in reasons(roll)["again-unit002.xlsx"]
    assert "again-unit002.xlsx" in reasons(roll)["甲县.xlsx"] and "第2镇人民政府" in reasons(roll)["甲县.xlsx"]
    assert [m.info.name for m in roll.members] == ["unit005.xlsx"]
    assert roll.total.values == merge([towns[5]], workers=0).total.values
    assert len(roll.not_merged) == 2  # so `xltool merge` exits 1 and the county decides


def test_the_same_file_inside_a_rollup_is_still_double_counted(towns, tmp_path):
    """The very file a roll-up summed (same SHA-256) is DOUBLE-COUNTED and the roll-up is merged: same data."""
    county = county_rollup(towns[:4], tmp_path, "甲县", "130000000000000001")
    roll = merge([towns[2], county, towns[5]], workers=0)
    assert rejected(roll) == {"unit002.xlsx": Code.DOUBLE_COUNTED}
    assert sorted(m.info.name for m in roll.members) == ["unit005.xlsx", "甲县.xlsx"]


def test_two_rollups_holding_the_same_unit_conflict(towns, tmp_path):
    """Two roll-ups that both summed 第3镇 cannot both count: both CONFLICT, naming the unit and each other."""
    a = county_rollup(towns[:4], tmp_path, "甲县", "130000000000000001")
    b = county_rollup(towns[3:6], tmp_path, "乙县", "130000000000000002")
    roll = merge([a, b, towns[7]], workers=0)
    assert rejected(roll) == {"甲县.xlsx": Code.CONFLICT, "乙县.xlsx": Code.CONFLICT}
    assert "第3镇人民政府" in reasons(roll)["甲县.xlsx"] and "乙县.xlsx" in reasons(roll)["甲县.xlsx"]
    assert "甲县.xlsx" in reasons(roll)["乙县.xlsx"]
    assert [m.info.name for m in roll.members] == ["unit007.xlsx"]


def test_conflict_reasons_do_not_depend_on_input_order(towns, tmp_path):
    """The same conflicting inputs in another order give the same rejections with the same reasons."""
    a = county_rollup(towns[:4], tmp_path, "甲县", "130000000000000001")
    b = county_rollup(towns[3:6], tmp_path, "乙县", "130000000000000002")
    again = other_version(towns[0], tmp_path)
    inputs = [a, b, again, towns[2], towns[8]]
    first = merge(inputs, workers=0)
    second = merge(inputs[::-1], workers=0)
    assert [(r.info.name, r.code, r.reason) for r in first.rejected] == [
        (r.info.name, r.code, r.reason) for r in second.rejected
    ]
    assert rejected(first)["unit002.xlsx"] == Code.DOUBLE_COUNTED


def write_roster(path, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["name", "code", "type"], *rows])
    return read_roster(path)


def test_with_a_roster_only_rollup_units_may_send_rollups(towns, tmp_path):
    """--roster: a roll-up counts only from a unit whose 类型 contains 汇总; from a 乡镇 or a unit not on the roster it
    is ROLLUP-NOT-ALLOWED (and the roster says why); plain returns are unaffected."""
    jia = county_rollup(towns[:3], tmp_path, "甲县", "130000000000000001")
    yi = county_rollup(towns[3:6], tmp_path, "乙县", "130000000000000002")
    bing = county_rollup(towns[6:8], tmp_path, "丙县", "130000000000000003")
    roster = write_roster(
        tmp_path / "units.csv",
        [
            ["甲县", "130000000000000001", "县级汇总"],
            ["乙县", "130000000000000002", "乡镇"],
            ["第8镇人民政府", f"11{8:016d}", "乡镇"],
        ],
    )
    roll = merge([jia, yi, bing, towns[8]], roster=roster, workers=0)
    assert rejected(roll) == {"乙县.xlsx": Code.ROLLUP_NOT_ALLOWED, "丙县.xlsx": Code.ROLLUP_NOT_ALLOWED}
    assert "乡镇" in reasons(roll)["乙县.xlsx"] and "不在名册中" in reasons(roll)["丙县.xlsx"]
    assert sorted(m.info.name for m in roll.members) == ["unit008.xlsx", "甲县.xlsx"]
    assert {e.name: e.status for e in roll.roster} == {
        "甲县": RosterStatus.MERGED,
        "乙县": RosterStatus.REJECTED,
        "第8镇人民政府": RosterStatus.MERGED,
    }
    assert not rejected(merge([jia, yi, bing, towns[8]], workers=0))  # without a roster, roll-ups are taken


def same_values(unit: Unit, values: dict) -> Return:
    return Return(FORM, 2025, unit, dict(values))


def test_identical_returns_of_different_units_are_flagged_and_merged(tmp_path):
    """Two units with the same figures: both merged, each with a COPIED-RETURN notice naming the other, listed in
    说明汇总; a third unit with other figures gets none."""
    values = random_return(FORM, 2025, random.Random(5)).values
    a = write_xlsx(same_values(Unit(name="甲镇", code="1" * 18), values), tmp_path / "a.xlsx")
    b = write_xlsx(same_values(Unit(name="乙镇", code="2" * 18), values), tmp_path / "b.xlsx")
    c = write_xlsx(
        same_values(Unit(name="丙镇", code="3" * 18), random_return(FORM, 2025, random.Random(6)).values),
        tmp_path / "c.xlsx",
    )
    roll = merge([a, b, c], workers=0)
    assert len(roll.members) == 3 and not roll.rejected
    assert [(n.info.unit_name, n.code) for n in roll.notices] == [
        ("甲镇", Code.COPIED_RETURN),
        ("乙镇", Code.COPIED_RETURN),
    ]
    assert "乙镇" in roll.notices[0].reason and "b.xlsx" in roll.notices[0].reason
    assert "甲镇" in roll.notices[1].reason
    rows = sheet_rows(roll.write(tmp_path / "out.xlsx"), NOTES_SHEET)
    assert [(r[0], r[2]) for r in rows[1:] if r[2] == Code.COPIED_RETURN] == [
        ("甲镇", Code.COPIED_RETURN),
        ("乙镇", Code.COPIED_RETURN),
    ]


@pytest.mark.parametrize(("nonzero", "flagged"), [(0, False), (4, False), (5, True)])
def test_identical_returns_that_are_nearly_all_zero_are_not_flagged(tmp_path, nonzero, flagged):
    """Many townships truly have nothing to report: identical returns with fewer than 5 non-zero cells are normal."""
    values = {c.key: Decimal(1 if i < nonzero else 0) for i, c in enumerate(FORM.inputs)}
    files = [
        write_xlsx(same_values(Unit(name=f"{i}镇", code=str(i) * 18), values), tmp_path / f"{i}.xlsx") for i in (1, 2)
    ]
    roll = merge(files, include_invalid=True, workers=0)  # ones placed anywhere may break a total: merged anyway
    assert len(roll.members) == 2
    assert bool(roll.notices) is flagged


def test_the_same_inputs_give_the_same_bytes(towns, tmp_path):
    """Merging the same files twice, in another order and with or without worker processes, writes byte-identical
    roll-ups: no clock in the document properties, zip entries with fixed dates."""
    folder = tmp_path / "in"
    folder.mkdir()
    for f in towns[:5]:
        shutil.copy(f, folder)
    (folder / "junk.xlsx").write_text("x")
    roster = [["第0镇人民政府", f"11{0:016d}", "乡镇"], ["第99镇人民政府", "", "乡镇"]]
    files = sorted(folder.iterdir())
    one = merge(files, Unit(name="某县"), roster=write_roster(tmp_path / "r1.csv", roster), workers=0)
    two = merge(files[::-1], Unit(name="某县"), roster=write_roster(tmp_path / "r2.csv", roster), workers=2)
    a, b = one.write(tmp_path / "a.xlsx"), two.write(tmp_path / "b.xlsx")
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    with zipfile.ZipFile(a) as z:
        assert {i.date_time[:3] for i in z.infolist()} <= {(1980, 1, 1), (1980, 1, 31)}
        core = z.read("docProps/core.xml").decode()
    assert "2026-01-01T00:00:00Z" in core  # 1 January after the report year 2025


def test_provenance_levels_are_ascii_digits_only(towns, tmp_path):
    """A roll-up's 来源 levels are taken only as 1-2 ASCII digits: full-width, absurdly long, zero or empty levels are
    read as level 1 (shown as 2 one level down), never parsed or trusted."""
    county = merge(towns[:2], Unit(name="甲县", code="130000000000000001"), workers=0)
    nested = [["２"], ["9" * 5000], ["0"], ["3"], [""], ["١"]]
    county.members[0].info.provenance = [
        [*level, "", f"x{i}.xlsx", "ab" * 32, f"某{i}镇", "", FORM.id, "2025", "已汇总", ""]
        for i, level in enumerate(nested)
    ]
    rows = sheet_rows(county.write(tmp_path / "甲县.xlsx"), SOURCE_SHEET)[1:]
    assert [r[0] for r in rows if str(r[2]).startswith("x")] == [2, 2, 2, 4, 2, 2]


# --- files that break their reader ------------------------------------------------------------------------------------


@pytest.fixture
def misbehaving_folder(towns, tmp_path):
    """Four good returns, one that crashes its reader and one that hangs it."""
    folder = tmp_path / "in"
    folder.mkdir()
    for f in towns[:4]:
        shutil.copy(f, folder)
    shutil.copy(towns[4], folder / "crash.xlsx")
    shutil.copy(towns[5], folder / "hang.xlsx")
    return folder


def test_a_file_that_crashes_or_hangs_its_reader_costs_only_itself_in_merge(misbehaving_folder, monkeypatch):
    """merge: the crashing file is WORKER-CRASHED and the hanging one TIME-LIMIT, both listed with their SHA-256;
    the four good returns are merged."""
    monkeypatch.setattr(inspected_module, "inspect_file", fake_tasks.inspect_or_misbehave)
    roll = merge([misbehaving_folder], workers=2, time_limit=3)
    assert rejected(roll) == {"crash.xlsx": Code.WORKER_CRASHED, "hang.xlsx": Code.TIME_LIMIT}
    crashed = next(r.info for r in roll.rejected if r.info.name == "crash.xlsx")
    assert crashed.sha256 == hashlib.sha256((misbehaving_folder / "crash.xlsx").read_bytes()).hexdigest()
    assert sorted(m.info.name for m in roll.members) == [f"unit00{i}.xlsx" for i in range(4)]


def test_a_file_that_crashes_or_hangs_its_reader_costs_only_itself_in_check(misbehaving_folder, monkeypatch):
    """check_files: the crashing and the hanging file are unreadable reports (exit code 2) with their codes; the
    others are checked as usual."""
    monkeypatch.setattr(checking_module, "_check_for_wire", fake_tasks.check_or_misbehave)
    files = sorted(misbehaving_folder.iterdir())
    reports = check_files(files, workers=2, time_limit=3)
    codes = {r.path.name: r.as_dict()["error"]["code"] for r in reports if r.error}
    assert codes == {"crash.xlsx": Code.WORKER_CRASHED, "hang.xlsx": Code.TIME_LIMIT}
    assert [r.path for r in reports] == files
    assert sum(r.error is None for r in reports) == 4
    assert exit_code(reports) == 2


def test_check_files_in_workers_equals_check_file(towns, tmp_path):
    """Reports built in worker processes (form and rules sent by id) are exactly check_file's, cross-year rules
    included."""
    previous = tmp_path / "last"
    previous.mkdir()
    for i in range(3):
        unit_file(previous, i, year=2024)
    last_year = load_previous(previous)
    junk = tmp_path / "junk.xlsx"
    junk.write_text("x")
    files = [*towns[:3], junk, towns[9]]
    parallel = check_files(files, last_year, workers=2)
    assert [r.as_dict() for r in parallel] == [check_file(f, last_year).as_dict() for f in files]
    assert any(r.rule.cross_year for r in parallel[0].rules)
