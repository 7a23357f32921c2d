"""Checking files: read each, re-run every rule in Python, and collect the results as FileReports.

`check_files` reads in isolated worker processes (xltool.batch), like merge: a file that hangs, crashes its worker
or needs too much memory becomes an unreadable FileReport (TIME_LIMIT / WORKER_CRASHED / MEMORY_LIMIT) and every
other file is still checked. With `light=True` (the command line) a lone file that is provably cheap is read in this
process (xltool.batch.light_file); with `workers=0` every file is, without limits (tests, debugging). `annotate`
writes its copies in workers too. Rendering the results (terminal table, JSON, CSV) is done by the `report` writers
in xltool.formats.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xltool import batch, formats
from xltool._version import __version__
from xltool.codes import Code
from xltool.discover import REPORT_REASON, LastYear, find_last_year, is_report_name, other_unit
from xltool.evaluation import RuleResult, evaluate_rules
from xltool.forms import all_forms, form_by_id
from xltool.layout import ROLLUP_KIND, rollup_gaps
from xltool.model import Return
from xltool.outcomes import FileStatus, Outcome, Severity
from xltool.problems import Problem
from xltool.sources import ReadError

if TYPE_CHECKING:
    from xltool import workers as pool


@dataclass
class FileReport:
    path: Path
    ret: Return | None = None
    error: ReadError | None = None
    problems: list[Problem] = field(default_factory=list)
    rules: list[RuleResult] = field(default_factory=list)

    @property
    def status(self) -> FileStatus:
        if self.error:
            return FileStatus.UNREADABLE
        if self.ret is not None and self.ret.not_filled:
            return FileStatus.NOT_FILLED
        if any(p.severity is Severity.ERROR for p in self.problems):
            return FileStatus.ERRORS
        if any(p.severity is Severity.WARNING for p in self.problems):
            return FileStatus.WARNINGS
        return FileStatus.PASSED

    def status_text(self, lang: str = "zh") -> str:
        return self.status.text(lang)

    def error_text(self, lang: str = "zh") -> str:
        """Why the file could not be read (the catalogue's English sentence with lang="en", for library callers)."""
        assert self.error is not None
        return self.error.problem.text(lang)

    @property
    def has_errors(self) -> bool:
        return self.error is not None or any(p.severity == "error" for p in self.problems)

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {"file": str(self.path), "status": self.status.zh, "readable": self.error is None}
        if self.error:
            out["error"] = {"code": self.error.code, "message": self.error_text(lang)}
            return out
        ret = self.ret
        assert ret is not None
        out |= {
            "form": ret.form.id,
            "year": ret.year or None,
            "unit": vars(ret.unit),
            "tables": {t.id: ret.table_state(t.id).zh for t in ret.form.tables},
            "summary": {
                "errors": sum(p.severity is Severity.ERROR for p in self.problems),
                "warnings": sum(p.severity is Severity.WARNING for p in self.problems),
                "explained": sum(r.outcome is Outcome.EXPLAINED for r in self.rules),
                "undetermined": sum(r.outcome is Outcome.UNDETERMINED for r in self.rules),
            },
            "rules": [r.as_dict() for r in self.rules],
            "problems": [p.as_dict(lang) for p in self.problems],
        }
        return out


def check_file(path: Path, last_year: dict[str, LastYear] | None = None) -> FileReport:
    """Read and check one file; `last_year` (xltool.discover.load_previous) adds the cross-year rules."""
    from xltool.reading import read

    try:
        ret = read(path)
    except ReadError as exc:
        return FileReport(path, error=exc)
    previous = _previous_for(ret, last_year) if last_year else None
    problems = [p.in_file(str(path)) for p in ret.check(previous)]
    if ret.meta.get("kind") == ROLLUP_KIND and (gaps := rollup_gaps(ret.meta)):
        # a roll-up missing roster units or refused inputs is not the region's total, whatever its arithmetic says
        problems.append(Problem.of(Code.ROLLUP_INCOMPLETE, gaps, file=str(path)))
    if last_year and previous is not None and (other := other_unit(last_year, ret.unit)):
        problems.append(
            Problem.of(
                Code.PREVIOUS_OTHER_UNIT,
                f"上年度报表 {other.source} 是“{other.unit}”的，与本表的“{ret.unit.name or ret.unit.code}”不同，"
                "跨年度核对比较的是它的数字；请用本单位上年的报表",
                file=str(path),
            )
        )
    if last_year and previous is None:
        problems.append(
            Problem.of(
                Code.NO_PREVIOUS,
                f"上年度数据中没有找到“{ret.unit.name or path.name}”，未做跨年度核对",
                file=str(path),
            )
        )
    return FileReport(path, ret, problems=problems, rules=evaluate_rules(ret, previous))


POOL_DEFAULT: Any = batch.POOL_DEFAULT  # a limit left to the pool (xltool.workers)


def warm_pool(workers: int | None = None) -> pool.Warm:
    """Workers kept up between check_files runs (xltool.batch.warm), for a long-running process (the portal): open it
    at start (`with warm_pool() as p:` or `.open()`), pass it as `warm_pool`, close it at shutdown."""
    return batch.warm(workers, prepare=_warm_up)


def _warm_up() -> None:
    """In a warm worker at start: the readers and the forms' rules, which the first file would otherwise load."""
    import xltool.reading  # noqa: F401 - for what it loads

    formats.readers()
    all_forms()


def check_files(
    files: Iterable[str | os.PathLike],
    last_year: dict[str, LastYear] | None = None,
    workers: int | None = None,
    progress: Callable[[Iterable[FileReport], int], Iterable[FileReport]] | None = None,
    time_limit: float | None = POOL_DEFAULT,
    memory_limit: int | None = POOL_DEFAULT,
    light: bool = False,
    note_reports: bool = True,
    warm_pool: pool.Warm | None = None,
) -> Reports:
    """check_file for every file, in isolated worker processes (xltool.batch), reports in input order.

    `workers`: None = one per CPU core (at most one per file); 0 = in this process (no isolation, no time limit).
    `light`: a lone cheap file is read in this process first (xltool.batch.light_file). `note_reports`: a published
    report among the files gets PUBLISHED_REPORT (it will not be merged); `xltool import`, which reads only reports,
    turns it off. `warm_pool`: workers kept between runs (xltool.batch.warm; the portal's). `time_limit` is seconds per file, `memory_limit` bytes per worker (by default the pool's own: xltool.workers
    TIME_LIMIT and MEMORY_LIMIT). A file whose worker hangs, crashes or runs out of memory is a FileReport with error
    code TIME_LIMIT, WORKER_CRASHED or MEMORY_LIMIT (exit code 2, like any unreadable file). workers.WorkerError when no worker process can be started at all.

    The reports come back as `Reports`: a sequence whose reports are spooled to a temporary file as the workers send
    them and rebuilt one at a time when read, so checking 100,000 files holds only their statuses.
    """
    paths = [str(f) for f in files]
    # last_year goes to each worker once (bound into the function), not with every file; _check_for_wire is looked up
    # now, so a replaced one reaches the workers
    task = functools.partial(_packed, _check_for_wire if note_reports else _report_for_wire, last_year)
    reports = Reports()
    results = batch.run(
        task, paths, _failed, reports.spool, workers, time_limit, memory_limit, light=light, warm_pool=warm_pool
    )
    added = (reports.add(light) for light, _record in results)
    for _ in progress(added, len(paths)) if progress else added:
        pass
    return reports


class Reports(Sequence):
    """FileReports kept in a batch spool (compressed pickled wires) with their statuses in memory: a sequence in input
    order whose items are rebuilt when read (xltool.checking.summary and exit_code read only the statuses)."""

    def __init__(self) -> None:
        self.spool = batch.Spool(prefix="xltool-check-", compressed=True)
        self.statuses: list[FileStatus] = []
        self.errors = bytearray()  # has_errors per report

    def add(self, light: tuple[FileStatus, bool]) -> _Light:
        """The statuses of the report just spooled."""
        self.statuses.append(light[0])
        self.errors.append(light[1])
        return _Light(*light)

    def __len__(self) -> int:
        return len(self.statuses)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return _from_wire(self.spool.fresh(range(len(self))[index]))  # negative indexes, IndexError


@dataclass(frozen=True)
class _Light:
    """What progress sees of a report as it arrives."""

    status: FileStatus
    has_errors: bool


def _packed(check: Callable, last_year: dict[str, LastYear] | None, path: str) -> batch.Packed:
    """Runs in the worker: check one file and send (status, has errors) with the pickled wire."""
    wire = check(path, last_year) if last_year else check(path)
    return _pack(wire)


def _pack(wire: _Wire) -> batch.Packed:
    if wire.error is not None:
        report = FileReport(Path(wire.path), error=ReadError(*wire.error, file=wire.path))
    else:  # status and has_errors read the return and the problems only (no need to rebuild every rule result)
        report = FileReport(
            Path(wire.path), Return(form_by_id(wire.form_id), **(wire.ret or {})), None, list(wire.problems)
        )
    return batch.pack((report.status, report.has_errors), wire, compress=True)  # 23 KB → 3 KB: 100,000 files


@dataclass(frozen=True)
class _Wire:
    """A FileReport as it travels from a worker: the form by id and each rule by id (a Form is large, and every
    report must not carry its own copy); a read failure as (code, message), made a ReadError again when read."""

    path: str
    error: tuple[str, str] | None = None
    form_id: str = ""
    ret: dict[str, Any] | None = None  # every Return field but the form
    problems: tuple[Problem, ...] = ()
    rules: tuple[tuple, ...] = ()  # each rule's result as (rule id, the other fields in order)


def _check_for_wire(path: str, last_year: dict[str, LastYear] | None = None) -> _Wire:
    report = check_file(Path(path), last_year)
    if report.ret is not None and is_report_name(path):  # checked for its arithmetic, but it is not a return
        report.problems.append(Problem.of(Code.PUBLISHED_REPORT, REPORT_NOTE, file=path))
    return _to_wire(report)


def _report_for_wire(path: str, last_year: dict[str, LastYear] | None = None) -> _Wire:
    """check_file as a wire, without the note that a report is not merged (what `xltool import` checks)."""
    return _to_wire(check_file(Path(path), last_year))


# What `check` says of a published report among the returns (merge lists it, unread, with REPORT_REASON).
REPORT_NOTE = f"{REPORT_REASON}（已核对其中统计表的算术关系；汇总时不计入，除非使用 --include-reports）"


def _not_checked(path: str, failure: pool.Failure) -> _Wire:
    return _Wire(path, error=(failure.code, failure.message))


def _failed(path: str, failure: pool.Failure) -> batch.Packed:
    """A file whose worker hung, crashed or ran out of memory, packed like a checked one."""
    return _pack(_not_checked(path, failure))


def _to_wire(report: FileReport) -> _Wire:
    if report.error is not None:
        return _Wire(str(report.path), error=(report.error.code, report.error.message))
    ret = report.ret
    assert ret is not None
    fields = {f.name: getattr(ret, f.name) for f in dataclasses.fields(ret) if f.name != "form"}
    return _Wire(
        str(report.path),
        form_id=ret.form.id,
        ret=fields,
        problems=tuple(report.problems),
        rules=tuple((r.rule.id, *_fields_of(r)[1:]) for r in report.rules),
    )


def _from_wire(wire: _Wire) -> FileReport:
    """The report again, from a wire just unpickled: each rule result made anew around its form's rule."""
    path = Path(wire.path)
    if wire.error is not None:
        return FileReport(path, error=ReadError(*wire.error, file=wire.path))
    form = form_by_id(wire.form_id)
    rules = form.rule
    results = [RuleResult(rules[rule_id], *fields) for rule_id, *fields in wire.rules]
    return FileReport(path, Return(form, **(wire.ret or {})), problems=list(wire.problems), rules=results)


def _fields_of(result: RuleResult) -> tuple:
    """A result's fields in order, not copied (dataclasses.astuple would copy the rule's whole expression tree)."""
    return tuple(getattr(result, f.name) for f in _RESULT_FIELDS)


_RESULT_FIELDS = dataclasses.fields(RuleResult)


def _previous_for(ret: Return, last_year: dict) -> Return | None:
    """This unit's return of last year, matched by code, then by name; a lone last-year return matches any unit."""
    last = find_last_year(last_year, ret.unit)
    if last is None:
        return None
    return Return(form_by_id(last.form_id), ret.year - 1, values=dict(last.values))


def summary(reports: Sequence[FileReport]) -> dict[str, int]:
    statuses = reports.statuses if isinstance(reports, Reports) else [r.status for r in reports]
    return {
        "files": len(statuses),
        "passed": sum(s in (FileStatus.PASSED, FileStatus.WARNINGS) for s in statuses),
        "with_errors": sum(s is FileStatus.ERRORS for s in statuses),
        "not_filled": sum(s is FileStatus.NOT_FILLED for s in statuses),
        "unreadable": sum(s is FileStatus.UNREADABLE for s in statuses),
    }


def exit_code(reports: Sequence[FileReport]) -> int:
    """0 no errors (warnings allowed); 1 errors or 未填报; 2 some input could not be read at all."""
    if isinstance(reports, Reports):
        statuses, errors = reports.statuses, reports.errors
    else:
        statuses, errors = [r.status for r in reports], [r.has_errors for r in reports]
    if any(s is FileStatus.UNREADABLE for s in statuses):
        return 2
    return 1 if any(errors) else 0


def write_report(
    reports: Sequence[FileReport], fmt: str, lang: str = "zh", console=None, out=None, verbose: bool = False
) -> str | None:
    """Render the results with the `report` writer `fmt` (table goes to the console, json/csv return text; json is
    written to `out` one file at a time when given, so a large check never holds the whole document). The table and
    CSV group blank cells by table row unless `verbose`; JSON always lists every cell."""
    return formats.writer("report", fmt).write(
        reports, lang=lang, summary=summary(reports), version=__version__, console=console, out=out, verbose=verbose
    )


def annotate(
    reports: Sequence[FileReport],
    out_dir: Path,
    workers: int | None = None,
    time_limit: float | None = POOL_DEFAULT,
    memory_limit: int | None = POOL_DEFAULT,
    warm_pool: pool.Warm | None = None,
) -> Iterator[tuple[FileReport, Path | None, str]]:
    """`<name>（已标注）.xlsx` copies of the readable returns with problems, written into out_dir: every cell a failing
    rule reads is marked as part of that problem (even when also blank or invalid), and a printed 问题清单 sheet comes
    first, opening with the unit, year and verdict. Each copy is written in an isolated worker (the file is opened
    again, bounded: xltool.formats.annotated), so one that hangs or needs too much memory costs only its copy
    (`warm_pool`: on workers kept between runs, as in check_files).
    Yields (report, written file or None, reason), in the order of the reports."""
    from xltool.filenames import safe_filename

    used: set[str] = set()
    jobs: list[tuple[str, str, tuple]] = []
    done: list[tuple[FileReport, Path | None, str] | int] = []
    for r in reports:
        if r.error or not r.problems:
            continue
        if r.path.suffix.lower() not in (".xlsx", ".xlsm"):
            done.append((r, None, "只为 Excel 文件（.xlsx）生成标注副本；此文件的问题请见上面的清单"))
            continue
        stem, n = safe_filename(f"{r.path.stem}（已标注）"), 2
        while stem.lower() in used:
            stem, n = safe_filename(f"{r.path.stem}（已标注{n}）"), n + 1
        used.add(stem.lower())
        cells = {x.rule.id: list(x.cells) for x in r.rules if x.outcome is not Outcome.PASS}
        wire = _to_wire(r)
        jobs.append((str(r.path), str(out_dir / f"{stem}.xlsx"), (wire.form_id, wire.ret, r.problems, cells)))
        done.append(len(jobs) - 1)
    written: list[tuple[str | None, str]] = []
    if jobs:
        spool = batch.Spool(prefix="xltool-annotate-")
        for _, record in batch.run(
            _annotate_one, jobs, _not_annotated, spool, workers, time_limit, memory_limit, warm_pool=warm_pool
        ):
            written.append(spool.load(record))
    by_path = {str(r.path): r for r in reports if not r.error and r.problems}
    for item in done:
        if isinstance(item, int):
            path, reason = written[item]
            yield by_path[jobs[item][0]], Path(path) if path else None, reason
        else:
            yield item


def _annotate_one(job: tuple[str, str, tuple]) -> batch.Packed:
    """Runs in the worker: write one annotated copy; (None, (written path or None, reason))."""
    from xltool.sources import ReadError

    source, target, (form_id, fields, problems, cells) = job
    ret = Return(form_by_id(form_id), **(fields or {}))
    try:
        written = formats.writer("annotated", "xlsx").write(
            Path(source), problems, Path(target), rule_cells=cells, ret=ret
        )
    except ReadError as exc:
        return batch.pack(None, (None, f"文件无法重新打开（{exc.message}）"))
    return batch.pack(None, (str(written) if written else None, "" if written else "没有可标注的单元格"))


def _not_annotated(job: tuple[str, str, tuple], failure: pool.Failure) -> batch.Packed:
    return batch.pack(None, (None, f"{NOT_WRITTEN}：{failure.message}（{failure.code}）"))


NOT_WRITTEN = "未能写出"  # how a reason starts when the copy should have been written and was not (exit code 2)
