"""Markdown (.md): read published reports with pipe tables; write the report tables as pipe tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from xltool.formats import Reader, Writer, text_result
from xltool.formats._report import read_report, text_parse
from xltool.formats.html import clean_text
from xltool.formats.page import Page
from xltool.formats.text import text_page
from xltool.outcomes import NO_ITEMS_TEXT as TABLE_NONE

if TYPE_CHECKING:
    from xltool.annual import AnnualReport
    from xltool.forms import Table
    from xltool.model import Return
    from xltool.render import Segment

# The writers' tools (xltool.render) are imported when a page is written: reading, or listing the formats, does not
# load them.

# --- reading ------------------------------------------------------------------------------------------------------


def _read(path: Path) -> Page:
    return read_report(path, "md")


# --- writing ------------------------------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]<>|#"})


def _md(text: str) -> str:
    """Escape text for a GFM table cell (pipes, HTML brackets, emphasis); newlines become spaces."""
    text = clean_text(text)
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").translate(_MD_SPECIAL)


def _md_segment(seg: Segment) -> list[str]:
    groups = seg.column_groups()
    heads, aligns = [], []
    for c0, c1 in groups:
        heads.append(" / ".join(seg.path(range(seg.first, seg.body), range(c0, c1 + 1))))
        is_label = any(seg.grid.owner(r, c0).is_label for r in range(seg.body, seg.end))
        aligns.append("---" if is_label else "---:")
    lines = ["| " + " | ".join(_md(h) for h in heads) + " |", "| " + " | ".join(aligns) + " |"]
    for r in range(seg.body, seg.end):
        row = []
        for c0, c1 in groups:
            owner = seg.grid.owner(r, c0)
            if owner.is_label:
                row.append(_md(" / ".join(seg.path(range(r, r + 1), range(c0, c1 + 1)))))
            else:
                row.append(_md(owner.text))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def render_markdown(ret: Return) -> str:
    """GitHub-flavoured Markdown: merged headers flattened to paths joined by " / ", row label paths repeated."""
    from xltool.render import page_subtitle, page_title, rollup_summary

    out = [f"# {_md(page_title(ret))}", "", _md(page_subtitle(ret)), ""]
    if line := rollup_summary(ret):  # a roll-up: how many units it holds, and who is missing
        out += [_md(line), ""]
    for table in ret.form.tables:
        out += [f"## {_md(table.title)}", "", *_md_table(ret, table)]
    return "\n".join(out)


def _md_table(ret: Return, table: Table) -> list[str]:
    """One official table as `render` lays it out: the 本年度无此类事项 note, its pipe tables, the notes under it."""
    from xltool.render import table_grid, table_notes

    out: list[str] = []
    if table.id in ret.no_items:
        out += [_md(TABLE_NONE), ""]
    for seg in table_grid(table, ret).segments():
        if seg.caption is not None:
            out += [f"**{_md(seg.caption.text)}**", ""]
        out += [*_md_segment(seg), ""]
    for note in table_notes(table):
        out += [_md(note), ""]
    return out


def write_markdown(ret: Return, path: Path | None = None, **_: object) -> str | Path:
    return text_result(render_markdown(ret), path)


# --- the annual report -------------------------------------------------------------------------------------------

_MD_LINE_START = re.compile(r"^([ \t]*)([-+=>~]|\d+[.)])")


def _md_text(text: str) -> str:
    """Escape a paragraph of the report: Markdown syntax anywhere, a list / quote / setext marker at its start."""
    text = _md(text)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def render_annual_markdown(report: AnnualReport) -> str:
    """The whole annual report as Markdown: headings `#`/`##`/`###`, paragraphs, placeholders in bold, and the
    official tables exactly as `xltool render -f md` lays them out."""
    ret = report.ret
    out: list[str] = []
    for block in report.blocks:
        if block.kind == "heading":
            out += [f"{'#' * (block.level + 1)} {_md(block.text)}", ""]
        elif block.kind == "table":
            out += _md_table(ret, ret.form.table(block.table_id or ""))
        elif block.kind == "placeholder":
            out += [f"**{_md_text(block.text)}**", ""]
        else:
            out += [_md_text(block.text), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def write_annual_markdown(report: AnnualReport, path: Path | None = None, **_: object) -> str | Path:
    return text_result(render_annual_markdown(report), path)


READERS = [
    Reader(
        "md",
        (".md",),
        "report",
        _read,
        parse=text_parse(text_page),
        description="年度报告 Markdown（管道表格）",
    )
]
WRITERS = [
    Writer("render", "md", ".md", write_markdown, description="Markdown"),
    Writer("annual", "md", ".md", write_annual_markdown, description="Markdown（年度报告全文）"),
]
