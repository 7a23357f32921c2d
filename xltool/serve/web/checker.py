"""Checks for the web app: the uploads that arrive together are checked together (one run of xltool's worker pool
for a batch), and each upload's request waits for its own verdict."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from xltool.serve.portal import Portal
from xltool.serve.uploads import check_versions

MAX_BATCH = 100
# The web app keeps the pool's workers warm (Portal.warm_pool): a run starts at once, and the uploads that arrive
# while it runs make the next one. Without it each run starts its worker processes (about 0.4 s, more on a busy
# machine), so uploads that arrive in a burst are gathered into one run — until none has come for QUIET seconds, or
# GATHER_MAX seconds have passed.
QUIET, GATHER_MAX = 0.1, 1.0


class Checker:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.waiting: list[tuple[int, asyncio.Future]] = []
        self.task: asyncio.Task | None = None
        # its own thread: a run never queues for the request threads (a burst of uploads holds them all)
        self.thread: ThreadPoolExecutor | None = None

    async def check(self, version_id: int) -> None:
        """Return when the version is checked (its verdict is in the database); a failure of the pool itself
        leaves it 检查中, checked again at the next start."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((version_id, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        await asyncio.shield(future)

    async def _drain(self) -> None:
        if self.portal.warm_pool is None:  # workers kept warm need no gathering: what arrives during a run is the next
            await self._gather()
        if self.thread is None:
            self.thread = ThreadPoolExecutor(1, thread_name_prefix="xltool-checker")
        while self.waiting:
            batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self.thread, check_versions, self.portal, [v for v, _ in batch]
                )
            except Exception as exc:  # the pool could not run: every waiting upload hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def _gather(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        seen = -1
        while len(self.waiting) != seen and loop.time() - start < GATHER_MAX:
            seen = len(self.waiting)
            await asyncio.sleep(QUIET)

    async def close(self) -> None:
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
        if self.thread is not None:
            self.thread, thread = None, self.thread
            thread.shutdown(wait=True)
