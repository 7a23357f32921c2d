"""Writing never harms: every output is written to a temporary file in its target's folder and renamed over the target.

The rename (`os.replace`) is atomic on one file system, on POSIX and Windows alike, so a reader sees the old file or
the new one, never half of one. On any failure — a full disk, a writer's exception, SIGTERM (which
`system.terminate_as_exit` turns into an exception) — the temporary file is removed and the old target stays as it
was. A link at the target's name is never written through: the rename replaces the link itself, so the file it
points to is untouched. Temporary names start with `.xltool-` and keep the target's suffix (some writers choose
their format by it).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from xltool import system

PREFIX = ".xltool-"


@contextlib.contextmanager
def replacing(target: str | os.PathLike) -> Iterator[Path]:
    """A fresh temporary path beside `target`; when the block ends normally it is flushed to disk and renamed over
    `target` (a link there is replaced, not followed); when it raises, it is removed and `target` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with system.terminate_as_exit():  # SIGTERM while writing unwinds through the cleanup below
        fd, name = tempfile.mkstemp(prefix=PREFIX, suffix=target.suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            _settle(tmp, target)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def opened(target: str | os.PathLike, mode: str = "w", **options: Any) -> Iterator[IO]:
    """`open` on a temporary file beside `target`, renamed over it when the block ends without an error."""
    with replacing(target) as tmp, open(tmp, mode, **options) as fh:
        yield fh


def write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """`Path.write_text`, but whole or not at all."""
    with opened(target, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(target)


def _settle(tmp: Path, target: Path) -> None:
    """Give the temporary file the permissions the output should have and push it to disk, so a full disk shows here
    (and the old file stays) rather than after the rename."""
    try:
        old = os.lstat(target)
    except OSError:
        old = None
    mode = stat.S_IMODE(old.st_mode) if old is not None and stat.S_ISREG(old.st_mode) else system.new_file_mode()
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.chmod(tmp, mode)  # after the flush: a read-only mode would refuse opening for it


__all__ = ["PREFIX", "opened", "replacing", "write_text"]
