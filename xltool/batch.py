"""A per-file task run over many files, the heavy part of each result spooled to disk: what `check` and `merge` share.

`run(task, paths, failed, spool)` calls `task(path)` for every path in isolated worker processes (xltool.workers) and
yields, in input order, `(light, record)`: the task returns `(light, blob)` — the few fields the workflow keeps in
memory, and the rest already pickled — and the blob goes into the `Spool` unread, so memory does not grow with the
files. A file whose worker hung, crashed or ran out of memory is `failed(path, Failure)`, made here in the same
`(light, blob)` shape. Every worker first learns this process's forms (`register_forms`). With `workers=0` the tasks
run in this process and the pool is not even imported (no isolation, no limits: for tests and debugging).

Every command reads untrusted files this way, one file or many. With `light=True` (what the command line passes) a
lone file that is provably cheap is read in this process instead, which saves the 0.3 s a worker costs to start
(`light_file`): small, of a kind read by pure Python, with native readers refused (formats.pure_python_only), a
watchdog that interrupts the read after LIGHT_SECONDS and MemoryError caught. Whatever goes wrong there — a reader
that needs calamine, the watchdog, memory — the file is read again in a worker, with the pool's limits.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import stat
import sys
import tempfile
import threading
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from xltool import formats, forms

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


def pool_failed(exc: BaseException) -> bool:
    """True for the pool's WorkerError (no worker process could be started at all), told without importing the pool
    (a command that read its one file in this process never loaded it)."""
    module = sys.modules.get("xltool.workers")
    return module is not None and isinstance(exc, module.WorkerError)


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
    light: bool = False,
    warm_pool: pool.Warm | None = None,
) -> Iterator[tuple[Any, int]]:
    """`(light, record number in spool)` of `task(path)` for every path, in input order (see the module docstring).

    `task` must be picklable (a module-level function, or a functools.partial of one: bound arguments go to each
    worker once). `workers`: None = one per CPU core (at most one per file); 0 = in this process (no isolation, no
    time limit). `time_limit` in seconds per file and `memory_limit` in bytes per worker default to the pool's.
    `light`: a lone light file (`light_file`) is read in this process first (see the module docstring). `warm_pool`: a
    warm pool (`warm()`) to run on instead of starting workers; it is used when `workers` is None and the memory limit
    and forms are those it was opened with (otherwise the run starts its own workers, as without it).
    Raises xltool.workers.WorkerError (when iterated) if no worker process can be started at all.
    """
    if workers is not None and workers <= 0:
        results = _in_process(task, paths, failed)
    elif warm_pool is not None and workers is None and _fits(warm_pool, memory_limit):
        results = warm_pool.run(
            task, paths, failed, **({} if time_limit is POOL_DEFAULT else {"time_limit": time_limit})
        )
    elif light and workers is None and len(paths) == 1 and light_file(_path_of(paths[0])):
        results = _light(task, paths[0], failed, time_limit, memory_limit)
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


def warm(
    workers: int | None = None, memory_limit: int | None = POOL_DEFAULT, prepare: Callable[[], None] | None = None
) -> pool.Warm:
    """A pool whose workers stay up between runs (xltool.workers.Warm), knowing this process's forms: for a
    long-running process (the portal opens one at start and closes it at shutdown); pass it to `run` as `warm_pool`.
    `prepare` (picklable) runs in each worker after the forms are registered: what the tasks load on first use, so
    the first run after a start does not wait for it. The command line does not use one: a command is one run."""
    from xltool import workers as pool

    limit = {} if memory_limit is POOL_DEFAULT else {"memory_limit": memory_limit}
    return pool.Warm(workers, initializer=_prepare_warm, initargs=(forms.worker_forms(), prepare), **limit)


def _prepare_warm(known: forms.WorkerForms, prepare: Callable[[], None] | None) -> None:
    register_forms(known)
    if prepare is not None:
        prepare()


def _fits(warm_pool: pool.Warm, memory_limit: Any) -> bool:
    """The run can go to the warm pool: the memory limit its workers started with, and the forms they know."""
    if memory_limit is not POOL_DEFAULT and (memory_limit or 0) != warm_pool.memory_limit:
        return False
    known = warm_pool.initargs[0]  # what _prepare_warm registered
    now = forms.worker_forms()
    return (list(known), known.plugins, known.errors) == (list(now), now.plugins, now.errors)


def _path_of(item: Any) -> str:
    """An item's file: the item itself, or the first member of a tuple (a task that needs more than the path)."""
    return item if isinstance(item, str) else str(item[0])


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


# --- the cheap path for one light file ---------------------------------------------------------------------------------

LIGHT_BYTES = 256 * 1024  # the file: a filled return is about 33 KB, a published report as text 10-30 KB
LIGHT_UNZIPPED = 1024 * 1024  # a workbook's parts together, as its zip directory declares them (a return: 180 KB)
LIGHT_PART = 256 * 1024  # one part of it (a return's largest sheet, 校验: 70 KB)
LIGHT_ENTRIES = 64  # parts (a return has 16)
LIGHT_SECONDS = 2.0  # a light read takes tens of milliseconds; past this it goes to a worker
HARD_SECONDS = 60.0  # a read stuck inside native code past this ends the command (TIME-LIMIT, exit 2)
_LIGHT_TEXT = (".txt", ".md")  # published reports read by pure Python (html and docx go through lxml, pdf is slow)


def light_file(path: str) -> bool:
    """A file provably cheap to read in this process: a regular file of at most LIGHT_BYTES that is either a plain
    text or Markdown report (text by its first bytes too), or an Office Open XML workbook whose zip directory declares at most LIGHT_ENTRIES parts,
    LIGHT_UNZIPPED bytes in all and LIGHT_PART bytes each (zip reads stop at the declared sizes). Its reading is then
    pure Python over at most a megabyte (memory a small multiple of that), interrupted by the watchdog; a reader
    that would call native code is refused (formats.native_reader). Anything else — ods (repeated-cell bombs),
    xls, html, docx, pdf, a larger file — is read in a worker."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size > LIGHT_BYTES:
        return False
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _LIGHT_TEXT:  # text by content too: a Word file, PDF or workbook under a .txt name is not light
        try:
            with open(path, "rb") as fh:
                head = fh.read(1024).lstrip()
        except OSError:
            return False
        return not head.startswith((b"PK", b"%PDF", b"\xd0\xcf\x11\xe0")) and b"\x00" not in head
    if suffix not in (".xlsx", ".xlsm"):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False  # the reader says what it is, in a worker
    names = {p.filename for p in parts}
    return (
        "xl/workbook.xml" in names
        and len(parts) <= LIGHT_ENTRIES
        and sum(p.file_size for p in parts) <= LIGHT_UNZIPPED
        and all(p.file_size <= LIGHT_PART for p in parts)
    )


class _Slow(BaseException):
    """Raised in the main thread by the watchdog: the light read took too long. A BaseException, so that no reader's
    `except Exception` turns it into a finding about the file."""


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise `exc` in a thread at its next Python instruction; None withdraws one not yet raised (CPython's
    PyThreadState_SetAsyncExc, the same on every system)."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


class _Watchdog:
    """Interrupts the main thread after `soft` seconds (_Slow at its next Python instruction, withdrawn if the read
    ends first, so it never escapes); if the read is still inside one native call after `hard` seconds, ends the
    process with TIME-LIMIT's message and exit code 2 (what the pool reports for such a file) rather than hanging."""

    def __init__(self, soft: float, hard: float) -> None:
        self.fired = self.done = False
        self.hard = hard
        self.lock = threading.Lock()
        self.target = threading.get_ident()
        self.timers = [threading.Timer(soft, self._interrupt), threading.Timer(hard, self._stop)]
        for timer in self.timers:
            timer.daemon = True

    def __enter__(self) -> _Watchdog:
        for timer in self.timers:
            timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.done = True
            for timer in self.timers:
                timer.cancel()
            if self.fired:
                _raise_in(self.target, None)  # one not raised yet is withdrawn

    def _interrupt(self) -> None:
        with self.lock:
            if not self.done:
                self.fired = True
                _raise_in(self.target, _Slow)

    def _stop(self) -> None:
        with self.lock:
            if self.done:
                return
        with contextlib.suppress(Exception):
            sys.stderr.write(f"错误：读取该文件超过 {self.hard:g} 秒仍未完成，已停止（TIME-LIMIT）\n")
            sys.stderr.flush()
        os._exit(2)


def _light(task: Callable, path: str, failed: Callable, time_limit, memory_limit) -> Iterator[Packed]:
    """One light file read in this process; read again in a worker when it turns out not to be cheap."""
    hard = time_limit if isinstance(time_limit, (int, float)) and time_limit > 0 else HARD_SECONDS
    watchdog = _Watchdog(LIGHT_SECONDS, max(hard, LIGHT_SECONDS))
    try:
        with watchdog, formats.pure_python_only():
            result = task(path)
    except (_Slow, formats.NeedsIsolation, MemoryError):
        result = None
    if result is not None:
        yield result
        return
    from xltool import workers as pool

    limits = {"time_limit": time_limit, "memory_limit": memory_limit}
    yield from pool.run(
        task,
        [path],
        failed,
        workers=1,
        **{name: limit for name, limit in limits.items() if limit is not POOL_DEFAULT},
        initializer=register_forms,
        initargs=(forms.worker_forms(),),
    )
