"""Start-up stays light: importing the command line, asking for help or running one command loads only what that
command uses (timings: benchmarks/startup_bench.py; no timing is asserted here, the machine may be busy)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path

import pytest

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
    "xltool.reading",
    "xltool.checking",
    "xltool.rollup",
    "xltool.publish",
    "xltool.workers",
    "xltool.formschema",
]
# rich help and error formatting (rich, markdown, pygments): never, help and usage errors are plain text
RICH_HELP = ["rich", "markdown_it", "pygments"]


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
    assert not [m for m in ["pydantic", "yaml", "xltool.reading", "xltool.checking"] if m in loaded]
    assert not [m for m in RICH_HELP if m in loaded]  # the help is plain text (xltool.cli_text)


@pytest.mark.parametrize(
    "args", [["check"], ["check", "x.xlsx", "--format", "pdf"], ["check", "--bogus"], ["chek"], ["template"]]
)
def test_usage_errors_need_no_rich_and_no_reader(args):
    loaded = _loaded(CLI, *args)
    assert not [m for m in [*RICH_HELP, "yaml", "xltool.reading", "xltool.checking"] if m in loaded]


# What one file never needs: the worker pool (one file is read in this process), the entry-point scan (no installed
# package declares plugin forms: xltool.forms.registry._may_have_plugins), and the tools of formats it neither reads nor writes.
NOT_FOR_ONE_FILE = ["xltool.workers", "importlib.metadata", "email", "csv", "logging"]
NOT_FOR_A_WORKBOOK = ["xltool.formats._scraped", "xltool.digits"]  # scraped-text reading
NOT_FOR_CHECKING = ["xltool.render"]  # the report writers' layout


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (["check", str(EXAMPLE)], NOT_FOR_ONE_FILE + NOT_FOR_A_WORKBOOK + NOT_FOR_CHECKING),
        (["check", str(EXAMPLE), "-f", "json"], NOT_FOR_ONE_FILE + NOT_FOR_A_WORKBOOK + NOT_FOR_CHECKING + ["rich"]),
        (["render", str(EXAMPLE), "-f", "md"], NOT_FOR_ONE_FILE + NOT_FOR_A_WORKBOOK + ["rich", "xltool.checking"]),
        (["import", str(SEED), "-f", "json"], NOT_FOR_ONE_FILE + NOT_FOR_CHECKING + ["rich"]),
    ],
)
def test_one_file_commands_skip_help_formatting_and_other_formats(args, absent, tmp_path):
    """One file checked, rendered or imported loads no rich help, no other format's tools, and (forms cached) no
    pydantic: the command line's values are converted by its own types."""
    loaded = _loaded(CLI, *args, env={"XLTOOL_CACHE_DIR": str(tmp_path)})
    assert not [m for m in ["rich.markdown", "markdown_it", "pygments"] if m in loaded]
    assert not [m for m in ["pandas", "openpyxl", "xlsxwriter", "docx", "lxml", "pdfplumber"] if m in loaded]
    assert not [m for m in absent if m.startswith("xltool.") and m in loaded]  # building forms loads pydantic & co.
    again = _loaded(CLI, *args, env={"XLTOOL_CACHE_DIR": str(tmp_path)})  # forms now come from the cache
    assert "yaml" not in again and "xltool.formschema" not in again and "pydantic" not in again
    assert not [m for m in absent if m in again]


def test_a_merge_nobody_watches_draws_no_progress_bar(tmp_path):
    """The progress bar (rich) is for a person at a terminal: a merge whose stderr is a pipe or a file loads no
    rich, however many files it reads."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    for i in range(20):
        (inputs / f"{i}.xlsx").write_bytes(EXAMPLE.read_bytes())
    loaded = _loaded(CLI, "merge", str(inputs), "-o", str(out / "县.xlsx"), "--workers", "1")
    assert (out / "县.xlsx").exists()
    assert not [m for m in loaded if m == "rich" or m.startswith("rich.")]


def test_listing_the_formats_loads_no_writer_tools():
    """The command line's format choices come from every format module; importing them loads no writer's tools."""
    loaded = _loaded("import xltool.cli")
    assert not [
        m for m in ["xltool.render", "xltool.formats._scraped", "xltool.digits", "csv", "logging"] if m in loaded
    ]


def test_one_file_checked_here_is_reported_as_the_pool_would(monkeypatch):
    """`check FILE` reads in this process without importing the pool; a check that raises is still the pool's report
    (WORKER_CRASHED with the error, MEMORY_LIMIT), exactly what xltool.workers.run(workers=0) gives."""
    from xltool import checking, workers
    from xltool.codes import Code

    for error, code in [(RuntimeError("坏了"), Code.WORKER_CRASHED), (MemoryError(), Code.MEMORY_LIMIT)]:

        def broken(path, last_year=None, error=error):
            raise error

        monkeypatch.setattr(checking, "_check_for_wire", broken)
        (report,) = checking.check_files([EXAMPLE], workers=0)
        task = functools.partial(checking._packed, broken, None)
        (expected,) = workers.run(task, [str(EXAMPLE)], checking._not_checked, workers=0)
        assert report.error is not None and report.error.code == code
        assert (report.error.code, report.error.message) == expected.error
    monkeypatch.undo()
    (report,) = checking.check_files([EXAMPLE], workers=0)
    assert report.error is None and report.ret is not None


def _probe(code: str) -> list:
    """What `code` prints as JSON on its last line, run in a fresh interpreter (nothing imported before it)."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_public_names_are_there_on_first_use():
    """`xltool.read` & co. are imported on first use; each is the object its module defines, and dir() lists them."""
    listed, missing = _probe(
        "import json, xltool; names = sorted(set(xltool.__all__) - {'__version__'}); "
        "wrong = [n for n in names if getattr(xltool, n) is None or getattr(xltool, n).__name__ != n]; "
        "print(json.dumps([sorted(dir(xltool)) == sorted(xltool.__all__), wrong]))"
    )
    assert listed and missing == []


def test_merge_is_the_function_whatever_was_imported_first():
    """`xltool.merge(...)` and `from xltool import merge` give the function, asked for first or after the roll-up
    package (xltool.rollup) was imported: no public name is a module's name, so the import system replaces none."""
    for code in (
        "import json, xltool; first = xltool.merge; from xltool import merge; import xltool.rollup as m; ",
        "import json, xltool.rollup as m; import xltool; first = xltool.merge; from xltool import merge; ",
    ):
        assert _probe(
            code + "print(json.dumps([first is m.merge, merge is m.merge, xltool.merge is m.merge, "
            "callable(xltool.merge), type(xltool).__name__]))"
        ) == [True, True, True, True, "module"]


def test_cached_forms_equal_the_built_ones(tmp_path, monkeypatch):
    """A form from the cache is the form the YAML file gives; a changed file is a new key, a corrupt entry ignored."""
    monkeypatch.setenv("XLTOOL_CACHE_DIR", str(tmp_path))
    paths = sorted(forms.templates_dir().glob("*.yaml"))
    built = [forms.load_form(p) for p in paths]
    entries = sorted((tmp_path / "forms").glob("*.pickle"))
    assert len(entries) == len(paths)
    cached = [forms.load_form(p) for p in paths]
    for a, b in zip(built, cached, strict=True):  # a form is itself (eq=False): compared field by field
        assert a is not b and astuple(a) == astuple(b) and a.path == b.path and a.origin == b.origin
    for entry in entries:
        entry.write_bytes(b"not a pickle")
    assert [astuple(forms.load_form(p)) for p in paths] == [astuple(f) for f in built]
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


@pytest.mark.parametrize(
    ("args", "given"),
    [
        (["--year", "2025"], 2025),
        (["--year", " 2025"], 2025),
        (["--year", "2_025"], 2025),
        (["--year", "2025.0"], 2025),
    ],
)
def test_whole_numbers_are_read_as_before(args, given, tmp_path):
    """`--year` takes what the command line took before it was converted without pydantic: digits, surrounding
    spaces, digit group underscores and a zero fraction."""
    from click.testing import CliRunner

    from xltool.cli import app

    out = tmp_path / "t.xlsx"
    result = CliRunner().invoke(app, ["template", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{given} 年度" in result.stderr


@pytest.mark.parametrize("value", ["abc", "2025.5", "", "1e400", "nan"])
def test_what_is_not_a_whole_number_is_refused(value):
    """A value that is not a whole number is a usage error (exit 2) naming the option and the value."""
    from click.testing import CliRunner

    from xltool.cli import app

    result = CliRunner().invoke(app, ["template", "--year", value])
    assert result.exit_code == 2
    assert f"--year / -y 的值 '{value}' 不是整数" in result.stderr


# --- plugin forms: looked for without importlib.metadata when no package declares any --------------------------------

PLUGIN_DIST = "[xltool.forms]\nexample = xltool_demo_plugin:example_forms\n"


def _site(tmp_path: Path, entry_points: str | None) -> Path:
    """A folder as site-packages holding one installed distribution (with these entry points) and its module."""
    site = tmp_path / "site"
    dist = site / "xltool_demo_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: xltool-demo-plugin\nVersion: 1.0\n", "utf-8")
    if entry_points is not None:
        (dist / "entry_points.txt").write_text(entry_points, "utf-8")
    example = ROOT / "docs" / "example-form.yaml"
    (site / "xltool_demo_plugin.py").write_text(f"def example_forms():\n    return [{str(example)!r}]\n", "utf-8")
    return site


# Prints the forms known, and what xltool.forms.registry._may_have_plugins answered each time it was asked ([] = never).
FORMS_PROBE = (
    "import json, sys; from xltool.forms import registry as forms; asked = []; may = forms._may_have_plugins; "
    "forms._may_have_plugins = lambda: asked.append(may()) or asked[-1]; "
    "print(json.dumps([[[f.id, f.origin] for f in forms.all_forms()], asked]))"
)


def _forms_in(site: Path, code: str, *args: str) -> tuple[list[tuple[str, str]], list[bool]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=site, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    listed, asked = json.loads(done.stdout.splitlines()[-1])
    return [tuple(f) for f in listed], asked


BUILT_IN = [("gov-info-disclosure-2019", "内置"), ("gov-info-disclosure-2021", "内置")]
PLUGIN = ("example-supplement-2025", "插件 xltool-demo-plugin")


def test_no_plugin_declared_no_entry_point_scan(tmp_path):
    """No installed package names the group xltool.forms: no entry-point scan (importlib.metadata is not loaded for
    it; with the forms cache, `check FILE` loads it not at all: test_one_file_commands_skip_...)."""
    assert _forms_in(_site(tmp_path, "[console_scripts]\ndemo = x:main\n"), FORMS_PROBE) == (BUILT_IN, [False])
    assert _forms_in(_site(tmp_path / "bare", None), FORMS_PROBE) == (BUILT_IN, [False])


def test_a_declared_plugin_is_found_by_the_entry_point_scan(tmp_path):
    listed, asked = _forms_in(_site(tmp_path, PLUGIN_DIST), FORMS_PROBE)
    assert asked == [True] and sorted(listed) == sorted([*BUILT_IN, PLUGIN])


def test_workers_get_the_plugin_forms_of_their_parent(tmp_path):
    """worker_forms() carries the parent's plugin forms: unpickled in a worker (here a process where the plugin is not
    installed at all), they are known without looking for plugins; as a list it is the `--form` files."""
    site = _site(tmp_path, PLUGIN_DIST)
    saved = tmp_path / "known.pickle"
    extra = tmp_path / "extra.yaml"  # a `--form` file too: a copy of the plugin's form under another id
    example = (ROOT / "docs" / "example-form.yaml").read_text("utf-8")
    assert "\nform: example-supplement\n" in example
    extra.write_text(example.replace("\nform: example-supplement\n", "\nform: extra-supplement\n"), "utf-8")
    dump = (
        "import pickle, sys; from xltool import forms; forms.register_form_file(sys.argv[1]); "
        "known = forms.worker_forms(); assert list(known) == forms.registered_files(); "
        "open(sys.argv[2], 'wb').write(pickle.dumps(known)); print('[[], []]')"
    )
    _forms_in(site, dump, str(extra), str(saved))
    parent, asked = _forms_in(
        site, f"from xltool import forms; forms.register_form_file({str(extra)!r}); " + FORMS_PROBE
    )
    assert asked == [True] and PLUGIN in parent and ("extra-supplement-2025", "文件") in parent
    alone = _site(tmp_path / "alone", None)  # no plugin installed here: only the parent's word brings its form
    initializer_style = (  # what check's and merge's workers run first (xltool.batch)
        "import pickle, sys; from xltool import batch; "
        "batch.register_forms(pickle.loads(open(sys.argv[1], 'rb').read())); " + FORMS_PROBE
    )
    assert _forms_in(alone, initializer_style, str(saved)) == (parent, [])
    list_style = (  # registered as a plain list of `--form` files: the plugin forms come along
        "import pickle, sys; from xltool import forms; "
        "[forms.register_form_file(f) for f in pickle.loads(open(sys.argv[1], 'rb').read())]; " + FORMS_PROBE
    )
    assert _forms_in(alone, list_style, str(saved)) == (parent, [])
