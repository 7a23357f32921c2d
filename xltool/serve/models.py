"""The portal's tables (SQLAlchemy 2). Times are naive UTC; the migration in migrations/ creates the same schema."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> datetime:
    """The current time as stored: UTC without a zone (SQLite keeps no zones)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    """A county administrator (password hashed with Argon2id)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now)


class Task(Base):
    """A 填报任务: one year's collection from the units of a roster."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    form_id: Mapped[str] = mapped_column(String(100))
    deadline: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    county: Mapped[str] = mapped_column(String(200), default="")  # the unit the roll-up speaks for (汇总单位)
    units: Mapped[list[Unit]] = relationship(back_populates="task", order_by="Unit.position")


class Unit(Base):
    """One roster unit of a task: its link (only the token's hash), its review state and the county's comment."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("task_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(100), default="")
    type: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[datetime] = mapped_column(default=now)
    token_used_at: Mapped[datetime | None] = mapped_column(default=None)
    review: Mapped[str] = mapped_column(String(16), default="missing")
    comment: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(String(255), default="")  # file name in the task's template folder
    # the version the county accepted last (kept through a re-upload, cleared by 退回): what a roll-up takes
    accepted_version_id: Mapped[int | None] = mapped_column(default=None)
    task: Mapped[Task] = relationship(back_populates="units")
    versions: Mapped[list[Version]] = relationship(back_populates="unit", order_by="Version.number")


class Version(Base):
    """One upload, kept as sent (stored under a generated name, with its SHA-256) and its automatic check."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("unit_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    stored: Mapped[str] = mapped_column(String(100), unique=True)  # generated name in the data folder's files/
    original: Mapped[str] = mapped_column(String(255), default="")  # the name as sent, sanitised: shown only
    uploaded_at: Mapped[datetime] = mapped_column(default=now)
    check: Mapped[str] = mapped_column(String(16), default="checking")  # xltool.outcomes.FileStatus or "checking"
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the problems as `check --format json` lists them
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
    unit: Mapped[Unit] = relationship(back_populates="versions")


class ReviewEntry(Base):
    """A county decision on a unit: accepted, or returned with a comment the unit sees."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), default=None)
    action: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(default=now)


class WebSession(Base):
    """A server-side session: the cookie holds a random id, the table only its hash (revocable, with timeouts).

    `links` holds the links just issued to this admin (JSON), so the CSV and 通知 can be downloaded once more while
    the session lives; it is cleared at logout and goes with the session."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # admin | unit
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), default=None)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    seen_at: Mapped[datetime] = mapped_column(default=now, index=True)
    links: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """Who did what, when, to which unit and file: append-only (the migration adds triggers refusing changes)."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[int | None] = mapped_column(default=None)
    unit_id: Mapped[int | None] = mapped_column(default=None)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
