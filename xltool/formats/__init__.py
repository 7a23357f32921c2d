"""Formats as plugins: one module per file format, each declaring what it reads and what it writes.

A module in this package exposes `READERS` (a list of `Reader`) and/or `WRITERS` (a list of `Writer`); the registry
finds the modules itself, so a new format is one new module and nothing else. Readers turn a file into a `Page`
(xltool.formats.page); `xltool.reading` turns any Page into a Return. Writers are grouped by purpose:

- workbook: a Return as a locked workbook (template, personalised workbook, roll-up, imported report)
- annotated: a copy of a return with its problems marked
- render: the report's tables (html, docx, md)
- export: a roll-up's long table (csv, json, parquet)
- report: the results of `xltool check` (table, json, csv)

The command line takes its format choices from here.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from xltool import safewrite


@dataclass(frozen=True)
class Reader:
    name: str  # xlsx, ods, xls, text, md, html, docx
    suffixes: tuple[str, ...]  # lower-case, with the dot
    kind: str  # spreadsheet (a filled return) | report (a published report)
    read: Callable[[Path], Any]  # path -> Page; raises ReadError
    sniff: Callable[[Path, bytes], bool] | None = None  # content test for a file under another name
    description: str = ""
    parse: Callable[[bytes], Any] | None = None  # the file's bytes (already read and checked) -> Page


def reader_named(name: str) -> Reader:
    return next(r for r in readers() if r.name == name)


@dataclass(frozen=True)
class Writer:
    purpose: str  # workbook | annotated | render | export | report
    name: str  # the format's name as the command line shows it
    suffix: str  # ".xlsx"; "" for terminal output
    write: Callable[..., Any]
    needs: tuple[str, ...] = field(default=())  # optional modules that must be importable (checked before writing)
    description: str = ""


@cache
def _modules() -> tuple[Any, ...]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name != "page")
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in names)


def readers(kind: str | None = None) -> list[Reader]:
    return [r for m in _modules() for r in getattr(m, "READERS", ()) if kind is None or r.kind == kind]


def writers(purpose: str) -> list[Writer]:
    return [w for m in _modules() for w in getattr(m, "WRITERS", ()) if w.purpose == purpose]


def writer(purpose: str, name: str) -> Writer:
    for w in writers(purpose):
        if w.name == name or w.suffix == name.lower():
            return w
    choices = "、".join(w.name for w in writers(purpose))
    raise FormatError(f"不支持的格式 {name!r}（可用：{choices}）")


def writer_for(purpose: str, path: str | Path) -> Writer:
    """The writer of `purpose` whose suffix the file name has."""
    suffix = Path(path).suffix.lower()
    for w in writers(purpose):
        if w.suffix == suffix:
            return w
    choices = " / ".join(w.suffix for w in writers(purpose) if w.suffix)
    raise FormatError(f"不支持的文件类型 {suffix or '（无扩展名）'}（可用：{choices}）")


def suffixes(kind: str | None = None) -> set[str]:
    return {s for r in readers(kind) for s in r.suffixes}


def reader_for(path: Path) -> Reader | None:
    """The reader for a file: by its suffix; for an unknown suffix, by its content (an HTML page or a Word file saved
    under another name). None when no reader takes it. A reader checks the content itself and says what it got."""
    by_suffix = next((r for r in readers() if path.suffix.lower() in r.suffixes), None)
    if by_suffix is not None:
        return by_suffix
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a pipe or device would block or never end: never opened here
            return None
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    return next((r for r in readers() if r.sniff is not None and r.sniff(path, head)), None)


def missing_needs(w: Writer) -> list[str]:
    """Optional modules a writer needs that are not installed (so the CLI can refuse before writing anything)."""
    out = []
    for module in w.needs:
        try:
            importlib.import_module(module)
        except ImportError:
            out.append(module)
    return out


class NeedsIsolation(BaseException):
    """Raised where a reader would call native code (calamine) while reading in the command's own process: what the
    file needs cannot be bounded there, so it is read again in an isolated worker (xltool.batch). A BaseException,
    so that no reader's `except Exception` turns it into a finding about the file."""


_PURE_PYTHON = [0]  # > 0 while a read runs in the command's own process (xltool.batch.light)


@contextlib.contextmanager
def pure_python_only() -> Iterator[None]:
    """Within: a reader about to call native code raises NeedsIsolation (see native_reader)."""
    _PURE_PYTHON[0] += 1
    try:
        yield
    finally:
        _PURE_PYTHON[0] -= 1


def native_reader(what: str) -> None:
    """Called by a reader before it hands the file to native code (`what`), which may abort the process or allocate
    without bound on a hostile file: refused inside pure_python_only."""
    if _PURE_PYTHON[0]:
        raise NeedsIsolation(what)


class FormatError(ValueError):
    """An output format or file type that no writer handles."""


def text_result(text: str, path: str | Path | None) -> str | Path:
    """What a text writer gives back: the text itself, or the file it was written to."""
    if path is None:
        return text
    return safewrite.write_text(path, text)


def render(ret: Any, fmt: str, path: str | Path | None = None, **options: Any) -> Any:
    """The report's tables in format `fmt`: text (html, md) is returned, and written to `path` when given; docx
    needs `path`."""
    w = writer("render", fmt)
    if path is None and w.name == "docx":
        raise FormatError("docx 输出需要指定文件路径")
    return w.write(ret, Path(path) if path is not None else None, **options)
