"""Drive real LibreOffice headless from the project interpreter.

The project Python cannot `import uno` (python3-uno exists only for Debian's
/usr/bin/python3, engineering notes 6.13), so the UNO work happens in
uno_worker.py, run as a subprocess with JSON lines over its pipes.

    with LibreOffice() as lo:
        cells = lo.recalc("in.xlsx", set=[{"sheet": "S", "cell": "B2", "value": 5}],
                          read=[{"sheet": "S", "cell": "B9"}])
        cells[0]["value"]  # recalculated by LibreOffice, never the cached value
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import functools
import glob
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

SYSTEM_PYTHON = "/usr/bin/python3"
WORKER = Path(__file__).with_name("uno_worker.py")
STARTUP_TIMEOUT = 90.0  # the worker itself gives up connecting after 30 s


class LibreOfficeError(RuntimeError):
    """A request failed, or the worker died or timed out."""


def _worker_env() -> dict[str, str]:
    # pyenv/venv variables must not leak into Debian's python.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP")}


@functools.cache
def available() -> bool:
    """True when soffice is on PATH and /usr/bin/python3 can import uno."""
    if not shutil.which("soffice") or not os.path.exists(SYSTEM_PYTHON):
        return False
    r = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import uno"], env=_worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return r.returncode == 0


class LibreOffice:
    """One worker process, hence one soffice, reused for many documents.

    Not for concurrent use from several processes; calls from threads are serialised.
    """

    def __init__(self, timeout: float = 120.0):
        self.timeout = timeout
        self.hello: dict[str, Any] = {}  # the worker's startup line (soffice_pid, startup_s, ...)
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=60)
        self._lock = threading.RLock()
        atexit.register(self.close)  # never leave soffice behind, even if a test forgets

    def __enter__(self) -> LibreOffice:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- public API -------------------------------------------------------

    def start(self) -> LibreOffice:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._spawn()
        return self

    def recalc(
        self,
        path: str | os.PathLike[str],
        set: list[dict] | None = None,
        read: list[dict] | None = None,
        save_as: str | os.PathLike[str] | None = None,
        calculate: bool = True,
    ) -> list:
        """Load, apply `set`, calculateAll() (unless calculate=False), read `read`, optionally save.

        set:  [{"sheet", "cell", "value": float|int|str|None}] (None clears the cell);
              {"sheet", "cell", "formula": "=..."} also works.
        read: [{"sheet", "cell"}] -> cell dict, or [{"sheet", "range": "A1:C3"}] -> rows of cell dicts.
        A cell dict is {"value": float, "string": str, "type": "VALUE|TEXT|FORMULA|EMPTY",
        "formula": str, "error": int, "result": "VALUE|TEXT|ERROR" (formulas only)}.
        calculate=False shows what a user sees on opening (the profile forces recalc on load).
        """
        return self._request(
            {
                "op": "recalc",
                "path": _abs(path),
                "set": set or [],
                "read": read or [],
                "save_as": _abs(save_as) if save_as else None,
                "calculate": calculate,
            }
        )["cells"]

    def inspect(
        self, path: str | os.PathLike[str], sheets: list[str] | None = None, cells: list[dict] | None = None
    ) -> dict:
        """Structure: {"sheet_names", "sheets": [{name, protected, visible, conditional_formats,
        page: {landscape, scale_to_pages_x, scale_to_pages_y, print_title_rows: [first, last]|None}|None}],
        "cells": [{sheet, cell, locked, formula_hidden, hidden, conditional_formats,
        validation: {type, operator, formula1, formula2, show_error, error_style, error_title,
        error_message, show_input, input_title, input_message, ignore_blank, show_list}|None}],
        "named_ranges": {name: content}, "structure_protected": bool}."""
        return self._request({"op": "inspect", "path": _abs(path), "sheets": sheets, "cells": cells or []})

    def validate(self, path: str | os.PathLike[str], sheet: str, cell: str, value: Any) -> dict:
        """Would LibreOffice's validation accept `value` in this cell?
        -> {"accepted": bool, "method": "api", "type": "WHOLE|...", "error_style": "STOP|..."}."""
        return self._request({"op": "validate", "path": _abs(path), "sheet": sheet, "cell": cell, "value": value})

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            if proc.poll() is None:
                try:
                    proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                    proc.stdin.flush()
                    proc.wait(15)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._kill(proc)

    # ---- plumbing ---------------------------------------------------------

    def _spawn(self) -> None:
        self._lines = queue.Queue()
        self._stderr.clear()
        self.hello = {}
        # New session: Ctrl-C in pytest must not hit the worker mid-request;
        # close()/atexit shut it down in order instead.
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=_worker_env(),
            start_new_session=True,
        )
        self._proc = proc
        # Reader threads give us timeouts on a blocking pipe and keep stderr drained.
        threading.Thread(target=self._pump, args=(proc.stdout, self._lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(proc.stderr, self._stderr.append), daemon=True).start()
        self.hello = self._receive(STARTUP_TIMEOUT)
        if not self.hello.get("ready"):
            self._kill(proc)
            raise LibreOfficeError(f"worker did not start: {self.hello.get('error')}{self._tail()}")

    @staticmethod
    def _pump(stream, put) -> None:
        for line in stream:
            put(line.rstrip("\n"))
        put(None)  # EOF marker; harmless for the stderr deque

    def _receive(self, timeout: float) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self._kill(self._proc)
            raise LibreOfficeError(
                f"LibreOffice worker timed out after {timeout:.0f} s; killed it{self._tail()}"
            ) from None
        if line is None:
            raise _WorkerDied(f"LibreOffice worker exited (rc={self._proc.wait()}){self._tail()}")
        return json.loads(line)

    def _request(self, req: dict) -> dict:
        with self._lock:
            restarted = False
            while True:
                if self._proc is None or self._proc.poll() is not None:
                    if restarted:
                        raise LibreOfficeError(f"LibreOffice worker is not running{self._tail()}")
                    self._spawn()
                    restarted = True
                try:
                    self._proc.stdin.write(json.dumps(req, ensure_ascii=False) + "\n")
                    self._proc.stdin.flush()
                    resp = self._receive(self.timeout)
                    if resp.get("fatal"):  # soffice died; the worker is exiting
                        raise _WorkerDied(f"{resp.get('error')}{self._tail()}")
                    break
                except (_WorkerDied, BrokenPipeError) as e:
                    if restarted:  # restart only once per request
                        raise LibreOfficeError(str(e)) from None
                    self._kill(self._proc)
                    self._proc = None
            if not resp.get("ok"):
                raise LibreOfficeError(f"{req['op']} {req.get('path', '')}: {resp.get('error')}")
            resp.pop("ok")
            return resp

    def _kill(self, proc: subprocess.Popen[str] | None) -> None:
        """Kill the worker and its soffice (own process group); remove the profile."""
        if proc is None or proc.poll() is not None:
            return  # the worker exited by itself and cleaned up after itself
        proc.kill()
        proc.wait()
        # The worker could not clean up (e.g. stuck in a UNO call when it timed out).
        pid = self.hello.get("soffice_pid")
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        if self.hello.get("profile"):
            shutil.rmtree(self.hello["profile"], ignore_errors=True)
            for sock in glob.glob(f"/tmp/OSL_PIPE_*_{self.hello.get('pipe')}"):
                os.unlink(sock)

    def _tail(self) -> str:
        lines = [line for line in self._stderr if line]
        return "\nworker stderr (last lines):\n" + "\n".join(lines[-20:]) if lines else ""


class _WorkerDied(Exception):
    pass


def _abs(path: str | os.PathLike[str]) -> str:
    return str(Path(path).resolve())


__all__ = ["LibreOffice", "LibreOfficeError", "available"]
