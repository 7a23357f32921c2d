"""Write the annual report of a return or roll-up (`xltool report`): read, check, build, write.

The return (a filled workbook, a roll-up, or an imported report) is read like `xltool check` reads it and checked;
its errors do not stop the report, but are warned about loudly (a report repeats its tables' mistakes). Last year's
return (`previous`) adds the year-over-year changes and the cross-year rules; the clerk's narrative file (`text`)
fills the sections only the unit can write, and every figure it quotes is compared with the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xltool import annual, formats, guarded, layout
from xltool.codes import Code
from xltool.filenames import safe_filename
from xltool.model import Return
from xltool.outcomes import Severity
from xltool.problems import Problem

PURPOSE = "annual"  # the writers of xltool.formats that write the whole report


class PublishError(ValueError):
    """An input of `xltool report` that cannot be used (last year's file, the narrative file); Chinese message."""


@dataclass
class Published:
    path: Path | str  # the file written, or the text when no path was given (html, md, txt to standard output)
    report: annual.AnnualReport
    warnings: list[Problem] = field(default_factory=list)  # the report's own, then one for the return's errors
    errors: list[Problem] = field(default_factory=list)  # the return's errors (the report was still written)
    incomplete: str | None = None  # a roll-up's 汇总不完整：缺报 …、未汇总 … (layout.rollup_gaps), naming the units

    @property
    def exit_code(self) -> int:
        """1 when the report repeats the return's errors or speaks for an incomplete roll-up, else 0."""
        return 1 if self.errors or self.incomplete else 0


def default_format() -> str:
    """Word when its writer is installed, else the web page."""
    names = [w.name for w in formats.writers(PURPOSE)]
    return "docx" if "docx" in names else "html"


def default_name(ret: Return, fmt: str) -> str:
    """<单位><年度>年政府信息公开工作年度报告.<fmt>, safe as a file name on every system."""
    suffix = formats.writer(PURPOSE, fmt).suffix
    return safe_filename(f"{ret.unit.name or '未命名单位'}{ret.year}年政府信息公开工作年度报告") + suffix


def previous_for(path: str | Path, ret: Return, light: bool = False) -> Return:
    """This unit's return of last year from `path` — its own return or report, a roll-up (its 明细 row, or the roll-up
    itself for the county's report), or a folder of them — matched by code, then by name, as `xltool check` does.
    Each file is read in an isolated worker (xltool.guarded)."""
    from xltool.discover import find_last_year
    from xltool.forms import form_by_id

    path = Path(path)
    last = find_last_year(guarded.load_previous(path, light=light), ret.unit)
    if last is None:
        raise PublishError(
            f"上年度文件 {path.name} 中没有找到“{ret.unit.name or '本单位'}”的数据（文件无法读取，或单位名称、代码不同）"
        )
    return Return(form_by_id(last.form_id), ret.year - 1, ret.unit, values=dict(last.values))


def build(
    ret: Return, previous: Return | None = None, text: str | Path | None = None
) -> tuple[annual.AnnualReport, list[Problem]]:
    """The report of `ret` and the return's errors (its check, with last year's return when given)."""
    narrative = None
    if text is not None:
        try:
            narrative = annual.read_narrative(text, ret.form)
        except annual.NarrativeError as exc:
            raise PublishError(str(exc)) from None
    report = annual.build_report(ret, previous, narrative)
    errors = [p for p in ret.check(previous) if p.severity is Severity.ERROR]
    if ret.not_filled or errors:
        shown = "；".join(p.message for p in errors[:3])
        more = f"等 {len(errors)} 项" if len(errors) > 3 else ""
        report.warnings.insert(
            0,
            Problem.of(
                Code.REPORT_RETURN_PROBLEMS,
                f"统计表有 {len(errors)} 项错误（{shown}{more}），报告中的表格和数字照原样引用了它们；"
                "请先用 xltool check 核对并改正统计表，再生成报告",
                values={"errors": len(errors)},
            ),
        )
    notes = rollup_notes(ret)  # that a roll-up is incomplete comes first, what it holds last
    report.warnings[:0] = [p for p in notes if p.code is Code.REPORT_ROLLUP_INCOMPLETE]
    report.warnings += [p for p in notes if p.code is not Code.REPORT_ROLLUP_INCOMPLETE]
    return report, errors


def rollup_notes(ret: Return) -> list[Problem]:
    """What a roll-up holds, for the county and not for the public: that it is incomplete (naming the units), and
    汇总 N 个单位（应报 M，缺报 K，未汇总 J）. The report's text says neither (annual.preface)."""
    if ret.meta.get("kind") != layout.ROLLUP_KIND:
        return []
    out = []
    gaps = layout.rollup_gaps(ret.meta)
    if gaps:
        out.append(
            Problem.of(
                Code.REPORT_ROLLUP_INCOMPLETE,
                f"{gaps}；报告中的统计表和数字只包括已汇总的单位，请补齐后重新汇总，再生成报告",
                values={"gaps": gaps},
            )
        )
    line = layout.rollup_line(ret.meta)
    out.append(
        Problem.of(
            Code.REPORT_ROLLUP_MEMBERS, f"本报告由汇总表生成：{line}（只供核对，不写入报告正文）", values={"line": line}
        )
    )
    return out


def write_annual_report(
    path_in: str | Path,
    out: str | Path | None = None,
    fmt: str | None = None,
    previous: str | Path | None = None,
    text: str | Path | None = None,
    fragment: bool = False,
    light: bool = False,
) -> Published:
    """Read the return at `path_in`, build its report and write it to `out` (or return the text when `out` is "-").

    The format is `fmt`, else the suffix of `out`, else the default (docx when available). Without `out` the file is
    named <单位><年度>年政府信息公开工作年度报告.<fmt> in the current folder. Raises ReadError (xltool.sources) when
    the return cannot be read, PublishError for an unusable last-year or narrative file, FormatError for a format
    no writer handles. The return and last year's files are read in isolated workers (xltool.guarded; with `light`
    a provably cheap file in this process)."""
    if fmt is None:
        fmt = formats.writer_for(PURPOSE, out).name if out not in (None, "-") else default_format()
    writer = formats.writer(PURPOSE, fmt)
    ret = guarded.read(path_in, light=light)
    last = previous_for(previous, ret, light) if previous is not None else None
    report, errors = build(ret, last, text)
    options = {"fragment": True} if fragment else {}
    if out == "-":
        if writer.name == "docx":
            raise formats.FormatError("docx 输出需要指定文件路径")
        result = writer.write(report, None, **options)
    else:
        target = Path(out) if out is not None else Path(default_name(ret, writer.name))
        writer.write(report, target, **options)
        result = target
    incomplete = layout.rollup_gaps(ret.meta) if ret.meta.get("kind") == layout.ROLLUP_KIND else None
    return Published(result, report, list(report.warnings), errors, incomplete)
