"""What the command line says on its own, in Chinese: help laid out by display width, and usage errors explained.

Built on click's supported hooks, never by rewriting its English: the command and group classes (`cls=`) set the
context class, whose `formatter_class` measures display width (a Chinese character takes two columns; a line may
break between two Chinese characters, never before a closing or after an opening punctuation mark, nor inside a file
name); they write the usage line, the 参数 / 选项 / 命令 sections and the help option themselves; the parameter types
here convert values without pydantic and say what was wrong. `Group.main` runs the command with
`standalone_mode=False` and explains every usage error from the exception's own fields (the option, its close
matches, the parameter and its help, the value given), so no English sentence of the framework reaches the user.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import click

from xltool.formats.terminal import sanitise_for_terminal
from xltool.system import safe_console

HELP_OPTION = "显示此帮助并退出。"


# --- values ----------------------------------------------------------------------------------------------------------


class WrongValue(click.BadParameter):
    """A value a parameter cannot take: the value as given, and in Chinese what is wrong and what it should be."""

    def __init__(self, value: Any, problem: str, wanted: str, ctx: Any = None, param: Any = None) -> None:
        super().__init__(f"{problem}：{wanted}", ctx, param)
        self.value, self.problem, self.wanted = value, problem, wanted


class WholeNumber(click.ParamType):
    """A whole number as written on a command line: `2025`, ` 2025`, `2_025` or `2025.0`."""

    name = "整数"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "<整数>"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            pass
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if math.isfinite(number) and number.is_integer():
            return int(number)
        raise WrongValue(value, "不是整数", "一个整数，如 2025", ctx, param)


class Number(click.ParamType):
    """A number (seconds and the like): `60`, `2.5`."""

    name = "数字"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "<数字>"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise WrongValue(value, "不是数字", "一个数，如 60 或 2.5", ctx, param) from None


class Text(click.ParamType):
    """Text as given (a unit name, a code, a password)."""

    name = "文字"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "<文字>"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return value if isinstance(value, str) else str(value)


class FilePath(click.ParamType):
    """A file or folder name, not checked here: each command checks its inputs and outputs with its own messages."""

    name = "路径"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "<路径>"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        return value if isinstance(value, Path) else Path(value)


class OneOf(click.ParamType):
    """One of the members of a string enum, written exactly as its value (`--format json`); gives the member."""

    name = "选项值"

    def __init__(self, choices: type[Enum]) -> None:
        self.choices = choices

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "<" + "|".join(str(m.value) for m in self.choices) + ">"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Enum:
        if isinstance(value, self.choices):
            return value
        for member in self.choices:
            if member.value == value:
                return member
        listed = "、".join(str(m.value) for m in self.choices)
        raise WrongValue(value, "不在可选范围内", f"以下之一：{listed}", ctx, param)


class Argument(click.Argument):
    """A positional argument with a help text of its own (click's arguments have none), shown under 参数."""

    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = help


# --- errors of our own kinds, with their fields ----------------------------------------------------------------------


class ExtraArguments(click.UsageError):
    """More arguments than the command takes."""

    def __init__(self, arguments: Sequence[str], ctx: click.Context) -> None:
        super().__init__("extra arguments", ctx)
        self.arguments = list(arguments)


class MissingCommand(click.UsageError):
    """Options of the program but no command."""

    def __init__(self, ctx: click.Context) -> None:
        super().__init__("missing command", ctx)


# --- help, laid out by display width ---------------------------------------------------------------------------------


class Formatter(click.HelpFormatter):
    """click's help formatter measuring display width: headings with a Chinese colon, usage after 用法：."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = "用法： " if prefix is None else prefix
        usage = f"{prefix:>{self.current_indent}}{prog} "
        room = self.width - self.current_indent
        if not args:
            self.write(usage.rstrip(" ") + "\n")
        elif room >= display_width(usage) + 20:
            self.write(wrap_text(args, room, usage, " " * display_width(usage)) + "\n")
        else:
            indent = " " * (max(self.current_indent, display_width(prefix)) + 4)
            self.write(usage + "\n" + wrap_text(args, room, indent, indent) + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write(wrap_text(text, self.width, indent, indent, preserve_paragraphs=True) + "\n")

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((display_width(term) for term, _ in rows), default=0), col_max) + col_spacing
        for term, text in rows:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not text:
                self.write("\n")
                continue
            if display_width(term) <= first_col - col_spacing:
                self.write(" " * (first_col - display_width(term)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap_text(text, max(self.width - first_col - 2, 10), preserve_paragraphs=True).splitlines()
            self.write((lines[0] if lines else "") + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class Context(click.Context):
    formatter_class = Formatter


def _help_record(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """(names, help) of a parameter as its help lists it: the type in Chinese, then [默认：…] or [必填]."""
    if getattr(param, "hidden", False):
        return None
    if isinstance(param, click.Argument):
        names = param.make_metavar(ctx)
    else:
        names = ", ".join(sorted(param.opts, key=lambda o: len(o) - len(o.lstrip("-"))))
        if not getattr(param, "is_flag", False):
            label = param.type.get_metavar(param=param, ctx=ctx) or ""
            names += " " + (label[:-1] + "…>" if param.multiple and label.endswith(">") else label)
    notes = []
    default = param.default  # shown when it is a value (text, a number, a choice), not "none given" or off
    if isinstance(default, str | int | float) and not isinstance(default, bool) and default != "":
        notes.append(f"默认：{default.value if isinstance(default, Enum) else default}")
    if param.required:
        notes.append("必填")
    text = getattr(param, "help", None) or ""
    if notes:
        text = f"{text}  [{'; '.join(notes)}]" if text else f"[{'; '.join(notes)}]"
    return names, text


class _Words:
    """What a command and a group of commands write in Chinese: usage, help option, parameter sections."""

    context_class = Context

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except click.UsageError as exc:  # the option parser's errors come without the command they belong to
            if exc.ctx is None:
                exc.ctx, exc.cmd = ctx, ctx.command
            raise

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = [(p, _help_record(p, ctx)) for p in self.get_params(ctx)]  # type: ignore[attr-defined]
        for kind, heading in (("argument", "参数"), ("option", "选项")):
            rows = [r for p, r in records if r is not None and p.param_type_name == kind]
            if rows:
                with formatter.section(heading):
                    formatter.write_dl(rows)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The whole first paragraph of the help: click would cut a long Chinese sentence (no spaces) to “...”."""
        return click.utils.make_default_short_help(self.help or "", sys.maxsize)  # type: ignore[attr-defined]


class Command(_Words, click.Command):
    """A command whose help and usage errors are Chinese. Extra arguments are its own error (their list kept)."""

    allow_extra_args = True  # leftover arguments come back from parsing and are refused below, with their values

    def __init__(self, *args: Any, options_metavar: str | None = "[选项]", **kwargs: Any) -> None:
        super().__init__(*args, options_metavar=options_metavar, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        if rest and not ctx.resilient_parsing:
            raise ExtraArguments(rest, ctx)
        return rest


class Group(_Words, click.Group):
    """The program: its commands listed under 命令, and `main` explaining usage errors in Chinese."""

    command_class = Command

    def __init__(
        self,
        *args: Any,
        options_metavar: str | None = "[选项]",
        subcommand_metavar: str = "命令 [参数]...",
        hints: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, options_metavar=options_metavar, subcommand_metavar=subcommand_metavar, **kwargs)
        self.hints = hints or {}  # words people type for a command of another name: what to write instead

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands in the order they are declared (click sorts them by name)."""
        return list(self.commands)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str()))
        if rows:
            with formatter.section("命令"):
                formatter.write_dl(rows)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's `main`; in standalone mode (the console script, CliRunner) errors are shown here, in Chinese,
        and the process exits with click's codes (2 for a usage error; 130 for Ctrl-C). Whatever the console's code
        page, what is written never fails on a character it lacks (xltool.system.safe_console)."""
        safe_console()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                sys.exit(130)
            click.echo("已中止。", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            show_error(exc)
            sys.exit(exc.exit_code)
        # A command's `raise Exit(n)` comes back as n; one that returns normally gives None.
        sys.exit(code if isinstance(code, int) else 0)


# --- usage errors, explained ----------------------------------------------------------------------------------------


def _quoted(value: Any) -> str:
    return f"'{sanitise_for_terminal(value)}'"


def _param_name(param: Any, ctx: click.Context | None) -> str:
    if isinstance(param, click.Argument):
        return param.make_metavar(ctx) if ctx is not None else (param.metavar or param.name or "")
    return " / ".join(param.opts) if param is not None else ""


def _help_of(param: Any) -> str:
    text = (getattr(param, "help", None) or "").strip()
    return f"：{text}" if text else "。"


def _option(ctx: click.Context | None, name: str) -> click.Parameter | None:
    if ctx is None:
        return None
    return next((p for p in ctx.command.params if name in (*p.opts, *p.secondary_opts)), None)


def _suggested(word: str, ctx: click.Context | None) -> list[str]:
    """What to write for a command word that is not one: the command itself typed in capitals or full width
    (ＣＨＥＣＫ), the group's hint for a word people use for it (annotate → check --annotate, 汇总 → merge), or the
    hint or command closest to a misspelling of either."""
    from difflib import get_close_matches
    from unicodedata import normalize

    if ctx is None or not isinstance(ctx.command, click.Group):
        return []
    commands = ctx.command.list_commands(ctx)
    hints = {normalize("NFKC", k).casefold(): v for k, v in getattr(ctx.command, "hints", {}).items()}
    typed = normalize("NFKC", word).strip().casefold()
    if typed in commands:
        return [typed]
    if typed in hints:
        return [hints[typed]]
    near = get_close_matches(typed, [*commands, *hints], n=2, cutoff=0.75)
    return list(dict.fromkeys(hints.get(w, w) for w in near))


def explain(exc: click.ClickException) -> str:
    """The error in one Chinese sentence (or two: what is wrong, what to do), from the exception's fields."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, WrongValue):
        return f"{_param_name(exc.param, ctx)} 的值 {_quoted(exc.value)} {exc.problem}：请写{exc.wanted}。"
    if isinstance(exc, click.MissingParameter):
        what = "参数" if isinstance(exc.param, click.Argument) else "选项"
        return f"缺少{what} {_param_name(exc.param, ctx)}{_help_of(exc.param)}"
    if isinstance(exc, click.BadParameter):
        return f"{_param_name(exc.param, ctx)} 的值无效。"
    if isinstance(exc, click.NoSuchOption):
        near = sorted(exc.possibilities or ())
        guess = f"是要用 {' 或 '.join(near)} 吗？" if near else "可用的选项见帮助。"
        return f"没有这个选项：{sanitise_for_terminal(exc.option_name)}。{guess}"
    if isinstance(exc, click.NoSuchCommand):
        near = _suggested(exc.command_name, ctx) or list(exc.possibilities or ())
        if near:
            return f"没有这个命令：{_quoted(exc.command_name)}。是要用 {' 或 '.join(map(_quoted, near))} 吗？"
        names = "、".join(ctx.command.list_commands(ctx)) if ctx is not None else ""
        return f"没有这个命令：{_quoted(exc.command_name)}。可用的命令：{names}。"
    if isinstance(exc, click.BadOptionUsage):
        option = _option(ctx, exc.option_name)
        if getattr(option, "is_flag", False):
            return f"选项 {exc.option_name} 是开关，不带值：去掉 = 及其后面的部分。"
        return f"选项 {exc.option_name} 后面缺少值{_help_of(option)}"
    if isinstance(exc, ExtraArguments):
        extra = " ".join(map(_quoted, exc.arguments))
        return f"多余的参数：{extra}。文件名中有空格时，请把整个文件名放在引号里。"
    if isinstance(exc, MissingCommand):
        names = "、".join(ctx.command.list_commands(ctx)) if ctx is not None else ""
        return f"缺少命令：请在后面写上一个命令（{names}）。"
    return "命令行有误，请对照用法检查。"


def show_error(exc: click.ClickException) -> None:
    """A usage error as the user sees it: the usage line, where help is, then 错误：… (all on stderr)."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # the program or command alone: its help
        click.echo(exc.ctx.get_help(), err=True)
        return
    if isinstance(exc, click.UsageError) and ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = f"用 '{ctx.command_path} {ctx.help_option_names[0]}' 查看帮助。\n"
        click.echo(f"{ctx.get_usage()}\n{hint}", err=True)
    click.echo(f"错误：{explain(exc)}", err=True)


# --- text by display width -------------------------------------------------------------------------------------------

_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")
_OPENING = "（［｛【「『“‘《〈"
_CLOSING = "，。、；：！？）］｝】」』”’》〉"
# A file name or path within a word (乡镇报表/2024年汇总.xlsx, 增加/减少): never split.
_FILE_NAME = re.compile(
    r"[^，。、；：！？（）［］【】「」“”‘’《》]*(?:[/\\]|\.[A-Za-z])[^，。、；：！？（）［］【】「」“”‘’《》]*"
)


def display_width(text: str) -> int:
    """Terminal columns of `text`: a Chinese character takes two."""
    if text.isascii():
        return len(_ANSI.sub("", text)) if "\033" in text else len(text)
    from unicodedata import combining, east_asian_width

    text = _ANSI.sub("", text)
    return sum(2 if east_asian_width(c) in "WF" else 0 if combining(c) else 1 for c in text)


def _wide(char: str) -> bool:
    from unicodedata import east_asian_width

    return east_asian_width(char) in "WF"


def _pieces(word: str) -> list[str]:
    """`word` (no spaces) cut where a line may break: between two Chinese characters, except before a closing or
    after an opening punctuation mark; a file name or path, and a note in brackets ([默认：60.0]), stay whole."""
    if word.isascii() or (word[0] == "[" and word[-1] == "]"):
        return [word]
    whole = {i for m in _FILE_NAME.finditer(word) for i in range(m.start() + 1, m.end())}
    pieces, start = [], 0
    for i in range(1, len(word)):
        a, b = word[i - 1], word[i]
        if _wide(a) and _wide(b) and a not in _OPENING and b not in _CLOSING and i not in whole:
            pieces.append(word[start:i])
            start = i
    pieces.append(word[start:])
    return pieces


def _fill(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "") -> str:
    """`text` as lines of at most `width` columns (indents included), broken at spaces and between Chinese
    characters; a piece wider than a whole line is cut by columns."""
    lines: list[str] = []
    line, used, empty = initial_indent, display_width(initial_indent), True
    for word in text.split():
        for k, piece in enumerate(_pieces(word)):
            gap = 1 if k == 0 and not empty else 0
            size = display_width(piece)
            if not empty and used + gap + size > width:
                lines.append(line)
                line, used, empty, gap = subsequent_indent, display_width(subsequent_indent), True, 0
            while empty and used + size > width and len(piece) > 1:  # wider than a line: cut by columns
                cut, room = 1, width - used
                while cut < len(piece) and display_width(piece[: cut + 1]) <= room:
                    cut += 1
                lines.append(line + piece[:cut])
                piece, size = piece[cut:], display_width(piece[cut:])
                line, used = subsequent_indent, display_width(subsequent_indent)
            line += " " * gap + piece
            used += gap + size
            empty = False
    if not empty:
        lines.append(line)
    return "\n".join(lines)


def _join(lines: list[str]) -> str:
    """A paragraph's lines as one: joined by a space, or by nothing between two Chinese characters."""
    text = lines[0]
    for line in lines[1:]:
        text += line if text and line and _wide(text[-1]) and _wide(line[0]) else " " + line
    return text


def wrap_text(
    text: str,
    width: int = 78,
    initial_indent: str = "",
    subsequent_indent: str = "",
    preserve_paragraphs: bool = False,
) -> str:
    """click's `wrap_text` (same arguments; paragraphs kept when asked, a paragraph after a `\\b` line not
    rewrapped) measuring display width and breaking between Chinese characters."""
    text = text.expandtabs()
    if not preserve_paragraphs:
        return _fill(text, width, initial_indent, subsequent_indent)
    paragraphs: list[tuple[int, bool, str]] = []
    lines: list[str] = []
    indent = 0
    for line in [*text.splitlines(), ""]:
        if line:
            if not lines:
                indent = len(line) - len(line.lstrip())
            lines.append(line if lines else line.lstrip())
        elif lines:
            raw = lines[0].strip() == "\b"
            paragraphs.append((indent, raw, "\n".join(lines[1:]) if raw else _join([t.strip() for t in lines])))
            lines = []
    out = []
    for indent, raw, paragraph in paragraphs:
        first, rest = initial_indent + " " * indent, subsequent_indent + " " * indent
        if raw:
            out.append("\n".join((first if i == 0 else rest) + line for i, line in enumerate(paragraph.splitlines())))
        else:
            out.append(_fill(paragraph, width, first, rest))
    return "\n\n".join(out)
