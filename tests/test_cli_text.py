"""What the command line says: Chinese help with examples, --version, and output that fits an 80-column terminal."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xltool import __version__
from xltool.checking import check_file, summary
from xltool.cli import app
from xltool.formats.terminal import write_report

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["template", "check", "merge", "import", "render", "forms", "version"]


def width(line: str) -> int:
    """Display columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def run(*args: str, columns: int = 80):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns), "TERMINAL_WIDTH": str(columns)})


def test_version_option_and_command():
    """`xltool --version` and `xltool version` print the version."""
    assert run("--version").stdout.strip() == f"xltool {__version__}"
    assert run("version").stdout.strip() == __version__


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_chinese_with_examples_and_fits_80_columns(command):
    """Every command's help has a 示例 section, the framework's words in Chinese, and no line wider than 80."""
    result = run(command, "--help")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "示例" in text and f"xltool {command}" in text
    assert "用法" in text and "显示此帮助并退出" in text
    for english in ("Show this message", "[required]", "<list[Path]>", "Usage:", "[default:"):
        assert english not in text, english
    assert max(width(line) for line in text.splitlines()) <= 80


def test_usage_errors_are_chinese():
    """A missing argument or an unknown format is explained in Chinese."""
    missing = run("check")
    assert missing.exit_code == 2 and "缺少参数" in missing.output
    wrong = run("check", "x.xlsx", "--format", "pdf")
    assert wrong.exit_code == 2 and "不在可选范围内" in wrong.output


def _console(columns: int):
    from rich.console import Console

    buffer = io.StringIO()
    return Console(file=buffer, width=columns, force_terminal=False, color_system=None), buffer


def test_narrow_terminal_lists_problems_instead_of_a_squeezed_table():
    """At 80 columns each problem is a short block (where, message, code) and no line is wider than the terminal."""
    reports = [check_file(ROOT / "examples" / "county-2025" / "04-南山镇.xlsx")]
    assert reports[0].problems
    console, buffer = _console(80)
    write_report(reports, summary=summary(reports), console=console)
    text = buffer.getvalue()
    assert "┃" not in text and "│" not in text  # no table borders
    assert max(width(line) for line in text.splitlines()) <= 80
    first = reports[0].problems[0]
    assert first.where in text and f"[{first.code}]" in text


def test_wide_terminal_keeps_the_table():
    """At 140 columns the problems are a table with 级别/位置/说明/编号 columns."""
    reports = [check_file(ROOT / "examples" / "county-2025" / "04-南山镇.xlsx")]
    console, buffer = _console(140)
    write_report(reports, summary=summary(reports), console=console)
    header = next(line for line in buffer.getvalue().splitlines() if "级别" in line)
    assert header.index("级别") < header.index("位置") < header.index("说明") < header.index("编号")
