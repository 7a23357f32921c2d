"""Importing published reports: read each, check its printed arithmetic, and keep it as a filled workbook."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from xltool import formats, guarded
from xltool.checking import FileReport, check_files
from xltool.discover import LastYear, expand
from xltool.filenames import safe_filename
from xltool.labels import norm
from xltool.layout import CELLS_META, PRINTED_SHEET
from xltool.layout import IMPORT_NOTES_SHEET as NOTES_SHEET
from xltool.model import Invalid, Return
from xltool.reading.reports import printed_rows


def import_reports(
    paths: Iterable[str | Path], previous: Path | None = None, workers: int | None = None, light: bool = False
) -> list[FileReport]:
    """Every report under `paths`, read and checked (a report that cannot be read is a FileReport with its error).

    Each report is read in an isolated worker with the pool's time and memory limits (xltool.checking.check_files;
    `light`: a lone cheap report in this process), so a report that hangs or needs too much memory costs only
    itself. Across years: with `previous` (last year's report, return or roll-up, or a folder of them) each report is
    also checked against last year's figures of its unit; without it, reports of one unit for consecutive years
    among the inputs are checked against each other (a folder holding several years of one unit).
    """
    files = expand(paths)
    if not files:
        return []
    if previous is not None:
        last_year = guarded.load_previous(previous, workers=workers, light=light)
        return list(check_files(files, last_year, workers=workers, light=light, note_reports=False))
    reports = list(check_files(files, workers=workers, light=light, note_reports=False))
    by_unit_year = {(_unit_key(r.ret), r.ret.year): r for r in reports if r.ret is not None and r.ret.year}
    out = []
    for r in reports:
        earlier = by_unit_year.get((_unit_key(r.ret), r.ret.year - 1)) if r.ret is not None and r.ret.year else None
        if earlier is None:
            out.append(r)
            continue
        values = {k: v for k, v in earlier.ret.values.items() if not isinstance(v, Invalid)}
        last = {"only": LastYear(values, earlier.path.name, earlier.ret.form.id)}
        out.append(check_files([r.path], last, workers=workers, light=light, note_reports=False)[0])
    return out


def _unit_key(ret: Return | None) -> str:
    if ret is None:
        return ""
    return ret.unit.code or norm(ret.unit.name)


def json_with_cells(reports: list[FileReport], lang: str = "zh") -> str:
    """The check results as JSON (`check --format json`), each report with every cell read from it: table, row and
    column labels, key, value (null when unusable), the text as printed and where in the report it was found."""
    from xltool.checking import write_report

    data = json.loads(write_report(reports, "json", lang) or "{}")
    by_path = {str(r.path): r for r in reports}
    for entry in data.get("files", []):
        r = by_path.get(str(entry.get("file")))
        ret = getattr(r, "ret", None)
        entry["cells"] = json.loads(ret.meta.get(CELLS_META, "[]")) if ret is not None else []
    return json.dumps(data, ensure_ascii=False, indent=2)


def save_workbook(ret: Return, out_dir: Path, source: Path | None = None, used: set[str] | None = None) -> Path:
    """The report as a filled workbook of its form, with what the import noted on a sheet of its own and every
    number as the report printed it on another (原文数值: printed totals included, so checking the workbook still
    finds a report whose own arithmetic is wrong); `used` holds the names written so far in this run, so two reports
    of one unit and year never overwrite each other."""
    from xltool.template import ExtraSheet

    notes = ExtraSheet(
        NOTES_SHEET,
        ["级别", "编号", "说明"],
        [[p.severity.zh, p.code, p.message] for p in ret.read_problems],
        [8, 22, 100],
    )
    printed = ExtraSheet(
        PRINTED_SHEET, ["表", "行", "列", "编号", "原文数值", "类别"], printed_rows(ret), [34, 60, 30, 40, 14, 8]
    )
    stem = ret.unit.name or (source.stem if source else "报告")
    base = safe_filename(f"{stem}{ret.year or ''}年度统计表（导入）")
    name, n = base + ".xlsx", 2
    while used is not None and name.lower() in used:
        name, n = f"{base}（{n}）.xlsx", n + 1
    if used is not None:
        used.add(name.lower())
    meta = {"imported_from": ret.meta.get("source_format", "report"), "printed_sheet": PRINTED_SHEET}
    return formats.writer("workbook", "xlsx").write(ret, out_dir / name, extra=[notes, printed], meta=meta)
