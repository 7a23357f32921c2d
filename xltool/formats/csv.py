"""CSV (UTF-8 with BOM, so Excel and WPS open the Chinese text; cells starting = + - @ escaped): check results and
a roll-up's long table."""

from __future__ import annotations

import io
import json
from pathlib import Path

from xltool import safewrite
from xltool.formats import Writer
from xltool.formats.terminal import sanitise_for_terminal


def escape_formula(text: str) -> str:
    """Prefix a quote so a spreadsheet opening the CSV shows the text instead of running it as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = ["文件", "状态", "级别", "编号", "位置", "说明", "数值"]
CSV_COLUMNS_EN = ["file", "status", "severity", "code", "where", "message", "values"]


def write_report(reports: list, lang: str = "zh", verbose: bool = False, **_: object) -> str:
    """UTF-8 with BOM so Excel and WPS open the Chinese text correctly; cells starting = + - @ are escaped. One row
    per problem as the terminal lists them: errors first, blank cells one row per table row (every cell with
    `verbose`)."""
    import csv

    from xltool.formats._listing import listed

    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS_EN if lang == "en" else CSV_COLUMNS)
    for r in reports:
        # a file that cannot be read: its one problem
        lines = [r.error.problem] if r.error else listed(r.problems, r.ret.form if r.ret else None, verbose)
        for p in lines:
            values = json.dumps(p.values, ensure_ascii=False) if p.values else ""
            w.writerow(
                _safe_row(
                    [str(r.path), r.status_text(lang), p.severity.text(lang), p.code, p.where, p.text(lang), values]
                )
            )
    return buf.getvalue()


def _safe_row(row: list[str]) -> list[str]:
    """Formula-safe for spreadsheets; control and bidi characters shown visibly (the report may be printed to a
    terminal with `--format csv`)."""
    return [escape_formula(sanitise_for_terminal(v, keep_newlines=True)) for v in row]


# The long table's columns (xltool.rollup RollUp.to_frame) as a clerk opening the CSV in Excel reads them; the JSON and
# Parquet exports, read by programs, keep the frame's own names.
EXPORT_HEADINGS = {
    "unit": "单位",
    "code": "代码",
    "year": "年度",
    "key": "项目编号",
    "label": "项目",
    "value": "数值",
    "source": "来源文件",
}


def write_export(frame, path: Path) -> Path:
    safe = frame.astype(object).map(lambda v: escape_formula(v) if isinstance(v, str) else v)
    safe = safe.rename(columns=EXPORT_HEADINGS)
    with safewrite.replacing(path) as tmp:
        safe.to_csv(tmp, index=False, encoding="utf-8-sig")
    return path


WRITERS = [
    Writer("report", "csv", ".csv", write_report, description="CSV（Excel/WPS 可直接打开）"),
    Writer("export", "csv", ".csv", write_export, description="长表 CSV"),
]
