"""File names made from unit names: legal on Windows (where county offices work), short enough for every file system,
unable to leave their folder; and command-line text that is not valid UTF-8."""

from __future__ import annotations

import hashlib
import re

# Windows device names, whatever the case and with any extension ("nul.xlsx" is the device too); COM0/LPT0 and the
# superscript digits ¹²³ are devices as well.
_RESERVED = re.compile(r"^(con|prn|aux|nul|conin\$|conout\$|clock\$|com[0-9¹²³]|lpt[0-9¹²³])$", re.IGNORECASE)
# Characters Windows forbids, control characters (C0, DEL, C1), bidi embeddings/overrides/isolates (they would make
# a name read backwards, hiding its real extension) and lone surrogates (not encodable).
_UNSAFE = re.compile('[\\\\/:*?"<>|\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]')

# A file name is at most 255 bytes (ext4) or 255 UTF-16 units (NTFS). Keep the stem well below that so a caller can
# add "（2）", "（已标注）" and an extension.
MAX_STEM_BYTES = 180
HASH_CHARS = 8


def safe_filename(name: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    """A file name (stem) that cannot leave its folder and is legal on Windows, Linux and macOS: no /\\:*?"<>|, no
    control or bidi characters, no device name (CON, NUL, COM1, LPT¹, CONIN$ …, with or without extension), no
    trailing dots or spaces, and at most `max_bytes` UTF-8 bytes. A longer name is cut and ends in "~" and the first
    8 hex digits of the SHA-256 of the full name, so names sharing a long prefix stay apart and a name always gives the
    same file."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    if _RESERVED.match(cleaned.split(".", 1)[0].rstrip(" ")):
        cleaned = "_" + cleaned
    if len(cleaned.encode("utf-8")) > max_bytes:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
        budget = max_bytes - len(digest) - 1
        cut = cleaned.encode("utf-8")[:budget].decode("utf-8", "ignore")  # never half a character
        cleaned = f"{cut.rstrip(' .')}~{digest}"
    return cleaned or "未命名"


def undecodable(text: str) -> bool:
    """True for text that is not valid Unicode: a command-line argument or file name that was not valid UTF-8 arrives
    with its bad bytes as lone surrogates (U+DC80–U+DCFF), which cannot be shown, written into a workbook or saved."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def template_stem(unit: str, year: int) -> str:
    """A template's file name (without suffix), the same for one unit's and each roster unit's workbook: the unit and
    the report year, so a folder of several years' files stays apart (某某镇人民政府2025年度政府信息公开工作年度报告统计表)."""
    return safe_filename(f"{unit}{year}年度政府信息公开工作年度报告统计表")
