"""The warm pool (xltool.workers.Warm, xltool.batch.warm): workers kept between runs for a long-running process (the
portal), with the same per-item limits and the same "a crash costs one item" guarantee as a run's own pool."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from tests import fake_tasks
from tests.fake_tasks import behave
from xltool import batch, checking, workers
from xltool.codes import Code

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "examples" / "county-2025"
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and rlimits")
LIMIT = 512 << 20


def outcome(item, failure: workers.Failure):
    return ("failed", item, failure.code)


def codes(results) -> list:
    return [r[2] if isinstance(r, tuple) else "ok" for r in results]


def _dead(pid: int) -> bool:
    """The process is gone (or a zombie nobody has reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_workers_stay_up_between_runs():
    """Two runs on a warm pool are answered by the same worker processes, in input order."""
    with workers.Warm(2, memory_limit=LIMIT) as pool:
        before = sorted(pool.pids())
        first = list(pool.run(behave, [f"ok:{i}" for i in range(10)], outcome))
        second = list(pool.run(fake_tasks.worker_pid, ["a", "b", "c", "d"], outcome))
        assert first == [f"OK:{i}" for i in range(10)]
        assert len(before) == 2 and set(second) <= set(before)
        assert sorted(pool.pids()) == before
    assert multiprocessing.active_children() == []


@posix_only
def test_a_crash_or_a_limit_costs_one_item_and_later_runs_keep_the_limits():
    """Hangs, crashes and memory hits on a warm pool fail only their item; the dead workers are replaced, and the
    next run is served by a full pool whose workers still have the memory limit and the time limit."""
    items = ["ok:1", "hang:2", "ok:3", "abort:4", "segv:5", "alloc:6", "raise:7", "exit:8"] + [
        f"ok:{i}" for i in range(9, 20)
    ]
    with workers.Warm(2, memory_limit=LIMIT) as pool:
        first = sorted(pool.pids())
        results = list(pool.run(behave, items, outcome, time_limit=3))
        assert codes(results) == fake_tasks.outcomes(items)
        assert len(pool.pids()) == 2 and sorted(pool.pids()) != first  # the dead ones were replaced
        assert list(pool.run(fake_tasks.address_space_limit, ["a", "b", "c", "d"], outcome)) == [LIMIT] * 4
        again = list(pool.run(behave, ["ok:a", "hang:b", "alloc:c", "ok:d"], outcome, time_limit=3))
        assert codes(again) == ["ok", Code.TIME_LIMIT, Code.MEMORY_LIMIT, "ok"]
        assert list(pool.run(behave, ["ok:e"], outcome)) == ["OK:E"]
    assert multiprocessing.active_children() == []


@posix_only
def test_a_worker_killed_while_idle_costs_no_item():
    """A warm worker that dies between runs is replaced before the next run: no item of that run is charged."""
    with workers.Warm(2, memory_limit=LIMIT) as pool:
        assert list(pool.run(behave, ["ok:1", "ok:2"], outcome)) == ["OK:1", "OK:2"]
        victim = pool.pids()[0]
        os.kill(victim, signal.SIGKILL)
        for _ in range(500):  # until the kernel has it dead (no sleep-based timing in the assert itself)
            if _dead(victim):
                break
            time.sleep(0.01)
        results = list(pool.run(behave, [f"ok:{i}" for i in range(6)], outcome))
        assert results == [f"OK:{i}" for i in range(6)]
        assert victim not in pool.pids() and len(pool.pids()) == 2


def test_a_closed_pool_refuses_runs_and_leaves_no_process():
    """After close() a run raises WorkerError and no worker process is left."""
    pool = workers.Warm(1).open()
    assert list(pool.run(behave, ["ok:1"], outcome)) == ["OK:1"]
    pool.close()
    assert multiprocessing.active_children() == []
    with pytest.raises(workers.WorkerError):
        list(pool.run(behave, ["ok:2"], outcome))


def test_worn_workers_are_replaced_after_enough_items(monkeypatch):
    """A warm worker is replaced once it has served RECYCLE_AFTER items (a long-lived heap fragments)."""
    monkeypatch.setattr(workers, "RECYCLE_AFTER", 3)
    with workers.Warm(1) as pool:
        first = pool.pids()
        assert list(pool.run(behave, ["ok:1", "ok:2", "ok:3"], outcome)) == ["OK:1", "OK:2", "OK:3"]
        assert pool.pids() != first and len(pool.pids()) == 1


@pytest.mark.skipif(not COUNTY.exists(), reason="examples/county-2025")
def test_check_files_on_a_warm_pool_gives_the_reports_of_a_cold_run():
    """check_files and annotate on a warm pool give what a run with its own workers gives, run after run."""
    files = sorted(str(f) for f in COUNTY.glob("*.xlsx"))
    cold = checking.check_files(files, workers=0)
    with checking.warm_pool(workers=2) as pool:
        for _ in range(2):
            warm = checking.check_files(files, warm_pool=pool)
            assert [r.status for r in warm] == [r.status for r in cold]
            assert [[p.code for p in r.problems] for r in warm] == [[p.code for p in r.problems] for r in cold]


@pytest.mark.skipif(not COUNTY.exists(), reason="examples/county-2025")
def test_annotated_copies_are_written_in_the_warm_workers(tmp_path, monkeypatch):
    """annotate on a warm pool writes its copies in the workers, not in this process."""
    files = sorted(str(f) for f in COUNTY.glob("*.xlsx"))
    reports = checking.check_files(files, workers=0)
    assert any(r.problems for r in reports)

    def here(*args, **kwargs):
        raise AssertionError("an annotated copy was written in the server process")

    with batch.warm(workers=1) as pool:
        monkeypatch.setattr(checking.formats, "writer", here)  # a worker has its own, untouched
        written = [w for _, w, _ in checking.annotate(reports, tmp_path, warm_pool=pool) if w is not None]
    assert written and all(Path(w).exists() for w in written)


def test_a_run_abandoned_halfway_leaves_the_pool_usable():
    """A run whose caller stops reading stops its busy workers; the next run gets every result from fresh ones."""
    with workers.Warm(2) as pool:
        run = pool.run(behave, [f"slow:{i}" for i in range(50, 70)], outcome)
        assert next(run) == "SLOW:50"
        run.close()
        assert list(pool.run(behave, ["ok:1", "ok:2", "ok:3"], outcome)) == ["OK:1", "OK:2", "OK:3"]
        assert len(pool.pids()) == 2
