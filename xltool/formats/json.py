"""JSON (Chinese kept unescaped): check results (schema in the README) and a roll-up's long table."""

from __future__ import annotations

import json
import re
from pathlib import Path

from xltool import safewrite
from xltool.formats import Writer


def write_report(
    reports: list, lang: str = "zh", summary: dict | None = None, version: str = "", out=None, **_: object
) -> str | None:
    """The report as one JSON document; with `out` (anything with write(str)) it is written there one file at a time
    and None is returned, so checking 100,000 files never holds the whole document (the text is the same)."""
    if out is None:
        doc = {"xltool_version": version, "summary": summary or {}, "files": [r.as_dict(lang) for r in reports]}
        return _safe(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
    head = {"xltool_version": version, "summary": summary or {}}
    text = json.dumps(head, ensure_ascii=False, indent=2, default=str)
    out.write(_safe(text[: text.rindex("}")].rstrip("\n")) + ',\n  "files": [')
    count = 0
    for r in reports:
        item = json.dumps(r.as_dict(lang), ensure_ascii=False, indent=2, default=str).replace("\n", "\n    ")
        out.write(("," if count else "") + "\n    " + _safe(item))
        count += 1
    out.write("\n  ]\n}\n" if count else "]\n}\n")
    return None


def _safe(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


# C1 controls, bidi overrides and line separators stay escaped (\u202e): the JSON is the same, a terminal is safe.
_UNSAFE = re.compile("[\u0080-\u009f\u200e\u200f\u061c\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def write_export(frame, path: Path) -> Path:
    with safewrite.replacing(path) as tmp:
        frame.assign(value=frame["value"].map(lambda v: None if v is None else str(v))).to_json(
            tmp, orient="records", force_ascii=False, indent=1
        )
    return path


WRITERS = [
    Writer("report", "json", ".json", write_report, description="JSON（供程序读取）"),
    Writer("export", "json", ".json", write_export, description="长表 JSON（金额为精确的文字）"),
]
