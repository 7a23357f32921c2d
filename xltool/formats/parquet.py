"""Parquet (needs pyarrow): a roll-up's long table for analysts."""

from __future__ import annotations

from pathlib import Path

from xltool import safewrite
from xltool.formats import Writer


def write_export(frame, path: Path) -> Path:
    with safewrite.replacing(path) as tmp:
        frame.assign(value=frame["value"].map(lambda v: None if v is None else float(v))).to_parquet(tmp)
    return path


WRITERS = [Writer("export", "parquet", ".parquet", write_export, needs=("pyarrow",), description="长表 Parquet")]
