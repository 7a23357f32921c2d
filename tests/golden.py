"""Golden outputs: what the commands write for the committed examples, as SHA-256 digests.

A refactoring must not change a byte of what users get. `produce(folder)` runs the commands on the examples (templates
of both form versions and a personalised roster set, a roll-up with its export, annotated copies, check output,
rendered tables and drafted reports) and `digests(folder)` names every output file — for a zip container every member
— by its digest. tests/test_golden.py compares them with tests/fixtures/golden.json.

An intended change of output regenerates the manifest: `python -m tests.golden` (and the diff says which files moved).
The digests hold for the library versions recorded in the manifest; with others the test is skipped, not failed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MANIFEST = Path(__file__).resolve().parent / "fixtures" / "golden.json"
LIBRARIES = ("xlsxwriter", "openpyxl", "python-docx", "lxml", "python-calamine", "pyyaml")


def libraries() -> dict[str, str]:
    return {name: metadata.version(name) for name in LIBRARIES}


def _commands(out: Path) -> list[list[str]]:
    sample, old, county = (
        EXAMPLES / "sample-return-2025.xlsx",
        EXAMPLES / "sample-return-2020.xlsx",
        EXAMPLES / "county-2025",
    )
    return [
        [
            "template",
            "--year",
            "2025",
            "--unit",
            "某某镇人民政府",
            "--code",
            "915100000000000009",
            "-o",
            str(out / "t2025.xlsx"),
        ],
        ["template", "--year", "2020", "--unit", "某某镇人民政府", "-o", str(out / "t2020.xlsx")],
        [
            "template",
            "--year",
            "2026",
            "--roster",
            str(county / "units.csv"),
            "--out",
            str(out / "roster"),
            "--previous",
            str(county),
        ],
        [
            "merge",
            str(county),
            "-o",
            str(out / "county.xlsx"),
            "--unit",
            "示例县人民政府办公室",
            "--roster",
            str(county / "units.csv"),
            "--include-invalid",
            "--prefer-newest",
            "--workers",
            "0",
            "--export",
            str(out / "county.csv"),
        ],
        [
            "merge",
            str(county),
            "-o",
            str(out / "county-strictless.xlsx"),
            "--workers",
            "0",
            "--export",
            str(out / "county.json"),
        ],
        [
            "check",
            str(county),
            str(sample),
            str(old),
            "--annotate",
            str(out / "annotated"),
            "--workers",
            "0",
            "-f",
            "json",
        ],
        ["render", str(sample), "-f", "docx", "-o", str(out / "render.docx")],
        ["render", str(sample), "-f", "html", "-o", str(out / "render.html")],
        ["render", str(out / "county.xlsx"), "-f", "md", "-o", str(out / "render-county.md")],
        ["report", str(sample), "-o", str(out / "report.docx"), "--text", str(EXAMPLES / "narrative-2025.yaml")],
        ["report", str(sample), "-o", str(out / "report.html")],
        ["report", str(old), "-o", str(out / "report-2020.md")],
        ["report", str(out / "county.xlsx"), "-o", str(out / "report-county.docx")],
        ["import", str(out / "report.html"), "-f", "json"],
    ]


def produce(out: Path) -> dict[str, tuple[int, str]]:
    """Run every command into `out`; each command's exit code and what it printed to stdout (paths made relative)."""
    from click.testing import CliRunner

    from xltool.cli import app

    runner = CliRunner()
    said: dict[str, tuple[int, str]] = {}
    for i, args in enumerate(_commands(out)):
        result = runner.invoke(app, args, catch_exceptions=False)
        text = result.stdout.replace(str(out), "<out>").replace(str(EXAMPLES), "<examples>")
        said[f"{i:02d} {args[0]}"] = (result.exit_code, text)
    return said


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def digests(out: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        name = path.relative_to(out).as_posix()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for member in sorted(z.namelist()):
                    data = z.read(member)
                    if member == "docProps/core.xml":  # openpyxl stamps the time of saving
                        data = _STAMP.sub(rb"\1\2", data)
                    found[f"{name}::{member}"] = hashlib.sha256(data).hexdigest()
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def snapshot(out: Path) -> dict:
    said = produce(out)
    return {
        "libraries": libraries(),
        "exit_codes": {k: v[0] for k, v in said.items()},
        "stdout": {k: hashlib.sha256(v[1].encode()).hexdigest() for k, v in said.items()},
        "files": digests(out),
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        snap = snapshot(Path(tmp))
    MANIFEST.write_text(json.dumps(snap, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{MANIFEST}: {len(snap['files'])} files", file=sys.stderr)
