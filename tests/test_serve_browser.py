"""The portal in a real browser (Playwright driving Debian's chromium, nothing downloaded) against a real server
(`xltool serve` in its own process) on SQLite and on PostgreSQL: the whole cycle of the issue, as people click it.

Screenshots of every page go to $XLTOOL_SCREENSHOTS when set (to look at), else to the test's temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")
playwright_api = pytest.importorskip("playwright.sync_api")

from tests.serve_portal import BROKEN, RETURNS, ROOT, corrected_return, write_roster  # noqa: E402
from xltool.serve import users  # noqa: E402

pytestmark = pytest.mark.chromium
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ADMIN_NAME, ADMIN_PASSWORD = "县管理员", "这是一个足够长的密码"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(portal, tmp_path):
    """`xltool serve` over the portal's data folder (and database) on a free loopback port; its base URL."""
    users.add_user(portal, ADMIN_NAME, ADMIN_PASSWORD)
    port = _free_port()
    args = [sys.executable, "-m", "xltool", "serve", "--data", str(portal.data), "--port", str(port)]
    if not portal.is_sqlite:
        args += ["--db", portal.url]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        if process.poll() is not None:
            pytest.fail((tmp_path / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


def _shot(page, name: str, folder: Path) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_the_whole_cycle_in_a_browser(server, browser, portal, tmp_path):
    """The county creates a task in the browser, a unit opens its link, downloads its template, uploads a broken
    return and sees the problem, the county returns it with a comment, the unit sees the comment and uploads the
    corrected one, the county accepts, and the roll-up it downloads equals `xltool merge` of the accepted file."""
    from xltool import merge, read

    shots = Path(os.environ.get("XLTOOL_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    county = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1280, "height": 800})
    admin = county.new_page()
    admin.goto(f"{server}/admin")
    assert admin.url.endswith("/login")
    _shot(admin, "01-登录", shots)
    admin.fill("input[name=name]", ADMIN_NAME)
    admin.fill("input[name=password]", ADMIN_PASSWORD)
    admin.click("button[type=submit]")
    admin.wait_for_url(f"{server}/admin")
    admin.fill("input[name=year]", "2025")
    admin.fill("input[name=title]", "2025年度政府信息公开工作年度报表")
    admin.fill("input[name=deadline]", "2026-01-15")
    admin.fill("input[name=county]", "示例县人民政府办公室")
    admin.set_input_files("input[name=roster]", str(write_roster(tmp_path, list(RETURNS))))
    _shot(admin, "02-新建任务", shots)
    admin.click("text=创建任务并生成各单位链接")
    admin.wait_for_url("**/links")
    _shot(admin, "03-链接与通知", shots)
    row = admin.locator("table.links tr", has_text="示例县南山镇人民政府")
    link = row.locator("td.url").inner_text().strip()
    assert "/u/" in link and row.locator("svg").count() == 1

    unit_context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1280, "height": 800})
    unit = unit_context.new_page()
    unit.goto(link)
    assert unit.url == f"{server}/unit"  # the token has left the address bar
    assert "示例县南山镇人民政府" in unit.inner_text("h1")
    _shot(unit, "04-单位页面", shots)
    with unit.expect_download() as got:
        unit.click("a:has-text('模板')")
    template = tmp_path / "模板.xlsx"
    got.value.save_as(template)
    assert template.read_bytes().startswith(b"PK")
    unit.set_input_files("input[name=file]", str(RETURNS[BROKEN]))
    unit.click("text=上传并检查")
    unit.wait_for_selector("#result .check")
    assert "有错误" in unit.inner_text("#result") and "D6" in unit.inner_text("#result")
    _shot(unit, "05-上传后的检查结果", shots)

    admin.goto(f"{server}/admin")
    admin.click("text=2025年度政府信息公开工作年度报表")
    assert "待审" in admin.inner_text("table.units")
    _shot(admin, "06-任务进度", shots)
    admin.locator("table.units tr", has_text="示例县南山镇人民政府").locator("text=查看").click()
    _shot(admin, "07-单位审核", shots)
    admin.fill("textarea[name=comment]", "三、依申请公开表自然人列不平衡，请核对本年新收申请数后重新上传。")
    admin.click("button[value=return]")
    admin.wait_for_load_state()
    assert "已退回" in admin.inner_text("main")

    unit.reload()
    assert "已退回" in unit.inner_text(".status") and "请核对本年新收申请数" in unit.inner_text(".comment")
    _shot(unit, "08-单位看到退回意见", shots)
    unit.set_input_files("input[name=file]", str(corrected_return(tmp_path)))
    unit.click("text=上传并检查")
    unit.wait_for_selector("#result .check")
    assert "通过" in unit.inner_text("#result") and "待审" in unit.inner_text(".status")
    _shot(unit, "09-改正后通过", shots)

    admin.reload()
    admin.click("button[value=accept]")
    admin.wait_for_load_state()
    assert "已接收" in admin.inner_text("main")
    admin.goto(admin.url.rsplit("/admin/", 1)[0] + "/admin")
    admin.click("text=2025年度政府信息公开工作年度报表")
    _shot(admin, "10-接收后的进度", shots)
    with admin.expect_download() as got:
        admin.click("text=下载汇总表（xlsx）")
    rolled = tmp_path / "汇总.xlsx"
    got.value.save_as(rolled)
    assert read(rolled).values == merge([corrected_return(tmp_path)]).total.values
    admin.goto(f"{server}/admin/audit")
    _shot(admin, "11-操作记录", shots)
    assert "汇总" in admin.inner_text("table.audit")
    admin.goto(f"{server}/u/made-up-link")
    _shot(admin, "12-无效链接", shots)
    assert "找不到" in admin.inner_text("h1")
    county.close()
    unit_context.close()
