"""Checking files: read each, re-run every rule in Python, and collect the results as FileReports.

Rendering the results (terminal table, JSON, CSV) is done by the `report` writers in xltool.formats.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xltool import formats
from xltool._version import __version__
from xltool.check import RuleResult, evaluate_rules
from xltool.codes import Code, describe
from xltool.discover import LastYear, find_last_year
from xltool.forms import form_by_id
from xltool.model import Return
from xltool.outcomes import FileStatus, Outcome, Severity
from xltool.problems import Problem
from xltool.sources import ReadError


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
        """Why the file could not be read (the catalogue's English sentence with --lang en)."""
        assert self.error is not None
        return describe(self.error.code, "en") if lang == "en" else self.error.message

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
    from xltool.assemble import read

    try:
        ret = read(path)
    except ReadError as exc:
        return FileReport(path, error=exc)
    previous = _previous_for(ret, last_year) if last_year else None
    problems = [_with_file(p, path) for p in ret.check(previous)]
    if last_year and previous is None:
        problems.append(
            Problem.of(
                Code.NO_PREVIOUS,
                f"上年度数据中没有找到“{ret.unit.name or path.name}”，未做跨年度核对",
                file=str(path),
            )
        )
    return FileReport(path, ret, problems=problems, rules=evaluate_rules(ret, previous))


def _previous_for(ret: Return, last_year: dict) -> Return | None:
    """This unit's return of last year, matched by code, then by name; a lone last-year return matches any unit."""
    last = find_last_year(last_year, ret.unit)
    if last is None:
        return None
    return Return(form_by_id(last.form_id), ret.year - 1, values=dict(last.values))


def _with_file(p: Problem, path: Path) -> Problem:
    return Problem(p.severity, p.code, p.message, p.sheet, p.cell, p.values, str(path))


def summary(reports: list[FileReport]) -> dict[str, int]:
    return {
        "files": len(reports),
        "passed": sum(r.status in (FileStatus.PASSED, FileStatus.WARNINGS) for r in reports),
        "with_errors": sum(r.status is FileStatus.ERRORS for r in reports),
        "not_filled": sum(r.status is FileStatus.NOT_FILLED for r in reports),
        "unreadable": sum(r.error is not None for r in reports),
    }


def exit_code(reports: list[FileReport]) -> int:
    """0 no errors (warnings allowed); 1 errors or 未填报; 2 some input could not be read at all."""
    if any(r.error for r in reports):
        return 2
    return 1 if any(r.has_errors for r in reports) else 0


def write_report(reports: list[FileReport], fmt: str, lang: str = "zh", console=None) -> str | None:
    """Render the results with the `report` writer `fmt` (table goes to the console, json/csv return text)."""
    return formats.writer("report", fmt).write(
        reports, lang=lang, summary=summary(reports), version=__version__, console=console
    )


def annotate(reports: list[FileReport], out_dir: Path) -> Iterator[Path]:
    """`<name>（已标注）.xlsx` copies of the readable Excel returns with problems, written into out_dir."""
    writer = formats.writer("annotated", "xlsx")
    for r in reports:
        if r.error or r.path.suffix.lower() not in (".xlsx", ".xlsm"):
            continue
        target = out_dir / f"{r.path.stem}（已标注）{r.path.suffix}"
        written = writer.write(r.path, r.problems, target)
        if written:
            yield written
