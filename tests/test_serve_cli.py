"""`xltool serve` from the command line: the automation the issue names (task create, status, review, rollup,
user add, migrate), on SQLite and PostgreSQL, and a start-up that loads no web or database library."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

pytest.importorskip("sqlalchemy")

from click.testing import CliRunner

from tests.serve_portal import BROKEN, RETURNS, ROOT, write_roster
from xltool.cli import app

CODES = list(RETURNS)


def _run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(app, ["serve", *args], env=env, input=input, catch_exceptions=False)


@pytest.fixture
def where(tmp_path, db_url):
    """The --data (and --db) options of a fresh portal."""
    return ["--data", str(tmp_path / "data"), *(["--db", db_url] if db_url else [])]


def _status(where) -> list[dict]:
    result = _run("status", *where, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_whole_cycle_from_the_command_line(where, tmp_path):
    """task create writes 单位,代码,链接; status is one object per unit in the issue's words; review and rollup."""
    from xltool.serve import uploads
    from xltool.serve.portal import Portal

    links = tmp_path / "links.csv"
    result = _run(
        "task", "create", *where, "--year", "2025", "--roster", str(write_roster(tmp_path, CODES)),
        "--links", str(links), "--base-url", "https://县.example/",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with links.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["代码"] for r in rows] == CODES
    assert all(r["链接"].startswith("https://县.example/u/") for r in rows)
    status = _status(where)
    assert [(s["unit"], s["code"], s["review"], s["check"], s["versions"]) for s in status] == [
        (r["单位"], r["代码"], "未报", "", 0) for r in rows
    ]
    portal = Portal(where[1], where[3] if len(where) > 2 else None)
    ids = {s["code"]: s for s in status}
    from xltool.serve.tasks import status as rows_of

    unit_ids = {r["code"]: r["id"] for r in rows_of(portal)[1]}
    for code in (CODES[0], BROKEN):
        uploads.upload(portal, unit_ids[code], RETURNS[code].read_bytes(), RETURNS[code].name)
    portal.close()
    status = {s["code"]: s for s in _status(where)}
    assert (status[BROKEN]["review"], status[BROKEN]["check"], status[BROKEN]["versions"]) == ("待审", "有错误", 1)
    assert status[CODES[0]]["check"] == "通过" and ids
    assert _run("review", *where, "--unit", BROKEN, "--return", "自然人列不平衡").exit_code == 0
    assert _run("review", *where, "--unit", "示例县城关镇人民政府", "--accept").exit_code == 0
    status = {s["code"]: s for s in _status(where)}
    assert (status[BROKEN]["review"], status[CODES[0]]["review"]) == ("已退回", "已接收")
    out = tmp_path / "汇总.xlsx"
    result = _run("rollup", *where, "-o", str(out))
    assert result.exit_code == 0 and out.is_file(), result.output
    assert "缺报 3" in result.stderr


def test_usage_mistakes_exit_2(where, tmp_path):
    """An unknown unit, both --accept and --return, no task yet: a Chinese message and exit code 2."""
    assert _run("status", *where).exit_code == 2
    links = tmp_path / "l.csv"
    roster = str(write_roster(tmp_path, CODES[:1]))
    assert _run("task", "create", *where, "--year", "2025", "--roster", roster, "--links", str(links)).exit_code == 0
    for args in (["--unit", "没有这个单位", "--accept"], ["--unit", CODES[0], "--accept", "--return", "x"]):
        result = _run("review", *where, *args)
        assert result.exit_code == 2 and "错误" in result.stderr
    assert _run("review", *where, "--unit", CODES[0], "--accept").exit_code == 2  # nothing uploaded yet
    assert _run("task", "create", *where, "--year", "2025", "--roster", roster, "--links", str(links)).exit_code == 0
    assert _run("status", *where).exit_code == 2  # two tasks: --task needed
    assert _run("status", *where, "--task", "2").exit_code == 0


def test_user_add_and_migrate(where):
    """user add takes the password from XLTOOL_PASSWORD or a prompt; migrate reports the schema revision."""
    assert _run("user", "add", "甲", *where, env={"XLTOOL_PASSWORD": "密码很长很长很长1"}).exit_code == 0
    result = _run(
        "user", "add", "乙", *where, env={"XLTOOL_PASSWORD": None}, input="另一个够长的密码22\n另一个够长的密码22\n"
    )
    assert result.exit_code == 0, result.output
    assert _run("user", "add", "甲", *where, env={"XLTOOL_PASSWORD": "密码很长很长很长1"}).exit_code == 2
    result = _run("migrate", *where)
    assert result.exit_code == 0 and "0001" in result.stderr


def test_help_loads_no_web_or_database_library():
    """`xltool --help` and `xltool serve --help` import neither the web stack nor the database libraries."""
    probe = (
        "import sys, json\n"
        "from xltool.cli import app\n"
        "for args in (['--help'], ['serve', '--help'], ['serve', 'task', '--help']):\n"
        "    try:\n        app.main(args, standalone_mode=False)\n    except SystemExit:\n        pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    heavy = {"sqlalchemy", "alembic", "starlette", "jinja2", "uvicorn", "psycopg", "pwdlib", "multipart"}
    assert not heavy & loaded, heavy & loaded
    assert "xltool.serve.cli" in loaded and "xltool.serve.portal" not in loaded
