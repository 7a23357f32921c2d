"""A process pool that survives its workers: items sent in chunks, each item with a time and a memory limit.

`run(fn, items, failed=...)` yields `fn(item)` for every item, in input order. A worker is sent a chunk of items at a
time (CHUNK_MAX at most, fewer as the work runs out, so both workers finish together) and sends one result back per
item as soon as it has it, so the parent always knows which item a worker is reading (the first of its chunk without
a result) and since when:

- a worker past the time limit on one item is killed; that item becomes `failed(item, Failure(Code.TIME_LIMIT, …))`
  and the rest of its chunk goes back to the front of the queue;
- a worker that dies (native abort, segfault, killed) costs only the item it was reading: `Code.WORKER_CRASHED`, or
  `Code.MEMORY_LIMIT` when it reported a MemoryError or its last words were an allocation failure; the rest of its
  chunk is read by another worker;
- `fn` raising is `Code.WORKER_CRASHED` for that item (an internal error, with the exception's type);
- a replacement worker is started while items remain, so every other item is still processed.

Chunks save a round trip per item (a worker never waits for its next item), and a result is whatever `fn` returns:
callers keep results small (xltool.batch: a few fields and the rest already pickled).

Workers are started with the `spawn` method everywhere (as on Windows): a fresh interpreter that imports only what
`fn` needs. Each sets its memory limit, ignores Ctrl-C and watches its parent at start (xltool.system); their stderr
goes to a log file in a temporary folder, read by the parent to explain a crash. Ctrl-C, SIGTERM or an error in the
parent kills every worker before the exception goes on; a dead parent is noticed by the workers themselves.

`workers=0` runs in this process (no isolation, no time limit): for tests and debugging.

`Warm` keeps the workers up between runs, for a long-running process (the portal): the same limits and the same
replacement of a worker that dies or is killed, and each run's function is sent with a worker's first chunk of it.
A command is one run and starts its own workers.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from xltool import system
from xltool.codes import Code

T = TypeVar("T")
R = TypeVar("R")

TIME_LIMIT = 60.0  # seconds per file; a return takes milliseconds, a 50 MB workbook a few seconds
MEMORY_LIMIT = 1 << 30  # bytes per worker; reading a return needs tens of MB
STARTUP_LIMIT = 120.0  # seconds for a worker to start (Windows with an antivirus scanning python.exe can be slow)
RETIRE_LIMIT = 10.0  # seconds for a worker that hit the memory limit to exit by itself
CHUNK_MAX = 32  # items per message to a worker
CHUNK_SPREAD = 4  # chunks per worker over what is left: the last chunks are small, so no worker idles at the end
MAX_FAILED_STARTS = 3  # workers in a row that die before taking any file: the pool cannot work at all
RECYCLE_AFTER = 2000  # items a warm pool's worker reads before it is replaced (a long-lived heap fragments)
_MEMORY_WORDS = (
    "memoryerror",
    "memory allocation of",  # Rust (calamine): "memory allocation of 549755813888 bytes failed", then a backtrace
    "memory allocation failed",  # libxml2 (lxml)
    "out of memory",
    "cannot allocate memory",  # errno 12
    "insufficient memory",  # zlib
    "bad_alloc",
)
_LAST_WORDS = 256 * 1024  # of a worker's log searched for why it died (RUST_BACKTRACE=1 writes tens of KB)
_DETAIL = 4096  # of it kept as a failure's technical detail

_READY, _OK, _ERROR, _MEMORY = "ready", "ok", "error", "memory"
_TASK_MARK = b"\n--- xltool: next file ---\n"  # written to the worker's log before each item
FOLDER_PREFIX = "xltool-workers-"  # then the owning process's id and a random part: xltool-workers-4242-k3j2h1
_OWNED_FOLDER = re.compile(re.escape(FOLDER_PREFIX) + r"(\d+)-")


class WorkerError(RuntimeError):
    """Worker processes cannot be started at all (the message says why, in Chinese)."""


@dataclass(frozen=True)
class Failure:
    """Why an item has no result: a catalogued code, a sentence for the clerk, and technical detail (log tail)."""

    code: Code
    message: str
    detail: str = ""


def default_workers(items: int) -> int:
    """One worker per CPU core, never more than there are items (nor than the system can watch)."""
    return max(1, min(os.cpu_count() or 1, items, system.MAX_WORKERS))


def run(
    fn: Callable[[T], R],
    items: Iterable[T],
    failed: Callable[[T, Failure], R],
    *,
    workers: int | None = None,
    time_limit: float | None = TIME_LIMIT,
    memory_limit: int | None = MEMORY_LIMIT,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
) -> Iterator[R]:
    """`fn(item)` for each item, in input order, each in an isolated worker (see the module docstring).

    `fn`, `initializer` and the items must be picklable (module-level functions, functools.partial of them); `fn` is
    sent once per worker, so large bound arguments cost nothing per item. `workers`: None = one per CPU core (at most
    one per item); 0 = in this process. `time_limit` in seconds and `memory_limit` in bytes apply per item and per
    worker; None or 0 switches a limit off.
    """
    items = list(items)
    if not items:
        return iter(())
    if workers is not None and workers <= 0:
        return _in_process(fn, items, failed, initializer, initargs)
    count = min(workers, len(items), system.MAX_WORKERS) if workers else default_workers(len(items))
    return _Pool(fn, count, time_limit or 0.0, memory_limit or 0, initializer, initargs).map(items, failed)


class Warm:
    """A pool whose workers stay up between runs, for a long-running process (the portal): `run` is `run(...)` on
    these workers, with the same per-item time limit, memory limit (set when a worker starts) and isolation — a
    worker that dies or is killed for a limit costs its item and is replaced, before the run ends. Open it at start
    and close it at shutdown (`with Warm() as pool:`); runs from several threads take turns. A worker is replaced
    after RECYCLE_AFTER items. `initializer(*initargs)` runs once in each worker."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_limit: int | None = MEMORY_LIMIT,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple = (),
    ) -> None:
        count = min(workers, system.MAX_WORKERS) if workers else default_workers(os.cpu_count() or 1)
        self.memory_limit = memory_limit or 0
        self.initializer, self.initargs = initializer, initargs
        self._pool = _Pool(None, count, 0.0, self.memory_limit, initializer, initargs, warm=True)
        self._lock = threading.Lock()
        self._open = False

    @property
    def workers(self) -> int:
        return self._pool.count

    def pids(self) -> list[int]:
        """The worker processes now running (for tests)."""
        return [slot.process.pid for slot in self._pool.slots if slot.process.is_alive()]

    def open(self) -> Warm:
        with self._lock:
            if not self._open:
                self._pool.open()
                self._open = True
        return self

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._pool.close()
                self._open = False

    def __enter__(self) -> Warm:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        failed: Callable[[T, Failure], R],
        *,
        time_limit: float | None = TIME_LIMIT,
    ) -> Iterator[R]:
        """`fn(item)` for each item, in input order, on the warm workers (see `run`); a function defined in the main
        script (which spawned workers do not load) runs on a pool of its own."""
        items = list(items)
        if not items:
            return iter(())
        if getattr(getattr(fn, "func", fn), "__module__", "") == "__main__":
            return run(
                fn,
                items,
                failed,
                workers=self.workers,
                time_limit=time_limit,
                memory_limit=self.memory_limit,
                initializer=self.initializer,
                initargs=self.initargs,
            )
        return self._run(fn, items, failed, time_limit or 0.0)

    def _run(self, fn, items: list, failed: Callable, time_limit: float) -> Iterator:
        with self._lock:
            if not self._open:
                raise WorkerError("读取进程池已关闭")
            self._pool.fn, self._pool.time_limit = fn, time_limit
            try:
                yield from self._pool.map(items, failed)
            finally:
                self._pool.fn = None


def remove_stale_folders(where: str | None = None) -> list[str]:
    """Remove the worker folders (logs) of pools whose process is gone: a SIGKILL leaves no chance to clean up, so the
    next start does it. A folder whose process still runs is another xltool's, and kept. Returns what was removed."""
    where = where or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(where)
    except OSError:
        return removed
    for name in names:
        owner = _OWNED_FOLDER.match(name)
        if owner is None or int(owner.group(1)) == os.getpid() or system.process_alive(int(owner.group(1))):
            continue
        path = os.path.join(where, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _in_process(fn, items, failed, initializer, initargs) -> Iterator:
    if initializer is not None:
        initializer(*initargs)
    for item in items:
        try:
            result = fn(item)
        except MemoryError:
            result = failed(item, _memory_failure(0))
        except Exception as exc:
            result = failed(item, _error_failure(_describe(exc)))
        yield result


# --- failures --------------------------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _out_of_memory(said: str) -> bool:
    """What a worker said (its log, or an exception's text) tells of an allocation that failed."""
    said = said.lower()
    return any(word in said for word in _MEMORY_WORDS)


def _error_failure(what: str) -> Failure:
    if _out_of_memory(what):  # a library's own words for a failed allocation (lxml, zlib, errno 12): memory
        return _memory_failure(0, what)
    return Failure(Code.WORKER_CRASHED, f"读取该文件时出现内部错误（{what.splitlines()[0][:120]}），已跳过该文件", what)


def _memory_failure(limit: int, detail: str = "") -> Failure:
    bound = f"（{limit // (1 << 20)} MB）" if limit else ""
    return Failure(Code.MEMORY_LIMIT, f"读取该文件所需内存超过上限{bound}，已停止读取该文件", detail)


def _time_failure(limit: float) -> Failure:
    return Failure(Code.TIME_LIMIT, f"读取该文件超过 {limit:g} 秒仍未完成，已停止读取该文件")


def _crash_failure(exitcode: int | None, detail: str) -> Failure:
    how = _exit_text(exitcode)
    return Failure(
        Code.WORKER_CRASHED, f"读取该文件时读取进程异常退出（{how}），已跳过该文件；其他文件不受影响", detail
    )


def _exit_text(exitcode: int | None) -> str:
    if exitcode is None:
        return "原因不明"
    if exitcode < 0:
        import signal

        try:
            return f"信号 {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"信号 {-exitcode}"
    if exitcode > 0xFFFF:  # Windows NTSTATUS, e.g. 0xC0000005 access violation
        return f"退出码 0x{exitcode & 0xFFFFFFFF:08X}"
    return f"退出码 {exitcode}"


# --- the worker process ----------------------------------------------------------------------------------------------


def _worker_main(conn, fn, initializer, initargs, memory_limit: int, log_path: str, parent_pid: int) -> None:
    """Runs in the worker: prepare, then take a chunk of items at a time until told to stop or the pipe closes; one
    message back per item, in chunk order."""
    system.prepare_worker(parent_pid, memory_limit, log_path)
    if initializer is not None:
        initializer(*initargs)
    reserve = bytearray(1 << 20)  # given back on MemoryError, so the report can still be sent
    conn.send((_READY,))
    warm = False
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe (or died)
        if chunk is None:
            return
        task, chunk = chunk
        if task is not None:  # a warm pool's next run: its function comes with the first chunk
            fn = task
        for index, item in chunk:
            with contextlib.suppress(OSError):
                os.write(2, _TASK_MARK)  # the parent reads only what follows: the last words about this item
            try:
                message: tuple = (_OK, index, fn(item))
            except MemoryError:
                del reserve
                conn.send((_MEMORY, index, ""))
                return  # a fresh worker replaces this one (and reads the rest of the chunk): its heap may be in pieces
            except BaseException as exc:
                message = (_ERROR, index, _describe(exc))
            try:
                conn.send(message)
            except MemoryError:
                del reserve
                conn.send((_MEMORY, index, ""))
                return
            except Exception as exc:  # the result could not be pickled
                conn.send((_ERROR, index, "结果无法传回：" + _describe(exc)))
            if not warm:  # what the first item loaded (modules, forms, compiled rules) stays for good: the cyclic
                gc.collect()  # collector need not walk it again and again (a tenth of the time per item)
                gc.freeze()
                warm = True


# --- the parent ------------------------------------------------------------------------------------------------------


@dataclass
class _Slot:
    process: Any
    conn: Any
    log: str
    started: float
    ready: bool = False
    retiring: bool = False  # reported a MemoryError and is exiting: gets no more work
    tasks: deque = field(default_factory=deque)  # (index, item) sent and not yet answered; the first is being read
    since: float = 0.0  # when the worker started on the first of its tasks
    dead: bool = False
    fn: Any = None  # the function the worker has (a warm pool's worker is sent each run's with its first chunk)
    served: int = 0  # items answered (a warm pool's worker is replaced after RECYCLE_AFTER)

    @property
    def busy(self) -> bool:
        return bool(self.tasks)


@contextlib.contextmanager
def _main_script_hidden(fn) -> Iterator[None]:
    """A spawned interpreter first re-runs the parent's main script (for `xltool` that imports the whole CLI: about
    half a second per worker). The workers need only xltool's own modules, so the script is hidden while a worker
    starts — unless the task itself lives in that script."""
    main = sys.modules.get("__main__")
    if main is None or getattr(fn, "__module__", "") == "__main__":
        yield
        return
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)
        if "__spec__" not in saved:
            del main.__spec__


class _Pool:
    def __init__(self, fn, count: int, time_limit: float, memory_limit: int, initializer, initargs, warm=False):
        self.fn, self.count = fn, count
        self.time_limit, self.memory_limit = time_limit, memory_limit
        self.initializer, self.initargs = initializer, initargs
        self.warm = warm  # the workers outlive a run (Warm): started by open(), stopped by close()
        self.context = multiprocessing.get_context("spawn")
        self.slots: list[_Slot] = []
        self.folder = ""
        self.started = 0
        self.failed_starts = 0
        self.last_start_log = ""
        self.pending: deque = deque()
        self.items: list = []

    # -- lifecycle --
    def open(self) -> None:
        """The log folder and `count` workers (a warm pool's start; a cold run does this inside map)."""
        remove_stale_folders()
        self.folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")  # the owner's pid, for the next start
        for _ in range(self.count):
            self._start()

    def map(self, items: list, failed: Callable) -> Iterator:
        results: dict[int, Any] = {}
        self.items = items
        self.pending = pending = deque(range(len(items)))  # indexes (a tuple per item would cost 64 bytes each)
        total, next_out = len(items), 0
        clean = False
        try:
            with system.terminate_as_exit():
                if self.warm:
                    self._bury_idle(results, failed)
                else:
                    self.open()
                while next_out < total:
                    while next_out in results:
                        yield results.pop(next_out)
                        next_out += 1
                    if next_out >= total:
                        break
                    self._step(pending, results, failed)
            clean = True
        finally:
            self.items, self.pending = [], deque()
            if not self.warm:
                self._shutdown(graceful=clean)
            else:
                self._refill(clean)

    def close(self) -> None:
        self._shutdown(graceful=True)

    def _bury_idle(self, results: dict, failed: Callable) -> None:
        """Before a warm pool's run: a worker that died while idle (killed, or its start failed) is replaced now, so
        no file is charged with a death that happened before it was sent."""
        for slot in list(self.slots):
            if not slot.process.is_alive():
                self._receive(slot, results, failed)  # its READY, if it got that far
                slot.dead = True
                self._bury(slot, results, failed)
        while len(self.slots) < self.count:
            self._start()

    def _refill(self, clean: bool) -> None:
        """After a warm pool's run: workers that are dead, retiring after a MemoryError, served RECYCLE_AFTER items
        or (after an interrupted run) still busy are stopped; new ones start, so the next run finds `count` warm."""
        for slot in list(self.slots):
            if slot.dead or slot.retiring or slot.tasks or not clean or slot.served >= RECYCLE_AFTER:
                if slot.process.is_alive() and not slot.tasks and not slot.retiring:
                    with contextlib.suppress(OSError, ValueError):
                        slot.conn.send(None)  # idle: asked to stop, killed below if it does not
                    slot.process.join(1)
                _kill(slot)
                slot.process.join(5)
                _close(slot)
                self.slots.remove(slot)
        if clean:
            while len(self.slots) < self.count:
                self._start()

    def _start(self) -> None:
        parent_end, child_end = self.context.Pipe(duplex=True)
        self.started += 1
        log = os.path.join(self.folder, f"worker-{self.started}.log")
        process = self.context.Process(
            target=_worker_main,
            args=(child_end, self.fn, self.initializer, self.initargs, self.memory_limit, log, os.getpid()),
            name=f"xltool-worker-{self.started}",
            daemon=True,
        )
        with system.children_ignore_interrupts(), _main_script_hidden(self.fn):
            process.start()
        system.kill_with_parent(process)
        child_end.close()
        self.slots.append(_Slot(process, parent_end, log, time.monotonic(), fn=self.fn))

    def _shutdown(self, graceful: bool) -> None:
        for slot in self.slots:
            if graceful and slot.process.is_alive():
                with contextlib.suppress(OSError, ValueError):
                    slot.conn.send(None)
            else:
                _kill(slot)
        deadline = time.monotonic() + 5
        for slot in self.slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                _kill(slot)
            _close(slot)
        self.slots.clear()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _chunk(self, pending: deque) -> list:
        """The next chunk: CHUNK_MAX items, fewer as the queue runs out (CHUNK_SPREAD chunks per worker left)."""
        size = max(1, min(CHUNK_MAX, len(pending) // (self.count * CHUNK_SPREAD)))
        items = self.items
        return [(i, items[i]) for i in (pending.popleft() for _ in range(min(size, len(pending))))]

    def _requeue(self, slot: _Slot) -> None:
        """The unread rest of a dead worker's chunk goes back to the front of the queue, in order."""
        self.pending.extendleft(index for index, _ in reversed(slot.tasks))
        slot.tasks = deque()

    # -- one round: hand out work, wait for something to happen, deal with it --
    def _step(self, pending: deque, results: dict, failed: Callable) -> None:
        for slot in self.slots:
            if slot.ready and not slot.retiring and not slot.tasks and pending:
                chunk = self._chunk(pending)
                slot.tasks, slot.since = deque(chunk), time.monotonic()
                task = None if slot.fn is self.fn else self.fn  # a warm worker learns this run's function once
                slot.fn = self.fn
                try:
                    slot.conn.send((task, chunk))
                except (OSError, ValueError):
                    slot.dead = True  # noticed below; the first item is charged to this worker's death
        ready = multiprocessing.connection.wait(
            [s.conn for s in self.slots if not s.dead] + [s.process.sentinel for s in self.slots],
            self._timeout(),
        )
        now = time.monotonic()
        for slot in self.slots:
            if slot.conn in ready or slot.process.sentinel in ready or slot.dead:
                self._receive(slot, results, failed)
            if not slot.dead and slot.process.sentinel in ready:
                slot.process.join(1)
                slot.dead = not slot.process.is_alive()
            if slot.dead:
                continue
            now = time.monotonic()
            if slot.tasks and self.time_limit and now - slot.since > self.time_limit:
                _kill(slot)
                index, item = slot.tasks.popleft()
                results[index] = failed(item, _time_failure(self.time_limit))
                self._requeue(slot)
                slot.dead = True
            elif (not slot.ready and now - slot.started > STARTUP_LIMIT) or (
                slot.retiring and now - slot.since > RETIRE_LIMIT
            ):
                _kill(slot)  # stuck starting, or stuck exiting after a MemoryError
                slot.dead = True
        for slot in [s for s in self.slots if s.dead]:
            self._bury(slot, results, failed)
        while len(self.slots) < min(self.count, len(pending) + sum(s.busy for s in self.slots)):
            self._start()

    def _timeout(self) -> float | None:
        deadlines = [s.started + STARTUP_LIMIT for s in self.slots if not s.ready]
        deadlines += [s.since + RETIRE_LIMIT for s in self.slots if s.retiring]
        if self.time_limit:
            deadlines += [s.since + self.time_limit for s in self.slots if s.tasks]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic()) + 0.01

    def _receive(self, slot: _Slot, results: dict, failed: Callable) -> None:
        """Every message the worker has sent; a closed pipe marks it dead. Each answer starts the clock on the next
        item of the chunk."""
        try:
            while slot.conn.poll():
                message = slot.conn.recv()
                kind = message[0]
                if kind == _READY:
                    slot.ready, self.failed_starts = True, 0
                    continue
                index = message[1]
                if not slot.tasks or slot.tasks[0][0] != index:
                    continue  # cannot happen: answers come in chunk order
                item = slot.tasks.popleft()[1]
                slot.since, slot.served = time.monotonic(), slot.served + 1
                if kind == _OK:
                    results[index] = message[2]
                elif kind == _MEMORY:
                    results[index] = failed(item, _memory_failure(self.memory_limit, _tail(slot.log)))
                    slot.retiring = True
                    self._requeue(slot)
                else:
                    results[index] = failed(item, _error_failure(message[2]))
        except (EOFError, OSError):
            slot.dead = True
        except Exception as exc:  # a result that cannot be unpickled here
            if slot.tasks:
                index, item = slot.tasks.popleft()
                results[index] = failed(item, _error_failure("结果无法读取：" + _describe(exc)))
                slot.since = time.monotonic()

    def _bury(self, slot: _Slot, results: dict, failed: Callable) -> None:
        """A dead worker: the item it was reading (if any) fails with the likeliest reason, the rest of its chunk is
        queued again; a worker dying at start is counted."""
        _kill(slot)
        slot.process.join(5)
        said = _tail(slot.log, _LAST_WORDS)  # an allocator's complaint comes first, a long backtrace after it
        log = said[-_DETAIL:]
        if slot.tasks:
            index, item = slot.tasks.popleft()
            if _out_of_memory(said):
                results[index] = failed(item, _memory_failure(self.memory_limit, log))
            else:
                results[index] = failed(item, _crash_failure(slot.process.exitcode, log))
            self._requeue(slot)
        elif not slot.ready:
            self.failed_starts += 1
            self.last_start_log = log
        _close(slot)
        self.slots.remove(slot)
        if self.failed_starts >= MAX_FAILED_STARTS:
            last = self.last_start_log.strip().splitlines()[-1:] or ["没有输出"]
            raise WorkerError(
                f"无法启动读取进程（连续 {self.failed_starts} 次启动失败：{last[0][:200]}）；"
                "在脚本中调用时，请把调用放在 if __name__ == '__main__': 之下，或用 workers=0 在本进程内读取"
            )


def _kill(slot: _Slot) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        if slot.process.is_alive():
            slot.process.kill()


def _close(slot: _Slot) -> None:
    with contextlib.suppress(OSError, ValueError):
        slot.conn.close()
    with contextlib.suppress(ValueError, AttributeError):
        slot.process.join(0)
        if slot.process.exitcode is not None:
            slot.process.close()


def _tail(path: str, size: int = _DETAIL) -> str:
    """The end of a worker's stderr log (what a crashing worker said last)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            data = fh.read()
    except OSError:
        return ""
    return data.rsplit(_TASK_MARK, 1)[-1].decode("utf-8", "replace").strip()
