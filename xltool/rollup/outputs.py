"""The roll-up: the summed return with everything the merge decided, written as a workbook in the official layout
with the review sheets (xltool.template.review: 汇总说明 and 概览 in front; 明细 / 来源 / 未汇总 / 说明汇总 (and 名册核对)
after them), or exported as a long table. The same inputs always give the same bytes: nothing in it comes from the
clock.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from xltool import formats, layout
from xltool.codes import Code, describe
from xltool.forms import Form
from xltool.layout import ROLLUP_KIND
from xltool.model import Invalid, Return, Unit
from xltool.outcomes import MemberStatus, RosterStatus
from xltool.problems import Problem
from xltool.rollup.attention import Flagged, flagged
from xltool.rollup.inspected import SOURCE_HEADER, Inspected
from xltool.rollup.policy import roster_lookup
from xltool.rollup.verdicts import Member, MergeError, Notice, Rejected
from xltool.roster import RosterEntry

_LEVEL = re.compile(r"[1-9][0-9]?")  # a 来源 level: ASCII digits, 1-99
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")  # a 填报日期 as clerks type it


class Rows:
    """`count` rows made on demand by `make()` (each time the sheet iterates them): a review sheet of a large roll-up
    is streamed from the spool, never held."""

    def __init__(self, count: int, make: Callable[[], Iterable]) -> None:
        self.count, self.make = count, make

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator:
        return iter(self.make())


@dataclass
class RollUp:
    """The merge's result: the summed return (`total`), the files merged and left out (with their reasons), the
    notices, and with a roster each unit's status. `write` gives the workbook, `export` the long table."""

    form: Form
    year: int
    unit: Unit
    members: list[Member]
    rejected: list[Rejected]
    total: Return
    roster: list[RosterEntry] = field(default_factory=list)
    unexpected: list[Member] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # warnings on merged returns, listed in 说明汇总
    roster_rejected: dict[int, Rejected] = field(default_factory=dict)  # roster index -> why its file was left out

    @property
    def not_merged(self) -> list[Rejected]:
        """Returns that were read but left out (files that are not returns at all, published reports and files
        superseded by a newer one of the same unit are only listed: no unit is missing for them)."""
        return [r for r in self.rejected if r.code not in (Code.IGNORED, Code.PUBLISHED_REPORT) and not r.superseded]

    @property
    def superseded(self) -> list[Rejected]:
        """Older files of a unit whose newest file was merged (--prefer-newest): the unit is in the roll-up."""
        return [r for r in self.rejected if r.superseded]

    @property
    def reports(self) -> list[Rejected]:
        """Published annual reports found among the returns, not merged (without --include-reports)."""
        return [r for r in self.rejected if r.code == Code.PUBLISHED_REPORT]

    @functools.cached_property
    def flagged(self) -> list[Flagged]:
        """Merged units worth a look (errors, unsafe content, stray cells, unexplained warnings), grouped."""
        return flagged(self.members)

    @property
    def gaps(self) -> str | None:
        """汇总不完整：缺报 … 、未汇总 … naming the units, or None when the roll-up is complete (layout.rollup_gaps)."""
        return layout.rollup_gaps(self.meta)

    @property
    def problems(self) -> list[Problem]:
        """Every refusal and notice as a Problem placed at its file (what 未汇总 and 说明汇总 list), for the writers
        that show problems."""
        return [r.problem for r in self.rejected] + [n.problem for n in self.notices]

    @property
    def ignored(self) -> list[Rejected]:
        """Files in the input folders that are not returns (listed, never read)."""
        return [r for r in self.rejected if r.code == Code.IGNORED]

    @property
    def missing(self) -> list[RosterEntry]:
        return [e for e in self.roster if e.status is RosterStatus.MISSING]

    @property
    def meta(self) -> dict[str, str]:
        """The roll-up's _meta: kind and the counts that layout.rollup_line turns into 汇总 N 个单位（应报 M，缺报 K，
        未汇总 J）; expected and missing only when a roster was given."""
        out = {
            "kind": ROLLUP_KIND,
            "members": str(len(self.members)),
            "rejected": str(len(self.rejected)),
            "not_merged": str(len(self.not_merged)),
        }
        if self.roster:
            out |= {"expected": str(len(self.roster)), "missing": str(len(self.missing))}
            out[layout.MISSING_UNITS] = json.dumps([e.name or e.code for e in self.missing], ensure_ascii=False)
        refused = self.not_merged
        names = Counter(r.info.unit_name for r in refused)  # a unit refused twice is named by its files
        shown = [
            r.info.unit_name if names[r.info.unit_name] == 1 and r.info.unit_name else r.info.name for r in refused
        ]
        out[layout.NOT_MERGED_UNITS] = json.dumps(shown, ensure_ascii=False)
        return out

    @property
    def line(self) -> str:
        """汇总 N 个单位（应报 M，缺报 K，未汇总 J）."""
        return layout.rollup_line(self.meta)

    @property
    def data_date(self) -> str:
        """The latest 填报日期 of the members (as 2026年1月20日), "" when none is a readable date: the roll-up's
        date comes from its data, so the same inputs give the same bytes."""
        dates = []
        for m in self.members:
            found = _DATE.search(m.info.date or "")
            if found:
                y, mo, d = map(int, found.groups())
                if 1900 <= y <= 9999 and 1 <= mo <= 12 and 1 <= d <= 31:
                    dates.append((y, mo, d))
        if not dates:
            return ""
        y, mo, d = max(dates)
        return f"{y}年{mo}月{d}日"

    def to_frame(self):
        """Tidy long table for analysts: one row per unit and input cell."""
        import pandas as pd

        rows = []
        for m in self.members:
            for cell, v in zip(self.form.inputs, m.info.row, strict=True):
                rows.append(
                    {
                        "unit": m.info.unit_name,
                        "code": m.info.unit_code,
                        "year": self.year,
                        "key": cell.key,
                        "label": cell.label,
                        "value": None if v is None or isinstance(v, Invalid) else Decimal(v),
                        "source": m.info.name,
                    }
                )
        return pd.DataFrame(rows, columns=["unit", "code", "year", "key", "label", "value", "source"])

    def export(self, path: str | os.PathLike) -> Path:
        """Write the long table with the `export` writer the suffix names (.csv / .json / .parquet)."""
        path = Path(path)
        try:
            writer = formats.writer_for("export", path)
        except formats.FormatError as exc:
            raise MergeError(str(exc)) from None
        missing = formats.missing_needs(writer)
        if missing:
            raise MergeError(f"导出 {writer.name} 需要安装 {'、'.join(missing)}（pip install {' '.join(missing)}）")
        return writer.write(self.to_frame(), path)

    def write(self, path: str | os.PathLike, password: str | None = None) -> Path:
        writer = formats.writer_for("workbook", path)  # .xlsx, or .ods via LibreOffice
        return writer.write(self.total, Path(path), password=password, extra=self.sheets(), meta=self.meta)

    def sheets(self) -> list:
        """The review sheets (xltool.template.review): 汇总说明 and 概览 in front, then 明细, 来源, 未汇总, 说明汇总
        and, with a roster, 名册核对."""
        from xltool.template import review

        members = self.members
        summary = review.Summary(
            self.meta,
            data_date=self.data_date,
            with_errors=sum(m.status is MemberStatus.MERGED_WITH_ERRORS for m in members),
            ignored=len(self.ignored),
            reports=len(self.reports),
            superseded=len(self.superseded),
            gaps=self.gaps or "",
            flagged=[[f.group, f.unit, f.file, f.reason] for f in self.flagged],
            unexpected=len(self.unexpected),
            notices=len(self.notices),
            roster=bool(self.roster),
            missing=[[e.name, e.code, e.type] for e in self.missing],
            refused=[[r.info.name, r.info.unit_name, r.text, r.code] for r in self.not_merged],
        )
        overview = review.OverviewSheet(
            Rows(
                len(members),
                lambda: (
                    review.OverviewRow(
                        m.info.unit_name,
                        m.info.unit_code,
                        m.status.zh,
                        m.info.row,
                        m.info.error_count,
                        m.info.warnings,
                        m.info.explained,
                    )
                    for m in members
                ),
            )
        )
        detail = review.DetailSheet(
            Rows(
                len(members),
                lambda: (
                    review.DetailRow(m.info.unit_name, m.info.unit_code, file_name(m.info), m.status.zh, m.info.row)
                    for m in members
                ),
            )
        )
        sources = review.source_sheet(
            Rows(sum(1 + m.info.sources for m in members) + len(self.rejected), self._source_rows)
        )
        rejected = review.rejected_sheet(
            Rows(
                len(self.rejected),
                lambda: ([r.info.name, r.info.unit_name, r.text, r.code, r.info.sha256] for r in self.rejected),
            )
        )
        notes = review.notes_sheet(Rows(sum(m.info.notes for m in members) + len(self.notices), self._note_rows))
        out = [summary, overview, detail, sources, rejected, notes]
        if self.roster:
            out.append(review.roster_sheet(self._roster_rows()))
        return out

    def _roster_rows(self) -> list[list[object]]:
        """名册核对: each roster unit (with the file merged, or why its file was left out), then the units outside it."""
        rows: list[list[object]] = []
        for i, e in enumerate(self.roster):
            refused = self.roster_rejected.get(i)
            file = refused.info.name if refused else self._file_of(e)
            rows.append([e.name, e.code, e.type, e.status.zh, file, refused.text if refused else "", _code(refused)])
        rows += [[m.info.unit_name, m.info.unit_code, "", "名册外单位", m.info.name, "", ""] for m in self.unexpected]
        return rows

    def _file_of(self, entry: RosterEntry) -> str:
        """The file merged for a roster unit ("" when none was)."""
        if entry.status not in (RosterStatus.MERGED, RosterStatus.MERGED_WITH_ERRORS):
            return ""
        entry_of = roster_lookup([entry])
        return next((m.info.name for m in self.members if entry_of(m.info) is entry), "")

    def _note_rows(self) -> Iterator[list[object]]:
        """说明汇总: every explanation a member wrote (read from the spool), then the notices."""
        rules = self.form.rules
        for m in self.members:
            if not m.info.notes:
                continue
            explanations = m.info.explanations
            for rule in rules:
                if rule.id in explanations:
                    yield [m.info.unit_name, m.info.unit_code, rule.id, rule.title, explanations[rule.id]]
        for n in self.notices:
            yield [n.info.unit_name, n.info.unit_code, n.code, describe(n.code), n.reason]

    def _source_rows(self) -> Iterator[list[object]]:
        for m in self.members:
            i = m.info
            name = file_name(i)
            yield [1, "", name, i.unit_name, i.unit_code, i.form_id, i.year, i.date, m.status.zh, "", i.sha256]
            if not i.sources:
                continue
            for nested in i.provenance:  # a roll-up's own sources, one level deeper
                level = int(nested[0]) + 1 if nested and _LEVEL.fullmatch(nested[0]) else 2  # ASCII digits only
                yield [level, (nested[1] if len(nested) > 1 else "") or name, *nested[2 : len(SOURCE_HEADER)]]
        for r in self.rejected:
            i = r.info
            status = "已忽略" if r.code in (Code.IGNORED, Code.PUBLISHED_REPORT) else "未汇总"
            yield [1, "", i.name, i.unit_name, i.unit_code, i.form_id, i.year or "", i.date, status, r.text, i.sha256]


def file_name(info: Inspected) -> str:
    """info.name without making a Path (a roll-up names every file twice): os.path.basename gives the same for the
    normalised paths scan_names finds; "" or "." (a path ending in a separator or a dot) is left to pathlib."""
    name = os.path.basename(info.path)
    return name if name and name != "." else info.name


def _code(refused: Rejected | None) -> str:
    return refused.code if refused else ""
