"""What the merge decides about each inspected file: one year and one form for the roll-up; invalid, 未填报,
mismatched, unauthorised roll-ups (with a roster), double-counted, conflicting and duplicate inputs left out, each
with its reason; returns that look copied flagged; the roster's units marked.

A unit is the same unit by code when both sides have one, else by normalised name (xltool.rollup.identity); reasons name files in an order
that does not depend on the input order.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from xltool.codes import Code, describe
from xltool.discover import REPORT_REASON
from xltool.labels import norm
from xltool.layout import ROLLUP_KIND
from xltool.outcomes import MemberStatus, RosterStatus
from xltool.rollup import identity
from xltool.rollup.identity import UnitIndex
from xltool.rollup.inspected import COPY_MIN_NONZERO, Inspected
from xltool.rollup.verdicts import Member, MergeError, Notice, Rejected
from xltool.roster import RosterEntry

if TYPE_CHECKING:
    from xltool.rollup.outputs import RollUp

ROLLUP_TYPE_WORD = "汇总"  # with --roster, only a unit whose 类型 contains this word may send a roll-up
COPY_NAMED = 5  # other units named in a COPIED-RETURN notice; more are counted
_SHA256 = re.compile(r"[0-9a-f]{64}")


def decide(
    infos: list[Inspected],
    ignored: list[tuple[str, str]],
    roster: list[RosterEntry] | None = None,
    strict: bool = False,
    include_invalid: bool = False,
    prefer_newest: bool = False,
) -> tuple[int, str, list[Member], list[Rejected]]:
    """(year, form id, members in unit order, rejected files in name order) of the inspected files; `ignored` are
    the (path, reason) of files that are not returns, listed too. MergeError when nothing can be merged, or with
    `strict` when a file has errors."""
    # Files in the folders that are not returns are listed too (code IGNORED), so nothing vanishes.
    rejected: list[Rejected] = [
        Rejected.of(Inspected(str(f)), Code.PUBLISHED_REPORT if reason == REPORT_REASON else Code.IGNORED, reason)
        for f, reason in ignored
    ]
    usable: list[Inspected] = []
    for info in infos:
        if info.error:
            rejected.append(Rejected.of(info, info.error.code, f"无法读取：{info.error.message}", info.error))
        elif info.not_filled:
            rejected.append(Rejected.of(info, Code.NOT_FILLED, "未填报（各表全部为空白）"))
        else:
            usable.append(info)
    if not usable:
        raise MergeError("没有可以汇总的报表：" + "；".join(f"{r.info.name}：{r.reason}" for r in rejected[:5]))
    # One year and one form for the roll-up: the most common (latest on a tie); the rest are rejected.
    year = max(Counter(i.year for i in usable).items(), key=lambda kv: (kv[1], kv[0]))[0]
    form_id = max(Counter(i.form_id for i in usable if i.year == year).items(), key=lambda kv: (kv[1], kv[0]))[0]
    kept: list[Inspected] = []
    for info in usable:
        if info.year != year:
            reason = f"报告年度为 {info.year or '未知'}，与本次汇总的 {year} 年度不一致"
            rejected.append(Rejected.of(info, Code.MIXED_YEARS, reason, year=info.year, rollup_year=year))
        elif info.form_id != form_id:
            reason = f"报表格式 {info.form_id} 与本次汇总的 {form_id} 不一致"
            rejected.append(Rejected.of(info, Code.MIXED_FORMS, reason, form=info.form_id, rollup_form=form_id))
        else:
            kept.append(info)
    invalid = [i for i in kept if i.error_count]
    if strict and invalid:
        raise MergeError(
            "--strict：以下单位有错误，未生成汇总表："
            + "；".join(f"{i.unit_name or i.name}（{i.error_count} 个错误，例如 {_first(i)}）" for i in invalid[:5])
            + (f"；等 {len(invalid)} 个单位" if len(invalid) > 5 else "")
        )
    candidates: list[Inspected] = []
    for info in kept:
        if info.error_count and not include_invalid:
            reason = f"有 {info.error_count} 个错误，例如{_first(info)}"
            causes = (info.first_error,) if info.first_error else ()
            rejected.append(Rejected.of(info, Code.HAS_ERRORS, reason, *causes, errors=info.error_count))
        else:
            candidates.append(info)
    if roster is not None:
        candidates = _drop_unauthorised_rollups(candidates, rejected, roster)
    candidates = _drop_double_counted(candidates, rejected)
    candidates = _drop_conflicts(candidates, rejected)
    candidates = _drop_duplicates(candidates, rejected, prefer_newest)
    members = [
        Member(info, MemberStatus.MERGED_WITH_ERRORS if info.error_count else MemberStatus.MERGED)
        for info in sorted(candidates, key=_unit_order)
    ]
    rejected.sort(key=lambda r: (r.info.name, r.info.sha256, r.code, r.reason))
    return year, form_id, members, rejected


def _first(info: Inspected) -> str:
    """The file's first error as a reason quotes it (place, then message)."""
    return info.first_error.located if info.first_error else ""


def _unit_order(info: Inspected) -> tuple:
    code = identity.code_key(info.unit_code)
    return (code == "", code, info.name_key, info._sha)  # bytes sort as their hex


def _label(name: str, code: str) -> str:
    return f"{name}（{code}）" if name and code else name or code or "未署名单位"


def _drop_double_counted(infos: list[Inspected], rejected: list[Rejected]) -> list[Inspected]:
    """A file that is itself inside a roll-up being merged (same SHA-256 in its 来源 sheet) would be counted twice:
    the file is rejected and the roll-up kept, since they are the same data."""
    if not any(info.merged for info in infos):
        return infos  # no roll-up among the inputs
    infos = sorted(infos, key=_unit_order)  # the roll-up named in a reason must not depend on the input order
    holders: dict[str, list[Inspected]] = defaultdict(list)
    for info in infos:
        for sha, _name, _code in info.merged:
            if _SHA256.fullmatch(sha) and info not in holders[sha]:
                holders[sha].append(info)
    held = {id(i) for i in infos if any(h is not i for h in holders.get(i.sha256, []))}
    out = []
    for info in infos:
        # name the outermost roll-up (one not itself inside another input) when there is a choice
        holder = next(
            (h for h in sorted(holders.get(info.sha256, []), key=lambda h: id(h) in held) if h is not info), None
        )
        if holder is not None:
            reason = f"已包含在汇总表 {holder.name} 中，再次汇总会重复计算"
            rejected.append(Rejected.of(info, Code.DOUBLE_COUNTED, reason, rollup=holder.name))
        else:
            out.append(info)
    return out


def _drop_conflicts(infos: list[Inspected], rejected: list[Rejected]) -> list[Inspected]:
    """A unit inside a roll-up that is also given as its own return (another file: the same file is double
    counting), or inside two roll-ups: nobody can tell which figures are right, so every file involved is rejected
    (CONFLICT, naming the others) and the county decides."""
    inside = UnitIndex()  # the units each roll-up summed: (the roll-up's position in infos, name, code)
    for k, info in enumerate(infos):
        for _sha, name, code in info.merged:
            inside.add((k, name, code), name, code)
    if not inside:
        return infos  # no roll-up among the inputs (nothing to read back from the spool)
    phrases: dict[int, set[str]] = defaultdict(set)
    for k, info in enumerate(infos):
        for owner, name, code in inside.find(info.name_key, info.unit_code):  # its own unit, inside a roll-up
            if owner != k:
                label, holder = _label(info.unit_name, info.unit_code), infos[owner]
                phrases[k].add(f"本单位（{label}）也包含在汇总表 {holder.name} 中")
                phrases[owner].add(f"其中的 {_label(name, code)} 另有报表 {info.name}")
        for _sha, name, code in info.merged:  # a unit it summed, inside another roll-up
            for owner, _n, _c in inside.find(name, code):
                if owner != k:
                    phrases[k].add(f"其中的 {_label(name, code)} 也包含在汇总表 {infos[owner].name} 中")
    out = []
    for k, info in enumerate(infos):
        if k not in phrases:
            out.append(info)
            continue
        listed = sorted(phrases[k])
        more = f"等 {len(listed)} 处" if len(listed) > 5 else ""
        reason = "；".join(listed[:5]) + more + "。为免重复计算，两份都未汇总；请确定采用哪一份，删去另一份后重新汇总"
        rejected.append(Rejected.of(info, Code.CONFLICT, reason))
    return out


def _drop_duplicates(infos: list[Inspected], rejected: list[Rejected], prefer_newest: bool) -> list[Inspected]:
    """The same unit twice (identity.same_unit: by code when both have one, else by name; identical bytes too) is
    never summed twice: every file of it is rejected (DUPLICATE), or with --prefer-newest all but the newest. Files
    that join units of different codes (an uncoded file named like two coded ones) cannot be resolved that way:
    all of them are rejected (CONFLICT)."""
    units = [
        (i.name_key, i.unit_code) if (i.name_key or i.unit_code) else (f"\x00{i.sha256 or id(i)}", "") for i in infos
    ]
    found = identity.groups(units)
    twice = {k for group in found for k in group}
    out = [info for k, info in enumerate(infos) if k not in twice]
    for positions in found:
        group = sorted((infos[k] for k in positions), key=_unit_order)  # reasons name files in a fixed order
        codes = sorted({identity.code_key(i.unit_code) for i in group} - {""})
        label = group[0].unit_code if codes else next((i.unit_name for i in group if i.unit_name), group[0].name)
        others = "、".join(i.name for i in group)
        if len(codes) > 1:
            reason = (
                f"{others} 中未填代码的文件与代码不同的多个单位同名（{'、'.join(codes)}），无法确定属于哪个单位；"
                "为免重复计算，均未汇总；请补填代码或删去多余的文件后重新汇总"
            )
            rejected.extend(Rejected.of(info, Code.CONFLICT, reason) for info in group)
        elif prefer_newest:
            newest = max(group, key=lambda i: (i.date, i.mtime, i.sha256))
            out.append(newest)
            for info in group:
                if info is not newest:
                    reason = f"与 {newest.name} 为同一单位（{label}），已采用较新的一份"
                    rejected.append(Rejected.of(info, Code.DUPLICATE, reason, unit=label, kept=newest.name))
        else:
            for info in group:
                reason = (
                    f"同一单位（{label}）报送了多份：{others}；请删除多余的一份，或使用 --prefer-newest 采用最新的一份"
                )
                rejected.append(Rejected.of(info, Code.DUPLICATE, reason, unit=label))
    return out


def roster_lookup(roster: list[RosterEntry]) -> Callable[[Inspected], RosterEntry | None]:
    """The roster entry of a file's unit (identity.same_unit: by code when both have one, else by name; the first
    roster line when several match)."""
    index = UnitIndex()
    for e in roster:
        index.add(id(e), e.name, e.code)
    entries = {id(e): e for e in roster}

    def entry_of(info: Inspected) -> RosterEntry | None:
        found = index.find(info.name_key, info.unit_code)
        return entries[found[0]] if found else None

    return entry_of


def _drop_unauthorised_rollups(
    infos: list[Inspected], rejected: list[Rejected], roster: list[RosterEntry]
) -> list[Inspected]:
    """With a roster, a roll-up counts only when it comes from a unit whose 类型 contains 汇总 (e.g. 汇总, 县级汇总,
    市级汇总单位): a township's file claiming to be a roll-up could carry any figures."""
    entry_of = roster_lookup(roster)
    rule = f"名册中类型含“{ROLLUP_TYPE_WORD}”的单位才可报送汇总表"
    out = []
    for info in infos:
        entry = entry_of(info) if info.kind == ROLLUP_KIND else None
        if info.kind != ROLLUP_KIND or (entry is not None and ROLLUP_TYPE_WORD in norm(entry.type)):
            out.append(info)
        elif entry is None:
            label = _label(info.unit_name, info.unit_code)
            rejected.append(Rejected.of(info, Code.ROLLUP_NOT_ALLOWED, f"汇总表的单位 {label} 不在名册中；{rule}"))
        else:
            reason = f"名册中 {entry.name} 的类型为“{entry.type or '（空白）'}”，不是汇总单位；{rule}"
            rejected.append(Rejected.of(info, Code.ROLLUP_NOT_ALLOWED, reason, roster_type=entry.type))
    return out


def copied_returns(members: list[Member]) -> list[Notice]:
    """Returns of different units with identical values (at least COPY_MIN_NONZERO non-zero cells): one may be a
    copy of the other. Both stay merged; each gets a COPIED_RETURN notice naming the others."""
    first: dict[bytes, Inspected] = {}  # the first member with each fingerprint; lists only for copies
    groups: dict[bytes, list[Inspected]] = {}
    for m in members:  # members are distinct units (duplicates were rejected) in a fixed order
        if m.info.digest is not None and m.info.nonzero >= COPY_MIN_NONZERO:
            seen = first.setdefault(m.info.digest, m.info)
            if seen is not m.info:
                groups.setdefault(m.info.digest, [seen]).append(m.info)
    del first
    notices = []
    for group in groups.values():
        if len(group) < 2:
            continue
        nonzero = group[0].nonzero
        for info in group:
            # at most COPY_NAMED others by name (a folder of 10,000 copies must not write 10,000 names 10,000 times)
            named = [o for o in group[: COPY_NAMED + 1] if o is not info][:COPY_NAMED]
            others = "、".join(f"{_label(o.unit_name, o.unit_code)}（{o.name}）" for o in named)
            if len(group) - 1 > len(named):
                others += f"等 {len(group) - 1} 个单位"
            reason = f"与 {others} 的填报数据完全相同（{nonzero} 个非零数），可能是照抄；已汇总，请核实"
            notices.append(Notice.of(info, Code.COPIED_RETURN, reason, nonzero=nonzero))
    return notices


def apply_roster(roll: RollUp, roster: list[RosterEntry]) -> None:
    entry_of = roster_lookup(roster)
    for m in roll.members:
        entry = entry_of(m.info)
        if entry is None:
            roll.unexpected.append(m)
        else:
            entry.status = RosterStatus(m.status.value)
    index = {id(e): i for i, e in enumerate(roster)}
    for r in roll.rejected:
        entry = entry_of(r.info)
        if entry is not None and entry.status is RosterStatus.MISSING:
            entry.status, entry.reason = RosterStatus.REJECTED, describe(r.code)
            roll.roster_rejected[index[id(entry)]] = r
    roll.roster = roster
