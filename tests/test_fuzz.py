"""Fuzzing: valid returns mutated at the zip and XML level never make reading or checking raise, hang or grow.

Every mutated file must end as a documented outcome: a Return whose problems are catalogued codes or rule ids, or a
ReadError with a catalogued code. A batch of mutants is also merged in a child process under a memory limit.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltool.checking import check_file
from xltool.codes import Code
from xltool.forms import form_for_year
from xltool.outcomes import FileStatus
from xltool.reading import read
from xltool.sources import ReadError

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = [ROOT / "examples" / "sample-return-2025.xlsx", ROOT / "examples" / "sample-return-2020.xlsx"]
CODES = {c.value for c in Code}
RULE_IDS = {r.id for y in (2020, 2025) for r in form_for_year(y).rules}
FORMULAS = [
    "1+1",
    "cmd|' /C calc'!A0",
    'WEBSERVICE("http://127.0.0.1/")',
    "[1]Sheet1!A1",
    "SUM(A1:XFD1048576)",
    'HYPERLINK("file:///c:/x","y")',
    'INDIRECT("A"&1)',
    "1/0",
]


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def rezip(parts: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # duplicate member names are one of the mutations
        for name, data in parts:
            z.writestr(name, data)
    return out.getvalue()


@st.composite
def mutants(draw) -> bytes:
    """One sample return changed in one or more hostile or careless ways."""
    sample = draw(st.sampled_from(SAMPLES))
    raw = sample.read_bytes()
    parts = list(members(sample).items())
    sheets = [i for i, (name, _) in enumerate(parts) if name.startswith("xl/worksheets/sheet")]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["far-cell", "formula", "dimension", "duplicate", "utf16", "garbage-part", "drop-part", "flip", "cut"]
            )
        )
        if kind in ("flip", "cut"):
            data = bytearray(rezip(parts))
            if kind == "flip":
                for _ in range(draw(st.integers(1, 20))):
                    data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
            else:
                data = data[: draw(st.integers(0, len(data)))]
            return bytes(data)
        i = draw(st.sampled_from(sheets))
        name, xml = parts[i]
        if kind == "far-cell":
            col = draw(st.sampled_from(["A", "P", "BL", "ZZ", "XFD"]))
            row = draw(st.sampled_from([1, 65, 1001, 65536, 1048576]))
            cell = f'<row r="{row}"><c r="{col}{row}" t="inlineStr"><is><t>x</t></is></c></row>'.encode()
            xml = xml.replace(b"</sheetData>", cell + b"</sheetData>", 1)
        elif kind == "formula":
            target = draw(st.sampled_from(re.findall(rb'<c r="([A-Z]+[0-9]+)"[^>]*><v>', xml) or [b"A1"]))
            formula = draw(st.sampled_from(FORMULAS)).replace("&", "&amp;").replace('"', "&quot;").encode()
            xml = re.sub(
                rb'(<c r="' + target + rb'"[^>]*>)<v>',
                lambda m, f=formula: m.group(1) + b"<f>" + f + b"</f><v>",
                xml,
                count=1,
            )
        elif kind == "dimension":
            xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml, count=1)
        elif kind == "duplicate":
            parts.append((name, xml))
        elif kind == "utf16":
            xml = xml.decode("utf-8", "replace").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
        elif kind == "garbage-part":
            name = draw(st.sampled_from(["xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml", name]))
            xml = draw(st.binary(min_size=0, max_size=200))
            parts = [(n, d) for n, d in parts if n != name]
            parts.append((name, xml))
            continue
        elif kind == "drop-part":
            parts.pop(draw(st.integers(0, len(parts) - 1)))
            sheets = [j for j, (n, _) in enumerate(parts) if n.startswith("xl/worksheets/sheet")]
            if not sheets:
                return rezip(parts)
            continue
        parts[i] = (name, xml)
    data = rezip(parts)
    return data if data != raw else data + b"\x00"


def assert_documented(path: Path) -> None:
    """read() gives a Return or a catalogued ReadError; check() gives catalogued codes or rule ids; never raises."""
    try:
        ret = read(path)
    except ReadError as exc:
        assert exc.code in CODES, exc.code
        return
    problems = ret.check()
    assert {p.code for p in problems} <= CODES | RULE_IDS
    ret.rule_results()
    report = check_file(path)
    assert report.status in set(FileStatus)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=mutants())
def test_mutated_returns_never_raise(tmp_path_factory, data):
    """Any zip/XML mutation of a return ends as a documented outcome, never an exception."""
    path = tmp_path_factory.mktemp("fuzz") / "mutant.xlsx"
    path.write_bytes(data)
    assert_documented(path)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="memory measured with Linux /proc")
def test_merge_of_mutants_finishes_within_memory(tmp_path):
    """A folder of 40 mutants and 2 good returns merges in a child process: every file listed, peak under 300 MB."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("good-a.xlsx", "good-b.xlsx"):
        (folder / name).write_bytes(SAMPLES[0].read_bytes())
    strategy = mutants()
    for i in range(40):
        (folder / f"m{i:02d}.xlsx").write_bytes(strategy.example())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    script = textwrap.dedent(
        f"""
        import json, resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        from xltool.rollup import merge
        roll = merge([{str(folder)!r}], workers=0)  # in this process: the peak measures reading itself
        roll.write({str(tmp_path / "out.xlsx")!r})
        status = open("/proc/self/status").read()
        print(json.dumps({{
            "members": [m.info.name for m in roll.members],
            "rejected": [r.info.name for r in roll.rejected],
            "peak_mb": int(status.split("VmHWM:")[1].split()[0]) // 1024,
        }}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    result = json.loads(out.stdout.splitlines()[-1])
    listed = result["members"] + result["rejected"]
    assert sorted(listed) == sorted(before), "every file is merged or listed with a reason"
    assert result["peak_mb"] < 300, result["peak_mb"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, "inputs are never changed"
