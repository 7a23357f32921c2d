"""What the command line says: Chinese help with examples, --version, and output that fits an 80-column terminal."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xltool import __version__
from xltool.checking import check_file, summary
from xltool.cli import app
from xltool.cli_text import Number, OneOf, WholeNumber
from xltool.formats.terminal import write_report

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["template", "check", "merge", "import", "render", "report", "forms", "version", "serve"]


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
    for english in ("Show this message", "[required]", "<list[Path]>", "Usage:", "[default:", "Options", "Arguments"):
        assert english not in text, english
    assert max(width(line) for line in text.splitlines()) <= 80


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("columns", [50, 60, 80, 100, 160])
@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_shows_every_word_and_fits_the_terminal(command, columns):
    """Plain help, wrapped by display width: every command, argument and option with its whole help text (nothing cut
    to “…”), no line wider than the terminal, no line starting with a closing punctuation mark."""
    group = app
    ctx = group.context_class(group, info_name="xltool", terminal_width=columns)
    if command is not None:  # (CliRunner forces 80 columns: the help is asked of a context of the width here)
        cmd = group.commands[command]
        ctx = cmd.context_class(cmd, info_name=command, parent=ctx, terminal_width=columns)
    text = ctx.get_help()
    assert text.startswith(f"用法： {ctx.command_path} ")
    assert max(width(line) for line in text.splitlines()) <= columns
    assert not [line for line in text.splitlines() if line.strip()[:1] in tuple("，。、；：）")]
    shown = _squeezed(text)
    if command is None:
        parts = [group.help, *(c.help.split("\n\n")[0] for c in group.commands.values())]
        parts += [f"{n}{_squeezed(c.help.split(chr(10))[0])[:4]}" for n, c in group.commands.items()]
    else:
        cmd = group.commands[command]
        parts = [cmd.help, *(p.help for p in cmd.params if getattr(p, "help", None))]
        parts += [opt for p in cmd.params for opt in getattr(p, "opts", ()) if p.param_type_name == "option"]
    for part in parts:
        assert _squeezed(part) in shown, part


def test_help_lines_break_between_chinese_characters_not_inside_names():
    """Help text wraps by display width between Chinese characters, never inside a file name or a [默认：…] note."""
    from xltool.cli_text import wrap_text

    text = "上年度的报表，用于跨年度核对（上年结转、现行有效件数） xltool check 乡镇报表/2024年汇总.xlsx [默认：60.0]"
    for columns in range(12, 60):
        lines = wrap_text(text, columns).splitlines()
        assert _squeezed("".join(lines)) == _squeezed(text)
        assert all(width(line) <= columns for line in lines)
        assert not [line for line in lines[1:] if line[:1] in "，、）"]
        if columns >= 30:
            assert "乡镇报表/2024年汇总.xlsx" in lines[-2:] or any("乡镇报表/2024年汇总.xlsx" in x for x in lines)
            assert any("[默认：60.0]" in line for line in lines)
    assert wrap_text("一二三四五六", 4, "> ", "  ") == "> 一\n  二\n  三\n  四\n  五\n  六"
    assert wrap_text("甲乙\n丙丁\n\n\b\n  a  b\n c", 20, preserve_paragraphs=True) == "甲乙丙丁\n\n  a  b\n c"


def test_usage_errors_are_chinese():
    """A missing argument, an unknown format, option or command is explained in Chinese."""
    missing = run("check")
    assert missing.exit_code == 2 and "缺少参数" in missing.output
    wrong = run("check", "x.xlsx", "--format", "pdf")
    assert wrong.exit_code == 2 and "'pdf' 不在可选范围内：请写以下之一：csv、json、table" in wrong.output
    unknown = run("check", "--bogus")
    assert unknown.exit_code == 2 and "没有这个选项：--bogus" in unknown.output
    near = run("check", "--formt", "json", "x.xlsx")
    assert near.exit_code == 2 and "没有这个选项：--formt。是要用 --form 或 --format 吗？" in near.output
    typo = run("chek")
    assert typo.exit_code == 2 and "没有这个命令：'chek'。是要用 'check' 吗？" in typo.output
    for result in (missing, wrong, unknown, near, typo):
        assert "错误：" in result.output and "用法：" in result.output and "查看帮助" in result.output
        assert not re.search(r"Error|Usage|Try |No such|Did you", result.output), result.output


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


# Each user mistake, as typed at a shell, and what the Chinese explanation must say.
MISTAKES = [
    (["template", "--year", "abc"], "--year / -y 的值 'abc' 不是整数：请写一个整数"),
    (["check", "x.xlsx", "--time-limit", "soon"], "--time-limit 的值 'soon' 不是数字"),
    (["check", "x.xlsx", "--format", "pdf"], "--format / -f 的值 'pdf' 不在可选范围内：请写以下之一：csv、json、table"),
    (["check", "--formt", "json", "x.xlsx"], "没有这个选项：--formt。是要用 --form 或 --format 吗？"),
    (["check", "--bogus", "x.xlsx"], "没有这个选项：--bogus。"),
    (["check", "x.xlsx", "--form"], "选项 --form 后面缺少值：自定义或地方补充表单文件"),
    (["merge", "--strict=yes", "x.xlsx", "-o", "y.xlsx"], "选项 --strict 是开关，不带值"),
    (["render"], "缺少参数 文件：填好的报表"),
    (["template"], "缺少选项 --year / -y：报告年度"),
    (["render", "/nonexistent/乡镇报表.xlsx"], "无法打开文件（文件或文件夹不存在"),
    (["check", "/nonexistent/乡镇报表.xlsx"], "无法打开文件（文件或文件夹不存在"),
    (["merge", "/nonexistent/乡镇", "-o", "县.xlsx"], "无法打开文件：文件或文件夹不存在"),
    (["render", "报表.xlsx", "多余.xlsx"], "多余的参数：'多余.xlsx'"),
    (["chek"], "没有这个命令：'chek'。是要用 'check' 吗？"),
    (["frobnicate"], "没有这个命令：'frobnicate'。可用的命令：template、check、merge"),
    (["--"], "缺少命令"),
    (["template", "--year", "2035"], "'2035' 不是可以填报的年度：请写从 2019 到"),
    (["annotate", "x.xlsx"], "没有这个命令：'annotate'。是要用 'check --annotate 文件夹' 吗？"),
    (["汇总", "乡镇报表"], "没有这个命令：'汇总'。是要用 'merge' 吗？"),
    (["template", "-y", "2025", "--roster", "名册.csv", "-o", "x.xlsx"], "不能都写入一个文件 x.xlsx；请用 --out"),
    (["import", "x.docx", "--previous", "没有/上年.docx"], "上年度文件 没有/上年.docx：文件或文件夹不存在"),
    (["check", "x.xlsx", "--lang", "en"], "没有这个选项：--lang。"),
    (["template", "--year", "2025", "-o", "长" * 200 + ".xlsx"], "：文件名太长"),
    (["check", "x.xlsx", "--annotate", "长" * 200], "：文件名太长"),
]


PROPER_NAMES = {"LibreOffice", "Markdown", "Excel", "WPS", "Word", "Python"}  # names of programs and formats


def _english_words(text: str, args: list[str]) -> list[str]:
    """ASCII words of 3+ letters in `text` other than option names, file names, command names, choice values and
    format names (YAML, CSV, …): what is left is the framework or the system speaking English."""
    from xltool import cli

    choices = (cli.OutputFormat, cli.RenderFormat, cli.AnnualFormat, cli.TemplateFormat)
    allowed = {"xltool", *COMMANDS, *PROPER_NAMES, *(member.value for enum in choices for member in enum)}
    text = re.sub(r"(?<![\w/])--?[A-Za-z][\w-]*", " ", text)  # option names
    for arg in args:
        text = text.replace(arg, " ")
    text = re.sub(r"\S*[/.]\S*", " ", text)  # file names and paths (docs/forms.md, .xlsx)
    words = re.findall(r"[A-Za-z]{3,}", text)
    return [w for w in words if w not in allowed and not w.isupper()]


@pytest.mark.parametrize(("args", "said"), MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_every_user_mistake_is_explained_in_chinese(args, said, tmp_path):
    """Through the real command line (a fresh interpreter, as the console script runs): each mistake exits 2 with
    a Chinese explanation of what is wrong and what to write, and no English sentence anywhere in the output."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import sys; from xltool.cli import app; sys.argv[0] = 'xltool'; app()", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "COLUMNS": "80",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert said in output, output
    assert "错误" in output and "Traceback" not in output
    assert not _english_words(output, args), (_english_words(output, args), output)


def test_the_english_check_finds_what_the_framework_used_to_say():
    """The check above is not blind: the English that used to slip through is found, names and values are not."""
    old = [
        "错误：'--year' / '-y' 的值无效：Input should be a valid integer, unable to parse string as an integer",
        "错误：没有这个选项：--formt (Possible options: --form, --format)",
        "错误：a.xlsx：无法打开文件（No such file or directory）",
        "Error: Got unexpected extra argument (b)",
    ]
    for text in old:
        assert _english_words(text, ["a.xlsx"]), text
    fine = "用法： xltool check [选项] 路径...\n错误：--format / -f 的值 'pdf' 不在可选范围内：请写以下之一：csv、json、table（YAML 见 docs/forms.md）"
    assert _english_words(fine, ["pdf"]) == []


# --- every kind of mistake, for every command and every option -------------------------------------------------------

MISSING = "没有/无此文件.xlsx"  # relative to the test's own empty folder: never there
INPUTS = ("--roster", "--previous", "--form", "--text")  # options naming a file or folder that is read


def _valid(command: click.Command) -> list[str]:
    """Arguments that make `command` otherwise complete: its required argument and options."""
    args = []
    for p in command.params:
        if isinstance(p, click.Argument) and p.required:
            args.append(str(ROOT / "examples" / "sample-return-2025.xlsx"))
        elif isinstance(p, click.Option) and p.required:
            args += [p.opts[0], "2025" if isinstance(p.type, WholeNumber) else "汇总.xlsx"]
    return args


def _generated_mistakes() -> list[list[str]]:
    """Each mistake a user can make with each command: an unknown option, one letter missing from each option, an
    option without its value, a value of the wrong kind, a choice not offered, a value given to a switch, an input
    file that is not there, a missing argument, arguments too many."""
    cases = []
    for name, command in app.commands.items():
        valid = _valid(command)
        cases.append([name, "--no-such-option", *valid])
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        if arguments and arguments[0].nargs == 1:
            cases.append([name, *valid, "多余的文件.xlsx"])
        if arguments and arguments[0].required:
            cases.append([name, *[a for a in valid if not a.endswith(".xlsx") or a == "汇总.xlsx"]])
            cases.append([name, MISSING, *valid[1:]])
        for p in command.params:
            if not isinstance(p, click.Option) or p.name == "help":
                continue
            option = next(o for o in p.opts if o.startswith("--"))
            if p.is_flag:
                cases.append([name, *valid, f"{option}=1"])
                continue
            cases += [[name, *valid, option], [name, *valid, option[:-1]]]
            if isinstance(p.type, WholeNumber | Number):
                cases.append([name, *valid, option, "一些"])
            if isinstance(p.type, OneOf):
                cases.append([name, *valid, option, "pdfx"])
            if option in INPUTS:
                cases.append([name, *valid, option, MISSING])
    return cases


GENERATED = _generated_mistakes()


@pytest.mark.parametrize("args", GENERATED, ids=[" ".join(a).replace(str(ROOT), "") for a in GENERATED])
def test_every_mistake_of_every_command_is_chinese(args, tmp_path, monkeypatch):
    """Every command, every option, every kind of mistake: exit 2 with 错误：… and not one English sentence (in
    process, the console script's own error handling; the real console path is tested above)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"}, prog_name="xltool")
    output = result.stdout + result.stderr
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, output
    assert "错误" in output  # a usage error's 错误：…, or the report's line for a file that cannot be read
    assert not _english_words(output, args), (_english_words(output, args), output)


def test_the_mistakes_cover_every_option_of_every_command():
    """The generated mistakes reach every option of every command (a new option is tested without a new line)."""
    for name, command in app.commands.items():
        for p in command.params:
            for option in getattr(p, "opts", ()):
                if option.startswith("--") and option != "--help":
                    assert any(a[0] == name and any(x.startswith(option) for x in a) for a in GENERATED), option


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("annotate", "check --annotate 文件夹"),
        ("anotate", "check --annotate 文件夹"),
        ("校验", "check"),
        ("validate", "check"),
        ("CHECK", "check"),
        ("ｃｈｅｃｋ", "check"),
        ("chek", "check"),
        ("合并", "merge"),
        ("汇总", "merge"),
        ("模板", "template"),
        ("名册", "template --roster 名册.csv"),
        ("导入", "import"),
        ("年报", "report"),
        ("help", "--help"),
    ],
)
def test_words_for_a_command_suggest_it(typed, suggested):
    """A word people use for a command (in English or Chinese, misspelt, in capitals or full width) is answered
    with the command to write."""
    result = run(typed)
    assert result.exit_code == 2
    assert f"是要用 '{suggested}' 吗？" in result.stderr, result.stderr


def test_year_outside_the_reportable_years_is_refused_naming_the_formats(tmp_path):
    """--year before the first official format or after next year is a usage error naming each format and its
    years; next year itself is accepted (templates go out before the year ends)."""
    from datetime import date

    from xltool.forms import OFFICIAL_FAMILY, all_forms

    next_year = date.today().year + 1
    for year in (2018, next_year + 1, 2099):
        result = run("template", "--year", str(year), "-o", str(tmp_path / "t.xlsx"))
        assert result.exit_code == 2 and not (tmp_path / "t.xlsx").exists()
        assert f"'{year}' 不是可以填报的年度：请写从 2019 到 {next_year} " in result.stderr
        for form in (f for f in all_forms() if f.form == OFFICIAL_FAMILY):
            assert f"{form.years_text}用{form.notice}格式" in result.stderr
    assert run("template", "--year", str(next_year), "-o", str(tmp_path / "t.xlsx")).exit_code == 0
