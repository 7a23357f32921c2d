"""Annotated copies for sending a return back: problem cells coloured, each with a comment saying what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from xltool.report import FileReport

FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}


def annotate(report: FileReport, out_dir: Path) -> Path | None:
    """Write `<name>（已标注）.xlsx` into out_dir; the original file is never opened for writing."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    if report.error or report.path.suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    located = [p for p in report.problems if p.sheet and p.cell]
    if not located:
        return None
    wb = openpyxl.load_workbook(report.path, keep_vba=report.path.suffix.lower() == ".xlsm")
    notes: dict[tuple[str, str], list] = {}
    for p in located:
        if p.sheet in wb.sheetnames:
            notes.setdefault((p.sheet, p.cell), []).append(p)
    for (sheet, cell), problems in notes.items():
        worst = min(problems, key=lambda p: p.severity.rank)
        target = wb[sheet][cell]
        target.fill = PatternFill("solid", fgColor=FILLS[worst.severity])
        text = "\n".join(f"【{p.severity.zh}】{p.message}" for p in problems)
        target.comment = Comment(text, "xltool", width=360, height=40 + 18 * text.count("\n") + 18 * (len(text) // 24))
    wb.calculation.fullCalcOnLoad = True  # openpyxl drops cached results; make every viewer recalculate on open
    out_dir.mkdir(parents=True, exist_ok=True)
    target_path = out_dir / f"{report.path.stem}（已标注）{report.path.suffix}"
    if target_path.resolve() == report.path.resolve():
        raise ValueError("标注副本不能覆盖原文件")
    wb.save(target_path)
    return target_path


def annotate_all(reports: list[FileReport], out_dir: Path) -> Iterator[Path]:
    for r in reports:
        written = annotate(r, out_dir)
        if written:
            yield written
