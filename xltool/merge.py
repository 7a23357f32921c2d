"""Compile many returns into a roll-up in the same official layout, losing nothing and explaining every exclusion.

Pipeline: inspect every file (in isolated worker processes, xltool.workers: read, re-validate, hash; a file that hangs,
crashes or exhausts its worker costs only itself) → decide year and form → reject unreadable, invalid, 未填报,
mismatched, unauthorised roll-ups (with a roster), double-counted, conflicting and duplicate inputs with a reason →
sum exactly (Decimal) → flag copied returns → write the official tables with the review sheets (xltool.template.review:
汇总说明 and 概览 in front; 明细 / 来源 / 未汇总 / 说明汇总 (and 名册核对) after them). A roll-up is itself a valid
return, and the same inputs always give the same bytes: nothing in it comes from the clock.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import os
import pickle
import re
import stat
import sys
import tempfile
import threading
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from xltool import formats, forms, layout
from xltool import workers as pool
from xltool.codes import Code, describe
from xltool.discover import scan_names
from xltool.forms import Form, form_by_id
from xltool.labels import norm
from xltool.layout import NOTES_SHEET, REJECTED_SHEET, ROLLUP_KIND, ROSTER_SHEET, SOURCE_SHEET
from xltool.model import Invalid, Return, Unit
from xltool.outcomes import MemberStatus, Outcome, RosterStatus, Severity
from xltool.roster import RosterEntry
from xltool.sources import ReadError

MERGED_TEXTS = {s.zh for s in MemberStatus}  # how a roll-up's 来源 sheet marks the files it summed
SOURCE_HEADER = ["层级", "所属汇总", "文件", "单位", "代码", "格式", "年度", "填报日期", "状态", "原因", "SHA-256"]
TIME_LIMIT, MEMORY_LIMIT = pool.TIME_LIMIT, pool.MEMORY_LIMIT  # per file (seconds), per worker (bytes)
ROLLUP_TYPE_WORD = "汇总"  # with --roster, only a unit whose 类型 contains this word may send a roll-up
COPY_NAMED = 5  # other units named in a COPIED-RETURN notice; more are counted
COPY_MIN_NONZERO = 5  # identical returns are flagged only with at least this many non-zero cells (zeros are common)
HASH_LIMIT = 256 * 1024 * 1024  # files larger than this are listed without a SHA-256 (reading them is pointless)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LEVEL = re.compile(r"[1-9][0-9]?")  # a 来源 level: ASCII digits, 1-99
_WHOLE = frozenset((int, type(None)))  # a column of only these is summed in C (_sum)
_SUM_BATCH = 256  # rows _sum adds column by column at a time
_PREAD = getattr(os, "pread", None)  # not on Windows: seek and read there
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")  # a 填报日期 as clerks type it


class Rows:
    """`count` rows made on demand by `make()` (each time the sheet iterates them): a review sheet of a large roll-up
    is streamed from the spool, never held."""

    def __init__(self, count: int, make: Callable[[], Iterable]) -> None:
        self.count, self.make = count, make

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator:
        return iter(self.make())


class MergeError(Exception):
    """The merge as a whole cannot go on (no usable input, or --strict with errors)."""


# Kept in the spool, not in memory: the value row and the other long fields, and what is only shown (path, unit name,
# date) or rarely compared (mtime); read back when used, one record cached.
_HEAVY = ("row", "no_items", "explanations", "errors", "provenance", "unit", "path", "mtime")
_LIGHT = (
    "_sha", "error", "form_id", "year", "unit_code", "name_key", "error_count", "first_error", "warnings",
    "explained", "not_filled", "kind", "merged", "digest", "nonzero", "notes", "sources",
)  # fmt: skip


class Spool:
    """The inspected files' full records (value rows, explanations, errors, a roll-up's 来源), pickled one after the
    other in an anonymous temporary file; the merge keeps only offsets, so its memory does not grow with the rows."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="xltool-spool-")  # noqa: SIM115 - lives as long as the roll-up
        self.end = 0
        self.starts = array("q")  # where each record starts, ascending (a record ends where the next one starts)
        self.reading = False
        self.last: tuple[int, dict] = (-1, {})

    def add(self, blob: bytes) -> int:
        if self.reading:
            self.file.seek(self.end)
            self.reading = False
        offset = self.end
        self.file.write(blob)
        self.end += len(blob)
        self.starts.append(offset)
        return offset

    def load(self, offset: int) -> dict:
        """The record at `offset` (the last one read is kept: a sheet row reads several fields of one file), read
        in one call of its exact size (a roll-up's sheets read every record several times)."""
        if self.reading and offset == self.last[0]:
            return self.last[1]
        if not self.reading:
            self.file.flush()
            self.reading = True
        at = bisect.bisect_right(self.starts, offset)
        size = (self.starts[at] if at < len(self.starts) else self.end) - offset
        if _PREAD is not None:
            data = _PREAD(self.file.fileno(), size, offset)
        else:
            self.file.seek(offset)
            data = self.file.read(size)
        record = pickle.loads(data)
        self.last = (offset, record)
        return record


class Inspected:
    """What one input file contributes. In memory only the few fields that deciding year, form, duplicates,
    conflicts, copies and the roster need (`_LIGHT`); the value row and the other long fields (`_HEAVY`) are read
    from the spool when used (and may be set, e.g. in tests: a set field is kept with the object)."""

    __slots__ = (*_LIGHT, "_spool", "_offset", "_heavy")

    def __init__(self, path: str, sha256: str = "", error: tuple[str, str] | None = None, **fields) -> None:
        self._spool: Spool | None = None
        self._offset = 0
        self._heavy: dict | None = None
        self.path, self.error = path, error
        self.sha256 = sha256  # kept as 32 bytes
        self.form_id, self.year, self.unit_code, self.name_key = "", 0, "", ""
        self.error_count, self.first_error, self.warnings, self.explained = 0, "", 0, 0
        self.not_filled, self.kind = False, "template"
        self.merged: tuple = ()  # (SHA-256, unit, code) of each file a roll-up says it summed
        self.digest: bytes | None = None  # the value row's fingerprint when it has COPY_MIN_NONZERO non-zero cells
        self.nonzero = self.notes = self.sources = 0  # non-zero cells; 说明汇总 rows; a roll-up's 来源 rows
        for key, value in fields.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"Inspected({self.path!r}, unit={self.unit_name!r}, error={self.error!r})"

    def __copy__(self) -> Inspected:
        other = Inspected.__new__(Inspected)
        for key in self.__slots__:
            setattr(other, key, getattr(self, key))
        return other

    def __getstate__(self):
        return {key: getattr(self, key) for key in self.__slots__ if key != "_spool"} | {"_heavy": self.heavy()}

    def __setstate__(self, state) -> None:
        self._spool, self._offset = None, 0
        for key, value in state.items():
            setattr(self, key, value)

    def heavy(self) -> dict:
        """Every long field: from the spool, with the ones set on this object on top."""
        base = self._spool.load(self._offset) if self._spool is not None else {}
        return base | (self._heavy or {})

    def _get(self, key: str, default):
        if self._heavy is not None and key in self._heavy:
            return self._heavy[key]
        if self._spool is not None:
            return self._spool.load(self._offset).get(key, default)
        return default

    def _set(self, key: str, value) -> None:
        self._heavy = {**(self._heavy or {}), key: value}  # copy on write: copies share nothing they change

    row = property(lambda self: self._get("row", ()), lambda self, v: self._set("row", tuple(v)))
    no_items = property(lambda self: self._get("no_items", []), lambda self, v: self._set("no_items", v))
    explanations = property(lambda self: self._get("explanations", {}), lambda self, v: self._set("explanations", v))
    errors = property(lambda self: self._get("errors", []), lambda self, v: self._set("errors", v))

    path = property(lambda self: self._get("path", ""), lambda self, v: self._set("path", v))
    mtime = property(lambda self: self._get("mtime", 0.0), lambda self, v: self._set("mtime", v))

    @property
    def unit(self) -> dict[str, str]:
        return self._get("unit", {})

    @unit.setter
    def unit(self, value: dict[str, str]) -> None:
        self._set("unit", dict(value))
        self.unit_code = value.get("code", "")
        self.name_key = "" if self.unit_code else norm(value.get("name", ""))  # what finds a unit without a code

    @property
    def unit_name(self) -> str:
        return self.unit.get("name", "")

    @property
    def date(self) -> str:
        return self.unit.get("date", "")

    @property
    def provenance(self) -> list[list[str]]:
        """A roll-up's own 来源 rows."""
        return self._get("provenance", [])

    @provenance.setter
    def provenance(self, rows: list[list[str]]) -> None:
        self._set("provenance", rows)
        self.sources = len(rows)
        self.merged = tuple((sha, name, code) for sha, name, code, status in map(_row, rows) if status in MERGED_TEXTS)

    @property
    def sha256(self) -> str:
        return self._sha.hex()

    @sha256.setter
    def sha256(self, value: str) -> None:
        self._sha = bytes.fromhex(value) if value else b""

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def values(self) -> dict[str, Decimal | Invalid]:
        """The non-blank cells by key (built on demand from the compact row)."""
        keys = [c.key for c in form_by_id(self.form_id).inputs] if self.form_id else []
        return {
            k: Decimal(v) if isinstance(v, int) else v for k, v in zip(keys, self.row, strict=False) if v is not None
        }

    def pack(self) -> tuple[tuple, bytes]:
        """(light fields, pickled long fields): what a worker sends back; the parent spools the bytes unread."""
        heavy = self.heavy()
        return tuple(getattr(self, k) for k in _LIGHT), pickle.dumps(heavy, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def unpack(cls, light: tuple, spool: Spool, blob: bytes) -> Inspected:
        out = cls.__new__(cls)
        for key, value in zip(_LIGHT, light, strict=True):
            setattr(out, key, value)
        out._spool, out._offset, out._heavy = spool, spool.add(blob), None
        out.form_id, out.kind = sys.intern(out.form_id), sys.intern(out.kind)  # one string for 100,000 files
        return out


def _packed(inspect: Callable[[str], Inspected], path: str) -> tuple[tuple, bytes]:
    """Runs in the worker: inspect one file and pack the result (`inspect` is passed in, so a replaced
    inspect_file reaches the workers)."""
    return inspect(path).pack()


def inspect_file(path: str) -> Inspected:
    """Read, re-validate and hash one file (runs in worker processes); the file's bytes are read once."""
    from xltool.reading import assemble, read_page

    out = Inspected(path)
    p = Path(path)
    try:
        out.mtime = p.stat().st_mtime
    except OSError as exc:
        out.error = (Code.UNREADABLE, f"无法打开文件：{exc.strerror or exc}")
        return out
    try:
        page = read_page(p)
        out.sha256 = page.sha256
        ret = assemble(page)
    except ReadError as exc:
        out.sha256 = out.sha256 or _stream_hash(p)
        out.error = (exc.code, exc.message)
        return out
    out.sha256 = out.sha256 or _stream_hash(p)
    out.form_id, out.year, out.unit = sys.intern(ret.form.id), ret.year, vars(ret.unit).copy()
    row = tuple(_compact(ret.values.get(c.key)) for c in ret.form.inputs)
    out.row = row
    out.nonzero = sum(isinstance(v, (int, Decimal)) and v != 0 for v in row)
    out.digest = _row_digest(row) if out.nonzero >= COPY_MIN_NONZERO else None
    out.no_items, out.explanations = sorted(ret.no_items), dict(ret.explanations)
    out.notes = sum(rule.id in ret.explanations for rule in ret.form.rules)
    out.not_filled = ret.not_filled
    errors = []
    for problem in ret.check():
        if problem.severity is Severity.ERROR:
            errors.append(_error_text(problem))
        elif problem.severity is Severity.WARNING:
            out.warnings += 1
        elif problem.outcome is Outcome.EXPLAINED:
            out.explained += 1
    out.errors, out.error_count, out.first_error = errors, len(errors), errors[0] if errors else ""
    out.kind = ret.meta.get("kind", "template")
    if out.kind == ROLLUP_KIND and SOURCE_SHEET in page.sheet_names:
        out.provenance = _provenance(page.sheet(SOURCE_SHEET))
    return out


def _error_text(problem) -> str:
    """An error as a person reads it: the place in Chinese (“三、依申请公开”表 D6 格), then the message, which names
    the rule's title or the cell's labels (never the bare rule id)."""
    if problem.sheet and problem.cell:
        return f"“{problem.sheet}”表 {problem.cell} 格：{problem.message}"
    if problem.sheet:
        return f"“{problem.sheet}”表：{problem.message}"
    return problem.message


def _provenance(rows: list[list[object]]) -> list[list[str]]:
    """A roll-up's 来源 rows in SOURCE_HEADER order; a 来源 sheet with other columns (a roll-up written by an earlier
    version: SHA-256 fourth, no 填报日期) is read by its header names."""
    if not rows:
        return []
    header = [_text(v).strip() for v in rows[0]]
    if "SHA-256" in header and header[: len(SOURCE_HEADER)] != SOURCE_HEADER:
        where = [header.index(name) if name in header else None for name in SOURCE_HEADER]

        def pick(row: list[object]) -> list[str]:
            return [_text(row[i]) if i is not None and i < len(row) else "" for i in where]

    else:

        def pick(row: list[object]) -> list[str]:
            return [_text(v) for v in row]

    return [pick(row) for row in rows[1:] if any(_text(v) for v in row)]


def _stream_hash(path: Path) -> str:
    """SHA-256 in chunks of a regular file up to HASH_LIMIT; "" when it is larger, not a file, or cannot be read."""
    digest = hashlib.sha256()
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > HASH_LIMIT:
            return ""
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def _compact(v: Decimal | Invalid | None) -> int | Decimal | Invalid | None:
    if isinstance(v, Decimal) and v == v.to_integral_value():
        return int(v)
    return v


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


@dataclass(slots=True)
class Member:
    info: Inspected
    status: MemberStatus


@dataclass
class Rejected:
    info: Inspected
    code: str
    reason: str

    @property
    def text(self) -> str:
        """The reason in Chinese: the catalogue's meaning of the code, then the particulars."""
        return f"{describe(self.code)}：{self.reason}"


@dataclass
class Notice:
    """Something the county should look at about a merged return (it was still merged), e.g. COPIED_RETURN."""

    info: Inspected
    code: Code
    reason: str


@dataclass
class RollUp:
    form: Form
    year: int
    unit: Unit
    members: list[Member]
    rejected: list[Rejected]
    total: Return
    roster: list[RosterEntry] = field(default_factory=list)
    unexpected: list[Member] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # warnings on merged returns, listed in 说明汇总
    roster_rejected: dict[int, Rejected] = field(default_factory=dict)  # roster index -> why its file was left out

    @property
    def not_merged(self) -> list[Rejected]:
        """Returns that were read but left out (files that are not returns at all are only listed)."""
        return [r for r in self.rejected if r.code != Code.IGNORED]

    @property
    def ignored(self) -> list[Rejected]:
        """Files in the input folders that are not returns (listed, never read)."""
        return [r for r in self.rejected if r.code == Code.IGNORED]

    @property
    def missing(self) -> list[RosterEntry]:
        return [e for e in self.roster if e.status is RosterStatus.MISSING]

    @property
    def meta(self) -> dict[str, str]:
        """The roll-up's _meta: kind and the counts that layout.rollup_line turns into 汇总 N 个单位（应报 M，缺报 K，
        未汇总 J）; expected and missing only when a roster was given."""
        out = {
            "kind": ROLLUP_KIND,
            "members": str(len(self.members)),
            "rejected": str(len(self.rejected)),
            "not_merged": str(len(self.not_merged)),
        }
        if self.roster:
            out |= {"expected": str(len(self.roster)), "missing": str(len(self.missing))}
        return out

    @property
    def line(self) -> str:
        """汇总 N 个单位（应报 M，缺报 K，未汇总 J）."""
        return layout.rollup_line(self.meta)

    @property
    def data_date(self) -> str:
        """The latest 填报日期 of the members (as 2026年1月20日), "" when none is a readable date: the roll-up's
        date comes from its data, so the same inputs give the same bytes."""
        dates = []
        for m in self.members:
            found = _DATE.search(m.info.date or "")
            if found:
                y, mo, d = map(int, found.groups())
                if 1900 <= y <= 9999 and 1 <= mo <= 12 and 1 <= d <= 31:
                    dates.append((y, mo, d))
        if not dates:
            return ""
        y, mo, d = max(dates)
        return f"{y}年{mo}月{d}日"

    def to_frame(self):
        """Tidy long table for analysts: one row per unit and input cell."""
        import pandas as pd

        rows = []
        for m in self.members:
            for cell, v in zip(self.form.inputs, m.info.row, strict=True):
                rows.append(
                    {
                        "unit": m.info.unit_name,
                        "code": m.info.unit_code,
                        "year": self.year,
                        "key": cell.key,
                        "label": cell.label,
                        "value": None if v is None or isinstance(v, Invalid) else Decimal(v),
                        "source": m.info.name,
                    }
                )
        return pd.DataFrame(rows, columns=["unit", "code", "year", "key", "label", "value", "source"])

    def export(self, path: str | os.PathLike) -> Path:
        """Write the long table with the `export` writer the suffix names (.csv / .json / .parquet)."""
        path = Path(path)
        try:
            writer = formats.writer_for("export", path)
        except formats.FormatError as exc:
            raise MergeError(str(exc)) from None
        missing = formats.missing_needs(writer)
        if missing:
            raise MergeError(f"导出 {writer.name} 需要安装 {'、'.join(missing)}（pip install {' '.join(missing)}）")
        return writer.write(self.to_frame(), path)

    def write(self, path: str | os.PathLike, password: str | None = None) -> Path:
        writer = formats.writer_for("workbook", path)  # .xlsx, or .ods via LibreOffice
        return writer.write(self.total, Path(path), password=password, extra=self.sheets(), meta=self.meta)

    def sheets(self) -> list:
        """The review sheets (xltool.template.review): 汇总说明 and 概览 in front, then 明细, 来源, 未汇总, 说明汇总
        and, with a roster, 名册核对."""
        from xltool.template import review

        members = self.members
        summary = review.Summary(
            self.meta,
            data_date=self.data_date,
            with_errors=sum(m.status is MemberStatus.MERGED_WITH_ERRORS for m in members),
            ignored=len(self.ignored),
            unexpected=len(self.unexpected),
            notices=len(self.notices),
            roster=bool(self.roster),
            missing=[[e.name, e.code, e.type] for e in self.missing],
            refused=[[r.info.name, r.info.unit_name, r.text, r.code] for r in self.not_merged],
        )
        overview = review.OverviewSheet(
            Rows(
                len(members),
                lambda: (
                    review.OverviewRow(
                        m.info.unit_name,
                        m.info.unit_code,
                        m.status.zh,
                        m.info.row,
                        m.info.error_count,
                        m.info.warnings,
                        m.info.explained,
                    )
                    for m in members
                ),
            )
        )
        detail = review.DetailSheet(
            Rows(
                len(members),
                lambda: (
                    review.DetailRow(m.info.unit_name, m.info.unit_code, _file_name(m.info), m.status.zh, m.info.row)
                    for m in members
                ),
            )
        )
        Col = review.Column
        sources = review.ListSheet(
            SOURCE_SHEET,
            [
                Col("层级", 5, "number"),
                Col("所属汇总", 12),
                Col("文件", 16),
                Col("单位", 16),
                Col("代码", 20, "code"),
                Col("格式", 12, "code"),
                Col("年度", 6, "number"),
                Col("填报日期", 11),
                Col("状态", 9, "status"),
                Col("原因", 26),
                Col("SHA-256", 34, "code"),
            ],
            Rows(
                sum(1 + m.info.sources for m in members) + len(self.rejected),
                self._source_rows,
            ),
            repeat_cols=3,
        )
        rejected = review.ListSheet(
            REJECTED_SHEET,
            [
                Col("文件", 18),
                Col("单位", 16),
                Col("原因", 36),
                Col("原因代码", 11, "code"),
                Col("SHA-256", 34, "code"),
            ],
            Rows(
                len(self.rejected),
                lambda: ([r.info.name, r.info.unit_name, r.text, r.code, r.info.sha256] for r in self.rejected),
            ),
            repeat_cols=1,
        )
        notes = review.ListSheet(
            NOTES_SHEET,
            [
                Col("单位", 18),
                Col("代码", 20, "code"),
                Col("规则编号", 12, "code"),
                Col("检查内容", 30),
                Col("说明", 30),
            ],
            Rows(sum(m.info.notes for m in members) + len(self.notices), self._note_rows),
            repeat_cols=1,
            empty="无：各单位没有为警告填写说明，也没有数据雷同等提醒",
        )
        out = [summary, overview, detail, sources, rejected, notes]
        if self.roster:
            rows = []
            for i, e in enumerate(self.roster):
                refused = self.roster_rejected.get(i)
                file = refused.info.name if refused else self._file_of(e)
                rows.append(
                    [e.name, e.code, e.type, e.status.zh, file, refused.text if refused else "", _code(refused)]
                )
            rows += [
                [m.info.unit_name, m.info.unit_code, "", "名册外单位", m.info.name, "", ""] for m in self.unexpected
            ]
            out.append(
                review.ListSheet(
                    ROSTER_SHEET,
                    [
                        Col("单位", 20),
                        Col("代码", 20, "code"),
                        Col("类型", 8),
                        Col("状态", 10, "status"),
                        Col("文件", 16),
                        Col("原因", 30),
                        Col("原因代码", 11, "code"),
                    ],
                    rows,
                    repeat_cols=1,
                )
            )
        return out

    def _file_of(self, entry: RosterEntry) -> str:
        """The file merged for a roster unit ("" when none was)."""
        if entry.status not in (RosterStatus.MERGED, RosterStatus.MERGED_WITH_ERRORS):
            return ""
        entry_of = _roster_lookup([entry])
        return next((m.info.name for m in self.members if entry_of(m.info) is entry), "")

    def _note_rows(self) -> Iterator[list[object]]:
        """说明汇总: every explanation a member wrote (read from the spool), then the notices."""
        rules = self.form.rules
        for m in self.members:
            if not m.info.notes:
                continue
            explanations = m.info.explanations
            for rule in rules:
                if rule.id in explanations:
                    yield [m.info.unit_name, m.info.unit_code, rule.id, rule.title, explanations[rule.id]]
        for n in self.notices:
            yield [n.info.unit_name, n.info.unit_code, n.code, describe(n.code), n.reason]

    def _source_rows(self) -> Iterator[list[object]]:
        for m in self.members:
            i = m.info
            name = _file_name(i)
            yield [1, "", name, i.unit_name, i.unit_code, i.form_id, i.year, i.date, m.status.zh, "", i.sha256]
            if not i.sources:
                continue
            for nested in i.provenance:  # a roll-up's own sources, one level deeper
                level = int(nested[0]) + 1 if nested and _LEVEL.fullmatch(nested[0]) else 2  # ASCII digits only
                yield [level, (nested[1] if len(nested) > 1 else "") or name, *nested[2 : len(SOURCE_HEADER)]]
        for r in self.rejected:
            i = r.info
            status = "已忽略" if r.code == Code.IGNORED else "未汇总"
            yield [1, "", i.name, i.unit_name, i.unit_code, i.form_id, i.year or "", i.date, status, r.text, i.sha256]


def _file_name(info: Inspected) -> str:
    """info.name without making a Path (a roll-up names every file twice): os.path.basename gives the same for the
    normalised paths scan_names finds; "" or "." (a path ending in a separator or a dot) is left to pathlib."""
    name = os.path.basename(info.path)
    return name if name and name != "." else info.name


def _code(refused: Rejected | None) -> str:
    return refused.code if refused else ""


def inspect_all(
    files: list[Path],
    workers: int | None = None,
    progress: Callable[[Iterable[Inspected], int], Iterable[Inspected]] | None = None,
    time_limit: float | None = TIME_LIMIT,
    memory_limit: int | None = MEMORY_LIMIT,
) -> list[Inspected]:
    """Inspect files in isolated worker processes, results in input order (xltool.workers).

    `workers`: None = one per CPU core; 0 = in this process (no isolation and no time limit: tests, debugging). A
    file that hangs, crashes its worker or needs too much memory is an Inspected with error TIME_LIMIT,
    WORKER_CRASHED or MEMORY_LIMIT; every other file is still read. MergeError when no worker can start at all.
    """
    paths = [str(f) for f in files]
    spool = Spool()
    results = pool.run(
        functools.partial(_packed, inspect_file),  # looked up now: a replaced inspect_file reaches the workers
        paths,
        _not_inspected,
        workers=workers,
        time_limit=time_limit,
        memory_limit=memory_limit,
        initializer=register_forms,
        initargs=(forms.worker_forms(),),  # `--form` files (and the plugin forms found here): workers know them too
    )
    entries = (r if isinstance(r, Inspected) else Inspected.unpack(r[0], spool, r[1]) for r in results)
    try:
        return list(progress(entries, len(paths)) if progress else entries)
    except pool.WorkerError as exc:
        raise MergeError(str(exc)) from None


def _load_writer() -> None:
    """Import the roll-up writer (xlsxwriter and xltool.template: about 0.1 s) while the workers read."""
    with contextlib.suppress(Exception):  # an import that fails here fails again, with its message, when writing
        import xltool.template.review
        import xltool.template.xlsx  # noqa: F401


def register_forms(form_files: list[Path]) -> None:
    """Worker initializer: the `--form` files of the parent process."""
    for f in form_files:
        forms.register_form_file(f)


def _not_inspected(path: str, failure: pool.Failure) -> Inspected:
    """A file whose worker hung, crashed or ran out of memory: listed with the reason, its bytes hashed here."""
    out = Inspected(path, error=(failure.code, failure.message))
    p = Path(path)
    with contextlib.suppress(OSError):
        out.mtime = p.stat().st_mtime
    out.sha256 = _stream_hash(p)
    return out


def merge(
    paths: Iterable[str | os.PathLike],
    unit: Unit | None = None,
    roster: list[RosterEntry] | None = None,
    strict: bool = False,
    include_invalid: bool = False,
    prefer_newest: bool = False,
    workers: int | None = None,
    progress=None,
    time_limit: float | None = TIME_LIMIT,
    memory_limit: int | None = MEMORY_LIMIT,
) -> RollUp:
    """Merge the returns and roll-ups under `paths` (see the module docstring).

    `workers`, `time_limit` (seconds per file) and `memory_limit` (bytes per worker) are passed to inspect_all.
    With `roster`, a roll-up is accepted only from a unit whose roster type contains 汇总 (ROLLUP_TYPE_WORD).
    """
    files, ignored = scan_names(paths)
    if not files:
        raise MergeError("没有找到要汇总的文件")
    if workers != 0:  # this process only waits while the workers read: load the roll-up writer meanwhile
        threading.Thread(target=_load_writer, name="xltool-load-writer", daemon=True).start()
    infos = inspect_all(files, workers, progress, time_limit, memory_limit)
    del files  # the paths are in the spool now (100,000 of them are 9 MB)
    # Files in the folders that are not returns are listed too (code IGNORED), so nothing vanishes.
    rejected: list[Rejected] = [Rejected(Inspected(str(f)), Code.IGNORED, reason) for f, reason in ignored]
    usable: list[Inspected] = []
    for info in infos:
        if info.error:
            rejected.append(Rejected(info, info.error[0], f"无法读取：{info.error[1]}"))
        elif info.not_filled:
            rejected.append(Rejected(info, Code.NOT_FILLED, "未填报（各表全部为空白）"))
        else:
            usable.append(info)
    if not usable:
        raise MergeError("没有可以汇总的报表：" + "；".join(f"{r.info.name}：{r.reason}" for r in rejected[:5]))
    # One year and one form for the roll-up: the most common (latest on a tie); the rest are rejected.
    year = max(Counter(i.year for i in usable).items(), key=lambda kv: (kv[1], kv[0]))[0]
    form_id = max(Counter(i.form_id for i in usable if i.year == year).items(), key=lambda kv: (kv[1], kv[0]))[0]
    kept: list[Inspected] = []
    for info in usable:
        if info.year != year:
            rejected.append(
                Rejected(info, Code.MIXED_YEARS, f"报告年度为 {info.year or '未知'}，与本次汇总的 {year} 年度不一致")
            )
        elif info.form_id != form_id:
            rejected.append(Rejected(info, Code.MIXED_FORMS, f"报表格式 {info.form_id} 与本次汇总的 {form_id} 不一致"))
        else:
            kept.append(info)
    invalid = [i for i in kept if i.error_count]
    if strict and invalid:
        raise MergeError(
            "--strict：以下单位有错误，未生成汇总表："
            + "；".join(f"{i.unit_name or i.name}（{i.error_count} 个错误，例如 {i.first_error}）" for i in invalid[:5])
            + (f"；等 {len(invalid)} 个单位" if len(invalid) > 5 else "")
        )
    members: list[Member] = []
    candidates: list[Inspected] = []
    for info in kept:
        if info.error_count and not include_invalid:
            first = info.first_error
            rejected.append(Rejected(info, Code.HAS_ERRORS, f"有 {info.error_count} 个错误，例如{first}"))
        else:
            candidates.append(info)
    if roster is not None:
        candidates = _drop_unauthorised_rollups(candidates, rejected, roster)
    candidates = _drop_double_counted(candidates, rejected)
    candidates = _drop_conflicts(candidates, rejected)
    candidates = _drop_duplicates(candidates, rejected, prefer_newest)
    for info in sorted(candidates, key=_unit_order):
        members.append(Member(info, MemberStatus.MERGED_WITH_ERRORS if info.error_count else MemberStatus.MERGED))
    rejected.sort(key=lambda r: (r.info.name, r.info.sha256, r.code, r.reason))
    form = form_by_id(form_id)
    unit = unit or Unit()
    unit = Unit(
        name=unit.name,
        code=unit.code,
        scope=unit.scope or layout.SCOPES[1],
        filled_by=unit.filled_by,
        phone=unit.phone,
        date=unit.date,
    )
    values, no_items = _sum(form, members)
    total = Return(form, year, unit, values=values, no_items=no_items)
    roll = RollUp(form, year, unit, members, rejected, total, notices=_copied_returns(members))
    if roster is not None:
        _apply_roster(roll, roster)
    return roll


def _unit_order(info: Inspected) -> tuple:
    return (info.unit_code == "", info.unit_code, info.name_key, info._sha)  # bytes sort as their hex


def _sum(form: Form, members: list[Member]) -> tuple[dict[str, Decimal], set[str]]:
    """Exact sums of every input cell over the members (blank counts as 0; unusable values are left out): whole
    numbers added as Python ints, amounts as Decimal, one spooled record at a time; and the tables every member
    marked 本年度无此类事项. Rows are added a batch at a time, column by column: a column of whole numbers and blanks
    is summed in C, any other value by value in member order (Decimal sums are the same as adding row by row)."""
    n = len(form.inputs)
    whole = [0] * n
    exact = [Decimal(0)] * n
    no_items = {t.id for t in form.tables} if members else set()
    batch: list[tuple] = []

    def add(rows: list[tuple]) -> None:
        for i, column in enumerate(zip(*rows, strict=True)):
            if _WHOLE.issuperset(map(type, column)):
                whole[i] += sum(filter(None, column))
                continue
            for v in column:
                if type(v) is int:
                    whole[i] += v
                elif isinstance(v, Decimal):
                    exact[i] += v

    for m in members:
        record = m.info.heavy() if m.info._heavy is None else {"row": m.info.row, "no_items": m.info.no_items}
        no_items &= set(record.get("no_items", ()))
        row = record.get("row", ())
        if len(row) == n:
            batch.append(row)
            if len(batch) == _SUM_BATCH:
                add(batch)
                batch.clear()
            continue
        if batch:  # the rows before it first: amounts are added in member order
            add(batch)
            batch.clear()
        for i, v in enumerate(row):  # a row of another length: value by value
            if type(v) is int:
                whole[i] += v
            elif isinstance(v, Decimal):
                exact[i] += v
    if batch:
        add(batch)
    totals = [exact[i] + whole[i] for i in range(n)]
    return {cell.key: total for cell, total in zip(form.inputs, totals, strict=True)}, no_items


def _row(row: list[str]) -> tuple[str, str, str, str]:
    """(SHA-256, unit name, unit code, status) of a 来源 row in SOURCE_HEADER order (short rows padded: it is read
    from a file)."""
    row = [*row, *[""] * (len(SOURCE_HEADER) - len(row))]
    return row[10].strip().lower(), row[3].strip(), row[4].strip(), row[8].strip()


def _merged_rows(info: Inspected) -> tuple[tuple[str, str, str], ...]:
    """(SHA-256, unit name, unit code) of every file a roll-up says it summed, at any depth (kept in memory)."""
    return info.merged


def _label(name: str, code: str) -> str:
    return f"{name}（{code}）" if name and code else name or code or "未署名单位"


def _drop_double_counted(infos: list[Inspected], rejected: list[Rejected]) -> list[Inspected]:
    """A file that is itself inside a roll-up being merged (same SHA-256 in its 来源 sheet) would be counted twice:
    the file is rejected and the roll-up kept, since they are the same data."""
    if not any(info.merged for info in infos):
        return infos  # no roll-up among the inputs
    infos = sorted(infos, key=_unit_order)  # the roll-up named in a reason must not depend on the input order
    holders: dict[str, list[Inspected]] = defaultdict(list)
    for info in infos:
        for sha, _name, _code in _merged_rows(info):
            if _SHA256.fullmatch(sha) and info not in holders[sha]:
                holders[sha].append(info)
    held = {id(i) for i in infos if any(h is not i for h in holders.get(i.sha256, []))}
    out = []
    for info in infos:
        # name the outermost roll-up (one not itself inside another input) when there is a choice
        holder = next(
            (h for h in sorted(holders.get(info.sha256, []), key=lambda h: id(h) in held) if h is not info), None
        )
        if holder is not None:
            rejected.append(Rejected(info, Code.DOUBLE_COUNTED, f"已包含在汇总表 {holder.name} 中，再次汇总会重复计算"))
        else:
            out.append(info)
    return out


class _Units:
    """Units found by code (when both sides have one), else by normalised name."""

    def __init__(self) -> None:
        self.by_code: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        self.by_name: dict[str, list[tuple[int, str, str]]] = defaultdict(list)

    def add(self, owner: int, name: str, code: str) -> None:
        if code:
            self.by_code[code].append((owner, name, code))
        if norm(name):
            self.by_name[norm(name)].append((owner, name, code))

    def find(self, name: str, code: str) -> list[tuple[int, str, str]]:
        hits = list(self.by_code.get(code, ())) if code else []
        if norm(name):
            hits += [h for h in self.by_name.get(norm(name), ()) if not (code and h[2])]
        return hits


def _drop_conflicts(infos: list[Inspected], rejected: list[Rejected]) -> list[Inspected]:
    """A unit inside a roll-up that is also given as its own return (another file: the same file is double
    counting), or inside two roll-ups: nobody can tell which figures are right, so every file involved is rejected
    (CONFLICT, naming the others) and the county decides."""
    inside = _Units()  # the units each roll-up summed, by the roll-up's position in infos
    for k, info in enumerate(infos):
        for _sha, name, code in _merged_rows(info):
            inside.add(k, name, code)
    if not inside.by_code and not inside.by_name:
        return infos  # no roll-up among the inputs (nothing to read back from the spool)
    phrases: dict[int, set[str]] = defaultdict(set)
    for k, info in enumerate(infos):
        for owner, name, code in inside.find(info.unit_name, info.unit_code):  # its own unit, inside a roll-up
            if owner != k:
                label, holder = _label(info.unit_name, info.unit_code), infos[owner]
                phrases[k].add(f"本单位（{label}）也包含在汇总表 {holder.name} 中")
                phrases[owner].add(f"其中的 {_label(name, code)} 另有报表 {info.name}")
        for _sha, name, code in _merged_rows(info):  # a unit it summed, inside another roll-up
            for owner, _n, _c in inside.find(name, code):
                if owner != k:
                    phrases[k].add(f"其中的 {_label(name, code)} 也包含在汇总表 {infos[owner].name} 中")
    out = []
    for k, info in enumerate(infos):
        if k not in phrases:
            out.append(info)
            continue
        listed = sorted(phrases[k])
        more = f"等 {len(listed)} 处" if len(listed) > 5 else ""
        rejected.append(
            Rejected(
                info,
                Code.CONFLICT,
                "；".join(listed[:5]) + more + "。为免重复计算，两份都未汇总；请确定采用哪一份，删去另一份后重新汇总",
            )
        )
    return out


def _drop_duplicates(infos: list[Inspected], rejected: list[Rejected], prefer_newest: bool) -> list[Inspected]:
    """The same unit twice (same file, same code, or same name) is never kept silently."""
    first: dict[object, Inspected] = {}  # the first file of each unit; lists only for units sent twice
    groups: dict[object, list[Inspected]] = {}
    for info in infos:  # by code (a str), else by name (a tuple), else by identical bytes (bytes): never equal
        key = info.unit_code or (("name", info.name_key) if info.name_key else info._sha)
        seen = first.setdefault(key, info)
        if seen is not info:
            groups.setdefault(key, [seen]).append(info)
    del first
    twice = {id(i) for group in groups.values() for i in group}
    out = [info for info in infos if id(info) not in twice]
    for group in groups.values():
        group.sort(key=_unit_order)  # reasons name the files in an order that does not depend on the input order
        names = {norm(i.unit_name) for i in group}
        label = group[0].unit_code or next(iter(names))
        if prefer_newest:
            newest = max(group, key=lambda i: (i.date, i.mtime, i.sha256))
            out.append(newest)
            for info in group:
                if info is not newest:
                    rejected.append(
                        Rejected(info, Code.DUPLICATE, f"与 {newest.name} 为同一单位（{label}），已采用较新的一份")
                    )
        else:
            others = "、".join(i.name for i in group)
            for info in group:
                rejected.append(
                    Rejected(
                        info,
                        Code.DUPLICATE,
                        f"同一单位（{label}）报送了多份：{others}；请删除多余的一份，"
                        "或使用 --prefer-newest 采用最新的一份",
                    )
                )
    return out


def _roster_lookup(roster: list[RosterEntry]) -> Callable[[Inspected], RosterEntry | None]:
    """The roster entry of a file's unit: by code, else by normalised name."""
    by_code = {e.code: e for e in roster if e.code}
    by_name = {norm(e.name): e for e in roster if e.name}
    return lambda info: by_code.get(info.unit_code) or by_name.get(norm(info.unit_name))


def _drop_unauthorised_rollups(
    infos: list[Inspected], rejected: list[Rejected], roster: list[RosterEntry]
) -> list[Inspected]:
    """With a roster, a roll-up counts only when it comes from a unit whose 类型 contains 汇总 (e.g. 汇总, 县级汇总,
    市级汇总单位): a township's file claiming to be a roll-up could carry any figures."""
    entry_of = _roster_lookup(roster)
    rule = f"名册中类型含“{ROLLUP_TYPE_WORD}”的单位才可报送汇总表"
    out = []
    for info in infos:
        entry = entry_of(info) if info.kind == ROLLUP_KIND else None
        if info.kind != ROLLUP_KIND or (entry is not None and ROLLUP_TYPE_WORD in norm(entry.type)):
            out.append(info)
        elif entry is None:
            label = _label(info.unit_name, info.unit_code)
            rejected.append(Rejected(info, Code.ROLLUP_NOT_ALLOWED, f"汇总表的单位 {label} 不在名册中；{rule}"))
        else:
            reason = f"名册中 {entry.name} 的类型为“{entry.type or '（空白）'}”，不是汇总单位；{rule}"
            rejected.append(Rejected(info, Code.ROLLUP_NOT_ALLOWED, reason))
    return out


def _row_digest(row: tuple) -> bytes:
    """SHA-256 of a compact value row, the same for equal values however they were typed (1, 1.0, 1.00)."""

    def canon(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, Invalid):
            return "\x00" + str(v.raw)
        if isinstance(v, Decimal):
            return format(v.normalize(), "f")
        return str(v)

    return hashlib.sha256("\x1f".join(map(canon, row)).encode("utf-8", "surrogatepass")).digest()[:16]


def _copied_returns(members: list[Member]) -> list[Notice]:
    """Returns of different units with identical values (at least COPY_MIN_NONZERO non-zero cells): one may be a
    copy of the other. Both stay merged; each gets a COPIED_RETURN notice naming the others."""
    first: dict[bytes, Inspected] = {}  # the first member with each fingerprint; lists only for copies
    groups: dict[bytes, list[Inspected]] = {}
    for m in members:  # members are distinct units (duplicates were rejected) in a fixed order
        if m.info.digest is not None and m.info.nonzero >= COPY_MIN_NONZERO:
            seen = first.setdefault(m.info.digest, m.info)
            if seen is not m.info:
                groups.setdefault(m.info.digest, [seen]).append(m.info)
    del first
    notices = []
    for group in groups.values():
        if len(group) < 2:
            continue
        nonzero = group[0].nonzero
        for info in group:
            # at most COPY_NAMED others by name (a folder of 10,000 copies must not write 10,000 names 10,000 times)
            named = [o for o in group[: COPY_NAMED + 1] if o is not info][:COPY_NAMED]
            others = "、".join(f"{_label(o.unit_name, o.unit_code)}（{o.name}）" for o in named)
            if len(group) - 1 > len(named):
                others += f"等 {len(group) - 1} 个单位"
            reason = f"与 {others} 的填报数据完全相同（{nonzero} 个非零数），可能是照抄；已汇总，请核实"
            notices.append(Notice(info, Code.COPIED_RETURN, reason))
    return notices


def _apply_roster(roll: RollUp, roster: list[RosterEntry]) -> None:
    entry_of = _roster_lookup(roster)
    for m in roll.members:
        entry = entry_of(m.info)
        if entry is None:
            roll.unexpected.append(m)
        else:
            entry.status = RosterStatus(m.status.value)
    index = {id(e): i for i, e in enumerate(roster)}
    for r in roll.rejected:
        entry = entry_of(r.info)
        if entry is not None and entry.status is RosterStatus.MISSING:
            entry.status, entry.reason = RosterStatus.REJECTED, describe(r.code)
            roll.roster_rejected[index[id(entry)]] = r
    roll.roster = roster
