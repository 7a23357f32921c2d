"""Serving the app with uvicorn: one process on SQLite; several (each its own app) on PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import os

from xltool.serve.web.app import Settings, build

SETTINGS_VARIABLE = "XLTOOL_SERVE_SETTINGS"  # how the worker processes learn the settings


def from_environment():
    """The app factory uvicorn calls in each worker process."""
    return build(Settings(**json.loads(os.environ[SETTINGS_VARIABLE])))


def run(
    settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, proxies: str | None = None
) -> None:
    import uvicorn

    os.environ[SETTINGS_VARIABLE] = json.dumps(dataclasses.asdict(settings))
    uvicorn.run(
        "xltool.serve.web.server:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=proxies is not None,
        forwarded_allow_ips=proxies,
        server_header=False,
        access_log=False,  # an access log would keep unit links (/u/<token>) in plain text
        log_level="warning",
    )


__all__ = ["Settings", "from_environment", "run"]
