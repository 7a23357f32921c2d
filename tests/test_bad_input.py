"""Bad inputs: files that cannot be used are refused with a ReadError (stable code, one Chinese line), never a crash.

The files come from tests/corpus/build.py: the small ones are committed in tests/corpus/files/ and also rebuilt
fresh here from the current template writer; the large ones (100 MB, zip bombs) are written into tmp only.
Bombs are read in a child process with a time and memory limit, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from tests.corpus import build
from xltool.forms import form_for_year
from xltool.reading import read
from xltool.sources import ReadError

FILES = build.FILES
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
COMMIT_LIMIT = 50 * 1024

# file -> the ReadError code it must give.
REFUSED = {
    "text-file.xlsx": "NOT-SPREADSHEET",
    "pdf-document.xlsx": "NOT-SPREADSHEET",
    "word-document.xlsx": "NOT-SPREADSHEET",
    "random-binary.xlsx": "NOT-SPREADSHEET",
    "csv-with-bom.xlsx": "NOT-SPREADSHEET",
    "html-table.xls": "NOT-SPREADSHEET",
    "empty-zip.xlsx": "NOT-SPREADSHEET",
    "empty.xlsx": "EMPTY-FILE",
    "truncated.xlsx": "CORRUPT",
    "corrupt-central-directory.xlsx": "CORRUPT",
    "corrupt-member-data.xlsx": "CORRUPT",
    "encrypted.xlsx": "ENCRYPTED",
    "salary-table.xlsx": "NOT-A-RETURN",
    "unknown-form-id.xlsx": "WRONG-FORM",
    "xml-bomb-workbook.xlsx": "XML-BOMB",
    "xml-bomb-sheet.xlsx": "XML-BOMB",
    "xml-bomb-sheet-utf16.xlsx": "XML-BOMB",
    "xml-bomb-sheet-upper-ext.xlsx": "XML-BOMB",
    "zip-bomb-ratio.xlsx": "ZIP-BOMB",
    "zip-bomb.xlsx": "ZIP-BOMB",
    "zip-bomb-lying-size.xlsx": "ZIP-BOMB",  # more compressed bytes than declared ones: the sizes lie
    "too-large.xlsx": "TOO-LARGE",
}
READABLE = {"form2019-declared-2025.xlsx", "filled-2025.xls"}  # read() succeeds; problems or values are checked
READABLE |= {"xls-formula-in-input.xls", "xls-far-cell.xls", "xls-unsafe-formulas.xls"}  # read back in test_xls.py
REFUSED["xls-links.xls"] = "NOT-A-RETURN"  # one sheet of links, not a return (its formulas: test_xls.py)

# Bugs in xltool found by this corpus: the test states the wanted behaviour and is xfail(strict) until fixed.
KNOWN_BUGS: dict[str, str] = {}  # all fixed; add an entry (file -> reason) when the corpus finds a new one


def assert_clerk_message(message: str) -> None:
    assert isinstance(message, str) and message.strip(), "empty message"
    assert CJK.search(message), f"message is not Chinese: {message!r}"
    assert "\n" not in message and "\r" not in message, f"message is not one line: {message!r}"


def assert_refused(path: Path, code: str) -> ReadError:
    try:
        read(path)
    except ReadError as exc:
        assert exc.code == code, f"{path.name}: {exc.code} ({exc.message}), expected {code}"
        assert str(exc) == exc.message
        assert_clerk_message(exc.message)
        return exc
    except Exception as exc:
        pytest.fail(f"{path.name}: {type(exc).__name__}: {exc!r} escaped read(); expected ReadError {code}")
    pytest.fail(f"{path.name}: read() accepted it; expected ReadError {code}")


def _bug_marks(name: str) -> list:
    return [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])] if name in KNOWN_BUGS else []


def _cases(names, sources=("committed", "fresh")):
    return [
        pytest.param(name, REFUSED[name], source, id=f"{name}-{source}", marks=_bug_marks(name))
        for name in names
        for source in sources
    ]


def corpus_path(name: str, source: str, tmp_path: Path) -> Path:
    if source == "committed":
        path = FILES / name
        assert path.exists(), f"{path} missing: run `python tests/corpus/build.py`"
        return path
    return build.SMALL[name](tmp_path)


@pytest.fixture(scope="session")
def large_dir(tmp_path_factory) -> Path:
    """The files too large to commit, built once per session (about 4 s)."""
    out = tmp_path_factory.mktemp("corpus-large")
    for name, make in build.LARGE.items():
        assert make(out).name == name
    return out


# --- every small case ----------------------------------------------------------------------------------------------

SMALL_REFUSED = [n for n in build.SMALL if n in REFUSED]
EXTERNAL_REFUSED = [n for n in build.EXTERNAL if n in REFUSED]


@pytest.mark.parametrize(("name", "code", "source"), _cases(SMALL_REFUSED) + _cases(EXTERNAL_REFUSED, ["committed"]))
def test_bad_file_is_refused_with_its_code(name, code, source, tmp_path):
    """Each unusable file raises ReadError with its stable code and a one-line Chinese message, nothing else."""
    assert_refused(corpus_path(name, source, tmp_path), code)


@pytest.mark.parametrize("source", ["committed", "fresh"])
def test_form2019_declared_2025_reads_with_year_mismatch_error(source, tmp_path):
    """A 2019-format file declaring year 2025 is read, and check() reports a FORM-YEAR-MISMATCH error."""
    ret = read(corpus_path("form2019-declared-2025.xlsx", source, tmp_path))
    assert ret.year == 2025
    assert ret.form.id == form_for_year(2020).id != form_for_year(2025).id
    found = [p for p in ret.check() if p.code == "FORM-YEAR-MISMATCH"]
    assert len(found) == 1 and found[0].severity == "error"
    assert_clerk_message(found[0].message)
    assert "2025" in found[0].message


def test_encrypted_file_is_a_real_encrypted_ooxml():
    """The committed encrypted.xlsx is an OLE2 container holding an EncryptedPackage stream, as Excel writes it."""
    data = (FILES / "encrypted.xlsx").read_bytes()
    assert data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert "EncryptedPackage".encode("utf-16-le") in data and "EncryptionInfo".encode("utf-16-le") in data


def test_encrypted_file_decrypts_to_a_template():
    """With its password the committed encrypted.xlsx opens (msoffcrypto-tool is in the `test` extra)."""
    msoffcrypto = pytest.importorskip("msoffcrypto")
    import io
    import zipfile

    office = msoffcrypto.OfficeFile(io.BytesIO((FILES / "encrypted.xlsx").read_bytes()))
    office.load_key(password=build.ENCRYPTION_PASSWORD)
    out = io.BytesIO()
    office.decrypt(out)
    assert "_meta" in zipfile.ZipFile(out).read("xl/workbook.xml").decode()


# --- legacy .xls -------------------------------------------------------------------------------------------------


def assert_xls_values(ret) -> None:
    assert ret.year == 2025 and ret.form.id == form_for_year(2025).id
    assert ret.unit.name == build.UNIT_NAME
    assert {k: ret.values.get(k) for k in build.XLS_VALUES} == {k: Decimal(v) for k, v in build.XLS_VALUES.items()}
    typed = set(build.XLS_VALUES)
    assert not [k for k, v in ret.values.items() if k not in typed and ret.form.cell[k].is_input], "extra values"
    assert not [p for p in ret.read_problems if p.severity == "error"]


def test_legacy_xls_reads_the_filled_numbers_back():
    """A filled template saved as Excel 97-2003 .xls is read (by calamine) with the numbers the clerk typed."""
    path = FILES / "filled-2025.xls"
    assert path.read_bytes().startswith(b"\xd0\xcf\x11\xe0")
    assert_xls_values(read(path))


@pytest.mark.libreoffice
def test_legacy_xls_converted_now_from_a_full_template(tmp_path):
    """A complete filled template (校验 sheet included) converted to .xls by LibreOffice today reads back the same."""
    if shutil.which("soffice") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("soffice missing (CI=true: LibreOffice tests must run)")
        pytest.skip("soffice (LibreOffice) not on PATH")
    filled = build.filled_template(tmp_path / "full-2025.xlsx", build.XLS_VALUES)
    xls = build.soffice_convert(filled, tmp_path)
    assert_xls_values(read(xls))


# --- bombs and size: refused fast, in a child process with limits ------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    limit = 2 * 1024 ** 3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from xltool.reading import read
    from xltool.sources import ReadError
    out = {}
    start = time.perf_counter()
    try:
        read(sys.argv[1])
        out["outcome"] = "read"
    except ReadError as exc:
        out.update(outcome="ReadError", code=exc.code, message=exc.message)
    except BaseException as exc:
        out.update(outcome="other", type=type(exc).__name__, error=repr(exc)[:300])
    out["seconds"] = time.perf_counter() - start
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    """
)


def read_isolated(path: Path, timeout: float = 60) -> dict:
    """read() in a child (2 GB address-space cap); a hang becomes a test failure after `timeout` seconds."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.name}: read() still running after {timeout} s (bomb expanded?)")
    assert proc.returncode == 0 and proc.stdout.strip(), f"child died ({proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_refused_fast(path: Path, code: str, seconds: float = 5.0, rss_mb: float = 500) -> None:
    result = read_isolated(path)
    assert result["outcome"] == "ReadError", f"{path.name}: {result}"
    assert result["code"] == code, f"{path.name}: {result}"
    assert_clerk_message(result["message"])
    assert result["seconds"] < seconds, f"{path.name}: took {result['seconds']:.1f} s"
    assert result["max_rss_mb"] < rss_mb, f"{path.name}: peak memory {result['max_rss_mb']:.0f} MB"


XML_BOMBS = [n for n in REFUSED if n.startswith("xml-bomb")]


@pytest.mark.parametrize("name", [pytest.param(n, id=n, marks=_bug_marks(n)) for n in XML_BOMBS])
def test_xml_entity_bomb_is_refused_without_expansion(name, tmp_path):
    """A billion-laughs DTD in any XML part is refused as XML-BOMB in well under a second, never expanded."""
    assert_refused_fast(build.SMALL[name](tmp_path), "XML-BOMB", seconds=3.0)


def test_zip_bomb_is_refused_before_inflating(large_dir):
    """A zip whose sheet part inflates to 320 MB (> the 300 MB cap) is refused as ZIP-BOMB without inflating it."""
    path = large_dir / "zip-bomb.xlsx"
    assert path.stat().st_size < 1024 * 1024
    assert_refused_fast(path, "ZIP-BOMB")


def test_zip_bomb_with_lying_sizes_is_refused_without_inflating(large_dir):
    """A 320 MB bomb whose headers declare a small part is refused (ZIP-BOMB) without inflating it all."""
    assert_refused_fast(large_dir / "zip-bomb-lying-size.xlsx", "ZIP-BOMB")


def test_too_large_file_is_refused_quickly(large_dir):
    """A 100 MB file is refused as TOO-LARGE from its size alone, in well under a second."""
    path = large_dir / "too-large.xlsx"
    assert path.stat().st_size == 100 * 1024 * 1024
    assert_refused_fast(path, "TOO-LARGE", seconds=1.0)


def test_directory_instead_of_a_file_is_unreadable(tmp_path):
    """A folder passed where a file is expected is refused as UNREADABLE, not with an OSError."""
    folder = tmp_path / "报表.xlsx"
    folder.mkdir()
    assert_refused(folder, "UNREADABLE")


def test_missing_file_is_unreadable(tmp_path):
    """A path that does not exist is refused as UNREADABLE with a one-line Chinese message."""
    assert_refused(tmp_path / "不存在.xlsx", "UNREADABLE")


# --- the corpus as a whole ---------------------------------------------------------------------------------------


def test_committed_corpus_is_complete_and_commit_sized():
    """files/ holds exactly the small and external cases, each under 50 KB, each with an expected outcome."""
    committed = {p.name for p in FILES.iterdir()}
    assert committed == set(build.SMALL) | set(build.EXTERNAL)
    assert committed | set(build.LARGE) == set(REFUSED) | READABLE
    big = {p.name: p.stat().st_size for p in FILES.iterdir() if p.stat().st_size >= COMMIT_LIMIT}
    assert not big, f"not commit-sized: {big}"


def test_builders_are_deterministic(tmp_path):
    """Building the small corpus twice gives byte-identical files (so a rebuild shows up as no diff)."""
    first, second = tmp_path / "a", tmp_path / "b"
    for make in build.SMALL.values():
        a, b = make(first), make(second)
        assert a.read_bytes() == b.read_bytes(), a.name


def read_folder(folder: Path) -> dict[str, str]:
    """Read every file of a folder one by one as a batch run would: a refusal is noted and the run goes on."""
    outcome: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        try:
            ret = read(path)
            ret.check()
            outcome[path.name] = "read"
        except ReadError as exc:
            assert_clerk_message(exc.message)
            outcome[path.name] = exc.code
        except Exception as exc:
            outcome[path.name] = f"{type(exc).__name__}: {exc!r}"[:200]
    return outcome


def _folder(large_dir: Path, tmp_path: Path, skip: set[str] = frozenset()) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for src in [*FILES.iterdir(), *large_dir.iterdir()]:
        if src.name not in skip:
            shutil.copyfile(src, folder / src.name)
    return folder


def _expected(name: str) -> str:
    return "read" if name in READABLE else REFUSED[name]


def test_folder_of_all_corpus_files_raises_nothing_but_read_error(large_dir, tmp_path):
    """Reading ALL corpus files one by one, each either reads or raises ReadError; no other exception escapes."""
    outcome = read_folder(_folder(large_dir, tmp_path))
    assert len(outcome) == len(REFUSED) + len(READABLE)
    escaped = {n: o for n, o in outcome.items() if o != "read" and o not in REFUSED.values()}
    assert not escaped, escaped


def test_folder_run_goes_on_past_every_bad_file(large_dir, tmp_path):
    """A batch over every corpus file except the known-bug ones gives each file its expected outcome, in one run."""
    outcome = read_folder(_folder(large_dir, tmp_path, skip=set(KNOWN_BUGS)))
    expected = {n: _expected(n) for n in [*REFUSED, *READABLE] if n not in KNOWN_BUGS}
    assert outcome == expected
