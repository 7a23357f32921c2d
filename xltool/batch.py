"""A per-file task run over many files, the heavy part of each result spooled to disk: what `check` and `merge` share.

`run(task, paths, failed, spool)` calls `task(path)` for every path in isolated worker processes (xltool.workers) and
yields, in input order, `(light, record)`: the task returns `(light, blob)` — the few fields the workflow keeps in
memory, and the rest already pickled — and the blob goes into the `Spool` unread, so memory does not grow with the
files. A file whose worker hung, crashed or ran out of memory is `failed(path, Failure)`, made here in the same
`(light, blob)` shape. Every worker first learns this process's forms (`register_forms`). With `workers=0` the tasks
run in this process and the pool is not even imported (what `xltool check FILE` does for one file).
"""

from __future__ import annotations

import functools
import os
import pickle
import tempfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from xltool import forms

if TYPE_CHECKING:
    from xltool import workers as pool

_PREAD = getattr(os, "pread", None)  # not on Windows: seek and read there

Packed = tuple[Any, bytes]  # (light fields, pickled heavy part)


def pack(light: Any, heavy: Any, compress: bool = False) -> Packed:
    """`(light, heavy pickled)`, what a task returns; `compress` for large records with much repetition (a check
    report: 23 KB → 3 KB)."""
    blob = pickle.dumps(heavy, protocol=pickle.HIGHEST_PROTOCOL)
    return light, zlib.compress(blob, 1) if compress else blob


class Spool:
    """Records (bytes) one after the other in an anonymous temporary file, found again by their number; only the
    record starts are kept in memory. A record is read in one call of its exact size."""

    def __init__(self, prefix: str = "xltool-spool-", compressed: bool = False) -> None:
        self.file = tempfile.TemporaryFile(prefix=prefix)  # noqa: SIM115 - lives as long as what reads it
        self.compressed = compressed
        self.end = 0
        self.starts = array("q")  # where each record starts, ascending (a record ends where the next one starts)
        self.reading = False
        self.last: tuple[int, Any] = (-1, None)

    def __len__(self) -> int:
        return len(self.starts)

    def add(self, blob: bytes) -> int:
        """Append a record; its number."""
        if self.reading:
            self.file.seek(self.end)
            self.reading = False
        self.file.write(blob)
        self.starts.append(self.end)
        self.end += len(blob)
        return len(self.starts) - 1

    def read(self, number: int) -> bytes:
        """The record's bytes, as added."""
        if not self.reading:
            self.file.flush()
            self.reading = True
        offset = self.starts[number]
        size = (self.starts[number + 1] if number + 1 < len(self.starts) else self.end) - offset
        if _PREAD is not None:
            return _PREAD(self.file.fileno(), size, offset)
        self.file.seek(offset)
        return self.file.read(size)

    def load(self, number: int) -> Any:
        """The record unpickled; the last one loaded is kept (a sheet row reads several fields of one record), so
        treat it as read-only."""
        if self.reading and number == self.last[0]:
            return self.last[1]
        data = self.read(number)
        record = pickle.loads(zlib.decompress(data) if self.compressed else data)
        self.last = (number, record)
        return record

    def fresh(self, number: int) -> Any:
        """The record unpickled anew (objects the caller may change)."""
        data = self.read(number)
        return pickle.loads(zlib.decompress(data) if self.compressed else data)


def register_forms(known: forms.WorkerForms) -> None:
    """Worker initializer: the parent's `--form` files and plugin forms (so no worker scans for plugins again)."""
    forms.register_worker_forms(known)


class _PoolDefault:
    """A limit left to xltool.workers (imported only when workers are used)."""

    def __repr__(self) -> str:
        return "<the pool's default>"


POOL_DEFAULT: Any = _PoolDefault()


def run(
    task: Callable[[str], Packed],
    paths: list[str],
    failed: Callable[[str, pool.Failure], Packed],
    spool: Spool,
    workers: int | None = None,
    time_limit: float | None = POOL_DEFAULT,
    memory_limit: int | None = POOL_DEFAULT,
) -> Iterator[tuple[Any, int]]:
    """`(light, record number in spool)` of `task(path)` for every path, in input order (see the module docstring).

    `task` must be picklable (a module-level function, or a functools.partial of one: bound arguments go to each
    worker once). `workers`: None = one per CPU core (at most one per file); 0 = in this process (no isolation, no
    time limit). `time_limit` in seconds per file and `memory_limit` in bytes per worker default to the pool's.
    Raises xltool.workers.WorkerError (when iterated) if no worker process can be started at all.
    """
    if workers is not None and workers <= 0:
        results = _in_process(task, paths, failed)
    else:
        from xltool import workers as pool

        limits = {"time_limit": time_limit, "memory_limit": memory_limit}
        results = pool.run(
            task,
            paths,
            failed,
            workers=workers,
            **{name: limit for name, limit in limits.items() if limit is not POOL_DEFAULT},
            initializer=register_forms,
            initargs=(forms.worker_forms(),),
        )
    for light, blob in results:
        yield light, spool.add(blob)


def _in_process(task: Callable[[str], Packed], paths: list[str], failed: Callable) -> Iterator[Packed]:
    """What xltool.workers.run gives with workers=0, without importing the pool: each result in turn; a file whose
    task raises is handed to the pool's own in-process run, which turns the error into its Failure (WORKER_CRASHED
    or MEMORY_LIMIT, as in a worker)."""
    for path in paths:  # the `--form` files are registered in this process already
        try:
            result = task(path)
        except Exception as exc:  # MemoryError included
            from xltool import workers as pool

            result = next(pool.run(functools.partial(_raise, exc), [path], failed, workers=0))
        yield result


def _raise(exc: BaseException, path: str) -> None:
    raise exc
