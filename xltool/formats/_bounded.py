"""Bounded reading of untrusted workbooks: only the cells inside a window are ever materialised.

A spreadsheet parser builds one dense grid from the first to the last cell of a sheet, so a single cell at XFD1048576
makes it allocate for 17 billion cells. Each xlsx sheet is therefore parsed as XML by xltool.formats._sheetxml, which
keeps the cells inside the window and only counts the others (STRAY-CELLS); the same parse gives the values and what
the sheet says about itself (formulas, unsafe formulas anywhere, hidden rows and columns, merges, protection). ODS
content is streamed the same way (xltool.formats.ods).

Sheets met before: returns filled in one template and saved by one program differ, sheet by sheet, only inside the
text of their <v> elements. Once a sheet's *skeleton* (its XML with that text cut out) has been parsed twice and the
parse proved that every `<v>…</v>` the byte split finds is exactly the value element of a kept cell, a later sheet
with the same skeleton takes the facts of the parse and only its value texts — accepted only where XML reads them
unchanged (no reference, no carriage return, no `]]>`, no character XML forbids, valid UTF-8 in a document declared
"UTF-8" or undeclared) and cut at Excel's limit as the parse cuts them; any other text sends the sheet to the parser.
"""

from __future__ import annotations

import re

from xltool.formats._plaindata import read_plain
from xltool.formats._sheetxml import (  # noqa: F401  (MAX_FINDINGS: for _biff, xlsx)
    HEADER_TEXTS,
    MAX_FINDINGS,
    Cells,
    parse_sheet,
)
from xltool.formats._unsafe import DDE, EXTERNAL_REFERENCE, UNSAFE_FUNCTIONS, unsafe_formula  # noqa: F401
from xltool.formats._xmlparts import MAX_TEXT, character_data, plain_texts
from xltool.formats.page import MAX_FORMULA_TEXT, SheetFacts  # noqa: F401  (MAX_FORMULA_TEXT: for ods)
from xltool.memo import Memo

WINDOW = (1000, 64)  # rows, columns read from a sheet: a return's sheets use under 100 x 16
LIST_WINDOW = (100_000, 256)  # a roll-up's list sheets (明细, 来源 …): one row per unit, one column per cell
MAX_SHEET_BYTES = 20 * 1024 * 1024  # unzipped XML of one sheet of a return (a real one is under 100 KB)
MAX_LIST_SHEET_BYTES = 200 * 1024 * 1024  # a roll-up's 明细 for 100,000 units is about 150 MB

# --- sheets met before ---------------------------------------------------------------------------------------------

MAX_SKELETONS = 96  # skeletons learnt: 6 sheets a return, so the returns of 16 writers (each tens of KB)
MAX_SKELETON_SHEET = 1024 * 1024  # larger sheets (a roll-up's lists) are always parsed
_VALUE_SPLIT = re.compile(rb"<v>([^<]*)</v>")
_HEADERS = "|".join(HEADER_TEXTS).encode()
_HEADER_SPLIT = re.compile(rb"(<(?:" + _HEADERS + rb")>)([^<]*)(?=</(?:" + _HEADERS + rb")>)")


def scan_sheet(xml: bytes, window: tuple[int, int], part: str = "sheet") -> SheetFacts:
    """The facts of one sheet part and its cells inside the window (`facts.cells`): parsed, or taken from a skeleton
    met before when that is provably what the parse gives."""
    skeleton, raws, headers = _skeleton(xml, window)
    if skeleton is not None:
        known = _KNOWN.get(skeleton)
        if known is not None:
            texts = plain_texts(raws)
            if texts is not None and character_data(headers):
                # The bytes cut out (each empty header's NUL counted back) bound every value: past Excel's limit,
                # cut as the parse cuts.
                if len(xml) - len(skeleton) + len(headers) > MAX_TEXT:
                    texts = [text[:MAX_TEXT] for text in texts]
                return known.facts(texts)
    key = hash(skeleton) if skeleton is not None else None
    learn = (
        key is not None and key in _SEEN and key not in _TRIED
    )  # met twice: worth learning (one template, one writer)
    if key is not None and not learn:
        _SEEN.keep(key, True)
    if not learn:  # read the plain way when the parse proves it (xltool.formats._plaindata)
        plain = read_plain(xml, window, part)
        if plain is not None:
            return plain
    offsets: list[int] | None = [] if learn else None
    header_at: list[int] | None = [] if learn else None
    facts = parse_sheet(xml, window, part, offsets, header_at=header_at)
    if learn:
        _TRIED.keep(key, True)
        _learn(xml, skeleton, raws, offsets or [], facts, headers, header_at or [])
    return facts


class _Known:
    """What a learnt skeleton says: the facts of every sheet that has it, and which cell each <v> belongs to."""

    __slots__ = (
        "embedded",
        "formulas",
        "hidden_cols",
        "hidden_rows",
        "merges",
        "protected",
        "rules",
        "slots",
        "unsafe",
    )

    def __init__(self, facts: SheetFacts, slots: list[tuple[int, int, int, str]]) -> None:
        self.formulas = dict(facts.formulas.items())
        self.unsafe, self.merges, self.rules = tuple(facts.unsafe), tuple(facts.merges), tuple(facts.unsafe_rules)
        self.protected, self.embedded = facts.protected, facts.embedded
        self.hidden_rows, self.hidden_cols = frozenset(facts.hidden_rows), frozenset(facts.hidden_cols)
        self.slots = slots

    def facts(self, texts: list[str]) -> SheetFacts:
        facts = SheetFacts(
            protected=self.protected,
            embedded=self.embedded,
            hidden_rows=set(self.hidden_rows),
            hidden_cols=set(self.hidden_cols),
            merges=list(self.merges),
            unsafe=list(self.unsafe),
            unsafe_rules=list(self.rules),
        )
        facts.formulas.update(self.formulas)
        facts.cells = Cells(self.slots, texts, "utf-8")
        return facts


_KNOWN: dict[bytes, _Known] = {}
_LEARNT_SLOTS: set[int] = set()  # ids of the learnt skeletons' slot lists (kept alive by _KNOWN)


def is_learnt(slots: list) -> bool:
    """True for the slot list of a learnt skeleton (shared by every sheet read through it)."""
    return id(slots) in _LEARNT_SLOTS and any(k.slots is slots for k in _KNOWN.values())


_SEEN = Memo(MAX_SKELETONS * 8)  # hashes of skeletons met once
_TRIED = Memo(MAX_SKELETONS * 8)  # hashes of skeletons parsed to be learnt (learnt, or found not learnable)


def _skeleton(xml: bytes, window: tuple[int, int]) -> tuple[bytes | None, list[bytes], list[bytes]]:
    """The sheet's skeleton, the raw text of each `<v>…</v>` the byte split finds and of each page header or footer
    after the last `<headerFooter` (a unit's name printed at the top of its pages), in order; (None, [], []) when the
    sheet is not one to learn (a NUL byte would make two skeletons alike; a list sheet is too large to keep)."""
    if len(xml) > MAX_SKELETON_SHEET or window != WINDOW or b"\x00" in xml:
        return None, [], []
    pieces = _VALUE_SPLIT.split(xml)
    skeleton = b"\x00".join(pieces[0::2])
    at = skeleton.rfind(b"<headerFooter")
    if at < 0:
        return skeleton, pieces[1::2], []
    tail = _HEADER_SPLIT.split(skeleton[at:])
    headers = tail[2::3]
    if any(b"\x00" in text for text in headers):  # a value cut inside: not the same text in the sheet itself
        return None, [], []
    tail[2::3] = [b"\x00"] * len(headers)
    return skeleton[:at] + b"".join(tail), pieces[1::2], headers


def _learn(
    xml: bytes,
    skeleton: bytes,
    raws: list[bytes],
    offsets: list[int],
    facts: SheetFacts,
    headers: list[bytes],
    header_at: list[int],
) -> None:
    """Keep a parsed sheet's facts under its skeleton, when the parse proves the split: the document is UTF-8, each
    `<v>` the split found starts exactly where the parser met the value element of a kept cell (none elsewhere: not
    in a comment, CDATA, another element or namespace), every kept cell's value came from one of them, and each text
    decodes to what the parser read; each page header or footer cut starts where the parser met one of the sheet's
    own (text nothing read depends on) and is character data whatever it says. Sheets whose facts depend on their values (error values, unusable values) or
    that hold cells outside the window, cells written twice or inline strings are never learnt."""
    cells = facts.cells
    if (
        not isinstance(cells, Cells)
        or (cells.encoding or "utf-8").lower() != "utf-8"  # expat reads a document declared "utf8" otherwise
        or facts.errors
        or facts.malformed
        or facts.stray
        or facts.duplicates
        or len(_KNOWN) >= MAX_SKELETONS
        or any(kind in ("e", "inlineStr") for _, _, _, kind in cells.slots)
    ):
        return
    if len(offsets) != len(cells.slots) or offsets != [m.start() for m in _VALUE_SPLIT.finditer(xml)]:
        return
    if plain_texts(raws) != cells.texts:
        return
    cut = [m.start() for m in _HEADER_SPLIT.finditer(xml, max(xml.rfind(b"<headerFooter"), 0))] if headers else []
    if len(cut) != len(headers) or not set(cut) <= set(header_at) or not character_data(headers):
        return
    _KNOWN[skeleton] = _Known(facts, cells.slots)
    _LEARNT_SLOTS.add(id(cells.slots))
