"""Scraped report pages: the whole body on one (or a few) very long lines, labels glued to run-together digits.

A portal crawler's text extraction of a report page keeps the labels of the statistics tables but drops the cell
borders: ``…一、本年新收政府信息公开申请数量412000043二、上年结转…`` is the row 41 | 2 | 0 | 0 | 0 | 0 | 43. This helper
(called by the text reader, not a reader itself):

1. finds each table's labels in document order — numbering variants ``1.`` ``1、`` ``1．`` ``(1)`` ``⑴``, full or half
   width brackets and punctuation, spaces inside labels — and takes the run of digits between a row's label and the
   next label;
2. splits each run into the row's cells with `xltool.digits`: every Table 三 row's six applicant columns add up to
   its 总计, 一＋二＝（七）＋四 per column, （七）＝ the sum of the 办理结果 rows, each Table 四 总计 = its four; only
   a unique split is kept — otherwise the cells stay unknown (an invalid entry naming the alternatives);
3. builds a clean grid per table, labels and merges exactly as the official form, one number per cell, so
   `xltool.reading` reads it like any other report table.

Notes on what could not be read (near-miss labels, ambiguous or impossible splits) are kept on the page as
``page.notes``.
"""

from __future__ import annotations

import re

from xltool.digits import MAX_DIGITS, Solved, alternatives_text, solve, solve_with, splits
from xltool.formats._report import stacked
from xltool.formats.page import Page
from xltool.forms import TABLE_ROW, Table, all_forms

_CN = "一二三四五六七八九十"
_CIRCLED = "⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽"
_PUNCT = {
    "（": "[（(]",
    "(": "[（(]",
    "）": "[）)]",
    ")": "[）)]",
    "，": "[，,、]?",
    ",": "[，,、]?",
    "、": "[、，,]?",
    "“": '["“”「『]?',
    "”": '["“”」』]?',
    "：": "[：:]",
    "/": "[/／]",
}
_UNKNOWN = "数字粘连无法确定"
_TABLE4_HEAD = re.compile(r"行\s*政\s*复\s*议[、,，\s]*行\s*政\s*诉\s*讼\s*情\s*况")


def is_scraped(text: str) -> bool:
    """The body sits on a very long line holding several Table 三 row labels."""
    for line in text.splitlines():
        if len(line) >= 600:
            flat = re.sub(r"\s+", "", line)
            hits = sum(
                k in flat
                for k in (
                    "本年新收政府信息公开申请数量",
                    "上年结转政府信息公开申请数量",
                    "予以公开",
                    "结转下年度继续办理",
                )
            )
            if hits >= 3:
                return True
    return False


def _prefix(label: str) -> tuple[str, str]:
    """Split a numbering prefix off a label and return (regex for the prefix, rest of the label)."""
    m = re.match(r"^(\d+)\.", label)
    if m:
        d = int(m.group(1))
        circled = _CIRCLED[d - 1] if 0 < d <= len(_CIRCLED) else ""
        alt = f"|{circled}" if circled else ""
        return rf"(?:{d}\s*[.．、。]|[（(]\s*{d}\s*[)）]{alt})\s*", label[m.end() :]
    m = re.match(rf"^（([{_CN}]+)）", label)
    if m:
        n = m.group(1)
        return rf"(?:[（(]\s*{n}\s*[)）]|{n}\s*[、.．])\s*", label[m.end() :]
    m = re.match(rf"^([{_CN}]+)、", label)
    if m:
        n = m.group(1)
        return rf"(?:{n}\s*[、.．]|[（(]\s*{n}\s*[)）])\s*", label[m.end() :]
    return "", label


def label_regex(label: str) -> re.Pattern[str]:
    """A label as printed, tolerant of numbering style, bracket width, dropped commas and spaces between characters."""
    pre, body = _prefix(label)
    parts = [_PUNCT.get(ch, re.escape(ch)) for ch in body]
    return re.compile(pre + r"\s*".join(parts))


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _near_miss(text: str, label: str, start: int, stop: int) -> tuple[int, int] | None:
    """A place in text[start:stop] printing `label` with at most 2 characters wrong (a typo, a variant wording)."""
    _, body = _prefix(label)
    if len(body) < 6:
        return None
    best: tuple[float, int, int] | None = None
    chunk = text[start:stop]
    chars = set(body)
    for i in range(len(chunk)):
        if chunk[i].isdigit() or chunk[i].isspace() or chunk[i] in ".．、()（）":
            continue
        for length in range(len(body) - 2, len(body) + 2):
            cand = chunk[i : i + length]
            if sum(ch in chars for ch in cand) < len(body) - 2:
                continue  # cannot be within 2 edits: skip the quadratic distance
            d = _edit_distance(cand, body)
            after = chunk[i + length : i + length + 1]
            d2 = d + (0 if after[:1].isdigit() or after[:1].isspace() else 0.5)
            if d <= 2 and (best is None or d2 < best[0]):
                best = (d2, start + i, start + i + length)
    if best is None:
        return None
    s, e = best[1], best[2]
    pre, _ = _prefix(label)
    if pre:  # the numbering before the label belongs to it, not to the run of the row before
        m = re.search("(?:" + pre + ")$", text[max(0, s - 8) : s])
        if m:
            s -= len(m.group(0))
    return s, e


class _Scan:
    def __init__(self, text: str) -> None:
        self.text = text
        self.notes: list[str] = []

    def find(self, label: str, pos: int, window: int = 700) -> tuple[int, int] | None:
        m = label_regex(label).search(self.text, pos, pos + max(window, 0))
        if m:
            return m.start(), m.end()
        hit = _near_miss(self.text, label, pos, min(len(self.text), pos + 200))
        if hit:
            self.notes.append(f"标签“{label}”在报告中印作“{self.text[hit[0] : hit[1]]}”（近似匹配）")
        return hit


def _rows(table: Table) -> list[tuple[str, int, bool]]:
    """The table's labels in reading order: (text, form row, holds data on its own row)."""
    data_rows = {c.row for c in table.cells}
    out = []
    for lb in sorted(table.labels, key=lambda lb: (lb.first_row, lb.first_col)):
        if lb.kind not in ("row", "caption"):
            continue
        own = (
            lb.kind == "row"
            and lb.first_row == lb.last_row
            and lb.first_row in data_rows
            and lb.last_col == max(x.last_col for x in table.labels if x.kind == "row" and x.first_row == lb.first_row)
        )
        out.append((lb.text, lb.first_row, own))
    return out


def _runs(scan: _Scan, table: Table, start: int, stop: int, headers: bool = False) -> tuple[dict[int, str | None], int]:
    """The text after each data row's label up to the next label: form row -> run (None: label not found)."""
    labels = _rows(table)
    # Table 二: column headers and the next 第二十条 caption end a run too
    extra = {lb.text for lb in table.labels if lb.kind == "header"} if headers else set()
    found: list[tuple[int, int, int, bool]] = []  # (start, end, row, own)
    pos = start
    for text, row, own in labels:
        hit = scan.find(text, pos, 700 if found else stop - pos)  # the first label may be far from the heading
        if hit and hit[0] < stop:
            found.append((hit[0], hit[1], row, own))
            pos = hit[1]
    runs: dict[int, str | None] = {}
    for k, (_, e, row, own) in enumerate(found):
        if not own:
            continue
        nxt = found[k + 1][0] if k + 1 < len(found) else min(stop, e + 120)
        seg = scan.text[e:nxt]
        if extra:
            cut = min((m.start() for h in extra if (m := label_regex(h).search(seg))), default=len(seg))
            cut = min([cut] + [m.start() for m in re.finditer(r"第\s*二\s*十\s*条", seg)])
            seg = seg[:cut]
        runs[row] = seg
    end = found[-1][1] if found else start
    return runs, end


def _leading_number_text(seg: str) -> str:
    m = re.match(r"[\s\d.+\-－]*(?:万元|元)?", seg)  # 本年增/减 may carry a sign
    return m.group(0) if m else ""


def _grid(table: Table, values: dict[str, str]) -> tuple[list[list[object]], set[tuple[int, int]]]:
    height = table.last_row - TABLE_ROW + 1
    grid: list[list[object]] = [[""] * table.width for _ in range(height)]
    covered: set[tuple[int, int]] = set()
    for lb in table.labels:
        grid[lb.first_row - TABLE_ROW][lb.first_col] = lb.text
        for r in range(lb.first_row, lb.last_row + 1):
            for c in range(lb.first_col, lb.last_col + 1):
                if (r, c) != (lb.first_row, lb.first_col) and c > lb.first_col:
                    covered.add((r - TABLE_ROW, c))
    for cell in table.cells:
        grid[cell.row - TABLE_ROW][cell.col] = values.get(cell.key, "")
        for c in range(cell.col + 1, cell.right + 1):
            covered.add((cell.row - TABLE_ROW, c))
    return grid, covered


def _unknown(alts: list[tuple[int, ...]] | None, col: int, why: str = "") -> str:
    if alts:
        shown = sorted({a[col] for a in alts})
        return f"{_UNKNOWN}（可能是 {' 或 '.join(map(str, shown))}；拆分方式：{alternatives_text(alts)}）"
    return f"{_UNKNOWN}（{why or '数字粘连，无法拆分'}）"


def _fill_solved(
    cells_by_row: dict[int, list], rows: list[int], runs: dict[int, str | None], solved: Solved, values: dict[str, str]
) -> None:
    for i, row in enumerate(rows):
        cells = cells_by_row[row]
        run = runs.get(row)
        if run is None:
            for c in cells:
                values[c.key] = "无法读取（报告中没有找到此行）"
            continue
        if not run.strip():
            continue  # printed blank
        v = solved.values[i]
        for j, c in enumerate(cells):
            if v is None:
                values[c.key] = _unknown(solved.unknown.get(i), j, f"“{run.strip()}”无法拆成 {len(cells)} 个数")
            elif (i, j) in solved.unknown_cells:
                values[c.key] = _unknown(solved.unknown[i], j)
            else:
                values[c.key] = str(v[j])


def _apply_table(scan: _Scan, table: Table, start: int, stop: int) -> tuple[dict[str, str], int, int]:
    """Table 三: (values, rows found, end position)."""
    runs, end = _runs(scan, table, start, stop)
    cells_by_row: dict[int, list] = {}
    for c in sorted(table.cells, key=lambda c: (c.row, c.col)):
        cells_by_row.setdefault(c.row, []).append(c)
    rows = sorted(cells_by_row)
    texts = [_digits_only(runs.get(r)) for r in rows]
    key_row = {cells_by_row[r][0].key.rsplit(".", 1)[0]: i for i, r in enumerate(rows)}
    n = len(cells_by_row[rows[0]])
    constraints = []
    results = [i for k, i in key_row.items() if k.startswith("apply.result.")]
    for col in range(n):
        constraints.append((tuple((i, col) for i in results), (key_row["apply.result_total"], col)))
    names = [next(lb.text for lb in table.labels if lb.first_row == r and lb.last_col == 2) for r in rows]
    solved = solve_with(texts, n, constraints, _balance(key_row), names=names)
    scan.notes.extend(f"表三：{x}" for x in solved.notes)
    values: dict[str, str] = {}
    _fill_solved(cells_by_row, rows, {r: texts[i] for i, r in enumerate(rows)}, solved, values)
    return values, len(runs), end


def _balance(key_row: dict[str, int]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """一＋二＝（七）＋四, in every column."""
    new, carried, total, over = (
        key_row[k] for k in ("apply.new", "apply.carried_in", "apply.result_total", "apply.carried_over")
    )
    return [((total, over), (new, carried))]


def _digits_only(run: str | None) -> str | None:
    if run is None:
        return None
    m = re.match(r"[\d\s]*", run)
    lead = m.group(0) if m else ""
    if run[len(lead) : len(lead) + 1] in (".", "．", "、"):
        # the numbering of a label that was not recognised ('…00000002.其他…'): not a digit of this row
        lead = re.sub(r"\d$", "", lead)  # the forms number sub-rows 1–8
    return lead


def _appeal_table(scan: _Scan, table: Table, start: int, stop: int) -> tuple[dict[str, str], bool]:
    head = _TABLE4_HEAD.search(scan.text, start, stop)
    if not head:
        return {}, False
    pos = head.end()
    for _ in range(3):
        m = re.compile(r"总\s*计").search(scan.text, pos, pos + 400)
        if not m:  # header words lost: the first long run of digits after the heading is the row
            run = re.compile(r"\d[\d\s]{13,}").search(scan.text, head.end(), head.end() + 600)
            if not run:
                return {}, False
            scan.notes.append("表四：表头不完整，按标题后的第一串数字读取")
            pos = run.start()
            break
        pos = m.end()
    run = _digits_only(scan.text[pos : pos + 200]) or ""
    cells = sorted(table.cells, key=lambda c: c.col)
    constraints = [(tuple((0, g * 5 + k) for k in range(4)), (0, g * 5 + 4)) for g in range(3)]
    groups = [(tuple(g * 5 + k for k in range(4)), g * 5 + 4) for g in range(3)]
    solved = solve([run], len(cells), constraints, row_check=lambda v: True, names=["表四"], groups=groups)
    scan.notes.extend(f"表四：{x}" for x in solved.notes)
    values: dict[str, str] = {}
    _fill_solved({0: cells}, [0], {0: run}, solved, values)
    return values, True


def _active_table(scan: _Scan, table: Table, start: int, stop: int) -> tuple[dict[str, str], int]:
    runs, _ = _runs(scan, table, start, stop, headers=True)
    cells_by_row: dict[int, list] = {}
    for c in sorted(table.cells, key=lambda c: (c.row, c.col)):
        cells_by_row.setdefault(c.row, []).append(c)
    values: dict[str, str] = {}
    for row, cells in cells_by_row.items():
        seg = runs.get(row)
        if seg is None:
            scan.notes.append(f"表二：报告中没有“{cells[0].label_path[-2]}”一行")
            for c in cells:
                values[c.key] = "无法读取（报告中没有找到此行）"
            continue
        text = _leading_number_text(seg).strip()
        unit = ""
        if text.endswith("万元"):
            text, unit = text[:-2].strip(), "万元"
        elif text.endswith("元"):
            text, unit = text[:-1].strip(), "元"
        if not text:
            continue
        if len(cells) == 1:
            values[cells[0].key] = text.replace(" ", "")
            continue
        tokens = text.split()
        if len(tokens) == len(cells):
            got = tokens
        elif "." not in text:  # an amount has no digit bound: only a split forced whatever the lengths is kept
            alts = splits(text, len(cells), MAX_DIGITS if all(c.type.whole for c in cells) else len(text))
            if len(alts) == 1:
                got = [str(x) for x in alts[0]]
            else:
                for j, c in enumerate(cells):
                    values[c.key] = _unknown(alts, j, f"“{text}”无法拆成 {len(cells)} 个数")
                if len(alts) > 1:
                    scan.notes.append(f"表二“{cells[0].label_path[-2]}”：“{text}”有 {len(alts)} 种拆分，按无法判断处理")
                continue
        else:
            for c in cells:
                values[c.key] = _unknown(None, 0, f"“{text}”含金额，无法确定各格的分界")
            continue
        for c, t in zip(cells, got, strict=True):
            values[c.key] = t
        if unit == "元":
            amount = [c for c in cells if c.key.endswith(".amount")]
            for c in amount:
                if values.get(c.key) not in ("0", None):
                    values[c.key] = f"{values[c.key]}元"
    return values, len(runs)


def page(text: str) -> Page:
    """The clean page of a scraped report: one official-layout grid per table found."""
    lines = text.splitlines()
    title = [re.sub(r"^\s*(标题|标\s*题)\s*[:：]\s*", "", line) for line in lines[:5]]
    best = None
    for form in all_forms():
        t2, t3, t4 = (next(t for t in form.tables if t.number == n) for n in "二三四")
        m3 = label_regex("申请人情况").search(text) or label_regex("一、本年新收政府信息公开申请数量").search(text)
        s3 = m3.start() if m3 else 0
        trial = _Scan(text)
        v3, found3, end3 = _apply_table(trial, t3, s3, len(text))
        m2 = label_regex("第二十条第（一）项").search(text)
        v2, found2 = _active_table(trial, t2, m2.start(), s3) if m2 and m2.start() < s3 else ({}, 0)
        v4, _ = _appeal_table(trial, t4, end3, len(text))
        own = {lb.text for lb in t2.labels + t3.labels} - {
            lb.text for f in all_forms() if f is not form for t in f.tables for lb in t.labels
        }
        score = (found3, sum(bool(label_regex(x).search(text)) for x in own), found2)
        if best is None or score > best[0]:
            best = (score, form, [(t2, v2), (t3, v3), (t4, v4)], trial.notes)
    assert best is not None
    _, form, tables, notes = best
    kept = [(t, v) for t, v in tables if v]
    # The text as it is (line numbers stay true): figures quoted in the prose can be compared with the tables.
    out = stacked("text", [_grid(t, v) for t, v in kept], [*title, *lines[5:]])
    # Where a cell came from: the scraped body has no tables or lines to point at, only the table and its row.
    top = 0
    for t, _ in kept:
        rows = {lb.first_row: lb.text for lb in sorted(t.labels, key=lambda lb: lb.first_col) if lb.kind == "row"}
        for (r, c), _where in list(out.where.items()):
            if top <= r < top + t.last_row - TABLE_ROW + 1:
                row = rows.get(r - top + TABLE_ROW)
                data = r - top + TABLE_ROW in {cell.row for cell in t.cells}
                out.where[(r, c)] = f"正文表{t.number}" + (f"“{row}”一行" if row else "" if data else "表头")
        top += t.last_row - TABLE_ROW + 2
    out.notes = notes
    out.scrape_form = form.id  # type: ignore[attr-defined]
    return out
