"""JSON (Chinese kept unescaped): check results (schema in the README) and a roll-up's long table."""

from __future__ import annotations

import json
from pathlib import Path

from xltool.formats import Writer


def write_report(reports: list, lang: str = "zh", summary: dict | None = None, version: str = "", **_: object) -> str:
    doc = {"xltool_version": version, "summary": summary or {}, "files": [r.as_dict(lang) for r in reports]}
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str)


def write_export(frame, path: Path) -> Path:
    frame.assign(value=frame["value"].map(lambda v: None if v is None else str(v))).to_json(
        path, orient="records", force_ascii=False, indent=1
    )
    return path


WRITERS = [
    Writer("report", "json", ".json", write_report, description="JSON（供程序读取）"),
    Writer("export", "json", ".json", write_export, description="长表 JSON（金额为精确的文字）"),
]
