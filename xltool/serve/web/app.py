"""The portal's Starlette app: routes (each declared with the role it needs, checked by auth.guard), security
headers on every answer, the upload cap while the body streams, errors as Chinese pages (or JSON when asked)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xltool.serve.portal import Portal
from xltool.serve.uploads import DEFAULT_MAX_UPLOAD
from xltool.serve.web.auth import ADMIN, ANYONE, UNIT, Forbidden, Limiter, Sessions, guard
from xltool.serve.web.render import problem

HERE = Path(__file__).parent
MULTIPART_SLACK = 64 * 1024  # the form's boundaries and fields around the file
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


@dataclass
class Settings:
    data: str = "xltool-data"
    db: str = ""  # '' = SQLite in the data folder
    max_upload: int = DEFAULT_MAX_UPLOAD
    secure: bool = False  # cookies only over HTTPS (behind a TLS proxy)


class SecurityHeaders:
    """The same protective headers on every answer, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in names
                ]
            await send(message)

        await self.app(scope, receive, sending)


class TooLargeBody(Exception):
    pass


class BodyCap:
    """Refuse a request body over the cap while it streams (by Content-Length at once, else as it arrives): a 413
    page in Chinese, and the server goes on."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        started = False
        total = 0

        async def receiving() -> Message:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.limit:
                    raise TooLargeBody
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if declared is not None and declared.isdigit() and int(declared) > self.limit:
                raise TooLargeBody
            await self.app(scope, receiving, sending)
        except TooLargeBody:
            if started:
                raise
            request = Request(scope)
            request.state.who = None
            mb = (self.limit - MULTIPART_SLACK) / (1024 * 1024)
            response = problem(request, 413, f"文件太大：上传的文件不能超过 {mb:g} MB。请检查是否传错了文件。")
            response.headers["connection"] = "close"
            await response(scope, receive, send)


def build(settings: Settings | None = None, portal: Portal | None = None) -> Starlette:
    """The app over the portal at `settings.data` / `settings.db` (migrated and rechecked at start)."""
    from contextlib import asynccontextmanager

    from xltool.serve.web import admin, unitpages
    from xltool.serve.web.checker import Checker

    settings = settings or Settings()
    portal = portal or Portal(settings.data, settings.db or None)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await run_in_threadpool(portal.migrate)
        await run_in_threadpool(app.state.sessions.purge)
        from xltool import checking
        from xltool.serve.uploads import recheck

        # the check's workers stay up while the portal runs: an upload's verdict does not wait for processes to start
        # (one pool per portal: a second lifespan over the same portal, as in tests, uses the first one's)
        own = None
        if portal.warm_pool is None:
            own = portal.warm_pool = await run_in_threadpool(lambda: checking.warm_pool().open())
        try:
            await run_in_threadpool(recheck, portal)
            yield
            await app.state.checker.close()
        finally:
            if own is not None:
                portal.warm_pool = None
                await run_in_threadpool(own.close)

    def r(path: str, role: str, endpoint, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guard(role, endpoint), methods=list(methods))

    routes = [
        r("/", ANYONE, admin.home),
        r("/login", ANYONE, admin.login_page),
        r("/login", ANYONE, admin.login, ("POST",)),
        r("/logout", ADMIN, admin.logout, ("POST",)),
        r("/admin", ADMIN, admin.tasks_page),
        r("/admin/tasks", ADMIN, admin.create_task, ("POST",)),
        r("/admin/tasks/{task_id:int}", ADMIN, admin.dashboard),
        r("/admin/tasks/{task_id:int}/links", ADMIN, admin.links_page),
        r("/admin/tasks/{task_id:int}/links.csv", ADMIN, admin.links_download),
        r("/admin/tasks/{task_id:int}/reissue", ADMIN, admin.reissue_chased, ("POST",)),
        r("/admin/tasks/{task_id:int}/rollup", ADMIN, admin.rollup, ("POST",)),
        r("/admin/tasks/{task_id:int}/report", ADMIN, admin.report, ("POST",)),
        r("/admin/units/{unit_id:int}", ADMIN, admin.unit_page),
        r("/admin/units/{unit_id:int}/review", ADMIN, admin.review, ("POST",)),
        r("/admin/units/{unit_id:int}/reissue", ADMIN, admin.reissue_one, ("POST",)),
        r("/admin/versions/{version_id:int}/file", ADMIN, admin.version_file),
        r("/admin/versions/{version_id:int}/annotated", ADMIN, admin.version_annotated),
        r("/admin/audit", ADMIN, admin.audit_page),
        r("/u/{token}", ANYONE, unitpages.redeem),
        r("/unit", UNIT, unitpages.unit_page),
        r("/unit/template", UNIT, unitpages.template),
        r("/unit/upload", UNIT, unitpages.upload, ("POST",)),
        r("/unit/versions/{number:int}/annotated", UNIT, unitpages.annotated),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if exc.status == 401 and request.method == "GET" and request.url.path.startswith("/admin"):
            return RedirectResponse("/login", status_code=303)
        return problem(request, exc.status, exc.message)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        words = {
            404: "没有这个页面。如果是单位的专属链接，请核对链接是否完整，或向县政务公开办索取新链接。",
            405: "不支持这种请求",
        }
        return problem(request, exc.status_code, words.get(exc.status_code, exc.detail or "请求无法处理"))

    async def crashed(request: Request, exc: Exception) -> Response:
        return problem(request, 500, "平台内部出错，已记录。请稍后重试；如果一再出现，请联系县政务公开办。")

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={Forbidden: forbidden, HTTPException: http_error, Exception: crashed},
    )
    app.state.portal = portal
    app.state.settings = settings
    app.state.sessions = Sessions(portal, settings.secure)
    app.state.checker = Checker(portal)
    app.state.redeem_failures = Limiter(20, 600)  # made-up links per address
    app.state.login_failures = Limiter(10, 600)  # wrong passwords per address, and per user name
    app.add_middleware(BodyCap, limit=settings.max_upload + MULTIPART_SLACK)
    app.add_middleware(SecurityHeaders)
    return app
