"""`xltool serve`: run the collection portal, and the same operations from the command line (for scripts and tests).

Every subcommand takes `--data DIR` (the data folder) or `--db URL` (PostgreSQL) and `--task ID` (may be left out
while there is one task). Only click and the words of the command line are imported here: the web and database
libraries load when a command runs (`xltool --help` stays fast, tests/test_startup.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
from click.exceptions import Exit

from xltool.cli_text import FilePath, Group, Number, OneOf, Text, WholeNumber
from xltool.formats.terminal import sanitise_for_terminal

PATH, TEXT = FilePath(), Text()


class StatusFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


DEFAULT_DATA = "xltool-data"  # the same as xltool.serve.portal.DEFAULT_DATA (not imported: it loads SQLAlchemy)
PASSWORD_VARIABLE = "XLTOOL_PASSWORD"


def _err(message: str) -> None:
    click.echo(sanitise_for_terminal(message, keep_newlines=True), err=True)


def _portal_options(command: Callable) -> Callable:
    """--data and --db, declared once for the group and every subcommand."""
    command = click.option(
        "--db",
        "db",
        type=TEXT,
        default=None,
        help="数据库地址，如 postgresql+psycopg://用户@主机/库（默认：数据文件夹中的内置数据库）",
    )(command)
    return click.option("--data", "data", type=PATH, default=None, help=f"数据文件夹（默认 ./{DEFAULT_DATA}）")(command)


def _task_option(command: Callable) -> Callable:
    return click.option("--task", "task_id", type=WholeNumber(), default=None, help="任务编号（只有一个任务时可省略）")(
        command
    )


def _open(ctx: click.Context, data: Path | None, db: str | None):
    """The portal named here or on the group, migrated (migrations are applied whenever it is opened)."""
    from xltool.serve.portal import Portal

    parent = ctx.find_object(dict) or {}
    data = data or parent.get("data") or Path(DEFAULT_DATA)
    db = db or parent.get("db") or os.environ.get("XLTOOL_DB") or None
    try:
        portal = Portal(data, db)
        portal.migrate()
    except Exception as exc:  # a database that cannot be reached or opened: say so, no traceback
        _err(f"错误：无法打开数据库（{type(exc).__name__}：{str(exc).splitlines()[0] if str(exc) else ''}）")
        raise Exit(2) from None
    return portal


def _actor() -> str:
    import getpass

    try:
        who = getpass.getuser()
    except Exception:  # no user name in the environment (a service account)
        who = ""
    return f"命令行：{who}" if who else "命令行"


def _failing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A subcommand whose PortalError is a message and exit code 2, never a traceback."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from xltool.serve.portal import PortalError

        try:
            return fn(*args, **kwargs)
        except PortalError as exc:
            _err(f"错误：{exc}")
            raise Exit(2) from None

    return wrapper


@click.group(
    "serve",
    cls=Group,
    invoke_without_command=True,
    help="填报平台：各单位通过自己的链接下载模板、上传报表并立即看到检查结果；县里审核（接收/退回）、催报、汇总。\n\n"
    "示例：xltool serve user add 管理员 ；xltool serve --data 县数据/ （然后在浏览器打开 http://127.0.0.1:8000/）",
)
@_portal_options
@click.option("--host", default="127.0.0.1", type=TEXT, help="监听地址（127.0.0.1 只在本机；局域网使用请填 0.0.0.0）")
@click.option("--port", default=8000, type=WholeNumber(), help="端口")
@click.option("--max-upload", default=10.0, type=Number(), help="上传文件大小上限，单位 MB")
@click.option(
    "--workers", default=None, type=WholeNumber(), help="服务进程数（内置数据库只用 1 个；使用 --db 时默认 2 个）"
)
@click.option("--secure", is_flag=True, help="只在 HTTPS 下发送登录凭据（放在 HTTPS 反向代理之后时使用）")
@click.option(
    "--proxy", "proxies", type=TEXT, default=None, help="反向代理的地址（逗号分隔）：信任它转发来的客户端地址"
)
@click.pass_context
def serve(
    ctx: click.Context,
    data: Path | None,
    db: str | None,
    host: str,
    port: int,
    max_upload: float,
    workers: int | None,
    secure: bool,
    proxies: str | None,
) -> None:
    """填报平台。"""
    ctx.obj = {"data": data, "db": db}
    if ctx.invoked_subcommand is not None:
        return
    from xltool.serve.web.server import Settings, run

    portal = _open(ctx, data, db)
    if portal.is_sqlite and workers not in (None, 1):
        _err("提示：SQLite 只用一个服务进程；多进程请使用 PostgreSQL（--db）")
    workers = 1 if portal.is_sqlite else max(1, workers or 2)
    settings = Settings(
        data=str(portal.data),
        db=db or (ctx.obj or {}).get("db") or "",
        max_upload=int(max_upload * 1024 * 1024),
        secure=secure,
    )
    portal.close()
    if host not in ("127.0.0.1", "localhost", "::1"):
        _err(f"提示：平台将在 {host}:{port} 上对局域网开放；请确认只有本单位网络能访问，最好放在 HTTPS 反向代理之后")
    _err(f"填报平台已启动：http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/ （按 Ctrl+C 停止）")
    run(settings, host=host, port=port, workers=workers, proxies=proxies)


@serve.command()
@_portal_options
@click.pass_context
def migrate(ctx: click.Context, data: Path | None, db: str | None) -> None:
    """把数据库结构升级到当前版本（启动时也会自动执行）。"""
    portal = _open(ctx, data, db)
    with portal.engine.connect() as conn:
        from alembic.runtime.migration import MigrationContext

        revision = MigrationContext.configure(conn).get_current_revision()
    _err(f"数据库已是最新结构（{revision}）")


@serve.group(cls=Group)
def task() -> None:
    """填报任务。"""


@task.command("create")
@_portal_options
@click.option("--year", required=True, type=WholeNumber(), help="报表年度")
@click.option("--roster", required=True, type=PATH, help="单位名册 units.csv（与 template --roster 相同）")
@click.option("--links", "links_path", required=True, type=PATH, help="把各单位的链接写入此 CSV（单位,代码,链接）")
@click.option(
    "--base-url", default="", type=TEXT, help="平台的网址，如 https://县政务公开.example/（链接写成完整网址）"
)
@click.option("--title", default="", type=TEXT, help="任务名称（默认：<年度>年政府信息公开工作年度报表）")
@click.option("--deadline", default="", type=TEXT, help="截止日期，如 2026-01-15")
@click.option("--county", default="", type=TEXT, help="汇总单位名称（汇总表和报告草稿上的单位）")
@click.option("--form", "form_id", default=None, type=TEXT, help="报表格式编号（默认按年度选择）")
@click.option("--previous", default=None, type=PATH, help="上年度的报表或汇总表，用于预填模板")
@click.option(
    "--previous-task", default=None, type=WholeNumber(), help="用这个任务中已接收的报表预填模板（上年度的任务编号）"
)
@click.pass_context
@_failing
def task_create(
    ctx: click.Context,
    data: Path | None,
    db: str | None,
    year: int,
    roster: Path,
    links_path: Path,
    base_url: str,
    title: str,
    deadline: str,
    county: str,
    form_id: str | None,
    previous: Path | None,
    previous_task: int | None,
) -> None:
    """创建填报任务：为名册中每个单位生成个性化模板和专属链接（链接只在此时写出，请妥善保存）。"""
    from xltool import safewrite
    from xltool.serve import tasks

    portal = _open(ctx, data, db)
    task_id, links = tasks.create_task(portal, year, roster, title, deadline, form_id, previous, county, actor=_actor())
    with safewrite.opened(links_path, "w", encoding="utf-8", newline="") as fh:
        fh.write(tasks.links_csv(links, base_url))
    _err(f"已创建填报任务 {task_id}：{len(links)} 个单位；链接已写入 {links_path}")
    click.echo(task_id)


STATUS_COLUMNS = ["unit", "code", "review", "check", "versions", "errors", "warnings", "last_upload"]
STATUS_HEADERS = ["单位", "代码", "审核", "检查", "版本数", "错误", "警告", "最后上传"]


@serve.command()
@_portal_options
@_task_option
@click.option("--format", "-f", "fmt", type=OneOf(StatusFormat), default=StatusFormat.table, help="输出格式")
@click.pass_context
@_failing
def status(ctx: click.Context, data: Path | None, db: str | None, task_id: int | None, fmt: StatusFormat) -> None:
    """各单位的审核状态（未报/待审/已接收/已退回）和最新版本的检查结果（通过/有警告/有错误/无法读取）。"""
    from xltool.serve import tasks

    portal = _open(ctx, data, db)
    task_, rows = tasks.status(portal, task_id)
    rows = [{k: r[k] for k in STATUS_COLUMNS} for r in rows]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        import csv
        import io

        from xltool.formats.csv import escape_formula

        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(STATUS_HEADERS)
        w.writerows([escape_formula(str(r[k])) for k in STATUS_COLUMNS] for r in rows)
        click.echo("\ufeff" + out.getvalue(), nl=False)
    else:
        click.echo(sanitise_for_terminal(f"{task_.title}（任务 {task_.id}）"))
        for r in rows:
            click.echo(sanitise_for_terminal("  ".join(str(r[k]) or "—" for k in STATUS_COLUMNS[:-1])))
        counts = tasks.counts(rows)
        click.echo("；".join(f"{k} {v}" for k, v in counts.items()))


@serve.command()
@_portal_options
@_task_option
@click.option("--unit", "unit_name", required=True, type=TEXT, help="单位名称或代码")
@click.option("--accept", is_flag=True, help="接收该单位的最新版本")
@click.option("--return", "comment", default=None, type=TEXT, help="退回，并写明原因（单位会看到）")
@click.pass_context
@_failing
def review(
    ctx: click.Context,
    data: Path | None,
    db: str | None,
    task_id: int | None,
    unit_name: str,
    accept: bool,
    comment: str | None,
) -> None:
    """审核一个单位：接收（--accept）或退回（--return 原因）。"""
    from xltool.serve import reviews, tasks
    from xltool.serve.portal import PortalError

    if accept == (comment is not None):
        raise PortalError("请只用 --accept 或 --return 原因 中的一个")
    portal = _open(ctx, data, db)
    with portal.reading() as session:
        unit = tasks.find_unit(session, tasks.find_task(session, task_id), unit_name)
        unit_id, name = unit.id, unit.name
    reviews.review(portal, unit_id, accept, comment or "", actor=_actor())
    _err(f"{name}：{'已接收' if accept else '已退回'}")


@serve.command()
@_portal_options
@_task_option
@click.option("-o", "--output", "out", required=True, type=PATH, help="汇总表文件（.xlsx）")
@click.option("--include-pending", is_flag=True, help="也汇总待审的最新版本")
@click.pass_context
@_failing
def rollup(
    ctx: click.Context, data: Path | None, db: str | None, task_id: int | None, out: Path, include_pending: bool
) -> None:
    """汇总已接收的报表（xltool merge），写出汇总表及完整性说明。"""
    from xltool.serve import rollups

    portal = _open(ctx, data, db)
    rolled = rollups.rollup(portal, task_id, out, include_pending, actor=_actor())
    _err(f"已写出汇总表 {rolled.path}：{rolled.line}")
    if rolled.gaps:
        _err(rolled.gaps)


@serve.command()
@_portal_options
@_task_option
@click.option("-o", "--output", "out", required=True, type=PATH, help="报告草稿文件（.docx）")
@click.option("--include-pending", is_flag=True, help="也汇总待审的最新版本")
@click.pass_context
@_failing
def report(
    ctx: click.Context, data: Path | None, db: str | None, task_id: int | None, out: Path, include_pending: bool
) -> None:
    """由汇总生成年度报告草稿（xltool report）。"""
    from xltool.serve import rollups

    portal = _open(ctx, data, db)
    written = rollups.report_draft(portal, task_id, out, include_pending, actor=_actor())
    _err(f"已写出报告草稿 {written}")


@serve.group(cls=Group)
def user() -> None:
    """管理员账号。"""


@user.command("add")
@click.argument("name", type=TEXT)
@_portal_options
@click.pass_context
@_failing
def user_add(ctx: click.Context, name: str, data: Path | None, db: str | None) -> None:
    """添加管理员；密码从提示输入，或取自环境变量 XLTOOL_PASSWORD。"""
    from xltool.serve import users

    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")
    portal = _open(ctx, data, db)
    users.add_user(portal, name, password, actor=_actor())
    _err(f"已添加管理员“{name}”")
