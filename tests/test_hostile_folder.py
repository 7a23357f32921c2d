"""The county run whatever the townships send: one folder with every hostile file beside good returns.

`xltool merge` must finish, merge the good returns, list every other file with its reason, stay under 300 MB and never
change an input file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.corpus import build
from tests.test_untrusted import NEW, add_cell, mutate, set_cell, sheet_part
from xltool import layout

ROOT = Path(__file__).resolve().parent.parent
GOOD = ["01-城关镇.xlsx", "02-东坝镇.xlsx", "05-北塘街道.xlsx"]


def hostile_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "乡镇报表"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(ROOT / "examples" / "county-2025" / name, folder / name)
    for path in sorted(build.FILES.glob("*")):  # the committed bad-input corpus
        shutil.copy(path, folder / f"corpus-{path.name}")
    work = tmp_path / "work"
    work.mkdir()
    made = {
        "far-cell.xlsx": {sheet_part(layout.GUIDE_SHEET): add_cell(1048576, "XFD1048576", b"<v>1</v>")},
        "formula.xlsx": {sheet_part(NEW.sheet): set_cell(NEW.a1, b"<f>1+1</f><v>7</v>")},
        "dde.xlsx": {sheet_part(NEW.sheet): set_cell(NEW.a1, b"<f>cmd|' /C calc'!A0</f><v>0</v>")},
        "error-value.xlsx": {sheet_part(NEW.sheet): set_cell(NEW.a1, b"<v>#DIV/0!</v>", b' t="e"')},
    }
    for name, change in made.items():
        shutil.move(mutate(work, name, change), folder / name)
    shutil.move(
        mutate(work, "external-link.xlsx", add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"}),
        folder / "external-link.xlsx",
    )
    (folder / "~$城关镇.xlsx").write_bytes(b"\x00lock")
    (folder / "说明.pdf").write_bytes(b"%PDF-1.4\n")
    if os.name != "nt":
        os.mkfifo(folder / "管道.xlsx")
        os.symlink(folder / GOOD[0], folder / "链接.xlsx")
        os.symlink(tmp_path / "nowhere.xlsx", folder / "失效链接.xlsx")
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.iterdir()
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="memory measured with Linux /proc")
def test_merge_of_a_hostile_folder(tmp_path):
    """Good returns merged, every other file listed with its reason, exit 1, under 300 MB, inputs untouched."""
    folder = hostile_folder(tmp_path)
    before = digests(folder)
    out = tmp_path / "县汇总.xlsx"
    script = textwrap.dedent(
        f"""
        import atexit, sys
        def peak():
            status = open("/proc/self/status").read()
            sys.stderr.write("PEAK_MB=" + str(int(status.split("VmHWM:")[1].split()[0]) // 1024) + "\\n")
        atexit.register(peak)
        from xltool.cli import app
        sys.argv = ["xltool", "merge", {str(folder)!r}, "-o", {str(out)!r}, "--workers", "0",
                    "--export", {str(tmp_path / "长表.json")!r}]
        app()
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stderr[-3000:]
    peak = int(run.stderr.rsplit("PEAK_MB=", 1)[1].split()[0])
    assert peak < 300, peak

    from xltool.reading import read_page

    page = read_page(out)
    merged = {row[2] for row in page.sheet(layout.SOURCE_SHEET)[1:] if row[8] == "已汇总"}
    assert merged == {*GOOD, "far-cell.xlsx"}  # a far cell is only a warning: the return itself is sound
    listed = {row[0] for row in page.sheet(layout.REJECTED_SHEET)[1:]}
    expected = set(before) - merged
    if os.name != "nt":
        expected |= {"管道.xlsx", "链接.xlsx", "失效链接.xlsx"}
    assert expected <= listed, expected - listed
    assert all(row[3] for row in page.sheet(layout.REJECTED_SHEET)[1:]), "every refusal has its reason code"
    assert digests(folder) == before, "no input file was changed"
    assert json.loads((tmp_path / "长表.json").read_text(encoding="utf-8"))
