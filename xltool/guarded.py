"""Reading through the one bounded path: one file, or last year's files, as every command and the portal read them.

`read(path)` is `xltool.reading.read` run through xltool.batch: in an isolated worker with the pool's time and memory
limits, so a file that hangs, crashes its reader or needs too much memory costs a ReadError with its code
(TIME-LIMIT, WORKER-CRASHED, MEMORY-LIMIT), never the command; with `light=True` a provably cheap file is read in this
process (xltool.batch.light_file). `load_previous(path)` reads last year's files (a return, a roll-up, a folder) the
same way, each file in a worker. The Return travels back by its form's id (a Form is large, and the worker's forms
are this process's: the `--form` files are registered in each worker).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xltool import batch
from xltool.discover import LastYear, expand, last_year_of
from xltool.forms import form_by_id
from xltool.model import Return
from xltool.sources import ReadError

if TYPE_CHECKING:
    from xltool import workers as pool

POOL_DEFAULT: Any = batch.POOL_DEFAULT


def read(
    path: str | Path,
    *,
    light: bool = False,
    workers: int | None = None,
    time_limit: float | None = POOL_DEFAULT,
    memory_limit: int | None = POOL_DEFAULT,
) -> Return:
    """One file (a filled return, a roll-up or a published report) read into a Return in an isolated worker;
    ReadError when it cannot be used, including when its reading hung, crashed or ran out of memory. `workers=0`
    reads in this process without limits (tests, debugging)."""
    spool = batch.Spool(prefix="xltool-read-")
    path = str(path)
    ((found, record),) = list(
        batch.run(_read_packed, [path], _read_failed, spool, workers, time_limit, memory_limit, light=light)
    )
    if not found:
        raise ReadError.of(spool.load(record))
    form_id, fields = spool.load(record)
    return Return(form_by_id(form_id), **fields)


def _read_packed(path: str) -> batch.Packed:
    """Runs in the worker: (True, the Return by form id and fields) or (False, the read error's Problem)."""
    from xltool.reading import read as read_here

    try:
        ret = read_here(path)
    except ReadError as exc:
        return batch.pack(False, exc.problem)
    fields = {f.name: getattr(ret, f.name) for f in dataclasses.fields(ret) if f.name != "form"}
    return batch.pack(True, (ret.form.id, fields))


def _read_failed(path: str, failure: pool.Failure) -> batch.Packed:
    return batch.pack(False, ReadError(failure.code, failure.message, file=path).problem)


def load_previous(
    path: str | Path,
    *,
    light: bool = False,
    workers: int | None = None,
    time_limit: float | None = POOL_DEFAULT,
    memory_limit: int | None = POOL_DEFAULT,
) -> dict[str, LastYear]:
    """xltool.discover.load_previous with each file read in an isolated worker: a file that cannot be read (or whose
    reading hangs, crashes or runs out of memory) adds nothing, as an unreadable file always did."""
    files = [str(f) for f in expand([path])]
    if not files:
        return {}
    spool = batch.Spool(prefix="xltool-previous-")
    task = functools.partial(_previous_packed, len(files) == 1)
    out: dict[str, LastYear] = {}
    for _, record in batch.run(task, files, _previous_failed, spool, workers, time_limit, memory_limit, light=light):
        out.update(spool.load(record))
    return out


def _previous_packed(alone: bool, path: str) -> batch.Packed:
    return batch.pack(None, last_year_of(path, alone))


def _previous_failed(path: str, failure: pool.Failure) -> batch.Packed:
    return batch.pack(None, [])
