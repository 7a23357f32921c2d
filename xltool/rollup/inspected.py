"""The inspected file: what one input contributes to a roll-up, read in a worker process and kept mostly on disk.

`inspect_file` reads, re-validates and hashes one file (its bytes are read once); `inspect_all` does it for every file
in isolated worker processes (xltool.batch: a file that hangs, crashes or exhausts its worker costs only itself). An
`Inspected` keeps in memory only the fields that deciding needs; the value row and the other long fields are in the
batch spool and read back when used.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import stat
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

from xltool import batch
from xltool import workers as pool
from xltool.codes import Code
from xltool.forms import form_by_id
from xltool.layout import ROLLUP_KIND, SOURCE_SHEET
from xltool.model import Invalid
from xltool.outcomes import MemberStatus, Outcome, Severity
from xltool.problems import Problem
from xltool.rollup import identity
from xltool.rollup.verdicts import MergeError
from xltool.sources import ReadError

MERGED_TEXTS = {s.zh for s in MemberStatus}  # how a roll-up's 来源 sheet marks the files it summed
SOURCE_HEADER = ["层级", "所属汇总", "文件", "单位", "代码", "格式", "年度", "填报日期", "状态", "原因", "SHA-256"]
TIME_LIMIT, MEMORY_LIMIT = pool.TIME_LIMIT, pool.MEMORY_LIMIT  # per file (seconds), per worker (bytes)
COPY_MIN_NONZERO = 5  # identical returns are flagged only with at least this many non-zero cells (zeros are common)
HASH_LIMIT = 256 * 1024 * 1024  # files larger than this are listed without a SHA-256 (reading them is pointless)

# Kept in the spool, not in memory: the value row and the other long fields, and what is only shown (path, unit name,
# date) or rarely compared (mtime); read back when used, one record cached.
_HEAVY = ("row", "no_items", "explanations", "errors", "attention", "provenance", "unit", "path", "mtime")
_LIGHT = (
    "_sha", "error", "form_id", "year", "unit_code", "name_key", "error_count", "first_error", "warnings",
    "explained", "not_filled", "kind", "merged", "digest", "nonzero", "notes", "sources", "flags",
)  # fmt: skip


class Inspected:
    """What one input file contributes. In memory only the few fields that deciding year, form, duplicates,
    conflicts, copies and the roster need (`_LIGHT`); the value row and the other long fields (`_HEAVY`) are read
    from the spool when used (and may be set, e.g. in tests: a set field is kept with the object)."""

    __slots__ = (*_LIGHT, "_spool", "_record", "_heavy")

    def __init__(self, path: str, sha256: str = "", error: Problem | None = None, **fields) -> None:
        self._spool: batch.Spool | None = None
        self._record = 0
        self._heavy: dict | None = None
        self.path, self.error = path, error
        self.sha256 = sha256  # kept as 32 bytes
        self.form_id, self.year, self.unit_code, self.name_key = "", 0, "", ""
        self.error_count, self.warnings, self.explained = 0, 0, 0
        self.first_error: Problem | None = None  # the first of `errors`
        self.not_filled, self.kind = False, "template"
        self.merged: tuple = ()  # (SHA-256, unit, code) of each file a roll-up says it summed
        self.digest: bytes | None = None  # the value row's fingerprint when it has COPY_MIN_NONZERO non-zero cells
        self.nonzero = self.notes = self.sources = 0  # non-zero cells; 说明汇总 rows; a roll-up's 来源 rows
        self.flags: tuple[str, ...] = ()  # the codes of its errors and unexplained warnings (details in `attention`)
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
        self._spool, self._record = None, 0
        for key, value in state.items():
            setattr(self, key, value)

    def heavy(self) -> dict:
        """Every long field: from the spool, with the ones set on this object on top."""
        base = self._spool.load(self._record) if self._spool is not None else {}
        return base | (self._heavy or {})

    def _get(self, key: str, default):
        if self._heavy is not None and key in self._heavy:
            return self._heavy[key]
        if self._spool is not None:
            return self._spool.load(self._record).get(key, default)
        return default

    def _set(self, key: str, value) -> None:
        self._heavy = {**(self._heavy or {}), key: value}  # copy on write: copies share nothing they change

    row = property(lambda self: self._get("row", ()), lambda self, v: self._set("row", tuple(v)))
    no_items = property(lambda self: self._get("no_items", []), lambda self, v: self._set("no_items", v))
    explanations = property(lambda self: self._get("explanations", {}), lambda self, v: self._set("explanations", v))
    errors = property(lambda self: self._get("errors", []), lambda self, v: self._set("errors", v))
    # (code, how many, the first one located, an error?) per code of its errors and unexplained warnings, by code
    attention = property(lambda self: self._get("attention", ()), lambda self, v: self._set("attention", tuple(v)))

    path = property(lambda self: self._get("path", ""), lambda self, v: self._set("path", v))
    mtime = property(lambda self: self._get("mtime", 0.0), lambda self, v: self._set("mtime", v))

    @property
    def unit(self) -> dict[str, str]:
        return self._get("unit", {})

    @unit.setter
    def unit(self, value: dict[str, str]) -> None:
        self._set("unit", dict(value))
        self.unit_code = value.get("code", "")
        self.name_key = identity.name_key(value.get("name", ""))  # the name as unit identity compares it

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

    def pack(self) -> batch.Packed:
        """(light fields, pickled long fields): what a worker sends back; the parent spools the bytes unread."""
        return batch.pack(tuple(getattr(self, k) for k in _LIGHT), self.heavy())

    @classmethod
    def unpack(cls, light: tuple, spool: batch.Spool, record: int) -> Inspected:
        """A packed file again: the light fields here, the long ones record `record` of `spool`."""
        out = cls.__new__(cls)
        for key, value in zip(_LIGHT, light, strict=True):
            setattr(out, key, value)
        out._spool, out._record, out._heavy = spool, record, None
        out.form_id, out.kind = sys.intern(out.form_id), sys.intern(out.kind)  # one string for 100,000 files
        return out


def _packed(inspect: Callable[[str], Inspected], path: str) -> batch.Packed:
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
        from xltool.oserrors import describe

        out.error = Problem.of(Code.UNREADABLE, f"无法打开文件：{describe(exc)}", file=path)
        return out
    try:
        page = read_page(p)
        out.sha256 = page.sha256
        ret = assemble(page)
    except ReadError as exc:
        out.sha256 = out.sha256 or _stream_hash(p)
        out.error = exc.problem.in_file(path)
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
    seen: dict[str, list] = {}  # code -> [count, first located, an error?]
    for problem in ret.check():
        if problem.severity is Severity.ERROR:
            errors.append(problem)
        elif problem.severity is Severity.WARNING:
            out.warnings += 1
        elif problem.outcome is Outcome.EXPLAINED:
            out.explained += 1
        if problem.severity in (Severity.ERROR, Severity.WARNING):
            seen.setdefault(problem.code, [0, problem.located, problem.severity is Severity.ERROR])[0] += 1
    out.errors, out.error_count, out.first_error = errors, len(errors), errors[0] if errors else None
    out.attention = tuple((code, *facts) for code, facts in sorted(seen.items()))
    out.flags = tuple(sys.intern(str(code)) for code in sorted(seen))
    out.kind = ret.meta.get("kind", "template")
    if out.kind == ROLLUP_KIND and SOURCE_SHEET in page.sheet_names:
        out.provenance = _provenance(page.sheet(SOURCE_SHEET))
    return out


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


def _row(row: list[str]) -> tuple[str, str, str, str]:
    """(SHA-256, unit name, unit code, status) of a 来源 row in SOURCE_HEADER order (short rows padded: it is read
    from a file)."""
    row = [*row, *[""] * (len(SOURCE_HEADER) - len(row))]
    return row[10].strip().lower(), row[3].strip(), row[4].strip(), row[8].strip()


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


def inspect_all(
    files: list[Path],
    workers: int | None = None,
    progress: Callable[[Iterable[Inspected], int], Iterable[Inspected]] | None = None,
    time_limit: float | None = TIME_LIMIT,
    memory_limit: int | None = MEMORY_LIMIT,
) -> list[Inspected]:
    """Inspect files in isolated worker processes, results in input order (xltool.batch).

    `workers`: None = one per CPU core; 0 = in this process (no isolation and no time limit: tests, debugging). A
    file that hangs, crashes its worker or needs too much memory is an Inspected with error TIME_LIMIT,
    WORKER_CRASHED or MEMORY_LIMIT; every other file is still read. MergeError when no worker can start at all.
    """
    paths = [str(f) for f in files]
    spool = batch.Spool()
    task = functools.partial(_packed, inspect_file)  # looked up now: a replaced inspect_file reaches the workers
    results = batch.run(task, paths, _not_inspected, spool, workers, time_limit, memory_limit)
    entries = (Inspected.unpack(light, spool, record) for light, record in results)
    try:
        return list(progress(entries, len(paths)) if progress else entries)
    except pool.WorkerError as exc:
        raise MergeError(str(exc)) from None


def _not_inspected(path: str, failure: pool.Failure) -> batch.Packed:
    """A file whose worker hung, crashed or ran out of memory: listed with the reason, its bytes hashed here."""
    out = Inspected(path, error=Problem.of(failure.code, failure.message, file=path))
    p = Path(path)
    with contextlib.suppress(OSError):
        out.mtime = p.stat().st_mtime
    out.sha256 = _stream_hash(p)
    return out.pack()
