"""The roster of units that must report (units.csv): who is expected, so a missing return is noticed."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from xltool.labels import norm
from xltool.outcomes import RosterStatus
from xltool.sources import ReadError, read_bytes

MAX_ROSTER_BYTES = 10 * 1024 * 1024


class RosterError(ValueError):
    """A roster file that cannot be read; the message says why."""


@dataclass
class RosterEntry:
    name: str
    code: str
    type: str
    status: RosterStatus = RosterStatus.MISSING
    reason: str = ""  # why a unit's return was not merged (a catalogued code's Chinese meaning)

    @property
    def status_text(self) -> str:
        return f"{self.status.zh}（{self.reason}）" if self.reason else self.status.zh


# Column headings a roster may use for each field, as offices write them (compared after labels.norm, lower-cased,
# a note in brackets and a required-field star removed: 单位名称（全称）*, ＣＯＤＥ).
HEADINGS = {
    "name": ("name", "unit", "单位", "单位名称", "单位全称", "名称", "机关名称", "机构名称", "填报单位", "部门", "部门名称"),
    "code": (
        "code", "代码", "编码", "单位代码", "单位编码", "统一社会信用代码", "社会信用代码", "信用代码",
        "组织机构代码", "机构代码", "行政区划代码", "区划代码",
    ),
    "type": ("type", "类型", "单位类型", "类别", "单位类别", "层级"),
}  # fmt: skip
QUIET = ("序号", "no", "no.", "#", "")  # a row number or a blank heading: not worth a note when left out
NAMES = {"name": "单位", "code": "代码", "type": "类型"}


@dataclass
class RosterRead:
    """A roster as read: its units, and what the clerk should know about it (columns left out, names and codes
    given twice), in Chinese."""

    entries: list[RosterEntry]
    notes: list[str]


def read_roster(path: Path) -> list[RosterEntry]:
    """units.csv with columns name, code, type (or their Chinese headings: 单位名称, 统一社会信用代码, 类型 …); UTF-8
    (with or without BOM) or GBK."""
    return inspect_roster(path).entries


def _heading(text: str) -> str:
    text = re.sub(r"[(\[].*?[)\]]", "", norm(text, aliases=False).lower())  # norm made （） and 【】 ASCII
    return text.strip("*")


def inspect_roster(path: Path) -> RosterRead:
    """read_roster, with notes on what was left out or is given twice (the units are listed all the same)."""
    try:
        raw = read_bytes(path, MAX_ROSTER_BYTES, "名册通常不到 1 MB")  # a regular file only: never a pipe or device
    except ReadError as exc:
        raise RosterError(f"名册 {path}：{exc.message}") from None
    if raw[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
        raise RosterError(f"名册 {path} 是 Excel 工作簿，不是 CSV：请在 Excel 或 WPS 中“另存为”CSV（逗号分隔）后再用")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterError(f"名册 {path} 的编码无法识别（请另存为 UTF-8 CSV）")
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        return RosterRead([], [])
    header = [_heading(h) for h in rows[0]]
    index: dict[str, int | None] = dict.fromkeys(HEADINGS)
    left_out = []
    for i, h in enumerate(header):
        field = next((k for k, names in HEADINGS.items() if h in names), None)
        if field is not None and index[field] is None:
            index[field] = i
        elif h not in QUIET:
            left_out.append(rows[0][i].strip())
    if index["name"] is None:
        expected = "、".join(HEADINGS["name"][2:6])
        raise RosterError(f"名册 {path} 缺少单位名称列：第一行应有“{expected}”或 name 等列名")
    notes = []
    if left_out:
        used = "、".join(f"“{rows[0][i].strip()}”（{NAMES[k]}）" for k, i in index.items() if i is not None)
        notes.append(f"名册的这些列未使用：{'、'.join(f'“{h}”' for h in left_out)}；使用的列：{used}")
    entries, lines = [], []
    for line, row in enumerate(rows[1:], start=2):

        def col(k: str, row: list[str] = row) -> str:
            i = index[k]
            return row[i].strip() if i is not None and i < len(row) else ""

        if col("name") or col("code"):
            entries.append(RosterEntry(col("name"), col("code"), col("type")))
            lines.append(line)
    for field, key in (("单位名称", lambda e: norm(e.name, aliases=False)), ("代码", lambda e: e.code)):
        seen: dict[str, list[int]] = {}
        shown: dict[str, str] = {}
        for entry, line in zip(entries, lines, strict=True):
            if key(entry):
                seen.setdefault(key(entry), []).append(line)
                shown.setdefault(key(entry), entry.name if field == "单位名称" else entry.code)
        for value, at in seen.items():
            if len(at) > 1:
                notes.append(f"名册中{field}重复：“{shown[value]}”（第 {'、'.join(map(str, at))} 行）；请核对名册")
    return RosterRead(entries, notes)
