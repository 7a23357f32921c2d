"""Who is asking, decided in one place: server-side sessions (the cookie holds a random id, the table its hash),
the unit's link exchanged for a session, CSRF on every form, rate limits, and `guard` — the one wrapper every route
goes through, which admits a request only with the role its route declares.

A unit's routes take the unit from its session and never from the URL, so one unit cannot name another's anything.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from xltool.serve.models import Unit, User, WebSession, now
from xltool.serve.portal import Portal
from xltool.serve.tokens import new_token, same, token_hash

ADMIN, UNIT, ANYONE = "admin", "unit", "anyone"
# idle and absolute timeouts (OWASP session management)
TIMEOUTS = {ADMIN: (timedelta(minutes=30), timedelta(hours=12)), UNIT: (timedelta(hours=2), timedelta(hours=24))}
TOUCH_EVERY = timedelta(minutes=1)  # a session's last-seen time is written at most this often
LOGIN_COOKIE = "xltool_login"  # the login form's CSRF value (double submit), before any session exists


def cookie_name(kind: str, secure: bool) -> str:
    """`__Host-` cookies need HTTPS: used with --secure (behind a TLS proxy)."""
    return f"{'__Host-' if secure else ''}xltool_{kind}"


@dataclass
class Who:
    """The requester as the session says: an administrator or a unit, with the session's CSRF value."""

    kind: str
    session_id: str
    csrf: str
    user: User | None = None
    unit: Unit | None = None
    links: str = ""

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        if self.user is not None:
            return f"管理员：{self.user.name}"
        assert self.unit is not None
        return f"单位：{self.unit.name}"


class Sessions:
    """Server-side sessions in the database."""

    def __init__(self, portal: Portal, secure: bool = False) -> None:
        self.portal, self.secure = portal, secure

    def start(self, kind: str, user_id: int | None = None, unit_id: int | None = None) -> tuple[str, str]:
        """A new session (a fresh id at every login or link visit); (cookie value, CSRF value)."""
        value, csrf = new_token(), new_token()
        with self.portal.writing() as session:
            session.add(WebSession(id=token_hash(value), kind=kind, user_id=user_id, unit_id=unit_id, csrf=csrf))
        return value, csrf

    def load(self, kind: str, value: str | None) -> Who | None:
        """The live session of this kind for the cookie value, else None (an expired one is removed)."""
        if not value or len(value) > 200:
            return None
        idle, absolute = TIMEOUTS[kind]
        key = token_hash(value)
        with self.portal.reading() as session:
            row = session.get(WebSession, key)
            if row is None or row.kind != kind:
                return None
            current = now()
            if current - row.seen_at > idle or current - row.created_at > absolute:
                expired = True
            else:
                expired = False
                who = Who(kind, key, row.csrf, links=row.links)
                if kind == ADMIN:
                    who.user = session.get(User, row.user_id)
                else:
                    who.unit = session.get(Unit, row.unit_id)
                    if who.unit is not None:
                        who.unit.task  # noqa: B018 - loaded while the session is open
            stale = current - row.seen_at > TOUCH_EVERY
        if expired:
            self.end(key)
            return None
        if (who.user or who.unit) is None:
            return None
        if stale:
            with self.portal.writing() as session:
                row = session.get(WebSession, key)
                if row is not None:
                    row.seen_at = current
        return who

    def end(self, session_id: str) -> None:
        with self.portal.writing() as session:
            row = session.get(WebSession, session_id)
            if row is not None:
                session.delete(row)

    def keep_links(self, session_id: str, links: str) -> None:
        with self.portal.writing() as session:
            row = session.get(WebSession, session_id)
            if row is not None:
                row.links = links

    def purge(self) -> int:
        """Remove every expired session (at start)."""
        from sqlalchemy import delete, or_

        removed = 0
        with self.portal.writing() as session:
            for kind, (idle, absolute) in TIMEOUTS.items():
                current = now()
                result = session.execute(
                    delete(WebSession).where(
                        WebSession.kind == kind,
                        or_(WebSession.seen_at < current - idle, WebSession.created_at < current - absolute),
                    )
                )
                removed += result.rowcount or 0
        return removed

    def set_cookie(self, response: Response, kind: str, value: str) -> None:
        response.set_cookie(  # a browser-session cookie; the server enforces the idle and absolute timeouts
            cookie_name(kind, self.secure),
            value,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear_cookie(self, response: Response, kind: str) -> None:
        response.delete_cookie(cookie_name(kind, self.secure), path="/", secure=self.secure, httponly=True)


class Limiter:
    """At most `limit` events per key in a sliding window of `seconds` (in this process's memory)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.events: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, key: str) -> bool:
        events = self.events[key]
        cutoff = time.monotonic() - self.seconds
        while events and events[0] < cutoff:
            events.popleft()
        if not events:
            self.events.pop(key, None)
        return len(events) >= self.limit

    def hit(self, key: str) -> None:
        self.events[key].append(time.monotonic())


def address(request: Request) -> str:
    """The client's address (uvicorn puts the proxy's X-Forwarded-For here when --proxy trusts it)."""
    return request.client.host if request.client else ""


Endpoint = Callable[[Request], Awaitable[Response]]


class Forbidden(Exception):
    """A request refused: 403 (a form without its CSRF value) or the login page for a missing admin session."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def guard(role: str, endpoint: Endpoint) -> Endpoint:
    """The route's endpoint behind the one authorisation check: the session of `role` (admin, unit) is loaded into
    `request.state.who`, and every POST must carry that session's CSRF value in its `csrf_token` field."""

    async def guarded(request: Request) -> Response:
        request.state.who = None
        if role != ANYONE:
            sessions: Sessions = request.app.state.sessions
            value = request.cookies.get(cookie_name(role, sessions.secure))
            who = await run_in_threadpool(sessions.load, role, value)
            if who is None:
                raise Forbidden(401, "请先登录" if role == ADMIN else "请使用本单位的专属链接打开")
            request.state.who = who
            if request.method == "POST":
                form = await request.form(max_files=2, max_fields=30)  # the most any form of the portal has
                if not same(str(form.get("csrf_token") or ""), who.csrf):
                    raise Forbidden(403, "表单已过期或来源不明，请刷新页面后重试")
        return await endpoint(request)

    guarded.__name__ = endpoint.__name__
    return guarded
