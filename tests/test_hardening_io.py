"""Hardening of what xltool writes and where: every output escapes text for its medium (terminal, HTML, Markdown,
Word), outputs never land on inputs or in impossible places, only regular files are opened, file names stay legal
and short, and bad command-line text is refused with a message, never a traceback."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from rich.console import Console

from tests.fillings import random_return
from xltool import formats
from xltool.checking import FileReport
from xltool.cli import app
from xltool.codes import Code
from xltool.discover import OutputError, check_output, check_output_dir, scan
from xltool.distribute import WRITTEN, personalise
from xltool.filenames import MAX_STEM_BYTES, safe_filename, template_stem, undecodable
from xltool.formats.docx import render_docx
from xltool.formats.html import render_html, render_html_fragment
from xltool.formats.md import render_markdown
from xltool.formats.terminal import sanitise_for_terminal, write_report
from xltool.forms import form_for_year
from xltool.model import Return, Unit
from xltool.outcomes import Severity
from xltool.problems import Problem
from xltool.roster import RosterEntry
from xltool.sources import ReadError, check_size, read_bytes
from xltool.template import write_xlsx

runner = CliRunner()
FORM = form_for_year(2025)
POSIX = pytest.mark.skipif(os.name == "nt", reason="FIFOs, sockets, /dev/zero and byte-string arguments are POSIX")

MARKUP = "[/bold][link=http://x]镇"
CONTROLS = "".join(map(chr, range(0x20))) + "\x7f\x9b\u202e\u2066\ufffe\uffff"
# Raw characters that must never reach a terminal or a written report.
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def returned(folder: Path, name: str, unit: str, seed: int = 1) -> Path:
    """A filled 2025 return of `unit`, saved as `name` in `folder`."""
    import random

    ret = random_return(FORM, 2025, random.Random(seed))
    ret.unit = Unit(name=unit, code=f"9151{seed:014d}")
    return write_xlsx(ret, folder / name)


def no_traceback(result) -> None:
    """The command ended through click (an exit code), not with an exception of its own."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


# --- terminal ---------------------------------------------------------------------------------------------------


def test_sanitise_for_terminal_shows_every_control_character_visibly():
    """ESC, BEL, CR, C1, bidi overrides/isolates and undecodable bytes become visible escapes; applying it twice
    changes nothing; ordinary Chinese text, brackets and backslashes stay as they are."""
    hostile = "甲\x1b[2J\x07乙\r丙\x9b丁\u202e戊\u2067己\udcff庚\n辛\t"
    shown = sanitise_for_terminal(hostile)
    assert not RAW_CONTROL.search(shown) and "\n" not in shown and "\t" not in shown
    assert shown == "甲\\x1b[2J\\x07乙\\x0d丙\\x9b丁\\u202e戊\\u2067己\\xff庚\\x0a辛\\x09"
    assert sanitise_for_terminal(shown) == shown
    assert sanitise_for_terminal("a\nb\tc\rd", keep_newlines=True) == "a\nb\tc\\x0dd"
    assert sanitise_for_terminal(r"某镇[final]\路径.xlsx") == r"某镇[final]\路径.xlsx"


def _hostile_report(name: str) -> FileReport:
    ret = Return(FORM, 2025, Unit(name=name))
    problem = Problem(Severity.ERROR, Code.INVALID_VALUE, f"“{name}”不是数字", "三、依申请公开", "D7")
    return FileReport(Path("某镇[final].xlsx"), ret, problems=[problem])


def test_terminal_report_shows_hostile_names_literally():
    """A unit name full of rich markup and escape sequences neither raises MarkupError nor styles anything nor
    reaches the terminal raw: the file name `某镇[final].xlsx` and the markup are printed as written."""
    name = f"{MARKUP}\x1b[2J\x1b]8;;http://evil\x07\u202e"
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=400, color_system="truecolor")
    write_report(
        [_hostile_report(name)],
        summary={"files": 1, "passed": 0, "with_errors": 1, "not_filled": 0, "unreadable": 0},
        console=console,
    )
    text = out.getvalue()
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # rich's own colours are the only escape sequences left
    assert plain.startswith(f"某镇[final].xlsx （{MARKUP}")
    assert f"“{MARKUP}" in plain  # in the problem's message too
    assert "\\x1b[2J" in plain and "\\x1b]8;;http://evil\\x07" in plain and "\\u202e" in plain
    assert not RAW_CONTROL.search(plain)
    assert "\x1b]8;" not in text  # no hyperlink was made


def test_cli_check_prints_markup_and_control_characters_in_names_literally(tmp_path):
    """`xltool check` on a folder: a return named `某镇[final].xlsx` whose unit is rich markup is shown as written;
    a file whose name carries escape sequences is listed as ignored with the sequences made visible."""
    returned(tmp_path, "某镇[final].xlsx", MARKUP)
    (tmp_path / "说明\x1b[31m\x07.pdf").write_bytes(b"%PDF-1.4")
    result = runner.invoke(app, ["check", str(tmp_path)], env={"COLUMNS": "400"})
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "某镇[final].xlsx" in result.stdout and MARKUP in result.stdout
    assert "说明\\x1b[31m\\x07.pdf" in result.stderr
    assert not RAW_CONTROL.search(result.stdout + result.stderr)


def test_cli_merge_messages_escape_file_and_unit_names(tmp_path):
    """merge's 未汇总, 缺报 and 名册外 lines quote file and unit names with their control characters made visible."""
    folder = tmp_path / "returns"
    folder.mkdir()
    returned(folder, "甲.xlsx", MARKUP, seed=1)
    (folder / "坏\x1b[2J\x07.xlsx").write_bytes(b"not a workbook")
    roster = tmp_path / "units.csv"
    roster.write_text("name,code\n缺\x1b]0;title\x07镇,123\n", encoding="utf-8")
    result = runner.invoke(app, ["merge", str(folder), "-o", str(tmp_path / "县.xlsx"), "--roster", str(roster)])
    no_traceback(result)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert any(line.startswith("未汇总：坏\\x1b[2J\\x07.xlsx：") for line in lines), lines
    assert "缺报：缺\\x1b]0;title\\x07镇（123）" in lines
    assert any(line.startswith(f"名册外单位：{MARKUP}") for line in lines), lines
    assert not RAW_CONTROL.search(result.stderr)


# --- HTML, Markdown, Word ------------------------------------------------------------------------------------------

HOSTILE_NAMES = {
    "markup": "<script>alert(1)</script>&amp;\"'</title><!--",
    "controls": f"镇{CONTROLS}人民政府",
    "long": "很长的镇" * 25_000,
}


@pytest.mark.parametrize("kind", HOSTILE_NAMES)
def test_html_is_well_formed_with_hostile_unit_names(kind):
    """The page and the fragment parse with a strict HTML parser, carry no raw control characters, no element the
    name tried to open, and the title shows the name as text."""
    name = HOSTILE_NAMES[kind]
    ret = Return(FORM, 2025, Unit(name=name, scope=name))
    page, fragment = render_html(ret), render_html_fragment(ret)
    strict = etree.HTMLParser(recover=False, huge_tree=True)
    for text in (page, fragment):
        assert not RAW_CONTROL.search(text)
        root = etree.fromstring(text, strict)
        assert root.find(".//script") is None
    title = etree.fromstring(page, strict).findtext(".//title")
    expected = RAW_CONTROL.sub("", name).replace("\ufffe", "").replace("\uffff", "")
    assert " ".join(title.split()) == " ".join(f"{expected}2025年政府信息公开工作年度报告".split())


@pytest.mark.parametrize("kind", HOSTILE_NAMES)
def test_markdown_keeps_one_line_per_heading_and_row_with_hostile_unit_names(kind):
    """The title stays one heading line, no raw control characters, and every table row keeps its column count."""
    name = HOSTILE_NAMES[kind]
    text = render_markdown(Return(FORM, 2025, Unit(name=name, scope=name)))
    assert not RAW_CONTROL.search(text)
    lines = text.split("\n")
    assert lines[0].startswith("# ") and lines[0].endswith("年政府信息公开工作年度报告") and lines[1] == ""
    for block in text.split("\n\n"):
        rows = [line for line in block.split("\n") if line.startswith("|")]
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) <= 1, block[:300]


@pytest.mark.parametrize(
    "name",
    ["".join(map(chr, range(0x20))) + "镇\ufffe\uffff\ud800", "镇" * 300, "镇" * 100_000],
    ids=["controls", "300 chars", "100k chars"],
)
def test_docx_never_raises_on_hostile_unit_names(tmp_path, name):
    """render_docx writes a document for a name with every C0 control, U+FFFE/U+FFFF and a lone surrogate, or of
    300 or 100 000 characters: illegal characters removed, document properties cut to 255 characters, the whole
    name in the title paragraph."""
    import docx

    path = render_docx(Return(FORM, 2025, Unit(name=name, scope=name)), tmp_path / "r.docx")
    doc = docx.Document(str(path))
    props = doc.core_properties
    assert 0 < len(props.title) <= 255 and 0 < len(props.author) <= 255
    title = doc.paragraphs[0].text
    legal = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]", "", name)
    assert title == f"{legal}2025年政府信息公开工作年度报告".replace("\r", "\n")  # a CR is a line break in Word


# --- output paths -------------------------------------------------------------------------------------------------


@pytest.fixture
def county(tmp_path):
    folder = tmp_path / "returns"
    folder.mkdir()
    returned(folder, "甲镇.xlsx", "甲镇人民政府", seed=1)
    returned(folder, "乙镇.xlsx", "乙镇人民政府", seed=2)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "where, message",
    [
        ("folder", "是已有的文件夹"),
        ("input", "就是输入文件之一"),
        ("inside", "位于输入文件夹"),
        ("csv", "不支持的文件类型 .csv"),
        ("missing-folder", "不存在"),
        ("file-as-folder", "不是文件夹"),
        ("link", "符号链接"),
    ],
)
def test_merge_refuses_a_bad_output_before_any_work(county, tmp_path, where, message):
    """`merge -o` refuses, with exit 2 and a Chinese reason, an existing folder, an input file, a file inside an
    input folder, a suffix no workbook writer takes, a folder that does not exist or is a file, and a link; nothing is
    written and no input changes."""
    first = county / "甲镇.xlsx"
    (tmp_path / "plain.txt").write_text("x")
    if where == "link":
        if os.name == "nt":
            pytest.skip("symlinks need privileges on Windows")
        (tmp_path / "other.xlsx").write_bytes(b"last year's roll-up")
        (tmp_path / "link.xlsx").symlink_to(tmp_path / "other.xlsx")
    target = {
        "folder": tmp_path,
        "input": first,
        "inside": county / "县.xlsx",
        "csv": tmp_path / "县.csv",
        "missing-folder": tmp_path / "没有" / "县.xlsx",
        "file-as-folder": tmp_path / "plain.txt" / "县.xlsx",
        "link": tmp_path / "link.xlsx",
    }[where]
    paths = [str(county)] if where == "inside" else [str(first), str(county / "乙镇.xlsx")]
    before, outside = _snapshot(tmp_path), set(os.listdir(tmp_path))
    result = runner.invoke(app, ["merge", *paths, "-o", str(target)])
    no_traceback(result)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "未汇总" not in result.stderr and "已写出" not in result.stderr
    assert _snapshot(tmp_path) == before and set(os.listdir(tmp_path)) == outside


def test_check_output_library_refusals(county, tmp_path):
    """check_output names the reason; an ordinary new file next to the inputs is accepted."""
    assert check_output(tmp_path / "县.xlsx", "workbook", [county]) == tmp_path / "县.xlsx"
    with pytest.raises(OutputError, match="输入文件夹"):
        check_output(county / "sub" / "县.xlsx", "workbook", [county])
    if os.name != "nt":
        os.link(county / "甲镇.xlsx", tmp_path / "hard.xlsx")  # another name for the same file
        with pytest.raises(OutputError, match="就是输入文件"):
            check_output(tmp_path / "hard.xlsx", "workbook", [county / "甲镇.xlsx"])
    with pytest.raises(OutputError, match="不支持"):
        check_output(tmp_path / "x.parquet", "workbook")
    assert check_output_dir(tmp_path / "新" / "文件夹") == tmp_path / "新" / "文件夹"
    with pytest.raises(OutputError, match="不是文件夹"):
        check_output_dir(county / "甲镇.xlsx" / "sub")
    with pytest.raises(OutputError, match="输入文件夹"):
        check_output_dir(county, [county])


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_output_into_a_read_only_folder_is_refused(tmp_path):
    """An -o in a folder that cannot be written: a message and exit 2."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = runner.invoke(app, ["template", "--year", "2025", "-o", str(locked / "t.xlsx")])
    finally:
        locked.chmod(0o700)
    no_traceback(result)
    assert result.exit_code == 2 and "权限" in result.stderr


def test_every_command_refuses_an_impossible_output_place_with_exit_2(county, tmp_path):
    """template -o, render -o, import -o, check --annotate and merge --export into a place that cannot exist (under
    a regular file) or a missing folder: a Chinese message and exit 2, never a traceback; nothing is written."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    ret = county / "甲镇.xlsx"
    report = tmp_path / "report.txt"
    report.write_text("某某县2025年政府信息公开工作年度报告\n", encoding="utf-8")
    commands = {
        "template": ["template", "--year", "2025", "-o", str(tmp_path / "无" / "t.xlsx")],
        "template-file": ["template", "--year", "2025", "-o", str(plain / "t.xlsx")],
        "roster-out": ["template", "--year", "2025", "--roster", str(plain), "--out", str(plain / "d")],
        "render": ["render", str(ret), "-f", "docx", "-o", str(tmp_path / "无" / "r.docx")],
        "render-file": ["render", str(ret), "-f", "html", "-o", str(plain / "r.html")],
        "import": ["import", str(report), "-o", str(plain)],
        "annotate": ["check", str(ret), "--annotate", str(plain / "back")],
        "export": ["merge", str(ret), "-o", str(tmp_path / "c.xlsx"), "--export", str(tmp_path / "无" / "e.csv")],
    }
    before = set(os.listdir(tmp_path))
    for name, args in commands.items():
        result = runner.invoke(app, args)
        no_traceback(result)
        assert result.exit_code == 2, (name, result.output)
        assert re.search("不存在|不是文件夹|已存在", result.stderr), (name, result.stderr)
    assert set(os.listdir(tmp_path)) == before


def test_a_missing_optional_dependency_stops_merge_before_the_rollup_is_written(county, tmp_path, monkeypatch):
    """merge --export x.parquet without pyarrow: exit 2 naming the package, and neither the roll-up nor the export
    exists afterwards."""
    monkeypatch.setattr(formats, "missing_needs", lambda writer: ["pyarrow"] if writer.name == "parquet" else [])
    out, export = tmp_path / "县.xlsx", tmp_path / "县.parquet"
    result = runner.invoke(app, ["merge", str(county), "-o", str(out), "--export", str(export)])
    no_traceback(result)
    assert result.exit_code == 2 and "pyarrow" in result.stderr, result.output
    assert not out.exists() and not export.exists()


# --- only regular files are opened ---------------------------------------------------------------------------------


@POSIX
def test_scan_lists_links_pipes_and_sockets_as_ignored_and_never_follows_links(tmp_path):
    """In a folder, a link to a return, a link to a folder of returns, a dangling link, a FIFO and a socket are each
    listed as ignored with a reason; only the regular return is read; nothing under the linked folder is read."""
    folder = tmp_path / "in"
    elsewhere = tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    real = returned(folder, "甲镇.xlsx", "甲镇人民政府")
    returned(elsewhere, "外面.xlsx", "外面的镇")
    (folder / "链接.xlsx").symlink_to(real)
    (folder / "文件夹链接").symlink_to(elsewhere, target_is_directory=True)
    (folder / "失效.xlsx").symlink_to(tmp_path / "nowhere.xlsx")
    os.mkfifo(folder / "管道.xlsx")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(folder / "s.xlsx"))
        files, ignored = scan([folder])
    finally:
        sock.close()
    reasons = {p.name: reason for p, reason in ignored}
    assert files == [real]
    assert set(reasons) == {"链接.xlsx", "文件夹链接", "失效.xlsx", "管道.xlsx", "s.xlsx"}
    assert "符号链接" in reasons["链接.xlsx"] and "文件夹" in reasons["文件夹链接"]
    assert "失效" in reasons["失效.xlsx"] and "管道" in reasons["管道.xlsx"] and "套接字" in reasons["s.xlsx"]


@POSIX
def test_a_folder_file_with_a_name_that_is_not_utf8_is_listed_not_read(tmp_path):
    """A file whose name is not valid UTF-8 (a GBK zip unpacked on Linux) is listed as ignored, shown with \\xNN
    escapes, so nothing downstream has to write an unencodable name; merge still runs."""
    folder = tmp_path / "in"
    folder.mkdir()
    good = returned(folder, "甲镇.xlsx", "甲镇人民政府")
    bad = os.path.join(os.fsencode(folder), b"\xd2\xd2\xd5\xf2.xlsx")
    with open(bad, "wb") as fh:
        fh.write(good.read_bytes())
    files, ignored = scan([folder])
    assert files == [good]
    ((shown, reason),) = ignored
    assert shown.name == "\\xd2\\xd2\\xd5\\xf2.xlsx" and "UTF-8" in reason and not undecodable(str(shown))
    result = runner.invoke(app, ["merge", str(folder), "-o", str(tmp_path / "县.xlsx")])
    no_traceback(result)
    assert result.exit_code == 0 and (tmp_path / "县.xlsx").exists(), result.output


@POSIX
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "link", "dangling"])
def test_check_size_refuses_what_is_not_a_regular_file_before_opening(tmp_path, kind):
    """A FIFO (which would block), /dev/zero (which never ends), a link and a dangling link are NOT-REGULAR-FILE
    straight from their metadata, through check_size and read_bytes alike."""
    path = {"fifo": tmp_path / "p.xlsx", "dev-zero": Path("/dev/zero"), "link": tmp_path / "l.xlsx"}.get(
        kind, tmp_path / "d.xlsx"
    )
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link":
        (tmp_path / "real.xlsx").write_bytes(b"PK\x03\x04")
        path.symlink_to(tmp_path / "real.xlsx")
    elif kind == "dangling":
        path.symlink_to(tmp_path / "gone.xlsx")
    for call in (check_size, read_bytes):
        with pytest.raises(ReadError) as caught:
            call(path, 1024, "")
        assert caught.value.code == Code.NOT_REGULAR_FILE


def _run_cli(args: list, timeout: float = 30) -> subprocess.CompletedProcess:
    """The installed CLI in its own process group, killed as a group if it outlives `timeout` (TimeoutExpired)."""
    command = [sys.executable, "-m", "xltool.cli", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


@POSIX
def test_check_given_a_fifo_or_dev_zero_answers_at_once(tmp_path):
    """`xltool check pipe.xlsx /dev/zero` says NOT-REGULAR-FILE for both, exit 2, without blocking or reading."""
    fifo = tmp_path / "管道.xlsx"
    os.mkfifo(fifo)
    result = _run_cli(["check", str(fifo), "/dev/zero", "--format", "json"], timeout=60)
    assert result.returncode == 2, result.stderr.decode()
    files = json.loads(result.stdout)["files"]
    assert [f["error"]["code"] for f in files] == [Code.NOT_REGULAR_FILE] * 2


@POSIX
def test_no_command_hangs_on_a_fifo_or_device_given_directly(tmp_path):
    """check on a FIFO without suffix, and merge on a FIFO and /dev/zero, finish promptly with NOT-REGULAR-FILE."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    checked = _run_cli(["check", str(fifo)], timeout=8)
    assert checked.returncode == 2 and Code.NOT_REGULAR_FILE in checked.stdout.decode()
    named = tmp_path / "pipe.xlsx"
    os.mkfifo(named)
    merged = _run_cli(["merge", str(named), "/dev/zero", "-o", str(tmp_path / "c.xlsx"), "--workers", "1"], 8)
    assert merged.returncode == 2


# --- file names ---------------------------------------------------------------------------------------------------

DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
DEVICES |= {f"{p}{d}" for p in ("COM", "LPT") for d in "0123456789¹²³"}


def _is_device(name: str) -> bool:
    return name.split(".", 1)[0].rstrip(" ").upper() in DEVICES


@pytest.mark.parametrize(
    "name",
    [*sorted(DEVICES), "con", "Nul.xlsx", "com1.tar.gz", "lpt¹", "Com².xlsx", "conin$.txt", "Clock$", "CON .xlsx"],
)
def test_safe_filename_never_gives_a_windows_device_name(name):
    """Every Windows device name, in any case, with or without an extension, is made an ordinary name."""
    safe = safe_filename(name)
    assert not _is_device(safe) and not _is_device(safe + ".xlsx"), safe
    assert name.split(".")[0].strip().lower() in safe.lower()


@pytest.mark.parametrize("name", ["镇. . .", "镇   ", " .镇. ", "镇\u202egpj.exe", "镇\x1b\x07\ud800"])
def test_safe_filename_drops_trailing_dots_spaces_controls_and_bidi(name):
    """No trailing dot or space (Windows drops them), no control, bidi-override or surrogate character."""
    safe = safe_filename(name)
    assert safe.startswith("镇") and not safe.endswith((".", " "))
    assert not re.search("[\x00-\x1f\u202a-\u202e\ud800-\udfff]", safe)
    safe.encode("utf-8")


def test_long_names_are_cut_to_a_byte_budget_with_a_stable_hash():
    """A 100-character Chinese name fits in 180 UTF-8 bytes; names sharing a long prefix stay apart; the same name
    always gives the same file; a short name is untouched."""
    prefix = "某某省某某市某某县某某镇人民政府" * 6
    a, b = safe_filename(prefix + "甲办公室"), safe_filename(prefix + "乙办公室")
    assert a != b and a == safe_filename(prefix + "甲办公室")
    for name in (a, b, safe_filename("镇" * 100_000), safe_filename("x" * 1000)):
        assert len(name.encode("utf-8")) <= MAX_STEM_BYTES and re.search(r"~[0-9a-f]{8}$", name)
    assert safe_filename("甲镇人民政府") == "甲镇人民政府"


def test_long_names_can_really_be_created(tmp_path):
    """The cut name plus the longest suffix xltool adds is a file the file system accepts."""
    name = safe_filename("很长的单位名称" * 40) + "（已标注）（99）.xlsx"
    (tmp_path / name).write_bytes(b"x")
    assert (tmp_path / name).read_bytes() == b"x"


def test_template_roster_with_very_long_unit_names_writes_every_file_and_the_index(tmp_path):
    """19 units with 90+ character names: 19 workbooks and 索引.csv, each row naming its own file, exit 0."""
    long = "某某省某某市某某县某某镇人民政府关于某某事项的某某工作领导小组办公室" * 3
    roster = tmp_path / "units.csv"
    with roster.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "code", "type"])
        writer.writerows([f"{long}第{i}号", f"51{i:016d}", "乡镇"] for i in range(19))
    assert len(long) >= 90
    out = tmp_path / "out"
    result = runner.invoke(app, ["template", "--year", "2025", "--roster", str(roster), "--out", str(out)])
    no_traceback(result)
    assert result.exit_code == 0, result.output
    index = list(csv.DictReader((out / "索引.csv").open(encoding="utf-8-sig")))
    assert len(index) == 19 and {r["结果"] for r in index} == {WRITTEN}
    assert sorted(r["文件"] for r in index) == sorted(p.name for p in out.glob("*.xlsx"))


def test_personalise_keeps_going_when_one_workbook_cannot_be_written(tmp_path, monkeypatch):
    """One workbook failing (here: the disk fills while it is written) does not stop the others and leaves neither a
    half workbook nor a temporary file; the index says which one failed and why, and the CLI lists it and exits 1."""
    real = formats.writer_for

    def failing(purpose, path):
        w = real(purpose, path)
        if "乙" not in Path(path).name:
            return w

        def write(*args, **kwargs):  # the real writer, on a disk that is full after the first part of the zip
            written = []

            def full(self, *a, _real=zipfile.ZipFile.write, **k):
                if written:
                    raise OSError(errno.ENOSPC, "No space left on device")
                written.append(_real(self, *a, **k))

            with pytest.MonkeyPatch.context() as m:
                m.setattr(zipfile.ZipFile, "write", full)
                return w.write(*args, **kwargs)

        return formats.Writer(w.purpose, w.name, w.suffix, write)

    monkeypatch.setattr(formats, "writer_for", failing)
    entries = [RosterEntry(n, "", "乡镇") for n in ("甲镇", "乙镇", "丙镇")]
    index = personalise(entries, 2025, tmp_path / "out")
    assert [r["结果"] for r in index] == [WRITTEN, "未生成：无法写出文件（磁盘空间不足）", WRITTEN]
    stems = [template_stem(n, 2025) for n in ("丙镇", "甲镇")]
    assert sorted(os.listdir(tmp_path / "out")) == [f"{stems[0]}.xlsx", f"{stems[1]}.xlsx", "索引.csv"]
    rows = list(csv.DictReader((tmp_path / "out" / "索引.csv").open(encoding="utf-8-sig")))
    assert [r["结果"].startswith("未生成") for r in rows] == [False, True, False]

    roster = tmp_path / "units.csv"
    roster.write_text("name\n甲镇\n乙镇\n", encoding="utf-8")
    result = runner.invoke(app, ["template", "--year", "2025", "--roster", str(roster), "--out", str(tmp_path / "o")])
    no_traceback(result)
    assert result.exit_code == 1 and "乙镇 的模板未生成：无法写出文件" in result.stderr, result.output
    assert (tmp_path / "o" / f"{stems[1]}.xlsx").exists() and (tmp_path / "o" / "索引.csv").exists()


# --- command-line text that is not UTF-8 ---------------------------------------------------------------------------


@POSIX
@pytest.mark.parametrize(
    "args",
    [
        [b"template", b"--year", b"2025", b"--unit", b"\xff\xfe\xe9\x95\x87"],
        [b"template", b"--year", b"2025", b"--code", b"\xb4\xfa\xc2\xeb"],
        [b"check", b"\xd2\xd2\xd5\xf2.xlsx"],
        [b"merge", b"in", b"-o", b"\xcf\xd8.xlsx"],
        [b"render", b"\xff.xlsx"],
    ],
    ids=["--unit", "--code", "check path", "merge -o", "render path"],
)
def test_arguments_that_are_not_utf8_get_a_message_not_a_traceback(tmp_path, args):
    """A byte string that is not UTF-8 as --unit, --code or a path: exit 2 and a Chinese message, no traceback, and
    nothing written."""
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"xltool.cli", *args], cwd=tmp_path, capture_output=True, timeout=60
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "不是有效的 UTF-8" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []
