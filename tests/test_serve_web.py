"""The portal's web app through Starlette's TestClient: the whole cycle of the issue, and its security promises —
links exchanged for sessions, one unit never reaching another's anything (IDOR), every admin route behind login,
CSRF on every form, the upload cap (413), made-up links (404), headers and rate limits."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")

from starlette.routing import Route
from starlette.testclient import TestClient

from tests.serve_portal import BROKEN, RETURNS, corrected_return, write_roster
from xltool.serve import tasks, users
from xltool.serve.web.app import Settings, build

CODES = list(RETURNS)
ADMIN_NAME, ADMIN_PASSWORD = "县管理员", "这是一个足够长的密码"


class Site:
    """A running app over a fresh portal with one task; clients for the county and for units."""

    def __init__(self, portal, tmp_path: Path, max_upload: int = 10 * 1024 * 1024) -> None:
        self.portal = portal
        self.app = build(Settings(max_upload=max_upload), portal)
        self.task_id, links = tasks.create_task(portal, 2025, write_roster(tmp_path, CODES), county="示例县人民政府")
        self.links = {link.code: link for link in links}
        self.clients: list[TestClient] = []

    def client(self) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        client.__enter__()
        self.clients.append(client)
        return client

    def admin(self) -> TestClient:
        users.add_user(self.portal, ADMIN_NAME, ADMIN_PASSWORD) if not users.count(self.portal) else None
        client = self.client()
        csrf = _csrf(client.get("/login").text)
        answer = client.post("/login", data={"csrf_token": csrf, "name": ADMIN_NAME, "password": ADMIN_PASSWORD})
        assert answer.status_code == 303 and answer.headers["location"] == "/admin"
        return client

    def unit(self, code: str) -> TestClient:
        client = self.client()
        answer = client.get(f"/u/{self.links[code].token}")
        assert answer.status_code == 303 and answer.headers["location"] == "/unit"
        return client

    def close(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)


@pytest.fixture
def site(portal, tmp_path):
    s = Site(portal, tmp_path)
    yield s
    s.close()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _upload(client: TestClient, path: Path, json: bool = True, csrf: str | None = None, name: str | None = None):
    token = _csrf(client.get("/unit").text) if csrf is None else csrf
    headers = {"accept": "application/json"} if json else {}
    files = {"file": (name or path.name, path.read_bytes(), "application/octet-stream")}
    return client.post("/unit/upload", data={"csrf_token": token}, files=files, headers=headers)


def _unit_id(site: Site, code: str) -> int:
    return next(r["id"] for r in tasks.status(site.portal, site.task_id)[1] if r["code"] == code)


def _review(admin: TestClient, unit_id: int, decision: str, comment: str = ""):
    csrf = _csrf(admin.get(f"/admin/units/{unit_id}").text)
    return admin.post(
        f"/admin/units/{unit_id}/review", data={"csrf_token": csrf, "decision": decision, "comment": comment}
    )


def test_the_whole_cycle(site, tmp_path):
    """Unit opens its link, downloads its template, uploads a broken return and sees the problems; the county
    returns it with a comment the unit sees; the corrected upload is accepted; the roll-up equals xltool merge."""
    from openpyxl import load_workbook

    from xltool import merge, read

    unit = site.unit(BROKEN)
    html = unit.get("/unit").text
    assert "示例县南山镇人民政府" in html
    template_link = re.search(r'<a[^>]*href="(/unit/template)"[^>]*>([^<]*)</a>', html)
    assert template_link and "模板" in template_link.group(2)
    forms = re.findall(r"<form[^>]*>", html)
    assert len([f for f in forms if "multipart/form-data" in f]) == 1 and "/unit/upload" in html
    download = unit.get("/unit/template")
    assert download.status_code == 200 and download.content.startswith(b"PK")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    wb = load_workbook(__import__("io").BytesIO(download.content))
    assert any("示例县南山镇人民政府" in str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value)

    first = _upload(unit, RETURNS[BROKEN])
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["version"], body["check"]) == (1, "有错误")
    assert {p["code"] for p in body["problems"]} == {"T3-BAL-NATURAL_PERSON", "T3-BAL-TOTAL"}
    page = unit.get("/unit").text
    assert "有错误" in page and "D6" in page and "/unit/versions/1/annotated" in page
    annotated = unit.get("/unit/versions/1/annotated")
    assert annotated.status_code == 200 and annotated.content.startswith(b"PK")

    admin = site.admin()
    unit_id = _unit_id(site, BROKEN)
    assert "待审" in admin.get(f"/admin/tasks/{site.task_id}").text
    assert _review(admin, unit_id, "return", "自然人列不平衡，请核对新收申请数").status_code == 303
    page = unit.get("/unit").text
    assert "已退回" in page and "自然人列不平衡，请核对新收申请数" in page

    second = _upload(unit, corrected_return(tmp_path))
    assert (second.json()["version"], second.json()["check"]) == (2, "通过")
    assert tasks.status(site.portal)[1][CODES.index(BROKEN)]["review"] == "待审"
    assert _review(admin, unit_id, "accept").status_code == 303
    csrf = _csrf(admin.get(f"/admin/tasks/{site.task_id}").text)
    rolled = admin.post(f"/admin/tasks/{site.task_id}/rollup", data={"csrf_token": csrf})
    assert rolled.status_code == 200 and rolled.headers["content-disposition"].startswith("attachment")
    out = tmp_path / "下载的汇总.xlsx"
    out.write_bytes(rolled.content)
    assert read(out).values == merge([corrected_return(tmp_path / "..")]).total.values
    report = admin.post(f"/admin/tasks/{site.task_id}/report", data={"csrf_token": csrf})
    assert report.status_code == 200 and report.content.startswith(b"PK")
    log = admin.get("/admin/audit").text
    for word in ("创建任务", "打开链接", "上传", "退回", "接收", "汇总", "生成报告草稿"):
        assert word in log, word


def test_link_becomes_a_session_and_leaves_the_url(site):
    """/u/<token> sets an HttpOnly SameSite session cookie and redirects to a URL without the token (no-referrer);
    a made-up link answers 404; reissuing a link revokes the old one and its sessions."""
    client = site.client()
    token = site.links[CODES[0]].token
    answer = client.get(f"/u/{token}")
    assert answer.status_code == 303 and token not in answer.headers["location"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and token.lower() not in cookie
    assert client.get("/unit").status_code == 200
    assert site.client().get(f"/u/{token[:-2]}xx").status_code == 404
    assert site.client().get("/u/abc").status_code == 404
    tasks.reissue(site.portal, _unit_id(site, CODES[0]))
    assert site.client().get(f"/u/{token}").status_code == 404
    assert client.get("/unit").status_code == 401  # its session ended with the link


def test_unit_cannot_reach_another_units_anything(site):
    """With unit A's session, every unit route shows and changes only A's things; B's versions and files, and
    every admin route, stay out of reach (IDOR)."""
    a, b = site.unit(CODES[0]), site.unit(BROKEN)
    assert _upload(b, RETURNS[BROKEN]).json()["version"] == 1
    assert _upload(b, RETURNS[BROKEN]).json()["version"] == 2
    assert _upload(a, RETURNS[CODES[0]]).json()["version"] == 1
    b_name, b_sha = "示例县南山镇人民政府", __import__("hashlib").sha256(RETURNS[BROKEN].read_bytes()).hexdigest()
    unit_routes = [r for r in site.app.routes if isinstance(r, Route) and r.path.startswith("/unit")]
    assert {r.path for r in unit_routes} == {
        "/unit",
        "/unit/template",
        "/unit/upload",
        "/unit/versions/{number:int}/annotated",
    }
    for path in ("/unit", "/unit/template", "/unit/versions/1/annotated", "/unit/versions/2/annotated"):
        answer = a.get(path)
        assert b_name not in answer.text and b_sha not in answer.text, path
    assert a.get("/unit/versions/2/annotated").status_code == 404  # B has a version 2, A does not
    # a unit id smuggled into the form is ignored: the upload is A's
    csrf = _csrf(a.get("/unit").text)
    smuggled = a.post(
        "/unit/upload",
        data={"csrf_token": csrf, "unit_id": str(_unit_id(site, BROKEN))},
        files={"file": ("x.xlsx", RETURNS[CODES[0]].read_bytes())},
        headers={"accept": "application/json"},
    )
    assert smuggled.json()["version"] == 2
    status = {r["code"]: r["versions"] for r in tasks.status(site.portal)[1]}
    assert (status[CODES[0]], status[BROKEN]) == (2, 2)
    for route in _admin_routes(site):
        for method in route.methods - {"HEAD"}:
            answer = a.request(method, _filled(route.path), data={"csrf_token": csrf})
            assert answer.status_code in (303, 401) and answer.headers.get("location", "/login") == "/login", route.path


def _admin_routes(site: Site) -> list[Route]:
    return [r for r in site.app.routes if isinstance(r, Route) and (r.path.startswith("/admin") or r.path == "/logout")]


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_admin_route_needs_login(site):
    """Without an admin session every admin route (GET or POST) is refused: GET goes to the login page."""
    client = site.client()
    routes = _admin_routes(site)
    assert len(routes) >= 15
    for route in routes:
        for method in route.methods - {"HEAD"}:
            answer = client.request(method, _filled(route.path))
            if method == "GET":
                assert (answer.status_code, answer.headers.get("location")) == (303, "/login"), route.path
            else:
                assert answer.status_code == 401, route.path


def test_forms_without_csrf_are_refused(site):
    """A POST without the session's CSRF value changes nothing (403): upload, review, roll-up, logout, login."""
    unit = site.unit(BROKEN)
    for token in ("", "wrong"):
        answer = _upload(unit, RETURNS[BROKEN], csrf=token)
        assert answer.status_code == 403
    assert tasks.status(site.portal)[1][CODES.index(BROKEN)]["versions"] == 0
    admin = site.admin()
    assert admin.post(f"/admin/units/{_unit_id(site, BROKEN)}/review", data={"decision": "accept"}).status_code == 403
    assert admin.post(f"/admin/tasks/{site.task_id}/rollup", data={}).status_code == 403
    assert admin.post("/logout", data={"csrf_token": "x"}).status_code == 403
    assert admin.get("/admin").status_code == 200  # still logged in
    fresh = site.client()
    assert fresh.post("/login", data={"name": ADMIN_NAME, "password": ADMIN_PASSWORD}).status_code == 403


def test_upload_over_the_cap_is_413_and_the_server_lives_on(portal, tmp_path):
    """An upload over --max-upload answers 413 (declared or streamed without a length), nothing is kept, and the
    next request is served."""
    site = Site(portal, tmp_path, max_upload=20 * 1024)
    try:
        unit = site.unit(BROKEN)
        big = tmp_path / "big.xlsx"
        big.write_bytes(b"PK\x03\x04" + b"\0" * (200 * 1024))
        answer = _upload(unit, big)
        assert answer.status_code == 413 and "error" in answer.json()
        csrf = _csrf(unit.get("/unit").text)

        def chunks():
            yield b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + csrf.encode() + b"\r\n"
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.xlsx"\r\n\r\n'
            for _ in range(40):
                yield b"PK" + b"\0" * 4096
            yield b"\r\n--b--\r\n"

        streamed = unit.post(
            "/unit/upload", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert streamed.status_code == 413
        assert unit.get("/unit").status_code == 200
        assert tasks.status(portal)[1][CODES.index(BROKEN)]["versions"] == 0
        assert not list(portal.files.iterdir())
    finally:
        site.close()


def test_refused_uploads_say_why(site):
    """A file of a format xltool does not read, or renamed to .xlsx, is refused with a reason (400), not kept."""
    unit = site.unit(BROKEN)
    wrong = _upload(unit, RETURNS[BROKEN], name="报表.pdf")
    assert wrong.status_code == 400 and ".xlsx" in wrong.json()["error"]
    fake = Path(__file__)
    assert _upload(unit, fake, name="报表.xlsx").status_code == 400
    page = _upload(unit, fake, json=False, name="报表.xlsx")
    assert page.status_code == 400 and "报表.xlsx" in page.text and "/unit/upload" in page.text
    assert tasks.status(site.portal)[1][CODES.index(BROKEN)]["versions"] == 0


def test_pages_are_chinese_and_carry_strict_headers(site):
    """Every page has a strict CSP (no script at all), nosniff, no framing, and no inline script or style."""
    admin = site.admin()
    unit = site.unit(BROKEN)
    _upload(unit, RETURNS[BROKEN])
    unit_id = _unit_id(site, BROKEN)
    pages = [
        (admin, "/admin"),
        (admin, f"/admin/tasks/{site.task_id}"),
        (admin, f"/admin/units/{unit_id}"),
        (admin, "/admin/audit"),
        (unit, "/unit"),
        (site.client(), "/login"),
        (site.client(), "/u/nothing"),
    ]
    for client, path in pages:
        answer = client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp, path
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in answer.text and "style=" not in answer.text, path
        assert re.search(r"[\u4e00-\u9fff]", answer.text), path


def test_sessions_time_out_and_logins_are_rate_limited(site):
    """An idle admin session is refused; repeated wrong passwords and made-up links are slowed down (429)."""
    from xltool.serve.models import WebSession

    admin = site.admin()
    with site.portal.writing() as session:
        for row in session.query(WebSession).all():
            row.seen_at -= timedelta(hours=1)
    assert admin.get("/admin").headers.get("location") == "/login"
    client = site.client()
    for _ in range(10):
        csrf = _csrf(client.get("/login").text)
        assert (
            client.post(
                "/login", data={"csrf_token": csrf, "name": ADMIN_NAME, "password": "错的密码错的密码"}
            ).status_code
            == 401
        )
    csrf = _csrf(client.get("/login").text)
    assert (
        client.post("/login", data={"csrf_token": csrf, "name": ADMIN_NAME, "password": ADMIN_PASSWORD}).status_code
        == 429
    )
    for _ in range(20):
        assert client.get("/u/made-up-link").status_code == 404
    assert client.get(f"/u/{site.links[CODES[0]].token}").status_code == 429


def test_links_page_and_chase_list(site):
    """The links issued in this session come back as CSV (单位,代码,链接) and a printable 通知 with QR codes; the
    催报名单 lists units not reported or returned."""
    admin = site.admin()
    csrf = _csrf(admin.get(f"/admin/tasks/{site.task_id}").text)
    assert admin.get(f"/admin/tasks/{site.task_id}/links.csv").status_code == 404  # created elsewhere: not known here
    assert admin.post(f"/admin/tasks/{site.task_id}/reissue", data={"csrf_token": csrf}).status_code == 303
    links = admin.get(f"/admin/tasks/{site.task_id}/links.csv")
    assert links.status_code == 200 and links.headers["content-disposition"].startswith("attachment")
    text = links.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "单位,代码,链接" and text.count("http://testserver/u/") == len(CODES)
    notice = admin.get(f"/admin/tasks/{site.task_id}/links").text
    assert notice.count("<svg") == len(CODES) and "通知" in notice
    dashboard = admin.get(f"/admin/tasks/{site.task_id}").text
    assert "催报名单（4）" in dashboard and "http://testserver/u/" in dashboard
    new_token = re.search(r"http://testserver/u/([\w-]+)", text).group(1)
    assert site.client().get(f"/u/{new_token}").status_code == 303


def test_admin_creates_a_task_in_the_browser_form(site, tmp_path):
    """The task form takes a roster upload and shows the new links at once."""
    admin = site.admin()
    csrf = _csrf(admin.get("/admin").text)
    roster = write_roster(tmp_path, CODES[:2]).read_bytes()
    answer = admin.post(
        "/admin/tasks",
        data={"csrf_token": csrf, "year": "2025", "title": "测试任务", "deadline": "2026-01-15"},
        files={"roster": ("units.csv", roster, "text/csv"), "previous": ("", b"", "application/octet-stream")},
    )  # a browser sends the empty optional file input too
    assert answer.status_code == 303
    page = admin.get(answer.headers["location"]).text
    assert page.count("/u/") >= 2 and "2026-01-15" in page
    bad = admin.post("/admin/tasks", data={"csrf_token": csrf, "year": "x"}, files={"roster": ("u.csv", roster)})
    assert bad.status_code == 400 and "年度" in bad.text


def test_refusals_are_explained_in_the_page(site):
    """A return without a reason and a roll-up with nothing accepted are refused in the page itself (400), with the
    reason, and change nothing."""
    admin = site.admin()
    unit_id = _unit_id(site, BROKEN)
    _upload(site.unit(BROKEN), RETURNS[BROKEN])
    answer = _review(admin, unit_id, "return", "  ")
    assert answer.status_code == 400 and "退回时请写明原因" in answer.text
    assert tasks.status(site.portal)[1][CODES.index(BROKEN)]["review"] == "待审"
    csrf = _csrf(admin.get(f"/admin/tasks/{site.task_id}").text)
    answer = admin.post(f"/admin/tasks/{site.task_id}/rollup", data={"csrf_token": csrf})
    assert answer.status_code == 400 and "还没有可汇总的报表" in answer.text and "催报名单" in answer.text
