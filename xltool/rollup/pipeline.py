"""The merge from folders to a roll-up: find the files, inspect them in workers, decide, sum, flag, check the roster."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from xltool import layout
from xltool.discover import REPORT_REASON, is_report_name, scan_names
from xltool.forms import form_by_id
from xltool.model import Return, Unit
from xltool.rollup.inspected import MEMORY_LIMIT, TIME_LIMIT, inspect_all
from xltool.rollup.outputs import RollUp
from xltool.rollup.policy import apply_roster, copied_returns, decide
from xltool.rollup.summing import sum_members
from xltool.rollup.verdicts import MergeError
from xltool.roster import RosterEntry


def merge(
    paths: Iterable[str | os.PathLike],
    unit: Unit | None = None,
    roster: list[RosterEntry] | None = None,
    strict: bool = False,
    include_invalid: bool = False,
    prefer_newest: bool = False,
    include_reports: bool = False,
    workers: int | None = None,
    progress=None,
    time_limit: float | None = TIME_LIMIT,
    memory_limit: int | None = MEMORY_LIMIT,
) -> RollUp:
    """Merge the returns and roll-ups under `paths` (see xltool.rollup).

    `workers`, `time_limit` (seconds per file) and `memory_limit` (bytes per worker) are passed to inspect_all.
    With `roster`, a roll-up is accepted only from a unit whose roster type contains 汇总 (ROLLUP_TYPE_WORD).
    Published reports (docx, pdf, html, md, txt) are listed, not merged, unless `include_reports`: a unit's report
    beside its return would count it twice.
    """
    files, ignored = scan_names(paths, reports=include_reports)
    if not include_reports:  # a report named on the command line is refused like one found in a folder
        ignored += [(Path(f), REPORT_REASON) for f in files if is_report_name(f)]
        files = [f for f in files if not is_report_name(f)]
    if not files:
        raise MergeError("没有找到要汇总的文件")
    if workers != 0:  # this process only waits while the workers read: load the roll-up writer meanwhile
        threading.Thread(target=_load_writer, name="xltool-load-writer", daemon=True).start()
    infos = inspect_all(files, workers, progress, time_limit, memory_limit)
    del files  # the paths are in the spool now (100,000 of them are 9 MB)
    year, form_id, members, rejected = decide(infos, ignored, roster, strict, include_invalid, prefer_newest)
    del infos
    form = form_by_id(form_id)
    unit = unit or Unit()
    unit = Unit(
        name=unit.name,
        code=unit.code,
        scope=unit.scope or layout.SCOPES[1],
        filled_by=unit.filled_by,
        phone=unit.phone,
        date=unit.date,
    )
    values, no_items = sum_members(form, members)
    total = Return(form, year, unit, values=values, no_items=no_items)
    roll = RollUp(form, year, unit, members, rejected, total, notices=copied_returns(members))
    if roster is not None:
        apply_roster(roll, roster)
    return roll


def _load_writer() -> None:
    """Import the roll-up writer (xlsxwriter and xltool.template: about 0.1 s) while the workers read."""
    with contextlib.suppress(Exception):  # an import that fails here fails again, with its message, when writing
        import xltool.template.review
        import xltool.template.xlsx  # noqa: F401
