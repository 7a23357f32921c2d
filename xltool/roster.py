"""The roster of units that must report (units.csv): who is expected, so a missing return is noticed."""

from __future__ import annotations

import csv
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


def read_roster(path: Path) -> list[RosterEntry]:
    """units.csv with columns name, code, type (or 单位, 代码, 类型); UTF-8 (with or without BOM) or GBK."""
    try:
        raw = read_bytes(path, MAX_ROSTER_BYTES, "名册通常不到 1 MB")  # a regular file only: never a pipe or device
    except ReadError as exc:
        raise RosterError(f"名册 {path}：{exc.message}") from None
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
        return []
    header = [norm(h).lower() for h in rows[0]]
    aliases = {
        "name": ("name", "单位", "单位名称", "名称"),
        "code": ("code", "代码", "单位代码", "统一社会信用代码"),
        "type": ("type", "类型", "单位类型"),
    }
    index = {k: next((i for i, h in enumerate(header) if h in names), None) for k, names in aliases.items()}
    if index["name"] is None:
        raise RosterError(f"名册 {path} 缺少“单位”（name）列")
    entries = []
    for row in rows[1:]:

        def col(k: str, row: list[str] = row) -> str:
            i = index[k]
            return row[i].strip() if i is not None and i < len(row) else ""

        if col("name") or col("code"):
            entries.append(RosterEntry(col("name"), col("code"), col("type")))
    return entries
