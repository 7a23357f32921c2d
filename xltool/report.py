"""Check many files and render the results: a terminal table, JSON for machines, or CSV for spreadsheets.

JSON schema (documented in README): {"xltool_version", "summary", "files": [FileReport.as_dict()]}.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xltool import __version__
from xltool.check import RuleResult, evaluate_rules
from xltool.codes import Code
from xltool.model import Return
from xltool.outcomes import FileStatus, Outcome, Severity
from xltool.problems import Problem
from xltool.sources import ReadError

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xls"}
from xltool.importer import REPORT_SUFFIXES  # noqa: E402  published reports, read by xltool.importer


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

    @property
    def has_errors(self) -> bool:
        return self.error is not None or any(p.severity == "error" for p in self.problems)

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {"file": str(self.path), "status": self.status.zh, "readable": self.error is None}
        if self.error:
            out["error"] = {"code": self.error.code, "message": error_text(self.error, lang)}
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


IGNORED_REASONS = {
    ".et": "WPS 表格专用格式（.et），请在 WPS 中另存为 .xlsx 后再报送",
    ".wps": "WPS 文字专用格式（.wps），请另存为 .docx",
    ".doc": "旧版 Word 格式（.doc），请另存为 .docx",
    ".pdf": "PDF 文件无法读取表格数字，请报送 .xlsx 或 .docx",
}


def scan(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to read, and files found in folders that will not be read, each with the reason (nothing vanishes).

    Files named explicitly are always read. In folders, spreadsheets and published reports are read (recursively,
    sorted); Office lock files, hidden files and other formats are listed as ignored.
    """
    files: list[Path] = []
    ignored: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        for f in sorted(f for f in p.rglob("*") if f.is_file()):
            suffix = f.suffix.lower()
            if f.name.startswith("~$"):
                ignored.append((f, "Office 临时锁定文件（文件正在被打开），不是报表"))
            elif f.name.startswith("."):
                ignored.append((f, "隐藏文件，未读取"))
            elif suffix in SPREADSHEET_SUFFIXES | REPORT_SUFFIXES:
                files.append(f)
            else:
                ignored.append((f, IGNORED_REASONS.get(suffix, f"不是报表文件（{suffix or '无扩展名'}），未读取")))
    return files, ignored


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """The files `scan` would read."""
    return scan(paths)[0]


def check_file(path: Path, last_year: dict | None = None) -> FileReport:
    """Read and check one file; `last_year` (xltool.distribute.load_previous) adds the cross-year rules."""
    from xltool.reader import read

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
    from xltool.distribute import find_last_year
    from xltool.forms import form_by_id

    last = find_last_year(last_year, ret.unit)
    if last is None:
        return None
    return Return(form_by_id(last.form_version), ret.year - 1, values=dict(last.values))


def _with_file(p: Problem, path: Path) -> Problem:
    return Problem(p.severity, p.code, p.message, p.sheet, p.cell, p.values, str(path))


def error_text(error: ReadError, lang: str) -> str:
    if lang == "en":
        from xltool.codes import describe

        return describe(error.code, "en")
    return error.message


def render_json(reports: list[FileReport], lang: str = "zh") -> str:
    doc = {
        "xltool_version": __version__,
        "summary": summary(reports),
        "files": [r.as_dict(lang) for r in reports],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str)


def summary(reports: list[FileReport]) -> dict[str, int]:
    return {
        "files": len(reports),
        "passed": sum(r.status in (FileStatus.PASSED, FileStatus.WARNINGS) for r in reports),
        "with_errors": sum(r.status is FileStatus.ERRORS for r in reports),
        "not_filled": sum(r.status is FileStatus.NOT_FILLED for r in reports),
        "unreadable": sum(r.error is not None for r in reports),
    }


CSV_COLUMNS = ["文件", "状态", "级别", "编号", "位置", "说明", "数值"]
CSV_COLUMNS_EN = ["file", "status", "severity", "code", "where", "message", "values"]


def render_csv(reports: list[FileReport], lang: str = "zh") -> str:
    """UTF-8 with BOM so Excel and WPS open the Chinese text correctly; cells starting = + - @ are escaped."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS_EN if lang == "en" else CSV_COLUMNS)
    for r in reports:
        if r.error:
            w.writerow(
                _safe_row(
                    [
                        str(r.path),
                        r.status_text(lang),
                        Severity.ERROR.text(lang),
                        r.error.code,
                        "",
                        error_text(r.error, lang),
                        "",
                    ]
                )
            )
        for p in r.problems:
            values = json.dumps(p.values, ensure_ascii=False) if p.values else ""
            w.writerow(
                _safe_row(
                    [str(r.path), r.status_text(lang), p.severity.text(lang), p.code, p.where, p.text(lang), values]
                )
            )
    return buf.getvalue()


def _safe_row(row: list[str]) -> list[str]:
    return [escape_formula(v) for v in row]


def escape_formula(text: str) -> str:
    """Prefix a quote so a spreadsheet opening the CSV shows the text instead of running it as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def render_table(reports: list[FileReport], console=None, lang: str = "zh") -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for r in reports:
        unit = f"（{r.ret.unit.name}，{r.ret.year} 年度，{r.ret.form.notice}格式）" if r.ret and r.ret.unit.name else ""
        console.print(f"[bold]{r.path}[/bold] {unit} → [bold]{r.status_text(lang)}[/bold]")
        if r.error:
            console.print(
                f"  [red]{'error' if lang == 'en' else '错误'}[/red] {r.error.code}：{error_text(r.error, lang)}"
            )
            continue
        if not r.problems:
            continue
        table = Table(show_header=True, header_style="bold", expand=False)
        for col in ("severity", "code", "where", "message") if lang == "en" else ("级别", "编号", "位置", "说明"):
            table.add_column(col, overflow="fold")
        for p in r.problems:
            table.add_row(f"[{colours[p.severity]}]{p.severity.text(lang)}[/]", p.code, p.where, p.text(lang))
        console.print(table)
    s = summary(reports)
    console.print(
        f"共 {s['files']} 个文件：通过 {s['passed']}，有错误 {s['with_errors']}，未填报 {s['not_filled']}，"
        f"无法读取 {s['unreadable']}"
    )


def exit_code(reports: list[FileReport]) -> int:
    """0 no errors (warnings allowed); 1 errors or 未填报; 2 some input could not be read at all."""
    if any(r.error for r in reports):
        return 2
    return 1 if any(r.has_errors for r in reports) else 0
