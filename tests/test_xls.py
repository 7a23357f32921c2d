"""Legacy .xls returns read like xlsx ones: formulas known (never their cached results), unsafe formulas reported,
far cells bounded and reported, sheet states and protection read (xltool.formats._biff, xltool.formats.xls)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.corpus import build
from xltool.codes import Code
from xltool.model import Invalid
from xltool.reading import read, read_page

FILES = build.FILES


def _codes(ret) -> list[tuple[str, str | None, str | None]]:
    return [(str(p.code), p.sheet, p.cell) for p in ret.read_problems]


def test_formula_in_an_input_cell_is_flagged_not_its_patched_cached_result():
    """=2+3 in an input with a cached 7 is Invalid(FORMULA-IN-INPUT), as in an xlsx: neither 7 nor 5 is taken."""
    ret = read(FILES / "xls-formula-in-input.xls")
    value = ret.values[build.XLS_FORMULA_KEY]
    assert isinstance(value, Invalid) and value.code == Code.FORMULA_IN_INPUT
    assert value.raw == "=2+3"


def test_a_value_at_iv65536_is_a_stray_cell_and_never_read_into_a_grid():
    """The last cell of an .xls sheet is reported as STRAY-CELLS; the sheet's grid stays inside the window."""
    page = read_page(FILES / "xls-far-cell.xls")
    sheet = build._xls_input(build.XLS_FORMULA_KEY)[0]
    facts = page.structure[sheet]
    assert (facts.stray, facts.stray_examples) == (1, [build.XLS_FAR_CELL])
    assert len(page.sheet(sheet)) < 100 and max(map(len, page.sheet(sheet))) < 64
    ret = read(FILES / "xls-far-cell.xls")
    assert ("STRAY-CELLS", sheet, build.XLS_FAR_CELL) in _codes(ret)
    assert {k: ret.values.get(k) for k in build.XLS_VALUES} == {k: Decimal(v) for k, v in build.XLS_VALUES.items()}


_MEASURE = """
import json, re, sys
from xltool.reading import read
ret = read(sys.argv[1])
status = open("/proc/self/status").read()  # VmHWM starts anew at exec (ru_maxrss keeps the parent's peak)
print(json.dumps(int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) // 1024))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory read from /proc (Linux)")
def test_a_far_cell_costs_no_memory():
    """Reading the .xls with a value at IV65536 peaks far below the 1.2 GB a dense grid of the sheet takes."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(FILES / "xls-far-cell.xls")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout) < 400  # MB; the imports alone take about 150


def test_unsafe_formulas_beside_the_tables_are_reported():
    """HYPERLINK and INDIRECT written beside Table 三 give UNSAFE-FORMULA at their cells, as in an xlsx."""
    ret = read(FILES / "xls-unsafe-formulas.xls")
    sheet = build._xls_input(build.XLS_FORMULA_KEY)[0]
    found = {cell for code, where, cell in _codes(ret) if code == "UNSAFE-FORMULA" and where == sheet}
    assert found == set(build.XLS_UNSAFE)


def test_links_to_other_files_and_dde_calls_are_unsafe():
    """A reference into another file and a DDE call, as LibreOffice writes them in .xls (SUPBOOK records), are unsafe;
    the plain cell beside them is not."""
    facts = read_page(FILES / "xls-links.xls").structure["S"]
    assert [where for where, _ in facts.unsafe] == ["A1", "B1"]
    assert "[" in facts.unsafe[0][1] and "cmd|" in facts.unsafe[1][1]


def test_formula_places_are_those_of_the_workbook_saved():
    """Every formula cell of the filled template (totals, checks, shared formulas) is a formula cell of its .xls copy,
    and no other; simple totals decompile to the same text."""
    xls = read_page(FILES / "xls-far-cell.xls")
    for name, facts in xls.structure.items():
        assert "（共享公式）" not in facts.formulas.values(), name
        assert not [t for t in facts.formulas.values() if "未能完整解析" in t], name
    sheet = build._xls_input(build.XLS_FORMULA_KEY)[0]
    assert xls.structure[sheet].formulas["J6"] == "SUM($D$6:$I$6)"


def test_sheet_states_and_protection_are_read():
    """The hidden _meta sheet is hidden and the table sheets are protected: no META-VISIBLE, no PROTECTION-REMOVED."""
    page = read_page(FILES / "filled-2025.xls")
    assert page.sheet_states["_meta"] == "hidden"
    assert all(page.structure[s].protected for s in page.sheet_names if s != "_meta")
    codes = {c for c, _, _ in _codes(read(FILES / "filled-2025.xls"))}
    assert not codes & {"META-VISIBLE", "PROTECTION-REMOVED", "FORMULA-OVERWRITTEN", "HIDDEN-CELLS"}


@pytest.mark.libreoffice
def test_xls_fixtures_made_now_read_the_same(tmp_path):
    """The .xls fixtures rebuilt by today's LibreOffice give the same findings as the committed ones."""
    if shutil.which("soffice") is None:
        pytest.skip("soffice (LibreOffice) not on PATH")
    for builder in (build.build_xls_formula_in_input, build.build_xls_far_cell, build.build_xls_unsafe_formulas):
        fresh = builder(tmp_path)
        assert _codes(read(fresh)) == _codes(read(FILES / fresh.name)), fresh.name
    fresh = build.build_xls_links(tmp_path)
    assert read_page(fresh).structure["S"].unsafe == read_page(FILES / fresh.name).structure["S"].unsafe


def test_webservice_as_excel_writes_it_in_xls_is_unsafe():
    """Excel stores WEBSERVICE in .xls as an add-in name called through function 255 (ptgNameX, ptgStr, ptgFuncVar);
    its decompiled text is found unsafe. LibreOffice cannot write it, so the tokens are built here."""
    from xltool.formats import _biff
    from xltool.formats._bounded import unsafe_formula

    g = _biff._Globals()
    g.supbooks, g.externnames, g.xti = [("addin", "")], [["_xlfn.WEBSERVICE"]], [(0, 0, 0)]
    url = "http://x.example/"
    rgce = (
        bytes([0x39])
        + struct.pack("<HHH", 0, 1, 0)  # ptgNameX: XTI 0, name 1
        + bytes([0x17, len(url), 0])
        + url.encode()  # ptgStr
        + bytes([0x22, 2])
        + struct.pack("<H", 255)  # ptgFuncVar: 2 arguments, user-defined
    )
    text = _biff._text(rgce, 2, 25, g)
    assert text == '_xlfn.WEBSERVICE("http://x.example/")'
    assert unsafe_formula(text)


def test_formula_tokens_render_as_excel_shows_them():
    """Arithmetic, references (absolute and relative), strings, fixed- and variable-argument functions decompile to
    the text Excel shows; a token the reader cannot place says so instead of guessing."""
    from xltool.formats import _biff

    g = _biff._Globals()
    g.sheets = ["二、主动公开"]
    g.supbooks, g.xti = [("self", "")], [(0, 0, 0)]
    two_plus_three = bytes([0x1E, 2, 0, 0x1E, 3, 0, 0x03])
    assert _biff._text(two_plus_three, 0, 0, g) == "2+3"
    ref = bytes([0x44]) + struct.pack("<HH", 5, 3 | 0xC000)  # D6, relative
    area3d = bytes([0x3B]) + struct.pack("<HHHHH", 0, 4, 5, 1, 3)  # '二、主动公开'!$B$5:$D$6
    rounded = ref + bytes([0x1E, 0, 0, 0x41]) + struct.pack("<H", 27)  # ROUND(D6,0)
    summed = area3d + bytes([0x22, 1]) + struct.pack("<H", 4)  # SUM(...)
    assert _biff._text(rounded + summed + bytes([0x03]), 0, 0, g) == "ROUND(D6,0)+SUM('二、主动公开'!$B$5:$D$6)"
    assert "未能完整解析" in _biff._text(bytes([0x18, 0x01]), 0, 0, g)


def test_decompiling_formulas_is_bounded_per_workbook():
    """Formula tokens beyond MAX_FORMULA_BYTES in one workbook refuse the file (TOO-LARGE) instead of taking minutes."""
    from xltool.formats import _biff
    from xltool.sources import ReadError

    g = _biff._Globals()
    rgce = bytes([0x1E, 1, 0]) + bytes([0x1E, 1, 0, 0x03]) * 2000
    with pytest.raises(ReadError) as caught:
        for _ in range(_biff.MAX_FORMULA_BYTES // len(rgce) + 2):
            _biff._text(rgce, 0, 0, g)
    assert caught.value.code == Code.TOO_LARGE
