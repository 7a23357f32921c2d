"""Command line: a thin click layer over the library. Data goes to stdout/files, messages to stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import click
from click.exceptions import Exit

from xltool import formats
from xltool._version import __version__
from xltool.cli_text import (
    Argument,
    FilePath,
    Group,
    MissingCommand,
    Number,
    OneOf,
    Text,
    WholeNumber,
    WrongValue,
)
from xltool.formats.terminal import sanitise_for_terminal
from xltool.oserrors import describe

# Everything else is imported by the command that needs it: `xltool --help` or `xltool check FILE` loads no reader,
# writer or workflow it does not use (benchmarks/startup_bench.py, tests/test_startup.py).


def _choices(name: str, purpose: str) -> type[StrEnum]:
    """A choice type listing the writers registered for `purpose` (xltool.formats)."""
    return StrEnum(name, {w.name: w.name for w in formats.writers(purpose)})


TemplateFormat = _choices("TemplateFormat", "workbook")
OutputFormat = _choices("OutputFormat", "report")
RenderFormat = _choices("RenderFormat", "render")
AnnualFormat = _choices("AnnualFormat", "annual")

PATH, TEXT = FilePath(), Text()


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"xltool {__version__}")
        ctx.exit()


def _listed(ctx: click.Context, param: click.Parameter, value: tuple) -> list | None:
    """A repeatable option or a list of arguments as a list, None when none was given."""
    return list(value) or None


# Words people type for what a command of another name does (in English, in Chinese, or another tool's word): the
# error for such a word suggests the command (xltool.cli_text), e.g. `xltool annotate` → 'check --annotate 文件夹'.
COMMAND_HINTS = {
    **dict.fromkeys(["annotate", "mark", "标注", "批注", "退回"], "check --annotate 文件夹"),
    **dict.fromkeys(["validate", "verify", "lint", "test", "review", "校验", "检查", "复核", "审核"], "check"),
    **dict.fromkeys(["combine", "rollup", "roll-up", "aggregate", "sum", "total", "合并", "汇总", "合计"], "merge"),
    **dict.fromkeys(["new", "create", "generate", "init", "blank", "模板", "生成", "空表"], "template"),
    **dict.fromkeys(["roster", "distribute", "名册", "分发", "下发"], "template --roster 名册.csv"),
    **dict.fromkeys(["parse", "extract", "scan", "导入", "提取"], "import"),
    **dict.fromkeys(["html", "docx", "word", "table", "渲染", "统计表"], "render"),
    **dict.fromkeys(["export", "导出"], "merge --export 长表.csv"),
    **dict.fromkeys(["draft", "write", "annual", "报告", "年报", "年度报告"], "report"),
    **dict.fromkeys(["list", "formats", "表单", "格式"], "forms"),
    **dict.fromkeys(["版本"], "version"),
    **dict.fromkeys(["help", "帮助", "?"], "--help"),
}


@click.group(
    cls=Group,
    hints=COMMAND_HINTS,
    help="政府信息公开工作年度报告统计表工具：生成锁定模板、复核校验、汇总，导入和渲染年度报告的统计表。\n\n"
    "示例：xltool template --year 2025 --unit 某某镇人民政府 -o 某某镇.xlsx",
    no_args_is_help=True,
    invoke_without_command=True,  # so that options without a command reach `app` below: 缺少命令
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version", "-V", is_flag=True, is_eager=True, expose_value=False, callback=_version, help="显示版本并退出。"
)
@click.pass_context
def app(ctx: click.Context) -> None:
    """政府信息公开工作年度报告统计表工具。"""
    if ctx.invoked_subcommand is None:
        raise MissingCommand(ctx)


def _err(message: str) -> None:
    """A message on stderr; whatever it quotes from files or arguments reaches the terminal only as visible text."""
    click.echo(sanitise_for_terminal(message, keep_newlines=True), err=True)


def _s(value: object) -> str:
    """A file or unit name quoted in a message: shown literally, on one line (newlines and controls escaped)."""
    return sanitise_for_terminal(value)


class _Data:
    """A command's data on stdout (CSV, JSON, HTML, Markdown), written in pieces: UTF-8 bytes when stdout is a file
    or a pipe, whatever the console's code page (a CSV keeps its BOM, so Excel and WPS open it); on a terminal, text
    in the console's encoding (a character it lacks shown as an escape, a BOM left out)."""

    def __init__(self) -> None:
        from xltool.system import data_output

        self.binary = data_output()
        self.started = False
        if self.binary is not None:
            sys.stdout.flush()  # anything already written as text goes first

    def write(self, text: str) -> None:
        if not self.started and text.startswith("\ufeff") and self.binary is None:
            text = text[1:]  # a BOM means nothing on a screen
        self.started = self.started or bool(text)
        if self.binary is None:
            click.echo(text, nl=False)
        else:
            self.binary.write(text.encode("utf-8", errors="backslashreplace"))

    def close(self) -> None:
        if self.binary is not None:
            self.binary.flush()


def _data(text: str) -> None:
    """`text` as a command's data on stdout (see _Data)."""
    out = _Data()
    out.write(text)
    out.close()


def _text_args(values: dict[str, object]) -> None:
    """Refuse command-line text that is not valid UTF-8 (it reaches Python as lone surrogates, which no workbook,
    terminal or file system write can take): a clear message and exit 2 before any work."""
    from xltool.filenames import undecodable

    for option, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None and undecodable(str(item)):
                _err(
                    f"错误：{option} {_s(item)} 不是有效的 UTF-8 文本"
                    "（可能是用 GBK 等其他编码输入或命名的）；请改用 UTF-8 输入，或把文件改名后重试"
                )
                raise Exit(2)


def _output(path: Path, purpose: str | None = None, inputs: list[Path] | None = None) -> Path:
    """An output file checked before any work (xltool.discover.check_output); a refusal ends the command (exit 2)."""
    from xltool.discover import OutputError, check_output

    try:
        checked = check_output(path, purpose, inputs or [])
    except OutputError as exc:
        _err(f"错误：{exc}")
        raise Exit(2) from None
    except OSError as exc:  # the system's own words only through oserrors.describe (in Chinese)
        _err(f"错误：无法写出 {_s(path)}：{describe(exc)}")
        raise Exit(2) from None
    _not_open_elsewhere(checked)
    return checked


def _not_open_elsewhere(path: Path) -> None:
    """Refuse, before any work, to write over a document that Excel, WPS or LibreOffice has open (its lock file lies
    beside it): the program would keep its own copy, or Windows would refuse the write at the end."""
    from xltool.system import office_lock

    lock = office_lock(path) if path.exists() else None
    if lock is not None:
        _err(
            f"错误：{_s(path)} 正被 Excel 或 WPS 等程序打开（旁边有锁定文件 {_s(Path(lock).name)}），"
            "请先关闭该文件再重试；如已关闭，请删除这个锁定文件"
        )
        raise Exit(2)


def _why_not_written(what: object, exc: OSError) -> str:
    """Why `what` could not be written, in Chinese; a document another program holds open is named, with what to do.
    A writer that replaces a file through a temporary one fails on the temporary name, so the target is the second
    name the error carries, when it has one."""
    from xltool.system import held_open, office_lock

    target = getattr(exc, "filename2", None) or getattr(exc, "filename", None) or what
    if held_open(exc) or (isinstance(exc, PermissionError) and office_lock(str(target))):
        return f"{_s(target)} 正被 Excel 或 WPS 等程序打开，无法写入；请先关闭该文件再重试"
    return f"无法写出 {_s(what)}：{describe(exc)}"


def _output_dir(path: Path, inputs: list[Path] | None = None) -> Path:
    """An output folder checked before any work (xltool.discover.check_output_dir); a refusal ends with exit 2."""
    from xltool.discover import OutputError, check_output_dir

    try:
        return check_output_dir(path, inputs or [])
    except OutputError as exc:
        _err(f"错误：{exc}")
        raise Exit(2) from None
    except OSError as exc:
        _err(f"错误：无法写入文件夹 {_s(path)}：{describe(exc)}")
        raise Exit(2) from None


def _input_file(path: Path, what: str, limit: int = 10 * 1024 * 1024) -> Path:
    """A small input file named on the command line (roster, form file): a regular file of sane size, checked before
    it is opened (a pipe would block, /dev/zero never end); otherwise a clear message and exit 2."""
    from xltool.sources import ReadError, check_size

    try:
        check_size(path, limit, f"{what}不应这么大")
    except ReadError as exc:
        _err(f"错误：{what} {path}：{exc.message}")
        raise Exit(2) from None
    return path


def _existing(path: Path, what: str) -> Path:
    """An input file or folder that must exist before any work; otherwise a clear message and exit 2."""
    import errno

    if not path.exists():
        _err(f"错误：{what} {_s(path)}：{describe(FileNotFoundError(errno.ENOENT, ''))}")
        raise Exit(2)
    return path


@contextmanager
def _writing(what: object) -> Iterator[None]:
    """Writing `what`: a file system error (disk full, permission, name too long, a document open in Excel) is a
    message and exit 2."""
    try:
        yield
    except OSError as exc:
        _err(f"错误：{_why_not_written(what, exc)}")
        raise Exit(2) from None


@contextmanager
def _reading() -> Iterator[None]:
    """Reading through the worker pool (xltool.batch): a pool that cannot start at all is a message and exit 2."""
    from xltool.batch import pool_failed

    try:
        yield
    except Exception as exc:
        if not pool_failed(exc):
            raise
        _err(f"错误：{exc}")
        raise Exit(2) from None


workers_option = click.option(
    "--workers", type=WholeNumber(), help="读取进程数（默认 CPU 核数；0 = 在本进程内读取，不隔离、无时限）"
)
time_limit_option = click.option(
    "--time-limit", type=Number(), default=60.0, help="每个文件的读取时限（秒），超时的文件记为 TIME-LIMIT"
)
form_option = click.option(
    "--form",
    "form_files",
    type=PATH,
    multiple=True,
    callback=_listed,
    help="自定义或地方补充表单文件（YAML，可多次指定）；格式见 docs/forms.md",
)


def paths_argument(name: str, help: str):
    """The files or folders a command takes (at least one; each must exist, listed as given)."""
    return click.argument(
        name, cls=Argument, nargs=-1, required=True, type=PATH, callback=_listed, metavar="路径...", help=help
    )


def _use_forms(files: list[Path] | None) -> list:
    """Register `--form` files; a broken one ends the command with its problems (exit 2), never a traceback."""
    from xltool.forms import FormError, register_form_file

    for f in files or []:
        _input_file(f, "表单文件")
    try:
        return [register_form_file(f) for f in files or []]
    except FormError as exc:
        _err(f"错误：表单文件有误：\n{exc}")
        raise Exit(2) from None


def _year(ctx: click.Context, param: click.Parameter, year: int | None) -> int | None:
    """A report year a form exists for and that can already be reported on: from the first official format's year to
    next year (templates go out before the year ends); otherwise a usage error naming the formats and their years."""
    if year is None or ctx.resilient_parsing:
        return year
    from datetime import date

    from xltool.forms import OFFICIAL_FAMILY, all_forms

    official = [f for f in all_forms() if f.form == OFFICIAL_FAMILY]
    first, last = min(f.first_year for f in official), date.today().year + 1
    if first <= year <= last:
        return year
    which = "，".join(f"{f.years_text}用{f.notice}格式" for f in official)
    raise WrongValue(year, "不是可以填报的年度", f"从 {first} 到 {last} 的一个报告年度（{which}）", ctx, param)


@app.command()
@click.option(
    "--year",
    "-y",
    type=WholeNumber(),
    callback=_year,
    required=True,
    help="报告年度，如 2025（2019—2020 用 2019 版格式，2021 年起用 2021 版）",
)
@click.option("--unit", "-u", type=TEXT, default="", help="填报单位全称，如 某某镇人民政府")
@click.option("--code", type=TEXT, default="", help="统一社会信用代码或行政区划代码")
@click.option(
    "--output",
    "-o",
    type=PATH,
    help="输出文件（.xlsx 或 .ods；缺省按单位和年度命名）；与 --roster 同用时为文件夹",
)
@click.option("--format", "-f", "fmt", type=OneOf(TemplateFormat), help="xlsx（默认）或 ods（需要 LibreOffice）")
@click.option("--password", type=TEXT, help="工作表保护密码（默认不设密码）")
@click.option("--roster", type=PATH, help="单位名册 CSV（单位名称,统一社会信用代码,类型）：每个单位生成一份")
@click.option("--out", "out_dir", type=PATH, help="输出文件夹（--roster 的各单位模板，或按单位和年度命名的一份模板）")
@click.option("--previous", type=PATH, help="与 --roster 同用：上年汇总表或上年报表文件夹，用于预填上年结转")
@form_option
def template(
    year: int,
    unit: str,
    code: str,
    output: Path | None,
    fmt: StrEnum | None,
    password: str | None,
    roster: Path | None,
    out_dir: Path | None,
    previous: Path | None,
    form_files: list[Path] | None,
) -> None:
    """生成锁定的填报模板（官方表格 + 填报说明 + 校验）；加 --roster 则为每个单位各生成一份。

    示例：

    xltool template --year 2025 --unit 某某镇人民政府 -o 某某镇2025年统计表.xlsx

    xltool template --year 2025 --roster 单位名册.csv --out 分发/ --previous 2024年汇总.xlsx
    """
    from xltool.filenames import template_stem
    from xltool.forms import FormError, form_for_year
    from xltool.model import Return, Unit
    from xltool.office import OfficeError

    _text_args(
        {
            "--unit": unit,
            "--code": code,
            "--output": output,
            "--password": password,
            "--roster": roster,
            "--out": out_dir,
            "--previous": previous,
            "--form": form_files,
        }
    )
    output, out_dir = _template_destination(output, out_dir, roster, unit, code, previous)
    custom = _use_forms(form_files)
    try:
        form = custom[-1] if custom else form_for_year(year)
        if not form.covers(year):
            raise FormError(f"表单 {form.id}（{form.path.name}）适用于{form.years_text}，不适用于 {year} 年度")
    except FormError as exc:
        _err(f"错误：{exc}")
        raise Exit(2) from None
    suffix = fmt.value if fmt else (output.suffix.lower().lstrip(".") if output and output.suffix else "xlsx")
    try:
        writer = formats.writer("workbook", suffix)
    except formats.FormatError as exc:
        _err(f"错误：{output}：{exc}")
        raise Exit(2) from None
    try:
        if roster is not None:
            _personalised(roster, year, out_dir or Path("."), previous, suffix, password, form)
            return
        if output is None:
            if out_dir is not None:  # made as the roster's folder is
                with _writing(out_dir):
                    _output_dir(out_dir).mkdir(parents=True, exist_ok=True)
            output = (out_dir or Path(".")) / f"{template_stem(unit, year)}.{suffix}"
        target = _output(output.with_suffix(writer.suffix))
        blank = Return(form, year, Unit(name=unit, code=code))
        with _writing(target):
            written = writer.write(blank, target, password=password)
    except OfficeError as exc:
        _err(f"错误：{exc}")
        raise Exit(2) from None
    _err(f"已生成 {written}（{form.name}，{form.notice}，{year} 年度）")


def _template_destination(
    output: Path | None, out_dir: Path | None, roster: Path | None, unit: str, code: str, previous: Path | None
) -> tuple[Path | None, Path | None]:
    """Where `template` writes, as a clerk means it: one file (`-o 文件`, or the usual name in `--out 文件夹`), or with
    `--roster` one file per unit in a folder (`--out 文件夹`, or `-o` naming a folder). What cannot mean one thing is
    refused before any work (exit 2): a file name for many units, two destinations, a unit or code beside the roster
    (each unit has its own), and `--previous` without a roster (only a roster's workbooks are pre-filled)."""
    problem = None
    if roster is not None:
        if unit or code:
            problem = f"{'--unit' if unit else '--code'} 不能与 --roster 同用：名册中每个单位用名册上的名称和代码"
        elif output is not None and out_dir is not None:
            problem = "-o 与 --out 只能写一个：--roster 的模板写入 --out 指定的文件夹"
        elif output is not None and output.suffix and not output.is_dir():
            problem = (
                f"--roster 为名册中每个单位各生成一份模板，不能都写入一个文件 {_s(output)}；"
                "请用 --out 指定输出文件夹，如 --out 分发/"
            )
        elif output is not None:  # `-o 分发/`: the folder the clerk means
            output, out_dir = None, output
    elif previous is not None:
        problem = "--previous 只与 --roster 同用：为名册中的单位按上年数据预填；单份模板请去掉 --previous"
    elif output is not None and out_dir is not None:
        problem = "-o 与 --out 只能写一个：-o 是输出文件，--out 是输出文件夹（文件名按单位和年度自动生成）"
    if problem:
        _err(f"错误：{problem}")
        raise Exit(2)
    return output, out_dir


def _roster(path: Path) -> list:
    """A roster's units; what the clerk should know about it (columns left out, a name or code given twice) shown as
    警告; a roster that cannot be read ends the command (exit 2)."""
    from xltool.roster import RosterError, inspect_roster

    _input_file(path, "名册")
    try:
        read = inspect_roster(path)
    except RosterError as exc:
        _err(f"错误：名册无法读取：{exc}")
        raise Exit(2) from None
    except OSError as exc:
        _err(f"错误：名册 {_s(path)} 无法读取：{describe(exc)}")
        raise Exit(2) from None
    for note in read.notes:
        _err(f"警告：{_s(note)}")
    return read.entries


def _personalised(
    roster: Path, year: int, out_dir: Path, previous: Path | None, suffix: str, password: str | None, form
) -> None:
    from xltool.distribute import WRITTEN, personalise
    from xltool.guarded import load_previous

    _output_dir(out_dir, [previous] if previous else [])
    entries = _roster(roster)
    with _reading():
        last = load_previous(previous, light=True) if previous else None
    if previous and not last:
        _err(f"警告：{previous} 中没有读到上年数据，未预填")
    with _writing(out_dir):
        index = personalise(entries, year, out_dir, last, suffix, password, form=form)
    failed = [row for row in index if row["结果"] != WRITTEN]
    prefilled = sum(1 for row in index if row["上年数据"] and row not in failed)
    for row in failed:
        _err(f"错误：{_s(row['单位'] or row['代码'])} 的模板{row['结果']}")
    _err(
        f"已为 {len(index) - len(failed)} 个单位生成模板，写入 {out_dir}（索引：{out_dir / '索引.csv'}；"
        f"按上年数据预填 {prefilled} 个" + (f"；{len(failed)} 个未能生成" if failed else "") + "）"
    )
    if failed:
        raise Exit(1)


verbose_option = click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="逐格列出每个空白单元格（默认按表格行合并为一行；JSON 总是逐格列出）",
)


@app.command()
@paths_argument("paths", "要检查的文件或文件夹（文件夹内递归查找 .xlsx/.xlsm/.ods/.xls）")
@click.option("--format", "-f", "fmt", type=OneOf(OutputFormat), default=OutputFormat.table, help="输出格式")
@click.option("--previous", type=PATH, help="上年度的报表，用于跨年度核对（上年结转、现行有效件数）")
@click.option("--annotate", type=PATH, help="把标注了问题的副本写入此文件夹（原文件不改动）")
@verbose_option
@form_option
@workers_option
@time_limit_option
def check(
    paths: list[Path],
    fmt: StrEnum,
    previous: Path | None,
    annotate: Path | None,
    verbose: bool,
    form_files: list[Path] | None,
    workers: int | None,
    time_limit: float,
) -> None:
    """复核填好的报表：在 Python 中重新计算每条校验规则，列出每个问题的位置和原因。

    示例：

    xltool check 某某镇2025年统计表.xlsx

    xltool check 乡镇报表/ --annotate 退回修改/ --format csv > 检查结果.csv

    退出码：0 无错误；1 有错误或未填报；2 有文件无法读取。
    """
    from xltool import checking
    from xltool.discover import scan_names

    _text_args({"文件参数": paths, "--previous": previous, "--annotate": annotate, "--form": form_files})
    _use_forms(form_files)
    if annotate is not None:
        _output_dir(annotate)
    files, ignored = scan_names(paths)  # plain strings: 100,000 files cost a few MB
    for path, reason in ignored:  # listed, never dropped silently
        _err(f"已忽略：{_s(path)}：{reason}")
    if not files:
        _err("错误：没有找到要检查的文件")
        raise Exit(2)
    last_year = None
    if previous is not None:
        from xltool.guarded import load_previous

        with _reading():
            last_year = load_previous(previous, light=True)
        if not last_year:
            _err(f"错误：上年度报表无法读取或没有数据：{previous}")
            raise Exit(2)
    # Every file is read in a worker process with the time and memory limits, so a file that crashes or hangs costs
    # only itself; one provably cheap file is read here (xltool.batch.light_file), unless --workers says otherwise.
    with _reading():
        reports = checking.check_files(files, last_year, workers=workers, time_limit=time_limit, light=workers is None)
    _render(reports, fmt, verbose)
    code = checking.exit_code(reports)
    if annotate is not None:
        with _writing(annotate), _reading():
            for report, written, reason in checking.annotate(reports, annotate, workers, time_limit):
                if written is not None:
                    _err(f"已写出标注副本 {_s(written)}")
                else:
                    _err(f"未生成标注副本：{_s(report.path)}：{reason}")
                    code = 2 if reason.startswith(checking.NOT_WRITTEN) else code
    raise Exit(code)


@app.command()
@paths_argument("paths", "各单位报表文件或文件夹（递归查找）")
@click.option("--output", "-o", type=PATH, required=True, help="汇总表输出文件（.xlsx；.ods 需要 LibreOffice）")
@click.option("--unit", "-u", type=TEXT, default="", help="汇总单位名称，如 某某县人民政府办公室")
@click.option("--code", type=TEXT, default="", help="汇总单位代码")
@click.option("--roster", type=PATH, help="应报单位名册 CSV（单位名称,统一社会信用代码,类型）")
@click.option("--strict", is_flag=True, help="任一单位有错误即不生成汇总表（退出码 1）")
@click.option("--include-invalid", is_flag=True, help="有错误的单位也汇总，并在明细中标记")
@click.option("--prefer-newest", is_flag=True, help="同一单位报送多份时采用最新的一份")
@click.option(
    "--include-reports",
    is_flag=True,
    help="把已发布的年度报告（.docx/.html/.md/.txt）也作为报表汇总（默认列为未汇总，以免与该单位的报表重复计算）",
)
@click.option("--export", type=PATH, help="另导出长表：.csv / .json / .parquet")
@workers_option
@time_limit_option
@form_option
def merge(
    paths: list[Path],
    output: Path,
    unit: str,
    code: str,
    roster: Path | None,
    strict: bool,
    include_invalid: bool,
    prefer_newest: bool,
    include_reports: bool,
    export: Path | None,
    workers: int | None,
    time_limit: float,
    form_files: list[Path] | None,
) -> None:
    """汇总各单位报表：逐份复核后精确求和，按官方表样输出，并列出明细、来源和未汇总原因。

    示例：

    xltool merge 乡镇报表/ -o 某某县2025年汇总.xlsx --unit 某某县人民政府办公室 --roster 单位名册.csv

    退出码：0 全部汇总；1 有文件未汇总、名册缺报或 --strict 失败；2 没有可用的输入。
    """
    from xltool.codes import Code
    from xltool.model import Unit
    from xltool.rollup import MergeError
    from xltool.rollup import merge as do_merge
    from xltool.roster import RosterError, read_roster

    _text_args(
        {
            "文件参数": paths,
            "--output": output,
            "--unit": unit,
            "--code": code,
            "--roster": roster,
            "--export": export,
            "--form": form_files,
        }
    )
    _use_forms(form_files)
    # Refuse, before any work, an output nobody can write or that would clobber (or later be read as) an input.
    _output(output, "workbook", paths)
    if export:
        _output(export, "export", paths)
    if roster:
        _roster(roster)  # read once before any work: refused, or its notes shown
    if export and (missing := formats.missing_needs(formats.writer_for("export", export))):
        _err(f"错误：导出 {export.suffix} 需要安装 {'、'.join(missing)}（pip install {' '.join(missing)}）")
        raise Exit(2)

    def progress(results, total):
        if total < 20 or not sys.stderr.isatty():  # a bar only for a person watching (rich is loaded for it)
            yield from results
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = (TextColumn("复核"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("", total=total)
            for item in results:
                bar.advance(task)
                yield item

    try:
        entries = read_roster(roster) if roster else None
        roll = do_merge(
            paths,
            Unit(name=unit, code=code),
            entries,
            strict=strict,
            include_invalid=include_invalid,
            prefer_newest=prefer_newest,
            include_reports=include_reports,
            workers=workers,
            time_limit=time_limit,
            progress=progress,
        )
    except (MergeError, RosterError) as exc:
        _err(f"错误：{exc}")
        raise Exit(1 if strict and isinstance(exc, MergeError) else 2) from None
    with _writing(output):
        roll.write(output)
    if export:
        try:
            with _writing(export):
                roll.export(export)
        except MergeError as exc:
            _err(f"错误：{exc}")
            raise Exit(2) from None
    for r in roll.rejected:
        word = {Code.IGNORED: "已忽略", Code.PUBLISHED_REPORT: "未汇总（已发布的报告）"}.get(r.code, "未汇总")
        word = "已被较新的一份取代" if r.superseded else word
        _err(f"{word}：{_s(r.info.name)}：{_s(r.reason)}")
    for n in roll.notices:  # merged, but worth a look (e.g. two units with identical figures)
        _err(f"提醒：{_s(n.info.name)}：{_s(n.reason)}")
    for e in roll.missing:
        _err(f"缺报：{_s(e.name)}（{_s(e.code)}）")
    for m in roll.unexpected:
        _err(f"名册外单位：{_s(m.info.unit_name)}（{_s(m.info.name)}）")
    shown: dict[str, int] = {}
    for f in roll.flagged:  # merged units worth a look, grouped as 汇总说明 lists them (the first 20 of each group)
        shown[f.group] = shown.get(f.group, 0) + 1
        if shown[f.group] == 1:
            _err(f"已汇总但需关注——{f.group}：")
        if shown[f.group] <= FLAGGED_SHOWN:
            _err(f"  {_s(f.unit)}（{_s(f.file)}）：{_s(f.reason)}")
    for group, n in shown.items():
        if n > FLAGGED_SHOWN:
            _err(f"已汇总但需关注——{group}：另有 {n - FLAGGED_SHOWN} 个单位未在此列出，见汇总表的“汇总说明”")
    if roll.gaps:  # the same line as the roll-up's 校验 banner and status lines
        _err(_s(roll.gaps))
    # The roll-up's own summary line (its 汇总说明 sheet and `xltool render` say the same) when anything is missing.
    summary = roll.line if roll.roster or roll.not_merged else f"汇总 {len(roll.members)} 个单位"
    extra = f"；另有 {len(roll.reports)} 份已发布的年度报告未汇总" if roll.reports else ""
    extra += f"；另有 {len(roll.ignored)} 个文件不是报表，已忽略" if roll.ignored else ""
    if roll.flagged:
        extra += f"；{len({(f.unit, f.file) for f in roll.flagged})} 个已汇总单位需关注（见上）"
    _err(f"已写出 {_s(output)}：{summary}{extra}")
    raise Exit(1 if roll.not_merged or roll.missing else 0)


FLAGGED_SHOWN = 20  # merged units worth a look listed per group on the terminal (汇总说明 lists up to 200)


@app.command("import")
@paths_argument("reports", "已发布的年度报告：.txt / .md / .html / .docx / .pdf（文件或文件夹）")
@click.option("--out", "-o", type=PATH, help="把每份报告写成填好的统计表（.xlsx）放到此文件夹")
@click.option("--format", "-f", "fmt", type=OneOf(OutputFormat), default=OutputFormat.table, help="校验结果的输出格式")
@verbose_option
@form_option
@click.option(
    "--previous",
    type=PATH,
    help="上年度的报告、报表或汇总表（或其文件夹），用于跨年度核对；不指定时，同一单位相邻年度的报告互相核对",
)
def import_(
    reports: list[Path],
    out: Path | None,
    fmt: StrEnum,
    verbose: bool,
    form_files: list[Path] | None,
    previous: Path | None,
) -> None:
    """导入已发布的年度报告（文本、Markdown、网页、Word、带文字层的 PDF），找出其中的统计表，核对算术关系。

    示例：

    xltool import 已发布的年报/ -o 导入的统计表/

    退出码同 check：0 无错误；1 有错误；2 有文件无法读取。
    """
    from xltool import checking, importing

    _text_args({"文件参数": reports, "--out": out, "--form": form_files})
    _use_forms(form_files)
    if previous is not None:
        _existing(previous, "上年度文件")
    if out is not None:
        _output_dir(out)
    with _reading():
        results = importing.import_reports(reports, previous, light=True)
    if not results:
        _err("错误：没有找到要导入的报告")
        raise Exit(2)
    if fmt.value == "json":  # every cell read from each report, besides the check results
        _data(importing.json_with_cells(results) + "\n")
    else:
        _render(results, fmt, verbose)
    code = checking.exit_code(results)
    if out is not None:
        used: set[str] = set()
        for r in results:
            if r.ret is not None:
                try:
                    _err(f"已写出 {_s(importing.save_workbook(r.ret, out, r.path, used))}")
                except OSError as exc:  # one report that cannot be saved does not stop the others
                    _err(f"错误：{_s(r.path)} 未能写成统计表：{_why_not_written(out, exc)}")
                    code = 2
                except ValueError as exc:
                    _err(f"错误：{_s(r.path)} 未能写成统计表：{describe(exc)}")
                    code = 2
    raise Exit(code)


def _render(reports, fmt, verbose: bool = False) -> None:
    """The results on stdout: the table as text for the console; CSV and JSON as data (JSON one file at a time, so
    a check of 100,000 files never holds the document)."""
    from xltool.checking import write_report

    if fmt.value == "table":
        write_report(reports, fmt.value, verbose=verbose)
        return
    out = _Data()
    text = write_report(reports, fmt.value, out=out if fmt.value == "json" else None, verbose=verbose)
    if text is not None:
        out.write(text if text.endswith("\n") else text + "\n")
    out.close()


@app.command()
@click.argument("path", cls=Argument, type=PATH, metavar="文件", help="填好的报表或 xltool merge 生成的汇总表")
@click.option("--format", "-f", "fmt", type=OneOf(RenderFormat), default=RenderFormat.html, help="输出格式")
@click.option("--output", "-o", type=PATH, help="输出文件（docx 必填；html/md 缺省输出到标准输出）")
@click.option("--fragment", is_flag=True, help="html 只输出统计表（粘贴到网站编辑器）")
@form_option
def render(path: Path, fmt: StrEnum, output: Path | None, fragment: bool, form_files: list[Path] | None) -> None:
    """把报表渲染为年度报告的统计表部分，表样与官方表格一致。

    示例：

    xltool render 某某县2025年汇总.xlsx -f docx -o 统计表.docx

    xltool render 某某镇2025年统计表.xlsx -f html --fragment > 统计表.html
    """
    from xltool.guarded import read
    from xltool.sources import ReadError

    _text_args({"文件参数": path, "--output": output, "--form": form_files})
    _use_forms(form_files)
    writer = formats.writer("render", fmt.value)
    if output is None and writer.name == "docx":
        _err("错误：docx 输出需要 --output 文件名")
        raise Exit(2)
    if output is not None:
        _output(output, None, [path])
    try:
        with _reading():
            ret = read(path, light=True)
    except ReadError as exc:
        _err(f"错误：{_s(path)}：{exc.message}")
        raise Exit(2) from None
    with _writing(output):
        result = writer.write(ret, output, fragment=fragment)
    if output is None:
        _data(result)
    else:
        _err(f"已生成 {_s(output)}")


@app.command()
@click.argument(
    "path", cls=Argument, type=PATH, metavar="文件", help="填好的报表、xltool merge 生成的汇总表，或已导入的报告"
)
@click.option(
    "--output",
    "-o",
    type=PATH,
    help="输出文件（缺省为当前文件夹下的“<单位><年度>年政府信息公开工作年度报告.<格式>”）",
)
@click.option("--format", "-f", "fmt", type=OneOf(AnnualFormat), help="输出格式（缺省按 -o 的扩展名，否则 docx）")
@click.option(
    "--previous",
    type=PATH,
    help="上年度的报表、报告或汇总表（或其文件夹，按单位查找）：正文写明“比上年增加/减少 N 件”",
)
@click.option(
    "--text",
    type=PATH,
    help="各章节的正文（YAML“章节名: 正文”，或 Markdown，用“# 章节名”分节），替换相应的待填写提示",
)
@click.option("--fragment", is_flag=True, help="html 只输出正文部分（粘贴到网站编辑器）")
@form_option
def report(
    path: Path,
    output: Path | None,
    fmt: StrEnum | None,
    previous: Path | None,
    text: Path | None,
    fragment: bool,
    form_files: list[Path] | None,
) -> None:
    """生成完整的政府信息公开工作年度报告：标题、前言、一至六部分；统计表与 render 一致，正文数字由报表生成。

    只有填报单位才能写的内容（工作做法、存在的问题等）在报告中显示为醒目的“【待填写：…】”提示，
    可写在正文文件中（--text），改正报表后重新生成即可；正文中引用的数字与统计表不一致时给出警告。

    示例：

    xltool report 某某镇2025年统计表.xlsx -o 某某镇2025年年度报告.docx --text 正文.yaml

    xltool report 某某县2025年汇总.xlsx -f html --previous 某某县2024年汇总.xlsx

    退出码：0 已生成（可能有警告，如尚有待填写的部分）；1 已生成，但报表有错误或汇总不完整（缺报、未汇总）；2 输入无法使用，未生成。
    """
    from xltool import publish
    from xltool.sources import ReadError

    _text_args({"文件参数": path, "--output": output, "--previous": previous, "--text": text, "--form": form_files})
    _use_forms(form_files)
    if text is not None:
        _input_file(text, "正文文件", publish.annual.MAX_NARRATIVE_BYTES)
    if previous is not None and not previous.is_dir():
        _input_file(previous, "上年度文件", 50 * 1024 * 1024)
    to_stdout = output is not None and str(output) == "-"
    if output is not None and not to_stdout:
        _output(output, None if fmt is not None else publish.PURPOSE, [p for p in (path, previous, text) if p])
    try:
        with _reading():
            done = publish.write_annual_report(
                path, "-" if to_stdout else output, fmt.value if fmt else None, previous, text, fragment, light=True
            )
    except ReadError as exc:
        _err(f"错误：{_s(path)}：{exc.message}")
        raise Exit(2) from None
    except (publish.PublishError, formats.FormatError) as exc:
        _err(f"错误：{exc}")
        raise Exit(2) from None
    except OSError as exc:
        _err(f"错误：{_why_not_written(output or '报告', exc)}")
        raise Exit(2) from None
    if to_stdout:
        _data(done.path)
    for w in done.warnings:
        _err(f"{w.severity.text('zh')}：{w.message}")
    if not to_stdout:
        _err(f"已生成 {_s(done.path)}")
    raise Exit(done.exit_code)


@app.command()
@form_option
def forms(form_files: list[Path] | None) -> None:
    """列出可用的报告格式：内置的、已安装插件提供的（入口点 xltool.forms）和 --form 指定的，及其来源。

    示例：

    xltool forms --form 某省补充表.yaml
    """
    from xltool.forms import all_forms, plugin_errors

    _text_args({"--form": form_files})
    _use_forms(form_files)
    for f in all_forms():
        years = f"{f.first_year}—{f.last_year or ''}"
        click.echo(
            f"{f.id}\t{years}\t{f.notice}\t{len(f.inputs)} 个填报格，{len(f.rules)} 条校验规则\t{f.origin}：{f.path}"
        )
    for problem in plugin_errors():
        _err(f"插件表单无法加载：{problem}")


@app.command()
def version() -> None:
    """显示版本（同 xltool --version）。

    示例：

    xltool version
    """
    click.echo(__version__)


if __name__ == "__main__":
    app()
