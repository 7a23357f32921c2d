"""The unit's pages, reached only through its link: the link is exchanged for a session and dropped from the URL;
every route takes the unit from that session (never from the URL)."""

from __future__ import annotations

import contextlib

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from xltool.serve import audit, tasks, uploads
from xltool.serve.models import ReviewEntry, Unit, Version, now
from xltool.serve.portal import Portal, PortalError
from xltool.serve.web.auth import UNIT, address
from xltool.serve.web.render import attachment, page, problem, wants_json
from xltool.serve.web.views import version_view
from xltool.serve.words import Review


async def redeem(request: Request) -> Response:
    """/u/<token>: a valid link starts a unit session and redirects to /unit (the token leaves the URL)."""
    limiter = request.app.state.redeem_failures
    where = address(request)
    if limiter.blocked(where):
        return problem(request, 429, "打开链接的失败次数过多，请 10 分钟后再试，或向县政务公开办核对链接。")
    portal: Portal = request.app.state.portal
    unit_id = await run_in_threadpool(_redeem, portal, request.path_params["token"], where)
    if unit_id is None:
        limiter.hit(where)
        raise HTTPException(404)
    sessions = request.app.state.sessions
    value, _csrf = await run_in_threadpool(sessions.start, UNIT, None, unit_id)
    response = RedirectResponse("/unit", status_code=303)
    sessions.set_cookie(response, UNIT, value)
    return response


def _redeem(portal: Portal, token: str, where: str) -> int | None:
    with portal.writing() as session:
        unit = tasks.unit_by_token(session, token)
        if unit is None:
            return None
        unit.token_used_at = now()
        audit.record(session, f"单位：{unit.name}", "link.redeem", unit.task_id, unit.id, address=where)
        return unit.id


def _unit_view(portal: Portal, unit_id: int) -> dict:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    with portal.reading() as session:
        unit = session.get(Unit, unit_id, options=[selectinload(Unit.versions)])
        task = unit.task
        versions = [version_view(v, task.form_id) for v in reversed(unit.versions)]
        last_review = session.scalar(
            select(ReviewEntry).where(ReviewEntry.unit_id == unit_id).order_by(ReviewEntry.id.desc()).limit(1)
        )
        numbers = {v["id"]: v["number"] for v in versions}
        return {
            "reviewed": numbers.get(last_review.version_id) if last_review else None,
            "unit": unit,
            "task": task,
            "review": Review(unit.review).zh,
            "versions": versions,
            "latest": versions[0] if versions else None,
            "accept": ",".join(uploads.accepted_suffixes()),
        }


async def unit_page(request: Request, error: str = "", status: int = 200) -> Response:
    who = request.state.who
    view = await run_in_threadpool(_unit_view, request.app.state.portal, who.unit.id)
    return page(request, "unit.html", status, **view, error=error)


async def template(request: Request) -> Response:
    unit = request.state.who.unit
    portal: Portal = request.app.state.portal
    path = portal.task_folder(unit.task_id) / unit.template if unit.template else None
    if path is None or not path.is_file():
        raise HTTPException(404)
    return attachment(path, unit.template, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


async def upload(request: Request) -> Response:
    """Store the upload (a new version, back to 待审), check it, answer with the verdict (JSON when asked)."""
    who = request.state.who
    portal: Portal = request.app.state.portal
    limit = request.app.state.settings.max_upload
    form = await request.form(max_files=1, max_fields=20)
    sent = form.get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        return await _refused(request, 400, "请选择要上传的报表文件")
    try:
        # the form part is already spooled (the body cap bounded it while it streamed): copied, hashed and checked
        # in a thread, whole or not at all
        received = await run_in_threadpool(uploads.receive, portal, sent.file, sent.filename, limit)
        version = await run_in_threadpool(uploads.store, portal, who.unit.id, received, who.actor, address(request))
    except uploads.TooLarge as exc:
        return await _refused(request, 413, f"{exc}：请检查是否传错了文件")
    except PortalError as exc:
        return await _refused(request, 400, str(exc))
    finally:
        await sent.close()
    with contextlib.suppress(Exception):  # the pool could not run: the version is kept, checked at the next start
        await request.app.state.checker.check(version.id)
    if not wants_json(request):
        return RedirectResponse("/unit#result", status_code=303)
    view = await run_in_threadpool(_version, portal, version.id, who.unit.task.form_id)
    return JSONResponse(
        {
            "version": view["number"],
            "check": view["check"],
            "errors": view["errors"],
            "warnings": view["warnings"],
            "sha256": view["sha256"],
            "review": Review.PENDING.zh,
            "problems": view["problems"],
        }
    )


async def _refused(request: Request, status: int, message: str) -> Response:
    """The refusal as JSON, or the unit's page with the reason beside the upload form (never text in a URL)."""
    if wants_json(request) or status == 413:
        return problem(request, status, message)
    return await unit_page(request, message, status)


def _version(portal: Portal, version_id: int, form_id: str) -> dict:
    with portal.reading() as session:
        return version_view(session.get(Version, version_id), form_id)


async def annotated(request: Request) -> Response:
    """The annotated copy of one of this unit's own versions (by its number within the unit)."""
    unit = request.state.who.unit
    portal: Portal = request.app.state.portal
    version = await run_in_threadpool(_own_version, portal, unit.id, request.path_params["number"])
    if version is None:
        raise HTTPException(404)
    from xltool.serve.rollups import annotated_copy

    path = await run_in_threadpool(annotated_copy, portal, version)
    if path is None:
        raise HTTPException(404)
    return attachment(path, f"{unit.name}（第{version.number}版，已标注）.xlsx")


def _own_version(portal: Portal, unit_id: int, number: int) -> Version | None:
    from sqlalchemy import select

    with portal.reading() as session:
        return session.scalar(select(Version).where(Version.unit_id == unit_id, Version.number == number))
