"""The county's pages: login, tasks, the dashboard with its filters and 催报名单, a unit's versions and review, links
and their printable 通知, roll-up and report downloads, the audit log."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from xltool.serve import audit, reviews, rollups, tasks, users
from xltool.serve.models import Unit, Version
from xltool.serve.portal import Portal, PortalError
from xltool.serve.tokens import new_token, same
from xltool.serve.web.auth import ADMIN, LOGIN_COOKIE, UNIT, address, cookie_name
from xltool.serve.web.render import attachment, page, problem
from xltool.serve.web.views import version_view
from xltool.serve.words import ACTIONS, CHECK_WORDS, REVIEW_WORDS, Review

MAX_ROSTER = 1024 * 1024


def _portal(request: Request) -> Portal:
    return request.app.state.portal


async def home(request: Request) -> Response:
    sessions = request.app.state.sessions
    if request.cookies.get(cookie_name(UNIT, sessions.secure)) and not request.cookies.get(
        cookie_name(ADMIN, sessions.secure)
    ):
        return RedirectResponse("/unit", status_code=303)
    return RedirectResponse("/admin", status_code=303)


async def login_page(request: Request, error: str = "", status: int = 200) -> Response:
    value = new_token()
    response = page(request, "login.html", status, login_csrf=value, error=error)
    response.set_cookie(LOGIN_COOKIE, value, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=request.app.state.sessions.secure)  # fmt: skip
    return response


async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    if not same(str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_COOKIE, "") or "-"):
        return problem(request, 403, "登录表单已过期，请刷新页面后重试")
    name, password = str(form.get("name") or "")[:100], str(form.get("password") or "")[:1000]
    limiter, where = request.app.state.login_failures, address(request)
    if limiter.blocked(where) or limiter.blocked(f"name:{name}"):
        return problem(request, 429, "登录失败次数过多，请 10 分钟后再试")
    user = await run_in_threadpool(users.authenticate, _portal(request), name, password)
    if user is None:
        limiter.hit(where)
        limiter.hit(f"name:{name}")
        await run_in_threadpool(_record, _portal(request), f"登录名：{name}", "login.failed", where)
        return await login_page(request, "用户名或密码不对", 401)
    sessions = request.app.state.sessions
    value, _ = await run_in_threadpool(sessions.start, ADMIN, user.id, None)  # a new session id at every login
    await run_in_threadpool(_record, _portal(request), f"管理员：{user.name}", "login", where)
    response = RedirectResponse("/admin", status_code=303)
    sessions.set_cookie(response, ADMIN, value)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _record(portal: Portal, actor: str, action: str, where: str, **kw) -> None:
    with portal.writing() as session:
        audit.record(session, actor, action, address=where, **kw)


async def logout(request: Request) -> Response:
    who = request.state.who
    sessions = request.app.state.sessions
    await run_in_threadpool(sessions.end, who.session_id)
    await run_in_threadpool(_record, _portal(request), who.actor, "logout", address(request))
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_cookie(response, ADMIN)
    return response


async def tasks_page(request: Request, error: str = "", status: int = 200) -> Response:
    found = await run_in_threadpool(tasks.tasks, _portal(request))
    from xltool.forms import all_forms

    forms = [(f.id, f"{f.notice}（{f.first_year}—{f.last_year or ''}）") for f in all_forms()]
    return page(request, "tasks.html", status, tasks=found, forms=forms, error=error)


async def create_task(request: Request) -> Response:
    who = request.state.who
    form = await request.form(max_files=2, max_fields=20)
    roster = form.get("roster")
    try:
        year = int(str(form.get("year") or "").strip())
    except ValueError:
        return await tasks_page(request, "请填写年度（如 2025）", 400)
    if not isinstance(roster, UploadFile) or not roster.filename:
        return await tasks_page(request, "请选择单位名册（units.csv）", 400)
    data = await roster.read(MAX_ROSTER + 1)
    if len(data) > MAX_ROSTER:
        return await tasks_page(request, "名册文件太大（应不到 1 MB）", 400)
    previous = form.get("previous")
    with tempfile.TemporaryDirectory(prefix="roster-", dir=_portal(request).incoming) as folder:
        roster_path = Path(folder) / "units.csv"
        roster_path.write_bytes(data)
        previous_path = None
        if isinstance(previous, UploadFile) and previous.filename:
            suffix = Path(previous.filename).suffix.lower()
            if suffix not in (".xlsx", ".xlsm", ".ods", ".xls"):
                return await tasks_page(request, "上年度报表应为 xlsx / ods / xls 文件", 400)
            previous_path = Path(folder) / f"previous{suffix}"
            previous_path.write_bytes(await previous.read(request.app.state.settings.max_upload))
        try:
            task_id, links = await run_in_threadpool(
                tasks.create_task,
                _portal(request),
                year,
                roster_path,
                str(form.get("title") or "").strip()[:200],
                str(form.get("deadline") or "").strip()[:20],
                str(form.get("form_id") or "") or None,
                previous_path,
                str(form.get("county") or "").strip()[:200],
                who.actor,
                address(request),
                int(str(form.get("previous_task"))) if str(form.get("previous_task") or "").isdigit() else None,
            )
        except PortalError as exc:
            return await tasks_page(request, str(exc), 400)
    await _keep_links(request, task_id, links)
    return RedirectResponse(f"/admin/tasks/{task_id}/links", status_code=303)


async def _keep_links(request: Request, task_id: int, links: list[tasks.Link]) -> None:
    """The links just issued, kept in this admin's session (they exist nowhere else) for the CSV and 通知."""
    who = request.state.who
    kept = json.loads(who.links or "{}")
    known = {(x["unit"], x["code"]): x for x in kept.get(str(task_id), [])}
    for link in links:
        known[(link.unit, link.code)] = {"unit": link.unit, "code": link.code, "token": link.token}
    kept[str(task_id)] = list(known.values())
    who.links = json.dumps(kept, ensure_ascii=False)
    await run_in_threadpool(request.app.state.sessions.keep_links, who.session_id, who.links)


def _kept_links(request: Request, task_id: int) -> list[tasks.Link]:
    kept = json.loads(request.state.who.links or "{}").get(str(task_id), [])
    return [tasks.Link(x["unit"], x["code"], x["token"]) for x in kept]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def links_page(request: Request) -> Response:
    """The links issued in this session, as a printable 通知 with a QR code per unit."""
    task_id = request.path_params["task_id"]
    task, rows = await _status(request, task_id)
    links = _kept_links(request, task_id)
    base = _base_url(request)
    shown = [{"unit": x.unit, "code": x.code, "url": x.url(base), "qr": _qr(x.url(base))} for x in links]
    return page(request, "links.html", task=task, links=shown, units=len(rows))


def _qr(text: str) -> str:
    """An inline SVG QR code (no script, no external image)."""
    import qrcode
    import qrcode.image.svg

    return qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=6, border=2).to_string(
        encoding="unicode"
    )


async def links_download(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    links = _kept_links(request, task_id)
    if not links:
        raise HTTPException(404)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8", newline="",
                                     dir=_portal(request).derived) as fh:  # fmt: skip
        fh.write(tasks.links_csv(links, _base_url(request)))
    path = Path(fh.name)
    response = attachment(path, f"任务{task_id}各单位链接.csv", "text/csv; charset=utf-8")
    response.background = BackgroundTask(path.unlink, missing_ok=True)
    return response


async def _status(request: Request, task_id: int):
    try:
        return await run_in_threadpool(tasks.status, _portal(request), task_id)
    except PortalError:
        raise HTTPException(404) from None


async def dashboard(request: Request, message: str = "", status: int = 200) -> Response:
    task_id = request.path_params["task_id"]
    task, rows = await _status(request, task_id)
    counts = tasks.counts(rows)
    rolled = await run_in_threadpool(audit.entries, _portal(request), task_id, 1, "rollup")
    review_filter = request.query_params.get("review", "")
    check_filter = request.query_params.get("check", "")
    shown = [
        r
        for r in rows
        if (not review_filter or r["review"] == review_filter) and (not check_filter or r["check"] == check_filter)
    ]
    links = {(x.unit, x.code): x.url(_base_url(request)) for x in _kept_links(request, task_id)}
    chase = tasks.chase_list(rows)
    chase_text = "\n".join(
        f"{r['unit']}：{r['review']}" + (f" {links[(r['unit'], r['code'])]}" if (r["unit"], r["code"]) in links else "")
        for r in chase
    )
    return page(
        request,
        "dashboard.html",
        status,
        task=task,
        rows=shown,
        counts=counts,
        reviews=list(REVIEW_WORDS.values()),
        checks=list(dict.fromkeys(CHECK_WORDS.values())),
        review_filter=review_filter,
        check_filter=check_filter,
        chase=chase,
        chase_text=chase_text,
        chase_links=all((r["unit"], r["code"]) in links for r in chase),
        message=message,
        last_rollup=rolled[0] if rolled else None,
    )


async def reissue_chased(request: Request) -> Response:
    """New links for every unit on the 催报名单 (the old ones stop working)."""
    task_id = request.path_params["task_id"]
    _, rows = await _status(request, task_id)
    who = request.state.who
    issued = [
        await run_in_threadpool(tasks.reissue, _portal(request), r["id"], who.actor, address(request))
        for r in tasks.chase_list(rows)
    ]
    await _keep_links(request, task_id, issued)
    return RedirectResponse(f"/admin/tasks/{task_id}#chase", status_code=303)


async def reissue_one(request: Request) -> Response:
    unit = await _unit(request)
    who = request.state.who
    link = await run_in_threadpool(tasks.reissue, _portal(request), unit.id, who.actor, address(request))
    await _keep_links(request, unit.task_id, [link])
    return RedirectResponse(f"/admin/units/{unit.id}#link", status_code=303)


async def _found(request: Request, model: type, key: str, related: str):
    """The row the path names (404 if none), with the row it belongs to loaded while the session is open."""

    def load():
        with _portal(request).reading() as session:
            row = session.get(model, request.path_params[key])
            if row is not None:
                getattr(row, related)
            return row

    row = await run_in_threadpool(load)
    if row is None:
        raise HTTPException(404)
    return row


async def _unit(request: Request) -> Unit:
    return await _found(request, Unit, "unit_id", "task")


async def unit_page(request: Request, error: str = "", status: int = 200) -> Response:
    unit = await _unit(request)

    def load() -> list[dict]:
        from sqlalchemy import select

        with _portal(request).reading() as session:
            versions = session.scalars(
                select(Version).where(Version.unit_id == unit.id).order_by(Version.number.desc())
            )
            return [version_view(v, unit.task.form_id) for v in versions]

    versions = await run_in_threadpool(load)
    history = await run_in_threadpool(reviews.history, _portal(request), unit.id)
    link = next((x for x in _kept_links(request, unit.task_id) if (x.unit, x.code) == (unit.name, unit.code)), None)
    return page(
        request,
        "unit_admin.html",
        status,
        unit=unit,
        task=unit.task,
        review=Review(unit.review).zh,
        versions=versions,
        history=list(reversed(history)),
        link=link.url(_base_url(request)) if link else "",
        error=error,
    )


async def review(request: Request) -> Response:
    unit = await _unit(request)
    form = await request.form(max_files=0, max_fields=10)
    accept = form.get("decision") == "accept"
    who = request.state.who
    try:
        await run_in_threadpool(
            reviews.review, _portal(request), unit.id, accept, str(form.get("comment") or "")[:2000], who.actor,
            address(request),
        )  # fmt: skip
    except PortalError as exc:  # shown in the page itself: no message text travels in a URL
        return await unit_page(request, str(exc), 400)
    return RedirectResponse(f"/admin/units/{unit.id}", status_code=303)


async def _version(request: Request) -> Version:
    return await _found(request, Version, "version_id", "unit")


async def version_file(request: Request) -> Response:
    """The version as the unit sent it (under the unit's name; never the stored name)."""
    version = await _version(request)
    suffix = Path(version.stored).suffix
    return attachment(_portal(request).files / version.stored, f"{version.unit.name}（第{version.number}版）{suffix}")


async def version_annotated(request: Request) -> Response:
    version = await _version(request)
    path = await run_in_threadpool(rollups.annotated_copy, _portal(request), version)
    if path is None:
        raise HTTPException(404)
    return attachment(path, f"{version.unit.name}（第{version.number}版，已标注）.xlsx")


async def rollup(request: Request) -> Response:
    return await _compiled(request, "rollup")


async def report(request: Request) -> Response:
    return await _compiled(request, "report")


async def _compiled(request: Request, what: str) -> Response:
    """The roll-up (xlsx) or the report draft (docx) of the task, made now and sent as an attachment."""
    task_id = request.path_params["task_id"]
    task, _ = await _status(request, task_id)
    form = await request.form(max_files=0, max_fields=10)
    pending = form.get("include_pending") == "1"
    who = request.state.who
    folder = Path(tempfile.mkdtemp(prefix="download-", dir=_portal(request).derived))
    try:
        if what == "rollup":
            name = f"{task.title}（汇总{'，含待审' if pending else ''}）.xlsx"
            rolled = await run_in_threadpool(
                rollups.rollup, _portal(request), task_id, folder / "汇总.xlsx", pending, who.actor, address(request)
            )
            path = rolled.path
        else:
            name = f"{task.title}（年度报告草稿）.docx"
            path = await run_in_threadpool(
                rollups.report_draft, _portal(request), task_id, folder / "报告.docx", pending, who.actor,
                address(request),
            )  # fmt: skip
    except PortalError as exc:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        return await dashboard(request, str(exc), 400)
    import shutil

    response = attachment(path, name)
    response.background = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return response


async def audit_page(request: Request) -> Response:
    task = request.query_params.get("task")
    task_id = int(task) if task and task.isdigit() else None
    entries = await run_in_threadpool(audit.entries, _portal(request), task_id, 1000)
    return page(request, "audit.html", entries=entries, actions=ACTIONS, task_id=task_id)
