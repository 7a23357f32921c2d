"""Uploads: streamed to the data folder under a generated name and hashed, kept (a new version, the unit back to
待审) and only then checked by xltool's own check in its worker pool (time and memory limits per file).

Nothing is lost: a version row exists only for a whole file already on disk (written through xltool.safewrite); a
crash while a file is written leaves a temporary beside it (removed at the next start) and no version; a version stored but not yet checked keeps
the state "checking" and is checked again at the next start (`recheck`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select

from xltool.serve import audit
from xltool.serve.models import Unit, Version, now
from xltool.serve.portal import Portal, PortalError
from xltool.serve.words import Review

DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024
CHUNK = 1 << 20
STALE = 3600  # seconds after which an upload's temporary is taken as cut off
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


@dataclass(frozen=True)
class Received:
    path: Path  # the whole file, in files/ under its generated name
    suffix: str
    original: str
    sha256: str
    size: int


def receive(portal: Portal, source: BinaryIO | bytes, filename: str, limit: int = DEFAULT_MAX_UPLOAD) -> Received:
    """Write an upload (a file object read to its end, or bytes) into files/ under a generated name, hashing it as it
    goes, whole or not at all (xltool.safewrite): over `limit` bytes is TooLarge, a suffix xltool does not read or
    bytes that are not that format is PortalError, and neither leaves anything behind."""
    from xltool import safewrite

    original = _shown_name(filename)
    suffix = Path(original).suffix.lower()
    if suffix not in accepted_suffixes():
        raise PortalError(f"只接受这些格式的报表：{' '.join(accepted_suffixes())}（收到的是“{original}”）")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    target = portal.files / f"{uuid.uuid4().hex}{suffix}"
    digest, size, head = hashlib.sha256(), 0, b""
    with safewrite.replacing(target) as tmp, tmp.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"文件超过 {limit / (1024 * 1024):g} MB 的上限")
            head += chunk[: max(0, 16 - len(head))]
            digest.update(chunk)
            out.write(chunk)
        if size == 0:
            raise PortalError("上传的文件是空的")
        if not head.startswith(SIGNATURES[suffix]):
            raise PortalError(f"“{original}”的内容不是 {suffix} 文件（可能改过扩展名）：请上传原始报表")
    return Received(target, suffix, original, digest.hexdigest(), size)


def store(portal: Portal, unit_id: int, received: Received, actor: str = "", address: str = "") -> Version:
    """Keep the received file as a new version of the unit and put the unit back to 待审 (a file whose row cannot be
    written is removed: no file without a version, no version without its whole file)."""
    target, stored = received.path, received.path.name
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
    # xltool's check in its worker pool, with time and memory limits (the web app's pool is kept warm)
    reports = checking.check_files(paths, warm_pool=portal.warm_pool)
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
    """At start: remove the temporaries of uploads a stop cut off (an hour old: another process's upload may be
    streaming) and check every version a stop left unchecked; how many."""
    from xltool import safewrite

    for part in portal.files.glob(f"{safewrite.PREFIX}*"):
        with contextlib.suppress(OSError):
            if time.time() - part.stat().st_mtime > STALE:
                part.unlink()
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
