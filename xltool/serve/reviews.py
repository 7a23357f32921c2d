"""The county's review of a unit: 接收 (the latest version becomes the one a roll-up takes) or 退回 with a comment."""

from __future__ import annotations

from sqlalchemy import select

from xltool.serve import audit
from xltool.serve.models import ReviewEntry, Unit, Version
from xltool.serve.portal import Portal, PortalError
from xltool.serve.words import Review


def review(
    portal: Portal, unit_id: int, accept: bool, comment: str = "", actor: str = "", address: str = ""
) -> ReviewEntry:
    """Accept the unit's latest version, or return the unit with a comment it will see (PortalError when there is
    nothing to review or a return has no reason)."""
    comment = comment.strip()
    if not accept and not comment:
        raise PortalError("退回时请写明原因，单位会看到这段说明")
    with portal.writing() as session:
        unit = session.get(Unit, unit_id, with_for_update=True)
        if unit is None:
            raise PortalError("没有这个单位")
        latest = session.scalar(select(Version).where(Version.unit_id == unit_id).order_by(Version.number.desc()))
        if latest is None:
            raise PortalError(f"“{unit.name}”还没有上传报表，无法{'接收' if accept else '退回'}")
        unit.review = Review.ACCEPTED if accept else Review.RETURNED
        unit.accepted_version_id = latest.id if accept else None
        unit.comment = comment
        entry = ReviewEntry(
            unit_id=unit_id,
            version_id=latest.id,
            action="accept" if accept else "return",
            comment=comment,
            actor=actor,
        )
        session.add(entry)
        audit.record(
            session,
            actor,
            "review.accept" if accept else "review.return",
            unit.task_id,
            unit.id,
            latest.sha256,
            address,
            f"第 {latest.number} 版" + (f"：{comment}" if comment else ""),
        )
    return entry


def history(portal: Portal, unit_id: int) -> list[ReviewEntry]:
    with portal.reading() as session:
        return list(session.scalars(select(ReviewEntry).where(ReviewEntry.unit_id == unit_id).order_by(ReviewEntry.id)))
