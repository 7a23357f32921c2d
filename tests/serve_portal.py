"""Fixtures of the portal tests (tests/test_serve_*.py): a portal on SQLite or on a throwaway PostgreSQL cluster,
a small roster from the county example, and the example returns.

PostgreSQL: Debian's server (`postgresql`, installed by .ci/run) started once per test session with initdb and
pg_ctl as the `postgres` user (initdb refuses root) on a free loopback port; each test gets its own database. The
PostgreSQL tests skip where no server binaries or no psycopg are found.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "examples" / "county-2025"
# the example returns by unit code; 南山镇 (…04) has two balance errors
RETURNS = {
    "915100000000000001": COUNTY / "01-城关镇.xlsx",
    "915100000000000002": COUNTY / "02-东坝镇.xlsx",
    "915100000000000003": COUNTY / "03-西河乡.xlsx",
    "915100000000000004": COUNTY / "04-南山镇.xlsx",
}
BROKEN = "915100000000000004"


def write_roster(folder: Path, codes: list[str] | None = None) -> Path:
    """units.csv with the example county's units (those of `codes`, in order, when given)."""
    with (COUNTY / "units.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if codes is not None:
        rows = [r for c in codes for r in rows if r["code"] == c]
    path = folder / "units.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["name", "code", "type"])
        w.writeheader()
        w.writerows(rows)
    return path


def corrected_return(folder: Path) -> Path:
    """南山镇's return with its two balance errors corrected (what the unit uploads after 退回)."""
    from openpyxl import load_workbook

    wb = load_workbook(RETURNS[BROKEN])
    ws = wb["三、依申请公开"]
    # the example's 自然人 column: 一 + 二 = 7 but 三（七）总计 + 四 = 8; one more new request balances it (and 总计)
    ws["D6"] = ws["D6"].value + 1
    path = folder / "04-南山镇（修改版）.xlsx"
    wb.save(path)
    return path


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """The URL of a PostgreSQL server of this test session (without a database name), or a skip."""
    pytest.importorskip("psycopg")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian package postgresql)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="xltool-pg-"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # initdb refuses root: run the cluster as postgres
        import pwd

        try:
            pg = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server")
        os.chown(folder, pg.pw_uid, pg.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    try:
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not be started: {exc}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server: str) -> str:
    """A fresh database on the server; its SQLAlchemy URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server + name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request):
    """None (SQLite in the data folder) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return new_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def portal(tmp_path, db_url):
    """A migrated, empty portal in a temporary data folder."""
    pytest.importorskip("sqlalchemy")
    from xltool.serve.portal import Portal

    p = Portal(tmp_path / "data", db_url)
    p.migrate()
    yield p
    with contextlib.suppress(Exception):
        p.close()
