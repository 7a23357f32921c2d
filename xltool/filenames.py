"""File names made from unit names: legal on Windows (where county offices work) and unable to leave their folder."""

from __future__ import annotations

import re

_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.IGNORECASE)


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder and is legal on Windows (no /\\:*?"<>|, no CON/NUL…)."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(" .")
    if _RESERVED.match(cleaned):
        cleaned = "_" + cleaned
    return cleaned[:100] or "未命名"
