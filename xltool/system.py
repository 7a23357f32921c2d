"""Operating-system specifics, in one place: memory limits, parent-death detection, quiet crashes, signals, the
console's encoding, documents held open by office programs.

Everything that differs between Windows (where counties run xltool) and POSIX (Linux CI) is decided here, so the
rest of the package never tests `os.name` or `sys.platform`. The process functions are called by xltool.workers: in
each worker process at start (`prepare_worker`), and in the parent around starting workers and while a pool runs; the
console and document ones by the command line (and `process_text` by xltool.office).

- Memory: POSIX caps the address space (`RLIMIT_AS`); Windows puts the worker in a Job Object with
  `JOB_OBJECT_LIMIT_PROCESS_MEMORY`. Either way an allocation past the limit fails (Python raises MemoryError; native
  code usually aborts) instead of the machine swapping.
- Parent death: a daemon thread waits on multiprocessing's parent sentinel (a pipe on POSIX, a process handle on
  Windows) and ends the worker when the parent is gone, even while the worker is stuck inside a file. Since native
  code that hangs holding the GIL stops that thread too, the kernel also ends the workers: on Linux with SIGKILL
  (`PR_SET_PDEATHSIG`), on Windows by a Job Object of the parent with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE` (its only
  handle closes when the parent ends, however it ends).
- Quiet crashes: Windows shows no error-report dialog for a crashing worker (it would hold the process open); the
  worker's stderr (Python tracebacks, a native allocator's last words) goes to a log file the parent reads.
- Console: stdout and stderr show a character their code page lacks as a visible escape (`safe_console`); data
  redirected to a file or pipe is written as UTF-8 bytes (`data_output`); a program's output is decoded explicitly
  (`process_text`).
- Documents open elsewhere: Excel and WPS keep a `~$name` lock file beside a document they have open, and Windows
  refuses to overwrite it (`office_lock`, `held_open`), so a command can say to close it.
- Cache folder: where xltool may keep what is slow to rebuild (validated forms), per user: %LOCALAPPDATA%\\xltool\\Cache on
  Windows, ~/Library/Caches/xltool on macOS, $XDG_CACHE_HOME/xltool (~/.cache/xltool) elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import faulthandler
import functools
import os
import signal
import sys
import threading
from collections.abc import Iterator

WINDOWS = os.name == "nt"
LINUX = sys.platform.startswith("linux")
# multiprocessing.connection.wait on Windows waits on at most 63 handles, and a worker needs two (pipe, process)
MAX_WORKERS = 30 if WINDOWS else 512

# --- links -----------------------------------------------------------------------------------------------------------

_LOOP_ERRORS = {errno.ELOOP}  # POSIX: too many levels of symbolic links
_LOOP_WINERRORS = {1921}  # Windows: ERROR_CANT_RESOLVE_FILENAME (the name cannot be resolved: a loop)


def link_loop(path) -> bool:
    """A link that leads back to itself (directly or through other links): following it never ends."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno in _LOOP_ERRORS or getattr(exc, "winerror", None) in _LOOP_WINERRORS
    except ValueError:  # a NUL byte in the name
        return False
    return False


# --- memory limit ----------------------------------------------------------------------------------------------------

_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9  # JobObjectExtendedLimitInformation
JOB_OBJECT_LIMIT_PROCESS_MEMORY = 0x00000100
JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x00000400
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
_job_handles: list[int] = []  # kept open for the life of the process (closing the handle is harmless, but explicit)
_kill_job: list[int] = []  # the parent's job whose closing kills its workers (created on first use, never closed)


@functools.cache
def _job_structures() -> dict[str, type]:
    """The Windows job-object structures, defined when first needed (ctypes is not imported by commands that start
    no worker)."""
    import ctypes

    class IO_COUNTERS(ctypes.Structure):  # the Windows SDK's names
        _fields_ = [
            (name, ctypes.c_uint64)
            for name in (
                "ReadOperationCount",
                "WriteOperationCount",
                "OtherOperationCount",
                "ReadTransferCount",
                "WriteTransferCount",
                "OtherTransferCount",
            )
        ]

    class JOBOBJECT_BASIC_LIMIT_INFORMATION(ctypes.Structure):
        _fields_ = [
            ("PerProcessUserTimeLimit", ctypes.c_int64),  # LARGE_INTEGER
            ("PerJobUserTimeLimit", ctypes.c_int64),
            ("LimitFlags", ctypes.c_uint32),  # DWORD
            ("MinimumWorkingSetSize", ctypes.c_size_t),  # SIZE_T
            ("MaximumWorkingSetSize", ctypes.c_size_t),
            ("ActiveProcessLimit", ctypes.c_uint32),
            ("Affinity", ctypes.c_size_t),  # ULONG_PTR
            ("PriorityClass", ctypes.c_uint32),
            ("SchedulingClass", ctypes.c_uint32),
        ]

    class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(ctypes.Structure):
        _fields_ = [
            ("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION),
            ("IoInfo", IO_COUNTERS),
            ("ProcessMemoryLimit", ctypes.c_size_t),
            ("JobMemoryLimit", ctypes.c_size_t),
            ("PeakProcessMemoryUsed", ctypes.c_size_t),
            ("PeakJobMemoryUsed", ctypes.c_size_t),
        ]

    return {
        "IO_COUNTERS": IO_COUNTERS,
        "JOBOBJECT_BASIC_LIMIT_INFORMATION": JOBOBJECT_BASIC_LIMIT_INFORMATION,
        "JOBOBJECT_EXTENDED_LIMIT_INFORMATION": JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    }


def __getattr__(name: str):  # the structures above, as module attributes
    structures = _job_structures()
    if name in structures:
        return structures[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _kernel32():  # pragma: no cover - Windows only (tests replace it)
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.CreateJobObjectW.restype = ctypes.c_void_p
    kernel32.CreateJobObjectW.argtypes = (ctypes.c_void_p, ctypes.c_wchar_p)
    kernel32.SetInformationJobObject.restype = ctypes.c_int
    kernel32.SetInformationJobObject.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
    kernel32.AssignProcessToJobObject.restype = ctypes.c_int
    kernel32.AssignProcessToJobObject.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
    kernel32.GetCurrentProcess.restype = ctypes.c_void_p
    kernel32.SetErrorMode.restype = ctypes.c_uint32
    kernel32.SetErrorMode.argtypes = (ctypes.c_uint32,)
    kernel32.SetStdHandle.restype = ctypes.c_int
    kernel32.SetStdHandle.argtypes = (ctypes.c_uint32, ctypes.c_void_p)
    return kernel32


def limit_memory(limit: int) -> bool:
    """Cap this process's memory at `limit` bytes; False when the system refused (the worker then runs uncapped)."""
    if limit <= 0:
        return False
    return _limit_memory_windows(limit) if WINDOWS else _limit_memory_posix(limit)


def _limit_memory_posix(limit: int) -> bool:
    import resource

    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ValueError, OSError):  # e.g. macOS refuses RLIMIT_AS
        return False
    return True


def _set_limits(kernel32, job, flags: int, memory: int = 0) -> bool:
    import ctypes

    info = _job_structures()["JOBOBJECT_EXTENDED_LIMIT_INFORMATION"]()
    info.BasicLimitInformation.LimitFlags = flags
    info.ProcessMemoryLimit = memory
    return bool(
        kernel32.SetInformationJobObject(
            job, _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS, ctypes.pointer(info), ctypes.sizeof(info)
        )
    )


def _limit_memory_windows(limit: int) -> bool:
    """A Job Object holding only this process, with a per-process memory limit; crashes die without a dialog."""
    kernel32 = _kernel32()
    job = kernel32.CreateJobObjectW(None, None)
    if not job:
        return False
    if not _set_limits(
        kernel32, job, JOB_OBJECT_LIMIT_PROCESS_MEMORY | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION, limit
    ):
        return False
    if not kernel32.AssignProcessToJobObject(job, kernel32.GetCurrentProcess()):
        return False  # e.g. an old Windows where the parent's job forbids nesting
    _job_handles.append(job)
    return True


# --- parent death ----------------------------------------------------------------------------------------------------


def kill_with_parent(process) -> bool:
    """Called by the parent right after starting a worker (a multiprocessing Process). Windows: the worker joins the
    parent's kill-on-close job, so the kernel ends it when the parent ends. The worker's own memory job, created a
    moment later, nests inside (Windows 8 and later). POSIX: nothing to do here (see exit_with_parent)."""
    if not WINDOWS:
        return False
    kernel32 = _kernel32()
    if not _kill_job:
        job = kernel32.CreateJobObjectW(None, None)  # not inheritable: no worker holds it open
        if not job or not _set_limits(kernel32, job, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE):
            return False
        _kill_job.append(job)
    return bool(kernel32.AssignProcessToJobObject(_kill_job[0], process.sentinel))  # on Windows: the process handle


_PR_SET_PDEATHSIG = 1


def exit_with_parent(parent_pid: int, poll: float = 1.0) -> None:
    """End this process (exit status 1) as soon as the parent is gone, whatever the main thread is doing."""
    import ctypes
    import multiprocessing
    import multiprocessing.connection

    if LINUX:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if not WINDOWS and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the line above took effect
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)

    def watch() -> None:
        if sentinel is not None:
            multiprocessing.connection.wait([sentinel])  # readable (EOF) / signalled once the parent has exited
            os._exit(1)
        while WINDOWS or os.getppid() == parent_pid:  # no sentinel: POSIX reparents orphans, so the ppid changes
            threading.Event().wait(poll)
        os._exit(1)

    if sentinel is not None or not WINDOWS:
        threading.Thread(target=watch, name="xltool-parent-watch", daemon=True).start()


# --- signals ---------------------------------------------------------------------------------------------------------


def ignore_interrupts() -> None:
    """Ctrl-C reaches every process of the console; workers leave it to the parent, which stops them."""
    with contextlib.suppress(ValueError, OSError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def children_ignore_interrupts() -> Iterator[None]:
    """Processes started inside ignore Ctrl-C from their first instruction (POSIX keeps an ignored disposition across
    exec, and Python then installs no KeyboardInterrupt handler); on Windows the worker ignores it at start instead."""
    if WINDOWS or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Terminated(SystemExit):
    """SIGTERM/SIGHUP arrived while workers were running: unwinds like Ctrl-C (workers are stopped), exit 128+N."""


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """While inside, SIGTERM (and SIGHUP on POSIX) raise Terminated in the main thread, so cleanup code runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ["SIGTERM"] if WINDOWS else ["SIGTERM", "SIGHUP"]
    previous = {}

    def handler(signum, _frame):
        raise Terminated(128 + signum)

    for name in names:
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):
                previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old)


# --- worker start-up -------------------------------------------------------------------------------------------------

_SEM_FAILCRITICALERRORS, _SEM_NOGPFAULTERRORBOX = 0x0001, 0x0002
_STD_ERROR_HANDLE = 0xFFFFFFF4  # (DWORD)-12


def redirect_stderr(path: str) -> None:
    """Send this process's stderr (Python's and native code's) to `path`, and dump a traceback there on a crash."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    if WINDOWS:  # native code writes to the Win32 standard handle, not to the C runtime's fd 2
        import msvcrt

        _kernel32().SetStdHandle(_STD_ERROR_HANDLE, msvcrt.get_osfhandle(2))
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)  # noqa: SIM115
    faulthandler.enable(sys.stderr)


def quiet_crashes() -> None:
    """Windows: no 'python has stopped working' dialog, which would keep a crashed worker alive until dismissed."""
    if WINDOWS:
        _kernel32().SetErrorMode(_SEM_FAILCRITICALERRORS | _SEM_NOGPFAULTERRORBOX)


def prepare_worker(parent_pid: int, memory_limit: int, log_path: str | None) -> bool:
    """Everything a worker does first: stderr to its log, no crash dialogs, ignore Ctrl-C, die with the parent, cap
    memory. Returns whether the memory limit is in force."""
    if log_path:
        redirect_stderr(log_path)
    quiet_crashes()
    ignore_interrupts()
    exit_with_parent(parent_pid)
    return limit_memory(memory_limit)


# --- cache folder ----------------------------------------------------------------------------------------------------

CACHE_ENV = "XLTOOL_CACHE_DIR"  # a folder to use instead; "" or "off" turns caching off


def cache_dir() -> str | None:
    """This user's cache folder for xltool (not created here), or None when caching is off or no home is known."""
    override = os.environ.get(CACHE_ENV)
    if override is not None:
        return None if override.strip().lower() in ("", "off") else override
    if WINDOWS:
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA")
        return os.path.join(base, "xltool", "Cache") if base else None
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", "xltool")
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(home, ".cache") if home != "~" else "")
    return os.path.join(base, "xltool") if os.path.isabs(base) else None


# --- the console -----------------------------------------------------------------------------------------------------

_VISIBLE = "backslashreplace"  # a character the console lacks is shown as \u4dae, never a traceback


def safe_console() -> None:
    """stdout and stderr never fail on a character their encoding lacks. A Chinese Windows console that is
    redirected (`> 检查结果.csv`, a pipe) encodes in the ANSI code page cp936, which has no `䶮` (U+4DAE) and no BOM;
    so does PYTHONIOENCODING=gbk. Such a character is written as a visible escape (`\\u4dae`) instead. Python's own
    Windows console writer speaks UTF-16 and loses nothing; this is for everything else."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) in ("strict", "surrogateescape"):
            with contextlib.suppress(ValueError, OSError, AttributeError):  # closed or detached: leave it
                reconfigure(errors=_VISIBLE)


def data_output():
    """Where a command's data (CSV, JSON, HTML, Markdown) goes as UTF-8 bytes: stdout's byte buffer when stdout is a
    file or a pipe, whatever the console's code page (a CSV keeps its BOM, an HTML page is what its `charset` says).
    None when stdout is a terminal (or has no byte buffer): the data is then shown as text in the console's
    encoding."""
    stream = sys.stdout
    if stream is None:
        return None
    try:
        if stream.isatty():
            return None
    except (ValueError, OSError, AttributeError):
        return None
    return getattr(stream, "buffer", None)


def process_text(data: bytes | None) -> str:
    """What a program we ran (LibreOffice) printed, as text: UTF-8 when it is, else the system's code page (a
    Windows program speaks cp936 on a Chinese system), undecodable bytes replaced; never an exception."""
    if not data:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import locale

    return data.decode(locale.getpreferredencoding(False) or "utf-8", errors="replace")


# --- a document open in Excel, WPS or LibreOffice ---------------------------------------------------------------------

_ERROR_ACCESS_DENIED, _ERROR_SHARING_VIOLATION, _ERROR_LOCK_VIOLATION = 5, 32, 33


def office_lock(path: str | os.PathLike[str]) -> str | None:
    """The lock file beside `path` that says a program has it open: `~$name.xlsx` (Excel, WPS) or
    `.~lock.name.xlsx#` (LibreOffice); None when there is none. A program that crashed may leave one behind."""
    folder, name = os.path.split(os.fspath(path))
    for lock in (f"~${name}", f".~lock.{name}#"):
        candidate = os.path.join(folder, lock)
        if os.path.isfile(candidate):
            return candidate
    return None


def held_open(exc: OSError) -> bool:
    """Whether a failed write means another program holds the file open. Windows refuses to replace or write a file
    that Excel or WPS has open (sharing violation, or access denied on an existing file); POSIX never does, so there
    a PermissionError is about permissions."""
    if not WINDOWS or not isinstance(exc, PermissionError):
        return False
    if getattr(exc, "winerror", None) in (_ERROR_SHARING_VIOLATION, _ERROR_LOCK_VIOLATION):
        return True
    target = getattr(exc, "filename2", None) or getattr(exc, "filename", None)
    return getattr(exc, "winerror", _ERROR_ACCESS_DENIED) == _ERROR_ACCESS_DENIED and bool(
        target and os.path.isfile(target)
    )


# --- writing outputs and stale worker folders ------------------------------------------------------------------------


def new_file_mode() -> int:
    """The permissions an ordinary new file gets (0o666 less the umask): a temporary file is created 0o600, and an
    output renamed from it must not end up readable by its owner alone. Windows has only the read-only bit."""
    if WINDOWS:
        return 0o666
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return 0o666 & ~mask


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (a reused id counts as alive: its folder is then kept, never lost)."""
    if pid <= 0:
        return False
    if WINDOWS:  # pragma: no cover - Windows only
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        kernel32.OpenProcess.restype = ctypes.c_void_p
        kernel32.OpenProcess.argtypes = (ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32)
        handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, 0, pid)
        if not handle:  # no such process, or one we may not look at (alive)
            return ctypes.get_last_error() == _ERROR_ACCESS_DENIED
        code = ctypes.c_uint32()
        kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32))
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(ctypes.c_void_p(handle))
        return not ok or code.value == _STILL_ACTIVE
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


_PROCESS_QUERY_LIMITED_INFORMATION, _STILL_ACTIVE = 0x1000, 259
