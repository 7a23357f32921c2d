"""The console: no command crashes on the console's code page (a Chinese Windows console redirected to a file speaks
cp936, simulated by PYTHONIOENCODING=gbk), data redirected to a file is UTF-8 (CSV with its BOM), what a program we
run prints is decoded explicitly, and a document open in Excel or WPS is named with what to do."""

from __future__ import annotations

import codecs
import errno
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fillings import random_return
from xltool import system
from xltool.cli import app
from xltool.forms import form_for_year
from xltool.model import Unit
from xltool.template import write_xlsx

ROOT = Path(__file__).resolve().parent.parent
UNIT = "䶮溪镇人民政府"  # 䶮 (U+4DAE) is in GB 18030 but not in GBK (cp936)
CLI = "import sys; from xltool.cli import app; sys.argv[0] = 'xltool'; app()"


def _gbk_console(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """`xltool ARGS` in a fresh interpreter whose stdout and stderr speak GBK and are redirected (not a terminal)."""
    env = {**os.environ, "PYTHONIOENCODING": "gbk", "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    env.pop("PYTHONUTF8", None)
    return subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, capture_output=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def returns(tmp_path_factory) -> Path:
    """A folder with one return of a unit whose name GBK cannot write, with a warning and no error (exit 0)."""
    folder = tmp_path_factory.mktemp("console") / "乡镇报表"
    folder.mkdir()
    ret = random_return(form_for_year(2025), 2025, random.Random(3))
    ret.values["active.rules.regulation.issued"] = ret.values["active.rules.regulation.in_force"] + 3
    ret.unit = Unit(name=UNIT, code="11111111111111111X")
    write_xlsx(ret, folder / f"{UNIT}.xlsx")
    return folder


def _commands(returns: Path) -> list[tuple[str, list[str], int, str]]:
    """(name, arguments, exit code, what stdout is: "" nothing, "text" console text, "utf8" data, "csv")."""
    one = str(returns / f"{UNIT}.xlsx")
    return [
        ("template", ["template", "--year", "2025", "--unit", UNIT, "-o", "模板.xlsx"], 0, ""),
        ("check table", ["check", one], 0, "text"),
        ("check json", ["check", one, "-f", "json"], 0, "utf8"),
        ("check csv", ["check", one, "-f", "csv"], 0, "csv"),
        ("merge", ["merge", str(returns), "-o", "汇总.xlsx", "--unit", "䶮溪县人民政府", "--workers", "0"], 0, ""),
        ("report md", ["report", one, "-o", "年报.md"], 0, ""),  # a published report for `import`
        ("import", ["import", "年报.md"], 0, "text"),
        ("import json", ["import", "年报.md", "-f", "json"], 0, "utf8"),
        ("render md", ["render", one, "-f", "md"], 0, "utf8"),
        ("render html", ["render", one, "-f", "html"], 0, "utf8"),
        ("report md to stdout", ["report", one, "-f", "md", "-o", "-"], 0, "utf8"),
        ("report html to stdout", ["report", one, "-f", "html", "-o", "-"], 0, "utf8"),
        ("report of the roll-up", ["report", "汇总.xlsx", "-f", "html", "-o", "汇总年报.html"], 0, ""),
        ("forms", ["forms"], 0, "text"),
    ]


def test_every_command_survives_a_gbk_console(returns, tmp_path):
    """With a GBK console and a unit named outside GBK, every command and output format ends with its intended exit
    code and no traceback; data redirected to a file is UTF-8 (CSV with its BOM), console text is GBK with what it
    cannot show escaped visibly."""
    for name, args, code, stdout in _commands(returns):
        done = _gbk_console(args, tmp_path)
        err = done.stderr.decode("gbk")  # stderr is valid GBK: what GBK lacks arrived escaped
        assert "Traceback" not in err and "UnicodeEncodeError" not in err, (name, err[-2000:])
        assert done.returncode == code, (name, done.returncode, err[-2000:])
        if stdout == "csv":
            assert done.stdout.startswith(codecs.BOM_UTF8), name
            assert UNIT in done.stdout.decode("utf-8-sig"), name
        elif stdout == "utf8":
            assert not done.stdout.startswith(codecs.BOM_UTF8), name
            assert UNIT in done.stdout.decode("utf-8"), name
        elif stdout == "text":
            done.stdout.decode("gbk")  # the console's own encoding, nothing it cannot hold
        else:
            assert done.stdout == b"", name
    assert (
        UNIT
        in json.loads(_gbk_console(["check", str(returns), "-f", "json"], tmp_path).stdout)["files"][0]["unit"]["name"]
    )
    table = _gbk_console(["check", str(returns / f"{UNIT}.xlsx")], tmp_path).stdout.decode("gbk")
    assert "\\u4dae溪镇人民政府" in table  # shown visibly, not dropped
    assert (tmp_path / "模板.xlsx").exists() and (tmp_path / "汇总.xlsx").exists()


def test_a_gbk_console_reads_the_messages_of_a_refusal(tmp_path):
    """A usage error and a refused output, with names outside GBK, are GBK messages and exit 2, never a traceback."""
    for args in (
        ["check", f"{UNIT}不存在.xlsx", "--format", "xml"],
        ["template", "--year", "2025", "--unit", UNIT, "-o", f"{UNIT}.txt"],
    ):
        done = _gbk_console(args, tmp_path)
        err = done.stderr.decode("gbk")
        assert done.returncode == 2 and "错误" in err and "Traceback" not in err, err


def test_safe_console_escapes_what_the_code_page_lacks(monkeypatch):
    """A strict GBK stream is switched to visible escapes; a character GBK has is written as it is."""
    import io

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="gbk", errors="strict")
    monkeypatch.setattr(sys, "stdout", stream)
    system.safe_console()
    stream.write(f"{UNIT}\ufeff")
    stream.flush()
    assert raw.getvalue().decode("gbk") == "\\u4dae溪镇人民政府\\ufeff"


def test_program_output_is_decoded_whatever_its_encoding():
    """What a program prints is text whatever its bytes: UTF-8, the system's code page, or neither."""
    assert system.process_text("转换失败".encode()) == "转换失败"
    assert system.process_text(b"") == ""
    assert isinstance(system.process_text("转换失败".encode("gbk") + b"\xff\xfe\x80"), str)


def test_libreoffice_messages_in_gbk_are_reported_not_raised(tmp_path, monkeypatch):
    """A LibreOffice that fails and prints GBK bytes (a Chinese Windows) gives an OfficeError with its words, not a
    UnicodeDecodeError."""
    from xltool import office

    fake = tmp_path / "soffice"
    fake.write_text(
        "#!/bin/sh\nprintf '\\xd7\\xaa\\xbb\\xbb\\xca\\xa7\\xb0\\xdc\\xff' >&2\nexit 0\n", encoding="ascii"
    )  # 转换失败 in GBK, then a byte no encoding takes; exit 0 and no file, as soffice does
    fake.chmod(0o755)
    monkeypatch.setattr(office, "soffice", lambda: str(fake))
    src = tmp_path / "a.xlsx"
    src.write_bytes(b"PK")
    with pytest.raises(office.OfficeError) as caught:
        office.convert(src, "ods", timeout=30)
    assert "LibreOffice 转换失败" in str(caught.value)


runner = CliRunner()


def test_an_output_open_in_excel_is_refused_before_any_work(tmp_path):
    """Writing over a workbook whose lock file (~$name, Excel and WPS; .~lock.name#, LibreOffice) lies beside it says
    to close it and exits 2; the workbook is left as it was."""
    target = tmp_path / "某镇.xlsx"
    target.write_bytes(b"the clerk's open workbook")
    for lock in (f"~${target.name}", f".~lock.{target.name}#"):
        (tmp_path / lock).write_bytes(b"owner")
        result = runner.invoke(app, ["template", "--year", "2025", "--unit", "某镇", "-o", str(target)])
        assert result.exit_code == 2 and "关闭" in result.stderr and lock in result.stderr, result.stderr
        assert target.read_bytes() == b"the clerk's open workbook"
        (tmp_path / lock).unlink()
    assert runner.invoke(app, ["template", "--year", "2025", "--unit", "某镇", "-o", str(target)]).exit_code == 0


def test_windows_refusing_to_replace_an_open_workbook_says_to_close_it(tmp_path, monkeypatch):
    """On Windows a workbook open in Excel cannot be replaced (PermissionError on the temporary file's rename): the
    message names the workbook and says to close it, exit 2. On POSIX the same error is about permissions."""
    from xltool import formats

    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"open in Excel")
    writer = formats.writer("workbook", "xlsx")

    def refuse(ret, path, **_):
        raise PermissionError(errno.EACCES, "Permission denied", str(path) + ".tmp", None, str(path))

    monkeypatch.setattr(formats, "writer", lambda purpose, name: type(writer)(**{**vars(writer), "write": refuse}))
    args = ["template", "--year", "2025", "--unit", "某镇", "-o", str(target)]
    monkeypatch.setattr(system, "WINDOWS", True)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "正被 Excel 或 WPS" in result.stderr and "汇总.xlsx" in result.stderr
    monkeypatch.setattr(system, "WINDOWS", False)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "没有访问权限" in result.stderr and "正被" not in result.stderr


def test_office_lock_names_the_lock_file(tmp_path):
    """The lock files of Excel/WPS and LibreOffice are found beside the document; nothing else counts."""
    doc = tmp_path / "报表.xlsx"
    assert system.office_lock(doc) is None
    (tmp_path / "~$其他.xlsx").write_bytes(b"x")
    assert system.office_lock(doc) is None
    (tmp_path / "~$报表.xlsx").write_bytes(b"x")
    assert system.office_lock(doc) == str(tmp_path / "~$报表.xlsx")


def test_a_sharing_violation_is_described_as_a_file_open_elsewhere():
    """Windows' sharing violation (winerror 32, errno EACCES) is told apart from a missing permission."""
    from xltool.oserrors import describe

    class WindowsError_(PermissionError):
        winerror = 32

    assert "请先关闭" in describe(WindowsError_(errno.EACCES, "The process cannot access the file"))
    assert describe(PermissionError(errno.EACCES, "Permission denied")) == "没有访问权限"
