"""The portal's library layer (xltool.serve) on SQLite and on PostgreSQL: tasks, uploads kept before they are
checked, reviews, roll-ups from the accepted versions, the audit log, administrators."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")

from sqlalchemy import select, text

from tests.serve_portal import BROKEN, RETURNS, corrected_return, write_roster
from xltool.serve import reviews, rollups, tasks, uploads, users
from xltool.serve.models import Unit, Version
from xltool.serve.portal import PortalError

CODES = list(RETURNS)


@pytest.fixture
def task(portal, tmp_path):
    """A task over four units of the example county: (task id, links, {code: unit id})."""
    task_id, links = tasks.create_task(portal, 2025, write_roster(tmp_path, CODES), county="示例县人民政府")
    _, rows = tasks.status(portal, task_id)
    return task_id, links, {r["code"]: r["id"] for r in rows}


def _upload(portal, unit_id, path: Path):
    return uploads.upload(portal, unit_id, path.read_bytes(), path.name, actor="单位")


def test_task_gives_each_unit_a_template_and_a_link_kept_only_as_a_hash(portal, task):
    """Every roster unit gets its personalised template and a distinct ≥128-bit link whose token is not stored."""
    task_id, links, _units = task
    assert len(links) == len(CODES) == len({link.token for link in links})
    assert all(len(link.token) >= 43 for link in links)  # 32 random bytes, URL-safe
    _, rows = tasks.status(portal, task_id)
    assert [(r["code"], r["review"], r["check"], r["versions"]) for r in rows] == [(c, "未报", "", 0) for c in CODES]
    with portal.reading() as session:
        stored = session.scalars(select(Unit)).all()
        assert all((portal.task_folder(task_id) / u.template).is_file() for u in stored)
        dump = " ".join(f"{u.token_hash} {u.name}" for u in stored)
        assert not any(link.token in dump for link in links)
        assert tasks.unit_by_token(session, links[0].token).code == CODES[0]
        assert tasks.unit_by_token(session, links[0].token + "x") is None
    csv_text = tasks.links_csv(links, "https://县.example/")
    assert csv_text.startswith("\ufeff单位,代码,链接")
    assert f"https://县.example/u/{links[1].token}" in csv_text


def test_upload_is_kept_as_sent_then_checked(portal, task):
    """An upload is a new version with the file's SHA-256, under a generated name, then checked by xltool's check."""
    _, _, units = task
    version = _upload(portal, units[BROKEN], RETURNS[BROKEN])
    data = RETURNS[BROKEN].read_bytes()
    assert version.number == 1 and version.sha256 == hashlib.sha256(data).hexdigest()
    assert (portal.files / version.stored).read_bytes() == data
    assert RETURNS[BROKEN].stem not in version.stored
    assert (version.check, version.errors) == ("errors", 2)
    problems = uploads.problems_of(version)
    assert {p["code"] for p in problems} == {"T3-BAL-NATURAL_PERSON", "T3-BAL-TOTAL"}
    assert all(version.stored not in p["located"] for p in problems)
    _, rows = tasks.status(portal)
    row = next(r for r in rows if r["code"] == BROKEN)
    assert (row["review"], row["check"], row["versions"], row["errors"]) == ("待审", "有错误", 1, 2)


def test_return_then_reupload_goes_back_to_pending_and_accept(portal, task, tmp_path):
    """退回 needs a comment the unit sees; a new upload is version 2 and 待审; 接收 takes the latest version."""
    _, _, units = task
    unit = units[BROKEN]
    with pytest.raises(PortalError):
        reviews.review(portal, unit, accept=True)  # nothing uploaded yet
    _upload(portal, unit, RETURNS[BROKEN])
    with pytest.raises(PortalError):
        reviews.review(portal, unit, accept=False, comment="  ")
    reviews.review(portal, unit, accept=False, comment="自然人列不平衡，请核对")
    _, rows = tasks.status(portal)
    assert next(r for r in rows if r["code"] == BROKEN)["review"] == "已退回"
    second = _upload(portal, unit, corrected_return(tmp_path))
    assert (second.number, second.check) == (2, "passed")
    _, rows = tasks.status(portal)
    assert next(r for r in rows if r["code"] == BROKEN)["review"] == "待审"
    reviews.review(portal, unit, accept=True)
    with portal.reading() as session:
        assert session.get(Unit, unit).accepted_version_id == second.id
    assert [e.action for e in reviews.history(portal, unit)] == ["return", "accept"]


def test_rollup_takes_the_accepted_versions_and_equals_merge(portal, task, tmp_path):
    """The roll-up merges the latest accepted versions (with 待审 ones only when asked) and equals xltool.merge."""
    from xltool import merge, read

    _, _, units = task
    for code, path in RETURNS.items():
        _upload(portal, units[code], path)
    for code in CODES[:2]:
        reviews.review(portal, units[code], accept=True)
    rolled = rollups.rollup(portal, None, tmp_path / "汇总.xlsx")
    assert set(rolled.files) == {"示例县城关镇人民政府", "示例县东坝镇人民政府"}
    assert "缺报 2" in rolled.line
    expected = merge([RETURNS[c] for c in CODES[:2]])
    assert read(rolled.path).values == expected.total.values
    with_pending = rollups.rollup(portal, None, tmp_path / "汇总2.xlsx", include_pending=True)
    assert len(with_pending.files) == 4 and "缺报 0" in with_pending.line
    # a re-upload keeps the accepted version in the roll-up until the county decides; 退回 drops it
    _upload(portal, units[CODES[0]], RETURNS[CODES[1]])
    assert "示例县城关镇人民政府" in rollups.rollup(portal, None, tmp_path / "3.xlsx").files
    reviews.review(portal, units[CODES[0]], accept=False, comment="传错了文件")
    assert "示例县城关镇人民政府" not in rollups.rollup(portal, None, tmp_path / "4.xlsx").files


def test_report_draft_and_annotated_copy(portal, task, tmp_path):
    """The report draft comes from the roll-up; a version with problems has an annotated copy."""
    _, _, units = task
    broken = _upload(portal, units[BROKEN], RETURNS[BROKEN])
    _upload(portal, units[CODES[0]], RETURNS[CODES[0]])
    reviews.review(portal, units[CODES[0]], accept=True)
    draft = rollups.report_draft(portal, None, tmp_path / "报告.docx")
    assert draft.is_file() and draft.stat().st_size > 0
    copy = rollups.annotated_copy(portal, broken)
    assert copy is not None and copy.suffix == ".xlsx" and portal.derived in copy.parents


def test_rejected_uploads_leave_nothing(portal, task):
    """An upload over the cap, of a suffix xltool does not read, or whose bytes are not its format is not kept."""
    data = RETURNS[BROKEN].read_bytes()
    with pytest.raises(uploads.TooLarge):
        uploads.receive(portal, data, "a.xlsx", limit=len(data) - 1)
    with pytest.raises(PortalError):
        uploads.receive(portal, data, "a.exe")
    with pytest.raises(PortalError):
        uploads.receive(portal, b"<html>not a workbook</html>", "a.xlsx")
    assert not list(portal.incoming.iterdir()) and not list(portal.files.iterdir())


def test_failed_store_leaves_no_half_version(portal, task, monkeypatch):
    """A failure while the version row is written removes the stored file: no file without a row, no row without
    a file; a version stored but never checked is checked at the next start."""
    _, _, units = task
    received = uploads.receive(portal, RETURNS[BROKEN].read_bytes(), "x.xlsx")
    monkeypatch.setattr(uploads.audit, "record", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        uploads.store(portal, units[BROKEN], received)
    monkeypatch.undo()
    assert not list(portal.files.iterdir())
    with portal.reading() as session:
        assert session.scalars(select(Version)).all() == []
    stored = uploads.store(portal, units[BROKEN], uploads.receive(portal, RETURNS[BROKEN].read_bytes(), "x.xlsx"))
    assert stored.check == "checking"
    from xltool import safewrite

    cut_off = portal.files / f"{safewrite.PREFIX}half.xlsx"  # an upload a stop cut off, an hour ago
    cut_off.write_bytes(b"PK half")
    os.utime(cut_off, (time.time() - 7200, time.time() - 7200))
    streaming = portal.files / f"{safewrite.PREFIX}now.xlsx"  # another process's upload, still arriving
    streaming.write_bytes(b"PK")
    assert uploads.recheck(portal) == 1
    assert sorted(portal.files.glob(f"{safewrite.PREFIX}*")) == [streaming]
    with portal.reading() as session:
        assert session.get(Version, stored.id).check == "errors"


def test_audit_log_is_append_only(portal, task):
    """The database itself refuses to change or delete audit entries."""
    from sqlalchemy.exc import DBAPIError

    from xltool.serve import audit

    assert [e.action for e in audit.entries(portal)] == ["task.create"]
    for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
        with pytest.raises(DBAPIError), portal.writing() as session:
            session.execute(text(statement))
    assert len(audit.entries(portal)) == 1


def test_administrators_use_argon2id(portal):
    """Passwords are stored as Argon2id; a wrong password or unknown name does not log in; names are unique."""
    user = users.add_user(portal, "县管理员", "正确的密码123")
    assert user.password_hash.startswith("$argon2id$")
    assert users.authenticate(portal, "县管理员", "正确的密码123").id == user.id
    assert users.authenticate(portal, "县管理员", "错误的密码123") is None
    assert users.authenticate(portal, "没有这人", "正确的密码123") is None
    with pytest.raises(PortalError):
        users.add_user(portal, "县管理员", "另一个密码456")
    with pytest.raises(PortalError):
        users.add_user(portal, "短", "1234")


def test_migrations_are_idempotent_and_task_is_found(portal, tmp_path):
    """migrate twice is harmless; --task may be left out only while there is exactly one task."""
    assert portal.migrate() == portal.migrate() == "0001"
    with pytest.raises(PortalError), portal.reading() as session:
        tasks.find_task(session, None)
    roster = write_roster(tmp_path, CODES[:1])
    first, _ = tasks.create_task(portal, 2025, roster)
    with portal.reading() as session:
        assert tasks.find_task(session, None).id == first
    tasks.create_task(portal, 2025, roster)
    with pytest.raises(PortalError), portal.reading() as session:
        tasks.find_task(session, None)


def test_next_years_templates_are_prefilled_from_accepted_versions(portal, task, tmp_path):
    """A task naming last year's task pre-fills each unit's template from its accepted return (上年结转)."""
    from xltool import read
    from xltool.forms import form_for_year

    _, _, units = task
    _upload(portal, units[CODES[0]], RETURNS[CODES[0]])
    reviews.review(portal, units[CODES[0]], accept=True)
    last = read(RETURNS[CODES[0]])
    next_id, _ = tasks.create_task(portal, 2026, write_roster(tmp_path, CODES[:2]), previous_task=1)
    with portal.reading() as session:
        templates = {u.code: u.template for u in session.scalars(select(Unit).where(Unit.task_id == next_id))}
    prefilled = read(portal.task_folder(next_id) / templates[CODES[0]])
    blank = read(portal.task_folder(next_id) / templates[CODES[1]])  # not accepted last year: nothing to carry
    carries = [c for c in form_for_year(2026).carry_overs if c.kind == "prefill"]
    assert carries and any(last.values.get(c.source) for c in carries)
    for carry in carries:
        assert prefilled.values.get(carry.target) == last.values.get(carry.source), carry.target
        assert blank.values.get(carry.target) in (None, 0)
    with pytest.raises(PortalError):
        tasks.create_task(portal, 2026, write_roster(tmp_path, CODES[:1]), previous_task=next_id)  # nothing accepted
