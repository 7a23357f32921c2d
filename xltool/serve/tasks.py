"""填报任务: created from a roster (units.csv) with a personalised template and a link per unit; status per unit."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from xltool.serve import audit
from xltool.serve.models import Task, Unit, Version, now
from xltool.serve.portal import Portal, PortalError
from xltool.serve.tokens import new_token, token_hash
from xltool.serve.words import Review, check_word

LINK_COLUMNS = ["单位", "代码", "链接"]


@dataclass(frozen=True)
class Link:
    """A unit's link as issued (the only moment its token exists outside the unit's hands)."""

    unit: str
    code: str
    token: str

    def url(self, base_url: str = "") -> str:
        return link_url(self.token, base_url)


def link_url(token: str, base_url: str = "") -> str:
    """`/u/<token>`, or the full address under `base_url` (https://县政务公开.example/)."""
    return f"{base_url.rstrip('/')}/u/{token}"


def links_csv(links: list[Link], base_url: str = "") -> str:
    """The links as CSV (单位,代码,链接), with a byte-order mark so that Excel and WPS read the Chinese."""
    from xltool.formats.csv import escape_formula

    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(LINK_COLUMNS)
    for link in links:
        w.writerow([escape_formula(link.unit), escape_formula(link.code), link.url(base_url)])
    return out.getvalue()


def create_task(
    portal: Portal,
    year: int,
    roster: Path,
    title: str = "",
    deadline: str = "",
    form_id: str | None = None,
    previous: Path | None = None,
    county: str = "",
    actor: str = "",
    address: str = "",
    previous_task: int | None = None,
) -> tuple[int, list[Link]]:
    """A new task: the roster's units, each with a fresh link and its personalised template, pre-filled from last
    year's returns or roll-up at `previous`, or from the accepted versions of the task `previous_task`. The task's
    id and the links (their tokens exist nowhere else)."""
    from xltool.distribute import WRITTEN, personalise
    from xltool.forms import form_by_id, form_for_year
    from xltool.roster import RosterError, read_roster

    try:
        entries = read_roster(Path(roster))
    except RosterError as exc:
        raise PortalError(str(exc)) from None
    if not entries:
        raise PortalError("名册中没有单位")
    try:
        form = form_by_id(form_id) if form_id else form_for_year(year)
    except (KeyError, ValueError) as exc:
        raise PortalError(f"报表格式无法确定：{exc}") from None
    last = None
    if previous is not None:
        from xltool.discover import load_previous

        last = load_previous(Path(previous))
        if not last:
            raise PortalError(f"上年度报表无法读取或没有数据：{Path(previous).name}")
    elif previous_task is not None:
        last = _accepted_figures(portal, previous_task)
    # the templates are written first, in a folder of their own, and moved in only with the task's rows
    staging = Path(tempfile.mkdtemp(prefix="templates-", dir=portal.data / "tasks"))
    try:
        index = personalise(entries, year, staging, previous=last, form=form)
        links = [Link(e.name, e.code, new_token()) for e in entries]
        with portal.writing() as session:
            task = Task(
                title=title or f"{year}年政府信息公开工作年度报表",
                year=year,
                form_id=form.id,
                deadline=deadline,
                county=county,
                created_by=actor,
            )
            session.add(task)
            session.flush()
            for i, (entry, row, link) in enumerate(zip(entries, index, links, strict=True)):
                session.add(
                    Unit(
                        task_id=task.id,
                        position=i,
                        name=entry.name,
                        code=entry.code,
                        type=entry.type,
                        token_hash=token_hash(link.token),
                        template=row["文件"] if row["结果"] == WRITTEN else "",
                    )
                )
            audit.record(
                session, actor, "task.create", task.id, address=address, detail=f"{task.title}（{len(entries)} 个单位）"
            )
            target = portal.task_folder(task.id)
            if target.exists():  # left by a task whose rows were never committed
                shutil.rmtree(target)
            staging.rename(target)
        return task.id, links
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _accepted_figures(portal: Portal, task_id: int) -> dict:
    """Last year's figures per unit from the versions the county accepted in the task `task_id`."""
    from xltool.discover import load_previous

    _, chosen = chosen_versions(portal, task_id, include_pending=False)
    if not chosen:
        raise PortalError(f"任务 {task_id} 中还没有已接收的报表，无法用来预填")
    with tempfile.TemporaryDirectory(prefix="previous-", dir=portal.derived) as folder:
        for _unit, version in chosen:
            shutil.copyfile(portal.files / version.stored, Path(folder) / version.stored)
        return load_previous(Path(folder))


def reissue(portal: Portal, unit_id: int, actor: str = "", address: str = "") -> Link:
    """A new link for the unit; the old one stops working at once (and its sessions end)."""
    from xltool.serve.models import WebSession

    token = new_token()
    with portal.writing() as session:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise PortalError("没有这个单位")
        unit.token_hash = token_hash(token)
        unit.token_issued_at = now()
        unit.token_used_at = None
        for old in session.scalars(select(WebSession).where(WebSession.unit_id == unit_id)):
            session.delete(old)
        audit.record(session, actor, "link.issue", unit.task_id, unit.id, address=address, detail=unit.name)
        return Link(unit.name, unit.code, token)


def unit_by_token(session: Session, token: str) -> Unit | None:
    """The unit whose link this is (by the token's hash), else None."""
    if not token or len(token) > 200:
        return None
    return session.scalar(select(Unit).where(Unit.token_hash == token_hash(token)))


def find_task(session: Session, task_id: int | None) -> Task:
    """The task asked for; without an id, the only task (PortalError when there are none or several)."""
    if task_id is not None:
        task = session.get(Task, task_id)
        if task is None:
            raise PortalError(f"没有编号为 {task_id} 的填报任务")
        return task
    tasks = list(session.scalars(select(Task).order_by(Task.id).limit(2)))
    if not tasks:
        raise PortalError("还没有填报任务：请先用 xltool serve task create 创建")
    if len(tasks) > 1:
        raise PortalError("有多个填报任务：请用 --task 指定任务编号")
    return tasks[0]


def find_unit(session: Session, task: Task, name_or_code: str) -> Unit:
    """The task's unit with this code or name (PortalError when none or several match)."""
    wanted = name_or_code.strip()
    units = [u for u in task.units if wanted and (u.code == wanted or u.name == wanted)]
    if not units:
        raise PortalError(f"任务中没有单位“{wanted}”")
    if len(units) > 1:
        raise PortalError(f"有多个单位名为“{wanted}”：请用单位代码指定")
    return units[0]


def tasks(portal: Portal) -> list[Task]:
    with portal.reading() as session:
        return list(session.scalars(select(Task).order_by(Task.id.desc())))


def status(portal: Portal, task_id: int | None = None) -> tuple[Task, list[dict[str, Any]]]:
    """The task and one row per roster unit, in roster order: unit, code, review (未报/待审/已接收/已退回), check of
    the latest version (通过/有警告/有错误/无法读取, 检查中, or ''), versions, errors, warnings, last upload."""
    with portal.reading() as session:
        task = find_task(session, task_id)
        units = session.scalars(
            select(Unit).where(Unit.task_id == task.id).order_by(Unit.position).options(selectinload(Unit.versions))
        ).all()
        rows = [unit_row(u) for u in units]
        session.expunge(task)
    return task, rows


def unit_row(unit: Unit) -> dict[str, Any]:
    latest: Version | None = unit.versions[-1] if unit.versions else None
    return {
        "unit": unit.name,
        "code": unit.code,
        "review": Review(unit.review).zh,
        "check": check_word(latest.check) if latest else "",
        "versions": len(unit.versions),
        "errors": latest.errors if latest else 0,
        "warnings": latest.warnings if latest else 0,
        "last_upload": latest.uploaded_at.isoformat(timespec="seconds") + "Z" if latest else "",
        "id": unit.id,
    }


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many units are in each review state and check verdict (the dashboard's numbers, from the same rows)."""
    out: dict[str, int] = {"全部": len(rows)}
    for row in rows:
        out[row["review"]] = out.get(row["review"], 0) + 1
        if row["check"]:
            out[row["check"]] = out.get(row["check"], 0) + 1
    return out


def chase_list(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """催报名单: units that have not reported or were returned."""
    chase = {Review.MISSING.zh, Review.RETURNED.zh}
    return [r for r in rows if r["review"] in chase]


def chosen_versions(
    portal: Portal, task_id: int | None, include_pending: bool
) -> tuple[int, list[tuple[Unit, Version]]]:
    """Per unit, the version a roll-up takes: the last one accepted (kept through a re-upload, dropped by 退回), or
    with `include_pending` the latest upload of a unit awaiting review."""
    with portal.reading() as session:
        task = find_task(session, task_id)
        units = session.scalars(
            select(Unit).where(Unit.task_id == task.id).order_by(Unit.position).options(selectinload(Unit.versions))
        ).all()
        chosen = []
        for unit in units:
            by_id = {v.id: v for v in unit.versions}
            if include_pending and unit.review == Review.PENDING and unit.versions:
                chosen.append((unit, unit.versions[-1]))
            elif unit.accepted_version_id in by_id:
                chosen.append((unit, by_id[unit.accepted_version_id]))
        return task.id, chosen
