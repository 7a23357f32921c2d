"""The worker pool survives its workers: hangs, aborts, segfaults, memory exhaustion and exceptions cost one item.

Also: results in input order, a pool that cannot start says so, the memory limit reaches the worker (POSIX rlimit, and
the Windows Job Object through a stand-in kernel32), and no worker outlives the pool or its parent.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import fake_tasks
from tests.fake_tasks import behave
from xltool import system, workers
from xltool.codes import Code

ROOT = Path(__file__).resolve().parent.parent
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and rlimits")


def outcome(item, failure: workers.Failure):
    return ("failed", item, failure.code)


def codes(results) -> list:
    """The code of each result ("ok" for a normal result)."""
    return [r[2] if isinstance(r, tuple) else "ok" for r in results]


@posix_only
def test_every_item_gets_exactly_one_result_with_its_code():
    """Misbehaving items among normal ones: each gets one result with the right code, the others their value."""
    items = [
        "ok:1",
        "hang:2",
        "ok:3",
        "abort:4",
        "segv:5",
        "ok:6",
        "alloc:7",
        "raise:8",
        "exit:9",
        "native-oom:10",
    ] + [f"ok:{i}" for i in range(11, 25)]
    results = list(workers.run(behave, items, outcome, workers=3, time_limit=3, memory_limit=512 << 20))
    assert codes(results) == fake_tasks.outcomes(items)
    assert [r for r in results if not isinstance(r, tuple)] == [i.upper() for i in items if i.startswith("ok")]
    assert multiprocessing.active_children() == []


def test_failure_messages_say_what_happened():
    """The clerk's sentence names the cause: the time limit in seconds, the exception type, the signal."""
    items = ["hang:1", "raise:2"] + (["abort:3"] if os.name != "nt" else [])
    messages = list(workers.run(behave, items, lambda i, f: f.message, workers=2, time_limit=2))
    assert "2 秒" in messages[0]
    assert "ValueError" in messages[1]
    if os.name != "nt":
        assert "SIGABRT" in messages[2]


def test_results_come_back_in_input_order():
    """Items finishing out of order (random durations, several workers) are still returned in input order."""
    rng = random.Random(7)
    items = [f"slow:{rng.randint(0, 30)}" for _ in range(40)]
    results = list(workers.run(behave, items, outcome, workers=3))
    assert results == [i.upper() for i in items]
    assert multiprocessing.active_children() == []


def test_in_process_mode_turns_exceptions_into_failures():
    """workers=0 runs here, and an exception or MemoryError still becomes that item's failure."""
    results = list(workers.run(behave, ["ok:1", "raise:2", "ok:3"], outcome, workers=0))
    assert codes(results) == ["ok", Code.WORKER_CRASHED, "ok"]

    def out_of_memory(item):
        raise MemoryError

    assert codes(workers.run(out_of_memory, ["x"], outcome, workers=0)) == [Code.MEMORY_LIMIT]


@pytest.mark.parametrize("count", [0, 2])
def test_a_batch_spools_each_result_and_keeps_the_input_order(count):
    """xltool.batch.run gives each item's light part in input order with the number of its heavy part in the spool
    (read back whole); an item that raises, or kills its worker, is its failure packed in its place."""
    from xltool import batch

    items = ["ok:1", "raise:2", "ok:three"] + (["abort:4", "ok:5"] if count else [])
    spool = batch.Spool()
    results = list(batch.run(fake_tasks.packed, items, fake_tasks.packed_failure, spool, workers=count))
    lights = [light for light, _ in results]
    expected = ["OK:1", ("failed", Code.WORKER_CRASHED), "OK:THREE"]
    assert lights == expected + ([("failed", Code.WORKER_CRASHED), "OK:5"] if count else [])
    assert [spool.load(number)["item"] for _, number in results] == items
    assert spool.load(results[2][1])["pad"] == "x" * 8000 and len(spool) == len(items)


def test_a_batch_in_this_process_does_not_load_the_pool():
    """workers=0 runs the tasks here without importing xltool.workers or multiprocessing (a one-file check starts
    faster), and still reports a task that raises as the pool would."""
    code = (
        "import sys; from tests import fake_tasks; from xltool import batch; "
        "got = [l for l, _ in batch.run(fake_tasks.packed, ['ok:a'], fake_tasks.packed_failure, batch.Spool(), 0)]; "
        "assert got == ['OK:A'], got; "
        "assert 'xltool.workers' not in sys.modules and 'multiprocessing' not in sys.modules, 'pool imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_pool_whose_workers_cannot_start_says_so():
    """A worker initializer that always fails ends in WorkerError (with its message), not an endless restart loop."""
    with pytest.raises(workers.WorkerError, match="初始化失败"):
        list(workers.run(behave, ["ok:1", "ok:2"], outcome, workers=2, initializer=fake_tasks.fail_to_start))
    assert multiprocessing.active_children() == []


def test_abandoned_iteration_stops_the_workers():
    """A caller that stops reading results (an exception in its loop) leaves no worker behind."""
    results = workers.run(behave, ["ok:1", "hang:2", "hang:3", "ok:4"], outcome, workers=2)
    assert next(results) == "OK:1"
    results.close()
    assert multiprocessing.active_children() == []


def test_worker_count_is_capped_by_what_the_system_can_watch(monkeypatch):
    """However many workers are asked for, at most system.MAX_WORKERS run (Windows can wait on 63 handles only)."""
    monkeypatch.setattr(system, "MAX_WORKERS", 2)
    pids = list(workers.run(fake_tasks.worker_pid, [str(i) for i in range(12)], outcome, workers=6))
    assert len(pids) == 12 and len(set(pids)) <= 2 and os.getpid() not in pids


@posix_only
def test_the_memory_limit_is_set_in_each_worker():
    """The worker's address space is capped at the pool's memory limit (RLIMIT_AS)."""
    limit = 700 << 20
    assert list(workers.run(fake_tasks.address_space_limit, ["a", "b"], outcome, memory_limit=limit)) == [limit] * 2


class FakeKernel32:
    """Records the Job Object calls system.py makes on Windows."""

    def __init__(self):
        self.calls = []

    def CreateJobObjectW(self, attributes, name):
        self.calls.append(("create", attributes, name))
        return 0x1234

    def SetInformationJobObject(self, job, info_class, info, size):
        limits = info.contents
        flags = limits.BasicLimitInformation.LimitFlags
        self.calls.append(("set", job, info_class, flags, limits.ProcessMemoryLimit, size))
        return 1

    def GetCurrentProcess(self):
        return -1

    def AssignProcessToJobObject(self, job, process):
        self.calls.append(("assign", job, process))
        return 1


def test_windows_memory_limit_is_a_job_object(monkeypatch):
    """On Windows the limit is a Job Object holding the worker, with a per-process memory limit (dispatch tested with
    a stand-in kernel32, since CI is Linux); crashes in the job die at once instead of showing a dialog."""
    kernel = FakeKernel32()
    monkeypatch.setattr(system, "WINDOWS", True)
    monkeypatch.setattr(system, "_kernel32", lambda: kernel)
    monkeypatch.setattr(system, "_limit_memory_posix", lambda limit: pytest.fail("POSIX path used on Windows"))
    assert system.limit_memory(300 << 20) is True
    size = ctypes.sizeof(system.JOBOBJECT_EXTENDED_LIMIT_INFORMATION)
    assert kernel.calls == [
        ("create", None, None),
        ("set", 0x1234, 9, system.JOB_OBJECT_LIMIT_PROCESS_MEMORY | 0x400, 300 << 20, size),
        ("assign", 0x1234, -1),
    ]


def test_windows_workers_die_with_the_parent_through_a_kill_on_close_job(monkeypatch):
    """On Windows each started worker joins one job of the parent with KILL_ON_JOB_CLOSE (the kernel ends the
    workers when the parent ends, even if one hangs in native code); on POSIX nothing is done in the parent."""

    class Started:
        def __init__(self, handle):
            self.sentinel = handle  # a Windows Process's sentinel is its process handle

    if os.name != "nt":
        assert system.kill_with_parent(Started(5)) is False
    kernel = FakeKernel32()
    monkeypatch.setattr(system, "WINDOWS", True)
    monkeypatch.setattr(system, "_kernel32", lambda: kernel)
    monkeypatch.setattr(system, "_kill_job", [])
    assert system.kill_with_parent(Started(77)) and system.kill_with_parent(Started(78))
    size = ctypes.sizeof(system.JOBOBJECT_EXTENDED_LIMIT_INFORMATION)
    assert kernel.calls == [
        ("create", None, None),
        ("set", 0x1234, 9, system.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, 0, size),
        ("assign", 0x1234, 77),
        ("assign", 0x1234, 78),
    ]


def test_windows_job_object_structure_has_the_sdk_layout():
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION has the Windows SDK size (144 bytes on 64-bit, 112 on 32-bit), so the
    memory limit lands in ProcessMemoryLimit and not in a neighbouring field."""
    pointer = ctypes.sizeof(ctypes.c_void_p)
    assert ctypes.sizeof(system.JOBOBJECT_EXTENDED_LIMIT_INFORMATION) == (144 if pointer == 8 else 112)
    assert system.JOBOBJECT_EXTENDED_LIMIT_INFORMATION.ProcessMemoryLimit.offset == (112 if pointer == 8 else 96)


def test_no_memory_limit_means_no_system_call(monkeypatch):
    """A memory limit of 0 (switched off) touches neither the rlimit nor a Job Object."""
    monkeypatch.setattr(system, "_limit_memory_posix", lambda limit: pytest.fail("called"))
    monkeypatch.setattr(system, "_limit_memory_windows", lambda limit: pytest.fail("called"))
    assert system.limit_memory(0) is False


# --- the parent going away -------------------------------------------------------------------------------------------

DRIVER = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may have inherited SIGINT ignored
import importlib
from tests import fake_tasks
inspected = importlib.import_module("xltool.rollup.inspected")
inspected.inspect_file = fake_tasks.inspect_or_misbehave  # workers import it by name
from xltool.cli import app
sys.argv = ["xltool", "merge", sys.argv[1], "-o", sys.argv[2], "--workers", "2"]
app()
"""


def _alive(pid: int) -> bool:
    """Running (a zombie has ended: in a container nobody may reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_until(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def hanging_merge(tmp_path):
    """`xltool merge` (2 workers) in a subprocess, both workers stuck in a file; yields (process, worker pids, out)."""
    from tests.test_merge import unit_file

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        unit_file(folder, i)
    for name in ("a-hang-1.xlsx", "a-hang-2.xlsx"):  # read first (folders are read in name order)
        shutil.copy(folder / "unit000.xlsx", folder / name)
    pids = tmp_path / "pids"
    pids.mkdir()
    out = tmp_path / "county.xlsx"
    env = {**os.environ, fake_tasks.PID_DIR: str(pids), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(folder), str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_until(lambda: len(list(pids.iterdir())) == 2 or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1].decode("utf-8", "replace")
        yield proc, [int(p.read_text()) for p in pids.iterdir()], out
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _pid_of_child(pid: int, parent: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(parent)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_a_merge_stops_its_workers(hanging_merge, sig):
    """SIGTERM or Ctrl-C to a running merge: it exits at once with a non-zero code, without a traceback, writes no
    roll-up, and its worker processes are gone."""
    proc, pids, out = hanging_merge
    assert all(_pid_of_child(pid, proc.pid) for pid in pids)
    proc.send_signal(sig)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"Traceback" not in stderr, stderr.decode("utf-8", "replace")
    assert not out.exists() and not list(out.parent.glob("*.xlsx"))
    assert _wait_until(lambda: not any(map(_alive, pids))), [p for p in pids if _alive(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_the_parent_is_killed(hanging_merge):
    """A parent killed outright (SIGKILL: no cleanup at all) still leaves no worker running: they notice and exit."""
    proc, pids, _out = hanging_merge
    proc.kill()
    proc.communicate(timeout=60)
    assert _wait_until(lambda: not any(map(_alive, pids))), [p for p in pids if _alive(p)]


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_worker_folders_of_a_gone_process_are_removed_and_live_ones_kept(tmp_path):
    """A SIGKILLed merge leaves `xltool-workers-<pid>-…`: the next start removes it once that process is gone, and
    keeps the folder of a process still running (another xltool) and any folder without a pid."""
    dead = tmp_path / f"{workers.FOLDER_PREFIX}{_dead_pid()}-abc"
    live = tmp_path / f"{workers.FOLDER_PREFIX}{os.getppid()}-def"
    other = tmp_path / f"{workers.FOLDER_PREFIX}xyz"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "worker-1.log").write_text("log")
    assert workers.remove_stale_folders(str(tmp_path)) == [str(dead)]
    assert not dead.exists() and live.exists() and other.exists()


@posix_only
def test_a_pool_start_removes_stale_folders_and_names_its_own_by_pid(tmp_path, monkeypatch):
    """Starting a pool cleans up what a killed one left, and its own folder carries its pid (and is gone after)."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"{workers.FOLDER_PREFIX}{_dead_pid()}-abc"
    dead.mkdir()
    seen = []
    real = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    assert list(workers.run(behave, ["ok:1"], outcome, workers=1)) == ["OK:1"]
    assert not dead.exists()
    assert [Path(s).name.startswith(f"{workers.FOLDER_PREFIX}{os.getpid()}-") for s in seen] == [True]
    assert not Path(seen[0]).exists()
