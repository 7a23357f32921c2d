"""Finding inputs: the files under the paths a user gives, and last year's figures for each unit.

Nothing vanishes: every file in a folder is either read or listed with the reason it is not.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from xltool import formats, layout
from xltool.filenames import undecodable
from xltool.labels import norm
from xltool.model import Unit
from xltool.sources import ReadError
from xltool.system import link_loop

IGNORED_REASONS = {
    ".et": "WPS 表格专用格式（.et），请在 WPS 中另存为 .xlsx 后再报送",
    ".wps": "WPS 文字专用格式（.wps），请另存为 .docx",
    ".doc": "旧版 Word 格式（.doc），请另存为 .docx",
    ".docm": "启用宏的 Word 文档（.docm），可能含有宏，未读取；报告请另存为 .docx（不含宏）",
    ".dotm": "启用宏的 Word 模板（.dotm），可能含有宏，未读取；报告请另存为 .docx（不含宏）",
    ".xlsb": "Excel 二进制工作簿（.xlsb），未读取；请在 Excel 中另存为 .xlsx 后再报送",
    ".pdf": "PDF 文件不参与检查和汇总；如需核对已发布报告中的统计表，请用 xltool import 直接指定该文件",
}


# A published annual report among returns (often an e-mail attachment beside the unit's workbook) is not a return:
# summed, it would count the unit twice. Listed with this reason unless the user asks for reports to be read.
REPORT_REASON = "这是已发布的年度报告，不作为报表汇总"


def is_report_name(path: str | Path) -> bool:
    """A file whose suffix is a published report's (docx, pdf, html, md, txt), by name only (nothing is read)."""
    return os.path.splitext(str(path))[1].lower() in _report_suffixes()


@functools.cache
def _report_suffixes() -> frozenset[str]:
    return frozenset(formats.suffixes("report") | {".pdf"})  # PDF is a report even where its reader is not installed


def scan(paths: Iterable[str | Path], reports: bool = True) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to read, and files found in folders that will not be read, each with the reason (nothing vanishes).

    Files named explicitly are always passed on (the reader refuses what is not a regular file, with its reason). In
    folders, every regular file in a format a reader takes is read (recursively, sorted); links are never followed,
    and links, pipes, devices, sockets, unreadable folders, names that are not valid UTF-8, Office lock files, hidden
    files and other formats are listed as ignored. An ignored name that is not valid UTF-8 is listed in visible form
    (each bad byte as \\xNN), since no workbook or terminal can carry it as it is.
    """
    files, ignored = scan_names(paths, reports)
    return [Path(f) for f in files], ignored


def scan_names(paths: Iterable[str | Path], reports: bool = True) -> tuple[list[str], list[tuple[Path, str]]]:
    """`scan` with the files to read as plain strings, in the same order: 100,000 returns cost a few MB, not the
    hundreds of bytes each Path object takes. With `reports=False` (merge), published reports found in folders are
    listed with REPORT_REASON instead of read."""
    readable = formats.suffixes()
    files: list[str] = []
    ignored: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if not p.is_dir():  # a folder named directly is entered even through a link: the user chose it
            files.append(str(p))
            continue
        for f, special in _entries(str(p)):
            name = os.path.basename(f)
            suffix = os.path.splitext(name)[1].lower()
            if special:
                ignored.append((_visible_path(Path(f)), special))
            elif undecodable(f):
                ignored.append((_visible_path(Path(f)), NOT_UTF8_NAME))
            elif name.startswith("~$"):
                ignored.append((Path(f), "Office 临时锁定文件（文件正在被打开），不是报表"))
            elif name.startswith("."):
                ignored.append((Path(f), "隐藏文件，未读取"))
            elif not reports and is_report_name(name):
                ignored.append((Path(f), REPORT_REASON))
            elif suffix in readable:
                files.append(f)
            else:
                reason = IGNORED_REASONS.get(suffix, f"不是报表文件（{suffix or '无扩展名'}），未读取")
                ignored.append((Path(f), reason))
    return files, ignored


NOT_UTF8_NAME = (
    "文件名不是有效的 UTF-8 编码（常见于在 Linux 上解压 Windows 压缩包，可用 unzip -O GBK 解压），未读取；请改名后重试"
)


def _visible_path(path: Path) -> Path:
    """The path as text that can be shown and written: bytes that were not UTF-8 become \\xNN (for listing only)."""
    text = str(path)
    if not undecodable(text):
        return path
    return Path(text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "命名管道（FIFO）"),
    (stat.S_ISCHR, "字符设备"),
    (stat.S_ISBLK, "块设备"),
    (stat.S_ISSOCK, "套接字（socket）"),
)


def _entries(folder: str) -> Iterator[tuple[str, str]]:
    """Everything under `folder` that is not a folder, without following links, in path order (each folder's entries
    sorted by name, a subfolder's contents at its place): (path, "") for a regular file, (path, why it is not read)
    for a link, pipe, device, socket, or a folder that cannot be listed."""
    stack = [iter([folder])]
    top = True
    while stack:
        current = next(stack[-1], None)
        if current is None:
            stack.pop()
            continue
        if not top:
            yield from _entry(current, stack)
            continue
        top = False
        _enter(current, stack)
        if isinstance(stack[-1], str):  # the folder could not be listed
            yield current, stack.pop()


def _enter(folder: str, stack: list) -> None:
    """Push the sorted entries of `folder` (or the reason it cannot be listed) onto the walk."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: os.path.normcase(e.name))
    except OSError as exc:
        stack.append(f"文件夹无法读取（{exc.strerror or exc}），其中的文件未读取")
        return
    stack.append(iter(entries))


def _entry(entry, stack: list) -> Iterator[tuple[str, str]]:
    path = entry.path
    try:
        if entry.is_symlink() or getattr(entry, "is_junction", lambda: False)():
            yield path, _link_reason(Path(path))
        elif entry.is_dir(follow_symlinks=False):
            _enter(path, stack)
            if isinstance(stack[-1], str):
                yield path, stack.pop()
        elif entry.is_file(follow_symlinks=False):
            yield path, ""
        else:
            mode = entry.stat(follow_symlinks=False).st_mode
            kind = next((name for test, name in _SPECIAL_FILES if test(mode)), "特殊文件")
            yield path, f"{kind}，不是普通文件，未读取"
    except OSError as exc:
        yield path, f"无法读取（{exc.strerror or exc}）"


def _link_reason(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    if link_loop(path):
        return f"符号链接循环（指向 {target}，最终又指回自身），未跟随、未读取"
    if not os.path.exists(path):
        return f"失效的符号链接（指向的 {target} 不存在），未读取"
    if os.path.isdir(path):
        return f"指向文件夹 {target} 的符号链接，未跟随，其中的文件未读取"
    return f"符号链接（指向 {target}），未跟随、未读取；请把文件本身放进文件夹"


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """The files `scan` would read."""
    return scan(paths)[0]


# --- outputs ------------------------------------------------------------------------------------------------------


class OutputError(ValueError):
    """An output the command must not or cannot write; the message (Chinese) says why. Raised before any work."""


def check_output(path: str | Path, purpose: str | None = None, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse, before any work is done, an output file that cannot or must not be written: a name that is not valid
    text, an existing folder, a file type no `purpose` writer handles, one of the `inputs`, a file inside an input
    folder (it would be read as a return next time, and could overwrite one), a link, pipe or device, a read-only
    file, or a folder that does not exist or cannot be written."""
    path = Path(path)
    if undecodable(str(path)):
        raise OutputError(f"输出文件名 {_shown(path)} 含有无法识别的字符（不是有效的 UTF-8），请换一个文件名")
    if path.is_dir():
        raise OutputError(f"输出 {path} 是已有的文件夹，请指定文件名（如 {path / ('汇总' + _example(purpose))}）")
    if purpose is not None:
        try:
            formats.writer_for(purpose, path)
        except formats.FormatError as exc:
            raise OutputError(f"输出文件 {path}：{exc}") from None
    target = _resolve(path)
    for given in map(Path, inputs):
        if given.is_dir():
            folder = _resolve(given)
            if folder == target or folder in target.parents:
                raise OutputError(
                    f"输出文件 {path} 位于输入文件夹 {given} 中：下次汇总时会被当作报表读入，还可能覆盖某个单位的报表；"
                    "请写到别的文件夹"
                )
        elif _resolve(given) == target or (given.exists() and path.exists() and os.path.samefile(given, path)):
            raise OutputError(f"输出文件 {path} 就是输入文件之一，不能覆盖；请换一个文件名")
    if os.path.lexists(path):
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            raise OutputError(f"输出文件 {path} 是符号链接，写入会改动它指向的文件；请换一个文件名")
        if not stat.S_ISREG(mode):
            raise OutputError(f"输出 {path} 不是普通文件（管道、设备等），不能写入")
        if not os.access(path, os.W_OK):
            raise OutputError(f"输出文件 {path} 是只读的，无法覆盖")
    folder = path.parent
    if not folder.exists():
        raise OutputError(f"输出文件夹 {folder} 不存在；请先创建，或换一个位置")
    if not folder.is_dir():
        raise OutputError(f"{folder} 不是文件夹，无法在其中写出 {path.name}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"没有写入文件夹 {folder} 的权限")
    return path


def check_output_dir(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse, before any work is done, an output folder that cannot be made or written, or that is (or lies inside)
    one of the input folders (written files could overwrite inputs). It is not created here."""
    path = Path(path)
    if undecodable(str(path)):
        raise OutputError(f"输出文件夹名 {_shown(path)} 含有无法识别的字符（不是有效的 UTF-8），请换一个名称")
    if os.path.lexists(path) and not path.is_dir():
        raise OutputError(f"{path} 已存在，但不是文件夹")
    target = _resolve(path)
    for given in map(Path, inputs):
        if given.is_dir() and (_resolve(given) == target or _resolve(given) in target.parents):
            raise OutputError(
                f"输出文件夹 {path} 位于输入文件夹 {given} 中（或就是它），写出的文件可能覆盖输入；请换一个文件夹"
            )
    existing = path
    while not existing.exists():  # the nearest folder that exists is where the new folders would be made
        if existing.parent == existing:
            break
        existing = existing.parent
    if os.path.lexists(existing) and not existing.is_dir():
        raise OutputError(f"无法创建文件夹 {path}：{existing} 不是文件夹")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"没有写入 {existing} 的权限，无法写出到 {path}")
    return path


def _resolve(path: Path) -> Path:
    """The path with links resolved, as far as they can be (a link loop or an unreadable folder stops resolving)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _example(purpose: str | None) -> str:
    suffixes = [w.suffix for w in formats.writers(purpose) if w.suffix] if purpose else []
    return ".xlsx" if ".xlsx" in suffixes or not suffixes else suffixes[0]


def _shown(path: Path) -> str:
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


# --- last year ----------------------------------------------------------------------------------------------------


@dataclass
class LastYear:
    """One unit's figures from last year, and where they came from."""

    values: dict[str, Decimal]
    source: str
    form_id: str  # last year's form
    unit: str = ""  # whose figures: the unit's name (or code) as last year's file gives it


def load_previous(path: Path) -> dict[str, LastYear]:
    """Last year's figures per unit (keys "code:…" and "name:…"): from returns, from a roll-up's 明细 sheet (one entry
    per unit) and the roll-up itself (its own unit), or a folder of any of these. A lone return is also kept as "only".

    Read in this process without limits: commands read last year's files through xltool.guarded.load_previous, which
    runs `last_year_of` for each file in an isolated worker."""
    out: dict[str, LastYear] = {}
    files = expand([path])
    for file in files:
        out.update(last_year_of(str(file), len(files) == 1))
    return out


def last_year_of(file: str, alone: bool = False) -> list[tuple[str, LastYear]]:
    """The entries one file adds to `load_previous`, in order (a later one wins); none when it cannot be read.
    `alone`: the file is the only one given, so a unit's own file is also kept as "only" (paired with any unit)."""
    from xltool.reading import assemble, read_page

    path = Path(file)
    try:
        page = read_page(path)
        ret = assemble(page)
    except ReadError:
        return []
    out: dict[str, LastYear] = {}
    values = {k: v for k, v in ret.values.items() if isinstance(v, Decimal)}
    if ret.meta.get("kind") == layout.ROLLUP_KIND and layout.DETAIL_SHEET in page.sheet_names:
        for unit, unit_values in _detail_rows(page.sheet(layout.DETAIL_SHEET)):
            _index(out, unit, LastYear(unit_values, f"{path.name}（明细）", ret.form.id))
    _index(out, ret.unit, LastYear(values, path.name, ret.form.id))
    if alone and ret.meta.get("kind") != layout.ROLLUP_KIND:  # one unit's own file: pair it with any
        out["only"] = LastYear(values, path.name, ret.form.id, ret.unit.name or ret.unit.code)
    return list(out.items())


def find_last_year(last_year: dict[str, LastYear], unit: Unit, any_unit: bool = True) -> LastYear | None:
    """This unit's figures: by code, then by name; a lone last-year return matches any unit unless `any_unit` is off."""
    found = last_year.get("code:" + unit.code) if unit.code else None
    found = found or last_year.get("name:" + norm(unit.name))
    return found or (last_year.get("only") if any_unit else None)


def other_unit(last_year: dict[str, LastYear], unit: Unit) -> LastYear | None:
    """The lone last-year return when it is another unit's than `unit` (both named, neither name nor code shared): it
    is still paired with `unit` (find_last_year), but whoever checks should know whose figures it compared with."""
    only = last_year.get("only")
    if only is None or not only.unit or not (unit.name or unit.code):
        return None
    return only if find_last_year(last_year, unit, any_unit=False) is None else None


def _index(out: dict[str, LastYear], unit: Unit, last: LastYear) -> None:
    if unit.code:
        out["code:" + unit.code] = last
    if unit.name:
        out["name:" + norm(unit.name)] = last


def _detail_rows(rows: list[list[object]]) -> list[tuple[Unit, dict[str, Decimal]]]:
    """A roll-up's 明细 sheet: one row per unit (name and code in the first two columns), a column per input key.

    The keys are found in brackets at the end of header cells: either a hidden row of bare keys (`[apply.new.total]`)
    followed by the Chinese header row, or (roll-ups of earlier versions) the header itself (`label\n[key]`). The unit
    rows follow the header.
    """
    across = _detail_columns(rows)
    if across is not None:
        return across
    found = next(((i, row) for i, row in enumerate(rows[:10]) if any(map(_bracket_key, row))), None)
    if found is None:
        return []
    index, header = found
    keys = [_bracket_key(h) for h in header]
    bare = all(_BARE_KEY.fullmatch(h.strip()) for h, k in zip(header, keys, strict=False) if k and isinstance(h, str))
    first = index + 2 if bare else index + 1  # bare keys: the Chinese header row comes next
    out = []
    for row in rows[first:]:
        if not row or not any(v not in (None, "") for v in row):
            continue
        code = row[1] if len(row) > 1 else ""
        code = str(int(code)) if isinstance(code, float) else str(code or "")
        values = {
            k: Decimal(repr(v))
            for k, v in zip(keys, row, strict=False)
            if k and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        out.append((Unit(name=str(row[0] or ""), code=code), values))
    return out


def _detail_columns(rows: list[list[object]]) -> list[tuple[Unit, dict[str, Decimal]]] | None:
    """明细 of a roll-up of a few units (xltool.template.review.detail, across layout): a column per unit, a row per
    input key, the key in brackets in the first column; the rows whose first cell is [unit] and [code] name the units.
    None when the sheet is not laid out that way."""
    marks = {row[0]: row for row in rows[:10] if row and row[0] in ("[unit]", "[code]")}
    if "[unit]" not in marks:
        return None
    names, codes = marks["[unit]"], marks.get("[code]", [])
    columns = [c for c in range(1, len(names)) if names[c] not in (None, "")][1:]  # past the header title (单位)
    values: dict[int, dict[str, Decimal]] = {c: {} for c in columns}
    for row in rows:
        key = _bracket_key(row[0]) if row else None
        if not key or row[0] in marks:
            continue
        for c in columns:
            v = row[c] if c < len(row) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values[c][key] = Decimal(repr(v))
    out = []
    for c in columns:
        code = codes[c] if c < len(codes) else ""
        code = str(int(code)) if isinstance(code, float) else str(code or "")
        out.append((Unit(name=str(names[c] or ""), code=code), values[c]))
    return out


_BARE_KEY = re.compile(r"\[[A-Za-z0-9_.\-]+\]")
_KEY_AT_END = re.compile(r"\[([A-Za-z0-9_.\-]+)\]\s*$")


def _bracket_key(header: object) -> str | None:
    """The cell key in brackets at the end of a 明细 header cell, if any."""
    if not isinstance(header, str):
        return None
    found = _KEY_AT_END.search(header)
    return found.group(1) if found else None
