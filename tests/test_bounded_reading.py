"""One bounded reading path: every command reads untrusted files in a worker with the pool's limits (a lone light file
in the command's own process, sent to a worker the moment it is not cheap), and annotated copies are written from a
bounded copy, without what is unsafe or hidden."""

from __future__ import annotations

import functools
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from tests import fake_tasks
from tests.fillings import random_return
from xltool import batch, checking, guarded
from xltool.codes import Code
from xltool.formats._bounded import WINDOW
from xltool.forms import form_for_year
from xltool.sources import ReadError
from xltool.template import write_xlsx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample-return-2025.xlsx"


def _rewrite(source: Path, target: Path, edit) -> Path:
    """A copy of a workbook with `edit(name, bytes) -> bytes` applied to every part."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, edit(info.filename, src.read(info.filename)))
    return target


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A 2025 return with an unbalanced table, so it has problems to annotate."""
    ret = random_return(form_for_year(2025), 2025, random.Random(5), broken=1)
    return write_xlsx(ret, tmp_path / "in" / "bad.xlsx")


def _far(part: str, data: bytes, cells: bytes, merge: bytes = b"") -> bytes:
    if part != "xl/worksheets/sheet2.xml":
        return data
    data = data.replace(b"</sheetData>", cells + b"</sheetData>")
    if merge and b"</mergeCells>" in data:
        data = data.replace(b"</mergeCells>", merge + b"</mergeCells>")
    elif merge:
        data = data.replace(b"</sheetData>", b"</sheetData><mergeCells>" + merge + b"</mergeCells>")
    return data


# --- annotated copies ------------------------------------------------------------------------------------------------


def test_annotated_copy_leaves_out_cells_and_merges_outside_the_window(broken, tmp_path):
    """A stray value far off the table and a merge reaching to the sheet's last cell: the copy is written (in a
    worker, without building the sheet's range) and holds neither; every cell it keeps lies in the reading window."""
    far = _rewrite(
        broken,
        tmp_path / "far.xlsx",
        functools.partial(
            _far,
            cells=b'<row r="1500"><c r="AZ1500"><v>7</v></c></row><row r="60000"><c r="ZZ60000"><v>9</v></c></row>',
            merge=b'<mergeCell ref="A2000:XFD1048576"/>',
        ),
    )
    report = checking.check_files([far], workers=1)[0]
    ((_, written, reason),) = list(checking.annotate([report], tmp_path / "out", workers=1))
    assert written is not None, reason
    wb = openpyxl.load_workbook(written)
    for ws in wb.worksheets:
        assert ws.max_row <= WINDOW[0] and ws.max_column <= WINDOW[1], ws.title
        assert all(r.max_row <= WINDOW[0] for r in ws.merged_cells.ranges), ws.title


UNSAFE = 'WEBSERVICE("http://example.invalid/x")'


def test_annotated_copy_drops_unsafe_formats_validations_names_and_hidden_sheets(broken, tmp_path):
    """Conditional formats, list validations and defined names holding WEBSERVICE, DDE or another workbook's cells
    are dropped from the copy (the safe ones kept); a sheet the township hid is removed, a table sheet it hid is
    shown again, the template's own hidden sheet stays hidden."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.load_workbook(broken)
    form = form_for_year(2025)
    table = wb[form.tables[0].sheet]
    other = wb[form.tables[1].sheet]
    table.conditional_formatting.add("A1:B2", FormulaRule(formula=[UNSAFE]))
    table.conditional_formatting.add("C1:C2", FormulaRule(formula=["A1>0"]))
    table.data_validations.append(DataValidation(type="list", formula1="cmd|' /C calc'!A0", sqref="D1"))
    table.data_validations.append(DataValidation(type="list", formula1='"是,否"', sqref="D2"))
    wb.defined_names["outside"] = DefinedName("outside", attr_text="[1]Sheet1!$A$1")
    wb.defined_names["fine"] = DefinedName("fine", attr_text=f"'{table.title}'!$A$1")
    hidden = wb.create_sheet("备用")
    hidden["A1"] = 123
    hidden.sheet_state = "veryHidden"
    other.sheet_state = "hidden"
    planted = tmp_path / "planted.xlsx"
    wb.save(planted)
    report = checking.check_files([planted], workers=0)[0]
    ((_, written, reason),) = list(checking.annotate([report], tmp_path / "out", workers=1))
    assert written is not None, reason
    copy = openpyxl.load_workbook(written)
    table = copy[form.tables[0].sheet]
    formulas = [f for cf in table.conditional_formatting for rule in cf.rules for f in rule.formula or ()]
    assert UNSAFE not in formulas and "A1>0" in formulas
    lists = {str(v.sqref): v.formula1 for v in table.data_validations.dataValidation if v.type == "list"}
    assert "D1" not in lists and lists["D2"] == '"是,否"'
    assert not any("|" in (f or "") for f in lists.values())
    assert "outside" not in copy.defined_names and "fine" in copy.defined_names
    assert "备用" not in copy.sheetnames
    assert copy[form.tables[1].sheet].sheet_state == "visible"
    if "_meta" in copy.sheetnames:
        assert copy["_meta"].sheet_state != "visible"


# --- every command survives a reader that aborts ------------------------------------------------------------------


@pytest.fixture
def aborting(tmp_path: Path) -> Path:
    """The sample return with a far cell written with single quotes (legal XML): a reader that misses it asks
    calamine for the whole sheet, which aborts the process it runs in."""
    cells = b"<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>"
    return _rewrite(SAMPLE, tmp_path / "far.xlsx", functools.partial(_far, cells=cells))


def _xltool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "xltool", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "command",
    ["check", "render", "report", "check-previous", "roster-previous"],
)
def test_a_file_that_aborts_its_reader_costs_no_command_its_process(aborting, tmp_path, command):
    """check FILE, render, report, check --previous and template --roster --previous: the command ends with its own
    exit code (0, 1 or 2) and a message, never killed with the reader, never a traceback."""
    roster = tmp_path / "名册.csv"
    roster.write_text("name,code,type\n某镇,,乡镇\n", encoding="utf-8")
    args = {
        "check": ["check", str(aborting)],
        "render": ["render", str(aborting), "-f", "md"],
        "report": ["report", str(aborting), "-f", "md", "-o", str(tmp_path / "r.md")],
        "check-previous": ["check", str(SAMPLE), "--previous", str(aborting)],
        "roster-previous": [
            "template",
            "--year",
            "2026",
            "--roster",
            str(roster),
            "--out",
            str(tmp_path / "out"),
            "--previous",
            str(aborting),
        ],
    }[command]
    done = _xltool(*args, cwd=tmp_path)
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr


def test_a_read_that_runs_out_of_memory_is_a_read_error_with_its_code(aborting):
    """guarded.read of a file whose reader dies for want of memory: a ReadError (MEMORY-LIMIT, or WORKER-CRASHED when
    the system gives no reason), or a Return once the reader bounds the sheet; never an exception of another kind."""
    try:
        guarded.read(aborting, light=True)
    except ReadError as exc:
        assert exc.code in (Code.MEMORY_LIMIT, Code.WORKER_CRASHED, Code.TIME_LIMIT)


# --- the light path -----------------------------------------------------------------------------------------------


def _one(task, path: Path, light: bool = True) -> str:
    spool = batch.Spool()
    failed = functools.partial(_failed_here)
    ((where, _),) = list(batch.run(task, [str(path)], failed, spool, light=light))
    return where


def _failed_here(path: str, failure) -> batch.Packed:
    return batch.pack(f"failed:{failure.code}", None)


def test_a_light_file_is_read_in_this_process(tmp_path):
    """A small text report or return goes through no worker (the cheap path of `xltool check FILE`)."""
    text = tmp_path / "r.txt"
    text.write_text("某某县2025年政府信息公开工作年度报告\n", encoding="utf-8")
    for path in (text, SAMPLE):
        assert _one(functools.partial(fake_tasks.where_read, os.getpid()), path) == "here"
        assert _one(functools.partial(fake_tasks.where_read, os.getpid()), path, light=False) == "worker"


def test_light_files_are_small_files_read_by_pure_python(tmp_path):
    """Only small text, Markdown and xlsx files are light; a large file, an ods, xls, html, docx or pdf is not, nor a
    PDF named .txt."""
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (batch.LIGHT_BYTES + 1))
    small = {name: tmp_path / name for name in ("a.txt", "a.md", "a.html", "a.docx", "a.pdf", "a.xls", "a.ods")}
    for path in small.values():
        path.write_bytes(b"x")
    assert batch.light_file(str(SAMPLE))
    assert batch.light_file(str(small["a.txt"])) and batch.light_file(str(small["a.md"]))
    assert not batch.light_file(str(big))
    assert not any(batch.light_file(str(small[n])) for n in ("a.html", "a.docx", "a.pdf", "a.xls", "a.ods"))
    disguised = tmp_path / "report.txt"
    disguised.write_bytes(b"%PDF-1.4\n")
    assert not batch.light_file(str(disguised))
    wide = _rewrite(
        SAMPLE,
        tmp_path / "wide.xlsx",
        lambda name, data: data + b" " * batch.LIGHT_PART if name == "xl/styles.xml" else data,
    )
    assert not batch.light_file(str(wide))


def test_a_light_file_that_needs_native_code_is_read_in_a_worker(tmp_path):
    """A reader about to hand the file to calamine in the command's own process is stopped, and the file is read
    again in a worker, where native code runs under the limits."""
    assert _one(functools.partial(fake_tasks.needs_native, os.getpid()), SAMPLE) == "worker"


def test_a_light_read_that_is_slow_goes_to_a_worker(monkeypatch):
    """The watchdog interrupts a light read past LIGHT_SECONDS; the file is then read in a worker."""
    monkeypatch.setattr(batch, "LIGHT_SECONDS", 0.3)
    assert _one(functools.partial(fake_tasks.slow_here, os.getpid()), SAMPLE) == "worker"
