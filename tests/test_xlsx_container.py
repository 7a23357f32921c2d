"""The xlsx zip container: each part inflated straight from the file's bytes and checked against its CRC (a changed
byte is CORRUPT, not another number), refused when it declares a DTD (however long the prolog before it, and whether
or not its bytes match a part already found clean), and read alike by ISA-L and by zlib."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from xltool.formats import xlsx

ROOT = Path(__file__).resolve().parent.parent


def _our_grids(data: bytes) -> dict[str, list]:
    page = xlsx.parse(data)
    return {n: page.sheet(n) for n in page.sheet_names}


@pytest.mark.parametrize("padding", [0, 3000, 70_000])
def test_a_dtd_after_a_long_prolog_is_still_found(tmp_path, padding):
    """The DTD check reads 2 KB of a part first and more when the prolog goes on: a DTD behind a long comment is
    refused, and a prolog longer than 64 KB is refused too."""
    from xltool.codes import Code
    from xltool.sources import ReadError, check_zip

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><!--' + "x" * padding + '--><!DOCTYPE w [<!ENTITY a "b">]><workbook/>',
        )
    with pytest.raises(ReadError) as err:
        check_zip(buf.getvalue())
    assert err.value.code == Code.XML_BOMB


def test_a_part_that_fails_its_crc_is_refused_as_corrupt(tmp_path):
    """Parts are inflated straight from the buffer and checked against their CRC: a changed byte is CORRUPT, not a
    different number."""
    from xltool.reading import read_page
    from xltool.sources import ReadError

    source = ROOT / "examples" / "sample-return-2025.xlsx"
    stored = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    assert read_page(stored).sheet_names  # stored members read the fast way too
    data = bytearray(stored.read_bytes())
    at = data.index(b"<v>", data.index(b"xl/worksheets/sheet3.xml")) + 3
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ReadError) as caught:
        read_page(damaged)
    assert caught.value.code == "CORRUPT"


def test_parts_known_clean_do_not_hide_a_dtd(tmp_path):
    """Parts whose compressed bytes were already found clean are not inflated again; a part changed to carry a DTD
    has other bytes, and a stored part with the same text as a deflated clean one is still looked at."""
    from xltool.codes import Code
    from xltool.sources import ReadError, check_zip

    def book(app: str, method: int = zipfile.ZIP_DEFLATED) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/workbook.xml", "<workbook/>")
            z.writestr(zipfile.ZipInfo("docProps/app.xml"), app, compress_type=method)
        return buf.getvalue()

    clean = "<Properties>" + "x" * 3000 + "</Properties>"
    for _ in range(3):
        check_zip(book(clean))
    for bad in ('<!DOCTYPE p [<!ENTITY a "b">]>' + clean, '<!DOCTYPE p [<!ENTITY a "b">]><Properties/>'):
        for method in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
            with pytest.raises(ReadError) as err:
                check_zip(book(bad, method))
            assert err.value.code == Code.XML_BOMB


def test_returns_read_the_same_with_zlib_as_with_isal(monkeypatch, tmp_path):
    """ISA-L inflates where its wheel installs; zlib elsewhere: the pages are the same, and damage is found by both."""
    import zlib

    from xltool import sources
    from xltool.reading import assemble, read_page

    data = (ROOT / "examples" / "sample-return-2025.xlsx").read_bytes()
    first = _our_grids(data)
    expected = assemble(read_page(ROOT / "examples" / "sample-return-2025.xlsx")).values
    monkeypatch.setattr(sources, "_INFLATE", zlib)
    monkeypatch.setattr(sources, "_INFLATE_ERRORS", (zlib.error,))
    assert _our_grids(data) == first
    assert assemble(read_page(ROOT / "examples" / "sample-return-2025.xlsx")).values == expected
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("xl/worksheets/sheet3.xml")
        assert sources.member_bytes(z, info.filename) == z.read(info.filename)
