"""Reading, the published-report stage: a report's page (text, Markdown, a web page, Word, a PDF with text) into a
Return — the year and unit from its title, each table located by its labels, every number as printed with where it
came from, sub-rows summed, rows with too few or too many numbers left unknown, and the figures its sentences quote
compared with its tables. Printed totals are kept, so the report's own arithmetic is checked."""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal

from xltool import prose
from xltool import rules as rules_mod
from xltool.codes import Code
from xltool.formats.page import Page, at
from xltool.formats.text import NO_HEADER
from xltool.forms import Cell, Form, Table, all_forms
from xltool.labels import norm
from xltool.layout import CELLS_META, KIND_TEXT
from xltool.locate import known_labels, locate
from xltool.model import Invalid, Return, Unit, Value
from xltool.problems import Problem
from xltool.reading import identify
from xltool.sources import ReadError
from xltool.values import BLANKS, is_filled, normalize, value_like


def from_report(page: Page) -> Return:
    """A published report's tables; ReadError when none of them is there. When Tables 三/四 are missing or partly
    unknown as laid out (a converter scrambled them), they are also aligned to the form (xltool.reading.align), and
    the reading that places more of their numbers is kept."""
    try:
        ret, error = _from_page(page), None
    except ReadError as exc:
        ret, error = None, exc
    if ret is None or _known_cells(ret) < _matrix_cells(ret):
        alt = _aligned(page)
        if alt is not None and (ret is None or _known_cells(alt) > _known_cells(ret)):
            ret = alt if ret is None else _combined(page, ret, alt)
    if ret is None:
        assert error is not None
        raise error
    if getattr(page, "ocr", False):
        ret.read_problems += _unconfirmed(ret)
    return ret


def _aligned(page: Page, form: Form | None = None) -> Return | None:
    """Tables 三/四 of the page aligned to the form's row sequence (xltool.reading.align): to `form`, else to the
    version whose rows the text spells best; None when nothing could be placed."""
    from xltool.reading.align import aligned_page

    year, _ = identify.title(page.lines, page.path.stem)
    aligned = aligned_page(page.lines, year, [form] if form is not None else None)
    if aligned is None:
        return None
    aligned.path, aligned.data, aligned.format = page.path, page.data, page.format
    aligned.notes = [n for n in page.notes if not n.startswith("表")] + aligned.notes  # e.g. a scan's note
    try:
        return _from_page(aligned)
    except ReadError:
        return None


def _combined(page: Page, ret: Return, alt: Return) -> Return:
    """The label reading `ret` with each of Tables 三/四 taken from the aligned reading `alt` where that places more.
    When the alignment found the other version's rows, that version's reading is used only if it keeps every table
    the label reading read (Table 二 above all); otherwise Tables 三/四 are aligned to the label reading's version."""
    if alt.form is ret.form:
        return _with_matrix_tables(ret, alt)
    try:
        relabelled = _with_matrix_tables(_from_page(page, alt.form), alt)
    except ReadError:
        relabelled = alt
    if _tables_read(relabelled) >= _tables_read(ret):
        return relabelled
    own = _aligned(page, ret.form)
    if own is not None and _known_cells(own) > 0:
        ret = _with_matrix_tables(ret, own)
    ret.read_problems.append(
        Problem.of(
            Code.LOCATED_BY_LABELS,
            f"读取说明：表三的行与{alt.form.notice}格式更接近，但表{'、'.join(_table_numbers(ret, _tables_read(ret) - _tables_read(relabelled)))}"
            f"是{ret.form.notice}格式；按{ret.form.notice}格式读取，表三、表四按此格式的行序对应；请核对原报告",
        )
    )
    return ret


def _tables_read(ret: Return) -> set[str]:
    """The tables of which at least one number was read."""
    return {
        t.id
        for t in ret.form.tables
        if any(c.key in ret.values and not isinstance(ret.values[c.key], Invalid) for c in t.cells)
    }


def _table_numbers(ret: Return, ids: set[str]) -> list[str]:
    return [t.number for t in ret.form.tables if t.id in ids]


def _unconfirmed(ret: Return) -> list[Problem]:
    """Numbers recognised in a scan that the arithmetic does not confirm (no rule reading the cell passes, or one
    fails): a misread digit shows as a broken sum, so these are the numbers to check against the original."""
    from xltool import rules as expr

    results = [r for r in ret.rule_results() if not r.rule.cross_year]
    reading: dict[str, list[str]] = {}
    for r in results:
        for key in {*expr.refs(r.rule.node), *([r.rule.defines] if r.rule.defines else [])}:
            reading.setdefault(key, []).append(r.outcome)
    out = []
    for table in ret.form.tables:
        doubtful = [
            c
            for c in table.cells
            if isinstance(ret.values.get(c.key), Decimal)
            and ("pass" not in reading.get(c.key, []) or "fail" in reading[c.key])
        ]
        if doubtful:
            shown = "、".join(f"「{_row_name(table, c.key)}」{c.label_path[-1]}" for c in doubtful[:5])
            out.append(
                Problem.of(
                    Code.IMPORT_UNCONFIRMED,
                    f"表{table.number}（{table.title}）：{len(doubtful)} 个文字识别（OCR）读出的数字没有被表内勾稽关系"
                    f"证实（如{shown}），请与原件逐一核对",
                    values={"table": table.number, "cells": [c.key for c in doubtful]},
                )
            )
    return out


def _with_matrix_tables(ret: Return, alt: Return) -> Return:
    """`ret` with each of Tables 三 and 四 (values, cells read, problems) taken from the aligned reading `alt` where
    that places more of its numbers."""
    if alt.form is not ret.form:  # the aligned tables are of another version: all of the aligned reading
        return alt
    better = [t for t in ret.form.tables if t.layout == "matrix" and _known_cells(alt, t) > _known_cells(ret, t)]
    numbers, ids, titles = {t.number for t in better}, {t.id for t in better}, {t.title for t in better}
    keys = {c.key for t in better for c in t.cells}
    ret.values = {k: v for k, v in ret.values.items() if k not in keys}
    ret.values.update({k: v for k, v in alt.values.items() if k in keys})
    ret.unread = (ret.unread - ids) | (alt.unread & ids)
    cells = [c for c in json.loads(ret.meta.get(CELLS_META, "[]")) if c["table"] not in titles]
    cells += [c for c in json.loads(alt.meta.get(CELLS_META, "[]")) if c["table"] in titles]
    ret.meta[CELLS_META] = json.dumps(cells, ensure_ascii=False)

    def about(p: Problem) -> bool:
        return (p.values or {}).get("table") in numbers or any(
            p.message.startswith(f"读取说明：表{n}") for n in numbers
        )

    ret.read_problems = [p for p in ret.read_problems if not about(p)] + [p for p in alt.read_problems if about(p)]
    return ret


def _matrix_cells(ret: Return) -> int:
    return sum(len(t.cells) for t in ret.form.tables if t.layout == "matrix")


def _known_cells(ret: Return, table: Table | None = None) -> int:
    """How many cells of Tables 三 and 四 (or of `table`) hold a number."""
    tables = [table] if table is not None else [t for t in ret.form.tables if t.layout == "matrix"]
    keys = [c.key for t in tables for c in t.cells]
    return sum(1 for k in keys if k in ret.values and not isinstance(ret.values[k], Invalid))


def _from_page(page: Page, form: Form | None = None) -> Return:
    """The page's tables located by their labels, in `form` or the version the labels (or the alignment) say."""
    year, unit = identify.title(page.lines, page.path.stem)
    aligned = getattr(page, "aligned_form", None)  # the version whose row sequence the numbers were aligned to
    form = form or next((f for f in all_forms() if f.id == aligned), None) or identify.choose_form(page.grid, year)
    problems = [
        Problem.of(
            Code.LOCATED_BY_LABELS,
            f"此文件是报告原文（{KIND_TEXT.get(page.format, page.format)}），已按表格标签找到统计表并读取；请核对读取结果",
        )
    ]
    if year is None:
        problems.append(Problem.of(Code.YEAR_UNKNOWN, "无法从报告标题中识别报告年度；请核对标题是否写明“XXXX年”"))
    elif not form.covers(year):
        problems.append(
            identify.form_year_mismatch(form, year, f"此报告的统计表是 {form.notice} 格式；请核对报告年度和表格格式")
        )
    unit = _printed_unit(page, unit, problems)
    if not unit:
        problems.append(Problem.of(Code.UNIT_MISSING, "无法从报告标题中识别报告单位；请核对标题"))
    ret = Return(form, year or 0, Unit(name=unit), source=str(page.path), meta={"source_format": page.format})
    found = [_read_report_table(page, table, ret, problems) for table in form.tables]
    supplied = sorted({w.split("（", 1)[0] for w in page.where.values() if w.endswith(NO_HEADER)})
    if supplied:
        problems.append(
            Problem.of(
                Code.LOCATED_BY_LABELS,
                f"{'、'.join(supplied)}：表格没有表头（或只有“数据1…”这样的通用表头），已按官方表头的列数和顺序读取；"
                "请核对各列是否与官方表格一致",
            )
        )
    if not any(found):
        raise ReadError(
            Code.NOT_A_REPORT,
            "没有找到年报统计表（任何一种已知表单的表格标签都没有找到）；请确认这是年度报告原文",
        )
    problems += _prose_figures(page, ret)
    problems += [Problem.of(Code.LOCATED_BY_LABELS, f"读取说明：{note}") for note in page.notes]
    ret.read_problems = problems
    return ret


def _printed_unit(page: Page, unit: str, problems: list[Problem]) -> str:
    """The unit as the report prints it: the title's; when only the file name gave one, the name printed in the report
    (a 填报单位 line, the signature). A printed name that is not the title's (nor contains it, nor is contained in it:
    another unit, or a slip of OCR or conversion) is kept as printed and noted with both."""
    printed = identify.printed_unit(page.lines)
    if printed is None:
        return unit
    name, line = printed
    in_text = bool(identify.title(page.lines)[1])
    a, b = (re.sub(r"(?:人民政府|政府)$", "", norm(x)) for x in (name, unit))
    if unit and (a in b or b in a):  # the same unit, printed shorter or longer (大罗密镇人民政府 / 方正县大罗密镇)
        return unit
    if unit:
        from xltool.formats._scraped import _edit_distance

        slip = _edit_distance(norm(name), norm(unit)) <= max(1, len(norm(unit)) // 8)
        problems.append(
            Problem.of(
                Code.UNIT_NAME_DIFFERS,
                f"第 {line + 1} 行印的单位名称“{name}”与{'标题' if in_text else '文件名'}中的“{unit}”不一致"
                + ("（相差一两个字，可能是识别或转换错误）" if slip else "")
                + f"，按{'标题' if in_text else '报告正文'}所印的“{unit if in_text else name}”读取；请核对单位全称",
                values={"printed": name, "title": unit, "line": line + 1},
            )
        )
    return unit if in_text else name


def _prose_figures(page: Page, ret: Return) -> list[Problem]:
    """Figures quoted in the report's sentences compared with its tables (the form's `report.figures`, xltool.prose):
    a difference is a warning quoting both."""
    return [
        Problem.of(
            Code.IMPORT_PROSE_MISMATCH,
            f"第 {hit.line + 1} 行正文“{hit.quoted}”，统计表中{hit.what}为 {hit.table_text} {hit.unit}；请核对正文与统计表",
            values={
                "text": hit.quoted,
                "prose": _plain(hit.prose),
                "table": _plain(hit.table),
                "keys": list(hit.figure.keys),
            },
        )
        for hit in prose.quoted_figures(ret, page.lines)
    ]


def printed_rows(ret: Return) -> list[list[object]]:
    """The 原文数值 sheet: table, row, column, key, the number as printed (text, exact), 填报/合计."""
    rows: list[list[object]] = []
    for table in ret.form.tables:
        for cell in table.cells:
            if cell.key not in ret.values:
                continue
            v = ret.values[cell.key]
            text = v.raw if isinstance(v, Invalid) else format(v, "f")
            kind = "填报" if cell.is_input else "合计"
            rows.append([table.title, _row_name(table, cell.key), cell.label_path[-1], cell.key, text, kind])
    return rows


def _read_report_table(page: Page, table: Table, ret: Return, problems: list[Problem]) -> bool:
    """Locate `table` in the page and put its values into `ret`; False when none of it is there."""
    name = f"表{table.number}（{table.title}）"
    located = locate(page.grid, table)
    if not located.positions:
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{name}：报告中没有找到此表（缺少{_quoted(located.missing)}），此表按未填报处理；请核对原报告",
                values={"table": table.number, "missing": located.missing},
            )
        )
        ret.unread.add(table.id)
        return False
    positions = _realigned(page, located.positions)
    used = set(positions.values())
    values: dict[str, Value | None] = {}
    for cell in table.cells:
        if cell.key in positions:
            values[cell.key] = _value(page, cell, positions[cell.key], name, problems)
    if table.layout == "blocks":
        used |= _sub_rows(page, table, positions, values, problems)
    if page.tails is not None:
        used |= _miscounted_rows(page, table, positions, values, name, problems)
    blank = [c for c in table.cells if c.key in positions and values.get(c.key) is None]
    if blank and table.layout == "matrix":
        blank = _counted_as_zero(page, ret.form, table, positions, values, blank, name, problems)
    if blank:
        where = _where(page, positions[blank[0].key])
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{where}：{name}有 {len(blank)} 格印为空白（如「{_row_name(table, blank[0].key)}」"
                f"{blank[0].label_path[-1]}），按空白处理，不按 0 计算，相关校验无法判断；请核对原报告",
                values={"table": table.number, "blank": [c.key for c in blank]},
            )
        )
        for c in blank:
            values[c.key] = Invalid("", "报告中此格为空白（没有印数字）")
    missing = [c for c in table.cells if c.key not in positions]
    if missing:
        labels = located.missing or sorted({" / ".join(c.label_path[:-1]) for c in missing})
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{name}不完整：没有找到{_quoted(labels)}（共 {len(missing)} 格），这些格按无法判断处理，"
                "不按 0 计算；请核对原报告是否被截断",
                values={"table": table.number, "missing": labels},
            )
        )
        for c in missing:
            values[c.key] = Invalid("", "报告中没有这一项（表格不完整）")
    ret.values.update({k: v for k, v in values.items() if v is not None})
    cells = json.loads(ret.meta.get(CELLS_META, "[]"))
    for cell in table.cells:
        if cell.key in positions:
            pos = positions[cell.key]
            raw = at(page.grid, *pos, blank_as_none=False)
            cells.append(
                {
                    "table": table.title,
                    "row": _row_name(table, cell.key),
                    "column": cell.label_path[-1],
                    "key": cell.key,
                    "value": _plain(ret.values.get(cell.key))
                    if not isinstance(ret.values.get(cell.key), Invalid)
                    else None,
                    "printed": "" if raw is None else str(raw).strip(BLANKS),
                    "where": page.where.get(pos) or _where(page, pos),
                }
            )
    ret.meta[CELLS_META] = json.dumps(cells, ensure_ascii=False)
    _unplaced(page, table, used, name, problems)
    return True


def _counted_as_zero(
    page: Page, form, table: Table, positions: dict, values: dict, blank: list[Cell], name: str, problems: list[Problem]
) -> list[Cell]:
    """Blank cells that can only be 0, decided per table in one of two ways (a table that prints no 0 at all, or blanks
    the table's own arithmetic fixes at 0), with one representation for both: they stay blank cells — the printed
    blank stays visible as blank in the Return, the imported workbook and the JSON cells, never a stored 0 — and the
    rules count them as 0, as the form counts any blank (`blank: zero`); one VALUE-NORMALISED note says which cells and
    why. A blank 总计 over non-zero cells is a total not printed: computed from its cells, said in the same note.
    Returns the cells still blank (unknown)."""
    decided = _no_zero_printed(form, table, values, blank) or _forced_zeros(form, table, values, blank)
    if decided is None:
        return blank
    zero, computed, reason, rules = decided
    first = next(c for c in blank if c.key in zero or c.key in computed)
    problems.append(
        Problem.of(
            Code.VALUE_NORMALISED,
            f"{_where(page, positions[first.key])}：{name}有 {len(zero)} 个空白格（如「{_row_name(table, first.key)}」"
            f"{first.label_path[-1]}）保持空白，校验时按 0 计算：{reason}"
            + (f"；{len(computed)} 个空白的合计格按未印处理，由各项计算" if computed else "")
            + "；请核对原报告",
            values={"table": table.number, "zero": sorted(zero), "computed": sorted(computed), "rules": rules},
        )
    )
    return [c for c in blank if c.key not in zero and c.key not in computed]


def _no_zero_printed(form, table: Table, values: dict, blank: list[Cell]):
    """A table that prints zero as a blank: no 0 anywhere in it, and with its blank cells counted as 0 (a blank 总计
    over non-zero cells computed from them, as not printed) every rule of the table holds. (zero keys, computed
    totals, reason, rules) for _counted_as_zero, or None."""
    numbers = {k: v for k, v in values.items() if isinstance(v, Decimal)}
    if any(v == 0 for v in numbers.values()) or any(isinstance(v, Invalid) for v in values.values()):
        return None
    trial = Return(form, 0, values=dict(numbers))  # the blanks as they will be: absent, counted as 0 by the rules
    zero = {c.key for c in blank if c.is_input}
    computed = set()
    for c in blank:
        if not c.is_input:
            total = trial.safe_value(c.key)
            if total is None:
                return None
            (zero if total == 0 else computed).add(c.key)
    results = [r for r in trial.rule_results() if set(r.rule.tables) == {table.id}]
    if not results or any(r.outcome in ("fail", "undetermined") for r in results):
        return None
    return zero, computed, "表中没有印任何 0，只有这些格为 0 时表内各项合计才成立", []


def _forced_zeros(form, table: Table, values: dict, blank: list[Cell]):
    """Blank cells the table's own arithmetic fixes at 0, in a table that prints 0 elsewhere: an equation of sums of
    the table (一＋二＝（七）＋四, （七）＝ the 办理结果 rows, a row's 总计) whose blank cells are all on one side, with
    every other cell a printed number and the printed numbers of both sides already equal. Counts are never negative,
    so each of those blanks can only be 0. Repeated while it fixes more (a blank row's 总计 once its cells are fixed).
    (zero keys, no computed totals, reason, rules) for _counted_as_zero, or None."""
    numbers = {k: v for k, v in values.items() if isinstance(v, Decimal)}
    open_ = {c.key for c in blank if not c.type.signed}
    forced: dict[str, str] = {}  # key -> the rule that fixes it
    rules = [
        r
        for r in form.rules
        if set(r.tables) == {table.id} and r.severity == "error" and r.tolerance == 0 and not r.cross_year
    ]
    progress = True
    while progress:
        progress = False
        for rule in rules:
            node = rule.node
            if not isinstance(node, rules_mod.Compare) or node.op != "==":
                continue
            left, right = _plus_terms(node.left), _plus_terms(node.right)
            if left is None or right is None:
                continue
            for side, other in ((left, right), (right, left)):
                unknown = [k for k in side if k in open_]
                if not unknown or any(k in open_ for k in other):
                    continue
                if any(k not in numbers for k in side + other if k not in open_):
                    continue
                if sum(numbers[k] for k in other) == sum(numbers[k] for k in side if k not in open_):
                    for k in unknown:
                        numbers[k], forced[k] = Decimal(0), rule.id
                    open_ -= set(unknown)
                    progress = True
    if not forced:
        return None
    fixing = sorted(set(forced.values()))
    reason = f"表内勾稽关系（{'、'.join(fixing[:3])}{'…' if len(fixing) > 3 else ''}）中其余各项已经相等，件数不能为负，这些格只能为 0"
    return set(forced), set(), reason, fixing


def _plus_terms(node) -> list[str] | None:
    """The keys a sum adds (Ref, Sum, +); None for anything else (a difference, a constant)."""
    if isinstance(node, rules_mod.Ref):
        return [node.key]
    if isinstance(node, rules_mod.Sum):
        return [r.key for r in node.refs]
    if isinstance(node, rules_mod.BinOp) and node.op == "+":
        left, right = _plus_terms(node.left), _plus_terms(node.right)
        return None if left is None or right is None else left + right
    return None


def _realigned(page: Page, positions: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Word tables sometimes merge a data row differently from its header (spec §3.1: header 2 | 3–4 | 5, data
    2–3 | 4 | 5), hiding a column's position under the merge from its left: the value is then the one filled cell
    between that position and the table's next column."""
    out = dict(positions)
    columns: dict[int, list[int]] = {}
    for r, c in positions.values():
        columns.setdefault(r, []).append(c)
    for key, (r, c) in positions.items():
        if (r, c) not in page.covered:
            continue
        after = min((x for x in columns[r] if x > c), default=len(page.grid[r]))
        filled = [x for x in range(c + 1, after) if is_filled(page.grid[r][x])]
        if len(filled) == 1:
            out[key] = (r, filled[0])
    return out


def _value(page: Page, cell: Cell, pos: tuple[int, int], name: str, problems: list[Problem]) -> Value | None:
    raw = at(page.grid, *pos, blank_as_none=False)
    text = raw.strip(BLANKS) if isinstance(raw, str) else raw  # padding around a number is layout
    text, unit_note = _unit(text, cell)
    value, note = normalize(text, cell.type)
    note = "；".join(filter(None, [unit_note, note])) or None
    if note and not isinstance(value, Invalid):
        problems.append(
            Problem.of(
                Code.VALUE_NORMALISED,
                f"{_where(page, pos)}：{name} {cell.label}：{note}",
                values={"raw": raw, "key": cell.key},
            )
        )
    return value


_WITH_UNIT = re.compile(r"^([+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+))\s*(万元|元|件|个|项|条)$")


def _unit(text: object, cell: Cell) -> tuple[object, str | None]:
    """A number printed with its unit: 万元 and 件/个/项/条 dropped, an amount in 元 turned into 万元 (the form's unit),
    each with a note; anything else unchanged (and read, or refused, as it is)."""
    if not isinstance(text, str):
        return text, None
    m = _WITH_UNIT.match(unicodedata.normalize("NFKC", text))
    if m is None:
        return text, None
    number, unit = m.group(1).replace(",", ""), m.group(2)
    amount = cell.type.name == "amount" and cell.type.unit == "万元"
    if unit == "元" and amount:
        wan = (Decimal(number) / 10000).normalize()
        return format(wan, "f"), f"“{text}”按 {format(wan, 'f')} 万元读取（原文单位为元，已换算为万元）"
    if (unit == "万元") == amount:
        return number, f"“{text}”去掉单位“{unit}”后读取"
    return text, None  # a unit the cell does not take: read as printed (and refused)


def _sub_rows(page: Page, table: Table, positions: dict, values: dict, problems: list[Problem]) -> set:
    """Table 二 rows split into local sub-rows (北京: 行政检查, 行政确认 under 其他对外管理服务事项): sum them, keep them."""
    grid, known, used = page.grid, known_labels(), set()
    rows: dict[str, list[Cell]] = {}
    for cell in table.cells:
        if cell.key in positions:
            rows.setdefault(cell.key.rsplit(".", 1)[0], []).append(cell)
    for cells in rows.values():
        label = cells[0].label_path[1]
        r = positions[cells[0].key][0]
        cols = [positions[c.key][1] for c in cells]
        first = min(cols)
        subs = [v for v in grid[r][:first] if is_filled(v) and norm(v) != norm(label) and not value_like(str(v))]
        if len(subs) != 1:
            continue
        parts = [(r, subs[0])]
        for rr in range(r + 1, len(grid)):
            left = [v for v in grid[rr][:first] if is_filled(v)]
            if (
                len(left) != 1
                or norm(left[0]) in known.labels
                or not any(is_filled(at(grid, rr, c, blank_as_none=False)) for c in cols)
            ):
                break
            parts.append((rr, left[0]))
        extra: dict[str, list] = {}
        for rr, sub in parts:
            read = [
                normalize(_strip(at(grid, rr, c, blank_as_none=False)), c_.type)[0]
                for c, c_ in zip(cols, cells, strict=True)
            ]
            extra[label + "/" + re.sub(r"\s+", "", sub)] = [_plain(v) for v in read]
            used.update((rr, c) for c in range(len(grid[rr])) if is_filled(grid[rr][c]))
            for c_, v in zip(cells, read, strict=True):
                values[c_.key] = _add(values.get(c_.key) if rr != r else None, v)
        names = "、".join(k.split("/", 1)[1] for k in extra)
        problems.append(
            Problem.of(
                Code.IMPORT_EXTRA_ROWS,
                f"{_where(page, (r, first))}：表{table.number}「{label}」分为 {len(extra)} 个细分行（{names}），"
                "已相加计入该行；细分行的数字见本条提示",
                values={"row": label, "columns": [c.label_path[-1] for c in cells], "rows": extra},
            )
        )
    return used


def _add(total: Value | None, v: Value | None) -> Value | None:
    if v is None:
        return total
    if total is None:
        return v
    if isinstance(total, Invalid) or isinstance(v, Invalid):
        raws = [x.raw if isinstance(x, Invalid) else _plain(x) for x in (total, v)]
        return Invalid(" + ".join(map(str, raws)), "细分行中有不是数字的内容，无法相加")
    return total + v


def _miscounted_rows(
    page: Page, table: Table, positions: dict, values: dict, name: str, problems: list[Problem]
) -> set:
    """Text rows with more or fewer numbers than columns: which number belongs where is unknown, so none is read."""
    assert page.tails is not None
    used: set = set()
    by_row: dict[int, list[str]] = {}
    for key, (r, _) in positions.items():
        by_row.setdefault(r, []).append(key)
    for r, keys in sorted(by_row.items()):
        got = page.tails.get(r, 0)
        if got == len(keys):
            continue
        texts = [str(v).strip(BLANKS) for v in page.grid[r] if is_filled(v)]
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{_where(page, (r, 0))}：{name}「{_row_name(table, keys[0])}」有 {got} 个数，"
                f"应有 {len(keys)} 个，无法确定各数所在的列，此行按无法判断处理；请核对原报告",
                values={"table": table.number, "texts": texts},
            )
        )
        for key in keys:
            values[key] = Invalid(" ".join(texts), "此行数字个数不对，无法确定所在的列")
        used.update((r, c) for c, v in enumerate(page.grid[r]) if is_filled(v))
    return used


def _row_name(table: Table, key: str) -> str:
    """The printed row label of a cell key, e.g. （四）无法提供 1.本机关不掌握相关政府信息."""
    if table.layout == "blocks":
        return next(c.label_path[1] for c in table.cells if c.key == key)
    paths = [p for rk, p in table.row_paths.items() if rk and key.startswith(f"{table.id}.{rk}.")]
    path = max(paths, key=len, default=())
    return " ".join(path[1:] or path) or "数据行"


def _unplaced(page: Page, table: Table, used: set, name: str, problems: list[Problem]) -> None:
    """Report every other non-empty cell between the table's first and last located rows, with its text."""
    rows = [r for r, _ in used]
    labels = {norm(lb.text) for lb in table.labels} | {norm(table.title)}
    for r in range(min(rows), min(max(rows) + 1, len(page.grid))):
        stray = [
            (c, v) for c, v in enumerate(page.grid[r]) if is_filled(v) and (r, c) not in used and norm(v) not in labels
        ]
        if stray:
            texts = [str(v).strip(BLANKS) for _, v in stray]
            problems.append(
                Problem.of(
                    Code.IMPORT_UNPLACED,
                    f"{_where(page, (r, stray[0][0]))}：{name}中的{_quoted(texts)}无法对应到表格的行和列，"
                    "未读入；请核对原报告",
                    values={"table": table.number, "texts": texts},
                )
            )


# --- small helpers --------------------------------------------------------------------------------------------------


def _strip(v: object) -> object:
    return v.strip(BLANKS) if isinstance(v, str) else v


def _where(page: Page, pos: tuple[int, int]) -> str:
    """Where a grid cell came from; for an empty cell, where the first filled cell of its row came from."""
    r = pos[0]
    width = len(page.grid[r]) if r < len(page.grid) else 0
    return page.where.get(pos) or next((page.where[(r, c)] for c in range(width) if (r, c) in page.where), "报告中")


def _plain(v: Value | None) -> object:
    """A value as plain JSON data: whole numbers as int, other decimals as text, unusable text as printed."""
    if v is None:
        return None
    if isinstance(v, Invalid):
        return v.raw
    return int(v) if v == v.to_integral_value() else format(v, "f")


def _quoted(texts: list[str], limit: int = 6) -> str:
    shown = "".join("“" + re.sub(r"\s+", "", t) + "”" for t in texts[:limit])
    return shown + (f"等 {len(texts)} 项" if len(texts) > limit else "")
