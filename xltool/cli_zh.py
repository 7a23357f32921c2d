"""The command line's framework words in Chinese: click's and typer's usage line, help option, panel titles and
error messages. typer carries its own copy of click with the English text written in, so where no hook exists the
finished English message is translated by pattern. Every patch is guarded: a typer or click version without the
hook keeps its English, and nothing breaks.

Help and usage errors are plain text (the app sets `rich_markup_mode=None`): typer's rich help would load rich,
markdown and pygments (more than the whole rest of `xltool --help`), and its tables cut long Chinese cells with “…”.
click's own formatter is taught display width instead: a Chinese character takes two columns, and a line may break
between two Chinese characters (never before a closing or after an opening punctuation mark, nor inside a file name),
so every word of the help is shown and no line is wider than the terminal.

Nothing here imports a module only to patch it: a module not yet loaded (click's modules typer has not loaded) is
patched the moment it is first imported.

One patch is about time, not words: typer coerces every parameter with a pydantic adapter, built on first use, even
for an option left out (whose value stays None without it); importing pydantic and building the adapters costs more
than the rest of a one-file command's start-up. Here an option left out needs no adapter, and a plain value (a path, a
choice, text, a whole number or decimal as digits) is coerced by typer's own path and choice functions, exactly as its
adapter would (tests/test_startup.py compares the two on every parameter); anything else goes to typer's adapter."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

GETTEXT = {
    "Usage:": "用法：",
    "Show this message and exit.": "显示此帮助并退出。",
    "Arguments": "参数",
    "Options": "选项",
    "Commands": "命令",
    "Aborted!": "已中止。",
    "Error: {message}": "错误：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "default: {default}": "默认：{default}",
    "required": "必填",
}

# Finished English messages of typer's own click copy, and their Chinese.
MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing argument (.+)\.$"), r"缺少参数 \1。"),
    (re.compile(r"^Missing option (.+)\.$"), r"缺少选项 \1。"),
    (re.compile(r"^Missing parameter: (.+)$"), r"缺少参数：\1"),
    (re.compile(r"^No such option: (.+)$"), r"没有这个选项：\1"),
    (re.compile(r"^No such command (.+?)\. Did you mean (.+)\?$"), r"没有这个命令：\1。是要用 \2 吗？"),
    (re.compile(r"^No such command (.+)\.$"), r"没有这个命令：\1。"),
    (re.compile(r"^Got unexpected extra arguments? \((.*)\)$"), r"多余的参数（\1）"),
    (re.compile(r"^Invalid value for (.+?): (?:Value error, )?(.*)$", re.DOTALL), r"\1 的值无效：\2"),
    (re.compile(r"^Invalid value: (.*)$", re.DOTALL), r"值无效：\1"),
    (re.compile(r"(.+) is not one of (.+)\.$"), r"\1 不在可选范围内（\2）。"),
    (re.compile(r"(.+) is not a valid integer\.?$"), r"\1 不是整数。"),
    (re.compile(r"(.+) is not a valid float\.?$"), r"\1 不是数字。"),
    (re.compile(r"(.+) does not exist\.$"), r"\1 不存在。"),
]


def translate_message(text: str) -> str:
    for pattern, chinese in MESSAGES:
        text = pattern.sub(chinese, text)
    return text


def _wrap(cls: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(cls, name, None)
    if original is not None and not getattr(original, "_xltool_zh", False):
        wrapped = make(original)
        wrapped._xltool_zh = True  # type: ignore[attr-defined]
        setattr(cls, name, wrapped)


def install() -> None:
    """Put the Chinese words in place (idempotent): now in the modules already loaded, on first import in the rest."""
    # typer >= 0.17 carries its own click (typer._click); click itself then never runs and is left alone.
    package = "typer._click" if _exists("typer._click") else "click"
    for module in ("core", "exceptions", "formatting", "types", "parser", "decorators", "termui"):
        when_imported(f"{package}.{module}", _patch_click)
    when_imported("typer.core", _patch_typer_core)


def _exists(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _gettext(text: str) -> str:
    return GETTEXT.get(text, text)


def _patch_click(target: ModuleType) -> None:
    if hasattr(target, "_"):
        target._ = _gettext
    for name in dir(target):
        cls = getattr(target, name)
        if isinstance(cls, type) and issubclass(cls, Exception) and "format_message" in vars(cls):
            _wrap(cls, "format_message", lambda f: lambda self: translate_message(f(self)))
    module = target.__name__.rpartition(".")[2]
    if module == "core" and hasattr(target, "Command"):
        _wrap(target.Command, "get_help_option", _chinese_help_option)
        _wrap(target.Command, "get_short_help_str", _whole_short_help)
    if module == "formatting" and hasattr(target, "HelpFormatter"):
        _wrap(target.HelpFormatter, "write_usage", _chinese_usage)
        _wrap(target.HelpFormatter, "write_heading", _chinese_heading)
        if callable(getattr(target, "wrap_text", None)) and callable(getattr(target, "term_len", None)):
            target.term_len, target.wrap_text = display_width, wrap_text
    if module == "exceptions":
        for name in ("ClickException", "UsageError"):
            if hasattr(target, name) and "show" in vars(getattr(target, name)):
                _wrap(getattr(target, name), "show", _chinese_hint)


def _patch_typer_core(typer_core: ModuleType) -> None:
    if hasattr(typer_core, "_"):  # the Arguments / Options / Commands headings, [默认：…] and [必填]
        typer_core._ = _gettext
    for cls in (getattr(typer_core, "_TyperParameter", None), getattr(typer_core, "TyperOption", None)):
        if cls is not None:
            _wrap(cls, "display_type", _chinese_type)
    parameter = getattr(typer_core, "_TyperParameter", None)
    if parameter is not None and "get_runtime_param" in vars(parameter):
        _wrap(parameter, "get_runtime_param", _deferred_coercion)


class _Deferred:
    """typer's coercion of one parameter, built only when there is a value to coerce. A missing value gives what
    typer's own `RuntimeParam.coerce` gives for it (None, or () for a list) without building anything."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        plain = plain_value(value, param, ctx)
        if plain is not TYPER:
            return plain
        return self._build().coerce(value, param=param, ctx=ctx)


TYPER = object()  # plain_value's answer for a value it leaves to typer's adapter
_WHOLE = re.compile(r"0|[1-9][0-9]{0,17}")
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?")


def plain_value(value: Any, param: Any, ctx: Any) -> Any:
    """`value` coerced as typer's adapter for `param` would, without pydantic; TYPER when that is not certain (then
    typer's adapter decides, and gives its own message for a bad value)."""
    try:
        from typing import get_args, get_origin

        from typer._param_types import coerce_cli_choice, coerce_cli_path

        descriptor = param.type_descriptor
        info, annotation = descriptor.parameter_info, descriptor.annotation
        if descriptor.file_annotation is not None or info.parser is not None:
            return TYPER
        if get_origin(annotation) is list:
            if not isinstance(value, (list, tuple)):
                return TYPER
            items = [
                _plain_item(v, get_args(annotation)[0], info, param, ctx, coerce_cli_choice, coerce_cli_path)
                for v in value
            ]
            return TYPER if any(item is TYPER for item in items) else items
        if param.multiple or param.nargs != 1:
            return TYPER
        return _plain_item(value, annotation, info, param, ctx, coerce_cli_choice, coerce_cli_path)
    except Exception:  # a bad value, or a typer without these internals: typer's adapter decides
        return TYPER


def _plain_item(value, annotation, info, param, ctx, coerce_choice, coerce_path) -> Any:
    from enum import Enum
    from pathlib import Path

    if isinstance(annotation, type) and issubclass(annotation, Enum):
        if isinstance(value, annotation) or type(value) is str:
            return coerce_choice(value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
        return TYPER
    numeric = annotation in (int, float)
    if numeric and (info.min is not None or info.max is not None or info.clamp):
        return TYPER
    if type(value) is not str:
        return value if numeric and type(value) is annotation else TYPER  # a default of the very type
    value.encode("utf-8")  # text that is not UTF-8 (lone surrogates) is typer's: it raises here
    if annotation is str:
        return value
    if annotation is int and _WHOLE.fullmatch(value):
        return int(value)
    if annotation is float and _DECIMAL.fullmatch(value):
        return float(value)
    if annotation is Path and info.path_type is None and value and "\0" not in value:
        return coerce_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return TYPER


def _deferred_coercion(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_runtime_param(self):
        if getattr(self, "_runtime_param", None) is not None:  # already built (and cached by typer)
            return self._runtime_param
        return _Deferred(lambda: original(self))

    return get_runtime_param


def when_imported(name: str, patch: Callable[[ModuleType], None]) -> None:
    """Run `patch(module)` on module `name`: now if it is loaded, else right after it is first imported (before the
    importer gets it back). A patch still pending costs every later import one dictionary lookup."""
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
        return
    finder = next((f for f in sys.meta_path if isinstance(f, _PatchOnImport)), None)
    if finder is None:
        finder = _PatchOnImport()
        sys.meta_path.insert(0, finder)
    finder.patches[name] = patch


class _PatchOnImport:
    """A meta path finder that finds nothing itself: for a module with a pending patch it asks the other finders,
    and wraps the loader they return so the patch runs once the module has executed."""

    def __init__(self) -> None:
        self.patches: dict[str, Callable[[ModuleType], None]] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        patch = self.patches.pop(fullname, None)
        if patch is None:
            return None
        if not self.patches and self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


class _PatchingLoader:
    """The module's own loader, with `patch` run after the module executes."""

    def __init__(self, loader: Any, patch: Callable[[ModuleType], None]) -> None:
        self._loader, self._patch = loader, patch

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, is_package, ... as the loader has them
        return getattr(self._loader, name)


def _chinese_help_option(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_help_option(self, ctx):
        option = original(self, ctx)
        if option is not None:
            option.help = "显示此帮助并退出。"
        return option

    return get_help_option


def _chinese_usage(original: Callable[..., Any]) -> Callable[..., Any]:
    def write_usage(self, prog, args="", prefix=None):
        args = args.replace("[OPTIONS]", "[选项]").replace("COMMAND [ARGS]...", "命令 [参数]...")
        return original(self, prog, args, "用法： " if prefix in (None, "Usage: ") else prefix)

    return write_usage


def _chinese_hint(original: Callable[..., Any]) -> Callable[..., Any]:
    def show(self, file=None):
        import io

        buffer = io.StringIO()
        original(self, buffer)
        text = re.sub(r"Try '(.+?)' for help\.", r"用 '\1' 查看帮助。", buffer.getvalue())
        text = re.sub(r"^Usage: ", "用法： ", text, flags=re.MULTILINE)
        text = re.sub(r"^Error: ", "错误：", text, flags=re.MULTILINE)
        (file or sys.stderr).write(text)

    return show


def _chinese_heading(original: Callable[..., Any]) -> Callable[..., Any]:
    def write_heading(self, heading):
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    return write_heading


def _whole_short_help(original: Callable[..., Any]) -> Callable[..., Any]:
    """A command's line in its group's list: the whole first paragraph of its help (click would cut a Chinese
    sentence, which has no spaces, to “...” when it is longer than the line)."""

    def get_short_help_str(self, limit=45):
        return original(self, sys.maxsize)

    return get_short_help_str


TYPES = {"<path>": "<路径>", "<str>": "<文字>", "<int>": "<整数>", "<float>": "<数字>", "<list[Path]>": "<路径…>"}


def _chinese_type(original: Callable[..., Any]) -> Callable[..., Any]:
    def display_type(self, ctx):
        label = original(self, ctx)
        if label == "<bool>":
            return None  # a switch takes no value: no type to show
        return TYPES.get(label, label)

    return display_type


# --- help text by display width --------------------------------------------------------------------------------------

_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")
_OPENING = "（［｛【「『“‘《〈"
_CLOSING = "，。、；：！？）］｝】」』”’》〉"
# A file name or path within a word (乡镇报表/2024年汇总.xlsx, 增加/减少): never split.
_FILE_NAME = re.compile(
    r"[^，。、；：！？（）［］【】「」“”‘’《》]*(?:[/\\]|\.[A-Za-z])[^，。、；：！？（）［］【】「」“”‘’《》]*"
)


def display_width(text: str) -> int:
    """Terminal columns of `text` (click's `term_len` counts characters): a Chinese character takes two."""
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
