"""Which unit a file, a roster line or a roll-up's 来源 row is: decided here once, for duplicates, conflicts, the
roster reconciliation and every count that follows from them.

Two units are the same when both have a code and the normalised codes are equal; when either has no code, when their
normalised names are equal. So a coded return and an uncoded document of the same unit meet, and two units of the
same name with different codes stay apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable

# Every kind of space (NBSP, ideographic, thin …), zero-width characters and the byte-order mark: a name or code
# copied from a web page or a Word document carries them invisibly.
_INVISIBLE = re.compile(r"[\s\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff\u180e]+")


def code_key(code: object) -> str:
    """A unit code as compared: full-width digits and letters folded (NFKC), every space removed, upper case."""
    if not code:
        return ""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(code))).upper()


def name_key(name: object) -> str:
    """A unit name as compared: NFKC (full/half width folded), every space and zero-width character removed."""
    if not name:
        return ""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(name)))


def same_unit(name_a: str, code_a: str, name_b: str, code_b: str) -> bool:
    """The one test of unit identity (raw names and codes)."""
    ca, cb = code_key(code_a), code_key(code_b)
    if ca and cb:
        return ca == cb
    na = name_key(name_a)
    return bool(na) and na == name_key(name_b)


class UnitIndex:
    """Owners (anything hashable) filed under their unit; `find` gives those that are the same unit as a name and code,
    by `same_unit`'s rule, without comparing every pair."""

    def __init__(self) -> None:
        self._by_code: dict[str, list[tuple[Hashable, str]]] = defaultdict(list)
        self._by_name: dict[str, list[tuple[Hashable, str]]] = defaultdict(list)

    def __bool__(self) -> bool:
        return bool(self._by_code or self._by_name)

    def add(self, owner: Hashable, name: str, code: str) -> None:
        ckey, nkey = code_key(code), name_key(name)
        if ckey:
            self._by_code[ckey].append((owner, ckey))
        if nkey:
            self._by_name[nkey].append((owner, ckey))

    def find(self, name: str, code: str) -> list[Hashable]:
        """Owners of the same unit, each once, in the order they were added under the matching key."""
        ckey, nkey = code_key(code), name_key(name)
        hits = [owner for owner, _c in self._by_code.get(ckey, ())] if ckey else []
        if nkey:  # by name only where one side has no code
            hits += [owner for owner, c in self._by_name.get(nkey, ()) if not (ckey and c)]
        return list(dict.fromkeys(hits))


def groups(units: Iterable[tuple[str, str]]) -> list[list[int]]:
    """The positions of `units` (name, code) grouped into units by `same_unit`, joined transitively (an uncoded file
    between two codes joins them: it cannot be told apart); only groups of two or more, in order of first position."""
    units = list(units)
    index = UnitIndex()
    parent = list(range(len(units)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (name, code) in enumerate(units):
        for j in index.find(name, code):
            parent[root(i)] = root(j)  # type: ignore[index]
        index.add(i, name, code)
    out: dict[int, list[int]] = {}
    for i in range(len(units)):
        out.setdefault(root(i), []).append(i)
    return sorted((g for g in out.values() if len(g) > 1), key=lambda g: g[0])
