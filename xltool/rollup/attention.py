"""Merged units worth a look: what the terminal summary of `xltool merge` and the roll-up's 汇总说明 both list, grouped,
with the reason per unit — units merged with errors (--include-invalid), with unsafe content, with content outside the
tables, or with warnings nobody explained.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xltool.codes import Code, describe
from xltool.rollup.verdicts import Member

UNSAFE = frozenset({Code.UNSAFE_FORMULA, Code.EXTERNAL_LINK, Code.MACROS, Code.EMBEDDED_OBJECTS, Code.FORMULA_IN_INPUT})
STRAY = frozenset({Code.STRAY_CELLS})

# (group title, which codes it takes): a unit is in every group it qualifies for; errors first.
GROUPS = (
    ("含错误但已汇总", None),
    ("含不安全内容（公式、外部链接、宏等，其内容未采用）", UNSAFE),
    ("表格以外有内容（未读取）", STRAY),
    ("有未说明的警告", "warnings"),
)
ERROR_GROUP, WARNING_GROUP = GROUPS[0][0], GROUPS[3][0]


def _part(code: str, n: int, first: str) -> str:
    """One kind of problem of a unit: the catalogue's meaning and count, or a rule's own first problem."""
    meaning = describe(code)
    if meaning == code:  # a rule id: its problem says what is wrong
        return f"{first}（{code}）"
    return f"{meaning} {n} 处（{code}），如{first}"


@dataclass(frozen=True)
class Flagged:
    """One merged unit in one group: who, which file, and why (Chinese, with the codes)."""

    group: str
    unit: str
    code: str
    file: str
    reason: str


def flagged(members: Iterable[Member]) -> list[Flagged]:
    """Every merged unit that carries errors, unsafe content, stray cells or unexplained warnings, by group, the units
    in merge order within each group."""
    by_group: dict[str, list[Flagged]] = {title: [] for title, _ in GROUPS}
    for m in members:
        info = m.info
        if not info.flags:
            continue
        details = info.attention  # read from the spool only for flagged units
        unit, file = info.unit_name or "未署名单位", info.name

        def add(title: str, picked: list[tuple], unit=unit, file=file, info=info) -> None:
            if not picked:
                return
            parts = [_part(code, n, first) for code, n, first, _error in picked[:3]]
            if len(picked) > 3:
                parts.append(f"另有 {len(picked) - 3} 类")
            by_group[title].append(Flagged(title, unit, info.unit_code, file, "；".join(parts)))

        add(ERROR_GROUP, [d for d in details if d[3] and d[0] not in UNSAFE])
        add(GROUPS[1][0], [d for d in details if d[0] in UNSAFE])
        add(GROUPS[2][0], [d for d in details if d[0] in STRAY])
        add(WARNING_GROUP, [d for d in details if not d[3] and d[0] not in UNSAFE | STRAY])
    return [f for title, _ in GROUPS for f in by_group[title]]
