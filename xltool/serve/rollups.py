"""The county's roll-up (`xltool merge`) of the latest accepted versions, optionally with those awaiting review,
and the annual report draft (`xltool report`) from it; annotated copies of a version (`check --annotate`)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from xltool.serve import audit
from xltool.serve.models import Version
from xltool.serve.portal import Portal, PortalError
from xltool.serve.tasks import chosen_versions, find_task


@dataclass
class Rolled:
    path: Path
    line: str  # 汇总 N 个单位（应报 M，缺报 K，未汇总 J）
    gaps: str  # the units missing or refused, '' when complete
    files: dict[str, str] = field(default_factory=dict)  # unit name → SHA-256 of the version taken


def rollup(
    portal: Portal,
    task_id: int | None,
    out: Path,
    include_pending: bool = False,
    actor: str = "",
    address: str = "",
) -> Rolled:
    """Merge the chosen versions with the task's roster (so the completeness line names who is missing) into `out`."""
    from xltool import merge
    from xltool.filenames import safe_filename
    from xltool.model import Unit as Who
    from xltool.rollup import MergeError
    from xltool.roster import RosterEntry

    task_id, chosen = chosen_versions(portal, task_id, include_pending)
    if not chosen:
        raise PortalError(
            "还没有可汇总的报表：请先接收各单位的报表" + ("" if include_pending else "（或包括待审的报表）")
        )
    with portal.reading() as session:
        task = find_task(session, task_id)
        roster = [RosterEntry(u.name, u.code, u.type) for u in task.units]
        county = task.county
    with tempfile.TemporaryDirectory(prefix="rollup-", dir=portal.derived) as folder:
        used: set[str] = set()
        for unit, version in chosen:  # each under its unit's name, as a county folder of returns would hold them
            stem = safe_filename(unit.name or unit.code or str(unit.id))
            while stem.lower() in used:
                stem += "_"
            used.add(stem.lower())
            shutil.copyfile(portal.files / version.stored, Path(folder) / f"{stem}{Path(version.stored).suffix}")
        try:
            roll = merge([folder], unit=Who(name=county), roster=roster)
        except MergeError as exc:
            raise PortalError(str(exc)) from None
        written = roll.write(out)
    from xltool import layout

    rolled = Rolled(
        Path(written), roll.line, layout.rollup_gaps(roll.meta) or "", {u.name: v.sha256 for u, v in chosen}
    )
    with portal.writing() as session:
        audit.record(session, actor, "rollup", task_id, address=address, detail=rolled.line)
    return rolled


def report_draft(
    portal: Portal,
    task_id: int | None,
    out: Path,
    include_pending: bool = False,
    actor: str = "",
    address: str = "",
) -> Path:
    """The annual report draft (`xltool report`, Word) of the roll-up."""
    from xltool.publish import write_annual_report

    with tempfile.TemporaryDirectory(prefix="report-", dir=portal.derived) as folder:
        rolled = rollup(portal, task_id, Path(folder) / "汇总.xlsx", include_pending, actor, address)
        published = write_annual_report(rolled.path, out)
    with portal.writing() as session:
        audit.record(session, actor, "report", task_id, address=address, detail=Path(published.path).name)
    return Path(published.path)


def annotated_copy(portal: Portal, version: Version) -> Path | None:
    """The version's copy with its problems marked (`check --annotate`), made once and kept; None when the version
    has no problems or is not an Excel file."""
    from xltool import checking

    folder = portal.derived / "annotated" / str(version.id)
    done = sorted(folder.glob("*.xlsx")) if folder.exists() else []
    if done:
        return done[0]
    # read and written in the check's workers, with their time and memory limits (formats.annotated reopens it bounded)
    reports = checking.check_files([str(portal.files / version.stored)], warm_pool=portal.warm_pool)
    folder.mkdir(parents=True, exist_ok=True)
    for _report, written, _reason in checking.annotate(reports, folder, warm_pool=portal.warm_pool):
        if written is not None:
            return Path(written)
    return None
