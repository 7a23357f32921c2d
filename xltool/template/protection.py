"""Workbook-structure protection, which XlsxWriter does not write: a <workbookProtection> element in
xl/workbook.xml, with the legacy password hash Excel, WPS and LibreOffice check (ECMA-376 Part 4, 14.7.1)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from xltool import safewrite


def password_hash(password: str) -> str:
    """The legacy password verifier of workbook protection, as hex digits: computed over the characters exactly as
    XlsxWriter computes it for sheet protection, so one password unlocks both (tests/test_template.py compares)."""
    verifier = 0
    for char in reversed(password):
        verifier = ((verifier >> 14) & 0x01) | ((verifier << 1) & 0x7FFF)
        verifier ^= ord(char)
    verifier = ((verifier >> 14) & 0x01) | ((verifier << 1) & 0x7FFF)
    verifier ^= len(password) ^ 0xCE4B
    return f"{verifier:X}"


_BOOK_VIEWS = re.compile(rb"<bookViews>")


def lock_workbook_xml(data: bytes, password_hash: str | None) -> bytes:
    """xl/workbook.xml with <workbookProtection lockStructure="1"> (and the password hash) before <bookViews>."""
    attrs = b'lockStructure="1"' + (f' workbookPassword="{password_hash}"'.encode() if password_hash else b"")
    return _BOOK_VIEWS.sub(b"<workbookProtection " + attrs + b"/><bookViews>", data, count=1)


def lock_structure(path: Path, password_hash: str | None) -> None:
    """XlsxWriter has no workbook-structure protection: add <workbookProtection> to xl/workbook.xml."""
    with (
        safewrite.replacing(path) as tmp,
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = lock_workbook_xml(data, password_hash)
            dst.writestr(item, data)
