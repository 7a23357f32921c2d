"""Published reports with one table row per line (`label n n n n n n n`), as typed into a text file or as a PDF's
text layer gives it, built from the seed transcriptions (tests/seed_data.py) by the shared table layouts."""

from __future__ import annotations

from pathlib import Path

from tests.report_fixtures import HEADINGS, TableSpec, _title, report_tables


def spec_lines(spec: TableSpec) -> list[str]:
    """Each printed row of a table on one line, its cells separated by spaces (merged cells printed once)."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for cell in spec.cells:
        if cell.text != "":
            rows.setdefault(cell.row, []).append((cell.col, cell.text.replace("\n", "")))
    return [" ".join(t for _, t in sorted(rows[r])) for r in sorted(rows)]


def row_text(seed_id: str, seed: dict, title: str | None = None) -> str:
    lines = [title or _title(seed), "", "一、总体情况", "本年度报告根据《中华人民共和国政府信息公开条例》编制。", ""]
    for table_id, spec in report_tables(seed_id, seed).items():
        lines += [HEADINGS[table_id], *spec_lines(spec), ""]
    lines += ["五、存在的主要问题及改进情况", "无。"]
    return "\n".join(lines) + "\n"


def write_row_text(seed_id: str, seed: dict, path: Path, **kw: object) -> Path:
    path.write_text(row_text(seed_id, seed, **kw), encoding="utf-8")
    return path
