"""Command line: a thin typer layer over the library. Data goes to stdout/files, messages to stderr."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from xltool import __version__
from xltool.forms import FormError, all_forms, form_for_year
from xltool.model import Return, Unit

app = typer.Typer(
    help="政府信息公开工作年度报告统计表工具：生成锁定模板、复核校验、汇总。",
    no_args_is_help=True,
    add_completion=False,
)


def _err(message: str) -> None:
    typer.echo(message, err=True)


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder and is legal on Windows."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(" .")
    return cleaned[:100] or "未命名"


@app.command()
def template(
    year: Annotated[int, typer.Option("--year", "-y", help="报告年度，如 2025（2019—2020 用 2019 版格式，2021 年起用 2021 版）")],
    unit: Annotated[str, typer.Option("--unit", "-u", help="填报单位全称，如 某某镇人民政府")] = "",
    code: Annotated[str, typer.Option("--code", help="统一社会信用代码或行政区划代码")] = "",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="输出文件（.xlsx）")] = None,
    password: Annotated[str | None, typer.Option("--password", help="工作表保护密码（默认不设密码）")] = None,
) -> None:
    """生成锁定的填报模板（三张官方表格 + 填报说明 + 校验）。"""
    from xltool.template import write_xlsx

    try:
        form = form_for_year(year)
    except FormError as exc:
        _err(f"错误：{exc}")
        raise typer.Exit(2) from None
    if output is None:
        output = Path(safe_filename(f"{unit}{year}年度政府信息公开工作年度报告统计表") + ".xlsx")
    if output.suffix.lower() != ".xlsx":
        _err(f"错误：暂只支持 .xlsx 输出：{output}")
        raise typer.Exit(2)
    written = write_xlsx(Return(form, year, Unit(name=unit, code=code)), output, password=password)
    _err(f"已生成 {written}（{form.name}，{form.notice}，{year} 年度）")


@app.command()
def forms() -> None:
    """列出内置的报告格式。"""
    for f in all_forms():
        years = f"{f.first_year}—{f.last_year or ''}"
        typer.echo(f"{f.id}\t{years}\t{f.notice}\t{len(f.inputs)} 个填报格，{len(f.rules)} 条校验规则")


@app.command()
def version() -> None:
    """显示版本。"""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
