"""Compare labels the way a person does: ignore spaces and line breaks, ASCII vs full-width, and known typos.

The known variants and typos belong to the forms (`aliases:` in each form file); every loaded form adds its own here,
so a label is recognised whichever version's wording or typo a township used.
"""

from __future__ import annotations

import re
import unicodedata

from xltool.memo import Memo

_ALIASES: dict[str, str] = {}  # normalised variant -> normalised official label, from every loaded form
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "、": "、", "，": ","})


def add_aliases(aliases: dict[str, str]) -> None:
    """Called by the form loader with a form's aliases (already normalised)."""
    _ALIASES.update(aliases)


_SEEN = Memo(20_000)  # text -> its canonical form without aliases (labels recur in every file)
_SHORT = 200  # longer texts are not remembered


def norm(text: object, aliases: bool = True) -> str:
    """Canonical form: NFKC (full-width → ASCII punctuation and digits), no whitespace, straight quotes, aliases."""
    if text is None:
        return ""
    text = str(text)
    s = _SEEN.get(text)
    if s is None:
        s = unicodedata.normalize("NFKC", text).translate(_QUOTES)
        s = _SPACE.sub("", s).replace("\u200b", "")
        s = s.replace("【", "[").replace("】", "]")
        if len(text) <= _SHORT:
            _SEEN.keep(text, s)
    return _ALIASES.get(s, s) if aliases else s


def same(a: object, b: object) -> bool:
    return norm(a) == norm(b)
