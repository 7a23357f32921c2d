"""Misbehaving tasks for the worker-pool tests: module-level (spawned workers import them by name), no pytest import.

An item says what to do: "ok:x", "hang:x", "abort:x", "segv:x", "alloc:x", "raise:x", "exit:x", "native-oom:x".
File-based fakes decide by the file name (a name containing "hang" or "crash") and otherwise do the real work.
"""

from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

from xltool.codes import Code

PID_DIR = "XLTOOL_TEST_PID_DIR"  # environment variable: where hanging tasks leave their worker's pid


# What each misbehaviour costs its item in a pool with a memory and a time limit ("ok": the item's own result).
OUTCOME = {
    "hang": Code.TIME_LIMIT,
    "abort": Code.WORKER_CRASHED,
    "segv": Code.WORKER_CRASHED,
    "alloc": Code.MEMORY_LIMIT,
    "raise": Code.WORKER_CRASHED,
    "exit": Code.WORKER_CRASHED,
    "native-oom": Code.MEMORY_LIMIT,
    "ok": "ok",
}


def outcomes(items: list[str]) -> list:
    """The OUTCOME of each item, in order."""
    return [OUTCOME[item.split(":", 1)[0]] for item in items]


def behave(item: str) -> str:
    """Misbehave as the item says; otherwise return the item upper-cased."""
    kind = item.split(":", 1)[0]
    if kind == "hang":
        _note_pid(item)
        time.sleep(3600)
    elif kind == "abort":
        os.abort()
    elif kind == "segv":
        ctypes.string_at(0)  # read address 0: SIGSEGV
    elif kind == "alloc":
        return str(len(bytearray(2 << 30)))  # 2 GB, far over the tests' limit
    elif kind == "raise":
        raise ValueError("坏数据")
    elif kind == "exit":
        os._exit(3)
    elif kind == "native-oom":  # what Rust's allocator says before aborting (calamine is written in Rust)
        os.write(2, b"memory allocation of 123456789 bytes failed\n")
        os.abort()
    elif kind == "native-oom-backtrace":  # the same with RUST_BACKTRACE=1: tens of KB of frames after it
        os.write(2, b"memory allocation of 549755813888 bytes failed\nstack backtrace:\n")
        os.write(
            2, b"".join(b"  %d: calamine::Range::from_sparse\n             at src/lib.rs:1:1\n" % n for n in range(400))
        )
        os.abort()
    elif kind == "slow":
        time.sleep(int(item.rsplit(":", 1)[1]) / 1000)
    return item.upper()


def address_space_limit(_item: str) -> int:
    """The worker's RLIMIT_AS soft limit (POSIX)."""
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)[0]


def worker_pid(_item: str) -> int:
    """The pid of the process running the task."""
    time.sleep(0.1)  # long enough for every started worker to take some items
    return os.getpid()


def fail_to_start() -> None:
    """A worker initializer that always fails."""
    raise RuntimeError("初始化失败")


def _note_pid(item: str) -> None:
    folder = os.environ.get(PID_DIR)
    if folder:
        name = "".join(ch if ch.isalnum() else "_" for ch in item)[-60:]
        Path(folder, f"{name}.{os.getpid()}").write_text(str(os.getpid()))


def _misbehave_on_name(path: str) -> None:
    name = Path(path).name
    if "hang" in name:
        _note_pid(name)
        time.sleep(3600)
    if "crash" in name:
        os.abort()


def inspect_or_misbehave(path: str):
    """xltool.rollup.inspect_file, except for files named *hang* (sleeps) or *crash* (aborts)."""
    from xltool.rollup import inspect_file

    _misbehave_on_name(path)
    return inspect_file(path)


def check_or_misbehave(path: str, last_year=None):
    """xltool.checking's worker task, except for files named *hang* or *crash*."""
    from xltool import checking

    _misbehave_on_name(path)
    return checking._check_for_wire(path, last_year)


def packed(item: str):
    """behave(item) as a batch task: the upper-cased item in memory, the item and some padding spooled."""
    from xltool import batch

    return batch.pack(behave(item), {"item": item, "pad": "x" * (len(item) * 1000)})


def packed_failure(item: str, failure):
    """A batch task's failure, packed like a result."""
    from xltool import batch

    return batch.pack(("failed", failure.code), {"item": item})


def where_read(parent: int, path: str):
    """Which process read the file: "here" (the caller's, `parent`) or "worker" (a batch-packed result)."""
    from xltool import batch

    return batch.pack("here" if os.getpid() == parent else "worker", None)


def needs_native(parent: int, path: str):
    """A reader that calls native code: refused in the caller's light path, done in a worker."""
    from xltool import formats

    formats.native_reader("calamine")
    return where_read(parent, path)


def slow_here(parent: int, path: str):
    """A read that takes a minute in the caller's process and no time in a worker."""
    if os.getpid() == parent:
        for _ in range(600):
            time.sleep(0.1)
    return where_read(parent, path)
