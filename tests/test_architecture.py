"""The structure the code promises: layers that only point down, codes declared once, no form version in Python."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from xltool import formats
from xltool.cli import OutputFormat, RenderFormat, TemplateFormat
from xltool.codes import CATALOGUE, Code
from xltool.forms import all_forms

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "xltool"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "forms_data" not in p.parts)


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_import_layers_point_down():
    """The import-linter contracts in pyproject.toml hold: cli → workflows → discovery → reading → formats → core."""
    linter = Path(sys.executable).with_name("lint-imports")
    command = [str(linter)] if linter.exists() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run([*command, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True)
    out = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
    contracts = len(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    )
    assert result.returncode == 0 and f"{contracts} kept, 0 broken" in out, out[-3000:]


def test_every_code_is_catalogued_in_both_languages():
    """Each problem code has its severity, a Chinese meaning, an English sentence and what to do."""
    assert set(CATALOGUE) == set(Code)
    for code, info in CATALOGUE.items():
        assert info.zh and info.en and info.action, code
        assert info.en.endswith((".", ")")), code


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_problem_code_written_as_a_string(path):
    """Modules name codes as Code.X; only the catalogue spells them out."""
    if path.name == "codes.py":
        return
    values = {c.value for c in Code}
    hits = [(line, text) for line, text in _string_constants(path) if text in values]
    assert not hits, hits


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_form_version_in_python(path):
    """What differs between form versions lives in the form files: no module names a version or its notice."""
    versions = {f.version for f in all_forms()} | {f.id for f in all_forms()} | {f.notice for f in all_forms()}
    hits = [(line, text) for line, text in _string_constants(path) if text in versions]
    assert not hits, hits


def test_cli_choices_come_from_the_registries():
    """--format choices of template, check/import and render are the registered writers."""
    assert {m.value for m in TemplateFormat} == {w.name for w in formats.writers("workbook")} >= {"xlsx", "ods"}
    assert {m.value for m in OutputFormat} == {w.name for w in formats.writers("report")} >= {"table", "json", "csv"}
    assert {m.value for m in RenderFormat} == {w.name for w in formats.writers("render")} >= {"html", "docx", "md"}
    assert {w.suffix for w in formats.writers("export")} >= {".csv", ".json", ".parquet"}


def test_every_reader_and_writer_declares_itself():
    """Readers name their lower-case suffixes and kind; writers their purpose, suffix and description."""
    for r in formats.readers():
        assert r.kind in ("spreadsheet", "report") and r.description, r
        assert all(s.startswith(".") and s == s.lower() for s in r.suffixes), r
    suffixes = [s for r in formats.readers() for s in r.suffixes]
    assert len(suffixes) == len(set(suffixes)), "two readers claim one suffix"
    for purpose in ("workbook", "annotated", "render", "export", "report"):
        for w in formats.writers(purpose):
            assert w.description and (w.suffix.startswith(".") or purpose == "report"), w


def test_reader_is_chosen_by_suffix_then_content(tmp_path):
    """A known suffix picks its reader; an unknown one is sniffed (an HTML page saved as .dat is read as HTML)."""
    page = tmp_path / "报告.dat"
    page.write_text("<!DOCTYPE html><html><body>x</body></html>", encoding="utf-8")
    assert formats.reader_for(page).name == "html"
    assert formats.reader_for(tmp_path / "a.XLSX").name == "xlsx"
    assert formats.reader_for(tmp_path / "a.htm").name == "html"
    odd = tmp_path / "a.bin"
    odd.write_bytes(b"\x00\x01binary")
    assert formats.reader_for(odd) is None


def test_no_machine_paths_in_code_or_tests():
    """No absolute path of a developer's machine in the package or the tests."""
    markers = ["/" + "work/", "/" + "root/", "/" + "home/", "C:" + "\\Users"]  # spelt apart: this file is searched too
    for path in [*_modules(), *sorted((ROOT / "tests").glob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        for marker in markers:
            assert marker not in text, f"{path.name}: {marker}"
