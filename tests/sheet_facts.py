"""Sheets written by hand and what the sheet reader found in them, as one comparable value: the tests of the
reader's short ways (learnt skeletons, plain sheets) compare them with the parse."""

from __future__ import annotations

from xltool.formats.page import SheetFacts

MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def sheet(cells: bytes, tail: bytes = b"", head: bytes = b"", prolog: bytes = b"", root: bytes = b"") -> bytes:
    """A worksheet part: `cells` inside its sheetData, `head`/`tail` before/after it, `root` attributes."""
    return (
        prolog
        + b'<worksheet xmlns="'
        + MAIN
        + b'"'
        + root
        + b">"
        + head
        + b"<sheetData>"
        + cells
        + b"</sheetData>"
        + tail
        + b"</worksheet>"
    )


def facts_of(f: SheetFacts, ordered: bool = True) -> tuple:
    """Every fact and the cells kept; `ordered`: the formulas in the order met (else as a mapping)."""
    formulas = list(f.formulas.items()) if ordered else dict(f.formulas.items())
    return (
        formulas,
        f.errors,
        f.protected,
        f.hidden_rows,
        f.hidden_cols,
        f.merges,
        f.stray,
        f.stray_examples,
        f.unsafe,
        f.embedded,
        f.duplicates,
        f.malformed,
        f.unsafe_rules,
        f.cells.slots,
        f.cells.texts,
    )
