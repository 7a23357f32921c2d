"""Command line: a thin typer layer over the library. Data goes to stdout/files, messages to stderr."""

from __future__ import annotations

import re
from enum import Enum
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


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class Lang(str, Enum):
    zh = "zh"
    en = "en"


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help="要检查的文件或文件夹（文件夹内递归查找 .xlsx/.xlsm/.ods/.xls）")],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="输出格式")] = OutputFormat.table,
    previous: Annotated[Path | None, typer.Option("--previous", help="上年度的报表，用于跨年度核对（上年结转、现行有效件数）")] = None,
    annotate: Annotated[Path | None, typer.Option("--annotate", help="把标注了问题的副本写入此文件夹（原文件不改动）")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="输出语言：zh 中文（默认），en English")] = Lang.zh,
) -> None:
    """复核填好的报表：在 Python 中重新计算每条校验规则，列出每个问题的位置和原因。

    退出码：0 无错误；1 有错误或未填报；2 有文件无法读取。
    """
    from xltool import report
    from xltool.reader import read
    from xltool.sources import ReadError

    files = report.expand(paths)
    if not files:
        _err("错误：没有找到要检查的文件")
        raise typer.Exit(2)
    prev = None
    if previous is not None:
        try:
            prev = read(previous)
        except ReadError as exc:
            _err(f"错误：上年度报表无法读取：{previous}：{exc.message}")
            raise typer.Exit(2) from None
    reports = [report.check_file(f, prev) for f in files]
    if fmt is OutputFormat.json:
        typer.echo(report.render_json(reports, lang.value))
    elif fmt is OutputFormat.csv:
        typer.echo(report.render_csv(reports, lang.value), nl=False)
    else:
        report.render_table(reports, lang=lang.value)
    if annotate is not None:
        from xltool.annotate import annotate_all

        for written in annotate_all(reports, annotate):
            _err(f"已写出标注副本 {written}")
    raise typer.Exit(report.exit_code(reports))


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
