"""JSON (Chinese kept unescaped): check results (schema in the README) and a roll-up's long table."""

from __future__ import annotations

import json
import re
from pathlib import Path

from xltool.formats import Writer


def write_report(reports: list, lang: str = "zh", summary: dict | None = None, version: str = "", **_: object) -> str:
    doc = {"xltool_version": version, "summary": summary or {}, "files": [r.as_dict(lang) for r in reports]}
    return _UNSAFE.sub(
        lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(doc, ensure_ascii=False, indent=2, default=str)
    )


# C1 controls, bidi overrides and line separators stay escaped (\u202e): the JSON is the same, a terminal is safe.
_UNSAFE = re.compile("[\u0080-\u009f\u200e\u200f\u061c\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def write_export(frame, path: Path) -> Path:
    frame.assign(value=frame["value"].map(lambda v: None if v is None else str(v))).to_json(
        path, orient="records", force_ascii=False, indent=1
    )
    return path


WRITERS = [
    Writer("report", "json", ".json", write_report, description="JSON（供程序读取）"),
    Writer("export", "json", ".json", write_export, description="长表 JSON（金额为精确的文字）"),
]
