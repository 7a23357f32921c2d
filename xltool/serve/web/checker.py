"""Checks for the web app: the uploads that arrive together are checked together (one run of xltool's worker pool
for a batch), and each upload's request waits for its own verdict."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.concurrency import run_in_threadpool

from xltool.serve.portal import Portal
from xltool.serve.uploads import check_versions

MAX_BATCH = 64


class Checker:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.waiting: list[tuple[int, asyncio.Future]] = []
        self.task: asyncio.Task | None = None

    async def check(self, version_id: int) -> None:
        """Return when the version is checked (its verdict is in the database); a failure of the pool itself
        leaves it 检查中, checked again at the next start."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((version_id, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        await asyncio.shield(future)

    async def _drain(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            try:
                await run_in_threadpool(check_versions, self.portal, [v for v, _ in batch])
            except Exception as exc:  # the pool could not run: every waiting upload hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def close(self) -> None:
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
