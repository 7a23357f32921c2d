"""The terminal: check results as a readable table on the console (rich), a summary line at the end.

Everything a file brings (unit names, file names, messages, cell text) is shown literally: it never goes through
rich markup, and control characters are shown as visible escapes (`sanitise_for_terminal`), so a hostile name cannot
style the output, clear the screen, move the cursor, ring the bell or reverse the text.
"""

from __future__ import annotations

import re
from functools import cache

from xltool.formats import Writer

# C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates and marks, line/paragraph separators, BOM and
# lone surrogates (an undecodable byte in a file name arrives as U+DC80–U+DCFF).
_FORMAT = "\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff"


@cache
def _unsafe(keep_newlines: bool) -> re.Pattern[str]:
    """Compiled when first needed (~1 ms), not whenever the command line starts."""
    if keep_newlines:  # tab and newline kept
        return re.compile(f"[\x00-\x08\x0b-\x1f{_FORMAT}]")
    return re.compile(f"[\x00-\x1f{_FORMAT}]")


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): show the byte itself
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitise_for_terminal(text: object, keep_newlines: bool = False) -> str:
    """`text` as it may reach a terminal: every control character shown as a visible escape (ESC as `\\x1b`, a
    bidi override as `\\u202e`, an undecodable file-name byte as `\\xff`). Tabs and newlines are escaped too unless
    `keep_newlines` (for messages xltool composes itself). Markup is not touched: print the result as rich `Text`
    (or through `rich.markup.escape`), never as markup. Escapes are only added, so applying it twice changes nothing."""
    return _unsafe(bool(keep_newlines)).sub(_visible, str(text))


def _text(*parts: tuple[object, str] | object):
    """A rich Text from plain pieces and (piece, style) pairs; every piece sanitised, none parsed as markup."""
    from rich.text import Text

    out = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        out.append(sanitise_for_terminal(value), style=style)
    return out


WIDE = 100  # below this many columns problems are listed one under another instead of in a table
_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def _counts(problems: list, shown: int, lang: str) -> str:
    """The file's counts, as the JSON summary counts them, and how the blank cells are shown."""
    from xltool.formats._listing import BLANK_ADVICE, BLANK_ADVICE_EN, blank_count

    errors = sum(p.severity == "error" for p in problems)
    warnings = sum(p.severity == "warning" for p in problems)
    blanks = blank_count(problems)
    if lang == "en":
        text = f"{errors} errors, {warnings} warnings"
        if blanks and shown:
            text += f", {blanks} of them blank cells shown as {shown} rows ({BLANK_ADVICE_EN}; --verbose lists each)"
        return text
    text = f"错误 {errors} 项，警告 {warnings} 项"
    if blanks and shown:
        text += f"，其中空白 {blanks} 格已按表格行合为 {shown} 行（空白格{BLANK_ADVICE}；加 --verbose 逐格列出）"
    return text


def write_report(
    reports: list, lang: str = "zh", summary: dict | None = None, console=None, verbose: bool = False, **_: object
) -> None:
    """Each file with its problems: errors first, then warnings, then blank cells one line per table row (every
    cell with `verbose`), then notes; a line of counts under a file's problems, a summary line at the end."""
    from rich.console import Console
    from rich.table import Table

    from xltool.formats._listing import BlankRow, listed

    console = console or Console()
    for r in reports:
        unit = f"（{r.ret.unit.name}，{r.ret.year} 年度，{r.ret.form.notice}格式）" if r.ret and r.ret.unit.name else ""
        console.print(_text((r.path, "bold"), " ", unit, " → ", (r.status_text(lang), "bold")))
        if r.error:  # a file that cannot be read: its one problem
            p = r.error.problem
            console.print(_text("  ", (p.severity.text(lang), _COLOURS[p.severity]), " ", p.code, "：", p.text(lang)))
            continue
        if not r.problems:
            continue
        lines = listed(r.problems, r.ret.form if r.ret else None, verbose)
        rows = sum(isinstance(x, BlankRow) for x in lines)
        if console.width < WIDE:  # a narrow terminal: each problem as a short block, a blank row as one line
            for p in lines:
                severity = (p.severity.text(lang), _COLOURS[p.severity])
                if isinstance(p, BlankRow):
                    console.print(_text("  ", severity, "  ", p.text(lang, advice=False)), overflow="fold")
                    continue
                console.print(_text("  ", severity, "  ", p.where or "—"))
                console.print(_text("      ", p.text(lang)), overflow="fold")
                console.print(_text(("      " + f"[{p.code}]", "dim")))
        else:
            table = Table(show_header=True, header_style="bold", expand=False)
            for col in ("severity", "where", "message", "code") if lang == "en" else ("级别", "位置", "说明", "编号"):
                table.add_column(col, overflow="fold", no_wrap=col in ("级别", "severity"))
            for p in lines:
                severity = _text((p.severity.text(lang), _COLOURS[p.severity]))
                text = p.text(lang, advice=False) if isinstance(p, BlankRow) else p.text(lang)
                table.add_row(severity, _text(p.where), _text(text), _text(p.code))
            console.print(table)
        console.print(_text(("  " + _counts(r.problems, rows, lang), "dim")))
    s = summary or {}
    console.print(
        _text(
            f"共 {s['files']} 个文件：通过 {s['passed']}，有错误 {s['with_errors']}，未填报 {s['not_filled']}，"
            f"无法读取 {s['unreadable']}"
        )
    )


WRITERS = [Writer("report", "table", "", write_report, description="终端表格（默认）")]
