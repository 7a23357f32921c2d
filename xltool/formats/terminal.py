"""The terminal: check results as a readable table on the console (rich), a summary line at the end."""

from __future__ import annotations

from xltool.formats import Writer


def write_report(reports: list, lang: str = "zh", summary: dict | None = None, console=None, **_: object) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for r in reports:
        unit = f"（{r.ret.unit.name}，{r.ret.year} 年度，{r.ret.form.notice}格式）" if r.ret and r.ret.unit.name else ""
        console.print(f"[bold]{r.path}[/bold] {unit} → [bold]{r.status_text(lang)}[/bold]")
        if r.error:
            console.print(f"  [red]{'error' if lang == 'en' else '错误'}[/red] {r.error.code}：{r.error_text(lang)}")
            continue
        if not r.problems:
            continue
        table = Table(show_header=True, header_style="bold", expand=False)
        for col in ("severity", "code", "where", "message") if lang == "en" else ("级别", "编号", "位置", "说明"):
            table.add_column(col, overflow="fold")
        for p in r.problems:
            table.add_row(f"[{colours[p.severity]}]{p.severity.text(lang)}[/]", p.code, p.where, p.text(lang))
        console.print(table)
    s = summary or {}
    console.print(
        f"共 {s['files']} 个文件：通过 {s['passed']}，有错误 {s['with_errors']}，未填报 {s['not_filled']}，"
        f"无法读取 {s['unreadable']}"
    )


WRITERS = [Writer("report", "table", "", write_report, description="终端表格（默认）")]
