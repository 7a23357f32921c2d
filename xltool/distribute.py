"""One personalised workbook per unit of a roster, optionally pre-filled from last year's returns or roll-up."""

from __future__ import annotations

import csv
import os
from decimal import Decimal
from pathlib import Path

from xltool import formats, safewrite
from xltool.discover import LastYear, find_last_year
from xltool.filenames import template_stem
from xltool.formats.csv import escape_formula
from xltool.forms import Form, form_for_year
from xltool.model import Return, Unit
from xltool.oserrors import describe
from xltool.roster import RosterEntry
from xltool.template import Personal

WRITTEN = "已生成"
INDEX_COLUMNS = ["单位", "代码", "类型", "文件", "上年数据", "结果"]


def personalise(
    roster: list[RosterEntry],
    year: int,
    out_dir: Path,
    previous: dict[str, LastYear] | None = None,
    fmt: str = "xlsx",
    password: str | None = None,
    form: Form | None = None,
) -> list[dict[str, str]]:
    """Write one workbook per roster unit into out_dir; return the index rows (also written to 索引.csv).

    A workbook that cannot be written (a name the file system refuses, a full disk, text no workbook can hold) does
    not stop the others: its row says why in 结果 (WRITTEN for the others). Only a folder or index that cannot be
    written raises OSError.
    """
    form = form or form_for_year(year)
    out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    index = []
    for entry in roster:
        last = None
        path = out_dir / f"{_unique_stem(entry, year, used)}.{fmt}"
        try:
            unit = Unit(name=entry.name, code=entry.code, scope="本机关")
            ret = Return(form, year, unit)
            personal = Personal(lock_unit=True)
            # Never "only": a roster names its units, so a lone last-year file is not paired with every one of them.
            last = find_last_year(previous, Unit(entry.name, entry.code), any_unit=False) if previous else None
            if last is not None:
                _prefill(ret, personal, last)
            if Path(os.path.abspath(path)).parent != Path(os.path.abspath(out_dir)):
                raise ValueError("文件名不安全")
            # whole or not at all (safewrite): a failed unit leaves its old workbook, or none, and no temporary
            formats.writer_for("workbook", path).write(ret, path, password=password, personal=personal)
            result = WRITTEN
        except OSError as exc:  # one unit's workbook must not stop the others; the index says what happened
            result = f"未生成：无法写出文件（{describe(exc)}）"
        except Exception as exc:  # text a workbook cannot hold, a writer's own error
            result = f"未生成：{exc}"
        index.append(
            {
                "单位": entry.name,
                "代码": entry.code,
                "类型": entry.type,
                "文件": path.name,
                "上年数据": last.source if last else "",
                "结果": result,
            }
        )
    with safewrite.opened(out_dir / "索引.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=INDEX_COLUMNS)
        w.writeheader()
        w.writerows({k: escape_formula(v) for k, v in row.items()} for row in index)
    return index


def _unique_stem(entry: RosterEntry, year: int, used: set[str]) -> str:
    """The unit's file name (without suffix; its name and the year), distinct (ignoring case, as Windows does) from
    those already used: a name given twice in the roster gets its code, then a number."""
    stem = template_stem(entry.name or entry.code, year)
    if stem.lower() in used and entry.code and entry.name:
        stem = template_stem(f"{entry.name}（{entry.code}）", year)
    n = 2
    base = stem
    while stem.lower() in used:
        stem, n = f"{base}（{n}）", n + 1
    used.add(stem.lower())
    return stem


def _prefill(ret: Return, personal: Personal, last: LastYear) -> None:
    """Fill what the form's cross-year rules say last year gives this year (e.g. 上年结转 = last year's 结转下年度,
    locked, with a note) and show last year's figures the other cross-year rules read (for reference)."""
    form = ret.form
    for carry in form.carry_overs:
        cell = form.cell.get(carry.target)
        value = last.values.get(carry.source)
        if cell is None or not isinstance(value, Decimal):
            continue
        if carry.kind == "prefill" and cell.is_input:
            source_label = form.cell[carry.source].label_path[0] if carry.source in form.cell else carry.source
            ret.values[carry.target] = value
            personal.prefilled[carry.target] = (
                f"已按上年报表（{last.source}）“{source_label}”预填：{value.normalize():f}。"
                "如有误，请联系县政务公开办。"
            )
        elif carry.kind == "reference":
            personal.references[carry.target] = value
            personal.reference_title = f"上年{form.cell[carry.target].label_path[-1]}（参考）"
