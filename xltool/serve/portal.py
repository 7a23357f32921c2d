"""The data folder and the database: SQLite in WAL (busy_timeout, writes in BEGIN IMMEDIATE) or PostgreSQL.

Data folder (`--data DIR`, default ./xltool-data): `xltool.db` (SQLite, unless `--db URL`), `files/` (every upload as
sent, under a generated name: never served as a path), `incoming/` (rosters and last year's files while a task
is created), `tasks/<id>/` (personalised templates), `derived/` (annotated copies, roll-ups, report drafts).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATA = "xltool-data"
DB_NAME = "xltool.db"
BUSY_TIMEOUT_MS = 30_000
MIGRATIONS = Path(__file__).with_name("migrations")


class PortalError(ValueError):
    """Something the county asked for that cannot be done; the message (Chinese) says why and what to do."""


class Portal:
    """One portal: its folders and its database. `writing()` and `reading()` give ORM sessions."""

    def __init__(self, data: str | os.PathLike = DEFAULT_DATA, db: str | None = None) -> None:
        self.data = Path(data).absolute()
        for sub in ("files", "incoming", "tasks", "derived"):
            (self.data / sub).mkdir(parents=True, exist_ok=True)
        self.url = db or f"sqlite:///{(self.data / DB_NAME).as_posix()}"
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The check's workers kept warm between uploads (xltool.batch.warm), opened by the web app for its lifetime;
        # None (the command line, tests): each check starts its own, as `xltool check` does.
        self.warm_pool: Any = None

    @property
    def files(self) -> Path:
        return self.data / "files"

    @property
    def incoming(self) -> Path:
        return self.data / "incoming"

    @property
    def derived(self) -> Path:
        return self.data / "derived"

    def task_folder(self, task_id: int) -> Path:
        return self.data / "tasks" / str(task_id)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> str:
        """Bring the schema to the newest migration (Alembic); the revision now in force."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or ""

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose transaction takes the write lock at once (SQLite BEGIN IMMEDIATE), committed at the end."""
        with self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session (SQLite: a deferred transaction, never waiting for writers in WAL)."""
        with self._sessions() as session:
            session.connection(execution_options={"xltool_read": True})
            yield session  # closing ends the transaction; what was loaded stays readable (detached)

    def close(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")  # a version acknowledged is a version on disk
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # Writers take the lock when they begin, so two writers never both read and then fail to upgrade (SQLITE_BUSY
        # despite the timeout); readers in WAL never wait.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("xltool_read") else "BEGIN IMMEDIATE")

    return engine
