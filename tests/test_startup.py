"""Start-up stays light: importing the command line, asking for help or running one command loads only what that
command uses (timings: benchmarks/startup_bench.py; no timing is asserted here, the machine may be busy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import xltool
from xltool import forms

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sample-return-2025.xlsx"
SEED = ROOT / "tests" / "fixtures" / "seeds" / "000_f7ae2b9bd63a851c.txt"  # a 2019-format report read via aliases

# Readers, writers and workflows a command loads when it needs them, never at `import xltool.cli`.
HEAVY = [
    "pandas",
    "numpy",
    "openpyxl",
    "xlsxwriter",
    "docx",
    "lxml",
    "pdfplumber",
    "python_calamine",
    "pydantic",
    "yaml",
    "rich",
    "markdown_it",
    "pygments",
    "xltool.annual",
    "xltool.assemble",
    "xltool.checking",
    "xltool.merge",
    "xltool.publish",
    "xltool.workers",
    "xltool.formschema",
]
# typer's rich help and error formatting (rich, markdown, pygments): never, help and usage errors are plain text
RICH_HELP = ["typer.rich_utils", "rich", "markdown_it", "pygments"]


def _loaded(code: str, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code` (SystemExit included)."""
    probe = (
        "import sys, json, atexit\n"
        "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n'))\n"
        + code
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
    )
    marker = done.stderr.rfind("MODULES ")
    assert marker >= 0, done.stderr[-3000:]
    return set(json.loads(done.stderr[marker + len("MODULES ") :].splitlines()[0]))


CLI = "import sys; from xltool.cli import app; sys.argv[0] = 'xltool'; app()"


def test_importing_the_command_line_loads_no_reader_writer_or_workflow():
    loaded = _loaded("import xltool.cli")
    assert not [m for m in HEAVY if m in loaded]


def test_importing_the_package_loads_only_the_version():
    loaded = _loaded("import xltool")
    assert not [m for m in loaded if m.startswith("xltool.") and m != "xltool._version"]


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["merge", "--help"], [], ["version"], ["--version"]])
def test_help_and_version_need_no_rich_no_pydantic_and_no_reader(args):
    loaded = _loaded(CLI, *args)
    assert not [m for m in ["pydantic", "yaml", "xltool.assemble", "xltool.checking"] if m in loaded]
    assert not [m for m in RICH_HELP if m in loaded]  # the help is plain text (xltool.cli_zh)


@pytest.mark.parametrize(
    "args", [["check"], ["check", "x.xlsx", "--format", "pdf"], ["check", "--bogus"], ["chek"], ["template"]]
)
def test_usage_errors_need_no_rich_and_no_reader(args):
    loaded = _loaded(CLI, *args)
    assert not [m for m in [*RICH_HELP, "yaml", "xltool.assemble", "xltool.checking"] if m in loaded]


@pytest.mark.parametrize(
    "args", [["check", str(EXAMPLE)], ["render", str(EXAMPLE), "-f", "md"], ["check", str(EXAMPLE), "-f", "json"]]
)
def test_one_file_commands_skip_help_formatting_and_other_formats(args, tmp_path):
    loaded = _loaded(CLI, *args, env={"XLTOOL_CACHE_DIR": str(tmp_path)})
    assert not [m for m in ["typer.rich_utils", "rich.markdown", "markdown_it", "pygments"] if m in loaded]
    assert not [m for m in ["pandas", "openpyxl", "xlsxwriter", "docx", "lxml", "pdfplumber"] if m in loaded]
    again = _loaded(CLI, *args, env={"XLTOOL_CACHE_DIR": str(tmp_path)})  # forms now come from the cache
    assert "yaml" not in again and "xltool.formschema" not in again


def test_public_names_are_there_on_first_use():
    """`xltool.read` & co. are imported on first use; `xltool.merge` stays the function (not the module)."""
    assert set(xltool.__all__) == set(dir(xltool)) == {"__version__", *xltool._PUBLIC}
    for name in xltool.__all__:
        assert getattr(xltool, name) is not None, name
    from xltool.merge import merge

    assert xltool.merge is merge and callable(xltool.merge)


def test_cached_forms_equal_the_built_ones(tmp_path, monkeypatch):
    """A form from the cache is the form the YAML file gives; a changed file is a new key, a corrupt entry ignored."""
    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(tmp_path))
    paths = sorted(forms.templates_dir().glob("*.yaml"))
    built = [forms.load_form(p) for p in paths]
    entries = sorted((tmp_path / "forms").glob("*.pickle"))
    assert len(entries) == len(paths)
    cached = [forms.load_form(p) for p in paths]
    for a, b in zip(built, cached, strict=True):
        assert a is not b and a == b and a.path == b.path and a.origin == b.origin
    for entry in entries:
        entry.write_bytes(b"not a pickle")
    assert [forms.load_form(p) for p in paths] == built
    copy = tmp_path / "copy.yaml"  # not a built-in form: built each time, never cached
    copy.write_text(paths[0].read_text(encoding="utf-8").replace(built[0].name, built[0].name + "（副本）"), "utf-8")
    assert forms.load_form(copy).name == built[0].name + "（副本）"
    assert sorted((tmp_path / "forms").glob("*.pickle")) == entries


def test_a_cached_form_reads_returns_as_a_built_one(tmp_path):
    """Loading a form registers its label aliases: a form from the cache does too, so reports read the same."""
    probe = (
        "import json; from xltool import forms, labels; from xltool.checking import check_file; "
        f"r = check_file(__import__('pathlib').Path({str(SEED)!r})); forms.all_forms(); "
        "print(json.dumps([sorted(labels._ALIASES.items()), [p.code for p in r.problems]]))"
    )
    env = {**os.environ, "XLTOOL_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True) for _ in range(2)]
    assert runs[0].returncode == 0, runs[0].stderr[-2000:]
    assert runs[0].stdout == runs[1].stdout and len(list((tmp_path / "forms").glob("*.pickle"))) >= 2


def test_cache_can_be_turned_off(tmp_path, monkeypatch):
    from xltool.system import cache_dir

    monkeypatch.setenv("XLTOOL_CACHE_DIR", "off")
    assert cache_dir() is None
    forms.load_form(sorted(forms.templates_dir().glob("*.yaml"))[0])
    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(tmp_path))
    assert cache_dir() == str(tmp_path)


def _outcome(coerce):
    try:
        result = coerce()
    except Exception as exc:  # typer's message for a bad value (BadParameter, or pydantic's error wrapped in it)
        return ("error", type(exc).__name__, getattr(exc, "message", str(exc)))
    return ("ok", type(result).__name__, result)


def test_plain_values_are_coerced_exactly_as_typer_would(tmp_path):
    """Without pydantic, a plain value of every parameter of every command gets what typer's adapter gives it."""
    import typer.main
    from typer._click import Context
    from typer._coercion import build_runtime_param

    from xltool import cli_zh
    from xltool.cli import app

    unreadable = tmp_path / "locked.xlsx"
    unreadable.write_bytes(b"x")
    unreadable.chmod(0)
    texts = ["", "a", "某某镇", "x\udcff", "x\0y", "0", "7", "007", "-1", "1_000", " 5", "1.5", "1.50", ".5", "1e3"]
    texts += ["nan", "inf", "60", "1" * 30, "table", "TABLE", "json", "md", "xlsx", "ods", "zh", "en", "pdf", "-"]
    texts += [str(EXAMPLE), str(ROOT / "examples"), "/nonexistent/x.xlsx", "a//b/", str(unreadable), "~/x"]
    values = [*texts, 60.0, 2, True, (), tuple(texts[:3]), (str(EXAMPLE), "a//b/"), ("a", "x\udcff")]
    group = typer.main.get_command(app)
    plain = 0
    for name, command in group.commands.items():
        ctx = Context(command, info_name=name)
        for param in command.params:
            if not hasattr(param, "type_descriptor"):
                continue
            for value in [*values, param.default]:
                fast = _outcome(lambda p=param, v=value, c=ctx: cli_zh.plain_value(v, p, c))
                if fast[0] == "ok" and fast[2] is cli_zh.TYPER:
                    continue
                plain += 1
                typer_own = _outcome(
                    lambda p=param, v=value, c=ctx: build_runtime_param(p.type_descriptor).coerce(v, param=p, ctx=c)
                )
                assert fast == typer_own, (name, param.name, value)
    assert plain > 200  # the plain path is the usual one, not a rarity
