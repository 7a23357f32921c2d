"""汇总说明: the first sheet a county reviewer reads — what the roll-up contains, what was left out, how to read it."""

from __future__ import annotations

from dataclasses import dataclass, field

from xltool import layout
from xltool._version import __version__
from xltool.forms import Form
from xltool.template.cells import ok
from xltool.template.review.sheet import (
    LINE_PT,
    MIN_SCALE,
    PAGE_HEIGHT_PT,
    _Formats,
    _height,
    _merge,
    _print,
    _protect,
    _widths,
    lines_needed,
    sheet_height,
)

HEADING_PT = 21  # a list's heading (11 pt bold) with air above it


@dataclass
class Summary:
    """What the roll-up contains, in words: the unit, year, form, the date of the data, the counts line
    (layout.rollup_line), missing roster units and refused files with their reasons, the sheets, the version."""

    meta: dict[str, str]  # the roll-up's _meta counts: members, not_merged, expected, missing
    data_date: str = ""  # the latest 填报日期 of the members, as 2026年1月20日 ("" when none was given)
    with_errors: int = 0
    ignored: int = 0
    unexpected: int = 0
    notices: int = 0
    roster: bool = False
    missing: list[list[str]] = field(default_factory=list)  # unit, code, type
    refused: list[list[str]] = field(default_factory=list)  # file, unit, reason (Chinese), code
    reports: int = 0  # published reports found among the returns, listed on 未汇总, not merged
    superseded: int = 0  # older files of units merged from a newer one (--prefer-newest)
    gaps: str = ""  # layout.rollup_gaps: 汇总不完整：… naming the units ("" when complete)
    flagged: list[list[str]] = field(default_factory=list)  # group, unit, file, reason: merged units worth a look
    limit: int = 200  # rows listed per list; the rest are counted (the full lists are on their own sheets)
    name: str = layout.SUMMARY_SHEET
    front: bool = True

    def write_to(self, writer) -> None:
        wb, form, ret, name = writer.wb, writer.form, writer.ret, self.name
        ws = wb.add_worksheet(name)
        fmt = _Formats(wb)
        widths = [5, 20, 20, 44, 13]
        _widths(ws, widths, name)
        last = len(widths) - 1
        _merge(ws, 0, 0, 0, last, f"{ret.year}年度政府信息公开工作年度报告统计表　汇总说明", fmt.title, name)
        _height(ws, 0, 2, name)
        line = layout.rollup_line(self.meta)
        _merge(ws, 1, 0, 1, last, line, fmt.line, name)
        ok(ws.set_row(1, HEADING_PT + LINE_PT * (lines_needed(line, sum(widths) * 0.85) - 1)), name)  # 12 pt
        unit = ret.unit
        label = f"{unit.name}（代码 {unit.code}）" if unit.name and unit.code else unit.name or unit.code
        members = int(self.meta.get("members", "0") or 0)
        parts = [f"已汇总 {members} 个单位（其中含错误汇总 {self.with_errors} 个）"]
        parts.append(f"未汇总 {self.meta.get('not_merged', '0')} 个文件")
        if self.superseded:
            parts.append(f"另有 {self.superseded} 个文件已被同一单位较新的一份取代（--prefer-newest）")
        if self.reports:
            parts.append(f"另有 {self.reports} 份已发布的年度报告，不作为报表汇总（见“{layout.REJECTED_SHEET}”）")
        if self.ignored:
            parts.append(f"另有 {self.ignored} 个文件不是报表，已忽略")
        if self.flagged:
            units = len({(unit, file) for _group, unit, file, _reason in self.flagged})
            parts.append(f"需要关注的已汇总单位 {units} 个（见下方清单）")
        if self.roster:
            parts.append(f"名册外单位 {self.unexpected} 个")
        if self.notices:
            parts.append(f"数据雷同等提醒 {self.notices} 条（见“{layout.NOTES_SHEET}”）")
        facts = [
            ("汇总单位", label or "（未填写；汇总时可用 --unit、--code 指定）"),
            ("报告年度", f"{ret.year} 年度"),
            ("报表格式", f"《{form.name}》（{form.notice}）"),
            (
                "数据截至",
                f"{self.data_date}（各单位填报日期中最晚的一天）" if self.data_date else "各单位均未填写填报日期",
            ),
            ("汇总情况", line),
            (
                "是否完整",
                self.gaps or ("名册中的单位均已汇总，没有未汇总的文件" if self.roster else "没有未汇总的文件"),
            ),
            ("其中", "；".join(parts)),
            (
                "应报单位名册",
                f"已按名册核对，应报 {self.meta.get('expected', '0')} 个单位（见“{layout.ROSTER_SHEET}”）"
                if self.roster
                else "汇总时未提供名册（--roster），无法核对缺报单位",
            ),
            ("生成工具", f"xltool {__version__}（同样的输入总是生成完全相同的汇总表）"),
        ]
        row = 2
        for key, value in facts:
            _merge(ws, row, 0, row, 1, key, fmt.label, name)
            _merge(ws, row, 2, row, last, value, fmt.boxed, name)
            _height(ws, row, lines_needed(value, sum(widths[2:])), name)
            row += 1
        rows = [[str(i), *entry] for i, entry in enumerate(self.missing, start=1)]
        fields = [("序号", 0, 0), ("单位", 1, 1), ("代码", 2, 2), ("类型", 3, 4)]
        empty = "无" if self.roster else "未提供名册，无法核对"
        row = self._list(ws, fmt, row, "缺报单位（名册中应报而没有报送的单位）", fields, rows, empty, widths)
        rows = [[str(i), *entry] for i, entry in enumerate(self.refused, start=1)]
        fields = [("序号", 0, 0), ("文件", 1, 1), ("单位", 2, 2), ("原因", 3, 3), ("原因代码", 4, 4)]
        row = self._list(ws, fmt, row, "未汇总的文件（已读取但没有计入汇总数的文件）", fields, rows, "无", widths)
        rows = [[str(i), *entry] for i, entry in enumerate(self.flagged, start=1)]
        fields = [("序号", 0, 0), ("情况", 1, 1), ("单位", 2, 2), ("原因", 3, 4)]
        rows = [[n, group, f"{unit}（{file}）", reason] for n, group, unit, file, reason in rows]
        heading = "需要关注的已汇总单位（已计入汇总数，但有错误、不安全内容、表格外内容或未说明的警告）"
        row = self._list(
            ws, fmt, row, heading, fields, rows, "无", widths, f"各单位的问题数见“{layout.OVERVIEW_SHEET}”表"
        )
        fields = [("工作表", 0, 1), ("内容", 2, 4)]
        row = self._list(ws, fmt, row, "本工作簿中的各表", fields, self._sheets(form), "", widths)
        _print(ws, name, widths, None, None, one_page=sheet_height(ws, row) < PAGE_HEIGHT_PT * 100 / MIN_SCALE)
        _protect(writer, ws, lists=False)

    def _list(self, ws, fmt, row, heading, fields, rows, empty, widths, rest: str = "") -> int:
        """A heading, a header row and the rows (at most `limit`), each field over its columns (first, last)."""
        name, last = self.name, len(widths) - 1
        _merge(ws, row, 0, row, last, heading, fmt.heading, name)
        ok(ws.set_row(row, HEADING_PT), name)
        row += 1
        for text, first, end in fields:
            _merge(ws, row, first, row, end, text, fmt.header, name)
        row += 1
        if not rows:
            _merge(ws, row, 0, row, last, empty, fmt.boxed, name)
            return row + 1
        for values in rows[: self.limit]:
            lines = 1
            for (title, first, end), value in zip(fields, values, strict=True):
                style = fmt.boxed_code if title == "原因代码" else fmt.boxed
                _merge(ws, row, first, row, end, value, style, name)
                lines = max(lines, lines_needed(value, sum(widths[first : end + 1])) if value else 1)
            _height(ws, row, lines, name)
            row += 1
        if len(rows) > self.limit:
            rest = rest or f"完整名单见“{layout.REJECTED_SHEET}”和“{layout.ROSTER_SHEET}”表"
            more = f"另有 {len(rows) - self.limit} 个未列出，{rest}"
            _merge(ws, row, 0, row, last, more, fmt.boxed, name)
            row += 1
        return row

    def _sheets(self, form: Form) -> list[list[str]]:
        described = [
            (layout.SUMMARY_SHEET, "本页：汇总了哪些单位、是否完整、缺报和未汇总的情况、需要关注的已汇总单位"),
            (layout.OVERVIEW_SHEET, "每个单位一行的主要数字和校验结果，以及图表"),
            (layout.GUIDE_SHEET, "汇总单位信息和填报须知"),
            *((t.sheet, f"{t.title}（各单位之和，合计为公式）") for t in form.tables),
            (layout.CHECK_SHEET, "汇总数的勾稽关系校验"),
            (layout.DETAIL_SHEET, "每个单位每个填报格的数字，按表分组"),
            (layout.SOURCE_SHEET, "每个文件的来源、状态和 SHA-256；下级汇总表的来源逐级保留"),
            (layout.REJECTED_SHEET, "未汇总和已忽略的文件及原因（没有时隐藏）"),
            (layout.NOTES_SHEET, "各单位对警告所写的说明，以及数据雷同等提醒（没有时隐藏）"),
        ]
        if self.roster:
            described.append((layout.ROSTER_SHEET, "名册中每个单位的报送情况，以及名册外的单位"))
        return [[sheet, text] for sheet, text in described]
