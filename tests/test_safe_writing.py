"""Writing never harms: a full disk, an error or SIGTERM while an output is written leaves the old file byte for byte
and no temporary file beside it; a link planted at an output's name is never written through."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fillings import random_return
from xltool import safewrite
from xltool.cli import app
from xltool.forms import form_for_year
from xltool.template import write_xlsx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample-return-2025.xlsx"
COUNTY = ROOT / "examples" / "county-2025"
OLD = b"PK\x03\x04 last year's file, which must survive"
links = pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
runner = CliRunner()


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def full_disk(monkeypatch, where: str) -> None:
    """The disk fills: while the zip's second member is written ("zip": xlsx, docx), or when the finished file is
    pushed to disk ("flush": every output, text ones too)."""
    if where == "flush":
        monkeypatch.setattr(os, "fsync", _enospc)
        return
    written = []

    def failing(real):
        def member(self, *args, **kwargs):
            if written:
                _enospc()
            written.append(real(self, *args, **kwargs))

        return member

    for name in ("write", "writestr"):
        monkeypatch.setattr(zipfile.ZipFile, name, failing(getattr(zipfile.ZipFile, name)))


@pytest.fixture
def broken_return(tmp_path):
    """A 2025 return with an unbalanced table (so `check --annotate` writes a copy)."""
    ret = random_return(form_for_year(2025), 2025, random.Random(5), broken=1)
    return write_xlsx(ret, tmp_path / "in" / "bad.xlsx")


def _command(kind: str, tmp_path: Path, broken: Path) -> tuple[list[str], Path]:
    """The command line writing `kind`, and the file it writes (in tmp_path/out)."""
    out = tmp_path / "out"
    return {
        "template": (["template", "--year", "2025", "--unit", "某镇", "-o", str(out / "t.xlsx")], out / "t.xlsx"),
        "merge-o": (["merge", str(COUNTY), "--workers", "0", "-o", str(out / "县.xlsx")], out / "县.xlsx"),
        "export": (
            ["merge", str(COUNTY), "--workers", "0", "-o", str(tmp_path / "县.xlsx"), "--export", str(out / "县.csv")],
            out / "县.csv",
        ),
        "report-docx": (["report", str(SAMPLE), "-o", str(out / "r.docx")], out / "r.docx"),
        "report-html": (["report", str(SAMPLE), "-f", "html", "-o", str(out / "r.html")], out / "r.html"),
        "annotate": (
            ["check", str(broken), "--workers", "0", "--annotate", str(out)],
            out / "bad（已标注）.xlsx",
        ),
    }[kind]


CASES = [
    ("template", "zip"),
    ("template", "flush"),
    ("merge-o", "zip"),
    ("merge-o", "flush"),
    ("export", "flush"),
    ("report-docx", "zip"),
    ("report-html", "flush"),
    ("annotate", "zip"),
    ("annotate", "flush"),
]


@pytest.mark.parametrize(("kind", "where"), CASES, ids=[f"{k}-{w}" for k, w in CASES])
def test_a_full_disk_keeps_the_old_output_and_leaves_no_temporary(tmp_path, broken_return, monkeypatch, kind, where):
    """The disk filling while an output is written: the command fails, the old file keeps its bytes, and the output
    folder holds nothing else (no temporary, no half file); without the fault the same command replaces it."""
    args, target = _command(kind, tmp_path, broken_return)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(OLD)
    with monkeypatch.context() as m:
        full_disk(m, where)
        result = runner.invoke(app, args)
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # said, not a traceback
    assert target.read_bytes() == OLD
    assert os.listdir(target.parent) == [target.name]
    result = runner.invoke(app, args)  # the same command on a disk with room: the old file is replaced
    assert result.exit_code in (0, 1), result.output
    assert target.read_bytes() != OLD and os.listdir(target.parent) == [target.name]


@links
def test_a_link_planted_in_the_annotate_folder_is_not_written_through(tmp_path, broken_return):
    """`town（已标注）.xlsx → elsewhere` in the annotate folder: the file it points to keeps its bytes."""
    args, target = _command("annotate", tmp_path, broken_return)
    victim = tmp_path / "elsewhere" / "victim.xlsx"
    victim.parent.mkdir()
    victim.write_bytes(OLD)
    target.parent.mkdir()
    target.symlink_to(victim)
    result = runner.invoke(app, args)
    assert result.exit_code in (1, 2), result.output
    assert victim.read_bytes() == OLD
    assert not target.is_symlink() or target.resolve() == victim  # replaced by the copy, or refused
    assert os.listdir(target.parent) == [target.name]


@links
@pytest.mark.parametrize("kind", ["template", "report-docx", "report-html", "export", "merge-o"])
def test_a_link_as_the_output_is_not_written_through(tmp_path, broken_return, kind):
    """`-o` (or `--export`) naming a link: the file it points to keeps its bytes, whether the command refuses the
    link or replaces it with its output."""
    args, target = _command(kind, tmp_path, broken_return)
    victim = tmp_path / "elsewhere" / "victim"
    victim.parent.mkdir()
    victim.write_bytes(OLD)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(victim)
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1, 2), result.output
    assert victim.read_bytes() == OLD
    assert os.listdir(target.parent) == [target.name]


@links
def test_links_in_a_roster_folder_are_not_written_through(tmp_path):
    """A roster folder holding links at a unit's workbook name and at 索引.csv: the files they point to keep their
    bytes; the folder ends with plain files."""
    roster = tmp_path / "units.csv"
    roster.write_text("name\n甲镇\n乙镇\n", encoding="utf-8")
    out = tmp_path / "分发"
    out.mkdir()
    victims = [tmp_path / "victim1", tmp_path / "victim2"]
    for victim, name in zip(victims, ("甲镇.xlsx", "索引.csv"), strict=True):
        victim.write_bytes(OLD)
        (out / name).symlink_to(victim)
    result = runner.invoke(app, ["template", "--year", "2025", "--roster", str(roster), "--out", str(out)])
    assert result.exit_code in (0, 1, 2), result.output
    assert [v.read_bytes() for v in victims] == [OLD, OLD]
    assert not any((out / n).is_symlink() and (out / n).resolve() not in victims for n in os.listdir(out))
    assert not [n for n in os.listdir(out) if n.startswith(safewrite.PREFIX)]


def test_replacing_keeps_the_old_file_on_any_error_and_the_mode_on_success(tmp_path):
    """The mechanism itself: an exception in the block leaves the target and removes the temporary; a finished block
    replaces the target and keeps its permissions (a temporary file is created 0600)."""
    target = tmp_path / "a.txt"
    target.write_bytes(OLD)
    os.chmod(target, 0o644)
    with pytest.raises(ValueError), safewrite.replacing(target) as tmp:
        tmp.write_text("half")
        raise ValueError("a writer's own error")
    assert target.read_bytes() == OLD and os.listdir(tmp_path) == ["a.txt"]
    safewrite.write_text(target, "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["a.txt"]
    if os.name != "nt":
        assert target.stat().st_mode & 0o777 == 0o644


SIGTERM_DRIVER = """
import pathlib, sys, time, zipfile
WRITING = pathlib.Path(sys.argv[3])
def stuck(self, *args, **kwargs):  # the roll-up's workbook is being written: stop here until the signal comes
    WRITING.touch()
    time.sleep(600)
zipfile.ZipFile.write = zipfile.ZipFile.writestr = stuck
from xltool.cli import app
sys.argv = ["xltool", "merge", sys.argv[1], "-o", sys.argv[2], "--workers", "0"]
app()
"""


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_sigterm_while_the_rollup_is_written_leaves_the_old_file_and_no_temporary(tmp_path):
    """SIGTERM arriving while merge writes its workbook: the process ends non-zero without a traceback, the old
    roll-up keeps its bytes and no temporary file is left beside it."""
    out = tmp_path / "out" / "县.xlsx"
    out.parent.mkdir()
    out.write_bytes(OLD)
    writing = tmp_path / "writing"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "stderr"
    with log.open("wb") as err:  # a file, not a pipe: merge's messages must not fill a pipe nobody reads yet
        proc = subprocess.Popen(
            [sys.executable, "-c", SIGTERM_DRIVER, str(COUNTY), str(out), str(writing)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 120
        while not writing.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writing.exists(), log.read_text("utf-8", "replace")
        assert [n for n in os.listdir(out.parent) if n.startswith(safewrite.PREFIX)]  # the temporary is there now
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = log.read_bytes()
    assert proc.returncode != 0
    assert b"Traceback" not in stderr, stderr.decode("utf-8", "replace")
    assert out.read_bytes() == OLD
    assert os.listdir(out.parent) == [out.name]


def test_no_temporary_names_outside_the_module():
    """Every writer goes through xltool.safewrite: no other module of the package makes its own temporary output
    (`with_suffix(".tmp…")`, `mkstemp` beside a target) or renames one over an output."""
    offenders = []
    for path in (ROOT / "xltool").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name == "safewrite.py" or path.relative_to(ROOT).as_posix() == "xltool/forms/cache.py":
            continue  # the form cache lives in the user's cache folder, and is written the same way on its own
        if ".tmp" in text or "os.replace(" in text or "shutil.move(" in text:
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_copying_keeps_every_temporary_in_the_target_folder(tmp_path):
    """The temporary file is made in the target's own folder (one file system, so the rename is atomic)."""
    target = tmp_path / "sub" / "x.csv"
    with safewrite.replacing(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(safewrite.PREFIX) and tmp.suffix == ".csv"
        shutil.copyfile(__file__, tmp)
    assert target.exists()
