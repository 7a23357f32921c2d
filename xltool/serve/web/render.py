"""How answers are made: pages from the Jinja2 templates (autoescaped), errors in Chinese or JSON, downloads as
attachments."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

HERE = Path(__file__).parent


def local_time(value: datetime | None) -> str:
    """A stored UTC time as the county's clock shows it."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")


_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
_env.filters["time"] = local_time
_env.filters["iso"] = lambda text: local_time(datetime.fromisoformat(text.rstrip("Z"))) if text else ""


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    who = getattr(request.state, "who", None)
    html = _env.get_template(name).render(request=request, who=who, csrf=who.csrf if who else "", **context)
    return HTMLResponse(html, status_code=status_code, headers={"cache-control": "no-store"})


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def problem(request: Request, status: int, message: str) -> Response:
    """An error as a Chinese page, or as JSON for a client that asked for JSON."""
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status, headers={"cache-control": "no-store"})
    return page(request, "error.html", status, status=status, message=message)


def attachment(path: Path, name: str, media_type: str | None = None) -> FileResponse:
    """A download: always an attachment (never shown in the browser), its name in UTF-8 for Chinese."""
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\]', "_", name)  # the fallback name: printable ASCII only
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return FileResponse(
        path,
        media_type=media_type or "application/octet-stream",
        headers={"content-disposition": disposition, "cache-control": "no-store"},
    )
