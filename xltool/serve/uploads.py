"""Uploads: streamed to the data folder under a generated name and hashed, kept (a new version, the unit back to
待审) and only then checked by xltool's own check in its worker pool (time and memory limits per file).

Nothing is lost: a version row exists only for a whole file already on disk; a crash while a file streams leaves
a temporary in incoming/ (removed at the next start) and no version; a version stored but not yet checked keeps
the state "checking" and is checked again at the next start (`recheck`).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from xltool.serve import audit
from xltool.serve.models import Unit, Version, now
from xltool.serve.portal import Portal, PortalError
from xltool.serve.words import Review

DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024
# What each accepted suffix must start with (OWASP: check the signature, not only the name).
SIGNATURES = {
    ".xlsx": (b"PK\x03\x04",),
    ".xlsm": (b"PK\x03\x04",),
    ".ods": (b"PK\x03\x04",),
    ".xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}


def accepted_suffixes() -> list[str]:
    """The suffixes of the spreadsheets xltool reads (its reader registry) that the portal takes."""
    from xltool import formats

    return sorted(s for s in formats.suffixes("spreadsheet") if s in SIGNATURES)


class TooLarge(PortalError):
    """An upload over the cap (HTTP 413)."""


class Incoming:
    """One upload while it streams: written to incoming/ and hashed as it comes, at most `limit` bytes."""

    def __init__(self, portal: Portal, filename: str, limit: int = DEFAULT_MAX_UPLOAD) -> None:
        self.original = _shown_name(filename)
        self.suffix = Path(self.original).suffix.lower()
        if self.suffix not in accepted_suffixes():
            raise PortalError(f"只接受这些格式的报表：{' '.join(accepted_suffixes())}（收到的是“{self.original}”）")
        self.limit = limit
        self.size = 0
        self.hash = hashlib.sha256()
        self.head = b""
        self.path = portal.incoming / f"{uuid.uuid4().hex}.part"
        self.file = self.path.open("xb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise TooLarge(f"文件超过 {self.limit // (1024 * 1024)} MB 的上限")
        if len(self.head) < 16:
            self.head += chunk[: 16 - len(self.head)]
        self.hash.update(chunk)
        self.file.write(chunk)

    def finish(self) -> Received:
        """The whole file on disk (flushed and synced), its signature checked."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        if self.size == 0:
            self.discard()
            raise PortalError("上传的文件是空的")
        if not self.head.startswith(SIGNATURES[self.suffix]):
            self.discard()
            raise PortalError(f"“{self.original}”的内容不是 {self.suffix} 文件（可能改过扩展名）：请上传原始报表")
        return Received(self.path, self.suffix, self.original, self.hash.hexdigest(), self.size)

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Received:
    path: Path
    suffix: str
    original: str
    sha256: str
    size: int


def receive(portal: Portal, data: bytes, filename: str, limit: int = DEFAULT_MAX_UPLOAD) -> Received:
    """A whole upload given as bytes (the command line, tests)."""
    incoming = Incoming(portal, filename, limit)
    for i in range(0, max(len(data), 1), 1 << 20):
        incoming.write(data[i : i + (1 << 20)])
    return incoming.finish()


def store(portal: Portal, unit_id: int, received: Received, actor: str = "", address: str = "") -> Version:
    """Keep the file as a new version of the unit (under a generated name) and put the unit back to 待审."""
    stored = f"{uuid.uuid4().hex}{received.suffix}"
    target = portal.files / stored
    os.replace(received.path, target)  # same folder tree: atomic; the version row below names only a whole file
    try:
        with portal.writing() as session:
            unit = session.get(Unit, unit_id, with_for_update=True)
            if unit is None:
                raise PortalError("没有这个单位")
            number = (session.scalar(select(func.max(Version.number)).where(Version.unit_id == unit_id)) or 0) + 1
            version = Version(
                unit_id=unit_id,
                number=number,
                sha256=received.sha256,
                size=received.size,
                stored=stored,
                original=received.original,
            )
            session.add(version)
            unit.review = Review.PENDING
            audit.record(
                session, actor, "unit.upload", unit.task_id, unit.id, received.sha256, address, f"第 {number} 版"
            )
        return version
    except BaseException:
        target.unlink(missing_ok=True)  # no row names it: nothing half kept
        raise


def check_versions(portal: Portal, version_ids: list[int]) -> None:
    """Check the stored versions with xltool's check (its worker pool: a file that hangs or crashes costs only
    itself) and keep each verdict and its problems."""
    from xltool import checking

    if not version_ids:
        return
    with portal.reading() as session:
        versions = list(session.scalars(select(Version).where(Version.id.in_(version_ids)).order_by(Version.id)))
    paths = [str(portal.files / v.stored) for v in versions]
    reports = checking.check_files(paths)  # the check picks how: its worker pool, with time and memory limits
    results = []
    for version, report in zip(versions, reports, strict=True):
        problems = [_problem(p, version) for p in ([report.error.problem] if report.error else report.problems)]
        errors = sum(p["severity"] == "error" for p in problems)
        warnings = sum(p["severity"] == "warning" for p in problems)
        results.append((version.id, report.status.value, errors, warnings, json.dumps(problems, ensure_ascii=False)))
    with portal.writing() as session:
        for version_id, status, errors, warnings, problems in results:
            version = session.get(Version, version_id)
            version.check, version.errors, version.warnings = status, errors, warnings
            version.problems, version.checked_at = problems, now()


def _problem(problem: Any, version: Version) -> dict[str, Any]:
    """A problem as `check --format json` lists it, placed in the file as the unit named it (never the stored name)."""
    out = problem.as_dict()
    out.pop("file", None)
    out["located"] = problem.located.replace(version.stored, version.original)
    out["message"] = str(out["message"]).replace(version.stored, version.original)
    return out


def upload(
    portal: Portal, unit_id: int, data: bytes, filename: str, actor: str = "", limit: int = DEFAULT_MAX_UPLOAD
) -> Version:
    """Receive, store and check one upload (the command line and tests; the web app checks in batches)."""
    version = store(portal, unit_id, receive(portal, data, filename, limit), actor)
    check_versions(portal, [version.id])
    with portal.reading() as session:
        return session.get(Version, version.id)


def recheck(portal: Portal) -> int:
    """At start: remove half-received temporaries and check every version a stop left unchecked; how many."""
    for part in portal.incoming.glob("*.part"):
        part.unlink(missing_ok=True)
    with portal.reading() as session:
        ids = list(session.scalars(select(Version.id).where(Version.check == "checking")))
    check_versions(portal, ids)
    return len(ids)


def problems_of(version: Version) -> list[dict[str, Any]]:
    return json.loads(version.problems or "[]")


def _shown_name(filename: str) -> str:
    """The name as sent, for showing only: its last path part, made safe (it never names a file on disk)."""
    from xltool.filenames import safe_filename

    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        return safe_filename(name)[:200] or "未命名"
    return f"{safe_filename(stem)[:180] or '未命名'}.{safe_filename(suffix)[:10]}"
