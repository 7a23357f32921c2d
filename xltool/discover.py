"""Finding inputs: the files under the paths a user gives, and last year's figures for each unit.

Nothing vanishes: every file in a folder is either read or listed with the reason it is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from xltool import formats, layout
from xltool.labels import norm
from xltool.model import Unit
from xltool.sources import ReadError

IGNORED_REASONS = {
    ".et": "WPS 表格专用格式（.et），请在 WPS 中另存为 .xlsx 后再报送",
    ".wps": "WPS 文字专用格式（.wps），请另存为 .docx",
    ".doc": "旧版 Word 格式（.doc），请另存为 .docx",
    ".pdf": "PDF 文件无法读取表格数字，请报送 .xlsx 或 .docx",
}


def scan(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to read, and files found in folders that will not be read, each with the reason (nothing vanishes).

    Files named explicitly are always read. In folders, every format a reader takes is read (recursively, sorted);
    Office lock files, hidden files and other formats are listed as ignored.
    """
    readable = formats.suffixes()
    files: list[Path] = []
    ignored: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        for f in sorted(f for f in p.rglob("*") if f.is_file()):
            suffix = f.suffix.lower()
            if f.name.startswith("~$"):
                ignored.append((f, "Office 临时锁定文件（文件正在被打开），不是报表"))
            elif f.name.startswith("."):
                ignored.append((f, "隐藏文件，未读取"))
            elif suffix in readable:
                files.append(f)
            else:
                ignored.append((f, IGNORED_REASONS.get(suffix, f"不是报表文件（{suffix or '无扩展名'}），未读取")))
    return files, ignored


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """The files `scan` would read."""
    return scan(paths)[0]


# --- last year ----------------------------------------------------------------------------------------------------


@dataclass
class LastYear:
    """One unit's figures from last year, and where they came from."""

    values: dict[str, Decimal]
    source: str
    form_id: str  # last year's form


def load_previous(path: Path) -> dict[str, LastYear]:
    """Last year's figures per unit (keys "code:…" and "name:…"): from returns, from a roll-up's 明细 sheet (one entry
    per unit) and the roll-up itself (its own unit), or a folder of any of these. A lone return is also kept as "only"."""
    from xltool.assemble import assemble, read_page

    out: dict[str, LastYear] = {}
    files = expand([path])
    for file in files:
        try:
            page = read_page(file)
            ret = assemble(page)
        except ReadError:
            continue
        values = {k: v for k, v in ret.values.items() if isinstance(v, Decimal)}
        if ret.meta.get("kind") == layout.ROLLUP_KIND and layout.DETAIL_SHEET in page.sheet_names:
            for unit, unit_values in _detail_rows(page.sheet(layout.DETAIL_SHEET)):
                _index(out, unit, LastYear(unit_values, f"{file.name}（明细）", ret.form.id))
        _index(out, ret.unit, LastYear(values, file.name, ret.form.id))
        if len(files) == 1 and ret.meta.get("kind") != layout.ROLLUP_KIND:  # one unit's own file: pair it with any
            out["only"] = LastYear(values, file.name, ret.form.id)
    return out


def find_last_year(last_year: dict[str, LastYear], unit: Unit, any_unit: bool = True) -> LastYear | None:
    """This unit's figures: by code, then by name; a lone last-year return matches any unit unless `any_unit` is off."""
    found = last_year.get("code:" + unit.code) if unit.code else None
    found = found or last_year.get("name:" + norm(unit.name))
    return found or (last_year.get("only") if any_unit else None)


def _index(out: dict[str, LastYear], unit: Unit, last: LastYear) -> None:
    if unit.code:
        out["code:" + unit.code] = last
    if unit.name:
        out["name:" + norm(unit.name)] = last


def _detail_rows(rows: list[list[object]]) -> list[tuple[Unit, dict[str, Decimal]]]:
    """A roll-up's 明细 sheet: one row per unit, a column per input key (the key in brackets in the header)."""
    if not rows:
        return []
    keys = [h.rsplit("[", 1)[-1].rstrip("]") if isinstance(h, str) and "[" in h else None for h in rows[0]]
    out = []
    for row in rows[1:]:
        code = row[1] if len(row) > 1 else ""
        code = str(int(code)) if isinstance(code, float) else str(code or "")
        values = {k: Decimal(repr(v)) for k, v in zip(keys, row, strict=False) if k and isinstance(v, (int, float))}
        out.append((Unit(name=str(row[0] or ""), code=code), values))
    return out
