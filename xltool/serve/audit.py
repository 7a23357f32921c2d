"""The append-only audit log: who did what, when, to which unit and file (the database refuses changes to it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xltool.serve.models import AuditEntry
from xltool.serve.portal import Portal
from xltool.serve.words import ACTIONS


def record(
    session: Session,
    actor: str,
    action: str,
    task_id: int | None = None,
    unit_id: int | None = None,
    sha256: str = "",
    address: str = "",
    detail: str = "",
) -> None:
    """Add one entry in the caller's transaction (so an action and its record are kept together or not at all)."""
    assert action in ACTIONS, action
    session.add(
        AuditEntry(
            actor=actor[:200],
            action=action,
            task_id=task_id,
            unit_id=unit_id,
            sha256=sha256,
            address=address[:64],
            detail=detail,
        )
    )


def entries(
    portal: Portal, task_id: int | None = None, limit: int = 500, action: str | None = None
) -> list[AuditEntry]:
    """The newest entries first (of one task, of one action when given)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if task_id is not None:
        query = query.where(AuditEntry.task_id == task_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with portal.reading() as session:
        return list(session.scalars(query))
